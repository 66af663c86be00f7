/* SPDX-License-Identifier: GPL-2.0-only */
/* The reload command: what SIGHUP does, with its result for the caller
 * (profctl reload, the unit's ExecReload=). Root only (api.c). */
#include <json-c/json.h>

#include "api/handlers.h"
#include "api/server.h"
#include "daemon.h"
#include "profd/protocol.h"

void api_reload(struct daemon *d, struct json_object *req, struct server_reply *reply)
{
	struct reload_result res;
	struct json_object *o;

	(void)req;
	daemon_reload_result(d, &res);
	if (!res.applied) {
		server_reply_error(reply, PROFD_E_RELOAD, "%s; the running configuration is kept", res.error);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "config", json_object_new_string(d->config_path));
	json_object_object_add(o, "applied", json_object_new_boolean(1));
	/* changed settings that wait for a restart, or none */
	json_object_object_add(o, "needs_restart", res.restart[0] ? json_object_new_string(res.restart) : NULL);
	server_reply_ok(reply, o);
}
