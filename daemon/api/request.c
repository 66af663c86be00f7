/* SPDX-License-Identifier: GPL-2.0-only */
/* Request helpers shared by the API handlers, see handlers.h. */
#include <errno.h>

#include <json-c/json.h>

#include "api/handlers.h"
#include "api/server.h"
#include "common/fmt.h"
#include "common/proto.h"
#include "daemon.h"

void api_profile_src(const struct daemon *d, struct profile_src *ret)
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

int api_parse_common(struct json_object *req, uint64_t def_window, uint64_t *span, int64_t *pid, struct server_reply *reply)
{
	char msg[256];

	*span = def_window;
	*pid = 0;
	if (proto_get_duration(req, "window", NSEC_PER_SEC / 10, API_MAX_WINDOW_NS, span, msg, sizeof(msg)) ||
	    proto_get_int(req, "pid", 1, 4194304, pid, msg, sizeof(msg))) {
		server_reply_error(reply, PROFD_E_BAD_ARGUMENT, "%s", msg);
		return -EINVAL;
	}
	return 0;
}

