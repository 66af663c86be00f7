/* SPDX-License-Identifier: GPL-2.0-only */
/* Collector: every BPF-map, /proc, system and GPU read of a tick, off the
 * event loop. It owns the kstats counters (scheduler and block I/O: map
 * reads and the exit-record ring), procstat, sysstat and gpu reads, and its
 * own set of the processes it follows, keyed by (pid, start time); each
 * round produces one immutable snapshot (struct res_snapshot) that the loop
 * applies to the process table and the windows (resources_apply). Nothing
 * here touches the store.
 *
 * The loop feeds it identities wanted (collector_want: new entries of the
 * process table, exec'd processes), read at once so that a short-lived
 * process still gets its command line, and one round request per tick
 * (collector_request). A round reads /proc for the processes the scheduler
 * counters saw run since the last round; every other followed process once
 * in COLLECT_SLOW_ROUNDS rounds, a slice per round; hot ones keep their
 * /proc files open (procstat_handle). A /proc scan every
 * COLLECT_SCAN_ROUNDS rounds finds processes that never ran. The scheduler
 * counters and /proc/stat are read last, nearest the tick boundary.
 *
 * Threaded, a round starts a little before the next tick boundary (lead
 * time adapted to how long rounds take), so its data describe the slot the
 * loop is about to close. Finished snapshots queue, bounded: while the
 * loop has COLLECT_QUEUE_MAX of them unapplied, rounds are skipped
 * (counted) and nothing is lost but resolution: deltas are kept against
 * the last read, so the next round's carry the skipped time. Exit records
 * (final counters) are drained as they come and join the next snapshot. */
#ifndef PROFD_COLLECTOR_H
#define PROFD_COLLECTOR_H

#include <stddef.h>
#include <stdint.h>

#include "collect/snapshot.h"

#define COLLECT_QUEUE_MAX 4      /* finished snapshots waiting for the loop */
#define COLLECT_SCAN_ROUNDS 10   /* /proc scan for processes never seen */
#define COLLECT_NEW_PER_ROUND 2048 /* identities + finds per snapshot */

struct collector;

struct collector_opts {
	const char *procfs;    /* "/proc" or a fixture root */
	const char *dev_dri;   /* "/dev/dri", NULL: no DRM scan */
	const char *nvml_path; /* see gpu_opts: NULL default, "" disabled */
	uint64_t tick_ns;      /* round period (GPU busy time per round) */
	uint32_t max_procs;    /* processes followed, identity requests queued */
	uint32_t hot_max;      /* held /proc handles (3-4 fds each); 0: PROCSET_HOT_DEFAULT */
	int threaded;          /* 1: rounds on the collector's own thread, started
				* by the first request (after the daemon has
				* dropped privileges: capabilities are per
				* thread); 0: collector_request runs the round
				* on the caller (tests) */
	int kstats;            /* 1: load the BPF scheduler/block-I/O counters
				* (here, on the caller: loading needs the
				* privileges the thread will not have) */
	uint32_t kstats_flags; /* KSTATS_OPT_* (NO_SCHED: block I/O only) */
};

/* 0 and *ret, -EINVAL (an input missing) or -ENOMEM. Loads the kstats
 * programs if asked (a failure is logged: CPU % then comes from samples)
 * and NVML (which may take a second without persistence mode) unless
 * threaded, where the thread does. */
int collector_new(const struct collector_opts *o, struct collector **ret);
/* KSTATS_PART_* loaded (0: none); fixed after collector_new. */
uint32_t collector_kstats_parts(const struct collector *c);
/* kstats_describe() as collector_new found it: for the caller's first
 * view, before any round (later ones come in each snapshot's exact).
 * Call before the first collector_request (the thread updates it). */
struct kstats_exactness;
void collector_describe(const struct collector *c, struct kstats_exactness *ret);
/* 1 when block I/O is counted per unit (the block I/O part is loaded and a
 * cgroup hierarchy carries the io controller); fixed after collector_new. */
int collector_unit_io(const struct collector *c);
/* kstats_for_each_prog of the counters it loaded (nothing without). */
void collector_for_each_prog(struct collector *c, void (*fn)(void *ctx, const char *name, int fd), void *ctx);
/* Stops and joins the thread; frees queued snapshots. NULL-safe. */
struct collector *collector_free(struct collector *c);

/* An identity wanted (proctable's want hook): read as soon as the thread
 * can (threaded) or at the next round. Cheap: a lock and an append. */
void collector_want(struct collector *c, const struct proctable_want *w);

/* Ask for a round at this tick. now_ns: CLOCK_BOOTTIME of the tick;
 * slot_ns: a time in the slot that just ended (the data of an inline round
 * belong there; a threaded round runs just before the next boundary and
 * stamps its own). active: more processes to read this round (those the
 * scheduler counters saw run are added by the collector itself). Returns
 * 0, or -errno when the thread cannot be started (rounds then run
 * inline). */
int collector_request(struct collector *c, uint64_t now_ns, uint64_t slot_ns, const struct collect_key *active, size_t nactive);

/* The counters the loop's side keeps (rounds_skipped, wants_dropped,
 * active_dropped) as of now, into those fields of ret; snapshots carry
 * them as of their round. */
void collector_counts(struct collector *c, struct collector_stats *ret);

/* The oldest finished snapshot, or NULL; the caller owns it until
 * collector_release, which frees the strings it did not take and keeps the
 * memory for a later round. */
struct res_snapshot *collector_take(struct collector *c);
void collector_release(struct collector *c, struct res_snapshot *s);

#endif
