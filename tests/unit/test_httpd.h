/* SPDX-License-Identifier: GPL-2.0-only */
/* A scripted HTTP/1.1 receiver for unit tests: a thread on 127.0.0.1 that
 * answers each request with the next scripted reply (200 when the script
 * is exhausted) and records what it received. One request per connection
 * (it answers "Connection: close"). Header-only: static functions. */
#ifndef PROFD_TEST_HTTPD_H
#define PROFD_TEST_HTTPD_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HTTPD_MAX_REQ 64
#define HTTPD_MAX_BODY (1 << 20)

struct httpd_reply {
	int status;             /* 0: close without replying */
	const char *headers;    /* extra header lines, each ending "\r\n" */
	const char *body;
	int delay_ms;           /* before replying */
};

struct httpd_req {
	char method[8];
	char path[512];
	char head[4096];        /* request line and headers */
	char *body;
	size_t len;
	uint64_t at_ms;         /* CLOCK_MONOTONIC when received */
};

struct httpd {
	int fd, port, stop;
	pthread_t thr;
	pthread_mutex_t mu;
	struct httpd_reply script[16];
	int nscript, next;
	struct httpd_req req[HTTPD_MAX_REQ];
	int nreq;
};

static uint64_t httpd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void httpd_serve_one(struct httpd *h, int c)
{
	char buf[8192 + HTTPD_MAX_BODY];
	size_t got = 0, need = 0, hlen = 0;
	struct httpd_reply rep = { .status = 200, .body = "" };
	struct httpd_req *rq;
	char out[1024];
	int n;

	for (;;) {
		struct pollfd p = { .fd = c, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, 5000) <= 0)
			return;
		r = read(c, buf + got, sizeof(buf) - 1 - got);
		if (r <= 0)
			return;
		got += (size_t)r;
		buf[got] = '\0';
		if (!hlen) {
			char *e = strstr(buf, "\r\n\r\n"), *cl;

			if (!e)
				continue;
			hlen = (size_t)(e - buf) + 4;
			cl = strcasestr(buf, "\r\nContent-Length:");
			need = cl && cl < e ? strtoul(cl + 17, NULL, 10) : 0;
		}
		if (got >= hlen + need)
			break;
	}
	pthread_mutex_lock(&h->mu);
	if (h->next < h->nscript)
		rep = h->script[h->next++];
	if (h->nreq < HTTPD_MAX_REQ) {
		rq = &h->req[h->nreq++];
		sscanf(buf, "%7s %511s", rq->method, rq->path);
		snprintf(rq->head, sizeof(rq->head), "%.*s", (int)hlen, buf);
		rq->body = malloc(need + 1);
		memcpy(rq->body, buf + hlen, need);
		rq->body[need] = '\0';
		rq->len = need;
		rq->at_ms = httpd_now_ms();
	}
	pthread_mutex_unlock(&h->mu);
	if (rep.delay_ms)
		usleep((useconds_t)rep.delay_ms * 1000);
	if (!rep.status)
		return;
	n = snprintf(out, sizeof(out), "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n%s",
		     rep.status, strlen(rep.body ? rep.body : ""), rep.headers ? rep.headers : "",
		     rep.body ? rep.body : "");
	if (write(c, out, (size_t)n) < 0)
		return;
}

static void *httpd_main(void *arg)
{
	struct httpd *h = arg;

	while (!h->stop) {
		struct pollfd p = { .fd = h->fd, .events = POLLIN };
		int c;

		if (poll(&p, 1, 50) <= 0)
			continue;
		c = accept(h->fd, NULL, NULL);
		if (c < 0)
			continue;
		httpd_serve_one(h, c);
		close(c);
	}
	return NULL;
}

static int httpd_start(struct httpd *h)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);

	memset(h, 0, sizeof(*h));
	pthread_mutex_init(&h->mu, NULL);
	h->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (h->fd < 0 || bind(h->fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(h->fd, 16) < 0 ||
	    getsockname(h->fd, (struct sockaddr *)&a, &al) < 0)
		return -1;
	h->port = ntohs(a.sin_port);
	return pthread_create(&h->thr, NULL, httpd_main, h) ? -1 : 0;
}

static void httpd_script(struct httpd *h, const struct httpd_reply *r, int n)
{
	pthread_mutex_lock(&h->mu);
	memcpy(h->script, r, (size_t)n * sizeof(*r));
	h->nscript = n;
	h->next = 0;
	pthread_mutex_unlock(&h->mu);
}

static int httpd_count(struct httpd *h)
{
	int n;

	pthread_mutex_lock(&h->mu);
	n = h->nreq;
	pthread_mutex_unlock(&h->mu);
	return n;
}

static void httpd_stop(struct httpd *h)
{
	h->stop = 1;
	pthread_join(h->thr, NULL);
	close(h->fd);
	for (int i = 0; i < h->nreq; i++)
		free(h->req[i].body);
}

/* A port on 127.0.0.1 that nothing listens on (bound, then closed). */
static int httpd_dead_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port;

	bind(fd, (struct sockaddr *)&a, sizeof(a));
	getsockname(fd, (struct sockaddr *)&a, &al);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

#endif
