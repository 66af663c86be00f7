/* SPDX-License-Identifier: GPL-2.0-only */
/* API server: the Unix socket, its non-blocking clients, line framing and
 * request dispatch, with every client-controlled resource bounded and each
 * bound hit counted (see server.h and docs/protocol.md). */
#include "api/server.h"

#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/log.h"
#include "base/loop.h"
#include "common/proto.h"

/* Bytes read per recv() and per wakeup: a chatty client gets its turn
 * but cannot keep the loop from the tick or from other clients. */
#define READ_CHUNK 16384
#define READ_BUDGET (4 * READ_CHUNK)
/* Connections accepted per wakeup of the listening socket, same reason. */
#define ACCEPT_BUDGET 32
/* An output buffer this large is released once flushed, so one big export
 * does not pin its memory for the client's lifetime. */
#define OUT_KEEP_BYTES 65536

struct server_reply {
	struct client *c;
	bool done;
};

struct client {
	struct server *s;
	struct client *prev, *next;
	int fd;
	struct linebuf in;
	char *out;
	size_t out_len, out_off, out_cap;
	uint64_t last_active_ms; /* tick time the client was last seen active */
	bool active;             /* did something since the last tick */
	bool eof;                /* peer shut its write side: close once flushed */
	int err;                 /* a reply could not be queued: drop the client */
	uint32_t events;         /* what the loop watches now */
};

struct server {
	struct loop *loop;
	struct server_opts opts;
	char *path;
	int fd;
	dev_t sock_dev;
	ino_t sock_ino;
	bool accept_paused; /* out of fds: resume on the next tick */
	struct client *clients;
	struct server_stats st;
};

static void client_free(struct client *c)
{
	struct server *s = c->s;

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

/* Appends to the output queue; -ENOBUFS when max_reply would be passed. */
static int out_append(struct client *c, const void *data, size_t n)
{
	size_t pending = c->out_len - c->out_off;
	size_t need;

	if (n > c->s->opts.max_reply || pending > c->s->opts.max_reply - n)
		return -ENOBUFS;
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
	return 0;
}

/* Queues a whole reply (line, then payload) or nothing. A reply larger
 * than max_reply on its own is answered with "busy" instead: the client
 * asked for too much, it is not slow. Returns -ENOBUFS when the client
 * must be dropped for not reading. */
static int queue_reply(struct client *c, char *line, const void *payload, size_t n, bool is_error)
{
	struct server *s = c->s;
	size_t pending = c->out_len - c->out_off;
	size_t len;
	int r;

	if (c->err) {
		free(line);
		return c->err;
	}
	if (!line) {
		line = proto_error(PROFD_E_INTERNAL, "out of memory building the reply");
		payload = NULL;
		n = 0;
		is_error = true;
		if (!line)
			return c->err = -ENOMEM;
	}
	len = strlen(line);
	if (len > s->opts.max_reply || n > s->opts.max_reply - len) {
		free(line);
		line = proto_error(PROFD_E_BUSY, "reply of %zu bytes exceeds the server's max_reply (%zu bytes)",
				   len + n, s->opts.max_reply);
		if (!line)
			return c->err = -ENOMEM;
		len = strlen(line);
		payload = NULL;
		n = 0;
		is_error = true;
	}
	if (pending + len + n > s->opts.max_reply || pending + len + n < pending) {
		free(line);
		return c->err = -ENOBUFS;
	}
	r = out_append(c, line, len);
	if (r == 0 && n)
		r = out_append(c, payload, n);
	free(line);
	if (r < 0) {
		/* Half a reply would desynchronize the stream. */
		c->out_len = c->out_off + pending;
		return c->err = r;
	}
	s->st.requests++;
	if (is_error)
		s->st.errors++;
	return 0;
}

int server_reply_peer(const struct server_reply *r, struct ucred *ret)
{
	socklen_t len = sizeof(*ret);

	if (getsockopt(r->c->fd, SOL_SOCKET, SO_PEERCRED, ret, &len) < 0)
		return -errno;
	return len == sizeof(*ret) ? 0 : -EIO;
}

void server_reply_ok(struct server_reply *r, struct json_object *data)
{
	server_reply_payload(r, data, NULL, 0, NULL);
}

void server_reply_payload(struct server_reply *r, struct json_object *data, const void *payload, size_t n, const char *type)
{
	if (r->done) {
		json_object_put(data);
		log_debug("server: handler replied twice; second reply ignored");
		return;
	}
	r->done = true;
	queue_reply(r->c, proto_ok(data, n, type), payload, n, false);
}

void server_reply_error(struct server_reply *r, const char *code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (r->done) {
		log_debug("server: handler replied twice; second reply ignored");
		return;
	}
	r->done = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	queue_reply(r->c, proto_error(code, "%s", msg), NULL, 0, true);
}

static bool blank(const char *s)
{
	return s[strspn(s, " \t\r")] == '\0';
}

/* Answers every complete line buffered. Returns -ENOBUFS when the client
 * is to be dropped for not reading its replies, -ENOMEM on allocation
 * failure (the client is dropped too), else 0. */
static int client_dispatch(struct client *c)
{
	struct server *s = c->s;
	char *line;
	int r;

	while ((r = linebuf_next(&c->in, &line)) != 0) {
		struct json_object *req;
		const char *cmd, *code;
		char msg[256];

		if (r == -E2BIG) {
			s->st.oversized++;
			r = queue_reply(c, proto_error(PROFD_E_TOO_LARGE, "request line exceeds %zu bytes",
						       s->opts.max_request),
					NULL, 0, true);
		} else if (r < 0) {
			return r;
		} else if (blank(line)) {
			free(line);
			continue;
		} else if (proto_parse_request(line, &req, &cmd, &code, msg, sizeof(msg)) < 0) {
			free(line);
			r = queue_reply(c, proto_error(code, "%s", msg), NULL, 0, true);
		} else {
			struct server_reply reply = { .c = c };

			free(line);
			s->opts.handler(s->opts.userdata, cmd, req, &reply);
			json_object_put(req);
			if (!reply.done)
				server_reply_error(&reply, PROFD_E_INTERNAL, "the command gave no reply");
			r = c->err;
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* Writes what the socket takes. 0 (maybe with data left) or -errno. */
static int client_flush(struct client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -errno; /* EPIPE, ECONNRESET: the client left */
		}
		c->out_off += (size_t)n;
		c->active = true;
	}
	c->out_off = c->out_len = 0;
	if (c->out_cap > OUT_KEEP_BYTES) {
		free(c->out);
		c->out = NULL;
		c->out_cap = 0;
	}
	return 0;
}

/* Reads up to the budget, answering lines as they complete. */
static int client_read(struct client *c)
{
	char buf[READ_CHUNK];
	size_t total = 0;
	int r;

	while (total < READ_BUDGET) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -errno;
		}
		if (n == 0) {
			/* A last request without its '\n' still counts. */
			c->eof = true;
			r = linebuf_feed(&c->in, "\n", 1);
			return r < 0 ? r : client_dispatch(c);
		}
		c->active = true;
		total += (size_t)n;
		r = linebuf_feed(&c->in, buf, (size_t)n);
		if (r == 0)
			r = client_dispatch(c);
		if (r < 0)
			return r;
		/* Backpressure: read no more requests until these replies are
		 * gone, so pipelining cannot grow the queue past one batch. */
		if (c->out_len > c->out_off)
			return 0;
	}
	return 0;
}

static void client_event(struct loop *l, int fd, uint32_t events, void *data)
{
	struct client *c = data;
	uint32_t want;
	int r = 0;

	if (events & EPOLLERR) {
		client_free(c);
		return;
	}
	if (events & EPOLLOUT)
		r = client_flush(c);
	if (r == 0 && (events & (EPOLLIN | EPOLLHUP)) && !c->eof)
		r = client_read(c);
	if (r == 0)
		r = client_flush(c);
	if (r == -ENOBUFS) {
		c->s->st.slow_closed++;
		log_debug("server: client fd %d dropped: not reading its replies", fd);
	}
	if (r < 0 || (c->eof && c->out_len == c->out_off) || ((events & EPOLLHUP) && c->out_len > c->out_off)) {
		client_free(c);
		return;
	}
	/* Pending output: wait to write, and stop reading meanwhile. */
	want = c->out_len > c->out_off ? EPOLLOUT : EPOLLIN;
	if (want != c->events) {
		if (loop_mod(l, c->fd, want) < 0) {
			client_free(c);
			return;
		}
		c->events = want;
	}
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

	for (int i = 0; i < ACCEPT_BUDGET; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
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

/* mkdir -p for the socket's directory; directories made here get exactly
 * 0755 whatever the umask, so clients can reach the socket. */
static int make_parent(const char *path)
{
	char *dir = strdup(path);
	char *slash;
	int r = 0;

	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		goto out;
	*slash = '\0';
	for (char *p = dir + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		if (mkdir(dir, 0755) == 0) {
			if (chmod(dir, 0755) < 0) {
				r = -errno;
				goto out;
			}
		} else if (errno != EEXIST) {
			r = -errno;
			goto out;
		}
		*p = saved;
		if (!saved)
			break;
	}
out:
	free(dir);
	return r;
}

/* A socket file left by a crashed daemon is removed; one a live daemon
 * answers on, or any other kind of file, is left alone. */
static int clear_stale(const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, r;

	if (lstat(sa->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 ? -errno : 0;
	close(fd);
	if (r == -ECONNREFUSED)
		return unlink(sa->sun_path) < 0 && errno != ENOENT ? -errno : 0;
	if (r == -ENOENT)
		return 0;
	/* Connected, or EAGAIN (backlog full): someone is serving there. */
	return r == 0 || r == -EAGAIN ? -EADDRINUSE : r;
}

static int server_bind(struct server *s, const char *group, gid_t gid)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int r;

	if (strlen(s->path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, s->path);
	r = make_parent(s->path);
	if (r < 0) {
		return log_err_errno(r, "server: create directory for %s: %m", s->path);
	}
	r = clear_stale(&sa);
	if (r < 0) {
		log_err("server: %s: %s", s->path,
			r == -EADDRINUSE ? "another profd is answering on it" :
			r == -EEXIST ? "exists and is not a socket" : strerror(-r));
		return r;
	}
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->fd < 0)
		return -errno;
	/* Created owner-only, then opened up to opts->mode: nobody can slip
	 * in between bind() and chmod(). The daemon has one thread, so the
	 * process-wide umask change is not a race. */
	old = umask(0177);
	r = bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	umask(old);
	if (r < 0) {
		return log_err_errno(r, "server: bind %s: %m", s->path);
	}
	if (lstat(s->path, &st) == 0) {
		s->sock_dev = st.st_dev;
		s->sock_ino = st.st_ino;
	}
	if (gid != (gid_t)-1 && chown(s->path, (uid_t)-1, gid) < 0) {
		r = log_err_errno(errno, "server: chown %s to group %s: %m", s->path, group);
		goto unlink;
	}
	if (chmod(s->path, s->opts.mode) < 0) {
		r = log_err_errno(errno, "server: chmod %s: %m", s->path);
		goto unlink;
	}
	if (listen(s->fd, SOMAXCONN) < 0) {
		r = log_err_errno(errno, "server: listen %s: %m", s->path);
		goto unlink;
	}
	return 0;
unlink:
	unlink(s->path);
	return r;
}

int server_new(struct loop *l, const struct server_opts *opts, struct server **ret)
{
	struct server *s;
	gid_t gid = (gid_t)-1;
	int r;

	if (!l || !opts || !opts->path || !opts->handler || !opts->max_clients || !opts->max_request ||
	    !opts->max_reply)
		return -EINVAL;
	if (opts->group) {
		struct group *g = getgrnam(opts->group);
		if (g)
			gid = g->gr_gid;
		else
			log_warn("server: group '%s' not found; %s keeps its creator's group", opts->group, opts->path);
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->loop = l;
	s->opts = *opts;
	s->fd = -1;
	s->path = strdup(opts->path);
	s->opts.path = s->path;
	s->opts.group = NULL; /* not kept: the caller's string may go */
	if (!s->path) {
		r = -ENOMEM;
		goto fail;
	}
	r = server_bind(s, opts->group, gid);
	if (r < 0)
		goto fail;
	r = loop_add(l, s->fd, EPOLLIN, server_accept, s);
	if (r < 0) {
		unlink(s->path);
		goto fail;
	}
	*ret = s;
	return 0;
fail:
	if (s->fd >= 0)
		close(s->fd);
	free(s->path);
	free(s);
	return r;
}

struct server *server_free(struct server *s)
{
	struct stat st;

	if (!s)
		return NULL;
	while (s->clients)
		client_free(s->clients);
	if (s->fd >= 0) {
		loop_del(s->loop, s->fd);
		close(s->fd);
	}
	/* Only our own socket: a newer daemon may have replaced the file. */
	if (lstat(s->path, &st) == 0 && st.st_dev == s->sock_dev && st.st_ino == s->sock_ino)
		unlink(s->path);
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
		next = c->next;
		/* Activity is noted by flag and stamped here, so the server
		 * needs no clock of its own and tests can drive time. */
		if (c->active) {
			c->active = false;
			c->last_active_ms = now_ms;
		} else if (s->opts.idle_timeout_ms && now_ms - c->last_active_ms >= s->opts.idle_timeout_ms) {
			s->st.idle_closed++;
			client_free(c);
		}
	}
}

void server_get_stats(const struct server *s, struct server_stats *ret)
{
	*ret = s->st;
}
