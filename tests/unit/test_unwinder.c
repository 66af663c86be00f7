/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for the unwinder: mapping tables, shared tables, reference
 * counts, eviction, the memory bound, exec and pid reuse, on a fixture
 * procfs whose maps name real files (this test and libc) and a backend of
 * plain memory standing in for the BPF maps. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "profd/sample.h"
#include "unwind/table.h"
#include "unwind/unwinder.h"

#define MS 1000000ull
#define SEC (1000 * MS)

/* ---- the backend: plain memory ------------------------------------------- */

struct fake {
	union profd_unw_cell *cells;
	struct profd_unw_mapping maps[1024];
	struct profd_unw_obj objs[64];
	struct {
		uint32_t tgid;
		struct profd_unw_proc v;
	} procs[16];
	int nprocs;
	int sets, dels;
	int full; /* refuse new entries */
};

static int fake_set(void *ctx, uint32_t tgid, const struct profd_unw_proc *v)
{
	struct fake *f = ctx;

	f->sets++;
	for (int i = 0; i < f->nprocs; i++) {
		if (f->procs[i].tgid == tgid) {
			f->procs[i].v = *v;
			return 0;
		}
	}
	if (f->full || f->nprocs == 16)
		return -E2BIG;
	f->procs[f->nprocs].tgid = tgid;
	f->procs[f->nprocs++].v = *v;
	return 0;
}

static int fake_del(void *ctx, uint32_t tgid)
{
	struct fake *f = ctx;

	f->dels++;
	for (int i = 0; i < f->nprocs; i++) {
		if (f->procs[i].tgid == tgid) {
			f->procs[i] = f->procs[--f->nprocs];
			return 0;
		}
	}
	return -ENOENT;
}

static const struct profd_unw_proc *fake_get(struct fake *f, uint32_t tgid)
{
	for (int i = 0; i < f->nprocs; i++)
		if (f->procs[i].tgid == tgid)
			return &f->procs[i].v;
	return NULL;
}

/* ---- the fixture procfs --------------------------------------------------- */

struct env {
	char dir[256];
	char exe[PATH_MAX];
	char libc[PATH_MAX];
	struct fake f;
	struct unwinder *u;
};

static void find_libc(char *out, size_t n)
{
	FILE *m = fopen("/proc/self/maps", "re");
	char line[1024];

	assert_non_null(m);
	out[0] = 0;
	while (fgets(line, sizeof(line), m)) {
		char *p = strchr(line, '/');

		if (p && (strstr(p, "/libc.so.6") || strstr(p, "/libc-"))) {
			p[strcspn(p, "\n")] = 0;
			snprintf(out, n, "%s", p);
			break;
		}
	}
	fclose(m);
	assert_true(out[0] == '/');
}

static void maps_line(FILE *f, uint64_t start, uint64_t end, const char *perms, uint64_t off, const char *path)
{
	struct stat st;

	if (path && path[0] == '/') {
		assert_int_equal(stat(path, &st), 0);
		fprintf(f, "%llx-%llx %s %08llx %02x:%02x %llu                  %s\n", (unsigned long long)start,
			(unsigned long long)end, perms, (unsigned long long)off, major(st.st_dev), minor(st.st_dev),
			(unsigned long long)st.st_ino, path);
	} else {
		fprintf(f, "%llx-%llx %s %08llx 00:00 0          %s\n", (unsigned long long)start,
			(unsigned long long)end, perms, (unsigned long long)off, path ? path : "");
	}
}

/* /proc/<pid>/maps of a process mapping this test at base and libc at
 * base + 16 MiB, plus the vDSO, a JIT region and data mappings;
 * /proc/<pid>/root -> /. */
static void fixture_proc(struct env *e, uint32_t pid, uint64_t base, int with_libc)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%u", e->dir, pid);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%u/root", e->dir, pid);
	unlink(path);
	assert_int_equal(symlink("/", path), 0);
	snprintf(path, sizeof(path), "%s/%u/maps", e->dir, pid);
	f = fopen(path, "we");
	assert_non_null(f);
	maps_line(f, base, base + 0x1000, "r--p", 0, e->exe);
	maps_line(f, base + 0x1000, base + 0x40000, "r-xp", 0x1000, e->exe);
	maps_line(f, base + 0x40000, base + 0x50000, "rw-p", 0x40000, e->exe);
	if (with_libc) {
		maps_line(f, base + 0x1000000, base + 0x1026000, "r--p", 0, e->libc);
		maps_line(f, base + 0x1026000, base + 0x1180000, "r-xp", 0x26000, e->libc);
	}
	maps_line(f, base + 0x2000000, base + 0x2010000, "rwxp", 0, NULL); /* JIT */
	maps_line(f, 0x7ffff7fc1000, 0x7ffff7fc3000, "r-xp", 0, "[vdso]");
	maps_line(f, 0x7ffffffde000, 0x7ffffffff000, "rw-p", 0, "[stack]");
	maps_line(f, 0xffffffffff600000, 0xffffffffff601000, "--xp", 0, "[vsyscall]");
	fclose(f);
}

static void env_new(struct env *e, uint32_t ncells, uint64_t linger)
{
	struct unwinder_opts o;
	ssize_t n;

	memset(e, 0, sizeof(*e));
	snprintf(e->dir, sizeof(e->dir), "/tmp/profd-unwinder-XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	n = readlink("/proc/self/exe", e->exe, sizeof(e->exe) - 1);
	assert_true(n > 0);
	e->exe[n] = 0;
	find_libc(e->libc, sizeof(e->libc));
	e->f.cells = calloc(ncells, sizeof(*e->f.cells));
	assert_non_null(e->f.cells);
	o = (struct unwinder_opts){
		.procfs = e->dir,
		.be = { .cells = e->f.cells, .ncells = ncells, .maps = e->f.maps, .nmaps = 1024, .objs = e->f.objs,
			.nobjs = 64, .max_procs = 16, .proc_set = fake_set, .proc_del = fake_del, .ctx = &e->f },
		.no_worker = 1,
		.linger_ns = linger,
	};
	assert_int_equal(unwinder_new(&o, &e->u), 0);
}

static void env_free(struct env *e)
{
	char cmd[300];

	unwinder_free(e->u);
	free(e->f.cells);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->dir);
	assert_int_equal(system(cmd), 0);
}

static const struct profd_unw_mapping *mapping_at(struct env *e, uint32_t tgid, uint64_t addr)
{
	const struct profd_unw_proc *p = fake_get(&e->f, tgid);

	assert_non_null(p);
	for (uint32_t i = 0; i < p->count; i++)
		if (addr >= e->f.maps[p->first + i].start && addr < e->f.maps[p->first + i].end)
			return &e->f.maps[p->first + i];
	return NULL;
}

/* The pool holds exactly the table built from the file. */
static void assert_table_loaded(struct env *e, const struct profd_unw_mapping *m, const char *path)
{
	const struct profd_unw_obj *d = &e->f.objs[m->slot];
	struct unwind_table *t = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(unwind_table_build_fd(fd, &t), 0);
	close(fd);
	assert_int_equal(d->uid, m->uid);
	assert_int_equal(d->nrows, t->nrows);
	assert_int_equal(d->npages, t->npages);
	assert_int_equal(d->first_page, t->first_page);
	assert_memory_equal(&e->f.cells[d->rows], t->rows, t->nrows * sizeof(*t->rows));
	assert_memory_equal(&e->f.cells[d->pages], t->pages, t->npages * sizeof(*t->pages));
	unwind_table_free(t);
}

static void test_first_sample_builds_table(void **state)
{
	struct env e;
	const struct profd_unw_mapping *exe, *libc, *jit, *vdso;
	const struct profd_unw_proc *p;
	struct unwinder_stats st;
	const uint8_t *bid;
	size_t len;
	uint64_t base = 0x555555554000;

	(void)state;
	env_new(&e, 1u << 20, 0);
	fixture_proc(&e, 100, base, 1);
	/* samples without the flags ask for nothing */
	unwinder_note_sample(e.u, 100, 7, 0, 0);
	unwinder_tick(e.u, 1 * SEC);
	assert_int_equal(e.f.sets, 0);

	/* read at once (the sampler woke profd up to ask), once */
	unwinder_note_sample(e.u, 100, 7, PROFD_SF_UNW_NOPROC, 1 * SEC + 10 * MS);
	unwinder_note_sample(e.u, 100, 7, PROFD_SF_UNW_NOPROC, 1 * SEC + 20 * MS);
	assert_int_equal(e.f.sets, 1);
	p = fake_get(&e.f, 100);
	assert_non_null(p);
	assert_int_equal(p->start_time, 7);
	/* exe, libc, JIT, vDSO: executable mappings only, sorted */
	assert_int_equal(p->count, 4);
	for (uint32_t i = 1; i < p->count; i++)
		assert_true(e.f.maps[p->first + i].start > e.f.maps[p->first + i - 1].start);
	exe = mapping_at(&e, 100, base + 0x2000);
	libc = mapping_at(&e, 100, base + 0x1030000);
	jit = mapping_at(&e, 100, base + 0x2000100);
	vdso = mapping_at(&e, 100, 0x7ffff7fc1000);
	assert_non_null(exe);
	assert_non_null(libc);
	assert_non_null(jit);
	assert_non_null(vdso);
	assert_null(mapping_at(&e, 100, base)); /* not executable */
	assert_int_equal(exe->pgoff, 0x1000);
	assert_int_equal(libc->pgoff, 0x26000);
	assert_int_not_equal(exe->uid, 0);
	assert_int_not_equal(libc->uid, exe->uid);
	assert_int_equal(exe->flags, 0);
	assert_int_equal(jit->uid, 0);
	assert_int_equal(jit->flags, PROFD_UNW_MAP_RAW);
	assert_int_equal(vdso->flags, PROFD_UNW_MAP_VDSO | PROFD_UNW_MAP_RAW);
	assert_int_not_equal(e.f.objs[vdso->slot].nrows, 0);

	/* the small program was built at once; libc on the "worker" */
	assert_table_loaded(&e, exe, e.exe);
	assert_int_equal(e.f.objs[libc->slot].uid, libc->uid);
	assert_int_equal(e.f.objs[libc->slot].nrows, 0);
	assert_int_equal(e.f.objs[libc->slot].building, 1);
	assert_int_equal(e.f.objs[exe->slot].building, 0);
	/* a sample that met it (the sampler wakes profd up for that) has the
	 * finished build installed at once, without waiting for the tick */
	unwinder_note_sample(e.u, 100, 7, PROFD_SF_UNW_BUILDING, 1 * SEC + 30 * MS);
	assert_table_loaded(&e, libc, e.libc);
	assert_int_equal(e.f.objs[libc->slot].building, 0);
	unwinder_tick(e.u, 2 * SEC);

	unwinder_get_stats(e.u, &st);
	assert_int_equal(st.objects, 3); /* vDSO, exe, libc */
	assert_int_equal(st.tables, 3);
	assert_int_equal(st.builds, 3);
	assert_int_equal(st.inline_builds, 1);
	assert_int_equal(st.build_failures, 0);
	assert_int_equal(st.processes, 1);
	assert_int_equal(st.mappings, 4);
	assert_int_equal(st.maps_reads, 1);
	assert_int_equal(st.without_table, 0);
	assert_true(st.table_bytes > 0 && st.table_bytes < st.table_limit_bytes);

	/* naming: build-id by uid, the caller's tag */
	assert_int_equal(unwinder_object_build_id(e.u, libc->uid, &bid, &len), 0);
	assert_int_equal(len, 20);
	assert_int_equal(unwinder_object_build_id(e.u, 999999, &bid, &len), -ENOENT);
	assert_int_equal(unwinder_object_tag(e.u, libc->uid), UNWINDER_TAG_NONE);
	unwinder_set_object_tag(e.u, libc->uid, 42);
	assert_int_equal(unwinder_object_tag(e.u, libc->uid), 42);
	env_free(&e);
}

/* Two processes share one table per object; the table outlives them by the
 * linger time, then goes, and its slot and cells are reused. */
static void test_shared_refcounted_evicted(void **state)
{
	struct env e;
	const struct profd_unw_mapping *a, *b;
	struct unwinder_stats st;
	uint32_t libc_uid, libc_slot;

	(void)state;
	env_new(&e, 1u << 20, 10 * SEC);
	fixture_proc(&e, 100, 0x555555554000, 1);
	fixture_proc(&e, 200, 0x7f0000000000, 1);
	unwinder_note_sample(e.u, 100, 7, PROFD_SF_UNW_NOPROC, 0);
	unwinder_note_sample(e.u, 200, 8, PROFD_SF_UNW_NOPROC, 0);
	unwinder_tick(e.u, 1 * SEC);
	unwinder_tick(e.u, 2 * SEC);
	a = mapping_at(&e, 100, 0x555555554000 + 0x1030000);
	b = mapping_at(&e, 200, 0x7f0000000000 + 0x1030000);
	assert_int_equal(a->uid, b->uid);
	assert_int_equal(a->slot, b->slot);
	libc_uid = a->uid;
	libc_slot = a->slot;
	unwinder_get_stats(e.u, &st);
	assert_int_equal(st.objects, 3);
	assert_int_equal(st.builds, 3);

	unwinder_forget(e.u, 100);
	assert_null(fake_get(&e.f, 100));
	unwinder_tick(e.u, 3 * SEC);
	unwinder_tick(e.u, 20 * SEC);
	assert_int_equal(e.f.objs[libc_slot].uid, libc_uid); /* 200 still maps it */
	unwinder_forget(e.u, 200);
	unwinder_tick(e.u, 21 * SEC);
	unwinder_tick(e.u, 22 * SEC);
	unwinder_tick(e.u, 23 * SEC);
	assert_int_equal(e.f.objs[libc_slot].uid, libc_uid); /* lingers */
	unwinder_tick(e.u, 35 * SEC);
	assert_int_equal(e.f.objs[libc_slot].uid, 0);
	assert_int_equal(e.f.objs[libc_slot].nrows, 0);
	unwinder_get_stats(e.u, &st);
	assert_int_equal(st.objects, 1); /* the vDSO stays */
	assert_int_equal(st.tables, 1);
	assert_int_equal(st.evictions, 2);
	assert_int_equal(st.processes, 0);
	assert_int_equal(st.mappings, 0);
	assert_int_equal(unwinder_object_build_id(e.u, libc_uid, &(const uint8_t *){ NULL }, &(size_t){ 0 }),
			 -ENOENT);

	/* mapped again: a new uid (old frames never alias), the table rebuilt */
	unwinder_note_sample(e.u, 200, 8, PROFD_SF_UNW_NOPROC, 0);
	unwinder_tick(e.u, 36 * SEC);
	unwinder_tick(e.u, 37 * SEC);
	b = mapping_at(&e, 200, 0x7f0000000000 + 0x1030000);
	assert_int_not_equal(b->uid, libc_uid);
	assert_table_loaded(&e, b, e.libc);
	env_free(&e);
}

/* A pool too small for libc: the program gets its table, libc goes
 * without (counted), and gets one once an unmapped table makes room. */
static void test_memory_bound(void **state)
{
	struct env e;
	const struct profd_unw_mapping *exe, *libc;
	struct unwinder_stats st;
	struct unwind_table *t = NULL;
	int fd;
	uint32_t exe_cells, libc_cells;

	(void)state;
	fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	assert_int_equal(unwind_table_build_fd(fd, &t), 0);
	close(fd);
	exe_cells = (uint32_t)unwind_table_cells(t);
	unwind_table_free(t);
	{
		char lpath[PATH_MAX];

		find_libc(lpath, sizeof(lpath));
		fd = open(lpath, O_RDONLY | O_CLOEXEC);
		assert_int_equal(unwind_table_build_fd(fd, &t), 0);
		close(fd);
		libc_cells = (uint32_t)unwind_table_cells(t);
		unwind_table_free(t);
	}
	/* room for the vDSO and the program, not for libc too */
	env_new(&e, libc_cells + 64, 10 * SEC);
	assert_true(exe_cells + 64 < libc_cells);
	fixture_proc(&e, 100, 0x555555554000, 0);
	unwinder_note_sample(e.u, 100, 7, PROFD_SF_UNW_NOPROC, 0);
	unwinder_tick(e.u, 1 * SEC);
	fixture_proc(&e, 200, 0x7f0000000000, 1);
	unwinder_note_sample(e.u, 200, 8, PROFD_SF_UNW_NOPROC, 0);
	unwinder_tick(e.u, 2 * SEC);
	unwinder_tick(e.u, 3 * SEC);
	exe = mapping_at(&e, 200, 0x7f0000000000 + 0x2000);
	libc = mapping_at(&e, 200, 0x7f0000000000 + 0x1030000);
	assert_table_loaded(&e, exe, e.exe);
	assert_int_equal(e.f.objs[libc->slot].nrows, 0);
	unwinder_get_stats(e.u, &st);
	assert_int_equal(st.without_table, 1);
	assert_int_equal(st.tables, 2);
	assert_true(st.table_bytes <= st.table_limit_bytes);

	/* both processes exit: after the grace ticks the program's table is
	 * the one nobody maps; libc needs its room */
	unwinder_forget(e.u, 100);
	unwinder_tick(e.u, 4 * SEC);
	fixture_proc(&e, 200, 0x7f0000000000, 1);
	/* rewrite 200 without the program: only libc and the vDSO */
	{
		char path[512];
		FILE *f;

		snprintf(path, sizeof(path), "%s/200/maps", e.dir);
		f = fopen(path, "we");
		maps_line(f, 0x7f0001000000, 0x7f0001026000, "r--p", 0, e.libc);
		maps_line(f, 0x7f0001026000, 0x7f0001180000, "r-xp", 0x26000, e.libc);
		fclose(f);
	}
	unwinder_note_sample(e.u, 200, 8, PROFD_SF_UNW_MISS, 0);
	unwinder_tick(e.u, 10 * SEC);
	for (uint64_t s = 11; s < 16; s++)
		unwinder_tick(e.u, s * SEC);
	libc = mapping_at(&e, 200, 0x7f0001030000);
	assert_non_null(libc);
	assert_table_loaded(&e, libc, e.libc);
	unwinder_get_stats(e.u, &st);
	assert_int_equal(st.without_table, 0);
	assert_true(st.evictions >= 1);
	assert_int_equal(st.refreshes, 1);
	env_free(&e);
}

/* exec: the old image's table goes (the BPF hook deleted it already);
 * pid reuse: a new start time reads again; refreshes are rate-limited;
 * a vanished process is dropped. */
static void test_exec_reuse_refresh(void **state)
{
	struct env e;
	struct unwinder_stats st;

	(void)state;
	env_new(&e, 1u << 20, 0);
	fixture_proc(&e, 100, 0x555555554000, 0);
	unwinder_note_sample(e.u, 100, 7, PROFD_SF_UNW_NOPROC, 0);
	unwinder_tick(e.u, 10 * SEC);
	assert_non_null(fake_get(&e.f, 100));

	/* a pc in no mapping: re-read at once, backing off from 100 ms after
	 * the first read, doubling, up to refresh_ns (2 s) */
	unwinder_note_sample(e.u, 100, 7, PROFD_SF_UNW_MISS, 10 * SEC + 50 * MS);
	unwinder_get_stats(e.u, &st);
	assert_int_equal(st.maps_reads, 1);
	unwinder_note_sample(e.u, 100, 7, PROFD_SF_UNW_MISS, 10 * SEC + 150 * MS);
	unwinder_get_stats(e.u, &st);
	assert_int_equal(st.maps_reads, 2);
	assert_int_equal(st.refreshes, 1);
	unwinder_note_sample(e.u, 100, 7, PROFD_SF_UNW_MISS, 10 * SEC + 300 * MS);
	unwinder_get_stats(e.u, &st);
	assert_int_equal(st.maps_reads, 2);
	unwinder_note_sample(e.u, 100, 7, PROFD_SF_UNW_MISS, 10 * SEC + 400 * MS);
	unwinder_get_stats(e.u, &st);
	assert_int_equal(st.maps_reads, 3);
	for (int i = 0; i < 8; i++) {
		/* 1.9 s after the last read: past the back-off until it reaches 2 s */
		uint64_t t = 10 * SEC + 400 * MS + (uint64_t)(i + 1) * 1900 * MS;

		unwinder_tick(e.u, t - 1);
		unwinder_note_sample(e.u, 100, 7, PROFD_SF_UNW_MISS, t);
	}
	unwinder_get_stats(e.u, &st);
	/* reads 3..6 backed off 400, 800, 1600 ms: read; from then on 2 s:
	 * every other 1.9 s attempt */
	assert_int_equal(st.maps_reads, 3 + 3 + 2);
	unwinder_tick(e.u, 30 * SEC);

	/* an exec before the last read changes nothing; after it, the
	 * table goes and the next sample's request is served at once */
	unwinder_note_exec(e.u, 100, 5 * SEC);
	assert_non_null(fake_get(&e.f, 100));
	unwinder_note_exec(e.u, 100, 31 * SEC);
	assert_null(fake_get(&e.f, 100));
	unwinder_note_sample(e.u, 100, 7, PROFD_SF_UNW_NOPROC, 31 * SEC + 1);
	assert_non_null(fake_get(&e.f, 100));

	/* the pid reused by another process (another start time) */
	unwinder_note_sample(e.u, 100, 99, PROFD_SF_UNW_NOPROC, 31 * SEC + 2);
	assert_int_equal(fake_get(&e.f, 100)->start_time, 99);

	/* the process is gone: counted, and not read again at every sample
	 * until its exit is seen */
	unwinder_note_sample(e.u, 300, 5, PROFD_SF_UNW_NOPROC, 31 * SEC + 3);
	unwinder_note_sample(e.u, 300, 5, PROFD_SF_UNW_NOPROC, 31 * SEC + 4);
	unwinder_get_stats(e.u, &st);
	assert_int_equal(st.maps_read_failures, 1);
	assert_int_equal(st.processes_known, 2);
	/* its exit event was lost: the periodic check of procfs drops it */
	for (uint64_t t = 0; t < 60; t++)
		unwinder_tick(e.u, 32 * SEC + t * MS);
	unwinder_get_stats(e.u, &st);
	assert_int_equal(st.processes_known, 1);

	/* the per-process hash is full: counted, nothing half-installed */
	e.f.full = 1;
	fixture_proc(&e, 400, 0x555555554000, 0);
	unwinder_note_sample(e.u, 400, 5, PROFD_SF_UNW_NOPROC, 0);
	unwinder_tick(e.u, 33 * SEC);
	unwinder_get_stats(e.u, &st);
	assert_int_equal(st.process_full, 1);
	assert_int_equal(st.processes, 1);
	assert_int_equal(st.mappings, 3);
	env_free(&e);
}

static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC), out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	ssize_t n;

	assert_true(in >= 0 && out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	close(in);
	close(out);
}

/* The same inode with other contents (a file rewritten in place, or an
 * inode number reused by a new file): a new object, never the old table. */
static void test_file_replaced(void **state)
{
	struct env e;
	const struct profd_unw_mapping *m;
	char bin[512];
	uint32_t first;

	(void)state;
	env_new(&e, 1u << 20, 0);
	snprintf(bin, sizeof(bin), "%s/prog", e.dir);
	copy_file(e.exe, bin);
	snprintf(e.exe, sizeof(e.exe), "%s", bin);
	fixture_proc(&e, 100, 0x555555554000, 0);
	unwinder_note_sample(e.u, 100, 7, PROFD_SF_UNW_NOPROC, 0);
	unwinder_tick(e.u, 1 * SEC);
	m = mapping_at(&e, 100, 0x555555556000);
	assert_table_loaded(&e, m, bin);
	first = m->uid;
	unwinder_forget(e.u, 100);

	/* rewritten in place: same inode, another program */
	copy_file(e.libc, bin);
	fixture_proc(&e, 200, 0x555555554000, 0);
	unwinder_note_sample(e.u, 200, 8, PROFD_SF_UNW_NOPROC, 0);
	unwinder_tick(e.u, 2 * SEC);
	unwinder_tick(e.u, 3 * SEC);
	m = mapping_at(&e, 200, 0x555555556000);
	assert_int_not_equal(m->uid, first);
	assert_table_loaded(&e, m, bin);
	env_free(&e);
}

static void test_bad_backend(void **state)
{
	struct unwinder *u = NULL;
	struct unwinder_opts o = { 0 };

	(void)state;
	assert_int_equal(unwinder_new(&o, &u), -EINVAL);
	assert_null(u);
	assert_null(unwinder_free(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_sample_builds_table),
		cmocka_unit_test(test_shared_refcounted_evicted),
		cmocka_unit_test(test_memory_bound),
		cmocka_unit_test(test_exec_reuse_refresh),
		cmocka_unit_test(test_file_replaced),
		cmocka_unit_test(test_bad_backend),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
