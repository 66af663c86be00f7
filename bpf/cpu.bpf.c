// SPDX-License-Identifier: GPL-2.0-only
/* CPU sampler: one perf_event program per online CPU. Every non-idle sample
 * goes to a ring buffer as a variable-length record (kernel IPs, then user
 * frames), so no stack is ever merged or lost to a hash collision, and user
 * space drains it each tick. Every outcome is a per-CPU counter so user
 * space can prove taken == idle + emitted + dropped.
 *
 * Two programs, one loaded: profd_sample_unwind walks user stacks with the
 * CFI tables user space loads (unwind.bpf.h) and falls back to the kernel's
 * build-id walk for processes it has no mapping table for yet;
 * profd_sample (unwinder = fp) uses the kernel's frame-pointer walk only. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "profd/sample.h"
#include "unwind.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define KSTACK_BYTES (PROFD_MAX_KSTACK * sizeof(__u64))
#define BID_BYTES (PROFD_MAX_USTACK_BUILD_ID * sizeof(struct profd_ustack_frame))
#define DATA_BYTES (KSTACK_BYTES + UFRAMES_BYTES)
#define SAMPLE_MAX (sizeof(struct profd_sample) + DATA_BYTES)

_Static_assert(UFRAMES_BYTES >= BID_BYTES, "the build-id fallback fits the frame area");

/* Knobs set through the skeleton's rodata before load. */
const volatile __u32 ringbuf_wakeup_bytes = 0; /* wake user space past this fill */
const volatile __u32 max_user_frames = 128;    /* <= PROFD_UNW_MAX_FRAMES */

struct scratch {
	struct profd_sample hdr;
	__u8 data[DATA_BYTES];
	struct unw_state st;
	__u64 asked_ns; /* last wake-up forced to ask for a mapping table */
};

/* A sample that asks user space for a process's mappings, or meets an
 * object whose table is being built, wakes it at once (at most once per
 * 10 ms per CPU), so the table is there within milliseconds instead of at
 * the next tick. */
#define ASK_WAKE_NS 10000000ull

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

/* Header and kernel stack; returns the kernel bytes written, or -1 when
 * the sample is of the idle task (counted) or no scratch is available. */
static __always_inline long sample_begin(struct bpf_perf_event_data *ctx, struct profd_cpu_stats *st,
					 struct scratch *s, struct task_struct **ret_task)
{
	struct task_struct *task, *leader;
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, pid = (__u32)id;
	long kbytes;

	st->taken++;
	if (pid == 0) {
		/* The idle task (swapper/N): counted, never a process. */
		st->idle++;
		return -1;
	}
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
	s->hdr.ustop = PROFD_USTOP_NONE;
	s->hdr.reserved[0] = s->hdr.reserved[1] = s->hdr.reserved[2] = 0;
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
	*ret_task = task;
	return kbytes;
}

/* The kernel's user-stack walk, frames as build-id + file offset. */
static __always_inline long ustack_build_id(struct bpf_perf_event_data *ctx, struct profd_cpu_stats *st,
					    struct scratch *s, long kbytes)
{
	__u32 zero = 0;
	__u64 t0 = bpf_ktime_get_ns();
	long ubytes = bpf_get_stack(ctx, s->data + kbytes, BID_BYTES, BPF_F_USER_STACK | BPF_F_USER_BUILD_ID);
	struct profd_unw_stats *us = bpf_map_lookup_elem(&unw_stats, &zero);

	if (us) {
		us->bid_ns += bpf_ktime_get_ns() - t0;
		us->bid_walks++;
	}

	if (ubytes < 0) {
		st->ustack_err++;
		s->hdr.flags |= PROFD_SF_USTACK_ERR;
		ubytes = 0;
	}
	if (ubytes > BID_BYTES)
		ubytes = BID_BYTES;
	if (ubytes == BID_BYTES)
		s->hdr.flags |= PROFD_SF_UCUT;
	return ubytes;
}

static __always_inline int sample_end(struct profd_cpu_stats *st, struct scratch *s, long kbytes, long ubytes,
				      __u32 usize)
{
	__u64 size, flags;

	s->hdr.kdepth = kbytes / sizeof(__u64);
	s->hdr.udepth = ubytes / usize;
	size = sizeof(struct profd_sample) + kbytes + ubytes;
	if (size > SAMPLE_MAX)
		size = SAMPLE_MAX;
	if (ringbuf_wakeup_bytes && bpf_ringbuf_query(&samples, BPF_RB_AVAIL_DATA) > ringbuf_wakeup_bytes) {
		flags = BPF_RB_FORCE_WAKEUP;
	} else if ((s->hdr.flags & (PROFD_SF_UNW_NOPROC | PROFD_SF_UNW_MISS | PROFD_SF_UNW_BUILDING)) &&
		   s->hdr.ts - s->asked_ns >= ASK_WAKE_NS) {
		s->asked_ns = s->hdr.ts;
		flags = BPF_RB_FORCE_WAKEUP;
	} else {
		flags = BPF_RB_NO_WAKEUP;
	}
	if (bpf_ringbuf_output(&samples, s, size, flags)) {
		st->dropped_ringbuf++;
		return 0;
	}
	st->emitted++;
	return 0;
}

SEC("perf_event")
int profd_sample(struct bpf_perf_event_data *ctx)
{
	__u32 zero = 0;
	struct profd_cpu_stats *st = bpf_map_lookup_elem(&stats, &zero);
	struct scratch *s = bpf_map_lookup_elem(&scratch, &zero);
	struct task_struct *task;
	long kbytes, ubytes = 0;

	if (!st || !s)
		return 0;
	kbytes = sample_begin(ctx, st, s, &task);
	if (kbytes < 0)
		return 0;
	if (!BPF_CORE_READ(task, mm))
		s->hdr.flags |= PROFD_SF_KTHREAD;
	else
		ubytes = ustack_build_id(ctx, st, s, kbytes);
	return sample_end(st, s, kbytes, ubytes, sizeof(struct profd_ustack_frame));
}

/* One user frame: record the frame at st->pc, then step to its caller.
 * Returns 1 to end the loop (st->stop says why). */
static long unwind_frame(__u32 i, void *ctx)
{
	__u32 zero = 0, off;
	struct scratch *s = bpf_map_lookup_elem(&scratch, &zero);
	struct profd_uframe *f;
	struct profd_unw_row row;
	struct unw_state *st;
	__u64 pc, foff, x;
	int r;

	(void)i;
	(void)ctx;
	if (!s)
		return 1;
	st = &s->st;
	pc = st->pc;
	if (!st->have_map || pc < st->m_start || pc >= st->m_end) {
		if (unw_find_mapping(st, pc) < 0) {
			st->have_map = 0;
			st->miss = 1;
		}
	}
	off = st->koff + st->n * UFRAME_SIZE;
	if (off > DATA_BYTES - UFRAME_SIZE) {
		st->stop = PROFD_USTOP_CUT;
		return 1;
	}
	f = (struct profd_uframe *)(s->data + off);
	foff = pc - st->m_start + st->m_pgoff;
	if (!st->have_map || (st->m_flags & PROFD_UNW_MAP_RAW)) {
		f->addr = pc;
		f->uid = 0;
		f->flags = st->how | PROFD_UF_RAW;
	} else {
		f->addr = foff;
		f->uid = st->m_uid;
		f->flags = st->how;
		if (st->py_uid && st->m_uid == st->py_uid && foff >= st->py_lo && foff < st->py_hi) {
			f->flags |= PROFD_UF_PYEVAL;
			st->py_evals++;
		}
	}
	st->n++;
	if (!st->have_map) {
		st->stop = PROFD_USTOP_NO_MAPPING;
		return 1;
	}
	if (st->n >= st->max) {
		st->stop = PROFD_USTOP_CUT;
		return 1;
	}
	/* A return address is one past its call: look up the call itself. */
	x = (st->how & (PROFD_UF_REGS | PROFD_UF_SIGNAL)) ? foff : foff - 1;
	if (unw_find_row(st, x, &row))
		r = unw_row_step(st, &row);
	else
		r = unw_fp_step(st);
	if (r) {
		st->stop = r;
		return 1;
	}
	return 0;
}

/* One Python frame: record the code object of st->py_frame, step to the
 * previous frame. Returns 1 to end the loop (st->py_stop says why). */
static long python_frame(__u32 i, void *ctx)
{
	__u32 zero = 0, off;
	struct scratch *s = bpf_map_lookup_elem(&scratch, &zero);
	struct profd_uframe *f;
	struct unw_state *st;
	__u64 code, prev, names[3];
	__u32 line;
	__u8 entry;

	(void)i;
	(void)ctx;
	if (!s)
		return 1;
	st = &s->st;
	if (!st->py_frame) {
		st->py_stop = 1;
		return 1;
	}
	if (bpf_probe_read_user(st->py_buf, sizeof(st->py_buf), (void *)st->py_frame)) {
		st->py_stop = 3;
		return 1;
	}
	code = *(__u64 *)(st->py_buf + PROFD_PY311_IF_CODE);
	prev = *(__u64 *)(st->py_buf + PROFD_PY311_IF_PREVIOUS);
	entry = st->py_buf[PROFD_PY311_IF_IS_ENTRY];
	if (!code) {
		st->py_stop = 3;
		return 1;
	}
	/* co_firstlineno and the name pointers: the code object's signature */
	if (bpf_probe_read_user(&line, sizeof(line), (void *)(code + PROFD_PY311_CO_FIRSTLINENO)) ||
	    bpf_probe_read_user(names, sizeof(names), (void *)(code + PROFD_PY311_CO_FILENAME))) {
		st->py_stop = 3;
		return 1;
	}
	off = st->koff + (st->n + st->py_n) * UFRAME_SIZE;
	if (off > DATA_BYTES - UFRAME_SIZE || st->n + st->py_n >= PROFD_UNW_MAX_FRAMES) {
		st->py_stop = 2;
		return 1;
	}
	f = (struct profd_uframe *)(s->data + off);
	f->addr = code;
	f->uid = profd_py_code_sig(line, names[0], names[2]);
	f->flags = PROFD_UF_PY | (entry ? PROFD_UF_PY_ENTRY : 0);
	st->py_n++;
	st->py_frame = prev;
	return 0;
}

/* The sampled thread's PyThreadState: the GIL holder when it is this
 * thread, else the thread of the main interpreter whose thread_id
 * (pthread_self(), the thread's fs base) is this thread's. 0: none. */
static __always_inline __u64 python_tstate(struct task_struct *task, __u64 runtime)
{
	__u64 fsbase = BPF_CORE_READ(task, thread.fsbase), ts = 0, tid = 0, interp = 0;

	if (!fsbase)
		return 0;
	if (bpf_probe_read_user(&ts, sizeof(ts), (void *)(runtime + PROFD_PY311_RT_TSTATE_CURRENT)) == 0 && ts &&
	    bpf_probe_read_user(&tid, sizeof(tid), (void *)(ts + PROFD_PY311_TS_THREAD_ID)) == 0 && tid == fsbase)
		return ts;
	if (bpf_probe_read_user(&interp, sizeof(interp), (void *)(runtime + PROFD_PY311_RT_INTERP_MAIN)) || !interp ||
	    bpf_probe_read_user(&ts, sizeof(ts), (void *)(interp + PROFD_PY311_IS_THREADS_HEAD)))
		return 0;
	for (int k = 0; k < PROFD_PY_MAX_THREADS && ts; k++) {
		if (bpf_probe_read_user(&tid, sizeof(tid), (void *)(ts + PROFD_PY311_TS_THREAD_ID)))
			return 0;
		if (tid == fsbase)
			return ts;
		if (bpf_probe_read_user(&ts, sizeof(ts), (void *)(ts + PROFD_PY311_TS_NEXT)))
			return 0;
	}
	return 0;
}

/* Python frames after the native ones, when the native walk went through
 * the interpreter's eval loop. */
static __always_inline void python_walk(struct scratch *s, struct task_struct *task, __u64 runtime)
{
	__u32 zero = 0;
	struct profd_unw_stats *us = bpf_map_lookup_elem(&unw_stats, &zero);
	__u64 t0 = bpf_ktime_get_ns(), ts, cf = 0;

	if (!us)
		return;
	us->py_walks++;
	ts = python_tstate(task, runtime);
	if (!ts) {
		us->py_no_thread++;
		return;
	}
	if (bpf_probe_read_user(&cf, sizeof(cf), (void *)(ts + PROFD_PY311_TS_CFRAME)) || !cf ||
	    bpf_probe_read_user(&s->st.py_frame, sizeof(s->st.py_frame), (void *)(cf + PROFD_PY311_CF_CURRENT_FRAME))) {
		us->py_read_err++;
		return;
	}
	s->st.py_n = 0;
	s->st.py_stop = 0;
	bpf_loop(PROFD_PY_MAX_FRAMES, python_frame, NULL, 0);
	if (s->st.py_stop == 0 && s->st.py_frame)
		s->st.py_stop = 2;
	if (s->st.py_stop == 2)
		us->py_cut++;
	else if (s->st.py_stop == 3)
		us->py_read_err++;
	us->py_frames += s->st.py_n;
	us->py_ns += bpf_ktime_get_ns() - t0;
}

/* User registers at the sample: the interrupted ones when the sample hit
 * user mode, else those saved at kernel entry. */
static __always_inline void user_regs(struct bpf_perf_event_data *ctx, struct task_struct *task,
				      struct unw_state *st)
{
	/* cs of struct pt_regs (an 8-byte slot in every kernel's layout;
	 * perf_event context reads must be 8 bytes wide) */
	__u64 cs = *(__u64 *)((char *)&ctx->regs + 17 * 8);

	if ((cs & 3) == 3) {
		st->pc = ctx->regs.ip;
		st->sp = ctx->regs.sp;
		st->bp = ctx->regs.bp;
	} else {
		struct pt_regs *r = (struct pt_regs *)bpf_task_pt_regs(task);

		st->pc = BPF_CORE_READ(r, ip);
		st->sp = BPF_CORE_READ(r, sp);
		st->bp = BPF_CORE_READ(r, bp);
	}
}

static __always_inline struct profd_unw_stats *count_unwind(struct scratch *s, __u64 ns)
{
	__u32 zero = 0, stop = s->st.stop;
	struct profd_unw_stats *us = bpf_map_lookup_elem(&unw_stats, &zero);

	if (!us)
		return NULL;
	us->unwound++;
	us->cfi_ns += ns;
	us->frames_dwarf += s->st.dwarf;
	us->frames_fp += s->st.fp;
	us->frames_signal += s->st.signal;
	us->row_hits += s->st.row_hits;
	if (stop < PROFD_USTOP_NR)
		us->stops[stop]++;
	return us;
}

SEC("perf_event")
int profd_sample_unwind(struct bpf_perf_event_data *ctx)
{
	__u64 start = bpf_ktime_get_ns();
	__u32 zero = 0, tgid;
	struct profd_cpu_stats *st = bpf_map_lookup_elem(&stats, &zero);
	struct scratch *s = bpf_map_lookup_elem(&scratch, &zero);
	struct profd_unw_proc *p;
	struct profd_unw_stats *us;
	struct task_struct *task;
	long kbytes, ubytes = 0;
	__u32 max = max_user_frames;
	__u64 t0, py_runtime;

	if (!st || !s)
		return 0;
	kbytes = sample_begin(ctx, st, s, &task);
	if (kbytes < 0)
		return 0;
	if (!BPF_CORE_READ(task, mm)) {
		s->hdr.flags |= PROFD_SF_KTHREAD;
		return sample_end(st, s, kbytes, 0, sizeof(struct profd_uframe));
	}
	tgid = s->hdr.tgid;
	p = bpf_map_lookup_elem(&unw_procs, &tgid);
	if (!p || p->start_time != s->hdr.start_time || !p->count) {
		/* No mapping table yet (new process) or a stale one (reused
		 * pid): the kernel's walk names the frames by build-id, and
		 * user space is asked for a table. */
		s->hdr.flags |= PROFD_SF_UNW_NOPROC;
		us = bpf_map_lookup_elem(&unw_stats, &zero);
		if (us)
			us->fallback++;
		ubytes = ustack_build_id(ctx, st, s, kbytes);
		return sample_end(st, s, kbytes, ubytes, sizeof(struct profd_ustack_frame));
	}
	t0 = bpf_ktime_get_ns();
	__builtin_memset(&s->st, 0, sizeof(s->st));
	s->st.p_first = p->first;
	s->st.p_count = p->count;
	s->st.koff = kbytes;
	s->st.how = PROFD_UF_REGS;
	if (max == 0 || max > PROFD_UNW_MAX_FRAMES)
		max = PROFD_UNW_MAX_FRAMES;
	s->st.max = max;
	if (p->py_version == PROFD_PY_311 && p->py_runtime) {
		s->st.py_uid = p->py_uid;
		s->st.py_lo = p->py_eval_lo;
		s->st.py_hi = p->py_eval_hi;
	}
	py_runtime = s->st.py_uid ? p->py_runtime : 0;
	user_regs(ctx, task, &s->st);
	bpf_loop(max, unwind_frame, NULL, 0);
	if (s->st.n >= max && s->st.stop == PROFD_USTOP_NONE)
		s->st.stop = PROFD_USTOP_CUT;
	s->hdr.flags |= PROFD_SF_UNWOUND;
	if (s->st.stop == PROFD_USTOP_CUT)
		s->hdr.flags |= PROFD_SF_UCUT;
	if (s->st.miss)
		s->hdr.flags |= PROFD_SF_UNW_MISS;
	if (s->st.building)
		s->hdr.flags |= PROFD_SF_UNW_BUILDING;
	s->hdr.ustop = (__u8)s->st.stop;
	us = count_unwind(s, bpf_ktime_get_ns() - t0);
	if (py_runtime && s->st.py_evals)
		python_walk(s, task, py_runtime);
	ubytes = (long)(s->st.n + s->st.py_n) * UFRAME_SIZE;
	if (ubytes > UFRAMES_BYTES)
		ubytes = UFRAMES_BYTES;
	sample_end(st, s, kbytes, ubytes, sizeof(struct profd_uframe));
	if (us)
		us->unwound_ns += bpf_ktime_get_ns() - start;
	return 0;
}

/* An exec replaces the whole image: the old mapping table must not be used
 * for a single sample of the new one. User space reads the new maps when
 * the first sample asks for them. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(profd_unw_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);

	bpf_map_delete_elem(&unw_procs, &tgid);
	return 0;
}
