/* SPDX-License-Identifier: GPL-2.0-only */
/* The `alerts`, `hotspots` and `reload` handlers: replies built by the
 * alerts subsystem (daemon/alerts/). Alerts and reload answer on the loop
 * (the alert engine is the loop's); hotspots read the store, on the query
 * worker. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "alerts/alerts.h"
#include "api/handlers.h"
#include "api/server.h"
#include "common/clock.h"
#include "common/fmt.h"
#include "common/proto.h"
#include "daemon.h"

void api_alerts(struct daemon *d, struct server_request *rq)
{
	struct json_object *req = server_request_json(rq), *o, *h;
	const char *rule = NULL;
	char msg[256];
	int history = 0;

	if (proto_get_string(req, "rule", &rule, msg, sizeof(msg))) {
		server_reply_error(rq, PROFD_E_BAD_ARGUMENT, "%s", msg);
		return;
	}
	if (json_object_object_get_ex(req, "history", &h)) {
		if (!json_object_is_type(h, json_type_boolean)) {
			server_reply_error(rq, PROFD_E_BAD_REQUEST, "\"history\" must be true or false");
			return;
		}
		history = json_object_get_boolean(h);
	}
	o = d->alerts ? alerts_list_json(d->alerts, history, rule) : NULL;
	if (!o) {
		server_reply_error(rq, PROFD_E_INTERNAL, "out of memory");
		return;
	}
	server_reply_ok(rq, o);
}

static void hotspots_answer(struct daemon *d, struct json_object *req, int show_kaddr, struct api_answer *a)
{
	struct alerts_src src;
	const char *unit = NULL;
	int64_t pid = 0, limit = 20;
	uint64_t span = 30 * NSEC_PER_SEC;
	uint64_t deadline = clock_mono_ns() + (uint64_t)d->cfg.query_timeout_ms * 1000000ull;
	char msg[256];
	int r;

	if (proto_get_duration(req, "window", NSEC_PER_SEC / 10, API_MAX_WINDOW_NS, &span, msg, sizeof(msg)) ||
	    proto_get_int(req, "pid", 1, 4194304, &pid, msg, sizeof(msg)) ||
	    proto_get_string(req, "unit", &unit, msg, sizeof(msg)) ||
	    proto_get_int(req, "limit", 1, 1000, &limit, msg, sizeof(msg))) {
		a->err.code = PROFD_E_BAD_ARGUMENT;
		snprintf(a->err.msg, sizeof(a->err.msg), "%s", msg);
		return;
	}
	if (pid && unit) {
		a->err.code = PROFD_E_BAD_ARGUMENT;
		snprintf(a->err.msg, sizeof(a->err.msg), "give \"pid\" or \"unit\", not both");
		return;
	}
	api_profile_src(d, deadline, d->cfg.query_memory / 2, show_kaddr, &src.prof);
	src.res = d->res;
	src.procfs = "/proc";
	r = alerts_hotspots_json(&src, span, (uint32_t)pid, unit, (size_t)limit, &a->data);
	if (r < 0) {
		a->err.code = r == -ETIMEDOUT ? PROFD_E_TIMEOUT : r == -E2BIG ? PROFD_E_BUSY : PROFD_E_INTERNAL;
		snprintf(a->err.msg, sizeof(a->err.msg), "hotspots: %s", strerror(-r));
	}
}

void api_hotspots(struct daemon *d, struct server_request *rq)
{
	api_query_job(d, rq, hotspots_answer);
}

void api_reload(struct daemon *d, struct server_request *rq)
{
	struct reload_result res;
	struct json_object *o;

	daemon_reload_result(d, &res);
	if (res.pending) {
		server_reply_error(rq, PROFD_E_BUSY, "a query holds the store: the reload is queued and runs when it ends");
		return;
	}
	if (!res.applied) {
		server_reply_error(rq, PROFD_E_INVALID_CONFIG, "%s; the running configuration is kept", res.error);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "reloaded", json_object_new_boolean(1));
	json_object_object_add(o, "config", json_object_new_string(d->config_path));
	/* what changed and is in force now, and what waits for a restart */
	json_object_object_add(o, "applied", daemon_list_json(d->reload_applied));
	json_object_object_add(o, "pending_restart", daemon_list_json(d->pending_restart));
	if (d->alerts) {
		struct alerts_stats st;

		alerts_get_stats(d->alerts, &st);
		json_object_object_add(o, "rules", json_object_new_uint64(st.rules));
		json_object_object_add(o, "rule_files", json_object_new_uint64(st.files));
	}
	server_reply_ok(rq, o);
}
