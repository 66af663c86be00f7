/* SPDX-License-Identifier: GPL-2.0-only */
/* One delivery destination: a bounded queue of payloads sent one at a time,
 * oldest first, through net (http.h). A reply of 2xx removes the payload;
 * 5xx, 429 and network errors keep it at the head and retry after an
 * exponential back-off with jitter (never before the receiver's
 * Retry-After); any other status drops it as failed (logged, counted).
 * Order is kept because receivers such as Prometheus refuse samples older
 * than what they already hold for a series.
 *
 * The queue is bounded by payload count and bytes; when full, the oldest
 * payload not in flight is dropped and counted. With a spool (spool.h)
 * every payload is written to disk on enqueue and read back to be sent, so
 * an outage up to the spool's bound loses nothing, across restarts too;
 * then only metadata is held in memory.
 *
 * Retries are driven by net_target_poll(), which the owner calls every
 * tick (back-off delays are whole seconds or more); a success starts the
 * next payload at once, so a backlog drains at the receiver's speed. */
#ifndef PROFD_NET_TARGET_H
#define PROFD_NET_TARGET_H

#include <stddef.h>
#include <stdint.h>

#include "net/http.h"

struct net_target;

struct net_target_opts {
	const char *name;           /* for logs and the spool directory */
	const char *url;            /* base URL; a payload's suffix is appended */
	const char *method;         /* "POST" (default) or "PUT" */
	const char *const *headers; /* fixed headers, "Name: value" */
	size_t nheaders;
	struct net_tls tls;
	struct net_auth auth;       /* copied; the caller may free its strings */
	uint32_t timeout_ms;        /* per request */
	uint32_t queue_max;         /* payloads held, >= 1 */
	uint64_t queue_bytes;       /* bytes held in memory (no spool) */
	const char *state_dir;      /* spool under state_dir/spool/name; NULL: none */
	uint64_t spool_bytes;       /* bound of the spool on disk */
	uint32_t backoff_min_ms;    /* first retry delay (before jitter) */
	uint32_t backoff_max_ms;    /* cap of the doubling */
	uint32_t max_attempts;      /* a payload is dropped after this many failed
				     * attempts (counted); 0: retried until the
				     * queue bound drops it */
	const char *log_prefix;     /* "push" (default), "alerts": log lines
				     * read "<prefix> <name>: ..." */
};

struct net_target_stats {
	uint64_t sent;              /* payloads delivered (2xx) */
	uint64_t retried;           /* attempts that failed and will be retried */
	uint64_t failed;            /* payloads refused (4xx but 429): not retried */
	uint64_t dropped;           /* payloads dropped: queue or spool bound,
				     * unreadable spool files, max_attempts */
	uint64_t superseded;        /* waiting payloads replaced by a newer one of
				     * the same key (net_target_enqueue_keyed) */
	uint64_t attempt_failures;  /* attempts that failed, retried or not */
	uint64_t queued;            /* payloads waiting now (in flight included) */
	uint64_t queued_bytes;
	uint64_t spool_bytes;       /* on disk now (0: no spool) */
	uint64_t spool_errors;      /* payloads that could not be written to disk */
	uint64_t last_success_ms;   /* unix ms of the last 2xx, 0: never */
	uint64_t last_error_ms;     /* unix ms of the last failure, 0: never */
	long last_status;           /* HTTP status of the last reply, 0: none */
	char last_error[192];       /* "" or what went wrong last */
	int in_flight;
	uint64_t next_attempt_ms;   /* monotonic ms of the next retry, 0: none due */
};

/* Build a target (and open its spool, reloading what a previous run left).
 * 0 and *ret, or -errno (-EINVAL: options; the spool's errors). */
int net_target_new(struct net *n, const struct net_target_opts *o, struct net_target **ret);
/* Cancels a request in flight (the payload stays spooled, if spooled).
 * Accepts NULL, returns NULL. */
struct net_target *net_target_free(struct net_target *t);

/* Queue a payload: url suffix (path or query appended to the URL, may be
 * NULL) and body (copied). now_mono_ms: CLOCK_MONOTONIC in ms. Starts it
 * at once when nothing is in flight or backing off. 0, or -errno
 * (-ENOMEM, -E2BIG: larger than the bounds; counted as dropped). */
int net_target_enqueue(struct net_target *t, const char *suffix, const void *body, size_t len, uint64_t now_mono_ms);
/* The same with a key (NULL: none): a payload of the same key still
 * waiting (not in flight) is replaced in place, keeping its turn, and
 * counted as superseded — a receiver that wants only the latest state of
 * a thing (an alert) gets that. Keys are held in memory only: payloads
 * read back from a spool have none. */
int net_target_enqueue_keyed(struct net_target *t, const char *key, const char *suffix, const void *body,
			     size_t len, uint64_t now_mono_ms);
/* Start the head payload if its back-off is over. Call every tick. */
void net_target_poll(struct net_target *t, uint64_t now_mono_ms);

void net_target_get_stats(const struct net_target *t, struct net_target_stats *ret);
const char *net_target_name(const struct net_target *t);

/* Back-off before retry number attempt (1 = first retry): d = min(max,
 * min x 2^(attempt-1)), jittered to [d/2, d] by rnd (any 32-bit value);
 * never less than retry_after_s. Pure. */
uint64_t net_backoff_ms(uint32_t attempt, uint32_t min_ms, uint32_t max_ms, uint32_t rnd, uint64_t retry_after_s);

/* Whether a response is retried: network errors, 408, 429 and 5xx. Pure. */
int net_should_retry(const struct net_response *r);

#endif
