/* SPDX-License-Identifier: GPL-2.0-only */
/* The Alertmanager and webhook receivers, on the daemon's one HTTP
 * delivery path (daemon/net: curl multi in the loop, a bounded queue per
 * destination, retries with back-off and jitter), behind struct
 * alert_sink. See notify.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/notify.h"
#include "common/clock.h"
#include "net/target.h"

struct http_sink {
	struct net_target *nt;
	int alertmanager;
};

static int http_send(struct alert_sink *s, const struct alert_notification *n)
{
	struct http_sink *h = s->ctx;
	const struct alert *a = n->alert;
	struct alert_notification nn = *n;
	struct net_target_stats before, after;
	char key[64], *body;
	size_t len = 0;
	int r;

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
	net_target_get_stats(h->nt, &before);
	r = net_target_enqueue_keyed(h->nt, h->alertmanager || n->resend ? key : NULL, NULL, body, len,
				     clock_mono_ms());
	free(body);
	if (r < 0)
		return r;
	net_target_get_stats(h->nt, &after);
	/* queued, but an older message was dropped to make room */
	return after.dropped > before.dropped ? -ENOBUFS : 0;
}

static void http_poll(struct alert_sink *s, uint64_t now_mono_ms)
{
	struct http_sink *h = s->ctx;

	net_target_poll(h->nt, now_mono_ms);
}

static void http_stats(struct alert_sink *s, struct alert_sink_stats *ret)
{
	struct http_sink *h = s->ctx;
	struct net_target_stats st;

	net_target_get_stats(h->nt, &st);
	memset(ret, 0, sizeof(*ret));
	ret->sent = st.sent;
	ret->retried = st.retried;
	ret->failed = st.attempt_failures;
	ret->dropped = st.dropped + st.failed; /* refused (4xx) messages are given up too */
	ret->superseded = st.superseded;
	ret->queued = st.queued;
	snprintf(ret->last_error, sizeof(ret->last_error), "%s", st.last_error);
	ret->last_error_unix = (int64_t)(st.last_error_ms / 1000);
	ret->last_sent_unix = (int64_t)(st.last_success_ms / 1000);
}

static void http_destroy(struct alert_sink *s)
{
	struct http_sink *h = s->ctx;

	if (h)
		net_target_free(h->nt);
	free(h);
}

int alert_sink_http_new(struct net *net, const char *kind, const char *url, const struct alert_http_opts *o,
			uint64_t resend_ns, struct alert_sink **ret)
{
	static const char path[] = "/api/v2/alerts";
	static const char *const headers[] = { "Content-Type: application/json" };
	struct alert_sink *s;
	struct http_sink *h;
	int am = !strcmp(kind, "alertmanager"), r;
	size_t ul = strlen(url);
	char *full;

	if (!net || (!am && strcmp(kind, "webhook")))
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
	r = net_target_new(net,
			   &(struct net_target_opts){
				   .name = am ? "alertmanager" : "webhook",
				   .log_prefix = "alerts",
				   .url = full,
				   .method = "POST",
				   .headers = headers,
				   .nheaders = 1,
				   .timeout_ms = (uint32_t)o->timeout_ms,
				   .queue_max = o->max_queue ? o->max_queue : 1,
				   .backoff_min_ms = (uint32_t)o->backoff_min_ms,
				   .backoff_max_ms = (uint32_t)o->backoff_max_ms,
				   .max_attempts = o->max_attempts ? o->max_attempts : 1,
			   },
			   &h->nt);
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
	s->poll = http_poll;
	s->get_stats = http_stats;
	s->destroy = http_destroy;
	s->ctx = h;
	*ret = s;
	return 0;
}
