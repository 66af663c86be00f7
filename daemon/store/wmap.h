/* SPDX-License-Identifier: GPL-2.0-only */
/* Per-slot maps of the window store, internal to window.c: the
 * (proc, stack) -> count map, and the proc -> struct wcounters map in its
 * open form (hashed, mutable: the slot still takes adds or roll-ups) and
 * its packed form (a varint blob, immutable: the slot has closed). */
#ifndef PROFD_WMAP_H
#define PROFD_WMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/window.h"

/* Smallest table; tables are powers of two, at most 3/4 full. */
#define WMAP_MIN_CAP 16u

/* ---- (proc, stack) -> count ---- */

struct wentry {
	uint32_t proc;
	uint32_t stack;
	uint64_t count; /* 0 marks an empty cell: counts are never 0 */
};

struct wmap {
	struct wentry *tab;
	uint32_t cap; /* 0 or a power of two */
	uint32_t n;
};

/* Table size that holds n entries. */
uint32_t wmap_cap_for(uint64_t n);
/* Rehash into cap cells. 0 or -ENOMEM (m unchanged). bytes (may be NULL)
 * tracks table memory, here and below. */
int wmap_resize(struct wmap *m, uint32_t cap, uint64_t *bytes);
/* Add count to (proc, stack); *is_new tells whether a cell was taken.
 * Growth failure is tolerated while a free cell remains. 0 or -ENOMEM. */
int wmap_add(struct wmap *m, uint32_t proc, uint32_t stack, uint64_t count, uint64_t *bytes, bool *is_new);
void wmap_release(struct wmap *m, uint64_t *bytes);

/* ---- proc -> counters, open form ---- */

struct wcrec {
	struct wcounters c;
	uint32_t proc;
};

struct wccell {
	uint32_t proc;
	uint32_t rec; /* index into recs + 1; 0 marks an empty cell */
};

/* Records are dense, in insertion order; the table indexes them, so the
 * 3/4 load factor costs 8-byte cells, not 440-byte records. */
struct wcmap {
	struct wccell *tab;
	uint32_t cap;  /* 0 or a power of two */
	uint32_t n;    /* records */
	struct wcrec *recs;
	uint32_t rcap; /* records allocated */
};

/* Room for n records without reallocation. 0 or -ENOMEM. */
int wcmap_reserve(struct wcmap *m, uint32_t n, uint64_t *bytes);
/* The record for proc; a new one (*is_new) is zeroed. NULL: no memory. */
struct wcounters *wcmap_get(struct wcmap *m, uint32_t proc, uint64_t *bytes, bool *is_new);
/* Forget the records, keep the memory (query scratch). */
void wcmap_reset(struct wcmap *m);
void wcmap_release(struct wcmap *m, uint64_t *bytes);

/* ---- proc -> counters, packed form ---- */

/* Per record: varints of the proc, a presence byte, and only the non-zero
 * fields (bit masks say which), gauge_ns relative to the slot start. An
 * idle process (gauges only) takes ~20 bytes instead of 440. Exact: every
 * value round-trips. */
struct wcpack {
	uint8_t *buf;
	size_t len;
	uint32_t n; /* records */
};

/* Pack m's records (gauge times relative to base_ns). 0 or -ENOMEM (p
 * unchanged). m is left as is: the caller releases it. */
int wcpack_build(struct wcpack *p, const struct wcmap *m, uint64_t base_ns, uint64_t *bytes);
/* Decode the record at pos; returns the next record's position. */
const uint8_t *wcpack_next(const uint8_t *pos, uint64_t base_ns, uint32_t *proc, struct wcounters *c);
/* The same in two steps, without a copy: read the record's proc, then
 * wc_merge the rest of it into dst (the record for that proc). */
const uint8_t *wcpack_proc(const uint8_t *pos, uint32_t *proc);
const uint8_t *wcpack_merge(const uint8_t *pos, uint64_t base_ns, struct wcounters *dst);
void wcpack_release(struct wcpack *p, uint64_t *bytes);

/* ---- merging ---- */

/* dst += src: sums and histograms add, saturating; gauge_last and
 * gauge_ns from the one with the newer gauge_ns (src on a tie, so of two
 * adds at the same time the later wins); gauge_max is the max. */
void wc_merge(struct wcounters *dst, const struct wcounters *src);

#endif
