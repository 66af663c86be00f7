/* SPDX-License-Identifier: GPL-2.0-only */
/* Shared by the BPF programs: the log2 histogram slot of a value in ns,
 * as include/profd/counters.h defines the buckets. */
#ifndef PROFD_HIST_BPF_H
#define PROFD_HIST_BPF_H

static __always_inline __u32 log2_slot(__u64 v)
{
	__u32 r = 0;

	if (v >> 32) {
		v >>= 32;
		r += 32;
	}
	if (v >> 16) {
		v >>= 16;
		r += 16;
	}
	if (v >> 8) {
		v >>= 8;
		r += 8;
	}
	if (v >> 4) {
		v >>= 4;
		r += 4;
	}
	if (v >> 2) {
		v >>= 2;
		r += 2;
	}
	if (v >> 1)
		r += 1;
	return r < PROFD_HIST_SLOTS ? r : PROFD_HIST_SLOTS - 1;
}

#endif
