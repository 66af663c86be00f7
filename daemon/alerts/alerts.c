/* SPDX-License-Identifier: GPL-2.0-only */
/* The alerting subsystem: evaluation over the windows, evidence,
 * notifications, replies. See alerts.h. */
#include "alerts/alerts.h"

#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "alerts/engine.h"
#include "alerts/hotspots.h"
#include "alerts/notify.h"
#include "alerts/rules.h"
#include "alerts/trend.h"
#include "collect/procstat.h"
#include "collect/resources.h"
#include "common/clock.h"
#include "common/fmt.h"
#include "metrics/registry.h"
#include "profile/profile.h"
#include "store/proctable.h"
#include "store/window.h"

/* Evidence taken in transition callbacks per tick, at most: a burst of
 * alerts firing together must not stall the loop; the rest get theirs
 * from the refresh pass of the following ticks. */
#define STACKS_PER_TICK 16
/* Series older than the longest window plus this are forgotten. */
#define SERIES_GRACE_NS (60 * NSEC_PER_SEC)
/* Series key of a unit: a hash of its name with the top bit set (process
 * keys are proctable ids, below 2^32). */
#define UNIT_KEY_BIT (1ull << 63)
/* A window is read again once the data moved by window / this. */
#define ALERTS_REFRESH_DIV 30

/* A live process this tick, and its figures over the window in hand. */
struct pent {
	const struct proc_info *pi;
	const char *unit;
	struct res_gauges g;
	int have_g;
	int have_m;
	const struct wcounters *wc;  /* over the window in hand, NULL: none */
	uint64_t samples;
	struct metrics_process m;
};

/* One rule window's per-process counters and samples, as last read from
 * the store. Reading a window costs its slots x the processes in them (a
 * 5 m window is 300 fine slots): a window is read again once the data has
 * moved by window / ALERTS_REFRESH_DIV (at least every tick), so the
 * figures a rule sees lag its window by at most that, 2 s for 1 m. */
struct wentry {
	uint32_t proc;
	uint64_t samples;
	int have_wc;
	struct wcounters wc;
};

struct wagg {
	uint64_t window_ns;
	uint64_t until_ns;           /* data end of the last read, 0: never */
	int with_samples;            /* samples were read too */
	int used;                    /* a rule of this tick has this window */
	int fresh;                   /* read at this tick */
	double secs;                 /* time the read covered */
	struct wcounters sys;
	int have_sys;
	int32_t *idx;                /* proctable index -> entry, -1 */
	struct wentry *e;
	size_t n, cap;
};

/* A unit's processes added up, over the window in hand. */
struct uent {
	const char *name;
	uint64_t key;
	uint64_t newest_ns;          /* newest gauge reading of its processes */
	struct metrics_unit_acc acc;
};

struct sink_slot {
	struct alert_sink *s;
	char *src_url;               /* as configured (the sink may extend it) */
	int global;                  /* the [alerts] receiver of its kind */
};

struct alerts {
	struct alerts_opts o;          /* URLs and host not kept: the copies below */
	char host[256];
	char am_url[512], wh_url[512];
	int configured;
	struct ruleset *rs;
	struct alert_engine *eng;
	struct series *series;
	struct sink_slot sinks[ALERTS_MAX_SINKS];
	size_t nsinks;

	/* per tick */
	const struct alerts_src *src;
	uint64_t now;
	int64_t rt_off;
	int32_t *idx;                /* proctable index -> pent, -1 */
	uint32_t nidx;
	struct pent *p;
	size_t np, pcap;
	struct uent *u;
	size_t nu, ucap;
	struct wagg *aggs;           /* one per distinct rule window */
	size_t naggs;
	struct wagg *cur;            /* the window in hand */
	double secs;                 /* window covered */
	int stacks_budget;

	char **cgroup;               /* per proctable index, lazily */
	uint64_t *cgroup_start;
	struct alerts_stats st;
};

static void wagg_release(struct wagg *g);

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
	r = url ? alert_sink_http_new(kind, url, &a->o.http, resend, &s) : alert_sink_log_new(&s);
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
	if (o->host && *o->host)
		snprintf(a->host, sizeof(a->host), "%s", o->host);
	else if (gethostname(a->host, sizeof(a->host) - 1) < 0)
		snprintf(a->host, sizeof(a->host), "localhost");
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
		wagg_release(&a->aggs[i]);
	free(a->aggs);
	free(a->p);
	free(a->u);
	free(a);
	return NULL;
}

/* Field by field: the struct has padding. */
static int same_http(const struct http_queue_opts *x, const struct http_queue_opts *y)
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

/* ---- evaluation ---- */

static const char *cgroup_of(struct alerts *a, const struct proc_info *pi)
{
	uint32_t i = proctable_id_index(pi->id);
	struct procstat *ps;

	if (i >= a->nidx)
		return NULL;
	if (a->cgroup[i] && a->cgroup_start[i] == pi->start_ns)
		return a->cgroup[i];
	free(a->cgroup[i]);
	a->cgroup[i] = NULL;
	ps = malloc(sizeof(*ps));
	if (ps && !procstat_read(a->src->procfs ? a->src->procfs : "/proc", pi->tgid, PROCSTAT_READ_CGROUP, ps) &&
	    (ps->valid & PROCSTAT_CGROUP)) {
		a->cgroup[i] = strdup(ps->cgroup);
		a->cgroup_start[i] = pi->start_ns;
	}
	free(ps);
	return a->cgroup[i];
}

static int proc_matches(struct alerts *a, const struct rule *r, const struct pent *p)
{
	for (size_t i = 0; i < r->nmatch; i++) {
		const struct rule_match *m = &r->match[i];
		int ok;

		switch (m->kind) {
		case MATCH_COMM:
			ok = rule_glob_match(m, p->pi->comm);
			break;
		case MATCH_EXE:
			ok = rule_glob_match(m, p->pi->exe);
			break;
		case MATCH_CMDLINE:
			ok = rule_glob_match(m, p->pi->cmdline);
			break;
		case MATCH_UNIT:
			ok = p->unit && *p->unit && rule_glob_match(m, p->unit);
			break;
		case MATCH_CGROUP:
			ok = rule_glob_match(m, cgroup_of(a, p->pi));
			break;
		case MATCH_PID:
			ok = p->pi->tgid == m->num;
			break;
		case MATCH_UID:
			ok = p->pi->uid == m->num;
			break;
		default:
			ok = 0;
		}
		if (!ok)
			return 0;
	}
	return 1;
}

static int unit_matches(const struct rule *r, const char *unit)
{
	for (size_t i = 0; i < r->nmatch; i++)
		if (!rule_glob_match(&r->match[i], unit))
			return 0;
	return 1;
}

static int is_growth(const struct rule *r)
{
	return r->metric->offset == offsetof(struct metrics_process, rss_growth_bps) &&
	       (r->scope == RULE_PROCESS || r->scope == RULE_UNIT);
}

struct collect_ctx {
	struct alerts *a;
	int oom;
};

static int add_pent(const struct proc_info *pi, void *ctx)
{
	struct collect_ctx *c = ctx;
	struct alerts *a = c->a;
	uint32_t i = proctable_id_index(pi->id);
	struct pent *p;

	if (pi->exit_ns || i < PROC_ID_FIRST || i >= a->nidx)
		return 0;
	if (a->np == a->pcap) {
		size_t cap = a->pcap ? a->pcap * 2 : 512;
		struct pent *v = realloc(a->p, cap * sizeof(*v));

		if (!v) {
			c->oom = 1;
			return 1;
		}
		a->p = v;
		a->pcap = cap;
	}
	p = &a->p[a->np];
	memset(p, 0, sizeof(*p));
	p->pi = pi;
	p->unit = resources_unit(a->src->res, pi->id);
	p->have_g = !resources_gauges(a->src->res, pi->id, &p->g);
	a->idx[i] = (int32_t)a->np++;
	return 0;
}

static struct pent *pent_of(struct alerts *a, uint32_t proc)
{
	uint32_t i = proctable_id_index(proc);
	struct pent *p;

	if (i >= a->nidx || a->idx[i] < 0)
		return NULL;
	p = &a->p[a->idx[i]];
	return p->pi->id == proc ? p : NULL;
}

static struct wentry *wentry_get(struct alerts *a, struct wagg *g, uint32_t proc)
{
	uint32_t i = proctable_id_index(proc);
	struct wentry *e;

	if (i >= a->nidx)
		return NULL;
	if (g->idx[i] >= 0 && g->e[g->idx[i]].proc == proc)
		return &g->e[g->idx[i]];
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 256;
		struct wentry *v = realloc(g->e, cap * sizeof(*v));

		if (!v)
			return NULL;
		g->e = v;
		g->cap = cap;
	}
	e = &g->e[g->n];
	memset(e, 0, sizeof(*e));
	e->proc = proc;
	g->idx[i] = (int32_t)g->n++;
	return e;
}

static void on_counters(uint32_t proc, const struct wcounters *c, void *ctx)
{
	struct alerts *a = ctx;
	struct wentry *e;

	if (proc == PROC_ID_SYSTEM) {
		a->cur->sys = *c;
		a->cur->have_sys = 1;
		return;
	}
	if (proctable_id_index(proc) < PROC_ID_FIRST)
		return;
	e = wentry_get(a, a->cur, proc);
	if (e) {
		e->wc = *c;
		e->have_wc = 1;
	}
}

static void on_samples(uint32_t proc, uint32_t stack, uint64_t count, void *ctx)
{
	struct alerts *a = ctx;
	struct wentry *e;

	(void)stack;
	if (proctable_id_index(proc) < PROC_ID_FIRST)
		return;
	e = wentry_get(a, a->cur, proc);
	if (e)
		e->samples += count;
}

static struct wagg *wagg_of(struct alerts *a, uint64_t w)
{
	struct wagg *g;

	for (size_t i = 0; i < a->naggs; i++)
		if (a->aggs[i].window_ns == w)
			return &a->aggs[i];
	g = realloc(a->aggs, (a->naggs + 1) * sizeof(*g));
	if (!g)
		return NULL;
	a->aggs = g;
	g = &a->aggs[a->naggs];
	memset(g, 0, sizeof(*g));
	g->window_ns = w;
	g->idx = malloc(a->nidx * sizeof(*g->idx));
	if (!g->idx)
		return NULL;
	memset(g->idx, 0xff, a->nidx * sizeof(*g->idx));
	a->naggs++;
	return g;
}

static void wagg_release(struct wagg *g)
{
	free(g->idx);
	free(g->e);
}

/* Windows no rule has any more go. */
static void wagg_gc(struct alerts *a)
{
	size_t k = 0;

	for (size_t i = 0; i < a->naggs; i++) {
		if (!a->aggs[i].used) {
			wagg_release(&a->aggs[i]);
			continue;
		}
		a->aggs[i].used = 0; /* until the next tick's rules say again */
		a->aggs[k++] = a->aggs[i];
	}
	a->naggs = k;
}

/* Read window w from the store if the data moved far enough since. */
static struct wagg *wagg_read(struct alerts *a, uint64_t w, int counters, int samples)
{
	const struct alerts_src *src = a->src;
	uint64_t now = src->prof.data_until_ns, from, step = w / ALERTS_REFRESH_DIV;
	struct wagg *g = wagg_of(a, w);
	struct window_range wr;

	if (!g)
		return NULL;
	g->used = 1;
	g->fresh = 0;
	if (g->until_ns && now >= g->until_ns && now - g->until_ns < step && (!samples || g->with_samples))
		return g;
	for (size_t i = 0; i < g->n; i++)
		g->idx[proctable_id_index(g->e[i].proc)] = -1;
	g->n = 0;
	g->have_sys = 0;
	a->cur = g;
	if (counters)
		window_query_counters(src->prof.win, now, w, on_counters, a, &wr);
	if (samples)
		window_query(src->prof.win, now, w, on_samples, a, &wr);
	from = now > w ? now - w : 0;
	if (from < src->prof.start_ns)
		from = src->prof.start_ns;
	g->secs = now > from ? (double)(now - from) / 1e9 : 0;
	g->until_ns = now;
	g->with_samples = samples;
	g->fresh = 1;
	return g;
}

static void compute(struct alerts *a, struct pent *p)
{
	const struct res_system *sys = resources_system(a->src->res);

	if (p->have_m)
		return;
	metrics_process_compute(&(struct metrics_process_in){
		.wc = p->wc,
		.g = p->have_g ? &p->g : NULL,
		.samples = p->samples,
		.secs = a->secs,
		.frequency = a->src->prof.frequency,
		.exact_cpu = resources_exact_cpu(a->src->res),
		.mem_total = sys->mem_ok ? sys->mem.total : 0,
	}, &p->m);
	p->have_m = 1;
}

static uint64_t unit_key(const char *name)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 0x100000001b3ull;
	return h | UNIT_KEY_BIT;
}

static void growth(struct alerts *a, uint64_t key, uint64_t window_ns, struct metrics_process *m)
{
	struct trend t;

	m->rss_growth_bps = 0;
	m->rss_growth_points = 0;
	if (!series_fit(a->series, key, a->now, window_ns, &t)) {
		m->rss_growth_bps = trend_steady_slope(&t, (double)window_ns / 1e9);
		m->rss_growth_points = t.n;
	}
}

/* The units of the live processes, added up over the window in hand. */
static int build_units(struct alerts *a)
{
	a->nu = 0;
	for (size_t i = 0; i < a->np; i++) {
		struct pent *p = &a->p[i];
		size_t j;

		if (!p->unit || !*p->unit)
			continue;
		/* few units on a host; a linear search is cheaper than a map */
		for (j = 0; j < a->nu && strcmp(a->u[j].name, p->unit); j++)
			;
		if (j == a->nu) {
			if (a->nu == a->ucap) {
				size_t cap = a->ucap ? a->ucap * 2 : 64;
				struct uent *v = realloc(a->u, cap * sizeof(*v));

				if (!v)
					return -ENOMEM;
				a->u = v;
				a->ucap = cap;
			}
			memset(&a->u[j], 0, sizeof(a->u[j]));
			a->u[j].name = p->unit;
			a->u[j].key = unit_key(p->unit);
			a->nu++;
		}
		compute(a, p);
		metrics_unit_add(&a->u[j].acc, &p->m, p->wc);
		if (p->have_g && p->g.ns > a->u[j].newest_ns)
			a->u[j].newest_ns = p->g.ns;
	}
	return 0;
}

/* RSS readings for growth rules, every tick. */
static void sample_series(struct alerts *a)
{
	int procs = 0, units = 0;

	for (size_t i = 0; i < a->rs->n; i++)
		if (is_growth(&a->rs->v[i])) {
			procs |= a->rs->v[i].scope == RULE_PROCESS;
			units |= a->rs->v[i].scope == RULE_UNIT;
		}
	if (!procs && !units)
		return;
	for (size_t i = 0; i < a->np; i++) {
		struct pent *p = &a->p[i];
		int want = 0;

		if (!p->have_g || !p->g.valid)
			continue;
		for (size_t k = 0; procs && k < a->rs->n && !want; k++)
			want = is_growth(&a->rs->v[k]) && a->rs->v[k].scope == RULE_PROCESS &&
			       proc_matches(a, &a->rs->v[k], p);
		if (want)
			series_add(a->series, p->pi->id, p->g.ns, (double)p->g.rss);
	}
	if (units) {
		/* the unit's RSS: the sum of its processes' latest readings,
		 * at the time of the newest of them (gauges of idle processes
		 * are read every few ticks only: repeating a sum at every tick
		 * would draw stairs, not the growth) */
		for (size_t i = 0; i < a->np; i++) {
			a->p[i].have_m = 0;
			a->p[i].wc = NULL;
		}
		a->secs = 1;
		if (!build_units(a))
			for (size_t j = 0; j < a->nu; j++)
				series_add(a->series, a->u[j].key, a->u[j].newest_ns, (double)a->u[j].acc.sum.rss_bytes);
	}
}

struct window_needs {
	int counters, samples, units, profile, all_procs;
};

static void window_needs(const struct alerts *a, uint64_t w, int exact, struct window_needs *n)
{
	memset(n, 0, sizeof(*n));
	for (size_t i = 0; i < a->rs->n; i++) {
		const struct rule *r = &a->rs->v[i];

		if (r->window_ns != w)
			continue;
		switch (r->scope) {
		case RULE_HOST:
			n->counters = 1;
			break;
		case RULE_PROCESS:
		case RULE_UNIT:
			n->counters = 1;
			n->units |= r->scope == RULE_UNIT;
			if (!exact || !strcmp(r->metric->name, "process.samples") ||
			    !strcmp(r->metric->name, "process.sample_cpu_pct"))
				n->samples = 1;
			break;
		case RULE_FUNCTION:
			n->profile = 1;
			break;
		case RULE_FUNCTION_HOST:
			n->profile = 1;
			n->all_procs = 1;
			break;
		}
	}
}

/* Does a function rule take function name? */
static int function_matches(const struct rule *r, const char *name)
{
	return !r->function || !fnmatch(r->function, name, 0);
}

static void observe_function(struct alerts *a, const struct rule *r, const struct alert_entity *ent,
			     const struct hotspot *f, uint64_t self, uint64_t total, uint64_t scope_samples)
{
	struct metrics_function mf = {
		.self_pct = scope_samples ? 100.0 * (double)self / (double)scope_samples : 0,
		.total_pct = scope_samples ? 100.0 * (double)total / (double)scope_samples : 0,
		.self_samples = self,
		.total_samples = total,
		.scope_samples = scope_samples,
	};
	struct alert_entity e = *ent;

	e.function = f->name;
	alert_engine_observe(a->eng, r, &e, metric_value(r->metric, &mf), a->now);
}

/* Function rules of window w over one profile of it. */
static void eval_functions(struct alerts *a, uint64_t w, const struct window_needs *need)
{
	const struct alerts_src *src = a->src;
	struct pq_result q = { 0 };
	struct profile *p = NULL;
	struct hotspots *h = NULL;
	size_t k = 0;

	if (profile_query(&src->prof, w, NULL, &q))
		goto out;
	if (!need->all_procs) {
		/* only processes some function rule of this window matches:
		 * naming frames is the expensive part */
		for (size_t i = 0; i < q.n; i++) {
			struct pent *pe = pent_of(a, q.v[i].proc);
			int want = 0;

			for (size_t j = 0; pe && j < a->rs->n && !want; j++) {
				const struct rule *r = &a->rs->v[j];

				want = r->window_ns == w && r->scope == RULE_FUNCTION && proc_matches(a, r, pe);
			}
			if (want)
				q.v[k++] = q.v[i];
		}
		q.n = k;
	}
	if (profile_build(&src->prof, &q, &p) || hotspots_compute(p, NULL, &h))
		goto out;
	for (size_t j = 0; j < a->rs->n; j++) {
		const struct rule *r = &a->rs->v[j];

		if (r->window_ns != w || (r->scope != RULE_FUNCTION && r->scope != RULE_FUNCTION_HOST))
			continue;
		alert_engine_rule_begin(a->eng, r);
		if (r->scope == RULE_FUNCTION_HOST) {
			const struct alert_entity host = { .kind = ENTITY_HOST };

			for (size_t i = 0; i < h->nfuncs; i++)
				if (function_matches(r, h->funcs[i].name))
					observe_function(a, r, &host, &h->funcs[i], h->funcs[i].self, h->funcs[i].total,
							 h->samples);
			alert_engine_rule_end(a->eng, r, a->now, "function no longer sampled");
			continue;
		}
		for (uint32_t pi = 0; pi < p->nprocs; pi++) {
			const struct profile_proc *pp = &p->procs[pi];
			const struct proc_info *info = pp->pid ? proctable_find_tgid(src->prof.procs, pp->pid) : NULL;
			struct pent *pe = info && info->start_ns == pp->start_ns ? pent_of(a, info->id) : NULL;
			const struct hotspot_pair *pairs;
			struct alert_entity ent;
			size_t n;

			if (!pe || !proc_matches(a, r, pe) || !(pairs = hotspots_of_proc(h, pi, &n)))
				continue;
			ent = (struct alert_entity){ .kind = ENTITY_PROCESS, .pid = pe->pi->tgid,
						     .start_ns = pe->pi->start_ns, .proc_id = pe->pi->id,
						     .comm = pe->pi->comm, .exe = pe->pi->exe, .unit = pe->unit };
			for (size_t i = 0; i < n; i++)
				if (function_matches(r, h->funcs[pairs[i].func].name))
					observe_function(a, r, &ent, &h->funcs[pairs[i].func], pairs[i].self, pairs[i].total,
							 h->proc_samples[pi]);
		}
		alert_engine_rule_end(a->eng, r, a->now, "function no longer sampled or process exited");
	}
out:
	hotspots_free(h);
	profile_free(p);
	pq_result_release(&q);
}

static void eval_window(struct alerts *a, uint64_t w)
{
	const struct alerts_src *src = a->src;
	struct window_needs need;
	struct wagg *g;
	int exact = resources_exact_cpu(src->res);

	window_needs(a, w, exact, &need);
	g = wagg_read(a, w, need.counters, need.samples);
	if (!g)
		return;
	a->secs = g->secs;
	for (size_t i = 0; i < a->np; i++) {
		struct pent *p = &a->p[i];
		uint32_t k = proctable_id_index(p->pi->id);
		const struct wentry *e = g->idx[k] >= 0 && g->e[g->idx[k]].proc == p->pi->id ? &g->e[g->idx[k]] : NULL;

		p->have_m = 0;
		p->wc = e && e->have_wc ? &e->wc : NULL;
		p->samples = e ? e->samples : 0;
	}
	if (need.units && build_units(a))
		need.units = 0;
	for (size_t j = 0; j < a->rs->n; j++) {
		const struct rule *r = &a->rs->v[j];

		if (r->window_ns != w)
			continue;
		if (r->scope == RULE_HOST) {
			struct metrics_host hm;
			const struct alert_entity host = { .kind = ENTITY_HOST };

			metrics_host_compute(resources_system(src->res), g->have_sys ? &g->sys : NULL, resources_gpu(src->res), &hm);
			alert_engine_rule_begin(a->eng, r);
			alert_engine_observe(a->eng, r, &host, metric_value(r->metric, &hm), a->now);
			alert_engine_rule_end(a->eng, r, a->now, "gone");
		} else if (r->scope == RULE_PROCESS) {
			int grows = is_growth(r);

			alert_engine_rule_begin(a->eng, r);
			for (size_t i = 0; i < a->np; i++) {
				struct pent *p = &a->p[i];
				struct alert_entity ent;

				if (!proc_matches(a, r, p))
					continue;
				compute(a, p);
				if (grows)
					growth(a, p->pi->id, w, &p->m);
				ent = (struct alert_entity){ .kind = ENTITY_PROCESS, .pid = p->pi->tgid,
							     .start_ns = p->pi->start_ns, .proc_id = p->pi->id,
							     .comm = p->pi->comm, .exe = p->pi->exe, .unit = p->unit };
				alert_engine_observe(a->eng, r, &ent, metric_value(r->metric, &p->m), a->now);
			}
			alert_engine_rule_end(a->eng, r, a->now, "process exited");
		} else if (r->scope == RULE_UNIT) {
			alert_engine_rule_begin(a->eng, r);
			for (size_t i = 0; need.units && i < a->nu; i++) {
				struct metrics_process m;
				struct alert_entity ent = { .kind = ENTITY_UNIT, .unit = a->u[i].name };

				if (!unit_matches(r, a->u[i].name))
					continue;
				metrics_unit_finish(&a->u[i].acc, &m);
				if (is_growth(r))
					growth(a, a->u[i].key, w, &m);
				alert_engine_observe(a->eng, r, &ent, metric_value(r->metric, &m), a->now);
			}
			alert_engine_rule_end(a->eng, r, a->now, "unit has no process left");
		}
	}
	/* function rules read a profile of the window: with the counters */
	if (need.profile && (g->fresh || !need.counters))
		eval_functions(a, w, &need);
}

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
	struct collect_ctx cc = { .a = a };
	struct refresh_ctx rc = { .a = a, .budget = ALERTS_STACK_REFRESH_PER_TICK };
	uint64_t t0 = clock_mono_ns(), *done = NULL, longest = 0;
	size_t ndone = 0;

	if (!a->rs->n)
		return;
	a->src = src;
	a->now = now;
	a->rt_off = realtime_offset();
	a->stacks_budget = STACKS_PER_TICK;
	a->np = 0;
	memset(a->idx, 0xff, a->nidx * sizeof(*a->idx));
	proctable_foreach(src->prof.procs, add_pent, &cc);
	if (cc.oom)
		goto out;
	sample_series(a);
	done = malloc(a->rs->n * sizeof(*done));
	if (!done)
		goto out;
	for (size_t i = 0; i < a->rs->n; i++) {
		uint64_t w = a->rs->v[i].window_ns;
		size_t k;

		if (w > longest)
			longest = w;
		for (k = 0; k < ndone && done[k] != w; k++)
			;
		if (k < ndone)
			continue;
		done[ndone++] = w;
		eval_window(a, w);
	}
	wagg_gc(a);
	alert_engine_foreach(a->eng, refresh_one, &rc);
	if (a->st.evaluations % 60 == 0)
		series_gc(a->series, now > longest + SERIES_GRACE_NS ? now - longest - SERIES_GRACE_NS : 0);
out:
	free(done);
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
		qsort(v, (size_t)(end - v), sizeof(*v), cmp_alerts);
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
	struct series_stats ss;

	*ret = a->st;
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
