/* SPDX-License-Identifier: GPL-2.0-only */
/* profctl's transport to profd: one connection per request. */
#ifndef PROFCTL_CLIENT_H
#define PROFCTL_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

struct response {
	struct json_object *resp; /* the response line; owns data */
	struct json_object *data; /* the "data" member, NULL if none */
	struct json_object *end;  /* chunked payloads: the end record */
	int version;              /* of the response */
	int chunked;              /* the payload came in chunks */
	char *payload;            /* NUL-terminated copy of the payload (when
				   * no payload function took it) */
	size_t payload_len;       /* bytes of payload received */
};
void client_response_release(struct response *r);

/* Where payload bytes go as they arrive: 0, or -errno to stop. */
typedef int (*client_payload_fn)(void *ctx, const void *buf, size_t n);

/* Connect to the socket at path (blocking connect bounded by timeout_ms,
 * then non-blocking). 0 and *ret_fd, or -errno (-ETIMEDOUT: backlog full). */
int client_connect(const char *path, uint64_t timeout_ms, int *ret_fd);
/* Send all of p, waiting at most timeout_ms between progress. 0 or -errno. */
int client_send_all(int fd, const char *p, size_t n, uint64_t timeout_ms);
/* Read the response line, then the payload it announces (fixed or
 * chunked), each wait bounded by timeout_ms. The payload goes to fn as it
 * arrives, or into ret->payload when fn is NULL (fixed payloads up to
 * PROFD_MAX_PAYLOAD; chunked ones likewise). Returns 0; -EREMOTEIO when
 * the daemon answered with an error, before the payload or in a chunked
 * payload's end record (*ret_code, *ret_message point into ret, which the
 * caller releases; ret->payload_len tells how much arrived first);
 * -EPROTO for a reply that is not the protocol; -ETIMEDOUT, -ECONNRESET
 * (the daemon closed early: a fixed payload cut short), fn's error, or
 * another -errno. */
int client_read_response(int fd, uint64_t timeout_ms, struct response *ret, const char **ret_code,
			 const char **ret_message, client_payload_fn fn, void *ctx);

#endif
