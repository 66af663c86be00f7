/* SPDX-License-Identifier: GPL-2.0-only */
/* Helpers of the kstats integration tests; see kstats_util.h. */
#include "kstats_util.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"

#define MAX_EXITS 64

int failures;
struct kstats *ks;

static struct exit_rec exits[MAX_EXITS];
static int nexits;

static uint64_t clock_of(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t mono_ns(void)
{
	return clock_of(CLOCK_MONOTONIC);
}

uint64_t thread_cpu_ns(void)
{
	return clock_of(CLOCK_THREAD_CPUTIME_ID);
}

uint64_t process_cpu_ns(void)
{
	return clock_of(CLOCK_PROCESS_CPUTIME_ID);
}

void sleep_ns(uint64_t ns)
{
	struct timespec ts = {.tv_sec = ns / 1000000000ull, .tv_nsec = ns % 1000000000ull};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

void spin_wall(uint64_t ns)
{
	uint64_t end = mono_ns() + ns;
	volatile uint64_t x = 0;

	while (mono_ns() < end)
		x++;
}

void spin_cpu(uint64_t ns)
{
	uint64_t end = thread_cpu_ns() + ns;
	volatile uint64_t x = 0;

	while (thread_cpu_ns() < end)
		x++;
}

static uint64_t read_first_u64(const char *path)
{
	unsigned long long v = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return 0;
	if (fscanf(f, "%llu", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

uint64_t proc_schedstat_ns(pid_t pid)
{
	char path[64];
	struct dirent *de;
	uint64_t sum = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char p[320];

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(p, sizeof(p), "/proc/%d/task/%s/schedstat", pid, de->d_name);
		sum += read_first_u64(p);
	}
	closedir(d);
	return sum;
}

int proc_ctxsw(pid_t pid, uint64_t *vol, uint64_t *invol)
{
	char path[64], line[256];
	struct dirent *de;
	DIR *d;

	*vol = *invol = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char p[320];
		unsigned long long v;
		FILE *f;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(p, sizeof(p), "/proc/%d/task/%s/status", pid, de->d_name);
		f = fopen(p, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "voluntary_ctxt_switches: %llu", &v) == 1)
				*vol += v;
			else if (sscanf(line, "nonvoluntary_ctxt_switches: %llu", &v) == 1)
				*invol += v;
		}
		fclose(f);
	}
	closedir(d);
	return 0;
}

uint64_t proc_stat_cpu_ns(pid_t pid)
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

uint64_t host_steal_ticks(void)
{
	unsigned long long v[8] = {0};
	FILE *f = fopen("/proc/stat", "re");
	int n;

	if (!f)
		return 0;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &v[6], &v[7]);
	fclose(f);
	return n == 8 ? v[7] : 0;
}

static void on_exit_rec(void *ctx, const struct kstats_proc *p)
{
	struct exit_rec *e;

	(void)ctx;
	if (nexits >= MAX_EXITS) {
		memmove(exits, exits + 1, sizeof(exits) - sizeof(exits[0]));
		nexits--;
	}
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

const struct kstats_callbacks exit_capture = {.exit = on_exit_rec};

struct exit_rec *find_exit(uint32_t tgid)
{
	for (int i = nexits - 1; i >= 0; i--)
		if (exits[i].tgid == tgid)
			return &exits[i];
	return NULL;
}

struct exit_rec *reap(pid_t pid)
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
	/* Its final switch can follow the parent's wait. */
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

static int find_visit(void *ctx, const struct kstats_proc *p)
{
	struct find_ctx *f = ctx;

	if (p->tgid != f->tgid || (p->flags & KSTATS_F_EXITED))
		return 0;
	f->found = 1;
	f->flags = p->flags;
	f->running = p->running;
	if (p->sched)
		f->sched = *p->sched;
	if (p->io)
		f->io = *p->io;
	return 1;
}

int read_proc(uint32_t tgid, struct find_ctx *f)
{
	memset(f, 0, sizeof(*f));
	f->tgid = tgid;
	kstats_read(ks, find_visit, f);
	return f->found ? 0 : -ENOENT;
}

int hogs_start(pid_t *pids, int n)
{
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			volatile uint64_t x = 0;

			for (;;)
				x++;
		}
		if (pids[i] < 0)
			return i;
	}
	return n;
}

void hogs_stop(pid_t *pids, int n)
{
	for (int i = 0; i < n; i++) {
		if (pids[i] <= 0)
			continue;
		kill(pids[i], SIGKILL);
		while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR)
			;
		pids[i] = 0;
	}
}

void kstats_start_or_skip(const struct kstats_opts *opts)
{
	const char *req = getenv("PROFD_REQUIRE_BPF");
	int skip_rc = req && !strcmp(req, "1") ? 1 : 77;
	const uint32_t want = KSTATS_PART_ONCPU | KSTATS_PART_RUNQ | KSTATS_PART_EXIT | KSTATS_PART_BLKIO;
	int err;

	if (geteuid() != 0) {
		printf("# SKIP: needs root\n");
		exit(skip_rc);
	}
	err = kstats_new(opts, &exit_capture, &ks);
	if (err) {
		printf("# SKIP: kstats_new: %s\n", strerror(-err));
		exit(skip_rc);
	}
	printf("# parts 0x%x\n", kstats_parts(ks));
	if ((kstats_parts(ks) & want) != want) {
		printf("# SKIP: not every kstats part attached\n");
		ks = kstats_free(ks);
		exit(skip_rc);
	}
}
