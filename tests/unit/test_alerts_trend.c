/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for alerts/trend: the Theil-Sen slope against outliers, the
 * steadiness test that keeps a sawtooth from looking like a leak, and the
 * series store's spacing, window cut, bound and garbage collection. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "alerts/trend.h"

#define MIB (1024.0 * 1024.0)
#define SEC 1000000000ull

static void test_line_and_outliers(void **state)
{
	double t[40], v[40];
	struct trend tr;

	(void)state;
	for (int i = 0; i < 40; i++) {
		t[i] = i;
		v[i] = 100 * MIB + 2 * MIB * i; /* +2 MiB/s */
	}
	assert_int_equal(trend_fit(t, v, 40, &tr), 0);
	assert_true(fabs(tr.slope - 2 * MIB) < 1);
	assert_true(tr.r2 > 0.999);
	assert_true(fabs(trend_steady_slope(&tr, 40) - 2 * MIB) < 1);
	/* four wild readings (a spike, two dips): Theil-Sen barely moves,
	 * least squares does */
	v[10] += 500 * MIB;
	v[11] += 500 * MIB;
	v[30] -= 300 * MIB;
	v[31] -= 300 * MIB;
	assert_int_equal(trend_fit(t, v, 40, &tr), 0);
	assert_true(fabs(tr.slope - 2 * MIB) < 0.1 * MIB);
	assert_true(fabs(tr.ls_slope - 2 * MIB) > 0.5 * MIB);
	/* too few points, no time span */
	assert_int_equal(trend_fit(t, v, 1, &tr), -EINVAL);
	t[1] = 0;
	assert_int_equal(trend_fit(t, v, 2, &tr), -EINVAL);
}

/* A sawtooth that climbs 20 MiB/s for 5 s and falls back to its base:
 * whatever the phase of a 30 s window, no steady growth. The rising edge
 * alone (a window shorter than a tooth) is growth: `for` must then be
 * longer than a tooth, which docs/alerts.md says. */
static void test_sawtooth(void **state)
{
	double t[30], v[30];
	struct trend tr;

	(void)state;
	for (int phase = 0; phase < 6; phase++) {
		for (int i = 0; i < 30; i++) {
			t[i] = i;
			v[i] = 50 * MIB + 20 * MIB * ((i + phase) % 6);
		}
		assert_int_equal(trend_fit(t, v, 30, &tr), 0);
		assert_true(tr.r2 < TREND_MIN_R2);
		assert_true(trend_steady_slope(&tr, 30) == 0);
	}
	/* flat: no growth, no error */
	for (int i = 0; i < 30; i++)
		v[i] = 7 * MIB;
	assert_int_equal(trend_fit(t, v, 30, &tr), 0);
	assert_true(tr.slope == 0 && tr.r2 == 0);
	assert_true(trend_steady_slope(&tr, 30) == 0);
	/* a steady leak seen over too little of the window does not count */
	for (int i = 0; i < 30; i++)
		v[i] = MIB * i;
	assert_int_equal(trend_fit(t, v, 10, &tr), 0);
	assert_true(trend_steady_slope(&tr, 60) == 0);
	assert_true(trend_steady_slope(&tr, 18) > 0);
}

static void test_series(void **state)
{
	struct series *s;
	struct series_stats st;
	struct trend tr;

	(void)state;
	assert_int_equal(series_new(2, SEC, &s), 0);
	/* readings closer than the spacing, or going back in time, are dropped */
	for (uint64_t i = 0; i < 200; i++)
		assert_int_equal(series_add(s, 42, 1000 * SEC + i * SEC / 2, (double)i * MIB), 0);
	assert_int_equal(series_add(s, 42, 10 * SEC, 0), 0);
	/* 100 readings 1 s apart, the ring keeps the last 64 */
	assert_int_equal(series_fit(s, 42, 1100 * SEC, 1000 * SEC, &tr), 0);
	assert_int_equal(tr.n, TREND_MAX_POINTS);
	assert_true(fabs(tr.slope - 2 * MIB) < 1);
	/* a window cuts the points */
	assert_int_equal(series_fit(s, 42, 1100 * SEC, 10 * SEC, &tr), 0);
	assert_true(tr.n >= 9 && tr.n <= 11);
	assert_int_equal(series_fit(s, 7, 1100 * SEC, 10 * SEC, &tr), -ENOENT);
	/* the bound: a third series is refused and counted */
	assert_int_equal(series_add(s, 43, SEC, 1), 0);
	assert_int_equal(series_add(s, 44, SEC, 1), -ENOSPC);
	series_get_stats(s, &st);
	assert_int_equal(st.series, 2);
	assert_int_equal(st.full, 1);
	/* gc drops the stale one, forget the other */
	assert_int_equal(series_gc(s, 500 * SEC), 1);
	assert_int_equal(series_fit(s, 43, 1100 * SEC, 10 * SEC, &tr), -ENOENT);
	assert_int_equal(series_add(s, 44, SEC, 1), 0);
	series_forget(s, 42);
	assert_int_equal(series_fit(s, 42, 1100 * SEC, 10 * SEC, &tr), -ENOENT);
	assert_int_equal(series_fit(s, 44, 1100 * SEC, 2000 * SEC, &tr), -EINVAL); /* one point */
	series_free(s);
	assert_null(series_free(NULL));
}

/* Many keys colliding in a small table: removal keeps every other key
 * findable (backward-shift deletion). */
static void test_series_churn(void **state)
{
	struct series *s;
	struct trend tr;

	(void)state;
	assert_int_equal(series_new(64, 0, &s), 0);
	for (uint64_t k = 1; k <= 64; k++)
		for (uint64_t i = 0; i < 3; i++)
			assert_int_equal(series_add(s, k * 1024, (i + 1) * SEC, (double)(k + i)), 0);
	for (uint64_t k = 1; k <= 64; k += 2)
		series_forget(s, k * 1024);
	for (uint64_t k = 1; k <= 64; k++)
		assert_int_equal(series_fit(s, k * 1024, 10 * SEC, 10 * SEC, &tr), k % 2 ? -ENOENT : 0);
	series_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_and_outliers),
		cmocka_unit_test(test_sawtooth),
		cmocka_unit_test(test_series),
		cmocka_unit_test(test_series_churn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
