/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for notifications: summary templates, the log line, the
 * Alertmanager v2 and webhook bodies (their exact fields), and the HTTP
 * receivers (on daemon/net, in this test's epoll loop) against a small
 * HTTP server on loopback run by the test: retries with back-off until the
 * server answers 200, final 4xx, a full queue, replacement of waiting
 * messages, and a server that is not there. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "alerts/notify.h"
#include "base/loop.h"
#include "common/clock.h"
#include "metrics/registry.h"
#include "net/http.h"

#define SEC 1000000000ull

static struct ruleset *rs;

/* A firing alert of rule hot (labels team=db) on postgres (1234), with
 * two stacks of evidence. */
static struct alert *make_alert(void)
{
	static const char text[] = "[rule hot]\nmetric = process.cpu_pct\nmatch = comm:postgres\nabove = 90\n"
				   "for = 2m\nwindow = 1m\nclear = 80\nseverity = critical\nlabels = team=db, tier=prod\n";
	static const char *s0[] = { "main", "PostgresMain", "LockAcquire", "hash_search" };
	static const char *s1[] = { "main", "do_sort" };
	struct alert *a = calloc(1, sizeof(*a));
	char err[256];

	assert_int_equal(ruleset_new(&rs), 0);
	if (ruleset_load_buffer(rs, "t.conf", text, strlen(text), RULES_FILE, err, sizeof(err)))
		fail_msg("%s", err);
	a->id = 42;
	a->rule = &rs->v[0];
	a->rule_name = strdup("hot");
	a->metric = "process.cpu_pct";
	a->severity = SEVERITY_CRITICAL;
	a->threshold = 90;
	a->clear = 80;
	a->window_ns = 60 * SEC;
	a->for_ns = 120 * SEC;
	a->kind = ENTITY_PROCESS;
	a->pid = 1234;
	a->start_ns = 777;
	snprintf(a->comm, sizeof(a->comm), "postgres");
	a->unit = strdup("postgresql.service");
	a->state = ALERT_FIRING;
	a->value = 97.4;
	a->active_since_ns = 100 * SEC;
	a->fired_at_ns = 220 * SEC;
	a->stacks = calloc(1, sizeof(*a->stacks));
	a->stacks->n = 2;
	a->stacks->v[0] = (struct alert_stack){ .frames = s0, .nframes = 4, .count = 61, .share_pct = 61 };
	a->stacks->v[1] = (struct alert_stack){ .frames = s1, .nframes = 2, .count = 20, .share_pct = 20 };
	a->stacks->samples = 100;
	a->stacks->taken_ns = 220 * SEC;
	snprintf(a->stacks->evidence, sizeof(a->stacks->evidence), "61%% in hash_search \xe2\x86\x90 LockAcquire");
	return a;
}

static void drop_alert(struct alert *a)
{
	free(a->rule_name);
	free(a->unit);
	free(a->summary);
	free(a->stacks); /* frames are static here */
	free(a);
	rs = ruleset_free(rs);
}

static void test_summary(void **state)
{
	struct alert *a = make_alert();
	char buf[256];

	(void)state;
	assert_string_equal(alert_render_summary(a, "{comm} ({pid}) at {value:.0f}% CPU for {for}", "h", buf, sizeof(buf)),
			    "postgres (1234) at 97% CPU for 2m");
	assert_string_equal(alert_render_summary(a, "{{{rule}}} {severity} {value} > {threshold:.1f} on {host}: {entity}",
						 "db1", buf, sizeof(buf)),
			    "{hot} critical 97.4% > 90.0 on db1: postgres (1234)");
	assert_string_equal(alert_render_summary(a, NULL, NULL, buf, sizeof(buf)),
			    "postgres (1234): process.cpu_pct 97.4% above 90.0% over 1m");
	/* bounded: cut, terminated */
	assert_int_equal(strlen(alert_render_summary(a, "{unit}{unit}{unit}", NULL, buf, 20)), 19);
	a->metric = "process.rss_growth_bytes_per_s";
	assert_string_equal(alert_format_value(a, 20.0 * 1024 * 1024 / 60, buf, sizeof(buf)), "20 MiB/min");
	a->metric = "process.runq_p99_ns";
	assert_string_equal(alert_format_value(a, 52e6, buf, sizeof(buf)), "52ms");
	a->metric = "process.fds";
	assert_string_equal(alert_format_value(a, 10001, buf, sizeof(buf)), "10001");
	assert_string_equal(alert_format_value(a, NAN, buf, sizeof(buf)), "n/a");
	drop_alert(a);
}

static void test_log_line(void **state)
{
	struct alert *a = make_alert();
	struct alert_notification n = { .alert = a, .from = ALERT_PENDING, .now_ns = 220 * SEC, .host = "db1" };
	char *line;

	(void)state;
	a->summary = strdup("postgres (1234) at 97% CPU for 2m");
	line = alert_log_line(&n);
	assert_string_equal(line, "alert hot firing (critical): postgres (1234) at 97% CPU for 2m; 61% in hash_search "
				  "\xe2\x86\x90 LockAcquire");
	free(line);
	a->state = ALERT_RESOLVED;
	a->reason = "process exited";
	line = alert_log_line(&n);
	assert_string_equal(line, "alert hot resolved (critical): postgres (1234) at 97% CPU for 2m; process exited");
	free(line);
	line = alert_stacks_folded(a->stacks);
	assert_string_equal(line, "main;PostgresMain;LockAcquire;hash_search 61\nmain;do_sort 20\n");
	free(line);
	line = alert_stacks_folded(NULL);
	assert_string_equal(line, "");
	free(line);
	drop_alert(a);
}

static const char *jstr(struct json_object *o, const char *k)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, k, &v))
		fail_msg("no member %s in %s", k, json_object_to_json_string(o));
	return json_object_get_string(v);
}

static void test_alertmanager(void **state)
{
	struct alert *a = make_alert();
	/* Unix time = boot time + 1,700,000,000 s */
	struct alert_notification n = { .alert = a, .from = ALERT_PENDING, .now_ns = 230 * SEC, .host = "db1",
					.realtime_offset_ns = 1700000000ll * (int64_t)SEC, .resend_ns = 60 * SEC };
	struct json_object *arr, *x, *l, *an;
	size_t len;
	char *body;

	(void)state;
	a->summary = strdup("postgres at 97%");
	body = alert_payload_alertmanager(&n, &len);
	assert_int_equal(strlen(body), len);
	arr = json_tokener_parse(body);
	assert_true(json_object_is_type(arr, json_type_array));
	assert_int_equal(json_object_array_length(arr), 1);
	x = json_object_array_get_idx(arr, 0);
	l = json_object_object_get(x, "labels");
	assert_int_equal(json_object_object_length(l), 8);
	assert_string_equal(jstr(l, "alertname"), "hot");
	assert_string_equal(jstr(l, "severity"), "critical");
	assert_string_equal(jstr(l, "host"), "db1");
	assert_string_equal(jstr(l, "pid"), "1234");
	assert_string_equal(jstr(l, "comm"), "postgres");
	assert_string_equal(jstr(l, "unit"), "postgresql.service");
	assert_string_equal(jstr(l, "team"), "db");
	assert_string_equal(jstr(l, "tier"), "prod");
	an = json_object_object_get(x, "annotations");
	assert_string_equal(jstr(an, "summary"), "postgres at 97%");
	assert_string_equal(jstr(an, "stacks"), "main;PostgresMain;LockAcquire;hash_search 61\nmain;do_sort 20\n");
	assert_string_equal(jstr(an, "evidence"), "61% in hash_search \xe2\x86\x90 LockAcquire");
	assert_string_equal(jstr(an, "value"), "97.4%");
	assert_string_equal(jstr(an, "threshold"), "90.0%");
	/* 1,700,000,220 s = 2023-11-14T22:17:00Z; endsAt 4 resends after now */
	assert_string_equal(jstr(x, "startsAt"), "2023-11-14T22:17:00.000Z");
	assert_string_equal(jstr(x, "endsAt"), "2023-11-14T22:21:10.000Z");
	assert_false(json_object_object_get_ex(x, "generatorURL", NULL));
	json_object_put(arr);
	free(body);

	/* resolved: endsAt is when */
	a->state = ALERT_RESOLVED;
	a->resolved_at_ns = 300 * SEC + 5000000;
	body = alert_payload_alertmanager(&n, &len);
	x = json_object_array_get_idx(arr = json_tokener_parse(body), 0);
	assert_string_equal(jstr(x, "endsAt"), "2023-11-14T22:18:20.005Z");
	json_object_put(arr);
	free(body);
	drop_alert(a);
}

static void test_webhook(void **state)
{
	struct alert *a = make_alert();
	struct alert_notification n = { .alert = a, .from = ALERT_PENDING, .now_ns = 230 * SEC, .host = "db1",
					.realtime_offset_ns = 1700000000ll * (int64_t)SEC };
	struct json_object *o, *x, *st, *fr;
	size_t len;
	char *body;

	(void)state;
	body = alert_payload_webhook(&n, &len);
	o = json_tokener_parse(body);
	assert_int_equal(json_object_get_int(json_object_object_get(o, "version")), 1);
	assert_string_equal(jstr(o, "status"), "firing");
	assert_string_equal(jstr(o, "host"), "db1");
	x = json_object_object_get(o, "alert");
	assert_string_equal(jstr(x, "rule"), "hot");
	assert_string_equal(jstr(x, "state"), "firing");
	assert_string_equal(jstr(x, "severity"), "critical");
	assert_string_equal(jstr(x, "kind"), "process");
	assert_int_equal(json_object_get_int(json_object_object_get(x, "pid")), 1234);
	assert_int_equal(json_object_get_int(json_object_object_get(x, "start_time_ns")), 777);
	assert_string_equal(jstr(x, "comm"), "postgres");
	assert_string_equal(jstr(x, "unit"), "postgresql.service");
	assert_true(json_object_get_double(json_object_object_get(x, "value")) == 97.4);
	assert_true(json_object_get_double(json_object_object_get(x, "threshold")) == 90);
	assert_true(json_object_get_double(json_object_object_get(x, "active_since")) == 1700000100.0);
	assert_true(json_object_get_double(json_object_object_get(x, "fired_at")) == 1700000220.0);
	assert_false(json_object_object_get_ex(x, "resolved_at", NULL));
	assert_string_equal(jstr(json_object_object_get(x, "labels"), "team"), "db");
	st = json_object_object_get(x, "stacks");
	assert_int_equal(json_object_array_length(st), 2);
	fr = json_object_object_get(json_object_array_get_idx(st, 0), "frames");
	assert_int_equal(json_object_array_length(fr), 4);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(fr, 0)), "main");
	assert_int_equal(json_object_get_int(json_object_object_get(json_object_array_get_idx(st, 0), "count")), 61);
	assert_true(json_object_get_double(json_object_object_get(json_object_array_get_idx(st, 0), "share_pct")) == 61);
	json_object_put(o);
	free(body);
	a->state = ALERT_RESOLVED;
	a->resolved_at_ns = 300 * SEC;
	a->reason = "condition cleared";
	body = alert_payload_webhook(&n, &len);
	o = json_tokener_parse(body);
	assert_string_equal(jstr(o, "status"), "resolved");
	x = json_object_object_get(o, "alert");
	assert_true(json_object_get_double(json_object_object_get(x, "resolved_at")) == 1700000300.0);
	assert_string_equal(jstr(x, "reason"), "condition cleared");
	json_object_put(o);
	free(body);
	drop_alert(a);
}

/* ---- a small HTTP server on loopback ---- */

struct server {
	int fd, port;
	pthread_t th;
	int fail_first;    /* answer this many requests with `status` first */
	int status;
	int requests, ok;
	char last_body[8192];
	char last_path[256];
	pthread_mutex_t lock;
	volatile int stop;
};

static void *serve(void *arg)
{
	struct server *s = arg;

	while (!s->stop) {
		char buf[16384];
		size_t len = 0;
		int c = accept(s->fd, NULL, NULL);
		const char *hdr_end, *cl;
		long want = 0;
		int code;

		if (c < 0)
			continue;
		for (;;) {
			ssize_t n = read(c, buf + len, sizeof(buf) - 1 - len);

			if (n <= 0)
				break;
			len += (size_t)n;
			buf[len] = 0;
			hdr_end = strstr(buf, "\r\n\r\n");
			cl = strcasestr(buf, "Content-Length:");
			if (cl)
				want = atol(cl + 15);
			if (hdr_end && len >= (size_t)(hdr_end + 4 - buf) + (size_t)want)
				break;
		}
		pthread_mutex_lock(&s->lock);
		s->requests++;
		code = s->requests <= s->fail_first ? s->status : 200;
		if (code == 200) {
			s->ok++;
			hdr_end = strstr(buf, "\r\n\r\n");
			snprintf(s->last_body, sizeof(s->last_body), "%s", hdr_end ? hdr_end + 4 : "");
			sscanf(buf, "POST %255s", s->last_path);
		}
		pthread_mutex_unlock(&s->lock);
		dprintf(c, "HTTP/1.1 %d X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", code);
		close(c);
	}
	return NULL;
}

static void server_start(struct server *s, int fail_first, int status)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	struct timeval tv = { .tv_sec = 0, .tv_usec = 100000 };

	memset(s, 0, sizeof(*s));
	s->fail_first = fail_first;
	s->status = status;
	pthread_mutex_init(&s->lock, NULL);
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->fd >= 0);
	setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s->fd, 16), 0);
	getsockname(s->fd, (struct sockaddr *)&sa, &sl);
	s->port = ntohs(sa.sin_port);
	pthread_create(&s->th, NULL, serve, s);
}

static void server_stop(struct server *s)
{
	s->stop = 1;
	pthread_join(s->th, NULL);
	close(s->fd);
}

/* ---- the receivers in an epoll loop ---- */

static struct loop *lp;
static struct net *nt;

/* loop_quit ends a loop for good: each run gets a new loop and net (the
 * sinks of the previous run freed before). */
static void fresh_loop(void)
{
	nt = net_free(nt);
	lp = loop_free(lp);
	assert_int_equal(loop_new(&lp), 0);
	assert_int_equal(net_new(lp, &nt), 0);
}

struct run {
	struct alert_sink *s;
	int (*done)(const struct alert_sink_stats *st);
	/* called each tick before done (NULL: none): a test's next move */
	void (*step)(struct alert_sink *s, const struct alert_sink_stats *st, void *ctx);
	void *ctx;
	uint64_t deadline;
};

static void on_tick(struct loop *l, int fd, uint32_t events, void *data)
{
	struct run *r = data;
	struct alert_sink_stats st;
	uint64_t exp;

	(void)events;
	if (read(fd, &exp, sizeof(exp)) < 0)
		return;
	r->s->poll(r->s, clock_mono_ms());
	r->s->get_stats(r->s, &st);
	if (r->step)
		r->step(r->s, &st, r->ctx);
	r->s->get_stats(r->s, &st);
	if (r->done(&st) || clock_mono_ms() > r->deadline)
		loop_quit(l);
}

static int drained(const struct alert_sink_stats *st)
{
	return !st->queued;
}

/* Run the loop (20 ms ticks polling the sink, as alerts_tick does) until
 * done(stats) or secs; returns the stats. Once per loop: loop_quit ends
 * it for good. */
static struct alert_sink_stats run_steps(struct alert_sink *s, int (*done)(const struct alert_sink_stats *),
					 void (*step)(struct alert_sink *, const struct alert_sink_stats *, void *),
					 void *ctx, int secs)
{
	struct itimerspec its = { .it_interval.tv_nsec = 20000000, .it_value.tv_nsec = 20000000 };
	struct run r = { .s = s, .done = done ? done : drained, .step = step, .ctx = ctx,
			 .deadline = clock_mono_ms() + (uint64_t)secs * 1000 };
	struct alert_sink_stats st;
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

	assert_true(fd >= 0);
	timerfd_settime(fd, 0, &its, NULL);
	assert_int_equal(loop_add(lp, fd, EPOLLIN, on_tick, &r), 0);
	loop_run(lp);
	loop_del(lp, fd);
	close(fd);
	s->get_stats(s, &st);
	if (!r.done(&st))
		fail_msg("the receiver did not get there in %d s (queued %llu)", secs, (unsigned long long)st.queued);
	return st;
}

static struct alert_sink_stats run_sink(struct alert_sink *s, int (*done)(const struct alert_sink_stats *), int secs)
{
	return run_steps(s, done, NULL, NULL, secs);
}

static const struct alert_http_opts fast = {
	.timeout_ms = 2000, .max_attempts = 5, .backoff_min_ms = 20, .backoff_max_ms = 100, .max_queue = 4,
};

/* A firing alert through a webhook receiver on url. */
static struct alert_sink *webhook(const char *url, const struct alert_http_opts *o)
{
	struct alert_sink *sink;

	assert_int_equal(alert_sink_http_new(nt, "webhook", url, o, 0, &sink), 0);
	return sink;
}

static void test_http_retry(void **state)
{
	struct server s;
	struct alert_sink *sink;
	struct alert *a = make_alert();
	struct alert_notification n = { .alert = a, .now_ns = 230 * SEC, .host = "h" };
	struct alert_sink_stats st;
	char url[64], *want;
	size_t len;

	(void)state;
	fresh_loop();
	/* two 503s, then 200: delivered on the third attempt */
	server_start(&s, 2, 503);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", s.port);
	sink = webhook(url, &fast);
	assert_int_equal(sink->send(sink, &n), 0);
	st = run_sink(sink, NULL, 20);
	assert_int_equal(st.sent, 1);
	assert_int_equal(st.failed, 2);
	assert_int_equal(st.retried, 2);
	assert_int_equal(st.dropped, 0);
	assert_string_equal(st.last_error, "HTTP 503");
	assert_true(st.last_sent_unix > 0);
	want = alert_payload_webhook(&n, &len);
	assert_string_equal(s.last_body, want);
	free(want);
	assert_string_equal(s.last_path, "/hook");
	alert_sink_free(sink);
	server_stop(&s);

	/* 400 is final: dropped after one attempt */
	fresh_loop();
	server_start(&s, 100, 400);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", s.port);
	sink = webhook(url, &fast);
	assert_int_equal(sink->send(sink, &n), 0);
	st = run_sink(sink, NULL, 20);
	assert_int_equal(st.sent, 0);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.retried, 0);
	assert_int_equal(st.dropped, 1);
	alert_sink_free(sink);
	server_stop(&s);
	drop_alert(a);
}

static void test_http_down(void **state)
{
	struct server s;
	struct alert_sink *sink;
	struct alert *a = make_alert();
	struct alert_notification n = { .alert = a, .now_ns = 230 * SEC, .host = "h" };
	struct alert_sink_stats st;
	char url[64];
	int port, dropped = 0;

	(void)state;
	fresh_loop();
	/* a port nobody listens on: connection refused, retried, given up */
	server_start(&s, 0, 200);
	port = s.port;
	server_stop(&s);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	sink = webhook(url, &fast);
	assert_int_equal(sink->send(sink, &n), 0);
	st = run_sink(sink, NULL, 20);
	assert_int_equal(st.failed, 5);
	assert_int_equal(st.retried, 4);
	assert_int_equal(st.dropped, 1);
	assert_non_null(strstr(st.last_error, "onnect"));
	/* a full queue drops its oldest waiting message (bound 4) */
	for (int i = 0; i < 6; i++)
		dropped += sink->send(sink, &n) == -ENOBUFS;
	sink->get_stats(sink, &st);
	assert_true(st.queued <= 4);
	assert_true(st.dropped >= 3);
	assert_true(dropped >= 2);
	alert_sink_free(sink);
	drop_alert(a);
}

struct supersede {
	struct alert *a;
	struct alert_notification *n;
	int sent;
};

/* Once the first attempt failed (its retry waits 2 s): two newer
 * messages about the same alert, firing again, then resolved. */
static void send_newer(struct alert_sink *s, const struct alert_sink_stats *st, void *ctx)
{
	struct supersede *sp = ctx;

	if (sp->sent || !st->failed)
		return;
	sp->sent = 1;
	sp->n->now_ns = 240 * SEC;
	assert_int_equal(s->send(s, sp->n), 0);
	sp->a->state = ALERT_RESOLVED;
	sp->a->resolved_at_ns = 250 * SEC;
	sp->n->now_ns = 250 * SEC;
	sp->n->from = ALERT_FIRING;
	assert_int_equal(s->send(s, sp->n), 0);
}

static int sent_after_newer(const struct alert_sink_stats *st)
{
	return st->sent > 0 && !st->queued;
}

static void test_http_supersede(void **state)
{
	struct server s;
	struct alert_sink *sink;
	struct alert *a = make_alert();
	struct alert_notification n = { .alert = a, .now_ns = 230 * SEC, .host = "h" };
	struct alert_sink_stats st;
	struct alert_http_opts slow = fast;
	char url[64], *want;
	size_t len;

	(void)state;
	fresh_loop();
	/* the first attempt fails and waits 2 s: newer messages about the
	 * same alert replace the waiting one; the server sees only the last */
	slow.backoff_min_ms = 2000;
	slow.backoff_max_ms = 2000;
	server_start(&s, 1, 503);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", s.port);
	assert_int_equal(alert_sink_http_new(nt, "alertmanager", url, &slow, 0, &sink), 0);
	assert_int_equal(sink->send(sink, &n), 0);
	st = run_steps(sink, sent_after_newer, send_newer, &(struct supersede){ .a = a, .n = &n }, 20);
	assert_int_equal(st.superseded, 2);
	assert_int_equal(st.sent, 1);
	want = alert_payload_alertmanager(&n, &len);
	assert_string_equal(s.last_body, want);
	free(want);
	alert_sink_free(sink);
	server_stop(&s);
	drop_alert(a);
}

static int sent_once(const struct alert_sink_stats *st)
{
	return st->sent > 0;
}

/* The Alertmanager receiver posts to /api/v2/alerts; pending is not sent. */
static void test_sink(void **state)
{
	struct server s;
	struct alert_sink *sink;
	struct alert *a = make_alert();
	struct alert_notification n = { .alert = a, .now_ns = 230 * SEC, .host = "h" };
	struct alert_sink_stats st;
	char url[64];

	(void)state;
	fresh_loop();
	server_start(&s, 0, 200);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", s.port);
	assert_int_equal(alert_sink_http_new(nt, "alertmanager", url, &fast, 60 * SEC, &sink), 0);
	assert_string_equal(sink->url + strlen(sink->url) - 14, "/api/v2/alerts");
	a->state = ALERT_PENDING;
	assert_int_equal(sink->send(sink, &n), 0);
	sink->get_stats(sink, &st);
	assert_int_equal(st.queued, 0);
	a->state = ALERT_FIRING;
	assert_int_equal(sink->send(sink, &n), 0);
	st = run_sink(sink, sent_once, 10);
	assert_int_equal(st.sent, 1);
	assert_string_equal(s.last_path, "/api/v2/alerts");
	assert_non_null(strstr(s.last_body, "\"alertname\":\"hot\""));
	alert_sink_free(sink);
	assert_int_equal(alert_sink_http_new(nt, "pager", url, &fast, 0, &sink), -EINVAL);
	assert_int_equal(alert_sink_http_new(NULL, "webhook", url, &fast, 0, &sink), -EINVAL);
	server_stop(&s);
	drop_alert(a);
}

static int teardown(void **state)
{
	(void)state;
	nt = net_free(nt);
	lp = loop_free(lp);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_summary),	     cmocka_unit_test(test_log_line),
		cmocka_unit_test(test_alertmanager), cmocka_unit_test(test_webhook),
		cmocka_unit_test(test_http_retry),   cmocka_unit_test(test_http_down),
		cmocka_unit_test(test_http_supersede), cmocka_unit_test(test_sink),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
