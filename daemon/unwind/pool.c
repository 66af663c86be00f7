/* SPDX-License-Identifier: GPL-2.0-only */
/* First-fit range allocator with a quarantine. See pool.h. */
#include "unwind/pool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct range {
	uint32_t at, n;
};

struct pool {
	uint32_t size, used;
	struct range *free; /* sorted by at, never adjacent (coalesced) */
	size_t nfree, cap_free;
	struct range *quar;
	size_t nquar, cap_quar;
};

static int grow(struct range **v, size_t *cap, size_t need)
{
	struct range *n;
	size_t c;

	if (need <= *cap)
		return 0;
	c = *cap ? *cap * 2 : 16;
	while (c < need)
		c *= 2;
	n = realloc(*v, c * sizeof(*n));
	if (!n)
		return -ENOMEM;
	*v = n;
	*cap = c;
	return 0;
}

int pool_new(uint32_t size, struct pool **ret)
{
	struct pool *p;

	if (!size)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p || grow(&p->free, &p->cap_free, 1) < 0) {
		free(p);
		return -ENOMEM;
	}
	p->size = size;
	p->free[0] = (struct range){ 0, size };
	p->nfree = 1;
	*ret = p;
	return 0;
}

struct pool *pool_free(struct pool *p)
{
	if (p) {
		free(p->free);
		free(p->quar);
		free(p);
	}
	return NULL;
}

int pool_alloc(struct pool *p, uint32_t n, uint32_t *ret_at)
{
	if (!n)
		return -EINVAL;
	for (size_t i = 0; i < p->nfree; i++) {
		if (p->free[i].n < n)
			continue;
		*ret_at = p->free[i].at;
		p->free[i].at += n;
		p->free[i].n -= n;
		if (!p->free[i].n) {
			memmove(&p->free[i], &p->free[i + 1], (p->nfree - i - 1) * sizeof(*p->free));
			p->nfree--;
		}
		p->used += n;
		return 0;
	}
	return -ENOSPC;
}

void pool_put(struct pool *p, uint32_t at, uint32_t n)
{
	if (!n)
		return;
	if (grow(&p->quar, &p->cap_quar, p->nquar + 1) < 0)
		return; /* leaked until restart: cannot happen short of OOM */
	p->quar[p->nquar++] = (struct range){ at, n };
}

static void insert_free(struct pool *p, struct range r)
{
	size_t i = 0;

	while (i < p->nfree && p->free[i].at < r.at)
		i++;
	/* merge with the left neighbour, the right one, or both */
	if (i > 0 && p->free[i - 1].at + p->free[i - 1].n == r.at) {
		p->free[i - 1].n += r.n;
		if (i < p->nfree && p->free[i - 1].at + p->free[i - 1].n == p->free[i].at) {
			p->free[i - 1].n += p->free[i].n;
			memmove(&p->free[i], &p->free[i + 1], (p->nfree - i - 1) * sizeof(*p->free));
			p->nfree--;
		}
		return;
	}
	if (i < p->nfree && r.at + r.n == p->free[i].at) {
		p->free[i].at = r.at;
		p->free[i].n += r.n;
		return;
	}
	if (grow(&p->free, &p->cap_free, p->nfree + 1) < 0)
		return;
	memmove(&p->free[i + 1], &p->free[i], (p->nfree - i) * sizeof(*p->free));
	p->free[i] = r;
	p->nfree++;
}

void pool_release(struct pool *p)
{
	for (size_t i = 0; i < p->nquar; i++) {
		insert_free(p, p->quar[i]);
		p->used -= p->quar[i].n;
	}
	p->nquar = 0;
}

uint32_t pool_size(const struct pool *p)
{
	return p->size;
}

uint32_t pool_used(const struct pool *p)
{
	return p->used;
}

uint32_t pool_largest(const struct pool *p)
{
	uint32_t m = 0;

	for (size_t i = 0; i < p->nfree; i++)
		if (p->free[i].n > m)
			m = p->free[i].n;
	return m;
}
