/* SPDX-License-Identifier: GPL-2.0-only */
/* profctl's transport to profd: one connection per request. */
#ifndef PROFCTL_CLIENT_H
#define PROFCTL_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

struct response {
	struct json_object *resp; /* owns data */
	struct json_object *data; /* the "data" member, NULL if none */
	char *payload;            /* NUL-terminated copy of the payload */
	size_t payload_len;
};
void client_response_release(struct response *r);

/* Connect to the socket at path (blocking connect bounded by timeout_ms,
 * then non-blocking). 0 and *ret_fd, or -errno (-ETIMEDOUT: backlog full). */
int client_connect(const char *path, uint64_t timeout_ms, int *ret_fd);
/* Send all of p, waiting at most timeout_ms between progress. 0 or -errno. */
int client_send_all(int fd, const char *p, size_t n, uint64_t timeout_ms);
/* Read the response line, then the payload it announces. 0; -EREMOTEIO
 * when the daemon answered with an error (*ret_code, *ret_message point
 * into ret->resp, which the caller releases); -EPROTO for a reply that is
 * not the protocol; -ETIMEDOUT, -ECONNRESET or another -errno. */
int client_read_response(int fd, uint64_t timeout_ms, struct response *ret, const char **ret_code,
			 const char **ret_message);

#endif
