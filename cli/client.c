/* SPDX-License-Identifier: GPL-2.0-only */
/* profctl's transport: connect to the daemon's socket, send one request
 * line, read the response line and the payload it announces, each step
 * bounded by a timeout. See client.h. */
#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/proto.h"

/* A response line holds export data; bound it like a payload. */
#define MAX_RESPONSE_LINE PROFD_MAX_PAYLOAD

void client_response_release(struct response *r)
{
	json_object_put(r->resp);
	free(r->payload);
	memset(r, 0, sizeof(*r));
}

/* Waits for fd to be ready; -ETIMEDOUT when the daemon stays silent. */
static int wait_fd(int fd, short events, uint64_t timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	uint64_t end = clock_mono_ms() + timeout_ms;

	for (;;) {
		uint64_t now = clock_mono_ms();
		int r;

		if (now >= end)
			return -ETIMEDOUT;
		r = poll(&p, 1, (int)(end - now > INT_MAX ? INT_MAX : end - now));
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

int client_connect(const char *path, uint64_t timeout_ms, int *ret_fd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = (time_t)(timeout_ms / 1000), .tv_usec = (suseconds_t)(timeout_ms % 1000 * 1000) };
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A blocking connect() on a full backlog waits up to SO_SNDTIMEO. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	do
		r = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	while (r == -EINTR);
	if (r == 0 && fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
		r = -errno;
	if (r < 0) {
		close(fd);
		return r == -EAGAIN || r == -EINPROGRESS ? -ETIMEDOUT : r;
	}
	*ret_fd = fd;
	return 0;
}

int client_send_all(int fd, const char *p, size_t n, uint64_t timeout_ms)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		int r;

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -errno;
			r = wait_fd(fd, POLLOUT, timeout_ms);
			if (r < 0)
				return r;
			continue;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads into buf[*len..cap); 0 on EOF, bytes read, or -errno. */
static ssize_t recv_some(int fd, char *buf, size_t cap, uint64_t timeout_ms)
{
	for (;;) {
		ssize_t n = recv(fd, buf, cap, 0);
		int r;

		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		r = wait_fd(fd, POLLIN, timeout_ms);
		if (r < 0)
			return r;
	}
}

/* Reads the response line, then the payload it announces. */
int client_read_response(int fd, uint64_t timeout_ms, struct response *ret, const char **ret_code, const char **ret_message)
{
	char *buf = NULL, *nl = NULL;
	size_t len = 0, cap = 0, scanned = 0, line_len;
	int r;

	while (!nl) {
		ssize_t n;

		if (len == cap) {
			char *nb;
			if (cap >= MAX_RESPONSE_LINE) {
				r = -EPROTO;
				goto out;
			}
			cap = cap ? cap * 2 : 65536;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				r = -ENOMEM;
				goto out;
			}
			buf = nb;
		}
		n = recv_some(fd, buf + len, cap - len, timeout_ms);
		if (n <= 0) {
			r = n == 0 ? -ECONNRESET : (int)n;
			goto out;
		}
		len += (size_t)n;
		nl = memchr(buf + scanned, '\n', len - scanned);
		scanned = len;
	}
	*nl = '\0';
	line_len = (size_t)(nl - buf) + 1;
	r = proto_parse_response(buf, &ret->resp, &ret->data, &ret->payload_len, ret_code, ret_message);
	if (r < 0)
		goto out;
	/* What came after the line is the start of the payload. */
	ret->payload = malloc(ret->payload_len + 1);
	if (!ret->payload) {
		r = -ENOMEM;
		goto out;
	}
	len -= line_len;
	if (len > ret->payload_len) {
		r = -EPROTO; /* the daemon answers one request at a time */
		goto out;
	}
	memcpy(ret->payload, buf + line_len, len);
	while (len < ret->payload_len) {
		ssize_t n = recv_some(fd, ret->payload + len, ret->payload_len - len, timeout_ms);
		if (n <= 0) {
			r = n == 0 ? -ECONNRESET : (int)n;
			goto out;
		}
		len += (size_t)n;
	}
	ret->payload[len] = '\0';
	r = 0;
out:
	free(buf);
	if (r < 0 && r != -EREMOTEIO)
		client_response_release(ret);
	return r;
}

