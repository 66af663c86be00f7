/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for the CFI parser and the compact-row conversion: sections
 * assembled byte by byte, so every rule and every malformed case is known. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "unwind/cfi.h"
#include "unwind/table.h"

/* ---- a tiny assembler for .eh_frame ---------------------------------------- */

struct buf {
	uint8_t b[4096];
	size_t n;
};

static void put(struct buf *b, const void *p, size_t n)
{
	assert_true(b->n + n <= sizeof(b->b));
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void u8(struct buf *b, uint8_t v)
{
	put(b, &v, 1);
}

static void u32(struct buf *b, uint32_t v)
{
	put(b, &v, 4);
}

static void uleb(struct buf *b, uint64_t v)
{
	do {
		uint8_t c = v & 0x7f;

		v >>= 7;
		u8(b, (uint8_t)(c | (v ? 0x80 : 0)));
	} while (v);
}

static void sleb(struct buf *b, int64_t v)
{
	for (;;) {
		uint8_t c = v & 0x7f;

		v >>= 7;
		if ((v == 0 && !(c & 0x40)) || (v == -1 && (c & 0x40))) {
			u8(b, c);
			return;
		}
		u8(b, c | 0x80);
	}
}

/* Patch the length field at `at` to cover up to the current end. */
static void end_entry(struct buf *b, size_t at)
{
	uint32_t len = (uint32_t)(b->n - at - 4);

	memcpy(b->b + at, &len, 4);
}

/* CIE: version 1, augmentation "zR" (or "zRS"), code align 1, data align
 * -8, RA 16, FDE pointers pc-relative sdata4; initial rules CFA = rsp + 8,
 * RA at CFA - 8. Returns its offset. */
static size_t cie(struct buf *b, int signal)
{
	size_t at = b->n;

	u32(b, 0);
	u32(b, 0); /* CIE id */
	u8(b, 1);
	put(b, signal ? "zRS" : "zR", signal ? 4 : 3);
	uleb(b, 1);
	sleb(b, -8);
	u8(b, 16);
	uleb(b, 1);
	u8(b, 0x1b); /* DW_EH_PE_pcrel | DW_EH_PE_sdata4 */
	u8(b, 0x0c); /* def_cfa r7 8 */
	uleb(b, 7);
	uleb(b, 8);
	u8(b, 0x80 | 16); /* offset r16 at cfa-8 */
	uleb(b, 1);
	end_entry(b, at);
	return at;
}

/* FDE header for [pc, pc + range) of CIE at cie_at, with vaddr = section
 * address. Instructions follow; end with end_entry(). */
static size_t fde(struct buf *b, size_t cie_at, uint64_t vaddr, uint64_t pc, uint32_t range)
{
	size_t at = b->n;
	int32_t rel;

	u32(b, 0);
	u32(b, (uint32_t)(b->n - cie_at)); /* CIE pointer: back from this field */
	rel = (int32_t)(int64_t)(pc - (vaddr + b->n));
	u32(b, (uint32_t)rel);
	u32(b, range);
	uleb(b, 0); /* augmentation data length */
	return at;
}

#define VADDR 0x10000

struct rows {
	struct cfi_row r[64];
	size_t n;
};

static int collect(void *ctx, const struct cfi_row *row)
{
	struct rows *rs = ctx;

	if (rs->n < 64)
		rs->r[rs->n] = *row;
	rs->n++;
	return 0;
}

static void parse(struct buf *b, struct rows *rs, struct cfi_stats *st)
{
	struct cfi_section sec = { .data = b->b, .size = b->n, .vaddr = VADDR };

	memset(rs, 0, sizeof(*rs));
	assert_int_equal(cfi_parse(&sec, collect, rs, st), 0);
}

static struct profd_unw_row compact(const struct cfi_row *r)
{
	struct profd_unw_row o;

	unwind_row_from_cfi(r, &o);
	return o;
}

/* A function with the classic prologue: push rbp; mov rsp, rbp; ... pop rbp; ret. */
static void test_prologue(void **state)
{
	struct buf b = { 0 };
	struct rows rs;
	struct cfi_stats st;
	size_t c, f;
	struct profd_unw_row o;

	(void)state;
	c = cie(&b, 0);
	f = fde(&b, c, VADDR, 0x1000, 0x40);
	u8(&b, 0x40 | 1);         /* advance 1 */
	u8(&b, 0x0e); uleb(&b, 16); /* def_cfa_offset 16 */
	u8(&b, 0x80 | 6); uleb(&b, 2); /* rbp at cfa-16 */
	u8(&b, 0x40 | 3);         /* advance 3 */
	u8(&b, 0x0d); uleb(&b, 6); /* def_cfa_register rbp */
	u8(&b, 0x02); u8(&b, 0x30); /* advance_loc1 48 */
	u8(&b, 0x0c); uleb(&b, 7); uleb(&b, 8); /* def_cfa rsp 8 */
	u8(&b, 0xc0 | 6);         /* restore rbp */
	end_entry(&b, f);
	parse(&b, &rs, &st);
	assert_int_equal(st.cies, 1);
	assert_int_equal(st.fdes, 1);
	assert_int_equal(st.bad_entries + st.bad_insns, 0);
	assert_int_equal(rs.n, 4);
	assert_int_equal(rs.r[0].pc_lo, 0x1000);
	assert_int_equal(rs.r[0].pc_hi, 0x1001);
	assert_int_equal(rs.r[1].pc_lo, 0x1001);
	assert_int_equal(rs.r[2].pc_lo, 0x1004);
	assert_int_equal(rs.r[3].pc_lo, 0x1034);
	assert_int_equal(rs.r[3].pc_hi, 0x1040);

	o = compact(&rs.r[0]);
	assert_int_equal(o.cfa, PROFD_UNW_CFA_RSP);
	assert_int_equal(o.off, 8);
	assert_int_equal(o.rbp, PROFD_UNW_RBP_SAME);
	o = compact(&rs.r[1]);
	assert_int_equal(o.cfa, PROFD_UNW_CFA_RSP);
	assert_int_equal(o.off, 16);
	assert_int_equal(o.rbp, -2);
	o = compact(&rs.r[2]);
	assert_int_equal(o.cfa, PROFD_UNW_CFA_RBP);
	assert_int_equal(o.off, 16);
	assert_int_equal(o.rbp, -2);
	o = compact(&rs.r[3]);
	assert_int_equal(o.cfa, PROFD_UNW_CFA_RSP);
	assert_int_equal(o.off, 8);
	assert_int_equal(o.rbp, PROFD_UNW_RBP_SAME);
}

/* remember/restore around an early return; a large frame (x8 offsets). */
static void test_remember_restore_and_large_frame(void **state)
{
	struct buf b = { 0 };
	struct rows rs;
	struct cfi_stats st;
	size_t c, f;
	struct profd_unw_row o;

	(void)state;
	c = cie(&b, 0);
	f = fde(&b, c, VADDR, 0x2000, 0x30);
	u8(&b, 0x40 | 7);
	u8(&b, 0x0e); uleb(&b, 0x40008); /* sub $0x40000, rsp: CFA rsp + 256 KiB + 8 */
	u8(&b, 0x40 | 9);
	u8(&b, 0x0a);            /* remember */
	u8(&b, 0x0e); uleb(&b, 8);
	u8(&b, 0x40 | 1);
	u8(&b, 0x0b);            /* restore */
	end_entry(&b, f);
	parse(&b, &rs, &st);
	assert_int_equal(rs.n, 4);
	o = compact(&rs.r[1]);
	assert_int_equal(o.cfa, PROFD_UNW_CFA_RSP | PROFD_UNW_CFA_X8);
	assert_int_equal(o.off, 0x40008 / 8);
	o = compact(&rs.r[2]);
	assert_int_equal(o.cfa, PROFD_UNW_CFA_RSP);
	assert_int_equal(o.off, 8);
	o = compact(&rs.r[3]);
	assert_int_equal(rs.r[3].pc_lo, 0x2011);
	assert_int_equal(o.cfa, PROFD_UNW_CFA_RSP | PROFD_UNW_CFA_X8);
	/* an offset neither 16 bits nor a multiple of 8 cannot be encoded */
	rs.r[0].cfa.off = 0x100001;
	o = compact(&rs.r[0]);
	assert_int_equal(o.cfa, PROFD_UNW_CFA_UNSUP);
}

/* GNU ld's PLT rule, DRAP (stack realignment), the signal trampoline,
 * the outermost frame, and rules the BPF unwinder does not follow. */
static void test_expressions(void **state)
{
	static const uint8_t plt[] = { 0x77, 0x08, 0x80, 0x00, 0x3f, 0x1a, 0x3b, 0x2a, 0x33, 0x24, 0x22 };
	static const uint8_t drap_cfa[] = { 0x76, 0x78, 0x06 }; /* breg6 -8; deref */
	static const uint8_t drap_rbp[] = { 0x76, 0x00 };       /* breg6 0 */
	static const uint8_t sig_cfa[] = { 0x77, 0xa0, 0x01, 0x06 }; /* breg7 160; deref */
	static const uint8_t sig_rip[] = { 0x77, 0xa8, 0x01 };       /* breg7 168 */
	static const uint8_t other[] = { 0x77, 0x08, 0x06, 0x06 };
	struct buf b = { 0 };
	struct rows rs;
	struct cfi_stats st;
	size_t c, cs, f;
	struct profd_unw_row o;

	(void)state;
	c = cie(&b, 0);
	cs = cie(&b, 1);
	/* PLT */
	f = fde(&b, c, VADDR, 0x3000, 0x20);
	u8(&b, 0x0f); uleb(&b, sizeof(plt)); put(&b, plt, sizeof(plt));
	end_entry(&b, f);
	/* DRAP */
	f = fde(&b, c, VADDR, 0x3100, 0x20);
	u8(&b, 0x0f); uleb(&b, sizeof(drap_cfa)); put(&b, drap_cfa, sizeof(drap_cfa));
	u8(&b, 0x10); uleb(&b, 6); uleb(&b, sizeof(drap_rbp)); put(&b, drap_rbp, sizeof(drap_rbp));
	end_entry(&b, f);
	/* __restore_rt: 'S' CIE */
	f = fde(&b, cs, VADDR, 0x3200, 0x10);
	u8(&b, 0x0f); uleb(&b, sizeof(sig_cfa)); put(&b, sig_cfa, sizeof(sig_cfa));
	u8(&b, 0x10); uleb(&b, 16); uleb(&b, sizeof(sig_rip)); put(&b, sig_rip, sizeof(sig_rip));
	end_entry(&b, f);
	/* _start: RA undefined */
	f = fde(&b, c, VADDR, 0x3300, 0x10);
	u8(&b, 0x07); uleb(&b, 16);
	end_entry(&b, f);
	/* an expression nobody else writes, and a CFA in r10 */
	f = fde(&b, c, VADDR, 0x3400, 0x10);
	u8(&b, 0x0f); uleb(&b, sizeof(other)); put(&b, other, sizeof(other));
	u8(&b, 0x40 | 4);
	u8(&b, 0x0c); uleb(&b, 10); uleb(&b, 0);
	end_entry(&b, f);
	parse(&b, &rs, &st);
	assert_int_equal(st.fdes, 5);
	assert_int_equal(st.bad_entries + st.bad_insns, 0);
	assert_int_equal(rs.n, 6);

	o = compact(&rs.r[0]);
	assert_int_equal(o.cfa, PROFD_UNW_CFA_PLT);
	assert_int_equal(o.off, 8);
	assert_int_equal(o.rbp, 11);
	o = compact(&rs.r[1]);
	assert_int_equal(o.cfa, PROFD_UNW_CFA_DEREF_RBP);
	assert_int_equal((int16_t)o.off, -8);
	assert_int_equal(o.rbp, PROFD_UNW_RBP_AT_RBP);
	assert_true(rs.r[2].signal_frame);
	o = compact(&rs.r[2]);
	assert_int_equal(o.cfa, PROFD_UNW_CFA_SIGNAL);
	o = compact(&rs.r[3]);
	assert_int_equal(o.cfa, PROFD_UNW_CFA_END);
	o = compact(&rs.r[4]);
	assert_int_equal(o.cfa, PROFD_UNW_CFA_UNSUP);
	o = compact(&rs.r[5]);
	assert_int_equal(o.cfa, PROFD_UNW_CFA_UNSUP);
}

/* The same rules in .debug_frame: CIE id 0xffffffff, absolute addresses,
 * CIE pointers as section offsets, version 4 with address size. */
static void test_debug_frame(void **state)
{
	struct buf b = { 0 };
	struct rows rs;
	size_t c, f;
	uint64_t pc = 0x401000, range = 0x10;
	struct cfi_section sec;
	struct cfi_stats st;

	(void)state;
	c = b.n;
	u32(&b, 0);
	u32(&b, 0xffffffffu);
	u8(&b, 4);
	u8(&b, 0);      /* no augmentation */
	u8(&b, 8);      /* address size */
	u8(&b, 0);      /* segment selector size */
	uleb(&b, 1);
	sleb(&b, -8);
	uleb(&b, 16);
	u8(&b, 0x0c); uleb(&b, 7); uleb(&b, 8);
	u8(&b, 0x80 | 16); uleb(&b, 1);
	end_entry(&b, c);
	f = b.n;
	u32(&b, 0);
	u32(&b, (uint32_t)c);
	put(&b, &pc, 8);
	put(&b, &range, 8);
	u8(&b, 0x40 | 4);
	u8(&b, 0x0e); uleb(&b, 32);
	end_entry(&b, f);
	sec = (struct cfi_section){ .data = b.b, .size = b.n, .debug_frame = 1 };
	memset(&rs, 0, sizeof(rs));
	assert_int_equal(cfi_parse(&sec, collect, &rs, &st), 0);
	assert_int_equal(rs.n, 2);
	assert_int_equal(rs.r[0].pc_lo, 0x401000);
	assert_int_equal(rs.r[1].pc_lo, 0x401004);
	assert_int_equal(rs.r[1].pc_hi, 0x401010);
	assert_int_equal(rs.r[1].cfa.off, 32);
}

/* Damage never crashes and never reads past the buffer: every prefix and
 * single-byte corruption of a valid section is parsed and counted. */
static void test_malformed(void **state)
{
	struct buf b = { 0 };
	struct rows rs;
	struct cfi_stats st;
	size_t c, f;

	(void)state;
	c = cie(&b, 0);
	f = fde(&b, c, VADDR, 0x1000, 0x40);
	u8(&b, 0x40 | 1);
	u8(&b, 0x0e); uleb(&b, 16);
	u8(&b, 0x0a);
	u8(&b, 0x0f); uleb(&b, 3); u8(&b, 0x77); u8(&b, 0x08); u8(&b, 0x06);
	end_entry(&b, f);
	/* an FDE pointing at no CIE */
	f = b.n;
	u32(&b, 12);
	u32(&b, 0x7fffffff);
	u32(&b, 0);
	u32(&b, 0);
	end_entry(&b, f);
	/* an unknown instruction: rows before it are kept */
	f = fde(&b, c, VADDR, 0x2000, 0x10);
	u8(&b, 0x40 | 2);
	u8(&b, 0x3f);
	end_entry(&b, f);
	parse(&b, &rs, &st);
	assert_int_equal(st.bad_entries, 1);
	assert_int_equal(st.bad_insns, 1);
	assert_int_equal(rs.n, 3);

	for (size_t len = 0; len <= b.n; len++) {
		/* copies on the heap so ASan sees any overread */
		uint8_t *p = malloc(len ? len : 1);
		struct cfi_section sec = { .data = p, .size = len, .vaddr = VADDR };

		assert_non_null(p);
		memcpy(p, b.b, len);
		memset(&rs, 0, sizeof(rs));
		assert_int_equal(cfi_parse(&sec, collect, &rs, &st), 0);
		free(p);
	}
	for (size_t i = 0; i < b.n; i++) {
		for (int v = 0; v < 256; v += 17) {
			uint8_t *p = malloc(b.n);
			struct cfi_section sec = { .data = p, .size = b.n, .vaddr = VADDR };

			assert_non_null(p);
			memcpy(p, b.b, b.n);
			p[i] = (uint8_t)v;
			memset(&rs, 0, sizeof(rs));
			cfi_parse(&sec, collect, &rs, &st);
			free(p);
		}
	}
	assert_int_equal(cfi_parse(NULL, collect, &rs, &st), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prologue),
		cmocka_unit_test(test_remember_restore_and_large_frame),
		cmocka_unit_test(test_expressions),
		cmocka_unit_test(test_debug_frame),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
