/* SPDX-License-Identifier: GPL-2.0-only */
/* Protocol framing shared by profd and profctl: a bounded line splitter,
 * request/response parsing and building with json-c. See docs/protocol.md. */
#include "common/proto.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fmt.h"

/* Requests are flat objects; 16 levels leave room for structured filters
 * while stopping "[[[[..." from costing a stack frame per byte. */
#define REQUEST_MAX_DEPTH 16
/* Responses carry export data (stacks → frames → frame): a few levels,
 * but the client should not be the one to refuse a future schema. */
#define RESPONSE_MAX_DEPTH 64

/* An oversized line is replaced in the buffer by this one-byte line, so
 * -E2BIG comes out of linebuf_next in order with the lines around it.
 * Input NUL bytes are mapped to 0x01 on feed, so no real line matches. */
#define OVERSIZE_MARK '\0'

void linebuf_init(struct linebuf *lb, size_t max)
{
	memset(lb, 0, sizeof(*lb));
	lb->max = max ? max : PROFD_MAX_REQUEST_DEFAULT;
}

void linebuf_release(struct linebuf *lb)
{
	if (!lb)
		return;
	free(lb->buf);
	lb->buf = NULL;
	lb->len = lb->cap = lb->off = 0;
	lb->overflow = 0;
}

static int lb_reserve(struct linebuf *lb, size_t extra)
{
	size_t need = lb->len + extra, cap;
	char *nb;

	if (need <= lb->cap)
		return 0;
	cap = lb->cap ? lb->cap : 256;
	while (cap < need)
		cap *= 2;
	nb = realloc(lb->buf, cap);
	if (!nb)
		return -ENOMEM;
	lb->buf = nb;
	lb->cap = cap;
	return 0;
}

static int lb_append(struct linebuf *lb, const char *data, size_t n)
{
	char *dst, *z;
	int r = lb_reserve(lb, n);

	if (r < 0)
		return r;
	dst = lb->buf + lb->len;
	memcpy(dst, data, n);
	while ((z = memchr(dst, '\0', n - (size_t)(dst - (lb->buf + lb->len)))))
		*z = '\x01', dst = z + 1;
	lb->len += n;
	return 0;
}

static int lb_mark_oversize(struct linebuf *lb)
{
	static const char mark[2] = { OVERSIZE_MARK, '\n' };
	int r = lb_reserve(lb, sizeof(mark));

	if (r < 0)
		return r;
	memcpy(lb->buf + lb->len, mark, sizeof(mark));
	lb->len += sizeof(mark);
	lb->overflow = 0;
	return 0;
}

int linebuf_feed(struct linebuf *lb, const void *data, size_t n)
{
	const char *p = data;

	/* Drop what linebuf_next already returned. */
	if (lb->off) {
		memmove(lb->buf, lb->buf + lb->off, lb->len - lb->off);
		lb->len -= lb->off;
		lb->off = 0;
	}
	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		size_t seg = nl ? (size_t)(nl - p) + 1 : n;
		const char *last;
		size_t tail_start, cur;
		int r;

		if (lb->overflow) {
			/* Discarding the rest of an oversized line. */
			if (!nl)
				return 0;
			r = lb_mark_oversize(lb);
			if (r < 0)
				return r;
			p += seg;
			n -= seg;
			continue;
		}
		last = lb->len ? memrchr(lb->buf, '\n', lb->len) : NULL;
		tail_start = last ? (size_t)(last - lb->buf) + 1 : 0;
		cur = lb->len - tail_start;
		/* Without its '\n' yet, the line still needs one more byte. */
		if (cur + seg + (nl ? 0 : 1) > lb->max) {
			lb->len = tail_start;
			lb->overflow = 1;
			continue;
		}
		r = lb_append(lb, p, seg);
		if (r < 0)
			return r;
		p += seg;
		n -= seg;
	}
	return 0;
}

int linebuf_next(struct linebuf *lb, char **ret_line)
{
	char *start, *nl, *line;
	size_t n;

	if (lb->off >= lb->len)
		return 0;
	start = lb->buf + lb->off;
	nl = memchr(start, '\n', lb->len - lb->off);
	if (!nl)
		return 0;
	n = (size_t)(nl - start);
	if (n == 1 && start[0] == OVERSIZE_MARK) {
		lb->off += 2;
		return -E2BIG;
	}
	/* Tolerate CRLF from hand-typed sessions (socat, nc -C). */
	line = malloc(n + 1);
	if (!line)
		return -ENOMEM;
	memcpy(line, start, n);
	if (n && line[n - 1] == '\r')
		n--;
	line[n] = '\0';
	lb->off += (size_t)(nl - start) + 1;
	if (lb->off == lb->len)
		lb->off = lb->len = 0;
	*ret_line = line;
	return 1;
}

int linebuf_has_line(const struct linebuf *lb)
{
	return lb->off < lb->len && memchr(lb->buf + lb->off, '\n', lb->len - lb->off) != NULL;
}

size_t linebuf_bytes(const struct linebuf *lb)
{
	return lb->len - lb->off;
}

/* Parses one JSON text that must fill the whole string. NULL on failure,
 * with a message. */
static struct json_object *parse_json(const char *s, int depth, char *msg, size_t msgsz)
{
	struct json_tokener *tok = json_tokener_new_ex(depth);
	struct json_object *o;
	enum json_tokener_error e;
	size_t len = strlen(s);

	if (!tok) {
		snprintf(msg, msgsz, "out of memory");
		return NULL;
	}
	if (len > INT32_MAX - 1) {
		json_tokener_free(tok);
		snprintf(msg, msgsz, "line too long to parse");
		return NULL;
	}
	/* Strict: one JSON text, no trailing garbage, no trailing commas.
	 * The terminating NUL is passed too so a bare "123" is complete. */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, s, (int)len + 1);
	e = json_tokener_get_error(tok);
	if (!o || e != json_tokener_success) {
		snprintf(msg, msgsz, "invalid JSON at offset %zu: %s", json_tokener_get_parse_end(tok),
			 e == json_tokener_success ? "no value" : json_tokener_error_desc(e));
		json_object_put(o);
		json_tokener_free(tok);
		return NULL;
	}
	for (size_t i = json_tokener_get_parse_end(tok); i < len; i++) {
		if (!strchr(" \t\r\n", s[i])) {
			snprintf(msg, msgsz, "trailing data at offset %zu", i);
			json_object_put(o);
			json_tokener_free(tok);
			return NULL;
		}
	}
	json_tokener_free(tok);
	return o;
}

static const char *type_name(struct json_object *v)
{
	return v ? json_type_to_name(json_object_get_type(v)) : "null";
}

int proto_parse_request(const char *line, struct json_object **ret_req, const char **ret_cmd, int *ret_version,
			const char **ret_code, char *msg, size_t msgsz)
{
	struct json_object *o, *v, *cmd;
	int64_t version = 1;

	*ret_version = PROFD_PROTO_VERSION_MIN;
	o = parse_json(line, REQUEST_MAX_DEPTH, msg, msgsz);
	if (!o) {
		*ret_code = PROFD_E_BAD_JSON;
		return -EINVAL;
	}
	if (!json_object_is_type(o, json_type_object)) {
		snprintf(msg, msgsz, "request must be a JSON object, not %s", type_name(o));
		*ret_code = PROFD_E_BAD_JSON;
		goto fail;
	}
	if (json_object_object_get_ex(o, "v", &v)) {
		if (!json_object_is_type(v, json_type_int)) {
			snprintf(msg, msgsz, "\"v\" must be an integer, not %s", type_name(v));
			*ret_code = PROFD_E_BAD_REQUEST;
			goto fail;
		}
		version = json_object_get_int64(v);
		if (version < PROFD_PROTO_VERSION_MIN || version > PROFD_PROTO_VERSION) {
			snprintf(msg, msgsz, "protocol version %lld is not supported (this daemon speaks %d..%d)",
				 (long long)version, PROFD_PROTO_VERSION_MIN, PROFD_PROTO_VERSION);
			*ret_code = PROFD_E_VERSION;
			goto fail;
		}
	}
	*ret_version = (int)version;
	if (!json_object_object_get_ex(o, "cmd", &cmd)) {
		snprintf(msg, msgsz, "missing \"cmd\"");
		*ret_code = PROFD_E_BAD_REQUEST;
		goto fail;
	}
	if (!json_object_is_type(cmd, json_type_string) || json_object_get_string_len(cmd) == 0) {
		snprintf(msg, msgsz, "\"cmd\" must be a non-empty string");
		*ret_code = PROFD_E_BAD_REQUEST;
		goto fail;
	}
	*ret_req = o;
	*ret_cmd = json_object_get_string(cmd);
	return 0;
fail:
	json_object_put(o);
	return -EINVAL;
}

/* Serializes o plus '\n' into a malloc'd string and puts o. */
static char *to_line(struct json_object *o)
{
	const char *s;
	size_t n;
	char *line = NULL;

	if (!o)
		return NULL;
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s) {
		n = strlen(s);
		line = malloc(n + 2);
		if (line) {
			memcpy(line, s, n);
			line[n] = '\n';
			line[n + 1] = '\0';
		}
	}
	json_object_put(o);
	return line;
}

/* json_object_object_add fails only on allocation; a failed build frees
 * everything and reports NULL. */
static int add(struct json_object *o, const char *k, struct json_object *v)
{
	if (!v)
		return -ENOMEM;
	if (json_object_object_add(o, k, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

char *proto_ok_v(int version, struct json_object *data, const struct proto_payload *pl)
{
	struct json_object *o = json_object_new_object();
	struct json_object *po;

	if (!data)
		data = json_object_new_object();
	if (!o || add(o, "v", json_object_new_int(version)) < 0 || add(o, "ok", json_object_new_boolean(1)) < 0) {
		json_object_put(data);
		json_object_put(o);
		return NULL;
	}
	if (add(o, "data", data) < 0) {
		json_object_put(o);
		return NULL;
	}
	if (pl) {
		const char *type = pl->type ? pl->type : "application/octet-stream";

		po = json_object_new_object();
		if (!po || (pl->chunked ? add(po, "chunked", json_object_new_boolean(1))
					: add(po, "bytes", json_object_new_uint64(pl->bytes))) < 0 ||
		    add(po, "type", json_object_new_string(type)) < 0 || add(o, "payload", po) < 0) {
			json_object_put(o);
			return NULL;
		}
	}
	return to_line(o);
}

char *proto_ok(struct json_object *data, size_t payload_bytes, const char *payload_type)
{
	struct proto_payload pl = { .type = payload_type, .bytes = payload_bytes };

	return proto_ok_v(1, data, payload_type || payload_bytes ? &pl : NULL);
}

static char *error_line(int version, const char *code, const char *msg)
{
	struct json_object *o = json_object_new_object();
	struct json_object *e = json_object_new_object();

	if (!o || !e || add(e, "code", json_object_new_string(code)) < 0 ||
	    add(e, "message", json_object_new_string(msg)) < 0 || add(o, "v", json_object_new_int(version)) < 0 ||
	    add(o, "ok", json_object_new_boolean(0)) < 0) {
		json_object_put(e);
		json_object_put(o);
		return NULL;
	}
	if (add(o, "error", e) < 0) {
		json_object_put(o);
		return NULL;
	}
	return to_line(o);
}

char *proto_error_v(int version, const char *code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return error_line(version, code, msg);
}

char *proto_error(const char *code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return error_line(1, code, msg);
}

size_t proto_chunk_header(char *buf, size_t n)
{
	int len = snprintf(buf, PROTO_CHUNK_HEADER_MAX, "%zu\n", n);

	return len > 0 ? (size_t)len : 0;
}

int proto_parse_chunk_header(const char *line, size_t *ret_n)
{
	size_t n = 0, i;

	/* Digits only, no sign, no leading zeros (so "0" alone ends it):
	 * anything else means the stream is out of step. */
	for (i = 0; line[i]; i++) {
		if (line[i] < '0' || line[i] > '9' || i >= 9 || (i == 1 && line[0] == '0'))
			return -EPROTO;
		n = n * 10 + (size_t)(line[i] - '0');
	}
	if (i == 0 || n > PROFD_MAX_CHUNK)
		return -EPROTO;
	*ret_n = n;
	return 0;
}

int proto_parse_response_ex(const char *line, struct proto_response *ret)
{
	struct json_object *o, *v, *ok, *data = NULL, *pl, *bytes, *chunked, *type, *err, *code, *message;
	char msg[256];
	int64_t version = 1, n = 0;

	memset(ret, 0, sizeof(*ret));
	o = parse_json(line, RESPONSE_MAX_DEPTH, msg, sizeof(msg));
	if (!o)
		return -EPROTO;
	if (!json_object_is_type(o, json_type_object))
		goto bad;
	if (json_object_object_get_ex(o, "v", &v)) {
		if (!json_object_is_type(v, json_type_int))
			goto bad;
		version = json_object_get_int64(v);
		if (version < PROFD_PROTO_VERSION_MIN || version > PROFD_PROTO_VERSION)
			goto bad;
	}
	ret->version = (int)version;
	if (!json_object_object_get_ex(o, "ok", &ok) || !json_object_is_type(ok, json_type_boolean))
		goto bad;
	if (!json_object_get_boolean(ok)) {
		if (!json_object_object_get_ex(o, "error", &err) || !json_object_is_type(err, json_type_object) ||
		    !json_object_object_get_ex(err, "code", &code) || !json_object_is_type(code, json_type_string))
			goto bad;
		ret->code = json_object_get_string(code);
		ret->message = "";
		if (json_object_object_get_ex(err, "message", &message) && json_object_is_type(message, json_type_string))
			ret->message = json_object_get_string(message);
		ret->resp = o;
		return -EREMOTEIO;
	}
	if (json_object_object_get_ex(o, "payload", &pl)) {
		if (!json_object_is_type(pl, json_type_object))
			goto bad;
		if (json_object_object_get_ex(pl, "chunked", &chunked)) {
			/* Chunks exist from version 2 on, and never with a size. */
			if (version < 2 || !json_object_is_type(chunked, json_type_boolean) ||
			    !json_object_get_boolean(chunked) || json_object_object_get_ex(pl, "bytes", &bytes))
				goto bad;
			ret->payload.chunked = 1;
		} else {
			if (!json_object_object_get_ex(pl, "bytes", &bytes) || !json_object_is_type(bytes, json_type_int))
				goto bad;
			n = json_object_get_int64(bytes);
			if (n < 0 || (uint64_t)n > PROFD_MAX_PAYLOAD)
				goto bad;
			ret->payload.bytes = (uint64_t)n;
		}
		if (json_object_object_get_ex(pl, "type", &type) && json_object_is_type(type, json_type_string))
			ret->payload.type = json_object_get_string(type);
		ret->has_payload = 1;
	}
	json_object_object_get_ex(o, "data", &data);
	ret->resp = o;
	ret->data = data;
	return 0;
bad:
	json_object_put(o);
	memset(ret, 0, sizeof(*ret));
	return -EPROTO;
}

int proto_parse_response(const char *line, struct json_object **ret_resp, struct json_object **ret_data, size_t *ret_payload, const char **ret_code, const char **ret_message)
{
	struct proto_response r;
	int e = proto_parse_response_ex(line, &r);

	if (e == -EREMOTEIO) {
		*ret_resp = r.resp;
		*ret_code = r.code;
		*ret_message = r.message;
		return e;
	}
	if (e < 0)
		return e;
	if (r.payload.chunked) {
		json_object_put(r.resp);
		return -EPROTO;
	}
	*ret_resp = r.resp;
	*ret_data = r.data;
	*ret_payload = (size_t)r.payload.bytes;
	return 0;
}

int proto_get_string(struct json_object *o, const char *key, const char **ret, char *msg, size_t msgsz)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string)) {
		snprintf(msg, msgsz, "\"%s\" must be a string, not %s", key, type_name(v));
		return -EINVAL;
	}
	*ret = json_object_get_string(v);
	return 0;
}

int proto_get_int(struct json_object *o, const char *key, int64_t min, int64_t max, int64_t *ret, char *msg, size_t msgsz)
{
	struct json_object *v;
	int64_t x;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int)) {
		snprintf(msg, msgsz, "\"%s\" must be an integer, not %s", key, type_name(v));
		return -EINVAL;
	}
	/* json-c saturates values past int64; those are out of any range
	 * callers give, except when max is INT64_MAX. */
	x = json_object_get_int64(v);
	if (x < min || x > max) {
		snprintf(msg, msgsz, "\"%s\" = %lld is out of range %lld..%lld", key, (long long)x, (long long)min,
			 (long long)max);
		return -EINVAL;
	}
	*ret = x;
	return 0;
}

int proto_get_duration(struct json_object *o, const char *key, uint64_t min_ns, uint64_t max_ns, uint64_t *ret_ns, char *msg, size_t msgsz)
{
	struct json_object *v;
	uint64_t ns;
	char a[32], b[32];

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (json_object_is_type(v, json_type_string)) {
		if (fmt_parse_duration(json_object_get_string(v), &ns) < 0) {
			snprintf(msg, msgsz, "\"%s\" = \"%.64s\" is not a duration (e.g. 30s, 5m, 1h30m)", key,
				 json_object_get_string(v));
			return -EINVAL;
		}
	} else if (json_object_is_type(v, json_type_int)) {
		/* A plain number is seconds, as in the config file. */
		int64_t secs = json_object_get_int64(v);
		if (secs <= 0 || (uint64_t)secs > UINT64_MAX / NSEC_PER_SEC) {
			snprintf(msg, msgsz, "\"%s\" = %lld is not a positive number of seconds", key, (long long)secs);
			return -EINVAL;
		}
		ns = (uint64_t)secs * NSEC_PER_SEC;
	} else {
		snprintf(msg, msgsz, "\"%s\" must be a duration string, not %s", key, type_name(v));
		return -EINVAL;
	}
	if (ns < min_ns || ns > max_ns) {
		snprintf(msg, msgsz, "\"%s\" must be between %s and %s", key, fmt_duration(a, sizeof(a), min_ns),
			 fmt_duration(b, sizeof(b), max_ns));
		return -EINVAL;
	}
	*ret_ns = ns;
	return 0;
}
