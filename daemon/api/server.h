/* SPDX-License-Identifier: GPL-2.0-only */
/* API server: the Unix socket, its clients, and request dispatch.
 *
 * Every client is non-blocking and lives in the daemon's epoll loop.
 * Bounds: max_clients (extra connections get a "busy" error and are
 * closed), max_request bytes per line (over it: "request_too_large" and
 * the line is discarded), max_reply bytes queued per client (a client that
 * does not read is dropped), idle_timeout_ms (a client that sends nothing
 * is closed). Each hit is counted in server_stats. */
#ifndef PROFD_SERVER_H
#define PROFD_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

struct loop;
struct server;

/* What a handler answers: exactly one of ok/error must be called. */
struct server_reply;
/* data ownership is taken. */
void server_reply_ok(struct server_reply *r, struct json_object *data);
/* Binary payload (copied) announced in the response line after data. */
void server_reply_payload(struct server_reply *r, struct json_object *data, const void *payload, size_t n, const char *type);
void server_reply_error(struct server_reply *r, const char *code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The client's credentials (SO_PEERCRED: as of its connect()). 0 or
 * -errno. */
struct ucred;
int server_reply_peer(const struct server_reply *r, struct ucred *ret);

/* Called for each valid request; cmd is the "cmd" member, req the whole
 * object (borrowed). Unknown commands must answer PROFD_E_UNKNOWN_CMD. */
typedef void (*server_handler_fn)(void *userdata, const char *cmd, struct json_object *req, struct server_reply *reply);

struct server_opts {
	const char *path;       /* socket path; its directory is created 0755 */
	mode_t mode;            /* 0660 */
	const char *group;      /* "profd"; if the group does not exist, root's */
	uint32_t max_clients;   /* concurrent clients */
	size_t max_request;     /* bytes per request line */
	size_t max_reply;       /* bytes queued per client */
	uint32_t idle_timeout_ms;
	server_handler_fn handler;
	void *userdata;
};

struct server_stats {
	uint64_t clients;          /* connected now */
	uint64_t accepted;         /* total connections accepted */
	uint64_t requests;         /* requests answered */
	uint64_t errors;           /* error replies sent */
	uint64_t rejected_clients; /* refused: max_clients */
	uint64_t oversized;        /* requests over max_request */
	uint64_t idle_closed;      /* closed by idle_timeout */
	uint64_t slow_closed;      /* closed: reply queue over max_reply */
};

/* Bind (an existing stale socket at path is replaced only if nothing
 * answers on it), listen, join the loop. 0 and *ret, or -errno (-EINVAL
 * for bad opts; bind/chown/listen failures are logged with the path);
 * *ret untouched on failure. */
int server_new(struct loop *l, const struct server_opts *opts, struct server **ret);
/* Close all clients and the socket, unlink the path. NULL-safe. */
struct server *server_free(struct server *s);
/* Close idle clients; call every tick with a monotonic ms clock. */
void server_tick(struct server *s, uint64_t now_ms);
void server_get_stats(const struct server *s, struct server_stats *ret);

#endif
