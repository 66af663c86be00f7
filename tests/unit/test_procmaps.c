/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for the /proc/PID/maps parser. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "symbols/procmaps.h"

static const char *fixtures(void)
{
	const char *f = getenv("PROFD_FIXTURES");

	return f ? f : "tests/fixtures";
}

static struct procmaps *read_fixture(const char *name)
{
	char path[4096];
	struct procmaps *m = NULL;

	snprintf(path, sizeof(path), "%s/maps/%s", fixtures(), name);
	assert_int_equal(procmaps_read(path, &m), 0);
	assert_non_null(m);
	return m;
}

static void test_basic(void **state)
{
	struct procmaps *m = read_fixture("basic.txt");
	const struct procmaps_entry *e;
	size_t idx;

	(void)state;
	assert_int_equal(procmaps_count(m), 14);
	assert_int_equal(procmaps_skipped(m), 0);

	e = procmaps_get(m, 1);
	assert_int_equal(e->start, 0x55d0c0a02000ull);
	assert_int_equal(e->end, 0x55d0c0a06000ull);
	assert_int_equal(e->pgoff, 0x2000);
	assert_int_equal(e->dev_major, 8);
	assert_int_equal(e->dev_minor, 1);
	assert_int_equal(e->inode, 1311234);
	assert_int_equal(e->perms, PROCMAPS_R | PROCMAPS_X | PROCMAPS_P);
	assert_string_equal(e->path, "/usr/bin/sleep");
	assert_true(procmaps_entry_is_file(e));

	/* lookup: inside, at start, at end (exclusive), in a gap */
	e = procmaps_find(m, 0x55d0c0a03abcull, &idx);
	assert_non_null(e);
	assert_int_equal(idx, 1);
	assert_non_null(procmaps_find(m, 0x55d0c0a02000ull, NULL));
	e = procmaps_find(m, 0x55d0c0a08000ull, NULL);
	assert_null(e);
	assert_null(procmaps_find(m, 0x1000, NULL));
	assert_null(procmaps_find(m, UINT64_MAX, NULL));

	e = procmaps_find(m, 0x55d0c1c40000ull, NULL);
	assert_string_equal(e->path, "[heap]");
	assert_false(procmaps_entry_is_file(e));

	e = procmaps_find(m, 0x7f1e2a400000ull, NULL);
	assert_string_equal(e->path, "/dev/zero");
	assert_int_equal(e->deleted, 1);
	assert_int_equal(e->perms, PROCMAPS_R | PROCMAPS_W);

	e = procmaps_find(m, 0x7f1e2a500010ull, NULL);
	assert_string_equal(e->path, "/opt/my app/lib with spaces.so");
	assert_int_equal(e->deleted, 0);
	assert_int_equal(e->dev_major, 0xfd);
	assert_int_equal(e->dev_minor, 2);
	assert_int_equal(e->pgoff, 0x1000);

	e = procmaps_find(m, 0x7f1e2a600000ull, NULL);
	assert_string_equal(e->path, "/tmp/jit.so");
	assert_int_equal(e->deleted, 1);

	e = procmaps_find(m, 0x7f1e2a700000ull, NULL);
	assert_string_equal(e->path, "");
	assert_int_equal(e->inode, 0);
	assert_false(procmaps_entry_is_file(e));

	e = procmaps_find(m, 0x7ffd5eb93000ull, NULL);
	assert_string_equal(e->path, "[vdso]");
	e = procmaps_find(m, 0xffffffffff600000ull, NULL);
	assert_string_equal(e->path, "[vsyscall]");
	assert_int_equal(e->perms, PROCMAPS_X | PROCMAPS_P);
	assert_true(procmaps_bytes(m) > 0);
	assert_null(procmaps_free(m));
}

static void test_malformed(void **state)
{
	struct procmaps *m = read_fixture("malformed.txt");

	(void)state;
	assert_int_equal(procmaps_count(m), 3);
	assert_int_equal(procmaps_skipped(m), 8);
	assert_string_equal(procmaps_get(m, 0)->path, "/usr/bin/sleep");
	assert_string_equal(procmaps_get(m, 1)->path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	assert_string_equal(procmaps_get(m, 2)->path, "");
	assert_null(procmaps_get(m, 3));
	procmaps_free(m);
}

static void test_buffers(void **state)
{
	static const char unsorted[] =
		"2000-3000 r-xp 00000000 00:01 5 /b\n"
		"1000-2000 r-xp 00000000 00:01 4 /a\n"
		"\n\n"
		"3000-4000 r-xp 00000000 00:01 6 /c";
	struct procmaps *m = NULL;
	char junk[512];

	(void)state;
	assert_int_equal(procmaps_parse(unsorted, strlen(unsorted), &m), 0);
	assert_int_equal(procmaps_count(m), 3);
	assert_string_equal(procmaps_get(m, 0)->path, "/a");
	assert_string_equal(procmaps_find(m, 0x2fff, NULL)->path, "/b");
	assert_string_equal(procmaps_find(m, 0x3000, NULL)->path, "/c");
	procmaps_free(m);

	/* empty buffer, and a buffer with NULs and binary junk */
	assert_int_equal(procmaps_parse("", 0, &m), 0);
	assert_int_equal(procmaps_count(m), 0);
	assert_null(procmaps_find(m, 0, NULL));
	procmaps_free(m);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 37 + 11);
	memcpy(junk, "1000-2000 r-xp 0 0:0 1 /x\0y\n", 28);
	assert_int_equal(procmaps_parse(junk, sizeof(junk), &m), 0);
	assert_int_equal(procmaps_count(m), 0);
	procmaps_free(m);

	assert_null(procmaps_free(NULL));
	assert_int_equal(procmaps_count(NULL), 0);
	assert_int_equal(procmaps_read("/nonexistent/maps", &m), -ENOENT);
}

static void test_self(void **state)
{
	struct procmaps *m = NULL;
	const struct procmaps_entry *e;

	(void)state;
	assert_int_equal(procmaps_read("/proc/self/maps", &m), 0);
	e = procmaps_find(m, (uint64_t)(uintptr_t)&test_self, NULL);
	assert_non_null(e);
	assert_true(e->perms & PROCMAPS_X);
	assert_true(procmaps_entry_is_file(e));
	assert_non_null(strstr(e->path, "test_procmaps"));
	procmaps_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_buffers),
		cmocka_unit_test(test_self),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
