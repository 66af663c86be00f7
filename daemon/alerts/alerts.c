/* SPDX-License-Identifier: GPL-2.0-only */
/* The alerting subsystem: its lifecycle, rules and receivers, evidence,
 * notifications, the tick and the replies; the evaluation proper is in
 * eval.c. See alerts.h. */
#include "alerts/alerts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "alerts/alerts_internal.h"
#include "alerts/hotspots.h"
#include "alerts/trend.h"
#include "common/clock.h"
#include "common/fmt.h"
#include "profile/profile.h"
#include "store/proctable.h"
#include "common/sort.h"

/* Evidence taken in transition callbacks per tick, at most: a burst of
 * alerts firing together must not stall the loop; the rest get theirs
 * from the refresh pass of the following ticks. */
#define STACKS_PER_TICK 16
/* Series older than the longest window plus this are forgotten. */
#define SERIES_GRACE_NS (60 * NSEC_PER_SEC)

static int64_t realtime_offset(void)
{
	return (int64_t)clock_ns(CLOCK_REALTIME) - (int64_t)clock_boot_ns();
}

/* ---- receivers ---- */

static void drop_sinks(struct alerts *a, int keep_globals)
{
	size_t k = 0;

	for (size_t i = 0; i < a->nsinks; i++) {
		if (keep_globals && a->sinks[i].global) {
			a->sinks[k++] = a->sinks[i];
			continue;
		}
		alert_sink_free(a->sinks[i].s);
		free(a->sinks[i].src_url);
	}
	a->nsinks = k;
}

static struct sink_slot *find_sink(struct alerts *a, const char *kind, const char *url, int global)
{
	for (size_t i = 0; i < a->nsinks; i++)
		if (a->sinks[i].global == global && !strcmp(a->sinks[i].s->kind, kind) &&
		    ((!url && !a->sinks[i].src_url) || (url && a->sinks[i].src_url && !strcmp(url, a->sinks[i].src_url))))
			return &a->sinks[i];
	return NULL;
}

static int add_sink(struct alerts *a, const char *kind, const char *url, uint64_t resend, int global)
{
	struct alert_sink *s;
	int r;

	if (find_sink(a, kind, url, global))
		return 0;
	if (a->nsinks == ALERTS_MAX_SINKS)
		return -E2BIG;
	r = url ? alert_sink_http_new(a->o.net, kind, url, &a->o.http, resend, &s) : alert_sink_log_new(&s);
	if (r)
		return r;
	a->sinks[a->nsinks].s = s;
	a->sinks[a->nsinks].src_url = url ? strdup(url) : NULL;
	a->sinks[a->nsinks].global = global;
	if (url && !a->sinks[a->nsinks].src_url) {
		alert_sink_free(s);
		return -ENOMEM;
	}
	a->nsinks++;
	return 0;
}

static int make_global_sinks(struct alerts *a)
{
	int r = 0;

	if (a->o.log)
		r = add_sink(a, "log", NULL, 0, 1);
	if (!r && *a->am_url)
		r = add_sink(a, "alertmanager", a->am_url, a->o.alertmanager_resend_ns, 1);
	if (!r && *a->wh_url)
		r = add_sink(a, "webhook", a->wh_url, a->o.webhook_resend_ns, 1);
	return r;
}

/* Receivers named by rules (per-rule URLs): created for the set rs. */
static int make_rule_sinks(struct alerts *a, const struct ruleset *rs)
{
	int r = 0;

	drop_sinks(a, 1);
	for (size_t i = 0; !r && rs && i < rs->n; i++) {
		if (rs->v[i].alertmanager_url)
			r = add_sink(a, "alertmanager", rs->v[i].alertmanager_url, a->o.alertmanager_resend_ns, 0);
		if (!r && rs->v[i].webhook_url)
			r = add_sink(a, "webhook", rs->v[i].webhook_url, a->o.webhook_resend_ns, 0);
	}
	return r;
}

/* Is slot the receiver for rule r? */
static int sink_for_rule(const struct sink_slot *sl, const struct rule *r)
{
	const char *override = NULL;

	if (!(r->notify & sl->s->notify_bit))
		return 0;
	if (sl->s->notify_bit == RULE_NOTIFY_ALERTMANAGER)
		override = r->alertmanager_url;
	else if (sl->s->notify_bit == RULE_NOTIFY_WEBHOOK)
		override = r->webhook_url;
	if (override)
		return !sl->global && sl->src_url && !strcmp(sl->src_url, override);
	return sl->global;
}

static void notify(struct alerts *a, struct alert *al, enum alert_state from, int resend)
{
	const struct rule *r = al->rule;
	struct alert_notification n = {
		.alert = al, .from = from, .resend = resend, .now_ns = a->now, .realtime_offset_ns = a->rt_off,
		.host = a->host,
	};
	int sent = 0;

	if (!r)
		return;
	for (size_t i = 0; i < a->nsinks; i++) {
		struct sink_slot *sl = &a->sinks[i];

		if (!sink_for_rule(sl, r))
			continue;
		if (resend && (!sl->s->resend_ns || a->now - al->last_sent_ns < sl->s->resend_ns))
			continue;
		if (sl->s->send(sl->s, &n) < 0)
			a->st.notify_errors++;
		sent = 1;
	}
	if (sent && al->state == ALERT_FIRING)
		al->last_sent_ns = a->now;
}

/* ---- evidence ---- */

static int take_stacks(struct alerts *a, struct alert *al)
{
	const struct alerts_src *src = a->src;
	struct pq_result q = { 0 };
	struct profile *p = NULL;
	struct alert_stacks *st = NULL;
	size_t k = 0;
	int r;

	r = profile_query(&src->prof, al->window_ns, &(struct pq_filter){ .tgid = al->kind == ENTITY_PROCESS ? al->pid : 0 },
			  &q);
	if (!r) {
		/* exactly the entity: this process (not an earlier one with the
		 * same pid), or the unit's processes */
		for (size_t i = 0; i < q.n; i++) {
			int keep = 1;

			if (al->kind == ENTITY_PROCESS)
				keep = q.v[i].proc == al->proc_id;
			else if (al->kind == ENTITY_UNIT)
				keep = al->unit && !strcmp(resources_unit(src->res, q.v[i].proc), al->unit);
			if (keep)
				q.v[k++] = q.v[i];
		}
		q.n = k;
		r = profile_build(&src->prof, &q, &p);
	}
	if (!r)
		r = alert_stacks_from_profile(p, NULL, al->function, al->window_ns, a->now, &st);
	if (!r) {
		alert_stacks_free(al->stacks);
		al->stacks = st;
		a->st.stacks_taken++;
	} else {
		a->st.stacks_failed++;
	}
	profile_free(p);
	pq_result_release(&q);
	return r;
}

/* The summary with the alert's current value. */
static void render(struct alerts *a, struct alert *al)
{
	char buf[1024];

	if (!al->rule)
		return;
	alert_render_summary(al, al->rule->summary, a->host, buf, sizeof(buf));
	if (!al->summary || strcmp(al->summary, buf)) {
		free(al->summary);
		al->summary = strdup(buf);
	}
}

static void on_transition(void *ctx, struct alert *al, enum alert_state from)
{
	struct alerts *a = ctx;

	if (al->state == ALERT_FIRING && a->src && a->stacks_budget > 0) {
		a->stacks_budget--;
		take_stacks(a, al);
	}
	render(a, al);
	notify(a, al, from, 0);
}

/* ---- setup ---- */

int alerts_new(const struct alerts_opts *o, struct alerts **ret)
{
	struct alerts *a;
	int r;

	if (!o->history || !o->max_active || !o->max_procs)
		return -EINVAL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->o = *o;
	a->o.alertmanager_url = a->o.webhook_url = a->o.host = NULL;
	a->nidx = o->max_procs + PROC_ID_FIRST;
	a->idx = malloc(a->nidx * sizeof(*a->idx));
	a->cgroup = calloc(a->nidx, sizeof(*a->cgroup));
	a->cgroup_start = calloc(a->nidx, sizeof(*a->cgroup_start));
	r = ruleset_new(&a->rs);
	if (!r)
		r = alert_engine_new(&(struct alert_engine_opts){ .max_active = o->max_active, .history = o->history,
								  .on_transition = on_transition, .ctx = a },
				     &a->eng);
	if (!r)
		r = series_new(ALERTS_MAX_SERIES, NSEC_PER_SEC, &a->series);
	if (!r && (!a->idx || !a->cgroup || !a->cgroup_start))
		r = -ENOMEM;
	if (!r)
		r = alert_engine_set_rules(a->eng, a->rs, 0);
	if (!r)
		r = alerts_configure(a, o);
	if (r) {
		alerts_free(a);
		return r;
	}
	*ret = a;
	return 0;
}

struct alerts *alerts_free(struct alerts *a)
{
	if (!a)
		return NULL;
	a->src = NULL;
	alert_engine_free(a->eng);
	drop_sinks(a, 0);
	ruleset_free(a->rs);
	series_free(a->series);
	for (uint32_t i = 0; a->cgroup && i < a->nidx; i++)
		free(a->cgroup[i]);
	free(a->cgroup);
	free(a->cgroup_start);
	free(a->idx);
	for (size_t i = 0; i < a->naggs; i++)
		alerts_wagg_release(&a->aggs[i]);
	free(a->aggs);
	free(a->p);
	free(a->u);
	free(a);
	return NULL;
}

/* Field by field: the struct has padding. */
static int same_http(const struct alert_http_opts *x, const struct alert_http_opts *y)
{
	return x->timeout_ms == y->timeout_ms && x->max_attempts == y->max_attempts &&
	       x->backoff_min_ms == y->backoff_min_ms && x->backoff_max_ms == y->backoff_max_ms &&
	       x->max_queue == y->max_queue;
}

int alerts_configure(struct alerts *a, const struct alerts_opts *o)
{
	const char *am = o->alertmanager_url ? o->alertmanager_url : "";
	const char *wh = o->webhook_url ? o->webhook_url : "";
	int r;

	if (strlen(am) >= sizeof(a->am_url) || strlen(wh) >= sizeof(a->wh_url))
		return -EINVAL;
	/* read where they are used: in force at once */
	a->o.stacks_refresh_ns = o->stacks_refresh_ns;
	if (o->host && *o->host)
		snprintf(a->host, sizeof(a->host), "%s", o->host);
	else if (gethostname(a->host, sizeof(a->host) - 1) < 0)
		snprintf(a->host, sizeof(a->host), "localhost");
	/* The same receivers: keep them, queues and counters included. */
	if (a->configured && !!a->o.log == !!o->log && !strcmp(a->am_url, am) && !strcmp(a->wh_url, wh) &&
	    a->o.alertmanager_resend_ns == o->alertmanager_resend_ns && a->o.webhook_resend_ns == o->webhook_resend_ns &&
	    same_http(&a->o.http, &o->http))
		return 0;
	drop_sinks(a, 0);
	a->o.log = o->log;
	a->o.alertmanager_resend_ns = o->alertmanager_resend_ns;
	a->o.webhook_resend_ns = o->webhook_resend_ns;
	a->o.http = o->http;
	snprintf(a->am_url, sizeof(a->am_url), "%s", am);
	snprintf(a->wh_url, sizeof(a->wh_url), "%s", wh);
	a->configured = 1;
	r = make_global_sinks(a);
	if (!r)
		r = make_rule_sinks(a, a->rs);
	return r;
}

int alerts_read_rules(const char *config_path, const char *rules_glob, struct ruleset **ret, char *err, size_t errsz)
{
	struct ruleset *rs;
	int r;

	r = ruleset_new(&rs);
	if (r) {
		snprintf(err, errsz, "out of memory");
		return r;
	}
	if (config_path) {
		r = ruleset_load_file(rs, config_path, RULES_CONFIG, err, errsz);
		if (r == -ENOENT)
			r = 0;
	}
	if (!r && rules_glob && *rules_glob)
		r = ruleset_load_glob(rs, rules_glob, err, errsz);
	if (r) {
		ruleset_free(rs);
		return r;
	}
	*ret = rs;
	return 0;
}

int alerts_set_rules(struct alerts *a, struct ruleset *rs, uint64_t now)
{
	struct ruleset *old = a->rs;
	uint64_t longest = 0;
	int r;

	a->now = now;
	a->rt_off = realtime_offset();
	r = alert_engine_set_rules(a->eng, rs, now);
	if (r) {
		ruleset_free(rs);
		return r;
	}
	a->rs = rs;
	ruleset_free(old);
	r = make_rule_sinks(a, rs);
	/* growth series: TREND_MAX_POINTS over the longest growth window */
	for (size_t i = 0; i < rs->n; i++)
		if (strstr(rs->v[i].metric->name, "rss_growth") && rs->v[i].window_ns > longest)
			longest = rs->v[i].window_ns;
	series_set_spacing(a->series, longest / (TREND_MAX_POINTS - 4));
	return r;
}

/* ---- the tick ---- */

struct refresh_ctx {
	struct alerts *a;
	int budget;
};

/* Evidence of firing alerts kept fresh; repeats to receivers that want them. */
static int refresh_one(struct alert *al, void *ctx)
{
	struct refresh_ctx *c = ctx;
	struct alerts *a = c->a;

	render(a, al);
	if (al->state != ALERT_FIRING)
		return 0;
	/* no evidence yet (a budget ran out, or symbols were still loading):
	 * try again at the next tick rather than at the next refresh */
	if (c->budget > 0 && (!al->stacks || !al->stacks->n || a->now - al->stacks->taken_ns >= a->o.stacks_refresh_ns)) {
		c->budget--;
		take_stacks(a, al);
	}
	notify(a, al, ALERT_FIRING, 1);
	return 0;
}

void alerts_tick(struct alerts *a, const struct alerts_src *src, uint64_t now)
{
	struct refresh_ctx rc = { .a = a, .budget = ALERTS_STACK_REFRESH_PER_TICK };
	uint64_t t0 = clock_mono_ns(), longest;

	/* retries that are due, whatever the rules */
	for (size_t i = 0; i < a->nsinks; i++)
		if (a->sinks[i].s->poll)
			a->sinks[i].s->poll(a->sinks[i].s, clock_mono_ms());
	if (!a->rs->n)
		return;
	a->src = src;
	a->now = now;
	a->rt_off = realtime_offset();
	a->stacks_budget = STACKS_PER_TICK;
	longest = alerts_eval(a);
	alert_engine_foreach(a->eng, refresh_one, &rc);
	if (a->st.evaluations % 60 == 0)
		series_gc(a->series, now > longest + SERIES_GRACE_NS ? now - longest - SERIES_GRACE_NS : 0);
	a->src = NULL;
	a->st.evaluations++;
	a->st.last_eval_ns = clock_mono_ns() - t0;
	if (a->st.last_eval_ns > a->st.max_eval_ns)
		a->st.max_eval_ns = a->st.last_eval_ns;
}

/* ---- replies ---- */

static int collect_alert(struct alert *al, void *ctx)
{
	struct alert ***v = ctx;

	*(*v)++ = al;
	return 0;
}

static int cmp_alerts(const void *x, const void *y)
{
	const struct alert *a = *(struct alert *const *)x, *b = *(struct alert *const *)y;

	if (a->state != b->state)
		return a->state == ALERT_FIRING ? -1 : 1;
	if (a->severity != b->severity)
		return a->severity > b->severity ? -1 : 1;
	if (a->active_since_ns != b->active_since_ns)
		return a->active_since_ns < b->active_since_ns ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

struct json_object *alerts_list_json(struct alerts *a, int with_history, const char *rule)
{
	struct alert_engine_stats es;
	struct json_object *o = json_object_new_object(), *arr = json_object_new_array();
	struct alert **v, **end;
	int64_t off = realtime_offset();
	const struct alert *h;

	alert_engine_get_stats(a->eng, &es);
	v = malloc((es.pending + es.firing + 1) * sizeof(*v));
	if (!o || !arr || !v) {
		json_object_put(o);
		json_object_put(arr);
		free(v);
		return NULL;
	}
	end = v;
	alert_engine_foreach(a->eng, collect_alert, &end);
	if (end > v)
		qsort_safe(v, (size_t)(end - v), sizeof(*v), cmp_alerts);
	for (struct alert **p = v; p < end; p++)
		if (!rule || !strcmp((*p)->rule_name, rule))
			json_object_array_add(arr, alert_to_json(*p, off));
	free(v);
	json_object_object_add(o, "alerts", arr);
	json_object_object_add(o, "rules", json_object_new_uint64(a->rs->n));
	if (with_history) {
		arr = json_object_new_array();
		for (size_t i = 0; (h = alert_engine_history(a->eng, i)); i++)
			if (!rule || !strcmp(h->rule_name, rule))
				json_object_array_add(arr, alert_to_json(h, off));
		json_object_object_add(o, "history", arr);
	}
	return o;
}

void alerts_get_stats(const struct alerts *a, struct alerts_stats *ret)
{
	struct alert_engine_stats es;
	struct series_stats ss;

	*ret = a->st;
	alert_engine_get_stats(a->eng, &es);
	ret->pending = es.pending;
	ret->firing = es.firing;
	ret->rules = a->rs->n;
	ret->files = a->rs->files;
	series_get_stats(a->series, &ss);
	ret->series = ss.series;
	ret->series_full = ss.full;
}

void alerts_status_json(struct alerts *a, struct json_object *o)
{
	struct json_object *x = json_object_new_object(), *arr = json_object_new_array();
	struct alert_engine_stats es;
	struct alerts_stats st;

	alert_engine_get_stats(a->eng, &es);
	alerts_get_stats(a, &st);
	json_object_object_add(x, "rules", json_object_new_uint64(st.rules));
	json_object_object_add(x, "rule_files", json_object_new_uint64(st.files));
	json_object_object_add(x, "pending", json_object_new_uint64(es.pending));
	json_object_object_add(x, "firing", json_object_new_uint64(es.firing));
	json_object_object_add(x, "transitions", json_object_new_uint64(es.transitions));
	json_object_object_add(x, "refused", json_object_new_uint64(es.refused));
	json_object_object_add(x, "limit", json_object_new_uint64(a->o.max_active));
	json_object_object_add(x, "history", json_object_new_uint64(es.history));
	json_object_object_add(x, "history_limit", json_object_new_uint64(a->o.history));
	json_object_object_add(x, "evaluations", json_object_new_uint64(st.evaluations));
	json_object_object_add(x, "last_eval_ms", json_object_new_double((double)st.last_eval_ns / 1e6));
	json_object_object_add(x, "max_eval_ms", json_object_new_double((double)st.max_eval_ns / 1e6));
	json_object_object_add(x, "stacks_taken", json_object_new_uint64(st.stacks_taken));
	json_object_object_add(x, "stacks_failed", json_object_new_uint64(st.stacks_failed));
	json_object_object_add(x, "series", json_object_new_uint64(st.series));
	json_object_object_add(x, "series_full", json_object_new_uint64(st.series_full));
	json_object_object_add(x, "notify_errors", json_object_new_uint64(st.notify_errors));
	for (size_t i = 0; i < a->nsinks; i++) {
		struct json_object *y = json_object_new_object();
		struct alert_sink_stats ss;

		a->sinks[i].s->get_stats(a->sinks[i].s, &ss);
		json_object_object_add(y, "kind", json_object_new_string(a->sinks[i].s->kind));
		json_object_object_add(y, "url", a->sinks[i].s->url ? json_object_new_string(a->sinks[i].s->url) : NULL);
		json_object_object_add(y, "sent", json_object_new_uint64(ss.sent));
		json_object_object_add(y, "retried", json_object_new_uint64(ss.retried));
		json_object_object_add(y, "failed", json_object_new_uint64(ss.failed));
		json_object_object_add(y, "dropped", json_object_new_uint64(ss.dropped));
		json_object_object_add(y, "superseded", json_object_new_uint64(ss.superseded));
		json_object_object_add(y, "queued", json_object_new_uint64(ss.queued));
		json_object_object_add(y, "last_error", json_object_new_string(ss.last_error));
		json_object_object_add(y, "last_error_at", ss.last_error_unix ? json_object_new_int64(ss.last_error_unix)
									     : NULL);
		json_object_object_add(y, "last_sent_at", ss.last_sent_unix ? json_object_new_int64(ss.last_sent_unix)
									   : NULL);
		json_object_array_add(arr, y);
	}
	json_object_object_add(x, "receivers", arr);
	json_object_object_add(o, "alerts", x);
}

int alerts_hotspots_json(const struct alerts_src *src, uint64_t span, uint32_t pid, const char *unit, size_t limit,
			 struct json_object **ret)
{
	struct pq_result q = { 0 };
	struct profile *p = NULL;
	struct hotspots *h = NULL;
	struct json_object *o = NULL;
	size_t k = 0;
	int r;

	r = profile_query(&src->prof, span, &(struct pq_filter){ .tgid = pid }, &q);
	if (!r && unit) {
		for (size_t i = 0; i < q.n; i++)
			if (!strcmp(resources_unit(src->res, q.v[i].proc), unit))
				q.v[k++] = q.v[i];
		q.n = k;
	}
	if (!r)
		r = profile_build(&src->prof, &q, &p);
	if (!r)
		r = hotspots_compute(p, NULL, &h);
	if (!r) {
		o = hotspots_to_json(h, limit, 10);
		if (!o)
			r = -ENOMEM;
	}
	if (!r) {
		json_object_object_add(o, "window_s", json_object_new_double((double)q.covered_ns / 1e9));
		json_object_object_add(o, "scope", json_object_new_string(pid ? "process" : unit ? "unit" : "host"));
		if (pid)
			json_object_object_add(o, "pid", json_object_new_uint64(pid));
		if (unit)
			json_object_object_add(o, "unit", json_object_new_string(unit));
		*ret = o;
	}
	hotspots_free(h);
	profile_free(p);
	pq_result_release(&q);
	return r;
}
