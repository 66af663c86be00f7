/* SPDX-License-Identifier: GPL-2.0-only */
/* profctl's transport: connect to the daemon's socket, send one request
 * line, read the response line and the payload it announces (a fixed
 * number of bytes, or chunks and an end record), each step bounded by a
 * timeout. Payloads can be handed on as they arrive, so an export of any
 * size passes through bounded memory. See client.h. */
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

/* A response line holds top's data; bound it like a payload. */
#define MAX_RESPONSE_LINE PROFD_MAX_PAYLOAD
/* Bytes read per recv() of a payload handed on. */
#define PAYLOAD_PIECE 65536

void client_response_release(struct response *r)
{
	json_object_put(r->resp);
	json_object_put(r->end);
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

/* Reads up to cap bytes: the count, 0 on EOF, or -errno. */
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

/* A buffered reader: lines and exact byte counts off one socket. */
struct reader {
	int fd;
	uint64_t timeout_ms;
	char *buf;
	size_t off, len, cap;
};

/* The next line, without its '\n', NUL-terminated, valid until the next
 * call. 0, -EPROTO (longer than max), -ECONNRESET (EOF) or -errno. */
static int read_line(struct reader *rd, size_t max, char **ret)
{
	size_t scanned = 0;

	for (;;) {
		char *nl = rd->len > rd->off + scanned ? memchr(rd->buf + rd->off + scanned, '\n', rd->len - rd->off - scanned)
						       : NULL;
		ssize_t n;

		if (nl) {
			*nl = '\0';
			*ret = rd->buf + rd->off;
			rd->off = (size_t)(nl - rd->buf) + 1;
			return 0;
		}
		scanned = rd->len - rd->off;
		if (scanned >= max)
			return -EPROTO;
		if (rd->off) {
			memmove(rd->buf, rd->buf + rd->off, scanned);
			rd->len = scanned;
			rd->off = 0;
		}
		if (rd->len == rd->cap) {
			size_t cap = rd->cap ? rd->cap * 2 : 65536;
			char *nb = realloc(rd->buf, cap + 1);

			if (!nb)
				return -ENOMEM;
			rd->buf = nb;
			rd->cap = cap;
		}
		n = recv_some(rd->fd, rd->buf + rd->len, rd->cap - rd->len, rd->timeout_ms);
		if (n <= 0)
			return n == 0 ? -ECONNRESET : (int)n;
		rd->len += (size_t)n;
	}
}

/* Payload bytes, to fn or into ret->payload. */
static int deliver(struct response *ret, client_payload_fn fn, void *ctx, const char *p, size_t n)
{
	if (!n)
		return 0;
	if (fn) {
		int r = fn(ctx, p, n);

		if (r < 0)
			return r;
	} else {
		char *nb;

		if (ret->payload_len + n > PROFD_MAX_PAYLOAD)
			return -EFBIG;
		nb = realloc(ret->payload, ret->payload_len + n + 1);
		if (!nb)
			return -ENOMEM;
		ret->payload = nb;
		memcpy(ret->payload + ret->payload_len, p, n);
		ret->payload[ret->payload_len + n] = '\0';
		ret->payload_len += n;
		return 0;
	}
	ret->payload_len += n;
	return 0;
}

/* Exactly n bytes: what is buffered, then straight from the socket. */
static int read_exact(struct reader *rd, size_t n, struct response *ret, client_payload_fn fn, void *ctx)
{
	size_t have = rd->len - rd->off, take = have < n ? have : n;
	char *piece = NULL;
	int r;

	r = deliver(ret, fn, ctx, rd->buf + rd->off, take);
	rd->off += take;
	n -= take;
	if (r < 0 || !n)
		return r;
	piece = malloc(PAYLOAD_PIECE);
	if (!piece)
		return -ENOMEM;
	while (n && r == 0) {
		ssize_t got = recv_some(rd->fd, piece, n < PAYLOAD_PIECE ? n : PAYLOAD_PIECE, rd->timeout_ms);

		if (got <= 0)
			r = got == 0 ? -ECONNRESET : (int)got;
		else
			r = deliver(ret, fn, ctx, piece, (size_t)got);
		n -= got > 0 ? (size_t)got : 0;
	}
	free(piece);
	return r;
}

static int read_chunks(struct reader *rd, struct response *ret, const char **ret_code, const char **ret_message,
		       client_payload_fn fn, void *ctx)
{
	struct proto_response end;
	uint64_t bytes;
	char *line;
	size_t n;
	int r;

	for (;;) {
		r = read_line(rd, PROTO_CHUNK_HEADER_MAX, &line);
		if (r < 0)
			return r;
		if (proto_parse_chunk_header(line, &n) < 0)
			return -EPROTO;
		if (!n)
			break;
		r = read_exact(rd, n, ret, fn, ctx);
		if (r < 0)
			return r;
	}
	r = read_line(rd, MAX_RESPONSE_LINE, &line);
	if (r < 0)
		return r;
	r = proto_parse_response_ex(line, &end);
	if (r == -EPROTO)
		return r;
	ret->end = end.resp;
	if (r == -EREMOTEIO) {
		*ret_code = end.code;
		*ret_message = end.message;
		return r;
	}
	/* The end record counts the bytes: a mismatch is a broken stream. */
	bytes = (uint64_t)json_object_get_int64(json_object_object_get(end.data, "bytes"));
	return bytes == ret->payload_len ? 0 : -EPROTO;
}

int client_read_response(int fd, uint64_t timeout_ms, struct response *ret, const char **ret_code,
			 const char **ret_message, client_payload_fn fn, void *ctx)
{
	struct reader rd = { .fd = fd, .timeout_ms = timeout_ms };
	struct proto_response pr;
	char *line;
	int r;

	memset(ret, 0, sizeof(*ret));
	r = read_line(&rd, MAX_RESPONSE_LINE, &line);
	if (r < 0)
		goto out;
	r = proto_parse_response_ex(line, &pr);
	if (r == -EPROTO)
		goto out;
	ret->resp = pr.resp;
	ret->data = pr.data;
	ret->version = pr.version;
	if (r == -EREMOTEIO) {
		*ret_code = pr.code;
		*ret_message = pr.message;
		goto out;
	}
	ret->chunked = pr.payload.chunked;
	if (pr.has_payload && pr.payload.chunked)
		r = read_chunks(&rd, ret, ret_code, ret_message, fn, ctx);
	else if (pr.has_payload)
		r = read_exact(&rd, (size_t)pr.payload.bytes, ret, fn, ctx);
	/* an empty payload still has its (empty) string */
	if (r == 0 && !fn && !ret->payload) {
		ret->payload = calloc(1, 1);
		if (!ret->payload)
			r = -ENOMEM;
	}
	/* The daemon answers one request at a time: nothing may follow. */
	if (r == 0 && rd.off != rd.len)
		r = -EPROTO;
out:
	free(rd.buf);
	if (r < 0 && r != -EREMOTEIO)
		client_response_release(ret);
	return r;
}
