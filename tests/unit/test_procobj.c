/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for process objects: recording, binding, bounds, recycling. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "symbols/procobj.h"

/* Binds even IPs to object 7 at ip / 2; drops odd ones. */
static int bind_even(void *ctx, uint64_t ip, uint32_t *ret_obj, uint64_t *ret_off)
{
	int *calls = ctx;

	(*calls)++;
	if (ip & 1)
		return -ENOENT;
	*ret_obj = 7;
	*ret_off = ip / 2;
	return 0;
}

static void test_bind(void **state)
{
	struct procobj *t = NULL;
	struct procobj_stats st;
	uint32_t id, obj = 0;
	uint64_t off = 0;
	int calls = 0;

	(void)state;
	assert_int_equal(procobj_new(0, 1, &t), -EINVAL);
	assert_int_equal(procobj_new(4, 100, &t), 0);
	assert_int_equal(procobj_create(t, 1, &id), 0);
	assert_true(procobj_is_id(id));
	assert_false(procobj_is_id(5));
	assert_false(procobj_is_id(0xffffffffu));
	assert_int_equal(procobj_add(t, id, 100, 2), 0);
	assert_int_equal(procobj_add(t, id, 101, 2), 0);
	assert_int_equal(procobj_add(t, id, 100, 2), 0); /* the same IP once */
	assert_int_equal(procobj_add(t, id, 40, 2), 0);
	assert_int_equal(procobj_resolve(t, id, 100, 3, &obj, &off), -EAGAIN);
	procobj_get_stats(t, &st);
	assert_int_equal(st.objects, 1);
	assert_int_equal(st.pending, 1);
	assert_int_equal(st.frames, 3);

	procobj_bind(t, id, bind_even, &calls);
	assert_int_equal(calls, 3);
	assert_int_equal(procobj_resolve(t, id, 100, 4, &obj, &off), 0);
	assert_int_equal(obj, 7);
	assert_int_equal(off, 50);
	assert_int_equal(procobj_resolve(t, id, 40, 4, &obj, &off), 0);
	assert_int_equal(off, 20);
	assert_int_equal(procobj_resolve(t, id, 101, 4, &obj, &off), -ENOENT);
	assert_int_equal(procobj_resolve(t, id, 55, 4, &obj, &off), -ENOENT);
	/* bound objects take no more IPs, and bind once */
	assert_int_equal(procobj_add(t, id, 200, 5), -ENOENT);
	procobj_bind(t, id, bind_even, &calls);
	assert_int_equal(calls, 3);
	procobj_get_stats(t, &st);
	assert_int_equal(st.pending, 0);
	assert_int_equal(st.frames, 2);

	/* an object whose IPs all drop is freed at once */
	assert_int_equal(procobj_create(t, 6, &id), 0);
	assert_int_equal(procobj_add(t, id, 1, 6), 0);
	procobj_bind(t, id, bind_even, &calls);
	assert_int_equal(procobj_resolve(t, id, 1, 7, &obj, &off), -ENOENT);
	procobj_get_stats(t, &st);
	assert_int_equal(st.objects, 1);

	/* a failed maps read drops the pending object */
	assert_int_equal(procobj_create(t, 8, &id), 0);
	assert_int_equal(procobj_add(t, id, 2, 8), 0);
	procobj_drop(t, id);
	assert_int_equal(procobj_resolve(t, id, 2, 9, &obj, &off), -ENOENT);
	procobj_get_stats(t, &st);
	assert_int_equal(st.objects, 1);
	assert_int_equal(st.frames, 2);
	assert_null(procobj_free(t));
	assert_null(procobj_free(NULL));
}

static void test_bounds(void **state)
{
	struct procobj *t = NULL;
	struct procobj_stats st;
	uint32_t ids[4], id, obj;
	uint64_t off;
	int calls = 0;

	(void)state;
	assert_int_equal(procobj_new(3, 5, &t), 0);
	/* frames: 5 in all */
	assert_int_equal(procobj_create(t, 1, &ids[0]), 0);
	for (uint64_t ip = 0; ip < 5; ip++)
		assert_int_equal(procobj_add(t, ids[0], ip * 2, 1), 0);
	assert_int_equal(procobj_add(t, ids[0], 100, 1), -ENOSPC);
	procobj_get_stats(t, &st);
	assert_int_equal(st.refused, 1);
	procobj_bind(t, ids[0], bind_even, &calls);

	/* objects: 3; the least recently used is recycled, and its id
	 * never answers again */
	assert_int_equal(procobj_create(t, 2, &ids[1]), 0);
	assert_int_equal(procobj_create(t, 3, &ids[2]), 0);
	assert_int_equal(procobj_resolve(t, ids[0], 4, 10, &obj, &off), 0); /* ids[0] used last */
	assert_int_equal(procobj_create(t, 11, &ids[3]), 0);
	procobj_get_stats(t, &st);
	assert_int_equal(st.recycled, 1);
	assert_int_equal(st.objects, 3);
	assert_int_equal(procobj_add(t, ids[1], 8, 12), -ENOENT);
	assert_int_equal(procobj_resolve(t, ids[0], 4, 12, &obj, &off), 0);
	/* the 5 frames bound under ids[0] still fill the frame bound */
	assert_int_equal(procobj_add(t, ids[2], 8, 12), -ENOSPC);
	/* ids are all distinct */
	assert_int_not_equal(ids[3], ids[1]);
	assert_int_not_equal(ids[3], ids[0]);
	/* many creations: the index stays consistent through deletions */
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(procobj_create(t, 20 + (uint64_t)i, &id), 0);
		if (i % 3 == 0)
			procobj_drop(t, id);
	}
	procobj_get_stats(t, &st);
	assert_true(st.objects <= 3);
	assert_int_equal(procobj_resolve(t, ids[0], 4, 2000, &obj, &off), -ENOENT);
	procobj_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bind),
		cmocka_unit_test(test_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
