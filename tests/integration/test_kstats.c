/* SPDX-License-Identifier: GPL-2.0-only */
/* Integration test of kstats (bpf/sched.bpf.c, bpf/blkio.bpf.c) on the
 * running kernel: forks workloads with known behaviour and checks the
 * counters against them and against /proc. Root; exits 77 (skip) when BPF
 * cannot be loaded, unless PROFD_REQUIRE_BPF=1 makes that a failure. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "collect/kstats.h"
#include "base/log.h"

#define MiB (1024ull * 1024ull)
#define MAX_EXITS 64

static int failures;
static struct kstats *ks;
static char io_dir[512];

struct exit_rec {
	uint32_t tgid;
	int has_sched, has_io;
	struct profd_sched_counters sched;
	struct profd_io_counters io;
};
static struct exit_rec exits[MAX_EXITS];
static int nexits;

#define CHECK(cond, ...)                                   \
	do {                                               \
		int ok_ = (cond);                          \
		printf("%s: ", ok_ ? "ok" : "FAIL");       \
		printf(__VA_ARGS__);                       \
		printf("\n");                              \
		if (!ok_)                                  \
			failures++;                        \
	} while (0)

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = {.tv_sec = ns / 1000000000ull, .tv_nsec = ns % 1000000000ull};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Burn CPU for ns of wall time (on an idle CPU: as much CPU time). */
static void spin_wall(uint64_t ns)
{
	uint64_t end = mono_ns() + ns;
	volatile uint64_t x = 0;

	while (mono_ns() < end)
		x++;
}

static void spin_cpu(uint64_t ns)
{
	uint64_t end = thread_cpu_ns() + ns;
	volatile uint64_t x = 0;

	while (thread_cpu_ns() < end)
		x++;
}

static void on_exit_rec(void *ctx, const struct kstats_proc *p)
{
	struct exit_rec *e;

	(void)ctx;
	if (nexits >= MAX_EXITS)
		memmove(exits, exits + 1, sizeof(exits) - sizeof(exits[0])), nexits--;
	e = &exits[nexits++];
	memset(e, 0, sizeof(*e));
	e->tgid = p->tgid;
	if (p->sched) {
		e->has_sched = 1;
		e->sched = *p->sched;
	}
	if (p->io) {
		e->has_io = 1;
		e->io = *p->io;
	}
}

static struct exit_rec *find_exit(uint32_t tgid)
{
	for (int i = nexits - 1; i >= 0; i--)
		if (exits[i].tgid == tgid)
			return &exits[i];
	return NULL;
}

/* Wait for the child, draining exit records meanwhile; then wait up to 2 s
 * for its exit record (its final switch can follow the parent's wait). */
static struct exit_rec *reap(pid_t pid)
{
	int status;
	uint64_t deadline;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		kstats_drain(ks);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return NULL;
		sleep_ns(20000000);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		printf("# child %d exited abnormally (status 0x%x)\n", pid, status);
	deadline = mono_ns() + 2000000000ull;
	while (mono_ns() < deadline) {
		struct exit_rec *e;

		kstats_drain(ks);
		e = find_exit(pid);
		if (e)
			return e;
		sleep_ns(10000000);
	}
	return NULL;
}

struct find_ctx {
	uint32_t tgid;
	int found;
	struct profd_sched_counters sched;
	struct profd_io_counters io;
	uint32_t running;
};

static int find_visit(void *ctx, const struct kstats_proc *p)
{
	struct find_ctx *f = ctx;

	if (p->tgid != f->tgid || (p->flags & KSTATS_F_EXITED))
		return 0;
	f->found = 1;
	f->running = p->running;
	if (p->sched)
		f->sched = *p->sched;
	if (p->io)
		f->io = *p->io;
	return 1;
}

static int read_proc(uint32_t tgid, struct find_ctx *f)
{
	memset(f, 0, sizeof(*f));
	f->tgid = tgid;
	kstats_read(ks, find_visit, f);
	return f->found ? 0 : -ENOENT;
}

/* utime + stime of a process in ns (USER_HZ ticks). */
static uint64_t proc_cpu_ns(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	fclose(f);
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return 0;
	return (ut + st) * (1000000000ull / (uint64_t)sysconf(_SC_CLK_TCK));
}

/* sum_exec_runtime (ns) from /proc/PID/schedstat: printed for reference. */
static uint64_t proc_exec_ns(pid_t pid)
{
	char path[64];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fscanf(f, "%llu", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

/* 1: spin 10 ms / sleep 10 ms for 4 s. */
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
	p0 = proc_cpu_ns(pid);
	x0 = proc_exec_ns(pid);
	read_proc(pid, &a);
	sleep_ns(3400000000ull);
	t1 = mono_ns();
	p1 = proc_cpu_ns(pid);
	x1 = proc_exec_ns(pid);
	read_proc(pid, &b);
	reap(pid);
	{
		double wall = (double)(t1 - t0);
		double k = (double)(b.sched.oncpu_ns - a.sched.oncpu_ns) / wall * 100;
		double p = (double)(p1 - p0) / wall * 100;
		double x = (double)(x1 - x0) / wall * 100;

		printf("# duty cycle: kstats on-CPU %.2f %%, /proc utime+stime %.2f %%, schedstat %.2f %% over %.3f s\n",
		       k, p, x, wall / 1e9);
		CHECK(a.found && b.found, "duty-cycle process listed by kstats_read");
		CHECK(k - p < 3 && p - k < 3, "on-CPU %.2f %% within 3 pp of /proc's %.2f %%", k, p);
		CHECK(k > 47 && k < 53, "on-CPU %.2f %% within 3 pp of 50 %%", k);
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

/* 3: 4 busy threads on 2 CPUs for 3 s. */
static void test_contention(void)
{
	pid_t pid = fork();
	struct exit_rec *e;

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
		_exit(0);
	}
	e = reap(pid);
	CHECK(e && e->has_sched, "contention exit record arrived");
	if (!e)
		return;
	{
		uint64_t n = 0, p50 = kstats_hist_percentile(&e->sched.runq_hist, 50);
		uint64_t p99 = kstats_hist_percentile(&e->sched.runq_hist, 99);

		for (int i = 0; i < PROFD_HIST_SLOTS; i++)
			n += e->sched.runq_hist.slot[i];
		printf("# contention: on-CPU %.3f s, run-queue waits %llu (sum %.3f s), p50 <= %.3f ms, p99 <= %.3f ms, "
		       "involuntary %llu, voluntary %llu\n",
		       e->sched.oncpu_ns / 1e9, (unsigned long long)n, e->sched.runq_ns / 1e9, p50 / 1e6, p99 / 1e6,
		       (unsigned long long)e->sched.nivcsw, (unsigned long long)e->sched.nvcsw);
		CHECK(n > 0 && n == e->sched.runq_waits, "run-queue histogram non-empty (%llu)", (unsigned long long)n);
		/* p99 is a slot's upper bound; the slot's lower bound is (p99+1)/2. */
		/* p99 is reported as its slot's upper bound: require the slot's
		 * lower bound, (p99 + 1) / 2, to be >= 1 ms. */
		CHECK((p99 + 1) / 2 >= 1000000, "run-queue p99 in [%.3f, %.3f] ms >= 1 ms", (p99 + 1) / 2e6,
		      p99 / 1e6);
		CHECK(e->sched.nivcsw > 0, "involuntary switches %llu > 0", (unsigned long long)e->sched.nivcsw);
	}
}

/* Write bytes with O_DIRECT in 1 MiB blocks into a new file in io_dir. */
static int direct_write(uint64_t bytes)
{
	char path[600];
	void *buf;
	int fd;

	snprintf(path, sizeof(path), "%s/profd-kstats-%d.tmp", io_dir, getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	unlink(path);
	if (posix_memalign(&buf, 4096, MiB)) {
		close(fd);
		return -ENOMEM;
	}
	memset(buf, 0x5a, MiB);
	for (uint64_t done = 0; done < bytes; done += MiB) {
		if (write(fd, buf, MiB) != (ssize_t)MiB) {
			int err = -errno;

			close(fd);
			free(buf);
			return err ? err : -EIO;
		}
	}
	close(fd);
	free(buf);
	return 0;
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

int main(void)
{
	const char *req = getenv("PROFD_REQUIRE_BPF");
	int skip_rc = req && !strcmp(req, "1") ? 1 : 77;
	struct kstats_callbacks cb = {.exit = on_exit_rec};
	struct kstats_opts opts = {0};
	struct kstats_stats st;
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	log_set_level(LOG_INFO);
	if (geteuid() != 0) {
		printf("# SKIP: needs root\n");
		return skip_rc;
	}
	err = kstats_new(&opts, &cb, &ks);
	if (err) {
		printf("# SKIP: kstats_new: %s\n", strerror(-err));
		return skip_rc;
	}
	printf("# parts 0x%x\n", kstats_parts(ks));
	if ((kstats_parts(ks) & (KSTATS_PART_ONCPU | KSTATS_PART_RUNQ | KSTATS_PART_EXIT | KSTATS_PART_BLKIO)) !=
	    (KSTATS_PART_ONCPU | KSTATS_PART_RUNQ | KSTATS_PART_EXIT | KSTATS_PART_BLKIO)) {
		printf("# SKIP: not every kstats part attached\n");
		kstats_free(ks);
		return skip_rc;
	}
	test_duty_cycle();
	test_sleeper();
	test_contention();
	if (pick_io_dir()) {
		printf("# SKIP I/O cases: no writable directory on a block device\n");
		if (skip_rc == 1)
			failures++;
	} else {
		test_direct_io();
		test_short_lived();
	}
	kstats_get_stats(ks, &st);
	printf("# stats: procs %llu io_procs %llu switches %llu proc_full %llu storage_fail %llu exits %llu "
	       "exit_lost %llu exit_tail_ns %llu unknown_since %llu seeded %llu stale %llu\n",
	       (unsigned long long)st.procs, (unsigned long long)st.io_procs, (unsigned long long)st.sched.switches,
	       (unsigned long long)st.sched.proc_full, (unsigned long long)st.sched.storage_fail,
	       (unsigned long long)st.sched.exits, (unsigned long long)st.sched.exit_lost,
	       (unsigned long long)st.sched.exit_tail_ns, (unsigned long long)st.sched.unknown_since,
	       (unsigned long long)st.sched.seeded, (unsigned long long)st.sched.stale_reset);
	printf("# io stats: started %llu issuer %llu completed %llu unmatched %llu inflight_full %llu proc_full %llu; "
	       "user: exit records %llu inexact %llu orphans %llu malformed %llu\n",
	       (unsigned long long)st.io.started, (unsigned long long)st.io.issuer_attrib,
	       (unsigned long long)st.io.completed, (unsigned long long)st.io.unmatched,
	       (unsigned long long)st.io.inflight_full, (unsigned long long)st.io.proc_full,
	       (unsigned long long)st.exit_records, (unsigned long long)st.inexact, (unsigned long long)st.orphans,
	       (unsigned long long)st.malformed);
	CHECK(st.sched.exit_lost == 0 && st.sched.proc_full == 0, "no exit record lost, no map full");
	kstats_free(ks);
	printf("# %d failure(s)\n", failures);
	return failures ? 1 : 0;
}
