/* SPDX-License-Identifier: GPL-2.0-only */
/* Procset: the processes the collector follows, keyed by (pid, start
 * time), and their /proc reads into a snapshot: first reads (counters,
 * unit, identity), answers to identity wants, per-round reads of the
 * processes that ran and a slow cycle for the others, held /proc handles
 * for hot ones, the scan that finds processes never seen. Owned by the
 * collector's thread; not thread-safe. */
#ifndef PROFD_PROCSET_H
#define PROFD_PROCSET_H

#include <stdint.h>

#include "collect/snapshot.h"

#define PROCSET_SLOW_ROUNDS 10   /* idle processes: re-read once in this many rounds */
#define PROCSET_HOT_DEFAULT 128  /* processes whose /proc files stay open */
#define PROCSET_HOT_IDLE 10      /* rounds without running before a handle closes */

struct procset;
struct cgio;

struct procset_opts {
	const char *procfs;    /* "/proc" or a fixture root */
	unsigned read_flags;   /* PROCSTAT_READ_* of a per-round read */
	uint32_t max_procs;    /* processes followed */
	uint32_t hot_max;      /* held handles (3-4 fds each); 0: default */
	struct cgio *cgio;     /* told each process's io cgroup; NULL: none */
};

/* 0 and *ret, -EINVAL or -ENOMEM. */
int procset_new(const struct procset_opts *o, struct procset **ret);
struct procset *procset_free(struct procset *p);

/* (pid, start_ns) ran: read it in the next procset_round. An unknown
 * process is followed if follow (its first read carries its identity,
 * SNAP_FOUND); else ignored (its identity want will bring it). */
void procset_ran(struct procset *p, uint32_t pid, uint64_t start_ns, int follow, uint64_t round);
/* Answer an identity want into s (SNAP_IDENT record; SNAP_GONE if the
 * process is gone or its pid names another). */
void procset_want(struct procset *p, struct res_snapshot *s, const struct proctable_want *w);
/* This round's reads into s: processes that ran, new ones, this round's
 * slow slice; removed (SNAP_GONE) when gone. */
void procset_round(struct procset *p, struct res_snapshot *s, uint64_t round);
/* Follow and read (SNAP_FOUND) up to budget processes of procfs not
 * followed yet. Returns 1 when it stopped at the budget, else 0. */
int procset_scan(struct procset *p, struct res_snapshot *s, uint32_t budget);
/* The pids followed, up to cap, into buf; their count. */
uint32_t procset_pids(const struct procset *p, uint32_t *buf, uint32_t cap);
uint32_t procset_count(const struct procset *p);
/* proc_reads, proc_read_fail, handle_reads, handles, followed,
 * follow_full, found, identities, last_round_procs into those fields. */
void procset_stats(const struct procset *p, struct collector_stats *ret);

#endif
