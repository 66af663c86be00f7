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
	*ret_err = format_encode(f, p, &o, &b.sink, res);
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
		assert_non_null((*f)->open);
		assert_non_null((*f)->next);
		assert_non_null((*f)->close);
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
