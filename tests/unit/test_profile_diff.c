/* SPDX-License-Identifier: GPL-2.0-only */
/* Differential profiles: shares and their changes computed exactly on
 * hand-made profiles; a function whose share jumps is significant and
 * sorts first while steady ones do not, also over many pairs of profiles
 * drawn from one distribution (noise alone must never look significant);
 * the folded form has the lines folded writes with both counts; the JSON
 * parses; the SVG takes widths from the newer profile and colours growth
 * red and shrinkage blue. */
#include <math.h>

#include <json-c/json.h>

#include "profile/diff.h"
#include "profile/stackview.h"
#include "profile_fixture.h"

/* A profile of one process with leaf functions main->{alpha,beta,gamma}
 * holding counts c[0..3) (0 = absent). */
static struct profile *three(const uint64_t c[3])
{
	static const char *const names[3] = { "alpha", "beta", "gamma" };
	struct profile *p = NULL;
	int m, pr;

	assert_int_equal(profile_new_empty(&p), 0);
	p->frequency = 99;
	p->covered_ns = 10000000000ull;
	pr = profile_add_proc(p, 7, 0, "w", "");
	m = profile_add_frame(p, "main", PROFILE_NO_MAPPING, PROFILE_FRAME_USER, 1);
	for (int i = 0; i < 3; i++) {
		int f = profile_add_frame(p, names[i], PROFILE_NO_MAPPING, PROFILE_FRAME_USER, 10 + (uint64_t)i);
		uint32_t st[2] = { (uint32_t)m, (uint32_t)f };

		if (c[i])
			assert_true(profile_add_stack(p, (uint32_t)pr, st, 2, 0, c[i]) >= 0);
	}
	return p;
}

static const struct diff_fn *fn(const struct diff *d, const char *name)
{
	for (size_t i = 0; i < d->nfns; i++)
		if (!strcmp(d->fns[i].name, name))
			return &d->fns[i];
	fail_msg("function %s missing", name);
	return NULL;
}

static void test_diff_shift(void **state)
{
	struct profile *a = three((uint64_t[]){ 500, 450, 50 }), *b = three((uint64_t[]){ 100, 850, 50 });
	struct diff *d = NULL;

	(void)state;
	assert_int_equal(diff_compute(a, b, NULL, &d), 0);
	assert_int_equal(d->samples[0], 1000);
	assert_int_equal(d->samples[1], 1000);
	assert_true(fabs(fn(d, "beta")->total_pct[0] - 45.0) < 1e-9);
	assert_true(fabs(fn(d, "beta")->total_pct[1] - 85.0) < 1e-9);
	assert_true(fabs(fn(d, "beta")->d_self - 40.0) < 1e-9);
	assert_true(fabs(fn(d, "alpha")->d_total + 40.0) < 1e-9);
	assert_true(fn(d, "beta")->z > 10);
	assert_true(fn(d, "alpha")->z < -10);
	assert_true(fn(d, "beta")->significant);
	assert_true(fn(d, "alpha")->significant);
	/* unchanged: not significant, and below the changed ones */
	assert_false(fn(d, "gamma")->significant);
	assert_true(fabs(fn(d, "gamma")->d_total) < 1e-9);
	assert_false(fn(d, "main")->significant);
	assert_true(strcmp(d->fns[d->nfns - 1].name, "alpha") && strcmp(d->fns[d->nfns - 1].name, "beta"));
	assert_true(!strcmp(d->fns[0].name, "alpha") || !strcmp(d->fns[0].name, "beta"));
	/* main is in every stack: 100 % total in both, 0 % self */
	assert_true(fabs(fn(d, "main")->total_pct[0] - 100.0) < 1e-9);
	assert_int_equal(fn(d, "main")->self[0], 0);
	diff_free(d);
	profile_free(a);
	profile_free(b);
}

/* Multinomial draws of n samples with shares 50/30/20. */
static struct profile *draw(uint64_t *seed, uint64_t n)
{
	uint64_t c[3] = { 0, 0, 0 };

	for (uint64_t i = 0; i < n; i++) {
		uint64_t x;

		*seed ^= *seed << 13;
		*seed ^= *seed >> 7;
		*seed ^= *seed << 17;
		x = *seed % 100;
		c[x < 50 ? 0 : x < 80 ? 1 : 2]++;
	}
	return three(c);
}

static void test_diff_noise_not_significant(void **state)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	int flagged = 0;

	(void)state;
	for (int t = 0; t < 50; t++) {
		struct profile *a = draw(&seed, 2000), *b = draw(&seed, 2000);
		struct diff *d = NULL;

		assert_int_equal(diff_compute(a, b, NULL, &d), 0);
		for (size_t i = 0; i < d->nfns; i++)
			flagged += d->fns[i].significant;
		diff_free(d);
		profile_free(a);
		profile_free(b);
	}
	assert_int_equal(flagged, 0);
	/* while a 5-point move at this size is found */
	{
		struct profile *a = three((uint64_t[]){ 1000, 600, 400 }), *b = three((uint64_t[]){ 1200, 500, 300 });
		struct diff *d = NULL;

		assert_int_equal(diff_compute(a, b, NULL, &d), 0);
		assert_true(fn(d, "alpha")->significant);
		diff_free(d);
		profile_free(a);
		profile_free(b);
	}
}

static char *write_to(const struct diff *d, const struct profile *a, const struct profile *b, const char *format)
{
	struct sink_buf sb;
	size_t len;
	char *out;

	sink_buf_init(&sb, 0);
	assert_int_equal(diff_write(d, a, b, format, NULL, &sb.sink), 0);
	out = sink_buf_steal(&sb, &len);
	out = realloc(out, len + 1);
	out[len] = 0;
	return out;
}

static void test_diff_outputs(void **state)
{
	struct profile *a = fixture(), *b = fixture();
	struct diff *d = NULL;
	struct json_object *j, *fns;
	char *out;
	int grew = 0;

	(void)state;
	b->stacks[0].count = 500; /* app;_start;main;ns::work<int>(int): 50 -> 500 */
	b->samples += 450;
	assert_int_equal(diff_compute(a, b, NULL, &d), 0);
	assert_true(fn(d, "ns::work<int>(int)")->d_self > 0);
	assert_true(fn(d, "read")->d_total < 0);
	assert_int_equal(fn(d, "vfs_read")->cls, FC_KERNEL);
	assert_int_equal(fn(d, "[truncated]")->total[0], 4);

	/* folded: folded's lines, base and new counts */
	out = write_to(d, a, b, "folded");
	assert_non_null(strstr(out, "app;_start;main;ns::work<int>(int) 55 505\n"));
	assert_non_null(strstr(out, "app;_start;main;read;ksys_read_[k];vfs_read_[k] 11 11\n"));
	assert_non_null(strstr(out, "my_proc_x;[truncated];[unknown];odd_name_with_spaces 4 4\n"));
	assert_non_null(strstr(out, "my_proc_x;[stack table full] 2 2\n"));
	assert_true(strstr(out, "main;foo.cold;") < strstr(out, "main;foo;"));
	free(out);

	out = write_to(d, a, b, "json");
	j = json_tokener_parse(out);
	assert_non_null(j);
	fns = json_object_object_get(j, "functions");
	assert_int_equal(json_object_array_length(fns), d->nfns);
	assert_string_equal(json_object_get_string(json_object_object_get(json_object_array_get_idx(fns, 0), "name")),
			    d->fns[0].name);
	assert_int_equal(json_object_get_int64(json_object_object_get(json_object_object_get(j, "window"), "samples")),
			 533);
	json_object_put(j);
	free(out);

	out = write_to(d, a, b, "text");
	assert_non_null(strstr(out, "ns::work<int>(int)"));
	assert_non_null(strstr(out, "vfs_read [k]"));
	free(out);

	/* svg: widths from the new profile, base counts alongside, colours */
	out = write_to(d, a, b, "svg");
	assert_non_null(strstr(out, "<g data-v=\"533\" data-b=\"83\"><title>all</title>"));
	assert_non_null(strstr(out, "DIFF = 1"));
	for (char *p = out; (p = strstr(p, "<title>ns::work&lt;int&gt;(int)</title>")); p++) {
		char *g = p;

		while (g > out && strncmp(g, "<g ", 3))
			g--;
		if (strstr(g, "rect") && strstr(g, "fill=\"rgb(255,") && strstr(g, "fill=\"rgb(255,") < p + 200)
			grew++;
	}
	assert_true(grew >= 1);
	assert_non_null(strstr(out, "fill=\"rgb(255,"));   /* red: grew */
	assert_non_null(strstr(out, ",255)\"/>"));        /* blue: shrank (read's share fell) */
	free(out);
	assert_int_equal(diff_write(d, a, b, "nope", NULL, &(struct sink_buf){ 0 }.sink), -EINVAL);
	assert_true(diff_format_known("svg"));
	assert_false(diff_format_known("pprof"));
	diff_free(d);
	profile_free(a);
	profile_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_diff_shift),
		cmocka_unit_test(test_diff_noise_not_significant),
		cmocka_unit_test(test_diff_outputs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
