/* SPDX-License-Identifier: GPL-2.0-only */
/* Robust trends of a gauge over a window, for leak rules: is RSS growing
 * steadily, and how fast? Two points or a plain least-squares slope are
 * fooled by one spike or by a sawtooth caught on its rising edge; the
 * Theil-Sen slope (the median of the slopes of every pair of points)
 * ignores up to ~29 % of outliers, and the least-squares R² says whether
 * the points lie along a line at all. A sawtooth that falls back to its
 * base inside the window has a low R² and so no steady growth.
 *
 * The series store keeps, per key (a process id, a unit), a ring of
 * (time, value) points at least `spacing` apart. Pure: time is passed in. */
#ifndef PROFD_ALERTS_TREND_H
#define PROFD_ALERTS_TREND_H

#include <stddef.h>
#include <stdint.h>

/* Points kept per series, and so the most a fit looks at: 64 points give
 * 2,016 pairs, a few microseconds of work. */
#define TREND_MAX_POINTS 64
/* Fewer points than this in the window: no trend (growth 0). */
#define TREND_MIN_POINTS 8
/* Growth counts as steady from this least-squares R² on. */
#define TREND_MIN_R2 0.8

struct trend {
	double slope;      /* Theil-Sen: median pairwise slope, value units per second */
	double ls_slope;   /* least squares, same units */
	double r2;         /* least-squares coefficient of determination, 0..1 (0 if flat) */
	size_t n;          /* points used */
	double span_s;     /* time from the first to the last point used */
};

/* Fit points (t[i] in seconds, ascending; v[i]). 0 and *ret, or -EINVAL
 * when n < 2, n > TREND_MAX_POINTS or the points span no time. */
int trend_fit(const double *t, const double *v, size_t n, struct trend *ret);

/* The growth a leak rule compares: the Theil-Sen slope when the fit is
 * steady (n >= TREND_MIN_POINTS, span >= half of window_s, R² >=
 * TREND_MIN_R2), else 0. */
double trend_steady_slope(const struct trend *t, double window_s);

struct series;

struct series_stats {
	uint64_t series;    /* series held */
	uint64_t full;      /* series refused: the bound was reached */
};

/* max: bound on series held; spacing_ns: the least time between two points
 * kept (closer readings are dropped). 0 and *ret, -EINVAL or -ENOMEM. */
int series_new(size_t max, uint64_t spacing_ns, struct series **ret);
struct series *series_free(struct series *s);
void series_set_spacing(struct series *s, uint64_t spacing_ns);

/* Add the reading v at t_ns to key's series (created as needed). A reading
 * at or before the newest point, or closer to it than the spacing, is
 * ignored. 0, or -ENOSPC when a new series would pass the bound. */
int series_add(struct series *s, uint64_t key, uint64_t t_ns, double v);
/* Fit key's points in [now_ns - span_ns, now_ns]. 0 and *ret, -ENOENT (no
 * series) or trend_fit's -EINVAL (too few points). */
int series_fit(const struct series *s, uint64_t key, uint64_t now_ns, uint64_t span_ns, struct trend *ret);
/* Forget series with no point at or after before_ns. Returns how many. */
size_t series_gc(struct series *s, uint64_t before_ns);
/* Forget one series (a process that exited). */
void series_forget(struct series *s, uint64_t key);
void series_get_stats(const struct series *s, struct series_stats *ret);

#endif
