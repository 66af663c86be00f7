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

void api_add_u64(struct json_object *o, const char *k, uint64_t v);
void api_add_f(struct json_object *o, const char *k, double v);

#endif
