/* SPDX-License-Identifier: GPL-2.0-only */
/* Process objects: ids for frames whose process mappings are not read yet, bound later. */
#include "symbols/procobj.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct pframe {
	uint64_t ip;
	uint64_t off;
	uint32_t obj;
};

struct pobj {
	uint32_t id;         /* 0: free slot */
	uint32_t pending;
	uint32_t n, cap;
	struct pframe *f;    /* sorted by ip */
	uint64_t last_use;
};

struct procobj {
	struct pobj *slots;
	size_t nslots;
	uint32_t *free_stack;
	size_t nfree;
	uint32_t *idx;       /* open addressing: id -> slot + 1; 0 empty */
	size_t idx_mask;
	size_t max_frames;
	uint32_t seq;
	struct procobj_stats st;
};

static size_t idx_home(const struct procobj *t, uint32_t id)
{
	return (size_t)((id * 0x9e3779b1u) ^ (id >> 15)) & t->idx_mask;
}

static size_t idx_find(const struct procobj *t, uint32_t id)
{
	for (size_t i = idx_home(t, id);; i = (i + 1) & t->idx_mask) {
		if (!t->idx[i] || t->slots[t->idx[i] - 1].id == id)
			return i;
	}
}

static struct pobj *get(struct procobj *t, uint32_t id)
{
	size_t i;

	if (!procobj_is_id(id))
		return NULL;
	i = idx_find(t, id);
	return t->idx[i] ? &t->slots[t->idx[i] - 1] : NULL;
}

/* Linear probing deletion by backward shift: no tombstones. */
static void idx_remove(struct procobj *t, uint32_t id)
{
	size_t i = idx_find(t, id), j = i;

	if (!t->idx[i])
		return;
	for (;;) {
		size_t h;

		t->idx[i] = 0;
		for (;;) {
			j = (j + 1) & t->idx_mask;
			if (!t->idx[j])
				return;
			h = idx_home(t, t->slots[t->idx[j] - 1].id);
			/* Move j back to i unless its home lies cyclically in (i, j]. */
			if (i <= j ? (i < h && h <= j) : (i < h || h <= j))
				continue;
			break;
		}
		t->idx[i] = t->idx[j];
		i = j;
	}
}

static void release(struct procobj *t, struct pobj *o)
{
	idx_remove(t, o->id);
	t->st.frames -= o->n;
	t->st.objects--;
	if (o->pending)
		t->st.pending--;
	free(o->f);
	memset(o, 0, sizeof(*o));
	t->free_stack[t->nfree++] = (uint32_t)(o - t->slots);
}

int procobj_new(size_t max_objects, size_t max_frames, struct procobj **ret)
{
	struct procobj *t;
	size_t isz = 64;

	if (!max_objects || !max_frames || max_objects > (1u << 24))
		return -EINVAL;
	while (isz < max_objects * 2)
		isz *= 2;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->slots = calloc(max_objects, sizeof(*t->slots));
	t->free_stack = malloc(max_objects * sizeof(*t->free_stack));
	t->idx = calloc(isz, sizeof(*t->idx));
	if (!t->slots || !t->free_stack || !t->idx) {
		procobj_free(t);
		return -ENOMEM;
	}
	t->nslots = max_objects;
	t->idx_mask = isz - 1;
	t->max_frames = max_frames;
	for (size_t i = 0; i < max_objects; i++)
		t->free_stack[i] = (uint32_t)(max_objects - 1 - i);
	t->nfree = max_objects;
	*ret = t;
	return 0;
}

struct procobj *procobj_free(struct procobj *t)
{
	if (!t)
		return NULL;
	for (size_t i = 0; t->slots && i < t->nslots; i++)
		free(t->slots[i].f);
	free(t->slots);
	free(t->free_stack);
	free(t->idx);
	free(t);
	return NULL;
}

int procobj_create(struct procobj *t, uint64_t now, uint32_t *ret_id)
{
	struct pobj *o;
	uint32_t id;
	size_t i;

	if (!t->nfree) {
		struct pobj *victim = &t->slots[0];

		for (size_t k = 1; k < t->nslots; k++)
			if (t->slots[k].last_use < victim->last_use)
				victim = &t->slots[k];
		release(t, victim);
		t->st.recycled++;
	}
	/* Skip ids still live after a wrap of the sequence. */
	do
		id = PROCOBJ_FIRST + (t->seq++ & (PROCOBJ_SPAN - 1));
	while (get(t, id));
	o = &t->slots[t->free_stack[--t->nfree]];
	*o = (struct pobj){ .id = id, .pending = 1, .last_use = now };
	i = idx_find(t, id);
	t->idx[i] = (uint32_t)(o - t->slots) + 1;
	t->st.objects++;
	t->st.pending++;
	*ret_id = id;
	return 0;
}

/* Index of the first frame with ip >= want. */
static uint32_t lower_bound(const struct pobj *o, uint64_t want)
{
	uint32_t lo = 0, hi = o->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (o->f[mid].ip < want)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int procobj_add(struct procobj *t, uint32_t id, uint64_t ip, uint64_t now)
{
	struct pobj *o = get(t, id);
	uint32_t at;

	if (!o || !o->pending)
		return -ENOENT;
	o->last_use = now;
	at = lower_bound(o, ip);
	if (at < o->n && o->f[at].ip == ip)
		return 0;
	if (o->n >= PROCOBJ_FRAMES_PER_OBJ || t->st.frames >= t->max_frames) {
		t->st.refused++;
		return -ENOSPC;
	}
	if (o->n == o->cap) {
		uint32_t cap = o->cap ? o->cap * 2 : 16;
		struct pframe *n = realloc(o->f, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		o->f = n;
		o->cap = cap;
	}
	memmove(&o->f[at + 1], &o->f[at], (o->n - at) * sizeof(*o->f));
	o->f[at] = (struct pframe){ .ip = ip };
	o->n++;
	t->st.frames++;
	return 0;
}

void procobj_bind(struct procobj *t, uint32_t id, procobj_bind_fn fn, void *ctx)
{
	struct pobj *o = get(t, id);
	uint32_t out = 0;

	if (!o || !o->pending)
		return;
	for (uint32_t i = 0; i < o->n; i++) {
		struct pframe f = o->f[i];

		if (fn(ctx, f.ip, &f.obj, &f.off) == 0)
			o->f[out++] = f;
	}
	t->st.frames -= o->n - out;
	o->n = out;
	o->pending = 0;
	t->st.pending--;
	if (!out)
		release(t, o);
}

void procobj_drop(struct procobj *t, uint32_t id)
{
	struct pobj *o = get(t, id);

	if (o && o->pending)
		release(t, o);
}

int procobj_resolve(struct procobj *t, uint32_t id, uint64_t ip, uint64_t now, uint32_t *ret_obj,
		    uint64_t *ret_off)
{
	struct pobj *o = get(t, id);
	uint32_t at;

	if (!o)
		return -ENOENT;
	o->last_use = now;
	if (o->pending)
		return -EAGAIN;
	at = lower_bound(o, ip);
	if (at >= o->n || o->f[at].ip != ip)
		return -ENOENT;
	*ret_obj = o->f[at].obj;
	*ret_off = o->f[at].off;
	return 0;
}

void procobj_get_stats(const struct procobj *t, struct procobj_stats *ret)
{
	*ret = t->st;
}
