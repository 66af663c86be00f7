/* SPDX-License-Identifier: GPL-2.0-only */
/* DWARF CFI parser: CIEs, FDEs and the call-frame instructions, bounded by
 * the buffer at every read. See cfi.h. */
#include "unwind/cfi.h"

#include <errno.h>
#include <string.h>

/* Call-frame instructions (DWARF 5, section 6.4.2, plus GNU extensions). */
enum {
	DW_CFA_nop = 0x00,
	DW_CFA_set_loc = 0x01,
	DW_CFA_advance_loc1 = 0x02,
	DW_CFA_advance_loc2 = 0x03,
	DW_CFA_advance_loc4 = 0x04,
	DW_CFA_offset_extended = 0x05,
	DW_CFA_restore_extended = 0x06,
	DW_CFA_undefined = 0x07,
	DW_CFA_same_value = 0x08,
	DW_CFA_register = 0x09,
	DW_CFA_remember_state = 0x0a,
	DW_CFA_restore_state = 0x0b,
	DW_CFA_def_cfa = 0x0c,
	DW_CFA_def_cfa_register = 0x0d,
	DW_CFA_def_cfa_offset = 0x0e,
	DW_CFA_def_cfa_expression = 0x0f,
	DW_CFA_expression = 0x10,
	DW_CFA_offset_extended_sf = 0x11,
	DW_CFA_def_cfa_sf = 0x12,
	DW_CFA_def_cfa_offset_sf = 0x13,
	DW_CFA_val_offset = 0x14,
	DW_CFA_val_offset_sf = 0x15,
	DW_CFA_val_expression = 0x16,
	DW_CFA_GNU_window_save = 0x2d,
	DW_CFA_GNU_args_size = 0x2e,
	DW_CFA_GNU_negative_offset_extended = 0x2f,
	DW_CFA_advance_loc = 0x40,
	DW_CFA_offset = 0x80,
	DW_CFA_restore = 0xc0,
};

/* Pointer encodings (LSB "Exception Frames"). */
enum {
	DW_EH_PE_absptr = 0x00,
	DW_EH_PE_uleb128 = 0x01,
	DW_EH_PE_udata2 = 0x02,
	DW_EH_PE_udata4 = 0x03,
	DW_EH_PE_udata8 = 0x04,
	DW_EH_PE_sleb128 = 0x09,
	DW_EH_PE_sdata2 = 0x0a,
	DW_EH_PE_sdata4 = 0x0b,
	DW_EH_PE_sdata8 = 0x0c,
	DW_EH_PE_pcrel = 0x10,
	DW_EH_PE_textrel = 0x20,
	DW_EH_PE_datarel = 0x30,
	DW_EH_PE_funcrel = 0x40,
	DW_EH_PE_aligned = 0x50,
	DW_EH_PE_indirect = 0x80,
	DW_EH_PE_omit = 0xff,
};

/* remember_state nesting: GCC emits at most a few levels. */
#define STATE_STACK 16

/* A bounded reader over [p, end). Any overrun sets err and yields 0. */
struct rd {
	const uint8_t *p, *end, *base;
	int err;
};

static uint64_t rd_u(struct rd *r, size_t n)
{
	uint64_t v = 0;

	if (r->err || (size_t)(r->end - r->p) < n) {
		r->err = 1;
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)r->p[i] << (8 * i);
	r->p += n;
	return v;
}

static uint64_t rd_uleb(struct rd *r)
{
	uint64_t v = 0;
	unsigned shift = 0;

	while (!r->err) {
		uint8_t b;

		if (r->p >= r->end) {
			r->err = 1;
			break;
		}
		b = *r->p++;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80))
			return v;
	}
	return 0;
}

static int64_t rd_sleb(struct rd *r)
{
	uint64_t v = 0;
	unsigned shift = 0;

	while (!r->err) {
		uint8_t b;

		if (r->p >= r->end) {
			r->err = 1;
			break;
		}
		b = *r->p++;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80)) {
			if (shift < 64 && (b & 0x40))
				v |= ~(uint64_t)0 << shift;
			return (int64_t)v;
		}
	}
	return 0;
}

/* Bytes [p, p + n) as a sub-range; n beyond the end is an error. */
static const uint8_t *rd_bytes(struct rd *r, uint64_t n)
{
	const uint8_t *p = r->p;

	if (r->err || (uint64_t)(r->end - r->p) < n) {
		r->err = 1;
		return NULL;
	}
	r->p += n;
	return p;
}

/* An encoded pointer at the reader's position. value_only: pc_range, which
 * uses the format but not the application part. */
static uint64_t rd_ptr(struct rd *r, const struct cfi_section *sec, uint8_t enc, int value_only)
{
	uint64_t at = sec->vaddr + (uint64_t)(r->p - r->base), v;

	if (enc == DW_EH_PE_omit)
		return 0;
	switch (enc & 0x0f) {
	case DW_EH_PE_absptr: v = rd_u(r, 8); break;
	case DW_EH_PE_uleb128: v = rd_uleb(r); break;
	case DW_EH_PE_udata2: v = rd_u(r, 2); break;
	case DW_EH_PE_udata4: v = rd_u(r, 4); break;
	case DW_EH_PE_udata8: v = rd_u(r, 8); break;
	case DW_EH_PE_sleb128: v = (uint64_t)rd_sleb(r); break;
	case DW_EH_PE_sdata2: v = (uint64_t)(int64_t)(int16_t)rd_u(r, 2); break;
	case DW_EH_PE_sdata4: v = (uint64_t)(int64_t)(int32_t)rd_u(r, 4); break;
	case DW_EH_PE_sdata8: v = rd_u(r, 8); break;
	default:
		r->err = 1;
		return 0;
	}
	if (value_only)
		return v;
	switch (enc & 0x70) {
	case 0: break;
	case DW_EH_PE_pcrel: v += at; break;
	case DW_EH_PE_textrel: v += sec->text_vaddr; break;
	case DW_EH_PE_datarel: v += sec->data_vaddr; break;
	default:
		/* funcrel and aligned never encode an FDE's start. */
		r->err = 1;
		return 0;
	}
	if (enc & DW_EH_PE_indirect)
		r->err = 1; /* would need the process's memory */
	return v;
}

/* Factored offsets of hostile input may overflow: wrap, never trap. */
static int64_t mul_s(int64_t a, int64_t b)
{
	return (int64_t)((uint64_t)a * (uint64_t)b);
}

struct cie {
	uint64_t code_align;
	int64_t data_align;
	uint64_t ra_reg;
	uint8_t fde_enc;
	uint8_t has_z;
	uint8_t signal;
	uint8_t addr_size;
	const uint8_t *insns, *insns_end;
};

struct state {
	struct cfi_cfa cfa;
	struct cfi_rule ra, rbp;
};

/* Parse the CIE at section offset off. 0 or -EINVAL. */
static int parse_cie(const struct cfi_section *sec, size_t off, struct cie *c)
{
	struct rd r = { .p = sec->data + off, .end = sec->data + sec->size, .base = sec->data };
	uint64_t len = rd_u(&r, 4), id;
	const uint8_t *aug, *end;
	uint8_t version;
	size_t auglen;
	int dw64 = 0;

	if (len == 0xffffffffu) {
		len = rd_u(&r, 8);
		dw64 = 1;
	}
	if (r.err || len > (uint64_t)(r.end - r.p))
		return -EINVAL;
	end = r.p + len;
	r.end = end;
	id = rd_u(&r, dw64 ? 8 : 4);
	if (sec->debug_frame ? id != (dw64 ? ~(uint64_t)0 : 0xffffffffu) : id != 0)
		return -EINVAL;
	memset(c, 0, sizeof(*c));
	c->addr_size = 8;
	version = (uint8_t)rd_u(&r, 1);
	if (version != 1 && version != 3 && version != 4)
		return -EINVAL;
	aug = r.p;
	while (r.p < r.end && *r.p)
		r.p++;
	if (r.p >= r.end)
		return -EINVAL;
	auglen = (size_t)(r.p - aug);
	r.p++;
	if (auglen >= 2 && aug[0] == 'e' && aug[1] == 'h')
		return -EINVAL; /* pre-1999 GCC layout, never seen on a current system */
	if (version == 4) {
		c->addr_size = (uint8_t)rd_u(&r, 1);
		if (rd_u(&r, 1) != 0 || (c->addr_size != 4 && c->addr_size != 8))
			return -EINVAL;
	}
	c->code_align = rd_uleb(&r);
	c->data_align = rd_sleb(&r);
	c->ra_reg = version == 1 ? rd_u(&r, 1) : rd_uleb(&r);
	c->fde_enc = DW_EH_PE_absptr;
	if (auglen && aug[0] == 'z') {
		uint64_t zlen = rd_uleb(&r);
		const uint8_t *zend;

		if (r.err || zlen > (uint64_t)(r.end - r.p))
			return -EINVAL;
		zend = r.p + zlen;
		c->has_z = 1;
		for (size_t i = 1; i < auglen && !r.err; i++) {
			switch (aug[i]) {
			case 'L':
				rd_u(&r, 1);
				break;
			case 'P': {
				uint8_t penc = (uint8_t)rd_u(&r, 1);
				rd_ptr(&r, sec, penc & 0x7f, 1);
				break;
			}
			case 'R':
				c->fde_enc = (uint8_t)rd_u(&r, 1);
				break;
			case 'S':
				c->signal = 1;
				break;
			default:
				/* 'B', 'G' and unknown letters: the rest is skipped by length. */
				i = auglen;
				break;
			}
		}
		r.p = zend;
	} else if (auglen) {
		/* Without 'z' unknown augmentation data cannot be skipped. */
		return -EINVAL;
	}
	if (r.err || c->code_align == 0)
		return -EINVAL;
	c->insns = r.p;
	c->insns_end = end;
	return 0;
}

static struct cfi_rule *rule_for(struct state *s, uint64_t reg)
{
	if (reg == CFI_REG_RA)
		return &s->ra;
	if (reg == CFI_REG_RBP)
		return &s->rbp;
	return NULL;
}

struct run {
	const struct cfi_section *sec;
	const struct cie *cie;
	struct state init;  /* after the CIE's instructions: DW_CFA_restore target */
	struct state cur;
	struct state stack[STATE_STACK];
	int depth;
	uint64_t loc, end;
	struct cfi_row row;
	cfi_row_fn fn;
	void *ctx;
	struct cfi_stats *st;
	int emit;           /* 0 while running the CIE's initial instructions */
};

static int emit_to(struct run *x, uint64_t next)
{
	int r;

	if (!x->emit)
		return 0;
	if (next > x->end)
		next = x->end;
	if (next <= x->loc)
		return 0;
	x->row.pc_lo = x->loc;
	x->row.pc_hi = next;
	x->row.cfa = x->cur.cfa;
	x->row.ra = x->cur.ra;
	x->row.rbp = x->cur.rbp;
	x->st->rows++;
	r = x->fn(x->ctx, &x->row);
	x->loc = next;
	return r;
}

/* Run instructions [p, end). 0, the callback's non-zero value, or 1 for a
 * bad instruction stream (counted by the caller). */
static int run_insns(struct run *x, const uint8_t *p, const uint8_t *end)
{
	struct rd r = { .p = p, .end = end, .base = x->sec->data };
	const struct cie *c = x->cie;

	while (r.p < r.end && !r.err) {
		uint8_t op = (uint8_t)rd_u(&r, 1), lo = op & 0x3f;
		uint64_t reg, delta;
		int64_t off;
		struct cfi_rule *ru;
		int ret;

		switch (op & 0xc0) {
		case DW_CFA_advance_loc:
			ret = emit_to(x, x->loc + lo * c->code_align);
			if (ret)
				return ret;
			continue;
		case DW_CFA_offset:
			off = mul_s((int64_t)rd_uleb(&r), c->data_align);
			ru = rule_for(&x->cur, lo);
			if (ru)
				*ru = (struct cfi_rule){ .kind = CFI_RULE_OFFSET, .off = off };
			continue;
		case DW_CFA_restore:
			ru = rule_for(&x->cur, lo);
			if (ru)
				*ru = *rule_for(&x->init, lo);
			continue;
		}
		switch (op) {
		case DW_CFA_nop:
			break;
		case DW_CFA_set_loc: {
			uint64_t to = c->fde_enc != DW_EH_PE_absptr || !x->sec->debug_frame
					      ? rd_ptr(&r, x->sec, c->fde_enc, 0)
					      : rd_u(&r, c->addr_size);
			if (r.err || to < x->loc)
				return 1;
			ret = emit_to(x, to);
			if (ret)
				return ret;
			break;
		}
		case DW_CFA_advance_loc1:
		case DW_CFA_advance_loc2:
		case DW_CFA_advance_loc4:
			delta = rd_u(&r, op == DW_CFA_advance_loc1 ? 1 : op == DW_CFA_advance_loc2 ? 2 : 4);
			if (r.err)
				return 1;
			ret = emit_to(x, x->loc + delta * c->code_align);
			if (ret)
				return ret;
			break;
		case DW_CFA_offset_extended:
		case DW_CFA_offset_extended_sf:
		case DW_CFA_GNU_negative_offset_extended:
			reg = rd_uleb(&r);
			if (op == DW_CFA_offset_extended)
				off = mul_s((int64_t)rd_uleb(&r), c->data_align);
			else if (op == DW_CFA_offset_extended_sf)
				off = mul_s(rd_sleb(&r), c->data_align);
			else
				off = mul_s((int64_t)(0 - rd_uleb(&r)), c->data_align);
			ru = rule_for(&x->cur, reg);
			if (ru)
				*ru = (struct cfi_rule){ .kind = CFI_RULE_OFFSET, .off = off };
			break;
		case DW_CFA_val_offset:
		case DW_CFA_val_offset_sf:
			reg = rd_uleb(&r);
			off = mul_s(op == DW_CFA_val_offset ? (int64_t)rd_uleb(&r) : rd_sleb(&r), c->data_align);
			ru = rule_for(&x->cur, reg);
			if (ru)
				*ru = (struct cfi_rule){ .kind = CFI_RULE_VAL_OFFSET, .off = off };
			break;
		case DW_CFA_restore_extended:
			reg = rd_uleb(&r);
			ru = rule_for(&x->cur, reg);
			if (ru)
				*ru = *rule_for(&x->init, reg);
			break;
		case DW_CFA_undefined:
		case DW_CFA_same_value:
			reg = rd_uleb(&r);
			ru = rule_for(&x->cur, reg);
			if (ru)
				*ru = (struct cfi_rule){ .kind = op == DW_CFA_undefined ? CFI_RULE_UNDEF : CFI_RULE_SAME };
			break;
		case DW_CFA_register: {
			uint64_t from;

			reg = rd_uleb(&r);
			from = rd_uleb(&r);
			ru = rule_for(&x->cur, reg);
			if (ru)
				*ru = (struct cfi_rule){ .kind = CFI_RULE_REG, .reg = (uint32_t)from };
			break;
		}
		case DW_CFA_remember_state:
			if (x->depth >= STATE_STACK)
				return 1;
			x->stack[x->depth++] = x->cur;
			break;
		case DW_CFA_restore_state:
			if (x->depth <= 0)
				return 1;
			/* The CFA is not part of the remembered state in DWARF 2,
			 * but every producer and consumer (GCC, libgcc, LLVM)
			 * treats it as such: restore it too. */
			x->cur = x->stack[--x->depth];
			break;
		case DW_CFA_def_cfa:
		case DW_CFA_def_cfa_sf:
			reg = rd_uleb(&r);
			off = op == DW_CFA_def_cfa ? (int64_t)rd_uleb(&r) : mul_s(rd_sleb(&r), c->data_align);
			x->cur.cfa = (struct cfi_cfa){ .reg = (uint32_t)reg, .off = off };
			break;
		case DW_CFA_def_cfa_register:
			reg = rd_uleb(&r);
			/* Keeps the offset; an expression CFA has none to keep. */
			x->cur.cfa.is_expr = 0;
			x->cur.cfa.expr = NULL;
			x->cur.cfa.expr_len = 0;
			x->cur.cfa.reg = (uint32_t)reg;
			break;
		case DW_CFA_def_cfa_offset:
		case DW_CFA_def_cfa_offset_sf:
			off = op == DW_CFA_def_cfa_offset ? (int64_t)rd_uleb(&r) : mul_s(rd_sleb(&r), c->data_align);
			if (x->cur.cfa.is_expr)
				return 1;
			x->cur.cfa.off = off;
			break;
		case DW_CFA_def_cfa_expression: {
			uint64_t n = rd_uleb(&r);
			const uint8_t *e = rd_bytes(&r, n);

			if (r.err)
				return 1;
			x->cur.cfa = (struct cfi_cfa){ .is_expr = 1, .expr = e, .expr_len = (size_t)n };
			break;
		}
		case DW_CFA_expression:
		case DW_CFA_val_expression: {
			uint64_t n;
			const uint8_t *e;

			reg = rd_uleb(&r);
			n = rd_uleb(&r);
			e = rd_bytes(&r, n);
			if (r.err)
				return 1;
			ru = rule_for(&x->cur, reg);
			if (ru)
				*ru = (struct cfi_rule){ .kind = op == DW_CFA_expression ? CFI_RULE_EXPR : CFI_RULE_VAL_EXPR,
							 .expr = e, .expr_len = (size_t)n };
			break;
		}
		case DW_CFA_GNU_args_size:
			rd_uleb(&r);
			break;
		case DW_CFA_GNU_window_save:
			break;
		default:
			return 1;
		}
	}
	return r.err ? 1 : 0;
}

/* One FDE at offset off with its CIE already parsed. */
static int run_fde(struct run *x, const struct cie *c, struct rd *r, const uint8_t *end)
{
	uint64_t pc, range;
	int ret;

	if (x->sec->debug_frame && c->fde_enc == DW_EH_PE_absptr) {
		pc = rd_u(r, c->addr_size);
		range = rd_u(r, c->addr_size);
	} else {
		pc = rd_ptr(r, x->sec, c->fde_enc, 0);
		range = rd_ptr(r, x->sec, c->fde_enc, 1);
	}
	if (c->has_z) {
		uint64_t zlen = rd_uleb(r);

		rd_bytes(r, zlen);
	}
	if (r->err || range == 0 || pc + range < pc)
		return r->err ? -1 : 0;
	x->cie = c;
	x->depth = 0;
	memset(&x->init, 0, sizeof(x->init));
	x->init.ra.kind = CFI_RULE_SAME;
	x->init.rbp.kind = CFI_RULE_SAME;
	x->cur = x->init;
	x->loc = pc;
	x->end = pc + range;
	x->row.signal_frame = c->signal;
	x->emit = 0;
	ret = run_insns(x, c->insns, c->insns_end);
	if (ret == 1) {
		x->st->bad_insns++;
		return 0;
	}
	x->init = x->cur;
	x->depth = 0;
	x->emit = 1;
	x->row.fde_index = (uint32_t)x->st->fdes;
	ret = run_insns(x, r->p, end);
	if (ret == 1) {
		/* Rows up to the bad instruction were reported; the rest of
		 * the function gets none. */
		x->st->bad_insns++;
		return 0;
	}
	if (ret)
		return ret;
	return emit_to(x, x->end);
}

int cfi_parse(const struct cfi_section *sec, cfi_row_fn fn, void *ctx, struct cfi_stats *stats)
{
	struct cfi_stats dummy;
	struct run x = { .sec = sec, .fn = fn, .ctx = ctx };
	size_t off = 0;
	/* One-entry CIE cache: FDEs of a CIE follow it. */
	size_t cie_off = (size_t)-1;
	struct cie cie;
	int cie_ok = 0;

	if (!sec || !fn || (!sec->data && sec->size))
		return -EINVAL;
	x.st = stats ? stats : &dummy;
	memset(x.st, 0, sizeof(*x.st));
	while (off + 4 <= sec->size) {
		struct rd r = { .p = sec->data + off, .end = sec->data + sec->size, .base = sec->data };
		uint64_t len = rd_u(&r, 4), id;
		const uint8_t *id_at, *end;
		int dw64 = 0, ret;

		if (len == 0) {
			if (!sec->debug_frame)
				break; /* .eh_frame terminator */
			off += 4;
			continue;
		}
		if (len == 0xffffffffu) {
			len = rd_u(&r, 8);
			dw64 = 1;
		}
		if (r.err || len > (uint64_t)(r.end - r.p) || len < 4)
			break; /* length runs off the section: nothing after is trustworthy */
		end = r.p + len;
		r.end = end;
		id_at = r.p;
		id = rd_u(&r, dw64 ? 8 : 4);
		if (sec->debug_frame ? id == (dw64 ? ~(uint64_t)0 : 0xffffffffu) : id == 0) {
			x.st->cies++;
		} else {
			size_t coff;

			x.st->fdes++;
			if (sec->debug_frame) {
				coff = (size_t)id;
			} else {
				uint64_t at = (uint64_t)(id_at - sec->data);

				coff = id > at ? (size_t)-1 : (size_t)(at - id);
			}
			if (coff >= sec->size) {
				x.st->bad_entries++;
			} else {
				if (coff != cie_off) {
					cie_ok = parse_cie(sec, coff, &cie) == 0;
					cie_off = coff;
				}
				if (!cie_ok) {
					x.st->bad_entries++;
				} else {
					ret = run_fde(&x, &cie, &r, end);
					if (ret < 0)
						x.st->bad_entries++;
					else if (ret)
						return ret;
				}
			}
		}
		off = (size_t)(end - sec->data);
	}
	return 0;
}
