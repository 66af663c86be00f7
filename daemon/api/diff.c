/* SPDX-License-Identifier: GPL-2.0-only */
/* The `diff` handler: a differential profile of two windows, "base_from_ns"
 * .."base_to_ns" and "from_ns".."to_ns" (ns since the epoch), with the
 * export's process filters, as "format" text, json, folded or svg (the
 * reply's payload, bounded by max_reply like a version-1 export). Built on
 * the query worker, holding the store. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "api/handlers.h"
#include "api/server.h"
#include "common/clock.h"
#include "common/fmt.h"
#include "common/proto.h"
#include "daemon.h"
#include "profile/diff.h"
#include "profile/format.h"
#include "profile/profile.h"

static void diff_answer(struct daemon *d, struct json_object *req, int show_kaddr, struct api_answer *a)
{
	struct api_window w[2];
	struct api_filter filt;
	struct profile_src src;
	struct pq_result q[2] = { { 0 } };
	struct profile *p[2] = { NULL, NULL };
	struct diff *df = NULL;
	struct diff_opts o = { .scratch_max = d->cfg.max_reply };
	struct sink_buf out;
	const char *format = "text";
	char msg[256];
	int by_thread, icicle, r = 0;
	uint64_t deadline = clock_mono_ns() + (uint64_t)d->cfg.query_timeout_ms * 1000000ull;

	if (api_parse_window(req, "base_from_ns", "base_to_ns", 0, &w[0], &a->err) ||
	    api_parse_window(req, "from_ns", "to_ns", 0, &w[1], &a->err) || api_parse_filter(d, req, &filt, &a->err) ||
	    api_get_flag(req, "by_thread", &by_thread, &a->err) || api_get_flag(req, "icicle", &icicle, &a->err) ||
	    api_check_threads(d, by_thread, &a->err))
		return;
	if (!w[0].absolute || !w[1].absolute) {
		a->err.code = PROFD_E_BAD_REQUEST;
		snprintf(a->err.msg, sizeof(a->err.msg),
			 "diff needs base_from_ns, base_to_ns, from_ns and to_ns (ns since the epoch)");
		return;
	}
	if (proto_get_string(req, "format", &format, msg, sizeof(msg)) || !diff_format_known(format)) {
		a->err.code = PROFD_E_BAD_ARGUMENT;
		snprintf(a->err.msg, sizeof(a->err.msg), "format: \"%s\" is not one of %s", format ? format : "",
			 diff_format_names());
		return;
	}
	o.flags = (by_thread ? FORMAT_BY_THREAD : 0) | (icicle ? FORMAT_ICICLE : 0);
	api_profile_src(d, deadline, d->cfg.query_memory / 2, show_kaddr, &src);
	sink_buf_init(&out, d->cfg.max_reply);
	for (int k = 0; !r && k < 2; k++) {
		r = api_window_query(&src, &w[k], &filt.pq, &q[k]);
		if (!r)
			r = profile_build(&src, &q[k], &p[k]);
	}
	if (!r)
		r = diff_compute(p[0], p[1], &o, &df);
	if (!r)
		r = diff_write(df, p[0], p[1], format, &o, &out.sink);
	if (r == -E2BIG) {
		a->err.code = PROFD_E_BUSY;
		snprintf(a->err.msg, sizeof(a->err.msg),
			 "diff exceeds max_reply or query_memory: ask for shorter windows or one --pid");
	} else if (r == -ETIMEDOUT) {
		a->err.code = PROFD_E_TIMEOUT;
		snprintf(a->err.msg, sizeof(a->err.msg), "diff took longer than query_timeout (%u ms)",
			 d->cfg.query_timeout_ms);
	} else if (r < 0) {
		a->err.code = PROFD_E_INTERNAL;
		snprintf(a->err.msg, sizeof(a->err.msg), "diff: %s", strerror(-r));
	} else {
		struct json_object *x = json_object_new_object();
		size_t nsig = 0;

		for (size_t i = 0; i < df->nfns; i++)
			nsig += df->fns[i].significant;
		json_object_object_add(x, "format", json_object_new_string(format));
		api_add_f(x, "base_window_s", df->window_s[0]);
		api_add_f(x, "window_s", df->window_s[1]);
		api_add_u64(x, "base_samples", df->samples[0]);
		api_add_u64(x, "samples", df->samples[1]);
		api_add_u64(x, "functions", df->nfns);
		api_add_u64(x, "significant", nsig);
		a->data = x;
		a->payload = sink_buf_steal(&out, &a->payload_len);
		a->mime = !strcmp(format, "svg") ? "image/svg+xml" : !strcmp(format, "json") ? "application/json"
											: "text/plain";
	}
	sink_buf_release(&out);
	diff_free(df);
	for (int k = 0; k < 2; k++) {
		profile_free(p[k]);
		pq_result_release(&q[k]);
	}
}

void api_diff(struct daemon *d, struct server_request *rq)
{
	api_query_job(d, rq, diff_answer);
}
