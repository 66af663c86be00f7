/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for proto: line framing, request validation, response
 * building and parsing, typed member access. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/fmt.h"
#include "common/proto.h"

/* Takes the next line and checks it; NULL expects "no complete line". */
static void expect_line(struct linebuf *lb, const char *want)
{
	char *line = NULL;
	int r = linebuf_next(lb, &line);

	if (!want) {
		assert_int_equal(r, 0);
		return;
	}
	assert_int_equal(r, 1);
	assert_string_equal(line, want);
	free(line);
}

static void feed(struct linebuf *lb, const char *s)
{
	assert_int_equal(linebuf_feed(lb, s, strlen(s)), 0);
}

static void test_linebuf_split(void **state)
{
	struct linebuf lb;

	linebuf_init(&lb, 64);
	feed(&lb, "{\"cmd\":");
	expect_line(&lb, NULL);
	feed(&lb, "\"status\"}");
	expect_line(&lb, NULL);
	feed(&lb, "\n{\"cmd\":\"top\"}\n{\"cm");
	expect_line(&lb, "{\"cmd\":\"status\"}");
	expect_line(&lb, "{\"cmd\":\"top\"}");
	expect_line(&lb, NULL);
	feed(&lb, "d\":1}\r\n");
	expect_line(&lb, "{\"cmd\":1}"); /* CR stripped */
	expect_line(&lb, NULL);
	/* Byte by byte. */
	for (const char *p = "abc\n"; *p; p++)
		assert_int_equal(linebuf_feed(&lb, p, 1), 0);
	expect_line(&lb, "abc");
	linebuf_release(&lb);
	linebuf_release(&lb); /* twice is fine */
}

static void test_linebuf_empty_lines(void **state)
{
	struct linebuf lb;

	linebuf_init(&lb, 64);
	feed(&lb, "\n\nx\n\n");
	expect_line(&lb, "");
	expect_line(&lb, "");
	expect_line(&lb, "x");
	expect_line(&lb, "");
	expect_line(&lb, NULL);
	linebuf_release(&lb);
}

static void test_linebuf_oversized(void **state)
{
	struct linebuf lb;
	char big[300];
	char *line;

	memset(big, 'a', sizeof(big));
	linebuf_init(&lb, 16);
	/* Exactly at the bound: 15 bytes + '\n'. */
	feed(&lb, "123456789012345\n");
	expect_line(&lb, "123456789012345");
	/* Over it, in one feed, between two good lines. */
	feed(&lb, "ok1\n1234567890123456\nok2\n");
	expect_line(&lb, "ok1");
	assert_int_equal(linebuf_next(&lb, &line), -E2BIG);
	expect_line(&lb, "ok2");
	expect_line(&lb, NULL);
	/* Over it across many feeds: memory stays bounded. */
	for (int i = 0; i < 100; i++)
		assert_int_equal(linebuf_feed(&lb, big, sizeof(big)), 0);
	assert_true(lb.cap <= 256);
	expect_line(&lb, NULL);
	feed(&lb, "tail\nnext\n");
	assert_int_equal(linebuf_next(&lb, &line), -E2BIG);
	expect_line(&lb, "next"); /* recovered */
	/* Two oversized lines back to back give two -E2BIG. */
	feed(&lb, "aaaaaaaaaaaaaaaaaaaaaaa\nbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\nc\n");
	assert_int_equal(linebuf_next(&lb, &line), -E2BIG);
	assert_int_equal(linebuf_next(&lb, &line), -E2BIG);
	expect_line(&lb, "c");
	/* An incomplete line that already cannot fit. */
	feed(&lb, "0123456789012345");
	assert_int_equal(lb.overflow, 1);
	feed(&lb, "\n");
	assert_int_equal(linebuf_next(&lb, &line), -E2BIG);
	linebuf_release(&lb);
}

static void test_linebuf_nul(void **state)
{
	struct linebuf lb;
	char *line;

	linebuf_init(&lb, 64);
	/* A NUL byte must neither cut the line short nor pass as the
	 * oversize mark. */
	assert_int_equal(linebuf_feed(&lb, "\0\n{}\0x\n", 7), 0);
	assert_int_equal(linebuf_next(&lb, &line), 1);
	assert_string_equal(line, "\x01");
	free(line);
	assert_int_equal(linebuf_next(&lb, &line), 1);
	assert_int_equal(strlen(line), 4);
	free(line);
	linebuf_release(&lb);
}

/* Parses a request expecting failure with code. */
static void bad_request(const char *line, const char *code)
{
	struct json_object *req = NULL;
	const char *cmd = NULL, *got = NULL;
	char msg[256] = "";

	int v = -1;

	assert_int_equal(proto_parse_request(line, &req, &cmd, &v, &got, msg, sizeof(msg)), -EINVAL);
	assert_true(v == 1 || v == 2);
	assert_null(req);
	assert_non_null(got);
	assert_string_equal(got, code);
	assert_true(strlen(msg) > 0);
}

static void test_request_ok(void **state)
{
	struct json_object *req;
	const char *cmd, *code;
	char msg[256];
	int v = 0;

	assert_int_equal(proto_parse_request("{\"v\":1,\"cmd\":\"top\",\"window\":\"10s\"}", &req, &cmd, &v, &code,
					     msg, sizeof(msg)), 0);
	assert_string_equal(cmd, "top");
	assert_int_equal(v, 1);
	json_object_put(req);
	/* "v" absent means 1; whitespace around is fine. */
	assert_int_equal(proto_parse_request("  {\"cmd\":\"status\"}  ", &req, &cmd, &v, &code, msg, sizeof(msg)), 0);
	assert_string_equal(cmd, "status");
	assert_int_equal(v, 1);
	json_object_put(req);
	assert_int_equal(proto_parse_request("{\"v\":2,\"cmd\":\"export\"}", &req, &cmd, &v, &code, msg, sizeof(msg)), 0);
	assert_int_equal(v, 2);
	json_object_put(req);
	/* a failure after "v" was read is answered in that version */
	assert_int_equal(proto_parse_request("{\"v\":2}", &req, &cmd, &v, &code, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(v, 2);
	assert_int_equal(proto_parse_request("{\"v\":7,\"cmd\":\"x\"}", &req, &cmd, &v, &code, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(v, 1);
	assert_string_equal(code, PROFD_E_VERSION);
	assert_non_null(strstr(msg, "1..2"));
}

static void test_request_bad(void **state)
{
	char deep[200];
	size_t i;

	bad_request("", PROFD_E_BAD_JSON);
	bad_request("{", PROFD_E_BAD_JSON);
	bad_request("{\"cmd\":\"top\",}", PROFD_E_BAD_JSON);
	bad_request("not json", PROFD_E_BAD_JSON);
	bad_request("[1,2]", PROFD_E_BAD_JSON);
	bad_request("\"status\"", PROFD_E_BAD_JSON);
	bad_request("42", PROFD_E_BAD_JSON);
	bad_request("null", PROFD_E_BAD_JSON);
	bad_request("{\"cmd\":\"top\"} x", PROFD_E_BAD_JSON);
	bad_request("{\"cmd\":\"top\"}{\"cmd\":\"top\"}", PROFD_E_BAD_JSON);
	bad_request("{\"cmd\":\"top\"}\x01", PROFD_E_BAD_JSON);
	bad_request("{\"v\":3,\"cmd\":\"top\"}", PROFD_E_VERSION);
	bad_request("{\"v\":0,\"cmd\":\"top\"}", PROFD_E_VERSION);
	bad_request("{\"v\":\"1\",\"cmd\":\"top\"}", PROFD_E_BAD_REQUEST);
	bad_request("{\"v\":1}", PROFD_E_BAD_REQUEST);
	bad_request("{\"v\":1,\"cmd\":7}", PROFD_E_BAD_REQUEST);
	bad_request("{\"v\":1,\"cmd\":\"\"}", PROFD_E_BAD_REQUEST);
	bad_request("{\"v\":1,\"cmd\":null}", PROFD_E_BAD_REQUEST);
	/* Deep nesting is refused by the depth limit, not by the stack. */
	for (i = 0; i < sizeof(deep) - 1; i++)
		deep[i] = i < 20 ? '{' : '[';
	deep[i] = '\0';
	memcpy(deep, "{\"a\":", 5);
	bad_request(deep, PROFD_E_BAD_JSON);
	bad_request("{\"cmd\":\"x\",\"a\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]}", PROFD_E_BAD_JSON);
}

static void test_ok_roundtrip(void **state)
{
	struct json_object *d = json_object_new_object(), *resp, *data;
	const char *code, *message;
	size_t payload = 99;
	char *line;

	json_object_object_add(d, "n", json_object_new_int(5));
	json_object_object_add(d, "path", json_object_new_string("a/b\nc"));
	line = proto_ok(d, 0, NULL);
	assert_non_null(line);
	/* One line: newline-terminated, no newline inside. */
	assert_int_equal(line[strlen(line) - 1], '\n');
	assert_null(memchr(line, '\n', strlen(line) - 1));
	assert_non_null(strstr(line, "\"v\":1"));
	assert_non_null(strstr(line, "\"ok\":true"));
	assert_null(strstr(line, "payload"));
	line[strlen(line) - 1] = '\0';
	assert_int_equal(proto_parse_response(line, &resp, &data, &payload, &code, &message), 0);
	assert_int_equal(payload, 0);
	assert_int_equal(json_object_get_int(json_object_object_get(data, "n")), 5);
	assert_string_equal(json_object_get_string(json_object_object_get(data, "path")), "a/b\nc");
	json_object_put(resp);
	free(line);

	/* NULL data becomes {}. */
	line = proto_ok(NULL, 0, NULL);
	assert_non_null(strstr(line, "\"data\":{}"));
	free(line);
}

static void test_payload_roundtrip(void **state)
{
	struct json_object *resp, *data;
	const char *code, *message;
	size_t payload = 0;
	char *line = proto_ok(json_object_new_object(), 12345, "text/plain");

	assert_non_null(strstr(line, "\"payload\":{\"bytes\":12345,\"type\":\"text/plain\"}"));
	assert_int_equal(proto_parse_response(line, &resp, &data, &payload, &code, &message), 0);
	assert_int_equal(payload, 12345);
	json_object_put(resp);
	free(line);
	/* Announced even when empty, so the client knows to expect one. */
	line = proto_ok(NULL, 0, "text/plain");
	assert_non_null(strstr(line, "\"bytes\":0"));
	free(line);
}

static void test_error_roundtrip(void **state)
{
	struct json_object *resp = NULL, *data = NULL;
	const char *code = NULL, *message = NULL;
	size_t payload = 0;
	char *line = proto_error(PROFD_E_BAD_ARGUMENT, "limit %d out of range \"%s\"", 0, "q");

	assert_non_null(line);
	assert_non_null(strstr(line, "\"ok\":false"));
	assert_int_equal(proto_parse_response(line, &resp, &data, &payload, &code, &message), -EREMOTEIO);
	assert_string_equal(code, "bad_argument");
	assert_string_equal(message, "limit 0 out of range \"q\"");
	json_object_put(resp);
	free(line);
}

static void bad_response(const char *line)
{
	struct json_object *resp = NULL, *data = NULL;
	const char *code = NULL, *message = NULL;
	size_t payload = 0;

	assert_int_equal(proto_parse_response(line, &resp, &data, &payload, &code, &message), -EPROTO);
	assert_null(resp);
}

static void test_response_bad(void **state)
{
	bad_response("");
	bad_response("garbage");
	bad_response("[]");
	bad_response("{\"v\":1}");
	bad_response("{\"v\":3,\"ok\":true}");
	/* chunked payloads exist from version 2 on, never with a size, and
	 * a version 1 reader refuses them */
	bad_response("{\"v\":1,\"ok\":true,\"payload\":{\"chunked\":true}}");
	bad_response("{\"v\":2,\"ok\":true,\"payload\":{\"chunked\":true,\"bytes\":3}}");
	bad_response("{\"v\":2,\"ok\":true,\"payload\":{\"chunked\":false}}");
	bad_response("{\"v\":2,\"ok\":true,\"payload\":{\"chunked\":true,\"type\":\"text/plain\"}}");
	bad_response("{\"v\":1,\"ok\":\"yes\"}");
	bad_response("{\"v\":1,\"ok\":false}");
	bad_response("{\"v\":1,\"ok\":false,\"error\":{\"message\":\"x\"}}");
	bad_response("{\"v\":1,\"ok\":true,\"payload\":{\"bytes\":-1}}");
	bad_response("{\"v\":1,\"ok\":true,\"payload\":{\"bytes\":99999999999}}");
	bad_response("{\"v\":1,\"ok\":true,\"payload\":{}}");
	bad_response("{\"v\":1,\"ok\":true} {}");
}

static void test_members(void **state)
{
	struct json_object *o = json_tokener_parse(
		"{\"s\":\"x\",\"i\":42,\"big\":99999999999,\"w\":\"5m\",\"ws\":30,\"bad\":\"5q\",\"neg\":-3,\"f\":1.5}");
	const char *s = "default";
	int64_t i = -1;
	uint64_t ns = 7;
	char msg[256];

	assert_int_equal(proto_get_string(o, "missing", &s, msg, sizeof(msg)), 0);
	assert_string_equal(s, "default");
	assert_int_equal(proto_get_string(o, "s", &s, msg, sizeof(msg)), 0);
	assert_string_equal(s, "x");
	assert_int_equal(proto_get_string(o, "i", &s, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "\"i\""));

	assert_int_equal(proto_get_int(o, "missing", 1, 100, &i, msg, sizeof(msg)), 0);
	assert_int_equal(i, -1);
	assert_int_equal(proto_get_int(o, "i", 1, 100, &i, msg, sizeof(msg)), 0);
	assert_int_equal(i, 42);
	assert_int_equal(proto_get_int(o, "big", 1, 10000, &i, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(proto_get_int(o, "neg", 1, 10000, &i, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(proto_get_int(o, "s", 1, 10000, &i, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(proto_get_int(o, "f", 1, 10000, &i, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(i, 42);

	assert_int_equal(proto_get_duration(o, "missing", 1, UINT64_MAX, &ns, msg, sizeof(msg)), 0);
	assert_int_equal(ns, 7);
	assert_int_equal(proto_get_duration(o, "w", NSEC_PER_SEC, 3600 * NSEC_PER_SEC, &ns, msg, sizeof(msg)), 0);
	assert_int_equal(ns, 300 * NSEC_PER_SEC);
	assert_int_equal(proto_get_duration(o, "ws", NSEC_PER_SEC, 3600 * NSEC_PER_SEC, &ns, msg, sizeof(msg)), 0);
	assert_int_equal(ns, 30 * NSEC_PER_SEC);
	assert_int_equal(proto_get_duration(o, "bad", NSEC_PER_SEC, 3600 * NSEC_PER_SEC, &ns, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(proto_get_duration(o, "w", NSEC_PER_SEC, 60 * NSEC_PER_SEC, &ns, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "1s"));
	assert_int_equal(proto_get_duration(o, "neg", NSEC_PER_SEC, 60 * NSEC_PER_SEC, &ns, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(proto_get_duration(o, "f", NSEC_PER_SEC, 60 * NSEC_PER_SEC, &ns, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(ns, 30 * NSEC_PER_SEC);
	json_object_put(o);
}


static void test_v2_chunked(void **state)
{
	struct proto_payload pl = { .type = "application/json", .chunked = 1 };
	struct proto_response r;
	char *line = proto_ok_v(2, json_object_new_object(), &pl);

	assert_non_null(strstr(line, "\"v\":2"));
	assert_non_null(strstr(line, "\"payload\":{\"chunked\":true,\"type\":\"application/json\"}"));
	assert_int_equal(proto_parse_response_ex(line, &r), 0);
	assert_int_equal(r.version, 2);
	assert_int_equal(r.has_payload, 1);
	assert_int_equal(r.payload.chunked, 1);
	assert_string_equal(r.payload.type, "application/json");
	json_object_put(r.resp);
	free(line);
	/* fixed payloads in version 2 too; errors carry the version */
	pl = (struct proto_payload){ .bytes = 7 };
	line = proto_ok_v(2, NULL, &pl);
	assert_int_equal(proto_parse_response_ex(line, &r), 0);
	assert_int_equal(r.payload.chunked, 0);
	assert_int_equal(r.payload.bytes, 7);
	assert_string_equal(r.payload.type, "application/octet-stream");
	json_object_put(r.resp);
	free(line);
	line = proto_error_v(2, PROFD_E_TIMEOUT, "took %d s", 11);
	assert_non_null(strstr(line, "\"v\":2"));
	assert_int_equal(proto_parse_response_ex(line, &r), -EREMOTEIO);
	assert_string_equal(r.code, "timeout");
	assert_string_equal(r.message, "took 11 s");
	json_object_put(r.resp);
	free(line);
	/* no payload at all */
	line = proto_ok_v(2, NULL, NULL);
	assert_int_equal(proto_parse_response_ex(line, &r), 0);
	assert_int_equal(r.has_payload, 0);
	json_object_put(r.resp);
	free(line);
	assert_int_equal(proto_parse_response_ex("nope", &r), -EPROTO);
	assert_null(r.resp);
}

static void test_chunk_headers(void **state)
{
	char buf[PROTO_CHUNK_HEADER_MAX], line[PROTO_CHUNK_HEADER_MAX];
	size_t sizes[] = { 0, 1, 9, 10, 65536, PROFD_MAX_CHUNK }, n, len;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		len = proto_chunk_header(buf, sizes[i]);
		assert_true(len >= 2);
		assert_int_equal(buf[len - 1], '\n');
		memcpy(line, buf, len - 1);
		line[len - 1] = 0;
		n = 12345;
		assert_int_equal(proto_parse_chunk_header(line, &n), 0);
		assert_int_equal(n, sizes[i]);
	}
	assert_string_equal((proto_chunk_header(buf, 4096), buf), "4096\n");
	/* anything but a plain decimal in range means the stream is lost */
	assert_int_equal(proto_parse_chunk_header("", &n), -EPROTO);
	assert_int_equal(proto_parse_chunk_header("00", &n), -EPROTO);
	assert_int_equal(proto_parse_chunk_header("01", &n), -EPROTO);
	assert_int_equal(proto_parse_chunk_header("-1", &n), -EPROTO);
	assert_int_equal(proto_parse_chunk_header("+1", &n), -EPROTO);
	assert_int_equal(proto_parse_chunk_header("1 ", &n), -EPROTO);
	assert_int_equal(proto_parse_chunk_header("0x10", &n), -EPROTO);
	assert_int_equal(proto_parse_chunk_header("16777217", &n), -EPROTO);
	assert_int_equal(proto_parse_chunk_header("99999999999999999999", &n), -EPROTO);
	assert_int_equal(proto_parse_chunk_header("{\"v\":2}", &n), -EPROTO);
}

static void test_linebuf_has_line(void **state)
{
	struct linebuf lb;
	char *line;

	linebuf_init(&lb, 16);
	assert_int_equal(linebuf_has_line(&lb), 0);
	feed(&lb, "ab");
	assert_int_equal(linebuf_has_line(&lb), 0);
	assert_int_equal(linebuf_bytes(&lb), 2);
	feed(&lb, "c\nd");
	assert_int_equal(linebuf_has_line(&lb), 1);
	expect_line(&lb, "abc");
	assert_int_equal(linebuf_has_line(&lb), 0);
	assert_int_equal(linebuf_bytes(&lb), 1);
	/* an oversized line counts: it has an answer waiting */
	feed(&lb, "0123456789012345678\n");
	assert_int_equal(linebuf_has_line(&lb), 1);
	assert_int_equal(linebuf_next(&lb, &line), -E2BIG);
	assert_int_equal(linebuf_has_line(&lb), 0);
	linebuf_release(&lb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linebuf_split),
		cmocka_unit_test(test_linebuf_empty_lines),
		cmocka_unit_test(test_linebuf_oversized),
		cmocka_unit_test(test_linebuf_nul),
		cmocka_unit_test(test_request_ok),
		cmocka_unit_test(test_request_bad),
		cmocka_unit_test(test_ok_roundtrip),
		cmocka_unit_test(test_payload_roundtrip),
		cmocka_unit_test(test_error_roundtrip),
		cmocka_unit_test(test_response_bad),
		cmocka_unit_test(test_members),
		cmocka_unit_test(test_v2_chunked),
		cmocka_unit_test(test_chunk_headers),
		cmocka_unit_test(test_linebuf_has_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
