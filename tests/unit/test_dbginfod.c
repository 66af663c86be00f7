/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for the debuginfod client: fetches through libdebuginfod
 * from a file:// server tree built here (the same client code path as
 * HTTP), the cache and its bound, held-off queries after a transport
 * error, an abort while a server stalls. The HTTP server test is
 * tests/integration/test_debuginfod.py. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "symbols/dbginfod.h"
#include "symbols/elfsym.h"
#include "symtest_util.h"

static char *dir;
static char hex[2 * ELFSYM_BUILD_ID_MAX + 1];
static uint8_t bid[ELFSYM_BUILD_ID_MAX];
static int bid_len;

static int setup(void **state)
{
	char path[4096];
	int fd;

	(void)state;
	dir = symtest_tmpdir();
	if (!dir || symtest_build(dir, "libt.so", symtest_lib_src, "-g -fPIC -shared -Wl,--build-id"))
		return -1;
	snprintf(path, sizeof(path), "%s/libt.so", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	bid_len = elfsym_read_build_id_fd(fd, bid);
	close(fd);
	if (bid_len != 20)
		return -1;
	for (int i = 0; i < bid_len; i++)
		snprintf(hex + 2 * i, 3, "%02x", bid[i]);
	/* the server's tree: buildid/HEX/debuginfo, as debuginfod serves it */
	return symtest_sh("set -e; cd '%s'; mkdir -p srv/buildid/%s;"
			  "objcopy --only-keep-debug libt.so srv/buildid/%s/debuginfo", dir, hex, hex);
}

static int teardown(void **state)
{
	(void)state;
	symtest_rmdir(dir);
	return 0;
}

static struct dbginfod *client(const char *urls, const char *cache, uint64_t max, uint32_t timeout)
{
	struct dbginfod_opts o = { .urls = urls, .cache_dir = cache, .cache_max = max, .timeout_s = timeout,
				   .max_file = 1 << 30 };
	struct dbginfod *d = NULL;

	assert_int_equal(dbginfod_new(&o, &d), 0);
	assert_non_null(d);
	return d;
}

static void test_off(void **state)
{
	struct dbginfod_opts o = { .cache_dir = "/tmp", .timeout_s = 1 };
	struct dbginfod *d = (void *)1;

	(void)state;
	/* no URL here nor in the environment: off, nothing changed */
	unsetenv("DEBUGINFOD_URLS");
	assert_int_equal(dbginfod_new(&o, &d), 0);
	assert_null(d);
	o.urls = "   ";
	assert_int_equal(dbginfod_new(&o, &d), 0);
	assert_null(d);
	o.urls = "http://127.0.0.1:1";
	o.cache_dir = "relative";
	assert_int_equal(dbginfod_new(&o, &d), -EINVAL);
	assert_null(dbginfod_free(NULL));
}

static void test_fetch(void **state)
{
	char urls[4200], cache[4200], want[4096];
	struct dbginfod_result res;
	struct dbginfod *d;
	struct stat st, ws;
	const int stop = 0;
	uint8_t other[20];
	int fd;

	(void)state;
	snprintf(urls, sizeof(urls), "file://%s/srv", dir);
	snprintf(cache, sizeof(cache), "%s/state/debuginfod", dir); /* neither exists yet */
	snprintf(want, sizeof(want), "%s/srv/buildid/%s/debuginfo", dir, hex);
	assert_int_equal(stat(want, &ws), 0);
	d = client(urls, cache, 1 << 30, 5);
	assert_string_equal(dbginfod_urls(d), urls);
	assert_string_equal(getenv("DEBUGINFOD_URLS"), urls);
	assert_string_equal(getenv("DEBUGINFOD_CACHE_PATH"), cache);
	assert_string_equal(getenv("DEBUGINFOD_RETRY_LIMIT"), "0");

	/* from the server, into the cache */
	fd = dbginfod_fetch(d, bid, (size_t)bid_len, &stop, &res);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, ws.st_size);
	close(fd);
	assert_int_equal(res.queries, 1);
	assert_int_equal(res.downloaded, 1);
	assert_int_equal(res.cached, 0);
	assert_int_equal(res.bytes, (uint64_t)ws.st_size);
	assert_int_equal(res.cache_bytes, (uint64_t)ws.st_size);
	/* again: from the cache, even with the server's copy gone */
	assert_int_equal(symtest_sh("mv '%s' '%s.away'", want, want), 0);
	fd = dbginfod_fetch(d, bid, (size_t)bid_len, &stop, &res);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(res.cached, 1);
	assert_int_equal(res.downloaded, 0);
	assert_int_equal(symtest_sh("mv '%s.away' '%s'", want, want), 0);

	/* a build-id the server does not have: a miss, no hold-off */
	memset(other, 0xab, sizeof(other));
	assert_int_equal(dbginfod_fetch(d, other, sizeof(other), &stop, &res), -ENOENT);
	assert_int_equal(res.failures, 1);
	fd = dbginfod_fetch(d, bid, (size_t)bid_len, &stop, &res);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(dbginfod_fetch(d, bid, 0, &stop, &res), -EINVAL);
	dbginfod_free(d);
}

/* A server that cannot be reached: one query, then every query is held
 * off (no tight retry loop) until the back-off has passed. */
static void test_transport_error(void **state)
{
	char cache[4200];
	struct dbginfod_result res;
	struct dbginfod *d;
	const int stop = 0;
	uint8_t other[20];
	int fd;

	(void)state;
	snprintf(cache, sizeof(cache), "%s/cache2", dir);
	d = client("http://127.0.0.1:1", cache, 1 << 30, 5);
	memset(other, 0xcd, sizeof(other));
	assert_true(dbginfod_fetch(d, other, sizeof(other), &stop, &res) < 0);
	assert_int_equal(res.queries, 1);
	assert_int_equal(res.failures, 1);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(dbginfod_fetch(d, bid, (size_t)bid_len, &stop, &res), -EAGAIN);
		assert_int_equal(res.queries, 0);
	}
	dbginfod_free(d);

	/* held off, the cache still answers (test_fetch filled this one) */
	snprintf(cache, sizeof(cache), "%s/state/debuginfod", dir);
	d = client("http://127.0.0.1:1", cache, 1 << 30, 5);
	assert_true(dbginfod_fetch(d, other, sizeof(other), &stop, &res) < 0);
	fd = dbginfod_fetch(d, bid, (size_t)bid_len, &stop, &res);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(res.queries, 0);
	assert_int_equal(res.cached, 1);
	/* a miss record (empty file) is no file */
	memset(other, 0xab, sizeof(other));
	assert_int_equal(dbginfod_fetch(d, other, sizeof(other), &stop, &res), -EAGAIN);
	dbginfod_free(d);
}

struct stall {
	int stop;
	int fd;
};

static void *set_stop(void *arg)
{
	struct stall *s = arg;
	struct timespec ts = { .tv_sec = 1 };

	nanosleep(&ts, NULL);
	__atomic_store_n(&s->stop, 1, __ATOMIC_RELAXED);
	return NULL;
}

/* A server that accepts the connection and never answers: the stop flag
 * ends the query (the timeout is far past the test's own). */
static void test_abort(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	struct dbginfod_result res;
	struct stall st = { 0 };
	char url[64], cache[4200];
	struct dbginfod *d;
	pthread_t t;
	uint8_t other[20];

	(void)state;
	st.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(st.fd >= 0);
	assert_int_equal(bind(st.fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(st.fd, 4), 0);
	assert_int_equal(getsockname(st.fd, (struct sockaddr *)&a, &alen), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", ntohs(a.sin_port));
	snprintf(cache, sizeof(cache), "%s/cache3", dir);
	d = client(url, cache, 1 << 30, 3600);
	memset(other, 0xef, sizeof(other));
	assert_int_equal(pthread_create(&t, NULL, set_stop, &st), 0);
	assert_true(dbginfod_fetch(d, other, sizeof(other), &st.stop, &res) < 0);
	pthread_join(t, NULL);
	dbginfod_free(d);
	close(st.fd);
}

static void put(const char *path, size_t size, time_t age)
{
	struct timespec ts[2];
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	for (size_t i = 0; i < size; i++)
		fputc('x', f);
	fclose(f);
	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= age;
	ts[1] = ts[0];
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/* The bound: least recently used files go first; settings files and
 * miss records (empty) stay; emptied directories go. */
static void test_trim(void **state)
{
	char c[4200], p[4300];
	uint64_t bytes = 0;
	uint32_t evicted = 0;

	(void)state;
	snprintf(c, sizeof(c), "%s/trim", dir);
	assert_int_equal(symtest_sh("mkdir -p '%s/aa' '%s/bb' '%s/cc' '%s/dd'", c, c, c, c), 0);
	snprintf(p, sizeof(p), "%s/aa/debuginfo", c);
	put(p, 1000, 300);
	snprintf(p, sizeof(p), "%s/bb/debuginfo", c);
	put(p, 2000, 200);
	snprintf(p, sizeof(p), "%s/cc/debuginfo", c);
	put(p, 3000, 100);
	snprintf(p, sizeof(p), "%s/dd/debuginfo", c);
	put(p, 0, 400);
	snprintf(p, sizeof(p), "%s/cache_clean_interval_s", c);
	put(p, 5000, 500);
	assert_int_equal(dbginfod_cache_trim(c, 10000, &bytes, &evicted), 0);
	assert_int_equal(bytes, 6000);
	assert_int_equal(evicted, 0);
	assert_int_equal(dbginfod_cache_trim(c, 4000, &bytes, &evicted), 0);
	assert_int_equal(bytes, 3000);
	assert_int_equal(evicted, 2);
	snprintf(p, sizeof(p), "%s/aa", c);
	assert_int_not_equal(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "%s/bb", c);
	assert_int_not_equal(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "%s/cc/debuginfo", c);
	assert_int_equal(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "%s/dd/debuginfo", c);
	assert_int_equal(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "%s/cache_clean_interval_s", c);
	assert_int_equal(access(p, F_OK), 0);
	assert_int_equal(dbginfod_cache_trim(c, 0, &bytes, &evicted), 0);
	assert_int_equal(bytes, 0);
	assert_int_equal(evicted, 1);
	snprintf(p, sizeof(p), "%s/nonexistent", c);
	assert_int_equal(dbginfod_cache_trim(p, 0, &bytes, &evicted), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_off),
		cmocka_unit_test(test_fetch),
		cmocka_unit_test(test_transport_error),
		cmocka_unit_test(test_abort),
		cmocka_unit_test(test_trim),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
