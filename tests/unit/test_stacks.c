/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for stack interning: identity, collisions, bound, gc. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "store/stacks.h"

static void mk(struct frame *f, uint32_t n, uint64_t seed)
{
	for (uint32_t i = 0; i < n; i++) {
		f[i].obj = (uint32_t)(seed % 7);
		f[i].flags = i == 0 ? STACK_FRAME_KERNEL : 0;
		f[i].addr = 0x400000 + seed * 0x1000 + i * 8;
	}
}

static uint64_t hash_const(const struct frame *frames, uint32_t n, uint32_t flags)
{
	(void)frames;
	(void)n;
	(void)flags;
	return 42; /* every stack collides */
}

static void test_same_and_different(void **state)
{
	struct stacks *t = NULL;
	assert_int_equal(stacks_new(1000, &t), 0);
	struct frame a[5], b[5];
	const struct frame *got;
	uint32_t flags, ia, ib;
	struct stacks_stats st;

	(void)state;
	assert_non_null(t);
	mk(a, 5, 1);
	mk(b, 5, 1);
	b[4].addr++;
	ia = stacks_intern(t, a, 5, 0, 100);
	assert_true(ia >= STACK_ID_FIRST);
	assert_int_equal(stacks_intern(t, a, 5, 0, 200), ia);
	ib = stacks_intern(t, b, 5, 0, 200);
	assert_true(ib >= STACK_ID_FIRST);
	assert_int_not_equal(ia, ib);
	/* a prefix is another stack */
	assert_int_not_equal(stacks_intern(t, a, 4, 0, 200), ia);
	/* an empty stack is a stack too */
	assert_true(stacks_intern(t, NULL, 0, 0, 200) >= STACK_ID_FIRST);

	assert_int_equal(stacks_get(t, ia, &got, &flags), 5);
	assert_int_equal(flags, 0);
	assert_memory_equal(got, a, sizeof(a));
	assert_int_equal(stacks_get(t, 9999, &got, &flags), -ENOENT);
	assert_int_equal(stacks_get(t, STACK_ID_OVERFLOW, &got, &flags), -ENOENT);

	stacks_get_stats(t, &st);
	assert_int_equal(st.stacks, 4);
	assert_int_equal(st.full_drops, 0);
	assert_true(st.bytes > 4 * sizeof(a));
	t = stacks_free(t);
	assert_null(t);
	assert_null(stacks_free(NULL));
}

static void test_flags_are_identity(void **state)
{
	struct stacks *t = NULL;
	assert_int_equal(stacks_new(100, &t), 0);
	struct frame a[3];
	uint32_t i0, i1, flags;

	(void)state;
	mk(a, 3, 9);
	i0 = stacks_intern(t, a, 3, 0, 1);
	i1 = stacks_intern(t, a, 3, STACK_F_TRUNCATED, 1);
	assert_int_not_equal(i0, i1);
	assert_int_equal(stacks_intern(t, a, 3, STACK_F_TRUNCATED, 2), i1);
	assert_int_equal(stacks_get(t, i1, NULL, &flags), 3);
	assert_int_equal(flags, STACK_F_TRUNCATED);
	/* frame flags too: the same address as kernel vs user frame */
	a[1].flags ^= STACK_FRAME_KERNEL;
	assert_int_not_equal(stacks_intern(t, a, 3, 0, 1), i0);
	stacks_free(t);
}

static void test_forced_collision(void **state)
{
	struct stacks *t = NULL;
	assert_int_equal(stacks_new(100, &t), 0);
	struct frame a[4], b[4];
	const struct frame *got;
	uint32_t ia, ib, flags;

	(void)state;
	stacks_set_hash_fn(t, hash_const);
	mk(a, 4, 3);
	mk(b, 4, 4);
	ia = stacks_intern(t, a, 4, 0, 1);
	ib = stacks_intern(t, b, 4, 0, 1);
	assert_int_not_equal(ia, ib);
	/* both survive, distinct, and are found again despite equal hashes */
	assert_int_equal(stacks_intern(t, a, 4, 0, 2), ia);
	assert_int_equal(stacks_intern(t, b, 4, 0, 2), ib);
	assert_int_equal(stacks_get(t, ia, &got, &flags), 4);
	assert_memory_equal(got, a, sizeof(a));
	assert_int_equal(stacks_get(t, ib, &got, &flags), 4);
	assert_memory_equal(got, b, sizeof(b));

	/* many colliding stacks: one long chain, still exact */
	for (uint64_t s = 10; s < 300; s++) {
		struct frame f[2];

		mk(f, 2, s);
		assert_true(stacks_intern(t, f, 2, 0, 3) >= STACK_ID_FIRST || s >= 10 + 98);
	}
	assert_int_equal(stacks_intern(t, a, 4, 0, 4), ia);
	stacks_free(t);
}

static void test_default_hash_spreads(void **state)
{
	struct frame a[2], b[2];

	(void)state;
	mk(a, 2, 5);
	memcpy(b, a, sizeof(a));
	b[1].obj++;
	assert_true(stacks_hash_default(a, 2, 0) != stacks_hash_default(b, 2, 0));
	assert_true(stacks_hash_default(a, 2, 0) != stacks_hash_default(a, 2, 1));
	assert_true(stacks_hash_default(a, 2, 0) != stacks_hash_default(a, 1, 0));
}

static void test_bound(void **state)
{
	struct stacks *t = NULL;
	assert_int_equal(stacks_new(16, &t), 0);
	struct frame f[3];
	struct stacks_stats st;
	uint32_t first;

	(void)state;
	assert_int_equal(stacks_new(15, &(struct stacks *){ NULL }), -EINVAL);
	mk(f, 3, 0);
	first = stacks_intern(t, f, 3, 0, 1);
	for (uint64_t s = 1; s < 16; s++) {
		mk(f, 3, s);
		assert_true(stacks_intern(t, f, 3, 0, 1) >= STACK_ID_FIRST);
	}
	mk(f, 3, 100);
	assert_int_equal(stacks_intern(t, f, 3, 0, 1), STACK_ID_OVERFLOW);
	assert_int_equal(stacks_intern(t, f, 3, 0, 1), STACK_ID_OVERFLOW);
	/* known stacks still resolve when full */
	mk(f, 3, 0);
	assert_int_equal(stacks_intern(t, f, 3, 0, 1), first);
	stacks_get_stats(t, &st);
	assert_int_equal(st.stacks, 16);
	assert_int_equal(st.full_drops, 2);
	stacks_free(t);
}

static void test_gc_and_reuse(void **state)
{
	struct stacks *t = NULL;
	assert_int_equal(stacks_new(64, &t), 0);
	struct frame f[20];
	struct stacks_stats before, after;
	uint32_t ids[10], keep, max_id = 0, n;

	(void)state;
	for (uint64_t s = 0; s < 10; s++) {
		mk(f, 20, s);
		ids[s] = stacks_intern(t, f, 20, 0, 100 + s);
		if (ids[s] > max_id)
			max_id = ids[s];
	}
	mk(f, 20, 5);
	keep = stacks_intern(t, f, 20, 0, 500); /* used again later */
	assert_int_equal(keep, ids[5]);
	stacks_get_stats(t, &before);

	/* everything last used before 108 goes, except the one used at 500 */
	n = (uint32_t)stacks_gc(t, 108);
	assert_int_equal(n, 7);
	stacks_get_stats(t, &after);
	assert_int_equal(after.stacks, 3);
	assert_int_equal(after.collected, 7);
	assert_true(after.bytes < before.bytes);
	assert_int_equal(stacks_get(t, ids[0], NULL, NULL), -ENOENT);
	assert_int_equal(stacks_get(t, keep, NULL, NULL), 20);
	mk(f, 20, 9);
	assert_int_equal(stacks_intern(t, f, 20, 0, 600), ids[9]);

	/* new stacks reuse freed ids: the id space stays dense */
	for (uint64_t s = 100; s < 107; s++) {
		mk(f, 20, s);
		assert_true(stacks_intern(t, f, 20, 0, 700) <= max_id);
	}
	/* a freed stack interned again works (no stale chain links) */
	mk(f, 20, 0);
	assert_true(stacks_intern(t, f, 20, 0, 800) > max_id);
	mk(f, 20, 100);
	assert_int_equal(stacks_get(t, stacks_intern(t, f, 20, 0, 800), NULL, NULL), 20);
	stacks_get_stats(t, &after);
	assert_int_equal(after.stacks, 3 + 7 + 1);
	assert_int_equal(stacks_gc(t, UINT64_MAX), 11);
	stacks_free(t);
}

static void test_many(void **state)
{
	struct stacks *t = NULL;
	assert_int_equal(stacks_new(200000, &t), 0);
	struct frame f[8];
	struct stacks_stats st;

	(void)state;
	/* grows through several bucket doublings; every id round-trips */
	for (uint64_t s = 0; s < 50000; s++) {
		uint32_t id;

		mk(f, 8, s);
		f[7].addr = s;
		id = stacks_intern(t, f, 8, 0, s);
		assert_int_equal(id, STACK_ID_FIRST + s);
	}
	for (uint64_t s = 0; s < 50000; s += 997) {
		mk(f, 8, s);
		f[7].addr = s;
		assert_int_equal(stacks_intern(t, f, 8, 0, s), STACK_ID_FIRST + s);
	}
	stacks_get_stats(t, &st);
	assert_int_equal(st.stacks, 50000);
	stacks_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_and_different),
		cmocka_unit_test(test_flags_are_identity),
		cmocka_unit_test(test_forced_collision),
		cmocka_unit_test(test_default_hash_spreads),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_gc_and_reuse),
		cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
