/* SPDX-License-Identifier: GPL-2.0-only */
/* Child of short_lived: burns argv[1] ms of CPU in child_spin(), exits. */
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "workload.h"

volatile uintptr_t workload_frame_sink;

static volatile uint64_t sink;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

void child_spin(uint64_t ns);

__attribute__((noinline)) void child_spin(uint64_t ns)
{
	uint64_t end, x = 1;

	FORCE_FRAME();
	end = now_ns() + ns;

	while (now_ns() < end)
		for (int i = 0; i < 20000; i++)
			x = x * 6364136223846793005ull + 1;
	sink = x;
}

int main(int argc, char **argv)
{
	child_spin((uint64_t)(argc > 1 ? atof(argv[1]) : 50) * 1000000ull);
	return 0;
}
