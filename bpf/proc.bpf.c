// SPDX-License-Identifier: GPL-2.0-only
/* Process lifecycle: exec and exit of whole processes (thread-group
 * leaders) to user space through a ring buffer, so a process that lives
 * 50 ms is still named (comm, exe path) after it is gone. tp_btf programs:
 * no tracefs needed. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "profd/sample.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

static __always_inline void count_lost(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&lost, &zero);

	if (n)
		(*n)++;
}

static __always_inline struct profd_proc_event *reserve(__u32 kind, struct task_struct *p)
{
	struct profd_proc_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		count_lost();
		return NULL;
	}
	e->kind = kind;
	e->tgid = BPF_CORE_READ(p, tgid);
	e->ppid = BPF_CORE_READ(p, real_parent, tgid);
	e->exit_code = 0;
	e->start_time = BPF_CORE_READ(p, group_leader, start_boottime);
	e->ts = bpf_ktime_get_boot_ns();
	BPF_CORE_READ_STR_INTO(&e->comm, p, group_leader, comm);
	e->filename[0] = 0;
	e->uid = BPF_CORE_READ(p, real_cred, uid.val);
	e->reserved = 0;
	return e;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(profd_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct profd_proc_event *e = reserve(PROFD_REC_EXEC, p);
	const char *fn;

	if (!e)
		return 0;
	fn = BPF_CORE_READ(bprm, filename);
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), fn);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(profd_exit, struct task_struct *p)
{
	struct profd_proc_event *e;

	/* Only the whole process: do_exit() decrements signal->live before
	 * this tracepoint, so the last thread out sees 0 (works on kernels
	 * whose tracepoint lacks the group_dead argument). Two threads racing
	 * may both see 0: user space treats exits as idempotent. */
	if (BPF_CORE_READ(p, signal, live.counter) != 0)
		return 0;
	e = reserve(PROFD_REC_EXIT, p);
	if (!e)
		return 0;
	e->exit_code = BPF_CORE_READ(p, exit_code);
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	return 0;
}
