/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for the sd_notify protocol: a test socket plays systemd. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/notify.h"

#define MS 1000000ull

struct receiver {
	int fd;
	char dir[64];
	char path[128];
};

/* A datagram socket at a fresh path (or an abstract name), receiving
 * credentials as systemd does. */
static void receiver_open(struct receiver *r, int abstract)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	socklen_t len;
	int one = 1;

	snprintf(r->dir, sizeof(r->dir), "/tmp/profd-notify-XXXXXX");
	assert_non_null(mkdtemp(r->dir));
	r->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(r->fd >= 0);
	assert_int_equal(setsockopt(r->fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);
	if (abstract) {
		snprintf(r->path, sizeof(r->path), "@profd-notify-test-%d", (int)getpid());
		memcpy(a.sun_path, r->path, strlen(r->path));
		a.sun_path[0] = 0;
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(r->path));
	} else {
		snprintf(r->path, sizeof(r->path), "%s/notify", r->dir);
		memcpy(a.sun_path, r->path, strlen(r->path) + 1);
		len = sizeof(a);
	}
	assert_int_equal(bind(r->fd, (struct sockaddr *)&a, len), 0);
}

static void receiver_close(struct receiver *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	if (r->path[0] == '/')
		unlink(r->path);
	rmdir(r->dir);
}

/* Next datagram, NUL-terminated; *pid gets the sender's pid from the
 * kernel's credentials. Returns its length, -1 when none is queued. */
static int receiver_read(struct receiver *r, char *buf, size_t cap, pid_t *pid)
{
	char cbuf[CMSG_SPACE(sizeof(struct ucred))];
	struct iovec iov = { .iov_base = buf, .iov_len = cap - 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	ssize_t n = recvmsg(r->fd, &mh, MSG_DONTWAIT);

	if (n < 0)
		return -1;
	buf[n] = 0;
	if (pid) {
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

		*pid = 0;
		if (c && c->cmsg_type == SCM_CREDENTIALS) {
			struct ucred uc;

			memcpy(&uc, CMSG_DATA(c), sizeof(uc));
			*pid = uc.pid;
		}
	}
	return (int)n;
}

static void test_disabled(void **state)
{
	struct notify *n = NULL;
	struct notify_env env = { .socket = NULL, .self = getpid() };

	(void)state;
	assert_int_equal(notify_new(&env, &n), 0);
	assert_non_null(n);
	assert_int_equal(notify_enabled(n), 0);
	assert_int_equal(notify_watchdog_ns(n), 0);
	assert_int_equal(notify_ready(n, "up"), 0);
	assert_int_equal(notify_reloading(n, 5), 0);
	assert_int_equal(notify_watchdog_tick(n, 0, 1), 0);
	n = notify_free(n);
	/* an empty $NOTIFY_SOCKET is "not under systemd" too */
	env.socket = "";
	assert_int_equal(notify_new(&env, &n), 0);
	assert_int_equal(notify_enabled(n), 0);
	notify_free(n);
	assert_null(notify_free(NULL));
}

static void test_malformed(void **state)
{
	static const char *bad_sockets[] = { "relative/path", "vsock:2:1234", "@", "/" };
	struct notify *n = (struct notify *)0x1;
	char longp[200];

	(void)state;
	for (size_t i = 0; i < sizeof(bad_sockets) / sizeof(bad_sockets[0]); i++) {
		struct notify_env env = { .socket = bad_sockets[i], .self = getpid() };

		assert_int_equal(notify_new(&env, &n), -EINVAL);
		assert_ptr_equal(n, (struct notify *)0x1); /* untouched */
	}
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = 0;
	assert_int_equal(notify_new(&(struct notify_env){ .socket = longp }, &n), -EINVAL);
	assert_int_equal(notify_new(&(struct notify_env){ .socket = "/run/x", .watchdog_usec = "12s" }, &n), -EINVAL);
	assert_int_equal(notify_new(&(struct notify_env){ .socket = "/run/x", .watchdog_usec = "0" }, &n), -EINVAL);
	assert_int_equal(notify_new(&(struct notify_env){ .socket = "/run/x", .watchdog_usec = "99999999999999999999" }, &n), -EINVAL);
	assert_int_equal(notify_new(&(struct notify_env){ .socket = "/run/x", .watchdog_usec = "1000", .watchdog_pid = "x1" }, &n), -EINVAL);
}

static void test_messages(void **state)
{
	struct receiver r;
	struct notify *n = NULL;
	char buf[2048], big[3000];
	pid_t pid;

	(void)state;
	receiver_open(&r, 0);
	assert_int_equal(notify_new(&(struct notify_env){ .socket = r.path, .self = getpid() }, &n), 0);
	assert_int_equal(notify_enabled(n), 1);

	assert_int_equal(notify_ready(n, "99 samples/s,\n3 processes"), 0);
	assert_true(receiver_read(&r, buf, sizeof(buf), &pid) > 0);
	/* one STATUS= line: the newline inside the status became a space */
	assert_string_equal(buf, "READY=1\nSTATUS=99 samples/s, 3 processes");
	assert_int_equal(pid, getpid());

	assert_int_equal(notify_reloading(n, 123456789000ull), 0);
	assert_true(receiver_read(&r, buf, sizeof(buf), NULL) > 0);
	assert_string_equal(buf, "RELOADING=1\nMONOTONIC_USEC=123456789");

	/* a STATUS= equal to the last one is not sent again */
	assert_int_equal(notify_status(n, "99 samples/s, 3 processes"), 0);
	assert_int_equal(receiver_read(&r, buf, sizeof(buf), NULL), -1);
	assert_int_equal(notify_status(n, "98 samples/s, 3 processes"), 0);
	assert_true(receiver_read(&r, buf, sizeof(buf), NULL) > 0);
	assert_string_equal(buf, "STATUS=98 samples/s, 3 processes");

	assert_int_equal(notify_errno(n, -EPERM, "cannot load BPF"), 0);
	assert_true(receiver_read(&r, buf, sizeof(buf), NULL) > 0);
	assert_string_equal(buf, "ERRNO=1\nSTATUS=cannot load BPF");

	assert_int_equal(notify_stopping(n, NULL), 0);
	assert_true(receiver_read(&r, buf, sizeof(buf), NULL) > 0);
	assert_string_equal(buf, "STOPPING=1\n");

	/* a long status is cut to one datagram, not refused */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	assert_int_equal(notify_status(n, big), 0);
	assert_int_equal(receiver_read(&r, buf, sizeof(buf), NULL), NOTIFY_MAX_MSG);
	assert_int_equal(strncmp(buf, "STATUS=xxx", 10), 0);
	/* raw messages above the bound are refused */
	assert_int_equal(notify_send(n, big), -EMSGSIZE);

	/* nobody listens any more: an error, never a crash or a block */
	receiver_close(&r);
	assert_int_not_equal(notify_ready(n, "x"), 0);
	notify_free(n);
}

static void test_abstract(void **state)
{
	struct receiver r;
	struct notify *n = NULL;
	char buf[256];

	(void)state;
	receiver_open(&r, 1);
	assert_int_equal(notify_new(&(struct notify_env){ .socket = r.path, .self = getpid() }, &n), 0);
	assert_int_equal(notify_ready(n, NULL), 0);
	assert_true(receiver_read(&r, buf, sizeof(buf), NULL) > 0);
	assert_string_equal(buf, "READY=1\n");
	notify_free(n);
	receiver_close(&r);
}

static void test_watchdog(void **state)
{
	struct receiver r;
	struct notify *n = NULL;
	char buf[256];
	uint64_t t0 = 5000 * MS;

	(void)state;
	receiver_open(&r, 0);
	/* 2 s period: a keep-alive at most every second */
	assert_int_equal(notify_new(&(struct notify_env){ .socket = r.path, .watchdog_usec = "2000000",
							.watchdog_pid = NULL, .self = getpid() }, &n), 0);
	assert_int_equal(notify_watchdog_ns(n), 2000 * MS);
	assert_int_equal(notify_watchdog_tick(n, t0, 1), 1);
	assert_true(receiver_read(&r, buf, sizeof(buf), NULL) > 0);
	assert_string_equal(buf, "WATCHDOG=1");
	assert_int_equal(notify_watchdog_tick(n, t0 + 500 * MS, 1), 0);
	assert_int_equal(notify_watchdog_tick(n, t0 + 999 * MS, 1), 0);
	assert_int_equal(receiver_read(&r, buf, sizeof(buf), NULL), -1);
	assert_int_equal(notify_watchdog_tick(n, t0 + 1000 * MS, 1), 1);
	assert_true(receiver_read(&r, buf, sizeof(buf), NULL) > 0);
	/* unhealthy: nothing, however long: systemd's timer runs out */
	assert_int_equal(notify_watchdog_tick(n, t0 + 3000 * MS, 0), 0);
	assert_int_equal(notify_watchdog_tick(n, t0 + 9000 * MS, 0), 0);
	assert_int_equal(receiver_read(&r, buf, sizeof(buf), NULL), -1);
	/* healthy again: at once */
	assert_int_equal(notify_watchdog_tick(n, t0 + 9001 * MS, 1), 1);
	n = notify_free(n);

	/* $WATCHDOG_PID of another process: the watchdog is not ours */
	assert_int_equal(notify_new(&(struct notify_env){ .socket = r.path, .watchdog_usec = "2000000",
							.watchdog_pid = "1", .self = getpid() }, &n), 0);
	assert_int_equal(notify_watchdog_ns(n), 0);
	assert_int_equal(notify_watchdog_tick(n, t0, 1), 0);
	n = notify_free(n);
	/* ... and ours when it names us */
	snprintf(buf, sizeof(buf), "%d", (int)getpid());
	assert_int_equal(notify_new(&(struct notify_env){ .socket = r.path, .watchdog_usec = "30000000",
							.watchdog_pid = buf, .self = getpid() }, &n), 0);
	assert_int_equal(notify_watchdog_ns(n), 30000 * MS);
	notify_free(n);
	receiver_close(&r);
}

static void test_format_status(void **state)
{
	char buf[128];

	(void)state;
	assert_int_equal(notify_format_status(buf, sizeof(buf), 198.4, 231, 1), strlen("198 samples/s, 231 processes, 1 alert firing"));
	assert_string_equal(buf, "198 samples/s, 231 processes, 1 alert firing");
	notify_format_status(buf, sizeof(buf), 0, 0, 3);
	assert_string_equal(buf, "0 samples/s, 0 processes, 3 alerts firing");
	notify_format_status(buf, sizeof(buf), 99, 5, -1);
	assert_string_equal(buf, "99 samples/s, 5 processes");
	assert_int_equal(notify_format_status(buf, 8, 99, 5, -1), 7);
	assert_string_equal(buf, "99 samp");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_disabled),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_abstract),
		cmocka_unit_test(test_watchdog),
		cmocka_unit_test(test_format_status),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
