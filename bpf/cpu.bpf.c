// SPDX-License-Identifier: GPL-2.0-only
/* CPU sampler: one perf_event program per online CPU. Every non-idle sample
 * goes to a ring buffer as a variable-length record (kernel IPs, then user
 * frames as build-id + file offset), so no stack is ever merged or lost to a
 * hash collision, and user space drains it each tick. Every outcome is a
 * per-CPU counter so user space can prove taken == idle + emitted + dropped. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "profd/sample.h"

char LICENSE[] SEC("license") = "GPL";

#define KSTACK_BYTES (PROFD_MAX_KSTACK * sizeof(__u64))
#define USTACK_BYTES (PROFD_MAX_USTACK * sizeof(struct profd_ustack_frame))
#define SAMPLE_MAX (sizeof(struct profd_sample) + KSTACK_BYTES + USTACK_BYTES)

/* Knobs set through the skeleton's rodata before load. */
const volatile __u32 ringbuf_wakeup_bytes = 0; /* wake user space past this fill */

struct scratch {
	struct profd_sample hdr;
	__u8 data[KSTACK_BYTES + USTACK_BYTES];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct profd_cpu_stats);
} stats SEC(".maps");

/* Size set by user space (bpf_map__set_max_entries) before load. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} samples SEC(".maps");

SEC("perf_event")
int profd_sample(struct bpf_perf_event_data *ctx)
{
	__u32 zero = 0;
	struct profd_cpu_stats *st = bpf_map_lookup_elem(&stats, &zero);
	struct scratch *s;
	struct task_struct *task, *leader;
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, pid = (__u32)id;
	long kbytes, ubytes;
	__u64 size, flags = 0;

	if (!st)
		return 0;
	st->taken++;
	if (pid == 0) {
		/* The idle task (swapper/N): counted, never a process. */
		st->idle++;
		return 0;
	}
	s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return 0;

	task = bpf_get_current_task_btf();
	leader = BPF_CORE_READ(task, group_leader);
	s->hdr.kind = PROFD_REC_SAMPLE;
	s->hdr.tgid = tgid;
	s->hdr.pid = pid;
	s->hdr.cpu = bpf_get_smp_processor_id();
	s->hdr.start_time = BPF_CORE_READ(leader, start_boottime);
	s->hdr.ts = bpf_ktime_get_boot_ns();
	s->hdr.flags = 0;
	s->hdr.uid = (__u32)bpf_get_current_uid_gid();
	s->hdr.reserved = 0;
	BPF_CORE_READ_STR_INTO(&s->hdr.comm, leader, comm);

	kbytes = bpf_get_stack(ctx, s->data, KSTACK_BYTES, 0);
	if (kbytes < 0) {
		st->kstack_err++;
		s->hdr.flags |= PROFD_SF_KSTACK_ERR;
		kbytes = 0;
	}
	/* Bound the offset for the verifier: kbytes <= KSTACK_BYTES. */
	if (kbytes > KSTACK_BYTES)
		kbytes = KSTACK_BYTES;
	kbytes &= ~7L;

	if (!BPF_CORE_READ(task, mm)) {
		s->hdr.flags |= PROFD_SF_KTHREAD;
		ubytes = 0;
	} else {
		ubytes = bpf_get_stack(ctx, s->data + kbytes, USTACK_BYTES,
				       BPF_F_USER_STACK | BPF_F_USER_BUILD_ID);
		if (ubytes < 0) {
			st->ustack_err++;
			s->hdr.flags |= PROFD_SF_USTACK_ERR;
			ubytes = 0;
		}
		if (ubytes > USTACK_BYTES)
			ubytes = USTACK_BYTES;
	}
	s->hdr.kdepth = kbytes / sizeof(__u64);
	s->hdr.udepth = ubytes / sizeof(struct profd_ustack_frame);

	size = sizeof(struct profd_sample) + kbytes + ubytes;
	if (size > SAMPLE_MAX)
		size = SAMPLE_MAX;
	if (ringbuf_wakeup_bytes &&
	    bpf_ringbuf_query(&samples, BPF_RB_AVAIL_DATA) > ringbuf_wakeup_bytes)
		flags = BPF_RB_FORCE_WAKEUP;
	else
		flags = BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_output(&samples, s, size, flags)) {
		st->dropped_ringbuf++;
		return 0;
	}
	st->emitted++;
	return 0;
}
