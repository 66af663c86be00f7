/* SPDX-License-Identifier: GPL-2.0-only */
/* Functions by their share of CPU samples, from the profile model: the
 * `hotspots` command, the function.* metrics of alert rules, and the top
 * stacks an alert carries as evidence.
 *
 * A function is a name in a module (frames of one function at different
 * addresses are one function). Its self samples are those where it is the
 * leaf; its total samples those where it is anywhere on the stack (once
 * per stack, however deep the recursion). Shares are of the samples of the
 * stacks considered (a process's, a unit's, or the host's). Pure: reads
 * only the model. */
#ifndef PROFD_ALERTS_HOTSPOTS_H
#define PROFD_ALERTS_HOTSPOTS_H

#include <stddef.h>
#include <stdint.h>

#include "alerts/engine.h"

struct profile;
struct json_object;

/* Impact by share: >= 50 % critical, >= 20 % high, >= 10 % medium. */
const char *hotspot_severity(double pct);

struct hotspot {
	const char *name;          /* into the profile */
	const char *module;        /* "" when unknown */
	int kernel;
	uint64_t self, total;      /* samples */
};

/* One (function, process) pair: the per-process figures. */
struct hotspot_pair {
	uint32_t func;             /* index into funcs */
	uint32_t proc;             /* index into the profile's procs */
	uint64_t self, total;
};

struct hotspots {
	const struct profile *p;
	struct hotspot *funcs;     /* by self samples, then total, descending */
	size_t nfuncs;
	struct hotspot_pair *pairs;/* by (proc, self desc) */
	size_t npairs;
	uint64_t *proc_samples;    /* per profile proc: samples considered */
	uint64_t samples;          /* all samples considered */
};

/* Functions of the stacks of p whose process is kept (keep[proc index]
 * non-zero; keep NULL: every stack). 0 and *ret (valid while p is), or
 * -ENOMEM. */
int hotspots_compute(const struct profile *p, const uint8_t *keep, struct hotspots **ret);
struct hotspots *hotspots_free(struct hotspots *h);

/* The pairs of profile process proc: *ret_n of them from the returned
 * pointer, NULL if none. */
const struct hotspot_pair *hotspots_of_proc(const struct hotspots *h, uint32_t proc, size_t *ret_n);

/* JSON for `hotspots`: {"samples", "functions": [{"name", "module",
 * "kernel", "self_samples", "total_samples", "self_pct", "total_pct",
 * "severity", "processes": [{"pid", "start_time_ns", "comm", "samples",
 * "self_samples"}]}]}, at most limit functions and per function at most
 * max_procs processes. NULL on -ENOMEM. */
struct json_object *hotspots_to_json(const struct hotspots *h, size_t limit, size_t max_procs);

/* An alert's evidence from the stacks of p: those of kept processes, and
 * with function on them when function is not NULL; identical stacks
 * (by function names) merged, the ALERT_MAX_STACKS heaviest kept. 0 and
 * *ret (owned by the caller), or -ENOMEM. */
int alert_stacks_from_profile(const struct profile *p, const uint8_t *keep, const char *function,
			      uint64_t window_ns, uint64_t now_ns, struct alert_stacks **ret);

#endif
