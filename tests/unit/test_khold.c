/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for khold: a reading lower than a total handed out before is
 * never handed out; a new process on a reused pid starts afresh; processes
 * not seen in a pass are forgotten; the bound holds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "collect/khold.h"

static void pass(struct khold *h, const uint32_t *tgid, const uint64_t *start, uint64_t *val, int n, int *raised)
{
	khold_begin(h);
	for (int i = 0; i < n; i++)
		raised[i] = khold_apply(h, tgid[i], start[i], &val[i]);
	khold_end(h);
}

static void test_lower_is_held(void **state)
{
	struct khold *h;
	uint32_t tgid[3] = {10, 20, 30};
	uint64_t start[3] = {1, 2, 3}, val[3] = {100, 200, 300};
	int raised[3];
	uint64_t v;

	(void)state;
	assert_int_equal(khold_new(8, &h), 0);
	pass(h, tgid, start, val, 3, raised);
	assert_int_equal(raised[0] + raised[1] + raised[2], 0);
	/* 20 reads lower (its running slice missing): 200 goes out again;
	 * 10 and 30 grew and pass unchanged. */
	val[0] = 150;
	val[1] = 180;
	val[2] = 300;
	pass(h, tgid, start, val, 3, raised);
	assert_int_equal(raised[0], 0);
	assert_int_equal(raised[1], 1);
	assert_int_equal(raised[2], 0);
	assert_int_equal(val[0], 150);
	assert_int_equal(val[1], 200);
	/* The held value is remembered: still not lower next time. */
	val[1] = 190;
	pass(h, tgid, start, val, 3, raised);
	assert_int_equal(val[1], 200);
	/* The real figure passes it: handed out as is. */
	val[1] = 260;
	pass(h, tgid, start, val, 3, raised);
	assert_int_equal(raised[1], 0);
	assert_int_equal(val[1], 260);
	assert_int_equal(khold_find(h, 20, 2, &v), 0);
	assert_int_equal(v, 260);
	khold_free(h);
}

static void test_reused_pid(void **state)
{
	struct khold *h;
	uint32_t tgid[1] = {10};
	uint64_t start[1] = {1}, val[1] = {1000};
	int raised[1];
	uint64_t v;

	(void)state;
	assert_int_equal(khold_new(4, &h), 0);
	pass(h, tgid, start, val, 1, raised);
	/* Same pid, another process (start time): its own, lower total. */
	start[0] = 7;
	val[0] = 5;
	pass(h, tgid, start, val, 1, raised);
	assert_int_equal(raised[0], 0);
	assert_int_equal(val[0], 5);
	assert_int_equal(khold_find(h, 10, 1, &v), -ENOENT);
	assert_int_equal(khold_find(h, 10, 7, &v), 0);
	assert_int_equal(v, 5);
	khold_free(h);
}

static void test_forgotten_and_unsorted(void **state)
{
	struct khold *h;
	uint32_t tgid[3] = {30, 10, 20};
	uint64_t start[3] = {3, 1, 2}, val[3] = {300, 100, 200};
	int raised[3];
	uint64_t v;

	(void)state;
	assert_int_equal(khold_new(8, &h), 0);
	/* Any order works. */
	pass(h, tgid, start, val, 3, raised);
	assert_int_equal(khold_find(h, 10, 1, &v), 0);
	assert_int_equal(v, 100);
	assert_int_equal(khold_find(h, 30, 3, &v), 0);
	assert_int_equal(v, 300);
	/* A pass without 30: 30 is forgotten. */
	val[1] = 50;
	pass(h, tgid + 1, start + 1, val + 1, 2, raised);
	assert_int_equal(val[1], 100);
	assert_int_equal(khold_find(h, 30, 3, &v), -ENOENT);
	khold_free(h);
}

static void test_bound(void **state)
{
	struct khold *h;
	uint32_t tgid[3] = {1, 2, 3};
	uint64_t start[3] = {1, 1, 1}, val[3] = {10, 10, 10};
	int raised[3];
	uint64_t v;

	(void)state;
	assert_int_equal(khold_new(0, &h), -EINVAL);
	assert_int_equal(khold_new(2, &h), 0);
	pass(h, tgid, start, val, 3, raised);
	/* The third did not fit: passes unchanged, not remembered. */
	assert_int_equal(khold_find(h, 3, 1, &v), -ENOENT);
	val[0] = val[1] = val[2] = 5;
	pass(h, tgid, start, val, 3, raised);
	assert_int_equal(val[0], 10);
	assert_int_equal(val[1], 10);
	assert_int_equal(val[2], 5);
	assert_null(khold_free(h));
	assert_null(khold_free(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lower_is_held),
		cmocka_unit_test(test_reused_pid),
		cmocka_unit_test(test_forgotten_and_unsorted),
		cmocka_unit_test(test_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
