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

/* Parse a request line. On success returns 0, *ret_req is the object (caller
 * puts it) and *ret_cmd points into it. On failure returns -EINVAL and sets
 * *ret_code (PROFD_E_*) and a message in msg[msgsz]. Checks: JSON object,
 * "v" integer == PROFD_PROTO_VERSION (absent means 1), "cmd" string. */
int proto_parse_request(const char *line, struct json_object **ret_req, const char **ret_cmd, const char **ret_code, char *msg, size_t msgsz);

/* Build response lines (malloc'd, '\n'-terminated, NUL-terminated).
 * proto_ok takes ownership of data (may be NULL: an empty object is sent),
 * also on failure. payload_type != NULL or payload_bytes > 0 adds
 * "payload":{"bytes":N,"type":type} (type defaults to
 * application/octet-stream). NULL on -ENOMEM. */
char *proto_ok(struct json_object *data, size_t payload_bytes, const char *payload_type);
char *proto_error(const char *code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Client side: parse a response line. Returns 0 with *ret_resp (caller
 * puts), *ret_data (borrowed, may be NULL), *ret_payload (bytes announced,
 * 0 if none) when "ok" is true; -EPROTO if the line is not a valid
 * response; -EREMOTEIO if the daemon returned an error, with *ret_code
 * and *ret_message borrowed from *ret_resp. */
int proto_parse_response(const char *line, struct json_object **ret_resp, struct json_object **ret_data, size_t *ret_payload, const char **ret_code, const char **ret_message);

/* Typed member access for request validation. Each returns 0 and sets
 * *ret (left untouched when absent, so callers pre-set defaults), or
 * -EINVAL with a message in msg when the member has the wrong type or,
 * for durations, does not parse / is out of [min, max]. */
int proto_get_string(struct json_object *o, const char *key, const char **ret, char *msg, size_t msgsz);
int proto_get_int(struct json_object *o, const char *key, int64_t min, int64_t max, int64_t *ret, char *msg, size_t msgsz);
int proto_get_duration(struct json_object *o, const char *key, uint64_t min_ns, uint64_t max_ns, uint64_t *ret_ns, char *msg, size_t msgsz);

#endif
