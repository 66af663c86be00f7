/* SPDX-License-Identifier: GPL-2.0-only */
/* The `alerts`, `hotspots` and `reload` handlers: replies built by the
 * alerts subsystem (daemon/alerts/), read from the daemon's state. */
#include <errno.h>
#include <string.h>

#include <json-c/json.h>

#include "alerts/alerts.h"
#include "api/handlers.h"
#include "api/server.h"
#include "common/fmt.h"
#include "common/proto.h"
#include "daemon.h"

void api_alerts(struct daemon *d, struct json_object *req, struct server_reply *reply)
{
	struct json_object *o, *h;
	const char *rule = NULL;
	char msg[256];
	int history = 0;

	if (proto_get_string(req, "rule", &rule, msg, sizeof(msg))) {
		server_reply_error(reply, PROFD_E_BAD_ARGUMENT, "%s", msg);
		return;
	}
	if (json_object_object_get_ex(req, "history", &h)) {
		if (!json_object_is_type(h, json_type_boolean)) {
			server_reply_error(reply, PROFD_E_BAD_REQUEST, "\"history\" must be true or false");
			return;
		}
		history = json_object_get_boolean(h);
	}
	o = d->alerts ? alerts_list_json(d->alerts, history, rule) : NULL;
	if (!o) {
		server_reply_error(reply, PROFD_E_INTERNAL, "out of memory");
		return;
	}
	server_reply_ok(reply, o);
}

void api_hotspots(struct daemon *d, struct json_object *req, struct server_reply *reply)
{
	struct alerts_src src;
	struct json_object *o = NULL;
	const char *unit = NULL;
	int64_t pid, limit = 20;
	uint64_t span;
	char msg[256];
	int r;

	if (api_parse_common(req, 30 * NSEC_PER_SEC, &span, &pid, reply))
		return;
	if (proto_get_string(req, "unit", &unit, msg, sizeof(msg)) ||
	    proto_get_int(req, "limit", 1, 1000, &limit, msg, sizeof(msg))) {
		server_reply_error(reply, PROFD_E_BAD_ARGUMENT, "%s", msg);
		return;
	}
	if (pid && unit) {
		server_reply_error(reply, PROFD_E_BAD_ARGUMENT, "give \"pid\" or \"unit\", not both");
		return;
	}
	api_profile_src(d, &src.prof);
	src.res = d->res;
	src.procfs = "/proc";
	r = alerts_hotspots_json(&src, span, (uint32_t)pid, unit, (size_t)limit, &o);
	if (r < 0) {
		server_reply_error(reply, PROFD_E_INTERNAL, "hotspots: %s", strerror(-r));
		return;
	}
	server_reply_ok(reply, o);
}

void api_reload(struct daemon *d, struct json_object *req, struct server_reply *reply)
{
	struct reload_result res;
	struct json_object *o;

	(void)req;
	daemon_reload_result(d, &res);
	if (!res.applied) {
		server_reply_error(reply, PROFD_E_INVALID_CONFIG, "%s; the running configuration is kept", res.error);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "reloaded", json_object_new_boolean(1));
	json_object_object_add(o, "config", json_object_new_string(d->config_path));
	/* changed settings that wait for a restart, or null */
	json_object_object_add(o, "needs_restart", res.restart[0] ? json_object_new_string(res.restart) : NULL);
	if (d->alerts) {
		struct alerts_stats st;

		alerts_get_stats(d->alerts, &st);
		json_object_object_add(o, "rules", json_object_new_uint64(st.rules));
		json_object_object_add(o, "rule_files", json_object_new_uint64(st.files));
	}
	server_reply_ok(reply, o);
}
