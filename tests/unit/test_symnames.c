/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for the symbolizer's other sources of names: JIT maps
 * (perf-PID.map) of a live child with anonymous executable memory, the
 * vdso (this process's own), and debug files from a debuginfod server
 * (a file:// tree: the same libdebuginfod code path as HTTP; the HTTP
 * server test is tests/integration/test_debuginfod.py). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "symbols/elfsym.h"
#include "symbols/symbolizer.h"
#include "symtest_util.h"

static char *dir;
static char kallsyms[4096];

static int setup(void **state)
{
	const char *f = getenv("PROFD_FIXTURES");

	(void)state;
	snprintf(kallsyms, sizeof(kallsyms), "%s/kallsyms.txt", f ? f : "tests/fixtures");
	dir = symtest_tmpdir();
	if (!dir || symtest_build(dir, "prog_a", symtest_prog_src, "-g -fPIE -pie -Wl,--build-id") ||
	    symtest_build(dir, "prog_b", symtest_prog_src, "-g -fno-PIE -no-pie -Wl,--build-id"))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	symtest_rmdir(dir);
	return 0;
}

static struct symbolizer *new_sym(const struct symbolizer_opts *extra)
{
	struct symbolizer_opts o = extra ? *extra : (struct symbolizer_opts){ 0 };
	struct symbolizer *s = NULL;

	o.kallsyms = kallsyms;
	o.debug_dirs = "/nonexistent";
	o.no_worker = 1;
	assert_int_equal(symbolizer_new(&o, &s), 0);
	return s;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000L };

	nanosleep(&ts, NULL);
}

/* ---- JIT ---- */

struct jit_child {
	pid_t pid;
	uint64_t code;   /* two pages of anonymous executable memory */
	int go;          /* write end: a byte makes it append its second entry */
	int ack;         /* read end: a line once appended */
};

static void jit_child_main(int go, int ack)
{
	char path[64], c;
	FILE *f;
	uint8_t *p = mmap(NULL, 8192, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		_exit(2);
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
	f = fopen(path, "w");
	if (!f)
		_exit(3);
	/* a JIT's lines: START SIZE NAME */
	fprintf(f, "%" PRIxPTR " 100 jit_one\n", (uintptr_t)p);
	fclose(f);
	dprintf(ack, "%" PRIxPTR "\n", (uintptr_t)p);
	if (read(go, &c, 1) != 1)
		_exit(4);
	f = fopen(path, "a");
	fprintf(f, "0x%" PRIxPTR " 0x80 LazyCompile:*jit_two app.js:7\n", (uintptr_t)p + 4096);
	fclose(f);
	dprintf(ack, "ok\n");
	pause();
	_exit(0);
}

static void jit_start(struct jit_child *c)
{
	int go[2], ack[2];
	char line[64];
	ssize_t n;

	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(ack), 0);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		close(go[1]);
		close(ack[0]);
		jit_child_main(go[0], ack[1]);
	}
	close(go[0]);
	close(ack[1]);
	c->go = go[1];
	c->ack = ack[0];
	n = read(c->ack, line, sizeof(line) - 1);
	assert_true(n > 0);
	line[n] = '\0';
	c->code = strtoull(line, NULL, 16);
	assert_true(c->code != 0);
}

static void jit_stop(struct jit_child *c)
{
	char path[64];

	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)c->pid);
	unlink(path);
	close(c->go);
	close(c->ack);
}

static void test_jit(void **state)
{
	struct symbolizer *s = new_sym(NULL);
	struct symbolizer_stats st;
	struct sym_result r;
	struct jit_child c;
	uint64_t off = 0;
	uint32_t obj, obj2;
	char line[8];
	int got = 0;

	(void)state;
	jit_start(&c);
	obj = symbolizer_object_for_ip(s, (uint32_t)c.pid, c.code + 0x10, &off);
	assert_true(symbolizer_object_is_jit(obj));
	assert_false(symbolizer_object_is_process(obj));
	assert_int_equal(off, c.code + 0x10); /* JIT frames keep the IP */
	assert_string_equal(symbolizer_object_name(s, obj), "[jit]");
	assert_int_equal(symbolizer_lookup(s, obj, off, &r), 0);
	assert_string_equal(r.name, "jit_one");
	assert_string_equal(r.raw_name, "jit_one");
	assert_string_equal(r.module, "[jit]");
	assert_int_equal(r.offset, 0x10);
	/* the second page: the same process life, the same object; its
	 * code is not in the map yet */
	obj2 = symbolizer_object_for_ip(s, (uint32_t)c.pid, c.code + 4096 + 8, &off);
	assert_int_equal(obj2, obj);
	assert_int_equal(symbolizer_lookup(s, obj, off, &r), 0);
	assert_null(r.name);
	/* the JIT appends: read again, but never more than once a second */
	assert_int_equal(write(c.go, "x", 1), 1);
	assert_true(read(c.ack, line, sizeof(line)) > 0);
	for (int i = 0; i < 30 && !got; i++) {
		assert_int_equal(symbolizer_lookup(s, obj, off, &r), 0);
		got = r.name != NULL;
		if (!got)
			sleep_ms(100);
	}
	assert_true(got);
	assert_string_equal(r.name, "LazyCompile:*jit_two app.js:7");
	assert_int_equal(r.offset, 8);
	symbolizer_get_stats(s, &st);
	assert_int_equal(st.jit_objects, 1);
	assert_int_equal(st.jit_maps_loaded, 1);
	/* one read at first, one when the miss came, one after the append:
	 * lookups in between were answered without reading */
	assert_true(st.jit_map_reads >= 2 && st.jit_map_reads <= 4);
	assert_int_equal(st.jit_map_failures, 0);
	assert_true(st.cache_bytes > 0);

	/* the process exits: its names stay, it is never read again */
	jit_stop(&c);
	symbolizer_forget_pid(s, (uint32_t)c.pid);
	assert_int_equal(symbolizer_lookup(s, obj, c.code + 1, &r), 0);
	assert_string_equal(r.name, "jit_one");
	sleep_ms(1100);
	assert_int_equal(symbolizer_lookup(s, obj, c.code + 8000, &r), 0);
	assert_null(r.name);
	symbolizer_get_stats(s, &st);
	assert_true(st.jit_map_reads <= 4);
	symbolizer_free(s);
}

/* A map the process does not own (/tmp is anyone's: a link or a file
 * planted there by another user) is not read. */
static void test_jit_foreign_map(void **state)
{
	struct symbolizer *s;
	struct symbolizer_stats st;
	struct sym_result r;
	struct jit_child c;
	char path[64];
	uint64_t off = 0;
	uint32_t obj;

	(void)state;
	if (geteuid() != 0)
		skip(); /* chown to another user needs root */
	s = new_sym(NULL);
	jit_start(&c);
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)c.pid);
	assert_int_equal(chown(path, 65534, 65534), 0);
	obj = symbolizer_object_for_ip(s, (uint32_t)c.pid, c.code + 0x10, &off);
	assert_true(symbolizer_object_is_jit(obj));
	assert_int_equal(symbolizer_lookup(s, obj, off, &r), 0);
	assert_null(r.name);
	symbolizer_get_stats(s, &st);
	assert_int_equal(st.jit_map_reads, 1);
	assert_int_equal(st.jit_map_failures, 1);
	assert_int_equal(st.jit_maps_loaded, 0);
	/* owned again: read (after the once-a-second bound) */
	assert_int_equal(chown(path, getuid(), getgid()), 0);
	sleep_ms(1100);
	assert_int_equal(symbolizer_lookup(s, obj, off, &r), 0);
	assert_non_null(r.name);
	assert_string_equal(r.name, "jit_one");
	jit_stop(&c);
	symbolizer_free(s);
}

/* ---- vdso ---- */

/* This process's [vdso] mapping from its maps. */
static void own_vdso(uint64_t *start, uint64_t *end)
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");

	assert_non_null(f);
	*start = *end = 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "[vdso]"))
			sscanf(line, "%" SCNx64 "-%" SCNx64, start, end);
	fclose(f);
	assert_true(*start && *end > *start);
}

/* nm -D's address of a versioned dynamic symbol ("name@@LINUX_2.6"). */
static uint64_t nm_versioned(const char *path, const char *name)
{
	char cmd[4200], line[512], sym[256];
	unsigned long long a;
	uint64_t addr = 0;
	size_t n = strlen(name);
	char type;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "nm -D --defined-only '%s' 2>/dev/null", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p))
		if (sscanf(line, "%llx %c %255s", &a, &type, sym) == 3 && strncmp(sym, name, n) == 0 &&
		    (sym[n] == '@' || sym[n] == '\0'))
			addr = a;
	pclose(p);
	return addr;
}

static void test_vdso(void **state)
{
	struct symbolizer *s = new_sym(NULL);
	struct symbolizer_stats st;
	uint64_t start, end, vaddr, foff, off = 0;
	struct sym_result r;
	const char *fn;
	char img[4096];
	uint32_t obj, obj2;
	FILE *f;

	(void)state;
	own_vdso(&start, &end);
	assert_int_equal(getauxval(AT_SYSINFO_EHDR), start);
	/* an independent reading of the image: nm on a copy of it */
	snprintf(img, sizeof(img), "%s/vdso.so", dir);
	f = fopen(img, "w");
	assert_non_null(f);
	assert_int_equal(fwrite((const void *)(uintptr_t)start, 1, end - start, f), end - start);
	fclose(f);
	/* x86-64 and arm64 spell it differently */
	fn = "__vdso_clock_gettime";
	vaddr = nm_versioned(img, fn);
	if (!vaddr) {
		fn = "__kernel_clock_gettime";
		vaddr = nm_versioned(img, fn);
	}
	assert_true(vaddr != 0);
	foff = symtest_vaddr_to_off(img, vaddr);
	assert_true(foff < end - start);

	obj = symbolizer_object_for_ip(s, (uint32_t)getpid(), start + foff + 4, &off);
	assert_int_not_equal(obj, SYM_OBJ_UNKNOWN);
	assert_false(symbolizer_object_is_jit(obj));
	assert_false(symbolizer_object_is_process(obj));
	assert_int_equal(off, foff + 4);
	assert_string_equal(symbolizer_object_name(s, obj), "[vdso]");
	assert_int_equal(symbolizer_lookup(s, obj, off, &r), 0);
	assert_non_null(r.name);
	/* __vdso_clock_gettime (global) over its weak alias clock_gettime */
	assert_string_equal(r.name, fn);
	assert_int_equal(r.offset, 4);
	assert_string_equal(r.module, "[vdso]");
	/* a build-id object: the same for a child, whose vdso is ours */
	{
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			pause();
			_exit(0);
		}
		obj2 = symbolizer_object_for_ip(s, (uint32_t)pid, start + foff, &off);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		assert_int_equal(obj2, obj);
	}
	/* past the image: refused, not a made-up offset */
	assert_int_equal(symbolizer_object_for_ip(s, (uint32_t)getpid(), end + 0x100000000ull, &off),
			 SYM_OBJ_UNKNOWN);
	symbolizer_get_stats(s, &st);
	assert_int_equal(st.objects_loaded, 1);
	symbolizer_free(s);
}

/* ---- debuginfod ---- */

static uint64_t func_off(const char *name, const char *func)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return symtest_vaddr_to_off(path, symtest_nm(path, func, 0));
}

/* Build-id (hex) of dir/name. */
static void hex_id(const char *name, char *hex)
{
	uint8_t id[ELFSYM_BUILD_ID_MAX];
	char path[4096];
	int fd, n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	n = elfsym_read_build_id_fd(fd, id);
	close(fd);
	assert_int_equal(n, 20);
	for (int i = 0; i < n; i++)
		sprintf(hex + 2 * i, "%02x", id[i]);
}

/* Stripped binaries with a debug file on a server: the local table
 * (.dynsym) first, then the server's debug file merged in; a second
 * daemon finds it in the cache with the server gone; a file the server
 * lacks is asked once, then left alone (back-off). */
static void test_debuginfod(void **state)
{
	char hexa[41], hexb[41], urls[4200], cache[4200], exe[4200];
	struct symbolizer_opts o = { 0 };
	struct symbolizer_stats st;
	struct symbolizer *s;
	struct sym_result r;
	uint8_t id[ELFSYM_BUILD_ID_MAX];
	uint32_t obj;
	int fd;

	(void)state;
	hex_id("prog_a", hexa);
	hex_id("prog_b", hexb);
	/* prog_a's debug file is on the server, prog_b's is not */
	assert_int_equal(symtest_sh("set -e; cd '%s'; mkdir -p srv/buildid/%s;"
				    "objcopy --only-keep-debug prog_a srv/buildid/%s/debuginfo;"
				    "cp prog_a prog_a.s; strip prog_a.s; cp prog_b prog_b.s; strip prog_b.s",
				    dir, hexa, hexa), 0);
	snprintf(urls, sizeof(urls), "file://%s/srv", dir);
	snprintf(cache, sizeof(cache), "%s/state/debuginfod", dir);
	o.debuginfod_urls = urls;
	o.debuginfod_cache = cache;
	s = new_sym(&o);
	snprintf(exe, sizeof(exe), "%s/prog_a.s", dir);
	symbolizer_note_exec(s, (uint32_t)getpid(), exe);
	snprintf(exe, sizeof(exe), "%s/prog_a.s", dir);
	fd = open(exe, O_RDONLY | O_CLOEXEC);
	assert_int_equal(elfsym_read_build_id_fd(fd, id), 20);
	close(fd);
	obj = symbolizer_object_by_build_id(s, id, 20);
	/* beta_local is static: only the debug file names it */
	assert_int_equal(symbolizer_lookup(s, obj, func_off("prog_a", "beta_local") + 1, &r), 0);
	assert_non_null(r.name);
	assert_string_equal(r.name, "beta_local");
	assert_int_equal(r.offset, 1);
	symbolizer_get_stats(s, &st);
	assert_int_equal(st.dbginfod_queries, 1);
	assert_int_equal(st.dbginfod_downloads, 1);
	assert_int_equal(st.dbginfod_cache_hits, 0);
	assert_int_equal(st.dbginfod_failures, 0);
	assert_true(st.dbginfod_bytes > 0);
	assert_int_equal(st.dbginfod_cache_bytes, st.dbginfod_bytes);
	assert_int_equal(st.dbginfod_pending, 0);
	assert_int_equal(st.objects_loaded, 1);

	/* prog_b: the server has nothing; one query, then the back-off */
	snprintf(exe, sizeof(exe), "%s/prog_b.s", dir);
	symbolizer_note_exec(s, (uint32_t)getpid(), exe);
	fd = open(exe, O_RDONLY | O_CLOEXEC);
	assert_int_equal(elfsym_read_build_id_fd(fd, id), 20);
	close(fd);
	obj = symbolizer_object_by_build_id(s, id, 20);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(symbolizer_lookup(s, obj, func_off("prog_b", "beta_local"), &r), 0);
		assert_null(r.name);
		symbolizer_poll(s);
	}
	symbolizer_get_stats(s, &st);
	assert_int_equal(st.dbginfod_queries, 2);
	assert_int_equal(st.dbginfod_failures, 1);
	symbolizer_free(s);

	/* a new daemon, the server gone: from the cache */
	o.debuginfod_urls = "http://127.0.0.1:1";
	s = new_sym(&o);
	snprintf(exe, sizeof(exe), "%s/prog_a.s", dir);
	symbolizer_note_exec(s, (uint32_t)getpid(), exe);
	fd = open(exe, O_RDONLY | O_CLOEXEC);
	assert_int_equal(elfsym_read_build_id_fd(fd, id), 20);
	close(fd);
	obj = symbolizer_object_by_build_id(s, id, 20);
	assert_int_equal(symbolizer_lookup(s, obj, func_off("prog_a", "beta_local"), &r), 0);
	assert_non_null(r.name);
	assert_string_equal(r.name, "beta_local");
	symbolizer_get_stats(s, &st);
	assert_int_equal(st.dbginfod_cache_hits, 1);
	assert_int_equal(st.dbginfod_downloads, 0);
	symbolizer_free(s);

	/* no cache directory: debuginfod off, nothing asked */
	o.debuginfod_cache = NULL;
	s = new_sym(&o);
	snprintf(exe, sizeof(exe), "%s/prog_a.s", dir);
	symbolizer_note_exec(s, (uint32_t)getpid(), exe);
	assert_int_equal(symbolizer_lookup(s, symbolizer_object_by_build_id(s, id, 20),
					   func_off("prog_a", "beta_local"), &r), 0);
	assert_null(r.name);
	symbolizer_get_stats(s, &st);
	assert_int_equal(st.dbginfod_queries, 0);
	symbolizer_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jit),
		cmocka_unit_test(test_jit_foreign_map),
		cmocka_unit_test(test_vdso),
		cmocka_unit_test(test_debuginfod),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
