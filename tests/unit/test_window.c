/* Unit tests for the rolling windows: slots, tiers, roll-up, gaps, the
 * memory bound. Time is driven by the test. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stacks.h"
#include "window.h"

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
	struct window *w = window_new(&o, T0);

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
	w = window_new(&ok, 0);
	assert_non_null(w);
	window_free(w);
	assert_null(window_free(NULL));
	assert_null(window_new(NULL, 0));

#define BAD(mutation)                                  \
	do {                                           \
		o = ok;                                \
		mutation;                              \
		errno = 0;                             \
		assert_null(window_new(&o, 0));        \
		assert_int_equal(errno, EINVAL);       \
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
	w = window_new(&o, 0);
	assert_non_null(w);
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
	struct window *w = window_new(&o, T0);
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
	struct window *w = window_new(&o, T0);
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
	struct window *w = window_new(&o, T0);
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
