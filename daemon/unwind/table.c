/* SPDX-License-Identifier: GPL-2.0-only */
/* Compact unwind tables from ELF CFI, and the reference step. See table.h. */
#include "unwind/table.h"

#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "unwind/cfi.h"
#include "common/sort.h"

#define MAX_SEGMENTS 64   /* PT_LOAD kept; real files have 2-5 */
#define MAX_SECTIONS 65536
#define PAGE (1u << PROFD_UNW_PAGE_SHIFT)
#define NT_GNU_BUILD_ID_ 3
/* Offsets in struct rt_sigframe after its pretcode (= struct ucontext) of
 * the saved rbp, rsp and rip: uc_flags, uc_link, uc_stack (40 bytes), then
 * sigcontext's r8..r15, rdi, rsi, rbp (10), rbx, rdx, rax, rcx, rsp (15),
 * rip (16). The CFI of glibc's and musl's __restore_rt states the same. */
#define UC_RBP 120
#define UC_RSP 160
#define UC_RIP 168

struct seg {
	uint64_t vaddr, memsz, offset;
};

struct iv {
	uint64_t lo, hi;   /* file offsets */
	uint64_t seq;      /* order of appearance: later FDEs win ties */
	struct profd_unw_row row;
};

struct build {
	struct seg segs[MAX_SEGMENTS];
	size_t nsegs;
	struct iv *iv;
	size_t n, cap;
	int oom;
	struct unwind_table *t;
};

/* CPU time of the building thread: what a build costs, however busy the
 * machine is. */
static uint64_t build_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int libelf_ok;

static void libelf_once(void)
{
	libelf_ok = elf_version(EV_CURRENT) != EV_NONE;
}

/* elf_version() writes a global: once, whatever thread comes first. */
static int libelf_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, libelf_once);
	return libelf_ok ? 0 : -ENOTSUP;
}

/* ---- expressions the BPF unwinder knows ---------------------------------- */

static int read_sleb(const uint8_t **p, const uint8_t *end, int64_t *ret)
{
	uint64_t v = 0;
	unsigned shift = 0;

	while (*p < end) {
		uint8_t b = *(*p)++;

		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80)) {
			if (shift < 64 && (b & 0x40))
				v |= ~(uint64_t)0 << shift;
			*ret = (int64_t)v;
			return 0;
		}
	}
	return -1;
}

/* DW_OP_bregN off, exactly one op: returns 0 with *off when expr is that. */
static int is_breg(const uint8_t *e, size_t len, unsigned reg, int64_t *off, const uint8_t **rest)
{
	const uint8_t *p = e, *end = e + len;

	if (len < 2 || e[0] != 0x70 + reg)
		return -1;
	p++;
	if (read_sleb(&p, end, off) < 0)
		return -1;
	*rest = p;
	return 0;
}

/* The PLT stub rule GNU ld writes: rsp + N + ((rip & 15) >= K) << 3.
 * Returns K (10 or 11) and *off = N, or -1. */
static int match_plt(const uint8_t *e, size_t len, int64_t *off)
{
	static const uint8_t tail10[] = { 0x80, 0x00, 0x3f, 0x1a, 0x3a, 0x2a, 0x33, 0x24, 0x22 };
	static const uint8_t tail11[] = { 0x80, 0x00, 0x3f, 0x1a, 0x3b, 0x2a, 0x33, 0x24, 0x22 };
	const uint8_t *rest;

	if (is_breg(e, len, CFI_REG_RSP, off, &rest) < 0)
		return -1;
	if ((size_t)(e + len - rest) != sizeof(tail11))
		return -1;
	if (!memcmp(rest, tail11, sizeof(tail11)))
		return 11;
	if (!memcmp(rest, tail10, sizeof(tail10)))
		return 10;
	return -1;
}

static int set_off(struct profd_unw_row *r, uint8_t kind, int64_t off)
{
	if (off < 0)
		return -1;
	if (off <= UINT16_MAX) {
		r->cfa = kind;
		r->off = (uint16_t)off;
		return 0;
	}
	if (off % 8 == 0 && off / 8 <= UINT16_MAX) {
		r->cfa = kind | PROFD_UNW_CFA_X8;
		r->off = (uint16_t)(off / 8);
		return 0;
	}
	return -1;
}

static int8_t rbp_rule(const struct cfi_rule *ru)
{
	int64_t off;
	const uint8_t *rest;

	switch (ru->kind) {
	case CFI_RULE_SAME:
		return PROFD_UNW_RBP_SAME;
	case CFI_RULE_OFFSET:
		if (ru->off % 8 == 0 && ru->off / 8 >= -126 && ru->off / 8 <= 127 && ru->off != 0)
			return (int8_t)(ru->off / 8);
		return PROFD_UNW_RBP_UNDEF;
	case CFI_RULE_EXPR:
		if (is_breg(ru->expr, ru->expr_len, CFI_REG_RBP, &off, &rest) == 0 && off == 0 &&
		    rest == ru->expr + ru->expr_len)
			return PROFD_UNW_RBP_AT_RBP;
		return PROFD_UNW_RBP_UNDEF;
	default:
		return PROFD_UNW_RBP_UNDEF;
	}
}

static int signal_rule(const struct cfi_row *r)
{
	int64_t off;
	const uint8_t *rest;

	/* CFA = *(rsp + UC_RSP), rip saved at rsp + UC_RIP. */
	if (!r->cfa.is_expr || is_breg(r->cfa.expr, r->cfa.expr_len, CFI_REG_RSP, &off, &rest) < 0 ||
	    off != UC_RSP || rest + 1 != r->cfa.expr + r->cfa.expr_len || *rest != 0x06)
		return -1;
	if (r->ra.kind != CFI_RULE_EXPR ||
	    is_breg(r->ra.expr, r->ra.expr_len, CFI_REG_RSP, &off, &rest) < 0 || off != UC_RIP ||
	    rest != r->ra.expr + r->ra.expr_len)
		return -1;
	return 0;
}

void unwind_row_from_cfi(const struct cfi_row *r, struct profd_unw_row *ret)
{
	struct profd_unw_row o = { .cfa = PROFD_UNW_CFA_UNSUP };
	int64_t off;
	const uint8_t *rest;
	int k;

	if (r->ra.kind == CFI_RULE_UNDEF) {
		o.cfa = PROFD_UNW_CFA_END;
		goto out;
	}
	if (r->signal_frame) {
		if (signal_rule(r) == 0)
			o.cfa = PROFD_UNW_CFA_SIGNAL;
		goto out;
	}
	if (r->ra.kind != CFI_RULE_OFFSET || r->ra.off != -8)
		goto out;
	if (!r->cfa.is_expr) {
		if (r->cfa.reg == CFI_REG_RSP && set_off(&o, PROFD_UNW_CFA_RSP, r->cfa.off) == 0) {
			o.rbp = rbp_rule(&r->rbp);
		} else if (r->cfa.reg == CFI_REG_RBP && set_off(&o, PROFD_UNW_CFA_RBP, r->cfa.off) == 0) {
			o.rbp = rbp_rule(&r->rbp);
		} else {
			o.cfa = PROFD_UNW_CFA_UNSUP;
			o.off = 0;
		}
		goto out;
	}
	k = match_plt(r->cfa.expr, r->cfa.expr_len, &off);
	if (k > 0 && r->rbp.kind == CFI_RULE_SAME && off >= 0 && off <= UINT16_MAX) {
		o.cfa = PROFD_UNW_CFA_PLT;
		o.off = (uint16_t)off;
		o.rbp = (int8_t)k;
		goto out;
	}
	if (is_breg(r->cfa.expr, r->cfa.expr_len, CFI_REG_RBP, &off, &rest) == 0 &&
	    rest + 1 == r->cfa.expr + r->cfa.expr_len && *rest == 0x06 && off >= INT16_MIN && off <= INT16_MAX) {
		o.cfa = PROFD_UNW_CFA_DEREF_RBP;
		o.off = (uint16_t)(int16_t)off;
		o.rbp = rbp_rule(&r->rbp);
		goto out;
	}
out:
	o.pc = 0;
	*ret = o;
}

/* ---- building ------------------------------------------------------------- */

static const struct seg *seg_of(const struct build *b, uint64_t vaddr)
{
	for (size_t i = 0; i < b->nsegs; i++)
		if (vaddr >= b->segs[i].vaddr && vaddr - b->segs[i].vaddr < b->segs[i].memsz)
			return &b->segs[i];
	return NULL;
}

static int on_row(void *ctx, const struct cfi_row *r)
{
	struct build *b = ctx;
	const struct seg *s = seg_of(b, r->pc_lo);
	uint64_t lo, hi;
	struct iv *v;

	if (!s) {
		b->t->st.unmapped++;
		return 0;
	}
	lo = r->pc_lo - s->vaddr + s->offset;
	hi = (r->pc_hi - s->vaddr > s->memsz ? s->memsz : r->pc_hi - s->vaddr) + s->offset;
	if (hi > UINT32_MAX) {
		b->t->st.unmapped++;
		return 0;
	}
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		struct iv *n = realloc(b->iv, cap * sizeof(*n));

		if (!n) {
			b->oom = 1;
			return -ENOMEM;
		}
		b->iv = n;
		b->cap = cap;
	}
	v = &b->iv[b->n];
	v->lo = lo;
	v->hi = hi;
	v->seq = b->n;
	unwind_row_from_cfi(r, &v->row);
	b->n++;
	return 0;
}

static int iv_cmp(const void *a, const void *b)
{
	const struct iv *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int same_rule(const struct profd_unw_row *a, const struct profd_unw_row *b)
{
	return a->cfa == b->cfa && a->rbp == b->rbp && a->off == b->off;
}

static int push_row(struct unwind_table *t, size_t *cap, uint32_t pc, const struct profd_unw_row *r)
{
	if (t->nrows && t->rows[t->nrows - 1].pc == pc) {
		/* A later FDE starting at the same pc wins. */
		t->rows[t->nrows - 1] = *r;
		t->rows[t->nrows - 1].pc = pc;
		if (t->nrows >= 2 && same_rule(&t->rows[t->nrows - 2], &t->rows[t->nrows - 1]))
			t->nrows--;
		return 0;
	}
	if (t->nrows && same_rule(&t->rows[t->nrows - 1], r))
		return 0;
	if (t->nrows == *cap) {
		size_t c = *cap ? *cap * 2 : 1024;
		struct profd_unw_row *n = realloc(t->rows, c * sizeof(*n));

		if (!n)
			return -ENOMEM;
		t->rows = n;
		*cap = c;
	}
	t->rows[t->nrows] = *r;
	t->rows[t->nrows].pc = pc;
	t->nrows++;
	return 0;
}

/* The intervals in order of lo, ties in order of appearance (seq): a
 * stable LSD radix sort of their indexes on lo's 32 bits, 16 at a time
 * (the high pass skipped when every lo is below 64 KiB), then one
 * permutation. FDEs come mostly in address order but not wholly (hot and
 * cold text sections), and a comparison sort of their rows was ~60 % of a
 * table's build time (glibc's merge sort of 32-byte records). Already
 * sorted input costs one pass; lo past 32 bits (never for the 32-bit row
 * offsets) or an allocation failure falls back to qsort. */
static void sort_iv(struct build *b)
{
	uint32_t *idx = NULL, *tmp = NULL, *cnt = NULL;
	struct iv *out = NULL;
	uint64_t all = 0;
	size_t n = b->n, i;
	int sorted = 1;

	for (i = 0; i < n; i++) {
		all |= b->iv[i].lo;
		if (i && b->iv[i].lo < b->iv[i - 1].lo)
			sorted = 0;
	}
	if (sorted)
		return; /* seq is the index: ties are in order already */
	if (n < 64 || (all >> 32) || n > UINT32_MAX)
		goto fallback;
	idx = malloc(n * sizeof(*idx));
	tmp = malloc(n * sizeof(*tmp));
	cnt = malloc(65536 * sizeof(*cnt));
	out = malloc(n * sizeof(*out));
	if (!idx || !tmp || !cnt || !out)
		goto fallback;
	for (i = 0; i < n; i++)
		idx[i] = (uint32_t)i;
	for (unsigned shift = 0; shift < 32; shift += 16) {
		uint32_t sum = 0, *t;

		if (shift && !(all >> shift))
			break;
		memset(cnt, 0, 65536 * sizeof(*cnt));
		for (i = 0; i < n; i++)
			cnt[(b->iv[idx[i]].lo >> shift) & 0xffff]++;
		for (i = 0; i < 65536; i++) {
			uint32_t c = cnt[i];

			cnt[i] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			tmp[cnt[(b->iv[idx[i]].lo >> shift) & 0xffff]++] = idx[i];
		t = idx;
		idx = tmp;
		tmp = t;
	}
	for (i = 0; i < n; i++)
		out[i] = b->iv[idx[i]];
	free(b->iv);
	b->iv = out;
	b->cap = n;
	free(idx);
	free(tmp);
	free(cnt);
	return;
fallback:
	free(idx);
	free(tmp);
	free(cnt);
	free(out);
	qsort_safe(b->iv, n, sizeof(*b->iv), iv_cmp);
}

static int make_rows(struct build *b)
{
	struct unwind_table *t = b->t;
	const struct profd_unw_row none = { .cfa = PROFD_UNW_CFA_NONE };
	uint64_t end = 0;
	size_t cap = 0;
	int r;

	if (b->n)
		sort_iv(b);
	for (size_t i = 0; i < b->n; i++) {
		const struct iv *v = &b->iv[i];

		/* Gaps shorter than 16 bytes are alignment padding, never run:
		 * no row for them (the function before covers them). */
		if (t->nrows && end < v->lo && v->lo - end >= 16) {
			r = push_row(t, &cap, (uint32_t)end, &none);
			if (r < 0)
				return r;
		}
		r = push_row(t, &cap, (uint32_t)v->lo, &v->row);
		if (r < 0)
			return r;
		end = v->hi;
	}
	if (t->nrows) {
		r = push_row(t, &cap, (uint32_t)end, &none);
		if (r < 0)
			return r;
	}
	for (uint32_t i = 0; i < t->nrows; i++)
		if ((t->rows[i].cfa & ~PROFD_UNW_CFA_X8) == PROFD_UNW_CFA_UNSUP)
			t->st.unsupported++;
	t->st.rows = t->nrows;
	return 0;
}

static int make_pages(struct unwind_table *t)
{
	uint32_t last, j = 0;

	if (!t->nrows)
		return 0;
	t->first_page = t->rows[0].pc >> PROFD_UNW_PAGE_SHIFT;
	last = t->rows[t->nrows - 1].pc >> PROFD_UNW_PAGE_SHIFT;
	t->npages = last - t->first_page + 1;
	t->pages = calloc(t->npages, sizeof(*t->pages));
	if (!t->pages)
		return -ENOMEM;
	for (uint32_t p = 0; p < t->npages; p++) {
		uint64_t start = (uint64_t)(t->first_page + p) << PROFD_UNW_PAGE_SHIFT, end = start + PAGE;

		/* j: the last row starting at or before the page start. */
		while (j + 1 < t->nrows && t->rows[j + 1].pc <= start)
			j++;
		t->pages[p].lo = j;
		t->pages[p].hi = j;
		while (t->pages[p].hi + 1 < t->nrows && t->rows[t->pages[p].hi + 1].pc < end)
			t->pages[p].hi++;
	}
	return 0;
}

static int read_build_id(Elf *e, size_t nphdr, struct unwind_table *t)
{
	for (size_t i = 0; i < nphdr; i++) {
		GElf_Phdr ph;
		Elf_Data *d;
		GElf_Nhdr nh;
		size_t off = 0, name_off, desc_off;

		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_NOTE)
			continue;
		d = elf_getdata_rawchunk(e, (int64_t)ph.p_offset, ph.p_filesz, ELF_T_NHDR);
		if (!d)
			continue;
		while (off < d->d_size && (off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
			if (nh.n_type == NT_GNU_BUILD_ID_ && nh.n_namesz == 4 &&
			    !memcmp((const char *)d->d_buf + name_off, "GNU", 4) && nh.n_descsz > 0 &&
			    nh.n_descsz <= UNWIND_BUILD_ID_MAX) {
				memcpy(t->build_id, (const char *)d->d_buf + desc_off, nh.n_descsz);
				t->build_id_len = nh.n_descsz;
				return 0;
			}
		}
	}
	return -ENODATA;
}

static int build(Elf *e, struct unwind_table **ret)
{
	struct build b = { 0 };
	struct unwind_table *t;
	GElf_Ehdr eh;
	size_t nphdr, shstrndx, nsec = 0;
	Elf_Scn *scn = NULL, *eh_frame = NULL, *debug_frame = NULL;
	uint64_t t0 = build_clock_ns(), data_vaddr = 0, text_vaddr = 0;
	struct cfi_section sec = { 0 };
	struct cfi_stats cst;
	Elf_Data *d;
	int r;

	if (elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &eh))
		return -EINVAL;
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64)
		return -ENOTSUP;
	if (elf_getphdrnum(e, &nphdr) < 0)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	b.t = t;
	for (size_t i = 0; i < nphdr && b.nsegs < MAX_SEGMENTS; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD || !ph.p_memsz)
			continue;
		b.segs[b.nsegs++] = (struct seg){ .vaddr = ph.p_vaddr, .memsz = ph.p_memsz, .offset = ph.p_offset };
	}
	read_build_id(e, nphdr, t);
	if (elf_getshdrstrndx(e, &shstrndx) == 0) {
		while ((scn = elf_nextscn(e, scn)) && nsec++ < MAX_SECTIONS) {
			GElf_Shdr sh;
			const char *name;

			if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
				continue;
			name = elf_strptr(e, shstrndx, sh.sh_name);
			if (!name)
				continue;
			if (!strcmp(name, ".eh_frame"))
				eh_frame = scn;
			else if (!strcmp(name, ".debug_frame"))
				debug_frame = scn;
			else if (!strcmp(name, ".got"))
				data_vaddr = sh.sh_addr;
			else if (!strcmp(name, ".text"))
				text_vaddr = sh.sh_addr;
		}
	}
	scn = eh_frame ? eh_frame : debug_frame;
	if (!scn) {
		*ret = t;
		return -ENODATA;
	}
	{
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh)) {
			*ret = t;
			return -ENODATA;
		}
		if ((sh.sh_flags & SHF_COMPRESSED) && elf_compress(scn, 0, 0) < 0) {
			*ret = t;
			return -ENODATA;
		}
		d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf) {
			*ret = t;
			return -ENODATA;
		}
		sec.data = d->d_buf;
		sec.size = d->d_size;
		sec.vaddr = sh.sh_addr;
		sec.debug_frame = scn == debug_frame;
		sec.text_vaddr = text_vaddr;
		sec.data_vaddr = data_vaddr;
	}
	t->st.source = sec.debug_frame ? UNWIND_SRC_DEBUG_FRAME : UNWIND_SRC_EH_FRAME;
	t->st.cfi_bytes = sec.size;
	r = cfi_parse(&sec, on_row, &b, &cst);
	t->st.fdes = cst.fdes;
	t->st.cfi_rows = cst.rows;
	t->st.bad_entries = cst.bad_entries + cst.bad_insns;
	if (r == 0)
		r = make_rows(&b);
	if (r == 0)
		r = make_pages(t);
	free(b.iv);
	if (r < 0) {
		unwind_table_free(t);
		return r < 0 ? r : -ENOMEM;
	}
	t->st.build_ns = build_clock_ns() - t0;
	*ret = t;
	return t->nrows ? 0 : -ENODATA;
}

int unwind_table_build_fd(int fd, struct unwind_table **ret)
{
	Elf *e;
	int r = libelf_init();

	if (r < 0)
		return r;
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e)
		return -EINVAL;
	r = build(e, ret);
	elf_end(e);
	return r;
}

int unwind_table_build_mem(const void *buf, size_t len, struct unwind_table **ret)
{
	Elf *e;
	int r = libelf_init();

	if (r < 0)
		return r;
	/* libelf takes a non-const image but only reads it with ELF_C_READ. */
	e = elf_memory((char *)(uintptr_t)buf, len);
	if (!e)
		return -EINVAL;
	r = build(e, ret);
	elf_end(e);
	return r;
}

/* Size of .eh_frame, else .debug_frame, from the section headers. */
static uint64_t cfi_size(Elf *e)
{
	uint64_t eh = 0, dbg = 0;
	size_t shstrndx, nsec = 0;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(e, &shstrndx) < 0)
		return 0;
	while ((scn = elf_nextscn(e, scn)) && nsec++ < MAX_SECTIONS) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
			continue;
		name = elf_strptr(e, shstrndx, sh.sh_name);
		if (name && !strcmp(name, ".eh_frame"))
			eh = sh.sh_size;
		else if (name && !strcmp(name, ".debug_frame"))
			dbg = sh.sh_size;
	}
	return eh ? eh : dbg;
}

int unwind_read_build_id_fd(int fd, uint8_t buf[UNWIND_BUILD_ID_MAX], uint64_t *ret_cfi_bytes)
{
	struct unwind_table t = { 0 };
	size_t nphdr;
	Elf *e;
	int r = libelf_init();

	if (r < 0)
		return r;
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e)
		return -EINVAL;
	if (elf_kind(e) != ELF_K_ELF || elf_getphdrnum(e, &nphdr) < 0) {
		elf_end(e);
		return -EINVAL;
	}
	r = read_build_id(e, nphdr, &t);
	if (ret_cfi_bytes)
		*ret_cfi_bytes = cfi_size(e);
	elf_end(e);
	if (r < 0)
		return r;
	memcpy(buf, t.build_id, t.build_id_len);
	return (int)t.build_id_len;
}

struct unwind_table *unwind_table_free(struct unwind_table *t)
{
	if (t) {
		free(t->rows);
		free(t->pages);
		free(t);
	}
	return NULL;
}

size_t unwind_table_cells(const struct unwind_table *t)
{
	return t ? (size_t)t->npages + t->nrows : 0;
}

int unwind_table_find(const struct unwind_table *t, uint64_t pc, struct profd_unw_row *ret)
{
	uint64_t page = pc >> PROFD_UNW_PAGE_SHIFT;
	uint32_t lo, hi;

	if (!t->nrows || page < t->first_page || page - t->first_page >= t->npages)
		return -ENOENT;
	lo = t->pages[page - t->first_page].lo;
	hi = t->pages[page - t->first_page].hi;
	if (lo >= t->nrows || hi >= t->nrows || t->rows[lo].pc > pc)
		return -ENOENT;
	for (int i = 0; i < PROFD_UNW_ROW_STEPS && lo < hi; i++) {
		uint32_t mid = lo + (hi - lo + 1) / 2;

		if (t->rows[mid].pc <= pc)
			lo = mid;
		else
			hi = mid - 1;
	}
	*ret = t->rows[lo];
	return 0;
}

/* ---- the reference step ----------------------------------------------------- */

int unwind_step(const struct profd_unw_row *row, struct unwind_regs *regs, unwind_read_fn rd, void *ctx,
		int *ret_signal)
{
	uint8_t kind = row->cfa & ~PROFD_UNW_CFA_X8;
	uint64_t off = row->cfa & PROFD_UNW_CFA_X8 ? (uint64_t)row->off * 8 : row->off;
	uint64_t cfa, ra, bp = regs->bp, v;

	*ret_signal = 0;
	switch (kind) {
	case PROFD_UNW_CFA_RSP:
		cfa = regs->sp + off;
		break;
	case PROFD_UNW_CFA_RBP:
		cfa = regs->bp + off;
		break;
	case PROFD_UNW_CFA_PLT:
		cfa = regs->sp + row->off + ((regs->pc & 15) >= (uint64_t)(uint8_t)row->rbp ? 8 : 0);
		break;
	case PROFD_UNW_CFA_DEREF_RBP:
		if (rd(ctx, regs->bp + (uint64_t)(int64_t)(int16_t)row->off, &cfa, 8) < 0)
			return PROFD_USTOP_READ;
		break;
	case PROFD_UNW_CFA_SIGNAL: {
		uint64_t uc[3];

		if (rd(ctx, regs->sp + UC_RBP, &uc[0], 8) < 0 || rd(ctx, regs->sp + UC_RSP, &uc[1], 8) < 0 ||
		    rd(ctx, regs->sp + UC_RIP, &uc[2], 8) < 0)
			return PROFD_USTOP_READ;
		if (!uc[2])
			return PROFD_USTOP_ZERO_PC;
		regs->bp = uc[0];
		regs->sp = uc[1];
		regs->pc = uc[2];
		*ret_signal = 1;
		return 0;
	}
	case PROFD_UNW_CFA_END:
		return PROFD_USTOP_END;
	default:
		return PROFD_USTOP_UNSUP;
	}
	if (cfa <= regs->sp)
		return PROFD_USTOP_BAD_SP;
	if (rd(ctx, cfa - 8, &ra, 8) < 0)
		return PROFD_USTOP_READ;
	if (kind != PROFD_UNW_CFA_PLT) {
		if (row->rbp == PROFD_UNW_RBP_AT_RBP) {
			if (rd(ctx, regs->bp, &v, 8) < 0)
				return PROFD_USTOP_READ;
			bp = v;
		} else if (row->rbp != PROFD_UNW_RBP_SAME && row->rbp != PROFD_UNW_RBP_UNDEF) {
			if (rd(ctx, cfa + (uint64_t)((int64_t)row->rbp * 8), &v, 8) < 0)
				return PROFD_USTOP_READ;
			bp = v;
		}
	}
	if (!ra)
		return PROFD_USTOP_ZERO_PC;
	regs->pc = ra;
	regs->sp = cfa;
	regs->bp = bp;
	return 0;
}
