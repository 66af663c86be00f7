/* SPDX-License-Identifier: GPL-2.0-only */
/* Resources: per-process and system counters gathered every tick into the
 * rolling windows, next to the CPU samples. Exact scheduler and block-I/O
 * counters come from BPF (kstats), gauges (RSS, threads, fds) and /proc/PID/io
 * from procstat, system CPU/memory/load/PSI from sysstat, GPU from gpu.c.
 *
 * Two halves, clearly apart:
 * - collect: the collector thread (collect/collector.h) makes every read:
 *   the BPF maps, /proc, NVML and DRM fdinfo. resources_tick only asks it
 *   for a round. Nothing there touches the process table or the windows:
 *   cumulative counters become deltas in immutable snapshots.
 * - apply: resources_apply (loop), the only function that writes the store
 *   (process table entries and identities, window counters) and the state
 *   top reads (gauges, units, system header, GPU view). It costs what
 *   changed: the processes that ran or were read in the round.
 * Apply may be deferred (while a query reads the store from another
 * thread): snapshots queue, bounded; past the bound collection rounds are
 * skipped and counted, and since deltas are taken against the last read
 * nothing is lost but time resolution. */
#ifndef PROFD_RESOURCES_H
#define PROFD_RESOURCES_H

#include <stdint.h>

#include "collect/gpu.h"
#include "collect/kstats.h"
#include "collect/sysstat.h"

struct resources;
struct proctable;
struct window;

/* Current (last applied round) system state, for the top header. */
struct res_system {
	double cpu_pct;        /* all CPUs, last round; -1 unknown */
	double steal_pct;      /* all CPUs, last round; -1 unknown */
	uint32_t ncpu;         /* per_cpu entries: highest CPU id seen + 1 */
	const double *per_cpu; /* busy % by CPU id, last round; -1: offline or unknown */
	int mem_ok, load_ok, psi_ok;
	struct sysstat_meminfo mem;
	struct sysstat_loadavg load;
	struct sysstat_pressure psi;
};

/* Latest per-process gauges (live processes). */
struct res_gauges {
	int valid;             /* read at least once */
	int gpu;               /* GPU data seen for it */
	uint64_t ns;           /* when read */
	uint64_t rss, threads, fds, gpu_mem;
	double gpu_pct;        /* last GPU sample, % of one device */
};

struct res_stats {
	uint32_t kstats_parts;     /* KSTATS_PART_* loaded; 0: none */
	/* block I/O per systemd unit (cgroup counters, collect/cgio.h) */
	uint64_t cgroups;          /* cgroups remembered (their ids named) */
	uint64_t cgroups_full;     /* cgroups not remembered: bound reached */
	uint64_t cgroup_walks;     /* walks of the cgroup hierarchy for unnamed ids */
	uint64_t cgroup_unit_bytes;    /* bytes charged to a unit's cgroups */
	uint64_t cgroup_other_bytes;   /* bytes charged to cgroups of no unit (root, slices) */
	uint64_t cgroup_unknown_bytes; /* bytes of cgroups removed before they were named */
	uint64_t units;            /* units with block I/O records in the store */
	uint64_t units_full;       /* unit records refused: RES_MAX_UNITS in the store */
	uint64_t kstats_procs, kstats_exit_records, kstats_dropped;
	uint64_t proc_reads;       /* per-process /proc reads, total */
	uint64_t proc_read_fail;   /* process gone or unreadable */
	uint64_t handle_reads;     /* reads through held /proc handles */
	uint64_t handles;          /* /proc handles held now (hot processes) */
	uint64_t followed;         /* processes the collector follows */
	uint64_t follow_full;      /* processes not followed: max_processes */
	uint64_t identities;       /* identity reads of new or exec'd processes */
	uint64_t wants_dropped;    /* identity requests refused (queue full) */
	uint64_t last_tick_procs;  /* processes read in the last round */
	uint64_t last_tick_ns;     /* loop time of the last tick: resources_tick + resources_apply */
	uint64_t max_tick_ns;
	uint64_t kstats_ns;        /* the last BPF counter read (collector thread) */
	uint64_t apply_ns;         /* loop time of the last apply */
	uint64_t max_apply_ns;
	uint64_t apply_carried;    /* applies that stopped at the budget (rest next tick) */
	uint64_t rounds, rounds_skipped; /* collector rounds run, and skipped (queue full) */
	uint64_t last_round_ns, max_round_ns; /* collector round time (its thread) */
	uint64_t lead_ns;          /* a round starts this long before the tick */
	uint64_t rounds_past_boundary; /* rounds whose counters were read after the
				    * boundary they end at (put in their slot anyway) */
	uint64_t rounds_late;      /* rounds applied a tick late (not ready in time,
				    * or apply deferred): their data in a later slot */
	uint64_t states;           /* per-process states held */
	double host_steal_pct;     /* steal, % of all CPUs, over the last ~10 rounds; NaN unknown */
};

/* Everything resources reads and writes, explicitly: tests run it on a
 * fixture procfs without BPF. */
struct resources_opts {
	struct proctable *procs; /* processes the counters are keyed by */
	struct window *win;      /* where per-tick deltas and gauges go */
	const char *procfs;      /* "/proc", or a fixture root */
	const char *dev_dri;     /* "/dev/dri" (DRM render nodes), NULL: none */
	const char *nvml_path;   /* see gpu_opts: NULL default, "" disabled */
	uint64_t tick_ns;        /* tick length (GPU busy time per tick) */
	uint32_t max_procs;      /* the process table's bound */
	int no_kstats;           /* 1: do not load the BPF counters */
	int no_sched;            /* 1: block I/O counters only, no scheduler
				  * programs ([sampling] sched_counters = no):
				  * CPU % from samples, and the processes
				  * sampled are the ones whose /proc is read
				  * each round (resources_note_sampled) */
	int inline_collect;      /* 1: /proc reads run inside resources_tick,
				  * no thread (tests: deterministic rounds) */
	uint32_t apply_budget;   /* records applied per resources_apply at most;
				  * 0: RES_APPLY_BUDGET */
};

/* Records (a process's deltas or gauges) one resources_apply writes at
 * most: ~1-2 us each, so a burst of thousands of new processes costs the
 * loop a few ms per tick over several ticks instead of tens of ms in one.
 * A host where every tick brings more (thousands of processes all busy)
 * gets its rounds skipped (counted) instead: coarser, never slower. */
#define RES_APPLY_BUDGET 2048

/* Loads the kstats BPF programs unless no_kstats (a failure is logged and
 * the daemon goes on with sample-based CPU %) and sets itself as the
 * process table's want hook. The collector thread starts at the first
 * resources_tick (after privileges are dropped). 0 and *ret, -EINVAL (an
 * input missing) or -ENOMEM. */
int resources_new(const struct resources_opts *o, struct resources **ret);
struct resources *resources_free(struct resources *r);


/* Collect: ask the collector for a round at this tick (it runs just before
 * the next boundary, threaded; inline, at once, its data attributed at
 * slot_ns, a time in the slot that just ended); now_ns is CLOCK_BOOTTIME.
 * Touches no store: a lock and a wake-up. */
void resources_tick(struct resources *r, uint64_t now_ns, uint64_t slot_ns);
/* The sampler's cumulative idle-sample count (sampler_stats.idle): the
 * increase since the previous call is staged as the system's idle samples
 * of this tick. Call before resources_tick. */
void resources_note_idle(struct resources *r, uint64_t idle_total);
/* Without the scheduler counters: process (pid, start_ns) was sampled,
 * so it ran; its /proc is read at the next round, as the scheduler
 * counters would have said. Cheap (an append, consecutive repeats
 * skipped); at most RES_SAMPLED_MAX a tick. No-op with the counters. */
#define RES_SAMPLED_MAX 4096
void resources_note_sampled(struct resources *r, uint32_t pid, uint64_t start_ns);
/* Apply: every staged batch and finished snapshot, oldest first, to the
 * process table, the windows and the state below. Returns how many were
 * applied. Call on the loop, once the store may be written. */
int resources_apply(struct resources *r);

/* State as of the last apply. */
const struct res_system *resources_system(const struct resources *r);
/* 0 and *ret, or -ENOENT when nothing was read for that process. */
int resources_gauges(const struct resources *r, uint32_t proc, struct res_gauges *ret);
/* systemd unit and container id of a process ("" when none or unknown). */
const char *resources_unit(const struct resources *r, uint32_t proc);
const char *resources_container(const struct resources *r, uint32_t proc);
/* gpu_state() of the collector's GPU view, "GPU monitoring unavailable"
 * before the first round that read it. */
const char *resources_gpu_state(const struct resources *r);
/* The GPU devices of the latest view; *ret_n gets their count. */
const struct gpu_device_info *resources_gpu_devices(const struct resources *r, size_t *ret_n);
/* 1 when on-CPU time comes from the scheduler's counters (the "oncpu"
 * family is not absent: exact, or estimated for the reason
 * resources_describe gives), 0 from samples. */
int resources_exact_cpu(const struct resources *r);
/* Which kernel counter families are exact, estimated or absent, and why
 * (kstats_describe, as of the last snapshot applied: kstats belongs to
 * the collector's thread). */
void resources_describe(const struct resources *r, struct kstats_exactness *ret);

/* Systemd units' block I/O (all of it their cgroups were charged, the
 * flusher's writeback included where the kernel tags it) is kept in the
 * windows under pseudo process ids (PROC_ID_UNIT): at most RES_MAX_UNITS
 * units at a time; a unit's number is reused only once the store holds
 * nothing of it. The window counters' WC_IO_* sums carry the figures. */
#define RES_MAX_UNITS 1023u
/* 1 for such an id. */
int resources_is_unit_id(uint32_t id);
/* 1 when units' block I/O is counted (see collector_unit_io). */
int resources_unit_io(const struct resources *r);
/* The unit of such an id, NULL if id is none (or its number was reused:
 * not while the store holds its records). */
const char *resources_unit_name(const struct resources *r, uint32_t id);
void resources_get_stats(const struct resources *r, struct res_stats *ret);
/* The BPF programs of the counters (collector_for_each_prog). */
void resources_for_each_prog(struct resources *r, void (*fn)(void *ctx, const char *name, int fd), void *ctx);

#endif
