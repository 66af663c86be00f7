/* SPDX-License-Identifier: GPL-2.0-only */
/* The SVG flame graph encoder: every box's width is its samples times the
 * scale (the root spans the width), children lie within their parent,
 * names are escaped for XML and invalid UTF-8 is replaced, --icicle puts
 * the root at the top, and 50,000 distinct stacks give a bounded number of
 * boxes (narrow frames merged per parent) that still add up to the total.
 * (Headless Chromium drives the interactive parts in the integration
 * test tests/integration/test_export_svg.py.) */
#include <math.h>

#include "profile_fixture.h"

#define W 1200.0
#define PADX 10.0

struct box {
	uint64_t v;
	double x, y, w;
	char title[600];
	int merged;
};

/* Every frame box of the SVG, in document order. */
static size_t parse_boxes(const char *svg, struct box **ret)
{
	size_t n = 0, cap = 64;
	struct box *b = malloc(cap * sizeof(*b));
	const char *p = strstr(svg, "<g id=\"frames\">");

	assert_non_null(b);
	assert_non_null(p);
	while ((p = strstr(p, "<g data-v=\""))) {
		unsigned long long v;
		const char *t, *te;

		if (n == cap) {
			cap *= 2;
			b = realloc(b, cap * sizeof(*b));
			assert_non_null(b);
		}
		assert_int_equal(sscanf(p, "<g data-v=\"%llu\"", &v), 1);
		b[n].v = v;
		b[n].merged = !strncmp(strchr(p + 11, '"') + 1, " data-m", 7);
		t = strstr(p, "<title>") + 7;
		te = strstr(t, "</title>");
		assert_true(te - t < (long)sizeof(b[n].title));
		memcpy(b[n].title, t, (size_t)(te - t));
		b[n].title[te - t] = 0;
		assert_int_equal(sscanf(strstr(p, "<rect"), "<rect x=\"%lf\" y=\"%lf\" width=\"%lf\"", &b[n].x, &b[n].y,
					&b[n].w),
				 3);
		n++;
		p = te;
	}
	*ret = b;
	return n;
}

/* Widths are v x scale; each box lies within the box one level below
 * (flame) that covers its x, whose samples are at least its own. */
static void check_geometry(const struct box *b, size_t n, uint64_t total, int icicle)
{
	double scale = (W - 2 * PADX) / (double)total;

	assert_int_equal(b[0].v, total);
	assert_true(fabs(b[0].w - (W - 2 * PADX)) < 0.011);
	for (size_t i = 0; i < n; i++) {
		assert_true(fabs(b[i].w - (double)b[i].v * scale) < 0.011);
		if (i == 0)
			continue;
		double py = icicle ? b[i].y - 16 : b[i].y + 16;
		int found = 0;

		for (size_t j = 0; j < n; j++)
			if (b[j].y == py && b[j].x <= b[i].x + 0.011 && b[i].x + b[i].w <= b[j].x + b[j].w + 0.011) {
				assert_true(b[j].v >= b[i].v);
				found = 1;
				break;
			}
		assert_true(found);
	}
}

static void test_svg_fixture(void **state)
{
	struct profile *p = fixture();
	struct format_opts o = { 0 };
	struct format_result res;
	struct box *b;
	size_t len, n;
	int err, seen = 0;
	char *out = encode_with(p, "svg", &o, 0, &err, &res, &len);

	(void)state;
	assert_int_equal(err, 0);
	assert_non_null(strstr(out, "<svg "));
	assert_non_null(strstr(out, "</svg>\n"));
	assert_null(strstr(out, "work<int>"));              /* escaped */
	assert_non_null(strstr(out, "<title>ns::work&lt;int&gt;(int)</title>"));
	assert_non_null(strstr(out, "id=\"search\""));
	assert_non_null(strstr(out, "id=\"unzoom\""));
	assert_non_null(strstr(out, "id=\"details\""));
	n = parse_boxes(out, &b);
	assert_int_equal(n, res.stacks);
	assert_string_equal(b[0].title, "all");
	check_geometry(b, n, 83, 0);
	/* main in app: 76 samples, 3 levels above the root (all, app, _start) */
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(b[i].title, "main")) {
			assert_int_equal(b[i].v, 76);
			assert_true(fabs(b[i].y - (b[0].y - 3 * 16)) < 0.01);
			seen++;
		}
		if (!strcmp(b[i].title, "[truncated]"))
			assert_int_equal(b[i].v, 4);
	}
	assert_int_equal(seen, 1);
	free(b);
	free(out);
	/* icicle: the root at the top */
	o.flags = FORMAT_ICICLE;
	out = encode_with(p, "svg", &o, 0, &err, &res, &len);
	n = parse_boxes(out, &b);
	assert_true(b[0].y < b[1].y);
	check_geometry(b, n, 83, 1);
	free(b);
	free(out);
	profile_free(p);
}

static void test_svg_bad_names(void **state)
{
	struct profile *p = NULL;
	struct format_opts o = { 0 };
	struct format_result res;
	size_t len;
	int err, f1, f2, pr;
	char *out;
	uint32_t st[2];

	(void)state;
	assert_int_equal(profile_new_empty(&p), 0);
	pr = profile_add_proc(p, 1, 0, "a&b", "");
	f1 = profile_add_frame(p, "bad\xff\xfe utf8 \x01 \"q\"", PROFILE_NO_MAPPING, PROFILE_FRAME_USER, 1);
	f2 = profile_add_frame(p, "caf\xc3\xa9", PROFILE_NO_MAPPING, PROFILE_FRAME_USER, 2);
	st[0] = (uint32_t)f1;
	st[1] = (uint32_t)f2;
	assert_true(profile_add_stack(p, (uint32_t)pr, st, 2, 0, 5) >= 0);
	out = encode_with(p, "svg", &o, 0, &err, &res, &len);
	assert_int_equal(err, 0);
	assert_non_null(strstr(out, "<title>bad?? utf8 ? &quot;q&quot;</title>"));
	assert_non_null(strstr(out, "<title>caf\xc3\xa9</title>"));
	assert_non_null(strstr(out, "<title>a&amp;b</title>"));
	free(out);
	profile_free(p);
}

/* 50,000 distinct stacks of 3..12 frames, skewed counts. */
static struct profile *big_profile(void)
{
	struct profile *p = NULL;
	int frames[400];
	uint32_t st[12];
	uint64_t x = 88172645463325252ull;
	int pr;

	assert_int_equal(profile_new_empty(&p), 0);
	p->frequency = 99;
	pr = profile_add_proc(p, 10, 0, "big", "");
	for (int i = 0; i < 400; i++) {
		char name[32];

		snprintf(name, sizeof(name), "fn_%03d", i);
		frames[i] = profile_add_frame(p, name, PROFILE_NO_MAPPING, PROFILE_FRAME_USER, (uint64_t)i);
	}
	for (int s = 0; s < 50000; s++) {
		uint32_t depth = 3 + (uint32_t)(s % 10);

		for (uint32_t k = 0; k < depth; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			/* shallow frames from few names, deep ones from many */
			st[k] = (uint32_t)frames[(x % (k < 2 ? 4 : 400))];
		}
		st[depth - 1] = (uint32_t)frames[s % 400];
		assert_true(profile_add_stack(p, (uint32_t)pr, st, depth, 0, 1 + (uint64_t)(s % 97 == 0) * 500) >= 0);
	}
	return p;
}

static void test_svg_50k_stacks(void **state)
{
	struct profile *p = big_profile();
	struct format_opts o = { 0 };
	struct format_result res;
	struct box *b;
	size_t len, n, merged = 0;
	int err;
	char *out = encode_with(p, "svg", &o, 0, &err, &res, &len);

	(void)state;
	assert_int_equal(err, 0);
	n = parse_boxes(out, &b);
	/* at most ~ the width's worth of boxes per level (1 px each, plus
	 * one merged box per parent): far fewer than the distinct paths */
	assert_true(n < 14 * (size_t)W);
	for (size_t i = 0; i < n; i++)
		merged += b[i].merged;
	assert_true(merged > 0);
	check_geometry(b, n, p->samples, 0);
	fprintf(stderr, "50,000 stacks: %zu boxes (%zu merged), %zu bytes of SVG\n", n, merged, len);
	assert_true(len < 4 * 1024 * 1024);
	free(b);
	free(out);
	/* the tree's memory is bounded by scratch_max */
	o.scratch_max = 64 * 1024;
	assert_null(encode_with(p, "svg", &o, 0, &err, &res, &len));
	assert_int_equal(err, -E2BIG);
	o.scratch_max = 0;
	assert_null(encode_with(p, "svg", &o, 1000, &err, &res, &len));
	assert_int_equal(err, -E2BIG);
	profile_free(p);
}

/* The page's search, in C: samples under the topmost frames whose name
 * contains term, drawn ones by their box, merged ones from the subtrees
 * their box carries (data-t, names in MN); boxes come parent first, so
 * those deeper than a match that follow it are inside it. */
static uint64_t svg_search(const char *svg, const struct box *b, size_t n, const char *term)
{
	const char *mn = strstr(svg, "var MN = [");
	const char *p = strstr(svg, "<g id=\"frames\">");
	char **names = NULL;
	size_t nn = 0;
	uint64_t sum = 0;
	long under = -1;

	assert_non_null(mn);
	for (const char *q = mn + 10; *q != ']';) {
		const char *e;

		q = strchr(q, '"') + 1;
		e = strchr(q, '"');
		names = realloc(names, (nn + 1) * sizeof(*names));
		names[nn++] = strndup(q, (size_t)(e - q));
		q = e + 1;
	}
	for (size_t i = 0; i < n; i++) {
		long lv = lround((b[0].y - b[i].y) / 16);
		uint64_t v = 0;

		p = strstr(p, "<g data-v=\"");
		if (under >= 0 && lv <= under)
			under = -1;
		if (b[i].merged) {
			const char *t = strstr(p, "data-t=\"") + 8, *te = strchr(t, '"');
			unsigned long skip = 0;

			while (t < te) {
				unsigned long dep, id, val = 1;
				char *x;

				dep = strtoul(t, &x, 36);
				id = strtoul(x + 1, &x, 36);
				if (*x == ',')
					val = strtoul(x + 1, &x, 36);
				t = x + (*x == ' ');
				if (skip && dep > skip)
					continue;
				skip = 0;
				assert_true(id < nn);
				if (strstr(names[id], term)) {
					v += val;
					skip = dep;
				}
			}
		} else if (strstr(b[i].title, term)) {
			v = b[i].v;
		}
		p++;
		if (v && under < 0) {
			sum += v;
			under = lv;
		}
	}
	for (size_t i = 0; i < nn; i++)
		free(names[i]);
	free(names);
	return sum;
}

/* What folded would say: samples of the stacks with a frame containing term. */
static uint64_t profile_matching(const struct profile *p, const char *term)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < p->nstacks; i++) {
		const struct profile_stack *s = &p->stacks[i];
		int hit = strstr(p->procs[s->proc].comm, term) != NULL;

		for (uint32_t k = 0; !hit && k < s->nframes; k++)
			hit = strstr(p->frames[p->refs[s->first + k]].name, term) != NULL;
		if (hit)
			sum += s->count;
	}
	return sum;
}

/* A search counts the same samples whether their frames were drawn or
 * merged into "[N frames < 1px]" boxes (the Matched figure used to miss
 * everything merged). */
static void test_svg_search_counts_merged(void **state)
{
	struct profile *p = big_profile();
	static const char *const terms[] = { "fn_01", "fn_3", "fn_000", "fn_", "fn_39", "big" };
	struct format_opts o = { 0 };
	struct format_result res;
	struct box *b;
	size_t len, n;
	int err;
	char *out = encode_with(p, "svg", &o, 0, &err, &res, &len);

	(void)state;
	assert_int_equal(err, 0);
	n = parse_boxes(out, &b);
	for (size_t i = 0; i < sizeof(terms) / sizeof(terms[0]); i++) {
		uint64_t want = profile_matching(p, terms[i]), got = svg_search(out, b, n, terms[i]);

		print_message("search %s: %llu samples (profile %llu)\n", terms[i], (unsigned long long)got,
			      (unsigned long long)want);
		assert_int_equal(got, want);
	}
	free(b);
	free(out);
	profile_free(p);
}

static void test_svg_empty(void **state)
{
	struct profile *p = NULL;
	struct format_opts o = { 0 };
	struct format_result res;
	size_t len;
	int err;
	char *out;

	(void)state;
	assert_int_equal(profile_new_empty(&p), 0);
	out = encode_with(p, "svg", &o, 0, &err, &res, &len);
	assert_int_equal(err, 0);
	assert_non_null(strstr(out, "</svg>"));
	assert_null(strstr(out, "<g data-v"));
	free(out);
	profile_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_svg_fixture),
		cmocka_unit_test(test_svg_bad_names),
		cmocka_unit_test(test_svg_50k_stacks),
		cmocka_unit_test(test_svg_search_counts_merged),
		cmocka_unit_test(test_svg_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
