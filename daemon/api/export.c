/* SPDX-License-Identifier: GPL-2.0-only */
/* The `export` handler: a profile of a window in any format of the format
 * table, sent as the reply's payload. The window is "window" (the last
 * span) or "from_ns".."to_ns" (wall clock); processes are filtered by
 * "pid", "unit" and "comm"; "labels", "by_process", "by_thread" and
 * "icicle" set the format's flags. csv and report also get the metric
 * tables. The reply is bounded by max_reply: an export that would exceed
 * it is refused, never truncated. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "api/handlers.h"
#include "api/server.h"
#include "common/fmt.h"
#include "common/proto.h"
#include "daemon.h"
#include "profile/format.h"
#include "profile/profile.h"

void api_export(struct daemon *d, struct json_object *req, struct server_reply *reply)
{
	struct profile_src src;
	struct pq_result q = { 0 };
	struct profile *p = NULL;
	struct sink_buf out;
	struct format_result res = { 0 };
	struct format_opts fo = { .scratch_max = d->cfg.max_reply };
	const struct format *fmt;
	const char *format = NULL;
	struct json_object *o;
	char msg[256], names[128];
	struct api_window w;
	struct api_filter filt;
	int labels, by_process, by_thread, icicle;
	char *buf;
	size_t len;
	int r;

	if (api_parse_window(req, "from_ns", "to_ns", 30 * NSEC_PER_SEC, &w, reply) ||
	    api_parse_filter(d, req, &filt, reply) || api_get_flag(req, "labels", &labels, reply) ||
	    api_get_flag(req, "by_process", &by_process, reply) || api_get_flag(req, "by_thread", &by_thread, reply) ||
	    api_get_flag(req, "icicle", &icicle, reply) || api_check_threads(d, by_thread, reply))
		return;
	fo.flags = (labels ? FORMAT_LABELS : 0) | (by_process ? FORMAT_BY_PROCESS : 0) |
		   (by_thread ? FORMAT_BY_THREAD : 0) | (icicle ? FORMAT_ICICLE : 0);
	if (proto_get_string(req, "format", &format, msg, sizeof(msg))) {
		server_reply_error(reply, PROFD_E_BAD_ARGUMENT, "%s", msg);
		return;
	}
	if (!format) {
		server_reply_error(reply, PROFD_E_BAD_REQUEST, "export needs \"format\": one of %s",
				   format_names(names, sizeof(names)));
		return;
	}
	fmt = format_find(format);
	if (!fmt) {
		server_reply_error(reply, PROFD_E_BAD_ARGUMENT, "format: \"%s\" is not one of %s", format,
				   format_names(names, sizeof(names)));
		return;
	}
	api_profile_src(d, &src);
	sink_buf_init(&out, d->cfg.max_reply);
	r = api_window_query(&src, &w, &filt.pq, &q);
	if (!r)
		r = profile_build(&src, &q, &p);
	if (!r) {
		p->boot_to_real_ns = api_boot_to_real_ns();
		if (fmt == &format_csv || fmt == &format_report)
			r = api_profile_metrics(d, p, &src, &filt.pq, fmt == &format_csv);
	}
	if (!r)
		r = fmt->encode(p, &fo, &out.sink, &res);
	if (r == -E2BIG) {
		server_reply_error(reply, PROFD_E_BUSY,
				   "export of %zu stacks exceeds max_reply (%llu bytes): ask for a shorter window or one --pid",
				   p ? p->nstacks : q.n, (unsigned long long)d->cfg.max_reply);
	} else if (r < 0) {
		server_reply_error(reply, PROFD_E_INTERNAL, "export: %s", strerror(-r));
	} else {
		o = json_object_new_object();
		json_object_object_add(o, "format", json_object_new_string(fmt->name));
		api_add_f(o, "window_s", (double)q.covered_ns / 1e9);
		api_add_u64(o, "from_unix_ns", (uint64_t)((int64_t)q.from_ns + p->boot_to_real_ns));
		api_add_u64(o, "to_unix_ns", (uint64_t)((int64_t)q.to_ns + p->boot_to_real_ns));
		api_add_u64(o, "samples", res.samples);
		api_add_u64(o, "stacks", res.stacks);
		buf = sink_buf_steal(&out, &len);
		server_reply_payload(reply, o, buf, len, fmt->mime);
		free(buf);
	}
	sink_buf_release(&out);
	profile_free(p);
	pq_result_release(&q);
}
