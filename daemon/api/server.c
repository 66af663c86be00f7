/* SPDX-License-Identifier: GPL-2.0-only */
/* API server: the Unix socket, its non-blocking clients, line framing,
 * fair request dispatch and streamed replies, with every client-controlled
 * resource bounded and each bound hit counted (see server.h and
 * docs/protocol.md).
 *
 * Fairness: a client's unread requests stay in its line buffer (it is not
 * read from while it has a complete line waiting), and at most one of its
 * requests is in progress. Clients with a line waiting, nothing in
 * progress and little output queued are "ready"; a turn takes one request
 * from each ready client, in the order they became ready. Turns run from
 * an eventfd the loop polls like any other source, so ticks, ring buffers
 * and other clients get the loop between two turns. */
#include "api/server.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/listen.h"
#include "base/log.h"
#include "base/loop.h"
#include "common/proto.h"

/* Bytes read per recv(): a client is read from only while it has no
 * complete line waiting, so this bounds its buffered requests. */
#define READ_CHUNK 16384
/* Connections accepted per wakeup of the listening socket. */
#define ACCEPT_BUDGET 32
/* An output buffer this large is released once flushed, so one big reply
 * does not pin its memory for the client's lifetime. */
#define OUT_KEEP_BYTES 65536
/* A client's next request is taken only once less than this is queued
 * for it: a client that does not read gets no more work done for it. */
#define DISPATCH_WATERMARK 65536
/* A stream pauses while this much is queued for its client. */
#define STREAM_WINDOW (256 * 1024)
/* Smallest piece worth reserving room for; less means wait. */
#define MIN_PIECE 4096
/* Lines this short (errors, status) are never refused for reply_memory:
 * one per client at a time, so they add at most max_clients x this. */
#define SMALL_LINE 16384

struct server_request {
	struct client *c;        /* NULL once the client is gone */
	struct json_object *req;
	const char *cmd;
	int version;
	void *data;
	bool streaming, chunked, paused;
	uint64_t fixed_left;     /* fixed payload bytes still to come */
	size_t reserved;
};

struct client {
	struct server *s;
	struct client *prev, *next;
	struct client *ready_next; /* the ready FIFO */
	bool in_ready;
	int fd;
	uid_t uid;               /* SO_PEERCRED; (uid_t)-1 if unknown */
	pid_t pid;               /* SO_PEERCRED; 0 if unknown (for the log) */
	struct linebuf in;
	char *out;
	size_t out_len, out_off, out_cap;
	struct server_request *rq; /* in progress, at most one */
	uint64_t last_active_ms; /* tick time the client was last seen active */
	bool active;             /* did something since the last tick */
	bool eof;                /* peer shut its write side: close once done */
	int err;                 /* fatal: close at the next chance */
	uint32_t events;         /* what the loop watches now */
};

struct server {
	struct loop *loop;
	struct server_opts opts;
	char *path;
	int fd;
	int kick_fd;             /* readable while a turn is due */
	bool kicked;
	struct listen_id sock_id;   /* the socket file we made */
	bool accept_paused; /* out of fds: resume on the next tick */
	struct client *clients;
	struct client *ready_head, *ready_tail;
	size_t nready;
	uint32_t npaused;        /* streams waiting for room */
	struct server_stats st;
};

static size_t out_pending(const struct client *c)
{
	return c->out_len - c->out_off;
}

static void account(struct server *s, size_t add, size_t sub)
{
	s->st.reply_bytes += add;
	s->st.reply_bytes -= sub < s->st.reply_bytes ? sub : s->st.reply_bytes;
	if (s->st.reply_bytes > s->st.reply_bytes_max)
		s->st.reply_bytes_max = s->st.reply_bytes;
}

static void kick(struct server *s)
{
	uint64_t one = 1;

	if (s->kicked)
		return;
	if (write(s->kick_fd, &one, sizeof(one)) == sizeof(one))
		s->kicked = true;
}

static void ready_push(struct client *c)
{
	struct server *s = c->s;

	if (c->in_ready)
		return;
	c->in_ready = true;
	c->ready_next = NULL;
	if (s->ready_tail)
		s->ready_tail->ready_next = c;
	else
		s->ready_head = c;
	s->ready_tail = c;
	s->nready++;
	kick(s);
}

static struct client *ready_pop(struct server *s)
{
	struct client *c = s->ready_head;

	if (!c)
		return NULL;
	s->ready_head = c->ready_next;
	if (!s->ready_head)
		s->ready_tail = NULL;
	c->in_ready = false;
	s->nready--;
	return c;
}

static void ready_remove(struct client *c)
{
	struct server *s = c->s;
	struct client **pp = &s->ready_head, *prev = NULL;

	if (!c->in_ready)
		return;
	while (*pp && *pp != c) {
		prev = *pp;
		pp = &(*pp)->ready_next;
	}
	if (*pp) {
		*pp = c->ready_next;
		if (s->ready_tail == c)
			s->ready_tail = prev;
		s->nready--;
	}
	c->in_ready = false;
}

static bool client_ready(const struct client *c)
{
	return !c->rq && !c->err && linebuf_has_line(&c->in) && out_pending(c) < DISPATCH_WATERMARK;
}

/* Epoll interest and ready-list membership from the client's state. Never
 * frees the client: callers in event context close it. */
static void client_want(struct client *c)
{
	uint32_t want = 0;

	if (!c->eof && !c->err && !linebuf_has_line(&c->in))
		want |= EPOLLIN;
	if (out_pending(c))
		want |= EPOLLOUT;
	if (want != c->events) {
		if (loop_mod(c->s->loop, c->fd, want) < 0)
			c->err = -EIO;
		else
			c->events = want;
	}
	if (client_ready(c))
		ready_push(c);
}

static void request_free(struct server_request *rq)
{
	json_object_put(rq->req);
	free(rq);
}

static void client_free(struct client *c)
{
	struct server *s = c->s;

	if (c->rq) {
		struct server_request *rq = c->rq;

		c->rq = NULL;
		rq->c = NULL;
		if (rq->paused)
			s->npaused--;
		if (rq->streaming)
			s->st.streams--;
		account(s, 0, rq->reserved);
		s->st.pending--;
		if (s->opts.cancel)
			s->opts.cancel(s->opts.userdata, rq);
		request_free(rq);
	}
	ready_remove(c);
	account(s, 0, out_pending(c));
	loop_del(s->loop, c->fd);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	linebuf_release(&c->in);
	free(c->out);
	free(c);
	s->st.clients--;
	if (s->accept_paused) {
		/* A slot (and an fd) came free. */
		if (loop_mod(s->loop, s->fd, EPOLLIN) == 0)
			s->accept_paused = false;
	}
}

/* Appends to the output queue, accounted in reply_bytes. 0 or -ENOMEM. */
static int out_append(struct client *c, const void *data, size_t n)
{
	size_t pending = out_pending(c);
	size_t need;

	if (!n)
		return 0;
	if (c->out_off && c->out_len + n > c->out_cap) {
		memmove(c->out, c->out + c->out_off, pending);
		c->out_len = pending;
		c->out_off = 0;
	}
	need = c->out_len + n;
	if (need > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		char *nb;

		while (cap < need)
			cap *= 2;
		nb = realloc(c->out, cap);
		if (!nb)
			return -ENOMEM;
		c->out = nb;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, data, n);
	c->out_len += n;
	account(c->s, n, 0);
	return 0;
}

/* Queues a whole reply line and, optionally, a fixed payload, or a "busy"
 * error instead when it is over max_reply or would not fit reply_memory.
 * On failure the client is marked for closing. */
static void queue_reply(struct client *c, int version, char *line, const void *payload, size_t n, bool is_error)
{
	struct server *s = c->s;
	size_t pending = out_pending(c), len;
	int r;

	if (c->err) {
		free(line);
		return;
	}
	if (!line) {
		line = proto_error_v(version, PROFD_E_INTERNAL, "out of memory building the reply");
		payload = NULL;
		n = 0;
		is_error = true;
		if (!line) {
			c->err = -ENOMEM;
			return;
		}
	}
	len = strlen(line);
	if (len > s->opts.max_reply || n > s->opts.max_reply - len) {
		free(line);
		line = proto_error_v(version, PROFD_E_BUSY, "reply of %zu bytes exceeds the server's max_reply (%zu bytes)",
				     len + n, s->opts.max_reply);
		payload = NULL;
		n = 0;
		is_error = true;
		s->st.reply_refused++;
	} else if (s->opts.reply_memory && len + n > SMALL_LINE && s->st.reply_bytes + len + n > s->opts.reply_memory) {
		free(line);
		line = proto_error_v(version, PROFD_E_BUSY,
				     "reply of %zu bytes does not fit: %llu bytes are queued for clients, reply_memory is %zu; try again",
				     len + n, (unsigned long long)s->st.reply_bytes, s->opts.reply_memory);
		payload = NULL;
		n = 0;
		is_error = true;
		s->st.reply_refused++;
	}
	if (!line) {
		c->err = -ENOMEM;
		return;
	}
	len = strlen(line);
	r = out_append(c, line, len);
	if (r == 0 && n)
		r = out_append(c, payload, n);
	free(line);
	if (r < 0) {
		/* Half a reply would desynchronize the stream. */
		account(s, 0, out_pending(c) - pending);
		c->out_len = c->out_off + pending;
		c->err = r;
		return;
	}
	s->st.requests++;
	if (is_error)
		s->st.errors++;
}

/* The request is over: the client may go on to its next one. */
static void request_finish(struct server_request *rq)
{
	struct client *c = rq->c;
	struct server *s = c->s;

	if (rq->paused)
		s->npaused--;
	if (rq->streaming)
		s->st.streams--;
	account(s, 0, rq->reserved);
	s->st.pending--;
	c->rq = NULL;
	request_free(rq);
	client_want(c);
}

/* ---- request accessors and replies ---- */

const char *server_request_cmd(const struct server_request *rq)
{
	return rq->cmd;
}

struct json_object *server_request_json(const struct server_request *rq)
{
	return rq->req;
}

int server_request_version(const struct server_request *rq)
{
	return rq->version;
}

int server_request_privileged(const struct server_request *rq)
{
	return rq->c && rq->c->uid == 0;
}

int server_request_peer(const struct server_request *rq, uid_t *ret_uid, pid_t *ret_pid)
{
	if (!rq->c || rq->c->uid == (uid_t)-1)
		return -ENODATA;
	*ret_uid = rq->c->uid;
	*ret_pid = rq->c->pid;
	return 0;
}

void server_request_set_data(struct server_request *rq, void *data)
{
	rq->data = data;
}

void *server_request_data(const struct server_request *rq)
{
	return rq->data;
}

void server_reply_line(struct server_request *rq, char *line, int is_error)
{
	queue_reply(rq->c, rq->version, line, NULL, 0, is_error);
	request_finish(rq);
}

void server_reply_ok(struct server_request *rq, struct json_object *data)
{
	server_reply_line(rq, proto_ok_v(rq->version, data, NULL), 0);
}

void server_reply_payload(struct server_request *rq, struct json_object *data, const void *payload, size_t n,
			  const char *type)
{
	struct proto_payload pl = { .type = type, .bytes = n };

	queue_reply(rq->c, rq->version, proto_ok_v(rq->version, data, &pl), payload, n, false);
	request_finish(rq);
}

void server_reply_error(struct server_request *rq, const char *code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	server_reply_line(rq, proto_error_v(rq->version, code, "%s", msg), 1);
}

int server_stream_begin(struct server_request *rq, char *line, int chunked, uint64_t fixed_bytes)
{
	struct client *c = rq->c;
	size_t len;
	int r;

	if (!line) {
		server_reply_line(rq, NULL, 1);
		return -ENOMEM;
	}
	len = strlen(line);
	r = len > c->s->opts.max_reply ? -EMSGSIZE : out_append(c, line, len);
	free(line);
	if (r < 0) {
		c->err = r;
		request_finish(rq);
		return r;
	}
	rq->streaming = true;
	rq->chunked = !!chunked;
	rq->fixed_left = chunked ? 0 : fixed_bytes;
	c->s->st.streams++;
	client_want(c);
	return 0;
}

size_t server_stream_reserve(struct server_request *rq, size_t want)
{
	struct client *c = rq->c;
	struct server *s = c->s;
	size_t queued = out_pending(c) + rq->reserved, room, n;

	room = queued < STREAM_WINDOW ? STREAM_WINDOW - queued : 0;
	/* reply_memory is shared: a client with nothing queued may always
	 * have one piece, so a stalled reader cannot starve the others (the
	 * bound is reply_memory plus one piece per stream). */
	if (s->opts.reply_memory && queued) {
		size_t global = s->st.reply_bytes < s->opts.reply_memory ? s->opts.reply_memory - s->st.reply_bytes : 0;

		if (global < room)
			room = global;
	}
	n = want < room ? want : room;
	if (n < want && n < MIN_PIECE) {
		if (!rq->paused) {
			rq->paused = true;
			s->npaused++;
			s->st.stream_pauses++;
		}
		return 0;
	}
	if (rq->paused) {
		rq->paused = false;
		s->npaused--;
	}
	rq->reserved += n;
	account(s, n, 0);
	return n;
}

int server_stream_write(struct server_request *rq, const void *buf, size_t n)
{
	struct client *c = rq->c;
	struct server *s = c->s;
	char hdr[PROTO_CHUNK_HEADER_MAX];
	int r = 0;

	account(s, 0, rq->reserved);
	rq->reserved = 0;
	if (!n)
		return 0;
	if (rq->chunked) {
		r = out_append(c, hdr, proto_chunk_header(hdr, n));
	} else {
		if (n > rq->fixed_left)
			return -EMSGSIZE;
		rq->fixed_left -= n;
	}
	if (!r)
		r = out_append(c, buf, n);
	if (r < 0) {
		c->err = r;
		return r;
	}
	s->st.streamed_bytes += n;
	client_want(c);
	return 0;
}

void server_stream_end(struct server_request *rq, char *end_line, int is_error)
{
	struct client *c = rq->c;
	struct server *s = c->s;

	if (rq->chunked) {
		static const char last[] = "0\n";

		if (out_append(c, last, 2) < 0)
			c->err = -ENOMEM;
		queue_reply(c, rq->version, end_line, NULL, 0, is_error);
	} else {
		free(end_line);
		/* The client counts bytes: short, it would wait forever, so it
		 * learns of the failure by the connection closing. */
		if (rq->fixed_left)
			c->err = -EPROTO;
		s->st.requests++;
		if (is_error || rq->fixed_left)
			s->st.errors++;
	}
	request_finish(rq);
}

/* ---- dispatch ---- */

static bool blank(const char *s)
{
	return s[strspn(s, " \t\r")] == '\0';
}

/* One request of this client: the next non-blank line, answered by the
 * server (malformed) or handed to the handler. */
static void client_dispatch_one(struct client *c)
{
	struct server *s = c->s;
	char *line;
	int r;

	while ((r = linebuf_next(&c->in, &line)) != 0) {
		struct server_request *rq;
		struct json_object *req;
		const char *cmd, *code;
		char msg[256];
		int version;

		if (r == -E2BIG) {
			s->st.oversized++;
			queue_reply(c, 1, proto_error(PROFD_E_TOO_LARGE, "request line exceeds %zu bytes", s->opts.max_request),
				    NULL, 0, true);
			return;
		}
		if (r < 0) {
			c->err = r;
			return;
		}
		if (blank(line)) {
			free(line);
			continue;
		}
		r = proto_parse_request(line, &req, &cmd, &version, &code, msg, sizeof(msg));
		free(line);
		if (r < 0) {
			queue_reply(c, version, proto_error_v(version, code, "%s", msg), NULL, 0, true);
			return;
		}
		rq = calloc(1, sizeof(*rq));
		if (!rq) {
			json_object_put(req);
			queue_reply(c, version, proto_error_v(version, PROFD_E_INTERNAL, "out of memory"), NULL, 0, true);
			return;
		}
		rq->c = c;
		rq->req = req;
		rq->cmd = cmd;
		rq->version = version;
		c->rq = rq;
		s->st.pending++;
		s->opts.handler(s->opts.userdata, rq);
		return;
	}
}

/* Closes the client when it is finished or broken. false: it is gone. */
static bool client_settle(struct client *c)
{
	if (c->err || (c->eof && !c->rq && !linebuf_has_line(&c->in) && !out_pending(c))) {
		client_free(c);
		return false;
	}
	client_want(c);
	return true;
}

static void server_turn(struct loop *l, int fd, uint32_t events, void *data)
{
	struct server *s = data;
	uint64_t v;
	size_t n;

	(void)l;
	(void)events;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_debug_errno(errno, "server: kick eventfd: %m");
	s->kicked = false;
	s->st.turns++;
	/* Each client ready at the start of the turn gets one request; one
	 * that is ready again goes to the back, for the next turn. */
	for (n = s->nready; n > 0; n--) {
		struct client *c = ready_pop(s);

		if (!c)
			break;
		if (client_ready(c))
			client_dispatch_one(c);
		client_settle(c);
	}
	if (s->ready_head)
		kick(s);
}

/* Paused streams whose client or the server has room again. */
static void resume_streams(struct server *s)
{
	struct client *c, *next;

	if (!s->npaused)
		return;
	for (c = s->clients; c && s->npaused; c = next) {
		struct server_request *rq = c->rq;
		size_t queued, global;

		next = c->next;
		if (!rq || !rq->paused)
			continue;
		queued = out_pending(c) + rq->reserved;
		global = !s->opts.reply_memory || !queued ? SIZE_MAX :
			 s->st.reply_bytes < s->opts.reply_memory ? s->opts.reply_memory - s->st.reply_bytes : 0;
		if (queued + MIN_PIECE > STREAM_WINDOW || global < MIN_PIECE)
			continue;
		rq->paused = false;
		s->npaused--;
		if (s->opts.resume)
			s->opts.resume(s->opts.userdata, rq);
	}
}

/* Writes what the socket takes. 0 (maybe with data left) or -errno. */
static int client_flush(struct client *c)
{
	size_t before = out_pending(c);

	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -errno; /* EPIPE, ECONNRESET: the client left */
		}
		c->out_off += (size_t)n;
		c->active = true;
	}
	account(c->s, 0, before - out_pending(c));
	if (c->out_off == c->out_len) {
		c->out_off = c->out_len = 0;
		if (c->out_cap > OUT_KEEP_BYTES) {
			free(c->out);
			c->out = NULL;
			c->out_cap = 0;
		}
	}
	return 0;
}

/* One read: lines are taken in turns, so there is no point reading more
 * before they are. */
static int client_read(struct client *c)
{
	char buf[READ_CHUNK];
	ssize_t n;

	for (;;) {
		n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n >= 0 || errno != EINTR)
			break;
	}
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	if (n == 0) {
		/* A last request without its '\n' still counts. */
		c->eof = true;
		return linebuf_feed(&c->in, "\n", 1);
	}
	c->active = true;
	return linebuf_feed(&c->in, buf, (size_t)n);
}

static void client_event(struct loop *l, int fd, uint32_t events, void *data)
{
	struct client *c = data;
	struct server *s = c->s;
	int r = 0;

	(void)l;
	(void)fd;
	/* Gone: whatever is queued or in progress cannot be delivered. */
	if (events & (EPOLLERR | EPOLLHUP)) {
		client_free(c);
		resume_streams(s);
		return;
	}
	if (events & EPOLLOUT)
		r = client_flush(c);
	if (r == 0 && (events & EPOLLIN) && !c->eof)
		r = client_read(c);
	if (r < 0)
		c->err = r;
	client_settle(c);
	resume_streams(s);
}

static void reject(struct server *s, int fd)
{
	char *line = proto_error(PROFD_E_BUSY, "too many clients (limit %u); try again later", s->opts.max_clients);

	/* Best effort: a fresh socket's buffer takes one short line. */
	if (line && send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug_errno(errno, "server: busy reply: %m");
	free(line);
	close(fd);
	s->st.rejected_clients++;
}

static void server_accept(struct loop *l, int lfd, uint32_t events, void *data)
{
	struct server *s = data;

	(void)events;
	for (int i = 0; i < ACCEPT_BUDGET; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		struct ucred cred;
		socklen_t clen = sizeof(cred);
		struct client *c;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* The connection stays pending; without a pause the
				 * level-triggered socket would spin the loop. */
				log_warn_errno(errno, "server: accept: %m; pausing new connections");
				if (loop_mod(l, lfd, 0) == 0)
					s->accept_paused = true;
				return;
			}
			log_warn_errno(errno, "server: accept: %m");
			return;
		}
		if (s->st.clients >= s->opts.max_clients) {
			reject(s, fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			reject(s, fd);
			continue;
		}
		c->s = s;
		c->fd = fd;
		c->active = true;
		c->events = EPOLLIN;
		/* Who is asking decides what they may see (kernel addresses). */
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0) {
			c->uid = cred.uid;
			c->pid = cred.pid;
		} else {
			c->uid = (uid_t)-1;
		}
		linebuf_init(&c->in, s->opts.max_request);
		if (loop_add(l, fd, EPOLLIN, client_event, c) < 0) {
			free(c);
			reject(s, fd);
			continue;
		}
		c->next = s->clients;
		if (c->next)
			c->next->prev = c;
		s->clients = c;
		s->st.clients++;
		s->st.accepted++;
	}
}

int server_new(struct loop *l, const struct server_opts *opts, struct server **ret)
{
	struct server *s;
	int r;

	if (!l || !opts || !opts->path || !opts->handler || !opts->max_clients || !opts->max_request ||
	    !opts->max_reply)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->loop = l;
	s->opts = *opts;
	s->fd = -1;
	s->path = strdup(opts->path);
	s->opts.path = s->path;
	s->opts.group = NULL; /* not kept: the caller's string may go */
	s->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!s->path || s->kick_fd < 0) {
		r = s->path ? -errno : -ENOMEM;
		goto fail;
	}
	r = loop_add(l, s->kick_fd, EPOLLIN, server_turn, s);
	if (r < 0)
		goto fail;
	r = listen_socket_open(s->path, opts->mode, opts->group, &s->fd, &s->sock_id);
	if (r < 0) {
		loop_del(l, s->kick_fd);
		goto fail;
	}
	r = loop_add(l, s->fd, EPOLLIN, server_accept, s);
	if (r < 0) {
		loop_del(l, s->kick_fd);
		unlink(s->path);
		goto fail;
	}
	*ret = s;
	return 0;
fail:
	if (s->fd >= 0)
		close(s->fd);
	if (s->kick_fd >= 0)
		close(s->kick_fd);
	free(s->path);
	free(s);
	return r;
}

struct server *server_free(struct server *s)
{
	if (!s)
		return NULL;
	while (s->clients)
		client_free(s->clients);
	if (s->fd >= 0) {
		loop_del(s->loop, s->fd);
		close(s->fd);
	}
	loop_del(s->loop, s->kick_fd);
	close(s->kick_fd);
	listen_socket_remove(s->path, &s->sock_id);
	free(s->path);
	free(s);
	return NULL;
}

void server_tick(struct server *s, uint64_t now_ms)
{
	struct client *c, *next;

	if (!s)
		return;
	if (s->accept_paused && loop_mod(s->loop, s->fd, EPOLLIN) == 0)
		s->accept_paused = false;
	for (c = s->clients; c; c = next) {
		/* Working for the client (its request is with the worker) is
		 * not the client being idle; waiting for it to read is. */
		bool ours = c->rq && !c->rq->paused && !out_pending(c);

		next = c->next;
		/* Activity is noted by flag and stamped here, so the server
		 * needs no clock of its own and tests can drive time. */
		if (c->active || ours) {
			c->active = false;
			c->last_active_ms = now_ms;
		} else if (s->opts.idle_timeout_ms && now_ms - c->last_active_ms >= s->opts.idle_timeout_ms) {
			s->st.idle_closed++;
			if (out_pending(c) || (c->rq && c->rq->paused))
				s->st.slow_closed++;
			client_free(c);
		}
	}
	resume_streams(s);
}

void server_get_stats(const struct server *s, struct server_stats *ret)
{
	*ret = s->st;
}
