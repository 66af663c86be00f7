/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for the symbolizer: live child processes, build-id objects,
 * the load worker, cache eviction and bounds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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
	assert_string_equal(r.raw_name, "gamma_func");
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


/* ---- fixture procfs: /proc/PID/{maps,root} under the test dir ---- */

/* dir/procfs/PID with root/ (a directory standing for the process's root). */
static void fake_proc(char *procfs, size_t cap, uint32_t pid)
{
	snprintf(procfs, cap, "%s/procfs", dir);
	assert_int_equal(symtest_sh("mkdir -p '%s/%u/root'", procfs, pid), 0);
}

static uint64_t inode_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (uint64_t)st.st_ino;
}

/* A child blocked in open(fifo, O_WRONLY): it returns only when someone
 * opens the FIFO for reading. */
static pid_t fifo_writer(const char *fifo)
{
	pid_t p = fork();

	assert_true(p >= 0);
	if (p == 0) {
		int fd;

		alarm(60); /* never outlive a failed test for long */
		fd = open(fifo, O_WRONLY | O_CLOEXEC);
		_exit(fd >= 0 ? 0 : 1);
	}
	return p;
}

/* 1 if the writer is still blocked (nobody opened the FIFO to read). */
static int fifo_writer_blocked(pid_t p)
{
	int blocked = waitpid(p, NULL, WNOHANG) == 0;

	kill(p, SIGKILL);
	waitpid(p, NULL, 0);
	return blocked;
}

static struct symbolizer *new_sym_at(const char *procfs, int no_worker, const char *debug_dirs)
{
	struct symbolizer_opts o = {
		.procfs = procfs, .kallsyms = kallsyms, .debug_dirs = debug_dirs, .no_worker = no_worker,
	};
	struct symbolizer *s = NULL;

	assert_int_equal(symbolizer_new(&o, &s), 0);
	return s;
}

static void wait_settled(struct symbolizer *s)
{
	struct symbolizer_stats st;

	for (int i = 0; i < 100; i++) {
		struct pollfd pfd = { .fd = symbolizer_fd(s), .events = POLLIN };

		symbolizer_poll(s);
		symbolizer_get_stats(s, &st);
		if (!st.identify_pending && !st.pending)
			return;
		poll(&pfd, 1, 100);
	}
	fail_msg("symbolizer worker did not finish");
}

static void on_alarm(int sig)
{
	(void)sig;
	/* write(2) is async-signal-safe; the message says what hung. */
	static const char msg[] = "test_symbolizer: the caller's thread blocked on a file\n";
	if (write(2, msg, sizeof(msg) - 1) < 0) {
		/* nothing more to do */
	}
	_exit(3);
}

/* The caller's thread never opens a process's files: with /proc/PID/maps
 * a FIFO that nobody writes, every entry point still returns at once
 * (a watchdog turns a hang into a failure); the worker blocks in its
 * place, and the frame is bound once the maps arrive. */
static void test_no_file_io_on_caller(void **state)
{
	char procfs[4096], maps[4200], lib[4200], src[4096], text[512];
	struct symbolizer_stats st;
	struct sym_result r;
	struct symbolizer *s;
	uint64_t off = 0, goff = func_off("prog_a", "gamma_func"), foff;
	uint32_t obj, fobj;
	int fd;

	(void)state;
	fake_proc(procfs, sizeof(procfs), 4242);
	snprintf(maps, sizeof(maps), "%s/4242/maps", procfs);
	assert_int_equal(mkfifo(maps, 0600), 0);
	assert_int_equal(symtest_sh("mkdir -p '%s/4242/root/lib'", procfs), 0);
	snprintf(lib, sizeof(lib), "%s/4242/root/lib/libgamma.so", procfs);
	path_of(src, sizeof(src), "prog_a");
	assert_int_equal(symtest_sh("cp '%s' '%s'", src, lib), 0);

	signal(SIGALRM, on_alarm);
	alarm(20);
	s = new_sym_at(procfs, 0, "/nonexistent");
	obj = symbolizer_object_for_ip(s, 4242, 0x10000 + goff, &off);
	assert_true(symbolizer_object_is_process(obj));
	symbolizer_note_process(s, 4242);
	symbolizer_note_exec(s, 4242, "/lib/libgamma.so");
	assert_int_equal(symbolizer_lookup(s, obj, off, &r), -EAGAIN);
	symbolizer_poll(s);
	symbolizer_get_stats(s, &st);
	assert_true(st.identify_pending >= 1);
	alarm(0);

	/* Unblock the worker: it has the FIFO open for reading by now or
	 * soon, so this open returns once it does. */
	fd = open(maps, O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	snprintf(text, sizeof(text), "10000-%x r-xp 00000000 fd:01 %" PRIu64 " /lib/libgamma.so\n",
		 0x10000 + 0x100000, inode_of(lib));
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	wait_settled(s);
	assert_int_equal(symbolizer_frame_resolve(s, obj, off, &fobj, &foff), 0);
	assert_int_equal(foff, goff);
	assert_string_equal(symbolizer_object_name(s, fobj), "libgamma.so");
	wait_settled(s);
	assert_int_equal(symbolizer_lookup(s, obj, off, &r), 0);
	assert_string_equal(r.name, "gamma_func");
	assert_string_equal(r.module, "libgamma.so");
	symbolizer_free(s);
	assert_int_equal(unlink(maps), 0);
}

/* A worker stuck on a file does not keep the symbolizer from being
 * freed: the thread is left behind, and finishes when the file answers. */
static void test_free_with_stuck_worker(void **state)
{
	char procfs[4096], maps[4200];
	struct symbolizer *s;
	uint64_t off;
	int fd;

	(void)state;
	fake_proc(procfs, sizeof(procfs), 4343);
	snprintf(maps, sizeof(maps), "%s/4343/maps", procfs);
	assert_int_equal(mkfifo(maps, 0600), 0);
	signal(SIGALRM, on_alarm);
	alarm(20);
	s = new_sym_at(procfs, 0, "/nonexistent");
	assert_true(symbolizer_object_is_process(symbolizer_object_for_ip(s, 4343, 0x1234, &off)));
	/* let the identify thread reach the FIFO */
	usleep(100 * 1000);
	assert_null(symbolizer_free(s));
	alarm(0);
	fd = open(maps, O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	close(fd);
	unlink(maps);
}

/* A container-like root: paths are resolved inside it, an absolute
 * symlink planted there leads to the same path inside it, never to the
 * host's file; FIFOs are never opened. */
static void test_container_root(void **state)
{
	char procfs[4096], root[4200], bait[4096], path[8400], text[1024], fifo[8400];
	uint8_t ida[ELFSYM_BUILD_ID_MAX], idb[ELFSYM_BUILD_ID_MAX];
	struct symbolizer_stats st;
	struct sym_result r;
	struct symbolizer *s;
	uint64_t off, boff = func_off("prog_noid", "beta_local");
	uint32_t obj, a, b;
	pid_t writer;

	(void)state;
	if (!symtest_have("objcopy") || !symtest_have("strip"))
		skip();
	fake_proc(procfs, sizeof(procfs), 4300);
	snprintf(root, sizeof(root), "%s/4300/root", procfs);
	path_of(bait, sizeof(bait), "bait");
	/* Host side: bait/prog is prog_b (another build-id) and a debug
	 * file for libs.so that would name beta_local if it were merged. */
	assert_int_equal(symtest_sh(
		"set -e; cd '%s'; mkdir -p bait; cp prog_b bait/prog;"
		"objcopy --only-keep-debug prog_noid bait/libs.debug", dir), 0);
	/* Container side: /app -> <bait dir> (absolute), and at that path
	 * inside the root, the real program (prog_a). /lib/libs.so is a
	 * stripped prog_a whose debuglink names libs.debug: /lib/libs.debug
	 * -> the host debug file's absolute path, /lib/.debug/libs.debug a
	 * FIFO. /lib/evil.so -> the host's bait/prog. */
	assert_int_equal(symtest_sh(
		"set -e; cd '%s'; mkdir -p '%s/%s' lib/.debug;"
		"ln -s '%s' app; cp '%s/prog_a' '%s/%s/prog';"
		"cp '%s/prog_noid' lib/libs.so; strip lib/libs.so;"
		"objcopy --add-gnu-debuglink='%s/bait/libs.debug' lib/libs.so;"
		"ln -s '%s/libs.debug' lib/libs.debug; mkfifo lib/.debug/libs.debug;"
		"ln -s '%s/prog' lib/evil.so",
		root, root, bait, bait, dir, root, bait, dir, dir, bait, bait), 0);
	assert_int_equal(read_id("prog_a", ida), 20);
	assert_int_equal(read_id("prog_b", idb), 20);
	snprintf(fifo, sizeof(fifo), "%s/lib/.debug/libs.debug", root);
	writer = fifo_writer(fifo);

	s = new_sym_at(procfs, 1, "/nonexistent");
	/* exec through the absolute symlink: the program inside the root */
	symbolizer_note_exec(s, 4300, "/app/prog");
	a = symbolizer_object_by_build_id(s, ida, 20);
	b = symbolizer_object_by_build_id(s, idb, 20);
	assert_string_equal(symbolizer_object_name(s, a), "prog");
	assert_string_equal(symbolizer_object_name(s, b), "[unknown]");
	assert_int_equal(symbolizer_lookup(s, b, 0, &r), -ENOENT);
	assert_int_equal(symbolizer_lookup(s, a, func_off("prog_a", "gamma_func"), &r), 0);
	assert_string_equal(r.name, "gamma_func");

	/* maps: libs.so at 0x10000, evil.so at 0x400000 claiming the
	 * inode of the host's bait/prog (what an escape would open) */
	snprintf(path, sizeof(path), "%s/lib/libs.so", root);
	snprintf(fifo, sizeof(fifo), "%s/prog", bait);
	snprintf(text, sizeof(text),
		 "10000-110000 r-xp 00000000 fd:01 %" PRIu64 " /lib/libs.so\n"
		 "400000-500000 r-xp 00000000 fd:01 %" PRIu64 " /lib/evil.so\n",
		 inode_of(path), inode_of(fifo));
	snprintf(path, sizeof(path), "%s/4300/maps", procfs);
	assert_int_equal(symtest_write(path, text), 0);

	obj = symbolizer_object_for_ip(s, 4300, 0x10000 + boff, &off);
	assert_int_not_equal(obj, SYM_OBJ_UNKNOWN);
	assert_int_equal(off, boff);
	/* stripped, and its debug file is not reachable from inside the root */
	assert_int_equal(symbolizer_lookup(s, obj, off, &r), 0);
	assert_true(!r.name || strcmp(r.name, "beta_local") != 0);
	assert_string_equal(symbolizer_object_name(s, obj), "libs.so");
	/* evil.so resolves inside the root to another inode: refused */
	assert_int_equal(symbolizer_object_for_ip(s, 4300, 0x400000 + 0x100, &off), SYM_OBJ_UNKNOWN);
	symbolizer_get_stats(s, &st);
	assert_int_equal(st.identify_failures, 1);
	assert_int_equal(st.load_failures, 0);
	assert_string_equal(symbolizer_object_name(s, b), "[unknown]");
	symbolizer_free(s);
	snprintf(fifo, sizeof(fifo), "%s/lib/.debug/libs.debug", root);
	assert_true(fifo_writer_blocked(writer));
	unlink(fifo);
}

/* Offsets that cannot lie in their file are refused and counted: the
 * kernel's wrapped offsets for IPs below their mapping, and a mapping
 * offset past the end of the file. */
static void test_bad_offsets(void **state)
{
	char procfs[4096], lib[4200], src[4096], text[512], maps[4200];
	uint8_t id[ELFSYM_BUILD_ID_MAX];
	struct symbolizer_stats st;
	struct symbolizer *s;
	struct stat sb;
	uint64_t off;
	uint32_t a;

	(void)state;
	fake_proc(procfs, sizeof(procfs), 4400);
	assert_int_equal(symtest_sh("mkdir -p '%s/4400/root/bin'", procfs), 0);
	snprintf(lib, sizeof(lib), "%s/4400/root/bin/prog", procfs);
	path_of(src, sizeof(src), "prog_a");
	assert_int_equal(symtest_sh("cp '%s' '%s'", src, lib), 0);
	assert_int_equal(stat(lib, &sb), 0);
	assert_int_equal(read_id("prog_a", id), 20);

	s = new_sym_at(procfs, 1, "/nonexistent");
	/* size not known yet: only the absolute bound applies */
	assert_int_equal(symbolizer_build_id_frame(s, id, 20, 0xffffaa6e33de7200ull), SYM_OBJ_UNKNOWN);
	a = symbolizer_build_id_frame(s, id, 20, 0x1000);
	assert_int_not_equal(a, SYM_OBJ_UNKNOWN);
	assert_int_equal(symbolizer_build_id_frame(s, id, 20, (uint64_t)sb.st_size + 4096), a);
	/* identified: its size is the bound */
	symbolizer_note_exec(s, 4400, "/bin/prog");
	assert_string_equal(symbolizer_object_name(s, a), "prog");
	assert_int_equal(symbolizer_build_id_frame(s, id, 20, (uint64_t)sb.st_size + 4096), SYM_OBJ_UNKNOWN);
	assert_int_equal(symbolizer_build_id_frame(s, id, 20, (uint64_t)sb.st_size - 1), a);
	/* a mapping whose file offset runs past the end of the file */
	snprintf(text, sizeof(text),
		 "10000-20000 r-xp 00000000 fd:01 %" PRIu64 " /bin/prog\n"
		 "20000-30000 r-xp 7ffff0000 fd:01 %" PRIu64 " /bin/prog\n",
		 (uint64_t)sb.st_ino, (uint64_t)sb.st_ino);
	snprintf(maps, sizeof(maps), "%s/4400/maps", procfs);
	assert_int_equal(symtest_write(maps, text), 0);
	assert_int_equal(symbolizer_object_for_ip(s, 4400, 0x10100, &off), a);
	assert_int_equal(off, 0x100);
	assert_int_equal(symbolizer_object_for_ip(s, 4400, 0x20100, &off), SYM_OBJ_UNKNOWN);
	symbolizer_get_stats(s, &st);
	assert_int_equal(st.bad_offsets, 3);
	symbolizer_free(s);
}

/* A process that is gone: everything fails cleanly, nothing is opened on
 * the host in its place. */
static void test_dead_process(void **state)
{
	struct symbolizer_stats st;
	struct symbolizer *s;
	struct sym_result r;
	struct child c;
	char path[4096];
	uint64_t off, foff;
	uint32_t obj, fobj;

	(void)state;
	path_of(path, sizeof(path), "prog_a");
	child_start(&c, path);
	child_stop(&c);
	s = new_sym(1, 0, 0);
	assert_int_equal(symbolizer_object_for_ip(s, (uint32_t)c.pid, c.gamma, &off), SYM_OBJ_UNKNOWN);
	symbolizer_note_exec(s, (uint32_t)c.pid, path);
	symbolizer_note_process(s, (uint32_t)c.pid);
	symbolizer_get_stats(s, &st);
	assert_int_equal(st.objects, 0);
	assert_int_equal(st.identify_failures, 0);
	symbolizer_free(s);

	/* with the worker: a process object that never binds */
	s = new_sym(0, 0, 0);
	obj = symbolizer_object_for_ip(s, (uint32_t)c.pid, c.gamma, &off);
	assert_true(symbolizer_object_is_process(obj));
	wait_settled(s);
	assert_int_equal(symbolizer_frame_resolve(s, obj, off, &fobj, &foff), -ENOENT);
	assert_int_equal(symbolizer_lookup(s, obj, off, &r), -ENOENT);
	symbolizer_get_stats(s, &st);
	assert_int_equal(st.proc_objects, 0);
	/* asked once: a gone process is not asked again */
	assert_int_equal(symbolizer_object_for_ip(s, (uint32_t)c.pid, c.gamma, &off), SYM_OBJ_UNKNOWN);
	symbolizer_get_stats(s, &st);
	assert_int_equal(st.maps_reads, 1);
	symbolizer_free(s);
}


/* The capabilities profd keeps once attached: keep this list equal to
 * the one in drop_privileges() (daemon/main.c; CAP_SYS_ADMIN is kept
 * there only on kernels without CAP_BPF). */
static const int profd_caps[] = {
	CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH, CAP_SYSLOG, CAP_CHECKPOINT_RESTORE,
};

/* Drop to caps[0..n) as drop_privileges() does: bounding set, then
 * effective and permitted, then no_new_privs. 0 or -1. */
static int drop_caps(const int *caps, size_t n)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	for (size_t i = 0; i < n; i++) {
		data[caps[i] / 32].effective |= 1u << (caps[i] % 32);
		data[caps[i] / 32].permitted |= 1u << (caps[i] % 32);
	}
	for (int c = 0; c <= CAP_LAST_CAP; c++)
		if (!((data[c / 32].permitted >> (c % 32)) & 1) && prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1 &&
		    prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
			return -1;
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -1;
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ? -1 : 0;
}

/* In a child dropped to caps[0..n): symbolize gamma_func of c, whose
 * file is deleted (only /proc/PID/map_files reaches it). Exit status:
 * 0 named, 2 not resolved, 1 setup failed. */
static int symbolize_after_drop(const struct child *c, const int *caps, size_t n)
{
	pid_t p = fork();
	int st;

	assert_true(p >= 0);
	if (p == 0) {
		struct symbolizer_opts o = { .kallsyms = kallsyms, .debug_dirs = "/nonexistent", .no_worker = 1 };
		struct symbolizer *s = NULL;
		struct sym_result r;
		uint64_t off;
		uint32_t obj;

		alarm(60);
		if (drop_caps(caps, n) < 0 || symbolizer_new(&o, &s) < 0)
			_exit(1);
		obj = symbolizer_object_for_ip(s, (uint32_t)c->pid, c->gamma, &off);
		if (obj == SYM_OBJ_UNKNOWN || symbolizer_lookup(s, obj, off, &r) < 0 || !r.name ||
		    strcmp(r.name, "gamma_func") != 0)
			_exit(2);
		_exit(0);
	}
	assert_int_equal(waitpid(p, &st, 0), p);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* With the capabilities profd keeps, a deleted file mapped by another
 * user's process is read through /proc/PID/map_files; without
 * CAP_CHECKPOINT_RESTORE the kernel refuses map_files (checked here on
 * the running kernel, so the kept set is known to be enough). */
static void test_map_files_after_drop(void **state)
{
	char tmpl[] = "/tmp/profd-symtest-caps-XXXXXX", path[4096], src[4096];
	size_t n = sizeof(profd_caps) / sizeof(profd_caps[0]);
	struct child c;
	char line[64];
	int fds[2];
	FILE *f;

	(void)state;
	if (geteuid() != 0) {
		print_message("not root: capability drop not tested\n");
		skip();
	}
	assert_non_null(mkdtemp(tmpl));
	assert_int_equal(chmod(tmpl, 0755), 0);
	snprintf(path, sizeof(path), "%s/prog_del", tmpl);
	path_of(src, sizeof(src), "prog_noid");
	assert_int_equal(symtest_sh("cp '%s' '%s' && chmod 755 '%s'", src, path, path), 0);
	/* the target runs as nobody, as most profiled processes are not root */
	assert_int_equal(pipe(fds), 0);
	c.pid = fork();
	assert_true(c.pid >= 0);
	if (c.pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(126);
		execl(path, path, "30", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	c.gamma = strtoull(line, NULL, 16);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(tmpl), 0);

	assert_int_equal(symbolize_after_drop(&c, profd_caps, n), 0);
	/* the last one is CAP_CHECKPOINT_RESTORE */
	assert_int_equal(profd_caps[n - 1], CAP_CHECKPOINT_RESTORE);
	assert_int_equal(symbolize_after_drop(&c, profd_caps, n - 1), 2);
	child_stop(&c);
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
	/* read at the first kernel lookup, not at start */
	symbolizer_get_stats(s, &st);
	assert_int_equal(st.kernel_symbols, 0);
	assert_int_equal(symbolizer_lookup(s, SYM_OBJ_KERNEL, 0xffffffff81000105ull, &r), 0);
	symbolizer_get_stats(s, &st);
	assert_int_equal(st.kernel_symbols, 9);
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
		cmocka_unit_test(test_no_file_io_on_caller),
		cmocka_unit_test(test_free_with_stuck_worker),
		cmocka_unit_test(test_container_root),
		cmocka_unit_test(test_bad_offsets),
		cmocka_unit_test(test_dead_process),
		cmocka_unit_test(test_map_files_after_drop),
		cmocka_unit_test(test_eviction),
		cmocka_unit_test(test_unknown_and_bounds),
		cmocka_unit_test(test_kernel),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
