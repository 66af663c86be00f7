/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for CPython recognition (unwind/pyelf.c): names that are
 * looked at, an ELF that is not an interpreter, and, where the host has
 * it, Debian's python3.11 itself. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "profd/python.h"
#include "unwind/pyelf.h"

static void test_names(void **state)
{
	(void)state;
	assert_true(pyelf_name_matches("/usr/bin/python3.11"));
	assert_true(pyelf_name_matches("/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0"));
	assert_true(pyelf_name_matches("python3"));
	assert_false(pyelf_name_matches("/usr/bin/perl"));
	assert_false(pyelf_name_matches("/opt/python3/lib/libc.so.6"));
}

static void test_not_python(void **state)
{
	struct pyelf_info info = { .version = 77 };
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(pyelf_read_fd(fd, &info), -ENOENT);
	assert_int_equal(info.version, 77); /* untouched */
	close(fd);
	fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pyelf_read_fd(fd, &info), -EINVAL);
	close(fd);
}

/* The stock interpreter: non-PIE, its _PyRuntime at a link address, the
 * eval loop's offsets inside its executable segment. */
static void test_stock_python(void **state)
{
	struct pyelf_info info = { 0 };
	int fd = open("/usr/bin/python3.11", O_RDONLY | O_CLOEXEC);

	(void)state;
	if (fd < 0)
		skip();
	assert_int_equal(pyelf_read_fd(fd, &info), 0);
	close(fd);
	assert_int_equal(info.version, PROFD_PY_311);
	assert_int_equal(info.version_hex >> 16, 0x030b);
	assert_true(info.runtime > 0);
	assert_false(info.dyn);
	assert_true(info.eval_lo > 0 && info.eval_hi > info.eval_lo);
	assert_true(info.eval_hi - info.eval_lo > 1000); /* the eval loop is large */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_not_python),
		cmocka_unit_test(test_stock_python),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
