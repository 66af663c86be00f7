/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for staging: records come back in order with their data and
 * times, in slices of any size, ticks pass the bound and nothing else
 * does, memory is given back. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "staging.h"

struct seen {
	uint32_t kind[4096];
	uint64_t a[4096], b[4096];
	uint32_t len[4096];
	int ok[4096];
	size_t n;
};

static void collect(const struct staging_rec *r, void *ctx)
{
	struct seen *s = ctx;
	const unsigned char *p = r->data;

	s->kind[s->n] = r->kind;
	s->a[s->n] = r->a;
	s->b[s->n] = r->b;
	s->len[s->n] = r->len;
	/* every payload byte is its record's a, so order and data both show */
	s->ok[s->n] = 1;
	for (uint32_t i = 0; i < r->len; i++)
		if (p[i] != (unsigned char)r->a)
			s->ok[s->n] = 0;
	s->n++;
}

static int push(struct staging *st, enum staging_kind k, uint64_t a, size_t len)
{
	unsigned char buf[2048];

	memset(buf, (unsigned char)a, sizeof(buf));
	return staging_push(st, k, a, a * 10, buf, len, 1000);
}

static void test_order_and_slices(void **state)
{
	struct staging *st = NULL;
	struct staging_stats ss;
	struct seen *s = calloc(1, sizeof(*s));
	size_t total = 0;

	(void)state;
	assert_int_equal(staging_new(1 << 20, &st), 0);
	assert_int_equal(staging_pending(st), 0);
	for (uint64_t i = 0; i < 300; i++)
		assert_int_equal(push(st, i % 7 == 6 ? STAGING_TICK : i % 3 ? STAGING_SAMPLE : STAGING_PROC, i,
				      i % 7 == 6 ? 0 : 1 + (i * 37) % 1000), 0);
	staging_get_stats(st, &ss);
	assert_int_equal(ss.records, 300);
	assert_true(ss.bytes > 0 && ss.allocated >= ss.bytes);
	/* in slices of 7, with more pushed in between: still in order */
	while (staging_pending(st)) {
		size_t n = staging_replay(st, collect, s, 7);

		assert_true(n > 0 && n <= 7);
		total += n;
		if (total == 140)
			for (uint64_t i = 300; i < 310; i++)
				assert_int_equal(push(st, STAGING_SAMPLE, i, 64), 0);
	}
	assert_int_equal(total, 310);
	assert_int_equal(s->n, 310);
	for (size_t i = 0; i < s->n; i++) {
		assert_int_equal(s->a[i], i);
		assert_int_equal(s->b[i], i * 10);
		assert_true(s->ok[i]);
	}
	assert_int_equal(s->kind[6], STAGING_TICK);
	assert_int_equal(s->len[1], 38);
	staging_get_stats(st, &ss);
	assert_int_equal(ss.records, 0);
	assert_int_equal(ss.samples, 0);
	assert_int_equal(ss.bytes, 0);
	assert_int_equal(ss.replayed, 310);
	/* past a small reserve, memory goes back once empty */
	assert_true(ss.allocated <= 256 * 1024);
	assert_int_equal(staging_replay(st, collect, s, 0), 0);
	free(s);
	assert_null(staging_free(st));
	assert_null(staging_free(NULL));
}

static void test_bound(void **state)
{
	struct staging *st = NULL;
	struct staging_stats ss;
	struct seen *s = calloc(1, sizeof(*s));
	int refused = 0, taken = 0;

	(void)state;
	assert_int_equal(staging_new(0, &st), -EINVAL);
	assert_int_equal(staging_new(16384, &st), 0);
	for (uint64_t i = 0; i < 100; i++) {
		int r = push(st, STAGING_SAMPLE, i, 1000);

		assert_true(r == 0 || r == -ENOBUFS);
		refused += r != 0;
		taken += r == 0;
	}
	assert_true(taken >= 10 && taken < 20);
	staging_get_stats(st, &ss);
	assert_int_equal(ss.refused, (uint64_t)refused);
	assert_true(ss.bytes <= 16384);
	/* a tick always gets in: windows must advance at the ticks that were */
	for (uint64_t i = 0; i < 50; i++)
		assert_int_equal(push(st, STAGING_TICK, 200 + i, 0), 0);
	assert_int_equal(push(st, STAGING_PROC, 1, 100), -ENOBUFS);
	staging_get_stats(st, &ss);
	assert_true(ss.bytes > 16384);
	assert_int_equal(staging_replay(st, collect, s, 0), (size_t)taken + 50);
	/* room again once replayed */
	assert_int_equal(push(st, STAGING_PROC, 1, 100), 0);
	free(s);
	staging_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_slices),
		cmocka_unit_test(test_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
