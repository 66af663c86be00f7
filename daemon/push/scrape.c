/* SPDX-License-Identifier: GPL-2.0-only */
/* The scrape endpoint, see scrape.h. */
#include "push/scrape.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/loop.h"
#include "common/clock.h"

struct client {
	struct scrape *s;
	int fd;
	char req[SCRAPE_MAX_REQUEST + 1];
	size_t rlen;
	char *out;              /* reply being written */
	size_t olen, opos;
	uint64_t last_ms;
	struct client *next;
};

struct scrape {
	struct loop *loop;
	int fd, port;
	uint32_t max_clients;
	char *body;
	size_t blen;
	struct client *clients;
	struct scrape_stats st;
};

static void client_close(struct scrape *s, struct client *c)
{
	struct client **pp = &s->clients;

	while (*pp && *pp != c)
		pp = &(*pp)->next;
	if (*pp)
		*pp = c->next;
	loop_del(s->loop, c->fd);
	close(c->fd);
	free(c->out);
	free(c);
	s->st.clients--;
}

/* Build the reply to the request in c->req. */
static int reply(struct client *c)
{
	struct scrape *s = c->s;
	char method[8] = "", path[64] = "", head[256];
	const char *status = "200 OK", *ctype = "text/plain; version=0.0.4; charset=utf-8";
	const char *body = s->body ? s->body : "";
	size_t blen = s->body ? s->blen : 0;
	int hl;

	sscanf(c->req, "%7s %63s", method, path);
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		status = "405 Method Not Allowed";
		body = "only GET\n";
		blen = strlen(body);
		ctype = "text/plain";
		s->st.not_found++;
	} else if (strcmp(path, "/metrics") && strncmp(path, "/metrics?", 9)) {
		status = "404 Not Found";
		body = "profd serves /metrics\n";
		blen = strlen(body);
		ctype = "text/plain";
		s->st.not_found++;
	} else {
		s->st.served++;
	}
	hl = snprintf(head, sizeof(head),
		      "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", status,
		      ctype, blen);
	if (!strcmp(method, "HEAD"))
		blen = 0;
	c->out = malloc((size_t)hl + blen);
	if (!c->out)
		return -ENOMEM;
	memcpy(c->out, head, (size_t)hl);
	memcpy(c->out + hl, body, blen);
	c->olen = (size_t)hl + blen;
	c->opos = 0;
	return 0;
}

static void on_client(struct loop *l, int fd, uint32_t events, void *data)
{
	struct client *c = data;
	struct scrape *s = c->s;

	(void)l;
	c->last_ms = clock_mono_ms();
	if (events & (EPOLLERR | EPOLLHUP) && !(events & EPOLLIN)) {
		client_close(s, c);
		return;
	}
	if (!c->out && (events & EPOLLIN)) {
		ssize_t n = read(fd, c->req + c->rlen, SCRAPE_MAX_REQUEST - c->rlen);

		if (n <= 0) {
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return;
			client_close(s, c);
			return;
		}
		c->rlen += (size_t)n;
		c->req[c->rlen] = '\0';
		if (!strstr(c->req, "\r\n\r\n") && !strstr(c->req, "\n\n")) {
			if (c->rlen == SCRAPE_MAX_REQUEST) {
				s->st.oversized++;
				client_close(s, c);
			}
			return;
		}
		if (reply(c) < 0) {
			client_close(s, c);
			return;
		}
		loop_mod(s->loop, fd, EPOLLOUT);
		return;
	}
	if (c->out && (events & EPOLLOUT)) {
		ssize_t n = write(fd, c->out + c->opos, c->olen - c->opos);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			client_close(s, c);
			return;
		}
		c->opos += (size_t)n;
		if (c->opos == c->olen)
			client_close(s, c);
	}
}

static void on_listen(struct loop *l, int fd, uint32_t events, void *data)
{
	struct scrape *s = data;

	(void)events;
	for (;;) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct client *c;

		if (cfd < 0)
			return;
		s->st.accepted++;
		if (s->st.clients >= s->max_clients) {
			s->st.rejected++;
			close(cfd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c || loop_add(l, cfd, EPOLLIN, on_client, c) < 0) {
			free(c);
			close(cfd);
			continue;
		}
		c->s = s;
		c->fd = cfd;
		c->last_ms = clock_mono_ms();
		c->next = s->clients;
		s->clients = c;
		s->st.clients++;
	}
}

/* "host:port" or "[v6]:port" into a socket address. */
static int parse_addr(const char *addr, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64];
	const char *colon;
	char *end;
	unsigned long port;

	if (addr[0] == '[') {
		const char *close_br = strchr(addr, ']');

		if (!close_br || close_br[1] != ':' || (size_t)(close_br - addr - 1) >= sizeof(host))
			return -EINVAL;
		snprintf(host, sizeof(host), "%.*s", (int)(close_br - addr - 1), addr + 1);
		colon = close_br + 1;
	} else {
		colon = strrchr(addr, ':');
		if (!colon || (size_t)(colon - addr) >= sizeof(host))
			return -EINVAL;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
	}
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || port > 65535 || errno)
		return -EINVAL;
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		((struct sockaddr_in *)ss)->sin_family = AF_INET;
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
		*len = sizeof(struct sockaddr_in);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
		*len = sizeof(struct sockaddr_in6);
		return 0;
	}
	return -EINVAL;
}

int scrape_new(struct loop *l, const char *addr, uint32_t max_clients, struct scrape **ret)
{
	struct sockaddr_storage ss;
	socklen_t len;
	struct scrape *s;
	int one = 1, r;

	r = parse_addr(addr, &ss, &len);
	if (r < 0)
		return r;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->loop = l;
	s->max_clients = max_clients ? max_clients : 1;
	s->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		r = -errno;
		free(s);
		return r;
	}
	setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s->fd, (struct sockaddr *)&ss, len) < 0 || listen(s->fd, 64) < 0 ||
	    getsockname(s->fd, (struct sockaddr *)&ss, &len) < 0) {
		r = -errno;
		close(s->fd);
		free(s);
		return r;
	}
	s->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
						: ((struct sockaddr_in6 *)&ss)->sin6_port);
	r = loop_add(l, s->fd, EPOLLIN, on_listen, s);
	if (r < 0) {
		close(s->fd);
		free(s);
		return r;
	}
	*ret = s;
	return 0;
}

struct scrape *scrape_free(struct scrape *s)
{
	if (!s)
		return NULL;
	while (s->clients)
		client_close(s, s->clients);
	loop_del(s->loop, s->fd);
	close(s->fd);
	free(s->body);
	free(s);
	return NULL;
}

int scrape_set_body(struct scrape *s, const char *body, size_t len)
{
	char *b = malloc(len + 1);

	if (!b)
		return -ENOMEM;
	memcpy(b, body, len);
	b[len] = '\0';
	free(s->body);
	s->body = b;
	s->blen = len;
	return 0;
}

void scrape_tick(struct scrape *s, uint64_t now_ms)
{
	struct client *c = s->clients, *next;

	for (; c; c = next) {
		next = c->next;
		if (now_ms - c->last_ms > SCRAPE_IDLE_MS) {
			s->st.idle_closed++;
			client_close(s, c);
		}
	}
}

int scrape_port(const struct scrape *s)
{
	return s->port;
}

void scrape_get_stats(const struct scrape *s, struct scrape_stats *ret)
{
	*ret = s->st;
}
