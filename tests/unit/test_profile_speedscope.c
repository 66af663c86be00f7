/* SPDX-License-Identifier: GPL-2.0-only */
/* The speedscope encoder, read back with json-c and checked against the
 * file format's schema rules (the $schema constant, a shared frame table
 * of {name, file?}, "sampled" profiles with a unit from the schema's
 * enum, samples as in-range frame indexes root first, one non-negative
 * weight per sample, endValue - startValue = the weights' sum) and the
 * numbers: totals per profile and per function as folded counts them. */
#include <json-c/json.h>

#include "profile_fixture.h"

static struct json_object *jget(struct json_object *o, const char *k)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(o, k, &v))
		fail_msg("member \"%s\" missing", k);
	return v;
}

/* Validate the schema rules; returns the parsed file. */
static struct json_object *parse_valid(const char *text)
{
	static const char *const units[] = { "none", "nanoseconds", "microseconds", "milliseconds", "seconds", "bytes" };
	struct json_object *f = json_tokener_parse(text), *frames, *profiles;
	size_t nframes;

	assert_non_null(f);
	assert_string_equal(json_object_get_string(jget(f, "$schema")),
			    "https://www.speedscope.app/file-format-schema.json");
	frames = jget(jget(f, "shared"), "frames");
	assert_true(json_object_is_type(frames, json_type_array));
	nframes = json_object_array_length(frames);
	for (size_t i = 0; i < nframes; i++) {
		struct json_object *fr = json_object_array_get_idx(frames, i), *file;

		assert_true(json_object_is_type(jget(fr, "name"), json_type_string));
		if (json_object_object_get_ex(fr, "file", &file))
			assert_true(json_object_is_type(file, json_type_string));
	}
	profiles = jget(f, "profiles");
	assert_true(json_object_array_length(profiles) >= 1);
	assert_true(json_object_get_int(jget(f, "activeProfileIndex")) < (int)json_object_array_length(profiles));
	for (size_t i = 0; i < json_object_array_length(profiles); i++) {
		struct json_object *pr = json_object_array_get_idx(profiles, i);
		struct json_object *samples = jget(pr, "samples"), *weights = jget(pr, "weights");
		const char *unit = json_object_get_string(jget(pr, "unit"));
		int64_t sum = 0;
		size_t k;

		assert_string_equal(json_object_get_string(jget(pr, "type")), "sampled");
		assert_true(json_object_is_type(jget(pr, "name"), json_type_string));
		for (k = 0; k < sizeof(units) / sizeof(units[0]) && strcmp(units[k], unit); k++)
			;
		assert_true(k < sizeof(units) / sizeof(units[0]));
		assert_int_equal(json_object_array_length(samples), json_object_array_length(weights));
		for (size_t s = 0; s < json_object_array_length(samples); s++) {
			struct json_object *st = json_object_array_get_idx(samples, s);

			assert_true(json_object_is_type(st, json_type_array));
			for (size_t j = 0; j < json_object_array_length(st); j++) {
				int64_t x = json_object_get_int64(json_object_array_get_idx(st, j));

				assert_true(x >= 0 && (size_t)x < nframes);
			}
			assert_true(json_object_get_int64(json_object_array_get_idx(weights, s)) >= 0);
			sum += json_object_get_int64(json_object_array_get_idx(weights, s));
		}
		assert_int_equal(json_object_get_int64(jget(pr, "endValue")) -
					 json_object_get_int64(jget(pr, "startValue")),
				 sum);
	}
	return f;
}

static const char *frame_name(struct json_object *f, int64_t i)
{
	return json_object_get_string(jget(json_object_array_get_idx(jget(jget(f, "shared"), "frames"), (size_t)i), "name"));
}

/* Weight of samples of profile k containing name; position of its first
 * occurrence in the first sample containing it (root = 0). */
static int64_t total_of(struct json_object *f, size_t k, const char *name, int *ret_pos)
{
	struct json_object *pr = json_object_array_get_idx(jget(f, "profiles"), k);
	struct json_object *samples = jget(pr, "samples"), *weights = jget(pr, "weights");
	int64_t t = 0;

	*ret_pos = -1;
	for (size_t s = 0; s < json_object_array_length(samples); s++) {
		struct json_object *st = json_object_array_get_idx(samples, s);

		for (size_t j = 0; j < json_object_array_length(st); j++)
			if (!strcmp(frame_name(f, json_object_get_int64(json_object_array_get_idx(st, j))), name)) {
				t += json_object_get_int64(json_object_array_get_idx(weights, s));
				if (*ret_pos < 0)
					*ret_pos = (int)j;
				break;
			}
	}
	return t;
}

static void test_speedscope_one_profile(void **state)
{
	struct profile *p = fixture();
	struct format_opts o = { 0 };
	struct format_result res;
	size_t len;
	int err, pos;
	char *out = encode_with(p, "speedscope", &o, 0, &err, &res, &len);
	struct json_object *f;
	size_t nmain = 0;

	(void)state;
	assert_int_equal(err, 0);
	f = parse_valid(out);
	assert_int_equal(json_object_array_length(jget(f, "profiles")), 1);
	assert_int_equal(json_object_get_int64(jget(json_object_array_get_idx(jget(f, "profiles"), 0), "endValue")), 83);
	/* the process is the root, frames follow outermost first */
	assert_int_equal(total_of(f, 0, "app", &pos), 76);
	assert_int_equal(pos, 0);
	assert_int_equal(total_of(f, 0, "_start", &pos), 76);
	assert_int_equal(pos, 1);
	assert_int_equal(total_of(f, 0, "ns::work<int>(int)", &pos), 65);
	assert_int_equal(total_of(f, 0, "vfs_read", &pos), 11);
	assert_int_equal(pos, 5);
	assert_int_equal(total_of(f, 0, "[truncated]", &pos), 4);
	assert_int_equal(total_of(f, 0, "[stack table full]", &pos), 2);
	assert_int_equal(total_of(f, 0, "[coarsened]", &pos), 1);
	assert_int_equal(total_of(f, 0, "odd;name with spaces", &pos), 4);
	/* frames deduplicated by (name, object) */
	for (size_t i = 0; i < json_object_array_length(jget(jget(f, "shared"), "frames")); i++)
		nmain += !strcmp(frame_name(f, (int64_t)i), "main");
	assert_int_equal(nmain, 1);
	json_object_put(f);
	free(out);
	profile_free(p);
}

static void test_speedscope_by_process_and_thread(void **state)
{
	struct profile *p = fixture_threads();
	struct format_opts o = { .flags = FORMAT_BY_PROCESS | FORMAT_BY_THREAD };
	struct format_result res;
	size_t len;
	int err, pos;
	char *out = encode_with(p, "speedscope", &o, 0, &err, &res, &len);
	struct json_object *f, *profs;

	(void)state;
	assert_int_equal(err, 0);
	f = parse_valid(out);
	profs = jget(f, "profiles");
	assert_int_equal(json_object_array_length(profs), 3);
	/* largest first */
	assert_string_equal(json_object_get_string(jget(json_object_array_get_idx(profs, 0), "name")), "app (pid 4242)");
	assert_int_equal(json_object_get_int64(jget(json_object_array_get_idx(profs, 0), "endValue")), 76);
	assert_string_equal(json_object_get_string(jget(json_object_array_get_idx(profs, 1), "name")), "my proc;x (pid 77)");
	assert_int_equal(json_object_get_int64(jget(json_object_array_get_idx(profs, 1), "endValue")), 6);
	assert_int_equal(json_object_get_int64(jget(json_object_array_get_idx(profs, 2), "endValue")), 1);
	/* no process root; the thread is the root */
	assert_int_equal(total_of(f, 0, "app", &pos), 0);
	assert_int_equal(total_of(f, 0, "[worker tid=4243]", &pos), 16);
	assert_int_equal(pos, 0);
	assert_int_equal(total_of(f, 0, "[app tid=4242]", &pos), 60);
	assert_int_equal(total_of(f, 0, "_start", &pos), 76);
	assert_int_equal(pos, 1);
	json_object_put(f);
	free(out);
	profile_free(p);
}

static void test_speedscope_bounds(void **state)
{
	struct profile *p = fixture();
	struct format_opts o = { 0 };
	struct format_result res;
	size_t len, full;
	int err;
	char *out = encode_with(p, "speedscope", &o, 0, &err, &res, &full);
	struct json_object *f;

	(void)state;
	free(out);
	assert_null(encode_with(p, "speedscope", &o, full - 1, &err, &res, &len));
	assert_int_equal(err, -E2BIG);
	o.scratch_max = 16;
	assert_null(encode_with(p, "speedscope", &o, 0, &err, &res, &len));
	assert_int_equal(err, -E2BIG);
	profile_free(p);
	/* empty: still a valid file */
	assert_int_equal(profile_new_empty(&p), 0);
	o.scratch_max = 0;
	out = encode_with(p, "speedscope", &o, 0, &err, &res, &len);
	assert_int_equal(err, 0);
	f = parse_valid(out);
	json_object_put(f);
	free(out);
	profile_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_speedscope_one_profile),
		cmocka_unit_test(test_speedscope_by_process_and_thread),
		cmocka_unit_test(test_speedscope_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
