/* SPDX-License-Identifier: GPL-2.0-only */
/* Fuzz target: the unwinder's parsers of untrusted files. The first byte
 * chooses: even, the rest is an ELF image -> unwind_table_build_mem and
 * the table's invariants; odd, the rest is a raw .eh_frame (or, with bit 1,
 * .debug_frame) section -> cfi_parse and every row's conversion. */
#include "fuzz_util.h"

#include "unwind/cfi.h"
#include "unwind/table.h"

#include <string.h>

static int check_row(void *ctx, const struct cfi_row *r)
{
	struct profd_unw_row o;

	(void)ctx;
	FUZZ_CHECK(r->pc_lo < r->pc_hi);
	unwind_row_from_cfi(r, &o);
	FUZZ_CHECK((o.cfa & ~PROFD_UNW_CFA_X8) <= PROFD_UNW_CFA_UNSUP);
	return 0;
}

static void check_table(const struct unwind_table *t)
{
	struct profd_unw_row r;

	if (!t->nrows) {
		FUZZ_CHECK(!t->npages);
		return;
	}
	FUZZ_CHECK(t->npages == (t->rows[t->nrows - 1].pc >> PROFD_UNW_PAGE_SHIFT) - t->first_page + 1);
	for (uint32_t i = 0; i < t->nrows; i++) {
		FUZZ_CHECK(i == 0 || t->rows[i].pc > t->rows[i - 1].pc);
		/* every row is found where the BPF program looks for it */
		FUZZ_CHECK(unwind_table_find(t, t->rows[i].pc, &r) == 0 && r.pc == t->rows[i].pc);
	}
	for (uint32_t p = 0; p < t->npages; p++) {
		FUZZ_CHECK(t->pages[p].lo <= t->pages[p].hi && t->pages[p].hi < t->nrows);
		FUZZ_CHECK(t->pages[p].hi - t->pages[p].lo < (1u << PROFD_UNW_ROW_STEPS));
	}
	FUZZ_CHECK(t->build_id_len <= UNWIND_BUILD_ID_MAX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1) {
		struct cfi_section sec = { .data = data + 1, .size = size - 1, .vaddr = 0x1000,
					   .debug_frame = !!(data[0] & 2) };
		struct cfi_stats st;

		FUZZ_CHECK(cfi_parse(&sec, check_row, NULL, &st) == 0);
	} else {
		struct unwind_table *t = NULL;
		/* libelf wants a writable image; keep the input intact */
		void *copy = malloc(size - 1 ? size - 1 : 1);

		FUZZ_CHECK(copy);
		memcpy(copy, data + 1, size - 1);
		unwind_table_build_mem(copy, size - 1, &t);
		if (t)
			check_table(t);
		unwind_table_free(t);
		free(copy);
	}
	return 0;
}
