/* SPDX-License-Identifier: GPL-2.0-only */
/* The fixture profile of the profile tests and their helpers (golden
 * files, encoding into a buffer), shared by test_profile*.c. Included
 * once per test program: everything is static. */
#ifndef PROFD_TEST_PROFILE_FIXTURE_H
#define PROFD_TEST_PROFILE_FIXTURE_H

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "profile/format.h"
#include "profile/profile.h"

static __attribute__((unused)) const char *fixtures(void)
{
	const char *f = getenv("PROFD_FIXTURES");

	return f ? f : "tests/fixtures";
}

static __attribute__((unused)) char *slurp(const char *path, size_t *ret_len)
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

static __attribute__((unused)) void check_golden(const char *name, const char *out, size_t len)
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
static __attribute__((unused)) struct profile *fixture(void)
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

static __attribute__((unused)) char *encode(const struct profile *p, const char *fmt, size_t max, size_t scratch, int *ret_err,
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

/* Encode with options (flags, title, width): the output NUL-terminated,
 * or NULL and *ret_err. */
static __attribute__((unused)) char *encode_with(const struct profile *p, const char *fmt, const struct format_opts *o, size_t max,
			 int *ret_err, struct format_result *res, size_t *ret_len)
{
	const struct format *f = format_find(fmt);
	struct sink_buf b;
	char *out;

	assert_non_null(f);
	sink_buf_init(&b, max);
	memset(res, 0, sizeof(*res));
	*ret_err = format_encode(f, p, o, &b.sink, res);
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

/* The fixture with its first process's stacks split over two threads
 * (tids 4242 "app" and 4243 "worker"): stacks 0-2 on the main thread,
 * 3-4 on the worker. */
static __attribute__((unused)) struct profile *fixture_threads(void)
{
	struct profile *p = fixture();
	int t0 = profile_add_thread(p, 0, 4242, "app"), t1 = profile_add_thread(p, 0, 4243, "worker");

	assert_true(t0 >= 0 && t1 >= 0);
	for (size_t i = 0; i < 5; i++)
		p->stacks[i].thread = (uint32_t)(i < 3 ? t0 : t1);
	return p;
}

#endif
