/* SPDX-License-Identifier: GPL-2.0-only */
/* khold: the per-process totals kstats has handed out, so that a reading
 * lower than one handed out before (a read without a running slice, a slot
 * left stale by a switch the BPF program was not told about) is never
 * handed out: the earlier total goes out again. A consumer that keeps the
 * last value as its baseline and subtracts then never counts a slice
 * twice. Pure: no BPF, no clock. */
#ifndef PROFD_KHOLD_H
#define PROFD_KHOLD_H

#include <stdint.h>

struct khold;

/* Room for max processes per pass. Returns 0 and *ret, or -ENOMEM/-EINVAL. */
int khold_new(uint32_t max, struct khold **ret);
struct khold *khold_free(struct khold *h);

/* One pass = one read of every process: khold_begin, khold_apply for each
 * process (in any order; ascending tgid is cheapest), khold_end. A process
 * not applied in a pass is forgotten at its end. */
void khold_begin(struct khold *h);
/* Raise *value to what was handed out for (tgid, start_time) before, if
 * that was more, and remember the result. Returns 1 if it raised *value,
 * 0 if not. Past max processes in a pass, values pass unchanged and are not
 * remembered. */
int khold_apply(struct khold *h, uint32_t tgid, uint64_t start_time, uint64_t *value);
void khold_end(struct khold *h);

/* What the last completed pass handed out for (tgid, start_time): 0 and
 * *ret, or -ENOENT. */
int khold_find(const struct khold *h, uint32_t tgid, uint64_t start_time, uint64_t *ret);

#endif
