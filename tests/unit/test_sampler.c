/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for the sampler's pure parts: the kernel CPU-list parser and
 * the diff that CPU hotplug handling attaches and detaches by (no BPF: the
 * rest of the sampler is covered by the integration tests). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "collect/sampler.h"

#define MAXC 4096

static int isset(const uint8_t *b, unsigned cpu)
{
	return b[cpu / 8] >> (cpu % 8) & 1;
}

static void test_parse(void **state)
{
	uint8_t b[MAXC / 8];

	(void)state;
	assert_int_equal(sampler_parse_cpulist("0-3,5,7-8\n", b, MAXC), 7);
	for (unsigned i = 0; i < 10; i++)
		assert_int_equal(isset(b, i), i <= 3 || i == 5 || i == 7 || i == 8);
	assert_int_equal(sampler_parse_cpulist("0\n", b, MAXC), 1);
	assert_int_equal(sampler_parse_cpulist("", b, MAXC), 0);
	/* overlaps count once */
	assert_int_equal(sampler_parse_cpulist("0-3,2-5", b, MAXC), 6);
	assert_int_equal(sampler_parse_cpulist("4095", b, MAXC), 1);
	assert_int_equal(sampler_parse_cpulist("4096", b, MAXC), -EINVAL);
	assert_int_equal(sampler_parse_cpulist("3-1", b, MAXC), -EINVAL);
	assert_int_equal(sampler_parse_cpulist("1,,2", b, MAXC), -EINVAL);
	assert_int_equal(sampler_parse_cpulist("a", b, MAXC), -EINVAL);
	assert_int_equal(sampler_parse_cpulist("1-", b, MAXC), -EINVAL);
}

/* Hotplug: what came online is attached, what went offline detached. */
static void test_diff(void **state)
{
	uint8_t before[MAXC / 8], now[MAXC / 8], added[MAXC / 8], removed[MAXC / 8];

	(void)state;
	assert_int_equal(sampler_parse_cpulist("0-3", before, MAXC), 4);
	/* unchanged */
	assert_int_equal(sampler_parse_cpulist("0-3\n", now, MAXC), 4);
	assert_int_equal(sampler_cpulist_diff(before, now, MAXC, added, removed), 0);
	for (unsigned i = 0; i < MAXC; i++)
		assert_false(isset(added, i) || isset(removed, i));
	/* CPU 2 offline, CPUs 4 and 63 online (a VM's vCPU hot-add) */
	assert_int_equal(sampler_parse_cpulist("0-1,3-4,63", now, MAXC), 5);
	assert_int_equal(sampler_cpulist_diff(before, now, MAXC, added, removed), 3);
	for (unsigned i = 0; i < 128; i++) {
		assert_int_equal(isset(added, i), i == 4 || i == 63);
		assert_int_equal(isset(removed, i), i == 2);
	}
	/* back: the reverse */
	assert_int_equal(sampler_cpulist_diff(now, before, MAXC, added, removed), 3);
	assert_true(isset(added, 2) && isset(removed, 4) && isset(removed, 63));
	/* only the first max CPUs are compared (the possible ones) */
	assert_int_equal(sampler_cpulist_diff(before, now, 4, added, removed), 1);
	assert_true(isset(removed, 2) && !isset(added, 4));
	/* either output may be left out */
	assert_int_equal(sampler_cpulist_diff(before, now, MAXC, NULL, removed), 3);
	assert_int_equal(sampler_cpulist_diff(before, now, MAXC, added, NULL), 3);
	/* the highest CPU id */
	assert_int_equal(sampler_parse_cpulist("0-4095", now, MAXC), MAXC);
	assert_int_equal(sampler_cpulist_diff(before, now, MAXC, added, removed), MAXC - 4);
	assert_true(isset(added, 4095) && !isset(added, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_diff),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
