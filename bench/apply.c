/* SPDX-License-Identifier: GPL-2.0-only */
/* Benchmark: the loop's share of resource collection, alone. Builds a
 * fixture procfs of N processes in a temporary directory, runs resources
 * with inline collection (no BPF, no thread: the round's /proc reads are
 * timed apart) and times, per tick, what the loop pays: resources_apply
 * (snapshot -> process table, windows) and window_tick (slot close, roll-up,
 * packing). Scenarios: N processes appearing at once, then steady ticks,
 * then every process's counters moving at once (all gauges recorded), then
 * M more processes appearing at once. Wall time is what the loop waits on a
 * busy host; the thread's CPU time is the work itself.
 * usage: bench_apply [-n 5000] [-m 1000] [-t TICKS] */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collect/resources.h"
#include "common/clock.h"
#include "store/proctable.h"
#include "store/window.h"

#define S 1000000000ull
#define MAX_N 100000

static char root[64];

static int put(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fputs(text, f);
	fclose(f);
	return 0;
}

/* A process: stat, status, io, cgroup, cmdline; counters scaled by gen. */
static int mkproc(unsigned pid, unsigned gen)
{
	char rel[160], text[1024];

	snprintf(rel, sizeof(rel), "%s/%u", root, pid);
	mkdir(rel, 0755);
	snprintf(rel, sizeof(rel), "%s/%u/fd", root, pid);
	mkdir(rel, 0755);
	snprintf(rel, sizeof(rel), "%u/stat", pid);
	snprintf(text, sizeof(text),
		 "%u (w%u) S 1 %u %u 0 -1 4194560 %u 0 %u 0 10 5 0 0 20 0 1 0 %u 12345678 %u 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0\n",
		 pid, pid, pid, pid, 100 + gen * 7, gen, 1000 + pid, 256 + gen);
	if (put(rel, text) < 0)
		return -1;
	snprintf(rel, sizeof(rel), "%u/status", pid);
	snprintf(text, sizeof(text),
		 "Name:\tw%u\nState:\tS (sleeping)\nTgid:\t%u\nPid:\t%u\nPPid:\t1\nUid:\t0\t0\t0\t0\nVmRSS:\t%u kB\nThreads:\t1\n",
		 pid, pid, pid, 1024 + gen * 64);
	put(rel, text);
	snprintf(rel, sizeof(rel), "%u/io", pid);
	snprintf(text, sizeof(text), "rchar: 0\nwchar: 0\nread_bytes: %u\nwrite_bytes: 0\ncancelled_write_bytes: 0\n", gen * 4096);
	put(rel, text);
	snprintf(rel, sizeof(rel), "%u/cgroup", pid);
	put(rel, "0::/system.slice/w.service\n");
	snprintf(rel, sizeof(rel), "%u/cmdline", pid);
	snprintf(text, sizeof(text), "/usr/bin/w%u", pid);
	return put(rel, text);
}

static void mksys(unsigned k)
{
	char text[256];

	snprintf(text, sizeof(text), "cpu  %u 0 0 %u 0 0 0 0 0 0\ncpu0 %u 0 0 %u 0 0 0 0 0 0\n", 100 * k, 100 * k, 100 * k,
		 100 * k);
	put("stat", text);
}

struct tickt {
	double apply_ms, window_ms, round_ms;
	double apply_cpu_ms, window_cpu_ms; /* this thread's CPU time: the work, without waits for a CPU */
	int applied;
};

static struct tickt tick(struct resources *r, struct window *w, unsigned k)
{
	uint64_t boundary = 5000 * S + k * S, now = boundary + 5000000, t0, t1, t2, c1, c2, c3;
	struct res_stats st;
	struct tickt t;

	mksys(k);
	t0 = clock_mono_ns();
	resources_tick(r, now, boundary - 1); /* inline: the /proc round */
	t1 = clock_mono_ns();
	c1 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	t.applied = resources_apply(r);
	c2 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	t2 = clock_mono_ns();
	window_tick(w, now);
	c3 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	resources_get_stats(r, &st);
	t.round_ms = (double)(t1 - t0) / 1e6;
	t.apply_ms = (double)st.apply_ns / 1e6;
	t.window_ms = (double)(clock_mono_ns() - t2) / 1e6;
	t.apply_cpu_ms = (double)(c2 - c1) / 1e6;
	t.window_cpu_ms = (double)(c3 - c2) / 1e6;
	return t;
}

static void report(const char *what, struct tickt *v, unsigned n)
{
	double amax = 0, wmax = 0, rmax = 0, acmax = 0, wcmax = 0;

	for (unsigned i = 0; i < n; i++) {
		amax = v[i].apply_ms > amax ? v[i].apply_ms : amax;
		wmax = v[i].window_ms > wmax ? v[i].window_ms : wmax;
		rmax = v[i].round_ms > rmax ? v[i].round_ms : rmax;
		acmax = v[i].apply_cpu_ms > acmax ? v[i].apply_cpu_ms : acmax;
		wcmax = v[i].window_cpu_ms > wcmax ? v[i].window_cpu_ms : wcmax;
	}
	printf("| %s | %u | %.2f | %.2f | %.2f | %.2f | %.1f |\n", what, n, amax, acmax, wmax, wcmax, rmax);
}

int main(int argc, char **argv)
{
	unsigned n = 5000, m = 1000, ticks = 12, k = 1, c;
	struct window_opts wo = {
		.ntiers = 2,
		.tier = { { .slot_ns = S, .slots = 600 }, { .slot_ns = 60 * S, .slots = 1440 } },
		.max_bytes = 256u << 20,
	};
	struct proctable *pt = NULL;
	struct window *w = NULL;
	struct resources *r = NULL;
	struct tickt *v;
	char cmd[128];

	while ((c = (unsigned)getopt(argc, argv, "n:m:t:")) != (unsigned)-1) {
		if (c == 'n')
			n = (unsigned)atoi(optarg);
		else if (c == 'm')
			m = (unsigned)atoi(optarg);
		else if (c == 't')
			ticks = (unsigned)atoi(optarg);
		else
			return 64;
	}
	if (n < 1 || n + m > MAX_N || ticks < 2)
		return 64;
	snprintf(root, sizeof(root), "/tmp/profd-bench-apply-XXXXXX");
	if (!mkdtemp(root))
		return 1;
	v = calloc(ticks, sizeof(*v));
	for (unsigned i = 0; i < n; i++)
		mkproc(10000 + i, 0);
	mksys(0);
	if (!v || proctable_new(NULL, 65536, &pt) < 0 || window_new(&wo, 5000 * S, &w) < 0 ||
	    resources_new(&(struct resources_opts){ .procs = pt, .win = w, .procfs = root, .nvml_path = "",
						     .tick_ns = S, .max_procs = 65536, .no_kstats = 1,
						     .inline_collect = 1 },
			  &r) < 0)
		return 1;
	printf("| scenario | ticks | apply max ms (wall) | apply max ms (CPU) | window_tick max ms (wall) | window_tick max ms (CPU) | round max ms (collector, wall) |\n");
	printf("|---|---|---|---|---|---|---|\n");
	for (unsigned i = 0; i < ticks; i++)
		v[i] = tick(r, w, k++);
	snprintf(cmd, sizeof(cmd), "%u processes appear at once", n);
	report(cmd, v, ticks);
	for (unsigned i = 0; i < ticks; i++)
		v[i] = tick(r, w, k++);
	report("steady (a tenth re-read per tick)", v, ticks);
	for (unsigned i = 0; i < n; i++)
		mkproc(10000 + i, 1);
	for (unsigned i = 0; i < ticks; i++)
		v[i] = tick(r, w, k++);
	report("every counter moves once", v, ticks);
	for (unsigned i = 0; i < m; i++)
		mkproc(10000 + n + i, 0);
	for (unsigned i = 0; i < ticks; i++)
		v[i] = tick(r, w, k++);
	snprintf(cmd, sizeof(cmd), "%u more appear at once", m);
	report(cmd, v, ticks);
	resources_free(r);
	window_free(w);
	proctable_free(pt);
	free(v);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : 1;
}
