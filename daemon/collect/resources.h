/* SPDX-License-Identifier: GPL-2.0-only */
/* Resources: per-process and system counters gathered every tick into the
 * rolling windows, next to the CPU samples. Exact scheduler and block-I/O
 * counters come from BPF (kstats), gauges (RSS, threads, fds) and /proc/PID/io
 * from procstat, system CPU/memory/load/PSI from sysstat, GPU from gpu.c.
 * Cumulative counters are turned into per-tick deltas here. */
#ifndef PROFD_RESOURCES_H
#define PROFD_RESOURCES_H

#include <stdint.h>

#include "collect/sysstat.h"

struct resources;
struct gpu;
struct proctable;
struct window;

/* Current (last tick) system state, for the top header. */
struct res_system {
	double cpu_pct;        /* all CPUs, last tick; -1 unknown */
	uint32_t ncpu;
	const double *per_cpu; /* ncpu values, last tick; -1 unknown */
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
	uint64_t kstats_procs, kstats_exit_records, kstats_dropped;
	uint64_t proc_reads;       /* procstat reads, total */
	uint64_t proc_read_fail;   /* process gone or unreadable */
	uint64_t last_tick_procs;  /* processes read in the last tick */
	uint64_t last_tick_ns;     /* wall time resources_tick took, last */
	uint64_t max_tick_ns;
	uint64_t states;           /* per-process delta states held */
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
};

/* Loads the kstats BPF programs unless no_kstats (a failure is logged and
 * the daemon goes on with sample-based CPU %). 0 and *ret, -EINVAL (an
 * input missing) or -ENOMEM. */
int resources_new(const struct resources_opts *o, struct resources **ret);
struct resources *resources_free(struct resources *r);

/* kstats' exit-record ring: readable at half full; -1 if none. */
int resources_epoll_fd(struct resources *r);
void resources_drain(struct resources *r);

/* Gather this tick's deltas and gauges, attributed at slot_ns (a time in
 * the slot that just ended); now_ns is CLOCK_BOOTTIME. */
void resources_tick(struct resources *r, uint64_t now_ns, uint64_t slot_ns);

const struct res_system *resources_system(const struct resources *r);
/* systemd unit and container id of a process ("" when none or unknown). */
/* 0 and *ret, or -ENOENT when nothing was read for that process. */
int resources_gauges(const struct resources *r, uint32_t proc, struct res_gauges *ret);
const char *resources_unit(const struct resources *r, uint32_t proc);
const char *resources_container(const struct resources *r, uint32_t proc);
struct gpu *resources_gpu(struct resources *r);
/* 1 when on-CPU time comes from the scheduler (exact), 0 from samples. */
int resources_exact_cpu(const struct resources *r);
void resources_get_stats(const struct resources *r, struct res_stats *ret);

#endif
