/* SPDX-License-Identifier: GPL-2.0-only */
/* Cardinality policy and counter accumulation, see series.h. */
#include "push/series.h"
#include "common/sort.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Process metrics with a Prometheus name: a few dozen rows of the registry. */
#define MAX_PM 64

static const struct metric *pm[MAX_PM];
static size_t npm;

static void init_pm(void)
{
	const struct metric *all;
	size_t n;

	if (npm)
		return;
	all = metrics_all(&n);
	for (size_t i = 0; i < n && npm < MAX_PM; i++)
		if (all[i].scope == METRIC_PROCESS && all[i].prom)
			pm[npm++] = &all[i];
}

const struct metric *const *push_process_metrics(size_t *ret_n)
{
	init_pm();
	*ret_n = npm;
	return pm;
}

int push_metric_additive(const struct metric *m)
{
	/* quantiles of latency histograms: a sum of p99s is no p99 */
	static const char *const not_additive[] = { "process.io_lat_p99_ns", "process.runq_p50_ns",
						    "process.runq_p99_ns" };

	for (size_t i = 0; i < sizeof(not_additive) / sizeof(not_additive[0]); i++)
		if (!strcmp(m->name, not_additive[i]))
			return 0;
	return 1;
}

/* A series under construction or carried between intervals. */
struct acc {
	struct push_series s;
	uint64_t total[MAX_PM];  /* counters: running totals, raw registry units */
	uint64_t delta[MAX_PM];  /* counters: this interval */
	double gauge[MAX_PM];    /* gauges: this interval, raw units; NaN absent */
};

struct push_accum {
	struct acc *v;           /* sorted by key */
	size_t n;
};

int push_accum_new(struct push_accum **ret)
{
	struct push_accum *a = calloc(1, sizeof(*a));

	if (!a)
		return -ENOMEM;
	init_pm();
	*ret = a;
	return 0;
}

struct push_accum *push_accum_free(struct push_accum *a)
{
	if (a) {
		free(a->v);
		free(a);
	}
	return NULL;
}

size_t push_accum_series(const struct push_accum *a)
{
	return a->n;
}

static int cmp_key(const struct push_series *x, const struct push_series *y)
{
	int c;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	/* pids compare as numbers: shorter first, then by digits */
	if (strlen(x->pid) != strlen(y->pid))
		return strlen(x->pid) < strlen(y->pid) ? -1 : 1;
	c = strcmp(x->pid, y->pid);
	if (c)
		return c;
	c = strcmp(x->comm, y->comm);
	return c ? c : strcmp(x->unit, y->unit);
}

static int cmp_acc(const void *a, const void *b)
{
	return cmp_key(&((const struct acc *)a)->s, &((const struct acc *)b)->s);
}

static bool unit_listed(const char *units, const char *unit)
{
	size_t ul = strlen(unit);

	if (!units || !ul)
		return false;
	for (const char *p = units; *p;) {
		size_t n;

		p += strspn(p, " \t,");
		n = strcspn(p, " \t,");
		if (n == ul && !strncmp(p, unit, n))
			return true;
		p += n;
	}
	return false;
}

static uint64_t u64_at(const struct metric *m, const void *snap)
{
	uint64_t v;

	memcpy(&v, (const char *)snap + m->offset, sizeof(v));
	return v;
}

/* Add process p's figures into series a (a sum: "other", or a duplicate
 * label set). */
static void add_proc(struct acc *a, const struct push_proc *p, bool first)
{
	for (size_t k = 0; k < npm; k++) {
		const struct metric *m = pm[k];

		if (m->type == METRIC_COUNTER && m->kind == METRIC_U64) {
			uint64_t v = u64_at(m, &p->m);

			if (v != METRIC_ABSENT_U64)
				a->delta[k] += v;
			continue;
		}
		{
			double v = metric_value(m, &p->m);

			if (isnan(v))
				continue;
			if (first || isnan(a->gauge[k]))
				a->gauge[k] = v;
			else if (push_metric_additive(m))
				a->gauge[k] += v;
			else if (v > a->gauge[k])
				a->gauge[k] = v;
		}
	}
}

static void acc_init(struct acc *a, enum push_series_kind kind)
{
	memset(a, 0, sizeof(*a));
	a->s.kind = kind;
	for (size_t k = 0; k < MAX_PM; k++)
		a->gauge[k] = NAN;
}

struct rank {
	uint32_t i;
	uint64_t key, key2;
};

static int cmp_rank(const void *a, const void *b)
{
	const struct rank *x = a, *y = b;

	if (x->key != y->key)
		return x->key > y->key ? -1 : 1;
	if (x->key2 != y->key2)
		return x->key2 > y->key2 ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* Mark order[] of selected processes (each at most once): CPU, memory,
 * then listed units, so the bound keeps the heaviest first. */
static size_t select_procs(const struct push_policy *pol, const struct push_proc *v, size_t n, uint8_t *sel,
			   uint32_t *order, struct rank *r)
{
	size_t no = 0;

	for (size_t i = 0; i < n; i++)
		r[i] = (struct rank){ .i = (uint32_t)i, .key = v[i].m.oncpu_ns, .key2 = v[i].m.samples };
	qsort_safe(r, n, sizeof(*r), cmp_rank);
	for (size_t i = 0, taken = 0; i < n && taken < pol->top_cpu; i++) {
		if (!r[i].key && !r[i].key2)
			break; /* idle processes are not "top" */
		if (!sel[r[i].i]) {
			sel[r[i].i] = 1;
			order[no++] = r[i].i;
		}
		taken++;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t rss = v[i].m.rss_bytes;

		r[i] = (struct rank){ .i = (uint32_t)i, .key = rss == METRIC_ABSENT_U64 ? 0 : rss };
	}
	qsort_safe(r, n, sizeof(*r), cmp_rank);
	for (size_t i = 0, taken = 0; i < n && taken < pol->top_mem; i++) {
		if (!r[i].key)
			break;
		if (!sel[r[i].i]) {
			sel[r[i].i] = 1;
			order[no++] = r[i].i;
		}
		taken++;
	}
	for (size_t i = 0; i < n; i++) {
		if (!sel[i] && unit_listed(pol->units, v[i].unit)) {
			sel[i] = 1;
			order[no++] = (uint32_t)i;
		}
	}
	return no;
}

static struct acc *old_find(struct push_accum *a, const struct push_series *key)
{
	size_t lo = 0, hi = a->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = cmp_key(&a->v[mid].s, key);

		if (!c)
			return &a->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static bool applies(const struct metric *m, enum push_series_kind kind)
{
	if (kind == PUSH_SERIES_HOST)
		return m->scope == METRIC_HOST;
	if (m->scope != METRIC_PROCESS)
		return false;
	return kind == PUSH_SERIES_PROC || m->type == METRIC_COUNTER || push_metric_additive(m);
}

static int pm_index(const struct metric *m)
{
	for (size_t k = 0; k < npm; k++)
		if (pm[k] == m)
			return (int)k;
	return -1;
}

int push_accum_build(struct push_accum *a, const struct push_policy *pol, const struct push_proc *procs, size_t n,
		     const struct metrics_host *host, uint64_t from_ms, uint64_t t_ms, struct push_batch *ret)
{
	uint8_t *sel = calloc(n ? n : 1, 1), *seen = calloc(a->n ? a->n : 1, 1);
	uint32_t *order = malloc((n ? n : 1) * sizeof(*order));
	struct rank *rk = malloc((n ? n : 1) * sizeof(*rk));
	struct acc *nv = NULL;
	size_t nn = 0, nsel, own, cap, nstale = 0, np = 0, mcount;
	const struct metric *all;
	int r = -ENOMEM;

	memset(ret, 0, sizeof(*ret));
	ret->from_ms = from_ms;
	ret->t_ms = t_ms;
	ret->procs = n;
	if (!sel || !seen || !order || !rk)
		goto out;
	nsel = select_procs(pol, procs, n, sel, order, rk);
	own = nsel < pol->max_procs ? nsel : pol->max_procs;
	ret->procs_over_bound = nsel - own;
	for (size_t i = own; i < nsel; i++)
		sel[order[i]] = 0;
	cap = own + 2;
	nv = calloc(cap, sizeof(*nv));
	if (!nv)
		goto out;
	if (host)
		acc_init(&nv[nn++], PUSH_SERIES_HOST);
	for (size_t i = 0; i < own; i++) {
		const struct push_proc *p = &procs[order[i]];
		struct acc *x = &nv[nn++];

		acc_init(x, PUSH_SERIES_PROC);
		snprintf(x->s.pid, sizeof(x->s.pid), "%u", p->pid);
		snprintf(x->s.comm, sizeof(x->s.comm), "%s", p->comm);
		snprintf(x->s.unit, sizeof(x->s.unit), "%s", p->unit);
		add_proc(x, p, true);
	}
	ret->procs_own = own;
	for (size_t i = 0; i < n; i++) {
		if (sel[i])
			continue;
		if (!ret->procs_other) {
			acc_init(&nv[nn], PUSH_SERIES_OTHER);
			snprintf(nv[nn].s.comm, sizeof(nv[nn].s.comm), "%s", PUSH_COMM_OTHER);
			nn++;
			add_proc(&nv[nn - 1], &procs[i], true);
		} else {
			add_proc(&nv[nn - 1], &procs[i], false);
		}
		ret->procs_other++;
	}
	qsort_safe(nv, nn, sizeof(*nv), cmp_acc);
	/* one series per label set: a pid reused within an interval by a
	 * process of the same name and unit is one series */
	if (nn > 1) {
		size_t w = 0;

		for (size_t i = 1; i < nn; i++) {
			if (!cmp_key(&nv[w].s, &nv[i].s)) {
				for (size_t k = 0; k < npm; k++) {
					nv[w].delta[k] += nv[i].delta[k];
					if (isnan(nv[w].gauge[k]) ||
					    (!isnan(nv[i].gauge[k]) && nv[i].gauge[k] > nv[w].gauge[k]))
						nv[w].gauge[k] = nv[i].gauge[k];
				}
			} else {
				nv[++w] = nv[i];
			}
		}
		nn = w + 1;
	}
	/* totals: carried over from the previous interval, or starting now */
	for (size_t i = 0; i < nn; i++) {
		struct acc *o = old_find(a, &nv[i].s);

		nv[i].s.start_ms = o ? o->s.start_ms : from_ms;
		for (size_t k = 0; k < npm; k++) {
			uint64_t prev = o ? o->total[k] : 0;

			nv[i].total[k] = prev + nv[i].delta[k] < prev ? UINT64_MAX : prev + nv[i].delta[k];
		}
		if (o)
			seen[o - a->v] = 1;
	}
	for (size_t i = 0; i < a->n; i++)
		nstale += !seen[i];
	ret->series = calloc(nn + nstale + 1, sizeof(*ret->series));
	all = metrics_all(&mcount);
	{
		size_t maxp = 0;

		for (size_t j = 0; j < mcount; j++)
			if (all[j].prom && all[j].scope != METRIC_DAEMON)
				maxp++;
		ret->points = malloc((maxp * (nn + nstale) + 1) * sizeof(*ret->points));
	}
	if (!ret->series || !ret->points)
		goto out;
	for (size_t i = 0; i < nn; i++)
		ret->series[i] = nv[i].s;
	ret->nseries = nn;
	for (size_t i = 0; i < a->n; i++) {
		if (seen[i])
			continue;
		ret->series[ret->nseries] = a->v[i].s;
		ret->series[ret->nseries].stale = 1;
		ret->nseries++;
	}
	/* points, grouped by metric in registry order */
	for (size_t j = 0; j < mcount; j++) {
		const struct metric *m = &all[j];
		int k = pm_index(m);

		if (!m->prom || m->scope == METRIC_DAEMON)
			continue;
		for (size_t s = 0; s < ret->nseries; s++) {
			const struct push_series *se = &ret->series[s];
			double v;

			if (!applies(m, se->kind))
				continue;
			if (se->stale) {
				v = NAN;
			} else if (se->kind == PUSH_SERIES_HOST) {
				v = metric_value(m, host);
				if (isnan(v))
					continue;
				v *= m->prom_scale;
			} else if (m->type == METRIC_COUNTER && m->kind == METRIC_U64) {
				v = (double)nv[s].total[k] * m->prom_scale;
			} else {
				v = nv[s].gauge[k];
				if (isnan(v))
					continue;
				v *= m->prom_scale;
			}
			ret->points[np++] = (struct push_point){ .m = m, .series = (uint32_t)s, .value = v };
		}
	}
	ret->npoints = np;
	free(a->v);
	a->v = nv;
	a->n = nn;
	nv = NULL;
	r = 0;
out:
	free(nv);
	free(sel);
	free(seen);
	free(order);
	free(rk);
	return r;
}

void push_batch_release(struct push_batch *b)
{
	free(b->series);
	free(b->points);
	memset(b, 0, sizeof(*b));
}
