/* SPDX-License-Identifier: GPL-2.0-only */
/* The alert state machine and its history, see engine.h. */
#include "alerts/engine.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/registry.h"

struct rule_slot {
	struct alert *head;
	size_t n;
	uint64_t round;
};

struct alert_engine {
	struct alert_engine_opts o;
	struct alert **tab;         /* open addressing by alert->hash */
	size_t cap, n;
	struct rule_slot *slots;    /* by rule index */
	size_t nslots;
	struct alert **hist;        /* ring, hist_n entries from hist_head back */
	size_t hist_head, hist_n;
	uint64_t next_id;
	uint64_t pending, firing, transitions, refused;
};

const char *alert_state_name(enum alert_state s)
{
	static const char *const names[] = { "inactive", "pending", "firing", "resolved" };

	return s <= ALERT_RESOLVED ? names[s] : "?";
}

struct alert_stacks *alert_stacks_free(struct alert_stacks *s)
{
	if (!s)
		return NULL;
	free(s->arena);
	free(s->refs);
	free(s);
	return NULL;
}

static void alert_free(struct alert *a)
{
	if (!a)
		return;
	free(a->rule_name);
	free(a->exe);
	free(a->unit);
	free(a->function);
	free(a->summary);
	alert_stacks_free(a->stacks);
	free(a);
}

static uint64_t mix(uint64_t h, uint64_t x)
{
	h ^= x + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

static uint64_t mix_str(uint64_t h, const char *s)
{
	/* FNV-1a, then mixed in */
	uint64_t f = 0xcbf29ce484222325ull;

	for (; s && *s; s++)
		f = (f ^ (unsigned char)*s) * 0x100000001b3ull;
	return mix(h, f);
}

static uint64_t hash_of(const struct rule *r, const struct alert_entity *e)
{
	uint64_t h = mix_str(0, r->name);

	h = mix(h, e->kind);
	h = mix(h, e->pid);
	h = mix(h, e->start_ns);
	if (e->kind == ENTITY_UNIT)
		h = mix_str(h, e->unit);
	return mix_str(h, e->function);
}

static int str_eq(const char *a, const char *b)
{
	if (!a || !*a)
		return !b || !*b;
	return b && !strcmp(a, b);
}

static int same(const struct alert *a, const struct rule *r, const struct alert_entity *e)
{
	return a->kind == e->kind && a->pid == e->pid && a->start_ns == e->start_ns && !strcmp(a->rule_name, r->name) &&
	       (e->kind != ENTITY_UNIT || str_eq(a->unit, e->unit)) && str_eq(a->function, e->function);
}

int alert_engine_new(const struct alert_engine_opts *o, struct alert_engine **ret)
{
	struct alert_engine *e;

	if (!o->max_active || o->max_active > (1u << 24) || !o->history || o->history > (1u << 24))
		return -EINVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->o = *o;
	for (e->cap = 16; e->cap < 2 * o->max_active; e->cap *= 2)
		;
	e->tab = calloc(e->cap, sizeof(*e->tab));
	e->hist = calloc(o->history, sizeof(*e->hist));
	if (!e->tab || !e->hist) {
		alert_engine_free(e);
		return -ENOMEM;
	}
	e->next_id = 1;
	*ret = e;
	return 0;
}

struct alert_engine *alert_engine_free(struct alert_engine *e)
{
	if (!e)
		return NULL;
	for (size_t i = 0; e->tab && i < e->cap; i++)
		alert_free(e->tab[i]);
	for (size_t i = 0; e->hist && i < e->o.history; i++)
		alert_free(e->hist[i]);
	free(e->tab);
	free(e->hist);
	free(e->slots);
	free(e);
	return NULL;
}

/* ---- the table ---- */

static size_t home(const struct alert_engine *e, uint64_t h)
{
	return (size_t)(h ^ (h >> 29)) & (e->cap - 1);
}

static struct alert **lookup(struct alert_engine *e, const struct rule *r, const struct alert_entity *ent,
			     uint64_t h)
{
	size_t i;

	for (i = home(e, h); e->tab[i]; i = (i + 1) & (e->cap - 1))
		if (e->tab[i]->hash == h && same(e->tab[i], r, ent))
			return &e->tab[i];
	return &e->tab[i];
}

static void tab_remove(struct alert_engine *e, struct alert *a)
{
	size_t i, j;

	for (i = home(e, a->hash); e->tab[i] != a; i = (i + 1) & (e->cap - 1))
		if (!e->tab[i])
			return;
	e->tab[i] = NULL;
	e->n--;
	for (j = i;;) {
		size_t h;

		j = (j + 1) & (e->cap - 1);
		if (!e->tab[j])
			return;
		h = home(e, e->tab[j]->hash);
		if ((i <= j) ? (h <= i || h > j) : (h <= i && h > j)) {
			e->tab[i] = e->tab[j];
			e->tab[j] = NULL;
			i = j;
		}
	}
}

static struct rule_slot *slot_of(struct alert_engine *e, const struct rule *r)
{
	return r && r->index < e->nslots ? &e->slots[r->index] : NULL;
}

static void link_alert(struct alert_engine *e, struct alert *a)
{
	struct rule_slot *s = slot_of(e, a->rule);

	a->prev = NULL;
	a->next = s ? s->head : NULL;
	if (!s)
		return;
	if (s->head)
		s->head->prev = a;
	s->head = a;
	s->n++;
}

static void unlink_alert(struct alert_engine *e, struct alert *a)
{
	struct rule_slot *s = slot_of(e, a->rule);

	if (!s)
		return;
	if (a->prev)
		a->prev->next = a->next;
	else if (s->head == a)
		s->head = a->next;
	if (a->next)
		a->next->prev = a->prev;
	a->next = a->prev = NULL;
	s->n--;
}

/* ---- history ---- */

static void hist_push(struct alert_engine *e, struct alert *a)
{
	size_t i = (e->hist_head + 1) % e->o.history;

	if (!e->hist_n)
		i = e->hist_head;
	alert_free(e->hist[i]);
	e->hist[i] = a;
	e->hist_head = i;
	if (e->hist_n < e->o.history)
		e->hist_n++;
}

/* A copy of a for the history (no stacks: those stay with the alert). */
static struct alert *copy_for_history(const struct alert *a)
{
	struct alert *c = malloc(sizeof(*c));

	if (!c)
		return NULL;
	*c = *a;
	c->rule = NULL;
	c->stacks = NULL;
	c->next = c->prev = NULL;
	c->rule_name = strdup(a->rule_name);
	c->exe = a->exe ? strdup(a->exe) : NULL;
	c->unit = a->unit ? strdup(a->unit) : NULL;
	c->function = a->function ? strdup(a->function) : NULL;
	c->summary = a->summary ? strdup(a->summary) : NULL;
	if (!c->rule_name || (a->exe && !c->exe) || (a->unit && !c->unit) || (a->function && !c->function) ||
	    (a->summary && !c->summary)) {
		alert_free(c);
		return NULL;
	}
	return c;
}

const struct alert *alert_engine_history(const struct alert_engine *e, size_t i)
{
	if (i >= e->hist_n)
		return NULL;
	return e->hist[(e->hist_head + e->o.history - i) % e->o.history];
}

/* ---- transitions ---- */

static void transition(struct alert_engine *e, struct alert *a, enum alert_state to, uint64_t now)
{
	enum alert_state from = a->state;

	if (from == ALERT_PENDING)
		e->pending--;
	else if (from == ALERT_FIRING)
		e->firing--;
	a->state = to;
	e->transitions++;
	if (to == ALERT_PENDING) {
		e->pending++;
		a->active_since_ns = now;
	} else if (to == ALERT_FIRING) {
		e->firing++;
		a->fired_at_ns = now;
	} else if (to == ALERT_RESOLVED) {
		a->resolved_at_ns = now;
	}
	if (e->o.on_transition)
		e->o.on_transition(e->o.ctx, a, from);
	if (to == ALERT_FIRING) {
		struct alert *c = copy_for_history(a);

		if (c)
			hist_push(e, c);
	} else if (to == ALERT_RESOLVED || to == ALERT_INACTIVE) {
		tab_remove(e, a);
		unlink_alert(e, a);
		if (to == ALERT_RESOLVED) {
			a->rule = NULL;
			hist_push(e, a);
		} else {
			alert_free(a);
		}
	}
}

/* The alert leaves: a firing one is resolved, a pending one dropped. */
static void end_alert(struct alert_engine *e, struct alert *a, uint64_t now, const char *reason)
{
	if (a->state == ALERT_FIRING) {
		a->reason = reason;
		transition(e, a, ALERT_RESOLVED, now);
	} else {
		transition(e, a, ALERT_INACTIVE, now);
	}
}

int alert_rule_holds(const struct rule *r, double v)
{
	return !isnan(v) && (r->below ? v < r->threshold : v > r->threshold);
}

/* Does a firing alert stay firing at v? Hysteresis: until past clear. */
static int still_holds(const struct alert *a, double v)
{
	return !isnan(v) && (a->below ? v <= a->clear : v >= a->clear);
}

static void take_rule(struct alert *a, const struct rule *r)
{
	a->rule = r;
	a->metric = r->metric ? r->metric->name : "";
	a->severity = r->severity;
	a->below = r->below;
	a->threshold = r->threshold;
	a->clear = r->clear;
	a->window_ns = r->window_ns;
	a->for_ns = r->for_ns;
}

static struct alert *new_alert(const struct rule *r, const struct alert_entity *ent, uint64_t h, uint64_t id)
{
	struct alert *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->id = id;
	a->hash = h;
	take_rule(a, r);
	a->rule_name = strdup(r->name);
	a->kind = ent->kind;
	a->pid = ent->pid;
	a->proc_id = ent->proc_id;
	a->start_ns = ent->start_ns;
	if (ent->comm)
		snprintf(a->comm, sizeof(a->comm), "%s", ent->comm);
	a->exe = ent->exe && *ent->exe ? strdup(ent->exe) : NULL;
	a->unit = ent->unit && *ent->unit ? strdup(ent->unit) : NULL;
	a->function = ent->function ? strdup(ent->function) : NULL;
	if (!a->rule_name || (ent->exe && *ent->exe && !a->exe) || (ent->unit && *ent->unit && !a->unit) ||
	    (ent->function && !a->function)) {
		alert_free(a);
		return NULL;
	}
	return a;
}

void alert_engine_rule_begin(struct alert_engine *e, const struct rule *r)
{
	struct rule_slot *s = slot_of(e, r);

	if (s)
		s->round++;
}

int alert_engine_rule_active(const struct alert_engine *e, const struct rule *r)
{
	return r->index < e->nslots && e->slots[r->index].n > 0;
}

int alert_engine_observe(struct alert_engine *e, const struct rule *r, const struct alert_entity *ent, double v,
			 uint64_t now)
{
	struct rule_slot *s = slot_of(e, r);
	uint64_t h;
	struct alert **pa, *a;

	if (!s)
		return -EINVAL;
	if (!s->n && !alert_rule_holds(r, v))
		return 0;
	h = hash_of(r, ent);
	pa = lookup(e, r, ent, h);
	a = *pa;
	if (!a) {
		if (!alert_rule_holds(r, v))
			return 0;
		if (e->n >= e->o.max_active) {
			e->refused++;
			return -ENOSPC;
		}
		a = new_alert(r, ent, h, e->next_id);
		if (!a)
			return -ENOMEM;
		e->next_id++;
		*pa = a;
		e->n++;
		link_alert(e, a);
		a->round = s->round;
		a->value = v;
		a->last_eval_ns = now;
		transition(e, a, ALERT_PENDING, now);
		if (!r->for_ns)
			transition(e, a, ALERT_FIRING, now);
		return 0;
	}
	a->round = s->round;
	a->value = v;
	a->last_eval_ns = now;
	/* a process keeps its comm up to date (exec) */
	if (ent->comm && strcmp(a->comm, ent->comm))
		snprintf(a->comm, sizeof(a->comm), "%s", ent->comm);
	if (a->state == ALERT_PENDING) {
		if (!alert_rule_holds(r, v))
			transition(e, a, ALERT_INACTIVE, now);
		else if (now - a->active_since_ns >= r->for_ns)
			transition(e, a, ALERT_FIRING, now);
	} else if (a->state == ALERT_FIRING && !still_holds(a, v)) {
		a->reason = isnan(v) ? "no value" : "condition cleared";
		transition(e, a, ALERT_RESOLVED, now);
	}
	return 0;
}

void alert_engine_rule_end(struct alert_engine *e, const struct rule *r, uint64_t now, const char *gone_reason)
{
	struct rule_slot *s = slot_of(e, r);
	struct alert *a, *next;

	if (!s)
		return;
	for (a = s->head; a; a = next) {
		next = a->next;
		if (a->round != s->round)
			end_alert(e, a, now, gone_reason);
	}
}

int alert_engine_set_rules(struct alert_engine *e, const struct ruleset *rs, uint64_t now)
{
	struct rule_slot *slots = calloc(rs->n ? rs->n : 1, sizeof(*slots));
	struct alert **all;
	size_t n = 0;

	if (!slots)
		return -ENOMEM;
	all = malloc((e->n ? e->n : 1) * sizeof(*all));
	if (!all) {
		free(slots);
		return -ENOMEM;
	}
	for (size_t i = 0; i < e->cap; i++)
		if (e->tab[i])
			all[n++] = e->tab[i];
	/* resolve what does not carry over while the old lists still hold */
	for (size_t i = 0; i < n; i++) {
		const struct rule *nr = ruleset_find(rs, all[i]->rule_name);

		if (!nr || !rule_same_identity(nr, all[i]->rule)) {
			end_alert(e, all[i], now, nr ? "rule changed" : "rule removed");
			all[i] = NULL;
		}
	}
	free(e->slots);
	e->slots = slots;
	e->nslots = rs->n;
	for (size_t i = 0; i < n; i++) {
		struct alert *a = all[i];
		const struct rule *nr;

		if (!a)
			continue;
		nr = ruleset_find(rs, a->rule_name);
		take_rule(a, nr);
		link_alert(e, a);
	}
	free(all);
	return 0;
}

void alert_engine_foreach(struct alert_engine *e, int (*fn)(struct alert *a, void *ctx), void *ctx)
{
	for (size_t i = 0; i < e->cap; i++)
		if (e->tab[i] && fn(e->tab[i], ctx))
			return;
}

void alert_engine_get_stats(const struct alert_engine *e, struct alert_engine_stats *ret)
{
	ret->pending = e->pending;
	ret->firing = e->firing;
	ret->transitions = e->transitions;
	ret->refused = e->refused;
	ret->history = e->hist_n;
}
