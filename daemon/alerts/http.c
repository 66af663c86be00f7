/* SPDX-License-Identifier: GPL-2.0-only */
/* HTTP delivery queue and the Alertmanager/webhook receivers, see http.h. */
#include "alerts/http.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "base/threads.h"
#include "common/clock.h"

/* Attempts in flight at once per receiver. */
#define HTTP_MAX_INFLIGHT 4
/* The worker wakes at least this often (ms) to start due retries. */
#define HTTP_POLL_MS 1000

struct msg {
	struct msg *next, *prev;
	char *key;
	char *body;
	size_t len;
	uint32_t attempts;
	uint64_t due_ms;            /* CLOCK_MONOTONIC ms */
	CURL *easy;                 /* non-NULL while in flight */
	struct curl_slist *hdrs;
	char errbuf[CURL_ERROR_SIZE];
};

struct http_queue {
	char *url;
	struct http_queue_opts o;
	pthread_mutex_t lock;
	pthread_t thread;
	int started, stop;
	CURLM *multi;
	struct msg *head, *tail;    /* FIFO */
	size_t n, inflight;
	unsigned seed;
	struct alert_sink_stats st;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int64_t unix_now(void)
{
	return (int64_t)time(NULL);
}

static void msg_free(struct msg *m)
{
	if (!m)
		return;
	curl_slist_free_all(m->hdrs);
	free(m->key);
	free(m->body);
	free(m);
}

static void unlink_msg(struct http_queue *q, struct msg *m)
{
	if (m->prev)
		m->prev->next = m->next;
	else
		q->head = m->next;
	if (m->next)
		m->next->prev = m->prev;
	else
		q->tail = m->prev;
	q->n--;
}

static void set_error(struct http_queue *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(struct http_queue *q, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(q->st.last_error, sizeof(q->st.last_error), fmt, ap);
	va_end(ap);
	q->st.last_error_unix = unix_now();
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

/* Start an attempt of m. Called with the lock held. */
static int start(struct http_queue *q, struct msg *m)
{
	CURL *e = curl_easy_init();

	if (!e)
		return -ENOMEM;
	if (!m->hdrs)
		m->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	m->errbuf[0] = 0;
	curl_easy_setopt(e, CURLOPT_URL, q->url);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, m->body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)m->len);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, m->hdrs);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)q->o.timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)q->o.timeout_ms);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, m->errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "profd/" PROFD_VERSION);
	curl_easy_setopt(e, CURLOPT_PRIVATE, m);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	if (curl_multi_add_handle(q->multi, e) != CURLM_OK) {
		curl_easy_cleanup(e);
		return -ENOMEM;
	}
	m->easy = e;
	m->attempts++;
	q->inflight++;
	return 0;
}

static uint64_t backoff_ms(struct http_queue *q, uint32_t attempts)
{
	uint64_t d = q->o.backoff_min_ms;

	for (uint32_t i = 1; i < attempts && d < q->o.backoff_max_ms; i++)
		d *= 2;
	if (d > q->o.backoff_max_ms)
		d = q->o.backoff_max_ms;
	/* equal jitter: half fixed, half random, so receivers that failed
	 * together do not retry together */
	return d / 2 + (d / 2 ? (uint64_t)rand_r(&q->seed) % (d / 2 + 1) : 0);
}

/* An attempt ended. Called with the lock held. */
static void finish(struct http_queue *q, struct msg *m, CURLcode rc)
{
	long code = 0;
	int retry;

	curl_easy_getinfo(m->easy, CURLINFO_RESPONSE_CODE, &code);
	curl_multi_remove_handle(q->multi, m->easy);
	curl_easy_cleanup(m->easy);
	m->easy = NULL;
	q->inflight--;
	if (rc == CURLE_OK && code >= 200 && code < 300) {
		q->st.sent++;
		q->st.last_sent_unix = unix_now();
		unlink_msg(q, m);
		msg_free(m);
		return;
	}
	q->st.failed++;
	if (rc != CURLE_OK) {
		set_error(q, "%s", m->errbuf[0] ? m->errbuf : curl_easy_strerror(rc));
		retry = 1;
	} else {
		set_error(q, "HTTP %ld", code);
		retry = code == 408 || code == 429 || code >= 500;
	}
	if (retry && m->attempts < q->o.max_attempts && !q->stop) {
		q->st.retried++;
		m->due_ms = clock_mono_ms() + backoff_ms(q, m->attempts);
		return;
	}
	q->st.dropped++;
	unlink_msg(q, m);
	msg_free(m);
}

static void *worker(void *arg)
{
	struct http_queue *q = arg;

	thread_set_name(THREAD_NAME_NOTIFY);
	pthread_mutex_lock(&q->lock);
	while (!q->stop) {
		uint64_t now = clock_mono_ms(), wait = HTTP_POLL_MS;
		struct CURLMsg *cm;
		int running, left;

		for (struct msg *m = q->head; m && q->inflight < HTTP_MAX_INFLIGHT; m = m->next) {
			if (m->easy)
				continue;
			if (m->due_ms <= now) {
				if (start(q, m) < 0)
					break;
			} else if (m->due_ms - now < wait) {
				wait = m->due_ms - now;
			}
		}
		pthread_mutex_unlock(&q->lock);
		curl_multi_perform(q->multi, &running);
		pthread_mutex_lock(&q->lock);
		while ((cm = curl_multi_info_read(q->multi, &left))) {
			struct msg *m = NULL;

			if (cm->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(cm->easy_handle, CURLINFO_PRIVATE, (char **)&m);
			if (m)
				finish(q, m, cm->data.result);
		}
		if (q->stop)
			break;
		pthread_mutex_unlock(&q->lock);
		curl_multi_poll(q->multi, NULL, 0, (int)wait, NULL);
		pthread_mutex_lock(&q->lock);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

int http_queue_new(const char *url, const struct http_queue_opts *o, struct http_queue **ret)
{
	struct http_queue *q;
	if (!url || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) || !o->max_attempts || !o->max_queue ||
	    !o->timeout_ms || !o->backoff_min_ms || o->backoff_max_ms < o->backoff_min_ms)
		return -EINVAL;
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK)
		return -ENOMEM;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->o = *o;
	q->url = strdup(url);
	q->multi = curl_multi_init();
	q->seed = (unsigned)clock_mono_ns();
	pthread_mutex_init(&q->lock, NULL);
	if (!q->url || !q->multi) {
		http_queue_free(q);
		return -ENOMEM;
	}
	*ret = q;
	return 0;
}

/* The worker starts with the first message, not here: profd creates its
 * receivers before it drops its capabilities, and a thread keeps the
 * capabilities it was created with. Called with the lock held. */
static int start_worker(struct http_queue *q)
{
	int r;

	if (q->started)
		return 0;
	r = pthread_create(&q->thread, NULL, worker, q);
	if (r) {
		set_error(q, "cannot start the delivery thread: %s", strerror(r));
		return -r;
	}
	q->started = 1;
	return 0;
}

struct http_queue *http_queue_free(struct http_queue *q)
{
	struct msg *m, *next;

	if (!q)
		return NULL;
	if (q->started) {
		pthread_mutex_lock(&q->lock);
		q->stop = 1;
		pthread_mutex_unlock(&q->lock);
		curl_multi_wakeup(q->multi);
		pthread_join(q->thread, NULL);
	}
	for (m = q->head; m; m = next) {
		next = m->next;
		if (m->easy) {
			curl_multi_remove_handle(q->multi, m->easy);
			curl_easy_cleanup(m->easy);
		}
		msg_free(m);
	}
	if (q->multi)
		curl_multi_cleanup(q->multi);
	pthread_mutex_destroy(&q->lock);
	free(q->url);
	free(q);
	return NULL;
}

int http_queue_post(struct http_queue *q, const char *key, char *body, size_t len)
{
	struct msg *m;
	int r = 0;

	pthread_mutex_lock(&q->lock);
	if (start_worker(q) < 0) {
		q->st.dropped++;
		pthread_mutex_unlock(&q->lock);
		free(body);
		return -EAGAIN;
	}
	for (m = key ? q->head : NULL; m; m = m->next) {
		if (!m->easy && m->key && !strcmp(m->key, key)) {
			free(m->body);
			m->body = body;
			m->len = len;
			m->attempts = 0;
			m->due_ms = 0;
			q->st.superseded++;
			pthread_mutex_unlock(&q->lock);
			curl_multi_wakeup(q->multi);
			return 0;
		}
	}
	if (q->n >= q->o.max_queue) {
		struct msg *old;

		for (old = q->head; old && old->easy; old = old->next)
			;
		if (!old) {
			/* everything is in flight: the new one goes */
			q->st.dropped++;
			set_error(q, "queue full (%zu messages)", q->n);
			pthread_mutex_unlock(&q->lock);
			free(body);
			return -ENOBUFS;
		}
		unlink_msg(q, old);
		msg_free(old);
		q->st.dropped++;
		set_error(q, "queue full (%" PRIu32 " messages): dropped the oldest", q->o.max_queue);
		r = -ENOBUFS;
	}
	m = calloc(1, sizeof(*m));
	if (!m || (key && !(m->key = strdup(key)))) {
		free(m);
		free(body);
		pthread_mutex_unlock(&q->lock);
		return -ENOMEM;
	}
	m->body = body;
	m->len = len;
	m->prev = q->tail;
	if (q->tail)
		q->tail->next = m;
	else
		q->head = m;
	q->tail = m;
	q->n++;
	pthread_mutex_unlock(&q->lock);
	curl_multi_wakeup(q->multi);
	return r;
}

void http_queue_get_stats(struct http_queue *q, struct alert_sink_stats *ret)
{
	pthread_mutex_lock(&q->lock);
	*ret = q->st;
	ret->queued = q->n;
	pthread_mutex_unlock(&q->lock);
}

/* ---- the receivers ---- */

struct http_sink {
	struct http_queue *q;
	int alertmanager;
};

static int http_send(struct alert_sink *s, const struct alert_notification *n)
{
	struct http_sink *h = s->ctx;
	const struct alert *a = n->alert;
	struct alert_notification nn = *n;
	char key[64], *body;
	size_t len = 0;

	if (a->state != ALERT_FIRING && a->state != ALERT_RESOLVED)
		return 0;
	nn.resend_ns = s->resend_ns;
	body = h->alertmanager ? alert_payload_alertmanager(&nn, &len) : alert_payload_webhook(&nn, &len);
	if (!body)
		return -ENOMEM;
	/* Alertmanager keeps the latest state of an alert: a newer message
	 * replaces a waiting one. A webhook sees every transition; only its
	 * repeats replace each other. */
	snprintf(key, sizeof(key), "%" PRIu64 "%s", a->id, h->alertmanager ? "" : n->resend ? "r" : "");
	return http_queue_post(h->q, h->alertmanager || n->resend ? key : NULL, body, len);
}

static void http_stats(struct alert_sink *s, struct alert_sink_stats *ret)
{
	struct http_sink *h = s->ctx;

	http_queue_get_stats(h->q, ret);
}

static void http_destroy(struct alert_sink *s)
{
	struct http_sink *h = s->ctx;

	if (h)
		http_queue_free(h->q);
	free(h);
}

int alert_sink_http_new(const char *kind, const char *url, const struct http_queue_opts *o, uint64_t resend_ns,
			struct alert_sink **ret)
{
	static const char path[] = "/api/v2/alerts";
	struct alert_sink *s;
	struct http_sink *h;
	int am = !strcmp(kind, "alertmanager"), r;
	size_t ul = strlen(url);
	char *full;

	if (!am && strcmp(kind, "webhook"))
		return -EINVAL;
	while (am && ul && url[ul - 1] == '/')
		ul--;
	if (am && (ul < sizeof(path) - 1 || strcmp(url + ul - (sizeof(path) - 1), path))) {
		if (asprintf(&full, "%.*s%s", (int)ul, url, path) < 0)
			return -ENOMEM;
	} else {
		full = strndup(url, ul);
		if (!full)
			return -ENOMEM;
	}
	s = calloc(1, sizeof(*s));
	h = calloc(1, sizeof(*h));
	if (!s || !h) {
		free(s);
		free(h);
		free(full);
		return -ENOMEM;
	}
	r = http_queue_new(full, o, &h->q);
	if (r) {
		free(s);
		free(h);
		free(full);
		return r;
	}
	h->alertmanager = am;
	s->kind = am ? "alertmanager" : "webhook";
	s->url = full;
	s->notify_bit = am ? RULE_NOTIFY_ALERTMANAGER : RULE_NOTIFY_WEBHOOK;
	s->resend_ns = resend_ns;
	s->send = http_send;
	s->get_stats = http_stats;
	s->destroy = http_destroy;
	s->ctx = h;
	*ret = s;
	return 0;
}
