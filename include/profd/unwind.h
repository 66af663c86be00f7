/* SPDX-License-Identifier: GPL-2.0-only */
/* BPF <-> user-space ABI of the DWARF unwinder: the compact unwind tables,
 * the per-process mapping tables, and the user frames the sampler emits.
 *
 * User space (daemon/unwind/) turns each executable object's .eh_frame (or
 * .debug_frame) into a sorted array of 8-byte rows keyed by file offset and
 * writes it into one shared pool; the perf_event program (bpf/cpu.bpf.c)
 * maps a user PC to (object, file offset) through the process's mapping
 * table, finds the row covering it and steps to the caller. Layout and
 * reasons: docs/architecture.md, "User stacks without frame pointers".
 *
 * Only <linux/types.h> types and fixed arrays: compiled by clang -target
 * bpf and by the host compiler. Sizes pinned in daemon/collect/abi_check.c. */
#ifndef PROFD_UNWIND_H
#define PROFD_UNWIND_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Compile-time bound on user frames in one sample (the BPF loop's count and
 * the record's size); the configured bound (max_user_frames) is <= this. */
#define PROFD_UNW_MAX_FRAMES 512
/* Bound on the page index: rows are searched within one page of text. */
#define PROFD_UNW_PAGE_SHIFT 12
/* Binary-search steps: 2^13 > the most rows one 4 KiB page can hold (one
 * per byte of code, plus the row that starts before the page). */
#define PROFD_UNW_ROW_STEPS 13
/* Mapping search steps: a process table holds at most 2^12 mappings. */
#define PROFD_UNW_MAX_PROC_MAPPINGS 4096
#define PROFD_UNW_MAP_STEPS 13

/* ---- compact unwind rows ------------------------------------------------
 *
 * One row holds from its pc up to the next row's pc. Rows of one object are
 * sorted by pc (a file offset into the object) and contiguous in the pool.
 * The return address is always at CFA - 8 (x86-64 call pushes it there)
 * except for SIGNAL rows; rows that need anything else are UNSUP. */
#define PROFD_UNW_CFA_NONE 0   /* no CFI covers this pc (gap between FDEs) */
#define PROFD_UNW_CFA_RSP 1    /* CFA = rsp + off */
#define PROFD_UNW_CFA_RBP 2    /* CFA = rbp + off */
#define PROFD_UNW_CFA_PLT 3    /* PLT stub: CFA = rsp + off + ((rip & 15) >= rbp ? 8 : 0);
				* the rbp field holds the threshold (rbp itself is unchanged) */
#define PROFD_UNW_CFA_DEREF_RBP 4 /* CFA = *(rbp + (__s16)off) (stack realignment, DRAP) */
#define PROFD_UNW_CFA_SIGNAL 5 /* rt_sigreturn trampoline: rip, rsp, rbp from the
				* ucontext at rsp (struct rt_sigframe after pretcode) */
#define PROFD_UNW_CFA_END 6    /* return address undefined: the outermost frame
				* (_start, the thread start in clone/clone3) */
#define PROFD_UNW_CFA_UNSUP 7  /* a rule the BPF unwinder does not follow */
#define PROFD_UNW_CFA_X8 0x80  /* flag: off is in units of 8 bytes (large frames) */

/* rbp field: where the caller's rbp is. Other values n: saved at CFA + 8n. */
#define PROFD_UNW_RBP_SAME 0       /* unchanged (not saved, or restored already) */
#define PROFD_UNW_RBP_AT_RBP (-127) /* saved at [rbp] (DRAP prologues) */
#define PROFD_UNW_RBP_UNDEF (-128) /* undefined: later frames cannot use rbp */

struct profd_unw_row {
	__u32 pc;   /* first file offset this row covers */
	__u8 cfa;   /* PROFD_UNW_CFA_* | PROFD_UNW_CFA_X8 */
	__s8 rbp;   /* PROFD_UNW_RBP_* or saved-slot index from the CFA */
	__u16 off;  /* CFA offset (see cfa); DEREF_RBP reads it as __s16 */
};

/* One page-index entry: the rows to search for a pc in page p of the
 * object's text (pc >> PROFD_UNW_PAGE_SHIFT == first_page + p) are
 * [lo, hi] (inclusive, indexes relative to the object's first row). */
struct profd_unw_page {
	__u32 lo;
	__u32 hi;
};

/* The pool is one array of 8-byte cells: an object's page index and its
 * rows are two ranges in it. */
union profd_unw_cell {
	struct profd_unw_row row;
	struct profd_unw_page page;
};

/* Per-object descriptor, array map indexed by slot. A mapping names the
 * object's uid and slot; a descriptor whose uid differs (the slot was
 * reused) or whose nrows is 0 (table not loaded, or evicted) means: no
 * table, fall back to frame pointers. */
struct profd_unw_obj {
	__u32 uid;        /* object this slot holds now, 0: free */
	__u32 nrows;      /* 0: no table loaded */
	__u32 rows;       /* first row's cell index in the pool */
	__u32 pages;      /* first page entry's cell index in the pool */
	__u32 npages;     /* page entries */
	__u32 first_page; /* pc >> PROFD_UNW_PAGE_SHIFT of page entry 0 */
	__u32 building;   /* 1: no table yet, one is being built (a sample that
			   * needs it wakes user space to install it) */
	__u32 reserved;
};

/* ---- per-process mapping tables -----------------------------------------
 *
 * Executable mappings of a process, sorted by start, in a shared array
 * (range [first, first + count) of the mapping pool); a hash map keyed by
 * tgid points at the range. */
#define PROFD_UNW_MAP_RAW (1u << 0)  /* report raw IPs: anonymous code (JIT) or
				      * a file without a build-id */
#define PROFD_UNW_MAP_VDSO (1u << 1) /* the vDSO (table from profd's own copy) */

struct profd_unw_mapping {
	__u64 start;  /* first address */
	__u64 end;    /* one past the last address */
	__u64 pgoff;  /* file offset of start */
	__u32 uid;    /* object uid; 0 for anonymous code */
	__u16 slot;   /* descriptor slot of the object's table */
	__u16 flags;  /* PROFD_UNW_MAP_* */
};

struct profd_unw_proc {
	__u64 start_time; /* group leader's start_boottime: a reused pid misses */
	__u32 first;      /* first mapping in the pool */
	__u32 count;      /* mappings (<= PROFD_UNW_MAX_PROC_MAPPINGS) */
	/* A CPython interpreter profd knows (profd/python.h), else all 0 */
	__u64 py_runtime; /* address of _PyRuntime in the process */
	__u32 py_version; /* PROFD_PY_* */
	__u32 py_uid;     /* object holding _PyEval_EvalFrameDefault */
	__u32 py_eval_lo; /* its file offsets [lo, hi) in that object */
	__u32 py_eval_hi;
};

/* ---- frames in a sample --------------------------------------------------
 *
 * With PROFD_SF_UNWOUND set in profd_sample.flags, the user frames that
 * follow the kernel IPs are profd_uframe entries (leaf first). */
#define PROFD_UF_REGS (1u << 0)   /* pc from the sampled registers (leaf) */
#define PROFD_UF_DWARF (1u << 1)  /* found by a CFI step from the frame below */
#define PROFD_UF_FP (1u << 2)     /* found by a frame-pointer step (no table) */
#define PROFD_UF_SIGNAL (1u << 3) /* interrupted pc restored from a signal frame */
#define PROFD_UF_RAW (1u << 4)    /* addr is the raw IP: no object to name it by */
#define PROFD_UF_PYEVAL (1u << 5) /* a native frame in _PyEval_EvalFrameDefault */
#define PROFD_UF_PY (1u << 6)     /* a Python frame: addr is the code object,
				   * uid its signature (profd/python.h) */
#define PROFD_UF_PY_ENTRY (1u << 7) /* with PROFD_UF_PY: the first Python frame
				   * of its _PyEval_EvalFrameDefault call */

struct profd_uframe {
	__u64 addr;   /* file offset in object uid, or the raw IP (PROFD_UF_RAW) */
	__u32 uid;    /* object uid (0 with PROFD_UF_RAW) */
	__u32 flags;  /* PROFD_UF_* */
};

/* Why the user unwind stopped: profd_sample.ustop. */
#define PROFD_USTOP_NONE 0      /* build-id fallback: not unwound by the tables */
#define PROFD_USTOP_END 1       /* reached an END row: the stack is complete */
#define PROFD_USTOP_CUT 2       /* max_user_frames reached (PROFD_SF_UCUT) */
#define PROFD_USTOP_NO_MAPPING 3 /* pc in no known mapping (refresh requested) */
#define PROFD_USTOP_READ 4      /* user memory unreadable (paged out, bogus sp) */
#define PROFD_USTOP_UNSUP 5     /* UNSUP or NONE row, or a CFA we cannot compute */
#define PROFD_USTOP_FP 6        /* frame-pointer step failed (no table for the object) */
#define PROFD_USTOP_BAD_SP 7    /* the stack pointer did not grow: corrupt stack */
#define PROFD_USTOP_ZERO_PC 8   /* return address 0: the conventional end */
#define PROFD_USTOP_NR 9

/* Per-CPU unwinder counters (PERCPU_ARRAY, one element), next to
 * profd_cpu_stats. stops[] counts unwound samples by PROFD_USTOP_*; cfi_ns
 * and bid_ns time the user-stack walk alone (bpf_ktime_get_ns around it),
 * so cfi_ns / unwound and bid_ns / bid_walks are the walks' cost per sample;
 * unwound_ns / unwound is what a sample unwound with tables costs in all
 * (kernel stack and record included). */
struct profd_unw_stats {
	__u64 unwound;        /* samples unwound with tables */
	__u64 fallback;       /* samples of processes without a mapping table */
	__u64 frames_dwarf;   /* frames found by CFI steps */
	__u64 frames_fp;      /* frames found by frame-pointer steps */
	__u64 frames_signal;  /* frames restored from signal frames */
	__u64 stops[PROFD_USTOP_NR];
	__u64 cfi_ns;         /* time in CFI walks (the bpf_loop), ns */
	__u64 bid_ns;         /* time in the kernel's build-id walks, ns */
	__u64 bid_walks;      /* samples walked by it (fallback, or frame-pointer mode) */
	__u64 row_hits;       /* rows found in the per-CPU row cache */
	__u64 unwound_ns;     /* whole-program time of the unwound samples, ns */
	__u64 reserved;
	/* Python frames (profd/python.h) */
	__u64 py_walks;       /* samples whose native stack ran Python code */
	__u64 py_frames;      /* Python frames emitted */
	__u64 py_cut;         /* walks cut at PROFD_PY_MAX_FRAMES or the record's room */
	__u64 py_no_thread;   /* the sampled thread's PyThreadState not found */
	__u64 py_read_err;    /* interpreter memory unreadable mid-walk */
	__u64 py_ns;          /* time in Python walks, ns */
};

#endif /* PROFD_UNWIND_H */
