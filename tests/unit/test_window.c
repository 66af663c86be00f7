/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for the rolling windows: slots, tiers, roll-up, gaps, the
 * memory bound, per-process counters. Time is driven by the test. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/stacks.h"
#include "store/window.h"
#include "store/wmap.h"

#define S 1000000000ull
#define MS 1000000ull
#define T0 (36000 * S) /* boot time of the tests: aligned to every tier */

/* Default daemon shape: 1 s x 600, 60 s x 1440. */
static struct window *mkwin(size_t max_bytes)
{
	struct window_opts o = {
		.ntiers = 2,
		.tier = { { .slot_ns = S, .slots = 600 }, { .slot_ns = 60 * S, .slots = 1440 } },
		.max_bytes = max_bytes,
	};
	struct window *w = NULL;
	assert_int_equal(window_new(&o, T0, &w), 0);

	assert_non_null(w);
	return w;
}

#define MAXP 64
struct sums {
	uint64_t total;
	uint64_t per_proc[MAXP];
	uint64_t entries;
	uint64_t coarsened; /* count under STACK_ID_COARSENED */
	uint32_t want_proc, want_stack;
	uint64_t want_count;
	int dup; /* an entry seen twice */
	uint8_t seen[MAXP][256];
};

static void sum_fn(uint32_t proc, uint32_t stack, uint64_t count, void *ctx)
{
	struct sums *s = ctx;

	s->total += count;
	s->entries++;
	if (proc < MAXP)
		s->per_proc[proc] += count;
	if (stack == STACK_ID_COARSENED)
		s->coarsened += count;
	if (proc == s->want_proc && stack == s->want_stack)
		s->want_count += count;
	if (proc < MAXP && stack < 256) {
		if (s->seen[proc][stack])
			s->dup = 1;
		s->seen[proc][stack] = 1;
	}
}

static struct sums query(struct window *w, uint64_t now, uint64_t span, struct window_range *r)
{
	struct sums s;
	int n;

	memset(&s, 0, sizeof(s));
	n = window_query(w, now, span, sum_fn, &s, r);
	assert_true(n >= 0);
	assert_int_equal((uint64_t)n, s.entries);
	assert_int_equal(s.dup, 0);
	return s;
}

/* One tick per second from `from` to `to` (exclusive), adding per tick
 * `per` samples for proc 16 + (t % 3), stack 16 + (t % 5), at mid-slot. */
static uint64_t drive(struct window *w, uint64_t from, uint64_t to, uint64_t per)
{
	uint64_t added = 0;

	for (uint64_t t = from; t < to; t += S) {
		uint64_t sec = t / S;

		window_tick(w, t);
		assert_int_equal(window_add(w, t + S / 2, 16 + (uint32_t)(sec % 3), 16 + (uint32_t)(sec % 5), per), 0);
		added += per;
	}
	return added;
}

static void test_invalid_opts(void **state)
{
	struct window_opts ok = {
		.ntiers = 2,
		.tier = { { .slot_ns = S, .slots = 10 }, { .slot_ns = 60 * S, .slots = 10 } },
		.max_bytes = 1 << 20,
	};
	struct window_opts o;
	struct window *w;

	(void)state;
	assert_int_equal(window_new(&ok, 0, &w), 0);
	window_free(w);
	assert_null(window_free(NULL));
	assert_true(window_new(NULL, 0, &(struct window *){ NULL }) < 0);

#define BAD(mutation)                                  \
	do {                                           \
		o = ok;                                \
		mutation;                              \
		errno = 0;                             \
		assert_int_equal(window_new(&o, 0, &(struct window *){ NULL }), -EINVAL);       \
	} while (0)
	BAD(o.ntiers = 0);
	BAD(o.ntiers = WINDOW_MAX_TIERS + 1);
	BAD(o.tier[0].slot_ns = MS - 1);
	BAD(o.tier[1].slot_ns = 90 * S / 60); /* not a multiple of 1 s */
	BAD(o.tier[1].slot_ns = S / 2 * 3);
	BAD(o.tier[1].slot_ns = S / 2);       /* finer than tier 0 */
	BAD(o.tier[0].slots = 0);
	BAD(o.tier[1].slots = 0);
	BAD(o.max_bytes = 64 * 1024 - 1);
	BAD(o.tier[1].slot_ns = UINT64_MAX / 2 / S * S; o.tier[1].slots = 3);
#undef BAD
	/* equal slot lengths are a (useless but) valid multiple */
	o = ok;
	o.tier[1].slot_ns = S;
	assert_int_equal(window_new(&o, 0, &w), 0);
	window_free(w);
}

static void test_slots_and_short_query(void **state)
{
	struct window *w = mkwin(64 << 20);
	struct window_range r;
	struct sums s;

	(void)state;
	/* 30 s of data, 10 per second, one tick per second */
	drive(w, T0, T0 + 30 * S, 10);
	window_tick(w, T0 + 30 * S);

	/* (now - 10 s, now] at a slot boundary: slots [20,21) .. [30,31):
	 * the last is empty (open), so exactly 10 full slots */
	s = query(w, T0 + 30 * S, 10 * S, &r);
	assert_int_equal(r.tier, 0);
	assert_int_equal(s.total, 100);
	assert_int_equal(r.from_ns, T0 + 20 * S);
	assert_int_equal(r.to_ns, T0 + 30 * S);

	/* a second one: only [29,30) and the open slot */
	s = query(w, T0 + 30 * S, S, &r);
	assert_int_equal(s.total, 10);

	/* the open slot counts too */
	assert_int_equal(window_add(w, T0 + 30 * S + 1, 40, 99, 7), 0);
	s = query(w, T0 + 30 * S + 2, 10 * S, &r);
	assert_int_equal(s.total, 107);
	assert_int_equal(s.per_proc[40], 7);

	/* equal (proc, stack) in many slots come out as one entry */
	s = query(w, T0 + 30 * S + 2, 30 * S, &r);
	assert_int_equal(s.total, 307);
	assert_int_equal(s.entries, 15 + 1);

	/* a sample dated before the open slot goes into the open slot */
	assert_int_equal(window_add(w, T0 + 5 * S, 41, 99, 3), 0);
	s = query(w, T0 + 30 * S + 2, S / 2, &r);
	assert_int_equal(s.per_proc[41], 3);
	window_free(w);
}

static void test_tiers_and_rollup(void **state)
{
	struct window *w = mkwin(256 << 20);
	struct window_range r;
	struct window_stats st;
	struct sums s, s5;
	uint64_t added, last5 = 0, now;

	(void)state;
	/* 2 h of data, 5 per second */
	added = drive(w, T0, T0 + 7200 * S, 5);
	now = T0 + 7200 * S;
	window_tick(w, now);

	s5 = query(w, now, 300 * S, &r);
	assert_int_equal(r.tier, 0);
	for (uint64_t t = now - 300 * S; t < now; t += S)
		last5 += 5;
	assert_int_equal(s5.total, last5);

	/* 1 h: tier 1, exactly the last 60 coarse slots = the hour */
	s = query(w, now, 3600 * S, &r);
	assert_int_equal(r.tier, 1);
	assert_int_equal(r.from_ns, now - 3600 * S);
	assert_int_equal(s.total, 3600 * 5);
	/* everything added is in tier 1: the roll-up is exact */
	s = query(w, now, 24 * 3600 * S, &r);
	assert_int_equal(r.tier, 1);
	assert_int_equal(s.total, added);
	assert_int_equal(r.from_ns, T0);
	/* longer than anything held: the coarsest tier */
	s = query(w, now, 1000 * 24 * 3600 * S, &r);
	assert_int_equal(r.tier, 1);
	assert_int_equal(s.total, added);

	/* mid-minute: tier 1's query includes the data not yet rolled up
	 * (the open coarse slot gets closed fine slots, the open fine slot
	 * nothing yet) */
	added += drive(w, now, now + 30 * S, 5);
	assert_int_equal(window_add(w, now + 30 * S + 1, 16, 16, 11), 0);
	added += 11;
	s = query(w, now + 30 * S + 2, 24 * 3600 * S, &r);
	assert_int_equal(s.total, added);

	window_get_stats(w, &st);
	assert_int_equal(st.slots[0], 600);
	assert_int_equal(st.slots[1], 121);
	assert_int_equal(st.oldest_ns, T0);
	assert_int_equal(st.coarsened_entries, 0);
	assert_int_equal(st.dropped_slots, 0);
	window_free(w);
}

static void test_ring_wrap(void **state)
{
	struct window_opts o = {
		.ntiers = 2,
		.tier = { { .slot_ns = S, .slots = 10 }, { .slot_ns = 5 * S, .slots = 4 } },
		.max_bytes = 1 << 20,
	};
	struct window *w = NULL;
	assert_int_equal(window_new(&o, T0, &w), 0);
	struct window_stats st;
	struct window_range r;
	struct sums s;

	(void)state;
	drive(w, T0, T0 + 100 * S, 1);
	window_tick(w, T0 + 100 * S);
	window_get_stats(w, &st);
	/* tier 0 keeps 10 slots (9 full + the empty open one); tier 1 keeps
	 * 4 x 5 s, the open one still empty */
	assert_int_equal(st.slots[0], 9);
	assert_int_equal(st.slots[1], 3);
	assert_int_equal(st.oldest_ns, T0 + 85 * S);
	assert_true(st.entries <= 9 + 3 * 5);
	s = query(w, T0 + 100 * S, 1000 * S, &r);
	assert_int_equal(r.tier, 1);
	assert_int_equal(s.total, 15);
	assert_int_equal(r.from_ns, T0 + 85 * S);
	window_free(w);
}

static void test_time_gaps(void **state)
{
	struct window *w = mkwin(64 << 20);
	struct window_stats st;
	struct window_range r;
	struct sums s;
	uint64_t now;

	(void)state;
	drive(w, T0, T0 + 10 * S, 2);
	/* suspended 30 s: no tick; the first sample after resume */
	now = T0 + 40 * S + S / 4;
	assert_int_equal(window_add(w, now, 16, 16, 5), 0);
	window_tick(w, now);
	s = query(w, now, 60 * S, &r);
	assert_int_equal(s.total, 25);
	s = query(w, now, 20 * S, &r);
	assert_int_equal(s.total, 5);

	/* a gap longer than the fine ring: tier 0 forgets all, tier 1 not */
	now = T0 + 2000 * S;
	window_tick(w, now);
	window_get_stats(w, &st);
	assert_int_equal(st.slots[0], 0);
	s = query(w, now, 3600 * S, &r);
	assert_int_equal(r.tier, 1);
	assert_int_equal(s.total, 25);
	/* a gap longer than everything */
	now += 10 * 24 * 3600 * S;
	window_tick(w, now);
	window_get_stats(w, &st);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.bytes, 0);
	s = query(w, now, 3600 * S, &r);
	assert_int_equal(s.total, 0);
	assert_int_equal(window_add(w, now + 1, 16, 16, 1), 0);
	s = query(w, now + 1, S, &r);
	assert_int_equal(s.total, 1);
	/* time going backwards is harmless */
	window_tick(w, now - 100 * S);
	assert_int_equal(window_add(w, now - 50 * S, 16, 16, 1), 0);
	s = query(w, now + 1, S, &r);
	assert_int_equal(s.total, 2);
	window_free(w);
}

static void test_memory_bound(void **state)
{
	struct window *w = mkwin(64 * 1024);
	struct window_stats st;
	struct window_range r;
	struct sums s;
	uint64_t per_proc[MAXP] = { 0 }, total = 0, now = T0;
	uint64_t rng = 1;

	(void)state;
	/* 100 s, 8 procs, ~400 distinct stacks per second: far more than
	 * 64 KiB of (proc, stack) entries in total, but once coarsened to one
	 * entry per process it all fits */
	for (int sec = 0; sec < 100; sec++) {
		now = T0 + (uint64_t)sec * S;
		window_tick(w, now);
		for (int i = 0; i < 400; i++) {
			uint32_t proc = 16 + (uint32_t)(i % 8);
			uint64_t c;

			rng = rng * 6364136223846793005ull + 1442695040888963407ull;
			c = 1 + (rng >> 60);
			assert_int_equal(window_add(w, now + 1, proc, STACK_ID_FIRST + (uint32_t)(rng >> 40) % 100000, c), 0);
			per_proc[proc] += c;
			total += c;
		}
	}
	now += S;
	window_tick(w, now);
	window_get_stats(w, &st);
	assert_true(st.bytes <= 64 * 1024);
	assert_true(st.coarsened_entries > 0);

	/* the bound folded detail into [coarsened] but dropped no slot:
	 * every count is kept, per-process totals are intact, in both tiers */
	assert_int_equal(st.dropped_slots, 0);
	s = query(w, now, 300 * S, &r);
	assert_int_equal(r.tier, 0);
	assert_int_equal(s.total, total);
	for (int p = 16; p < 24; p++)
		assert_int_equal(s.per_proc[p], per_proc[p]);
	assert_true(s.coarsened > 0);
	s = query(w, now, 3600 * S, &r);
	assert_int_equal(r.tier, 1);
	assert_int_equal(s.total, total);
	for (int p = 16; p < 24; p++)
		assert_int_equal(s.per_proc[p], per_proc[p]);

	/* keep going: coarsened data fills the bound, whole slots drop */
	for (int sec = 101; sec < 3600; sec++) {
		now = T0 + (uint64_t)sec * S;
		window_tick(w, now);
		for (int i = 0; i < 400; i++) {
			rng = rng * 6364136223846793005ull + 1442695040888963407ull;
			assert_int_equal(window_add(w, now + 1, 16 + (uint32_t)(rng >> 58), STACK_ID_FIRST + (uint32_t)(rng >> 40) % 100000, 1), 0);
		}
	}
	window_tick(w, now + S);
	window_get_stats(w, &st);
	assert_true(st.bytes <= 64 * 1024);
	assert_true(st.dropped_slots > 0);
	/* what is left is still queryable and consistent */
	s = query(w, now + S, 24 * 3600 * S, &r);
	assert_true(s.total > 0);
	assert_true(r.from_ns >= st.oldest_ns);
	/* the open fine slot was never dropped: the last second is there */
	s = query(w, now + S, S, &r);
	assert_int_equal(s.total, 400);
	window_free(w);
}

static void test_coarsen_keeps_heavy_stacks(void **state)
{
	struct window_opts o = {
		.ntiers = 1,
		.tier = { { .slot_ns = S, .slots = 4 } },
		.max_bytes = 64 * 1024,
	};
	struct window *w = NULL;
	assert_int_equal(window_new(&o, T0, &w), 0);
	struct window_stats st;
	struct window_range r;
	struct sums s;

	(void)state;
	/* one second with a heavy stack and 5000 rare ones: > 64 KiB */
	assert_int_equal(window_add(w, T0, 16, 16, 1000000), 0);
	for (uint32_t i = 0; i < 5000; i++)
		assert_int_equal(window_add(w, T0, 17 + i % 4, 1000 + i, 1), 0);
	window_tick(w, T0 + S);
	window_get_stats(w, &st);
	assert_true(st.bytes <= 64 * 1024);
	assert_true(st.coarsened_entries > 0);
	assert_int_equal(st.dropped_slots, 0);
	memset(&s, 0, sizeof(s));
	s.want_proc = 16;
	s.want_stack = 16;
	assert_true(window_query(w, T0 + S, 10 * S, sum_fn, &s, &r) > 0);
	/* rarest detail went first: the heavy stack is intact */
	assert_int_equal(s.want_count, 1000000);
	assert_int_equal(s.total, 1000000 + 5000);
	/* the rarer half went: 2501 of the 5001 entries, each of count 1 */
	assert_int_equal(s.coarsened, 2501);
	assert_int_equal(st.coarsened_entries, 2501);
	for (int p = 17; p < 21; p++)
		assert_int_equal(s.per_proc[p], 1250);
	window_free(w);
}

static void test_stats_oldest(void **state)
{
	struct window *w = mkwin(64 << 20);
	struct window_stats st;

	(void)state;
	window_get_stats(w, &st);
	assert_int_equal(st.oldest_ns, T0);
	assert_int_equal(st.entries, 0);
	drive(w, T0 + 5 * S, T0 + 8 * S, 1);
	window_tick(w, T0 + 8 * S);
	window_get_stats(w, &st);
	assert_int_equal(st.oldest_ns, T0); /* tier 1 slot [T0, T0+60) */
	assert_int_equal(st.slots[0], 3);
	assert_int_equal(st.slots[1], 1);
	assert_true(st.bytes > 0);
	window_free(w);
}

/* Random ticks, gaps, late samples and queries on 3 tiers, checked
 * against a model: a sample belongs to the fine slot open when it was
 * added; a tier-k query counts it iff its tier-k slot is still in tier k's
 * ring and intersects (now - span, now]. */
static void test_model_random(void **state)
{
	enum { NADD = 4000 };
	static const uint64_t len[3] = { S, 10 * S, 60 * S };
	static const uint32_t nslots[3] = { 20, 12, 30 };
	struct window_opts o = {
		.ntiers = 3,
		.tier = { { len[0], nslots[0] }, { len[1], nslots[1] }, { len[2], nslots[2] } },
		.max_bytes = 1ull << 30,
	};
	static struct { uint64_t s0, count; uint32_t proc; } adds[NADD];
	struct window *w = NULL;
	assert_int_equal(window_new(&o, T0, &w), 0);
	uint64_t now = T0, cur0 = T0, rng = 7;
	int nadd = 0;

	(void)state;
	for (int it = 0; it < 20000 && nadd < NADD; it++) {
		uint64_t r;

		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		r = rng >> 33;
		if (r % 10 < 3) { /* time passes: mostly a tick, sometimes a gap */
			now += r % 97 == 0 ? (r % 3000) * S : (r % 1500) * MS;
			window_tick(w, now);
			if (now / len[0] * len[0] > cur0)
				cur0 = now / len[0] * len[0];
		} else if (r % 10 < 9) { /* a sample, maybe dated late */
			uint64_t t = now - (r % 4 == 0 ? (r % 5000) * MS : 0);
			uint32_t proc = 16 + (uint32_t)(r % 4);

			if (t < T0)
				t = T0;
			assert_int_equal(window_add(w, t, proc, 16 + (uint32_t)(r % 50), 1 + r % 3), 0);
			if (t / len[0] * len[0] > cur0)
				cur0 = t / len[0] * len[0];
			adds[nadd].s0 = cur0;
			adds[nadd].count = 1 + r % 3;
			adds[nadd].proc = proc;
			nadd++;
		} else { /* a query */
			uint64_t span = (r % (r % 3 == 0 ? 25 : r % 3 == 1 ? 150 : 2500)) * S + r % 1000;
			uint64_t want = 0, lo = now > span ? now - span : 0;
			uint64_t want_proc[4] = { 0 };
			struct window_range rg;
			struct sums got;
			uint32_t k = 0;

			while (k < 2 && len[k] * nslots[k] < span)
				k++;
			for (int i = 0; i < nadd; i++) {
				uint64_t curk = cur0 / len[k] * len[k], sk = adds[i].s0 / len[k] * len[k];

				if (sk + (uint64_t)nslots[k] * len[k] > curk && sk + len[k] > lo) {
					want += adds[i].count;
					want_proc[adds[i].proc - 16] += adds[i].count;
				}
			}
			got = query(w, now, span, &rg);
			assert_int_equal(rg.tier, (int)k);
			assert_int_equal(got.total, want);
			for (int p = 0; p < 4; p++)
				assert_int_equal(got.per_proc[16 + p], want_proc[p]);
		}
	}
	window_free(w);
}

/* ---- per-process counters ---- */

#define CMAXP 4096
struct csums {
	int visits;
	int dup;
	uint8_t seen[CMAXP];
	struct wcounters c[CMAXP];
};

static void csum_fn(uint32_t proc, const struct wcounters *c, void *ctx)
{
	struct csums *s = ctx;

	s->visits++;
	assert_true(proc < CMAXP);
	if (s->seen[proc])
		s->dup = 1;
	s->seen[proc] = 1;
	s->c[proc] = *c;
}

/* Heap: the per-process array is ~1.8 MB. */
static struct csums *cquery(struct window *w, uint64_t now, uint64_t span, struct window_range *r)
{
	struct csums *s = calloc(1, sizeof(*s));
	int n;

	assert_non_null(s);
	n = window_query_counters(w, now, span, csum_fn, s, r);
	assert_true(n >= 0);
	assert_int_equal(n, s->visits);
	assert_int_equal(s->dup, 0);
	return s;
}

/* Counters of proc for second sec: every field depends on both. */
static void mkcounters(struct wcounters *c, uint32_t proc, uint64_t sec)
{
	memset(c, 0, sizeof(*c));
	for (unsigned i = 0; i < WC_NSUM; i++)
		c->sum[i] = proc * 1000 + i * 10 + sec % 7;
	c->gauge_last[WG_RSS] = (proc << 20) + sec;
	c->gauge_last[WG_THREADS] = 1 + sec % 5;
	c->gauge_last[WG_FDS] = proc;
	c->hist_runq[sec % WC_HIST_BUCKETS] = 3;
	c->hist_iolat[(proc + sec) % WC_HIST_BUCKETS] = 1;
}

/* One tick per second over [from, to): counters for procs 16..16+np-1,
 * merged into tot (may be NULL), and `stacks` samples of (16, 16). */
static void cdrive_stacks(struct window *w, uint64_t from, uint64_t to, uint32_t np, struct wcounters *tot, uint64_t stacks)
{
	for (uint64_t t = from; t < to; t += S) {
		window_tick(w, t);
		assert_int_equal(window_add(w, t + S / 2, 16, 16, stacks), 0);
		for (uint32_t p = 16; p < 16 + np; p++) {
			struct wcounters c;

			mkcounters(&c, p, t / S);
			assert_int_equal(window_add_counters(w, t + S / 2, p, &c), 0);
			if (tot)
				wc_merge(&tot[p], &c);
		}
	}
}

static void cdrive(struct window *w, uint64_t from, uint64_t to, uint32_t np, struct wcounters *tot)
{
	cdrive_stacks(w, from, to, np, tot, 0);
}

static void assert_sums_equal(const struct wcounters *got, const struct wcounters *want)
{
	for (unsigned i = 0; i < WC_NSUM; i++)
		assert_int_equal(got->sum[i], want->sum[i]);
	for (unsigned i = 0; i < WC_HIST_BUCKETS; i++) {
		assert_int_equal(got->hist_runq[i], want->hist_runq[i]);
		assert_int_equal(got->hist_iolat[i], want->hist_iolat[i]);
	}
}

static void test_counters_sums(void **state)
{
	struct window *w = mkwin(64 << 20);
	struct wcounters want[20];
	struct window_range r;
	struct csums *s;

	(void)state;
	cdrive(w, T0, T0 + 20 * S, 3, NULL);
	memset(want, 0, sizeof(want));
	cdrive(w, T0 + 20 * S, T0 + 30 * S, 3, want);
	window_tick(w, T0 + 30 * S);

	/* the last 10 s: exactly slots [20, 30) */
	s = cquery(w, T0 + 30 * S, 10 * S, &r);
	assert_int_equal(r.tier, 0);
	assert_int_equal(r.from_ns, T0 + 20 * S);
	assert_int_equal(s->visits, 3);
	for (uint32_t p = 16; p < 19; p++) {
		assert_sums_equal(&s->c[p], &want[p]);
		/* gauges: newest sample (second 29) and max over the window */
		assert_int_equal(s->c[p].gauge_last[WG_RSS], (p << 20) + 36029);
		assert_int_equal(s->c[p].gauge_max[WG_RSS], (p << 20) + 36029);
		assert_int_equal(s->c[p].gauge_ns, T0 + 29 * S + S / 2);
		assert_int_equal(s->c[p].gauge_max[WG_THREADS], 5);
		assert_int_equal(s->c[p].gauge_last[WG_THREADS], 1 + 36029 % 5);
	}
	free(s);

	/* the open slot counts too, merged with the closed ones */
	{
		struct wcounters c = { .sum = { [WC_CPU_NS] = 5 } };

		assert_int_equal(window_add_counters(w, T0 + 30 * S + 1, 16, &c), 0);
		want[16].sum[WC_CPU_NS] += 5;
	}
	s = cquery(w, T0 + 30 * S + 2, 10 * S, &r);
	assert_sums_equal(&s->c[16], &want[16]);
	/* its gauges (all 0) are the newest: last is 0, max is not */
	assert_int_equal(s->c[16].gauge_last[WG_RSS], 0);
	assert_int_equal(s->c[16].gauge_max[WG_RSS], (16u << 20) + 36029);
	free(s);
	window_free(w);
}

static void test_counters_rollup(void **state)
{
	struct window *w = mkwin(256 << 20);
	struct wcounters *hour = calloc(32, sizeof(*hour)), *all = calloc(32, sizeof(*all));
	struct window_stats st;
	struct window_range r;
	struct csums *s;
	uint64_t now = T0 + 7200 * S;

	(void)state;
	assert_non_null(hour);
	assert_non_null(all);
	/* 2 h of 8 processes, with stacks for some of the time */
	cdrive(w, T0, T0 + 3600 * S, 8, all);
	cdrive_stacks(w, T0 + 3600 * S, T0 + 3700 * S, 8, hour, 1);
	cdrive(w, T0 + 3700 * S, now, 8, hour);
	for (uint32_t p = 16; p < 24; p++)
		wc_merge(&all[p], &hour[p]);
	window_tick(w, now);

	/* 1 h: tier 1, exactly the last 60 coarse slots */
	s = cquery(w, now, 3600 * S, &r);
	assert_int_equal(r.tier, 1);
	assert_int_equal(r.from_ns, now - 3600 * S);
	assert_int_equal(s->visits, 8);
	for (uint32_t p = 16; p < 24; p++) {
		assert_sums_equal(&s->c[p], &hour[p]);
		assert_int_equal(s->c[p].gauge_last[WG_RSS], (p << 20) + 36000 + 7199);
		assert_int_equal(s->c[p].gauge_ns, now - S / 2);
	}
	free(s);
	/* 24 h: everything added */
	s = cquery(w, now, 24 * 3600 * S, &r);
	assert_int_equal(r.tier, 1);
	assert_int_equal(r.from_ns, T0);
	for (uint32_t p = 16; p < 24; p++)
		assert_sums_equal(&s->c[p], &all[p]);
	free(s);
	/* mid-minute: closed fine slots not yet rolled up are included */
	cdrive(w, now, now + 30 * S, 8, all);
	s = cquery(w, now + 30 * S, 24 * 3600 * S, &r);
	for (uint32_t p = 16; p < 24; p++)
		assert_sums_equal(&s->c[p], &all[p]);
	free(s);

	window_get_stats(w, &st);
	/* one record per process per slot holding data, in both tiers */
	assert_int_equal(st.slots[0], 600);
	assert_int_equal(st.slots[1], 121);
	assert_int_equal(st.counter_records, 8 * (600 + 121));
	assert_int_equal(st.dropped_slots, 0);
	free(hour);
	free(all);
	window_free(w);
}

static void test_counters_gauges(void **state)
{
	struct window *w = mkwin(64 << 20);
	struct wcounters c;
	struct window_range r;
	struct csums *s;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.gauge_last[WG_RSS] = 100;
	c.gauge_last[WG_FDS] = 7;
	assert_int_equal(window_add_counters(w, T0 + S / 2, 16, &c), 0);
	window_tick(w, T0 + S);
	c.gauge_last[WG_RSS] = 50;
	c.gauge_last[WG_FDS] = 3;
	c.gauge_max[WG_FDS] = 9;  /* a peak seen between samples */
	c.gauge_ns = 12345;       /* ignored: the sample time is now_ns */
	assert_int_equal(window_add_counters(w, T0 + S + S / 2, 16, &c), 0);
	window_tick(w, T0 + 2 * S);
	/* late: dated before the newest sample, lands in the open slot */
	memset(&c, 0, sizeof(c));
	c.gauge_last[WG_RSS] = 999;
	c.gauge_last[WG_THREADS] = 4;
	assert_int_equal(window_add_counters(w, T0 + S / 4, 16, &c), 0);

	s = cquery(w, T0 + 2 * S + 1, 10 * S, &r);
	assert_int_equal(s->c[16].gauge_ns, T0 + S + S / 2);
	assert_int_equal(s->c[16].gauge_last[WG_RSS], 50);
	assert_int_equal(s->c[16].gauge_last[WG_FDS], 3);
	assert_int_equal(s->c[16].gauge_last[WG_THREADS], 0);
	assert_int_equal(s->c[16].gauge_max[WG_RSS], 999);
	assert_int_equal(s->c[16].gauge_max[WG_FDS], 9);
	assert_int_equal(s->c[16].gauge_max[WG_THREADS], 4);
	free(s);
	/* the same after the roll-up into tier 1 (and packing) */
	window_tick(w, T0 + 120 * S);
	s = cquery(w, T0 + 120 * S, 3600 * S, &r);
	assert_int_equal(r.tier, 1);
	assert_int_equal(s->c[16].gauge_last[WG_RSS], 50);
	assert_int_equal(s->c[16].gauge_max[WG_RSS], 999);
	assert_int_equal(s->c[16].gauge_max[WG_FDS], 9);
	free(s);
	/* a window that holds only the late sample: its gauges */
	s = cquery(w, T0 + 120 * S, 1000 * S, &r);
	assert_int_equal(s->c[16].gauge_last[WG_RSS], 50);
	free(s);

	/* two samples at the same time: the later add wins */
	memset(&c, 0, sizeof(c));
	c.gauge_last[WG_RSS] = 1;
	assert_int_equal(window_add_counters(w, T0 + 130 * S, 17, &c), 0);
	c.gauge_last[WG_RSS] = 2;
	assert_int_equal(window_add_counters(w, T0 + 130 * S, 17, &c), 0);
	s = cquery(w, T0 + 130 * S, S, &r);
	assert_int_equal(s->c[17].gauge_last[WG_RSS], 2);
	assert_int_equal(s->c[17].gauge_max[WG_RSS], 2);
	free(s);
	assert_int_equal(window_add_counters(NULL, T0, 16, &c), -EINVAL);
	assert_int_equal(window_add_counters(w, T0, 16, NULL), -EINVAL);
	window_free(w);
}

static void test_counters_hist(void **state)
{
	struct window *w = mkwin(64 << 20);
	uint32_t h[WC_HIST_BUCKETS] = { 0 };
	struct wcounters c;
	struct window_range r;
	struct csums *s;

	(void)state;
	/* empty */
	assert_int_equal(wc_hist_quantile(h, 0.5), 0);
	assert_int_equal(wc_hist_quantile(h, 0.99), 0);
	assert_int_equal(wc_hist_quantile(NULL, 0.5), 0);
	/* 1000 values: 500 in [2^10, 2^11), 490 in [2^14, 2^15), 10 in
	 * [2^20, 2^21): p50 is the 500th, p99 the 990th, p99.1 the 991st */
	h[10] = 500;
	h[14] = 490;
	h[20] = 10;
	assert_int_equal(wc_hist_quantile(h, 0.5), 1u << 11);
	assert_int_equal(wc_hist_quantile(h, 0.5001), 1u << 15);
	assert_int_equal(wc_hist_quantile(h, 0.99), 1u << 15);
	assert_int_equal(wc_hist_quantile(h, 0.991), 1u << 21);
	assert_int_equal(wc_hist_quantile(h, 1.0), 1u << 21);
	assert_int_equal(wc_hist_quantile(h, 0.0), 1u << 11);
	assert_int_equal(wc_hist_quantile(h, -1.0), 1u << 11);
	memset(h, 0, sizeof(h));
	h[0] = 1;
	h[31] = 1;
	assert_int_equal(wc_hist_quantile(h, 0.5), 2);
	assert_int_equal(wc_hist_quantile(h, 0.99), 1ull << 32);

	/* merged over slots: the same distribution added in 3 parts */
	memset(&c, 0, sizeof(c));
	c.hist_runq[10] = 500;
	c.hist_iolat[5] = UINT32_MAX - 1;
	assert_int_equal(window_add_counters(w, T0, 16, &c), 0);
	window_tick(w, T0 + S);
	memset(&c, 0, sizeof(c));
	c.hist_runq[14] = 490;
	c.hist_iolat[5] = 1;
	assert_int_equal(window_add_counters(w, T0 + S, 16, &c), 0);
	window_tick(w, T0 + 2 * S);
	memset(&c, 0, sizeof(c));
	c.hist_runq[20] = 10;
	c.hist_iolat[5] = 7; /* saturates */
	assert_int_equal(window_add_counters(w, T0 + 2 * S, 16, &c), 0);
	window_tick(w, T0 + 3 * S);
	s = cquery(w, T0 + 3 * S, 10 * S, &r);
	assert_int_equal(s->c[16].hist_runq[10], 500);
	assert_int_equal(s->c[16].hist_runq[14], 490);
	assert_int_equal(s->c[16].hist_runq[20], 10);
	assert_int_equal(wc_hist_quantile(s->c[16].hist_runq, 0.5), 1u << 11);
	assert_int_equal(wc_hist_quantile(s->c[16].hist_runq, 0.99), 1u << 15);
	assert_int_equal(s->c[16].hist_iolat[5], UINT32_MAX);
	free(s);
	window_free(w);
}

static void test_counters_memory_bound(void **state)
{
	enum { NP = 200 };
	struct window *w = mkwin(1 << 20);
	struct window_stats st;
	struct window_range r;
	struct csums *s;
	uint64_t now = T0;

	(void)state;
	/* 200 processes with full records every second: ~100 KiB per open
	 * slot, far over 1 MiB within minutes; stacks too, so coarsening has
	 * work, but records are never coarsened: whole slots go */
	for (int sec = 0; sec < 1200; sec++) {
		now = T0 + (uint64_t)sec * S;
		cdrive(w, now, now + S, NP, NULL);
		assert_int_equal(window_add(w, now + 1, 16, STACK_ID_FIRST + (uint32_t)sec % 50, 1), 0);
		window_get_stats(w, &st);
		assert_int_equal(st.counter_records, NP * ((uint64_t)st.slots[0] + st.slots[1]));
	}
	now += S;
	window_tick(w, now);
	window_get_stats(w, &st);
	assert_true(st.bytes <= 1 << 20);
	assert_true(st.dropped_slots > 0);
	/* every slot still held has all its records, no more */
	assert_int_equal(st.counter_records, NP * ((uint64_t)st.slots[0] + st.slots[1]));
	/* the last second is intact */
	s = cquery(w, now, S, &r);
	assert_int_equal(s->visits, NP);
	free(s);
	/* everything still held is consistent, from the oldest slot */
	s = cquery(w, now, 24 * 3600 * S, &r);
	assert_int_equal(s->visits, NP);
	assert_true(r.from_ns >= st.oldest_ns);
	free(s);
	/* forgetting everything gives back every byte */
	window_tick(w, now + 100 * 24 * 3600 * S);
	window_get_stats(w, &st);
	assert_int_equal(st.counter_records, 0);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.bytes, 0);
	window_free(w);
}

static void test_counters_only(void **state)
{
	struct window *w = mkwin(64 << 20);
	struct window_stats st;
	struct window_range r;
	struct sums ss;
	struct csums *s;

	(void)state;
	/* counters and no stacks, for 3 s starting at T0 + 100 s */
	cdrive(w, T0 + 100 * S, T0 + 103 * S, 2, NULL);
	window_tick(w, T0 + 103 * S);
	window_get_stats(w, &st);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.slots[0], 3);
	assert_int_equal(st.slots[1], 1);
	assert_int_equal(st.counter_records, 2 * 4);
	/* the slots hold data: oldest_ns (gc time for ids) covers them */
	assert_int_equal(st.oldest_ns, T0 + 60 * S);
	assert_true(st.bytes > 0);

	s = cquery(w, T0 + 103 * S, 10 * S, &r);
	assert_int_equal(r.tier, 0);
	assert_int_equal(r.from_ns, T0 + 100 * S);
	assert_int_equal(s->visits, 2);
	assert_true(s->seen[16] && s->seen[17]);
	free(s);
	/* no stacks: the stack query sees nothing, from any tier */
	ss = query(w, T0 + 103 * S, 10 * S, &r);
	assert_int_equal(ss.entries, 0);
	assert_int_equal(r.from_ns, T0 + 103 * S);
	ss = query(w, T0 + 103 * S, 3600 * S, &r);
	assert_int_equal(ss.entries, 0);

	/* and vice versa: stacks and no counters */
	window_free(w);
	w = mkwin(64 << 20);
	drive(w, T0, T0 + 5 * S, 1);
	s = cquery(w, T0 + 5 * S, 10 * S, &r);
	assert_int_equal(s->visits, 0);
	assert_int_equal(r.from_ns, T0 + 5 * S);
	free(s);
	window_get_stats(w, &st);
	assert_int_equal(st.counter_records, 0);
	window_free(w);
}

/* Packed records round-trip exactly, whatever the values. */
static void test_counters_pack(void **state)
{
	enum { N = 500 };
	struct wcmap m = { 0 };
	struct wcpack p = { 0 };
	uint64_t bytes = 0, rng = 3, base = T0 + 77 * S;
	const uint8_t *pos;

	(void)state;
	for (uint32_t i = 0; i < N; i++) {
		bool is_new;
		struct wcounters *c = wcmap_get(&m, i * 7919u, &bytes, &is_new);
		uint64_t *words = (uint64_t *)c;

		assert_non_null(c);
		assert_true(is_new);
		/* sums, gauges and gauge_ns: 0, small, huge, anything */
		for (size_t j = 0; j < offsetof(struct wcounters, hist_runq) / 8; j++) {
			rng = rng * 6364136223846793005ull + 1442695040888963407ull;
			words[j] = rng % 4 == 0 ? 0 : rng % 4 == 1 ? rng >> 50 : rng % 4 == 2 ? UINT64_MAX - (rng >> 60) : rng;
		}
		if (i % 5 == 0)
			c->gauge_ns = base - (rng >> 40); /* late: before the slot */
		if (i % 11 == 0)
			memset(c->gauge_last, 0, sizeof(c->gauge_last) + sizeof(c->gauge_max) + 8);
		for (unsigned j = 0; j < WC_HIST_BUCKETS; j++) {
			rng = rng * 6364136223846793005ull + 1442695040888963407ull;
			c->hist_runq[j] = rng % 3 == 0 ? 0 : (uint32_t)(rng >> 32);
			c->hist_iolat[j] = rng % 5 == 0 ? UINT32_MAX : 0;
		}
		if (i % 13 == 0)
			memset(c, 0, sizeof(*c));
	}
	assert_int_equal(m.n, N);
	assert_int_equal(wcpack_build(&p, &m, base, &bytes), 0);
	assert_int_equal(p.n, N);
	pos = p.buf;
	for (uint32_t i = 0; i < N; i++) {
		struct wcounters c;
		uint32_t proc;

		pos = wcpack_next(pos, base, &proc, &c);
		assert_int_equal(proc, m.recs[i].proc);
		assert_memory_equal(&c, &m.recs[i].c, sizeof(c));
	}
	assert_ptr_equal(pos, p.buf + p.len);
	wcpack_release(&p, &bytes);
	wcmap_release(&m, &bytes);
	assert_int_equal(bytes, 0);
}

/* Random ticks, gaps, late adds and queries on 3 tiers, checked against a
 * model (as test_model_random): sums and histograms (saturating), gauges
 * (a function of their time, so a tie cannot tell orders apart). */
static void test_counters_model_random(void **state)
{
	enum { NADD = 3000, NPROC = 5 };
	static const uint64_t len[3] = { S, 10 * S, 60 * S };
	static const uint32_t nslots[3] = { 20, 12, 30 };
	struct window_opts o = {
		.ntiers = 3,
		.tier = { { len[0], nslots[0] }, { len[1], nslots[1] }, { len[2], nslots[2] } },
		.max_bytes = 1ull << 30,
	};
	static struct { uint64_t s0; uint32_t proc; struct wcounters c; } adds[NADD];
	struct window *w = NULL;
	assert_int_equal(window_new(&o, T0, &w), 0);
	uint64_t now = T0, cur0 = T0, rng = 11;
	int nadd = 0;

	(void)state;
	for (int it = 0; it < 15000 && nadd < NADD; it++) {
		uint64_t r;

		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		r = rng >> 33;
		if (r % 10 < 3) {
			now += r % 97 == 0 ? (r % 3000) * S : (r % 1500) * MS;
			window_tick(w, now);
			if (now / len[0] * len[0] > cur0)
				cur0 = now / len[0] * len[0];
		} else if (r % 10 < 8) {
			uint64_t t = now - (r % 4 == 0 ? (r % 5000) * MS : 0);
			struct wcounters *c = &adds[nadd].c;

			if (t < T0)
				t = T0;
			memset(c, 0, sizeof(*c));
			for (unsigned i = 0; i < WC_NSUM; i++)
				c->sum[i] = (r >> i) % 3 == 0 ? 0 : r % 50 == 0 ? UINT64_MAX / 3 : (r >> i) % 1000;
			for (unsigned g = 0; g < WG_NGAUGE; g++) {
				c->gauge_last[g] = t / MS * (g + 1) % 100003;
				c->gauge_max[g] = (r >> g) % 4 == 0 ? c->gauge_last[g] + 5 : 0;
			}
			c->hist_runq[r % WC_HIST_BUCKETS] = r % 40 == 0 ? UINT32_MAX / 2 : 1 + r % 9;
			c->hist_iolat[(r >> 5) % WC_HIST_BUCKETS] = 2;
			adds[nadd].proc = 16 + (uint32_t)(r % NPROC);
			assert_int_equal(window_add_counters(w, t, adds[nadd].proc, c), 0);
			c->gauge_ns = t;
			for (unsigned g = 0; g < WG_NGAUGE; g++) {
				if (c->gauge_max[g] < c->gauge_last[g])
					c->gauge_max[g] = c->gauge_last[g];
			}
			if (t / len[0] * len[0] > cur0)
				cur0 = t / len[0] * len[0];
			adds[nadd].s0 = cur0;
			nadd++;
		} else {
			uint64_t span = (r % (r % 3 == 0 ? 25 : r % 3 == 1 ? 150 : 2500)) * S + r % 1000;
			uint64_t lo = now > span ? now - span : 0;
			struct wcounters want[NPROC];
			int have[NPROC] = { 0 }, nwant = 0;
			struct window_range rg;
			struct csums *got;
			uint32_t k = 0;

			while (k < 2 && len[k] * nslots[k] < span)
				k++;
			memset(want, 0, sizeof(want));
			for (int i = 0; i < nadd; i++) {
				uint64_t curk = cur0 / len[k] * len[k], sk = adds[i].s0 / len[k] * len[k];
				int p = (int)adds[i].proc - 16;

				if (sk + (uint64_t)nslots[k] * len[k] > curk && sk + len[k] > lo) {
					if (!have[p]) {
						want[p] = adds[i].c;
						have[p] = 1;
						nwant++;
					} else {
						wc_merge(&want[p], &adds[i].c);
					}
				}
			}
			got = cquery(w, now, span, &rg);
			assert_int_equal(rg.tier, (int)k);
			assert_int_equal(got->visits, nwant);
			for (int p = 0; p < NPROC; p++) {
				assert_int_equal(got->seen[16 + p], have[p]);
				if (have[p])
					assert_memory_equal(&got->c[16 + p], &want[p], sizeof(want[p]));
			}
			free(got);
		}
	}
	window_free(w);
}

static struct sums query_range(struct window *w, uint64_t from, uint64_t to, struct window_range *r)
{
	struct sums s;
	int n;

	memset(&s, 0, sizeof(s));
	n = window_query_range(w, from, to, sum_fn, &s, r);
	assert_true(n >= 0);
	assert_int_equal((uint64_t)n, s.entries);
	assert_int_equal(s.dup, 0);
	return s;
}

static void count_procs(uint32_t proc, const struct wcounters *c, void *ctx)
{
	uint64_t *sum = ctx;

	(void)proc;
	*sum += c->sum[WC_CPU_NS];
}

/* Absolute ranges: second i (from T0) holds i + 1 samples of proc 1 and
 * i ns of counters; a range of fine slots is exact, one older than the
 * fine ring is answered in whole coarse slots, and one that ends now
 * equals the relative query. */
static void test_query_range(void **state)
{
	struct window *w = mkwin(256u << 20);
	struct window_range r;
	struct sums s;
	uint64_t now = T0, want, cpu;
	const uint64_t N = 20 * 60;

	(void)state;
	for (uint64_t i = 0; i < N; i++) {
		struct wcounters c = { 0 };

		now = T0 + i * S;
		window_tick(w, now);
		assert_int_equal(window_add(w, now + S / 2, 1, 20, i + 1), 0);
		c.sum[WC_CPU_NS] = i;
		assert_int_equal(window_add_counters(w, now + S / 2, 1, &c), 0);
	}
	now = T0 + N * S;
	window_tick(w, now);
	/* seconds 1000..1009, in the fine ring: exactly those */
	s = query_range(w, T0 + 1000 * S, T0 + 1010 * S, &r);
	want = 0;
	for (uint64_t i = 1000; i < 1010; i++)
		want += i + 1;
	assert_int_equal(s.total, want);
	assert_int_equal(r.tier, 0);
	assert_int_equal(r.from_ns, T0 + 1000 * S);
	assert_int_equal(r.to_ns, T0 + 1010 * S);
	assert_int_equal(window_range_slot_ns(w, T0 + 1000 * S), S);
	cpu = 0;
	assert_int_equal(window_query_counters_range(w, T0 + 1000 * S, T0 + 1010 * S, count_procs, &cpu, &r), 1);
	assert_int_equal(cpu, want - 10);
	/* one second */
	s = query_range(w, T0 + 1100 * S, T0 + 1101 * S, &r);
	assert_int_equal(s.total, 1101);
	/* seconds 90..150 are older than the fine ring (600 s): coarse
	 * minutes 1 and 2, i.e. seconds 60..179 */
	s = query_range(w, T0 + 90 * S, T0 + 150 * S, &r);
	want = 0;
	for (uint64_t i = 60; i < 180; i++)
		want += i + 1;
	assert_int_equal(r.tier, 1);
	assert_int_equal(r.from_ns, T0 + 60 * S);
	assert_int_equal(s.total, want);
	assert_int_equal(window_range_slot_ns(w, T0 + 90 * S), 60 * S);
	/* ending now: the relative query's answer */
	s = query_range(w, now - 30 * S, now, &r);
	assert_int_equal(s.total, query(w, now, 30 * S, NULL).total);
	/* ranges beyond the data, and inverted ones */
	assert_int_equal(query_range(w, now + 10 * S, now + 20 * S, &r).total, 0);
	assert_int_equal(window_query_range(w, T0 + 10 * S, T0, sum_fn, NULL, &r), -EINVAL);
	window_free(w);
}

static void rate_counters(uint32_t proc, const struct wcounters *c, void *ctx)
{
	if (proc == 5)
		*(uint64_t *)ctx += c->sum[WC_CPU_NS];
}

/* A steady 1 sample/s and 1 s of CPU per s (one CPU busy). Windows over
 * the fine tier's 10 minutes are answered from 1-minute slots, summed
 * whole: the rate is the sum over the time those slots span
 * (span_from_ns), not over the requested span, which would overstate it
 * by up to a slot (9 % at 11 minutes). Fine-tier windows on slot
 * boundaries are unchanged: span_from_ns is now - span. */
/* A window holding one sample and 1 s of CPU per second from T0 to now. */
static struct window *steady(uint64_t now)
{
	struct window *w = mkwin(64u << 20);
	struct wcounters one;

	memset(&one, 0, sizeof(one));
	one.sum[WC_CPU_NS] = S;
	for (uint64_t t = T0; t < now; t += S) {
		window_tick(w, t);
		window_add(w, t, 5, 77, 1);
		window_add_counters(w, t, 5, &one);
	}
	window_tick(w, now);
	return w;
}

static void test_rate_span(void **state)
{
	uint64_t now = T0 + 1830 * S + 400 * MS, spans[] = { 11 * 60 * S, 17 * 60 * S + 13 * S, 25 * 60 * S };
	struct window *w = steady(now);
	struct window_range r, rc;

	(void)state;
	for (size_t i = 0; i < sizeof(spans) / sizeof(spans[0]); i++) {
		uint64_t span = spans[i], cpu = 0, lo = now - span, covered;
		struct sums q = query(w, now, span, &r);
		double rate, naive;

		assert_true(window_query_counters(w, now, span, rate_counters, &cpu, &rc) >= 0);
		assert_int_equal(r.tier, 1);
		assert_int_equal(rc.span_from_ns, r.span_from_ns);
		/* the slot holding now - span, from its start */
		assert_int_equal(r.span_from_ns, lo / (60 * S) * (60 * S));
		assert_true(r.span_from_ns <= lo && lo - r.span_from_ns < 60 * S);
		covered = now - r.span_from_ns;
		rate = (double)q.total / ((double)covered / 1e9);
		naive = (double)q.total / ((double)span / 1e9);
		/* one sample per whole second in [span_from, now): within one */
		assert_true(rate > 0.99 && rate < 1.01);
		assert_true((double)cpu / (double)covered > 0.99 && (double)cpu / (double)covered < 1.01);
		/* what dividing by the requested span gave: too high */
		assert_true(naive > 1.0 + (double)(lo - r.span_from_ns) / (double)span - 0.01);
	}
	/* the worst case: now - 11 minutes just before a minute boundary,
	 * 12 slots summed for 11 minutes */
	{
		uint64_t at = T0 + 1799 * S + 500 * MS;
		struct window *w2 = steady(at);
		struct sums q = query(w2, at, 11 * 60 * S, &r);
		double naive = (double)q.total / 660.0, rate = (double)q.total / ((double)(at - r.span_from_ns) / 1e9);

		assert_true(naive > 1.08);
		assert_true(rate > 0.99 && rate < 1.01);
		window_free(w2);
	}
	/* fine tier, on slot boundaries: exactly the requested span */
	query(w, T0 + 1830 * S, 10 * S, &r);
	assert_int_equal(r.tier, 0);
	assert_int_equal(r.span_from_ns, T0 + 1820 * S);
	/* never before the store existed */
	{
		struct window *w3 = steady(T0 + 30 * S);

		query(w3, T0 + 30 * S, 60 * S, &r);
		assert_int_equal(r.span_from_ns, T0);
		window_free(w3);
	}
	/* nor before the oldest cell the tier holds (here 4 slots of 5 s) */
	{
		struct window_opts o = {
			.ntiers = 2,
			.tier = { { .slot_ns = S, .slots = 10 }, { .slot_ns = 5 * S, .slots = 4 } },
			.max_bytes = 1u << 20,
		};
		struct window *w4 = NULL;

		assert_int_equal(window_new(&o, T0, &w4), 0);
		for (uint64_t t = T0; t <= T0 + 100 * S; t += S) {
			window_tick(w4, t);
			window_add(w4, t, 5, 77, 1);
		}
		query(w4, T0 + 100 * S, 60 * S, &r);
		assert_int_equal(r.tier, 1);
		assert_int_equal(r.span_from_ns, T0 + 100 * S - 3 * 5 * S);
		window_free(w4);
	}
	window_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invalid_opts),
		cmocka_unit_test(test_slots_and_short_query),
		cmocka_unit_test(test_tiers_and_rollup),
		cmocka_unit_test(test_ring_wrap),
		cmocka_unit_test(test_time_gaps),
		cmocka_unit_test(test_memory_bound),
		cmocka_unit_test(test_coarsen_keeps_heavy_stacks),
		cmocka_unit_test(test_stats_oldest),
		cmocka_unit_test(test_model_random),
		cmocka_unit_test(test_counters_sums),
		cmocka_unit_test(test_counters_rollup),
		cmocka_unit_test(test_counters_gauges),
		cmocka_unit_test(test_counters_hist),
		cmocka_unit_test(test_counters_memory_bound),
		cmocka_unit_test(test_counters_only),
		cmocka_unit_test(test_counters_pack),
		cmocka_unit_test(test_counters_model_random),
		cmocka_unit_test(test_query_range),
		cmocka_unit_test(test_rate_span),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
