/* SPDX-License-Identifier: GPL-2.0-only */
/* The DWARF unwinder of the CPU sampler: walks a user stack with the
 * compact CFI tables user space loads (include/profd/unwind.h), one frame
 * per bpf_loop() iteration, falling back to a frame-pointer step for
 * objects without a table. State lives in the per-CPU scratch record so
 * the loop callback is verified once, whatever the depth. Included by
 * cpu.bpf.c only; the map layout and the verifier's worst case are in
 * docs/architecture.md. */
#ifndef PROFD_UNWIND_BPF_H
#define PROFD_UNWIND_BPF_H

#include "profd/python.h"
#include "profd/unwind.h"

#define UFRAME_SIZE sizeof(struct profd_uframe)
#define UFRAMES_BYTES (PROFD_UNW_MAX_FRAMES * UFRAME_SIZE)

/* Sizes set by user space (bpf_map__set_max_entries) before load. The
 * three arrays are memory-mapped by user space, which writes them directly
 * (no syscall per row). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, union profd_unw_cell);
} unw_cells SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct profd_unw_mapping);
} unw_maps SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct profd_unw_obj);
} unw_objs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct profd_unw_proc);
} unw_procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct profd_unw_stats);
} unw_stats SEC(".maps");

/* Rows found lately, per CPU: (object uid, pc) -> row. A table row never
 * changes for a given (uid, pc) (uids are never reused), so entries need
 * no invalidation. The frames of a hot path recur in every sample, and a
 * hit costs one access to this 16 KiB array instead of three to five cold
 * ones (TLB misses, in a VM) in the descriptor, page index and rows. */
#define UNW_ROWCACHE_BITS 10

struct unw_rowcache_entry {
	__u32 uid;
	__u32 pc;
	struct profd_unw_row row;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1 << UNW_ROWCACHE_BITS);
	__type(key, __u32);
	__type(value, struct unw_rowcache_entry);
} unw_rowcache SEC(".maps");

/* Unwind state, in the per-CPU scratch record next to the sample. */
struct unw_state {
	__u64 pc, sp, bp;
	__u64 m_start, m_end, m_pgoff; /* the mapping pc was last found in */
	__u32 m_uid;
	__u16 m_slot, m_flags;
	__u32 have_map;
	__u32 p_first, p_count;        /* the process's mapping range */
	__u32 n;                       /* user frames written */
	__u32 koff;                    /* bytes of kernel IPs before them */
	__u32 max;                     /* frame bound for this sample */
	__u32 how;                     /* PROFD_UF_* of the frame at pc */
	__u32 stop;                    /* PROFD_USTOP_* */
	__u32 miss;                    /* a pc in no known mapping */
	__u32 building;                /* a frame in an object whose table is being built */
	__u32 dwarf, fp, signal;       /* frames by method, for the counters */
	__u32 row_hits;                /* rows found in unw_rowcache */
	__u32 d_uid;                   /* the descriptor below is this object's (0: none) */
	__u32 d_nrows, d_rows, d_pages, d_npages, d_first_page;
	__u64 win[16];                 /* saved-rbp slot .. return address, one read */
	/* Python (profd/python.h): the eval loop's range, and the walk */
	__u32 py_uid, py_lo, py_hi;    /* _PyEval_EvalFrameDefault's object and offsets */
	__u32 py_evals;                /* native frames in it */
	__u64 py_frame;                /* next _PyInterpreterFrame to read */
	__u32 py_n;                    /* Python frames written */
	__u32 py_stop;                 /* 0: going on, 1: done, 2: cut, 3: read error */
	__u8 py_buf[PROFD_PY311_IF_READ]; /* one frame, then one code object's names */
};

/* Find pc's mapping in the process's range: the last entry starting at or
 * before pc, by a binary search of at most PROFD_UNW_MAP_STEPS steps. */
static __always_inline int unw_find_mapping(struct unw_state *st, __u64 pc)
{
	__u32 lo = 0, hi = st->p_count - 1, idx;
	struct profd_unw_mapping *e;

	if (st->p_count == 0 || st->p_count > PROFD_UNW_MAX_PROC_MAPPINGS)
		return -1;
	for (int k = 0; k < PROFD_UNW_MAP_STEPS && lo < hi; k++) {
		__u32 mid = lo + (hi - lo + 1) / 2;

		idx = st->p_first + mid;
		e = bpf_map_lookup_elem(&unw_maps, &idx);
		if (!e)
			return -1;
		if (e->start <= pc)
			lo = mid;
		else
			hi = mid - 1;
	}
	idx = st->p_first + lo;
	e = bpf_map_lookup_elem(&unw_maps, &idx);
	if (!e || pc < e->start || pc >= e->end)
		return -1;
	st->m_start = e->start;
	st->m_end = e->end;
	st->m_pgoff = e->pgoff;
	st->m_uid = e->uid;
	st->m_slot = e->slot;
	st->m_flags = e->flags;
	st->have_map = 1;
	return 0;
}

/* The row covering file offset x of the object in slot (uid checked):
 * page entry, then at most PROFD_UNW_ROW_STEPS binary-search steps.
 * Returns 1 with *ret, 0 when the object has no table (or no row for x). */
static __always_inline int unw_find_row(struct unw_state *st, __u64 x, struct profd_unw_row *ret)
{
	__u32 lo, hi, idx, base, nrows;
	struct unw_rowcache_entry *e = NULL;
	union profd_unw_cell *c;
	__u64 page;

	if (!st->m_uid)
		return 0;
	if (x <= 0xffffffffull) {
		idx = ((__u32)x * 2654435761u ^ st->m_uid * 2246822519u) >> (32 - UNW_ROWCACHE_BITS);
		e = bpf_map_lookup_elem(&unw_rowcache, &idx);
		if (e && e->uid == st->m_uid && e->pc == (__u32)x) {
			*ret = e->row;
			st->row_hits++;
			return 1;
		}
	}
	if (st->d_uid != st->m_uid) {
		/* the descriptor, read once per object per sample */
		__u32 slot = st->m_slot;
		struct profd_unw_obj *d = bpf_map_lookup_elem(&unw_objs, &slot);

		if (!d)
			return 0;
		st->d_nrows = d->nrows;
		if (!st->d_nrows || d->uid != st->m_uid) {
			if (d->uid == st->m_uid && d->building)
				st->building = 1;
			return 0;
		}
		st->d_rows = d->rows;
		st->d_pages = d->pages;
		st->d_npages = d->npages;
		st->d_first_page = d->first_page;
		st->d_uid = st->m_uid;
	}
	nrows = st->d_nrows;
	page = x >> PROFD_UNW_PAGE_SHIFT;
	if (page < st->d_first_page || page - st->d_first_page >= st->d_npages)
		return 0;
	idx = st->d_pages + (__u32)(page - st->d_first_page);
	c = bpf_map_lookup_elem(&unw_cells, &idx);
	if (!c)
		return 0;
	lo = c->page.lo;
	hi = c->page.hi;
	base = st->d_rows;
	if (hi >= nrows || lo > hi)
		return 0;
	for (int k = 0; k < PROFD_UNW_ROW_STEPS && lo < hi; k++) {
		__u32 mid = lo + (hi - lo + 1) / 2;

		idx = base + mid;
		c = bpf_map_lookup_elem(&unw_cells, &idx);
		if (!c)
			return 0;
		if (c->row.pc <= x)
			lo = mid;
		else
			hi = mid - 1;
	}
	idx = base + lo;
	c = bpf_map_lookup_elem(&unw_cells, &idx);
	if (!c || c->row.pc > x)
		return 0;
	*ret = c->row;
	if (e) {
		e->uid = st->m_uid;
		e->pc = (__u32)x;
		e->row = c->row;
	}
	return 1;
}

/* Offsets in the ucontext at rsp in a signal trampoline (see table.c). */
#define UNW_UC_RBP 120
#define UNW_UC_RSP 160
#define UNW_UC_RIP 168

/* Caller's registers by the frame-pointer convention. 0 or a stop reason. */
static __always_inline int unw_fp_step(struct unw_state *st)
{
	__u64 fr[2];

	/* bp == sp is a caller without locals: its frame starts where the
	 * callee's ended */
	if (st->bp < st->sp || (st->bp & 7))
		return PROFD_USTOP_FP;
	if (bpf_probe_read_user(fr, sizeof(fr), (void *)st->bp))
		return PROFD_USTOP_FP;
	if (!fr[1])
		return PROFD_USTOP_ZERO_PC;
	st->sp = st->bp + 16;
	st->bp = fr[0];
	st->pc = fr[1];
	st->how = PROFD_UF_FP;
	st->fp++;
	return 0;
}

/* Caller's registers by a CFI row. 0 or a stop reason. */
static __always_inline int unw_row_step(struct unw_state *st, struct profd_unw_row *row)
{
	__u8 kind = row->cfa & ~PROFD_UNW_CFA_X8;
	__u64 off = (row->cfa & PROFD_UNW_CFA_X8) ? (__u64)row->off * 8 : row->off;
	__u64 cfa, v[2], ra = 0, bp = st->bp;

	switch (kind) {
	case PROFD_UNW_CFA_RSP:
		cfa = st->sp + off;
		break;
	case PROFD_UNW_CFA_RBP:
		cfa = st->bp + off;
		break;
	case PROFD_UNW_CFA_PLT:
		cfa = st->sp + row->off + ((st->pc & 15) >= (__u8)row->rbp ? 8 : 0);
		break;
	case PROFD_UNW_CFA_DEREF_RBP:
		if (bpf_probe_read_user(&cfa, sizeof(cfa), (void *)(st->bp + (__s64)(__s16)row->off)))
			return PROFD_USTOP_READ;
		break;
	case PROFD_UNW_CFA_SIGNAL:
		/* v = { rsp, rip } of the interrupted code */
		if (bpf_probe_read_user(v, sizeof(v), (void *)(st->sp + UNW_UC_RSP)) ||
		    bpf_probe_read_user(&bp, sizeof(bp), (void *)(st->sp + UNW_UC_RBP)))
			return PROFD_USTOP_READ;
		if (!v[1])
			return PROFD_USTOP_ZERO_PC;
		st->bp = bp;
		st->sp = v[0];
		st->pc = v[1];
		st->how = PROFD_UF_SIGNAL;
		st->signal++;
		return 0;
	case PROFD_UNW_CFA_END:
		return PROFD_USTOP_END;
	case PROFD_UNW_CFA_NONE:
		/* code without CFI (hand-written, or a gap): frame pointers */
		return unw_fp_step(st);
	default:
		return PROFD_USTOP_UNSUP;
	}
	if (cfa <= st->sp)
		return PROFD_USTOP_BAD_SP;
	if (kind != PROFD_UNW_CFA_PLT && row->rbp >= -16 && row->rbp <= -2) {
		/* rbp saved 2..16 slots below the CFA (after the other
		 * callee-saved registers): one read from its slot up to the
		 * return address instead of two helper calls */
		__u32 k = (__u32)(__u8)(-row->rbp);

		/* k is 2..16 here; the mask says so to the verifier whatever
		 * the compiler does with the range check above */
		k = ((k - 1) & 15) + 1;
		if (bpf_probe_read_user(st->win, k * 8, (void *)(cfa - k * 8)))
			return PROFD_USTOP_READ;
		bp = st->win[0];
		ra = st->win[(k - 1) & 15];
	} else {
		if (bpf_probe_read_user(&ra, sizeof(ra), (void *)(cfa - 8)))
			return PROFD_USTOP_READ;
		if (kind != PROFD_UNW_CFA_PLT && row->rbp == PROFD_UNW_RBP_AT_RBP) {
			if (bpf_probe_read_user(&bp, sizeof(bp), (void *)st->bp))
				return PROFD_USTOP_READ;
		} else if (kind != PROFD_UNW_CFA_PLT && row->rbp != PROFD_UNW_RBP_SAME &&
			   row->rbp != PROFD_UNW_RBP_UNDEF) {
			if (bpf_probe_read_user(&bp, sizeof(bp), (void *)(cfa + (__s64)row->rbp * 8)))
				return PROFD_USTOP_READ;
		}
	}
	if (!ra)
		return PROFD_USTOP_ZERO_PC;
	st->pc = ra;
	st->sp = cfa;
	st->bp = bp;
	st->how = PROFD_UF_DWARF;
	st->dwarf++;
	return 0;
}

#endif /* PROFD_UNWIND_BPF_H */
