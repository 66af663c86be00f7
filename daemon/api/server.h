/* SPDX-License-Identifier: GPL-2.0-only */
/* API server: the Unix socket, its clients, and fair request dispatch.
 *
 * Every client is non-blocking and lives in the daemon's epoll loop. A
 * client's requests are answered in order, one at a time: the next line is
 * taken only once the previous request is finished and its reply mostly
 * sent. Clients with a request waiting take turns, one request each per
 * turn, so a client that pipelines a thousand requests delays another's
 * by at most one of its own. A handler may finish a request at once or
 * later (the query worker answers top and export), and may stream a
 * payload of any size in pieces the client's reading paces.
 *
 * Bounds: max_clients (extra connections get a "busy" error and are
 * closed), max_request bytes per line (over it: "request_too_large" and
 * the line is discarded), max_reply bytes for one reply line or fixed
 * payload (over it: "busy"), reply_memory bytes queued for all clients
 * together (a stream pauses, a large line is refused with "busy"),
 * idle_timeout_ms (a client that neither sends nor reads is closed). Each
 * hit is counted in server_stats. */
#ifndef PROFD_SERVER_H
#define PROFD_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

struct loop;
struct server;
/* One request of one client, from its dispatch to the last byte of its
 * reply. Finished by exactly one server_reply_* or server_stream_end (or
 * server_stream_abort); loop thread only. */
struct server_request;

/* Called on the loop thread for each request (a JSON object with a "cmd"
 * string; malformed lines are answered by the server). The handler
 * finishes rq now or later; the client's next request waits until then. */
typedef void (*server_handler_fn)(void *userdata, struct server_request *rq);
/* rq's client went away before rq was finished: forget rq, it is freed
 * when this returns. */
typedef void (*server_cancel_fn)(void *userdata, struct server_request *rq);
/* A stream that got no room (server_stream_reserve returned 0) may now
 * reserve again. */
typedef void (*server_resume_fn)(void *userdata, struct server_request *rq);

struct server_opts {
	const char *path;       /* socket path; its directory is created 0755 */
	mode_t mode;            /* 0660 */
	const char *group;      /* "profd"; if the group does not exist, root's */
	uint32_t max_clients;   /* concurrent clients */
	size_t max_request;     /* bytes per request line */
	size_t max_reply;       /* bytes of one reply line or fixed payload */
	size_t reply_memory;    /* bytes queued for all clients together; 0: no bound */
	uint32_t idle_timeout_ms;
	server_handler_fn handler;
	server_cancel_fn cancel;  /* may be NULL when every request finishes in the handler */
	server_resume_fn resume;  /* needed by streams */
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
	uint64_t slow_closed;      /* of those, with replies they never read */
	uint64_t pending;          /* requests dispatched and not finished now */
	uint64_t streams;          /* streamed replies in progress now */
	uint64_t streamed_bytes;   /* payload bytes streamed, total */
	uint64_t stream_pauses;    /* times a stream waited for its client or reply_memory */
	uint64_t reply_bytes;      /* bytes queued for clients now (and reserved) */
	uint64_t reply_bytes_max;  /* the most ever queued at once */
	uint64_t reply_refused;    /* replies refused with busy: max_reply or reply_memory */
	uint64_t turns;            /* dispatch turns taken (one request per ready client each) */
};

/* Bind (an existing stale socket at path is replaced only if nothing
 * answers on it), listen, join the loop. 0 and *ret, or -errno (-EINVAL
 * for bad opts; bind/chown/listen failures are logged with the path);
 * *ret untouched on failure. */
int server_new(struct loop *l, const struct server_opts *opts, struct server **ret);
/* Close all clients (cancelling their requests) and the socket, unlink
 * the path. NULL-safe. */
struct server *server_free(struct server *s);
/* Close idle clients; call every tick with a monotonic ms clock. */
void server_tick(struct server *s, uint64_t now_ms);
void server_get_stats(const struct server *s, struct server_stats *ret);

/* ---- a request ---- */

const char *server_request_cmd(const struct server_request *rq);
/* The whole request object, borrowed until rq is finished. */
struct json_object *server_request_json(const struct server_request *rq);
/* The protocol version to answer in (the request's "v"). */
int server_request_version(const struct server_request *rq);
/* 1 when the peer is root (SO_PEERCRED uid 0): it may see kernel addresses. */
int server_request_privileged(const struct server_request *rq);
/* The peer's uid and pid (SO_PEERCRED, as of its connect()): 0, or
 * -ENODATA when they could not be read. */
int server_request_peer(const struct server_request *rq, uid_t *ret_uid, pid_t *ret_pid);
/* The handler's own state for rq. */
void server_request_set_data(struct server_request *rq, void *data);
void *server_request_data(const struct server_request *rq);

/* Finish with one line: data is taken. */
void server_reply_ok(struct server_request *rq, struct json_object *data);
/* Finish with a line and a fixed payload (copied; version 1 framing,
 * bounded by max_reply). */
void server_reply_payload(struct server_request *rq, struct json_object *data, const void *payload, size_t n,
			  const char *type);
void server_reply_error(struct server_request *rq, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Finish with a line built elsewhere (proto_ok_v, proto_error_v; taken,
 * NULL means out of memory); is_error counts it as an error reply. */
void server_reply_line(struct server_request *rq, char *line, int is_error);

/* ---- a streamed payload ---- */

/* Send the response line (taken) that announces the payload: chunked, or
 * exactly fixed_bytes bytes. rq stays open. 0, or -errno (rq finished). */
int server_stream_begin(struct server_request *rq, char *line, int chunked, uint64_t fixed_bytes);
/* Reserve room for up to want bytes of the next piece, within the
 * client's stream window and reply_memory. Returns the bytes reserved;
 * 0 when there is none now: the resume callback says when to ask again. */
size_t server_stream_reserve(struct server_request *rq, size_t want);
/* Queue n payload bytes (a chunk when chunked) and release the
 * reservation; n may pass it by a piece. 0 or -errno (-ENOMEM; -EMSGSIZE
 * when a fixed payload would pass its announced size). */
int server_stream_write(struct server_request *rq, const void *buf, size_t n);
/* Finish the stream. Chunked: the last chunk and end_line (taken: an ok
 * line with the byte count, or, is_error, an error when the payload failed
 * midway). Fixed: end_line is freed unsent; unless every announced byte
 * was written the connection is closed (the client cannot otherwise tell
 * a failure). */
void server_stream_end(struct server_request *rq, char *end_line, int is_error);

#endif
