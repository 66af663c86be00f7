/* SPDX-License-Identifier: GPL-2.0-only */
/* Notifications: what each receiver is told about an alert, behind one
 * small interface (struct alert_sink) so that the log, Alertmanager and
 * webhooks are interchangeable; the HTTP ones deliver through daemon/net
 * (sink_http.c).
 *
 * The builders here are pure: an alert and the time in, text or JSON out.
 * Their exact fields are documented in docs/alerts.md. */
#ifndef PROFD_ALERTS_NOTIFY_H
#define PROFD_ALERTS_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include "alerts/engine.h"

struct json_object;

/* One message about one alert. */
struct alert_notification {
	const struct alert *alert;
	enum alert_state from;        /* the state before (= alert->state for a resend) */
	int resend;                   /* a repeat while firing */
	uint64_t now_ns;              /* CLOCK_BOOTTIME */
	int64_t realtime_offset_ns;   /* CLOCK_REALTIME - CLOCK_BOOTTIME */
	const char *host;             /* the host label */
	uint64_t resend_ns;           /* the receiver's resend interval (0: none) */
};

/* Delivery counters of one receiver (profctl status). */
struct alert_sink_stats {
	uint64_t sent;                /* delivered (2xx, or logged) */
	uint64_t retried;             /* attempts that failed and were retried */
	uint64_t failed;              /* attempts that failed, retried or not */
	uint64_t dropped;             /* given up: queue full, retries exhausted, refused (4xx) */
	uint64_t superseded;          /* queued messages replaced by a newer one about the same alert */
	uint64_t queued;              /* waiting now (including in flight) */
	char last_error[256];         /* "" if none yet */
	int64_t last_error_unix;      /* when, 0 if never */
	int64_t last_sent_unix;       /* last delivery, 0 if never */
};

/* A receiver. send() must not block: it formats and queues. */
struct alert_sink {
	const char *kind;             /* "log", "alertmanager", "webhook" */
	char *url;                    /* NULL for the log */
	unsigned notify_bit;          /* RULE_NOTIFY_* it answers to */
	uint64_t resend_ns;           /* re-send firing alerts this often, 0: never */
	/* 0 or -errno (-ENOBUFS: queued by dropping an older message) */
	int (*send)(struct alert_sink *s, const struct alert_notification *n);
	/* retries that are due (NULL: none ever); every tick */
	void (*poll)(struct alert_sink *s, uint64_t now_mono_ms);
	void (*get_stats)(struct alert_sink *s, struct alert_sink_stats *ret);
	void (*destroy)(struct alert_sink *s);
	void *ctx;
};

struct alert_sink *alert_sink_free(struct alert_sink *s);

/* Delivery settings of the HTTP receivers. */
struct alert_http_opts {
	uint64_t timeout_ms;      /* one attempt, connect included */
	uint32_t max_attempts;    /* per message, >= 1: then it is dropped */
	uint64_t backoff_min_ms;  /* delay before the first retry (doubling, jittered) */
	uint64_t backoff_max_ms;  /* cap on one delay */
	uint32_t max_queue;       /* messages waiting or in flight */
};

/* The HTTP receivers, on net (daemon/net: the loop's curl multi, a
 * bounded queue with retries and back-off, the same delivery path and
 * counters as the pushers): "alertmanager" posts to URL/api/v2/alerts
 * (unless the URL already ends so) the Alertmanager v2 body, "webhook"
 * posts the webhook body to URL. Failures (network errors, 408, 429, 5xx)
 * are retried up to max_attempts, other 4xx answers are final; a full
 * queue drops its oldest waiting message; a newer message about the same
 * alert replaces a waiting one (Alertmanager: any; webhook: repeats).
 * resend_ns: re-send firing alerts this often (0: only transitions).
 * Pending transitions are not sent. 0 and *ret, -EINVAL, -ENOMEM. */
struct net;
int alert_sink_http_new(struct net *net, const char *kind, const char *url, const struct alert_http_opts *o,
			uint64_t resend_ns, struct alert_sink **ret);

/* The log receiver: one line per transition at info (warning when
 * firing). Never fails. */
int alert_sink_log_new(struct alert_sink **ret);

/* Render a summary template (rules.h: rule_check_template) for a. NULL
 * tpl: the default summary. Always NUL-terminates buf; returns buf. */
char *alert_render_summary(const struct alert *a, const char *tpl, const char *host, char *buf, size_t n);

/* The value of a in its metric's unit, for people: "97.1%", "1.2 GiB",
 * "52ms", "10.0 MiB/s". Returns buf. */
char *alert_format_value(const struct alert *a, double v, char *buf, size_t n);

/* "alert NAME firing (warning): SUMMARY; EVIDENCE" (malloc'd, NULL on -ENOMEM). */
char *alert_log_line(const struct alert_notification *n);

/* The evidence as folded stacks: "outer;...;leaf COUNT" lines (malloc'd,
 * "" when none; NULL on -ENOMEM). */
char *alert_stacks_folded(const struct alert_stacks *s);

/* The alert as `profctl alerts --json` and webhooks show it. NULL on
 * -ENOMEM. realtime_offset_ns turns CLOCK_BOOTTIME into Unix time. */
struct json_object *alert_to_json(const struct alert *a, int64_t realtime_offset_ns);

/* The body of POST /api/v2/alerts (Alertmanager): a JSON array with this
 * alert (malloc'd, *ret_len bytes; NULL on -ENOMEM). */
char *alert_payload_alertmanager(const struct alert_notification *n, size_t *ret_len);
/* The body of a webhook POST (malloc'd, NULL on -ENOMEM). */
char *alert_payload_webhook(const struct alert_notification *n, size_t *ret_len);

/* "2026-12-02T04:38:02.123Z" for the Unix time in ns. Returns buf. */
char *alert_rfc3339(int64_t unix_ns, char *buf, size_t n);

#endif
