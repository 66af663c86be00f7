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

#include "profile_fixture.h"

static void test_table(void **state)
{
	char names[128];

	(void)state;
	assert_non_null(format_find("folded"));
	assert_non_null(format_find("json"));
	assert_null(format_find("nope"));
	assert_null(format_find(NULL));
	assert_non_null(strstr(format_names(names, sizeof(names)), "folded, json"));
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

/* --by-thread: the thread under the process in folded, tid and thread
 * members in JSON; without it, the golden output (above) is unchanged. */
static void test_by_thread(void **state)
{
	struct profile *p = fixture_threads();
	struct format_opts o = { .flags = FORMAT_BY_THREAD };
	struct format_result res;
	struct json_object *j, *st;
	size_t len;
	int err;
	char *out = encode_with(p, "folded", &o, 0, &err, &res, &len);

	(void)state;
	assert_int_equal(err, 0);
	assert_non_null(strstr(out, "app;[app_tid=4242];_start;main;ns::work<int>(int) 50\n"));
	assert_non_null(strstr(out, "app;[worker_tid=4243];_start;main;ns::work<int>(int) 5\n"));
	assert_non_null(strstr(out, "app;[worker_tid=4243];_start;main;read;ksys_read_[k];vfs_read_[k] 11\n"));
	assert_non_null(strstr(out, "my_proc_x;[truncated];[unknown];odd_name_with_spaces 4\n"));
	assert_int_equal(res.samples, 83);
	free(out);
	out = encode_with(p, "json", &o, 0, &err, &res, &len);
	j = json_tokener_parse(out);
	assert_non_null(j);
	st = json_object_array_get_idx(json_object_object_get(j, "stacks"), 3);
	assert_int_equal(json_object_get_int64(json_object_object_get(st, "tid")), 4243);
	assert_string_equal(json_object_get_string(json_object_object_get(st, "thread")), "worker");
	st = json_object_array_get_idx(json_object_object_get(j, "stacks"), 6);
	assert_true(json_object_object_get_ex(st, "tid", NULL));
	assert_null(json_object_object_get(st, "tid"));
	json_object_put(j);
	free(out);
	/* the same profile without the flag: byte-identical to the goldens */
	o.flags = 0;
	out = encode_with(p, "folded", &o, 0, &err, &res, &len);
	check_golden("fixture.folded", out, len);
	free(out);
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
		cmocka_unit_test(test_by_thread),
	};

	/* profd's wire format for doubles (set in main()); the encoder must
	 * match json-c under it */
	json_c_set_serialization_double_format("%.6g", JSON_C_OPTION_GLOBAL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
