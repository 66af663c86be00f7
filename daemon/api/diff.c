/* SPDX-License-Identifier: GPL-2.0-only */
/* The `diff` handler: a differential profile of two windows, "base_from_ns"
 * .."base_to_ns" and "from_ns".."to_ns" (ns since the epoch), with the
 * export's process filters, as "format" text, json, folded or svg (the
 * reply's payload, bounded by max_reply like an export). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "api/handlers.h"
#include "api/server.h"
#include "common/fmt.h"
#include "common/proto.h"
#include "daemon.h"
#include "profile/diff.h"
#include "profile/format.h"
#include "profile/profile.h"

void api_diff(struct daemon *d, struct json_object *req, struct server_reply *reply)
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

	if (api_parse_window(req, "base_from_ns", "base_to_ns", 0, &w[0], reply) ||
	    api_parse_window(req, "from_ns", "to_ns", 0, &w[1], reply) || api_parse_filter(d, req, &filt, reply) ||
	    api_get_flag(req, "by_thread", &by_thread, reply) || api_get_flag(req, "icicle", &icicle, reply) ||
	    api_check_threads(d, by_thread, reply))
		return;
	if (!w[0].absolute || !w[1].absolute) {
		server_reply_error(reply, PROFD_E_BAD_REQUEST,
				   "diff needs base_from_ns, base_to_ns, from_ns and to_ns (ns since the epoch)");
		return;
	}
	if (proto_get_string(req, "format", &format, msg, sizeof(msg))) {
		server_reply_error(reply, PROFD_E_BAD_ARGUMENT, "%s", msg);
		return;
	}
	if (!diff_format_known(format)) {
		server_reply_error(reply, PROFD_E_BAD_ARGUMENT, "format: \"%s\" is not one of %s", format,
				   diff_format_names());
		return;
	}
	o.flags = (by_thread ? FORMAT_BY_THREAD : 0) | (icicle ? FORMAT_ICICLE : 0);
	api_profile_src(d, &src);
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
		server_reply_error(reply, PROFD_E_BUSY, "diff exceeds max_reply (%llu bytes): ask for shorter windows",
				   (unsigned long long)d->cfg.max_reply);
	} else if (r < 0) {
		server_reply_error(reply, PROFD_E_INTERNAL, "diff: %s", strerror(-r));
	} else {
		struct json_object *x = json_object_new_object();
		size_t nsig = 0, len;
		char *buf;

		for (size_t i = 0; i < df->nfns; i++)
			nsig += df->fns[i].significant;
		json_object_object_add(x, "format", json_object_new_string(format));
		api_add_f(x, "base_window_s", df->window_s[0]);
		api_add_f(x, "window_s", df->window_s[1]);
		api_add_u64(x, "base_samples", df->samples[0]);
		api_add_u64(x, "samples", df->samples[1]);
		api_add_u64(x, "functions", df->nfns);
		api_add_u64(x, "significant", nsig);
		buf = sink_buf_steal(&out, &len);
		server_reply_payload(reply, x, buf, len,
				     !strcmp(format, "svg") ? "image/svg+xml" : !strcmp(format, "json") ? "application/json"
												: "text/plain");
		free(buf);
	}
	sink_buf_release(&out);
	diff_free(df);
	for (int k = 0; k < 2; k++) {
		profile_free(p[k]);
		pq_result_release(&q[k]);
	}
}
