/* SPDX-License-Identifier: GPL-2.0-only */
/* Collector: every /proc, system and GPU read of a tick, off the event
 * loop. It owns procstat, sysstat and gpu reads and its own set of the
 * processes it follows, keyed by (pid, start time); each round produces
 * one immutable snapshot (struct res_snapshot) that the loop applies to
 * the process table and the windows (resources_apply). Nothing here
 * touches the store.
 *
 * The loop feeds it two things: identities wanted (collector_want: new
 * entries of the process table, exec'd processes), read at once so that a
 * short-lived process still gets its command line; and one round request
 * per tick (collector_request) naming the processes the scheduler saw run,
 * which are read that round. Every other followed process is re-read once
 * in COLLECT_SLOW_ROUNDS rounds, a slice per round; hot ones (ran in the
 * last rounds) keep their /proc files open (procstat_handle). A /proc scan
 * every COLLECT_SCAN_ROUNDS rounds finds processes that never ran.
 *
 * Threaded, a round starts a little before the next tick boundary (lead
 * time adapted to how long rounds take), so its data describe the slot the
 * loop is about to close. Finished snapshots queue, bounded: while the
 * loop has COLLECT_QUEUE_MAX of them unapplied, rounds are skipped
 * (counted) and nothing is lost but resolution: deltas are kept against
 * the last read, so the next round's carry the skipped time. */
#ifndef PROFD_COLLECTOR_H
#define PROFD_COLLECTOR_H

#include <stddef.h>
#include <stdint.h>

#include "collect/gpu.h"
#include "collect/sysstat.h"
#include "store/proctable.h"

#define COLLECT_QUEUE_MAX 4      /* finished snapshots waiting for the loop */
#define COLLECT_SLOW_ROUNDS 10   /* idle processes: re-read once in this many */
#define COLLECT_SCAN_ROUNDS 10   /* /proc scan for processes never seen */
#define COLLECT_HOT_DEFAULT 128  /* processes whose /proc files stay open */
#define COLLECT_NEW_PER_ROUND 2048 /* identities + finds per snapshot */

struct collector;

struct collector_opts {
	const char *procfs;    /* "/proc" or a fixture root */
	const char *dev_dri;   /* "/dev/dri", NULL: no DRM scan */
	const char *nvml_path; /* see gpu_opts: NULL default, "" disabled */
	uint64_t tick_ns;      /* round period (GPU busy time per round) */
	uint32_t max_procs;    /* processes followed, identity requests queued */
	uint32_t hot_max;      /* held /proc handles (3-4 fds each); 0: default */
	int threaded;          /* 1: rounds on the collector's own thread, started
				* by the first request (after the daemon has
				* dropped privileges: capabilities are per
				* thread); 0: collector_request runs the round
				* on the caller (tests) */
};

/* A process, as its requester names it. */
struct collect_key {
	uint32_t pid;
	uint32_t pad;
	uint64_t start_ns; /* boot ns, as BPF reports it */
};

/* snap_proc.flags */
#define SNAP_GONE     (1u << 0) /* gone from /proc, or its pid reused: only the key is valid */
#define SNAP_READ     (1u << 1) /* gauges (valid bits) and deltas read */
#define SNAP_BASELINE (1u << 2) /* first read of this process: deltas are 0 */
#define SNAP_IDENT    (1u << 3) /* answer to a want: extra holds the identity */
#define SNAP_FOUND    (1u << 4) /* found by the scan (not asked for): extra holds the identity */
#define SNAP_UNIT     (1u << 5) /* extra holds the unit and container (cgroup read) */

struct snap_proc {
	uint32_t pid;
	uint32_t flags;      /* SNAP_* */
	uint64_t start_ns;   /* the key: the requester's, or /proc's start converted */
	uint32_t valid;      /* PROCSTAT_RSS | PROCSTAT_THREADS | PROCSTAT_FDS of the gauges */
	uint32_t extra;      /* index into extras + 1; 0: none */
	uint64_t rss, threads, fds;
	uint64_t minflt, majflt, rbytes, wbytes; /* since this process's previous read */
};

struct snap_extra {
	struct proc_identity id; /* SNAP_IDENT, SNAP_FOUND; strings owned until taken */
	uint32_t want_flags;     /* PROCTABLE_WANT_* of the want answered */
	char unit[128];
	char container[16];
};

struct snap_system {
	int cpu_ok;              /* two /proc/stat reads: the figures below hold */
	double cpu_pct;          /* busy % of all CPUs since the previous round */
	double steal_pct;        /* steal % of all CPUs since the previous round */
	uint64_t busy_ns, elapsed_ns, steal_ns; /* CPU time since the previous round, all CPUs */
	uint32_t ncpu;           /* entries of per_cpu: highest CPU id seen since start + 1 */
	double *per_cpu;         /* busy % by CPU id; -1: offline now or unknown */
	int mem_ok, load_ok, psi_ok;
	struct sysstat_meminfo mem;
	struct sysstat_loadavg load;
	struct sysstat_pressure psi;
};

struct snap_gpu_proc {
	uint32_t pid;
	uint32_t util_valid;
	double util_pct;         /* % of one device, summed over devices */
	uint64_t mem_bytes;
};

struct snap_gpu {
	int fresh;               /* a new view was taken this round (below) */
	uint64_t gen;            /* gpu_generation() of that view */
	char state[160];         /* gpu_state(), "" while unknown */
	uint32_t ndev;
	struct gpu_device_info *dev;
	uint32_t nproc;
	struct snap_gpu_proc *proc;
};

struct collector_stats {
	uint64_t rounds;          /* rounds run */
	uint64_t rounds_skipped;  /* rounds not run: COLLECT_QUEUE_MAX snapshots unapplied */
	uint64_t proc_reads;      /* per-process /proc reads */
	uint64_t proc_read_fail;  /* of which: process gone or unreadable */
	uint64_t handle_reads;    /* of which: through held handles */
	uint64_t handles;         /* handles held now */
	uint64_t followed;        /* processes followed now */
	uint64_t follow_full;     /* processes not followed: max_procs reached */
	uint64_t found;           /* processes found by the /proc scan */
	uint64_t identities;      /* identity reads (wants answered) */
	uint64_t wants_dropped;   /* wants refused: max_procs already queued */
	uint64_t active_dropped;  /* active processes refused: request queue full */
	uint64_t last_round_ns, max_round_ns; /* wall time of a round */
	uint64_t last_round_procs;/* processes read in the last round */
	uint64_t lead_ns;         /* how early before the tick a round starts */
};

struct res_snapshot {
	uint64_t seq;            /* rounds since start (skipped ones included) */
	uint64_t read_ns;        /* CLOCK_BOOTTIME in the slot its data belong to */
	struct snap_proc *procs;
	uint32_t nprocs, pcap;
	struct snap_extra *extras;
	uint32_t nextras, xcap;
	struct snap_system sys;
	struct snap_gpu gpu;
	struct collector_stats stats; /* as of this round */
};

/* 0 and *ret, -EINVAL (an input missing) or -ENOMEM. Loads NVML (which
 * may take a second without persistence mode) unless threaded, where the
 * thread does. */
int collector_new(const struct collector_opts *o, struct collector **ret);
/* Stops and joins the thread; frees queued snapshots. NULL-safe. */
struct collector *collector_free(struct collector *c);

/* An identity wanted (proctable's want hook): read as soon as the thread
 * can (threaded) or at the next round. Cheap: a lock and an append. */
void collector_want(struct collector *c, const struct proctable_want *w);

/* Ask for a round at this tick. now_ns: CLOCK_BOOTTIME of the tick;
 * slot_ns: a time in the slot that just ended (the data of an inline round
 * belong there; a threaded round runs just before the next boundary and
 * stamps its own). active: processes that ran since the last request.
 * Returns 0, or -errno when the thread cannot be started (rounds then run
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
