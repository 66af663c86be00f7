/* SPDX-License-Identifier: GPL-2.0-only */
/* Request dispatch: one table of the socket API's commands. The handlers
 * read the daemon's state and answer; they never write files (profctl
 * does). */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "api/api.h"
#include "api/handlers.h"
#include "api/server.h"
#include "base/log.h"
#include "profd/protocol.h"

/* Who may run a command. Reading is for whoever can connect: the socket's
 * mode (0660, group socket_group) admits root and that group's members.
 * Changing profd's state is root's only, checked on the peer's
 * credentials (SO_PEERCRED). */
enum access { API_READ, API_ROOT };

static const struct command {
	const char *name;
	void (*fn)(struct daemon *d, struct json_object *req, struct server_reply *reply);
	enum access access;
} commands[] = {
	{ "status", api_status, API_READ },
	{ "top", api_top, API_READ },
	{ "export", api_export, API_READ },
	{ "diff", api_diff, API_READ },
	{ "alerts", api_alerts, API_READ },
	{ "hotspots", api_hotspots, API_READ },
	{ "reload", api_reload, API_ROOT },
};

/* 1 when the client may run c; else the refusal is logged and sent. */
static int allowed(const struct command *c, struct server_reply *reply)
{
	struct ucred uc;
	int r;

	if (c->access == API_READ)
		return 1;
	r = server_reply_peer(reply, &uc);
	if (r == 0 && uc.uid == 0)
		return 1;
	if (r < 0) {
		log_warn_errno(r, "api: refused \"%s\": the client's credentials are unknown: %m", c->name);
		server_reply_error(reply, PROFD_E_PERMISSION, "%s is for root only, and your credentials could not be read", c->name);
		return 0;
	}
	log_warn("api: refused \"%s\" from uid %u pid %d: root only", c->name, (unsigned)uc.uid, (int)uc.pid);
	server_reply_error(reply, PROFD_E_PERMISSION, "%s changes profd's state: root only (you are uid %u)", c->name,
			   (unsigned)uc.uid);
	return 0;
}

void api_handle(void *userdata, const char *cmd, struct json_object *req, struct server_reply *reply)
{
	char known[256];
	size_t len = 0;

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(cmd, commands[i].name)) {
			if (allowed(&commands[i], reply))
				commands[i].fn(userdata, req, reply);
			return;
		}
	known[0] = 0;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]) && len < sizeof(known); i++)
		len += (size_t)snprintf(known + len, sizeof(known) - len, "%s%s", i ? ", " : "", commands[i].name);
	server_reply_error(reply, PROFD_E_UNKNOWN_CMD, "unknown command \"%s\" (known: %s)", cmd, known);
}
