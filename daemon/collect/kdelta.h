/* SPDX-License-Identifier: GPL-2.0-only */
/* Kdelta: cumulative scheduler and block-I/O counters (kstats) turned into
 * per-round deltas: the baseline of each process as last read, keyed by
 * tgid (the BPF maps' key) and checked by start time. Owned by the
 * collector's thread; not thread-safe. */
#ifndef PROFD_KDELTA_H
#define PROFD_KDELTA_H

#include "collect/kstats.h"
#include "collect/snapshot.h"

struct kdelta;

/* 0 and *ret or -ENOMEM. */
int kdelta_new(struct kdelta **ret);
struct kdelta *kdelta_free(struct kdelta *k);

/* A kstats read begins: every process it lists is marked seen. */
void kdelta_begin(struct kdelta *k);
/* p's counters since its baseline into s (a snap_sched record, only when
 * something moved or p exited; an exited process's baseline goes). Returns
 * 1 when p ran (CPU time since the baseline, or on a CPU now), else 0. */
int kdelta_account(struct kdelta *k, const struct kstats_proc *p, struct res_snapshot *s);
/* After a complete read: drop the baselines it did not list (exited
 * without their exit record reaching us: a new process on the tgid starts
 * from zero anyway). */
void kdelta_sweep(struct kdelta *k);
/* Baselines held. */
uint32_t kdelta_count(const struct kdelta *k);

#endif
