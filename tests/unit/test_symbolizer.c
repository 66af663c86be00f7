/* Unit tests for the symbolizer: live child processes, build-id objects,
 * the load worker, cache eviction and bounds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "symbols/elfsym.h"
#include "symbols/symbolizer.h"
#include "symtest_util.h"

static char *dir;
static char kallsyms[4096];

static void path_of(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "%s/%s", dir, name);
}

static int setup(void **state)
{
	const char *f = getenv("PROFD_FIXTURES");

	(void)state;
	snprintf(kallsyms, sizeof(kallsyms), "%s/kallsyms.txt", f ? f : "tests/fixtures");
	dir = symtest_tmpdir();
	if (!dir)
		return -1;
	if (symtest_build(dir, "prog_a", symtest_prog_src, "-fPIE -pie -Wl,--build-id") ||
	    symtest_build(dir, "prog_b", symtest_prog_src, "-fno-PIE -no-pie -Wl,--build-id") ||
	    symtest_build(dir, "prog_noid", symtest_prog_src, "-fPIE -pie -Wl,--build-id=none")) {
		fprintf(stderr, "cannot compile test programs with %s\n", symtest_cc());
		symtest_rmdir(dir);
		dir = NULL;
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	symtest_rmdir(dir);
	return 0;
}

struct child {
	pid_t pid;
	uint64_t gamma; /* run-time address of gamma_func */
};

/* Start dir/name, which prints gamma_func's address and sleeps. */
static void child_start(struct child *c, const char *path)
{
	char line[64];
	int fds[2];
	FILE *f;

	assert_int_equal(pipe(fds), 0);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execl(path, path, "30", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	c->gamma = strtoull(line, NULL, 16);
	assert_true(c->gamma != 0);
}

static void child_stop(struct child *c)
{
	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
}

static struct symbolizer *new_sym(int no_worker, size_t cache_bytes, size_t max_objects)
{
	struct symbolizer_opts o = {
		.kallsyms = kallsyms, .debug_dirs = "/nonexistent",
		.cache_bytes = cache_bytes, .max_objects = max_objects, .no_worker = no_worker,
	};
	struct symbolizer *s = NULL;
	assert_int_equal(symbolizer_new(&o, &s), 0);

	assert_non_null(s);
	return s;
}

/* File offset of a function in dir/name per nm. */
static uint64_t func_off(const char *name, const char *func)
{
	char path[4096];

	path_of(path, sizeof(path), name);
	return symtest_vaddr_to_off(path, symtest_nm(path, func, 0));
}

static void test_live_no_worker(void **state)
{
	struct symbolizer *s = new_sym(1, 0, 0);
	struct symbolizer_stats st;
	struct sym_result r;
	struct child c;
	char path[4096];
	uint64_t off = 0;
	uint32_t obj;

	(void)state;
	path_of(path, sizeof(path), "prog_a");
	child_start(&c, path);
	obj = symbolizer_object_for_ip(s, (uint32_t)c.pid, c.gamma + 3, &off);
	assert_int_not_equal(obj, SYM_OBJ_UNKNOWN);
	assert_int_not_equal(obj, SYM_OBJ_KERNEL);
	assert_int_equal(off, func_off("prog_a", "gamma_func") + 3);
	assert_int_equal(symbolizer_lookup(s, obj, off, &r), 0);
	assert_string_equal(r.name, "gamma_func");
	assert_int_equal(r.offset, 3);
	assert_string_equal(r.module, "prog_a");
	assert_string_equal(symbolizer_object_name(s, obj), "prog_a");
	/* the same file again: same object, no new maps read */
	assert_int_equal(symbolizer_object_for_ip(s, (uint32_t)c.pid, c.gamma, &off), obj);
	/* an address in no mapping */
	assert_int_equal(symbolizer_object_for_ip(s, (uint32_t)c.pid, 0x10, &off), SYM_OBJ_UNKNOWN);
	symbolizer_get_stats(s, &st);
	assert_true(st.maps_reads >= 1);
	assert_int_equal(st.objects_loaded, 1);
	assert_true(st.cache_bytes > 0);
	assert_int_equal(symbolizer_fd(s), -1);
	child_stop(&c);

	/* after exit the object still symbolizes (table cached, and the
	 * plain path is known since the child shared our root) */
	symbolizer_forget_pid(s, (uint32_t)c.pid);
	assert_int_equal(symbolizer_lookup(s, obj, off + 1, &r), 0);
	assert_string_equal(r.name, "gamma_func");
	assert_null(symbolizer_free(s));
}

static void test_live_worker(void **state)
{
	struct symbolizer *s = new_sym(0, 0, 0);
	struct symbolizer_stats st;
	struct sym_result r;
	struct child c;
	char path[4096];
	uint64_t off = 0, off2 = 0, foff = 0;
	uint32_t obj, fobj = 0;
	int ret, rounds = 0;

	(void)state;
	assert_true(symbolizer_fd(s) >= 0);
	path_of(path, sizeof(path), "prog_b");
	child_start(&c, path);
	/* No maps read yet: the caller's thread reads nothing, the frame
	 * gets a process object and its raw IP, bound when the read is in. */
	obj = symbolizer_object_for_ip(s, (uint32_t)c.pid, c.gamma, &off);
	assert_true(symbolizer_object_is_process(obj));
	assert_int_equal(off, c.gamma);
	assert_int_equal(symbolizer_lookup(s, obj, off, &r), -EAGAIN);
	assert_int_equal(symbolizer_frame_resolve(s, obj, off, &fobj, &foff), -EAGAIN);
	symbolizer_get_stats(s, &st);
	assert_int_equal(st.identify_pending, 1);
	assert_int_equal(st.proc_pending, 1);
	assert_int_equal(st.proc_frames, 1);
	/* the same IP again: the same frame */
	assert_int_equal(symbolizer_object_for_ip(s, (uint32_t)c.pid, c.gamma, &off2), obj);
	assert_int_equal(off2, off);
	while ((ret = symbolizer_lookup(s, obj, off, &r)) == -EAGAIN && rounds++ < 50) {
		struct pollfd pfd = { .fd = symbolizer_fd(s), .events = POLLIN };

		poll(&pfd, 1, 100);
		symbolizer_poll(s);
	}
	assert_int_equal(ret, 0);
	assert_string_equal(r.name, "gamma_func");
	assert_string_equal(r.module, "prog_b");
	assert_int_equal(r.offset, 0);
	/* bound: the file object and the file offset */
	assert_int_equal(symbolizer_frame_resolve(s, obj, off, &fobj, &foff), 0);
	assert_false(symbolizer_object_is_process(fobj));
	assert_int_equal(foff, func_off("prog_b", "gamma_func"));
	assert_string_equal(symbolizer_object_name(s, fobj), "prog_b");
	assert_string_equal(symbolizer_object_name(s, obj), "[unknown]");
	/* later frames of the process use the file object directly */
	assert_int_equal(symbolizer_object_for_ip(s, (uint32_t)c.pid, c.gamma + 1, &off2), fobj);
	assert_int_equal(off2, foff + 1);
	symbolizer_get_stats(s, &st);
	assert_int_equal(st.pending, 0);
	assert_int_equal(st.identify_pending, 0);
	assert_int_equal(st.proc_pending, 0);
	assert_int_equal(st.objects_loaded, 1);
	child_stop(&c);
	symbolizer_free(s);

	/* freeing with a load still queued must not leak or hang */
	s = new_sym(0, 0, 0);
	child_start(&c, path);
	obj = symbolizer_object_for_ip(s, (uint32_t)c.pid, c.gamma, &off);
	assert_int_equal(symbolizer_lookup(s, obj, off, &r), -EAGAIN);
	child_stop(&c);
	symbolizer_free(s);
}

static int read_id(const char *name, uint8_t id[ELFSYM_BUILD_ID_MAX])
{
	char path[4096];
	int fd, n;

	path_of(path, sizeof(path), name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	n = elfsym_read_build_id_fd(fd, id);
	close(fd);
	return n;
}

static void test_note_exec(void **state)
{
	struct symbolizer *s = new_sym(1, 0, 0);
	struct symbolizer_stats st;
	uint8_t id[ELFSYM_BUILD_ID_MAX];
	struct sym_result r;
	char path[4096];
	uint32_t obj;
	int n;

	(void)state;
	n = read_id("prog_a", id);
	assert_int_equal(n, 20);
	obj = symbolizer_object_by_build_id(s, id, (size_t)n);
	assert_int_not_equal(obj, SYM_OBJ_UNKNOWN);
	assert_int_equal(symbolizer_object_by_build_id(s, id, (size_t)n), obj);
	assert_string_equal(symbolizer_object_name(s, obj), "[unknown]");
	/* no file known yet */
	assert_int_equal(symbolizer_lookup(s, obj, func_off("prog_a", "alpha_func"), &r), -ENOENT);

	/* an exec by a pid that is gone: its path meant something only
	 * inside its root, which is gone too: nothing is opened */
	path_of(path, sizeof(path), "prog_a");
	symbolizer_note_exec(s, 0x7ffffff0u, path);
	assert_string_equal(symbolizer_object_name(s, obj), "[unknown]");
	assert_int_equal(symbolizer_lookup(s, obj, func_off("prog_a", "alpha_func"), &r), -ENOENT);
	/* a live process sharing our root: the plain path is kept as well */
	symbolizer_note_exec(s, (uint32_t)getpid(), path);
	assert_string_equal(symbolizer_object_name(s, obj), "prog_a");
	assert_int_equal(symbolizer_lookup(s, obj, func_off("prog_a", "alpha_func"), &r), 0);
	assert_string_equal(r.name, "alpha_func");
	assert_string_equal(r.module, "prog_a");
	assert_int_equal(symbolizer_lookup(s, obj, func_off("prog_a", "beta_local") + 2, &r), 0);
	assert_string_equal(r.name, "beta_local");
	assert_int_equal(r.offset, 2);
	/* an offset outside every function: name NULL, still 0 */
	assert_int_equal(symbolizer_lookup(s, obj, 0, &r), 0);
	assert_null(r.name);

	/* a live process (ourselves) through /proc/PID/root; new object */
	path_of(path, sizeof(path), "prog_b");
	symbolizer_note_exec(s, (uint32_t)getpid(), path);
	n = read_id("prog_b", id);
	obj = symbolizer_object_by_build_id(s, id, (size_t)n);
	assert_int_equal(symbolizer_lookup(s, obj, func_off("prog_b", "gamma_func"), &r), 0);
	assert_string_equal(r.name, "gamma_func");

	/* bad build-ids */
	assert_int_equal(symbolizer_object_by_build_id(s, id, 0), SYM_OBJ_UNKNOWN);
	assert_int_equal(symbolizer_object_by_build_id(s, id, 21), SYM_OBJ_UNKNOWN);
	assert_int_equal(symbolizer_object_by_build_id(s, NULL, 20), SYM_OBJ_UNKNOWN);
	/* relative and missing paths are ignored */
	symbolizer_note_exec(s, 1, "relative/path");
	symbolizer_note_exec(s, (uint32_t)getpid(), "/nonexistent/bin");
	symbolizer_get_stats(s, &st);
	assert_int_equal(st.objects, 2);
	assert_int_equal(st.identify_failures, 1);
	symbolizer_free(s);
}

/* note_process indexes a live process's files by build-id, so build-id
 * frames find their file after the process is gone. */
static void test_note_process(void **state)
{
	struct symbolizer *s = new_sym(1, 0, 0);
	uint8_t id[ELFSYM_BUILD_ID_MAX];
	struct sym_result r;
	struct child c;
	char path[4096];
	uint32_t obj;
	int n;

	(void)state;
	path_of(path, sizeof(path), "prog_a");
	child_start(&c, path);
	symbolizer_note_process(s, (uint32_t)c.pid);
	child_stop(&c);
	symbolizer_forget_pid(s, (uint32_t)c.pid);
	n = read_id("prog_a", id);
	obj = symbolizer_object_by_build_id(s, id, (size_t)n);
	assert_string_equal(symbolizer_object_name(s, obj), "prog_a");
	assert_int_equal(symbolizer_lookup(s, obj, func_off("prog_a", "gamma_func"), &r), 0);
	assert_string_equal(r.name, "gamma_func");
	symbolizer_free(s);
}

/* A file deleted while mapped is still read through map_files. */
static void test_deleted(void **state)
{
	struct symbolizer *s = new_sym(1, 0, 0);
	struct sym_result r;
	struct child c;
	char path[4096], src[4096];
	uint64_t off;
	uint32_t obj;

	(void)state;
	path_of(src, sizeof(src), "prog_noid");
	path_of(path, sizeof(path), "prog_gone");
	assert_int_equal(symtest_sh("cp '%s' '%s'", src, path), 0);
	child_start(&c, path);
	unlink(path);
	obj = symbolizer_object_for_ip(s, (uint32_t)c.pid, c.gamma, &off);
	assert_int_not_equal(obj, SYM_OBJ_UNKNOWN);
	assert_int_equal(symbolizer_lookup(s, obj, off, &r), 0);
	assert_string_equal(r.name, "gamma_func");
	assert_string_equal(r.module, "prog_gone");
	child_stop(&c);
	symbolizer_free(s);
}

static void test_eviction(void **state)
{
	struct symbolizer *s = new_sym(1, 0, 0);
	struct symbolizer_stats st;
	struct sym_result r;
	uint8_t ida[ELFSYM_BUILD_ID_MAX], idb[ELFSYM_BUILD_ID_MAX];
	char pa[4096], pb[4096];
	uint32_t a, b;
	size_t one;

	(void)state;
	path_of(pa, sizeof(pa), "prog_a");
	path_of(pb, sizeof(pb), "prog_b");
	/* measure one table */
	symbolizer_note_exec(s, (uint32_t)getpid(), pa);
	a = symbolizer_object_by_build_id(s, ida, (size_t)read_id("prog_a", ida));
	assert_int_equal(symbolizer_lookup(s, a, func_off("prog_a", "alpha_func"), &r), 0);
	symbolizer_get_stats(s, &st);
	one = st.cache_bytes;
	symbolizer_free(s);

	/* room for about one table: the least recently used goes */
	s = new_sym(1, one + one / 2, 0);
	symbolizer_note_exec(s, (uint32_t)getpid(), pa);
	symbolizer_note_exec(s, (uint32_t)getpid(), pb);
	a = symbolizer_object_by_build_id(s, ida, (size_t)read_id("prog_a", ida));
	b = symbolizer_object_by_build_id(s, idb, (size_t)read_id("prog_b", idb));
	assert_int_not_equal(a, b);
	assert_int_equal(symbolizer_lookup(s, a, func_off("prog_a", "alpha_func"), &r), 0);
	assert_int_equal(symbolizer_lookup(s, b, func_off("prog_b", "alpha_func"), &r), 0);
	symbolizer_get_stats(s, &st);
	assert_int_equal(st.objects_loaded, 2);
	symbolizer_poll(s);
	symbolizer_get_stats(s, &st);
	assert_int_equal(st.objects_loaded, 1);
	assert_int_equal(st.evictions, 1);
	assert_true(st.cache_bytes <= one + one / 2);
	/* b stayed; a reloads on demand */
	assert_int_equal(symbolizer_lookup(s, b, func_off("prog_b", "gamma_func"), &r), 0);
	assert_string_equal(r.name, "gamma_func");
	assert_int_equal(symbolizer_lookup(s, a, func_off("prog_a", "gamma_func"), &r), 0);
	assert_string_equal(r.name, "gamma_func");
	symbolizer_free(s);

	/* a tiny bound evicts everything not just installed */
	s = new_sym(1, 1, 0);
	symbolizer_note_exec(s, (uint32_t)getpid(), pa);
	assert_int_equal(symbolizer_lookup(s, a, func_off("prog_a", "alpha_func"), &r), 0);
	symbolizer_poll(s);
	symbolizer_get_stats(s, &st);
	assert_int_equal(st.objects_loaded, 0);
	assert_int_equal(st.cache_bytes, 0);
	assert_int_equal(st.evictions, 1);
	symbolizer_free(s);
}

static void test_unknown_and_bounds(void **state)
{
	struct symbolizer *s = new_sym(1, 0, 2);
	struct symbolizer_stats st;
	struct sym_result r;
	uint8_t id[20] = {1};
	uint64_t off = 0;

	(void)state;
	assert_int_equal(symbolizer_object_for_ip(s, 0x7ffffff0u, 0x400000, &off), SYM_OBJ_UNKNOWN);
	assert_int_equal(symbolizer_lookup(s, SYM_OBJ_UNKNOWN, 0x400000, &r), -ENOENT);
	assert_int_equal(symbolizer_lookup(s, 12345, 0, &r), -ENOENT);
	assert_string_equal(symbolizer_object_name(s, 12345), "[unknown]");
	assert_string_equal(symbolizer_object_name(s, SYM_OBJ_UNKNOWN), "[unknown]");

	/* max_objects = 2 */
	assert_int_not_equal(symbolizer_object_by_build_id(s, id, 20), SYM_OBJ_UNKNOWN);
	id[0] = 2;
	assert_int_not_equal(symbolizer_object_by_build_id(s, id, 20), SYM_OBJ_UNKNOWN);
	id[0] = 3;
	assert_int_equal(symbolizer_object_by_build_id(s, id, 20), SYM_OBJ_UNKNOWN);
	symbolizer_get_stats(s, &st);
	assert_int_equal(st.objects, 2);
	assert_int_equal(st.objects_full, 1);
	symbolizer_free(s);

	/* a file that is not ELF: one failure, then not retried */
	s = new_sym(1, 0, 0);
	char path[4096];
	path_of(path, sizeof(path), "not_elf");
	assert_int_equal(symtest_write(path, "hello, not an ELF file\n"), 0);
	symbolizer_note_exec(s, (uint32_t)getpid(), path);
	symbolizer_get_stats(s, &st);
	assert_int_equal(st.objects, 1);
	assert_int_equal(symbolizer_lookup(s, 1, 0, &r), -ENOENT);
	assert_int_equal(symbolizer_lookup(s, 1, 0, &r), -ENOENT);
	symbolizer_get_stats(s, &st);
	assert_int_equal(st.load_failures, 1);
	symbolizer_free(s);
	assert_null(symbolizer_free(NULL));
}

static void test_kernel(void **state)
{
	struct symbolizer *s = new_sym(1, 0, 0);
	struct symbolizer_stats st;
	struct sym_result r;
	char path[4096];

	(void)state;
	symbolizer_get_stats(s, &st);
	assert_int_equal(st.kernel_symbols, 9);
	assert_int_equal(symbolizer_lookup(s, SYM_OBJ_KERNEL, 0xffffffff81000105ull, &r), 0);
	assert_string_equal(r.name, "do_one_initcall");
	assert_string_equal(r.module, "vmlinux");
	assert_int_equal(r.offset, 5);
	assert_int_equal(symbolizer_lookup(s, SYM_OBJ_KERNEL, 0xffffffffc0400010ull, &r), 0);
	assert_string_equal(r.name, "ext4_fill_super");
	assert_string_equal(r.module, "[ext4]");
	assert_int_equal(symbolizer_lookup(s, SYM_OBJ_KERNEL, 0x1000, &r), 0);
	assert_null(r.name);
	assert_int_equal(symbolizer_reload_kernel(s), 0);
	symbolizer_free(s);

	/* kptr_restrict: no symbols */
	const char *f = getenv("PROFD_FIXTURES");
	snprintf(path, sizeof(path), "%s/kallsyms_restricted.txt", f ? f : "tests/fixtures");
	struct symbolizer_opts o = { .kallsyms = path, .no_worker = 1 };
	assert_int_equal(symbolizer_new(&o, &s), 0);
	assert_int_equal(symbolizer_lookup(s, SYM_OBJ_KERNEL, 0xffffffff81000105ull, &r), -ENOENT);
	assert_int_equal(symbolizer_reload_kernel(s), -EPERM);
	symbolizer_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_live_no_worker),
		cmocka_unit_test(test_live_worker),
		cmocka_unit_test(test_note_exec),
		cmocka_unit_test(test_note_process),
		cmocka_unit_test(test_deleted),
		cmocka_unit_test(test_eviction),
		cmocka_unit_test(test_unknown_and_bounds),
		cmocka_unit_test(test_kernel),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
