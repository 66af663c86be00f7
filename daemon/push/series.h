/* SPDX-License-Identifier: GPL-2.0-only */
/* What every metrics pusher sends, built once per interval: the
 * cardinality policy (which processes get series of their own, the rest
 * summed as comm="other") and the accumulation of per-interval counter
 * deltas into monotonic totals. Pure: inputs are per-process figures of
 * one interval, time comes in as an argument.
 *
 * Counters. The store holds per-slot deltas; a pusher queries exactly the
 * slots closed since its previous interval (see push.h), so each delta is
 * added once. A series' total is the sum of the deltas it received since
 * it first appeared in this profd's run: monotonic while it lives. A
 * series is identified by its labels (pid, comm, unit), not by the
 * process, so a process moving between its own series and "other" moves
 * its future deltas, never its past: the sum of all series' increases is
 * the host's. A series absent from an interval (process gone, or no
 * longer selected) ends: remote write gets a staleness marker, and if it
 * comes back it starts from 0, which Prometheus' rate() reads as a counter
 * reset, as it does after a profd restart. Totals are not persisted:
 * start times (OTLP start_time_unix_nano) say where each began. */
#ifndef PROFD_PUSH_SERIES_H
#define PROFD_PUSH_SERIES_H

#include <stddef.h>
#include <stdint.h>

#include "metrics/registry.h"

#define PUSH_COMM_OTHER "other"
#define PUSH_COMM_MAX 16
#define PUSH_UNIT_MAX 128

/* One process over one interval. Counters of m are deltas over the
 * interval, gauges the latest values. */
struct push_proc {
	uint32_t pid;
	char comm[PUSH_COMM_MAX + 1];
	char unit[PUSH_UNIT_MAX];    /* systemd unit, "" when none */
	struct metrics_process m;
};

/* Which processes get series of their own: the top_cpu by CPU time in the
 * interval, the top_mem by resident memory, and every process of a listed
 * unit; at most max_procs in all (the rest, and anything past the bound,
 * is summed into comm="other"). */
struct push_policy {
	uint32_t top_cpu;
	uint32_t top_mem;
	uint32_t max_procs;
	const char *units;           /* space-separated unit names, NULL: none */
};

enum push_series_kind {
	PUSH_SERIES_HOST,            /* host-wide figures: no process labels */
	PUSH_SERIES_PROC,            /* one process: pid, comm, unit */
	PUSH_SERIES_OTHER,           /* the sum of the processes not selected */
};

struct push_series {
	enum push_series_kind kind;
	char pid[12];                /* "" for host and other */
	char comm[PUSH_COMM_MAX + 1];
	char unit[PUSH_UNIT_MAX];
	uint64_t start_ms;           /* unix ms when its counters began */
	int stale;                   /* ended at this interval: no values */
};

/* One value of one metric of one series. For counters it is the running
 * total, for gauges the value now; both in the metric's Prometheus unit
 * (registry value x prom_scale). */
struct push_point {
	const struct metric *m;
	uint32_t series;             /* index into series */
	double value;
};

struct push_batch {
	uint64_t from_ms, t_ms;      /* the interval, unix ms; points are at t_ms */
	struct push_series *series;
	size_t nseries;
	struct push_point *points;   /* grouped by metric, in registry order */
	size_t npoints;
	uint64_t procs;              /* processes in the input */
	uint64_t procs_own;          /* with series of their own */
	uint64_t procs_other;        /* summed into "other" */
	uint64_t procs_over_bound;   /* selected, but past max_procs */
};

struct push_accum;

/* 0 and *ret, or -ENOMEM. */
int push_accum_new(struct push_accum **ret);
struct push_accum *push_accum_free(struct push_accum *a);

/* Build this interval's batch from procs[0..n) (and host, NULL: none),
 * and advance the totals. 0 and *ret (release with push_batch_release,
 * also on failure), or -ENOMEM (the totals are then unchanged). */
int push_accum_build(struct push_accum *a, const struct push_policy *pol, const struct push_proc *procs, size_t n,
		     const struct metrics_host *host, uint64_t from_ms, uint64_t t_ms, struct push_batch *ret);
void push_batch_release(struct push_batch *b);

/* Series currently tracked (for status). */
size_t push_accum_series(const struct push_accum *a);

/* Metrics of the process scope that pushers export (prom name set). */
const struct metric *const *push_process_metrics(size_t *ret_n);
/* A gauge that summing over processes makes meaningless (quantiles). */
int push_metric_additive(const struct metric *m);

#endif
