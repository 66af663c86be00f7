/* SPDX-License-Identifier: GPL-2.0-only */
/* kstats: exact per-process scheduler and block-I/O counters from BPF
 * (bpf/sched.bpf.c, bpf/blkio.bpf.c). Loads and attaches both programs,
 * reads every process's cumulative counters on demand (slices still on CPU
 * included) and hands over the final counters of exited processes from its
 * own ring buffer. Counters are cumulative since the process was first seen;
 * the caller computes per-window deltas. */
#ifndef PROFD_KSTATS_H
#define PROFD_KSTATS_H

#include <stddef.h>
#include <stdint.h>

#include "profd/counters.h"

struct kstats;

/* kstats_opts.flags */
#define KSTATS_OPT_COMPAT_SWITCH (1u << 0) /* use the pre-5.18 sched_switch path
					    * (prev's state read from the task)
					    * even where the kernel passes
					    * prev_state: for tests */
#define KSTATS_OPT_NO_SCHED (1u << 1)      /* leave the scheduler programs out
					    * ([sampling] sched_counters = no):
					    * block I/O only */

struct kstats_opts {
	uint32_t max_procs;    /* entries per per-process map; 0: 16384 */
	uint32_t max_inflight; /* block requests tracked in flight; 0: 16384 */
	uint32_t max_cgroups;  /* cgroups with I/O counters; 0: 1024 */
	uint32_t flags;        /* KSTATS_OPT_* */
	size_t ringbuf_bytes;  /* exit-record ring (power of 2); 0: 1 MiB */
};

/* kstats_proc.flags */
#define KSTATS_F_EXITED (1u << 0)  /* final counters: the process is gone */
#define KSTATS_F_INEXACT (1u << 1) /* slices on CPU could not be added
				    * consistently (counted in stats) */

/* One process's counters as of the read. sched or io is NULL where that
 * map has no entry for the process (it has not run / done I/O since it was
 * first seen, or that part is not loaded).
 *
 * Every counter is monotonic per process (tgid, start_time) from one read
 * to the next and into the exit record, so a consumer may keep the last
 * value as its baseline and subtract: sched->oncpu_ns includes the slices
 * still on CPU up to the scheduler's last runtime update of each (at most
 * one tick old where the tick runs), and a read that could not add them
 * consistently (KSTATS_F_INEXACT) hands out the previous total instead of
 * a lower one (counted in kstats_stats.held). */
struct kstats_proc {
	uint32_t tgid;
	uint32_t flags;       /* KSTATS_F_* */
	uint64_t start_time;  /* leader's start_boottime, ns since boot */
	uint32_t running;     /* threads on CPU whose slice was added */
	uint32_t exit_code;   /* exited: task->exit_code; else 0 */
	const char *comm;     /* exited: leader's comm; else NULL */
	const struct profd_sched_counters *sched;
	const struct profd_io_counters *io;
};

/* Return non-zero to stop the iteration (kstats_read returns that value). */
typedef int (*kstats_visit_fn)(void *ctx, const struct kstats_proc *p);
typedef int (*kstats_cgroup_fn)(void *ctx, uint64_t cgroup_id, const struct profd_cgroup_io *io);

struct kstats_callbacks {
	/* Final counters of an exited process, from kstats_drain(). */
	void (*exit)(void *ctx, const struct kstats_proc *p);
	void *ctx;
};

/* kstats_parts() bits: what was loaded and attached. */
#define KSTATS_PART_ONCPU (1u << 0)  /* sched_switch: on/off-CPU, switches */
#define KSTATS_PART_RUNQ (1u << 1)   /* sched_wakeup(_new): run-queue latency */
#define KSTATS_PART_FORK (1u << 2)   /* sched_process_fork */
#define KSTATS_PART_SEED (1u << 3)   /* sched_stat_runtime: pre-attach threads */
#define KSTATS_PART_EXIT (1u << 4)   /* exit records (with ONCPU) */
#define KSTATS_PART_BLKIO (1u << 5)  /* block I/O counters */
#define KSTATS_PART_BLKIO_SUBMIT (1u << 6) /* ... attributed at submission */

struct kstats_stats {
	uint32_t parts;          /* KSTATS_PART_* */
	uint64_t procs;          /* sched entries at the last read */
	uint64_t io_procs;       /* I/O entries at the last read */
	uint64_t max_procs;      /* bound of each */
	/* from the BPF programs, summed over CPUs */
	struct profd_sched_stats sched;
	struct profd_io_stats io;
	/* user space */
	uint64_t exit_records;   /* exit records consumed */
	uint64_t malformed;      /* records of unexpected size/kind, ignored */
	uint64_t inexact;        /* process reads without their running slices */
	uint64_t held;           /* reads (or exit records) whose on-CPU total was
				  * below one handed out before: the earlier
				  * total was handed out again */
	uint64_t orphans;        /* I/O entries of processes gone without an exit
				  * record (I/O completed after exit): reported
				  * with KSTATS_F_EXITED once, then deleted */
};

/* Opens, sizes, loads and attaches both programs. A program that cannot be
 * loaded or attached is logged (daemon/base/log.h) and left out; kstats_parts()
 * says what works. Returns 0 and *ret, or -errno when nothing works. */
int kstats_new(const struct kstats_opts *opts, const struct kstats_callbacks *cb, struct kstats **ret);
struct kstats *kstats_free(struct kstats *k);
uint32_t kstats_parts(const struct kstats *k);

/* fd that polls readable when exit records pass half the ring (records are
 * submitted without wake-up otherwise: drain once per tick, before
 * kstats_read). -ENODEV without the scheduler part. */
int kstats_epoll_fd(struct kstats *k);
/* Consume all exit records (cb.exit for each). Returns records or -errno. */
int kstats_drain(struct kstats *k);

/* Visit every process's cumulative counters, sorted by tgid, with the
 * slices of threads on CPU added (CLOCK_MONOTONIC now). Returns 0, the
 * visitor's non-zero value, or -errno. The pointers are valid only during
 * the call. Not thread-safe: one reader at a time. */
int kstats_read(struct kstats *k, kstats_visit_fn fn, void *ctx);
/* Visit the cumulative block I/O of every cgroup that has completed a
 * read or write since attach, in no particular order. cgroup_id is the
 * inode number of the cgroup's directory in the hierarchy that carries
 * the io controller (cgroup v2; the blkio hierarchy on a v1 host): what
 * stat(2) gives for it, and name_to_handle_at() on cgroupfs. Requests are
 * charged to the bio's blkcg, so with cgroup v2 (io + memory) writeback
 * by a flusher kworker counts for the cgroup that dirtied the pages.
 * Counters only grow. Returns 0, fn's non-zero value, or 0 without the
 * block I/O part. */
int kstats_read_cgroups(struct kstats *k, kstats_cgroup_fn fn, void *ctx);

void kstats_get_stats(struct kstats *k, struct kstats_stats *ret);
/* Every BPF program loaded: fn(ctx, program name, its fd), fds valid until
 * kstats_free. Any thread: reads nothing kstats changes after load. */
void kstats_for_each_prog(struct kstats *k, void (*fn)(void *ctx, const char *name, int fd), void *ctx);

/* Counter families, for kstats_describe(). */
enum kstats_family_id {
	KSTATS_FAM_ONCPU,    /* oncpu_ns: CPU time per process */
	KSTATS_FAM_SWITCHES, /* nvcsw, nivcsw */
	KSTATS_FAM_RUNQ,     /* runq_ns, runq_waits, runq_hist, offcpu_ns */
	KSTATS_FAM_BLKIO,    /* struct profd_io_counters, per-cgroup I/O */
	KSTATS_FAM_EXIT,     /* final counters of exited processes */
	KSTATS_FAM_COUNT
};

/* kstats_family.state */
#define KSTATS_EXACT 0     /* the kernel's own figures; nothing lost so far */
#define KSTATS_ESTIMATED 1 /* measured, but approximate or incomplete: see reason */
#define KSTATS_ABSENT 2    /* not measured (see reason); CPU % then comes
			    * from samples */

#define KSTATS_REASON_LEN 192

struct kstats_family {
	const char *name;               /* "oncpu", "switches", "runq", "blkio", "exit" */
	uint32_t state;                 /* KSTATS_EXACT, _ESTIMATED, _ABSENT */
	char reason[KSTATS_REASON_LEN]; /* why not exact; "" when exact */
};

struct kstats_exactness {
	struct kstats_family fam[KSTATS_FAM_COUNT]; /* indexed by KSTATS_FAM_* */
};

/* Which counter families are exact, which estimated or absent, and why:
 * for `profctl status`. Reads the programs' drop counters, so a family
 * becomes "estimated" once something was lost (map full, ring full). k may
 * be NULL (kstats_new failed): every family is then absent, with the
 * kernel's version in the reason where it explains the failure. */
void kstats_describe(struct kstats *k, struct kstats_exactness *ret);

/* Percentile (0..100) of a log2 histogram: the upper bound of the slot
 * holding it, in ns; 0 when empty. */
uint64_t kstats_hist_percentile(const struct profd_hist *h, double pct);

#endif
