/* SPDX-License-Identifier: GPL-2.0-only */
/* BPF <-> user-space ABI for the exact per-process counters: scheduler
 * (bpf/sched.bpf.c) and block I/O (bpf/blkio.bpf.c), read by daemon/collect/kstats.c.
 *
 * Only <linux/types.h> types and fixed arrays: compiled both by clang
 * -target bpf (against vmlinux.h) and by the host C compiler. Sizes are
 * pinned with _Static_assert in daemon/collect/kstats.c.
 *
 * Clocks: oncpu_ns and the per-CPU slot's sums are the scheduler's own
 * accounting (se.sum_exec_runtime, steal and IRQ time excluded where the
 * kernel excludes them); every other *_ns duration is bpf_ktime_get_ns() =
 * CLOCK_MONOTONIC, wall time; start_time and event timestamps are
 * bpf_ktime_get_boot_ns() / start_boottime = CLOCK_BOOTTIME, as in sample.h. */
#ifndef PROFD_COUNTERS_H
#define PROFD_COUNTERS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define PROFD_KSTATS_COMM_LEN 16

/* Ring-buffer record kind of an exit record; distinct from sample.h's kinds
 * (1..3) so a record can never be mistaken for another program's. */
#define PROFD_REC_KSTATS_EXIT 16

/* log2 histogram of nanoseconds: slot[i] counts values v with
 * 2^i <= v < 2^(i+1) (v = 0 and 1 land in slot 0); slot[31] also holds
 * everything >= 2^31 ns (2.1 s). */
#define PROFD_HIST_SLOTS 32
struct profd_hist {
	__u64 slot[PROFD_HIST_SLOTS];
};

/* profd_sched_counters.flags / profd_io_counters.flags */
#define PROFD_KF_KTHREAD (1u << 0) /* the process is a kernel thread (no mm) */

/* Cumulative scheduler counters of one process (thread group), summed over
 * its threads since the process was first seen (fork, or the first event
 * after attach). Value of the `procs` hash map, key: __u32 tgid. */
struct profd_sched_counters {
	__u64 start_time; /* group leader's start_boottime, ns since boot: with
			   * tgid, the process identity (pid reuse check) */
	__u32 tgid;       /* process id (the key, repeated) */
	__u32 flags;      /* PROFD_KF_* */
	__u32 threads;    /* bookkeeping of the exit record: threads seen on
			   * a CPU since the process was first seen that have
			   * not made their final switch yet (not a thread
			   * count: threads that have not run since are not
			   * in it) */
	__u32 reserved;
	__u64 oncpu_ns;   /* time on CPU: the growth of each thread's
			   * se.sum_exec_runtime from its switch-in to its
			   * switch-out (the kernel's CPU time: no steal);
			   * slices still running are NOT included (see
			   * profd_cpu_slot) */
	__u64 offcpu_ns;  /* blocked: switch-out with the thread not runnable
			   * -> its next switch-in (includes the run-queue wait
			   * after the wakeup) */
	__u64 runq_ns;    /* run-queue wait: wakeup, or preemption while
			   * runnable -> switch-in */
	__u64 runq_waits; /* number of run-queue waits (= sum of runq_hist) */
	__u64 nvcsw;      /* voluntary switches: !preempt && prev_state != 0
			   * (the kernel's nvcsw rule) */
	__u64 nivcsw;     /* involuntary: preempted, or yielded while runnable */
	struct profd_hist runq_hist; /* run-queue wait distribution, ns */
};

/* Cumulative block I/O counters of one process, counted at request
 * completion. Value of the `io_procs` hash map, key: __u32 tgid (the tgid
 * of the task that submitted the request, see docs/metrics.md). */
struct profd_io_counters {
	__u64 start_time;  /* submitter's group leader start_boottime */
	__u32 tgid;
	__u32 flags;       /* PROFD_KF_* */
	__u64 read_bytes;  /* bytes completed, REQ_OP_READ */
	__u64 write_bytes; /* bytes completed, REQ_OP_WRITE */
	__u64 read_reqs;   /* requests fully completed, REQ_OP_READ */
	__u64 write_reqs;  /* requests fully completed, REQ_OP_WRITE */
	__u64 other_reqs;  /* flush, discard, write-zeroes, passthrough, ... */
	__u64 errors;      /* completions with a non-zero blk_status_t */
	__u64 lat_ns;      /* sum of issue -> completion latencies */
	__u64 lat_count;   /* requests with a latency (= sum of lat_hist) */
	struct profd_hist lat_hist; /* issue -> completion, ns */
};

/* Block I/O per cgroup (v2 id), as the block layer attributes a bio
 * (bio->bi_blkg): for cgroup-aware writeback this is the cgroup that owns
 * the dirty pages even when a flusher kworker submits. Value of the
 * `io_cgroups` hash map, key: __u64 cgroup id (inode number of its
 * directory in cgroupfs). */
struct profd_cgroup_io {
	__u64 read_bytes;
	__u64 write_bytes;
	__u64 read_reqs;
	__u64 write_reqs;
};

/* What each CPU runs now, so user space can add the slice in progress
 * (a CPU-bound thread on an otherwise idle CPU may not be switched out for
 * seconds). Element i of the mmap-able `cpu_slots` array = CPU i; one cache
 * line each, so two CPUs switching at once never write the same line.
 *
 * Times are the thread's se.sum_exec_runtime: the scheduler's own CPU time
 * accounting (what /proc/PID/schedstat, top and cgroups report), which
 * leaves out hypervisor steal time (CONFIG_PARAVIRT_TIME_ACCOUNTING) and
 * IRQ time (CONFIG_IRQ_TIME_ACCOUNTING); wall-clock deltas would include
 * both. The slice in progress is sum_now - sum_in.
 *
 * A seqcount guards which slice the slot describes: the switch program
 * makes `seq` odd, moves the outgoing slice into the process's oncpu_ns,
 * rewrites the slot, makes `seq` even again. A reader that sees the same
 * even seq before and after its reads of the slot and of the process's
 * counters knows the slice is not in oncpu_ns. sum_now alone is updated
 * without the seqcount (one aligned 8-byte store, only ever growing,
 * written on the slot's own CPU under its run-queue lock). */
struct profd_cpu_slot {
	__u64 seq;        /* odd while being updated; 0: never written */
	__u32 tgid;       /* process on this CPU; 0: idle */
	__u32 pid;        /* thread on this CPU; 0: idle */
	__u64 start_time; /* its group leader's start_boottime */
	__u64 sum_in;     /* its se.sum_exec_runtime (ns) at switch-in, or
			   * when first seen on the CPU if it was running at
			   * attach time */
	__u64 sum_now;    /* its se.sum_exec_runtime as of the scheduler's
			   * last runtime update (update_curr(): every tick
			   * while it runs, and at wake-ups and preemption
			   * checks on its CPU); = sum_in at switch-in */
	__u64 reserved[3];
};
/* Final counters of a process, sent when its last thread switches out for
 * the last time (prev_state has TASK_DEAD, no thread left that was seen on
 * a CPU and has not made its final switch, signal->live 0): after
 * exit_mm()/exit_files() of every thread, so nothing the process ran is
 * missed. Its map entries are then deleted. */
struct profd_kstats_exit {
	__u32 kind;      /* PROFD_REC_KSTATS_EXIT */
	__u32 exit_code; /* task->exit_code of the last thread */
	__u64 ts;        /* bpf_ktime_get_boot_ns() at the final switch */
	char comm[PROFD_KSTATS_COMM_LEN]; /* group leader's comm */
	__u32 has_sched; /* 1: `sched` holds the process's counters */
	__u32 has_io;    /* 1: `io` holds the process's counters */
	struct profd_sched_counters sched;
	struct profd_io_counters io;
};

/* Per-CPU counters of bpf/sched.bpf.c (PERCPU_ARRAY, one element): every
 * bound that can be hit is counted here. */
struct profd_sched_stats {
	__u64 switches;       /* sched_switch invocations */
	__u64 proc_full;      /* procs map full: a process's counters dropped */
	__u64 storage_fail;   /* no task storage for a thread (allocation) */
	__u64 no_slot;        /* CPU id beyond cpu_slots' size */
	__u64 stale_reset;    /* entry of a reused tgid with another start
			       * time (its exit was missed): reset */
	__u64 exits;          /* exit records submitted */
	__u64 exit_lost;      /* exit records lost: ring buffer full (the
			       * entries are deleted anyway) */
	__u64 exit_tail_ns;   /* on-CPU ns of an exiting thread after its
			       * process's exit record was sent (a thread
			       * running since before attach, not yet seen
			       * on its CPU, was still on its way out) */
	__u64 unknown_since;  /* switch-out of a thread whose switch-in was
			       * not seen (running at attach, not yet seeded):
			       * that slice is not counted */
	__u64 seeded;         /* threads first seen in a runtime update
			       * (sched_stat_runtime): running at attach */
	__u64 late;           /* CPU time of a thread found at a switch-in or
			       * runtime update, not reported by a switch-out
			       * (a switch the program was not told about):
			       * added then */
	__u64 late_ns;        /* ... and how much */
	__u64 reserved[4];
};

/* Per-CPU counters of bpf/blkio.bpf.c (PERCPU_ARRAY, one element). */
struct profd_io_stats {
	__u64 started;         /* requests seen at block_io_start */
	__u64 issuer_attrib;   /* requests first seen at issue (no io_start):
				* attributed to the issuing context */
	__u64 inflight_full;   /* in-flight map full: request not tracked */
	__u64 proc_full;       /* io_procs map full: counters dropped */
	__u64 cgroup_full;     /* io_cgroups map full */
	__u64 unmatched;       /* completions of untracked requests (started
				* before attach, or not tracked) */
	__u64 completed;       /* requests fully completed and accounted */
	__u64 stale_reset;     /* reused tgid with another start time */
	__u64 reserved[8];
};

#endif /* PROFD_COUNTERS_H */
