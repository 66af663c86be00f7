/* SPDX-License-Identifier: GPL-2.0-only */
/* A delivery destination: bounded queue, retries, optional spool; see
 * target.h. */
#include "net/target.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "common/clock.h"
#include "net/spool.h"

/* A Retry-After beyond this is taken as this: a receiver that asks for a
 * day would otherwise stall the queue until its bound drops everything. */
#define RETRY_AFTER_MAX_S 3600

struct entry {
	uint64_t seq;
	uint64_t created_ms;
	uint64_t bytes;     /* accounted size: on disk, or suffix + body in memory */
	char *suffix;       /* NULL when spooled */
	char *body;         /* NULL when spooled */
	char *key;          /* net_target_enqueue_keyed's, NULL: none */
	size_t len;
	int spooled;
	struct entry *next;
};

struct net_target {
	struct net *net;
	char *name, *url, *method;
	char **headers;
	size_t nheaders;
	struct net_tls tls;
	struct net_auth auth;
	uint32_t timeout_ms, queue_max;
	uint64_t queue_bytes, spool_max;
	uint32_t backoff_min, backoff_max, max_attempts;
	char *prefix;
	struct spool *spool;

	struct entry *head, *tail;
	uint64_t count, mem_bytes;
	uint64_t next_seq;

	/* the head payload while in flight */
	struct net_xfer *xfer;
	struct entry *cur;
	char *cur_url;
	char *cur_body;     /* read from the spool, freed when done */
	uint32_t attempts;  /* failed attempts of the head payload */
	uint64_t next_attempt_ms;
	int failing;        /* the last attempt failed: log recovery once */
	uint32_t rnd;

	struct net_target_stats st;
};

static uint64_t unix_ms(void)
{
	return clock_ns(CLOCK_REALTIME) / 1000000ull;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

uint64_t net_backoff_ms(uint32_t attempt, uint32_t min_ms, uint32_t max_ms, uint32_t rnd, uint64_t retry_after_s)
{
	uint64_t d = min_ms ? min_ms : 1, j;

	for (uint32_t i = 1; i < attempt && d < max_ms; i++)
		d *= 2;
	if (d > max_ms)
		d = max_ms;
	/* "equal jitter": half fixed so the delay still grows, half random
	 * so a fleet that lost the same receiver does not retry in step */
	j = d / 2 + (d - d / 2) * (uint64_t)rnd / UINT32_MAX;
	if (retry_after_s > RETRY_AFTER_MAX_S)
		retry_after_s = RETRY_AFTER_MAX_S;
	if (j < retry_after_s * 1000)
		j = retry_after_s * 1000;
	return j;
}

int net_should_retry(const struct net_response *r)
{
	if (r->error)
		return r->error != -ECANCELED;
	return r->status == 408 || r->status == 429 || r->status >= 500 || r->status == 0;
}

static uint32_t next_rnd(struct net_target *t)
{
	/* xorshift32: jitter needs spread, not secrecy */
	uint32_t x = t->rnd;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return t->rnd = x;
}

static void entry_free(struct entry *e)
{
	if (!e)
		return;
	free(e->suffix);
	free(e->body);
	free(e->key);
	free(e);
}

static void append(struct net_target *t, struct entry *e)
{
	e->next = NULL;
	if (t->tail)
		t->tail->next = e;
	else
		t->head = e;
	t->tail = e;
	t->count++;
	if (!e->spooled)
		t->mem_bytes += e->bytes;
}

/* Unlink e (whose predecessor is prev, NULL for the head) and forget it,
 * on disk too. */
static void unlink_entry(struct net_target *t, struct entry *prev, struct entry *e)
{
	if (prev)
		prev->next = e->next;
	else
		t->head = e->next;
	if (t->tail == e)
		t->tail = prev;
	t->count--;
	if (e->spooled)
		spool_remove(t->spool, e->seq, e->bytes);
	else
		t->mem_bytes -= e->bytes;
	entry_free(e);
}

static void on_found(uint64_t seq, uint64_t created_ms, uint64_t bytes, void *ctx)
{
	struct net_target *t = ctx;
	struct entry *e = calloc(1, sizeof(*e));

	if (!e) {
		/* left on disk, picked up at the next start */
		return;
	}
	e->seq = seq;
	e->created_ms = created_ms;
	e->bytes = bytes;
	e->spooled = 1;
	append(t, e);
	if (seq >= t->next_seq)
		t->next_seq = seq + 1;
}

int net_target_new(struct net *n, const struct net_target_opts *o, struct net_target **ret)
{
	struct net_target *t;
	int r;

	if (!o->name || !o->url || o->queue_max < 1)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->net = n;
	t->name = strdup(o->name);
	t->url = strdup(o->url);
	t->method = strdup(o->method ? o->method : "POST");
	t->prefix = strdup(o->log_prefix ? o->log_prefix : "push");
	t->headers = calloc(o->nheaders + 1, sizeof(*t->headers));
	t->tls.ca_file = dup_or_null(o->tls.ca_file);
	t->tls.client_cert = dup_or_null(o->tls.client_cert);
	t->tls.client_key = dup_or_null(o->tls.client_key);
	t->tls.insecure = o->tls.insecure;
	t->auth.bearer = dup_or_null(o->auth.bearer);
	t->auth.user = dup_or_null(o->auth.user);
	t->auth.password = dup_or_null(o->auth.password);
	if (!t->name || !t->url || !t->method || !t->prefix || !t->headers || (o->tls.ca_file && !t->tls.ca_file) ||
	    (o->tls.client_cert && !t->tls.client_cert) || (o->tls.client_key && !t->tls.client_key) ||
	    (o->auth.bearer && !t->auth.bearer) || (o->auth.user && !t->auth.user) ||
	    (o->auth.password && !t->auth.password)) {
		r = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < o->nheaders; i++) {
		t->headers[i] = strdup(o->headers[i]);
		if (!t->headers[i]) {
			r = -ENOMEM;
			goto fail;
		}
		t->nheaders++;
	}
	t->timeout_ms = o->timeout_ms ? o->timeout_ms : 10000;
	t->queue_max = o->queue_max;
	t->queue_bytes = o->queue_bytes ? o->queue_bytes : UINT64_MAX;
	t->spool_max = o->spool_bytes ? o->spool_bytes : UINT64_MAX;
	t->backoff_min = o->backoff_min_ms ? o->backoff_min_ms : 1000;
	t->backoff_max = o->backoff_max_ms >= t->backoff_min ? o->backoff_max_ms : t->backoff_min;
	t->max_attempts = o->max_attempts;
	t->rnd = (uint32_t)(clock_mono_ns() ^ (uintptr_t)t) | 1;
	t->next_seq = 1;
	if (o->state_dir) {
		r = spool_open(o->state_dir, o->name, on_found, t, &t->spool);
		if (r < 0)
			goto fail;
	}
	*ret = t;
	return 0;
fail:
	net_target_free(t);
	return r;
}

struct net_target *net_target_free(struct net_target *t)
{
	if (!t)
		return NULL;
	if (t->xfer)
		net_cancel(t->net, t->xfer);
	while (t->head) {
		struct entry *e = t->head;

		t->head = e->next;
		entry_free(e);
	}
	t->spool = spool_free(t->spool);
	for (size_t i = 0; i < t->nheaders; i++)
		free(t->headers[i]);
	free(t->headers);
	free((char *)t->tls.ca_file);
	free((char *)t->tls.client_cert);
	free((char *)t->tls.client_key);
	/* credentials: cleared before they go back to the allocator */
	if (t->auth.bearer)
		explicit_bzero((char *)t->auth.bearer, strlen(t->auth.bearer));
	if (t->auth.password)
		explicit_bzero((char *)t->auth.password, strlen(t->auth.password));
	free((char *)t->auth.bearer);
	free((char *)t->auth.user);
	free((char *)t->auth.password);
	free(t->cur_url);
	free(t->cur_body);
	free(t->name);
	free(t->url);
	free(t->method);
	free(t->prefix);
	free(t);
	return NULL;
}

static void set_error(struct net_target *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(struct net_target *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->st.last_error, sizeof(t->st.last_error), fmt, ap);
	va_end(ap);
	t->st.last_error_ms = unix_ms();
}

static void start(struct net_target *t, uint64_t now);

static void finish_current(struct net_target *t)
{
	free(t->cur_url);
	free(t->cur_body);
	t->cur_url = NULL;
	t->cur_body = NULL;
	t->cur = NULL;
	t->xfer = NULL;
}

static void on_done(const struct net_response *r, void *data)
{
	struct net_target *t = data;
	struct entry *e = t->cur;
	uint64_t now = clock_mono_ms();

	t->xfer = NULL;
	t->st.last_status = r->status;
	if (!r->error && r->status >= 200 && r->status <= 299) {
		t->st.sent++;
		t->st.last_success_ms = unix_ms();
		if (t->failing)
			log_info("%s %s: delivering again (%" PRIu64 " queued)", t->prefix, t->name, t->count - 1);
		t->failing = 0;
		t->attempts = 0;
		t->next_attempt_ms = 0;
		finish_current(t);
		if (e == t->head)
			unlink_entry(t, NULL, e);
		start(t, now);
		return;
	}
	if (r->error)
		set_error(t, "%s", r->message[0] ? r->message : strerror(-r->error));
	else
		set_error(t, "HTTP %ld%s%s", r->status, r->message[0] ? ": " : "", r->message);
	t->st.attempt_failures++;
	if (net_should_retry(r) && (!t->max_attempts || t->attempts + 1 < t->max_attempts)) {
		t->st.retried++;
		t->attempts++;
		t->next_attempt_ms = now + net_backoff_ms(t->attempts, t->backoff_min, t->backoff_max, next_rnd(t),
							  r->retry_after_s);
		if (!t->failing)
			log_warn("%s %s: %s; retrying with back-off, %" PRIu64 " queued", t->prefix, t->name,
				 t->st.last_error, t->count);
		else
			log_debug("%s %s: retry %u failed: %s", t->prefix, t->name, t->attempts, t->st.last_error);
		t->failing = 1;
		finish_current(t);
		return;
	}
	if (net_should_retry(r)) {
		/* max_attempts: given up */
		t->st.dropped++;
		log_warn("%s %s: payload dropped after %u attempts: %s", t->prefix, t->name, t->attempts + 1,
			 t->st.last_error);
	} else {
		/* refused: retrying the same payload would be refused again */
		t->st.failed++;
		log_warn("%s %s: payload refused, not retried: %s", t->prefix, t->name, t->st.last_error);
	}
	t->attempts = 0;
	t->next_attempt_ms = 0;
	finish_current(t);
	if (e == t->head)
		unlink_entry(t, NULL, e);
	start(t, now);
}

/* Send the head payload unless one is in flight or backing off. */
static void start(struct net_target *t, uint64_t now)
{
	struct entry *e;
	const char *suffix, *body;
	size_t len, ulen;
	int r;

	while ((e = t->head) && !t->xfer) {
		if (t->next_attempt_ms && now < t->next_attempt_ms)
			return;
		t->next_attempt_ms = 0;
		if (e->spooled) {
			char *s = NULL, *b = NULL;

			r = spool_read(t->spool, e->seq, &s, &b, &len);
			if (r < 0) {
				/* unreadable: gone, or altered on disk (the
				 * spool counts those it removes) */
				if (r != -EBADMSG)
					t->st.dropped++;
				set_error(t, "spool payload %" PRIu64 " unreadable: %s", e->seq, strerror(-r));
				log_warn("%s %s: %s; dropped", t->prefix, t->name, t->st.last_error);
				unlink_entry(t, NULL, e);
				continue;
			}
			t->cur_body = b;
			suffix = s;
			body = b;
			ulen = strlen(t->url) + strlen(s) + 1;
			t->cur_url = malloc(ulen);
			if (t->cur_url)
				snprintf(t->cur_url, ulen, "%s%s", t->url, s);
			free(s);
		} else {
			suffix = e->suffix ? e->suffix : "";
			body = e->body;
			len = e->len;
			ulen = strlen(t->url) + strlen(suffix) + 1;
			t->cur_url = malloc(ulen);
			if (t->cur_url)
				snprintf(t->cur_url, ulen, "%s%s", t->url, suffix);
		}
		if (!t->cur_url) {
			finish_current(t);
			t->next_attempt_ms = now + t->backoff_min;
			return;
		}
		t->cur = e;
		r = net_send(t->net,
			     &(struct net_request){
				     .url = t->cur_url,
				     .method = t->method,
				     .headers = (const char *const *)t->headers,
				     .nheaders = t->nheaders,
				     .body = body,
				     .len = len,
				     .timeout_ms = t->timeout_ms,
				     .tls = &t->tls,
				     .auth = &t->auth,
			     },
			     on_done, t, &t->xfer);
		if (r < 0) {
			set_error(t, "cannot start a request: %s", strerror(-r));
			finish_current(t);
			t->next_attempt_ms = now + t->backoff_min;
			return;
		}
	}
}

/* Drop the oldest payload not in flight; 0, or -ENOENT if none. */
static int drop_oldest(struct net_target *t)
{
	struct entry *prev = NULL, *e = t->head;

	if (e && e == t->cur) {
		prev = e;
		e = e->next;
	}
	if (!e)
		return -ENOENT;
	t->st.dropped++;
	unlink_entry(t, prev, e);
	return 0;
}

/* A waiting payload of key taken over by a newer one: same place in the
 * queue. 1 when replaced, 0 when none waits, -ENOMEM. */
static int supersede(struct net_target *t, const char *key, const char *suffix, const void *body, size_t len)
{
	for (struct entry *e = t->head; e; e = e->next) {
		char *s, *b;
		size_t slen = suffix ? strlen(suffix) : 0;

		if (e == t->cur || e->spooled || !e->key || strcmp(e->key, key))
			continue;
		if (t->mem_bytes - e->bytes + slen + len > t->queue_bytes)
			return 0; /* does not fit in its place: queued anew */
		s = strdup(suffix ? suffix : "");
		b = malloc(len + 1);
		if (!s || !b) {
			free(s);
			free(b);
			return -ENOMEM;
		}
		memcpy(b, body, len);
		b[len] = '\0';
		free(e->suffix);
		free(e->body);
		e->suffix = s;
		e->body = b;
		e->len = len;
		t->mem_bytes = t->mem_bytes - e->bytes + slen + len;
		e->bytes = slen + len;
		t->st.superseded++;
		return 1;
	}
	return 0;
}

int net_target_enqueue_keyed(struct net_target *t, const char *key, const char *suffix, const void *body,
			     size_t len, uint64_t now)
{
	int r;

	if (key) {
		r = supersede(t, key, suffix, body, len);
		if (r < 0) {
			t->st.dropped++;
			return r;
		}
		if (r) {
			start(t, now);
			return 0;
		}
	}
	r = net_target_enqueue(t, suffix, body, len, now);
	/* the new payload is the tail unless it was refused */
	if (!r && key && t->tail && !t->tail->spooled && !t->tail->key && t->tail->seq == t->next_seq - 1) {
		t->tail->key = strdup(key);
		if (!t->tail->key)
			return -ENOMEM; /* sent, just not replaceable */
	}
	return r;
}

int net_target_enqueue(struct net_target *t, const char *suffix, const void *body, size_t len, uint64_t now)
{
	size_t slen = suffix ? strlen(suffix) : 0;
	struct entry *e;
	int r;

	if ((!t->spool && slen + len > t->queue_bytes) || len > SPOOL_MAX_PAYLOAD) {
		t->st.dropped++;
		set_error(t, "payload of %zu bytes is larger than the queue", len);
		return -E2BIG;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		t->st.dropped++;
		return -ENOMEM;
	}
	e->seq = t->next_seq++;
	e->created_ms = unix_ms();
	e->len = len;
	if (t->spool) {
		struct spool_stats ss;
		uint64_t need = SPOOL_HEADER_SIZE + slen + len;

		spool_get_stats(t->spool, &ss);
		while (t->count + 1 > t->queue_max || ss.bytes + need > t->spool_max) {
			if (drop_oldest(t) < 0)
				break;
			spool_get_stats(t->spool, &ss);
		}
		r = spool_write(t->spool, e->seq, e->created_ms, suffix, body, len, &e->bytes);
		if (r == 0) {
			e->spooled = 1;
			append(t, e);
			goto started;
		}
		t->st.spool_errors++;
		set_error(t, "spool write: %s", strerror(-r));
		log_warn("%s %s: %s; keeping the payload in memory", t->prefix, t->name, t->st.last_error);
	}
	e->suffix = strdup(suffix ? suffix : "");
	e->body = malloc(len + 1);
	if (!e->suffix || !e->body) {
		entry_free(e);
		t->st.dropped++;
		return -ENOMEM;
	}
	memcpy(e->body, body, len);
	e->body[len] = '\0';
	e->bytes = slen + len;
	while (t->count + 1 > t->queue_max || t->mem_bytes + e->bytes > t->queue_bytes)
		if (drop_oldest(t) < 0)
			break;
	if (t->count + 1 > t->queue_max || t->mem_bytes + e->bytes > t->queue_bytes) {
		/* only the payload in flight is left and the new one does not
		 * fit beside it */
		entry_free(e);
		t->st.dropped++;
		return 0;
	}
	append(t, e);
started:
	start(t, now);
	return 0;
}

void net_target_poll(struct net_target *t, uint64_t now)
{
	start(t, now);
}

void net_target_get_stats(const struct net_target *t, struct net_target_stats *ret)
{
	*ret = t->st;
	ret->queued = t->count;
	ret->queued_bytes = t->mem_bytes;
	ret->in_flight = t->xfer != NULL;
	ret->next_attempt_ms = t->next_attempt_ms;
	if (t->spool) {
		struct spool_stats ss;

		spool_get_stats(t->spool, &ss);
		ret->spool_bytes = ss.bytes;
		ret->dropped += ss.corrupt;
	}
}

const char *net_target_name(const struct net_target *t)
{
	return t->name;
}
