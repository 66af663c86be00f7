/* SPDX-License-Identifier: GPL-2.0-only */
/* DWARF call-frame information (.eh_frame, .debug_frame) parser.
 *
 * Pure: takes a section's bytes and its address, and calls back once per
 * row of the CFI table (a pc range and the rules that hold in it) for the
 * registers an x86-64 stack walk needs: the CFA, the return address (16)
 * and rbp (6). Malformed entries are skipped and counted, never fatal; no
 * read goes past the buffer. Expressions are handed back as byte ranges
 * for the caller to recognise. */
#ifndef PROFD_UNWIND_CFI_H
#define PROFD_UNWIND_CFI_H

#include <stddef.h>
#include <stdint.h>

/* DWARF register numbers on x86-64. */
#define CFI_REG_RBP 6
#define CFI_REG_RSP 7
#define CFI_REG_RA 16
#define CFI_NREGS 17

enum cfi_rule_kind {
	CFI_RULE_SAME = 0,   /* no rule, or same_value: callee-saved, unchanged */
	CFI_RULE_UNDEF,      /* undefined */
	CFI_RULE_OFFSET,     /* saved at CFA + off */
	CFI_RULE_VAL_OFFSET, /* value is CFA + off */
	CFI_RULE_REG,        /* value is in register reg */
	CFI_RULE_EXPR,       /* saved at the address expr computes */
	CFI_RULE_VAL_EXPR,   /* value is what expr computes */
};

struct cfi_rule {
	uint8_t kind;        /* enum cfi_rule_kind */
	uint32_t reg;        /* CFI_RULE_REG */
	int64_t off;         /* CFI_RULE_OFFSET, CFI_RULE_VAL_OFFSET */
	const uint8_t *expr; /* CFI_RULE_EXPR, CFI_RULE_VAL_EXPR: DWARF expression */
	size_t expr_len;
};

struct cfi_cfa {
	uint8_t is_expr;     /* 0: reg + off; 1: expr */
	uint32_t reg;
	int64_t off;
	const uint8_t *expr;
	size_t expr_len;
};

/* One row: the rules hold for pc in [pc_lo, pc_hi). Addresses are as the
 * section states them (virtual addresses of the object). */
struct cfi_row {
	uint64_t pc_lo, pc_hi;
	struct cfi_cfa cfa;
	struct cfi_rule ra;  /* return address (register 16) */
	struct cfi_rule rbp;
	uint8_t signal_frame; /* the CIE has the 'S' augmentation */
	uint32_t fde_index;   /* ordinal of the FDE the row comes from */
};

struct cfi_section {
	const uint8_t *data;
	size_t size;
	uint64_t vaddr;       /* address of data[0] (pc-relative pointers) */
	int debug_frame;      /* 1: .debug_frame format (CIE id 0xffffffff, absolute addresses) */
	uint64_t text_vaddr;  /* for DW_EH_PE_textrel (0 if unknown) */
	uint64_t data_vaddr;  /* for DW_EH_PE_datarel: .got on x86-64 (0 if unknown) */
};

struct cfi_stats {
	uint64_t cies;
	uint64_t fdes;
	uint64_t rows;
	uint64_t bad_entries;   /* CIEs/FDEs skipped as malformed */
	uint64_t bad_insns;     /* FDEs cut at an unknown or truncated instruction */
};

/* Return non-zero from the callback to stop the walk (that value is
 * returned by cfi_parse). The row's expression pointers point into the
 * section and are valid while it is. */
typedef int (*cfi_row_fn)(void *ctx, const struct cfi_row *row);

/* Walk every FDE of the section and report its rows in address order.
 * Returns 0 (malformed parts are counted in *stats, which may be NULL),
 * the callback's non-zero value, or -EINVAL for a NULL section. */
int cfi_parse(const struct cfi_section *sec, cfi_row_fn fn, void *ctx, struct cfi_stats *stats);

#endif
