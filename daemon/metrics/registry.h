/* SPDX-License-Identifier: GPL-2.0-only */
/* The one registry of profd's metrics: name, help, type, unit, scope and
 * how to read each value. Everything that names a metric reads it from
 * here: the members of the `status` and `top` replies, the names alert
 * rules use, the names pushers export, and docs/metrics.md (checked
 * against this table by tests/unit/test_metrics.c).
 *
 * A value is read from a snapshot struct of its scope (metrics_daemon,
 * metrics_host, metrics_process) at a fixed offset: whoever answers a
 * query fills the snapshot once and every consumer reads the same figures.
 * Absent values: UINT64_MAX for integers, NaN for doubles (null in JSON,
 * no sample in a push). */
#ifndef PROFD_METRICS_REGISTRY_H
#define PROFD_METRICS_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "api/server.h"
#include "collect/resources.h"
#include "collect/selfcost.h"
#include "collect/sampler.h"
#include "store/proctable.h"
#include "store/stacks.h"
#include "store/window.h"
#include "symbols/symbolizer.h"
#include "unwind/unwinder.h"

struct json_object;

enum metric_type {
	METRIC_GAUGE,   /* a level; over a window: the latest or the rate */
	METRIC_COUNTER, /* events; over a window: the count in it (pushers
			 * accumulate these into monotonic totals) */
};

enum metric_scope {
	METRIC_DAEMON,  /* profd itself: `status` */
	METRIC_HOST,    /* the host: `top`'s "system" */
	METRIC_PROCESS, /* one process over a window: `top`'s rows */
	METRIC_UNIT,    /* a systemd unit: its processes added up (alerts) */
	METRIC_FUNCTION,/* one function's share of a process's or the host's
			 * CPU samples (alerts, hotspots) */
	METRIC_NSCOPES,
};

enum metric_kind {
	METRIC_U64,
	METRIC_F64,
};

struct metric {
	const char *name;   /* "process.cpu_pct": rules and docs */
	const char *json;   /* member path in the scope's JSON, '.' nests */
	const char *prom;   /* Prometheus name, NULL when not exported */
	double prom_scale;  /* value x scale is in the Prometheus unit */
	enum metric_type type;
	enum metric_scope scope;
	enum metric_kind kind;
	const char *unit;   /* "bytes", "percent", "ns", "1/s", "" ... */
	const char *help;
	size_t offset;      /* of the value in the scope's snapshot */
};

/* Scope METRIC_DAEMON: what `status` reports about profd. */
struct metrics_daemon {
	double uptime_s;
	uint64_t frequency, cpus;
	double tick_s;
	struct sampler_stats samples;
	uint64_t samples_pending;         /* emitted, not yet drained */
	uint64_t samples_applied;         /* added to the windows */
	uint64_t samples_staged;          /* drained, waiting in staging */
	uint64_t samples_staging_dropped; /* drained, refused by staging (full) */
	uint64_t samples_store_failed;    /* drained, the windows had no memory */
	uint64_t py_frames, py_evals_named, py_evals_unnamed, py_frames_unmatched; /* daemon.c unwound_frames */
	struct proctable_stats procs;
	uint64_t procs_limit;
	struct stacks_stats stacks;
	uint64_t stacks_limit;
	struct window_stats store;
	uint64_t store_limit;
	struct symbolizer_stats symbols;
	uint64_t symbols_cache_limit;
	struct unwinder_stats unwind;     /* zeros when stacks are walked by frame pointers */
	struct server_stats server;
	uint64_t server_clients_limit;
	uint64_t protocol_version;
	/* the memory budget and its parts */
	uint64_t mem_budget, rss_peak_bytes;
	uint64_t replies_limit, queries_bytes, queries_limit, staging_bytes, staging_limit;
	/* the query worker */
	uint64_t q_top, q_exports, q_export_bytes, q_export_failures, q_timeouts, q_refused_memory;
	uint64_t q_jobs, q_queued, q_queued_max, q_queue_limit, q_refused, q_running, q_reads, q_loop_deferred;
	double q_read_ms_max, q_wait_ms_max;
	uint64_t q_timeout_ms;
	/* staging */
	uint64_t staging_records, staging_bytes_max, staging_events_dropped, staging_deferred_ticks, staging_slices;
	double staging_delay_ms_max;
	double store_age_ms;              /* age of the store figures shown */
	/* the loop's callbacks */
	uint64_t loop_dispatches, loop_over_10ms, loop_over_50ms, loop_over_250ms;
	double loop_max_ms;
	struct res_stats res;
	double res_last_tick_ms, res_max_tick_ms;
	uint64_t rss_bytes;
	double cpu_s;
	uint64_t ticks, tick_overruns, reloads, reload_failures;
	/* what profd costs: CPU by thread, BPF by program (collect/selfcost.h) */
	struct selfcost_stats cost;
	double rss_budget_pct;            /* RSS, % of memory_budget */
};

/* Scope METRIC_HOST: the host over a window (CPU) or now (the rest). */
struct metrics_host {
	double cpu_pct;                   /* all CPUs, % of their time */
	double steal_pct;                 /* all CPUs, % of their time the hypervisor took */
	uint64_t mem_total, mem_available, mem_used, swap_total, swap_used;
	double mem_used_pct;
	double load1, load5, load15;
	double psi_cpu_some, psi_mem_some, psi_mem_full, psi_io_some, psi_io_full;
	double gpu_mem_pct;               /* fullest GPU's memory in use, %; NaN: no GPU */
};

/* Scope METRIC_PROCESS: one process over a window. */
struct metrics_process {
	double cpu_pct, sample_cpu_pct;
	uint64_t samples;
	uint64_t rss_bytes;
	double mem_pct;
	uint64_t threads, fds;
	double gpu_pct;
	uint64_t gpu_mem_bytes;
	double read_bps, write_bps;
	uint64_t io_read_bytes, io_write_bytes, io_read_reqs, io_write_reqs, io_lat_p99_ns;
	uint64_t proc_read_bytes, proc_write_bytes;
	uint64_t oncpu_ns, offcpu_ns;
	double offcpu_pct, vcsw_per_s, ivcsw_per_s;
	uint64_t minflt, majflt;
	uint64_t runq_p50_ns, runq_p99_ns;
	/* Robust RSS growth over the window (alerts/trend.h: Theil-Sen slope,
	 * 0 when the growth is not steady); NaN unless a series was fitted. */
	double rss_growth_bps;
	uint64_t rss_growth_points;       /* RSS readings the fit used */
	/* METRIC_UNIT only (absent for a process): block I/O charged to the
	 * unit's cgroups, whoever submitted it (the flusher's writeback of
	 * pages the unit dirtied included, where the kernel tags it) */
	uint64_t cg_read_bytes, cg_write_bytes, cg_read_reqs, cg_write_reqs;
	double cg_read_bps, cg_write_bps;
};

/* Scope METRIC_UNIT: a systemd unit over a window, as struct
 * metrics_process: additive figures are the sums over its processes,
 * percentiles come from their merged histograms. */
struct metrics_unit_acc {
	struct metrics_process sum;
	uint32_t hist_runq[WC_HIST_BUCKETS], hist_iolat[WC_HIST_BUCKETS];
	uint64_t procs;
	int gpu;                          /* a process with GPU use was added */
	int have_cgroup;                  /* metrics_unit_cgroup was called */
	uint64_t cg[4];                   /* its read, write bytes; read, write requests */
	double cg_secs;
};

/* Scope METRIC_FUNCTION: one function in a process (or on the host) over
 * a window. Shares are of the scope's CPU samples. */
struct metrics_function {
	double self_pct;                  /* samples where it is the leaf */
	double total_pct;                 /* samples where it is on the stack */
	uint64_t self_samples, total_samples;
	uint64_t scope_samples;           /* the denominator */
};

#define METRIC_ABSENT_U64 UINT64_MAX

/* What a process's metrics over a window are computed from. */
struct metrics_process_in {
	const struct wcounters *wc;  /* counters merged over the window, NULL: none */
	const struct res_gauges *g;  /* latest gauges (live process), NULL: none */
	uint64_t samples;            /* CPU samples in the window */
	double secs;                 /* window length covered, s */
	uint32_t frequency;          /* Hz per CPU */
	int exact_cpu;               /* scheduler counters are loaded */
	uint64_t mem_total;          /* MemTotal, 0: unknown */
};

/* The one computation of per-process window metrics, shared by `top`,
 * alerts and pushers. */
void metrics_process_compute(const struct metrics_process_in *in, struct metrics_process *ret);

/* A unit's metrics: memset the accumulator to 0, add each process's
 * computed metrics and window counters (wc may be NULL), then finish.
 * ret->rss_growth_bps is NaN (the unit's own series gives it). */
void metrics_unit_add(struct metrics_unit_acc *acc, const struct metrics_process *p, const struct wcounters *wc);
void metrics_unit_finish(const struct metrics_unit_acc *acc, struct metrics_process *ret);
/* The block I/O charged to the unit's cgroups over the window (io: read,
 * write bytes, read, write requests, its PROC_ID_UNIT window counters;
 * NULL: none in the window, 0) and the window's length in seconds. Units
 * never given this (no per-cgroup accounting) have those metrics absent. */
void metrics_unit_cgroup(struct metrics_unit_acc *acc, const uint64_t io[4], double secs);

/* The host's metrics: CPU and steal over the window from the system
 * pseudo-process's window counters (sys, NULL: the last tick's figures),
 * the rest as of the last tick; GPU memory from the devices gpus[0..n). */
struct gpu_device_info;
void metrics_host_compute(const struct res_system *s, const struct wcounters *sys,
			  const struct gpu_device_info *gpus, size_t ngpus, struct metrics_host *ret);

/* Every metric, in table order; *ret_n gets the count. */
const struct metric *metrics_all(size_t *ret_n);
/* The metric called name ("process.cpu_pct"), NULL if none. */
const struct metric *metric_find(const char *name);
/* Value of m in its scope's snapshot, as a double; NaN when absent. */
double metric_value(const struct metric *m, const void *snapshot);

/* Add every metric of scope that has a JSON path to obj, nested by the
 * path's dots (objects created as needed, in table order). 0 or -ENOMEM. */
int metrics_to_json(enum metric_scope scope, const void *snapshot, struct json_object *obj);

/* The reference table of docs/metrics.md (Markdown), malloc'd. */
char *metrics_doc_table(void);

#endif
