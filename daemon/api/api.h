/* SPDX-License-Identifier: GPL-2.0-only */
/* The socket API: the request handler given to the server
 * (api/server.h), and the callbacks for requests that outlive it. */
#ifndef PROFD_API_API_H
#define PROFD_API_API_H

struct server_request;

/* Dispatch one request, userdata the struct daemon. Cheap commands
 * (status) are answered at once on the loop; costly ones (top, export)
 * go to the query worker and are answered when it is done. Unknown
 * commands get PROFD_E_UNKNOWN_CMD. */
void api_handle(void *userdata, struct server_request *rq);
/* The client of rq went away (server_opts.cancel). */
void api_cancel(void *userdata, struct server_request *rq);
/* A paused stream may go on (server_opts.resume). */
void api_resume(void *userdata, struct server_request *rq);

#endif
