/* SPDX-License-Identifier: GPL-2.0-only */
/* Compact unwind tables: one ELF object's CFI turned into the sorted 8-byte
 * rows and the page index the BPF unwinder searches (include/profd/unwind.h),
 * keyed by file offset so that one table serves every process that maps
 * the object, wherever it is mapped.
 *
 * Pure: takes an open file or an image in memory (the vDSO). Also holds the
 * reference step, the BPF program's arithmetic in C, which tests use to walk
 * real stacks with a table. */
#ifndef PROFD_UNWIND_TABLE_H
#define PROFD_UNWIND_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "profd/unwind.h"
#include "unwind/cfi.h"

#define UNWIND_BUILD_ID_MAX 20 /* SHA-1; longer ids are ignored, as the kernel does */

enum unwind_source {
	UNWIND_SRC_NONE = 0,
	UNWIND_SRC_EH_FRAME,
	UNWIND_SRC_DEBUG_FRAME, /* only where the object has no .eh_frame */
};

struct unwind_table_stats {
	uint64_t cfi_bytes;    /* size of the CFI section parsed */
	uint64_t fdes;         /* FDEs in it */
	uint64_t cfi_rows;     /* rows the CFI states */
	uint64_t rows;         /* compact rows after merging equal neighbours */
	uint64_t unsupported;  /* compact rows the BPF unwinder cannot follow */
	uint64_t unmapped;     /* CFI rows outside every loadable segment (dropped) */
	uint64_t bad_entries;  /* malformed CIEs/FDEs and instruction streams */
	uint64_t build_ns;     /* CPU time the build took (its thread's) */
	enum unwind_source source;
};

struct unwind_table {
	struct profd_unw_row *rows;   /* sorted by pc (file offsets) */
	uint32_t nrows;
	struct profd_unw_page *pages; /* one per 4 KiB page from first_page */
	uint32_t npages;
	uint32_t first_page;
	uint8_t build_id[UNWIND_BUILD_ID_MAX];
	size_t build_id_len;          /* 0: the object has none */
	struct unwind_table_stats st;
};

/* Build from the ELF file open on fd (not closed, offset not used).
 * 0 and *ret; -ENODATA when the object has no CFI at all (*ret is then
 * still set, with no rows, so the caller learns the build-id); -EINVAL
 * for a file that is not a usable ELF object; -ENOMEM. */
int unwind_table_build_fd(int fd, struct unwind_table **ret);
/* The same from an image in memory (the vDSO, copied out of profd). */
int unwind_table_build_mem(const void *buf, size_t len, struct unwind_table **ret);
struct unwind_table *unwind_table_free(struct unwind_table *t);

/* Build-id of the ELF file open on fd: its length (1..UNWIND_BUILD_ID_MAX)
 * with buf filled, -ENODATA when it has none, -EINVAL for a non-ELF file.
 * ret_cfi_bytes (may be NULL) gets the size of the CFI a build would parse
 * (0 if none), from the section headers: what a build will cost. */
int unwind_read_build_id_fd(int fd, uint8_t buf[UNWIND_BUILD_ID_MAX], uint64_t *ret_cfi_bytes);

/* Pool cells the table takes: npages + nrows. */
size_t unwind_table_cells(const struct unwind_table *t);

/* The row covering file offset pc, found as the BPF program finds it (page
 * entry, then a binary search bounded by PROFD_UNW_ROW_STEPS). 0 and *ret,
 * or -ENOENT (below the first row or beyond the page index). */
int unwind_table_find(const struct unwind_table *t, uint64_t pc, struct profd_unw_row *ret);

/* One CFI row as a compact row (pc left 0). Exposed for unit tests. */
void unwind_row_from_cfi(const struct cfi_row *r, struct profd_unw_row *ret);

/* ---- the reference step -------------------------------------------------- */

struct unwind_regs {
	uint64_t pc, sp, bp;
};

/* Reads len bytes of the unwound process's memory at addr: 0 or -EFAULT. */
typedef int (*unwind_read_fn)(void *ctx, uint64_t addr, void *buf, size_t len);

/* Step from the frame regs describes to its caller with row (the row that
 * covers regs->pc, or pc - 1 for a return address). Returns 0 and updates
 * regs (*ret_signal = 1 when the new pc is an interrupted pc, not a return
 * address), or a PROFD_USTOP_* reason and leaves regs alone. */
int unwind_step(const struct profd_unw_row *row, struct unwind_regs *regs, unwind_read_fn rd, void *ctx,
		int *ret_signal);

#endif
