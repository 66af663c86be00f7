/* SPDX-License-Identifier: GPL-2.0-only */
/* The pprof encoder, read back independently of it: the output is
 * gunzipped with zlib and unpacked with protobuf-c's generated unpacker,
 * then every field is checked against the fixture profile: sample types,
 * period, duration and time, per-function totals (the same as folded's),
 * leaf-first location order, mappings with their build-id and address
 * ranges that make address - start + offset the frame's file offset,
 * labels on request, and the bounds. */
#include <zlib.h>

#include "profile/pprof.pb-c.h"
#include "profile_fixture.h"

typedef Perftools__Profiles__Profile Profile;

static uint8_t *gunzip(const char *in, size_t n, size_t *ret_len)
{
	z_stream z = { 0 };
	size_t cap = 1 << 16, len = 0;
	uint8_t *out = malloc(cap);
	int r;

	assert_non_null(out);
	/* the gzip wrapper only: 15 + 16 */
	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = (unsigned char *)(uintptr_t)in;
	z.avail_in = (uInt)n;
	do {
		if (len == cap) {
			cap *= 2;
			out = realloc(out, cap);
			assert_non_null(out);
		}
		z.next_out = out + len;
		z.avail_out = (uInt)(cap - len);
		r = inflate(&z, Z_NO_FLUSH);
		assert_true(r == Z_OK || r == Z_STREAM_END);
		len = cap - z.avail_out;
	} while (r != Z_STREAM_END);
	assert_int_equal(z.avail_in, 0); /* nothing after the gzip member */
	inflateEnd(&z);
	*ret_len = len;
	return out;
}

static Profile *decode(const struct profile *p, unsigned flags)
{
	struct format_opts o = { .flags = flags };
	struct format_result res;
	size_t len, raw_len;
	int err;
	char *out = encode_with(p, "pprof", &o, 0, &err, &res, &len);
	uint8_t *raw;
	Profile *pr;

	assert_int_equal(err, 0);
	assert_true(len > 18);
	assert_int_equal((unsigned char)out[0], 0x1f); /* gzip magic */
	assert_int_equal((unsigned char)out[1], 0x8b);
	raw = gunzip(out, len, &raw_len);
	pr = perftools__profiles__profile__unpack(NULL, raw_len, raw);
	assert_non_null(pr);
	assert_int_equal(res.samples, p->samples);
	free(raw);
	free(out);
	return pr;
}

static const char *s_of(const Profile *pr, int64_t i)
{
	assert_true(i >= 0 && (size_t)i < pr->n_string_table);
	return pr->string_table[i];
}

static const Perftools__Profiles__Location *loc_of(const Profile *pr, uint64_t id)
{
	for (size_t i = 0; i < pr->n_location; i++)
		if (pr->location[i]->id == id)
			return pr->location[i];
	fail_msg("location %llu missing", (unsigned long long)id);
	return NULL;
}

static const char *func_name(const Profile *pr, uint64_t id)
{
	for (size_t i = 0; i < pr->n_function; i++)
		if (pr->function[i]->id == id)
			return s_of(pr, pr->function[i]->name);
	fail_msg("function %llu missing", (unsigned long long)id);
	return NULL;
}

static const char *leaf_name(const Profile *pr, const Perftools__Profiles__Sample *s, size_t k)
{
	const Perftools__Profiles__Location *l = loc_of(pr, s->location_id[k]);

	assert_int_equal(l->n_line, 1);
	return func_name(pr, l->line[0]->function_id);
}

/* Samples of stacks that contain fn (counted once per sample). */
static int64_t total_of(const Profile *pr, const char *fn)
{
	int64_t t = 0;

	for (size_t i = 0; i < pr->n_sample; i++) {
		const Perftools__Profiles__Sample *s = pr->sample[i];

		for (size_t k = 0; k < s->n_location_id; k++)
			if (!strcmp(leaf_name(pr, s, k), fn)) {
				t += s->value[0];
				break;
			}
	}
	return t;
}

static void test_pprof_fields(void **state)
{
	struct profile *p = fixture();
	Profile *pr;
	int64_t count = 0, cpu = 0;
	int seen_app = 0, seen_kernel = 0;

	(void)state;
	p->from_ns = 5000000000ull;
	p->boot_to_real_ns = 1700000000000000000ll;
	pr = decode(p, 0);
	assert_string_equal(pr->string_table[0], "");
	assert_int_equal(pr->n_sample_type, 2);
	assert_string_equal(s_of(pr, pr->sample_type[0]->type), "samples");
	assert_string_equal(s_of(pr, pr->sample_type[0]->unit), "count");
	assert_string_equal(s_of(pr, pr->sample_type[1]->type), "cpu");
	assert_string_equal(s_of(pr, pr->sample_type[1]->unit), "nanoseconds");
	assert_non_null(pr->period_type);
	assert_string_equal(s_of(pr, pr->period_type->type), "cpu");
	assert_int_equal(pr->period, 1000000000 / 99);
	assert_int_equal(pr->duration_nanos, 30000000000ll);
	assert_int_equal(pr->time_nanos, 1700000005000000000ll);
	assert_string_equal(s_of(pr, pr->default_sample_type), "cpu");
	assert_int_equal(pr->n_sample, p->nstacks);
	for (size_t i = 0; i < pr->n_sample; i++) {
		assert_int_equal(pr->sample[i]->n_value, 2);
		assert_int_equal(pr->sample[i]->value[1], pr->sample[i]->value[0] * pr->period);
		assert_int_equal(pr->sample[i]->n_label, 0);
		count += pr->sample[i]->value[0];
		cpu += pr->sample[i]->value[1];
	}
	assert_int_equal(count, 83);
	assert_int_equal(cpu, 83 * (1000000000 / 99));
	/* leaf first: the first sample is _start;main;ns::work<int>(int) */
	assert_int_equal(pr->sample[0]->n_location_id, 3);
	assert_string_equal(leaf_name(pr, pr->sample[0], 0), "ns::work<int>(int)");
	assert_string_equal(leaf_name(pr, pr->sample[0], 2), "_start");
	/* per function, as folded counts them */
	assert_int_equal(total_of(pr, "ns::work<int>(int)"), 65);
	assert_int_equal(total_of(pr, "main"), 76);
	assert_int_equal(total_of(pr, "foo"), 7);
	assert_int_equal(total_of(pr, "vfs_read"), 11);
	assert_int_equal(total_of(pr, "[truncated]"), 4);
	assert_int_equal(total_of(pr, "[stack table full]"), 2);
	assert_int_equal(total_of(pr, "[coarsened]"), 1);
	assert_int_equal(total_of(pr, "odd;name with spaces"), 4); /* names kept as they are */
	/* one function per name: "main" once */
	for (size_t i = 0, n = 0; i < pr->n_function; i++) {
		n += !strcmp(s_of(pr, pr->function[i]->name), "main");
		assert_true(n <= 1);
	}
	/* mappings: the build-id, ranges, file offsets */
	assert_int_equal(pr->n_mapping, 3);
	for (size_t i = 0; i < pr->n_mapping; i++) {
		const Perftools__Profiles__Mapping *m = pr->mapping[i];

		assert_int_equal(m->id, i + 1);
		assert_true(m->memory_limit > m->memory_start);
		if (!strcmp(s_of(pr, m->filename), "app")) {
			seen_app = 1;
			assert_string_equal(s_of(pr, m->build_id), "deadbeef0102030405060708090a0b0c0d0e0f10");
			assert_true(m->has_functions);
		}
		if (!strcmp(s_of(pr, m->filename), "vmlinux")) {
			seen_kernel = 1;
			assert_int_equal(m->build_id, 0);
			assert_int_equal(m->memory_start, 0xffffffff81234000ull);
		}
	}
	assert_true(seen_app && seen_kernel);
	for (size_t i = 0; i < pr->n_location; i++) {
		const Perftools__Profiles__Location *l = pr->location[i];

		if (l->id > p->nframes)
			continue; /* pseudo frames */
		const struct profile_frame *f = &p->frames[l->id - 1];

		if (f->mapping == PROFILE_NO_MAPPING) {
			assert_int_equal(l->mapping_id, 0);
			assert_int_equal(l->address, f->addr);
			continue;
		}
		const Perftools__Profiles__Mapping *m = pr->mapping[l->mapping_id - 1];

		assert_int_equal(l->mapping_id, f->mapping + 1);
		assert_true(l->address >= m->memory_start && l->address < m->memory_limit);
		if (!p->mappings[f->mapping].kernel)
			assert_int_equal(l->address - m->memory_start + m->file_offset, f->addr);
		else
			assert_int_equal(l->address, f->addr);
	}
	/* user mappings never overlap */
	for (size_t i = 0; i < pr->n_mapping; i++)
		for (size_t j = i + 1; j < pr->n_mapping; j++)
			assert_true(pr->mapping[i]->memory_limit <= pr->mapping[j]->memory_start ||
				    pr->mapping[j]->memory_limit <= pr->mapping[i]->memory_start);
	perftools__profiles__profile__free_unpacked(pr, NULL);
	profile_free(p);
}

static const Perftools__Profiles__Label *label(const Profile *pr, const Perftools__Profiles__Sample *s,
					      const char *key)
{
	for (size_t i = 0; i < s->n_label; i++)
		if (!strcmp(s_of(pr, s->label[i]->key), key))
			return s->label[i];
	return NULL;
}

static void test_pprof_labels(void **state)
{
	struct profile *p = fixture_threads();
	Profile *pr;

	(void)state;
	pr = decode(p, FORMAT_LABELS);
	assert_int_equal(label(pr, pr->sample[0], "pid")->num, 4242);
	assert_string_equal(s_of(pr, label(pr, pr->sample[0], "comm")->str), "app");
	assert_string_equal(s_of(pr, label(pr, pr->sample[0], "thread")->str), "app");
	assert_int_equal(label(pr, pr->sample[0], "tid")->num, 4242);
	assert_string_equal(s_of(pr, label(pr, pr->sample[3], "thread")->str), "worker");
	assert_int_equal(label(pr, pr->sample[3], "tid")->num, 4243);
	assert_string_equal(s_of(pr, label(pr, pr->sample[5], "comm")->str), "my proc;x");
	assert_null(label(pr, pr->sample[5], "tid")); /* no thread known */
	perftools__profiles__profile__free_unpacked(pr, NULL);
	/* --by-thread alone: thread labels only */
	pr = decode(p, FORMAT_BY_THREAD);
	assert_null(label(pr, pr->sample[0], "pid"));
	assert_int_equal(label(pr, pr->sample[3], "tid")->num, 4243);
	perftools__profiles__profile__free_unpacked(pr, NULL);
	profile_free(p);
}

static void test_pprof_empty_and_bounds(void **state)
{
	struct profile *p = NULL;
	struct format_opts o = { 0 };
	struct format_result res;
	size_t len, full;
	Profile *pr;
	int err;
	char *out;

	(void)state;
	assert_int_equal(profile_new_empty(&p), 0);
	p->frequency = 99;
	pr = decode(p, 0);
	assert_int_equal(pr->n_sample, 0);
	assert_int_equal(pr->n_location, 3); /* the pseudo frames only */
	perftools__profiles__profile__free_unpacked(pr, NULL);
	profile_free(p);

	p = fixture();
	out = encode_with(p, "pprof", &o, 0, &err, &res, &full);
	assert_int_equal(err, 0);
	free(out);
	assert_null(encode_with(p, "pprof", &o, full - 1, &err, &res, &len));
	assert_int_equal(err, -E2BIG);
	o.scratch_max = 64;
	assert_null(encode_with(p, "pprof", &o, 0, &err, &res, &len));
	assert_int_equal(err, -E2BIG);
	profile_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pprof_fields),
		cmocka_unit_test(test_pprof_labels),
		cmocka_unit_test(test_pprof_empty_and_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
