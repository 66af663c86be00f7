/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for the range allocator behind the unwind pools, and the
 * small hash map the unwinder indexes its records with. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "unwind/imap.h"
#include "unwind/pool.h"

static void test_first_fit_and_quarantine(void **state)
{
	struct pool *p = NULL;
	uint32_t a, b, c, d;

	(void)state;
	assert_int_equal(pool_new(0, &p), -EINVAL);
	assert_int_equal(pool_new(100, &p), 0);
	assert_int_equal(pool_alloc(p, 0, &a), -EINVAL);
	assert_int_equal(pool_alloc(p, 40, &a), 0);
	assert_int_equal(pool_alloc(p, 40, &b), 0);
	assert_int_equal(pool_alloc(p, 30, &c), -ENOSPC);
	assert_int_equal(pool_alloc(p, 20, &c), 0);
	assert_int_equal(a, 0);
	assert_int_equal(b, 40);
	assert_int_equal(c, 80);
	assert_int_equal(pool_used(p), 100);
	assert_int_equal(pool_largest(p), 0);

	/* a freed range stays in quarantine until release */
	pool_put(p, a, 40);
	assert_int_equal(pool_alloc(p, 10, &d), -ENOSPC);
	assert_int_equal(pool_used(p), 100);
	pool_release(p);
	assert_int_equal(pool_used(p), 60);
	assert_int_equal(pool_largest(p), 40);
	assert_int_equal(pool_alloc(p, 10, &d), 0);
	assert_int_equal(d, 0);

	/* frees coalesce with both neighbours */
	pool_put(p, c, 20);
	pool_put(p, b, 40);
	pool_release(p);
	assert_int_equal(pool_largest(p), 90);
	pool_put(p, d, 10);
	pool_release(p);
	assert_int_equal(pool_largest(p), 100);
	assert_int_equal(pool_used(p), 0);
	assert_int_equal(pool_alloc(p, 100, &a), 0);
	assert_int_equal(pool_size(p), 100);
	assert_null(pool_free(p));
	assert_null(pool_free(NULL));
}

/* Random allocations and frees against a shadow bitmap: no range is ever
 * handed out twice, every free unit is eventually usable again. */
static void test_random_against_shadow(void **state)
{
	enum { SIZE = 1000, SLOTS = 64 };
	struct pool *p = NULL;
	uint8_t shadow[SIZE] = { 0 };
	struct {
		uint32_t at, n;
	} live[SLOTS] = { { 0, 0 } };
	uint32_t seed = 12345;

	(void)state;
	assert_int_equal(pool_new(SIZE, &p), 0);
	for (int round = 0; round < 20000; round++) {
		int k;

		seed = seed * 1103515245u + 12345u;
		k = (int)((seed >> 16) % SLOTS);
		if (live[k].n) {
			pool_put(p, live[k].at, live[k].n);
			for (uint32_t i = 0; i < live[k].n; i++)
				shadow[live[k].at + i] = 2; /* quarantined */
			live[k].n = 0;
		} else {
			uint32_t n = 1 + (seed >> 8) % 60, at;

			if (pool_alloc(p, n, &at) == 0) {
				assert_true(at + n <= SIZE);
				for (uint32_t i = 0; i < n; i++) {
					assert_int_equal(shadow[at + i], 0);
					shadow[at + i] = 1;
				}
				live[k].at = at;
				live[k].n = n;
			}
		}
		if (round % 7 == 0) {
			pool_release(p);
			for (int i = 0; i < SIZE; i++)
				if (shadow[i] == 2)
					shadow[i] = 0;
		}
	}
	pool_release(p);
	for (int k = 0; k < SLOTS; k++)
		if (live[k].n)
			pool_put(p, live[k].at, live[k].n);
	pool_release(p);
	assert_int_equal(pool_used(p), 0);
	assert_int_equal(pool_largest(p), SIZE);
	pool_free(p);
}

/* Puts, overwrites and deletes against a shadow array: backward-shift
 * deletion must keep every other key reachable, through growth too. */
static void test_imap_against_shadow(void **state)
{
	enum { KEYS = 3000 };
	static uint32_t shadow[KEYS];
	struct imap m = { 0 };
	uint32_t seed = 777;

	(void)state;
	for (int i = 0; i < KEYS; i++)
		shadow[i] = IMAP_NONE;
	assert_int_equal(imap_get(&m, 5), IMAP_NONE);
	imap_del(&m, 5);
	for (int round = 0; round < 60000; round++) {
		uint32_t k, v;

		seed = seed * 1103515245u + 12345u;
		/* keys that collide in the low bits stress the probe chains */
		k = (seed >> 8) % KEYS;
		v = seed >> 4 & 0xffff;
		if ((seed >> 28) & 1) {
			assert_int_equal(imap_put(&m, (uint64_t)k << 20, v), 0);
			shadow[k] = v;
		} else {
			imap_del(&m, (uint64_t)k << 20);
			shadow[k] = IMAP_NONE;
		}
		if (round % 997 == 0)
			for (int i = 0; i < KEYS; i++)
				assert_int_equal(imap_get(&m, (uint64_t)i << 20), shadow[i]);
	}
	for (int i = 0; i < KEYS; i++)
		assert_int_equal(imap_get(&m, (uint64_t)i << 20), shadow[i]);
	imap_fini(&m);
	assert_int_equal(imap_get(&m, 0), IMAP_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_fit_and_quarantine),
		cmocka_unit_test(test_random_against_shadow),
		cmocka_unit_test(test_imap_against_shadow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
