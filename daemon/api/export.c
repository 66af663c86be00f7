/* SPDX-License-Identifier: GPL-2.0-only */
/* The `export` handler: a profile of a window in any format of the format
 * table, sent as the reply's payload in pieces. The window is "window"
 * (the last span) or "from_ns".."to_ns" (wall clock); processes are
 * filtered by "pid", "unit" and "comm"; "labels", "by_process",
 * "by_thread" and "icicle" set the format's flags; csv and report also get
 * the metric tables.
 *
 * The request is checked on the loop. The query worker builds the profile
 * holding the store for reading (within query_timeout, and within what is
 * left of query_memory), then lets the store go and encodes it one piece
 * (~64 KiB) per job, each job queued behind the other clients' work, each
 * piece only once the client has room for it: a slow reader pauses its
 * own export, nobody else's. Version 2 requests get a chunked payload of
 * any size; version 1 requests get the fixed-size payload they understand,
 * measured first by encoding into a counting sink (bounded by max_reply:
 * a larger export is refused before anything is sent). */
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "api/handlers.h"
#include "api/server.h"
#include "api/worker.h"
#include "common/clock.h"
#include "common/fmt.h"
#include "common/proto.h"
#include "daemon.h"
#include "profile/format.h"
#include "profile/profile.h"

/* Bytes asked of the encoder per job: big enough that a job costs more
 * than its scheduling, small enough that other clients' turns come soon. */
#define STEP_BYTES (64 * 1024)
/* Less query memory than this left: wait for exports in progress. */
#define MIN_QUERY_MEMORY (1024 * 1024)
/* After an export this large, give freed pages back to the kernel. */
#define TRIM_BYTES (8 * 1024 * 1024)

struct export_job {
	struct api_job j;
	/* the request */
	struct api_window w;
	struct api_filter filt;
	unsigned flags;              /* FORMAT_* */
	const struct format *fmt;
	int version, show_kaddr;
	/* the configuration it runs under, copied on the loop (a reload may
	 * change d->cfg while the worker encodes) */
	uint64_t query_memory, max_reply;
	uint32_t timeout_ms;
	/* the profile and its encoder, held across jobs */
	bool built;
	struct profile *p;
	struct format_stream *st;
	struct format_result res;
	uint64_t covered_ns, from_ns, to_ns;
	uint64_t held;          /* accounted in d->query_held */
	uint64_t total;         /* version 1: the payload's size */
	/* the build's answer: the header line, or an error line */
	char *line;
	int is_error, timed_out, too_big;
	/* one piece */
	bool stepping;          /* the job out is a piece, not the build */
	size_t want;
	struct sink_buf chunk;
	int more, err;
};

static void export_free(struct api_job *j)
{
	struct export_job *ex = (struct export_job *)j;

	format_stream_free(ex->st);
	profile_free(ex->p);
	sink_buf_release(&ex->chunk);
	free(ex->line);
	if (ex->held) {
		__atomic_sub_fetch(&j->d->query_held, ex->held, __ATOMIC_RELAXED);
		if (ex->held >= TRIM_BYTES)
			malloc_trim(0);
	}
	free(ex);
}

static void fail(struct export_job *ex, const char *code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(struct export_job *ex, const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	free(ex->line);
	ex->line = proto_error_v(ex->version, code, "%s", msg);
	ex->is_error = 1;
}

/* Version 1: the payload's size, by encoding it into a counting sink.
 * The encoder is reopened afterwards (it is deterministic). */
static int measure(struct export_job *ex, const struct format_opts *fo, uint64_t max)
{
	struct sink_count c;
	int r;

	sink_count_init(&c, max);
	do
		r = format_stream_next(ex->st, &c.sink, SIZE_MAX, NULL);
	while (r > 0);
	ex->st = format_stream_free(ex->st);
	if (r < 0)
		return r == -E2BIG ? -EFBIG : r;
	ex->total = c.bytes;
	return format_stream_open(ex->fmt, ex->p, fo, &ex->st, NULL);
}

static void build_run(struct export_job *ex)
{
	struct daemon *d = ex->j.d;
	uint64_t limit = ex->query_memory, held = __atomic_load_n(&d->query_held, __ATOMIC_RELAXED);
	uint64_t avail = limit > held ? limit - held : 0;
	uint64_t deadline = clock_mono_ns() + (uint64_t)ex->timeout_ms * 1000000ull;
	struct proto_payload pl = { .type = ex->fmt->mime, .chunked = ex->version >= 2 };
	struct format_opts fo = { .flags = ex->flags };
	struct profile_src src;
	struct pq_result q = { 0 };
	struct json_object *o;
	char a[32], b[32];
	int r;

	if (avail < MIN_QUERY_MEMORY) {
		ex->too_big = 1;
		fail(ex, PROFD_E_BUSY, "query_memory (%s) is held by exports in progress; try again",
		     fmt_bytes(a, sizeof(a), limit));
		return;
	}
	worker_store_read_begin(d->worker);
	api_profile_src(d, deadline, avail, ex->show_kaddr, &src);
	r = api_window_query(&src, &ex->w, &ex->filt.pq, &q);
	if (!r)
		r = profile_build(&src, &q, &ex->p);
	if (!r) {
		ex->p->boot_to_real_ns = api_boot_to_real_ns();
		if (ex->fmt == &format_csv || ex->fmt == &format_report)
			r = api_profile_metrics(d, ex->p, &src, &ex->filt.pq, ex->fmt == &format_csv);
	}
	worker_store_read_end(d->worker);
	ex->covered_ns = q.covered_ns;
	ex->from_ns = q.from_ns;
	ex->to_ns = q.to_ns;
	if (r == -ETIMEDOUT) {
		ex->timed_out = 1;
		fail(ex, PROFD_E_TIMEOUT, "export over %s took longer than query_timeout (%u ms); ask for a shorter window or one --pid",
		     fmt_duration(a, sizeof(a), ex->w.absolute ? ex->w.to_ns - ex->w.from_ns : ex->w.span), ex->timeout_ms);
	} else if (r == -E2BIG) {
		ex->too_big = 1;
		fail(ex, PROFD_E_BUSY, "export of %zu stacks needs more than the %s of query_memory left; ask for a shorter window or one --pid",
		     q.n, fmt_bytes(a, sizeof(a), avail));
	} else if (r < 0) {
		fail(ex, PROFD_E_INTERNAL, "export: %s", strerror(-r));
	}
	pq_result_release(&q);
	if (r < 0)
		return;

	/* the store is free again: what follows reads only the profile */
	ex->held = profile_bytes(ex->p);
	__atomic_add_fetch(&d->query_held, ex->held, __ATOMIC_RELAXED);
	fo.scratch_max = avail > ex->held ? avail - ex->held : 1;
	r = format_stream_open(ex->fmt, ex->p, &fo, &ex->st, &ex->res);
	if (!r) {
		ex->held += ex->res.scratch_bytes;
		__atomic_add_fetch(&d->query_held, ex->res.scratch_bytes, __ATOMIC_RELAXED);
	}
	if (!r && !pl.chunked)
		r = measure(ex, &fo, ex->max_reply);
	if (r == -EFBIG) {
		ex->too_big = 1;
		fail(ex, PROFD_E_BUSY,
		     "export of %llu stacks exceeds max_reply (%s) for a protocol version 1 request; version 2 (profctl) streams it",
		     (unsigned long long)ex->res.stacks, fmt_bytes(b, sizeof(b), ex->max_reply));
		return;
	}
	if (r == -E2BIG) {
		ex->too_big = 1;
		fail(ex, PROFD_E_BUSY, "export of %zu stacks needs more than the %s of query_memory left; ask for a shorter window or one --pid",
		     ex->p->nstacks, fmt_bytes(a, sizeof(a), avail));
		return;
	}
	if (r < 0) {
		fail(ex, PROFD_E_INTERNAL, "export: %s", strerror(-r));
		return;
	}
	pl.bytes = ex->total;
	o = json_object_new_object();
	json_object_object_add(o, "format", json_object_new_string(ex->fmt->name));
	api_add_f(o, "window_s", (double)ex->covered_ns / 1e9);
	api_add_u64(o, "from_unix_ns", (uint64_t)((int64_t)ex->from_ns + ex->p->boot_to_real_ns));
	api_add_u64(o, "to_unix_ns", (uint64_t)((int64_t)ex->to_ns + ex->p->boot_to_real_ns));
	api_add_u64(o, "samples", ex->res.samples);
	api_add_u64(o, "stacks", ex->res.stacks);
	ex->line = proto_ok_v(ex->version, o, &pl);
	ex->built = true;
}

static void step_run(struct export_job *ex)
{
	sink_buf_init(&ex->chunk, 0);
	ex->more = format_stream_next(ex->st, &ex->chunk.sink, ex->want, NULL);
	if (ex->more < 0)
		ex->err = ex->more;
}

static void export_run(struct api_job *j)
{
	struct export_job *ex = (struct export_job *)j;

	if (!ex->built)
		build_run(ex);
	else
		step_run(ex);
}

static void next_step(struct export_job *ex);

/* The last piece went out (or the stream failed): the end record. */
static void finish(struct export_job *ex, int err)
{
	struct server_request *rq = ex->j.rq;
	struct daemon *d = ex->j.d;
	char *end = NULL;

	if (err) {
		d->queries.export_failures++;
		end = proto_error_v(ex->version, PROFD_E_INTERNAL, "export failed after %llu bytes: %s",
				    (unsigned long long)format_stream_written(ex->st), strerror(-err));
	} else if (ex->version >= 2) {
		struct json_object *o = json_object_new_object();

		api_add_u64(o, "bytes", format_stream_written(ex->st));
		api_add_u64(o, "samples", ex->res.samples);
		api_add_u64(o, "stacks", ex->res.stacks);
		end = proto_ok_v(ex->version, o, NULL);
	}
	d->queries.export_bytes += format_stream_written(ex->st);
	server_stream_end(rq, end, !!err);
	ex->j.rq = NULL;
	export_free(&ex->j);
}

static void export_done(struct api_job *j)
{
	struct export_job *ex = (struct export_job *)j;
	struct daemon *d = j->d;
	int r;

	if (!ex->stepping) {
		/* the build came back */
		d->queries.exports++;
		d->queries.timeouts += ex->timed_out;
		d->queries.refused_memory += ex->too_big;
		if (ex->is_error) {
			server_reply_line(j->rq, ex->line, 1);
			ex->line = NULL;
			j->rq = NULL;
			export_free(j);
			return;
		}
		r = server_stream_begin(j->rq, ex->line, ex->version >= 2, ex->total);
		ex->line = NULL;
		if (r < 0) {
			j->rq = NULL;
			export_free(j);
			return;
		}
		next_step(ex);
		return;
	}
	/* a piece came back */
	if (ex->err) {
		finish(ex, ex->err);
		return;
	}
	ex->stepping = false;
	r = server_stream_write(j->rq, ex->chunk.buf, ex->chunk.len);
	sink_buf_release(&ex->chunk);
	ex->want = 0;
	if (r < 0 || ex->more == 0) {
		finish(ex, r);
		return;
	}
	next_step(ex);
}

/* The next piece, when the client (and reply_memory) has room for it. */
static void next_step(struct export_job *ex)
{
	int r;

	ex->want = server_stream_reserve(ex->j.rq, STEP_BYTES);
	if (!ex->want)
		return; /* paused: api_resume calls again */
	ex->stepping = true;
	r = api_job_submit(&ex->j, true);
	if (r < 0)
		finish(ex, r);
}

static void export_resume(struct api_job *j)
{
	struct export_job *ex = (struct export_job *)j;

	if (!j->in_worker && ex->built && !ex->stepping)
		next_step(ex);
}

void api_export(struct daemon *d, struct server_request *rq)
{
	struct json_object *req = server_request_json(rq);
	struct export_job *ex;
	const struct format *fmt;
	const char *format = NULL;
	char msg[256], names[128];
	struct api_err err = { 0 };
	int labels, by_process, by_thread, icicle;
	int r;

	if (proto_get_string(req, "format", &format, msg, sizeof(msg))) {
		server_reply_error(rq, PROFD_E_BAD_ARGUMENT, "%s", msg);
		return;
	}
	if (!format) {
		server_reply_error(rq, PROFD_E_BAD_REQUEST, "export needs \"format\": one of %s",
				   format_names(names, sizeof(names)));
		return;
	}
	fmt = format_find(format);
	if (!fmt) {
		server_reply_error(rq, PROFD_E_BAD_ARGUMENT, "format: \"%s\" is not one of %s", format,
				   format_names(names, sizeof(names)));
		return;
	}
	ex = calloc(1, sizeof(*ex));
	if (!ex) {
		server_reply_error(rq, PROFD_E_INTERNAL, "out of memory");
		return;
	}
	if (api_parse_window(req, "from_ns", "to_ns", 30 * NSEC_PER_SEC, &ex->w, &err) ||
	    api_parse_filter(d, req, &ex->filt, &err) || api_get_flag(req, "labels", &labels, &err) ||
	    api_get_flag(req, "by_process", &by_process, &err) || api_get_flag(req, "by_thread", &by_thread, &err) ||
	    api_get_flag(req, "icicle", &icicle, &err) || api_check_threads(d, by_thread, &err)) {
		api_reply_err(rq, &err);
		free(ex);
		return;
	}
	ex->flags = (labels ? FORMAT_LABELS : 0) | (by_process ? FORMAT_BY_PROCESS : 0) |
		    (by_thread ? FORMAT_BY_THREAD : 0) | (icicle ? FORMAT_ICICLE : 0);
	ex->j.d = d;
	ex->j.rq = rq;
	ex->j.run = export_run;
	ex->j.done = export_done;
	ex->j.resume = export_resume;
	ex->j.free = export_free;
	ex->fmt = fmt;
	ex->version = server_request_version(rq);
	ex->show_kaddr = server_request_privileged(rq);
	ex->query_memory = d->cfg.query_memory;
	ex->max_reply = d->cfg.max_reply;
	ex->timeout_ms = d->cfg.query_timeout_ms;
	server_request_set_data(rq, &ex->j);
	r = api_job_submit(&ex->j, false);
	if (r < 0) {
		server_request_set_data(rq, NULL);
		api_job_refused(&ex->j, r);
		ex->j.rq = NULL;
		export_free(&ex->j);
	}
}
