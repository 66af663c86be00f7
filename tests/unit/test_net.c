/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for net: requests through curl's multi interface in this
 * process's epoll loop against a scripted receiver thread (test_httpd.h);
 * delivery order, retries on 5xx/429/network errors with back-off and
 * Retry-After, no retry on other 4xx, the queue bound, the spool across a
 * restart (and a corrupted file), and credentials never in errors or logs. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/log.h"
#include "base/loop.h"
#include "common/clock.h"
#include "net/http.h"
#include "net/spool.h"
#include "net/target.h"
#include "test_httpd.h"

static struct httpd srv;
static struct loop *lp;
static struct net *nt;
static char tmpdir[64];

struct run {
	struct net_target *t;
	int (*done)(struct run *r);
	int want;           /* requests the receiver must see */
	uint64_t deadline;
};

static int enough_requests(struct run *r)
{
	struct net_target_stats st;

	net_target_get_stats(r->t, &st);
	return httpd_count(&srv) >= r->want && !st.in_flight;
}

static void on_tick(struct loop *l, int fd, uint32_t events, void *data)
{
	struct run *r = data;
	uint64_t exp;

	(void)events;
	if (read(fd, &exp, sizeof(exp)) < 0)
		return;
	net_target_poll(r->t, clock_mono_ms());
	if (r->done(r) || clock_mono_ms() > r->deadline)
		loop_quit(l);
}

/* Run the loop (20 ms poll ticks) until r->done or 15 s. */
static void run_until(struct run *r)
{
	struct itimerspec its = { .it_interval.tv_nsec = 20000000, .it_value.tv_nsec = 20000000 };
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

	assert_true(fd >= 0);
	timerfd_settime(fd, 0, &its, NULL);
	r->deadline = clock_mono_ms() + 15000;
	if (!r->done)
		r->done = enough_requests;
	assert_int_equal(loop_add(lp, fd, EPOLLIN, on_tick, r), 0);
	loop_run(lp);
	loop_del(lp, fd);
	close(fd);
}

static int setup(void **state)
{
	(void)state;
	assert_int_equal(httpd_start(&srv), 0);
	assert_int_equal(loop_new(&lp), 0);
	assert_int_equal(net_new(lp, &nt), 0);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/profd-net-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	nt = net_free(nt);
	lp = loop_free(lp);
	httpd_stop(&srv);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd))
		return -1;
	return 0;
}

/* loop_quit ends a loop for good: a test that runs twice re-creates the
 * loop and the net bound to it (its targets freed before). */
static void fresh_loop(void)
{
	nt = net_free(nt);
	lp = loop_free(lp);
	assert_int_equal(loop_new(&lp), 0);
	assert_int_equal(net_new(lp, &nt), 0);
}

static struct net_target *target(const char *path, int port, struct net_target_opts *extra)
{
	static const char *const hdrs[] = { "Content-Type: application/x-test", "X-Test: 1" };
	struct net_target_opts o = {
		.name = "t1",
		.method = "POST",
		.headers = hdrs,
		.nheaders = 2,
		.timeout_ms = 2000,
		.queue_max = 16,
		.backoff_min_ms = 50,
		.backoff_max_ms = 200,
	};
	char url[128];
	struct net_target *t;

	if (extra) {
		o.queue_max = extra->queue_max ? extra->queue_max : o.queue_max;
		o.queue_bytes = extra->queue_bytes;
		o.state_dir = extra->state_dir;
		o.spool_bytes = extra->spool_bytes;
		o.auth = extra->auth;
		o.timeout_ms = extra->timeout_ms ? extra->timeout_ms : o.timeout_ms;
		o.name = extra->name ? extra->name : o.name;
		o.max_attempts = extra->max_attempts;
		o.backoff_min_ms = extra->backoff_min_ms ? extra->backoff_min_ms : o.backoff_min_ms;
		o.backoff_max_ms = extra->backoff_max_ms ? extra->backoff_max_ms : o.backoff_max_ms;
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	o.url = url;
	assert_int_equal(net_target_new(nt, &o, &t), 0);
	return t;
}

static void test_delivers_in_order(void **state)
{
	struct net_target *t = target("/api", srv.port, NULL);
	struct run r = { .t = t, .want = 3 };
	struct net_target_stats st;

	(void)state;
	assert_int_equal(net_target_enqueue(t, "/one", "body-1", 6, clock_mono_ms()), 0);
	assert_int_equal(net_target_enqueue(t, "?q=2", "body-2", 6, clock_mono_ms()), 0);
	assert_int_equal(net_target_enqueue(t, NULL, "body-3", 6, clock_mono_ms()), 0);
	run_until(&r);
	assert_int_equal(httpd_count(&srv), 3);
	assert_string_equal(srv.req[0].path, "/api/one");
	assert_string_equal(srv.req[1].path, "/api?q=2");
	assert_string_equal(srv.req[2].path, "/api");
	for (int i = 0; i < 3; i++) {
		char want[16];

		snprintf(want, sizeof(want), "body-%d", i + 1);
		assert_string_equal(srv.req[i].method, "POST");
		assert_string_equal(srv.req[i].body, want);
		assert_non_null(strstr(srv.req[i].head, "Content-Type: application/x-test\r\n"));
		assert_non_null(strstr(srv.req[i].head, "X-Test: 1\r\n"));
		assert_null(strstr(srv.req[i].head, "Expect:"));
	}
	net_target_get_stats(t, &st);
	assert_int_equal(st.sent, 3);
	assert_int_equal(st.queued, 0);
	assert_int_equal(st.retried + st.failed + st.dropped, 0);
	assert_true(st.last_success_ms > 0);
	assert_int_equal(st.last_status, 200);
	net_target_free(t);
}

/* 503, then 429 with Retry-After: 1, then 200: the same body three times,
 * and the third attempt not before the second plus one second. */
static void test_retries(void **state)
{
	static const struct httpd_reply script[] = {
		{ .status = 503, .body = "busy" },
		{ .status = 429, .headers = "Retry-After: 1\r\n", .body = "slow down" },
		{ .status = 204 },
	};
	struct net_target *t = target("/w", srv.port, NULL);
	struct run r = { .t = t, .want = 3 };
	struct net_target_stats st;

	(void)state;
	httpd_script(&srv, script, 3);
	net_target_enqueue(t, NULL, "same", 4, clock_mono_ms());
	run_until(&r);
	assert_int_equal(httpd_count(&srv), 3);
	for (int i = 0; i < 3; i++)
		assert_string_equal(srv.req[i].body, "same");
	assert_true(srv.req[2].at_ms - srv.req[1].at_ms >= 1000);
	net_target_get_stats(t, &st);
	assert_int_equal(st.retried, 2);
	assert_int_equal(st.sent, 1);
	assert_int_equal(st.failed, 0);
	assert_int_equal(st.queued, 0);
	net_target_free(t);
}

/* 400 is refused for good: counted as failed, not retried, and the next
 * payload goes out. */
static void test_no_retry_on_4xx(void **state)
{
	static const struct httpd_reply script[] = {
		{ .status = 400, .body = "out of order sample\n\x01" },
		{ .status = 200 },
	};
	struct net_target *t = target("/w", srv.port, NULL);
	struct run r = { .t = t, .want = 2 };
	struct net_target_stats st;

	(void)state;
	httpd_script(&srv, script, 2);
	net_target_enqueue(t, NULL, "a", 1, clock_mono_ms());
	net_target_enqueue(t, NULL, "b", 1, clock_mono_ms());
	run_until(&r);
	assert_int_equal(httpd_count(&srv), 2);
	assert_string_equal(srv.req[0].body, "a");
	assert_string_equal(srv.req[1].body, "b");
	net_target_get_stats(t, &st);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.retried, 0);
	assert_int_equal(st.sent, 1);
	assert_int_equal(st.last_status, 200);
	/* the refusal's body is in the last error, printable only */
	assert_string_equal(st.last_error, "HTTP 400: out of order sample");
	net_target_free(t);
}

static int retried_twice(struct run *r)
{
	struct net_target_stats st;

	net_target_get_stats(r->t, &st);
	return st.retried >= 2;
}

/* Nothing listening, then a receiver that never answers in time: both are
 * retried and the payload stays queued. */
static void test_network_errors(void **state)
{
	static const struct httpd_reply slow[] = { { .status = 200, .delay_ms = 1500 }, { .status = 200, .delay_ms = 1500 } };
	struct net_target *t = target("/w", httpd_dead_port(), NULL);
	struct run r = { .t = t, .done = retried_twice };
	struct net_target_stats st;

	(void)state;
	net_target_enqueue(t, NULL, "x", 1, clock_mono_ms());
	run_until(&r);
	net_target_get_stats(t, &st);
	assert_true(st.retried >= 2);
	assert_int_equal(st.sent, 0);
	assert_int_equal(st.queued, 1);
	assert_int_equal(st.last_status, 0);
	assert_true(st.last_error[0] != '\0');
	net_target_free(t);

	fresh_loop();
	httpd_script(&srv, slow, 2);
	t = target("/w", srv.port, &(struct net_target_opts){ .timeout_ms = 300 });
	r = (struct run){ .t = t, .done = retried_twice };
	net_target_enqueue(t, NULL, "y", 1, clock_mono_ms());
	run_until(&r);
	net_target_get_stats(t, &st);
	assert_true(st.retried >= 2);
	assert_int_equal(st.sent, 0);
	assert_int_equal(st.queued, 1);
	assert_non_null(strstr(st.last_error, "timed out"));
	net_target_free(t);
}

static int settled(struct run *r)
{
	struct net_target_stats st;

	net_target_get_stats(r->t, &st);
	return !st.queued;
}

/* max_attempts: a payload that fails that often is dropped (counted), and
 * every failed attempt is counted. */
static void test_max_attempts(void **state)
{
	struct net_target *t = target("/w", httpd_dead_port(), &(struct net_target_opts){ .max_attempts = 3 });
	struct run r = { .t = t, .done = settled };
	struct net_target_stats st;

	(void)state;
	net_target_enqueue(t, NULL, "x", 1, clock_mono_ms());
	run_until(&r);
	net_target_get_stats(t, &st);
	assert_int_equal(st.attempt_failures, 3);
	assert_int_equal(st.retried, 2);
	assert_int_equal(st.dropped, 1);
	assert_int_equal(st.failed, 0);
	assert_int_equal(st.sent, 0);
	assert_int_equal(st.queued, 0);
	net_target_free(t);
}

/* A newer payload of the same key replaces one waiting for its retry, in
 * its place; the one in flight is never replaced; other keys queue. */
static void test_keyed(void **state)
{
	static const struct httpd_reply script[] = { { .status = 503 }, { .status = 408 } };
	struct net_target *t = target("/w", srv.port,
				      &(struct net_target_opts){ .backoff_min_ms = 300, .backoff_max_ms = 300 });
	struct run r = { .t = t, .want = 4 };
	struct net_target_stats st;

	(void)state;
	httpd_script(&srv, script, 2);
	/* in flight at once: not replaceable */
	assert_int_equal(net_target_enqueue_keyed(t, "a", NULL, "a1", 2, clock_mono_ms()), 0);
	assert_int_equal(net_target_enqueue_keyed(t, "a", NULL, "a2", 2, clock_mono_ms()), 0);
	assert_int_equal(net_target_enqueue_keyed(t, "b", "?b", "b1", 2, clock_mono_ms()), 0);
	assert_int_equal(net_target_enqueue_keyed(t, "a", NULL, "a3", 2, clock_mono_ms()), 0);
	assert_int_equal(net_target_enqueue_keyed(t, NULL, NULL, "n", 1, clock_mono_ms()), 0);
	net_target_get_stats(t, &st);
	assert_int_equal(st.superseded, 1);
	assert_int_equal(st.queued, 4);
	run_until(&r);
	/* a1 503, a1 408 (retried: 408 is), a1, then a3 in a2's place, b1, n */
	assert_int_equal(httpd_count(&srv), 6);
	assert_string_equal(srv.req[0].body, "a1");
	assert_string_equal(srv.req[1].body, "a1");
	assert_string_equal(srv.req[2].body, "a1");
	assert_string_equal(srv.req[3].body, "a3");
	assert_string_equal(srv.req[4].body, "b1");
	assert_string_equal(srv.req[4].path, "/w?b");
	assert_string_equal(srv.req[5].body, "n");
	net_target_get_stats(t, &st);
	assert_int_equal(st.sent, 4);
	assert_int_equal(st.retried, 2);
	assert_int_equal(st.attempt_failures, 2);
	assert_int_equal(st.superseded, 1);
	net_target_free(t);
}

/* The bound drops the oldest payload not in flight and counts it. */
static void test_queue_bound(void **state)
{
	static const struct httpd_reply script[] = { { .status = 200, .delay_ms = 400 } };
	struct net_target *t = target("/w", srv.port, &(struct net_target_opts){ .queue_max = 3 });
	struct run r = { .t = t, .want = 3 };
	struct net_target_stats st;
	char b[8];

	(void)state;
	httpd_script(&srv, script, 1);
	for (int i = 1; i <= 5; i++) {
		snprintf(b, sizeof(b), "p%d", i);
		net_target_enqueue(t, NULL, b, strlen(b), clock_mono_ms());
	}
	net_target_get_stats(t, &st);
	assert_int_equal(st.queued, 3);
	assert_int_equal(st.dropped, 2);
	run_until(&r);
	assert_int_equal(httpd_count(&srv), 3);
	assert_string_equal(srv.req[0].body, "p1"); /* was in flight */
	assert_string_equal(srv.req[1].body, "p4");
	assert_string_equal(srv.req[2].body, "p5");
	net_target_get_stats(t, &st);
	assert_int_equal(st.sent, 3);
	assert_int_equal(st.dropped, 2);
	net_target_free(t);
}

/* Payloads spooled while the receiver is down survive the target (the
 * daemon) going away, and arrive in order from a new one; a corrupted
 * file is dropped and counted, never sent. */
static void test_spool_restart(void **state)
{
	struct net_target_opts sp = { .state_dir = tmpdir, .name = "rw" };
	struct net_target *t = target("/w", httpd_dead_port(), &sp);
	struct net_target_stats st;
	struct run r;
	char path[256], b[8];
	int fd;

	(void)state;
	for (int i = 1; i <= 4; i++) {
		snprintf(b, sizeof(b), "s%d", i);
		assert_int_equal(net_target_enqueue(t, i == 2 ? "?n=2" : NULL, b, strlen(b), clock_mono_ms()), 0);
	}
	net_target_get_stats(t, &st);
	assert_int_equal(st.queued, 4);
	assert_int_equal(st.spool_bytes, 4 * (SPOOL_HEADER_SIZE + 2) + 4);
	net_target_free(t);

	/* flip one byte of payload 3's body */
	snprintf(path, sizeof(path), "%s/spool/rw/%016x.spool", tmpdir, 3);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "X", 1, SPOOL_HEADER_SIZE + 1), 1);
	close(fd);

	fresh_loop();
	t = target("/w", srv.port, &sp);
	net_target_get_stats(t, &st);
	assert_int_equal(st.queued, 4);
	r = (struct run){ .t = t, .want = 3 };
	net_target_poll(t, clock_mono_ms());
	run_until(&r);
	assert_int_equal(httpd_count(&srv), 3);
	assert_string_equal(srv.req[0].body, "s1");
	assert_string_equal(srv.req[1].body, "s2");
	assert_string_equal(srv.req[1].path, "/w?n=2");
	assert_string_equal(srv.req[2].body, "s4");
	net_target_get_stats(t, &st);
	assert_int_equal(st.sent, 3);
	assert_int_equal(st.dropped, 1);
	assert_int_equal(st.queued, 0);
	assert_int_equal(st.spool_bytes, 0);
	/* a new payload after the reloaded ones gets a later number */
	net_target_free(t);
}

/* The spool's byte bound drops the oldest files first. */
static void test_spool_bound(void **state)
{
	uint64_t one = SPOOL_HEADER_SIZE + 100;
	struct net_target_opts sp = { .state_dir = tmpdir, .name = "bound", .spool_bytes = 3 * one };
	struct net_target *t = target("/w", httpd_dead_port(), &sp);
	struct net_target_stats st;
	char body[100];

	(void)state;
	for (int i = 0; i < 5; i++) {
		memset(body, 'a' + i, sizeof(body));
		net_target_enqueue(t, NULL, body, sizeof(body), clock_mono_ms());
	}
	net_target_get_stats(t, &st);
	/* the first is in flight (or backing off at the head): kept; 2 and 3
	 * dropped for 4 and 5 */
	assert_int_equal(st.queued, 3);
	assert_int_equal(st.dropped, 2);
	assert_true(st.spool_bytes <= 3 * one);
	net_target_free(t);
}

/* A spool directory that is a symlink is refused, not followed. */
static void test_spool_no_symlink(void **state)
{
	char path[256], other[256];
	struct spool *s = NULL;

	(void)state;
	snprintf(path, sizeof(path), "%s/spool", tmpdir);
	mkdir(path, 0700);
	snprintf(other, sizeof(other), "%s/elsewhere", tmpdir);
	mkdir(other, 0700);
	snprintf(path, sizeof(path), "%s/spool/evil", tmpdir);
	assert_int_equal(symlink(other, path), 0);
	assert_true(spool_open(tmpdir, "evil", NULL, NULL, &s) < 0);
	assert_null(s);
	assert_int_equal(spool_open(tmpdir, "../x", NULL, NULL, &s), -EINVAL);
	assert_int_equal(spool_open(tmpdir, ".hidden", NULL, NULL, &s), -EINVAL);
	assert_int_equal(spool_open("relative", "ok", NULL, NULL, &s), -EINVAL);
}

/* The bearer token goes to the receiver and nowhere else: not into the
 * last error, not into the log (debug level). */
static void test_secrets_not_logged(void **state)
{
	static const struct httpd_reply script[] = { { .status = 401, .body = "bad credentials" },
						     { .status = 503, .body = "down" } };
	const char *token = "s3cr3t-T0KEN-value";
	struct net_target_opts o = { .auth = { .bearer = token } };
	struct net_target *t = target("/w", srv.port, &o);
	struct run r = { .t = t, .want = 2 };
	struct net_target_stats st;
	char logpath[128], buf[65536];
	int saved = dup(2), lfd;
	ssize_t n;

	(void)state;
	snprintf(logpath, sizeof(logpath), "%s/log", tmpdir);
	lfd = open(logpath, O_CREAT | O_RDWR | O_TRUNC, 0600);
	dup2(lfd, 2);
	log_set_level(LOG_DEBUG);
	httpd_script(&srv, script, 2);
	net_target_enqueue(t, NULL, "a", 1, clock_mono_ms());
	net_target_enqueue(t, NULL, "b", 1, clock_mono_ms());
	run_until(&r);
	net_target_get_stats(t, &st);
	net_target_free(t);
	dup2(saved, 2);
	close(saved);
	assert_int_equal(httpd_count(&srv), 2);
	assert_non_null(strstr(srv.req[0].head, "Authorization: Bearer s3cr3t-T0KEN-value\r\n"));
	assert_int_equal(st.failed, 1);
	assert_null(strstr(st.last_error, token));
	n = pread(lfd, buf, sizeof(buf) - 1, 0);
	close(lfd);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "HTTP 401"));
	assert_null(strstr(buf, token));
	assert_null(strstr(buf, "Bearer"));
}

static void test_backoff(void **state)
{
	(void)state;
	/* attempt 1: d = min; jitter keeps it within [d/2, d] */
	assert_int_equal(net_backoff_ms(1, 1000, 60000, 0, 0), 500);
	assert_int_equal(net_backoff_ms(1, 1000, 60000, UINT32_MAX, 0), 1000);
	/* doubling up to the cap */
	assert_int_equal(net_backoff_ms(4, 1000, 60000, UINT32_MAX, 0), 8000);
	assert_int_equal(net_backoff_ms(30, 1000, 60000, UINT32_MAX, 0), 60000);
	assert_int_equal(net_backoff_ms(30, 1000, 60000, 0, 0), 30000);
	for (uint32_t rnd = 1; rnd < 4000000000u; rnd += 123456789u) {
		uint64_t d = net_backoff_ms(3, 1000, 60000, rnd, 0);

		assert_true(d >= 2000 && d <= 4000);
	}
	/* Retry-After is a floor, capped at an hour */
	assert_int_equal(net_backoff_ms(1, 1000, 60000, 0, 30), 30000);
	assert_int_equal(net_backoff_ms(1, 1000, 60000, 0, 86400), 3600000);
	assert_true(net_should_retry(&(struct net_response){ .status = 500 }));
	assert_true(net_should_retry(&(struct net_response){ .status = 503 }));
	assert_true(net_should_retry(&(struct net_response){ .status = 429 }));
	assert_true(net_should_retry(&(struct net_response){ .status = 408 }));
	assert_true(net_should_retry(&(struct net_response){ .error = -ECONNREFUSED }));
	assert_true(net_should_retry(&(struct net_response){ .error = -ETIMEDOUT }));
	assert_false(net_should_retry(&(struct net_response){ .status = 400 }));
	assert_false(net_should_retry(&(struct net_response){ .status = 401 }));
	assert_false(net_should_retry(&(struct net_response){ .status = 404 }));
	assert_false(net_should_retry(&(struct net_response){ .status = 413 }));
}

static void test_bad_url(void **state)
{
	struct net_target *t = NULL;

	(void)state;
	assert_int_equal(net_send(nt, &(struct net_request){ .url = "file:///etc/passwd" }, NULL, NULL, NULL),
			 -EINVAL);
	assert_int_equal(net_send(nt, &(struct net_request){ .url = "ftp://x/" }, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(net_target_new(nt, &(struct net_target_opts){ .name = "x", .url = "http://a/" }, &t), -EINVAL);
	assert_null(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_delivers_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_retry_on_4xx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_network_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_attempts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keyed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_no_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secrets_not_logged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backoff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_url, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
