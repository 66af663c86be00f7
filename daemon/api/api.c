/* SPDX-License-Identifier: GPL-2.0-only */
/* Request dispatch: one table of the socket API's commands. The handlers
 * read the daemon's state and answer; they never write files (profctl
 * does). */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/handlers.h"
#include "api/server.h"
#include "profd/protocol.h"

static const struct command {
	const char *name;
	void (*fn)(struct daemon *d, struct json_object *req, struct server_reply *reply);
} commands[] = {
	{ "status", api_status },
	{ "top", api_top },
	{ "export", api_export },
	{ "diff", api_diff },
	{ "alerts", api_alerts },
	{ "hotspots", api_hotspots },
	{ "reload", api_reload },
};

void api_handle(void *userdata, const char *cmd, struct json_object *req, struct server_reply *reply)
{
	char known[256];
	size_t len = 0;

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(cmd, commands[i].name)) {
			commands[i].fn(userdata, req, reply);
			return;
		}
	known[0] = 0;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]) && len < sizeof(known); i++)
		len += (size_t)snprintf(known + len, sizeof(known) - len, "%s%s", i ? ", " : "", commands[i].name);
	server_reply_error(reply, PROFD_E_UNKNOWN_CMD, "unknown command \"%s\" (known: %s)", cmd, known);
}
