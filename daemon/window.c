/* Rolling windows: per-tier rings of time slots, each an open-addressing
 * map (proc, stack) -> count; closed slots roll up into coarser tiers and a
 * memory bound coarsens, then drops, the oldest detail. */
#include "window.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MS_NS 1000000ull
/* Smallest slot table; tables are powers of two, at most 3/4 full. */
#define MAP_MIN_CAP 16u
/* A query's scratch map larger than this (entries) is freed after the
 * query instead of kept: one huge query must not pin memory. */
#define QUERY_KEEP_CAP 4096u
/* Bound on slots per tier: the ring array is allocated up front. */
#define WINDOW_MAX_SLOTS (1u << 24)
#define WINDOW_MIN_BYTES (64u * 1024)

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

struct slot {
	uint64_t start_ns;
	struct wmap m;
	uint32_t ncoarse; /* entries whose stack is STACK_ID_COARSENED */
};

struct tier {
	uint64_t slot_ns;
	uint32_t nslots;
	uint32_t hint;     /* entries of the last closed slot: sizes the next */
	uint64_t cur;      /* start of the open slot */
	struct slot *ring; /* ring[(start / slot_ns) % nslots] */
};

struct window {
	uint32_t ntiers;
	struct tier t[WINDOW_MAX_TIERS];
	size_t max_bytes;
	uint64_t now;             /* latest time seen */
	uint64_t bytes;           /* slot tables only */
	uint64_t entries;
	uint64_t coarsened_entries;
	uint64_t dropped_slots;
	uint64_t alloc_failures;
	struct wmap q;            /* query scratch, reused */
};

static inline uint32_t map_index(uint32_t proc, uint32_t stack, uint32_t mask)
{
	uint64_t k = (uint64_t)proc << 32 | stack;

	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 29;
	return (uint32_t)k & mask;
}

static uint32_t map_cap_for(uint64_t n)
{
	uint64_t cap = MAP_MIN_CAP;

	while (cap * 3 < n * 4 && cap < (1ull << 31))
		cap *= 2;
	return (uint32_t)cap;
}

/* Cell for (proc, stack): the existing entry or the empty cell to fill. */
static struct wentry *map_cell(const struct wmap *m, uint32_t proc, uint32_t stack)
{
	uint32_t mask = m->cap - 1, i = map_index(proc, stack, mask);

	for (;;) {
		struct wentry *e = &m->tab[i];

		if (!e->count || (e->proc == proc && e->stack == stack))
			return e;
		i = (i + 1) & mask;
	}
}

static int map_resize(struct wmap *m, uint32_t cap, uint64_t *bytes)
{
	struct wmap nm = { .cap = cap, .n = m->n };

	nm.tab = calloc(cap, sizeof(*nm.tab));
	if (!nm.tab)
		return -ENOMEM;
	for (uint32_t i = 0; i < m->cap; i++) {
		if (m->tab[i].count)
			*map_cell(&nm, m->tab[i].proc, m->tab[i].stack) = m->tab[i];
	}
	if (bytes)
		*bytes += ((uint64_t)cap - m->cap) * sizeof(struct wentry);
	free(m->tab);
	*m = nm;
	return 0;
}

/* Add count to (proc, stack); *is_new tells whether a cell was taken.
 * Growth failure is tolerated while a free cell remains (longer probes
 * beat losing samples). bytes (may be NULL) tracks table memory. */
static int map_add(struct wmap *m, uint32_t proc, uint32_t stack, uint64_t count, uint64_t *bytes, bool *is_new)
{
	struct wentry *e;

	if ((uint64_t)(m->n + 1) * 4 > (uint64_t)m->cap * 3) {
		uint32_t nc = m->cap ? m->cap * 2 : MAP_MIN_CAP;

		if ((nc <= m->cap || map_resize(m, nc, bytes) < 0) && m->n + 1 >= m->cap)
			return -ENOMEM;
	}
	e = map_cell(m, proc, stack);
	*is_new = !e->count;
	if (*is_new) {
		e->proc = proc;
		e->stack = stack;
		m->n++;
	}
	e->count += count;
	return 0;
}

static void map_release(struct wmap *m, uint64_t *bytes)
{
	if (bytes)
		*bytes -= (uint64_t)m->cap * sizeof(struct wentry);
	free(m->tab);
	*m = (struct wmap){ 0 };
}

static int slot_add(struct window *w, struct slot *s, uint32_t proc, uint32_t stack, uint64_t count)
{
	bool is_new;

	if (map_add(&s->m, proc, stack, count, &w->bytes, &is_new) < 0) {
		w->alloc_failures++;
		return -ENOMEM;
	}
	if (is_new) {
		w->entries++;
		if (stack == STACK_ID_COARSENED)
			s->ncoarse++;
	}
	return 0;
}

/* Free a slot's data; its start stays so an open slot stays open. */
static void slot_clear(struct window *w, struct slot *s)
{
	w->entries -= s->m.n;
	map_release(&s->m, &w->bytes);
	s->ncoarse = 0;
}

static inline struct slot *ring_slot(const struct tier *t, uint64_t start)
{
	return &t->ring[(start / t->slot_ns) % t->nslots];
}

/* The slot for start, if it holds data for exactly that start. */
static struct slot *slot_held(const struct tier *t, uint64_t start)
{
	struct slot *s = ring_slot(t, start);

	return s->start_ns == start && s->m.n ? s : NULL;
}

/* Make the ring cell for start the slot for start (evicting a stale one). */
static struct slot *slot_open(struct window *w, struct tier *t, uint64_t start)
{
	struct slot *s = ring_slot(t, start);

	if (s->start_ns != start) {
		slot_clear(w, s);
		s->start_ns = start;
	}
	return s;
}

static int slot_merge(struct window *w, struct slot *dst, const struct slot *src)
{
	int err = 0;

	for (uint32_t i = 0; i < src->m.cap; i++) {
		const struct wentry *e = &src->m.tab[i];

		if (e->count && slot_add(w, dst, e->proc, e->stack, e->count) < 0)
			err = -ENOMEM;
	}
	return err;
}

static int validate(const struct window_opts *o)
{
	if (!o || o->ntiers < 1 || o->ntiers > WINDOW_MAX_TIERS || o->max_bytes < WINDOW_MIN_BYTES)
		return -EINVAL;
	for (uint32_t k = 0; k < o->ntiers; k++) {
		const struct window_tier_opts *t = &o->tier[k];

		if (t->slot_ns < MS_NS || t->slots < 1 || t->slots > WINDOW_MAX_SLOTS)
			return -EINVAL;
		/* held span slot_ns * slots must fit in 64 bits */
		if (t->slot_ns > UINT64_MAX / t->slots)
			return -EINVAL;
		if (k > 0 && (t->slot_ns < o->tier[k - 1].slot_ns || t->slot_ns % o->tier[k - 1].slot_ns))
			return -EINVAL;
	}
	return 0;
}

struct window *window_new(const struct window_opts *opts, uint64_t now_ns)
{
	struct window *w;

	if (validate(opts) < 0) {
		errno = EINVAL;
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->ntiers = opts->ntiers;
	w->max_bytes = opts->max_bytes;
	w->now = now_ns;
	for (uint32_t k = 0; k < w->ntiers; k++) {
		struct tier *t = &w->t[k];

		t->slot_ns = opts->tier[k].slot_ns;
		t->nslots = opts->tier[k].slots;
		t->cur = now_ns / t->slot_ns * t->slot_ns;
		t->ring = calloc(t->nslots, sizeof(*t->ring));
		if (!t->ring) {
			window_free(w);
			errno = ENOMEM;
			return NULL;
		}
		/* Start times are multiples of slot_ns; mark every cell stale
		 * except the open one (UINT64_MAX is never a slot start). */
		for (uint32_t i = 0; i < t->nslots; i++)
			t->ring[i].start_ns = UINT64_MAX;
		ring_slot(t, t->cur)->start_ns = t->cur;
	}
	return w;
}

struct window *window_free(struct window *w)
{
	if (!w)
		return NULL;
	for (uint32_t k = 0; k < w->ntiers; k++) {
		if (!w->t[k].ring)
			continue;
		for (uint32_t i = 0; i < w->t[k].nslots; i++)
			free(w->t[k].ring[i].m.tab);
		free(w->t[k].ring);
	}
	free(w->q.tab);
	free(w);
	return NULL;
}

/* Move the open slots forward to now: each tier whose open slot ended
 * merges it into the next tier's open slot (which still covers it: tiers
 * nest), then frees the ring cells it skips or reuses. A gap of any length
 * costs at most one pass over each ring. */
static void advance(struct window *w, uint64_t now)
{
	uint64_t new0 = now / w->t[0].slot_ns * w->t[0].slot_ns;

	if (new0 <= w->t[0].cur)
		return;
	for (uint32_t k = 0; k < w->ntiers; k++) {
		struct tier *t = &w->t[k];
		uint64_t newk = new0 / t->slot_ns * t->slot_ns;
		uint64_t steps;
		struct slot *s;

		if (newk == t->cur)
			break; /* coarser tiers' open slots cover newk too */
		s = slot_held(t, t->cur);
		t->hint = s ? s->m.n : 0;
		if (s && k + 1 < w->ntiers) {
			struct tier *up = &w->t[k + 1];

			(void)slot_merge(w, slot_open(w, up, up->cur), s);
		}
		steps = (newk - t->cur) / t->slot_ns;
		if (steps >= t->nslots) {
			for (uint32_t i = 0; i < t->nslots; i++) {
				slot_clear(w, &t->ring[i]);
				t->ring[i].start_ns = UINT64_MAX;
			}
		} else {
			/* the cells of the slots up to newk hold data that
			 * is now older than the ring's span */
			for (uint64_t i = 1; i <= steps; i++) {
				struct slot *old = ring_slot(t, t->cur + i * t->slot_ns);

				slot_clear(w, old);
				old->start_ns = UINT64_MAX;
			}
		}
		t->cur = newk;
		slot_open(w, t, newk);
	}
}

int window_add(struct window *w, uint64_t now_ns, uint32_t proc, uint32_t stack, uint64_t count)
{
	struct tier *t0;
	struct slot *s;

	if (!w)
		return -EINVAL;
	if (!count)
		return 0;
	t0 = &w->t[0];
	if (now_ns >= t0->cur + t0->slot_ns)
		advance(w, now_ns);
	if (now_ns > w->now)
		w->now = now_ns;
	s = ring_slot(t0, t0->cur);
	/* Size a fresh slot like the last one: steady state, one allocation
	 * per slot instead of a series of doublings. */
	if (!s->m.cap && t0->hint > MAP_MIN_CAP / 2) {
		if (map_resize(&s->m, map_cap_for(t0->hint), &w->bytes) < 0)
			w->alloc_failures++;
	}
	return slot_add(w, s, proc, stack, count);
}

static int cmp_count(const void *a, const void *b)
{
	const struct wentry *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? -1 : 1;
	if (x->proc != y->proc)
		return x->proc < y->proc ? -1 : 1;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

/* One coarsening step: fold the rarer half of the slot's detail (at least
 * one entry) into per-process STACK_ID_COARSENED entries. Counts per
 * process are unchanged; the table is rebuilt at its new, smaller size. */
static void slot_coarsen_step(struct window *w, struct slot *s)
{
	uint32_t d = s->m.n - s->ncoarse, nd = 0, fold;
	struct wentry *detail;
	struct slot ns = { .start_ns = s->start_ns };
	uint64_t entries_before = w->entries;
	bool ok = true;

	if (!d)
		return;
	detail = malloc((size_t)d * sizeof(*detail));
	fold = detail ? (d + 1) / 2 : d; /* no memory to sort: fold it all */
	if (map_resize(&ns.m, map_cap_for(s->m.n - fold), &w->bytes) < 0) {
		free(detail);
		w->alloc_failures++;
		return;
	}
	/* slot_add counts the new table's entries; the total is fixed up
	 * once the old table is gone */
	for (uint32_t i = 0; i < s->m.cap; i++) {
		const struct wentry *e = &s->m.tab[i];

		if (!e->count)
			continue;
		if (e->stack == STACK_ID_COARSENED || !detail)
			ok &= slot_add(w, &ns, e->proc, STACK_ID_COARSENED, e->count) == 0;
		else
			detail[nd++] = *e;
	}
	if (detail) {
		qsort(detail, nd, sizeof(*detail), cmp_count);
		for (uint32_t i = 0; i < nd; i++) {
			uint32_t stack = i < fold ? STACK_ID_COARSENED : detail[i].stack;

			ok &= slot_add(w, &ns, detail[i].proc, stack, detail[i].count) == 0;
		}
		free(detail);
	}
	if (!ok) {
		/* keep the old table: nothing is lost, the bound waits */
		w->entries = entries_before;
		map_release(&ns.m, &w->bytes);
		return;
	}
	w->entries = entries_before - s->m.n + ns.m.n;
	w->coarsened_entries += fold;
	map_release(&s->m, &w->bytes);
	*s = ns;
}

static bool over(const struct window *w)
{
	return w->bytes > w->max_bytes;
}

/* Coarsen s until the bound holds or no detail is left. */
static void slot_coarsen(struct window *w, struct slot *s)
{
	while (s->m.n > s->ncoarse && over(w)) {
		uint64_t before = w->coarsened_entries;

		slot_coarsen_step(w, s);
		if (w->coarsened_entries == before)
			break; /* allocation failed: try again next tick */
	}
}

/* Slots of tier t from the oldest ring position to the open one. */
#define FOREACH_SLOT_OLDEST_FIRST(t, s, start)                                        \
	for (uint64_t _i = (t)->nslots; _i-- > 0;)                                    \
		if (_i * (t)->slot_ns <= (t)->cur &&                                  \
		    ((start) = (t)->cur - _i * (t)->slot_ns, (s) = slot_held((t), (start))))

/* Drop whole slots, the one whose data ends first across all tiers (the
 * finer one on equal ends), never the open fine slot. Ordering by end keeps
 * coarser tiers covering at least the past finer ones do, so a longer query
 * never returns less than a shorter one (dropping tier 1 wholesale first
 * would leave "last hour" empty while "last 5 minutes" had data), and a
 * closed fine slot is redundant in counts (rolled up already): dropping it
 * loses resolution, not samples. One cursor per tier: a pass per ring. */
static void drop_oldest(struct window *w)
{
	uint64_t age[WINDOW_MAX_TIERS]; /* next candidate: slots before cur */

	for (uint32_t k = 0; k < w->ntiers; k++)
		age[k] = w->t[k].nslots;
	while (over(w)) {
		struct slot *victim = NULL;
		uint64_t best = UINT64_MAX;
		uint32_t vk = 0;

		for (uint32_t k = w->ntiers; k-- > 0;) {
			struct tier *t = &w->t[k];

			for (; age[k] > 0; age[k]--) {
				uint64_t i = age[k] - 1, start;
				struct slot *s;

				if (i * t->slot_ns > t->cur || (k == 0 && i == 0))
					continue;
				start = t->cur - i * t->slot_ns;
				s = slot_held(t, start);
				if (!s)
					continue;
				if (start + t->slot_ns <= best) {
					best = start + t->slot_ns;
					victim = s;
					vk = k;
				}
				break;
			}
		}
		if (!victim)
			return;
		slot_clear(w, victim);
		w->dropped_slots++;
		age[vk]--;
	}
}

/* The memory bound: oldest and rarest detail goes first. 1) coarsen slots,
 * coarsest tier first, oldest slot first (the open fine slot last of all:
 * it is what `top` shows); 2) drop whole oldest slots (drop_oldest),
 * never the open fine slot; 3) coarsen the open fine slot. */
static void enforce_bound(struct window *w)
{
	struct tier *t0 = &w->t[0];
	struct slot *s;
	uint64_t start;

	if (!over(w))
		return;
	for (uint32_t k = w->ntiers; k-- > 0;) {
		struct tier *t = &w->t[k];

		FOREACH_SLOT_OLDEST_FIRST(t, s, start) {
			if (k == 0 && start == t0->cur)
				continue;
			slot_coarsen(w, s);
			if (!over(w))
				return;
		}
	}
	drop_oldest(w);
	if (!over(w))
		return;
	s = slot_held(t0, t0->cur);
	if (s)
		slot_coarsen(w, s);
}

void window_tick(struct window *w, uint64_t now_ns)
{
	if (!w)
		return;
	advance(w, now_ns);
	if (now_ns > w->now)
		w->now = now_ns;
	enforce_bound(w);
}

static int query_fold(struct window *w, const struct slot *s, uint64_t *from)
{
	bool is_new;

	if (s->start_ns < *from)
		*from = s->start_ns;
	for (uint32_t i = 0; i < s->m.cap; i++) {
		const struct wentry *e = &s->m.tab[i];

		if (e->count && map_add(&w->q, e->proc, e->stack, e->count, NULL, &is_new) < 0)
			return -ENOMEM;
	}
	return 0;
}

int window_query(struct window *w, uint64_t now_ns, uint64_t span_ns, window_visit_fn fn, void *ctx, struct window_range *ret)
{
	uint64_t lo = now_ns >= span_ns ? now_ns - span_ns : 0, from = UINT64_MAX;
	uint32_t k = 0;
	struct tier *t;
	int err = 0, visited = 0;

	if (!w)
		return -EINVAL;
	while (k + 1 < w->ntiers && w->t[k].slot_ns * w->t[k].nslots < span_ns)
		k++;
	t = &w->t[k];

	/* Start the scratch map at the largest slot's size: the result has
	 * at least that many entries, and it saves the early doublings. */
	for (uint64_t i = 0, big = 0; i < t->nslots && i * t->slot_ns <= t->cur; i++) {
		uint64_t start = t->cur - i * t->slot_ns;
		const struct slot *s;

		if (start + t->slot_ns <= lo)
			break;
		s = slot_held(t, start);
		if (s && s->m.n > big) {
			big = s->m.n;
			if (map_cap_for(big) > w->q.cap && map_resize(&w->q, map_cap_for(big), NULL) < 0)
				break; /* not fatal: the map grows as it goes */
		}
	}
	/* The open slots of finer tiers are not in tier k yet (they merge
	 * when they close); they lie inside tier k's open slot. */
	for (uint32_t j = 0; j < k && !err; j++) {
		const struct slot *s = slot_held(&w->t[j], w->t[j].cur);

		if (s)
			err = query_fold(w, s, &from);
	}
	/* Tier k's slots intersecting (lo, now], newest first. */
	for (uint64_t i = 0; i < t->nslots && !err && i * t->slot_ns <= t->cur; i++) {
		uint64_t start = t->cur - i * t->slot_ns;
		const struct slot *s;

		if (start + t->slot_ns <= lo)
			break;
		s = slot_held(t, start);
		if (s)
			err = query_fold(w, s, &from);
	}
	for (uint32_t i = 0; i < w->q.cap && !err; i++) {
		const struct wentry *e = &w->q.tab[i];

		if (!e->count)
			continue;
		if (fn)
			fn(e->proc, e->stack, e->count, ctx);
		if (visited < INT32_MAX)
			visited++;
	}
	if (w->q.cap > QUERY_KEEP_CAP) {
		map_release(&w->q, NULL);
	} else if (w->q.tab) {
		memset(w->q.tab, 0, (size_t)w->q.cap * sizeof(*w->q.tab));
		w->q.n = 0;
	}
	if (err)
		return err;
	if (ret) {
		ret->tier = (int)k;
		ret->from_ns = from == UINT64_MAX ? now_ns : from;
		ret->to_ns = now_ns;
	}
	return visited;
}

void window_get_stats(const struct window *w, struct window_stats *ret)
{
	if (!ret)
		return;
	memset(ret, 0, sizeof(*ret));
	if (!w)
		return;
	ret->bytes = w->bytes;
	ret->entries = w->entries;
	ret->coarsened_entries = w->coarsened_entries;
	ret->dropped_slots = w->dropped_slots;
	ret->alloc_failures = w->alloc_failures;
	ret->oldest_ns = w->t[0].cur;
	for (uint32_t k = 0; k < w->ntiers; k++) {
		const struct tier *t = &w->t[k];
		uint64_t oldest = UINT64_MAX;

		for (uint32_t i = 0; i < t->nslots; i++) {
			const struct slot *s = &t->ring[i];

			if (!s->m.n || s->start_ns == UINT64_MAX)
				continue;
			ret->slots[k]++;
			if (s->start_ns < oldest)
				oldest = s->start_ns;
		}
		if (oldest == UINT64_MAX)
			continue;
		ret->held_ns[k] = w->now > oldest ? w->now - oldest : 0;
		if (oldest < ret->oldest_ns)
			ret->oldest_ns = oldest;
	}
}
