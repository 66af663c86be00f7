/* SPDX-License-Identifier: GPL-2.0-only */
/* BPF <-> user-space ABI for the CPU sampler and the process lifecycle
 * programs: ring-buffer record layouts and per-CPU counters.
 *
 * Only <linux/types.h> types and fixed arrays: this header is compiled both
 * by clang -target bpf (against vmlinux.h) and by the host C compiler.
 * Sizes are pinned with _Static_assert in daemon/collect/abi_check.c. */
#ifndef PROFD_SAMPLE_H
#define PROFD_SAMPLE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Stack depth limits per sample. Kernel stacks and the build-id fallback
 * (bpf_get_stack) keep 64 frames; stacks unwound with the CFI tables go up
 * to the configured max_user_frames (<= PROFD_UNW_MAX_FRAMES). Deeper
 * stacks are cut on the root side and flagged (PROFD_SF_UCUT). */
#define PROFD_MAX_KSTACK 64
#define PROFD_MAX_USTACK_BUILD_ID 64
#define PROFD_MAX_USTACK 512 /* = PROFD_UNW_MAX_FRAMES: any format */
#define PROFD_COMM_LEN 16
#define PROFD_BUILD_ID_SIZE 20
#define PROFD_PATH_LEN 256

/* Record kinds: first __u32 of every ring-buffer record. */
#define PROFD_REC_SAMPLE 1
#define PROFD_REC_EXEC 2
#define PROFD_REC_EXIT 3

/* profd_sample.flags */
#define PROFD_SF_KSTACK_ERR (1u << 0) /* bpf_get_stack(kernel) failed */
#define PROFD_SF_USTACK_ERR (1u << 1) /* bpf_get_stack(user) failed    */
#define PROFD_SF_KTHREAD (1u << 2)    /* task has no mm: kernel thread */
#define PROFD_SF_UNWOUND (1u << 3)    /* user frames are profd_uframe (profd/unwind.h),
				       * unwound with the CFI tables; else build-id frames */
#define PROFD_SF_UCUT (1u << 4)       /* user stack cut at max_user_frames */
#define PROFD_SF_UNW_NOPROC (1u << 5) /* no mapping table for the process: build-id
				       * fallback used, user space should read its maps */
#define PROFD_SF_UNW_MISS (1u << 6)   /* a pc in no known mapping: maps changed */
#define PROFD_SF_UNW_BUILDING (1u << 7) /* a frame in an object whose table is being
				       * built: user space installs finished builds */

/* One user frame as the kernel reports it with BPF_F_USER_BUILD_ID; same
 * layout as struct bpf_stack_build_id (status, build_id, offset|ip). */
#define PROFD_BUILD_ID_EMPTY 0 /* no frame */
#define PROFD_BUILD_ID_VALID 1 /* build_id + file offset */
#define PROFD_BUILD_ID_IP 2    /* no build id: raw ip    */
struct profd_ustack_frame {
	__s32 status;
	__u8 build_id[PROFD_BUILD_ID_SIZE];
	__u64 offset_or_ip;
};

/* A CPU sample. Variable length: the fixed header is followed by kdepth
 * kernel IPs (__u64, leaf first) and then udepth user frames (leaf first):
 * profd_uframe with PROFD_SF_UNWOUND, else profd_ustack_frame. */
struct profd_sample {
	__u32 kind;       /* PROFD_REC_SAMPLE */
	__u32 tgid;       /* process id */
	__u32 pid;        /* thread id */
	__u32 cpu;        /* CPU the sample was taken on */
	__u64 start_time; /* group leader start_boottime, ns since boot */
	__u64 ts;         /* bpf_ktime_get_boot_ns() at the sample */
	__u16 kdepth;     /* number of kernel frames that follow */
	__u16 udepth;     /* number of user frames after the kernel frames */
	__u32 flags;      /* PROFD_SF_* */
	char comm[PROFD_COMM_LEN]; /* group leader's comm */
	__u32 uid;        /* real uid of the sampled thread */
	__u8 ustop;       /* PROFD_USTOP_*: why the table unwind stopped */
	__u8 reserved[3];
};

/* Exec and exit of a whole process (thread-group leader). */
struct profd_proc_event {
	__u32 kind;       /* PROFD_REC_EXEC or PROFD_REC_EXIT */
	__u32 tgid;
	__u32 ppid;       /* real parent's tgid */
	__u32 exit_code;  /* exit: task->exit_code; exec: 0 */
	__u64 start_time; /* start_boottime of the leader, ns since boot */
	__u64 ts;         /* bpf_ktime_get_boot_ns() of the event */
	char comm[PROFD_COMM_LEN];
	char filename[PROFD_PATH_LEN]; /* exec: bprm->filename; exit: empty */
	__u32 uid;        /* real uid of the process */
	__u32 reserved;
};

/* Per-CPU counters kept by the sampler (PERCPU_ARRAY, one element).
 * Invariant, summed over CPUs, once the ring buffer is drained:
 *   taken == idle + emitted + dropped_ringbuf
 * and user space counts drained == emitted. */
struct profd_cpu_stats {
	__u64 taken;           /* perf_event program invocations */
	__u64 idle;            /* samples of the idle task (pid 0) */
	__u64 emitted;         /* samples written to the ring buffer */
	__u64 dropped_ringbuf; /* ring buffer full: sample lost, counted */
	__u64 kstack_err;      /* kernel stack unavailable (sample kept) */
	__u64 ustack_err;      /* user stack unavailable (sample kept) */
	__u64 proc_dropped;    /* lifecycle events lost: ring buffer full */
	__u64 reserved;
};

#endif /* PROFD_SAMPLE_H */
