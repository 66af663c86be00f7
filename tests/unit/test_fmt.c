/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for fmt: duration and size parsing, human formatting. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/fmt.h"

static uint64_t dur(const char *s)
{
	uint64_t ns = 0;

	assert_int_equal(fmt_parse_duration(s, &ns), 0);
	return ns;
}

static void bad_dur(const char *s)
{
	uint64_t ns = 12345;

	assert_int_equal(fmt_parse_duration(s, &ns), -EINVAL);
	assert_int_equal(ns, 12345); /* untouched on failure */
}

static void test_duration_ok(void **state)
{
	assert_int_equal(dur("30s"), 30 * NSEC_PER_SEC);
	assert_int_equal(dur("5m"), 300 * NSEC_PER_SEC);
	assert_int_equal(dur("1h"), 3600 * NSEC_PER_SEC);
	assert_int_equal(dur("1h30m"), 5400 * NSEC_PER_SEC);
	assert_int_equal(dur("250ms"), 250 * NSEC_PER_MSEC);
	assert_int_equal(dur("2d"), 2 * 86400 * NSEC_PER_SEC);
	assert_int_equal(dur("1m30s500ms"), 90 * NSEC_PER_SEC + 500 * NSEC_PER_MSEC);
	assert_int_equal(dur("10"), 10 * NSEC_PER_SEC);
	assert_int_equal(dur("1us"), 1000);
	assert_int_equal(dur("7ns"), 7);
	assert_int_equal(dur("0h5m"), 300 * NSEC_PER_SEC);
}

static void test_duration_bad(void **state)
{
	bad_dur("");
	bad_dur("5x");
	bad_dur("-1s");
	bad_dur("+1s");
	bad_dur(" 5s");
	bad_dur("5s ");
	bad_dur("s");
	bad_dur("1.5s");
	bad_dur("0");
	bad_dur("0s");
	bad_dur("30m1h");   /* units out of order */
	bad_dur("5m5m");    /* repeated unit */
	bad_dur("1h30");    /* bare number after a unit */
	bad_dur("5min");
	/* Overflow: in the number itself, in the multiplication, in the sum. */
	bad_dur("99999999999999999999999s");
	bad_dur("213503982335d");           /* > 2^64 ns */
	bad_dur("18446744073709551615");    /* seconds * 1e9 overflows */
	bad_dur("213503d18446744073709551615ns");
	assert_int_equal(fmt_parse_duration(NULL, &(uint64_t){ 0 }), -EINVAL);
}

static uint64_t size(const char *s)
{
	uint64_t b = 0;

	assert_int_equal(fmt_parse_size(s, &b), 0);
	return b;
}

static void test_size(void **state)
{
	uint64_t b = 7;

	assert_int_equal(size("4096"), 4096);
	assert_int_equal(size("0"), 0);
	assert_int_equal(size("512k"), 512 * 1024);
	assert_int_equal(size("512K"), 512 * 1024);
	assert_int_equal(size("64M"), 64ull << 20);
	assert_int_equal(size("64MiB"), 64ull << 20);
	assert_int_equal(size("64MB"), 64ull << 20);
	assert_int_equal(size("1G"), 1ull << 30);
	assert_int_equal(size("2T"), 2ull << 40);
	assert_int_equal(size("100B"), 100);
	assert_int_equal(fmt_parse_size("", &b), -EINVAL);
	assert_int_equal(fmt_parse_size("M", &b), -EINVAL);
	assert_int_equal(fmt_parse_size("5x", &b), -EINVAL);
	assert_int_equal(fmt_parse_size("-5M", &b), -EINVAL);
	assert_int_equal(fmt_parse_size("5 M", &b), -EINVAL);
	assert_int_equal(fmt_parse_size("5Mx", &b), -EINVAL);
	assert_int_equal(fmt_parse_size("5iB", &b), -EINVAL);
	assert_int_equal(fmt_parse_size("17179869184G", &b), -EINVAL); /* 2^34 GiB = 2^64 */
	assert_int_equal(fmt_parse_size("99999999999999999999", &b), -EINVAL);
	assert_int_equal(b, 7);
	assert_int_equal(size("16777215T"), 16777215ull << 40);
}

static void test_bytes(void **state)
{
	char buf[32];

	assert_string_equal(fmt_bytes(buf, sizeof(buf), 0), "0 B");
	assert_string_equal(fmt_bytes(buf, sizeof(buf), 12), "12 B");
	assert_string_equal(fmt_bytes(buf, sizeof(buf), 1023), "1023 B");
	assert_string_equal(fmt_bytes(buf, sizeof(buf), 1024), "1 KiB");
	assert_string_equal(fmt_bytes(buf, sizeof(buf), 1536), "1.5 KiB");
	assert_string_equal(fmt_bytes(buf, sizeof(buf), 512 * 1024), "512 KiB");
	assert_string_equal(fmt_bytes(buf, sizeof(buf), 3ull << 29), "1.5 GiB");
	assert_string_equal(fmt_bytes(buf, sizeof(buf), 256ull << 20), "256 MiB");
	assert_string_equal(fmt_bytes(buf, sizeof(buf), UINT64_MAX), "16 EiB");
	/* Truncates, never overruns. */
	assert_string_equal(fmt_bytes(buf, 4, 1536), "1.5");
}

static void test_duration_format(void **state)
{
	char buf[32];

	assert_string_equal(fmt_duration(buf, sizeof(buf), 0), "0s");
	assert_string_equal(fmt_duration(buf, sizeof(buf), 42000), "42\xc2\xb5s");
	assert_string_equal(fmt_duration(buf, sizeof(buf), 999), "999ns");
	assert_string_equal(fmt_duration(buf, sizeof(buf), 350 * NSEC_PER_MSEC), "350ms");
	assert_string_equal(fmt_duration(buf, sizeof(buf), 2500 * NSEC_PER_MSEC), "2.5s");
	assert_string_equal(fmt_duration(buf, sizeof(buf), 2 * NSEC_PER_SEC), "2s");
	assert_string_equal(fmt_duration(buf, sizeof(buf), 12 * NSEC_PER_SEC), "12s");
	assert_string_equal(fmt_duration(buf, sizeof(buf), 330 * NSEC_PER_SEC), "5m30s");
	assert_string_equal(fmt_duration(buf, sizeof(buf), 305 * NSEC_PER_SEC), "5m05s");
	assert_string_equal(fmt_duration(buf, sizeof(buf), 3720 * NSEC_PER_SEC), "1h02m");
	assert_string_equal(fmt_duration(buf, sizeof(buf), (86400 + 3 * 3600) * NSEC_PER_SEC), "1d03h");
	assert_string_equal(fmt_duration(buf, sizeof(buf), 60 * NSEC_PER_SEC), "1m");
	assert_string_equal(fmt_duration(buf, sizeof(buf), 3600 * NSEC_PER_SEC), "1h");
	assert_string_equal(fmt_duration(buf, sizeof(buf), 3630 * NSEC_PER_SEC), "1h"); /* seconds dropped */
	assert_string_equal(fmt_duration(buf, sizeof(buf), 2 * 86400 * NSEC_PER_SEC), "2d");
	assert_string_equal(fmt_duration(buf, 3, 330 * NSEC_PER_SEC), "5m");
}

static void test_roundtrip(void **state)
{
	static const char *in[] = { "30s", "5m", "1h", "250ms", "12s", "1h02m", "1m", "10m", "1d03h" };
	char buf[32];

	/* What fmt_duration prints, fmt_parse_duration reads back. */
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		uint64_t ns = dur(in[i]);
		assert_int_equal(dur(fmt_duration(buf, sizeof(buf), ns)), ns);
	}
}

static void test_time(void **state)
{
	const int64_t now = 1700000000ll * 1000000000ll;
	int64_t t, a, b;

	(void)state;
	assert_int_equal(fmt_parse_time("1970-01-01T00:00:00Z", now, &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(fmt_parse_time("2023-11-14T22:13:20Z", now, &t), 0);
	assert_int_equal(t, now);
	assert_int_equal(fmt_parse_time("2023-11-15T00:13:20.25+02:00", now, &t), 0);
	assert_int_equal(t, now + 250000000);
	assert_int_equal(fmt_parse_time("2023-11-14 17:13:20-05:00", now, &t), 0);
	assert_int_equal(t, now);
	assert_int_equal(fmt_parse_time("2024-02-29T12:00:00Z", now, &t), 0);
	assert_int_equal(t, 1709208000ll * 1000000000ll);
	assert_int_equal(fmt_parse_time("-15m", now, &t), 0);
	assert_int_equal(t, now - 900ll * 1000000000ll);
	assert_int_equal(fmt_parse_time("now", now, &t), 0);
	assert_int_equal(t, now);
	assert_int_equal(fmt_parse_time("2023-11-14T22:13:20", now, &t), -EINVAL); /* zone required */
	assert_int_equal(fmt_parse_time("2023-13-14T22:13:20Z", now, &t), -EINVAL);
	assert_int_equal(fmt_parse_time("-x", now, &t), -EINVAL);
	assert_int_equal(fmt_parse_time("", now, &t), -EINVAL);
	assert_int_equal(fmt_parse_range("5m", now, &a, &b), 0);
	assert_int_equal(b - a, 300ll * 1000000000ll);
	assert_int_equal(fmt_parse_range("-10m..-5m", now, &a, &b), 0);
	assert_int_equal(a, now - 600ll * 1000000000ll);
	assert_int_equal(b, now - 300ll * 1000000000ll);
	assert_int_equal(fmt_parse_range("2023-11-14T22:00:00Z..now", now, &a, &b), 0);
	assert_int_equal(b - a, 800ll * 1000000000ll);
	assert_int_equal(fmt_parse_range("-5m..-10m", now, &a, &b), -EINVAL);
	assert_int_equal(fmt_parse_range("..", now, &a, &b), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_ok),
		cmocka_unit_test(test_duration_bad),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_duration_format),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
