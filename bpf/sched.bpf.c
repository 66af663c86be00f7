// SPDX-License-Identifier: GPL-2.0-only
/* Exact per-process scheduler counters: on-CPU and off-CPU time, voluntary
 * and involuntary switches, run-queue latency histogram, kept in a hash map
 * keyed by tgid that user space reads each tick (daemon/collect/kstats.c).
 *
 * On-CPU time is the kernel's own accounting, se.sum_exec_runtime: it
 * leaves out hypervisor steal and IRQ time the way /proc, top and cgroups
 * do, where wall-clock deltas would count them. Each thread remembers, in
 * task-local storage (freed with the task: no pid reuse issue), the value
 * up to which its time is in its process's counter; every event that sees
 * the thread adds the growth since (oncpu_add). What each CPU runs now is
 * published in an mmap-able seqcount array so user space adds the slices
 * still in progress. A process's final counters go to a ring buffer at its
 * last thread's final switch.
 *
 * BTF pointers (tracepoint arguments and what they point to) are read with
 * plain loads, not BPF_CORE_READ: a helper call per field was most of the
 * cost of a switch (bench/sched_cost). Kernel differences: core_fixes.bpf.h. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "profd/counters.h"
#include "core_fixes.bpf.h"
#include "hist.bpf.h"
#include "maps.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* include/linux/sched.h; stable values since 4.14 / forever. */
#define TASK_RUNNING 0x0000
#define TASK_DEAD 0x0080
#define PF_EXITING 0x00000004
#define PF_KTHREAD 0x00200000
/* errno values: vmlinux.h has no macros. */
#define EEXIST 17

/* CPU time of a thread the CPU's slot does not show that is added at a
 * runtime update rather than left for its next switch. */
#define LATE_FLUSH_NS 1000000ull

/* Knobs set through the skeleton's rodata before load. */
const volatile __u32 ringbuf_wakeup_bytes = 0; /* wake user space past this fill */
/* sched_switch has its prev_state argument (5.18+): see core_fixes.bpf.h. */
const volatile __u32 switch_has_prev_state = 1;

/* Per-thread state. */
struct thread_state {
	__u64 acct;       /* se.sum_exec_runtime up to which this thread's time
			   * is in its process's oncpu_ns (valid: seen) */
	__u64 off_since;  /* CLOCK_MONOTONIC ns: switch-out while blocked; 0 none */
	__u64 wait_since; /* CLOCK_MONOTONIC ns: became runnable (wake-up or
			   * preempted); 0 none */
	__u16 seen;       /* 1: acct is valid */
	__u16 counted;    /* 1: in its process entry's `threads` */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct thread_state);
} threads SEC(".maps");

/* Sizes set by user space (bpf_map__set_max_entries) before load. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct profd_sched_counters);
} procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct profd_cpu_slot);
} cpu_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} exits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct profd_sched_stats);
} stats SEC(".maps");

static __always_inline struct profd_sched_stats *stats_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&stats, &zero);
}

/* Insert a process's entry complete, identity included, in one map
 * update: an entry is never visible half-initialised, so another CPU can
 * never take a new entry for a stale one and reset it (wiping what was
 * added meanwhile). stale: replace an entry of an earlier process with
 * the same tgid whose exit was not seen. Out of line: the 328-byte
 * template lives in this frame only. */
static __noinline int proc_insert(__u32 tgid, __u64 start, __u32 flags, int stale, struct profd_sched_stats *st)
{
	struct profd_sched_counters init = {};
	long err;

	init.start_time = start;
	init.tgid = tgid;
	init.flags = flags;
	if (stale) {
		/* Two CPUs that both saw the stale entry both replace it; the
		 * first one's additions in between are lost. Only on pid reuse
		 * after a missed exit, which is itself counted. */
		st->stale_reset++;
		return bpf_map_update_elem(&procs, &tgid, &init, BPF_EXIST) ? -1 : 0;
	}
	err = bpf_map_update_elem(&procs, &tgid, &init, BPF_NOEXIST);
	/* -EEXIST: another CPU created it just now, complete. */
	if (err && err != -EEXIST) {
		st->proc_full++;
		return -1;
	}
	return 0;
}

/* The process's entry; created when missing and create is set. Updates
 * from several CPUs at once (threads of one process) are atomic adds. */
static __always_inline struct profd_sched_counters *
proc_get(struct task_struct *p, __u32 tgid, int create, struct profd_sched_stats *st)
{
	struct profd_sched_counters *c = bpf_map_lookup_elem(&procs, &tgid);
	__u64 start = p->group_leader->start_boottime;

	if (c && c->start_time == start)
		return c;
	/* An exiting thread never creates (nor replaces): its group's exit
	 * record may already be sent (another thread was last to decrement
	 * live). */
	if (!create || (p->flags & PF_EXITING))
		return NULL;
	if (proc_insert(tgid, start, (p->flags & PF_KTHREAD) ? PROFD_KF_KTHREAD : 0, c != 0, st))
		return NULL;
	c = bpf_map_lookup_elem(&procs, &tgid);
	return c && c->start_time == start ? c : NULL;
}

/* Count a thread that is on a CPU into its process's `threads`, once: the
 * exit record waits for every counted thread's final switch. */
static __always_inline void thread_count(struct thread_state *ts, struct profd_sched_counters *c)
{
	if (ts && c && !ts->counted) {
		__sync_fetch_and_add(&c->threads, 1);
		ts->counted = 1;
	}
}

/* The last thread's final switch: send the counters, delete the entries. */
static __always_inline void emit_exit(struct task_struct *p, __u32 tgid, struct profd_sched_counters *c,
				      struct profd_sched_stats *st)
{
	struct profd_kstats_exit *e;
	struct profd_io_counters *io = bpf_map_lookup_elem(&io_procs, &tgid);
	__u64 start = p->group_leader->start_boottime;
	__u64 flags;

	e = bpf_ringbuf_reserve(&exits, sizeof(*e), 0);
	if (!e) {
		st->exit_lost++;
		goto out;
	}
	e->kind = PROFD_REC_KSTATS_EXIT;
	e->exit_code = p->exit_code;
	e->ts = bpf_ktime_get_boot_ns();
	BPF_CORE_READ_STR_INTO(&e->comm, p, group_leader, comm);
	e->has_sched = 1;
	e->has_io = 0;
	__builtin_memcpy(&e->sched, c, sizeof(e->sched));
	if (io && io->start_time == start) {
		__builtin_memcpy(&e->io, io, sizeof(e->io));
		e->has_io = 1;
	} else {
		__builtin_memset(&e->io, 0, sizeof(e->io));
	}
	if (ringbuf_wakeup_bytes && bpf_ringbuf_query(&exits, BPF_RB_AVAIL_DATA) > ringbuf_wakeup_bytes)
		flags = BPF_RB_FORCE_WAKEUP;
	else
		flags = BPF_RB_NO_WAKEUP;
	bpf_ringbuf_submit(e, flags);
	st->exits++;
out:
	bpf_map_delete_elem(&procs, &tgid);
	bpf_map_delete_elem(&io_procs, &tgid);
}

/* Move a thread's CPU time up to sum (its se.sum_exec_runtime now) into
 * its process's counter. The growth since the last time is added, whatever
 * happened in between: each ns the kernel accounted is counted once, even
 * across switches this program was not told about. */
static __always_inline void oncpu_add(struct profd_sched_counters *c, struct thread_state *ts, __u64 sum)
{
	if (c && sum > ts->acct)
		__sync_fetch_and_add(&c->oncpu_ns, sum - ts->acct);
}

/* Account prev's slice. Returns its process's entry for reuse by the
 * switch-in of a thread of the same process, or NULL. */
static __always_inline struct profd_sched_counters *
switch_out(struct task_struct *prev, __u32 pid, int preempt, __u32 prev_state, __u64 now,
	   struct profd_cpu_slot *slot, struct profd_sched_stats *st)
{
	struct thread_state *ts = bpf_task_storage_get(&threads, prev, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	__u32 tgid = prev->tgid;
	__u64 sum = prev->se.sum_exec_runtime;
	int dead = (prev_state & TASK_DEAD) != 0;
	int runnable = preempt || prev_state == TASK_RUNNING;
	struct profd_sched_counters *c;

	/* A dead thread's late slice must not re-create the entry of a process
	 * whose exit record was already sent. */
	c = proc_get(prev, tgid, !dead, st);
	if (ts) {
		thread_count(ts, c);
		if (!ts->seen) {
			/* Running since before attach and never seen: that
			 * slice is not counted; from here on it is. */
			st->unknown_since++;
		} else if (c) {
			oncpu_add(c, ts, sum);
		} else if (sum > ts->acct && (prev->flags & PF_EXITING)) {
			st->exit_tail_ns += sum - ts->acct;
		}
		ts->acct = sum;
		ts->seen = 1;
		ts->wait_since = runnable ? now : 0;
		ts->off_since = runnable ? 0 : now;
	} else {
		/* The slot remembers the switch-in even when the storage could
		 * not be created then. */
		st->storage_fail++;
		if (c && slot && slot->pid == pid && sum > slot->sum_in)
			__sync_fetch_and_add(&c->oncpu_ns, sum - slot->sum_in);
	}
	if (c) {
		if (runnable)
			__sync_fetch_and_add(&c->nivcsw, 1);
		else
			__sync_fetch_and_add(&c->nvcsw, 1);
	}
	if (!dead)
		return c;
	if (!c)
		return NULL;
	/* The process is gone when every thread has decremented signal->live
	 * (do_exit(), before its last slice) and every counted thread has
	 * made its final switch: the one that takes `threads` to 0 sends.
	 * live alone is not enough: a thread that decremented it first can
	 * still be running its exit path when the last one switches out. A
	 * thread without storage (allocation failed) is not counted: it goes
	 * by the count as it stands. */
	if (ts && ts->counted) {
		if (__sync_fetch_and_add(&c->threads, -1) != 1)
			return NULL;
	} else if (c->threads) {
		return NULL;
	}
	if (prev->signal->live.counter == 0)
		emit_exit(prev, tgid, c, st);
	return NULL;
}

/* Start next's slice; account its run-queue wait or blocked time, and any
 * CPU time it had that no switch-out reported (`late`). hint: prev's
 * process entry, when prev and next are threads of one process. */
static __always_inline void switch_in(struct task_struct *next, __u64 sum, __u64 now,
				      struct profd_sched_counters *hint, struct profd_sched_stats *st)
{
	struct thread_state *ts = bpf_task_storage_get(&threads, next, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	struct profd_sched_counters *c;
	int late;

	if (!ts) {
		st->storage_fail++;
		return;
	}
	late = ts->seen && sum > ts->acct;
	if (!ts->wait_since && !ts->off_since && ts->counted && !late) {
		ts->acct = sum;
		ts->seen = 1;
		return;
	}
	c = hint ? hint : proc_get(next, next->tgid, 1, st);
	thread_count(ts, c);
	if (late) {
		st->late++;
		st->late_ns += sum - ts->acct;
		oncpu_add(c, ts, sum);
	}
	ts->acct = sum;
	ts->seen = 1;
	if (c) {
		if (ts->wait_since && now >= ts->wait_since) {
			__u64 d = now - ts->wait_since;

			__sync_fetch_and_add(&c->runq_ns, d);
			__sync_fetch_and_add(&c->runq_waits, 1);
			__sync_fetch_and_add(&c->runq_hist.slot[log2_slot(d)], 1);
		}
		if (ts->off_since && now >= ts->off_since)
			__sync_fetch_and_add(&c->offcpu_ns, now - ts->off_since);
	}
	ts->wait_since = 0;
	ts->off_since = 0;
}

/* Plain stores in program order: the seqcount's ordering on x86 comes from
 * the atomic adds on seq around them (full barriers there; see
 * docs/metrics.md for other architectures); volatile keeps the compiler
 * from moving them across those adds. */
static __always_inline void slot_set(struct profd_cpu_slot *slot, __u32 tgid, __u32 pid, __u64 start, __u64 sum)
{
	*(volatile __u32 *)&slot->tgid = tgid;
	*(volatile __u32 *)&slot->pid = pid;
	*(volatile __u64 *)&slot->start_time = start;
	*(volatile __u64 *)&slot->sum_in = sum;
	*(volatile __u64 *)&slot->sum_now = sum;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(profd_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	struct profd_sched_stats *st = stats_get();
	__u32 cpu = bpf_get_smp_processor_id();
	struct profd_cpu_slot *slot = bpf_map_lookup_elem(&cpu_slots, &cpu);
	__u32 prev_pid = prev->pid, next_pid = next->pid, next_tgid = 0;
	__u64 now = bpf_ktime_get_ns(), next_sum = 0, next_start = 0;
	struct profd_sched_counters *c = NULL;

	if (!st)
		return 0;
	st->switches++;
	if (!slot)
		st->no_slot++;
	if (next_pid) {
		next_tgid = next->tgid;
		next_sum = next->se.sum_exec_runtime;
		next_start = next->group_leader->start_boottime;
	}
	/* Seqcount write side: odd while the outgoing slice moves from the
	 * slot into the process's counters. */
	if (slot)
		__sync_fetch_and_add(&slot->seq, 1);
	if (prev_pid)
		c = switch_out(prev, prev_pid, preempt, switch_prev_state(ctx, prev, switch_has_prev_state), now,
			       slot, st);
	if (slot) {
		slot_set(slot, next_tgid, next_pid, next_start, next_sum);
		__sync_fetch_and_add(&slot->seq, 1);
	}
	if (next_pid)
		switch_in(next, next_sum, now, c && prev->tgid == next_tgid ? c : NULL, st);
	return 0;
}

static __always_inline int on_wakeup(struct task_struct *p)
{
	struct thread_state *ts = bpf_task_storage_get(&threads, p, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	struct profd_sched_stats *st;

	if (ts) {
		ts->wait_since = bpf_ktime_get_ns();
		return 0;
	}
	st = stats_get();
	if (st)
		st->storage_fail++;
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(profd_sched_wakeup, struct task_struct *p)
{
	return on_wakeup(p);
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(profd_sched_wakeup_new, struct task_struct *p)
{
	return on_wakeup(p);
}

/* A new process gets its entry at fork, so it is listed before it has
 * run; threads share their leader's. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(profd_sched_fork, struct task_struct *parent, struct task_struct *child)
{
	struct profd_sched_stats *st = stats_get();
	__u32 pid = child->pid;

	if (st && pid == child->tgid)
		proc_get(child, pid, 1, st);
	return 0;
}

/* The scheduler's runtime accounting (update_curr(): every tick for the
 * task on the CPU, and at wake-ups and preemption checks on that CPU)
 * has just added to p's se.sum_exec_runtime. For the thread the CPU's slot
 * shows: publish the new total, so a read in the middle of a long slice
 * adds what has run so far (one store: this is the hot path).
 *
 * A current thread the slot does not show:
 *  - never seen (running since before attach): its time counts from here;
 *    on a CPU that has not switched since attach it takes the slot, so a
 *    CPU-bound thread is seen within one tick (`seeded`);
 *  - seen before: a switch to it was not reported to this program (seen
 *    on 6.18; the cause is not known), so the slot shows another thread:
 *    its time is added to its process directly (`late`) once 1 ms has
 *    gathered, else at its next switch: reads lag by at most that.
 * Updates made for a task on another CPU (a remote reader's
 * task_sched_runtime()) are left to that CPU's next update. */
SEC("tp_btf/sched_stat_runtime")
int BPF_PROG(profd_sched_runtime, struct task_struct *p)
{
	__u32 pid = p->pid, cpu;
	struct profd_cpu_slot *slot;
	struct thread_state *ts;
	struct profd_sched_stats *st;
	__u64 sum;

	if (!pid || pid != (__u32)bpf_get_current_pid_tgid())
		return 0;
	cpu = bpf_get_smp_processor_id();
	slot = bpf_map_lookup_elem(&cpu_slots, &cpu);
	if (!slot)
		return 0;
	sum = p->se.sum_exec_runtime;
	/* Same CPU, run-queue lock held: no switch can interleave. */
	if (slot->pid == pid) {
		*(volatile __u64 *)&slot->sum_now = sum;
		return 0;
	}
	st = stats_get();
	ts = bpf_task_storage_get(&threads, p, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!ts || !st)
		return 0;
	if (ts->seen) {
		/* Left for its next switch when small: the process's entry is
		 * not worth a lookup per update for a few microseconds. */
		if (sum >= ts->acct + LATE_FLUSH_NS) {
			struct profd_sched_counters *c = proc_get(p, p->tgid, 1, st);

			thread_count(ts, c);
			st->late++;
			st->late_ns += sum - ts->acct;
			oncpu_add(c, ts, sum);
			ts->acct = sum;
		}
		return 0;
	}
	ts->acct = sum;
	ts->seen = 1;
	st->seeded++;
	if (!slot->seq) {
		__sync_fetch_and_add(&slot->seq, 1);
		slot_set(slot, p->tgid, pid, p->group_leader->start_boottime, sum);
		__sync_fetch_and_add(&slot->seq, 1);
	}
	thread_count(ts, proc_get(p, p->tgid, 1, st));
	return 0;
}
