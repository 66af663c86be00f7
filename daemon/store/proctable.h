/* SPDX-License-Identifier: GPL-2.0-only */
/* Process table: every process profd has seen, keyed by (tgid, start
 * time) so that a reused pid is a new process. Holds what a user needs to
 * recognise it (comm, cmdline, exe, uid) even after it has exited.
 * /proc is read through an injectable root so parsers are unit-tested on
 * fixture trees. Bounded: when max_procs is reached, dead processes that no
 * window refers to are collected; if none can be, the new one is refused
 * (counted) and its samples go to PROC_ID_OVERFLOW. */
#ifndef PROFD_PROCTABLE_H
#define PROFD_PROCTABLE_H

#include <stddef.h>
#include <stdint.h>

#define PROC_ID_NONE 0u
#define PROC_ID_OVERFLOW 1u /* rendered as comm "[table full]" (fits comm[16]) */
#define PROC_ID_IDLE 2u     /* the idle task, if ever accounted */
#define PROC_ID_SYSTEM 3u   /* window counters of the whole system */
/* Ids below this are reserved for the pseudo-processes above; real
 * processes get indexes PROC_ID_FIRST .. max_procs + PROC_ID_FIRST - 1. */
#define PROC_ID_FIRST 16u

/* An id is an index (low bits, dense from PROC_ID_FIRST, below max_procs + PROC_ID_FIRST) and
 * a generation (high bits) that changes each time the index is reused, so
 * an id kept in old window data never names the index's next process. */
#define PROCTABLE_ID_INDEX_BITS 22
static inline uint32_t proctable_id_index(uint32_t id)
{
	return id & ((1u << PROCTABLE_ID_INDEX_BITS) - 1);
}

struct proc_info {
	uint32_t id;          /* stable while referenced */
	uint32_t tgid;
	uint64_t start_ns;    /* start_boottime, ns since boot */
	uint32_t uid;         /* real uid, (uint32_t)-1 if unknown */
	uint32_t ppid;
	char comm[16];
	char *cmdline;        /* NUL-separated args joined by ' ', may be NULL */
	char *exe;            /* path from exec event or /proc/PID/exe, may be NULL */
	uint64_t first_seen_ns;
	uint64_t last_used_ns;/* last time a sample/event referred to it */
	uint64_t exit_ns;     /* 0 while alive */
	int exit_code;
};

struct proctable;

struct proctable_stats {
	uint64_t procs;        /* tracked now */
	uint64_t alive;
	uint64_t full_drops;   /* lookups refused: table full */
	uint64_t collected;    /* dead processes removed */
	uint64_t proc_read_errors; /* /proc files unreadable or malformed */
	uint64_t expired;      /* dead processes evicted while windows still
				* held data about them (table full) */
};

/* procfs: "/proc" or a fixture root. 0 and *ret, -EINVAL (no procfs, bound
 * out of range) or -ENOMEM; *ret is untouched on failure. */
int proctable_new(const char *procfs, size_t max_procs, struct proctable **ret);
struct proctable *proctable_free(struct proctable *t);

/* Find or create the process (tgid, start_ns). comm (may be NULL) is used
 * until /proc gives better data. A new entry reads /proc/PID/{stat,status,
 * cmdline,exe} once, only if /proc/PID/stat's start time matches start_ns
 * (to USER_HZ precision), so a reused pid never lends its data. Marks the
 * entry used at now_ns. Returns the id, or PROC_ID_OVERFLOW when full. */
uint32_t proctable_get(struct proctable *t, uint32_t tgid, uint64_t start_ns, const char *comm, uint64_t now_ns);

/* Lifecycle events from BPF. exec updates comm and exe and re-reads
 * cmdline; exit marks the process dead (it stays until collected). */
void proctable_note_exec(struct proctable *t, uint32_t tgid, uint64_t start_ns, uint32_t ppid, const char *comm, const char *filename, uint64_t now_ns);
void proctable_note_exit(struct proctable *t, uint32_t tgid, uint64_t start_ns, int exit_code, uint64_t now_ns);

/* Record the uid BPF saw, for a process whose /proc could not be read
 * (gone before it was looked at); a uid read from /proc is kept. */
void proctable_set_uid(struct proctable *t, uint32_t id, uint32_t uid);

/* Entry by id, NULL if unknown. Valid until the next proctable_gc(). */
const struct proc_info *proctable_info(const struct proctable *t, uint32_t id);
/* Live lookup by tgid (the newest entry for it), NULL if none. */
const struct proc_info *proctable_find_tgid(const struct proctable *t, uint32_t tgid);

/* Mark processes whose /proc/PID is gone (or belongs to a newer process)
 * as exited at now_ns; cheap: one stat per tracked live process. */
void proctable_reap(struct proctable *t, uint64_t now_ns);
/* Remove dead processes last used before oldest_ns. Returns count. */
size_t proctable_gc(struct proctable *t, uint64_t oldest_ns);

/* Re-create a process an earlier run of profd saved (its state file):
 * p's tgid, start_ns, comm, cmdline, exe, uid, ppid, first_seen_ns,
 * exit_ns and exit_code. An entry for (tgid, start_ns) that exists
 * already is kept and returned. A process saved alive is read from /proc
 * if it still runs (as proctable_get does) and marked exited at now_ns if
 * it does not. Marks the entry used at now_ns. Only for data of the same
 * boot: start times are ns since boot. Returns the id, or
 * PROC_ID_OVERFLOW when the table is full. */
uint32_t proctable_restore(struct proctable *t, const struct proc_info *p, uint64_t now_ns);

/* Iterate all entries; fn returns non-zero to stop. */
void proctable_foreach(const struct proctable *t, int (*fn)(const struct proc_info *p, void *ctx), void *ctx);

void proctable_get_stats(const struct proctable *t, struct proctable_stats *ret);

/* Boot-time ns -> USER_HZ ticks (the /proc/PID/stat field 22 unit). */
uint64_t proctable_ns_to_ticks(uint64_t ns);

#endif
