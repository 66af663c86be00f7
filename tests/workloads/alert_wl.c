/* SPDX-License-Identifier: GPL-2.0-only */
/* Workloads with known behaviour for the alert tests, one per sub-command
 * (built under several names so each has its own comm):
 *   burn SECONDS              spin in burn_hot() (called from burn_loop())
 *   leak MIB_PER_S SECONDS    allocate and touch MIB_PER_S MiB every second,
 *                             in ten steps, never freed: RSS grows steadily
 *   saw MIB_PER_S RISE SECONDS  grow at MIB_PER_S for RISE seconds, then
 *                             unmap it all (back to the base), again and again
 *   fds PER_S MAX SECONDS     open /dev/null PER_S times a second up to MAX
 *                             descriptors (the soft limit raised to the hard
 *                             one), then hold them
 * Prints {"pid": N} when its measured phase starts; exits after SECONDS. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "workload.h"

volatile uintptr_t workload_frame_sink;
static volatile uint64_t sink;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void ready(void)
{
	printf("{\"pid\": %d}\n", (int)getpid());
	fflush(stdout);
}

/* Sleep until t (CLOCK_MONOTONIC ns). */
static void sleep_until(uint64_t t)
{
	struct timespec ts = { .tv_sec = (time_t)(t / 1000000000ull), .tv_nsec = (long)(t % 1000000000ull) };

	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

void burn_hot(uint64_t iters);
void burn_loop(uint64_t end);

__attribute__((noinline)) void burn_hot(uint64_t iters)
{
	uint64_t x = sink + 1;

	FORCE_FRAME();
	for (uint64_t i = 0; i < iters; i++)
		x = x * 6364136223846793005ull + 1442695040888963407ull;
	sink = x;
}

__attribute__((noinline)) void burn_loop(uint64_t end)
{
	FORCE_FRAME();
	while (now_ns() < end)
		burn_hot(200000);
}

/* Map and touch n bytes; NULL on failure. */
static char *grab(size_t n)
{
	char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	for (size_t i = 0; i < n; i += 4096)
		p[i] = 1;
	return p;
}

static int leak(double mib_per_s, double secs)
{
	size_t step = (size_t)(mib_per_s * 1048576.0 / 10);
	uint64_t t = now_ns(), end = t + (uint64_t)(secs * 1e9);

	ready();
	while (t < end) {
		if (!grab(step))
			return 1;
		t += 100000000ull;
		sleep_until(t);
	}
	return 0;
}

static int saw(double mib_per_s, double rise, double secs)
{
	size_t step = (size_t)(mib_per_s * 1048576.0 / 10);
	int steps = (int)(rise * 10);
	char **held = calloc((size_t)steps, sizeof(*held));
	uint64_t t = now_ns(), end = t + (uint64_t)(secs * 1e9);

	if (!held || steps < 1)
		return 1;
	ready();
	while (t < end) {
		for (int i = 0; i < steps && t < end; i++) {
			held[i] = grab(step);
			if (!held[i])
				return 1;
			t += 100000000ull;
			sleep_until(t);
		}
		/* back to the base: the memory really leaves (munmap) */
		for (int i = 0; i < steps; i++)
			if (held[i])
				munmap(held[i], step);
		memset(held, 0, (size_t)steps * sizeof(*held));
	}
	return 0;
}

static int fds(int per_s, int max, double secs)
{
	struct rlimit rl;
	uint64_t t = now_ns(), end = t + (uint64_t)(secs * 1e9);
	int open_now = 0;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	ready();
	while (t < end) {
		for (int i = 0; i < per_s / 10 && open_now < max; i++, open_now++)
			if (open("/dev/null", O_RDONLY | O_CLOEXEC) < 0) {
				perror("alert_wl: open");
				return 1;
			}
		t += 100000000ull;
		sleep_until(t);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "burn")) {
		ready();
		burn_loop(now_ns() + (uint64_t)(atof(argv[2]) * 1e9));
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "leak"))
		return leak(atof(argv[2]), atof(argv[3]));
	if (argc == 5 && !strcmp(argv[1], "saw"))
		return saw(atof(argv[2]), atof(argv[3]), atof(argv[4]));
	if (argc == 5 && !strcmp(argv[1], "fds"))
		return fds(atoi(argv[2]), atoi(argv[3]), atof(argv[4]));
	fprintf(stderr, "usage: alert_wl burn S | leak MIB_PER_S S | saw MIB_PER_S RISE S | fds PER_S MAX S\n");
	return 64;
}
