/* SPDX-License-Identifier: GPL-2.0-only */
/* cgio: block I/O per systemd unit, from the kernel's per-cgroup counters
 * (kstats_read_cgroups). The kernel charges a request to the cgroup of
 * the bio, which on cgroup v2 (io + memory controllers) is the cgroup
 * that dirtied the pages even when a flusher thread writes them back: the
 * only place where writeback shows under the unit that caused it.
 *
 * A cgroup id is the inode number of the cgroup's directory in the
 * hierarchy that carries the io controller (v2, or v1 blkio). Ids are
 * named by the directory's path: learnt from each process's io cgroup
 * (cgio_note, when its /proc/PID/cgroup is read: a transient unit whose
 * directory is gone by the time its pages are written back was learnt
 * while its process lived), else by a bounded walk of the hierarchy when
 * an id nobody named appears (at most every CGIO_WALK_ROUNDS rounds). The
 * unit is the path's last unit component (procstat_cgroup_unit): the root
 * and slices have none.
 *
 * Cumulative counters become per-round deltas, added up per unit. Runs on
 * the collector thread; nothing here is shared. Injectable root (tests
 * use a directory tree of their own). */
#ifndef PROFD_CGIO_H
#define PROFD_CGIO_H

#include <stddef.h>
#include <stdint.h>

#include "profd/counters.h"

#define CGIO_UNIT_MAX 128        /* unit names kept (snap_extra's bound) */
#define CGIO_MAX_DEFAULT 4096    /* cgroups remembered */
#define CGIO_WALK_ROUNDS 10      /* rounds between two walks at most */
#define CGIO_WALK_MAX_DIRS 8192  /* directories one walk visits */

struct cgio;

struct cgio_stats {
	uint64_t cgroups;          /* cgroups remembered */
	uint64_t full;             /* cgroups not remembered: the bound */
	uint64_t walks;            /* walks of the hierarchy */
	uint64_t unit_bytes;       /* bytes (read + write) charged to a unit */
	uint64_t other_bytes;      /* charged to a cgroup of no unit (root, slices) */
	uint64_t unknown_bytes;    /* charged to a cgroup no walk found (removed) */
};

/* The hierarchy carrying the io controller, from a mountinfo file
 * ("/proc/self/mountinfo"): a cgroup2 mount whose cgroup.controllers lists
 * "io", else a cgroup v1 mount with the blkio controller. 0 with its mount
 * point in ret (*ret_v2 says which), or -ENOENT. */
int cgio_find_root(const char *mountinfo, char *ret, size_t n, int *ret_v2);

/* root: that mount point (NULL or "": ids stay unnamed); max: cgroups
 * remembered (0: CGIO_MAX_DEFAULT). 0 and *ret, or -ENOMEM. */
int cgio_new(const char *root, uint32_t max, struct cgio **ret);
struct cgio *cgio_free(struct cgio *g);

/* A process's io cgroup path ("/system.slice/db.service", relative to
 * the root): name its id. Cheap when the path is the last one noted. */
void cgio_note(struct cgio *g, const char *io_path);

/* One round: cgio_begin, cgio_account for every cgroup (a kstats_cgroup_fn:
 * returns 0), then cgio_end, which walks for ids nobody named (rate
 * limited) and calls fn once per unit with the round's deltas (nonzero
 * only). Deltas of an id not yet named wait for its name; one the walk
 * does not find counts in unknown_bytes. */
void cgio_begin(struct cgio *g);
int cgio_account(void *g, uint64_t id, const struct profd_cgroup_io *io);
typedef void (*cgio_unit_fn)(void *ctx, const char *unit, const struct profd_cgroup_io *delta);
void cgio_end(struct cgio *g, cgio_unit_fn fn, void *ctx);

void cgio_get_stats(const struct cgio *g, struct cgio_stats *ret);
/* 1 when ids can be named (a root was given). */
int cgio_has_root(const struct cgio *g);

#endif
