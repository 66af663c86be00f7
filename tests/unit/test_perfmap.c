/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for JIT maps (perf-PID.map parsing and lookup) and the JIT
 * object table (ids per process life, bounds, recycling). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "symbols/jittab.h"
#include "symbols/perfmap.h"
#include "symbols/procobj.h"
#include "symbols/symbolizer.h"

static struct perfmap *parse(const char *text)
{
	struct perfmap *m = NULL;

	assert_int_equal(perfmap_parse(text, strlen(text), &m), 0);
	assert_non_null(m);
	return m;
}

static void expect(const struct perfmap *m, uint64_t ip, const char *name, uint64_t off)
{
	const char *n = NULL;
	uint64_t o = 99;

	assert_int_equal(perfmap_lookup(m, ip, &n, &o), 0);
	assert_string_equal(n, name);
	assert_int_equal(o, off);
}

static void expect_none(const struct perfmap *m, uint64_t ip)
{
	const char *n;
	uint64_t o;

	assert_int_equal(perfmap_lookup(m, ip, &n, &o), -ENOENT);
}

static void test_parse(void **state)
{
	struct perfmap *m;

	(void)state;
	m = parse("7f0000001000 40 LazyCompile:~fib /app/fib.js:3\n"
		  "0x7f0000002000 0x20 Builtin:ArgumentsAdaptorTrampoline\n"
		  "7F0000003000 10 [JIT] tid 123 java.lang.String::hashCode()\r\n"
		  "\n");
	assert_int_equal(perfmap_count(m), 3);
	assert_int_equal(perfmap_skipped(m), 0);
	/* names are the rest of the line, spaces included */
	expect(m, 0x7f0000001000, "LazyCompile:~fib /app/fib.js:3", 0);
	expect(m, 0x7f000000103f, "LazyCompile:~fib /app/fib.js:3", 0x3f);
	expect_none(m, 0x7f0000001040);
	expect(m, 0x7f0000002010, "Builtin:ArgumentsAdaptorTrampoline", 0x10);
	expect(m, 0x7f0000003000, "[JIT] tid 123 java.lang.String::hashCode()", 0);
	expect_none(m, 0x7f0000000fff);
	expect_none(m, 0);
	assert_true(perfmap_bytes(m) > 0);
	assert_null(perfmap_free(m));
	assert_null(perfmap_free(NULL));
}

/* Malformed lines are skipped and counted; the rest is kept. */
static void test_malformed(void **state)
{
	static const char text[] = "zzzz 10 bad_start\n"
				   "1000 nohex bad_size\n"
				   "1000 10\n"                      /* no name */
				   "2000 0 zero_size\n"
				   "ffffffffffffffff 10 wraps\n"
				   "12345678901234567 10 too_long_hex\n"
				   "3000 10 good\n"
				   "4000  20   spaced name\n"
				   "5000 10 last_without_newline";
	struct perfmap *m = parse(text);
	char big[PERFMAP_NAME_MAX + 100];
	const char *n;
	uint64_t o;

	(void)state;
	assert_int_equal(perfmap_count(m), 3);
	assert_int_equal(perfmap_skipped(m), 6);
	expect(m, 0x3005, "good", 5);
	expect(m, 0x4000, "spaced name", 0);
	expect(m, 0x5000, "last_without_newline", 0);
	perfmap_free(m);

	/* a NUL inside a line: refused, not a short name */
	m = NULL;
	assert_int_equal(perfmap_parse("1000 10 a\0b\n2000 10 ok\n", 23, &m), 0);
	assert_int_equal(perfmap_count(m), 1);
	assert_int_equal(perfmap_skipped(m), 1);
	perfmap_free(m);

	/* a name past PERFMAP_NAME_MAX is cut there */
	memset(big, 'n', sizeof(big));
	memcpy(big, "1000 10 ", 8);
	big[sizeof(big) - 2] = '\n';
	big[sizeof(big) - 1] = '\0';
	m = parse(big);
	assert_int_equal(perfmap_lookup(m, 0x1000, &n, &o), 0);
	assert_int_equal(strlen(n), PERFMAP_NAME_MAX);
	perfmap_free(m);

	m = parse("");
	assert_int_equal(perfmap_count(m), 0);
	expect_none(m, 0x1000);
	perfmap_free(m);
}

/* JITs reuse code memory: the latest line covering an address wins,
 * whether it starts at the same address or inside an older one. */
static void test_later_wins(void **state)
{
	struct perfmap *m = parse("1000 100 old_big\n"
				  "1000 10 old_small\n"
				  "1040 20 newer_inside\n"
				  "1000 10 newest_same_start\n"
				  "2000 100 big2\n"
				  "2040 10 inside2\n");

	(void)state;
	expect(m, 0x1005, "newest_same_start", 5);
	expect(m, 0x1045, "newer_inside", 5);
	/* a start replaced whole: the rest of the old range is gone */
	expect_none(m, 0x1080);
	expect(m, 0x2045, "inside2", 5);
	expect(m, 0x2080, "big2", 0x80);
	assert_int_equal(perfmap_count(m), 4);
	perfmap_free(m);
}

static void test_jittab(void **state)
{
	struct jittab *t = NULL;
	struct jittab_stats st;
	struct perfmap *m;
	uint32_t a, b, c, d;

	(void)state;
	assert_int_equal(jittab_new(0, &t), -EINVAL);
	assert_int_equal(jittab_new(2, &t), 0);
	a = jittab_create(t, 100, 1);
	b = jittab_create(t, 200, 2);
	assert_true(jittab_is_id(a));
	assert_true(jittab_is_id(b));
	assert_int_not_equal(a, b);
	/* apart from file, process and special object ids */
	assert_false(jittab_is_id(5));
	assert_false(jittab_is_id(PROCOBJ_FIRST));
	assert_false(jittab_is_id(SYM_OBJ_UNKNOWN));
	assert_false(procobj_is_id(a));
	assert_non_null(jittab_get(t, a));
	assert_int_equal(jittab_get(t, a)->pid, 100);
	assert_true(jittab_get(t, a)->live);
	assert_null(jittab_get(t, 5));
	jittab_retire(t, a);
	assert_false(jittab_get(t, a)->live);
	jittab_retire(t, 12345); /* unknown: ignored */

	m = parse("1000 10 f\n");
	jittab_set_table(t, jittab_get(t, b), m, 7);
	jittab_get_stats(t, &st);
	assert_int_equal(st.objects, 2);
	assert_int_equal(st.loaded, 1);
	assert_int_equal(st.bytes, perfmap_bytes(m));
	/* installed at poll 7: not an eviction candidate during it */
	assert_null(jittab_oldest_loaded(t, 7));
	assert_ptr_equal(jittab_oldest_loaded(t, 8), jittab_get(t, b));

	/* full: the least recently used (a) is recycled, its id dies */
	jittab_get(t, b)->last_use = 10;
	c = jittab_create(t, 300, 11);
	assert_null(jittab_get(t, a));
	assert_non_null(jittab_get(t, b));
	assert_int_not_equal(c, a);
	/* again: b goes, with its map */
	jittab_get(t, c)->last_use = 20;
	d = jittab_create(t, 400, 21);
	assert_null(jittab_get(t, b));
	assert_non_null(jittab_get(t, d));
	jittab_get_stats(t, &st);
	assert_int_equal(st.objects, 2);
	assert_int_equal(st.loaded, 0);
	assert_int_equal(st.bytes, 0);
	assert_int_equal(st.recycled, 2);
	/* ids are not reused from recycling to recycling */
	{
		uint32_t seen[104] = { a, b, c, d };
		size_t n = 4;

		for (int i = 0; i < 100; i++) {
			uint32_t x = jittab_create(t, 500 + (uint32_t)i, 100 + (uint64_t)i);

			assert_true(jittab_is_id(x));
			assert_non_null(jittab_get(t, x));
			for (size_t k = 0; k < n; k++)
				assert_int_not_equal(seen[k], x);
			seen[n++] = x;
		}
		jittab_get_stats(t, &st);
		assert_int_equal(st.objects, 2);
		assert_int_equal(st.recycled, 102);
	}
	assert_null(jittab_free(t));
	assert_null(jittab_free(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_later_wins),
		cmocka_unit_test(test_jittab),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
