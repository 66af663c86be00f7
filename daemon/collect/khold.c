/* SPDX-License-Identifier: GPL-2.0-only */
/* khold: see khold.h. Two sorted arrays: the last pass's (searched) and the
 * one being built (swapped in at khold_end). */
#include "collect/khold.h"
#include "common/sort.h"

#include <errno.h>
#include <stdlib.h>

struct entry {
	uint32_t tgid;
	uint64_t start_time;
	uint64_t value;
};

struct khold {
	struct entry *cur, *next;
	uint32_t ncur, nnext, max;
	int sorted; /* next[] arrived in ascending (tgid, start_time) order */
};

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->tgid != y->tgid)
		return x->tgid < y->tgid ? -1 : 1;
	return x->start_time < y->start_time ? -1 : x->start_time > y->start_time;
}

int khold_new(uint32_t max, struct khold **ret)
{
	struct khold *h;

	if (!max)
		return -EINVAL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->cur = calloc(max, sizeof(*h->cur));
	h->next = calloc(max, sizeof(*h->next));
	if (!h->cur || !h->next) {
		khold_free(h);
		return -ENOMEM;
	}
	h->max = max;
	h->sorted = 1;
	*ret = h;
	return 0;
}

struct khold *khold_free(struct khold *h)
{
	if (!h)
		return NULL;
	free(h->cur);
	free(h->next);
	free(h);
	return NULL;
}

void khold_begin(struct khold *h)
{
	h->nnext = 0;
	h->sorted = 1;
}

static const struct entry *find(const struct khold *h, uint32_t tgid, uint64_t start_time)
{
	struct entry key = {.tgid = tgid, .start_time = start_time};

	return bsearch(&key, h->cur, h->ncur, sizeof(key), cmp_entry);
}

int khold_apply(struct khold *h, uint32_t tgid, uint64_t start_time, uint64_t *value)
{
	const struct entry *old = find(h, tgid, start_time);
	int raised = 0;
	struct entry *e;

	if (old && old->value > *value) {
		*value = old->value;
		raised = 1;
	}
	if (h->nnext >= h->max)
		return raised;
	e = &h->next[h->nnext++];
	e->tgid = tgid;
	e->start_time = start_time;
	e->value = *value;
	if (h->nnext > 1 && cmp_entry(e - 1, e) > 0)
		h->sorted = 0;
	return raised;
}

void khold_end(struct khold *h)
{
	struct entry *t = h->cur;

	if (!h->sorted)
		qsort_safe(h->next, h->nnext, sizeof(*h->next), cmp_entry);
	h->cur = h->next;
	h->ncur = h->nnext;
	h->next = t;
	h->nnext = 0;
}

int khold_find(const struct khold *h, uint32_t tgid, uint64_t start_time, uint64_t *ret)
{
	const struct entry *e = find(h, tgid, start_time);

	if (!e)
		return -ENOENT;
	*ret = e->value;
	return 0;
}
