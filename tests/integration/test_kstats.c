/* SPDX-License-Identifier: GPL-2.0-only */
/* Integration test of kstats (bpf/sched.bpf.c, bpf/blkio.bpf.c) on the
 * running kernel: forks workloads with known behaviour and checks the
 * counters against them and against the kernel's own figures in /proc.
 * CPU time under competition and steal, monotonic reads and the pre-5.18
 * path are in test_kstats_cpu.c. Root; exits 77 (skip) when BPF cannot be
 * loaded, unless PROFD_REQUIRE_BPF=1 makes that a failure. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "collect/kstats.h"
#include "kstats_util.h"

#define MiB (1024ull * 1024ull)

static char io_dir[512];

/* 1: spin 10 ms / sleep 10 ms for 4 s. The kernel's figures are the
 * reference (what it really got on a busy host, not 50 % of wall time):
 * schedstat is the same sum_exec_runtime, read at the same moments as
 * kstats; /proc/PID/stat's utime+stime is that total in 10 ms ticks. */
static void test_duty_cycle(void)
{
	pid_t pid = fork();
	struct find_ctx a, b;
	uint64_t t0, t1, p0, p1, x0, x1;

	if (pid == 0) {
		/* 10 ms of CPU, then sleep to the next 20 ms boundary (absolute
		 * deadlines: a late wake-up does not stretch the period). */
		uint64_t start = mono_ns();

		for (uint64_t k = 1; k <= 200; k++) {
			uint64_t t = start + k * 20000000ull;
			struct timespec ts = {.tv_sec = t / 1000000000ull, .tv_nsec = t % 1000000000ull};

			spin_cpu(10000000);
			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
				;
		}
		_exit(0);
	}
	sleep_ns(300000000);
	t0 = mono_ns();
	read_proc(pid, &a);
	x0 = proc_schedstat_ns(pid);
	p0 = proc_stat_cpu_ns(pid);
	sleep_ns(3400000000ull);
	t1 = mono_ns();
	read_proc(pid, &b);
	x1 = proc_schedstat_ns(pid);
	p1 = proc_stat_cpu_ns(pid);
	reap(pid);
	{
		double wall = (double)(t1 - t0);
		double kd = (double)(b.sched.oncpu_ns - a.sched.oncpu_ns), xd = (double)(x1 - x0);
		double k = kd / wall * 100, p = (double)(p1 - p0) / wall * 100, x = xd / wall * 100;

		printf("# duty cycle: kstats on-CPU %.2f %%, schedstat %.2f %%, /proc utime+stime %.2f %% of %.3f s "
		       "wall (50 %% when it gets its CPU)\n",
		       k, x, p, wall / 1e9);
		CHECK(a.found && b.found, "duty-cycle process listed by kstats_read");
		CHECK(xd > 0 && kd > xd * 0.99 && kd < xd * 1.01, "on-CPU %.3f s within 1 %% of schedstat's %.3f s",
		      kd / 1e9, xd / 1e9);
		CHECK(k - p < 3 && p - k < 3, "on-CPU %.2f %% within 3 pp of /proc's %.2f %%", k, p);
		CHECK(k > 1 && k < 100.5, "on-CPU %.2f %% of wall for one thread: in (1, 100] %%", k);
	}
}

/* 2: sleep 2 s. */
static void test_sleeper(void)
{
	pid_t pid = fork();
	struct exit_rec *e;

	if (pid == 0) {
		sleep_ns(2000000000ull);
		_exit(0);
	}
	e = reap(pid);
	CHECK(e && e->has_sched, "sleeper's exit record arrived");
	if (!e)
		return;
	printf("# sleeper: off-CPU %.3f s, on-CPU %.3f ms, voluntary %llu, involuntary %llu\n",
	       e->sched.offcpu_ns / 1e9, e->sched.oncpu_ns / 1e6, (unsigned long long)e->sched.nvcsw,
	       (unsigned long long)e->sched.nivcsw);
	CHECK(e->sched.offcpu_ns >= 1900000000ull, "off-CPU %.3f s >= 1.9 s", e->sched.offcpu_ns / 1e9);
	CHECK(e->sched.nvcsw >= 1, "voluntary switches %llu >= 1", (unsigned long long)e->sched.nvcsw);
}

static void *busy_thread(void *arg)
{
	spin_wall(*(uint64_t *)arg);
	return NULL;
}

/* 3: 4 busy threads on 2 CPUs for 3 s. The child reads its own CPU clock
 * (CLOCK_PROCESS_CPUTIME_ID: sum_exec_runtime of all its threads, exact to
 * the call) just before exiting; the exit record must hold that, plus the
 * little the exit path runs. */
static void test_contention(void)
{
	uint64_t *cpu_at_exit = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pid;
	struct exit_rec *e;

	if (cpu_at_exit == MAP_FAILED) {
		CHECK(0, "mmap shared page: %s", strerror(errno));
		return;
	}
	*cpu_at_exit = 0;
	pid = fork();
	if (pid == 0) {
		cpu_set_t set;
		pthread_t t[4];
		uint64_t ns = 3000000000ull;
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

		CPU_ZERO(&set);
		CPU_SET(0, &set);
		CPU_SET(ncpu > 1 ? 1 : 0, &set);
		sched_setaffinity(0, sizeof(set), &set);
		for (int i = 0; i < 4; i++)
			pthread_create(&t[i], NULL, busy_thread, &ns);
		for (int i = 0; i < 4; i++)
			pthread_join(t[i], NULL);
		*cpu_at_exit = process_cpu_ns();
		_exit(0);
	}
	e = reap(pid);
	CHECK(e && e->has_sched, "contention exit record arrived");
	if (e) {
		uint64_t n = 0, p50 = kstats_hist_percentile(&e->sched.runq_hist, 50);
		uint64_t p99 = kstats_hist_percentile(&e->sched.runq_hist, 99);
		double c = (double)*cpu_at_exit, o = (double)e->sched.oncpu_ns;

		for (int i = 0; i < PROFD_HIST_SLOTS; i++)
			n += e->sched.runq_hist.slot[i];
		printf("# contention: on-CPU %.3f s (own CPU clock at exit %.3f s), run-queue waits %llu (sum %.3f s), "
		       "p50 <= %.3f ms, p99 <= %.3f ms, involuntary %llu, voluntary %llu\n",
		       o / 1e9, c / 1e9, (unsigned long long)n, e->sched.runq_ns / 1e9, p50 / 1e6, p99 / 1e6,
		       (unsigned long long)e->sched.nivcsw, (unsigned long long)e->sched.nvcsw);
		/* Every thread's every slice is in the record, the exit path
		 * after the clock read too: at least the clock, at most 1 %
		 * + 5 ms more. */
		CHECK(c > 0 && o >= c - 1e6 && o <= c * 1.01 + 5e6,
		      "exit record's on-CPU %.4f s = the process's own CPU clock %.4f s (-1 ms, +1 %% + 5 ms)", o / 1e9,
		      c / 1e9);
		CHECK(n > 0 && n == e->sched.runq_waits, "run-queue histogram non-empty (%llu)", (unsigned long long)n);
		/* p99 is reported as its slot's upper bound: require the slot's
		 * lower bound, (p99 + 1) / 2, to be >= 1 ms. */
		CHECK((p99 + 1) / 2 >= 1000000, "run-queue p99 in [%.3f, %.3f] ms >= 1 ms", (p99 + 1) / 2e6,
		      p99 / 1e6);
		CHECK(e->sched.nivcsw > 0, "involuntary switches %llu > 0", (unsigned long long)e->sched.nivcsw);
	}
	munmap(cpu_at_exit, 4096);
}

/* Write bytes in 1 MiB blocks into a new, unlinked file in io_dir: with
 * O_DIRECT, or buffered and then fsync()ed (the flush then runs in this
 * process's context), or buffered only (left to writeback). Returns an
 * open fd of the file's directory for syncfs() in the last case, else 0;
 * -errno on failure. */
enum wmode { W_DIRECT, W_FSYNC, W_BUFFERED };

static int file_write(uint64_t bytes, enum wmode mode)
{
	char path[600];
	void *buf;
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/profd-kstats-%d.tmp", io_dir, getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | (mode == W_DIRECT ? O_DIRECT : 0), 0600);
	if (fd < 0)
		return -errno;
	if (mode != W_BUFFERED)
		unlink(path);
	if (posix_memalign(&buf, 4096, MiB)) {
		close(fd);
		return -ENOMEM;
	}
	memset(buf, 0x5a, MiB);
	for (uint64_t done = 0; done < bytes && !err; done += MiB)
		if (write(fd, buf, MiB) != (ssize_t)MiB)
			err = errno ? -errno : -EIO;
	if (!err && mode == W_FSYNC && fsync(fd))
		err = -errno;
	close(fd);
	free(buf);
	return err;
}

static int direct_write(uint64_t bytes)
{
	return file_write(bytes, W_DIRECT);
}

/* 4: 64 MiB with O_DIRECT. */
static void test_direct_io(void)
{
	pid_t pid = fork();
	struct exit_rec *e;

	if (pid == 0)
		_exit(direct_write(64 * MiB) ? 1 : 0);
	e = reap(pid);
	CHECK(e && e->has_io, "O_DIRECT writer's exit record carries I/O");
	if (!e)
		return;
	printf("# O_DIRECT 64 MiB: write %.2f MiB in %llu requests, read %.2f MiB, latency p50 <= %.3f ms, "
	       "p99 <= %.3f ms (%llu timed)\n",
	       e->io.write_bytes / (double)MiB, (unsigned long long)e->io.write_reqs, e->io.read_bytes / (double)MiB,
	       kstats_hist_percentile(&e->io.lat_hist, 50) / 1e6, kstats_hist_percentile(&e->io.lat_hist, 99) / 1e6,
	       (unsigned long long)e->io.lat_count);
	CHECK(e->io.write_bytes >= 64 * MiB * 95 / 100, "write bytes %.2f MiB >= 95 %% of 64 MiB",
	      e->io.write_bytes / (double)MiB);
	CHECK(e->io.write_reqs > 0, "write requests %llu > 0", (unsigned long long)e->io.write_reqs);
	CHECK(e->io.lat_count > 0, "latency histogram non-empty (%llu)", (unsigned long long)e->io.lat_count);
}

/* 5: lives ~20 ms: 15 ms of CPU, 1 MiB O_DIRECT, exit. */
static void test_short_lived(void)
{
	pid_t pid = fork();
	struct exit_rec *e;

	if (pid == 0) {
		spin_cpu(15000000);
		_exit(direct_write(MiB) ? 1 : 0);
	}
	e = reap(pid);
	CHECK(e && e->has_sched && e->has_io, "short-lived process's exit record has CPU and I/O");
	if (!e)
		return;
	printf("# short-lived: on-CPU %.3f ms, write %.3f MiB in %llu requests\n", e->sched.oncpu_ns / 1e6,
	       e->io.write_bytes / (double)MiB, (unsigned long long)e->io.write_reqs);
	CHECK(e->sched.oncpu_ns >= 10000000, "on-CPU %.3f ms >= 10 ms", e->sched.oncpu_ns / 1e6);
	CHECK(e->io.write_bytes >= MiB, "write bytes %llu >= 1 MiB", (unsigned long long)e->io.write_bytes);
}

/* A directory on a real block device (O_DIRECT needs one; tmpfs has no
 * device): st_dev must name a /sys/dev/block entry. */
static int pick_io_dir(void)
{
	const char *cands[] = {getenv("PROFD_KSTATS_DIR"), "/var/tmp", "/tmp", getenv("PROFD_BUILD"), "."};

	for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]); i++) {
		char sys[128];
		struct stat st;

		if (!cands[i] || stat(cands[i], &st) || !S_ISDIR(st.st_mode) || access(cands[i], W_OK))
			continue;
		snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u", major(st.st_dev), minor(st.st_dev));
		if (major(st.st_dev) == 0 || access(sys, F_OK))
			continue;
		snprintf(io_dir, sizeof(io_dir), "%s", cands[i]);
		printf("# I/O directory %s on block device %u:%u\n", io_dir, major(st.st_dev), minor(st.st_dev));
		return 0;
	}
	return -ENOENT;
}

/* The cgroup hierarchy that carries block I/O: a cgroup2 mount whose root
 * has "io" in cgroup.subtree_control (so a child cgroup gets its own blkcg;
 * enabling it is not this test's business), else a v1 mount with the blkio
 * controller. *v2 says which; writeback is attributed to cgroups on v2
 * only, with io and memory enabled. */
static int find_io_cgroup_root(char *out, size_t len, int *v2, int *v2_writeback)
{
	char line[4096], v1[512] = "";
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int found = 0;

	if (!f)
		return -errno;
	while (!found && fgets(line, sizeof(line), f)) {
		char mnt[512], fstype[64], opts[1024], path[600], ctl[256] = "";
		const char *sep = strstr(line, " - ");
		FILE *c;

		if (!sep || sscanf(line, "%*s %*s %*s %*s %511s", mnt) != 1 ||
		    sscanf(sep + 3, "%63s %*s %1023s", fstype, opts) != 2)
			continue;
		if (!strcmp(fstype, "cgroup") && strstr(opts, "blkio") && !v1[0]) {
			snprintf(v1, sizeof(v1), "%s", mnt);
			continue;
		}
		if (strcmp(fstype, "cgroup2"))
			continue;
		snprintf(path, sizeof(path), "%s/cgroup.subtree_control", mnt);
		c = fopen(path, "re");
		if (!c)
			continue;
		if (!fgets(ctl, sizeof(ctl), c))
			ctl[0] = 0;
		fclose(c);
		/* Word match: "io" inside another controller's name is not it. */
		for (char *t = strtok(ctl, " \n"); t; t = strtok(NULL, " \n")) {
			if (!strcmp(t, "io"))
				found = 1;
			else if (!strcmp(t, "memory"))
				*v2_writeback = 1;
		}
		if (found)
			snprintf(out, len, "%s", mnt);
		else
			*v2_writeback = 0;
	}
	fclose(f);
	if (found) {
		*v2 = 1;
		return 0;
	}
	*v2_writeback = 0;
	if (!v1[0])
		return -ENOENT;
	*v2 = 0;
	snprintf(out, len, "%s", v1);
	return 0;
}

struct cg_find {
	uint64_t id;
	int found;
	struct profd_cgroup_io io;
};

static int cg_visit(void *ctx, uint64_t id, const struct profd_cgroup_io *io)
{
	struct cg_find *f = ctx;

	if (id != f->id)
		return 0;
	f->found = 1;
	f->io = *io;
	return 1;
}

/* 6: per-cgroup block I/O. A child moves itself into a new cgroup, writes
 * 8 MiB with O_DIRECT and 8 MiB buffered + fsync: all 16 MiB are the
 * cgroup's (and the process's). On cgroup v2 with io and memory enabled,
 * 8 MiB more written buffered by a child that then exits, and flushed by
 * the parent's syncfs() (a flusher kworker submits it), must land in the
 * child's cgroup too: writeback attributed to the cgroup that dirtied the
 * pages. */
static void test_cgroup_io(void)
{
	char root[512], dir[700], procs[800];
	int v2 = 0, v2_wb = 0;
	struct cg_find f = {0};
	struct exit_rec *e;
	struct stat st;
	pid_t pid;

	if (find_io_cgroup_root(root, sizeof(root), &v2, &v2_wb)) {
		printf("# SKIP cgroup I/O: no cgroup hierarchy with the io/blkio controller\n");
		if (getenv("PROFD_REQUIRE_BPF") && !strcmp(getenv("PROFD_REQUIRE_BPF"), "1"))
			failures++;
		return;
	}
	snprintf(dir, sizeof(dir), "%s/profd-kstats-%d", root, getpid());
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
	if (mkdir(dir, 0755) || stat(dir, &st)) {
		CHECK(0, "create cgroup %s: %s", dir, strerror(errno));
		return;
	}
	f.id = st.st_ino;
	printf("# cgroup %s (v%d), id %llu\n", dir, v2 ? 2 : 1, (unsigned long long)f.id);
	pid = fork();
	if (pid == 0) {
		int fd = open(procs, O_WRONLY | O_CLOEXEC);

		/* "0": the writer itself. */
		if (fd < 0 || write(fd, "0", 1) != 1)
			_exit(3);
		close(fd);
		if (direct_write(8 * MiB) || file_write(8 * MiB, W_FSYNC))
			_exit(1);
		if (v2_wb && file_write(8 * MiB, W_BUFFERED))
			_exit(2);
		_exit(0);
	}
	e = reap(pid);
	if (v2_wb) {
		char path[600];
		int fd = open(io_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (fd >= 0) {
			syncfs(fd);
			close(fd);
		}
		snprintf(path, sizeof(path), "%s/profd-kstats-%d.tmp", io_dir, pid);
		unlink(path);
		sleep_ns(200000000);
	}
	kstats_read_cgroups(ks, cg_visit, &f);
	printf("# cgroup I/O: write %.2f MiB in %llu requests, read %.2f MiB; process: write %.2f MiB\n",
	       f.io.write_bytes / (double)MiB, (unsigned long long)f.io.write_reqs, f.io.read_bytes / (double)MiB,
	       e && e->has_io ? e->io.write_bytes / (double)MiB : 0.0);
	CHECK(f.found, "kstats_read_cgroups lists the test's cgroup");
	CHECK(e && e->has_io && e->io.write_bytes >= 16 * MiB, "the process's own O_DIRECT + fsync writes: >= 16 MiB");
	CHECK(f.io.write_bytes >= (v2_wb ? 24 : 16) * MiB, "cgroup write bytes %.2f MiB >= %d MiB%s",
	      f.io.write_bytes / (double)MiB, v2_wb ? 24 : 16, v2_wb ? " (writeback by a kworker included)" : "");
	CHECK(f.io.write_reqs > 0, "cgroup write requests %llu > 0", (unsigned long long)f.io.write_reqs);
	if (!v2_wb)
		printf("# not checked here: writeback by a flusher kworker (cgroup v2 with io and memory needed)\n");
	if (rmdir(dir))
		printf("# rmdir %s: %s\n", dir, strerror(errno));
}

/* 7: what kstats_describe says on this kernel, and without kstats. */
static void test_describe(void)
{
	struct kstats_exactness x;
	uint32_t parts = kstats_parts(ks);

	kstats_describe(ks, &x);
	for (int i = 0; i < KSTATS_FAM_COUNT; i++)
		printf("# describe: %s %s%s%s\n", x.fam[i].name,
		       x.fam[i].state == KSTATS_EXACT ? "exact" : x.fam[i].state == KSTATS_ESTIMATED ? "estimated" : "absent",
		       x.fam[i].reason[0] ? ": " : "", x.fam[i].reason);
	/* Everything this test needs attached, nothing dropped (checked in
	 * main): exact, except block I/O before 6.5 (no block_io_start). */
	for (int i = 0; i < KSTATS_FAM_COUNT; i++) {
		int want_exact = i != KSTATS_FAM_BLKIO || (parts & KSTATS_PART_BLKIO_SUBMIT);

		if (want_exact)
			CHECK(x.fam[i].state == KSTATS_EXACT && !x.fam[i].reason[0], "%s is exact", x.fam[i].name);
		else
			CHECK(x.fam[i].state == KSTATS_ESTIMATED && x.fam[i].reason[0], "%s is estimated, with a reason",
			      x.fam[i].name);
	}
	kstats_describe(NULL, &x);
	for (int i = 0; i < KSTATS_FAM_COUNT; i++)
		CHECK(x.fam[i].state == KSTATS_ABSENT && x.fam[i].reason[0], "without kstats: %s absent (%s)",
		      x.fam[i].name, x.fam[i].reason);
}

int main(void)
{
	struct kstats_opts opts = {0};
	struct kstats_stats st;

	setvbuf(stdout, NULL, _IOLBF, 0);
	log_set_level(LOG_INFO);
	kstats_start_or_skip(&opts);
	test_duty_cycle();
	test_sleeper();
	test_contention();
	if (pick_io_dir()) {
		printf("# SKIP I/O cases: no writable directory on a block device\n");
		if (getenv("PROFD_REQUIRE_BPF") && !strcmp(getenv("PROFD_REQUIRE_BPF"), "1"))
			failures++;
	} else {
		test_direct_io();
		test_short_lived();
		test_cgroup_io();
	}
	kstats_get_stats(ks, &st);
	printf("# stats: procs %llu io_procs %llu switches %llu proc_full %llu storage_fail %llu exits %llu "
	       "exit_lost %llu exit_tail_ns %llu unknown_since %llu seeded %llu late %llu (%.3f ms) stale %llu\n",
	       (unsigned long long)st.procs, (unsigned long long)st.io_procs, (unsigned long long)st.sched.switches,
	       (unsigned long long)st.sched.proc_full, (unsigned long long)st.sched.storage_fail,
	       (unsigned long long)st.sched.exits, (unsigned long long)st.sched.exit_lost,
	       (unsigned long long)st.sched.exit_tail_ns, (unsigned long long)st.sched.unknown_since,
	       (unsigned long long)st.sched.seeded, (unsigned long long)st.sched.late, st.sched.late_ns / 1e6,
	       (unsigned long long)st.sched.stale_reset);
	printf("# io stats: started %llu issuer %llu completed %llu unmatched %llu inflight_full %llu proc_full %llu "
	       "cgroup_full %llu; user: exit records %llu inexact %llu held %llu orphans %llu malformed %llu\n",
	       (unsigned long long)st.io.started, (unsigned long long)st.io.issuer_attrib,
	       (unsigned long long)st.io.completed, (unsigned long long)st.io.unmatched,
	       (unsigned long long)st.io.inflight_full, (unsigned long long)st.io.proc_full,
	       (unsigned long long)st.io.cgroup_full, (unsigned long long)st.exit_records,
	       (unsigned long long)st.inexact, (unsigned long long)st.held, (unsigned long long)st.orphans,
	       (unsigned long long)st.malformed);
	CHECK(st.sched.exit_lost == 0 && st.sched.proc_full == 0, "no exit record lost, no map full");
	test_describe();
	ks = kstats_free(ks);
	printf("# %d failure(s)\n", failures);
	return failures ? 1 : 0;
}
