/* SPDX-License-Identifier: GPL-2.0-only */
/* Request helpers shared by the API handlers, see handlers.h. */
#include <errno.h>
#include <stdlib.h>

#include <json-c/json.h>

#include "api/handlers.h"
#include "api/server.h"
#include "common/fmt.h"
#include "common/proto.h"
#include "daemon.h"

void api_profile_src(const struct daemon *d, uint64_t deadline_ns, size_t max_bytes, int show_kaddr,
		     struct profile_src *ret)
{
	*ret = (struct profile_src){
		.win = d->win,
		.stacks = d->stacks,
		.procs = d->procs,
		.sym = d->sym,
		.data_until_ns = d->data_until_ns,
		.start_ns = d->data_from_ns,
		.frequency = sampler_frequency(d->sampler),
		.thread_name = api_thread_name,
		.deadline_ns = deadline_ns,
		.max_bytes = max_bytes,
		.show_kaddr = show_kaddr,
	};
}

void api_add_u64(struct json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_uint64(v));
}

void api_add_f(struct json_object *o, const char *k, double v)
{
	json_object_object_add(o, k, json_object_new_double(v));
}

int api_parse_common(struct server_request *rq, uint64_t def_window, uint64_t *span, int64_t *pid)
{
	struct json_object *req = server_request_json(rq);
	char msg[256];

	*span = def_window;
	*pid = 0;
	if (proto_get_duration(req, "window", NSEC_PER_SEC / 10, API_MAX_WINDOW_NS, span, msg, sizeof(msg)) ||
	    proto_get_int(req, "pid", 1, 4194304, pid, msg, sizeof(msg))) {
		server_reply_error(rq, PROFD_E_BAD_ARGUMENT, "%s", msg);
		return -EINVAL;
	}
	return 0;
}

void api_reply_err(struct server_request *rq, const struct api_err *err)
{
	server_reply_error(rq, err->code ? err->code : PROFD_E_INTERNAL, "%s", err->msg);
}

/* ---- read-only queries answered on the worker ---- */

struct query_job {
	struct api_job j;
	struct json_object *req; /* a reference of its own */
	api_query_fn fn;
	int show_kaddr;
	struct api_answer a;
};

static void query_run(struct api_job *j)
{
	struct query_job *qj = (struct query_job *)j;

	worker_store_read_begin(j->d->worker);
	qj->fn(j->d, qj->req, qj->show_kaddr, &qj->a);
	worker_store_read_end(j->d->worker);
}

static void query_free(struct api_job *j)
{
	struct query_job *qj = (struct query_job *)j;

	json_object_put(qj->req);
	json_object_put(qj->a.data);
	free(qj->a.payload);
	free(qj);
}

static void query_done(struct api_job *j)
{
	struct query_job *qj = (struct query_job *)j;
	struct api_answer *a = &qj->a;

	if (a->err.code)
		api_reply_err(j->rq, &a->err);
	else if (a->payload || a->mime)
		server_reply_payload(j->rq, a->data, a->payload, a->payload_len, a->mime);
	else
		server_reply_ok(j->rq, a->data);
	a->data = NULL; /* taken by the reply */
	j->rq = NULL;
	query_free(j);
}

void api_query_job(struct daemon *d, struct server_request *rq, api_query_fn fn)
{
	struct query_job *qj = calloc(1, sizeof(*qj));
	int r;

	if (!qj) {
		server_reply_error(rq, PROFD_E_INTERNAL, "out of memory");
		return;
	}
	qj->j.d = d;
	qj->j.rq = rq;
	qj->j.run = query_run;
	qj->j.done = query_done;
	qj->j.free = query_free;
	qj->req = json_object_get(server_request_json(rq));
	qj->fn = fn;
	qj->show_kaddr = server_request_privileged(rq);
	server_request_set_data(rq, &qj->j);
	r = api_job_submit(&qj->j, false);
	if (r < 0) {
		server_request_set_data(rq, NULL);
		api_job_refused(&qj->j, r);
		qj->j.rq = NULL;
		query_free(&qj->j);
	}
}
