/* SPDX-License-Identifier: GPL-2.0-only */
/* The socket API's request handler, given to the server (api/server.h). */
#ifndef PROFD_API_API_H
#define PROFD_API_API_H

struct json_object;
struct server_reply;

/* Dispatch one valid request: cmd is its "cmd" member, req the whole
 * object (borrowed), userdata the struct daemon. Answers every request,
 * unknown commands with PROFD_E_UNKNOWN_CMD. */
void api_handle(void *userdata, const char *cmd, struct json_object *req, struct server_reply *reply);

#endif
