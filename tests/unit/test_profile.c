/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for the profile model and its encoders: a fixture profile
 * (processes, kernel/user/unknown frames, pseudo-frame flags, names that
 * need sanitising, lines that sort differently element-wise and
 * byte-wise) encoded as folded and JSON and compared with golden files
 * under tests/fixtures/profile/. The JSON is also compared with json-c's
 * own pretty printing of the same tree, which is what profctl wrote before
 * the encoder streamed it. Bounds: a sink that fills, scratch that runs
 * out. Set PROFD_UPDATE_GOLDEN=1 to rewrite the golden files. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "profile/format.h"
#include "profile/profile.h"

static const char *fixtures(void)
{
	const char *f = getenv("PROFD_FIXTURES");

	return f ? f : "tests/fixtures";
}

static char *slurp(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = 0;
	fclose(f);
	*ret_len = (size_t)n;
	return buf;
}

static void check_golden(const char *name, const char *out, size_t len)
{
	char path[4096];
	size_t glen = 0;
	char *g;

	snprintf(path, sizeof(path), "%s/profile/%s", fixtures(), name);
	if (getenv("PROFD_UPDATE_GOLDEN")) {
		FILE *f = fopen(path, "wb");

		assert_non_null(f);
		assert_int_equal(fwrite(out, 1, len, f), len);
		fclose(f);
	}
	g = slurp(path, &glen);
	if (!g)
		fail_msg("golden file %s missing (PROFD_UPDATE_GOLDEN=1 writes it)", path);
	if (glen != len || memcmp(g, out, len)) {
		fprintf(stderr, "--- %s (golden, %zu bytes)\n%s\n--- encoder (%zu bytes)\n%.*s\n", path, glen, g, len,
			(int)len, out);
		fail_msg("%s differs from the encoder's output", name);
	}
	free(g);
}

/* The fixture: three processes, shared frames, every flag. */
static struct profile *fixture(void)
{
	static const uint8_t bid[20] = { 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	struct profile *p = NULL;
	int app, libc, vmlinux, start, main_, work, foo, foo_cold, semi, ksys, kread, unk, libc_read;
	int p1, p2, p3;

	assert_int_equal(profile_new_empty(&p), 0);
	p->frequency = 99;
	p->covered_ns = 30000000000ull;
	app = profile_add_mapping(p, "app", bid, sizeof(bid), 0);
	libc = profile_add_mapping(p, "libc.so.6", NULL, 0, 0);
	vmlinux = profile_add_mapping(p, "vmlinux", NULL, 0, 1);
	start = profile_add_frame(p, "_start", (uint32_t)app, PROFILE_FRAME_USER, 0x1040);
	main_ = profile_add_frame(p, "main", (uint32_t)app, PROFILE_FRAME_USER, 0x1180);
	work = profile_add_frame(p, "ns::work<int>(int)", (uint32_t)app, PROFILE_FRAME_USER, 0x1200);
	foo = profile_add_frame(p, "foo", (uint32_t)app, PROFILE_FRAME_USER, 0x1300);
	foo_cold = profile_add_frame(p, "foo.cold", (uint32_t)app, PROFILE_FRAME_USER, 0x1400);
	semi = profile_add_frame(p, "odd;name with spaces", (uint32_t)app, PROFILE_FRAME_USER, 0x1500);
	libc_read = profile_add_frame(p, "read", (uint32_t)libc, PROFILE_FRAME_USER, 0x11a2e0);
	ksys = profile_add_frame(p, "ksys_read", (uint32_t)vmlinux, PROFILE_FRAME_KERNEL, 0xffffffff81234560ull);
	kread = profile_add_frame(p, "vfs_read", (uint32_t)vmlinux, PROFILE_FRAME_KERNEL, 0xffffffff81234000ull);
	unk = profile_add_frame(p, "[unknown]", PROFILE_NO_MAPPING, PROFILE_FRAME_USER, 0x7f0011223344ull);
	p1 = profile_add_proc(p, 4242, 1000, "app", "app --serve");
	p2 = profile_add_proc(p, 77, 2000, "my proc;x", "");
	p3 = profile_add_proc(p, 0, 0, "[expired]", "");
	assert_true(app >= 0 && libc >= 0 && vmlinux >= 0 && start >= 0 && main_ >= 0 && work >= 0 && foo >= 0 &&
		    foo_cold >= 0 && semi >= 0 && libc_read >= 0 && ksys >= 0 && kread >= 0 && unk >= 0 && p1 >= 0 &&
		    p2 >= 0 && p3 >= 0);
	{
		uint32_t a[] = { start, main_, work };
		uint32_t b[] = { start, main_, foo, work };
		uint32_t c[] = { start, main_, foo_cold, work };
		uint32_t d[] = { start, main_, libc_read, ksys, kread };
		uint32_t e[] = { unk, semi };

		assert_true(profile_add_stack(p, p1, a, 3, 0, 50) >= 0);
		assert_true(profile_add_stack(p, p1, b, 4, 0, 7) >= 0);
		assert_true(profile_add_stack(p, p1, c, 4, 0, 3) >= 0);
		assert_true(profile_add_stack(p, p1, d, 5, 0, 11) >= 0);
		/* the same line again (another stack id of the store): merged */
		assert_true(profile_add_stack(p, p1, a, 3, 0, 5) >= 0);
		assert_true(profile_add_stack(p, p2, e, 2, PROFILE_STACK_TRUNCATED, 4) >= 0);
		assert_true(profile_add_stack(p, p2, NULL, 0, PROFILE_STACK_OVERFLOW, 2) >= 0);
		assert_true(profile_add_stack(p, p3, NULL, 0, PROFILE_STACK_COARSENED, 1) >= 0);
	}
	return p;
}

static char *encode(const struct profile *p, const char *fmt, size_t max, size_t scratch, int *ret_err,
		    struct format_result *res, size_t *ret_len)
{
	const struct format *f = format_find(fmt);
	struct format_opts o = { .scratch_max = scratch };
	struct sink_buf b;
	char *out;

	assert_non_null(f);
	sink_buf_init(&b, max);
	*ret_err = f->encode(p, &o, &b.sink, res);
	if (*ret_err) {
		sink_buf_release(&b);
		return NULL;
	}
	out = sink_buf_steal(&b, ret_len);
	out = realloc(out, *ret_len + 1);
	assert_non_null(out);
	out[*ret_len] = 0;
	return out;
}

static void test_table(void **state)
{
	char names[128];

	(void)state;
	assert_non_null(format_find("folded"));
	assert_non_null(format_find("json"));
	assert_null(format_find("nope"));
	assert_null(format_find(NULL));
	assert_string_equal(format_names(names, sizeof(names)), "folded, json");
	for (const struct format *const *f = format_all(); *f; f++) {
		assert_non_null((*f)->mime);
		assert_non_null((*f)->encode);
		assert_ptr_equal(format_find((*f)->name), *f);
	}
}

static void test_folded_golden(void **state)
{
	struct profile *p = fixture();
	struct format_result res;
	size_t len;
	int err;
	char *out = encode(p, "folded", 0, 0, &err, &res, &len);

	(void)state;
	assert_int_equal(err, 0);
	check_golden("fixture.folded", out, len);
	/* 8 stacks, two of them the same line */
	assert_int_equal(res.stacks, 7);
	assert_int_equal(res.samples, 83);
	assert_int_equal(p->samples, 83);
	/* byte order of whole lines, not frame by frame: ";foo.cold;"
	 * sorts before ";foo;" ('.' < ';') */
	assert_non_null(strstr(out, "main;foo;ns::work<int>(int) 7"));
	assert_true(strstr(out, "main;foo.cold;") < strstr(out, "main;foo;"));
	assert_non_null(strstr(out, "main;ns::work<int>(int) 55\n"));
	assert_non_null(strstr(out, "my_proc_x;[truncated];[unknown];odd_name_with_spaces 4\n"));
	assert_non_null(strstr(out, "read;ksys_read_[k];vfs_read_[k] 11\n"));
	free(out);
	profile_free(p);
}

/* The JSON profctl used to write: json-c's pretty print of the whole tree. */
static char *json_reference(const struct profile *p)
{
	struct json_object *o = json_object_new_object(), *arr = json_object_new_array();
	char *s;

	for (size_t i = 0; i < p->nstacks; i++) {
		const struct profile_stack *st = &p->stacks[i];
		struct json_object *x = json_object_new_object(), *fr = json_object_new_array();

		json_object_object_add(x, "pid", json_object_new_uint64(p->procs[st->proc].pid));
		json_object_object_add(x, "comm", json_object_new_string(p->procs[st->proc].comm));
		json_object_object_add(x, "count", json_object_new_uint64(st->count));
		json_object_object_add(x, "truncated", json_object_new_boolean(!!(st->flags & PROFILE_STACK_TRUNCATED)));
		for (uint32_t j = 0; j < st->nframes; j++) {
			const struct profile_frame *f = &p->frames[p->refs[st->first + j]];
			struct json_object *y = json_object_new_object();

			json_object_object_add(y, "name", json_object_new_string(f->name));
			json_object_object_add(y, "module", json_object_new_string(
					f->mapping == PROFILE_NO_MAPPING ? "[unknown]" : p->mappings[f->mapping].name));
			json_object_object_add(y, "kernel", json_object_new_boolean(f->kind == PROFILE_FRAME_KERNEL));
			json_object_object_add(y, "addr", json_object_new_uint64(f->addr));
			json_object_array_add(fr, y);
		}
		json_object_object_add(x, "frames", fr);
		json_object_array_add(arr, x);
	}
	json_object_object_add(o, "window_s", json_object_new_double((double)p->covered_ns / 1e9));
	json_object_object_add(o, "frequency", json_object_new_uint64(p->frequency));
	json_object_object_add(o, "samples", json_object_new_uint64(p->samples));
	json_object_object_add(o, "stacks", arr);
	s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
							     JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return s;
}

static void test_json_golden(void **state)
{
	struct profile *p = fixture();
	struct format_result res;
	size_t len;
	int err;
	char *out = encode(p, "json", 0, 0, &err, &res, &len), *ref;
	struct json_object *parsed;

	(void)state;
	assert_int_equal(err, 0);
	check_golden("fixture.json", out, len);
	ref = json_reference(p);
	assert_string_equal(out, ref);
	parsed = json_tokener_parse(out);
	assert_non_null(parsed);
	assert_int_equal(json_object_array_length(json_object_object_get(parsed, "stacks")), 8);
	assert_int_equal(json_object_get_int64(json_object_object_get(parsed, "samples")), 83);
	assert_int_equal(res.stacks, 8);
	json_object_put(parsed);
	free(ref);
	free(out);
	profile_free(p);
}

static void test_empty(void **state)
{
	struct profile *p = NULL;
	struct format_result res;
	size_t len;
	int err;
	char *out, *ref;

	(void)state;
	assert_int_equal(profile_new_empty(&p), 0);
	p->frequency = 99;
	p->covered_ns = 1500000000;
	out = encode(p, "folded", 0, 0, &err, &res, &len);
	assert_int_equal(err, 0);
	assert_int_equal(len, 0);
	assert_int_equal(res.stacks, 0);
	free(out);
	out = encode(p, "json", 0, 0, &err, &res, &len);
	ref = json_reference(p);
	assert_string_equal(out, ref);
	free(ref);
	free(out);
	profile_free(p);
}

static void test_bounds(void **state)
{
	struct profile *p = fixture();
	struct format_result res;
	size_t len, full;
	int err;
	char *out = encode(p, "json", 0, 0, &err, &res, &full);

	(void)state;
	free(out);
	/* a sink one byte too small refuses, it never truncates */
	assert_null(encode(p, "json", full - 1, 0, &err, &res, &len));
	assert_int_equal(err, -E2BIG);
	out = encode(p, "json", full, 0, &err, &res, &len);
	assert_int_equal(err, 0);
	assert_int_equal(len, full);
	free(out);
	/* folded sorts its lines in scratch memory: bounded too */
	assert_null(encode(p, "folded", 0, 64, &err, &res, &len));
	assert_int_equal(err, -E2BIG);
	assert_null(encode(p, "folded", 10, 0, &err, &res, &len));
	assert_int_equal(err, -E2BIG);
	profile_free(p);
}

static void test_long_names_cut(void **state)
{
	struct profile *p = NULL;
	char name[2000];
	int f;

	(void)state;
	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = 0;
	assert_int_equal(profile_new_empty(&p), 0);
	f = profile_add_frame(p, name, PROFILE_NO_MAPPING, PROFILE_FRAME_USER, 1);
	assert_true(f >= 0);
	assert_int_equal(strlen(p->frames[f].name), PROFILE_NAME_MAX);
	profile_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_folded_golden),
		cmocka_unit_test(test_json_golden),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_long_names_cut),
	};

	/* profd's wire format for doubles (set in main()); the encoder must
	 * match json-c under it */
	json_c_set_serialization_double_format("%.6g", JSON_C_OPTION_GLOBAL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
