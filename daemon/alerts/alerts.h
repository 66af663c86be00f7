/* SPDX-License-Identifier: GPL-2.0-only */
/* The alerting subsystem as the daemon sees it: rules in, an evaluation
 * every tick over the windows (explicit inputs: the store, the symbolizer
 * and resources; never the daemon struct), evidence for firing alerts,
 * notifications, and the JSON of the `alerts`, `hotspots` and `status`
 * replies.
 *
 * Per tick, rules are grouped by window; each window is read once: the
 * per-process counters (window_query_counters), the samples per process
 * when a rule needs them, and a profile when a function rule needs one.
 * Each rule then evaluates its entities (the host, each matching live
 * process, each matching unit, each (process, function)) through the one
 * per-process computation of the metric registry, and the engine moves
 * their alerts through pending, firing and resolved. */
#ifndef PROFD_ALERTS_ALERTS_H
#define PROFD_ALERTS_ALERTS_H

#include <stddef.h>
#include <stdint.h>

#include "alerts/notify.h"
#include "profile/query.h"

struct resources;
struct json_object;
struct ruleset;

#define ALERTS_MAX_SINKS 16      /* receivers: the log, globals and per-rule URLs */
#define ALERTS_MAX_SERIES 8192   /* RSS series kept for growth rules */
#define ALERTS_STACK_REFRESH_PER_TICK 8 /* evidence refreshes per tick, at most */

struct alerts_opts {
	const char *host;             /* the host label ("" : gethostname) */
	size_t history;               /* transitions kept */
	size_t max_active;            /* pending + firing alerts */
	uint64_t stacks_refresh_ns;   /* evidence of a firing alert is refreshed this often */
	uint32_t max_procs;           /* the process table's bound */
	int log;                      /* the log receiver */
	const char *alertmanager_url; /* "" or NULL: none */
	uint64_t alertmanager_resend_ns;
	const char *webhook_url;      /* "" or NULL: none */
	uint64_t webhook_resend_ns;   /* 0: transitions only */
	struct alert_http_opts http;
	struct net *net;              /* HTTP receivers deliver through it; NULL:
				       * none can be made (the URLs are refused) */
};

/* What an evaluation reads. */
struct alerts_src {
	struct profile_src prof;      /* windows, stacks, processes, symbols */
	struct resources *res;        /* gauges, units, host figures */
	const char *procfs;           /* for cgroup: matches ("/proc") */
};

struct alerts_stats {
	uint64_t rules, files;
	uint64_t evaluations;         /* ticks that evaluated rules */
	uint64_t last_eval_ns, max_eval_ns; /* CPU-clock wall time of the last and longest */
	uint64_t stacks_taken, stacks_failed;
	uint64_t series, series_full;
	uint64_t notify_errors;       /* send() refused (out of memory, queue full) */
	uint64_t pending, firing;     /* alerts in those states now */
};

struct alerts;

/* 0 and *ret, -EINVAL (opts) or -ENOMEM. Starts with no rules. */
int alerts_new(const struct alerts_opts *o, struct alerts **ret);
struct alerts *alerts_free(struct alerts *a);

/* Read the rules: the [rule NAME] sections of config_path (NULL: none;
 * absent: none) and every file matching rules_glob (NULL: none), into a
 * new set. 0 and *ret, or -errno with "file:line: reason" in err. */
int alerts_read_rules(const char *config_path, const char *rules_glob, struct ruleset **ret, char *err, size_t errsz);
/* Make rs (taken over) the running set: alerts of rules that carry over
 * keep their state, the others resolve; receivers named by rules are
 * created. 0 or -errno (rs freed, the old set kept). */
int alerts_set_rules(struct alerts *a, struct ruleset *rs, uint64_t now_ns);
/* New settings (reload): the host label and stacks_refresh at once;
 * receivers whose URL or resend interval changed are replaced (their
 * counters start again). history, max_active and max_procs stay as
 * created. 0 or -errno. */
int alerts_configure(struct alerts *a, const struct alerts_opts *o);

/* Evaluate every rule at now_ns (CLOCK_BOOTTIME), the end of the data in
 * src. Never blocks: notifications are queued. */
void alerts_tick(struct alerts *a, const struct alerts_src *src, uint64_t now_ns);

/* `alerts`: {"alerts": [...], "history": [...] (with_history)}; rule: only
 * that rule's (NULL: all). Firing first, then pending, by severity and
 * age. NULL on -ENOMEM. */
struct json_object *alerts_list_json(struct alerts *a, int with_history, const char *rule);
/* Add "alerts": {rules, pending, firing, ..., "receivers": [...]} to o. */
void alerts_status_json(struct alerts *a, struct json_object *o);
void alerts_get_stats(const struct alerts *a, struct alerts_stats *ret);

/* `hotspots`: the functions with the largest share of the samples over
 * span_ns, of one process (pid), one unit, or the host. 0 and *ret, or
 * -errno (-ENOENT: no such pid or unit in the window). */
int alerts_hotspots_json(const struct alerts_src *src, uint64_t span_ns, uint32_t pid, const char *unit, size_t limit,
			 struct json_object **ret);

#endif
