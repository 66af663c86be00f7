/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for the alert state machine, driven by injected time (one
 * evaluation per simulated 1 s tick): pending -> firing after `for`,
 * hysteresis, resolve, flapping input, an entity that exits while firing,
 * a reload while firing, the bounds on alerts and history. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alerts/engine.h"

#define SEC 1000000000ull

struct log {
	char lines[256][96];
	size_t n;
};

static void on_transition(void *ctx, struct alert *a, enum alert_state from)
{
	struct log *l = ctx;

	if (l->n < 256)
		snprintf(l->lines[l->n++], sizeof(l->lines[0]), "%s %u %s->%s%s%s", a->rule_name, a->pid,
			 alert_state_name(from), alert_state_name(a->state), a->reason ? " " : "",
			 a->state == ALERT_RESOLVED && a->reason ? a->reason : "");
}

static struct ruleset *rules(const char *text)
{
	struct ruleset *rs;
	char err[512];

	assert_int_equal(ruleset_new(&rs), 0);
	if (ruleset_load_buffer(rs, "t.conf", text, strlen(text), RULES_FILE, err, sizeof(err)))
		fail_msg("%s", err);
	return rs;
}

static struct alert_engine *engine(struct log *l, size_t max, size_t history)
{
	struct alert_engine *e;

	assert_int_equal(alert_engine_new(&(struct alert_engine_opts){ .max_active = max, .history = history,
								      .on_transition = on_transition, .ctx = l },
					  &e),
			 0);
	return e;
}

static const struct alert_entity proc1 = { .kind = ENTITY_PROCESS, .pid = 100, .start_ns = 5, .comm = "burn" };
static const struct alert_entity proc2 = { .kind = ENTITY_PROCESS, .pid = 200, .start_ns = 7, .comm = "idle" };

/* One round of rule r at second t: each entity with its value. */
static void round1(struct alert_engine *e, const struct rule *r, uint64_t t, const struct alert_entity *ent, double v)
{
	alert_engine_rule_begin(e, r);
	if (ent)
		assert_int_equal(alert_engine_observe(e, r, ent, v, t * SEC), 0);
	alert_engine_rule_end(e, r, t * SEC, "process exited");
}

static void expect(struct log *l, size_t i, const char *want)
{
	if (i >= l->n)
		fail_msg("transition %zu missing, want \"%s\"", i, want);
	if (strcmp(l->lines[i], want))
		fail_msg("transition %zu: \"%s\", want \"%s\"", i, l->lines[i], want);
}

struct count {
	size_t pending, firing;
	const struct alert *last;
};

static int count_one(struct alert *a, void *ctx)
{
	struct count *c = ctx;

	c->pending += a->state == ALERT_PENDING;
	c->firing += a->state == ALERT_FIRING;
	c->last = a;
	return 0;
}

static struct count counts(struct alert_engine *e)
{
	struct count c = { 0 };

	alert_engine_foreach(e, count_one, &c);
	return c;
}

/* above 90 for 3 s, clear 80: pending at the first sample above, firing
 * once 3 s have passed, still firing between 80 and 90, resolved below 80. */
static void test_lifecycle(void **state)
{
	struct ruleset *rs = rules("[rule hot]\nmetric = process.cpu_pct\nabove = 90\nfor = 3s\nclear = 80\n");
	const struct rule *r = &rs->v[0];
	struct log l = { 0 };
	struct alert_engine *e = engine(&l, 100, 10);
	const struct alert *h;
	struct alert_engine_stats st;

	(void)state;
	alert_engine_set_rules(e, rs, 0);
	round1(e, r, 1, &proc1, 50);
	assert_int_equal(l.n, 0);
	round1(e, r, 2, &proc1, 95);
	expect(&l, 0, "hot 100 inactive->pending");
	round1(e, r, 3, &proc1, 96);
	round1(e, r, 4, &proc1, 97);
	assert_int_equal(l.n, 1);
	assert_int_equal(counts(e).pending, 1);
	round1(e, r, 5, &proc1, 98); /* 3 s after it became pending */
	expect(&l, 1, "hot 100 pending->firing");
	assert_int_equal(counts(e).firing, 1);
	assert_int_equal(counts(e).last->fired_at_ns, 5 * SEC);
	assert_int_equal(counts(e).last->active_since_ns, 2 * SEC);
	round1(e, r, 6, &proc1, 85); /* hysteresis: between clear and threshold */
	round1(e, r, 7, &proc1, 80); /* at clear: still firing */
	assert_int_equal(l.n, 2);
	assert_true(counts(e).last->value == 80);
	round1(e, r, 8, &proc1, 79.9);
	expect(&l, 2, "hot 100 firing->resolved condition cleared");
	assert_int_equal(counts(e).firing + counts(e).pending, 0);
	/* history, newest first: the resolved alert, then the firing record */
	h = alert_engine_history(e, 0);
	assert_non_null(h);
	assert_int_equal(h->state, ALERT_RESOLVED);
	assert_int_equal(h->resolved_at_ns, 8 * SEC);
	assert_int_equal(h->fired_at_ns, 5 * SEC);
	assert_null(h->rule);
	assert_string_equal(h->rule_name, "hot");
	assert_string_equal(h->comm, "burn");
	assert_int_equal(alert_engine_history(e, 1)->state, ALERT_FIRING);
	assert_null(alert_engine_history(e, 2));
	/* back above: a new alert, pending again */
	round1(e, r, 9, &proc1, 99);
	expect(&l, 3, "hot 100 inactive->pending");
	alert_engine_get_stats(e, &st);
	assert_int_equal(st.pending, 1);
	assert_int_equal(st.transitions, 4);
	alert_engine_free(e);
	ruleset_free(rs);
}

/* Input that crosses the threshold every other tick never fires with a
 * `for`, and leaves no history; with hysteresis, a firing alert rides out
 * dips that stay above clear. */
static void test_flapping(void **state)
{
	struct ruleset *rs = rules("[rule hot]\nmetric = process.cpu_pct\nabove = 90\nfor = 3s\nclear = 50\n");
	const struct rule *r = &rs->v[0];
	struct log l = { 0 };
	struct alert_engine *e = engine(&l, 100, 10);

	(void)state;
	alert_engine_set_rules(e, rs, 0);
	for (uint64_t t = 1; t <= 20; t++)
		round1(e, r, t, &proc1, t % 2 ? 95 : 85);
	for (size_t i = 0; i < l.n; i++)
		assert_null(strstr(l.lines[i], "firing"));
	assert_int_equal(l.n, 20); /* pending, dropped, pending, ... */
	assert_null(alert_engine_history(e, 0));
	/* steady above: fires; then dips to 60 and back never resolve it */
	l.n = 0;
	for (uint64_t t = 21; t <= 25; t++)
		round1(e, r, t, &proc1, 95);
	expect(&l, 1, "hot 100 pending->firing");
	for (uint64_t t = 26; t <= 40; t++)
		round1(e, r, t, &proc1, t % 2 ? 95 : 60);
	assert_int_equal(l.n, 2);
	/* NaN (no value) resolves it */
	round1(e, r, 41, &proc1, NAN);
	expect(&l, 2, "hot 100 firing->resolved no value");
	alert_engine_free(e);
	ruleset_free(rs);
}

/* A process that exits while its alert fires: resolved by the sweep, and
 * its record (with evidence) stays in the history. A pending one is
 * dropped. Other entities are unaffected. */
static void test_exit_while_firing(void **state)
{
	struct ruleset *rs = rules("[rule hot]\nmetric = process.cpu_pct\nabove = 90\n");
	const struct rule *r = &rs->v[0];
	struct log l = { 0 };
	struct alert_engine *e = engine(&l, 100, 10);
	(void)state;
	alert_engine_set_rules(e, rs, 0);
	alert_engine_rule_begin(e, r);
	alert_engine_observe(e, r, &proc1, 99, SEC);
	alert_engine_observe(e, r, &proc2, 99, SEC);
	alert_engine_rule_end(e, r, SEC, "process exited");
	/* for = 0: pending and firing at once */
	expect(&l, 0, "hot 100 inactive->pending");
	expect(&l, 1, "hot 100 pending->firing");
	assert_int_equal(counts(e).firing, 2);
	round1(e, r, 2, &proc2, 99); /* proc1 not seen: it exited */
	expect(&l, 4, "hot 100 firing->resolved process exited");
	assert_int_equal(counts(e).firing, 1);
	assert_int_equal(alert_engine_history(e, 0)->pid, 100);
	assert_int_equal(alert_engine_history(e, 0)->state, ALERT_RESOLVED);
	/* a reused pid with another start time is another entity */
	round1(e, r, 3, &(struct alert_entity){ .kind = ENTITY_PROCESS, .pid = 200, .start_ns = 99, .comm = "new" }, 99);
	expect(&l, 5, "hot 200 inactive->pending");
	expect(&l, 6, "hot 200 pending->firing");
	expect(&l, 7, "hot 200 firing->resolved process exited");
	assert_int_equal(alert_engine_history(e, 0)->start_ns, 7);
	alert_engine_free(e);
	ruleset_free(rs);
}

/* SIGHUP with the same rule (new threshold): the firing alert carries over
 * and the new threshold applies; a changed rule resolves its alerts; a
 * removed rule too; history survives. */
static void test_reload_while_firing(void **state)
{
	struct ruleset *rs = rules("[rule a]\nmetric = process.cpu_pct\nabove = 90\n[rule b]\nmetric = process.fds\n"
				   "above = 10\n[rule c]\nmetric = host.cpu_pct\nabove = 50\n");
	struct ruleset *rs2;
	struct log l = { 0 };
	struct alert_engine *e = engine(&l, 100, 10);
	const struct alert_entity host = { .kind = ENTITY_HOST };

	(void)state;
	alert_engine_set_rules(e, rs, 0);
	round1(e, &rs->v[0], 1, &proc1, 95);
	round1(e, &rs->v[1], 1, &proc1, 20);
	round1(e, &rs->v[2], 1, &host, 60);
	assert_int_equal(counts(e).firing, 3);
	l.n = 0;
	/* a: same identity, threshold 95 and clear 70; b: now matches
	 * comm:x only (changed); c: gone; d: new */
	rs2 = rules("[rule d]\nmetric = host.mem_pct\nabove = 1\n[rule a]\nmetric = process.cpu_pct\nabove = 95\n"
		    "clear = 70\n[rule b]\nmetric = process.fds\nmatch = comm:x\nabove = 10\n");
	assert_int_equal(alert_engine_set_rules(e, rs2, 2 * SEC), 0);
	ruleset_free(rs); /* the old set may go now */
	assert_int_equal(l.n, 2);
	assert_non_null(strstr(l.lines[0], "firing->resolved rule"));
	assert_non_null(strstr(l.lines[1], "firing->resolved rule"));
	assert_int_equal(counts(e).firing, 1);
	assert_ptr_equal(counts(e).last->rule, ruleset_find(rs2, "a"));
	assert_true(counts(e).last->threshold == 95 && counts(e).last->clear == 70);
	/* 75 is below the new threshold but above the new clear: firing */
	round1(e, ruleset_find(rs2, "a"), 3, &proc1, 75);
	assert_int_equal(counts(e).firing, 1);
	round1(e, ruleset_find(rs2, "a"), 4, &proc1, 69);
	expect(&l, 2, "a 100 firing->resolved condition cleared");
	/* the history kept everything: 3 firing + 3 resolved */
	for (size_t i = 0; i < 6; i++)
		assert_non_null(alert_engine_history(e, i));
	assert_null(alert_engine_history(e, 6));
	alert_engine_free(e);
	ruleset_free(rs2);
}

/* Bounds: new alerts past max_active are refused and counted; history
 * keeps the newest entries. A below-rule works the other way round. */
static void test_bounds_and_below(void **state)
{
	struct ruleset *rs = rules("[rule low]\nmetric = process.threads\nbelow = 2\nclear = 4\n");
	const struct rule *r = &rs->v[0];
	struct log l = { 0 };
	struct alert_engine *e = engine(&l, 3, 4);
	struct alert_engine_stats st;

	(void)state;
	alert_engine_set_rules(e, rs, 0);
	alert_engine_rule_begin(e, r);
	for (uint32_t pid = 1; pid <= 5; pid++) {
		struct alert_entity ent = { .kind = ENTITY_PROCESS, .pid = pid, .start_ns = pid };

		assert_int_equal(alert_engine_observe(e, r, &ent, 1, SEC), pid <= 3 ? 0 : -ENOSPC);
	}
	alert_engine_rule_end(e, r, SEC, "gone");
	alert_engine_get_stats(e, &st);
	assert_int_equal(st.firing, 3);
	assert_int_equal(st.refused, 2);
	assert_int_equal(st.history, 3);
	/* below-rule hysteresis: 3 keeps firing (<= clear), 5 resolves */
	alert_engine_rule_begin(e, r);
	for (uint32_t pid = 1; pid <= 3; pid++) {
		struct alert_entity ent = { .kind = ENTITY_PROCESS, .pid = pid, .start_ns = pid };

		alert_engine_observe(e, r, &ent, pid == 1 ? 3 : 5, 2 * SEC);
	}
	alert_engine_rule_end(e, r, 2 * SEC, "gone");
	alert_engine_get_stats(e, &st);
	assert_int_equal(st.firing, 1);
	assert_int_equal(st.history, 4); /* bounded: 3 firing + 2 resolved, newest 4 */
	assert_int_equal(alert_engine_history(e, 0)->state, ALERT_RESOLVED);
	assert_null(alert_engine_history(e, 4));
	assert_false(alert_rule_holds(r, NAN));
	assert_true(alert_engine_rule_active(e, r));
	alert_engine_free(e);
	ruleset_free(rs);
	assert_null(alert_engine_free(NULL));
}

/* Units and functions are entities of their own: the same pid with two
 * functions is two alerts. */
static void test_entities(void **state)
{
	struct ruleset *rs = rules("[rule f]\nmetric = function.self_pct\nabove = 30\n[rule u]\nmetric = unit.cpu_pct\n"
				   "above = 1\n");
	struct log l = { 0 };
	struct alert_engine *e = engine(&l, 100, 10);
	struct alert_entity f1 = proc1, f2 = proc1;
	const struct alert_entity u1 = { .kind = ENTITY_UNIT, .unit = "a.service" };
	const struct alert_entity u2 = { .kind = ENTITY_UNIT, .unit = "b.service" };

	(void)state;
	f1.function = "hash_search";
	f2.function = "memcpy";
	alert_engine_set_rules(e, rs, 0);
	alert_engine_rule_begin(e, &rs->v[0]);
	alert_engine_observe(e, &rs->v[0], &f1, 40, SEC);
	alert_engine_observe(e, &rs->v[0], &f2, 35, SEC);
	alert_engine_rule_end(e, &rs->v[0], SEC, "gone");
	alert_engine_rule_begin(e, &rs->v[1]);
	alert_engine_observe(e, &rs->v[1], &u1, 5, SEC);
	alert_engine_observe(e, &rs->v[1], &u2, 5, SEC);
	alert_engine_observe(e, &rs->v[1], &u2, 6, SEC); /* the same entity again */
	alert_engine_rule_end(e, &rs->v[1], SEC, "gone");
	assert_int_equal(counts(e).firing, 4);
	round1(e, &rs->v[0], 2, &f2, 35);
	assert_int_equal(counts(e).firing, 3);
	assert_string_equal(alert_engine_history(e, 0)->function, "hash_search");
	alert_engine_free(e);
	ruleset_free(rs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lifecycle),	     cmocka_unit_test(test_flapping),
		cmocka_unit_test(test_exit_while_firing),  cmocka_unit_test(test_reload_while_firing),
		cmocka_unit_test(test_bounds_and_below),   cmocka_unit_test(test_entities),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
