/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for the logger: level prefixes for the journal only when
 * stderr is the journal's stream, and the per-site rate limit. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"

static uint64_t fake_now;

static uint64_t fake_clock(void)
{
	return fake_now;
}

/* Run fn in a child whose stderr is a fresh file; returns its text. */
static char *capture(void (*fn)(const char *journal_env_mode))
{
	char path[] = "/tmp/profd-log-XXXXXX", *buf;
	int fd = mkstemp(path), st;
	pid_t pid;
	struct stat sb;

	assert_true(fd >= 0);
	pid = fork();
	if (pid == 0) {
		dup2(fd, STDERR_FILENO);
		fn(path);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(fstat(fd, &sb), 0);
	buf = calloc(1, (size_t)sb.st_size + 1);
	assert_int_equal(pread(fd, buf, (size_t)sb.st_size, 0), sb.st_size);
	close(fd);
	unlink(path);
	return buf;
}

static void log_journal_match(const char *path)
{
	struct stat sb;
	char env[64];

	(void)path;
	fstat(STDERR_FILENO, &sb);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)sb.st_dev, (unsigned long long)sb.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	log_warn("disk %s is full", "sda");
	log_info("hello");
}

static void log_journal_other(const char *path)
{
	(void)path;
	/* set by systemd, but stderr was redirected since */
	setenv("JOURNAL_STREAM", "1:2", 1);
	log_err("boom");
}

static void test_journal_prefix(void **state)
{
	char *t;

	(void)state;
	t = capture(log_journal_match);
	assert_string_equal(t, "<4>disk sda is full\n<6>hello\n");
	free(t);
	t = capture(log_journal_other);
	assert_null(strstr(t, "<3>"));
	assert_non_null(strstr(t, "profd error: boom"));
	free(t);
}

static void log_burst(const char *path)
{
	(void)path;
	unsetenv("JOURNAL_STREAM");
	log_set_ratelimit(10, 60ull * 1000000000ull, fake_clock);
	fake_now = 1000;
	for (int i = 0; i < 25; i++)
		log_warn_errno(5, "read of /proc/%d failed: %m", i);
	/* another site is not limited by the first */
	log_err("another site");
	/* info is never limited */
	for (int i = 0; i < 12; i++)
		log_info("info %d", i);
	fake_now += 61ull * 1000000000ull;
	log_warn_errno(5, "read of /proc/%d failed: %m", 99);
}

static int count(const char *t, const char *needle)
{
	int n = 0;

	for (const char *p = t; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void test_ratelimit(void **state)
{
	char *t;

	(void)state;
	t = capture(log_burst);
	/* 10 of the 25, then after the interval the count and the new one */
	assert_int_equal(count(t, "failed: Input/output error"), 11);
	assert_non_null(strstr(t, "/proc/9 failed"));
	assert_null(strstr(t, "/proc/10 failed"));
	assert_non_null(strstr(t, "log: 15 similar messages suppressed: \"read of /proc/%d failed: %m\""));
	assert_non_null(strstr(t, "/proc/99 failed"));
	assert_int_equal(count(t, "another site"), 1);
	assert_int_equal(count(t, "profd info: info"), 12);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_journal_prefix),
		cmocka_unit_test(test_ratelimit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
