/* SPDX-License-Identifier: GPL-2.0-only */
/* Benchmark: the cost of reading per-process /proc counters (procstat)
 * for N sleeping processes, and of the system counters (sysstat).
 *
 * Spawns N children that pause(), times R rounds of reading every child in
 * several ways, kills and reaps the children by pid, and prints Markdown
 * tables. Usage: bench_procread [-n procs] [-r rounds] */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "collect/procstat.h"
#include "collect/sysstat.h"

#define MAX_PROCS 100000 /* fork bound: a typo must not fork-bomb the host */
#define MAX_ROUNDS 10000
#define SYS_ITERS 1000   /* sysstat reads timed per reader */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct summary {
	double mean_ns;
	double p95_ns;
};

static struct summary summarize(uint64_t *t, size_t n)
{
	struct summary s = { 0, 0 };
	double sum = 0;
	size_t i, k;

	if (n == 0)
		return s;
	for (i = 0; i < n; i++)
		sum += (double)t[i];
	qsort(t, n, sizeof(*t), cmp_u64);
	k = (n * 95 + 99) / 100; /* nearest-rank p95 */
	s.mean_ns = sum / (double)n;
	s.p95_ns = (double)t[k > 0 ? k - 1 : 0];
	return s;
}

enum mode { M_ALL, M_ALL_HELD, M_ALL_HELD_PROBED, M_NO_CGROUP_HELD, M_HANDLE, M_STAT_ONLY, M_FDS_GETDENTS, M_FDS_STSIZE };

static const char *const mode_names[] = {
	"all counters, procstat_read (open /proc/PID each time)",
	"all counters, procstat_read_at (held /proc/PID fds)",
	"all counters, held fds + procstat_probe() bits (fds from st_size)",
	"all but cgroup, held fds + probe bits",
	"all but cgroup, procstat_handle (pread of held files) + probe bits",
	"stat only, held fds",
	"fd count only: getdents64",
	"fd count only: fstatat st_size (kernel >= 6.2)",
};

/* One round over all children; returns failures. */
static unsigned probed; /* procstat_probe("/proc") */
static struct procstat_handle **handles;

static size_t round_once(enum mode m, const pid_t *pids, const int *dirfds, size_t n, uint64_t *ret_fds)
{
	struct procstat ps;
	struct stat st;
	uint64_t fds, total_fds = 0;
	size_t i, fail = 0;

	for (i = 0; i < n; i++) {
		int r = 0;

		switch (m) {
		case M_ALL:
			r = procstat_read("/proc", (uint32_t)pids[i], PROCSTAT_READ_ALL, &ps);
			total_fds += r == 0 ? ps.fds : 0;
			break;
		case M_ALL_HELD:
			r = procstat_read_at(dirfds[i], PROCSTAT_READ_ALL, &ps);
			break;
		case M_ALL_HELD_PROBED:
			r = procstat_read_at(dirfds[i], PROCSTAT_READ_ALL | probed, &ps);
			break;
		case M_NO_CGROUP_HELD:
			r = procstat_read_at(dirfds[i], (PROCSTAT_READ_ALL & ~PROCSTAT_READ_CGROUP) | probed, &ps);
			break;
		case M_HANDLE:
			r = procstat_handle_read(handles[i], &ps);
			break;
		case M_STAT_ONLY:
			r = procstat_read_at(dirfds[i], 0, &ps);
			break;
		case M_FDS_GETDENTS:
			r = procstat_count_fds(dirfds[i], &fds);
			total_fds += r >= 0 ? fds : 0;
			break;
		case M_FDS_STSIZE:
			r = fstatat(dirfds[i], "fd", &st, 0) < 0 ? -errno : 0;
			total_fds += r == 0 ? (uint64_t)st.st_size : 0;
			break;
		}
		if (r < 0)
			fail++;
	}
	if (ret_fds)
		*ret_fds = total_fds;
	return fail;
}

/* Held dirfds and handles need ~5 fds per process. */
static void raise_nofile(size_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
		rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int spawn(pid_t *pids, size_t n)
{
	pid_t parent = getpid();
	size_t i;

	for (i = 0; i < n; i++) {
		pid_t p = fork();

		if (p < 0) {
			fprintf(stderr, "fork child %zu: %s\n", i, strerror(errno));
			return -errno;
		}
		if (p == 0) {
			/* Die with the bench even if it crashes before killing us. */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(0);
			for (;;)
				pause();
		}
		pids[i] = p;
	}
	return 0;
}

static void reap(const pid_t *pids, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGKILL);
	for (i = 0; i < n; i++)
		if (pids[i] > 0)
			while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR)
				;
}

static void bench_sys(void)
{
	struct sysstat_cpu *cpu = sysstat_cpu_new(0);
	struct sysstat_meminfo mem;
	struct sysstat_loadavg load;
	struct sysstat_uptime up;
	struct sysstat_pressure pr;
	static const char *const names[] = {
		"sysstat_read_cpu (/proc/stat)", "sysstat_read_meminfo",
		"sysstat_read_loadavg", "sysstat_read_uptime",
		"sysstat_read_pressure (3 files)",
	};
	uint64_t *t = calloc(SYS_ITERS, sizeof(*t));
	size_t k, i;
	int r = 0;

	if (!cpu || !t) {
		fprintf(stderr, "out of memory\n");
		goto out;
	}
	printf("\n| system reader | mean µs | p95 µs |\n|---|---:|---:|\n");
	for (k = 0; k < 5; k++) {
		for (i = 0; i < SYS_ITERS; i++) {
			uint64_t t0 = now_ns();

			switch (k) {
			case 0: r = sysstat_read_cpu("/proc", cpu); break;
			case 1: r = sysstat_read_meminfo("/proc", &mem); break;
			case 2: r = sysstat_read_loadavg("/proc", &load); break;
			case 3: r = sysstat_read_uptime("/proc", &up); break;
			case 4: r = sysstat_read_pressure("/proc", &pr); break;
			}
			t[i] = now_ns() - t0;
			if (r < 0)
				fprintf(stderr, "%s: %s\n", names[k], strerror(-r));
		}
		struct summary s = summarize(t, SYS_ITERS);

		printf("| %s | %.1f | %.1f |\n", names[k], s.mean_ns / 1e3, s.p95_ns / 1e3);
	}
	printf("\n(/proc/stat: %u CPUs; pressure available for %d of 3 resources)\n",
	       cpu->ncpu, sysstat_read_pressure("/proc", &pr));
out:
	free(t);
	sysstat_cpu_free(cpu);
}

int main(int argc, char **argv)
{
	size_t nprocs = 1000, rounds = 20, i, m;
	pid_t *pids = NULL;
	int *dirfds = NULL, opt, ret = 1, r;
	uint64_t *t = NULL, fds_getdents = 0, fds_stsize = 0;

	while ((opt = getopt(argc, argv, "n:r:")) != -1) {
		switch (opt) {
		case 'n': nprocs = strtoul(optarg, NULL, 10); break;
		case 'r': rounds = strtoul(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: %s [-n procs (1..%d)] [-r rounds (1..%d)]\n",
				argv[0], MAX_PROCS, MAX_ROUNDS);
			return 2;
		}
	}
	if (nprocs < 1 || nprocs > MAX_PROCS || rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "procs must be 1..%d and rounds 1..%d\n", MAX_PROCS, MAX_ROUNDS);
		return 2;
	}
	pids = calloc(nprocs, sizeof(*pids));
	dirfds = malloc(nprocs * sizeof(*dirfds));
	t = calloc(rounds, sizeof(*t));
	if (!pids || !dirfds || !t) {
		fprintf(stderr, "out of memory\n");
		goto out;
	}
	for (i = 0; i < nprocs; i++)
		dirfds[i] = -1;
	raise_nofile(nprocs * 5 + 64);
	if (spawn(pids, nprocs) < 0)
		goto out;
	for (i = 0; i < nprocs; i++) {
		dirfds[i] = procstat_open("/proc", (uint32_t)pids[i]);
		if (dirfds[i] < 0) {
			fprintf(stderr, "open /proc/%d: %s\n", pids[i], strerror(-dirfds[i]));
			goto out;
		}
	}

	r = procstat_probe("/proc");
	probed = r > 0 ? (unsigned)r : 0;
	handles = calloc(nprocs, sizeof(*handles));
	if (!handles) {
		fprintf(stderr, "out of memory\n");
		goto out;
	}
	for (i = 0; i < nprocs; i++) {
		handles[i] = procstat_handle_open("/proc", (uint32_t)pids[i],
						  (PROCSTAT_READ_ALL & ~PROCSTAT_READ_CGROUP) | probed);
		if (!handles[i]) {
			fprintf(stderr, "handle for %d: %s (raise ulimit -n)\n", pids[i], strerror(errno));
			goto out;
		}
	}
	printf("procstat: %zu sleeping processes, %zu rounds (+1 warm-up)\n\n", nprocs, rounds);
	printf("| variant | mean ms/round | p95 ms/round | mean µs/process | failed reads |\n");
	printf("|---|---:|---:|---:|---:|\n");
	for (m = M_ALL; m <= M_FDS_STSIZE; m++) {
		size_t fail = 0;
		struct summary s;

		round_once((enum mode)m, pids, dirfds, nprocs, NULL); /* warm dentries */
		for (i = 0; i < rounds; i++) {
			uint64_t t0 = now_ns(), fds = 0;

			fail += round_once((enum mode)m, pids, dirfds, nprocs, &fds);
			t[i] = now_ns() - t0;
			if (m == M_FDS_GETDENTS)
				fds_getdents = fds;
			else if (m == M_FDS_STSIZE)
				fds_stsize = fds;
		}
		s = summarize(t, rounds);
		printf("| %s | %.2f | %.2f | %.2f | %zu |\n", mode_names[m], s.mean_ns / 1e6,
		       s.p95_ns / 1e6, s.mean_ns / 1e3 / (double)nprocs, fail);
	}
	printf("\n(fd totals per round: getdents64 %llu, st_size %llu; equal when the kernel reports fd counts in st_size)\n",
	       (unsigned long long)fds_getdents, (unsigned long long)fds_stsize);
	bench_sys();
	ret = 0;
out:
	if (dirfds)
		for (i = 0; i < nprocs; i++)
			if (dirfds[i] >= 0)
				close(dirfds[i]);
	if (handles)
		for (i = 0; i < nprocs; i++)
			procstat_handle_free(handles[i]);
	free(handles);
	if (pids)
		reap(pids, nprocs);
	free(pids);
	free(dirfds);
	free(t);
	return ret;
}
