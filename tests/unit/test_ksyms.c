/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for the kallsyms parser. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "symbols/ksyms.h"

static void fixture(char *buf, size_t cap, const char *name)
{
	const char *f = getenv("PROFD_FIXTURES");

	snprintf(buf, cap, "%s/%s", f ? f : "tests/fixtures", name);
}

static void expect_sym(const struct ksyms *k, uint64_t addr, const char *name, const char *module, uint64_t off)
{
	const char *n, *m;
	uint64_t o;

	assert_int_equal(ksyms_lookup(k, addr, &n, &m, &o), 0);
	assert_string_equal(n, name);
	assert_string_equal(m, module);
	assert_int_equal(o, off);
}

static void test_fixture(void **state)
{
	char path[4096];
	struct ksyms *k = NULL;
	const char *n, *m;
	uint64_t o;

	(void)state;
	fixture(path, sizeof(path), "kallsyms.txt");
	assert_int_equal(ksyms_load(path, &k), 0);
	/* _stext/_text_alias (one address), do_one_initcall, local_helper,
	 * weak_func, schedule, ftrace_trampoline, ext4 x2, xfs */
	assert_int_equal(ksyms_count(k), 9);
	assert_false(ksyms_restricted(k));

	expect_sym(k, 0xffffffff81000000ull, "_stext", "vmlinux", 0);
	expect_sym(k, 0xffffffff81000105ull, "do_one_initcall", "vmlinux", 5);
	expect_sym(k, 0xffffffff81000250ull, "local_helper", "vmlinux", 0x50);
	/* data symbol at 0x300 is skipped: still local_helper */
	expect_sym(k, 0xffffffff81000310ull, "local_helper", "vmlinux", 0x110);
	expect_sym(k, 0xffffffff81000400ull, "weak_func", "vmlinux", 0);
	expect_sym(k, 0xffffffff81001234ull, "schedule", "vmlinux", 0x234);
	expect_sym(k, 0xffffffffc0201010ull, "ftrace_trampoline", "[__builtin__ftrace]", 0x10);
	expect_sym(k, 0xffffffffc0400010ull, "ext4_fill_super", "[ext4]", 0x10);
	expect_sym(k, 0xffffffffc0400904ull, "ext4_mount", "[ext4]", 0x104);
	expect_sym(k, 0xffffffffc0500000ull, "xfs_fs_fill_super", "[xfs]", 0);
	/* below the first symbol */
	assert_int_equal(ksyms_lookup(k, 0x1000, &n, &m, &o), -ENOENT);
	assert_true(ksyms_bytes(k) > 0);
	assert_null(ksyms_free(k));
}

static void test_restricted(void **state)
{
	char path[4096];
	struct ksyms *k = NULL;
	const char *n, *m;
	uint64_t o;

	(void)state;
	fixture(path, sizeof(path), "kallsyms_restricted.txt");
	assert_int_equal(ksyms_load(path, &k), 0);
	assert_int_equal(ksyms_count(k), 0);
	assert_true(ksyms_restricted(k));
	assert_int_equal(ksyms_lookup(k, 0xffffffff81000000ull, &n, &m, &o), -ENOENT);
	ksyms_free(k);
}

static void test_buffers(void **state)
{
	static const char two[] = "ffffffff81000000 t b_local\nffffffff81000000 T a_global\n"
				  "ffffffff81000010 T next\n";
	struct ksyms *k = NULL;
	const char *n, *m;
	uint64_t o;
	char junk[4096];

	(void)state;
	/* the global alias wins over the local one at the same address */
	assert_int_equal(ksyms_parse(two, strlen(two), &k), 0);
	assert_int_equal(ksyms_count(k), 2);
	assert_int_equal(ksyms_lookup(k, 0xffffffff81000001ull, &n, &m, &o), 0);
	assert_string_equal(n, "a_global");
	ksyms_free(k);

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 131 + 7);
	assert_int_equal(ksyms_parse(junk, sizeof(junk), &k), 0);
	ksyms_free(k);
	assert_int_equal(ksyms_parse("", 0, &k), 0);
	assert_int_equal(ksyms_count(k), 0);
	assert_false(ksyms_restricted(k));
	ksyms_free(k);

	assert_int_equal(ksyms_load("/nonexistent/kallsyms", &k), -ENOENT);
	assert_null(ksyms_free(NULL));
	assert_int_equal(ksyms_count(NULL), 0);
}

/* The host's kallsyms parses; with kptr_restrict it is empty but flagged. */
static void test_host(void **state)
{
	struct ksyms *k = NULL;

	(void)state;
	if (ksyms_load("/proc/kallsyms", &k) < 0)
		skip();
	assert_true(ksyms_count(k) > 0 || ksyms_restricted(k));
	ksyms_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture),
		cmocka_unit_test(test_restricted),
		cmocka_unit_test(test_buffers),
		cmocka_unit_test(test_host),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
