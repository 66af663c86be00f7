/* SPDX-License-Identifier: GPL-2.0-only */
/* bench_sched_cost: what the scheduler BPF programs (bpf/sched.bpf.c, loaded
 * through kstats exactly as profd loads them) cost per context switch.
 *
 * Ping-pong: two threads pinned to one CPU bounce a byte over two pipes, so
 * every round trip is two context switches and two wake-ups and nothing
 * else runs between them. Rounds alternate between "without" (no programs)
 * and "with" (kstats loaded); ns per switch = wall time / switches, where
 * switches are the threads' own nvcsw + nivcsw (getrusage RUSAGE_THREAD).
 * Those rounds run with BPF run-time statistics off, since the statistics
 * themselves add two clock reads per program run.
 *
 * Then, with statistics on (BPF_ENABLE_STATS: held by an fd, so the
 * kernel's previous setting comes back when the fd closes, even if this
 * program is killed), one ping-pong round and one CPU-bound round (one
 * spinning thread per CPU) report each profd program's run_cnt and
 * run_time_ns from bpf_prog_info: ns per event as the kernel measures it.
 *
 * Prints a Markdown report on stdout. Root. Never part of meson test. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "base/log.h"
#include "collect/kstats.h"
#include "common/clock.h"

#define MAX_PROGS 32
#define MAX_ROUNDS 100
#define MAX_SPIN 1024

/* ---- ping-pong ------------------------------------------------------------ */

struct pp {
	int ab[2], ba[2]; /* pipes: a writes ab, b writes ba */
	int cpu;
	uint64_t sw[2]; /* switches of each thread over the run */
};

static uint64_t thread_switches(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_THREAD, &ru))
		return 0;
	return (uint64_t)ru.ru_nvcsw + (uint64_t)ru.ru_nivcsw;
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void *pp_b(void *arg)
{
	struct pp *p = arg;
	uint64_t s0;
	char c;

	pin(p->cpu);
	s0 = thread_switches();
	/* Echo until a reads EOF: a closes ab when it stops. */
	while (read(p->ab[0], &c, 1) == 1)
		if (write(p->ba[1], &c, 1) != 1)
			break;
	p->sw[1] = thread_switches() - s0;
	return NULL;
}

/* Returns wall ns of the run; p->trips and p->sw filled. */
static uint64_t pingpong(int cpu, double seconds, uint64_t *ret_trips, uint64_t *ret_switches)
{
	struct pp p = {.cpu = cpu};
	pthread_t tb;
	uint64_t t0, t1, end, s0, trips = 0;
	char c = 'x';

	if (pipe2(p.ab, O_CLOEXEC) || pipe2(p.ba, O_CLOEXEC)) {
		perror("bench_sched_cost: pipe2");
		exit(1);
	}
	pin(cpu);
	if (pthread_create(&tb, NULL, pp_b, &p)) {
		perror("bench_sched_cost: pthread_create");
		exit(1);
	}
	/* Warm-up: both threads on the CPU and in the loop. */
	for (int i = 0; i < 1000; i++)
		if (write(p.ab[1], &c, 1) != 1 || read(p.ba[0], &c, 1) != 1)
			break;
	s0 = thread_switches();
	/* b's count started before the warm-up: subtract its share below. */
	t0 = clock_mono_ns();
	end = t0 + (uint64_t)(seconds * 1e9);
	for (;;) {
		/* Check the clock every 256 trips (a vDSO call each time would
		 * be part of what is measured, with or without programs). */
		for (int i = 0; i < 256; i++)
			if (write(p.ab[1], &c, 1) != 1 || read(p.ba[0], &c, 1) != 1)
				goto out;
		trips += 256;
		if (clock_mono_ns() >= end)
			break;
	}
out:
	t1 = clock_mono_ns();
	p.sw[0] = thread_switches() - s0;
	close(p.ab[1]);
	pthread_join(tb, NULL);
	close(p.ab[0]);
	close(p.ba[0]);
	close(p.ba[1]);
	/* b switched once per trip in the warm-up too (1000 trips). */
	*ret_trips = trips;
	*ret_switches = p.sw[0] + (p.sw[1] > 1000 ? p.sw[1] - 1000 : 0);
	return t1 - t0;
}

/* ---- CPU-bound ---------------------------------------------------------------- */

static atomic_int spin_stop;

static void *spin_thread(void *arg)
{
	volatile uint64_t x = (uintptr_t)arg;

	while (!atomic_load_explicit(&spin_stop, memory_order_relaxed))
		for (int i = 0; i < 4096; i++)
			x = x * 6364136223846793005ull + 1442695040888963407ull;
	return NULL;
}

static void spin(int nthreads, double seconds)
{
	pthread_t t[MAX_SPIN];
	struct timespec ts = {.tv_sec = (time_t)seconds, .tv_nsec = (long)((seconds - (time_t)seconds) * 1e9)};

	atomic_store(&spin_stop, 0);
	for (int i = 0; i < nthreads; i++)
		pthread_create(&t[i], NULL, spin_thread, (void *)(uintptr_t)(i + 1));
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	atomic_store(&spin_stop, 1);
	for (int i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
}

/* ---- BPF program statistics --------------------------------------------------- */

struct prog {
	uint32_t id;
	char name[64];
	uint64_t cnt, ns;
};

/* Program ids present now (to tell ours apart: the ones that appear when
 * kstats loads). */
static int prog_ids(uint32_t *ids, int max)
{
	uint32_t id = 0;
	int n = 0;

	while (n < max && !bpf_prog_get_next_id(id, &id))
		ids[n++] = id;
	return n;
}

/* The program's full name: info.name is cut to 15 bytes
 * ("profd_sched_wak" is both wake-up programs); its BTF function name is
 * not. */
static void prog_full_name(int fd, const struct bpf_prog_info *info, char *buf, size_t len)
{
	struct bpf_func_info fi[1];
	struct bpf_prog_info i2;
	uint32_t l2 = sizeof(i2);
	struct btf *btf;
	const char *name;

	snprintf(buf, len, "%s", info->name);
	if (!info->btf_id || !info->nr_func_info)
		return;
	memset(&i2, 0, sizeof(i2));
	i2.nr_func_info = 1;
	i2.func_info_rec_size = sizeof(fi[0]);
	i2.func_info = (uintptr_t)fi;
	if (bpf_obj_get_info_by_fd(fd, &i2, &l2))
		return;
	btf = btf__load_from_kernel_by_id(info->btf_id);
	if (!btf)
		return;
	name = btf__name_by_offset(btf, btf__type_by_id(btf, fi[0].type_id)->name_off);
	if (name && *name)
		snprintf(buf, len, "%s", name);
	btf__free(btf);
}

static int prog_read(struct prog *p)
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(p->id), err;

	if (fd < 0)
		return -errno;
	memset(&info, 0, sizeof(info));
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	if (!err && !p->name[0])
		prog_full_name(fd, &info, p->name, sizeof(p->name));
	close(fd);
	if (err)
		return err;
	p->cnt = info.run_cnt;
	p->ns = info.run_time_ns;
	return 0;
}

/* The programs kstats loaded: ids not in before[]. */
static int progs_new(const uint32_t *before, int nb, struct prog *out, int max)
{
	uint32_t ids[4096];
	int n = prog_ids(ids, 4096), k = 0;

	for (int i = 0; i < n && k < max; i++) {
		int old = 0;

		for (int j = 0; j < nb && !old; j++)
			old = ids[i] == before[j];
		if (old)
			continue;
		out[k].id = ids[i];
		out[k].name[0] = 0;
		if (!prog_read(&out[k]) && !strncmp(out[k].name, "profd_", 6))
			k++;
	}
	return k;
}

static void progs_snap(struct prog *p, int n)
{
	for (int i = 0; i < n; i++)
		prog_read(&p[i]);
}

static void progs_report(const char *what, const struct prog *a, const struct prog *b, int n, uint64_t switches,
			 double secs)
{
	printf("\n#### Per program, %s (%.1f s%s)\n\n", what, secs, switches ? "" : ", one spinning thread per CPU");
	printf("| program | runs | runs per s | ns per run |%s\n", switches ? " runs per switch |" : "");
	printf("|---|---|---|---|%s\n", switches ? "---|" : "");
	for (int i = 0; i < n; i++) {
		uint64_t c = b[i].cnt - a[i].cnt, ns = b[i].ns - a[i].ns;

		if (!c)
			continue;
		printf("| `%s` | %llu | %.0f | %.1f |", b[i].name, (unsigned long long)c, (double)c / secs,
		       (double)ns / (double)c);
		if (switches)
			printf(" %.2f |", (double)c / (double)switches);
		printf("\n");
	}
}

/* ---- main ---------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: bench_sched_cost [--duration SECONDS] [--rounds N] [--cpu CPU] [--pingpong]\n"
		   "  --duration S  seconds per measurement (default 5)\n"
		   "  --rounds N    ping-pong rounds without and with the programs (default 5)\n"
		   "  --cpu C       CPU the ping-pong threads are pinned to (default 0)\n"
		   "  --pingpong    one ping-pong run, no programs loaded by this program:\n"
		   "                prints \"ns_per_switch N switches N\" (bench/run times\n"
		   "                switches with and without a running profd)\n");
}

static struct kstats *load(void)
{
	struct kstats *k = NULL;
	int err = kstats_new(NULL, NULL, &k);

	if (err) {
		fprintf(stderr, "bench_sched_cost: kstats_new: %s\n", strerror(-err));
		exit(1);
	}
	if (!(kstats_parts(k) & KSTATS_PART_ONCPU)) {
		fprintf(stderr, "bench_sched_cost: the scheduler programs did not attach\n");
		exit(1);
	}
	return k;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"duration", required_argument, NULL, 'd'},
		{"rounds", required_argument, NULL, 'r'},
		{"cpu", required_argument, NULL, 'c'},
		{"pingpong", no_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	double duration = 5, without[MAX_ROUNDS], with[MAX_ROUNDS], tw0 = 0, tw1 = 0;
	int rounds = 5, cpu = 0, c, nprog, stats_fd, ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN), only_pp = 0;
	uint32_t before[4096];
	int nb;
	struct prog p0[MAX_PROGS], p1[MAX_PROGS];
	struct kstats *k;
	struct utsname u;
	char *end;

	while ((c = getopt_long(argc, argv, "d:r:c:ph", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			only_pp = 1;
			break;
		case 'd':
			duration = strtod(optarg, &end);
			if (*end || !(duration >= 0.5 && duration <= 3600)) {
				fprintf(stderr, "bench_sched_cost: --duration must be in [0.5, 3600] s\n");
				return 2;
			}
			break;
		case 'r':
			rounds = (int)strtol(optarg, &end, 10);
			if (*end || rounds < 1 || rounds > MAX_ROUNDS) {
				fprintf(stderr, "bench_sched_cost: --rounds must be 1..%d\n", MAX_ROUNDS);
				return 2;
			}
			break;
		case 'c':
			cpu = (int)strtol(optarg, &end, 10);
			if (*end || cpu < 0 || cpu >= ncpu) {
				fprintf(stderr, "bench_sched_cost: --cpu must be 0..%d\n", ncpu - 1);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (only_pp) {
		uint64_t trips, sw, ns = pingpong(cpu, duration, &trips, &sw);

		printf("ns_per_switch %.1f switches %llu\n", (double)ns / (double)(sw ? sw : 1), (unsigned long long)sw);
		return 0;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "bench_sched_cost: must run as root (loads BPF programs)\n");
		return 1;
	}
	log_set_level(LOG_WARNING);
	libbpf_set_print(NULL);
	if (ncpu > MAX_SPIN)
		ncpu = MAX_SPIN;

	/* Ping-pong rounds, statistics off; the order alternates so drift
	 * does not always fall on one side. */
	for (int r = 0; r < rounds; r++) {
		for (int m = 0; m < 2; m++) {
			int loaded = (m + r) % 2;
			uint64_t trips, sw, ns;

			k = loaded ? load() : NULL;
			ns = pingpong(cpu, duration, &trips, &sw);
			kstats_free(k);
			(loaded ? with : without)[r] = (double)ns / (double)(sw ? sw : 1);
			fprintf(stderr, "bench_sched_cost: round %d %s: %llu trips, %llu switches, %.1f ns/switch\n",
				r + 1, loaded ? "with" : "without", (unsigned long long)trips, (unsigned long long)sw,
				(double)ns / (double)(sw ? sw : 1));
		}
	}

	uname(&u);
	printf("### Scheduler programs: cost per context switch (`bench/sched_cost`)\n\n");
	printf("Kernel %s, %d CPUs online; %d rounds of %.1f s; ping-pong threads pinned to CPU %d.\n\n", u.release,
	       (int)sysconf(_SC_NPROCESSORS_ONLN), rounds, duration, cpu);
	printf("| round | without, ns/switch | with, ns/switch | difference |\n|---|---|---|---|\n");
	for (int r = 0; r < rounds; r++)
		printf("| %d | %.1f | %.1f | %+.1f |\n", r + 1, without[r], with[r], with[r] - without[r]);
	tw0 = median(without, rounds);
	tw1 = median(with, rounds);
	printf("| median | %.1f | %.1f | **%+.1f** (%+.1f %%) |\n", tw0, tw1, tw1 - tw0, (tw1 - tw0) / tw0 * 100);

	/* Per-program figures, statistics on. */
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (stats_fd < 0) {
		printf("\nPer-program statistics: not measured (BPF_ENABLE_STATS: %s).\n", strerror(errno));
		return 0;
	}
	nb = prog_ids(before, 4096);
	k = load();
	nprog = progs_new(before, nb, p0, MAX_PROGS);
	{
		uint64_t trips, sw, ns;

		progs_snap(p0, nprog);
		memcpy(p1, p0, sizeof(p0));
		ns = pingpong(cpu, duration, &trips, &sw);
		progs_snap(p1, nprog);
		progs_report("ping-pong", p0, p1, nprog, sw, (double)ns / 1e9);
		printf("\nWith statistics on: %.1f ns/switch (the statistics add two clock reads per run).\n",
		       (double)ns / (double)(sw ? sw : 1));
	}
	{
		uint64_t t0 = clock_mono_ns(), t1;

		progs_snap(p0, nprog);
		spin(ncpu, duration);
		t1 = clock_mono_ns();
		progs_snap(p1, nprog);
		progs_report("CPU-bound", p0, p1, nprog, 0, (double)(t1 - t0) / 1e9);
	}
	kstats_free(k);
	close(stats_fd);
	return 0;
}
