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
		/* in pieces, or whole (handed out in pieces by format_stream) */
		assert_true(((*f)->open && (*f)->next && (*f)->close) || (*f)->encode);
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

/* ---- folded against the obvious implementation ---- */

struct ref_line {
	char *text;
	uint64_t count;
};

static int cmp_ref(const void *a, const void *b)
{
	return strcmp(((const struct ref_line *)a)->text, ((const struct ref_line *)b)->text);
}

static void ref_put(char *buf, size_t *len, const char *s, int sanitize)
{
	for (; *s; s++)
		buf[(*len)++] = sanitize && (*s == ';' || *s == ' ') ? '_' : *s;
	buf[*len] = 0;
}

/* Every line built whole, sorted with strcmp, equal lines merged: what
 * folded.c wrote before it sorted token sequences instead. */
static char *folded_reference(const struct profile *p, size_t *ret_len)
{
	struct ref_line *l = calloc(p->nstacks + 1, sizeof(*l));
	char *out = malloc(1 << 20);
	size_t olen = 0;

	assert_non_null(l);
	assert_non_null(out);
	for (size_t i = 0; i < p->nstacks; i++) {
		const struct profile_stack *s = &p->stacks[i];
		char *b = malloc(65536);
		size_t len = 0;

		assert_non_null(b);
		ref_put(b, &len, p->procs[s->proc].comm, 1);
		if (s->flags & PROFILE_STACK_TRUNCATED)
			ref_put(b, &len, ";[truncated]", 0);
		if (s->flags & PROFILE_STACK_OVERFLOW)
			ref_put(b, &len, ";[stack table full]", 0);
		if (s->flags & PROFILE_STACK_COARSENED)
			ref_put(b, &len, ";[coarsened]", 0);
		for (uint32_t k = 0; k < s->nframes; k++) {
			const struct profile_frame *f = &p->frames[p->refs[s->first + k]];

			ref_put(b, &len, ";", 0);
			ref_put(b, &len, f->name, 1);
			if (f->kind == PROFILE_FRAME_KERNEL)
				ref_put(b, &len, "_[k]", 0);
		}
		l[i].text = b;
		l[i].count = s->count;
	}
	qsort(l, p->nstacks, sizeof(*l), cmp_ref);
	for (size_t i = 0; i < p->nstacks;) {
		uint64_t c = 0;
		size_t j = i;

		while (j < p->nstacks && !strcmp(l[j].text, l[i].text))
			c += l[j++].count;
		olen += (size_t)sprintf(out + olen, "%s %llu\n", l[i].text, (unsigned long long)c);
		i = j;
	}
	for (size_t i = 0; i < p->nstacks; i++)
		free(l[i].text);
	free(l);
	*ret_len = olen;
	return out;
}

/* Names that are prefixes of each other, that sanitise to each other,
 * that differ in the byte right after a prefix, and empty ones. */
static struct profile *random_profile(unsigned seed, size_t nstacks)
{
	static const char *const names[] = { "a", "ab", "a b", "a;b", "a_b", "b", "", "a.b", "aa", "[k]", "_", "a0" };
	static const char *const comms[] = { "p", "p q", "p_q", "pp", "", "[expired]" };
	const size_t nn = sizeof(names) / sizeof(names[0]), nc = sizeof(comms) / sizeof(comms[0]);
	struct profile *p = NULL;
	int m;

	srand(seed);
	assert_int_equal(profile_new_empty(&p), 0);
	m = profile_add_mapping(p, "m", NULL, 0, 0);
	for (size_t i = 0; i < nn * 2; i++)
		assert_true(profile_add_frame(p, names[i % nn], (uint32_t)m, i < nn ? PROFILE_FRAME_USER : PROFILE_FRAME_KERNEL,
					      i) >= 0);
	for (size_t i = 0; i < nc; i++)
		assert_true(profile_add_proc(p, (uint32_t)i + 1, 0, comms[i], "") >= 0);
	for (size_t i = 0; i < nstacks; i++) {
		uint32_t fr[6], n = (uint32_t)(rand() % 7);
		uint32_t flags = (rand() % 4 == 0 ? PROFILE_STACK_TRUNCATED : 0) |
				 (rand() % 8 == 0 ? PROFILE_STACK_OVERFLOW : 0) |
				 (rand() % 8 == 0 ? PROFILE_STACK_COARSENED : 0);

		n = n > 6 ? 6 : n;
		for (uint32_t k = 0; k < n; k++)
			fr[k] = (uint32_t)(rand() % (int)(nn * 2));
		assert_true(profile_add_stack(p, (uint32_t)(rand() % (int)nc), fr, n, flags, (uint64_t)(rand() % 9 + 1)) >= 0);
	}
	return p;
}

static void test_folded_matches_reference(void **state)
{
	(void)state;
	for (unsigned seed = 1; seed <= 40; seed++) {
		struct profile *p = random_profile(seed, seed * 25);
		struct format_result res;
		size_t len, rlen;
		int err;
		char *out = encode(p, "folded", 0, 0, &err, &res, &len);
		char *ref = folded_reference(p, &rlen);

		assert_int_equal(err, 0);
		if (len != rlen || memcmp(out, ref, len))
			fail_msg("seed %u: folded differs from the reference:\n%s\n---\n%s", seed, out, ref);
		assert_int_equal(res.samples, p->samples);
		free(out);
		free(ref);
		profile_free(p);
	}
}

/* ---- pieces: any piece size gives the same bytes ---- */

static void test_stream_pieces(void **state)
{
	static const char *const fmts[] = { "folded", "json" };
	struct profile *p = random_profile(7, 300);

	(void)state;
	for (size_t k = 0; k < 2; k++) {
		const struct format *f = format_find(fmts[k]);
		size_t whole_len, wants[] = { 0, 1, 100, 4096, SIZE_MAX };
		struct format_result res;
		int err;
		char *whole = encode(p, fmts[k], 0, 0, &err, &res, &whole_len);

		assert_int_equal(err, 0);
		for (size_t w = 0; w < sizeof(wants) / sizeof(wants[0]); w++) {
			struct format_stream *st = NULL;
			struct format_result r2;
			struct sink_buf b;
			size_t len, written, calls = 0;
			char *out;
			int r;

			sink_buf_init(&b, 0);
			assert_int_equal(format_stream_open(f, p, NULL, &st, &r2), 0);
			assert_int_equal(r2.samples, res.samples);
			assert_int_equal(r2.stacks, res.stacks);
			do {
				r = format_stream_next(st, &b.sink, wants[w], &written);
				assert_true(r >= 0);
				/* a call stops soon after want: within one piece */
				if (wants[w] && wants[w] != SIZE_MAX && r > 0)
					assert_true(written >= wants[w]);
				calls++;
			} while (r > 0);
			assert_int_equal(format_stream_written(st), b.len);
			/* done stays done */
			assert_int_equal(format_stream_next(st, &b.sink, 1, &written), 0);
			assert_int_equal(written, 0);
			format_stream_free(st);
			out = sink_buf_steal(&b, &len);
			assert_int_equal(len, whole_len);
			assert_memory_equal(out, whole, len);
			if (wants[w] == 1)
				assert_true(calls > 100);
			free(out);
		}
		free(whole);
	}
	assert_null(format_stream_free(NULL));
	profile_free(p);
}

static void test_count_sink(void **state)
{
	struct profile *p = fixture();
	struct format_result res;
	struct sink_count c;
	size_t full;
	int err;
	char *out = encode(p, "json", 0, 0, &err, &res, &full);

	(void)state;
	free(out);
	sink_count_init(&c, 0);
	assert_int_equal(format_encode(format_find("json"), p, NULL, &c.sink, NULL), 0);
	assert_int_equal(c.bytes, full);
	sink_count_init(&c, full - 1);
	assert_int_equal(format_encode(format_find("json"), p, NULL, &c.sink, NULL), -E2BIG);
	profile_free(p);
}

/* A profile for a client that may not see kernel addresses: kernel frames
 * keep their names, lose "addr". */
static void test_json_kaddr_hidden(void **state)
{
	struct profile *p = fixture();
	struct format_result res;
	struct json_object *o, *stacks;
	size_t len;
	int err, kernel_frames = 0;
	char *out;

	(void)state;
	p->kaddr_hidden = 1;
	out = encode(p, "json", 0, 0, &err, &res, &len);
	assert_int_equal(err, 0);
	assert_null(strstr(out, "18446744071581")); /* 0xffffffff81234... in decimal */
	o = json_tokener_parse(out);
	assert_non_null(o);
	stacks = json_object_object_get(o, "stacks");
	for (size_t i = 0; i < json_object_array_length(stacks); i++) {
		struct json_object *fr = json_object_object_get(json_object_array_get_idx(stacks, i), "frames");

		for (size_t j = 0; j < json_object_array_length(fr); j++) {
			struct json_object *x = json_object_array_get_idx(fr, j), *a;
			int kernel = json_object_get_boolean(json_object_object_get(x, "kernel"));

			assert_int_equal(json_object_object_get_ex(x, "addr", &a), !kernel);
			kernel_frames += kernel;
		}
	}
	assert_int_equal(kernel_frames, 2);
	json_object_put(o);
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
		cmocka_unit_test(test_folded_matches_reference),
		cmocka_unit_test(test_stream_pieces),
		cmocka_unit_test(test_count_sink),
		cmocka_unit_test(test_json_kaddr_hidden),
	};

	/* profd's wire format for doubles (set in main()); the encoder must
	 * match json-c under it */
	json_c_set_serialization_double_format("%.6g", JSON_C_OPTION_GLOBAL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
