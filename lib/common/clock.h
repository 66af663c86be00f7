/* SPDX-License-Identifier: GPL-2.0-only */
/* Clocks, in one place for profd and profctl. CLOCK_BOOTTIME is the clock
 * of BPF timestamps (bpf_ktime_get_boot_ns) and of every window slot;
 * CLOCK_MONOTONIC measures durations (costs, timeouts). Both are
 * vDSO calls: cheap enough for every sample. */
#ifndef PROFD_COMMON_CLOCK_H
#define PROFD_COMMON_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ns since boot, suspend included: the timeline of samples and windows. */
static inline uint64_t clock_boot_ns(void)
{
	return clock_ns(CLOCK_BOOTTIME);
}

static inline uint64_t clock_mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

static inline uint64_t clock_mono_ms(void)
{
	return clock_mono_ns() / 1000000ull;
}

#endif
