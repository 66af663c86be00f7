/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for the API server. The server runs in this process's epoll
 * loop (one thread, as in profd); each scenario's client runs in a forked
 * child with blocking sockets and a receive timeout, and the loop stops
 * when the child exits (its end of a pipe closes). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/log.h"
#include "base/loop.h"
#include "common/proto.h"
#include "api/server.h"

/* log.c is not part of the core library the tests link; profd's real
 * logger wins over this one wherever both are linked. */
__attribute__((weak)) void log_msg(int level, const char *fmt, ...)
{
	(void)level;
	(void)fmt;
}

#define TICK_MS 20
#define SCENARIO_LIMIT_MS 15000

static char tmpdir[64];
static char sock_path[128];
static struct server *srv;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Test handler: "echo" returns the request, "payload" returns n bytes of
 * text, "hold" is finished later (all holds at once, once "holds" of them
 * are waiting), "stream" streams n bytes in pieces from the tick (as the
 * query worker would), anything else is unknown. Every request's "tag"
 * goes into a log of the dispatch order. */
#define MAX_HELD 16
#define MAX_STREAMS 8

struct tstream {
	struct server_request *rq;
	uint64_t left, sent;
	bool runnable;
};

static int handler_calls;
static char dispatch_log[4096];
static size_t dispatch_len;
static struct server_request *held[MAX_HELD];
static int nheld, holds_wanted, cancels;
static struct tstream streams[MAX_STREAMS];

static void handler(void *userdata, struct server_request *rq)
{
	const char *cmd = server_request_cmd(rq);
	struct json_object *req = server_request_json(rq), *tag;

	(void)userdata;
	handler_calls++;
	if (json_object_object_get_ex(req, "tag", &tag) && dispatch_len < sizeof(dispatch_log) - 1)
		dispatch_log[dispatch_len++] = json_object_get_string(tag)[0];
	if (strcmp(cmd, "echo") == 0) {
		server_reply_ok(rq, json_object_get(req));
	} else if (strcmp(cmd, "payload") == 0) {
		int64_t n = json_object_get_int64(json_object_object_get(req, "n"));
		char *p = malloc((size_t)n + 1);

		memset(p, 'x', (size_t)n);
		server_reply_payload(rq, json_object_new_object(), p, (size_t)n, "text/plain");
		free(p);
	} else if (strcmp(cmd, "hold") == 0) {
		held[nheld++] = rq;
		server_request_set_data(rq, &held[nheld - 1]);
		if (nheld >= holds_wanted) {
			for (int i = 0; i < nheld; i++)
				server_reply_ok(held[i], NULL);
			nheld = 0;
		}
	} else if (strcmp(cmd, "stream") == 0) {
		int64_t n = json_object_get_int64(json_object_object_get(req, "n"));
		int v = server_request_version(rq);
		struct proto_payload pl = { .type = "text/plain", .chunked = v >= 2, .bytes = (uint64_t)n };
		int i;

		for (i = 0; i < MAX_STREAMS && streams[i].rq; i++)
			;
		if (i == MAX_STREAMS) {
			server_reply_error(rq, PROFD_E_BUSY, "test streams");
			return;
		}
		streams[i] = (struct tstream){ .rq = rq, .left = (uint64_t)n, .runnable = true };
		server_request_set_data(rq, &streams[i]);
		if (server_stream_begin(rq, proto_ok_v(v, NULL, &pl), v >= 2, (uint64_t)n) < 0)
			streams[i].rq = NULL;
	} else {
		server_reply_error(rq, PROFD_E_UNKNOWN_CMD, "unknown command \"%s\"", cmd);
	}
}

static void on_cancel(void *userdata, struct server_request *rq)
{
	void *p = server_request_data(rq);

	(void)userdata;
	cancels++;
	for (int i = 0; i < MAX_STREAMS; i++)
		if (p == &streams[i])
			streams[i].rq = NULL;
	for (int i = 0; i < nheld; i++)
		if (held[i] == rq)
			held[i] = held[--nheld];
}

static void on_resume(void *userdata, struct server_request *rq)
{
	struct tstream *t = server_request_data(rq);

	(void)userdata;
	t->runnable = true;
}

/* The stand-in worker: pieces for every stream while it has room, per
 * tick (a worker faster than any reader). */
static void pump_streams(void)
{
	static char piece[16384];

	for (int i = 0; i < MAX_STREAMS; i++) {
		struct tstream *t = &streams[i];
		size_t n;

		if (!t->rq || !t->runnable)
			continue;
		i--; /* again, until it pauses or ends */
		n = server_stream_reserve(t->rq, t->left < sizeof(piece) ? (size_t)t->left : sizeof(piece));
		if (!n && t->left) {
			t->runnable = false;
			continue;
		}
		for (size_t k = 0; k < n; k++)
			piece[k] = (char)('a' + (t->sent + k) % 26);
		assert_int_equal(server_stream_write(t->rq, piece, n), 0);
		t->left -= n;
		t->sent += n;
		if (!t->left) {
			struct json_object *o = json_object_new_object();

			json_object_object_add(o, "bytes", json_object_new_uint64(t->sent));
			server_stream_end(t->rq, server_request_version(t->rq) >= 2 ?
					  proto_ok_v(server_request_version(t->rq), o, NULL) : (json_object_put(o), NULL), 0);
			t->rq = NULL;
		}
	}
}

static struct server_opts default_opts(void)
{
	return (struct server_opts){
		.path = sock_path,
		.mode = 0660,
		.group = NULL,
		.max_clients = 4,
		.max_request = 1024,
		.max_reply = 1 << 20,
		.idle_timeout_ms = 0,
		.handler = handler,
		.cancel = on_cancel,
		.resume = on_resume,
		.userdata = NULL,
	};
}

static int setup(void **state)
{
	strcpy(tmpdir, "/tmp/profd-test-server-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	/* A directory the server has to create. */
	snprintf(sock_path, sizeof(sock_path), "%s/run/profd/profd.sock", tmpdir);
	handler_calls = 0;
	dispatch_len = 0;
	memset(dispatch_log, 0, sizeof(dispatch_log));
	nheld = cancels = 0;
	holds_wanted = 1;
	memset(streams, 0, sizeof(streams));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- child side: plain blocking client code ---- */

#define CHECK(cond)                                                                           \
	do {                                                                                  \
		if (!(cond)) {                                                                \
			fprintf(stderr, "child: %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			_exit(1);                                                             \
		}                                                                             \
	} while (0)

struct conn {
	int fd;
	char buf[1 << 16];
	size_t len;
};

static void conn_open(struct conn *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 5 };

	c->len = 0;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(c->fd >= 0);
	strcpy(sa.sun_path, sock_path);
	CHECK(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static void conn_send(struct conn *c, const char *s)
{
	CHECK(send(c->fd, s, strlen(s), MSG_NOSIGNAL) == (ssize_t)strlen(s));
}

/* Next line into out (without '\n'); false on EOF. */
static bool conn_line(struct conn *c, char *out, size_t outsz)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		ssize_t n;

		if (nl) {
			size_t l = (size_t)(nl - c->buf);
			CHECK(l < outsz);
			memcpy(out, c->buf, l);
			out[l] = '\0';
			memmove(c->buf, nl + 1, c->len - l - 1);
			c->len -= l + 1;
			return true;
		}
		CHECK(c->len < sizeof(c->buf));
		n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		CHECK(n >= 0); /* a timeout fails the check */
		if (n == 0)
			return false;
		c->len += (size_t)n;
	}
}

/* Reads a response line, returns "ok" or the error code in code. */
static void conn_expect(struct conn *c, const char *want_code, const char *want_substr)
{
	char line[4096];
	struct json_object *resp = NULL, *data;
	const char *code = "ok", *message;
	size_t payload;
	int r;

	CHECK(conn_line(c, line, sizeof(line)));
	r = proto_parse_response(line, &resp, &data, &payload, &code, &message);
	if (r == 0)
		code = "ok";
	CHECK(r == 0 || r == -EREMOTEIO);
	if (strcmp(code, want_code) != 0)
		fprintf(stderr, "child: got %s, want %s: %s\n", code, want_code, line);
	CHECK(strcmp(code, want_code) == 0);
	if (want_substr)
		CHECK(strstr(line, want_substr) != NULL);
	json_object_put(resp);
}

static void conn_expect_eof(struct conn *c)
{
	char line[4096];

	CHECK(!conn_line(c, line, sizeof(line)));
}

/* ---- parent side: the loop ---- */

struct run {
	struct loop *l;
	uint64_t deadline;
	bool timed_out;
};

static void on_child_gone(struct loop *l, int fd, uint32_t events, void *data)
{
	loop_quit(l);
}

static void on_tick(struct loop *l, int fd, uint32_t events, void *data)
{
	struct run *run = data;
	uint64_t exp;

	if (read(fd, &exp, sizeof(exp)) < 0)
		return;
	server_tick(srv, now_ms());
	pump_streams();
	if (now_ms() > run->deadline) {
		run->timed_out = true;
		loop_quit(l);
	}
}

/* Starts the server with opts, runs child() in a child process against
 * it, serves until the child exits. Returns the child's exit status. */
static int scenario(const struct server_opts *opts, void (*child)(void), struct server_stats *ret_stats)
{
	struct run run = { .deadline = now_ms() + SCENARIO_LIMIT_MS };
	struct itimerspec its = { .it_interval = { 0, TICK_MS * 1000000 }, .it_value = { 0, TICK_MS * 1000000 } };
	int pfd[2], tfd, status = -1;
	pid_t pid;

	assert_int_equal(loop_new(&run.l), 0);
	assert_int_equal(server_new(run.l, opts, &srv), 0);
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	assert_true(tfd >= 0);
	assert_int_equal(timerfd_settime(tfd, 0, &its, NULL), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		child();
		_exit(0);
	}
	close(pfd[1]);
	assert_int_equal(loop_add(run.l, pfd[0], EPOLLIN, on_child_gone, NULL), 0);
	assert_int_equal(loop_add(run.l, tfd, EPOLLIN, on_tick, &run), 0);
	assert_int_equal(loop_run(run.l), 0);
	if (run.timed_out)
		kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	server_get_stats(srv, ret_stats);
	loop_del(run.l, pfd[0]);
	loop_del(run.l, tfd);
	close(pfd[0]);
	close(tfd);
	srv = server_free(srv);
	assert_null(srv);
	run.l = loop_free(run.l);
	assert_false(run.timed_out);
	/* The socket file goes with the server. */
	assert_int_equal(access(sock_path, F_OK), -1);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ---- scenarios ---- */

static void child_echo(void)
{
	struct conn c;

	conn_open(&c);
	conn_send(&c, "{\"v\":1,\"cmd\":\"echo\",\"x\":42}\n");
	conn_expect(&c, "ok", "\"x\":42");
	conn_send(&c, "{\"cmd\":\"nope\"}\n");
	conn_expect(&c, PROFD_E_UNKNOWN_CMD, "nope");
	/* version 2: answered in version 2 */
	conn_send(&c, "{\"v\":2,\"cmd\":\"echo\",\"z\":1}\n");
	conn_expect(&c, "ok", "\"v\":2");
	/* Blank lines are not requests. */
	conn_send(&c, "\n  \n{\"cmd\":\"echo\",\"y\":1}\n");
	conn_expect(&c, "ok", "\"y\":1");
	close(c.fd);
}

static void test_echo(void **state)
{
	struct server_opts o = default_opts();
	struct server_stats st;
	struct stat sb;

	assert_int_equal(scenario(&o, child_echo, &st), 0);
	assert_int_equal(st.accepted, 1);
	assert_int_equal(st.requests, 4);
	assert_int_equal(st.errors, 1);
	assert_int_equal(st.clients, 0);
	assert_int_equal(st.pending, 0);
	assert_int_equal(handler_calls, 4);
	/* The directory it created is 0755. */
	snprintf(sock_path + strlen(sock_path) - strlen("/profd.sock"), 16, "%s", "");
	assert_int_equal(stat(sock_path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0755);
}

static void child_nothing(void)
{
	struct stat sb;

	/* Checked from the child so the server is surely up. */
	CHECK(stat(sock_path, &sb) == 0);
	CHECK(S_ISSOCK(sb.st_mode));
	CHECK((sb.st_mode & 07777) == 0660);
	CHECK(sb.st_gid == getegid());
}

static void test_socket_mode(void **state)
{
	struct server_opts o = default_opts();
	struct server_stats st;
	struct group *g = getgrgid(getegid());

	/* A group that exists (ours) and one that does not (warning only). */
	o.group = g ? g->gr_name : NULL;
	assert_int_equal(scenario(&o, child_nothing, &st), 0);
	o.group = "profd-test-no-such-group";
	assert_int_equal(scenario(&o, child_nothing, &st), 0);
}

static void child_oversized(void)
{
	struct conn c;
	char big[4000];

	memset(big, 'a', sizeof(big));
	memcpy(big, "{\"cmd\":\"echo\",\"pad\":\"", 21);
	strcpy(big + sizeof(big) - 4, "\"}\n");
	conn_open(&c);
	conn_send(&c, big);
	conn_expect(&c, PROFD_E_TOO_LARGE, "1024");
	/* Still usable. */
	conn_send(&c, "{\"cmd\":\"echo\",\"after\":true}\n");
	conn_expect(&c, "ok", "after");
	close(c.fd);
}

static void test_oversized(void **state)
{
	struct server_opts o = default_opts();
	struct server_stats st;

	assert_int_equal(scenario(&o, child_oversized, &st), 0);
	assert_int_equal(st.oversized, 1);
	assert_int_equal(st.errors, 1);
	assert_int_equal(st.requests, 2);
	assert_int_equal(handler_calls, 1);
}

static void child_bad_json(void)
{
	struct conn c;

	conn_open(&c);
	conn_send(&c, "{not json}\n");
	conn_expect(&c, PROFD_E_BAD_JSON, NULL);
	conn_send(&c, "[1,2,3]\n");
	conn_expect(&c, PROFD_E_BAD_JSON, NULL);
	conn_send(&c, "{\"v\":9,\"cmd\":\"echo\"}\n");
	conn_expect(&c, PROFD_E_VERSION, NULL);
	conn_send(&c, "{\"v\":1}\n");
	conn_expect(&c, PROFD_E_BAD_REQUEST, "cmd");
	conn_send(&c, "{\"cmd\":\"echo\"}\n");
	conn_expect(&c, "ok", NULL);
	close(c.fd);
}

static void test_bad_json(void **state)
{
	struct server_opts o = default_opts();
	struct server_stats st;

	assert_int_equal(scenario(&o, child_bad_json, &st), 0);
	assert_int_equal(st.errors, 4);
	assert_int_equal(handler_calls, 1);
}

static void child_max_clients(void)
{
	struct conn c[3];

	/* Two held open (and known to be served), the third turned away. */
	for (int i = 0; i < 2; i++) {
		conn_open(&c[i]);
		conn_send(&c[i], "{\"cmd\":\"echo\"}\n");
		conn_expect(&c[i], "ok", NULL);
	}
	conn_open(&c[2]);
	conn_expect(&c[2], PROFD_E_BUSY, "too many clients");
	conn_expect_eof(&c[2]);
	close(c[2].fd);
	/* A slot frees up: a new client gets in. */
	close(c[0].fd);
	usleep(100 * 1000);
	conn_open(&c[0]);
	conn_send(&c[0], "{\"cmd\":\"echo\"}\n");
	conn_expect(&c[0], "ok", NULL);
	close(c[0].fd);
	close(c[1].fd);
}

static void test_max_clients(void **state)
{
	struct server_opts o = default_opts();
	struct server_stats st;

	o.max_clients = 2;
	assert_int_equal(scenario(&o, child_max_clients, &st), 0);
	assert_int_equal(st.rejected_clients, 1);
	assert_int_equal(st.accepted, 3);
}

static void child_idle(void)
{
	struct conn idle, busy;

	conn_open(&idle);
	conn_open(&busy);
	/* The busy one talks every 50 ms for 600 ms; the idle one says
	 * nothing and is closed after ~200 ms. */
	for (int i = 0; i < 12; i++) {
		conn_send(&busy, "{\"cmd\":\"echo\"}\n");
		conn_expect(&busy, "ok", NULL);
		usleep(50 * 1000);
	}
	conn_expect_eof(&idle);
	conn_send(&busy, "{\"cmd\":\"echo\"}\n");
	conn_expect(&busy, "ok", NULL);
	close(idle.fd);
	close(busy.fd);
}

static void test_idle(void **state)
{
	struct server_opts o = default_opts();
	struct server_stats st;

	o.idle_timeout_ms = 200;
	assert_int_equal(scenario(&o, child_idle, &st), 0);
	assert_int_equal(st.idle_closed, 1);
}

static void child_pipelined(void)
{
	struct conn c;
	char line[256];

	conn_open(&c);
	/* Five requests in one write, the last split over two writes and
	 * the connection closed right after without its '\n'. */
	conn_send(&c, "{\"cmd\":\"echo\",\"i\":1}\n{\"cmd\":\"echo\",\"i\":2}\n{\"cmd\":\"nope\"}\n"
		      "{\"cmd\":\"echo\",\"i\":4}\n{\"cmd\":\"ec");
	usleep(20 * 1000);
	conn_send(&c, "ho\",\"i\":5}");
	shutdown(c.fd, SHUT_WR);
	conn_expect(&c, "ok", "\"i\":1");
	conn_expect(&c, "ok", "\"i\":2");
	conn_expect(&c, PROFD_E_UNKNOWN_CMD, NULL);
	conn_expect(&c, "ok", "\"i\":4");
	conn_expect(&c, "ok", "\"i\":5");
	CHECK(!conn_line(&c, line, sizeof(line)));
	close(c.fd);
}

static void test_pipelined(void **state)
{
	struct server_opts o = default_opts();
	struct server_stats st;

	assert_int_equal(scenario(&o, child_pipelined, &st), 0);
	assert_int_equal(st.requests, 5);
}

static void child_payload(void)
{
	struct conn c;
	char line[256];
	size_t got = 0;

	conn_open(&c);
	conn_send(&c, "{\"cmd\":\"payload\",\"n\":300000}\n");
	CHECK(conn_line(&c, line, sizeof(line)));
	CHECK(strstr(line, "\"payload\":{\"bytes\":300000,\"type\":\"text/plain\"}"));
	got = c.len;
	while (got < 300000) {
		ssize_t n = recv(c.fd, c.buf, sizeof(c.buf), 0);
		CHECK(n > 0);
		for (ssize_t i = 0; i < n; i++)
			CHECK(c.buf[i] == 'x');
		got += (size_t)n;
	}
	CHECK(got == 300000);
	c.len = 0;
	/* The stream is in sync after the payload. */
	conn_send(&c, "{\"cmd\":\"echo\",\"z\":3}\n");
	conn_expect(&c, "ok", "\"z\":3");
	/* One reply larger than max_reply: refused, client kept. */
	conn_send(&c, "{\"cmd\":\"payload\",\"n\":2000000}\n");
	conn_expect(&c, PROFD_E_BUSY, "max_reply");
	conn_send(&c, "{\"cmd\":\"echo\"}\n");
	conn_expect(&c, "ok", NULL);
	close(c.fd);
}

static void test_payload(void **state)
{
	struct server_opts o = default_opts();
	struct server_stats st;

	assert_int_equal(scenario(&o, child_payload, &st), 0);
	assert_int_equal(st.slow_closed, 0);
	assert_int_equal(st.errors, 1);
}

static void child_disconnect(void)
{
	struct conn c;
	char buf[1000];

	/* Asks for a large reply, reads a little, leaves. */
	conn_open(&c);
	conn_send(&c, "{\"cmd\":\"payload\",\"n\":900000}\n");
	CHECK(recv(c.fd, buf, sizeof(buf), 0) > 0);
	close(c.fd);
	/* Half a request, then gone. */
	conn_open(&c);
	conn_send(&c, "{\"cmd\":\"ec");
	close(c.fd);
	/* Request then immediate close, reply undeliverable. */
	conn_open(&c);
	conn_send(&c, "{\"cmd\":\"payload\",\"n\":500000}\n{\"cmd\":\"echo\"}\n");
	close(c.fd);
	usleep(100 * 1000);
	/* The server is still fine. */
	conn_open(&c);
	conn_send(&c, "{\"cmd\":\"echo\",\"alive\":1}\n");
	conn_expect(&c, "ok", "alive");
	close(c.fd);
}

static void test_disconnect(void **state)
{
	struct server_opts o = default_opts();
	struct server_stats st;

	assert_int_equal(scenario(&o, child_disconnect, &st), 0);
	assert_int_equal(st.accepted, 4);
	assert_int_equal(st.clients, 0);
}

static void child_slow(void)
{
	struct conn c;

	/* Never reads: the first 600 KB reply is queued, and no further
	 * request of this client is taken while it sits there (no queue
	 * grows, nobody is disconnected for it). */
	conn_open(&c);
	conn_send(&c, "{\"cmd\":\"payload\",\"n\":600000}\n{\"cmd\":\"payload\",\"n\":600000}\n"
		      "{\"cmd\":\"payload\",\"n\":600000}\n");
	usleep(300 * 1000);
	close(c.fd);
}

static void test_slow(void **state)
{
	struct server_opts o = default_opts();
	struct server_stats st;

	assert_int_equal(scenario(&o, child_slow, &st), 0);
	assert_int_equal(handler_calls, 1);
	assert_int_equal(st.slow_closed, 0);
	assert_int_equal(st.clients, 0);
	assert_int_equal(st.reply_bytes, 0);
	assert_true(st.reply_bytes_max >= 600000 && st.reply_bytes_max < 700000);
}

static void child_slow_idle(void)
{
	struct conn c;

	conn_open(&c);
	conn_send(&c, "{\"cmd\":\"payload\",\"n\":600000}\n{\"cmd\":\"echo\"}\n");
	/* closed by the idle timeout: EOF once the buffered part is read */
	usleep(600 * 1000);
	for (;;) {
		ssize_t n = recv(c.fd, c.buf, sizeof(c.buf), 0);

		CHECK(n >= 0);
		if (n == 0)
			break;
	}
	close(c.fd);
}

/* A client that stops reading is closed by the idle timeout, counted as
 * slow; one whose request is being worked on is not idle. */
static void test_slow_idle(void **state)
{
	struct server_opts o = default_opts();
	struct server_stats st;

	o.idle_timeout_ms = 200;
	assert_int_equal(scenario(&o, child_slow_idle, &st), 0);
	assert_int_equal(st.idle_closed, 1);
	assert_int_equal(st.slow_closed, 1);
	assert_int_equal(handler_calls, 1);
}

static void child_held_not_idle(void)
{
	struct conn c;

	/* the hold is finished only when the second one comes, 500 ms later:
	 * waiting on the server is not idleness */
	conn_open(&c);
	conn_send(&c, "{\"cmd\":\"hold\"}\n");
	usleep(500 * 1000);
	{
		struct conn d;

		conn_open(&d);
		conn_send(&d, "{\"cmd\":\"hold\"}\n");
		conn_expect(&d, "ok", NULL);
		close(d.fd);
	}
	conn_expect(&c, "ok", NULL);
	close(c.fd);
}

static void test_held_not_idle(void **state)
{
	struct server_opts o = default_opts();
	struct server_stats st;

	o.idle_timeout_ms = 200;
	holds_wanted = 2;
	assert_int_equal(scenario(&o, child_held_not_idle, &st), 0);
	assert_int_equal(st.idle_closed, 0);
	assert_int_equal(st.requests, 2);
}

/* ---- fairness ---- */

#define TURN_REQS 200

static void send_pipeline(struct conn *c, char tag)
{
	static char buf[TURN_REQS * 40 + 64];
	size_t len = 0;

	len += (size_t)sprintf(buf + len, "{\"cmd\":\"hold\",\"tag\":\"%c\"}\n", tag);
	for (int i = 0; i < TURN_REQS; i++)
		len += (size_t)sprintf(buf + len, "{\"cmd\":\"echo\",\"tag\":\"%c\",\"i\":%d}\n", tag, i);
	CHECK(send(c->fd, buf, len, MSG_NOSIGNAL) == (ssize_t)len);
}

static void child_turns(void)
{
	struct conn a, b;

	/* Both pipeline a hold and 200 echoes; the holds end together, so
	 * both clients have 200 requests waiting at the same moment. */
	conn_open(&a);
	conn_open(&b);
	send_pipeline(&a, 'A');
	send_pipeline(&b, 'B');
	for (int i = 0; i <= TURN_REQS; i++) {
		conn_expect(&a, "ok", NULL);
		conn_expect(&b, "ok", NULL);
	}
	close(a.fd);
	close(b.fd);
}

/* One request per client per turn: the two pipelines are answered
 * alternately, never one whole pipeline before the other. */
static void test_turns(void **state)
{
	struct server_opts o = default_opts();
	struct server_stats st;
	size_t run = 1, longest = 1;

	o.max_request = 64;
	holds_wanted = 2;
	assert_int_equal(scenario(&o, child_turns, &st), 0);
	assert_int_equal(handler_calls, 2 * (TURN_REQS + 1));
	assert_int_equal(dispatch_len, 2 * (TURN_REQS + 1));
	for (size_t i = 1; i < dispatch_len; i++) {
		run = dispatch_log[i] == dispatch_log[i - 1] ? run + 1 : 1;
		if (run > longest)
			longest = run;
	}
	if (longest > 2)
		fail_msg("dispatch order %s: %zu requests of one client in a row", dispatch_log, longest);
	assert_true(st.turns >= TURN_REQS);
}

/* ---- streams ---- */

static void conn_read_exact(struct conn *c, char *out, size_t n)
{
	size_t got = c->len < n ? c->len : n;

	memcpy(out, c->buf, got);
	memmove(c->buf, c->buf + got, c->len - got);
	c->len -= got;
	while (got < n) {
		ssize_t r = recv(c->fd, out + got, n - got, 0);

		CHECK(r > 0);
		got += (size_t)r;
	}
}

/* Reads a chunked payload, checking its pattern; returns its size. */
static uint64_t conn_read_chunked(struct conn *c, useconds_t pause)
{
	static char data[PROFD_MAX_CHUNK];
	char line[4096];
	uint64_t total = 0;
	size_t n;

	for (;;) {
		CHECK(conn_line(c, line, sizeof(line)));
		CHECK(proto_parse_chunk_header(line, &n) == 0);
		if (!n)
			break;
		conn_read_exact(c, data, n);
		for (size_t k = 0; k < n; k++)
			CHECK(data[k] == (char)('a' + (total + k) % 26));
		total += n;
		if (pause)
			usleep(pause);
	}
	return total;
}

static void child_stream(void)
{
	struct conn c;
	char line[4096];
	struct proto_response r;
	static char data[300000];

	conn_open(&c);
	/* 2 MB chunked, read slowly: the stream pauses, the queue does not grow */
	conn_send(&c, "{\"v\":2,\"cmd\":\"stream\",\"n\":2000000}\n");
	CHECK(conn_line(&c, line, sizeof(line)));
	CHECK(proto_parse_response_ex(line, &r) == 0 && r.payload.chunked);
	json_object_put(r.resp);
	CHECK(conn_read_chunked(&c, 2000) == 2000000);
	CHECK(conn_line(&c, line, sizeof(line)));
	CHECK(proto_parse_response_ex(line, &r) == 0);
	CHECK(json_object_get_int64(json_object_object_get(r.data, "bytes")) == 2000000);
	json_object_put(r.resp);
	/* in step afterwards */
	conn_send(&c, "{\"cmd\":\"echo\",\"after\":1}\n");
	conn_expect(&c, "ok", "after");
	/* version 1: a fixed payload, streamed all the same */
	conn_send(&c, "{\"cmd\":\"stream\",\"n\":300000}\n");
	CHECK(conn_line(&c, line, sizeof(line)));
	CHECK(strstr(line, "\"bytes\":300000"));
	conn_read_exact(&c, data, sizeof(data));
	for (size_t k = 0; k < sizeof(data); k++)
		CHECK(data[k] == (char)('a' + k % 26));
	conn_send(&c, "{\"cmd\":\"echo\",\"z\":2}\n");
	conn_expect(&c, "ok", "\"z\":2");
	close(c.fd);
}

static void test_stream(void **state)
{
	struct server_opts o = default_opts();
	struct server_stats st;

	assert_int_equal(scenario(&o, child_stream, &st), 0);
	assert_int_equal(st.streamed_bytes, 2300000);
	assert_true(st.stream_pauses > 0);
	/* the window (256 KiB) and one piece, never the whole payload */
	assert_true(st.reply_bytes_max <= 256 * 1024 + 16384 + 4096);
	assert_int_equal(st.streams, 0);
	assert_int_equal(st.requests, 4);
	assert_int_equal(st.errors, 0);
}

static void child_stream_gone(void)
{
	struct conn c;
	char line[4096];

	conn_open(&c);
	conn_send(&c, "{\"v\":2,\"cmd\":\"stream\",\"n\":5000000}\n");
	CHECK(conn_line(&c, line, sizeof(line)));
	usleep(100 * 1000);
	close(c.fd);
	usleep(100 * 1000);
	conn_open(&c);
	conn_send(&c, "{\"cmd\":\"echo\",\"alive\":1}\n");
	conn_expect(&c, "ok", "alive");
	close(c.fd);
}

/* A client that leaves mid-stream cancels it. */
static void test_stream_gone(void **state)
{
	struct server_opts o = default_opts();
	struct server_stats st;

	assert_int_equal(scenario(&o, child_stream_gone, &st), 0);
	assert_int_equal(cancels, 1);
	assert_null(streams[0].rq);
	assert_int_equal(st.streams, 0);
	assert_int_equal(st.pending, 0);
	assert_int_equal(st.reply_bytes, 0);
}

static void child_two_streams(void)
{
	struct conn a, b;
	char line[4096];

	conn_open(&a);
	conn_open(&b);
	conn_send(&a, "{\"v\":2,\"cmd\":\"stream\",\"n\":1000000}\n");
	conn_send(&b, "{\"v\":2,\"cmd\":\"stream\",\"n\":1000000}\n");
	CHECK(conn_line(&a, line, sizeof(line)));
	CHECK(conn_line(&b, line, sizeof(line)));
	/* b reads at once, a only after b is done */
	CHECK(conn_read_chunked(&b, 0) == 1000000);
	CHECK(conn_read_chunked(&a, 0) == 1000000);
	CHECK(conn_line(&a, line, sizeof(line)));
	CHECK(conn_line(&b, line, sizeof(line)));
	close(a.fd);
	close(b.fd);
}

/* reply_memory bounds what all streams queue together; a stalled reader
 * does not stop the other stream forever. */
static void test_reply_memory(void **state)
{
	struct server_opts o = default_opts();
	struct server_stats st;

	o.reply_memory = 64 * 1024;
	assert_int_equal(scenario(&o, child_two_streams, &st), 0);
	assert_int_equal(st.streamed_bytes, 2000000);
	/* the bound, and one piece for the client that has none queued */
	assert_true(st.reply_bytes_max <= 64 * 1024 + 2 * 16384 + 4096);
	assert_true(st.stream_pauses > 0);
}

static void child_big_line(void)
{
	struct conn c;

	conn_open(&c);
	/* a reply line or fixed payload past reply_memory: refused */
	conn_send(&c, "{\"cmd\":\"payload\",\"n\":200000}\n");
	conn_expect(&c, PROFD_E_BUSY, "reply_memory");
	conn_send(&c, "{\"cmd\":\"echo\"}\n");
	conn_expect(&c, "ok", NULL);
	close(c.fd);
}

static void test_reply_memory_lines(void **state)
{
	struct server_opts o = default_opts();
	struct server_stats st;

	o.reply_memory = 128 * 1024;
	assert_int_equal(scenario(&o, child_big_line, &st), 0);
	assert_int_equal(st.reply_refused, 1);
	assert_int_equal(st.errors, 1);
}

static void child_peercred(void)
{
	struct conn c;

	conn_open(&c);
	conn_send(&c, "{\"cmd\":\"echo\",\"tag\":\"P\"}\n");
	conn_expect(&c, "ok", NULL);
	close(c.fd);
}

static bool peer_privileged;

static void cred_handler(void *userdata, struct server_request *rq)
{
	peer_privileged = server_request_privileged(rq);
	handler(userdata, rq);
}

/* The peer's uid decides: root may see kernel addresses. */
static void test_peercred(void **state)
{
	struct server_opts o = default_opts();
	struct server_stats st;

	o.handler = cred_handler;
	peer_privileged = !(geteuid() == 0);
	assert_int_equal(scenario(&o, child_peercred, &st), 0);
	assert_int_equal(peer_privileged, geteuid() == 0);
}

static void test_stale_socket(void **state)
{
	struct server_opts o = default_opts();
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct loop *l = NULL;
	assert_int_equal(loop_new(&l), 0);
	struct server *a, *b;
	int fd;

	/* A socket file nobody listens on: replaced. */
	assert_non_null(l);
	snprintf(sock_path, sizeof(sock_path), "%s/stale.sock", tmpdir);
	strcpy(sa.sun_path, sock_path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_int_equal(server_new(l, &o, &a), 0);
	/* A live one: left alone. */
	b = NULL;
	assert_int_equal(server_new(l, &o, &b), -EADDRINUSE);
	assert_null(b);
	assert_int_equal(access(sock_path, F_OK), 0);
	a = server_free(a);
	/* Not a socket: left alone. */
	fd = open(sock_path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(server_new(l, &o, &(struct server *){ NULL }), -EEXIST);
	assert_int_equal(unlink(sock_path), 0);
	/* Path too long for sun_path. */
	memset(sock_path, 'a', sizeof(sock_path) - 1);
	sock_path[0] = '/';
	sock_path[sizeof(sock_path) - 1] = '\0';
	assert_int_equal(server_new(l, &o, &(struct server *){ NULL }), -ENAMETOOLONG);
	/* Bad options. */
	o.max_clients = 0;
	assert_int_equal(server_new(l, &o, &(struct server *){ NULL }), -EINVAL);
	assert_null(server_free(NULL));
	loop_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_echo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_clients, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipelined, setup, teardown),
		cmocka_unit_test_setup_teardown(test_payload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disconnect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_idle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_held_not_idle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_turns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_memory_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peercred, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_socket, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
