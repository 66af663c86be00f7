/* SPDX-License-Identifier: GPL-2.0-only */
/* HTTP delivery for the Alertmanager and webhook receivers: a bounded
 * queue of POST bodies per receiver and one worker thread driving a
 * libcurl multi handle, so nothing here ever blocks the daemon's loop.
 * Each attempt has a timeout; failures (connection errors, timeouts, HTTP
 * 408, 429 and 5xx) are retried with exponential back-off and equal
 * jitter up to max_attempts; other 4xx answers are final. A full queue
 * drops its oldest waiting message; a newer message with the same key
 * replaces a waiting one (the latest state of an alert is what matters).
 * Every outcome is counted (struct alert_sink_stats).
 *
 * Written here because no shared delivery module exists yet; it is meant
 * to move to daemon/net/ when the pushers bring one, behind the same
 * struct alert_sink. */
#ifndef PROFD_ALERTS_HTTP_H
#define PROFD_ALERTS_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "alerts/notify.h"

struct http_queue_opts {
	uint64_t timeout_ms;      /* one attempt, connect included */
	uint32_t max_attempts;    /* per message, >= 1 */
	uint64_t backoff_min_ms;  /* delay before the first retry (doubling) */
	uint64_t backoff_max_ms;  /* cap on one delay */
	uint32_t max_queue;       /* messages waiting or in flight */
};

struct http_queue;

/* url: http:// or https://. The worker thread starts with the first
 * message (so that it is created after profd dropped its capabilities).
 * 0 and *ret, -EINVAL or -ENOMEM. */
int http_queue_new(const char *url, const struct http_queue_opts *o, struct http_queue **ret);
/* Stops the worker (in-flight attempts are abandoned, waiting messages
 * counted as dropped). */
struct http_queue *http_queue_free(struct http_queue *q);

/* Queue body (len bytes, taken over: freed by the queue) as a POST of
 * application/json. key (may be NULL): a waiting message with the same key
 * is replaced. 0; -ENOBUFS when the oldest waiting message was dropped to
 * make room; -ENOMEM or -EAGAIN (no worker thread; body freed, counted as
 * dropped). */
int http_queue_post(struct http_queue *q, const char *key, char *body, size_t len);
void http_queue_get_stats(struct http_queue *q, struct alert_sink_stats *ret);

/* Receivers over a queue: "alertmanager" posts to URL/api/v2/alerts
 * (unless the URL already ends so) the Alertmanager v2 body, "webhook"
 * posts the webhook body to URL. resend_ns: re-send firing alerts this
 * often (0: only transitions). Pending transitions are not sent. */
int alert_sink_http_new(const char *kind, const char *url, const struct http_queue_opts *o, uint64_t resend_ns,
			struct alert_sink **ret);

#endif
