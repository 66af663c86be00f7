/* SPDX-License-Identifier: GPL-2.0-only */
/* Range allocator over a fixed array the BPF program reads (the cell pool,
 * the mapping pool): first fit, coalescing frees.
 *
 * A freed range is not reusable at once: a BPF program that looked up the
 * old descriptor a moment ago may still be reading it. Frees are held in
 * quarantine until pool_release(), which the owner calls once per tick
 * (a BPF program runs for microseconds; a tick is a second). */
#ifndef PROFD_UNWIND_POOL_H
#define PROFD_UNWIND_POOL_H

#include <stddef.h>
#include <stdint.h>

struct pool;

/* A pool of size units, all free. 0 and *ret, or -ENOMEM/-EINVAL. */
int pool_new(uint32_t size, struct pool **ret);
struct pool *pool_free(struct pool *p);

/* n (>= 1) units: 0 and *ret_at, -ENOSPC when no free range is that long,
 * -ENOMEM. */
int pool_alloc(struct pool *p, uint32_t n, uint32_t *ret_at);
/* Give [at, at + n) back; reusable after the next pool_release(). */
void pool_put(struct pool *p, uint32_t at, uint32_t n);
/* Make quarantined ranges reusable. */
void pool_release(struct pool *p);

uint32_t pool_size(const struct pool *p);
uint32_t pool_used(const struct pool *p);      /* allocated, quarantine included */
uint32_t pool_largest(const struct pool *p);   /* longest free range now */

#endif
