/* SPDX-License-Identifier: GPL-2.0-only */
/* JIT objects: one per process life with JIT code, bounded, recycled LRU. */
#include "symbols/jittab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct jittab {
	struct jitobj *slots;
	size_t max;
	size_t used;
	uint64_t bytes;
	uint64_t loaded;
	uint64_t recycled;
};

int jittab_new(size_t max, struct jittab **ret)
{
	struct jittab *t;

	if (!max || max > JITTAB_SPAN)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->slots = calloc(max, sizeof(*t->slots));
	if (!t->slots) {
		free(t);
		return -ENOMEM;
	}
	t->max = max;
	*ret = t;
	return 0;
}

void jittab_drop_table(struct jittab *t, struct jitobj *o)
{
	if (o->table) {
		t->bytes -= perfmap_bytes(o->table);
		t->loaded--;
	}
	o->table = perfmap_free(o->table);
	o->state = JIT_IDLE;
	o->rereading = 0;
}

struct jittab *jittab_free(struct jittab *t)
{
	if (!t)
		return NULL;
	for (size_t i = 0; i < t->max; i++)
		perfmap_free(t->slots[i].table);
	free(t->slots);
	free(t);
	return NULL;
}

uint32_t jittab_create(struct jittab *t, uint32_t pid, uint64_t now)
{
	struct jitobj *o = NULL;
	size_t slot;
	uint32_t gen;

	for (size_t i = 0; i < t->max; i++) {
		if (!t->slots[i].id) {
			o = &t->slots[i];
			break;
		}
		if (!o || t->slots[i].last_use < o->last_use)
			o = &t->slots[i];
	}
	slot = (size_t)(o - t->slots);
	if (o->id) {
		jittab_drop_table(t, o);
		t->recycled++;
		t->used--;
	}
	gen = o->gen + 1;
	memset(o, 0, sizeof(*o));
	o->gen = gen;
	/* Slot and generation make the id: a recycled slot's old frames
	 * find a different id there and render unknown. */
	o->id = JITTAB_FIRST + (uint32_t)(((uint64_t)gen * t->max + slot) % (JITTAB_SPAN / t->max * t->max));
	o->pid = pid;
	o->live = 1;
	o->last_use = now;
	t->used++;
	return o->id;
}

struct jitobj *jittab_get(struct jittab *t, uint32_t id)
{
	struct jitobj *o;

	if (!jittab_is_id(id))
		return NULL;
	o = &t->slots[(id - JITTAB_FIRST) % t->max];
	return o->id == id ? o : NULL;
}

void jittab_retire(struct jittab *t, uint32_t id)
{
	struct jitobj *o = jittab_get(t, id);

	if (o)
		o->live = 0;
}

void jittab_set_table(struct jittab *t, struct jitobj *o, struct perfmap *m, uint64_t poll)
{
	jittab_drop_table(t, o);
	o->table = m;
	o->state = JIT_LOADED;
	o->installed_poll = poll;
	t->bytes += perfmap_bytes(m);
	t->loaded++;
}

struct jitobj *jittab_oldest_loaded(struct jittab *t, uint64_t poll)
{
	struct jitobj *v = NULL;

	for (size_t i = 0; i < t->max; i++) {
		struct jitobj *o = &t->slots[i];

		if (o->id && o->table && o->installed_poll != poll && (!v || o->last_use < v->last_use))
			v = o;
	}
	return v;
}

void jittab_get_stats(const struct jittab *t, struct jittab_stats *ret)
{
	*ret = (struct jittab_stats){
		.objects = t->used, .loaded = t->loaded, .bytes = t->bytes, .recycled = t->recycled,
	};
}
