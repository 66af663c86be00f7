/* Workload with known behaviour: spends fixed shares of its CPU time in
 * three named functions (default 50/30/20 %) for --duration seconds, then
 * prints the shares it really measured (thread CPU time around each call)
 * as JSON on stdout. Built with frame pointers so stacks are complete. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "workload.h"

volatile uintptr_t workload_frame_sink;

static volatile uint64_t sink;

static uint64_t rand_state = 88172645463325252ull;

/* xorshift64: deterministic, no libc state, good enough to break phase lock */
static uint64_t next_rand(void)
{
	rand_state ^= rand_state << 13;
	rand_state ^= rand_state >> 7;
	rand_state ^= rand_state << 17;
	return rand_state;
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

int main(int argc, char **argv)
{
	double duration = 10.0, share[3] = { 50, 30, 20 };
	uint64_t spent[3] = { 0 }, per_ms, t0, deadline;
	void (*fn[3])(uint64_t) = { work_alpha, work_beta, work_gamma };
	const char *names[3] = { "work_alpha", "work_beta", "work_gamma" };

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--duration") && i + 1 < argc)
			duration = atof(argv[++i]);
		else if (!strcmp(argv[i], "--shares") && i + 1 < argc)
			sscanf(argv[++i], "%lf,%lf,%lf", &share[0], &share[1], &share[2]);
		else {
			fprintf(stderr, "usage: cpu_shares [--duration S] [--shares A,B,C]\n");
			return 64;
		}
	}
	/* Calibrate iterations per ms of CPU. */
	t0 = cpu_ns(CLOCK_THREAD_CPUTIME_ID);
	work_alpha(2000000);
	per_ms = 2000000ull * 1000000ull / (cpu_ns(CLOCK_THREAD_CPUTIME_ID) - t0 + 1);
	if (!per_ms)
		per_ms = 1;
	fprintf(stderr, "cpu_shares: pid %d, %llu iterations/ms\n", (int)getpid(), (unsigned long long)per_ms);
	printf("{\"pid\": %d, \"ready\": true}\n", (int)getpid());
	fflush(stdout);

	deadline = cpu_ns(CLOCK_MONOTONIC) + (uint64_t)(duration * 1e9);
	memset(spent, 0, sizeof(spent));
	while (cpu_ns(CLOCK_MONOTONIC) < deadline) {
		/* One round split by the shares, its length (3..37 ms) and the
		 * order of the functions drawn at random: a fixed 20 ms round
		 * beats against a 99 Hz sampler (2 x 49.5 Hz = 99 Hz when the
		 * calibration is 1 % off) and the samples then alias onto the
		 * same phase of every round. */
		double len = 3.0 + (double)(next_rand() % 3400) / 100.0;
		int first = (int)(next_rand() % 3);

		for (int k = 0; k < 3; k++) {
			int f = (first + k) % 3;
			uint64_t a = cpu_ns(CLOCK_THREAD_CPUTIME_ID);
			fn[f]((uint64_t)(per_ms * len * share[f] / 100.0));
			spent[f] += cpu_ns(CLOCK_THREAD_CPUTIME_ID) - a;
		}
	}
	uint64_t total = cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
	printf("{\"pid\": %d, \"total_cpu_ns\": %llu", (int)getpid(), (unsigned long long)total);
	for (int f = 0; f < 3; f++)
		printf(", \"%s\": %.4f", names[f], (double)spent[f] / (double)total);
	printf("}\n");
	return 0;
}
