/* SPDX-License-Identifier: GPL-2.0-only */
/* Kernel differences, in one place (after bcc libbpf-tools' core_fixes.bpf.h).
 * Every field or argument whose name, type or presence depends on the
 * kernel version is read through a helper here, with the version and the
 * change that introduced it.
 *
 * Prototype differences of tracepoints cannot be told apart by a CO-RE
 * relocation with the clang this project builds with (bpf_core_type_matches
 * needs clang >= 15), so user space reads the prototype from the kernel's
 * BTF (daemon/collect/kstats.c, tp_nargs()) and hands the answer over as a
 * const volatile knob; the branch not taken is dead code the verifier never
 * looks at, so a program may name an argument that an older kernel lacks.
 *
 * Minimums that are not worked around (docs/metrics.md "Kernel
 * requirements"): tp_btf programs and BTF (5.5), the BPF ring buffer (5.8),
 * block tracepoints taking only the request (5.11: "block: remove the
 * request_queue argument from the block_rq_* tracepoints"), task-local
 * storage in tracing programs (5.13). */
#ifndef PROFD_CORE_FIXES_BPF_H
#define PROFD_CORE_FIXES_BPF_H

#include <bpf/bpf_core_read.h>

/* 5.14, "sched: Change task_struct::state": `volatile long state` became
 * `unsigned int __state`. The values (TASK_RUNNING 0, TASK_DEAD 0x80) did
 * not change. */
struct task_struct___pre_5_14 {
	volatile long state;
} __attribute__((preserve_access_index));

static __always_inline __u32 task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return (__u32)BPF_CORE_READ((struct task_struct___pre_5_14 *)t, state);
}

/* The state prev switched out in. 5.18, "sched/tracing: Don't re-read
 * p->state when emitting sched_switch event", added it as sched_switch's
 * fourth argument (has_arg, from user space): __schedule()'s own copy,
 * taken before the task was dequeued. Older kernels' tracepoint re-read
 * prev's state itself, as done here; a wake-up racing with the switch can
 * already have set it back to TASK_RUNNING, so a voluntary switch then
 * reads as involuntary and its blocked time as run-queue wait (the reason
 * kstats_describe() gives for those kernels). */
static __always_inline __u32 switch_prev_state(__u64 *ctx, struct task_struct *prev, __u32 has_arg)
{
	if (has_arg)
		return (__u32)ctx[3];
	return task_state(prev);
}

/* The cgroup (id of its cgroupfs directory) a block request is charged
 * to: bio->bi_blkg exists with CONFIG_BLK_CGROUP (5.0+). With cgroup v2
 * that is the unified hierarchy's id; with v1 the blkio hierarchy's. 0
 * for requests without a bio (flushes) or without blk-cgroup. */
static __always_inline __u64 rq_cgroup_id(struct request *rq)
{
	if (!bpf_core_field_exists(struct bio, bi_blkg))
		return 0;
	/* Direct loads: rq is a BTF pointer (tp_btf argument); a NULL link
	 * (no bio, no blkg) reads as 0 instead of faulting. */
	return rq->bio->bi_blkg->blkcg->css.cgroup->kn->id;
}

#endif
