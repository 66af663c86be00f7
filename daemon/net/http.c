/* SPDX-License-Identifier: GPL-2.0-only */
/* libcurl's multi-socket interface inside the epoll loop, see http.h. */
#include "net/http.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <curl/curl.h>

#include "base/loop.h"

/* What is kept of a reply body: enough for an error message. */
#define BODY_KEEP 160

struct net_xfer {
	struct net *net;
	CURL *easy;
	struct curl_slist *headers;
	net_done_fn fn;
	void *data;
	char errbuf[CURL_ERROR_SIZE];
	char body[BODY_KEEP + 1];
	size_t body_len;
	struct net_xfer *prev, *next;
};

struct net {
	struct loop *loop;
	CURLM *multi;
	int tfd;                 /* curl's timer */
	struct net_xfer *xfers;  /* in flight */
	struct net_stats stats;
};

static int global_refs;

static void check_done(struct net *n);

static void on_socket(struct loop *l, int fd, uint32_t events, void *data)
{
	struct net *n = data;
	int mask = 0, running;

	(void)l;
	if (events & EPOLLIN)
		mask |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		mask |= CURL_CSELECT_OUT;
	if (events & (EPOLLERR | EPOLLHUP))
		mask |= CURL_CSELECT_ERR;
	curl_multi_socket_action(n->multi, fd, mask, &running);
	check_done(n);
}

static void on_timer(struct loop *l, int fd, uint32_t events, void *data)
{
	struct net *n = data;
	uint64_t exp;
	int running;

	(void)l;
	(void)events;
	if (read(fd, &exp, sizeof(exp)) < 0 && errno != EAGAIN)
		return;
	curl_multi_socket_action(n->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(n);
}

/* CURLMOPT_SOCKETFUNCTION: curl says which events it wants on s. The
 * socket's private pointer (curl_multi_assign) marks it as watched. */
static int sock_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct net *n = userp;
	uint32_t ev = 0;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (socketp) {
			loop_del(n->loop, s);
			curl_multi_assign(n->multi, s, NULL);
			n->stats.sockets--;
		}
		return 0;
	}
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		ev |= EPOLLIN;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		ev |= EPOLLOUT;
	if (!socketp) {
		if (loop_add(n->loop, s, ev, on_socket, n) < 0)
			return -1;
		curl_multi_assign(n->multi, s, n);
		n->stats.sockets++;
		return 0;
	}
	return loop_mod(n->loop, s, ev) < 0 ? -1 : 0;
}

/* CURLMOPT_TIMERFUNCTION: -1 stops the timer; 0 means "as soon as
 * possible", which a timerfd spells as 1 ns (it may not act from inside
 * this callback). */
static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct net *n = userp;
	struct itimerspec its = { 0 };

	(void)multi;
	if (timeout_ms > 0) {
		its.it_value.tv_sec = timeout_ms / 1000;
		its.it_value.tv_nsec = (timeout_ms % 1000) * 1000000;
	} else if (timeout_ms == 0) {
		its.it_value.tv_nsec = 1;
	}
	return timerfd_settime(n->tfd, 0, &its, NULL) < 0 ? -1 : 0;
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userp)
{
	struct net_xfer *x = userp;
	size_t n = size * nmemb, room = BODY_KEEP - x->body_len;

	if (room) {
		size_t c = n < room ? n : room;

		memcpy(x->body + x->body_len, ptr, c);
		x->body_len += c;
	}
	return n; /* the rest is discarded, not an error */
}

int net_new(struct loop *l, struct net **ret)
{
	struct net *n;

	if (global_refs++ == 0 && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		global_refs--;
		return -EIO;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		goto fail;
	n->loop = l;
	n->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (n->tfd < 0) {
		int e = -errno;

		free(n);
		if (--global_refs == 0)
			curl_global_cleanup();
		return e;
	}
	n->multi = curl_multi_init();
	if (!n->multi || loop_add(l, n->tfd, EPOLLIN, on_timer, n) < 0) {
		if (n->multi)
			curl_multi_cleanup(n->multi);
		close(n->tfd);
		free(n);
		goto fail;
	}
	curl_multi_setopt(n->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(n->multi, CURLMOPT_SOCKETDATA, n);
	curl_multi_setopt(n->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(n->multi, CURLMOPT_TIMERDATA, n);
	*ret = n;
	return 0;
fail:
	if (--global_refs == 0)
		curl_global_cleanup();
	return -ENOMEM;
}

static void xfer_free(struct net *n, struct net_xfer *x)
{
	if (x->prev)
		x->prev->next = x->next;
	else
		n->xfers = x->next;
	if (x->next)
		x->next->prev = x->prev;
	curl_multi_remove_handle(n->multi, x->easy);
	curl_easy_cleanup(x->easy);
	curl_slist_free_all(x->headers);
	n->stats.active--;
	free(x);
}

struct net *net_free(struct net *n)
{
	if (!n)
		return NULL;
	while (n->xfers)
		xfer_free(n, n->xfers);
	curl_multi_cleanup(n->multi);
	loop_del(n->loop, n->tfd);
	close(n->tfd);
	free(n);
	if (--global_refs == 0)
		curl_global_cleanup();
	return NULL;
}

/* Map curl's result to an errno class that callers decide retries on. */
static int error_class(CURLcode c)
{
	switch (c) {
	case CURLE_OK:
		return 0;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		return -EPROTO;
	default:
		return -EIO;
	}
}

/* Keep printable ASCII only: a reply body goes into logs and JSON. */
static void printable(char *dst, size_t n, const char *src, size_t len)
{
	size_t j = 0;

	for (size_t i = 0; i < len && j + 1 < n; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[j++] = (c >= 0x20 && c < 0x7f) ? (char)c : ' ';
	}
	while (j && dst[j - 1] == ' ')
		j--;
	dst[j] = '\0';
}

static void check_done(struct net *n)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(n->multi, &left))) {
		struct net_xfer *x = NULL;
		struct net_response r = { 0 };
		curl_off_t ra = 0;
		net_done_fn fn;
		void *data;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		if (!x)
			continue;
		r.error = error_class(m->data.result);
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &r.status);
		if (curl_easy_getinfo(x->easy, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
			r.retry_after_s = (uint64_t)ra;
		if (r.error)
			printable(r.message, sizeof(r.message), x->errbuf[0] ? x->errbuf : curl_easy_strerror(m->data.result),
				  strlen(x->errbuf[0] ? x->errbuf : curl_easy_strerror(m->data.result)));
		else if (r.status < 200 || r.status > 299)
			printable(r.message, sizeof(r.message), x->body, x->body_len);
		fn = x->fn;
		data = x->data;
		/* Free first: the callback may start the next request. */
		xfer_free(n, x);
		fn(&r, data);
	}
}

int net_send(struct net *n, const struct net_request *req, net_done_fn fn, void *data, struct net_xfer **ret)
{
	struct net_xfer *x;
	CURL *e;

	if (!req->url || (strncmp(req->url, "http://", 7) && strncmp(req->url, "https://", 8)))
		return -EINVAL;
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	e = curl_easy_init();
	if (!e) {
		free(x);
		return -ENOMEM;
	}
	x->net = n;
	x->easy = e;
	x->fn = fn;
	x->data = data;
	for (size_t i = 0; i < req->nheaders; i++) {
		struct curl_slist *h = curl_slist_append(x->headers, req->headers[i]);

		if (!h)
			goto oom;
		x->headers = h;
	}
	/* curl would add "Expect: 100-continue" to large bodies and wait a
	 * second for an answer some receivers never send. */
	{
		struct curl_slist *h = curl_slist_append(x->headers, "Expect:");

		if (!h)
			goto oom;
		x->headers = h;
	}
	curl_easy_setopt(e, CURLOPT_URL, req->url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method ? req->method : "POST");
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body ? req->body : "");
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->len);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)req->timeout_ms);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "profd/" PROFD_VERSION);
	if (req->tls) {
		if (req->tls->ca_file)
			curl_easy_setopt(e, CURLOPT_CAINFO, req->tls->ca_file);
		if (req->tls->client_cert)
			curl_easy_setopt(e, CURLOPT_SSLCERT, req->tls->client_cert);
		if (req->tls->client_key)
			curl_easy_setopt(e, CURLOPT_SSLKEY, req->tls->client_key);
		if (req->tls->insecure) {
			curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
			curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
		}
	}
	if (req->auth && req->auth->bearer) {
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
		curl_easy_setopt(e, CURLOPT_XOAUTH2_BEARER, req->auth->bearer);
	} else if (req->auth && req->auth->user) {
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(e, CURLOPT_USERNAME, req->auth->user);
		curl_easy_setopt(e, CURLOPT_PASSWORD, req->auth->password ? req->auth->password : "");
	}
	if (curl_multi_add_handle(n->multi, e) != CURLM_OK)
		goto oom;
	x->next = n->xfers;
	if (n->xfers)
		n->xfers->prev = x;
	n->xfers = x;
	n->stats.requests++;
	n->stats.active++;
	if (ret)
		*ret = x;
	return 0;
oom:
	curl_easy_cleanup(e);
	curl_slist_free_all(x->headers);
	free(x);
	return -ENOMEM;
}

void net_cancel(struct net *n, struct net_xfer *x)
{
	if (x)
		xfer_free(n, x);
}

void net_get_stats(const struct net *n, struct net_stats *ret)
{
	*ret = n->stats;
}
