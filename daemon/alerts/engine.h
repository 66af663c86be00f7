/* SPDX-License-Identifier: GPL-2.0-only */
/* The alert state machine, with Prometheus semantics: per rule x entity,
 * inactive -> pending (the condition holds) -> firing (it held for `for`)
 * -> resolved (it stopped holding: below `clear` for an above-rule, the
 * entity went away, or the rule was removed). A pending alert whose
 * condition stops holding goes back to inactive and leaves no trace but a
 * transition. Resolved alerts, and a record of each firing, go to a
 * bounded history that outlives reloads.
 *
 * Pure: values and time (CLOCK_BOOTTIME ns) are passed in by the caller,
 * one evaluation round per rule:
 *	alert_engine_rule_begin(e, r);
 *	for each entity the rule applies to: alert_engine_observe(e, r, &ent, value, now);
 *	alert_engine_rule_end(e, r, now, "process exited");
 * An alert whose entity was not observed in its rule's round is gone (the
 * process exited): pending ones are dropped, firing ones resolved. */
#ifndef PROFD_ALERTS_ENGINE_H
#define PROFD_ALERTS_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "alerts/rules.h"

#define ALERT_MAX_STACKS 3       /* stacks kept as an alert's evidence */
#define ALERT_MAX_FRAMES 128     /* frames kept per stack (outermost cut first) */

enum alert_state {
	ALERT_INACTIVE,
	ALERT_PENDING,
	ALERT_FIRING,
	ALERT_RESOLVED,
};

enum alert_entity_kind {
	ENTITY_HOST,
	ENTITY_PROCESS,
	ENTITY_UNIT,
};

/* What an alert is about. Strings are borrowed by alert_engine_observe and
 * copied into a new alert. */
struct alert_entity {
	enum alert_entity_kind kind;
	uint32_t pid;                /* process: tgid */
	uint64_t start_ns;           /* process: start time, ns since boot */
	uint32_t proc_id;            /* process: proctable id (for its stacks) */
	const char *comm;            /* process: comm, may be NULL */
	const char *exe;             /* process: executable path, may be NULL */
	const char *unit;            /* unit: its name; process: its unit, may be NULL */
	const char *function;        /* function rules: the function, else NULL */
};

/* One stack of an alert's evidence: frames outermost first. */
struct alert_stack {
	const char **frames;
	uint32_t nframes;
	uint64_t count;              /* samples of this stack in the window */
	double share_pct;            /* of the entity's samples in the window */
};

/* An alert's evidence: the entity's top stacks over the rule's window. */
struct alert_stacks {
	struct alert_stack v[ALERT_MAX_STACKS];
	size_t n;
	uint64_t samples;            /* the entity's samples in the window */
	uint64_t window_ns;          /* the window they were taken over */
	uint64_t taken_ns;           /* when (CLOCK_BOOTTIME) */
	/* "61% in hash_search ← LockAcquire ← PostgresMain": the leaf
	 * function that holds the most samples and its callers, "" if none */
	char evidence[256];
	char *arena;                 /* the frames' names (owned) */
	const char **refs;           /* every stack's frames (owned) */
};

struct alert {
	uint64_t id;                 /* unique, in order of creation */
	const struct rule *rule;     /* NULL once in the history */
	char *rule_name;
	const char *metric;          /* the metric's name (static) */
	enum alert_severity severity;
	int below;
	double threshold, clear;
	uint64_t window_ns, for_ns;  /* the rule's, when the alert was last evaluated */

	enum alert_entity_kind kind;
	uint32_t pid, proc_id;
	uint64_t start_ns;
	char comm[16];
	char *exe, *unit, *function; /* NULL when not known or not applicable */

	enum alert_state state;
	double value;                /* at the last evaluation */
	uint64_t active_since_ns;    /* became pending */
	uint64_t fired_at_ns;        /* became firing, 0 if it never did */
	uint64_t resolved_at_ns;     /* resolved, 0 if not */
	uint64_t last_eval_ns;
	uint64_t last_sent_ns;       /* notifications: last (re)send */
	const char *reason;          /* why it resolved (static string) */
	struct alert_stacks *stacks; /* evidence, NULL until taken */
	char *summary;               /* rendered at the last transition or send */

	/* engine bookkeeping */
	uint64_t hash;
	uint64_t round;
	struct alert *next, *prev;   /* in its rule's list */
};

/* Called for every transition, after a's state changed: from -> a->state.
 * For ALERT_RESOLVED the alert moves to the history right after; for a
 * pending alert that is dropped (state ALERT_INACTIVE) it is freed right
 * after. The callback may set a->stacks and a->last_sent_ns. */
typedef void (*alert_transition_fn)(void *ctx, struct alert *a, enum alert_state from);

struct alert_engine_opts {
	size_t max_active;           /* bound on pending + firing alerts */
	size_t history;              /* transitions kept (firing and resolved) */
	alert_transition_fn on_transition;
	void *ctx;
};

struct alert_engine_stats {
	uint64_t pending, firing;    /* now */
	uint64_t transitions;        /* since start */
	uint64_t refused;            /* new alerts refused at max_active */
	uint64_t history;            /* entries held */
};

struct alert_engine;

/* 0 and *ret, -EINVAL or -ENOMEM. */
int alert_engine_new(const struct alert_engine_opts *o, struct alert_engine **ret);
struct alert_engine *alert_engine_free(struct alert_engine *e);

/* Take a new rule set (the old one may be freed once this returns). An
 * alert whose rule is still there with the same identity (metric, scope,
 * match, function) carries over with the new thresholds; the others are
 * resolved at now_ns with reason "rule removed" or "rule changed". */
int alert_engine_set_rules(struct alert_engine *e, const struct ruleset *rs, uint64_t now_ns);

void alert_engine_rule_begin(struct alert_engine *e, const struct rule *r);
/* One entity's value for rule r (NaN: no value, the condition does not
 * hold). Returns 0, or -ENOSPC when a new alert was refused. */
int alert_engine_observe(struct alert_engine *e, const struct rule *r, const struct alert_entity *ent, double value,
			 uint64_t now_ns);
/* End of r's round: alerts not observed since rule_begin are gone. */
void alert_engine_rule_end(struct alert_engine *e, const struct rule *r, uint64_t now_ns, const char *gone_reason);
/* 1 when r has pending or firing alerts: a caller may skip observing
 * entities whose condition does not hold when it has none. */
int alert_engine_rule_active(const struct alert_engine *e, const struct rule *r);
/* Would value start an alert of r? (the rule's comparison) */
int alert_rule_holds(const struct rule *r, double value);

/* Pending and firing alerts, in no particular order; fn returns non-zero
 * to stop. */
void alert_engine_foreach(struct alert_engine *e, int (*fn)(struct alert *a, void *ctx), void *ctx);
/* History, newest first: i = 0 is the latest transition. NULL past the end. */
const struct alert *alert_engine_history(const struct alert_engine *e, size_t i);
void alert_engine_get_stats(const struct alert_engine *e, struct alert_engine_stats *ret);

const char *alert_state_name(enum alert_state s);
struct alert_stacks *alert_stacks_free(struct alert_stacks *s);

#endif
