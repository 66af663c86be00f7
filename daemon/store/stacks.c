/* SPDX-License-Identifier: GPL-2.0-only */
/* Stack interning: a chained hash over (flags, frames) that hands out dense,
 * reusable ids, so windows store 4-byte ids instead of whole stacks. */
#include "store/stacks.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* A stack longer than this is cut and marked truncated: perf stacks are at
 * most kernel.perf_event_max_stack (127 by default) per side, so anything
 * longer is bogus input and must not cost unbounded memory. */
#define STACKS_MAX_FRAMES 1024u

/* Initial bucket count (power of two); the table doubles at load 1. */
#define STACKS_MIN_BUCKETS 256u

/* Frames are compared with memcmp: no padding may hide in them. */
_Static_assert(sizeof(struct frame) == 16, "struct frame has padding");

struct stack_ent {
	uint64_t hash;
	uint64_t last_used_ns;
	struct frame *frames; /* NULL when n == 0 */
	uint32_t n;
	uint32_t flags;
	uint32_t next; /* next id in the bucket chain, or in the free list */
	bool live;
};

struct stacks {
	struct stack_ent *ents; /* ents[id - STACK_ID_FIRST] */
	uint32_t nents;         /* ids handed out so far (high-water mark) */
	uint32_t cap_ents;
	uint32_t *buckets;      /* head id per bucket, STACK_ID_NONE if empty */
	uint32_t nbuckets;      /* power of two */
	uint32_t free_head;     /* freed ids, reused first */
	size_t max_stacks;
	uint64_t frame_bytes;   /* bytes held by frame arrays */
	stacks_hash_fn hash_fn;
	struct stacks_stats st;
};

static inline uint64_t rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

/* The murmur3 finalizer: full avalanche of a 64-bit word. */
static inline uint64_t fmix64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ull;
	k ^= k >> 33;
	return k;
}

static inline uint64_t mix_word(uint64_t h, uint64_t k)
{
	k *= 0x87c37b91114253d5ull;
	k = rotl64(k, 31);
	k *= 0x4cf5ad432745937full;
	h ^= k;
	return rotl64(h, 27) * 5 + 0x52dce729;
}

uint64_t stacks_hash_default(const struct frame *frames, uint32_t n, uint32_t flags)
{
	/* murmur3-style: every field of every frame is mixed, so stacks that
	 * differ in one frame's object, flags or address differ in the hash. */
	uint64_t h = 0x9e3779b97f4a7c15ull ^ ((uint64_t)n << 32 | flags);

	for (uint32_t i = 0; i < n; i++) {
		h = mix_word(h, (uint64_t)frames[i].obj << 32 | frames[i].flags);
		h = mix_word(h, frames[i].addr);
	}
	return fmix64(h ^ n);
}

static struct stack_ent *ent_of(const struct stacks *t, uint32_t id)
{
	if (id < STACK_ID_FIRST || id - STACK_ID_FIRST >= t->nents)
		return NULL;
	return &t->ents[id - STACK_ID_FIRST];
}

static uint64_t table_bytes(const struct stacks *t)
{
	return sizeof(*t) + (uint64_t)t->cap_ents * sizeof(*t->ents) +
	       (uint64_t)t->nbuckets * sizeof(*t->buckets) + t->frame_bytes;
}

int stacks_new(size_t max_stacks, struct stacks **ret)
{
	struct stacks *t;

	/* Ids are uint32_t and start at STACK_ID_FIRST. */
	if (max_stacks < 16 || max_stacks > UINT32_MAX - STACK_ID_FIRST)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->nbuckets = STACKS_MIN_BUCKETS;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	if (!t->buckets) {
		free(t);
		return -ENOMEM;
	}
	t->max_stacks = max_stacks;
	t->free_head = STACK_ID_NONE;
	t->hash_fn = stacks_hash_default;
	t->st.bytes = table_bytes(t);
	*ret = t;
	return 0;
}

struct stacks *stacks_free(struct stacks *t)
{
	if (!t)
		return NULL;
	for (uint32_t i = 0; i < t->nents; i++)
		free(t->ents[i].frames);
	free(t->ents);
	free(t->buckets);
	free(t);
	return NULL;
}

void stacks_set_hash_fn(struct stacks *t, stacks_hash_fn fn)
{
	/* Only meaningful on an empty table: existing entries keep the hash
	 * they were filed under. */
	if (t && t->st.stacks == 0)
		t->hash_fn = fn ? fn : stacks_hash_default;
}

static int grow_buckets(struct stacks *t)
{
	uint32_t nb = t->nbuckets * 2;
	uint32_t *b;

	if (nb < t->nbuckets)
		return -ENOMEM;
	b = calloc(nb, sizeof(*b));
	if (!b)
		return -ENOMEM;
	for (uint32_t i = 0; i < t->nents; i++) {
		struct stack_ent *e = &t->ents[i];
		uint32_t slot;

		if (!e->live)
			continue;
		slot = (uint32_t)(e->hash & (nb - 1));
		e->next = b[slot];
		b[slot] = i + STACK_ID_FIRST;
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = nb;
	return 0;
}

/* A free id: one released by gc first, else the next dense one. */
static uint32_t alloc_id(struct stacks *t)
{
	uint32_t id;

	if (t->free_head != STACK_ID_NONE) {
		id = t->free_head;
		t->free_head = t->ents[id - STACK_ID_FIRST].next;
		return id;
	}
	if (t->nents == t->cap_ents) {
		uint32_t nc = t->cap_ents ? t->cap_ents * 2 : 256;
		struct stack_ent *ne;

		if (nc > t->max_stacks)
			nc = (uint32_t)t->max_stacks;
		ne = realloc(t->ents, (size_t)nc * sizeof(*ne));
		if (!ne)
			return STACK_ID_NONE;
		t->ents = ne;
		t->cap_ents = nc;
	}
	id = t->nents + STACK_ID_FIRST;
	t->nents++;
	return id;
}

uint32_t stacks_intern(struct stacks *t, const struct frame *frames, uint32_t n, uint32_t flags, uint64_t now_ns)
{
	struct stack_ent *e;
	uint64_t h;
	uint32_t id, slot;
	struct frame *copy = NULL;

	if (!t)
		return STACK_ID_OVERFLOW;
	if (!frames)
		n = 0;
	if (n > STACKS_MAX_FRAMES) {
		n = STACKS_MAX_FRAMES;
		flags |= STACK_F_TRUNCATED;
	}
	h = t->hash_fn(frames, n, flags);
	slot = (uint32_t)(h & (t->nbuckets - 1));
	for (id = t->buckets[slot]; id != STACK_ID_NONE; id = e->next) {
		e = &t->ents[id - STACK_ID_FIRST];
		/* The hash only narrows the search: equal hashes of different
		 * stacks must stay two stacks (see design.md on collisions). */
		if (e->hash == h && e->n == n && e->flags == flags &&
		    (n == 0 || memcmp(e->frames, frames, (size_t)n * sizeof(*frames)) == 0)) {
			if (now_ns > e->last_used_ns)
				e->last_used_ns = now_ns;
			return id;
		}
	}

	if (t->st.stacks >= t->max_stacks) {
		t->st.full_drops++;
		return STACK_ID_OVERFLOW;
	}
	if (n) {
		copy = malloc((size_t)n * sizeof(*copy));
		if (!copy)
			goto fail;
		memcpy(copy, frames, (size_t)n * sizeof(*copy));
	}
	id = alloc_id(t);
	if (id == STACK_ID_NONE)
		goto fail;
	e = &t->ents[id - STACK_ID_FIRST];
	*e = (struct stack_ent){
		.hash = h, .last_used_ns = now_ns, .frames = copy,
		.n = n, .flags = flags, .next = t->buckets[slot], .live = true,
	};
	t->buckets[slot] = id;
	t->frame_bytes += (uint64_t)n * sizeof(*copy);
	t->st.stacks++;
	/* Keep chains short; failing to grow only makes them longer. */
	if (t->st.stacks > t->nbuckets)
		(void)grow_buckets(t);
	t->st.bytes = table_bytes(t);
	return id;
fail:
	/* Out of memory: the sample is kept, under the overflow id. */
	free(copy);
	t->st.full_drops++;
	return STACK_ID_OVERFLOW;
}

int stacks_get(const struct stacks *t, uint32_t id, const struct frame **ret_frames, uint32_t *ret_flags)
{
	const struct stack_ent *e = t ? ent_of(t, id) : NULL;

	if (!e || !e->live)
		return -ENOENT;
	if (ret_frames)
		*ret_frames = e->frames;
	if (ret_flags)
		*ret_flags = e->flags;
	return (int)e->n;
}

size_t stacks_gc(struct stacks *t, uint64_t oldest_ns)
{
	size_t freed = 0;

	if (!t)
		return 0;
	/* Walk the chains (not the id array) so each victim is unlinked in
	 * O(1): one pass over buckets + entries. */
	for (uint32_t b = 0; b < t->nbuckets; b++) {
		uint32_t *link = &t->buckets[b];

		while (*link != STACK_ID_NONE) {
			uint32_t id = *link;
			struct stack_ent *e = &t->ents[id - STACK_ID_FIRST];

			if (e->last_used_ns >= oldest_ns) {
				link = &e->next;
				continue;
			}
			*link = e->next;
			t->frame_bytes -= (uint64_t)e->n * sizeof(*e->frames);
			free(e->frames);
			*e = (struct stack_ent){ .next = t->free_head };
			t->free_head = id;
			freed++;
		}
	}
	t->st.stacks -= freed;
	t->st.collected += freed;
	t->st.bytes = table_bytes(t);
	return freed;
}

void stacks_get_stats(const struct stacks *t, struct stacks_stats *ret)
{
	if (!ret)
		return;
	if (!t) {
		memset(ret, 0, sizeof(*ret));
		return;
	}
	*ret = t->st;
}
