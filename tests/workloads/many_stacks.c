/* SPDX-License-Identifier: GPL-2.0-only */
/* Workload with many distinct stacks: threads walk a call tree of 5
 * levels of 16 functions each, choosing every next call at random, for
 * --duration seconds. Each walk is one of 16^5 (about a million) paths,
 * so at 999 Hz a few tens of seconds leave tens of thousands of distinct
 * stacks in profd's store (most work is done in the leaves, 5 calls deep).
 * Built with frame pointers and without inlining or tail calls, so every
 * level is a frame. Prints {"walks": N} on stdout at the end. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "workload.h"

#define WIDTH 16
#define LEVELS 5

volatile uintptr_t workload_frame_sink;

typedef void (*step_fn)(uint64_t *rng);

static step_fn tree[LEVELS][WIDTH];
static volatile uint64_t sink;
static volatile int stop;

static uint64_t next_rand(uint64_t *st)
{
	FORCE_FRAME();
	*st ^= *st << 13;
	*st ^= *st >> 7;
	*st ^= *st << 17;
	return *st;
}

/* A little arithmetic, more in the leaves, different per function so no
 * two bodies are the same code. */
static void spin(uint64_t salt, uint64_t iters)
{
	uint64_t x = sink + salt;

	FORCE_FRAME();
	for (uint64_t i = 0; i < iters; i++)
		x = x * 6364136223846793005ull + 1442695040888963407ull + salt;
	sink = x;
}

#define STEP(l, i)                                                             \
	__attribute__((noinline)) static void f##l##_##i(uint64_t *rng)       \
	{                                                                      \
		FORCE_FRAME();                                                 \
		spin((l) * WIDTH + (i), (l) == LEVELS - 1 ? 4000 : 200);       \
		if ((l) + 1 < LEVELS)                                          \
			tree[((l) + 1) % LEVELS][next_rand(rng) % WIDTH](rng); \
		sink++; /* work after the call: never a tail call */           \
	}

#define LEVEL(l)                                                                                     \
	STEP(l, 0) STEP(l, 1) STEP(l, 2) STEP(l, 3) STEP(l, 4) STEP(l, 5) STEP(l, 6) STEP(l, 7)      \
	STEP(l, 8) STEP(l, 9) STEP(l, 10) STEP(l, 11) STEP(l, 12) STEP(l, 13) STEP(l, 14) STEP(l, 15)

LEVEL(0)
LEVEL(1)
LEVEL(2)
LEVEL(3)
LEVEL(4)

#define ROW(l)                                                                                          \
	{ f##l##_0, f##l##_1, f##l##_2, f##l##_3, f##l##_4, f##l##_5, f##l##_6, f##l##_7, f##l##_8,      \
	  f##l##_9, f##l##_10, f##l##_11, f##l##_12, f##l##_13, f##l##_14, f##l##_15 }

static step_fn tree[LEVELS][WIDTH] = { ROW(0), ROW(1), ROW(2), ROW(3), ROW(4) };

struct walker {
	pthread_t th;
	uint64_t seed, walks;
};

static void *walk(void *arg)
{
	struct walker *w = arg;

	while (!stop) {
		tree[0][next_rand(&w->seed) % WIDTH](&w->seed);
		w->walks++;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct walker w[64];
	struct timespec ts;
	double duration = 10;
	int threads = 2;
	uint64_t walks = 0;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--duration"))
			duration = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--threads"))
			threads = atoi(argv[i + 1]);
	}
	if (threads < 1 || threads > 64 || duration <= 0) {
		fprintf(stderr, "usage: many_stacks [--threads 1..64] [--duration SECONDS]\n");
		return 64;
	}
	for (int i = 0; i < threads; i++) {
		w[i] = (struct walker){ .seed = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1) };
		if (pthread_create(&w[i].th, NULL, walk, &w[i]) != 0)
			return 1;
	}
	ts.tv_sec = (time_t)duration;
	ts.tv_nsec = (long)((duration - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
	stop = 1;
	for (int i = 0; i < threads; i++) {
		pthread_join(w[i].th, NULL);
		walks += w[i].walks;
	}
	printf("{\"walks\": %llu}\n", (unsigned long long)walks);
	return 0;
}
