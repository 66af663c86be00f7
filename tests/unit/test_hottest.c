/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for hottest_find (top's hottest function): leaf frames are
 * counted per (object, symbol start), every address of a function
 * together, with no bound on the distinct functions a process has; two
 * functions of one name in two objects are two functions; a frame no
 * symbol covers counts under its object. Fixture: two builds of the
 * symtest program (known functions) and a kallsyms file of 100
 * functions, through a symbolizer without worker threads. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "profile/hottest.h"
#include "profile/query.h"
#include "store/stacks.h"
#include "symbols/elfsym.h"
#include "symbols/symbolizer.h"
#include "symtest_util.h"

#define KBASE 0xffffffff81000000ull
#define NKFUNC 100

static char *dir;
static char kallsyms[4200];

static int setup(void **state)
{
	FILE *f;

	(void)state;
	dir = symtest_tmpdir();
	if (!dir || symtest_build(dir, "prog_a", symtest_prog_src, "-fPIE -pie -Wl,--build-id") ||
	    symtest_build(dir, "prog_b", symtest_prog_src, "-fno-PIE -no-pie -Wl,--build-id"))
		return -1;
	snprintf(kallsyms, sizeof(kallsyms), "%s/kallsyms", dir);
	f = fopen(kallsyms, "w");
	if (!f)
		return -1;
	/* kfunc_N at KBASE + N * 0x100 */
	fprintf(f, "%016llx T _stext\n", (unsigned long long)KBASE);
	for (int i = 1; i <= NKFUNC; i++)
		fprintf(f, "%016llx T kfunc_%d\n", (unsigned long long)(KBASE + (uint64_t)i * 0x100), i);
	fprintf(f, "%016llx T _etext\n", (unsigned long long)(KBASE + (uint64_t)(NKFUNC + 1) * 0x100));
	return fclose(f);
}

static int teardown(void **state)
{
	(void)state;
	symtest_rmdir(dir);
	return 0;
}

static struct symbolizer *new_sym(void)
{
	struct symbolizer_opts o = { .kallsyms = kallsyms, .debug_dirs = "/nonexistent", .no_worker = 1 };
	struct symbolizer *s = NULL;

	assert_int_equal(symbolizer_new(&o, &s), 0);
	return s;
}

/* The object of dir/name, its file taught to the symbolizer. */
static uint32_t object_of(struct symbolizer *s, const char *name)
{
	uint8_t id[ELFSYM_BUILD_ID_MAX];
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	symbolizer_note_exec(s, (uint32_t)getpid(), path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(elfsym_read_build_id_fd(fd, id), 20);
	close(fd);
	return symbolizer_object_by_build_id(s, id, 20);
}

static uint64_t func_off(const char *name, const char *func)
{
	char path[4096];
	uint64_t off;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	off = symtest_vaddr_to_off(path, symtest_nm(path, func, 0));
	assert_true(off != UINT64_MAX && off != 0);
	return off;
}

struct fixture {
	struct symbolizer *sym;
	struct stacks *st;
	struct pq_entry v[256];
	size_t n;
	uint64_t caller;  /* makes every stack distinct */
};

/* One entry: a stack of leaf (obj, addr) under a distinct caller. */
static void add(struct fixture *fx, uint32_t obj, uint64_t addr, uint32_t fflags, uint64_t count)
{
	struct frame fr[2] = { { .obj = obj, .flags = fflags, .addr = addr },
			       { .obj = SYM_OBJ_UNKNOWN, .addr = 0x1000 + fx->caller++ } };

	assert_true(fx->n < sizeof(fx->v) / sizeof(fx->v[0]));
	fx->v[fx->n].proc = 1;
	fx->v[fx->n].stack = stacks_intern(fx->st, fr, 2, 0, 1);
	assert_true(fx->v[fx->n].stack >= STACK_ID_FIRST);
	fx->v[fx->n].count = count;
	fx->n++;
}

static void fx_init(struct fixture *fx)
{
	memset(fx, 0, sizeof(*fx));
	fx->sym = new_sym();
	assert_int_equal(stacks_new(4096, &fx->st), 0);
}

static void fx_fini(struct fixture *fx)
{
	stacks_free(fx->st);
	symbolizer_free(fx->sym);
}

/* Addresses inside one function count together; alpha_func of prog_b is
 * another function than prog_a's (old: one string, 6 samples). */
static void test_by_function(void **state)
{
	struct hottest_scratch sc = { 0 };
	struct fixture fx;
	struct hottest h;
	uint32_t a, b;
	uint64_t alpha_a, alpha_b, gamma_a;

	(void)state;
	fx_init(&fx);
	a = object_of(fx.sym, "prog_a");
	b = object_of(fx.sym, "prog_b");
	assert_true(a != SYM_OBJ_UNKNOWN && b != SYM_OBJ_UNKNOWN && a != b);
	alpha_a = func_off("prog_a", "alpha_func");
	alpha_b = func_off("prog_b", "alpha_func");
	gamma_a = func_off("prog_a", "gamma_func");
	add(&fx, a, alpha_a, 0, 3);
	add(&fx, b, alpha_b + 1, 0, 3);
	add(&fx, a, gamma_a, 0, 2);
	add(&fx, a, gamma_a + 1, 0, 1);
	add(&fx, a, gamma_a + 4, 0, 1);
	assert_int_equal(hottest_find(&sc, fx.sym, fx.st, fx.v, fx.n, 0, &h), 0);
	assert_string_equal(h.name, "gamma_func");
	assert_string_equal(h.module, "prog_a");
	assert_int_equal(h.samples, 4);

	/* alpha_func of prog_a grows past it with a second address */
	add(&fx, a, alpha_a + 2, 0, 2);
	assert_int_equal(hottest_find(&sc, fx.sym, fx.st, fx.v, fx.n, 0, &h), 0);
	assert_string_equal(h.name, "alpha_func");
	assert_string_equal(h.module, "prog_a");
	assert_int_equal(h.samples, 5);
	hottest_scratch_release(&sc);
	fx_fini(&fx);
}

/* 100 distinct functions of one sample each come first (lower stack
 * ids), the hottest last: no cap on distinct leaves (the old code kept
 * the first 64 names and called one of the ones a hottest). */
static void test_no_cap(void **state)
{
	struct hottest_scratch sc = { 0 };
	struct fixture fx;
	struct hottest h;

	(void)state;
	fx_init(&fx);
	for (int i = 1; i <= NKFUNC; i++)
		add(&fx, SYM_OBJ_KERNEL, KBASE + (uint64_t)i * 0x100 + 8, STACK_FRAME_KERNEL, 1);
	for (int k = 0; k < 3; k++)
		add(&fx, SYM_OBJ_KERNEL, KBASE + 77 * 0x100 + 0x10 + (uint64_t)k, STACK_FRAME_KERNEL, 1);
	assert_int_equal(hottest_find(&sc, fx.sym, fx.st, fx.v, fx.n, 0, &h), 0);
	assert_string_equal(h.name, "kfunc_77");
	assert_string_equal(h.module, "vmlinux");
	assert_int_equal(h.samples, 4);
	hottest_scratch_release(&sc);
	fx_fini(&fx);
}

/* No symbol covers the address (prog_a's ELF header, raw unknown IPs):
 * counted under the object, and hottest then has no name. */
static void test_unnamed(void **state)
{
	struct hottest_scratch sc = { 0 };
	struct fixture fx;
	struct hottest h;
	uint32_t a;

	(void)state;
	fx_init(&fx);
	a = object_of(fx.sym, "prog_a");
	add(&fx, a, func_off("prog_a", "gamma_func"), 0, 3);
	for (int i = 0; i < 4; i++)
		add(&fx, a, 0x10 + (uint64_t)i, 0, 1);
	assert_int_equal(hottest_find(&sc, fx.sym, fx.st, fx.v, fx.n, 0, &h), 0);
	assert_string_equal(h.name, "");
	assert_string_equal(h.module, "prog_a");
	assert_int_equal(h.samples, 4);
	for (int i = 0; i < 5; i++)
		add(&fx, SYM_OBJ_UNKNOWN, 0x7f0000000000ull + (uint64_t)i * 4096, 0, 1);
	assert_int_equal(hottest_find(&sc, fx.sym, fx.st, fx.v, fx.n, 0, &h), 0);
	assert_string_equal(h.name, "");
	assert_string_equal(h.module, "");
	assert_int_equal(h.samples, 5);

	/* entries without a stack have no function: nothing is hottest */
	fx.v[0].stack = STACK_ID_OVERFLOW;
	assert_int_equal(hottest_find(&sc, fx.sym, fx.st, fx.v, 1, 0, &h), 0);
	assert_int_equal(h.samples, 0);
	assert_string_equal(h.name, "");
	hottest_scratch_release(&sc);
	fx_fini(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_by_function),
		cmocka_unit_test(test_no_cap),
		cmocka_unit_test(test_unnamed),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
