/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for the per-process /proc counters: parsers on fixtures under
 * $PROFD_FIXTURES/procstat, the reader on a fixture procfs tree, and a live
 * read of /proc/self. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "collect/procstat.h"

#define KIB 1024ull
#define MIB (1024ull * 1024ull)

static const char *fixtures(void)
{
	const char *f = getenv("PROFD_FIXTURES");

	return f ? f : "tests/fixtures";
}

/* Whole fixture file into a heap buffer of exactly its size, so ASan
 * catches any read past the end. */
static char *load(const char *name, size_t *ret_n)
{
	char path[4096], *buf;
	FILE *f;
	long sz;

	snprintf(path, sizeof(path), "%s/procstat/%s", fixtures(), name);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	sz = ftell(f);
	assert_true(sz >= 0);
	rewind(f);
	buf = malloc(sz > 0 ? (size_t)sz : 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)sz, f), (size_t)sz);
	fclose(f);
	*ret_n = (size_t)sz;
	return buf;
}

static void parse_file(const char *name, int (*fn)(const char *, size_t, struct procstat *), struct procstat *ps)
{
	size_t n;
	char *buf = load(name, &n);

	memset(ps, 0, sizeof(*ps));
	assert_true(fn(buf, n, ps) >= 0);
	free(buf);
}

static void test_stat_basic(void **state)
{
	struct procstat ps = { 0 };
	size_t n;
	char *buf = load("stat_basic", &n);

	(void)state;
	assert_int_equal(procstat_parse_stat(buf, n, 100, &ps), 0);
	assert_int_equal(ps.errors, 0);
	assert_int_equal(ps.pid, 4242);
	assert_string_equal(ps.comm, "my (weird) prog");
	assert_int_equal(ps.state, 'S');
	assert_int_equal(ps.ppid, 1);
	assert_int_equal(ps.minflt, 1500);
	assert_int_equal(ps.majflt, 3);
	assert_int_equal(ps.utime_ns, 2500000000ull);
	assert_int_equal(ps.stime_ns, 750000000ull);
	assert_int_equal(ps.num_threads, 4);
	assert_int_equal(ps.starttime_ticks, 221190);
	assert_int_equal(ps.valid, PROCSTAT_PID | PROCSTAT_STATE | PROCSTAT_PPID |
			 PROCSTAT_MINFLT | PROCSTAT_MAJFLT | PROCSTAT_UTIME |
			 PROCSTAT_STIME | PROCSTAT_THREADS | PROCSTAT_STARTTIME);

	/* Another USER_HZ: 250 ticks at 250 Hz is one second; 0 means 100. */
	memset(&ps, 0, sizeof(ps));
	assert_int_equal(procstat_parse_stat(buf, n, 250, &ps), 0);
	assert_int_equal(ps.utime_ns, 1000000000ull);
	assert_int_equal(ps.stime_ns, 300000000ull);
	memset(&ps, 0, sizeof(ps));
	assert_int_equal(procstat_parse_stat(buf, n, 0, &ps), 0);
	assert_int_equal(ps.utime_ns, 2500000000ull);
	free(buf);
}

static int parse_stat100(const char *buf, size_t n, struct procstat *ps)
{
	return procstat_parse_stat(buf, n, 100, ps);
}

static void test_stat_comm_with_parens(void **state)
{
	struct procstat ps;

	(void)state;
	/* The last ')' ends comm, whatever comm holds. */
	parse_file("stat_paren", parse_stat100, &ps);
	assert_string_equal(ps.comm, "a) S 9 9 (b)) ");
	assert_int_equal(ps.state, 'R');
	assert_int_equal(ps.ppid, 5);
	assert_int_equal(ps.minflt, 11);
	assert_int_equal(ps.majflt, 22);
	assert_int_equal(ps.utime_ns, 330000000ull);
	assert_int_equal(ps.stime_ns, 440000000ull);
	assert_int_equal(ps.num_threads, 2);
	assert_int_equal(ps.starttime_ticks, 555);
	assert_int_equal(ps.errors, 0);

	/* comm longer than TASK_COMM_LEN (long kthread names) is cut. */
	{
		static const char s[] = "3 (a_very_long_kworker_name_here) I 2 0 0 0 -1 0 0 0 0 0 0 0\n";

		memset(&ps, 0, sizeof(ps));
		assert_int_equal(procstat_parse_stat(s, sizeof(s) - 1, 100, &ps), 0);
		assert_string_equal(ps.comm, "a_very_long_kwo");
		assert_int_equal(ps.state, 'I');
		assert_true(ps.valid & PROCSTAT_UTIME);
		assert_false(ps.valid & PROCSTAT_THREADS);
	}
}

static void test_stat_truncated(void **state)
{
	struct procstat ps;

	(void)state;
	parse_file("stat_truncated", parse_stat100, &ps);
	assert_int_equal(ps.pid, 4242);
	assert_true(ps.valid & PROCSTAT_UTIME);
	assert_int_equal(ps.utime_ns, 2500000000ull);
	/* The cut token "7" (was 75) is not trusted; nothing after it exists. */
	assert_false(ps.valid & PROCSTAT_STIME);
	assert_false(ps.valid & PROCSTAT_THREADS);
	assert_false(ps.valid & PROCSTAT_STARTTIME);
	assert_int_equal(ps.errors, 1);
}

static void test_stat_overflow(void **state)
{
	struct procstat ps;

	(void)state;
	parse_file("stat_overflow", parse_stat100, &ps);
	assert_false(ps.valid & PROCSTAT_MINFLT); /* 2^64 */
	assert_true(ps.valid & PROCSTAT_MAJFLT);
	assert_int_equal(ps.majflt, 12);
	assert_false(ps.valid & PROCSTAT_UTIME);  /* fits in ticks, not in ns */
	assert_true(ps.valid & PROCSTAT_STIME);
	assert_int_equal(ps.stime_ns, 50000000ull);
	assert_int_equal(ps.errors, 2);
}

static void test_stat_bad(void **state)
{
	struct procstat ps;
	size_t n;
	char *buf;
	static const char *const bad[] = {
		"", "(x) S 1", "12 x) S 1\n", "12 (x S 1\n", "12(x) S 1\n",
		"-1 (x) S 1\n", "99999999999 (x) S 1\n", ")(", "1 )x( S\n",
	};
	size_t i;

	(void)state;
	buf = load("stat_garbage", &n);
	memset(&ps, 0x5a, sizeof(ps));
	assert_int_equal(procstat_parse_stat(buf, n, 100, &ps), -EINVAL);
	assert_int_equal((unsigned char)ps.comm[0], 0x5a); /* untouched */
	free(buf);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&ps, 0, sizeof(ps));
		assert_int_equal(procstat_parse_stat(bad[i], strlen(bad[i]), 100, &ps), -EINVAL);
		assert_int_equal(ps.valid, 0);
	}
	assert_int_equal(procstat_parse_stat(NULL, 0, 100, &ps), -EINVAL);

	/* Only "pid (comm)": valid header, nothing else. */
	memset(&ps, 0, sizeof(ps));
	assert_int_equal(procstat_parse_stat("1 (init)\n", 9, 100, &ps), 0);
	assert_int_equal(ps.valid, PROCSTAT_PID);

	parse_file("stat_badfields", parse_stat100, &ps);
	assert_int_equal(ps.valid, PROCSTAT_PID | PROCSTAT_UTIME | PROCSTAT_STIME);
	assert_int_equal(ps.utime_ns, 70000000ull);
	assert_int_equal(ps.errors, 6);
}

static void test_stat_kthread(void **state)
{
	struct procstat ps;

	(void)state;
	parse_file("stat_kthread", parse_stat100, &ps);
	assert_int_equal(ps.pid, 2);
	assert_string_equal(ps.comm, "kthreadd");
	assert_int_equal(ps.ppid, 0);
	assert_int_equal(ps.errors, 0);
	assert_true(ps.valid & PROCSTAT_STARTTIME);
}

static void test_status(void **state)
{
	struct procstat ps;
	size_t n;
	char *buf;

	(void)state;
	buf = load("status_basic", &n);
	memset(&ps, 0, sizeof(ps));
	assert_int_equal(procstat_parse_status(buf, n, &ps), 9);
	free(buf);
	assert_true(ps.valid & PROCSTAT_UID);
	assert_int_equal(ps.uid, 0);
	assert_int_equal(ps.rss_bytes, 10240 * KIB);
	assert_int_equal(ps.rss_anon_bytes, 8192 * KIB);
	assert_int_equal(ps.rss_file_bytes, 2000 * KIB);
	assert_int_equal(ps.rss_shmem_bytes, 48 * KIB);
	assert_int_equal(ps.swap_bytes, 512 * KIB);
	assert_int_equal(ps.num_threads, 4);
	assert_int_equal(ps.vol_ctxsw, 1234);
	assert_int_equal(ps.nonvol_ctxsw, 56);
	assert_int_equal(ps.errors, 0);

	/* A kernel thread has no mm: no Vm or Rss lines. */
	parse_file("status_kthread", procstat_parse_status, &ps);
	assert_int_equal(ps.valid, PROCSTAT_THREADS | PROCSTAT_VCTXSW | PROCSTAT_NVCTXSW | PROCSTAT_UID);

	/* Cut inside VmSwap's value: that line and all after it are lost. */
	parse_file("status_truncated", procstat_parse_status, &ps);
	assert_int_equal(ps.valid, PROCSTAT_RSS | PROCSTAT_RSS_ANON |
			 PROCSTAT_RSS_FILE | PROCSTAT_RSS_SHMEM | PROCSTAT_UID);
	assert_int_equal(ps.errors, 1);

	parse_file("status_garbage", procstat_parse_status, &ps);
	assert_false(ps.valid & PROCSTAT_RSS);      /* "10x240 kB" */
	assert_false(ps.valid & PROCSTAT_RSS_ANON); /* "MB" */
	assert_false(ps.valid & PROCSTAT_RSS_FILE); /* kB -> bytes overflows */
	assert_false(ps.valid & PROCSTAT_VCTXSW);   /* > 2^64 */
	assert_true(ps.valid & PROCSTAT_RSS_SHMEM);
	assert_true(ps.valid & PROCSTAT_NVCTXSW);
	assert_int_equal(ps.errors, 4);

	assert_int_equal(procstat_parse_status(NULL, 0, &ps), -EINVAL);
	memset(&ps, 0, sizeof(ps));
	assert_int_equal(procstat_parse_status("", 0, &ps), 0);
	assert_int_equal(procstat_parse_status("VmRSS:\n:\n\n::::", 15, &ps), 0);
	assert_int_equal(ps.valid, 0);

	/* Uid: the real one (first of four); malformed or cut: counted */
	memset(&ps, 0, sizeof(ps));
	assert_int_equal(procstat_parse_status("Uid:\t33\t34\t33\t33\n", 17, &ps), 1);
	assert_int_equal(ps.uid, 33);
	memset(&ps, 0, sizeof(ps));
	assert_int_equal(procstat_parse_status("Uid:\tnot-a-number\n", 18, &ps), 0);
	assert_false(ps.valid & PROCSTAT_UID);
	assert_int_equal(ps.errors, 1);
	memset(&ps, 0, sizeof(ps));
	assert_int_equal(procstat_parse_status("Uid:\t4294967296\t0\n", 18, &ps), 0);
	assert_int_equal(ps.errors, 1);
	memset(&ps, 0, sizeof(ps));
	assert_int_equal(procstat_parse_status("Uid:\t12", 7, &ps), 0); /* no newline: may be cut */
	assert_int_equal(ps.errors, 0);
}

static void test_io(void **state)
{
	struct procstat ps;

	(void)state;
	parse_file("io_basic", procstat_parse_io, &ps);
	assert_int_equal(ps.rchar, 123456789);
	assert_int_equal(ps.wchar, 987654);
	assert_int_equal(ps.read_bytes, 4096000);
	assert_int_equal(ps.write_bytes, 8192);
	assert_int_equal(ps.cancelled_write_bytes, 4096);
	assert_int_equal(ps.valid, PROCSTAT_RCHAR | PROCSTAT_WCHAR | PROCSTAT_READ_BYTES |
			 PROCSTAT_WRITE_BYTES | PROCSTAT_CWRITE_BYTES);
	assert_int_equal(ps.errors, 0);

	parse_file("io_garbage", procstat_parse_io, &ps);
	assert_int_equal(ps.valid, PROCSTAT_WRITE_BYTES);
	assert_int_equal(ps.write_bytes, 8192);
	assert_int_equal(ps.errors, 3); /* -1, "12 34", cut last line */
}

static void test_cgroup_files(void **state)
{
	static const struct {
		const char *file, *path, *unit, *container;
	} cases[] = {
		{ "cgroup_v2_service", "/system.slice/nginx.service", "nginx.service", NULL },
		{ "cgroup_v2_session", "/user.slice/user-1000.slice/session-2.scope", "session-2.scope", NULL },
		{ "cgroup_v2_user_service", "/user.slice/user-1000.slice/user@1000.service/app.slice/app-gnome-firefox-1234.scope",
		  "app-gnome-firefox-1234.scope", NULL },
		{ "cgroup_v2_docker", "/system.slice/docker-4f1e0b8a9c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f.scope",
		  "docker-4f1e0b8a9c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f.scope", "4f1e0b8a9c2d" },
		{ "cgroup_v2_k8s", NULL,
		  "cri-containerd-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope", "0123456789ab" },
		{ "cgroup_v2_crio", NULL,
		  "crio-fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210.scope", "fedcba987654" },
		{ "cgroup_v2_libpod", NULL,
		  "libpod-abcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcd.scope", "abcdefabcdef" },
		{ "cgroup_v2_deleted", "/system.slice/old.service", "old.service", NULL },
		{ "cgroup_v2_root", "/", NULL, NULL },
		{ "cgroup_v1_docker", "/", NULL, "a1b2c3d4e5f6" },
		{ "cgroup_v1_k8s", NULL, NULL, "9f8e7d6c5b4a" },
		{ "cgroup_hybrid", "/system.slice/sshd.service", "sshd.service", NULL },
		{ "cgroup_truncated", "/system.slice/cron.service", "cron.service", NULL },
		{ "cgroup_notunit", "/machine.slice/some-thing/not.a.unit.slice/x", NULL, NULL },
		{ "cgroup_garbage", NULL, NULL, NULL },
	};
	struct procstat ps;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("%s\n", cases[i].file);
		parse_file(cases[i].file, procstat_parse_cgroup, &ps);
		if (cases[i].path)
			assert_string_equal(ps.cgroup, cases[i].path);
		if (cases[i].unit) {
			assert_true(ps.valid & PROCSTAT_UNIT);
			assert_string_equal(ps.unit, cases[i].unit);
		} else {
			assert_false(ps.valid & PROCSTAT_UNIT);
			assert_string_equal(ps.unit, "");
		}
		if (cases[i].container) {
			assert_true(ps.valid & PROCSTAT_CONTAINER);
			assert_string_equal(ps.container_id, cases[i].container);
		} else {
			assert_false(ps.valid & PROCSTAT_CONTAINER);
		}
	}
	/* where block I/O is charged: the v1 blkio line (a controller of a
	 * joined list), else the v2 path */
	parse_file("cgroup_v1_blkio", procstat_parse_cgroup, &ps);
	assert_true(ps.valid & PROCSTAT_IO_CGROUP);
	assert_string_equal(ps.io_cgroup, "/system.slice/db.service");
	assert_string_equal(ps.unit, "db.service");
	parse_file("cgroup_v2_deleted", procstat_parse_cgroup, &ps);
	assert_true(ps.valid & PROCSTAT_IO_CGROUP);
	assert_string_equal(ps.io_cgroup, "/system.slice/old.service");
	parse_file("cgroup_hybrid", procstat_parse_cgroup, &ps);
	assert_string_equal(ps.io_cgroup, "/");
	parse_file("cgroup_v1_k8s", procstat_parse_cgroup, &ps);
	assert_false(ps.valid & PROCSTAT_IO_CGROUP);
	parse_file("cgroup_truncated", procstat_parse_cgroup, &ps);
	assert_int_equal(ps.errors, 1);
	parse_file("cgroup_garbage", procstat_parse_cgroup, &ps);
	assert_int_equal(ps.valid, 0);
	assert_int_equal(ps.errors, 4);
}

static void test_cgroup_helpers(void **state)
{
	char unit[PROCSTAT_UNIT_MAX], small[8], id[PROCSTAT_CONTAINER_ID_LEN + 1];
	static const char hex64[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	char path[256];

#define UNIT(p) procstat_cgroup_unit(p, strlen(p), unit, sizeof(unit))
#define CONT(p) procstat_cgroup_container(p, strlen(p), id)
	(void)state;
	assert_int_equal(UNIT("/system.slice/nginx.service"), 13);
	assert_string_equal(unit, "nginx.service");
	assert_int_equal(UNIT("/system.slice/nginx.service/"), 13);
	assert_int_equal(UNIT("/system.slice/nginx.service/worker"), 13);
	assert_string_equal(unit, "nginx.service");
	assert_int_equal(UNIT("/system.slice/getty@tty1.service"), 18);
	assert_string_equal(unit, "getty@tty1.service");
	assert_int_equal(UNIT("/system.slice/systemd-journald.socket"), 23);
	assert_int_equal(UNIT("/init.scope"), 10);
	assert_int_equal(UNIT("/system.slice"), -ENOENT);
	assert_int_equal(UNIT("/.service"), -ENOENT);
	assert_int_equal(UNIT("/a b.service"), -ENOENT);
	assert_int_equal(UNIT("/"), -ENOENT);
	assert_int_equal(UNIT(""), -ENOENT);
	assert_int_equal(UNIT("////"), -ENOENT);
	assert_int_equal(procstat_cgroup_unit("/x/nginx.service", 16, small, sizeof(small)), -ENAMETOOLONG);
	/* The length bounds the path: "/a.service" cut to "/a.serv". */
	assert_int_equal(procstat_cgroup_unit("/a.service", 7, unit, sizeof(unit)), -ENOENT);

	snprintf(path, sizeof(path), "/docker/%s", hex64);
	assert_int_equal(CONT(path), 0);
	assert_string_equal(id, "0123456789ab");
	snprintf(path, sizeof(path), "/system.slice/docker-%s.scope", hex64);
	assert_int_equal(CONT(path), 0);
	snprintf(path, sizeof(path), "/kubepods-pod1.slice:cri-containerd:%s", hex64);
	assert_int_equal(CONT(path), 0);
	snprintf(path, sizeof(path), "/docker/%.63s", hex64);
	assert_int_equal(CONT(path), -ENOENT);         /* 63 digits */
	snprintf(path, sizeof(path), "/docker/x%s", hex64);
	assert_int_equal(CONT(path), -ENOENT);         /* no separator */
	snprintf(path, sizeof(path), "/docker/%.63sG", hex64);
	assert_int_equal(CONT(path), -ENOENT);         /* not hex */
	assert_int_equal(CONT("/"), -ENOENT);
	assert_int_equal(CONT(""), -ENOENT);
#undef UNIT
#undef CONT
}

/* Every prefix of every fixture parses without reading past the end. */
static void test_prefixes(void **state)
{
	static const char *const files[] = {
		"stat_basic", "stat_paren", "status_basic", "io_basic",
		"cgroup_v1_docker", "cgroup_v2_k8s", "cgroup_hybrid",
	};
	struct procstat ps;
	size_t i, len, n;
	char *buf, *cut;

	(void)state;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		buf = load(files[i], &n);
		for (len = 0; len <= n; len++) {
			cut = malloc(len ? len : 1);
			assert_non_null(cut);
			memcpy(cut, buf, len);
			memset(&ps, 0, sizeof(ps));
			(void)procstat_parse_stat(cut, len, 100, &ps);
			(void)procstat_parse_status(cut, len, &ps);
			(void)procstat_parse_io(cut, len, &ps);
			(void)procstat_parse_cgroup(cut, len, &ps);
			free(cut);
		}
		free(buf);
	}
}

static void fixture_proc(char *buf, size_t size)
{
	snprintf(buf, size, "%s/procstat/proc", fixtures());
}

static void test_read_fixture_tree(void **state)
{
	char root[4096];
	struct procstat ps;

	(void)state;
	fixture_proc(root, sizeof(root));
	assert_int_equal(procstat_read(root, 4242, PROCSTAT_READ_ALL, &ps), 0);
	assert_int_equal(ps.pid, 4242);
	assert_int_equal(ps.rss_bytes, 10240 * KIB);
	assert_int_equal(ps.num_threads, 4);
	assert_true(ps.valid & PROCSTAT_FDS);
	assert_false(ps.valid & PROCSTAT_FDS_CAPPED);
	assert_int_equal(ps.fds, 7);
	assert_int_equal(ps.read_bytes, 4096000);
	assert_string_equal(ps.container_id, "4f1e0b8a9c2d");
	assert_true(ps.valid & PROCSTAT_UNIT);
	assert_int_equal(ps.errors, 0);

	/* Only what was asked for. */
	assert_int_equal(procstat_read(root, 4242, 0, &ps), 0);
	assert_int_equal(ps.valid & ~(PROCSTAT_PID | PROCSTAT_STATE | PROCSTAT_PPID |
			 PROCSTAT_MINFLT | PROCSTAT_MAJFLT | PROCSTAT_UTIME |
			 PROCSTAT_STIME | PROCSTAT_THREADS | PROCSTAT_STARTTIME), 0);

	/* No io file, no fd directory, kernel-thread status: bits stay clear. */
	assert_int_equal(procstat_read(root, 4243, PROCSTAT_READ_ALL, &ps), 0);
	assert_string_equal(ps.comm, "kworker/0:1");
	assert_false(ps.valid & (PROCSTAT_RCHAR | PROCSTAT_READ_BYTES | PROCSTAT_FDS | PROCSTAT_RSS));
	assert_true(ps.valid & PROCSTAT_CGROUP);
	assert_false(ps.valid & PROCSTAT_UNIT);

	/* Unparsable stat, missing process: error, ret untouched. */
	memset(&ps, 0x5a, sizeof(ps));
	assert_int_equal(procstat_read(root, 4244, PROCSTAT_READ_ALL, &ps), -EINVAL);
	assert_int_equal(ps.pid, 0x5a5a5a5a);
	assert_int_equal(procstat_read(root, 99999, PROCSTAT_READ_ALL, &ps), -ENOENT);
	assert_int_equal(ps.pid, 0x5a5a5a5a);
	assert_int_equal(procstat_read(NULL, 1, 0, &ps), -EINVAL);
	assert_int_equal(procstat_read_at(-1, 0, &ps), -EINVAL);
}

static void test_live_self(void **state)
{
	const size_t big = 64 * MIB;
	struct procstat a, b;
	unsigned char *m;
	int fds[10], i, r;
	char root[4096];
	size_t off;

	(void)state;
	assert_int_equal(procstat_read("/proc", (uint32_t)getpid(), PROCSTAT_READ_ALL, &a), 0);
	assert_int_equal(a.pid, (uint32_t)getpid());
	assert_int_equal(a.ppid, (uint32_t)getppid());
	assert_int_equal(a.state, 'R');
	assert_true(a.valid & PROCSTAT_RSS);
	assert_true(a.rss_bytes > 0);
	assert_true(a.rss_bytes >= a.rss_anon_bytes);
	assert_true(a.num_threads >= 1);
	assert_true(a.valid & PROCSTAT_FDS);
	assert_true(a.fds >= 3);
	assert_true(a.valid & PROCSTAT_STARTTIME);
	assert_true(a.valid & PROCSTAT_CGROUP);
	assert_int_equal(a.errors, 0);

	for (i = 0; i < 10; i++) {
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		assert_true(fds[i] >= 0);
	}
	m = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(m != MAP_FAILED);
	for (off = 0; off < big; off += 4096)
		m[off] = (unsigned char)off | 1;

	assert_int_equal(procstat_read("/proc", (uint32_t)getpid(), PROCSTAT_READ_ALL, &b), 0);
	print_message("rss %llu -> %llu KiB, fds %llu -> %llu\n",
		      (unsigned long long)(a.rss_bytes / KIB), (unsigned long long)(b.rss_bytes / KIB),
		      (unsigned long long)a.fds, (unsigned long long)b.fds);
	assert_true(b.rss_bytes >= a.rss_bytes + 60 * MIB);
	assert_true(b.rss_anon_bytes >= a.rss_anon_bytes + 60 * MIB);
	assert_true(b.minflt >= a.minflt + 60 * MIB / 4096 / 2); /* THP may halve */
	assert_int_equal(b.fds, a.fds + 10);
	assert_int_equal(b.starttime_ticks, a.starttime_ticks);
	assert_true(b.utime_ns + b.stime_ns >= a.utime_ns + a.stime_ns);
	munmap(m, big);
	for (i = 0; i < 10; i++)
		close(fds[i]);

	/* st_size fd counts, where this kernel has them, agree with getdents. */
	r = procstat_probe("/proc");
	assert_true(r >= 0);
	print_message("probe: %#x\n", r);
	if (r & PROCSTAT_READ_FDS_STSIZE) {
		assert_int_equal(procstat_read("/proc", (uint32_t)getpid(), PROCSTAT_READ_FDS | PROCSTAT_READ_FDS_STSIZE, &b), 0);
		/* getdents counted its own open directory fd; st_size opens none. */
		assert_int_equal(b.fds + 1, a.fds);
	}
	/* Never on a plain directory tree. */
	fixture_proc(root, sizeof(root));
	assert_int_equal(procstat_probe(root), 0);
}

/* A held /proc/PID fd names that process only: once it is reaped, reads
 * fail instead of reading whoever gets the pid next. */
static void test_held_dirfd(void **state)
{
	struct procstat_handle *h;
	struct procstat ps;
	pid_t pid;
	int fd, i;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		pause();
		_exit(0);
	}
	fd = procstat_open("/proc", (uint32_t)pid);
	assert_true(fd >= 0);
	h = procstat_handle_open("/proc", (uint32_t)pid, PROCSTAT_READ_ALL);
	assert_non_null(h);
	for (i = 0; i < 3; i++) { /* pread at 0 re-reads fresh text */
		assert_int_equal(procstat_handle_read(h, &ps), 0);
		assert_int_equal(ps.pid, (uint32_t)pid);
		assert_true(ps.valid & PROCSTAT_RSS);
		assert_true(ps.valid & PROCSTAT_FDS);
	}
	assert_int_equal(procstat_read_at(fd, PROCSTAT_READ_ALL, &ps), 0);
	assert_int_equal(ps.pid, (uint32_t)pid);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	assert_true(procstat_read_at(fd, PROCSTAT_READ_ALL, &ps) < 0);
	assert_true(procstat_handle_read(h, &ps) < 0);
	assert_null(procstat_handle_free(h));
	assert_null(procstat_handle_free(NULL));
	assert_null(procstat_handle_open("/proc", (uint32_t)pid, 0));
	assert_int_equal(errno, ENOENT);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stat_basic),
		cmocka_unit_test(test_stat_comm_with_parens),
		cmocka_unit_test(test_stat_truncated),
		cmocka_unit_test(test_stat_overflow),
		cmocka_unit_test(test_stat_bad),
		cmocka_unit_test(test_stat_kthread),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_io),
		cmocka_unit_test(test_cgroup_files),
		cmocka_unit_test(test_cgroup_helpers),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_read_fixture_tree),
		cmocka_unit_test(test_live_self),
		cmocka_unit_test(test_held_dirfd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
