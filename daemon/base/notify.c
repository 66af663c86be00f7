/* SPDX-License-Identifier: GPL-2.0-only */
/* sd_notify's datagram protocol, spoken directly; see notify.h. */
#include "base/notify.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct notify {
	int fd;                     /* -1: disabled */
	struct sockaddr_un addr;
	socklen_t addrlen;
	uint64_t watchdog_ns;       /* 0: no watchdog */
	uint64_t last_keepalive_ns; /* CLOCK_MONOTONIC of the last WATCHDOG=1 */
	int keepalive_sent;         /* last_keepalive_ns is meaningful */
	char last_status[NOTIFY_MAX_MSG];
};

struct notify_env notify_env_from_process(void)
{
	return (struct notify_env){
		.socket = getenv("NOTIFY_SOCKET"),
		.watchdog_usec = getenv("WATCHDOG_USEC"),
		.watchdog_pid = getenv("WATCHDOG_PID"),
		.self = getpid(),
	};
}

/* Strict decimal: what systemd writes. 0 or -EINVAL. */
static int parse_u64(const char *s, uint64_t *ret)
{
	uint64_t v = 0;

	if (!s || !*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*ret = v;
	return 0;
}

static int set_address(struct notify *n, const char *path)
{
	size_t len = strlen(path);

	/* "/path" or "@abstract"; systemd >= 254 also offers "vsock:", which
	 * only a guest's manager on a hypervisor uses: not ours. */
	if ((path[0] != '/' && path[0] != '@') || len < 2 || len >= sizeof(n->addr.sun_path))
		return -EINVAL;
	n->addr.sun_family = AF_UNIX;
	memcpy(n->addr.sun_path, path, len);
	if (path[0] == '@') {
		n->addr.sun_path[0] = 0; /* abstract: no terminating NUL counted */
		n->addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	} else {
		n->addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
	}
	return 0;
}

int notify_new(const struct notify_env *env, struct notify **ret)
{
	struct notify *n = calloc(1, sizeof(*n));
	uint64_t usec = 0, pid = 0;
	int r;

	if (!n)
		return -ENOMEM;
	n->fd = -1;
	if (!env || !env->socket || !*env->socket) {
		*ret = n;
		return 0;
	}
	r = set_address(n, env->socket);
	if (r < 0)
		goto fail;
	if (env->watchdog_usec && *env->watchdog_usec) {
		r = parse_u64(env->watchdog_usec, &usec);
		if (r < 0 || usec == 0 || usec > UINT64_MAX / 1000)
			goto fail_inval;
		/* $WATCHDOG_PID names the process the watchdog is for; another
		 * process (a child we started) must not feed it */
		if (env->watchdog_pid && *env->watchdog_pid) {
			if (parse_u64(env->watchdog_pid, &pid) < 0)
				goto fail_inval;
			if (pid != (uint64_t)env->self)
				usec = 0;
		}
		n->watchdog_ns = usec * 1000;
	}
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (n->fd < 0) {
		r = -errno;
		goto fail;
	}
	*ret = n;
	return 0;
fail_inval:
	r = -EINVAL;
fail:
	free(n);
	return r;
}

struct notify *notify_free(struct notify *n)
{
	if (!n)
		return NULL;
	if (n->fd >= 0)
		close(n->fd);
	free(n);
	return NULL;
}

int notify_enabled(const struct notify *n)
{
	return n && n->fd >= 0;
}

uint64_t notify_watchdog_ns(const struct notify *n)
{
	return notify_enabled(n) ? n->watchdog_ns : 0;
}

int notify_send(struct notify *n, const char *msg)
{
	size_t len;
	ssize_t r;

	if (!notify_enabled(n))
		return 0;
	len = strlen(msg);
	if (len == 0)
		return 0;
	if (len > NOTIFY_MAX_MSG)
		return -EMSGSIZE;
	/* The kernel attaches our credentials (SCM_CREDENTIALS) for the
	 * receiver: systemd checks the sender is the main process. */
	r = sendto(n->fd, msg, len, MSG_NOSIGNAL, (const struct sockaddr *)&n->addr, n->addrlen);
	if (r < 0)
		return -errno;
	return (size_t)r == len ? 0 : -EIO;
}

/* "PREFIXSTATUS=status\n" into buf, status cut so the whole fits, and
 * newlines in it turned into spaces (one STATUS= line). */
static void compose(char *buf, size_t cap, const char *prefix, const char *status)
{
	size_t len = (size_t)snprintf(buf, cap, "%s", prefix);

	if (len >= cap || !status)
		return;
	len += (size_t)snprintf(buf + len, cap - len, "STATUS=");
	for (const char *p = status; *p && len + 1 < cap; p++)
		buf[len++] = *p == '\n' ? ' ' : *p;
	buf[len < cap ? len : cap - 1] = 0;
}

static int send_with_status(struct notify *n, const char *prefix, const char *status)
{
	char msg[NOTIFY_MAX_MSG + 1];
	int r;

	if (!notify_enabled(n))
		return 0;
	compose(msg, sizeof(msg), prefix, status);
	r = notify_send(n, msg);
	if (r == 0 && status)
		snprintf(n->last_status, sizeof(n->last_status), "%s", strstr(msg, "STATUS=") + 7);
	return r;
}

int notify_ready(struct notify *n, const char *status)
{
	return send_with_status(n, "READY=1\n", status);
}

int notify_reloading(struct notify *n, uint64_t mono_ns)
{
	char msg[96];

	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%" PRIu64, mono_ns / 1000);
	return notify_send(n, msg);
}

int notify_stopping(struct notify *n, const char *status)
{
	return send_with_status(n, "STOPPING=1\n", status);
}

int notify_status(struct notify *n, const char *status)
{
	char msg[NOTIFY_MAX_MSG + 1];

	if (!notify_enabled(n) || !status)
		return 0;
	/* compare what would be sent: newlines turned, length cut */
	compose(msg, sizeof(msg), "", status);
	if (strcmp(msg + 7, n->last_status) == 0)
		return 0;
	return send_with_status(n, "", status);
}

int notify_errno(struct notify *n, int err, const char *status)
{
	char prefix[48];

	snprintf(prefix, sizeof(prefix), "ERRNO=%d\n", err < 0 ? -err : err);
	return send_with_status(n, prefix, status);
}

int notify_watchdog_tick(struct notify *n, uint64_t mono_ns, int healthy)
{
	int r;

	if (!notify_enabled(n) || !n->watchdog_ns || !healthy)
		return 0;
	/* Half the period, as sd_watchdog_enabled(3) advises: one late tick
	 * still lands inside the window. */
	if (n->keepalive_sent && mono_ns - n->last_keepalive_ns < n->watchdog_ns / 2)
		return 0;
	r = notify_send(n, "WATCHDOG=1");
	if (r < 0)
		return r;
	n->last_keepalive_ns = mono_ns;
	n->keepalive_sent = 1;
	return 1;
}

size_t notify_format_status(char *buf, size_t cap, double samples_per_s, uint64_t processes, int alerts_firing)
{
	int len;

	if (!cap)
		return 0;
	if (alerts_firing >= 0)
		len = snprintf(buf, cap, "%.0f samples/s, %" PRIu64 " processes, %d alert%s firing",
			       samples_per_s, processes, alerts_firing, alerts_firing == 1 ? "" : "s");
	else
		len = snprintf(buf, cap, "%.0f samples/s, %" PRIu64 " processes", samples_per_s, processes);
	if (len < 0)
		return 0;
	return (size_t)len < cap ? (size_t)len : cap - 1;
}
