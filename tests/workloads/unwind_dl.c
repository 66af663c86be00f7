/* SPDX-License-Identifier: GPL-2.0-only */
/* The library unwind_cases dlopen()s: code the profiler meets only after
 * the process's mapping table was first read. No frame pointers. */
#include <stdint.h>
#include <time.h>

void dl_spin(uint64_t ns);

static volatile uint64_t sink;

__attribute__((noinline)) static void dl_inner(void)
{
	for (int i = 0; i < 100000; i++)
		sink = sink * 2862933555777941757ull + 3037000493ull;
}

void dl_spin(uint64_t ns)
{
	struct timespec ts;
	uint64_t end;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	end = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec + ns;
	do {
		dl_inner();
		clock_gettime(CLOCK_MONOTONIC, &ts);
	} while ((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec < end);
}
