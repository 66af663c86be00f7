/* SPDX-License-Identifier: GPL-2.0-only */
/* The code of the hostile test's libraries: one self-contained function,
 * reached through the ELF entry point, so a process can run it from a
 * plain PROT_EXEC mapping of the file (no loader, no relocations). Built
 * with -nostdlib: it calls nothing. */
#include <stdint.h>

long hostile_spin(long n);

__attribute__((noinline)) long hostile_spin(long n)
{
	volatile long x = 0;

	/* the frame address forces a frame (see workload.h) */
	x = (long)(uintptr_t)__builtin_frame_address(0) & 1;
	for (long i = 0; i < n; i++)
		x = x * 6364136223846793005L + i;
	return x;
}
