/* SPDX-License-Identifier: GPL-2.0-only */
/* Object table: ELF files by build-id or (dev, ino, mtime), with their places and names. */
#include "symbols/objtab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NIL UINT32_MAX

struct objtab {
	struct sym_object *objs;
	size_t nobjs;
	size_t objs_cap;
	size_t max_objects;
	uint32_t *bid_buckets;
	uint32_t *key_buckets;
	size_t nbuckets;
	uint64_t objects_full;
};

static uint64_t hash64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

static uint64_t hash_bid(const uint8_t *id, size_t len)
{
	uint64_t h = len;

	for (size_t i = 0; i < len; i++)
		h = (h ^ id[i]) * 0x100000001b3ull;
	return hash64(h);
}

static uint64_t hash_key(const struct symloader_key *k)
{
	return hash64(k->dev ^ hash64(k->ino ^ hash64(k->mtime_ns)));
}

struct sym_object *objtab_get(struct objtab *t, uint32_t id)
{
	if (id == SYM_OBJ_KERNEL || id == SYM_OBJ_UNKNOWN || (size_t)id - 1 >= t->nobjs)
		return NULL;
	return &t->objs[id - 1];
}

struct sym_object *objtab_at(struct objtab *t, size_t i)
{
	return &t->objs[i];
}

size_t objtab_count(const struct objtab *t)
{
	return t->nobjs;
}

uint64_t objtab_full(const struct objtab *t)
{
	return t->objects_full;
}

static uint32_t obj_new(struct objtab *t)
{
	struct sym_object *o;

	if (t->nobjs >= t->max_objects) {
		t->objects_full++;
		return SYM_OBJ_UNKNOWN;
	}
	if (t->nobjs == t->objs_cap) {
		size_t cap = t->objs_cap ? t->objs_cap * 2 : 64;
		struct sym_object *n;

		if (cap > t->max_objects)
			cap = t->max_objects;
		n = realloc(t->objs, cap * sizeof(*n));
		if (!n)
			return SYM_OBJ_UNKNOWN;
		t->objs = n;
		t->objs_cap = cap;
	}
	o = &t->objs[t->nobjs];
	memset(o, 0, sizeof(*o));
	o->next_bid = o->next_key = NIL;
	return (uint32_t)++t->nobjs;
}

uint32_t objtab_by_build_id(struct objtab *t, const uint8_t *id, size_t len)
{
	size_t b = hash_bid(id, len) & (t->nbuckets - 1);
	uint32_t i, oid;

	for (i = t->bid_buckets[b]; i != NIL; i = t->objs[i].next_bid)
		if (t->objs[i].build_id_len == len && memcmp(t->objs[i].build_id, id, len) == 0)
			return i + 1;
	oid = obj_new(t);
	if (oid == SYM_OBJ_UNKNOWN)
		return oid;
	memcpy(t->objs[oid - 1].build_id, id, len);
	t->objs[oid - 1].build_id_len = (uint8_t)len;
	t->objs[oid - 1].next_bid = t->bid_buckets[b];
	t->bid_buckets[b] = oid - 1;
	return oid;
}

uint32_t objtab_by_key(struct objtab *t, const struct symloader_key *k)
{
	size_t b = hash_key(k) & (t->nbuckets - 1);
	uint32_t i, oid;

	for (i = t->key_buckets[b]; i != NIL; i = t->objs[i].next_key)
		if (t->objs[i].has_key && symloader_key_eq(&t->objs[i].key, k))
			return i + 1;
	oid = obj_new(t);
	if (oid == SYM_OBJ_UNKNOWN)
		return oid;
	t->objs[oid - 1].key = *k;
	t->objs[oid - 1].has_key = 1;
	t->objs[oid - 1].next_key = t->key_buckets[b];
	t->key_buckets[b] = oid - 1;
	return oid;
}

static int cand_eq(const struct symloader_cand *a, const struct symloader_cand *b)
{
	return a->path && b->path && strcmp(a->path, b->path) == 0 &&
	       (a->root ? b->root && strcmp(a->root, b->root) == 0 : !b->root);
}

void objtab_add_path(struct objtab *t, uint32_t id, const struct symloader_cand *c, const char *logical)
{
	struct sym_object *o = objtab_get(t, id);
	struct symloader_cand n;

	if (!o || !c->path)
		return;
	for (size_t i = 0; i < OBJTAB_PATHS; i++)
		if (cand_eq(&o->paths[i], c))
			return;
	n = (struct symloader_cand){
		.root = c->root ? strdup(c->root) : NULL, .path = strdup(c->path), .magic = c->magic,
	};
	if (!n.path || (c->root && !n.root)) {
		free(n.root);
		free(n.path);
		return;
	}
	free(o->paths[OBJTAB_PATHS - 1].root);
	free(o->paths[OBJTAB_PATHS - 1].path);
	memmove(&o->paths[1], &o->paths[0], (OBJTAB_PATHS - 1) * sizeof(o->paths[0]));
	o->paths[0] = n;
	o->paths_gen++;
	if (logical && logical[0] == '/') {
		const char *slash = strrchr(logical, '/');
		char *dir = strndup(logical, slash == logical ? 1 : (size_t)(slash - logical));
		char *base = strdup(slash + 1);

		if (dir) {
			free(o->logical_dir);
			o->logical_dir = dir;
		}
		if (base && base[0] && !o->name)
			o->name = base;
		else
			free(base);
	}
	if (o->state == OBJ_FAILED)
		o->state = OBJ_IDLE;
}

uint32_t objtab_for_ident(struct objtab *t, const struct symloader_ident *id)
{
	uint32_t oid = id->build_id_len ? objtab_by_build_id(t, id->build_id, id->build_id_len)
					: objtab_by_key(t, &id->key);
	struct sym_object *o = objtab_get(t, oid);

	if (!o)
		return SYM_OBJ_UNKNOWN;
	/* Copies sharing a build-id may differ in size (one stripped): the
	 * code lies at the same offsets in both. */
	if (id->size > o->size)
		o->size = id->size;
	/* Least preferred first: objtab_add_path puts the newest in front. */
	for (size_t i = SYMLOADER_IDENT_PATHS; i-- > 0;)
		if (id->cands[i].path)
			objtab_add_path(t, oid, &id->cands[i], id->logical);
	return oid;
}

int objtab_new(size_t max_objects, struct objtab **ret)
{
	struct objtab *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->max_objects = max_objects > OBJTAB_MAX_LIMIT ? OBJTAB_MAX_LIMIT : max_objects;
	for (t->nbuckets = 64; t->nbuckets < t->max_objects; t->nbuckets *= 2)
		;
	t->bid_buckets = malloc(t->nbuckets * sizeof(uint32_t));
	t->key_buckets = malloc(t->nbuckets * sizeof(uint32_t));
	if (!t->bid_buckets || !t->key_buckets) {
		objtab_free(t);
		return -ENOMEM;
	}
	memset(t->bid_buckets, 0xff, t->nbuckets * sizeof(uint32_t));
	memset(t->key_buckets, 0xff, t->nbuckets * sizeof(uint32_t));
	*ret = t;
	return 0;
}

struct objtab *objtab_free(struct objtab *t)
{
	if (!t)
		return NULL;
	for (size_t i = 0; i < t->nobjs; i++) {
		struct sym_object *o = &t->objs[i];

		elfsym_free(o->table);
		free(o->name);
		free(o->logical_dir);
		for (size_t k = 0; k < OBJTAB_PATHS; k++) {
			free(o->paths[k].root);
			free(o->paths[k].path);
		}
	}
	free(t->objs);
	free(t->bid_buckets);
	free(t->key_buckets);
	free(t);
	return NULL;
}
