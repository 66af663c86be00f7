/* SPDX-License-Identifier: GPL-2.0-only */
/* Process table: every process profd has seen, keyed by (tgid, start
 * time) so that a reused pid is a new process. Holds what a user needs to
 * recognise it (comm, cmdline, exe, uid) even after it has exited.
 * The table never reads /proc: it runs on the event loop, and /proc reads
 * can stall. An entry created from a sample or an event asks for its
 * identity through the want hook (proctable_set_want_fn); the collector
 * thread reads it and the loop hands it back with proctable_set_identity.
 * Bounded: when max_procs is reached, dead processes that no window refers
 * to are collected; if none can be, the new one is refused (counted) and
 * its samples go to PROC_ID_OVERFLOW. Not thread-safe: one owner. */
#ifndef PROFD_PROCTABLE_H
#define PROFD_PROCTABLE_H

#include <stddef.h>
#include <stdint.h>

#define PROC_ID_NONE 0u
#define PROC_ID_OVERFLOW 1u /* rendered as comm "[table full]" (fits comm[16]) */
#define PROC_ID_IDLE 2u     /* the idle task, if ever accounted */
#define PROC_ID_SYSTEM 3u   /* window counters of the whole system */
/* Window counters of a systemd unit's cgroups (block I/O charged to them,
 * collect/resources.h): this index, the unit's number in the bits above
 * it. Never in the process table; readers skip indexes below
 * PROC_ID_FIRST as for every pseudo-process. */
#define PROC_ID_UNIT 4u
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
	uint64_t proc_read_errors; /* /proc files unreadable or malformed (as
				    * reported with identities) */
	uint64_t identities;   /* identities set from /proc */
	uint64_t wants;        /* identity requests handed to the want hook */
	uint64_t expired;      /* dead processes evicted while windows still
				* held data about them (table full) */
};

/* procfs: unused since the table stopped reading /proc (identity comes
 * through proctable_set_identity); kept so that callers build unchanged,
 * may be NULL. 0 and *ret, -EINVAL (bound out of range) or -ENOMEM; *ret
 * is untouched on failure. */
int proctable_new(const char *procfs, size_t max_procs, struct proctable **ret);
struct proctable *proctable_free(struct proctable *t);

/* What /proc says about a process (read by whoever owns /proc reads,
 * verified against the start time so a reused pid lends nothing). */
struct proc_identity {
	char comm[16];        /* "" unknown */
	uint32_t ppid;        /* UINT32_MAX unknown */
	uint32_t uid;         /* real uid, UINT32_MAX unknown */
	char *cmdline;        /* malloc'd, NULL unknown; taken over by the table */
	char *exe;            /* malloc'd, NULL unknown; taken over by the table */
	uint32_t read_errors; /* files present but unreadable or malformed */
};

/* An entry that wants its identity read: a new entry (flags 0) or an
 * exec'd one (PROCTABLE_WANT_EXEC: only comm, cmdline and exe changed). */
#define PROCTABLE_WANT_EXEC (1u << 0)
struct proctable_want {
	uint32_t tgid;
	uint32_t flags;
	uint64_t start_ns;
};
typedef void (*proctable_want_fn)(void *ctx, const struct proctable_want *w);
/* Called (synchronously, from the table's owner) for each entry created by
 * proctable_get or proctable_note_exec and each exec of a known one; NULL
 * to stop. Without a hook entries keep what samples and events tell. */
void proctable_set_want_fn(struct proctable *t, proctable_want_fn fn, void *ctx);

/* Find or create the process (tgid, start_ns). comm (may be NULL) is used
 * until its identity arrives. A new entry is handed to the want hook.
 * Marks the entry used at now_ns. Returns the id, or PROC_ID_OVERFLOW when
 * full. */
uint32_t proctable_get(struct proctable *t, uint32_t tgid, uint64_t start_ns, const char *comm, uint64_t now_ns);

/* Find or create (tgid, start_ns) with an identity already read (a process
 * found by a /proc scan): no want is raised. The identity (may be NULL) is
 * applied to a new entry or one that has none yet; its strings are then
 * taken over (set to NULL). Marks the entry used at now_ns, as data
 * (gauges) will refer to it. Returns the id or PROC_ID_OVERFLOW. */
uint32_t proctable_add(struct proctable *t, uint32_t tgid, uint64_t start_ns, struct proc_identity *id, uint64_t now_ns);

/* Apply an identity read for (tgid, start_ns): comm, cmdline and exe
 * replace what events gave; ppid and uid too unless flags has
 * PROCTABLE_WANT_EXEC (they are the event's, or older /proc data). The
 * strings are taken over (set to NULL). Returns 0, or -ENOENT when no such
 * entry is held (collected meanwhile). */
int proctable_set_identity(struct proctable *t, uint32_t tgid, uint64_t start_ns, struct proc_identity *id, uint32_t flags);

/* Lifecycle events from BPF. exec updates comm and exe and wants the
 * identity again; exit marks the process dead (it stays until collected). */
void proctable_note_exec(struct proctable *t, uint32_t tgid, uint64_t start_ns, uint32_t ppid, const char *comm, const char *filename, uint64_t now_ns);
void proctable_note_exit(struct proctable *t, uint32_t tgid, uint64_t start_ns, int exit_code, uint64_t now_ns);

/* Record the uid BPF saw, for a process whose /proc could not be read
 * (gone before it was looked at); a uid read from /proc is kept. */
void proctable_set_uid(struct proctable *t, uint32_t id, uint32_t uid);

/* Entry by id, NULL if unknown. Valid until the next proctable_gc(). */
const struct proc_info *proctable_info(const struct proctable *t, uint32_t id);
/* Live lookup by tgid (the newest entry for it), NULL if none. */
const struct proc_info *proctable_find_tgid(const struct proctable *t, uint32_t tgid);

/* (tgid, start_ns) is gone from /proc (or its pid belongs to a newer
 * process): mark it exited at now_ns if it was alive. */
void proctable_note_gone(struct proctable *t, uint32_t tgid, uint64_t start_ns, uint64_t now_ns);
/* Exact lookup, nothing created or touched; NULL if not held. */
const struct proc_info *proctable_lookup(const struct proctable *t, uint32_t tgid, uint64_t start_ns);
/* Remove dead processes last used before oldest_ns. Returns count. */
size_t proctable_gc(struct proctable *t, uint64_t oldest_ns);

/* Re-create a process an earlier run of profd saved (its state file):
 * p's tgid, start_ns, comm, cmdline, exe, uid, ppid, first_seen_ns,
 * exit_ns and exit_code. An entry for (tgid, start_ns) that exists
 * already is kept and returned. A process saved alive is asked for
 * through the want hook, as a new one is: /proc's identity replaces the
 * saved one, and one that is gone is noted so. Marks the entry used at
 * now_ns. Only for data of the same boot: start times are ns since boot.
 * Returns the id, or PROC_ID_OVERFLOW when the table is full. */
uint32_t proctable_restore(struct proctable *t, const struct proc_info *p, uint64_t now_ns);

/* Iterate all entries; fn returns non-zero to stop. */
void proctable_foreach(const struct proctable *t, int (*fn)(const struct proc_info *p, void *ctx), void *ctx);

void proctable_get_stats(const struct proctable *t, struct proctable_stats *ret);
/* One past the highest id index handed out so far: arrays indexed by
 * proctable_id_index() of this table's ids need this many cells (it never
 * shrinks, whatever a reloaded max_processes says). */
uint32_t proctable_id_bound(const struct proctable *t);

/* The daemon's one conversion between boot-time ns (BPF start times) and
 * USER_HZ ticks (/proc/PID/stat field 22, utime, stime), and its one read
 * of USER_HZ (sysconf once, cached). ns -> ticks rounds down, as the
 * kernel does; ticks -> ns saturates. */
uint64_t proctable_user_hz(void);
uint64_t proctable_ns_to_ticks(uint64_t ns);
uint64_t proctable_ticks_to_ns(uint64_t ticks);
/* The same process for two start times read through different clocks
 * (each rounded once): within one USER_HZ tick. */
static inline int proctable_same_start(uint64_t ticks_a, uint64_t ticks_b)
{
	return ticks_a + 1 >= ticks_b && ticks_a <= ticks_b + 1;
}

#endif
