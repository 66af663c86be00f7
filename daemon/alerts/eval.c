/* SPDX-License-Identifier: GPL-2.0-only */
/* Evaluation of the alert rules at a tick: the live processes, their RSS
 * series, each rule window read from the store (cached for a thirtieth of
 * the window), and each rule's entities observed by the state machine.
 * See alerts.h. */
#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/alerts_internal.h"
#include "alerts/hotspots.h"
#include "alerts/trend.h"
#include "collect/procstat.h"
#include "profile/profile.h"
#include "store/proctable.h"

/* Series key of a unit: a hash of its name with the top bit set (process
 * keys are proctable ids, below 2^32). */
#define UNIT_KEY_BIT (1ull << 63)
/* A window is read again once the data moved by window / this. */
#define ALERTS_REFRESH_DIV 30

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
	if (resources_is_unit_id(proc)) {
		struct wagg *g = a->cur;

		if (g->nucg == g->ucg_cap) {
			size_t cap = g->ucg_cap ? g->ucg_cap * 2 : 16;
			struct ucg *v = realloc(g->ucg, cap * sizeof(*v));

			if (!v)
				return;
			g->ucg = v;
			g->ucg_cap = cap;
		}
		g->ucg[g->nucg++] = (struct ucg){ .id = proc, .io = { c->sum[WC_IO_RBYTES], c->sum[WC_IO_WBYTES],
								      c->sum[WC_IO_RREQS], c->sum[WC_IO_WREQS] } };
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

void alerts_wagg_release(struct wagg *g)
{
	free(g->idx);
	free(g->e);
	free(g->ucg);
}

/* Windows no rule has any more go. */
static void wagg_gc(struct alerts *a)
{
	size_t k = 0;

	for (size_t i = 0; i < a->naggs; i++) {
		if (!a->aggs[i].used) {
			alerts_wagg_release(&a->aggs[i]);
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
	g->nucg = 0;
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

/* The entry of unit name, added if new; NULL on -ENOMEM. */
static struct uent *uent_get(struct alerts *a, const char *name)
{
	size_t j;

	/* few units on a host; a linear search is cheaper than a map */
	for (j = 0; j < a->nu && strcmp(a->u[j].name, name); j++)
		;
	if (j == a->nu) {
		if (a->nu == a->ucap) {
			size_t cap = a->ucap ? a->ucap * 2 : 64;
			struct uent *v = realloc(a->u, cap * sizeof(*v));

			if (!v)
				return NULL;
			a->u = v;
			a->ucap = cap;
		}
		memset(&a->u[j], 0, sizeof(a->u[j]));
		a->u[j].name = name;
		a->u[j].key = unit_key(name);
		a->nu++;
	}
	return &a->u[j];
}

/* The units of the live processes, added up over the window in hand, and
 * with g (NULL: none) the block I/O charged to their cgroups in it: the
 * flusher's writeback included, so a unit with no process left is there
 * too while its pages are written back. */
static int build_units(struct alerts *a, const struct wagg *g)
{
	a->nu = 0;
	for (size_t i = 0; i < a->np; i++) {
		struct pent *p = &a->p[i];
		struct uent *u;

		if (!p->unit || !*p->unit)
			continue;
		u = uent_get(a, p->unit);
		if (!u)
			return -ENOMEM;
		compute(a, p);
		metrics_unit_add(&u->acc, &p->m, p->wc);
		if (p->have_g && p->g.ns > u->newest_ns)
			u->newest_ns = p->g.ns;
	}
	if (!g || !resources_unit_io(a->src->res))
		return 0;
	for (size_t i = 0; i < g->nucg; i++) {
		const char *name = resources_unit_name(a->src->res, g->ucg[i].id);
		struct uent *u = name ? uent_get(a, name) : NULL;

		if (name && !u)
			return -ENOMEM;
		if (u)
			metrics_unit_cgroup(&u->acc, g->ucg[i].io, a->secs);
	}
	/* the others did no block I/O in the window: 0, not unknown */
	for (size_t j = 0; j < a->nu; j++)
		if (!a->u[j].acc.have_cgroup)
			metrics_unit_cgroup(&a->u[j].acc, NULL, a->secs);
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
		if (!build_units(a, NULL))
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
	if (need.units && build_units(a, g))
		need.units = 0;
	for (size_t j = 0; j < a->rs->n; j++) {
		const struct rule *r = &a->rs->v[j];

		if (r->window_ns != w)
			continue;
		if (r->scope == RULE_HOST) {
			struct metrics_host hm;
			const struct alert_entity host = { .kind = ENTITY_HOST };

			{
				size_t ndev;
				const struct gpu_device_info *dev = resources_gpu_devices(src->res, &ndev);

				metrics_host_compute(resources_system(src->res), g->have_sys ? &g->sys : NULL, dev, ndev,
						     &hm);
			}
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

uint64_t alerts_eval(struct alerts *a)
{
	struct collect_ctx cc = { .a = a };
	uint64_t *done, longest = 0;
	size_t ndone = 0;

	a->np = 0;
	memset(a->idx, 0xff, a->nidx * sizeof(*a->idx));
	proctable_foreach(a->src->prof.procs, add_pent, &cc);
	if (cc.oom)
		return 0;
	sample_series(a);
	done = malloc(a->rs->n * sizeof(*done));
	if (!done)
		return 0;
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
	free(done);
	return longest;
}
