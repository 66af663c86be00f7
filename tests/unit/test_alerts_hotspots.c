/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for alerts/hotspots on a profile built by hand: self and
 * total shares (recursion counted once per stack, one function at several
 * addresses counted as one), severities, per-process pairs, the JSON of
 * `hotspots`, and alert evidence (merged stacks, top 3, the evidence line,
 * a function filter). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "alerts/hotspots.h"
#include "profile/profile.h"

/* Two processes of "pg":
 *   pg 1: main;exec;hash_search x60 (two addresses of hash_search)
 *         main;exec;lock;hash_search x10
 *         main;sort;sort;cmp x20 (sort recursion)
 *   pg 2: main;idle x10
 *         [kernel] main;read;vfs_read_[k] x5 (host only) */
static struct profile *fixture(void)
{
	struct profile *p;
	int m, k, fmain, fexec, fhash1, fhash2, flock, fsort1, fsort2, fcmp, fidle, fread, fvfs;
	uint32_t s[8];

	assert_int_equal(profile_new_empty(&p), 0);
	m = profile_add_mapping(p, "postgres", NULL, 0, 0);
	k = profile_add_mapping(p, "vmlinux", NULL, 0, 1);
	fmain = profile_add_frame(p, "main", (uint32_t)m, PROFILE_FRAME_USER, 0x10);
	fexec = profile_add_frame(p, "exec", (uint32_t)m, PROFILE_FRAME_USER, 0x20);
	fhash1 = profile_add_frame(p, "hash_search", (uint32_t)m, PROFILE_FRAME_USER, 0x30);
	fhash2 = profile_add_frame(p, "hash_search", (uint32_t)m, PROFILE_FRAME_USER, 0x34);
	flock = profile_add_frame(p, "lock", (uint32_t)m, PROFILE_FRAME_USER, 0x40);
	fsort1 = profile_add_frame(p, "sort", (uint32_t)m, PROFILE_FRAME_USER, 0x50);
	fsort2 = profile_add_frame(p, "sort", (uint32_t)m, PROFILE_FRAME_USER, 0x58);
	fcmp = profile_add_frame(p, "cmp", (uint32_t)m, PROFILE_FRAME_USER, 0x60);
	fidle = profile_add_frame(p, "idle", (uint32_t)m, PROFILE_FRAME_USER, 0x70);
	fread = profile_add_frame(p, "read", (uint32_t)m, PROFILE_FRAME_USER, 0x80);
	fvfs = profile_add_frame(p, "vfs_read", (uint32_t)k, PROFILE_FRAME_KERNEL, 0xffff0);
	assert_int_equal(profile_add_proc(p, 1, 100, "pg", ""), 0);
	assert_int_equal(profile_add_proc(p, 2, 200, "pg", ""), 1);
	s[0] = (uint32_t)fmain, s[1] = (uint32_t)fexec, s[2] = (uint32_t)fhash1;
	profile_add_stack(p, 0, s, 3, 0, 40);
	s[2] = (uint32_t)fhash2;
	profile_add_stack(p, 0, s, 3, 0, 20);
	s[2] = (uint32_t)flock, s[3] = (uint32_t)fhash1;
	profile_add_stack(p, 0, s, 4, 0, 10);
	s[1] = (uint32_t)fsort1, s[2] = (uint32_t)fsort2, s[3] = (uint32_t)fcmp;
	profile_add_stack(p, 0, s, 4, 0, 20);
	s[1] = (uint32_t)fidle;
	profile_add_stack(p, 1, s, 2, PROFILE_STACK_TRUNCATED, 10);
	s[1] = (uint32_t)fread, s[2] = (uint32_t)fvfs;
	profile_add_stack(p, 1, s, 3, 0, 5);
	return p;
}

static const struct hotspot *func(const struct hotspots *h, const char *name)
{
	for (size_t i = 0; i < h->nfuncs; i++)
		if (!strcmp(h->funcs[i].name, name))
			return &h->funcs[i];
	fail_msg("no function %s", name);
	return NULL;
}

static void test_shares(void **state)
{
	struct profile *p = fixture();
	struct hotspots *h;
	const struct hotspot_pair *pr;
	size_t n;

	(void)state;
	assert_int_equal(hotspots_compute(p, NULL, &h), 0);
	assert_int_equal(h->samples, 105);
	assert_string_equal(h->funcs[0].name, "hash_search"); /* 70 self: both addresses, both callers */
	assert_int_equal(h->funcs[0].self, 70);
	assert_int_equal(h->funcs[0].total, 70);
	assert_int_equal(func(h, "main")->total, 105);
	assert_int_equal(func(h, "main")->self, 0);
	assert_int_equal(func(h, "sort")->total, 20); /* recursion: once per stack */
	assert_int_equal(func(h, "vfs_read")->kernel, 1);
	assert_string_equal(func(h, "vfs_read")->module, "vmlinux");
	assert_int_equal(h->proc_samples[0], 90);
	assert_int_equal(h->proc_samples[1], 15);
	/* per process: pg 1's pairs, by self */
	pr = hotspots_of_proc(h, 0, &n);
	assert_non_null(pr);
	assert_string_equal(h->funcs[pr[0].func].name, "hash_search");
	assert_int_equal(pr[0].self, 70);
	pr = hotspots_of_proc(h, 1, &n);
	assert_int_equal(n, 4); /* main, idle, read, vfs_read */
	assert_null(hotspots_of_proc(h, 7, &n));
	assert_string_equal(hotspot_severity(66.6), "critical");
	assert_string_equal(hotspot_severity(50), "critical");
	assert_string_equal(hotspot_severity(20), "high");
	assert_string_equal(hotspot_severity(10), "medium");
	assert_string_equal(hotspot_severity(9.99), "low");
	hotspots_free(h);

	/* only pg 2 */
	assert_int_equal(hotspots_compute(p, (const uint8_t[]){ 0, 1 }, &h), 0);
	assert_int_equal(h->samples, 15);
	assert_string_equal(h->funcs[0].name, "idle");
	for (size_t i = 0; i < h->nfuncs; i++)
		assert_true(strcmp(h->funcs[i].name, "hash_search"));
	hotspots_free(h);
	profile_free(p);
}

static void test_json(void **state)
{
	struct profile *p = fixture();
	struct hotspots *h;
	struct json_object *o, *f, *procs;

	(void)state;
	assert_int_equal(hotspots_compute(p, NULL, &h), 0);
	o = hotspots_to_json(h, 2, 1);
	assert_non_null(o);
	assert_int_equal(json_object_array_length(json_object_object_get(o, "functions")), 2);
	f = json_object_array_get_idx(json_object_object_get(o, "functions"), 0);
	assert_string_equal(json_object_get_string(json_object_object_get(f, "name")), "hash_search");
	assert_true(fabs(json_object_get_double(json_object_object_get(f, "self_pct")) - 66.666) < 0.01);
	assert_string_equal(json_object_get_string(json_object_object_get(f, "severity")), "critical");
	f = json_object_array_get_idx(json_object_object_get(o, "functions"), 1);
	assert_string_equal(json_object_get_string(json_object_object_get(f, "name")), "cmp");
	assert_string_equal(json_object_get_string(json_object_object_get(f, "severity")), "medium");
	/* main is in both processes: the list is bounded by max_procs, the
	 * count is not */
	json_object_put(o);
	o = hotspots_to_json(h, 100, 1);
	for (size_t i = 0; i < json_object_array_length(json_object_object_get(o, "functions")); i++) {
		f = json_object_array_get_idx(json_object_object_get(o, "functions"), i);
		if (strcmp(json_object_get_string(json_object_object_get(f, "name")), "main"))
			continue;
		procs = json_object_object_get(f, "processes");
		assert_int_equal(json_object_array_length(procs), 1);
		assert_int_equal(json_object_get_int(json_object_object_get(f, "process_count")), 2);
		assert_int_equal(json_object_get_int(json_object_object_get(json_object_array_get_idx(procs, 0), "pid")), 1);
	}
	json_object_put(o);
	hotspots_free(h);
	profile_free(p);
}

static void test_evidence(void **state)
{
	struct profile *p = fixture();
	struct alert_stacks *as;

	(void)state;
	assert_int_equal(alert_stacks_from_profile(p, (const uint8_t[]){ 1, 0 }, NULL, 60, 7, &as), 0);
	assert_int_equal(as->samples, 90);
	assert_int_equal(as->n, 3);
	/* the two addresses of hash_search are one stack by names */
	assert_int_equal(as->v[0].count, 60);
	assert_int_equal(as->v[0].nframes, 3);
	assert_string_equal(as->v[0].frames[0], "main");
	assert_string_equal(as->v[0].frames[2], "hash_search");
	assert_true(fabs(as->v[0].share_pct - 66.666) < 0.01);
	assert_int_equal(as->v[1].count, 20);
	assert_int_equal(as->v[2].count, 10);
	assert_int_equal(as->window_ns, 60);
	assert_int_equal(as->taken_ns, 7);
	assert_string_equal(as->evidence, "78% in hash_search \xe2\x86\x90 exec \xe2\x86\x90 main");
	alert_stacks_free(as);

	/* pg 2: a truncated stack is marked; a kernel frame is spelt _[k] */
	assert_int_equal(alert_stacks_from_profile(p, (const uint8_t[]){ 0, 1 }, NULL, 60, 7, &as), 0);
	assert_int_equal(as->n, 2);
	assert_string_equal(as->v[0].frames[0], "[truncated]");
	assert_int_equal(as->v[0].nframes, 3);
	assert_string_equal(as->v[1].frames[2], "vfs_read_[k]");
	alert_stacks_free(as);

	/* a function rule's evidence: stacks through lock only */
	assert_int_equal(alert_stacks_from_profile(p, NULL, "lock", 60, 7, &as), 0);
	assert_int_equal(as->n, 1);
	assert_int_equal(as->samples, 10);
	assert_string_equal(as->evidence, "100% in hash_search \xe2\x86\x90 lock \xe2\x86\x90 exec \xe2\x86\x90 main");
	alert_stacks_free(as);
	/* nothing kept: empty evidence, no error */
	assert_int_equal(alert_stacks_from_profile(p, (const uint8_t[]){ 0, 0 }, NULL, 60, 7, &as), 0);
	assert_int_equal(as->n, 0);
	assert_string_equal(as->evidence, "");
	alert_stacks_free(as);
	profile_free(p);
}

/* An empty profile, and one whose stacks have no frame: no function,
 * nothing undefined (UBSan runs this too). */
static void test_empty(void **state)
{
	struct profile *p;
	struct hotspots *h;
	struct alert_stacks *as;
	struct json_object *o;

	(void)state;
	assert_int_equal(profile_new_empty(&p), 0);
	assert_int_equal(hotspots_compute(p, NULL, &h), 0);
	assert_int_equal(h->nfuncs, 0);
	o = hotspots_to_json(h, 10, 10);
	assert_int_equal(json_object_array_length(json_object_object_get(o, "functions")), 0);
	json_object_put(o);
	hotspots_free(h);
	assert_int_equal(profile_add_proc(p, 1, 1, "x", ""), 0);
	assert_int_equal(profile_add_stack(p, 0, NULL, 0, PROFILE_STACK_OVERFLOW, 5), 0);
	assert_int_equal(hotspots_compute(p, NULL, &h), 0);
	assert_int_equal(h->samples, 5);
	assert_int_equal(h->nfuncs, 0);
	hotspots_free(h);
	assert_int_equal(alert_stacks_from_profile(p, NULL, NULL, 1, 1, &as), 0);
	assert_int_equal(as->n, 1);
	assert_int_equal(as->v[0].nframes, 0);
	alert_stacks_free(as);
	profile_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shares),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_evidence),
		cmocka_unit_test(test_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
