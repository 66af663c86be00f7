/* SPDX-License-Identifier: GPL-2.0-only */
/* bench_spin: a CPU-bound throughput workload for overhead measurements.
 * N threads run the same deterministic integer hash loop for D seconds;
 * the total rate (ops_per_sec) drops by what a profiler steals from them. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One op = one hash step. Batches are long enough that checking the stop
 * flag costs nothing measurable, short enough (~10 µs) to stop promptly. */
#define BATCH 4096

static atomic_bool stop;

struct worker {
	pthread_t thread;
	uint64_t seed;
	uint64_t ops;
	uint64_t sink; /* result kept so the loop cannot be optimized away */
};

/* A few real frames so that profiles of this workload have stacks of a
 * known shape: spin_thread -> spin_batch -> spin_mix. */
__attribute__((noinline)) static uint64_t spin_mix(uint64_t x)
{
	/* splitmix64 finalizer: integer multiply, shifts, xors. */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

__attribute__((noinline)) static uint64_t spin_batch(uint64_t h)
{
	for (int i = 0; i < BATCH; i++)
		h = spin_mix(h + (uint64_t)i);
	return h;
}

static void *spin_thread(void *arg)
{
	struct worker *w = arg;
	uint64_t h = w->seed;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		h = spin_batch(h);
		w->ops += BATCH;
	}
	w->sink = h;
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: bench_spin [--threads N] [--duration SECONDS]\n"
		   "Runs N threads (default 2) of a fixed hash loop for SECONDS (default 10)\n"
		   "and prints \"ops_per_sec <total>\".\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "threads", required_argument, NULL, 't' },
		{ "duration", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	long nthreads = 2;
	double duration = 10.0;
	struct worker *w;
	struct timespec req;
	uint64_t total = 0, sink = 0;
	double t0, t1;
	char *end;
	int c, r;

	while ((c = getopt_long(argc, argv, "t:d:h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			errno = 0;
			nthreads = strtol(optarg, &end, 10);
			if (errno || *end || nthreads < 1 || nthreads > 1024) {
				fprintf(stderr, "bench_spin: --threads must be 1..1024\n");
				return 2;
			}
			break;
		case 'd':
			errno = 0;
			duration = strtod(optarg, &end);
			if (errno || *end || !(duration > 0 && duration <= 86400)) {
				fprintf(stderr, "bench_spin: --duration must be a number of seconds in (0, 86400]\n");
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

	w = calloc((size_t)nthreads, sizeof(*w));
	if (!w) {
		perror("bench_spin: calloc");
		return 1;
	}
	t0 = now_s();
	for (long i = 0; i < nthreads; i++) {
		w[i].seed = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
		r = pthread_create(&w[i].thread, NULL, spin_thread, &w[i]);
		if (r) {
			fprintf(stderr, "bench_spin: pthread_create: %s\n", strerror(r));
			return 1;
		}
	}
	req.tv_sec = (time_t)duration;
	req.tv_nsec = (long)((duration - (double)req.tv_sec) * 1e9);
	while (nanosleep(&req, &req) < 0 && errno == EINTR)
		;
	atomic_store(&stop, true);
	for (long i = 0; i < nthreads; i++) {
		pthread_join(w[i].thread, NULL);
		total += w[i].ops;
		sink ^= w[i].sink;
	}
	/* Measured to the last join: the threads' final batch counts too. */
	t1 = now_s();
	printf("ops_per_sec %.1f\n", (double)total / (t1 - t0));
	/* Keeps the results observable; also a cheap determinism check. */
	fprintf(stderr, "bench_spin: threads=%ld duration=%.3fs ops=%llu check=%016llx\n", nthreads, t1 - t0,
		(unsigned long long)total, (unsigned long long)sink);
	free(w);
	return 0;
}
