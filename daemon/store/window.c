/* SPDX-License-Identifier: GPL-2.0-only */
/* Rolling windows: per-tier rings of time slots, each an open-addressing
 * map (proc, stack) -> count plus per-process counters (daemon/store/wmap.c);
 * closed slots roll up into coarser tiers and a memory bound coarsens,
 * then drops, the oldest detail. */
#include "store/window.h"
#include "store/wmap.h"
#include "common/sort.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MS_NS 1000000ull
/* A query's scratch map larger than this (entries) is freed after the
 * query instead of kept: one huge query must not pin memory. */
#define QUERY_KEEP_CAP 4096u
/* The same for counter records (440 bytes each): 8192 = 3.5 MiB keeps the
 * scratch of a host with the expected ~5k processes between refreshes. */
#define QUERY_KEEP_RECS 8192u
/* Bound on slots per tier: the ring array is allocated up front. */
#define WINDOW_MAX_SLOTS (1u << 24)
#define WINDOW_MIN_BYTES (64u * 1024)

struct slot {
	uint64_t start_ns;
	struct wmap m;
	uint32_t ncoarse; /* entries whose stack is STACK_ID_COARSENED */
	/* Counters: open form while the slot takes adds or roll-ups, packed
	 * once it has closed (or open still, if packing found no memory). */
	struct wcmap c;
	struct wcpack p;
};

struct tier {
	uint64_t slot_ns;
	uint32_t nslots;
	uint32_t hint;     /* entries of the last closed slot: sizes the next */
	uint32_t chint;    /* counter records of the last closed slot */
	uint64_t cur;      /* start of the open slot */
	struct slot *ring; /* ring[(start / slot_ns) % nslots] */
};

struct window {
	uint32_t ntiers;
	struct tier t[WINDOW_MAX_TIERS];
	size_t max_bytes;
	uint64_t now;             /* latest time seen */
	uint64_t origin;          /* creation time: no data before it */
	uint64_t bytes;           /* slot tables and counter records */
	uint64_t entries;
	uint64_t counter_records;
	uint64_t coarsened_entries;
	uint64_t dropped_slots;
	uint64_t alloc_failures;
	struct wmap q;            /* query scratch, reused */
	struct wcmap qc;          /* counter query scratch, reused */
};

static int slot_add(struct window *w, struct slot *s, uint32_t proc, uint32_t stack, uint64_t count)
{
	bool is_new;

	if (wmap_add(&s->m, proc, stack, count, &w->bytes, &is_new) < 0) {
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

static inline uint32_t slot_nrec(const struct slot *s)
{
	return s->c.n + s->p.n;
}

/* Free a slot's data; its start stays so an open slot stays open. */
static void slot_clear(struct window *w, struct slot *s)
{
	w->entries -= s->m.n;
	wmap_release(&s->m, &w->bytes);
	s->ncoarse = 0;
	w->counter_records -= slot_nrec(s);
	wcmap_release(&s->c, &w->bytes);
	wcpack_release(&s->p, &w->bytes);
}

/* Merge c into proc's record of map m. is_new counts a record taken. */
static int counters_merge(struct wcmap *m, uint32_t proc, const struct wcounters *c, uint64_t *bytes, uint64_t *records)
{
	bool is_new;
	struct wcounters *r = wcmap_get(m, proc, bytes, &is_new);

	if (!r)
		return -ENOMEM;
	if (is_new) {
		*r = *c;
		if (records)
			(*records)++;
	} else {
		wc_merge(r, c);
	}
	return 0;
}

/* Merge every counter record of src into m, in either form of src. */
static int counters_fold(struct wcmap *m, const struct slot *src, uint64_t *bytes, uint64_t *records)
{
	const uint8_t *pos = src->p.buf;
	int err = 0;

	for (uint32_t i = 0; i < src->c.n; i++) {
		if (counters_merge(m, src->c.recs[i].proc, &src->c.recs[i].c, bytes, records) < 0)
			err = -ENOMEM;
	}
	for (uint32_t i = 0; i < src->p.n; i++) {
		struct wcounters *r, skip;
		uint32_t proc;
		bool is_new;

		/* decode straight into the record (a new one is zeroed) */
		pos = wcpack_proc(pos, &proc);
		r = wcmap_get(m, proc, bytes, &is_new);
		if (!r) {
			err = -ENOMEM;
			r = memset(&skip, 0, sizeof(skip)); /* still step over it */
		} else if (is_new && records) {
			(*records)++;
		}
		pos = wcpack_merge(pos, src->start_ns, r);
	}
	return err;
}

/* A slot has closed: its counters will not change again, pack them. On
 * failure they stay in the open form, which every reader takes too. */
static void slot_freeze(struct window *w, struct slot *s)
{
	if (!s->c.n || s->p.n)
		return;
	if (wcpack_build(&s->p, &s->c, s->start_ns, &w->bytes) < 0) {
		w->alloc_failures++;
		return;
	}
	wcmap_release(&s->c, &w->bytes);
}

static inline struct slot *ring_slot(const struct tier *t, uint64_t start)
{
	return &t->ring[(start / t->slot_ns) % t->nslots];
}

/* The slot for start, if it holds data for exactly that start. */
static struct slot *slot_held(const struct tier *t, uint64_t start)
{
	struct slot *s = ring_slot(t, start);

	return s->start_ns == start && (s->m.n || slot_nrec(s)) ? s : NULL;
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

/* Records to reserve for a fresh slot expected to hold about n: a little
 * slack, so one newcomer does not double the array. */
static inline uint32_t rec_room(uint32_t n)
{
	return n + n / 8;
}

/* Merge src into dst; chint: counter records dst's tier last held. */
static int slot_merge(struct window *w, struct slot *dst, const struct slot *src, uint32_t chint)
{
	int err = 0;

	for (uint32_t i = 0; i < src->m.cap; i++) {
		const struct wentry *e = &src->m.tab[i];

		if (e->count && slot_add(w, dst, e->proc, e->stack, e->count) < 0)
			err = -ENOMEM;
	}
	if (slot_nrec(src)) {
		/* size a fresh coarse slot once, like window_add does */
		if (!dst->c.rcap) {
			uint32_t want = slot_nrec(src) > chint ? slot_nrec(src) : chint;

			if (wcmap_reserve(&dst->c, rec_room(want), &w->bytes) < 0)
				w->alloc_failures++;
		}
		if (counters_fold(&dst->c, src, &w->bytes, &w->counter_records) < 0) {
			w->alloc_failures++;
			err = -ENOMEM;
		}
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

int window_new(const struct window_opts *opts, uint64_t now_ns, struct window **ret)
{
	struct window *w;

	if (validate(opts) < 0)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->ntiers = opts->ntiers;
	w->max_bytes = opts->max_bytes;
	w->now = now_ns;
	w->origin = now_ns;
	for (uint32_t k = 0; k < w->ntiers; k++) {
		struct tier *t = &w->t[k];

		t->slot_ns = opts->tier[k].slot_ns;
		t->nslots = opts->tier[k].slots;
		t->cur = now_ns / t->slot_ns * t->slot_ns;
		t->ring = calloc(t->nslots, sizeof(*t->ring));
		if (!t->ring) {
			window_free(w);
			return -ENOMEM;
		}
		/* Start times are multiples of slot_ns; mark every cell stale
		 * except the open one (UINT64_MAX is never a slot start). */
		for (uint32_t i = 0; i < t->nslots; i++)
			t->ring[i].start_ns = UINT64_MAX;
		ring_slot(t, t->cur)->start_ns = t->cur;
	}
	*ret = w;
	return 0;
}

struct window *window_free(struct window *w)
{
	if (!w)
		return NULL;
	for (uint32_t k = 0; k < w->ntiers; k++) {
		if (!w->t[k].ring)
			continue;
		for (uint32_t i = 0; i < w->t[k].nslots; i++) {
			struct slot *s = &w->t[k].ring[i];

			free(s->m.tab);
			wcmap_release(&s->c, NULL);
			wcpack_release(&s->p, NULL);
		}
		free(w->t[k].ring);
	}
	free(w->q.tab);
	wcmap_release(&w->qc, NULL);
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
		t->chint = s ? slot_nrec(s) : 0;
		if (s && k + 1 < w->ntiers) {
			struct tier *up = &w->t[k + 1];

			(void)slot_merge(w, slot_open(w, up, up->cur), s, up->chint);
		}
		steps = (newk - t->cur) / t->slot_ns;
		/* kept unless the ring wraps past it (cleared below) */
		if (s && steps < t->nslots)
			slot_freeze(w, s);
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
	if (!s->m.cap && t0->hint > WMAP_MIN_CAP / 2) {
		if (wmap_resize(&s->m, wmap_cap_for(t0->hint), &w->bytes) < 0)
			w->alloc_failures++;
	}
	return slot_add(w, s, proc, stack, count);
}

int window_add_counters(struct window *w, uint64_t now_ns, uint32_t proc, const struct wcounters *c)
{
	struct wcounters in;
	struct tier *t0;
	struct slot *s;

	if (!w || !c)
		return -EINVAL;
	t0 = &w->t[0];
	if (now_ns >= t0->cur + t0->slot_ns)
		advance(w, now_ns);
	if (now_ns > w->now)
		w->now = now_ns;
	s = ring_slot(t0, t0->cur);
	if (!s->c.rcap && t0->chint > WMAP_MIN_CAP / 2) {
		if (wcmap_reserve(&s->c, rec_room(t0->chint), &w->bytes) < 0)
			w->alloc_failures++;
	}
	in = *c;
	in.gauge_ns = now_ns;
	for (unsigned g = 0; g < WG_NGAUGE; g++) {
		if (in.gauge_max[g] < in.gauge_last[g])
			in.gauge_max[g] = in.gauge_last[g];
	}
	if (counters_merge(&s->c, proc, &in, &w->bytes, &w->counter_records) < 0) {
		w->alloc_failures++;
		return -ENOMEM;
	}
	return 0;
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
	struct slot ns = { .start_ns = s->start_ns }; /* stacks only */
	uint64_t entries_before = w->entries;
	bool ok = true;

	if (!d)
		return;
	detail = malloc((size_t)d * sizeof(*detail));
	fold = detail ? (d + 1) / 2 : d; /* no memory to sort: fold it all */
	if (wmap_resize(&ns.m, wmap_cap_for(s->m.n - fold), &w->bytes) < 0) {
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
		qsort_safe(detail, nd, sizeof(*detail), cmp_count);
		for (uint32_t i = 0; i < nd; i++) {
			uint32_t stack = i < fold ? STACK_ID_COARSENED : detail[i].stack;

			ok &= slot_add(w, &ns, detail[i].proc, stack, detail[i].count) == 0;
		}
		free(detail);
	}
	if (!ok) {
		/* keep the old table: nothing is lost, the bound waits */
		w->entries = entries_before;
		wmap_release(&ns.m, &w->bytes);
		return;
	}
	w->entries = entries_before - s->m.n + ns.m.n;
	w->coarsened_entries += fold;
	wmap_release(&s->m, &w->bytes);
	s->m = ns.m;
	s->ncoarse = ns.ncoarse;
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

/* The tier a query over span uses: the finest whose capacity covers it,
 * else the coarsest. */
static uint32_t query_tier(const struct window *w, uint64_t span_ns)
{
	uint32_t k = 0;

	while (k + 1 < w->ntiers && w->t[k].slot_ns * w->t[k].nslots < span_ns)
		k++;
	return k;
}

/* Largest size (stack entries, or counter records) of tier k's slots
 * intersecting (lo, now]: the result has at least that many. */
static uint64_t query_biggest(const struct window *w, uint32_t k, uint64_t lo, bool counters)
{
	const struct tier *t = &w->t[k];
	uint64_t big = 0;

	for (uint64_t i = 0; i < t->nslots && i * t->slot_ns <= t->cur; i++) {
		uint64_t start = t->cur - i * t->slot_ns, n;
		const struct slot *s;

		if (start + t->slot_ns <= lo)
			break;
		s = slot_held(t, start);
		n = !s ? 0 : counters ? slot_nrec(s) : s->m.n;
		if (n > big)
			big = n;
	}
	return big;
}

typedef int (*fold_fn)(struct window *w, const struct slot *s, uint64_t *from);

/* Fold every slot a tier-k query over (lo, now] uses: the open slots of
 * the finer tiers first (not in tier k yet: they merge when they close,
 * and lie inside tier k's open slot), then tier k's slots intersecting
 * (lo, now], newest first. */
static int query_walk(struct window *w, uint32_t k, uint64_t lo, fold_fn fold, uint64_t *from)
{
	const struct tier *t = &w->t[k];
	int err = 0;

	for (uint32_t j = 0; j < k && !err; j++) {
		const struct slot *s = slot_held(&w->t[j], w->t[j].cur);

		if (s)
			err = fold(w, s, from);
	}
	for (uint64_t i = 0; i < t->nslots && !err && i * t->slot_ns <= t->cur; i++) {
		uint64_t start = t->cur - i * t->slot_ns;
		const struct slot *s;

		if (start + t->slot_ns <= lo)
			break;
		s = slot_held(t, start);
		if (s)
			err = fold(w, s, from);
	}
	return err;
}

static int query_fold(struct window *w, const struct slot *s, uint64_t *from)
{
	bool is_new;

	if (s->m.n && s->start_ns < *from)
		*from = s->start_ns;
	for (uint32_t i = 0; i < s->m.cap; i++) {
		const struct wentry *e = &s->m.tab[i];

		if (e->count && wmap_add(&w->q, e->proc, e->stack, e->count, NULL, &is_new) < 0)
			return -ENOMEM;
	}
	return 0;
}

static void query_ret(const struct window *w, struct window_range *ret, uint32_t k, uint64_t lo, uint64_t from, uint64_t now_ns)
{
	const struct tier *t = &w->t[k];
	uint64_t span_from = lo / t->slot_ns * t->slot_ns; /* the slot holding lo, summed whole */
	uint64_t ring = (uint64_t)(t->nslots - 1) * t->slot_ns;

	if (!ret)
		return;
	/* the walk stops at the ring's oldest cell */
	if (t->cur > ring && span_from < t->cur - ring)
		span_from = t->cur - ring;
	if (span_from < w->origin)
		span_from = w->origin;
	if (span_from > now_ns)
		span_from = now_ns;
	ret->tier = (int)k;
	ret->from_ns = from == UINT64_MAX ? now_ns : from;
	ret->to_ns = now_ns;
	ret->span_from_ns = span_from;
}

/* Hand the folded scratch map's entries to fn (unless the walk failed:
 * err), then empty it for the next query, keeping a small table. Returns
 * the entries visited, or err. */
static int query_emit(struct window *w, int err, window_visit_fn fn, void *ctx)
{
	int visited = 0;

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
		wmap_release(&w->q, NULL);
	} else if (w->q.tab) {
		memset(w->q.tab, 0, (size_t)w->q.cap * sizeof(*w->q.tab));
		w->q.n = 0;
	}
	return err ? err : visited;
}

int window_query(struct window *w, uint64_t now_ns, uint64_t span_ns, window_visit_fn fn, void *ctx, struct window_range *ret)
{
	uint64_t lo = now_ns >= span_ns ? now_ns - span_ns : 0, from = UINT64_MAX, big;
	uint32_t k;
	int err, visited = 0;

	if (!w)
		return -EINVAL;
	k = query_tier(w, span_ns);
	/* Start the scratch map at the largest slot's size: it saves the
	 * early doublings (a failure is not fatal: the map grows as it goes) */
	big = query_biggest(w, k, lo, false);
	if (wmap_cap_for(big) > w->q.cap)
		(void)wmap_resize(&w->q, wmap_cap_for(big), NULL);
	err = query_walk(w, k, lo, query_fold, &from);
	visited = query_emit(w, err, fn, ctx);
	if (visited < 0)
		return visited;
	query_ret(w, ret, k, lo, from, now_ns);
	return visited;
}

static int query_fold_counters(struct window *w, const struct slot *s, uint64_t *from)
{
	if (slot_nrec(s) && s->start_ns < *from)
		*from = s->start_ns;
	return counters_fold(&w->qc, s, NULL, NULL);
}

int window_query_counters(struct window *w, uint64_t now_ns, uint64_t span_ns, window_counters_fn fn, void *ctx, struct window_range *ret)
{
	uint64_t lo = now_ns >= span_ns ? now_ns - span_ns : 0, from = UINT64_MAX, big;
	uint32_t k;
	int err, visited = 0;

	if (!w)
		return -EINVAL;
	k = query_tier(w, span_ns);
	big = query_biggest(w, k, lo, true);
	if (big > w->qc.rcap)
		(void)wcmap_reserve(&w->qc, (uint32_t)big, NULL);
	err = query_walk(w, k, lo, query_fold_counters, &from);
	/* records are dense: a visit costs the processes, not the table */
	for (uint32_t i = 0; i < w->qc.n && !err; i++) {
		if (fn)
			fn(w->qc.recs[i].proc, &w->qc.recs[i].c, ctx);
		if (visited < INT32_MAX)
			visited++;
	}
	if (w->qc.rcap > QUERY_KEEP_RECS)
		wcmap_release(&w->qc, NULL);
	else
		wcmap_reset(&w->qc);
	if (err)
		return err;
	query_ret(w, ret, k, lo, from, now_ns);
	return visited;
}

/* ---- absolute ranges ---- */

/* The finest tier whose ring still holds the slot of from, else the
 * coarsest. */
static uint32_t range_tier(const struct window *w, uint64_t from)
{
	for (uint32_t k = 0; k + 1 < w->ntiers; k++) {
		const struct tier *t = &w->t[k];
		uint64_t span = (uint64_t)(t->nslots - 1) * t->slot_ns;
		uint64_t oldest = t->cur > span ? t->cur - span : 0;

		if (from >= oldest)
			return k;
	}
	return w->ntiers - 1;
}

uint64_t window_range_slot_ns(const struct window *w, uint64_t from_ns)
{
	return w ? w->t[range_tier(w, from_ns)].slot_ns : 0;
}

/* query_walk for [from, to): tier k's slots intersecting it, and the open
 * slots of the finer tiers (not merged up yet) when they do. */
static int range_walk(struct window *w, uint32_t k, uint64_t from, uint64_t to, fold_fn fold, uint64_t *first)
{
	const struct tier *t = &w->t[k];
	int err = 0;

	for (uint32_t j = 0; j < k && !err; j++) {
		const struct slot *s = slot_held(&w->t[j], w->t[j].cur);

		if (s && s->start_ns < to && s->start_ns + w->t[j].slot_ns > from)
			err = fold(w, s, first);
	}
	for (uint64_t i = 0; i < t->nslots && !err && i * t->slot_ns <= t->cur; i++) {
		uint64_t start = t->cur - i * t->slot_ns;
		const struct slot *s;

		if (start >= to)
			continue;
		if (start + t->slot_ns <= from)
			break;
		s = slot_held(t, start);
		if (s)
			err = fold(w, s, first);
	}
	return err;
}

int window_query_range(struct window *w, uint64_t from_ns, uint64_t to_ns, window_visit_fn fn, void *ctx,
		       struct window_range *ret)
{
	uint64_t first = UINT64_MAX;
	uint32_t k;
	int err, visited = 0;

	if (!w || to_ns < from_ns)
		return -EINVAL;
	k = range_tier(w, from_ns);
	err = range_walk(w, k, from_ns, to_ns, query_fold, &first);
	visited = query_emit(w, err, fn, ctx);
	if (visited < 0)
		return visited;
	query_ret(w, ret, k, from_ns, first, to_ns < w->now ? to_ns : w->now);
	return visited;
}

int window_query_counters_range(struct window *w, uint64_t from_ns, uint64_t to_ns, window_counters_fn fn,
				void *ctx, struct window_range *ret)
{
	uint64_t first = UINT64_MAX;
	uint32_t k;
	int err, visited = 0;

	if (!w || to_ns < from_ns)
		return -EINVAL;
	k = range_tier(w, from_ns);
	err = range_walk(w, k, from_ns, to_ns, query_fold_counters, &first);
	for (uint32_t i = 0; i < w->qc.n && !err; i++) {
		if (fn)
			fn(w->qc.recs[i].proc, &w->qc.recs[i].c, ctx);
		if (visited < INT32_MAX)
			visited++;
	}
	if (w->qc.rcap > QUERY_KEEP_RECS)
		wcmap_release(&w->qc, NULL);
	else
		wcmap_reset(&w->qc);
	if (err)
		return err;
	query_ret(w, ret, k, from_ns, first, to_ns < w->now ? to_ns : w->now);
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
	ret->counter_records = w->counter_records;
	ret->oldest_ns = w->t[0].cur;
	for (uint32_t k = 0; k < w->ntiers; k++) {
		const struct tier *t = &w->t[k];
		uint64_t oldest = UINT64_MAX;

		for (uint32_t i = 0; i < t->nslots; i++) {
			const struct slot *s = &t->ring[i];

			if ((!s->m.n && !slot_nrec(s)) || s->start_ns == UINT64_MAX)
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

void window_get_opts(const struct window *w, struct window_opts *ret)
{
	if (!ret)
		return;
	memset(ret, 0, sizeof(*ret));
	if (!w)
		return;
	ret->ntiers = w->ntiers;
	ret->max_bytes = w->max_bytes;
	for (uint32_t k = 0; k < w->ntiers; k++) {
		ret->tier[k].slot_ns = w->t[k].slot_ns;
		ret->tier[k].slots = w->t[k].nslots;
	}
}

static int export_slot(const struct tier *t, uint32_t k, const struct slot *s, const struct window_export_fns *fns, bool last_tier)
{
	struct window_slot_info si = {
		.tier = k, .start_ns = s->start_ns, .slot_ns = t->slot_ns,
		.nentries = s->m.n, .nrecords = slot_nrec(s),
		.unmerged = s->start_ns == t->cur && !last_tier,
	};
	const uint8_t *pos = s->p.buf;
	int r = fns->slot ? fns->slot(&si, fns->ctx) : 0;

	for (uint32_t i = 0; i < s->m.cap && !r; i++) {
		const struct wentry *e = &s->m.tab[i];

		if (e->count && fns->entry)
			r = fns->entry(e->proc, e->stack, e->count, fns->ctx);
	}
	for (uint32_t i = 0; i < s->c.n && !r; i++) {
		if (fns->counters)
			r = fns->counters(s->c.recs[i].proc, &s->c.recs[i].c, fns->ctx);
	}
	for (uint32_t i = 0; i < s->p.n && !r; i++) {
		struct wcounters c;
		uint32_t proc;

		memset(&c, 0, sizeof(c));
		pos = wcpack_next(pos, s->start_ns, &proc, &c);
		if (fns->counters)
			r = fns->counters(proc, &c, fns->ctx);
	}
	return r;
}

int window_export_tier(struct window *w, uint32_t k, const struct window_export_fns *fns)
{
	const struct tier *t;
	struct slot *s;
	uint64_t start;
	int n = 0;

	if (!w || !fns || k >= w->ntiers)
		return -EINVAL;
	t = &w->t[k];
	FOREACH_SLOT_OLDEST_FIRST(t, s, start) {
		int r = export_slot(t, k, s, fns, k + 1 == w->ntiers);

		if (r)
			return r;
		n++;
	}
	return n;
}

/* The ring cell that holds (or will hold) slot start of tier k. */
static int restore_slot(struct window *w, uint32_t k, uint64_t start, struct slot **ret)
{
	struct tier *t;

	if (!w || k >= w->ntiers)
		return -EINVAL;
	t = &w->t[k];
	if (start % t->slot_ns)
		return -EINVAL;
	if (start > t->cur || (t->cur - start) / t->slot_ns >= t->nslots)
		return -ERANGE;
	*ret = slot_open(w, t, start);
	return 0;
}

int window_restore(struct window *w, uint32_t k, uint64_t start_ns, int unmerged, uint32_t proc, uint32_t stack, uint64_t count)
{
	struct slot *s;
	int r = restore_slot(w, k, start_ns, &s);

	if (r < 0 || !count)
		return r;
	r = slot_add(w, s, proc, stack, count);
	/* never rolled up, and its slot will not close again: do it now */
	if (!r && unmerged && start_ns != w->t[k].cur && k + 1 < w->ntiers) {
		uint64_t up = start_ns / w->t[k + 1].slot_ns * w->t[k + 1].slot_ns;
		int ru = window_restore(w, k + 1, up, 1, proc, stack, count);

		if (ru == -ENOMEM)
			r = ru;
	}
	return r;
}

int window_restore_counters(struct window *w, uint32_t k, uint64_t start_ns, int unmerged, uint32_t proc, const struct wcounters *c)
{
	struct slot *s;
	int r;

	if (!c)
		return -EINVAL;
	r = restore_slot(w, k, start_ns, &s);
	if (r < 0)
		return r;
	if (counters_merge(&s->c, proc, c, &w->bytes, &w->counter_records) < 0) {
		w->alloc_failures++;
		return -ENOMEM;
	}
	if (unmerged && start_ns != w->t[k].cur && k + 1 < w->ntiers) {
		uint64_t up = start_ns / w->t[k + 1].slot_ns * w->t[k + 1].slot_ns;

		r = window_restore_counters(w, k + 1, up, 1, proc, c);
		if (r != -ENOMEM)
			r = 0;
	}
	return r;
}

void window_restore_finish(struct window *w)
{
	if (!w)
		return;
	for (uint32_t k = 0; k < w->ntiers; k++) {
		struct tier *t = &w->t[k];
		struct slot *s;
		uint64_t start;

		FOREACH_SLOT_OLDEST_FIRST(t, s, start) {
			if (start != t->cur)
				slot_freeze(w, s);
		}
	}
	enforce_bound(w);
}
