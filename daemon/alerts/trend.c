/* SPDX-License-Identifier: GPL-2.0-only */
/* Robust trends and the series they are fitted on, see trend.h. */
#include "alerts/trend.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* k-th smallest of a[0..n) (Hoare's selection; a is reordered). */
static double select_kth(double *a, size_t n, size_t k)
{
	size_t lo = 0, hi = n - 1;

	while (lo < hi) {
		double pivot = a[lo + (hi - lo) / 2];
		size_t i = lo, j = hi;

		while (i <= j) {
			while (a[i] < pivot)
				i++;
			while (a[j] > pivot)
				j--;
			if (i <= j) {
				double x = a[i];

				a[i] = a[j];
				a[j] = x;
				i++;
				if (j == 0)
					break;
				j--;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			break;
	}
	return a[k];
}

static double median(double *a, size_t n)
{
	double hi = select_kth(a, n, n / 2), lo;

	if (n % 2)
		return hi;
	/* the lower middle is the largest of the lower half */
	lo = a[0];
	for (size_t i = 1; i < n / 2; i++)
		if (a[i] > lo)
			lo = a[i];
	return (lo + hi) / 2;
}

int trend_fit(const double *t, const double *v, size_t n, struct trend *ret)
{
	double slopes[TREND_MAX_POINTS * (TREND_MAX_POINTS - 1) / 2];
	double mt = 0, mv = 0, sxx = 0, sxy = 0, syy = 0;
	size_t np = 0;

	if (n < 2 || n > TREND_MAX_POINTS || !(t[n - 1] > t[0]))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		mt += t[i];
		mv += v[i];
	}
	mt /= (double)n;
	mv /= (double)n;
	for (size_t i = 0; i < n; i++) {
		double dt = t[i] - mt, dv = v[i] - mv;

		sxx += dt * dt;
		sxy += dt * dv;
		syy += dv * dv;
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (t[j] > t[i])
				slopes[np++] = (v[j] - v[i]) / (t[j] - t[i]);
	memset(ret, 0, sizeof(*ret));
	ret->n = n;
	ret->span_s = t[n - 1] - t[0];
	ret->ls_slope = sxx > 0 ? sxy / sxx : 0;
	ret->r2 = sxx > 0 && syy > 0 ? sxy * sxy / (sxx * syy) : 0;
	ret->slope = np ? median(slopes, np) : 0;
	return 0;
}

double trend_steady_slope(const struct trend *t, double window_s)
{
	if (t->n < TREND_MIN_POINTS || t->span_s < window_s / 2 || t->r2 < TREND_MIN_R2)
		return 0;
	return t->slope;
}

/* ---- the series store ---- */

struct ring {
	uint64_t key;
	uint32_t head, n;               /* oldest point, points held */
	uint64_t t[TREND_MAX_POINTS];
	double v[TREND_MAX_POINTS];
};

struct series {
	struct ring **tab;              /* open addressing, NULL = empty */
	size_t cap, n, max;
	uint64_t spacing_ns;
	uint64_t full;
};

static size_t slot_of(uint64_t key, size_t cap)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdull;
	key ^= key >> 33;
	return (size_t)key & (cap - 1);
}

int series_new(size_t max, uint64_t spacing_ns, struct series **ret)
{
	struct series *s;

	if (!max || max > (1u << 24))
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	/* a load factor of at most one half */
	for (s->cap = 16; s->cap < 2 * max; s->cap *= 2)
		;
	s->tab = calloc(s->cap, sizeof(*s->tab));
	if (!s->tab) {
		free(s);
		return -ENOMEM;
	}
	s->max = max;
	s->spacing_ns = spacing_ns;
	*ret = s;
	return 0;
}

struct series *series_free(struct series *s)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < s->cap; i++)
		free(s->tab[i]);
	free(s->tab);
	free(s);
	return NULL;
}

void series_set_spacing(struct series *s, uint64_t spacing_ns)
{
	s->spacing_ns = spacing_ns;
}

static size_t find(const struct series *s, uint64_t key)
{
	size_t i;

	for (i = slot_of(key, s->cap); s->tab[i]; i = (i + 1) & (s->cap - 1))
		if (s->tab[i]->key == key)
			return i;
	return i; /* the empty slot where it would go */
}

/* Remove the ring at slot i, shifting its probe chain back (no tombstones). */
static void remove_at(struct series *s, size_t i)
{
	size_t j = i;

	free(s->tab[i]);
	s->tab[i] = NULL;
	s->n--;
	for (;;) {
		size_t home;

		j = (j + 1) & (s->cap - 1);
		if (!s->tab[j])
			return;
		home = slot_of(s->tab[j]->key, s->cap);
		/* move it back if its home is not in (i, j] cyclically */
		if ((i <= j) ? (home <= i || home > j) : (home <= i && home > j)) {
			s->tab[i] = s->tab[j];
			s->tab[j] = NULL;
			i = j;
		}
	}
}

int series_add(struct series *s, uint64_t key, uint64_t t_ns, double v)
{
	size_t i = find(s, key);
	struct ring *r = s->tab[i];

	if (!r) {
		if (s->n >= s->max) {
			s->full++;
			return -ENOSPC;
		}
		r = calloc(1, sizeof(*r));
		if (!r)
			return -ENOMEM;
		r->key = key;
		s->tab[i] = r;
		s->n++;
	}
	if (r->n) {
		uint64_t last = r->t[(r->head + r->n - 1) % TREND_MAX_POINTS];

		if (t_ns <= last || t_ns - last < s->spacing_ns)
			return 0;
	}
	if (r->n == TREND_MAX_POINTS) {
		r->head = (r->head + 1) % TREND_MAX_POINTS;
		r->n--;
	}
	r->t[(r->head + r->n) % TREND_MAX_POINTS] = t_ns;
	r->v[(r->head + r->n) % TREND_MAX_POINTS] = v;
	r->n++;
	return 0;
}

int series_fit(const struct series *s, uint64_t key, uint64_t now_ns, uint64_t span_ns, struct trend *ret)
{
	const struct ring *r = s->tab[find(s, key)];
	double t[TREND_MAX_POINTS], v[TREND_MAX_POINTS];
	uint64_t from = now_ns > span_ns ? now_ns - span_ns : 0, t0 = 0;
	size_t n = 0;

	if (!r)
		return -ENOENT;
	for (uint32_t k = 0; k < r->n; k++) {
		uint32_t i = (r->head + k) % TREND_MAX_POINTS;

		if (r->t[i] < from || r->t[i] > now_ns)
			continue;
		if (!n)
			t0 = r->t[i];
		/* seconds from the first point: small numbers, exact sums */
		t[n] = (double)(r->t[i] - t0) / 1e9;
		v[n] = r->v[i];
		n++;
	}
	return trend_fit(t, v, n, ret);
}

size_t series_gc(struct series *s, uint64_t before_ns)
{
	size_t dropped = 0;

	for (size_t i = 0; i < s->cap;) {
		const struct ring *r = s->tab[i];

		if (r && (!r->n || r->t[(r->head + r->n - 1) % TREND_MAX_POINTS] < before_ns)) {
			remove_at(s, i);
			dropped++;
			continue; /* slot i may hold a shifted entry now */
		}
		i++;
	}
	return dropped;
}

void series_forget(struct series *s, uint64_t key)
{
	size_t i = find(s, key);

	if (s->tab[i])
		remove_at(s, i);
}

void series_get_stats(const struct series *s, struct series_stats *ret)
{
	ret->series = s->n;
	ret->full = s->full;
}
