// SPDX-License-Identifier: GPL-2.0-only
/* Exact per-process scheduler counters: on-CPU and off-CPU time, voluntary
 * and involuntary switches, run-queue latency histogram, kept in a hash map
 * keyed by tgid that user space reads each tick (daemon/collect/kstats.c). Threads'
 * timestamps live in task-local storage (freed with the task, no pid reuse
 * issue). What each CPU runs now is published in an mmap-able seqcount
 * array so user space adds the slices still in progress. A process's final
 * counters go to a ring buffer at its last thread's final switch. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "profd/counters.h"
#include "hist.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* include/linux/sched.h; stable values since 4.14 / forever. */
#define TASK_RUNNING 0x0000
#define TASK_DEAD 0x0080
#define PF_EXITING 0x00000004
#define PF_KTHREAD 0x00200000
/* errno values: vmlinux.h has no macros. */
#define EEXIST 17

/* Knobs set through the skeleton's rodata before load. */
const volatile __u32 ringbuf_wakeup_bytes = 0; /* wake user space past this fill */

/* Per-thread timestamps (CLOCK_MONOTONIC ns; 0 = none). */
struct thread_state {
	__u64 oncpu_since; /* switch-in */
	__u64 off_since;   /* switch-out while blocked */
	__u64 wait_since;  /* became runnable: wakeup or preempted */
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

/* Owned by blkio.bpf.c; user space hands its fd over (bpf_map__reuse_fd)
 * so the exit record carries the process's I/O too. Same definition. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct profd_io_counters);
} io_procs SEC(".maps");

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

/* Template for new entries (update_elem copies it). */
struct profd_sched_counters zero_counters = {};

static __always_inline struct profd_sched_stats *stats_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&stats, &zero);
}


/* The process's entry; created when missing and create is set. An entry
 * whose start_time differs belongs to an earlier process with the same
 * tgid whose exit was not seen: reset it. Updates from several CPUs at
 * once (threads of one process) are atomic adds. */
static __always_inline struct profd_sched_counters *
proc_get(struct task_struct *p, __u32 tgid, int create, struct profd_sched_stats *st)
{
	struct profd_sched_counters *c;
	__u64 start = BPF_CORE_READ(p, group_leader, start_boottime);

	c = bpf_map_lookup_elem(&procs, &tgid);
	if (c && c->start_time == start)
		return c;
	if (c) {
		st->stale_reset++;
		bpf_map_update_elem(&procs, &tgid, &zero_counters, BPF_EXIST);
	} else {
		/* An exiting thread never creates: its group's exit record may
		 * already be sent (another thread was last to decrement live). */
		if (!create || (BPF_CORE_READ(p, flags) & PF_EXITING))
			return NULL;
		/* -EEXIST: another CPU created it just now. */
		long err = bpf_map_update_elem(&procs, &tgid, &zero_counters, BPF_NOEXIST);

		if (err && err != -EEXIST) {
			st->proc_full++;
			return NULL;
		}
	}
	c = bpf_map_lookup_elem(&procs, &tgid);
	if (!c)
		return NULL;
	c->start_time = start;
	c->tgid = tgid;
	c->flags = (BPF_CORE_READ(p, flags) & PF_KTHREAD) ? PROFD_KF_KTHREAD : 0;
	return c;
}

/* The last thread's final switch: send the counters, delete the entries. */
static __always_inline void emit_exit(struct task_struct *p, __u32 tgid, struct profd_sched_stats *st)
{
	struct profd_kstats_exit *e;
	struct profd_sched_counters *c = bpf_map_lookup_elem(&procs, &tgid);
	struct profd_io_counters *io;
	__u64 start = BPF_CORE_READ(p, group_leader, start_boottime);
	__u64 flags;

	/* No scheduler entry (a second racing thread, or the map was full):
	 * nothing to send; an I/O entry left behind is reported by user space
	 * as an orphan of an exited process. */
	if (!c)
		return;
	io = bpf_map_lookup_elem(&io_procs, &tgid);
	e = bpf_ringbuf_reserve(&exits, sizeof(*e), 0);
	if (!e) {
		st->exit_lost++;
		goto out;
	}
	e->kind = PROFD_REC_KSTATS_EXIT;
	e->exit_code = BPF_CORE_READ(p, exit_code);
	e->ts = bpf_ktime_get_boot_ns();
	BPF_CORE_READ_STR_INTO(&e->comm, p, group_leader, comm);
	e->has_sched = 0;
	e->has_io = 0;
	if (c->start_time == start) {
		__builtin_memcpy(&e->sched, c, sizeof(e->sched));
		e->has_sched = 1;
	} else {
		__builtin_memset(&e->sched, 0, sizeof(e->sched));
	}
	if (io && io->start_time == start) {
		__builtin_memcpy(&e->io, io, sizeof(e->io));
		e->has_io = 1;
	} else {
		__builtin_memset(&e->io, 0, sizeof(e->io));
	}
	if (ringbuf_wakeup_bytes &&
	    bpf_ringbuf_query(&exits, BPF_RB_AVAIL_DATA) > ringbuf_wakeup_bytes)
		flags = BPF_RB_FORCE_WAKEUP;
	else
		flags = BPF_RB_NO_WAKEUP;
	bpf_ringbuf_submit(e, flags);
	st->exits++;
out:
	bpf_map_delete_elem(&procs, &tgid);
	bpf_map_delete_elem(&io_procs, &tgid);
}

static __always_inline void switch_out(struct task_struct *prev, bool preempt, unsigned int prev_state,
				       __u64 now, struct profd_cpu_slot *slot, struct profd_sched_stats *st)
{
	struct thread_state *ts = bpf_task_storage_get(&threads, prev, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	__u32 tgid = BPF_CORE_READ(prev, tgid);
	__u32 pid = BPF_CORE_READ(prev, pid);
	int dead = (prev_state & TASK_DEAD) != 0;
	int runnable = preempt || prev_state == TASK_RUNNING;
	struct profd_sched_counters *c;
	__u64 since = ts ? ts->oncpu_since : 0;

	if (!ts)
		st->storage_fail++;
	/* The slot remembers the switch-in even when the storage could not be
	 * created then. */
	if (!since && slot && slot->pid == pid)
		since = slot->since;
	/* A dead thread's late slice must not re-create the entry of a process
	 * whose exit record was already sent. */
	c = proc_get(prev, tgid, !dead, st);
	if (c) {
		if (since && now > since)
			__sync_fetch_and_add(&c->oncpu_ns, now - since);
		else if (!since)
			st->unknown_since++;
		if (runnable)
			__sync_fetch_and_add(&c->nivcsw, 1);
		else
			__sync_fetch_and_add(&c->nvcsw, 1);
	} else if (since && now > since && (BPF_CORE_READ(prev, flags) & PF_EXITING)) {
		st->exit_tail_ns += now - since;
	}
	if (ts) {
		ts->oncpu_since = 0;
		ts->wait_since = runnable ? now : 0;
		ts->off_since = runnable ? 0 : now;
	}
	/* signal->live was decremented by every thread in do_exit(); at 0 this
	 * is the group's last thread (two racing threads may both see 0: the
	 * first one sends, the second finds no entry). */
	if (dead && BPF_CORE_READ(prev, signal, live.counter) == 0)
		emit_exit(prev, tgid, st);
}

static __always_inline void switch_in(struct task_struct *next, __u64 now, struct profd_sched_stats *st)
{
	struct thread_state *ts = bpf_task_storage_get(&threads, next, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	struct profd_sched_counters *c;

	if (!ts) {
		st->storage_fail++;
		return;
	}
	ts->oncpu_since = now;
	if (!ts->wait_since && !ts->off_since)
		return;
	c = proc_get(next, BPF_CORE_READ(next, tgid), 1, st);
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

static __always_inline void slot_set(struct profd_cpu_slot *slot, struct task_struct *t, __u32 pid, __u64 now)
{
	slot->pid = pid;
	slot->tgid = pid ? BPF_CORE_READ(t, tgid) : 0;
	slot->start_time = pid ? BPF_CORE_READ(t, group_leader, start_boottime) : 0;
	slot->since = now;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(profd_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	struct profd_sched_stats *st = stats_get();
	__u32 cpu = bpf_get_smp_processor_id();
	struct profd_cpu_slot *slot = bpf_map_lookup_elem(&cpu_slots, &cpu);
	__u32 prev_pid = BPF_CORE_READ(prev, pid);
	__u32 next_pid = BPF_CORE_READ(next, pid);
	__u64 now = bpf_ktime_get_ns();

	if (!st)
		return 0;
	st->switches++;
	if (!slot)
		st->no_slot++;
	/* Seqcount write side: odd while the outgoing slice moves from the
	 * slot into the process's counters (atomic adds are full barriers on
	 * x86; see docs/metrics.md for other architectures). */
	if (slot)
		__sync_fetch_and_add(&slot->seq, 1);
	if (prev_pid)
		switch_out(prev, preempt, prev_state, now, slot, st);
	if (slot)
		slot_set(slot, next, next_pid, now);
	if (next_pid)
		switch_in(next, now, st);
	if (slot)
		__sync_fetch_and_add(&slot->seq, 1);
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
	__u32 pid = BPF_CORE_READ(child, pid);

	if (st && pid == BPF_CORE_READ(child, tgid))
		proc_get(child, pid, 1, st);
	return 0;
}

/* Threads already running when the programs were attached have no
 * switch-in; the scheduler's runtime accounting (every tick, for the
 * current task) starts their slice, so a CPU-bound thread on an idle CPU
 * is seen within one tick instead of at its next switch. */
SEC("tp_btf/sched_stat_runtime")
int BPF_PROG(profd_sched_runtime, struct task_struct *p, u64 runtime)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct thread_state *ts;
	struct profd_sched_stats *st;
	struct profd_cpu_slot *slot;
	__u32 cpu, pid;
	__u64 now;

	if (p != cur)
		return 0;
	ts = bpf_task_storage_get(&threads, p, 0, 0);
	if (ts && ts->oncpu_since)
		return 0;
	pid = BPF_CORE_READ(p, pid);
	if (!pid)
		return 0;
	cpu = bpf_get_smp_processor_id();
	slot = bpf_map_lookup_elem(&cpu_slots, &cpu);
	/* Seen by a switch on this CPU already (storage creation failed then):
	 * the slot is right. */
	if (slot && slot->seq && slot->pid == pid)
		return 0;
	ts = bpf_task_storage_get(&threads, p, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!ts)
		return 0;
	now = bpf_ktime_get_ns();
	ts->oncpu_since = now;
	if (slot) {
		__sync_fetch_and_add(&slot->seq, 1);
		slot_set(slot, p, pid, now);
		__sync_fetch_and_add(&slot->seq, 1);
	}
	st = stats_get();
	if (st) {
		st->seeded++;
		proc_get(p, BPF_CORE_READ(p, tgid), 1, st);
	}
	return 0;
}
