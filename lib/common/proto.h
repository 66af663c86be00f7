/* SPDX-License-Identifier: GPL-2.0-only */
/* Protocol framing shared by profd and profctl: newline-delimited JSON
 * (json-c), bounded line reader, response/error builders, payload headers.
 * Pure: works on buffers and fds given by the caller. */
#ifndef PROFD_PROTO_H
#define PROFD_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "profd/protocol.h"

/* Incremental line splitter with a size bound. */
struct linebuf {
	char *buf;
	size_t len, cap, max; /* max: bound on one line incl. '\n' */
	size_t off;           /* first byte not yet returned by linebuf_next */
	int overflow;         /* current line exceeded max: discarding to '\n' */
};

void linebuf_init(struct linebuf *lb, size_t max);
void linebuf_release(struct linebuf *lb);
/* Append n bytes. 0 or -ENOMEM. Memory stays bounded by max plus the
 * complete lines not yet taken, so callers drain with linebuf_next after
 * each feed. NUL bytes in the input are replaced by 0x01 (never valid
 * JSON outside strings) so a returned C string holds the whole line. */
int linebuf_feed(struct linebuf *lb, const void *data, size_t n);
/* Take the next complete line (without '\n', NUL-terminated, caller frees)
 * into *ret_line. Returns 1 when a line is returned, 0 when none is
 * complete, -E2BIG once for each line that exceeded the bound (the line is
 * discarded up to its '\n'). */
int linebuf_next(struct linebuf *lb, char **ret_line);
/* 1 when linebuf_next would return something (a line or -E2BIG), else 0:
 * a server reads more from a client only when it has no line waiting. */
int linebuf_has_line(const struct linebuf *lb);
/* Bytes held (lines not yet taken plus the partial line). */
size_t linebuf_bytes(const struct linebuf *lb);

/* Parse a request line. On success returns 0, *ret_req is the object (caller
 * puts it), *ret_cmd points into it and *ret_version is its "v". On failure
 * returns -EINVAL and sets *ret_code (PROFD_E_*), a message in msg[msgsz]
 * and *ret_version to the version to answer in (the request's when it was
 * a supported one, else PROFD_PROTO_VERSION_MIN). Checks: JSON object, "v"
 * an integer in PROFD_PROTO_VERSION_MIN..PROFD_PROTO_VERSION (absent means
 * 1), "cmd" a non-empty string. */
int proto_parse_request(const char *line, struct json_object **ret_req, const char **ret_cmd, int *ret_version,
			const char **ret_code, char *msg, size_t msgsz);

/* What a response line announces after it. */
struct proto_payload {
	const char *type;   /* MIME type; NULL: application/octet-stream */
	uint64_t bytes;     /* fixed payload: exactly this many bytes follow */
	int chunked;        /* version 2: chunks follow, then an end record */
};

/* Build response lines (malloc'd, '\n'-terminated, NUL-terminated) of
 * protocol version v. data is taken (may be NULL: an empty object is
 * sent), also on failure. pl != NULL adds "payload":{"bytes":N,"type":T}
 * or, chunked, "payload":{"chunked":true,"type":T}. NULL on -ENOMEM. */
char *proto_ok_v(int v, struct json_object *data, const struct proto_payload *pl);
char *proto_error_v(int v, const char *code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Version 1 forms: payload_type != NULL or payload_bytes > 0 announces a
 * fixed payload. */
char *proto_ok(struct json_object *data, size_t payload_bytes, const char *payload_type);
char *proto_error(const char *code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Chunked payloads (version 2): each chunk is its length in decimal and
 * '\n', then that many bytes; a chunk of length 0 ends the payload and is
 * followed by one end record, a response line (ok with "data":{"bytes":N},
 * or an error when the payload failed midway). */
#define PROTO_CHUNK_HEADER_MAX 24
/* Header for a chunk of n bytes into buf[PROTO_CHUNK_HEADER_MAX]; its length. */
size_t proto_chunk_header(char *buf, size_t n);
/* Parse a chunk header line (without its '\n'): 0 and *ret_n (0: the
 * last), or -EPROTO (not a decimal number, leading zeros, over
 * PROFD_MAX_CHUNK). */
int proto_parse_chunk_header(const char *line, size_t *ret_n);

/* A parsed response line (client side). */
struct proto_response {
	struct json_object *resp;    /* owns the rest; json_object_put it */
	struct json_object *data;    /* "data", NULL if none */
	int version;
	int has_payload;
	struct proto_payload payload; /* type points into resp */
	const char *code, *message;  /* when the daemon answered an error */
};
/* 0 (ok), -EREMOTEIO (an error response: code and message set; resp must
 * still be put) or -EPROTO (not a valid response; nothing to put). */
int proto_parse_response_ex(const char *line, struct proto_response *ret);

/* The version 1 client form: returns 0 with *ret_resp (caller puts),
 * *ret_data (borrowed, may be NULL), *ret_payload (bytes announced, 0 if
 * none) when "ok" is true; -EPROTO if the line is not a valid response (a
 * chunked payload included); -EREMOTEIO if the daemon returned an error,
 * with *ret_code and *ret_message borrowed from *ret_resp. */
int proto_parse_response(const char *line, struct json_object **ret_resp, struct json_object **ret_data, size_t *ret_payload, const char **ret_code, const char **ret_message);

/* Typed member access for request validation. Each returns 0 and sets
 * *ret (left untouched when absent, so callers pre-set defaults), or
 * -EINVAL with a message in msg when the member has the wrong type or,
 * for durations, does not parse / is out of [min, max]. */
int proto_get_string(struct json_object *o, const char *key, const char **ret, char *msg, size_t msgsz);
int proto_get_int(struct json_object *o, const char *key, int64_t min, int64_t max, int64_t *ret, char *msg, size_t msgsz);
int proto_get_duration(struct json_object *o, const char *key, uint64_t min_ns, uint64_t max_ns, uint64_t *ret_ns, char *msg, size_t msgsz);

#endif
