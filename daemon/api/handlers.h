/* SPDX-License-Identifier: GPL-2.0-only */
/* Internal to the API layer: the handlers api.c dispatches to, the jobs
 * they give the query worker, and the request helpers they share
 * (request.c). */
#ifndef PROFD_API_HANDLERS_H
#define PROFD_API_HANDLERS_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "api/worker.h"
#include "profile/query.h"

struct daemon;
struct server_request;

/* Longest window a request may ask for. */
#define API_MAX_WINDOW_NS (48ull * 3600 * 1000000000ull)

void api_status(struct daemon *d, struct server_request *rq);
void api_top(struct daemon *d, struct server_request *rq);
void api_export(struct daemon *d, struct server_request *rq);
void api_diff(struct daemon *d, struct server_request *rq);
void api_alerts(struct daemon *d, struct server_request *rq);
void api_hotspots(struct daemon *d, struct server_request *rq);
void api_reload(struct daemon *d, struct server_request *rq);

/* A request being worked on off the loop: the server's data for rq. */
struct api_job {
	struct worker_job wj;            /* first: the worker's view */
	struct daemon *d;
	struct server_request *rq;       /* NULL once the client went away */
	bool in_worker;                  /* submitted, done() not yet run */
	void (*run)(struct api_job *j);  /* worker thread */
	void (*done)(struct api_job *j); /* loop, rq still there */
	void (*resume)(struct api_job *j); /* loop: a paused stream has room */
	void (*free)(struct api_job *j);
};
/* Hand j to the worker (force: past max_queued_queries). 0 or -errno. */
int api_job_submit(struct api_job *j, bool force);
/* Answer j->rq for a refused submission (busy when the queue is full). */
void api_job_refused(struct api_job *j, int err);

/* The store and symbolizer of the daemon, as the profile layer takes them,
 * with the deadline and memory bound of one query. Worker side, between
 * worker_store_read_begin and _end. */
void api_profile_src(const struct daemon *d, uint64_t deadline_ns, size_t max_bytes, int show_kaddr,
		     struct profile_src *ret);

/* "window" (default def_window) and "pid" (0 when absent) members; on a
 * bad value the error reply is sent and -EINVAL returned. */
int api_parse_common(struct server_request *rq, uint64_t def_window, uint64_t *span, int64_t *pid);

/* An error a request helper found: code (PROFD_E_*) and message. */
struct api_err {
	const char *code;
	char msg[400];
};
/* Send err as rq's error reply. */
void api_reply_err(struct server_request *rq, const struct api_err *err);

/* A read-only query answered on the query worker, holding the store: fn
 * gets the request (its JSON, a reference held for the job) and fills the
 * answer, which the loop sends. */
struct api_answer {
	struct json_object *data;      /* the reply's data (taken) */
	char *payload;                 /* optional fixed-size payload (taken) */
	size_t payload_len;
	const char *mime;
	struct api_err err;            /* an error when err.code is set */
};
typedef void (*api_query_fn)(struct daemon *d, struct json_object *req, int show_kaddr, struct api_answer *ret);
void api_query_job(struct daemon *d, struct server_request *rq, api_query_fn fn);

/* ---- window.c: export and diff requests ---- */

/* A window: the last span (relative), or [from_ns, to_ns) CLOCK_BOOTTIME. */
struct api_window {
	int absolute;
	uint64_t span;
	uint64_t from_ns, to_ns;
};

/* Process filters of a request: "pid", "unit", "comm" (a glob); the
 * strings are copies, so a filter outlives its request. */
struct api_filter {
	struct pq_filter pq;
	struct daemon *d;
	char unit[256];
	char comm[256];
};

/* profile_src.thread_name: /proc/TGID/task/TID/comm of a live thread. */
void api_thread_name(void *ctx, uint32_t tgid, uint32_t tid, char *buf, size_t n);
/* by_thread asked where thread ids are not kept: -EINVAL and *err. */
int api_check_threads(const struct daemon *d, int by_thread, struct api_err *err);

/* CLOCK_REALTIME - CLOCK_BOOTTIME now. */
int64_t api_boot_to_real_ns(void);
/* from_key/to_key (ns since the epoch) if present, else "window" (a
 * duration, default def_span). -EINVAL and *err on a bad value. */
int api_parse_window(struct json_object *req, const char *from_key, const char *to_key, uint64_t def_span,
		     struct api_window *w, struct api_err *err);
/* Fills f (which must not move afterwards: its accept callback points at
 * it). -EINVAL and *err on a bad value. */
int api_parse_filter(struct daemon *d, struct json_object *req, struct api_filter *f, struct api_err *err);
/* A boolean member (absent: 0). -EINVAL and *err when not a boolean. */
int api_get_flag(struct json_object *req, const char *key, int *ret, struct api_err *err);
int api_window_query(const struct profile_src *src, const struct api_window *w, const struct pq_filter *f,
		     struct pq_result *q);
/* Fill p's metric tables (totals over [p->from_ns, p->to_ns), and with
 * series one row per process per slot) and host figures, with the metric
 * registry. 0 or -ENOMEM. Holds the store. */
struct profile;
int api_profile_metrics(struct daemon *d, struct profile *p, const struct profile_src *src,
			const struct pq_filter *f, int series);

void api_add_u64(struct json_object *o, const char *k, uint64_t v);
void api_add_f(struct json_object *o, const char *k, double v);

#endif
