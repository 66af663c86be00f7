/* SPDX-License-Identifier: GPL-2.0-only */
/* Workload with known behaviour: spends fixed shares of its CPU time in
 * three named functions (default 50/30/20 %) for --duration seconds, then
 * prints the shares it really measured (thread CPU time around each call)
 * as JSON on stdout. With --switch S --shares2 A,B,C the shares change to
 * the second set S seconds into the run (a deploy that moved the hot
 * spot: what `profctl diff` must find). Built with frame pointers so stacks are complete. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "workload.h"

volatile uintptr_t workload_frame_sink;

static volatile uint64_t sink;

/* xorshift64: deterministic, per thread, good enough to break phase lock */
static uint64_t next_rand(uint64_t *st)
{
	*st ^= *st << 13;
	*st ^= *st >> 7;
	*st ^= *st << 17;
	return *st;
}

static uint64_t cpu_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* The same arithmetic in each function: only the iteration counts differ. */
#define SPIN_BODY(iters)                                         \
	do {                                                     \
		uint64_t x = sink + 1;                           \
		FORCE_FRAME();                                   \
		for (uint64_t i = 0; i < (iters); i++)           \
			x = x * 6364136223846793005ull + 1442695040888963407ull; \
		sink = x;                                        \
	} while (0)

void work_alpha(uint64_t iters);
void work_beta(uint64_t iters);
void work_gamma(uint64_t iters);

__attribute__((noinline)) void work_alpha(uint64_t iters) { SPIN_BODY(iters); }
__attribute__((noinline)) void work_beta(uint64_t iters) { SPIN_BODY(iters); }
__attribute__((noinline)) void work_gamma(uint64_t iters) { SPIN_BODY(iters); }

/* --warmup: spin here first, so that a profiler that learns about the
 * process at its first samples has done so before the measured phase. */
void warm_up(double seconds);
__attribute__((noinline)) void warm_up(double seconds)
{
	uint64_t end = cpu_ns(CLOCK_MONOTONIC) + (uint64_t)(seconds * 1e9);

	while (cpu_ns(CLOCK_MONOTONIC) < end)
		SPIN_BODY(100000);
}

struct worker {
	pthread_t th;
	uint64_t seed;
	uint64_t spent[3];
};

static double g_share[3] = { 50, 30, 20 }, g_share2[3] = { -1, -1, -1 };
static uint64_t g_per_ms, g_deadline, g_switch_at = UINT64_MAX;
static uint64_t g_cpu_budget; /* --cpu-seconds: stop once the process used this much CPU */

static int keep_going(void)
{
	return cpu_ns(CLOCK_MONOTONIC) < g_deadline && (!g_cpu_budget || cpu_ns(CLOCK_PROCESS_CPUTIME_ID) < g_cpu_budget);
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	void (*fn[3])(uint64_t) = { work_alpha, work_beta, work_gamma };

	while (keep_going()) {
		const double *share = g_share2[0] >= 0 && cpu_ns(CLOCK_MONOTONIC) >= g_switch_at ? g_share2 : g_share;

		/* One round split by the shares, its length (3..37 ms) and the
		 * order of the functions drawn at random: a fixed 20 ms round
		 * beats against a 99 Hz sampler (2 x 49.5 Hz = 99 Hz when the
		 * calibration is 1 % off) and the samples then alias onto the
		 * same phase of every round. */
		double len = 3.0 + (double)(next_rand(&w->seed) % 3400) / 100.0;
		int first = (int)(next_rand(&w->seed) % 3);

		for (int k = 0; k < 3; k++) {
			int f = (first + k) % 3;
			uint64_t a = cpu_ns(CLOCK_THREAD_CPUTIME_ID);
			fn[f]((uint64_t)((double)g_per_ms * len * share[f] / 100.0));
			w->spent[f] += cpu_ns(CLOCK_THREAD_CPUTIME_ID) - a;
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	double duration = 10.0, switch_s = -1, warmup = 0.0;
	uint64_t spent[3] = { 0 }, t0;
	const char *names[3] = { "work_alpha", "work_beta", "work_gamma" };
	struct worker w[16];
	int nthreads = 2;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--duration") && i + 1 < argc)
			duration = atof(argv[++i]);
		else if (!strcmp(argv[i], "--shares") && i + 1 < argc)
			sscanf(argv[++i], "%lf,%lf,%lf", &g_share[0], &g_share[1], &g_share[2]);
		else if (!strcmp(argv[i], "--shares2") && i + 1 < argc)
			sscanf(argv[++i], "%lf,%lf,%lf", &g_share2[0], &g_share2[1], &g_share2[2]);
		else if (!strcmp(argv[i], "--switch") && i + 1 < argc)
			switch_s = atof(argv[++i]);
		else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
			nthreads = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--warmup") && i + 1 < argc)
			warmup = atof(argv[++i]);
		else if (!strcmp(argv[i], "--cpu-seconds") && i + 1 < argc)
			g_cpu_budget = (uint64_t)(atof(argv[++i]) * 1e9);
		else {
			fprintf(stderr, "usage: cpu_shares [--duration S] [--shares A,B,C] [--threads N] [--warmup S]\n"
					"                  [--cpu-seconds S]   (stop at S s of CPU, before --duration)\n"
					"                  [--switch S --shares2 A,B,C]\n");
			return 64;
		}
	}
	if (nthreads < 1 || nthreads > 16)
		return 64;
	/* Calibrate iterations per ms of CPU. */
	t0 = cpu_ns(CLOCK_THREAD_CPUTIME_ID);
	work_alpha(2000000);
	g_per_ms = 2000000ull * 1000000ull / (cpu_ns(CLOCK_THREAD_CPUTIME_ID) - t0 + 1);
	if (!g_per_ms)
		g_per_ms = 1;
	fprintf(stderr, "cpu_shares: pid %d, %d threads, %llu iterations/ms\n", (int)getpid(), nthreads,
		(unsigned long long)g_per_ms);
	printf("{\"pid\": %d, \"ready\": true}\n", (int)getpid());
	fflush(stdout);
	if (warmup > 0)
		warm_up(warmup);

	g_deadline = cpu_ns(CLOCK_MONOTONIC) + (uint64_t)(duration * 1e9);
	if (switch_s >= 0)
		g_switch_at = cpu_ns(CLOCK_MONOTONIC) + (uint64_t)(switch_s * 1e9);
	for (int i = 0; i < nthreads; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].seed = 88172645463325252ull + 7919ull * (uint64_t)i;
		pthread_create(&w[i].th, NULL, worker_run, &w[i]);
	}
	for (int i = 0; i < nthreads; i++) {
		pthread_join(w[i].th, NULL);
		for (int f = 0; f < 3; f++)
			spent[f] += w[i].spent[f];
	}
	uint64_t total = cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
	printf("{\"pid\": %d, \"total_cpu_ns\": %llu", (int)getpid(), (unsigned long long)total);
	for (int f = 0; f < 3; f++)
		printf(", \"%s\": %.4f", names[f], (double)spent[f] / (double)total);
	printf("}\n");
	return 0;
}
