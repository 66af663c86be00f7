/* SPDX-License-Identifier: GPL-2.0-only */
/* Fuzz target: the wire protocol. Bytes are fed to the line splitter in
 * input-chosen chunks; every line is parsed as a request and as a response,
 * and a response's data must survive being re-wrapped by proto_ok. */
#include "fuzz_util.h"

#include "common/proto.h"

#include <errno.h>
#include <string.h>

static void check_request(const char *line)
{
	struct json_object *req = NULL;
	const char *cmd = NULL, *code = NULL, *str = "";
	char msg[256];
	int64_t i = 0;
	uint64_t ns = 0;
	int r, version = 0;

	msg[0] = '\0';
	r = proto_parse_request(line, &req, &cmd, &version, &code, msg, sizeof(msg));
	FUZZ_CHECK(version >= PROFD_PROTO_VERSION_MIN && version <= PROFD_PROTO_VERSION);
	if (r < 0) {
		FUZZ_CHECK(r == -EINVAL && code && memchr(msg, '\0', sizeof(msg)));
		return;
	}
	FUZZ_CHECK(req && cmd);
	/* The typed getters the API handlers use, with their real bounds. */
	(void)proto_get_string(req, "sort", &str, msg, sizeof(msg));
	(void)proto_get_string(req, "format", &str, msg, sizeof(msg));
	(void)proto_get_int(req, "pid", 1, 4194304, &i, msg, sizeof(msg));
	(void)proto_get_int(req, "limit", 1, 10000, &i, msg, sizeof(msg));
	(void)proto_get_duration(req, "window", 100000000ull, 86400ull * 1000000000ull, &ns, msg, sizeof(msg));
	json_object_put(req);
}

static void check_response(const char *line)
{
	struct json_object *resp = NULL, *data = NULL, *resp2 = NULL, *data2 = NULL;
	const char *code = NULL, *message = NULL;
	size_t payload = 0, payload2 = 0;
	char *again;
	int r = proto_parse_response(line, &resp, &data, &payload, &code, &message);

	if (r == -EREMOTEIO) {
		FUZZ_CHECK(code && message);
		json_object_put(resp);
		return;
	}
	if (r < 0) {
		FUZZ_CHECK(r == -EPROTO);
		return;
	}
	/* What the daemon builds from this data, the client must read back. */
	again = proto_ok(json_object_get(data), payload, NULL);
	if (again) {
		FUZZ_CHECK(again[strlen(again) - 1] == '\n');
		r = proto_parse_response(again, &resp2, &data2, &payload2, &code, &message);
		FUZZ_CHECK(r == 0);
		FUZZ_CHECK(payload2 == payload);
		json_object_put(resp2);
		free(again);
	}
	json_object_put(resp);
}

/* Version 2 reading: chunked announcements survive re-wrapping, and a
 * chunk header that parses is the one the daemon would write. */
static void check_response_v2(const char *line)
{
	struct proto_response r, r2;
	char hdr[PROTO_CHUNK_HEADER_MAX];
	char *again;
	size_t n, len;
	int e = proto_parse_response_ex(line, &r);

	if (e == -EREMOTEIO) {
		FUZZ_CHECK(r.code && r.message);
		json_object_put(r.resp);
	} else if (e == 0) {
		again = proto_ok_v(r.version, json_object_get(r.data), r.has_payload ? &r.payload : NULL);
		if (again) {
			FUZZ_CHECK(proto_parse_response_ex(again, &r2) == 0);
			FUZZ_CHECK(r2.has_payload == r.has_payload && r2.payload.chunked == r.payload.chunked &&
				   r2.payload.bytes == r.payload.bytes);
			json_object_put(r2.resp);
			free(again);
		}
		json_object_put(r.resp);
	} else {
		FUZZ_CHECK(e == -EPROTO && !r.resp);
	}
	if (proto_parse_chunk_header(line, &n) == 0) {
		FUZZ_CHECK(n <= PROFD_MAX_CHUNK);
		len = proto_chunk_header(hdr, n);
		FUZZ_CHECK(len == strlen(line) + 1 && !memcmp(hdr, line, len - 1));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct linebuf lb;
	size_t chunk, max, off = 0;
	char *line;
	int r;

	if (size < 2)
		return 0;
	/* Small chunks and small bounds reach the splitter's edge cases. */
	chunk = (size_t)data[0] % 64 + 1;
	max = (size_t)data[1] * 8 + 2;
	data += 2;
	size -= 2;
	linebuf_init(&lb, max);
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk;

		r = linebuf_feed(&lb, data + off, n);
		FUZZ_CHECK(r == 0);
		off += n;
		while ((r = linebuf_next(&lb, &line)) != 0) {
			if (r == -E2BIG)
				continue;
			FUZZ_CHECK(r == 1 && line);
			/* A returned line fits the bound (which counts the '\n'). */
			FUZZ_CHECK(strlen(line) < max);
			FUZZ_CHECK(!strchr(line, '\n'));
			check_request(line);
			check_response(line);
			check_response_v2(line);
			free(line);
		}
		/* Memory stays bounded once drained (see linebuf_feed). */
		FUZZ_CHECK(lb.len - lb.off <= max + 2);
	}
	linebuf_release(&lb);
	return 0;
}
