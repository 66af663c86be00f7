/* SPDX-License-Identifier: GPL-2.0-only */
/* Per-slot maps of the window store: open-addressing hash maps for
 * (proc, stack) counts and per-process counters, and the packed form a
 * slot's counters take once the slot has closed. */
#include "store/wmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Masks of present fields are built in one integer each. */
_Static_assert(WC_NSUM <= 64, "sum mask is a uint64_t");
_Static_assert(WG_NGAUGE <= 4, "gauge masks share one byte");
_Static_assert(WC_HIST_BUCKETS <= 64, "histogram mask is a uint64_t");

/* Cap on table sizes: 2^31 cells keeps cap * 2 and n + 1 in 32 bits. */
#define CAP_MAX (1ull << 31)

static inline uint32_t hash_index(uint64_t k, uint32_t mask)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 29;
	return (uint32_t)k & mask;
}

uint32_t wmap_cap_for(uint64_t n)
{
	uint64_t cap = WMAP_MIN_CAP;

	while (cap * 3 < n * 4 && cap < CAP_MAX)
		cap *= 2;
	return (uint32_t)cap;
}

/* ---- (proc, stack) -> count ---- */

/* Cell for (proc, stack): the existing entry or the empty cell to fill. */
static struct wentry *wmap_cell(const struct wmap *m, uint32_t proc, uint32_t stack)
{
	uint32_t mask = m->cap - 1, i = hash_index((uint64_t)proc << 32 | stack, mask);

	for (;;) {
		struct wentry *e = &m->tab[i];

		if (!e->count || (e->proc == proc && e->stack == stack))
			return e;
		i = (i + 1) & mask;
	}
}

int wmap_resize(struct wmap *m, uint32_t cap, uint64_t *bytes)
{
	struct wmap nm = { .cap = cap, .n = m->n };

	nm.tab = calloc(cap, sizeof(*nm.tab));
	if (!nm.tab)
		return -ENOMEM;
	for (uint32_t i = 0; i < m->cap; i++) {
		if (m->tab[i].count)
			*wmap_cell(&nm, m->tab[i].proc, m->tab[i].stack) = m->tab[i];
	}
	if (bytes)
		*bytes += ((uint64_t)cap - m->cap) * sizeof(struct wentry);
	free(m->tab);
	*m = nm;
	return 0;
}

int wmap_add(struct wmap *m, uint32_t proc, uint32_t stack, uint64_t count, uint64_t *bytes, bool *is_new)
{
	struct wentry *e;

	if ((uint64_t)(m->n + 1) * 4 > (uint64_t)m->cap * 3) {
		uint32_t nc = m->cap ? m->cap * 2 : WMAP_MIN_CAP;

		/* longer probes beat losing samples */
		if ((nc <= m->cap || wmap_resize(m, nc, bytes) < 0) && m->n + 1 >= m->cap)
			return -ENOMEM;
	}
	e = wmap_cell(m, proc, stack);
	*is_new = !e->count;
	if (*is_new) {
		e->proc = proc;
		e->stack = stack;
		m->n++;
	}
	e->count += count;
	return 0;
}

void wmap_release(struct wmap *m, uint64_t *bytes)
{
	if (bytes)
		*bytes -= (uint64_t)m->cap * sizeof(struct wentry);
	free(m->tab);
	*m = (struct wmap){ 0 };
}

/* ---- proc -> counters, open form ---- */

static struct wccell *wcmap_cell(const struct wcmap *m, uint32_t proc)
{
	uint32_t mask = m->cap - 1, i = hash_index(proc, mask);

	for (;;) {
		struct wccell *e = &m->tab[i];

		if (!e->rec || e->proc == proc)
			return e;
		i = (i + 1) & mask;
	}
}

static int wcmap_rehash(struct wcmap *m, uint32_t cap, uint64_t *bytes)
{
	struct wccell *tab = calloc(cap, sizeof(*tab));
	struct wcmap nm = *m;

	if (!tab)
		return -ENOMEM;
	nm.tab = tab;
	nm.cap = cap;
	for (uint32_t i = 0; i < m->n; i++)
		*wcmap_cell(&nm, m->recs[i].proc) = (struct wccell){ m->recs[i].proc, i + 1 };
	if (bytes)
		*bytes += ((uint64_t)cap - m->cap) * sizeof(struct wccell);
	free(m->tab);
	*m = nm;
	return 0;
}

static int wcmap_grow_recs(struct wcmap *m, uint32_t rcap, uint64_t *bytes)
{
	struct wcrec *r;

	if (rcap <= m->rcap)
		return 0;
	r = realloc(m->recs, (size_t)rcap * sizeof(*r));
	if (!r)
		return -ENOMEM;
	if (bytes)
		*bytes += ((uint64_t)rcap - m->rcap) * sizeof(*r);
	m->recs = r;
	m->rcap = rcap;
	return 0;
}

int wcmap_reserve(struct wcmap *m, uint32_t n, uint64_t *bytes)
{
	uint32_t cap;

	if (n > CAP_MAX / 2)
		return -ENOMEM;
	cap = wmap_cap_for(n);
	if (cap > m->cap && wcmap_rehash(m, cap, bytes) < 0)
		return -ENOMEM;
	return wcmap_grow_recs(m, n, bytes);
}

struct wcounters *wcmap_get(struct wcmap *m, uint32_t proc, uint64_t *bytes, bool *is_new)
{
	struct wccell *e;
	struct wcrec *r;

	if ((uint64_t)(m->n + 1) * 4 > (uint64_t)m->cap * 3) {
		uint32_t nc = m->cap ? m->cap * 2 : WMAP_MIN_CAP;

		if ((nc <= m->cap || wcmap_rehash(m, nc, bytes) < 0) && m->n + 1 >= m->cap)
			return NULL;
	}
	e = wcmap_cell(m, proc);
	*is_new = !e->rec;
	if (!*is_new)
		return &m->recs[e->rec - 1].c;
	if (m->n == m->rcap && wcmap_grow_recs(m, m->rcap ? m->rcap * 2 : WMAP_MIN_CAP, bytes) < 0)
		return NULL;
	r = &m->recs[m->n++];
	memset(r, 0, sizeof(*r));
	r->proc = proc;
	*e = (struct wccell){ proc, m->n };
	return &r->c;
}

void wcmap_reset(struct wcmap *m)
{
	if (m->tab)
		memset(m->tab, 0, (size_t)m->cap * sizeof(*m->tab));
	m->n = 0;
}

void wcmap_release(struct wcmap *m, uint64_t *bytes)
{
	if (bytes)
		*bytes -= (uint64_t)m->cap * sizeof(struct wccell) + (uint64_t)m->rcap * sizeof(struct wcrec);
	free(m->tab);
	free(m->recs);
	*m = (struct wcmap){ 0 };
}

/* ---- proc -> counters, packed form ---- */

/* Presence byte of a packed record. */
#define PK_SUMS 0x1u
#define PK_GAUGES 0x2u
#define PK_RUNQ 0x4u
#define PK_IOLAT 0x8u

/* LEB128; out NULL only measures. Returns the new position. */
static size_t put_u(uint8_t *out, size_t at, uint64_t v)
{
	do {
		uint8_t b = v & 0x7f;

		v >>= 7;
		if (v)
			b |= 0x80;
		if (out)
			out[at] = b;
		at++;
	} while (v);
	return at;
}

static uint64_t get_u(const uint8_t **p)
{
	uint64_t v = 0;
	unsigned sh = 0;
	uint8_t b;

	do {
		b = *(*p)++;
		v |= (uint64_t)(b & 0x7f) << sh;
		sh += 7;
	} while (b & 0x80);
	return v;
}

static size_t put_hist(uint8_t *out, size_t at, const uint32_t *h, uint64_t mask)
{
	at = put_u(out, at, mask);
	for (unsigned i = 0; i < WC_HIST_BUCKETS; i++) {
		if (mask >> i & 1)
			at = put_u(out, at, h[i]);
	}
	return at;
}

static uint64_t hist_mask(const uint32_t *h)
{
	uint64_t mask = 0;

	for (unsigned i = 0; i < WC_HIST_BUCKETS; i++)
		mask |= (uint64_t)(h[i] != 0) << i;
	return mask;
}

/* Encode one record at out + at (out NULL: measure). */
static size_t wc_encode(uint8_t *out, size_t at, uint32_t proc, const struct wcounters *c, uint64_t base)
{
	uint64_t smask = 0, rmask = hist_mask(c->hist_runq), imask = hist_mask(c->hist_iolat);
	unsigned last = 0, maxd = 0, pk = 0;

	for (unsigned i = 0; i < WC_NSUM; i++)
		smask |= (uint64_t)(c->sum[i] != 0) << i;
	for (unsigned g = 0; g < WG_NGAUGE; g++) {
		last |= (unsigned)(c->gauge_last[g] != 0) << g;
		maxd |= (unsigned)(c->gauge_max[g] != c->gauge_last[g]) << g;
	}
	pk = (smask ? PK_SUMS : 0) | (last || maxd || c->gauge_ns ? PK_GAUGES : 0) |
	     (rmask ? PK_RUNQ : 0) | (imask ? PK_IOLAT : 0);
	at = put_u(out, at, proc);
	at = put_u(out, at, pk);
	if (pk & PK_SUMS) {
		at = put_u(out, at, smask);
		for (unsigned i = 0; i < WC_NSUM; i++) {
			if (smask >> i & 1)
				at = put_u(out, at, c->sum[i]);
		}
	}
	if (pk & PK_GAUGES) {
		/* zigzag of the wrapped difference: small either side of
		 * the slot start (a late sample is older than its slot) */
		uint64_t d = c->gauge_ns - base;

		at = put_u(out, at, d << 1 ^ (0 - (d >> 63)));
		at = put_u(out, at, last | maxd << 4);
		for (unsigned g = 0; g < WG_NGAUGE; g++) {
			if (last >> g & 1)
				at = put_u(out, at, c->gauge_last[g]);
		}
		for (unsigned g = 0; g < WG_NGAUGE; g++) {
			if (maxd >> g & 1)
				at = put_u(out, at, c->gauge_max[g]);
		}
	}
	if (pk & PK_RUNQ)
		at = put_hist(out, at, c->hist_runq, rmask);
	if (pk & PK_IOLAT)
		at = put_hist(out, at, c->hist_iolat, imask);
	return at;
}

static inline uint64_t add_sat64(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

static inline uint32_t add_sat32(uint32_t a, uint32_t b)
{
	return a + b < a ? UINT32_MAX : a + b;
}

static const uint8_t *merge_hist(const uint8_t *p, uint32_t *h)
{
	uint64_t mask = get_u(&p);

	for (unsigned i = 0; i < WC_HIST_BUCKETS; i++) {
		if (mask >> i & 1)
			h[i] = add_sat32(h[i], (uint32_t)get_u(&p));
	}
	return p;
}

const uint8_t *wcpack_proc(const uint8_t *pos, uint32_t *proc)
{
	*proc = (uint32_t)get_u(&pos);
	return pos;
}

/* wc_merge of a packed record, touching only the fields it holds. */
const uint8_t *wcpack_merge(const uint8_t *p, uint64_t base_ns, struct wcounters *dst)
{
	uint64_t pk = get_u(&p);

	if (pk & PK_SUMS) {
		uint64_t smask = get_u(&p);

		for (unsigned i = 0; i < WC_NSUM; i++) {
			if (smask >> i & 1)
				dst->sum[i] = add_sat64(dst->sum[i], get_u(&p));
		}
	}
	if (pk & PK_GAUGES) {
		uint64_t z = get_u(&p), m, last[WG_NGAUGE];
		uint64_t ns = base_ns + ((z >> 1) ^ (0 - (z & 1)));
		bool newer = ns >= dst->gauge_ns;

		m = get_u(&p);
		for (unsigned g = 0; g < WG_NGAUGE; g++)
			last[g] = m >> g & 1 ? get_u(&p) : 0;
		for (unsigned g = 0; g < WG_NGAUGE; g++) {
			uint64_t max = m >> (4 + g) & 1 ? get_u(&p) : last[g];

			if (max > dst->gauge_max[g])
				dst->gauge_max[g] = max;
		}
		if (newer) {
			memcpy(dst->gauge_last, last, sizeof(last));
			dst->gauge_ns = ns;
		}
	} else if (!dst->gauge_ns) {
		/* all-zero gauges at time 0 are not older than dst's */
		memset(dst->gauge_last, 0, sizeof(dst->gauge_last));
	}
	if (pk & PK_RUNQ)
		p = merge_hist(p, dst->hist_runq);
	if (pk & PK_IOLAT)
		p = merge_hist(p, dst->hist_iolat);
	return p;
}

const uint8_t *wcpack_next(const uint8_t *pos, uint64_t base_ns, uint32_t *proc, struct wcounters *c)
{
	/* merging into zeros decodes exactly */
	memset(c, 0, sizeof(*c));
	return wcpack_merge(wcpack_proc(pos, proc), base_ns, c);
}

int wcpack_build(struct wcpack *p, const struct wcmap *m, uint64_t base_ns, uint64_t *bytes)
{
	size_t len = 0;
	uint8_t *buf;

	for (uint32_t i = 0; i < m->n; i++)
		len = wc_encode(NULL, len, m->recs[i].proc, &m->recs[i].c, base_ns);
	buf = malloc(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	for (size_t i = 0, at = 0; i < m->n; i++)
		at = wc_encode(buf, at, m->recs[i].proc, &m->recs[i].c, base_ns);
	if (bytes)
		*bytes += len;
	*p = (struct wcpack){ .buf = buf, .len = len, .n = m->n };
	return 0;
}

void wcpack_release(struct wcpack *p, uint64_t *bytes)
{
	if (bytes)
		*bytes -= p->len;
	free(p->buf);
	*p = (struct wcpack){ 0 };
}

/* ---- merging and reading ---- */

void wc_merge(struct wcounters *dst, const struct wcounters *src)
{
	for (unsigned i = 0; i < WC_NSUM; i++)
		dst->sum[i] = add_sat64(dst->sum[i], src->sum[i]);
	for (unsigned i = 0; i < WC_HIST_BUCKETS; i++) {
		dst->hist_runq[i] = add_sat32(dst->hist_runq[i], src->hist_runq[i]);
		dst->hist_iolat[i] = add_sat32(dst->hist_iolat[i], src->hist_iolat[i]);
	}
	if (src->gauge_ns >= dst->gauge_ns) {
		memcpy(dst->gauge_last, src->gauge_last, sizeof(dst->gauge_last));
		dst->gauge_ns = src->gauge_ns;
	}
	for (unsigned g = 0; g < WG_NGAUGE; g++) {
		if (src->gauge_max[g] > dst->gauge_max[g])
			dst->gauge_max[g] = src->gauge_max[g];
	}
}

uint64_t wc_hist_quantile(const uint32_t *hist, double q)
{
	uint64_t total = 0, rank, cum = 0;

	if (!hist)
		return 0;
	for (unsigned i = 0; i < WC_HIST_BUCKETS; i++)
		total += hist[i];
	if (!total)
		return 0;
	/* nearest rank: the ceil(q * total)-th smallest value, at least the
	 * first (q <= 0 or NaN), at most the last */
	if (!(q > 0))
		rank = 1;
	else if (q >= 1)
		rank = total;
	else {
		double r = q * (double)total;

		rank = (uint64_t)r;
		if ((double)rank < r)
			rank++;
		if (rank < 1)
			rank = 1;
		if (rank > total)
			rank = total;
	}
	for (unsigned i = 0; i < WC_HIST_BUCKETS; i++) {
		cum += hist[i];
		if (cum >= rank)
			return 2ull << i;
	}
	return 2ull << (WC_HIST_BUCKETS - 1); /* not reached */
}
