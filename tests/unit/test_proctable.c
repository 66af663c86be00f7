/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for the process table: keys, identities handed in (the table
 * reads no /proc: the collector does, see test_resources.c), the want hook,
 * lifecycle events, collection and bounds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/proctable.h"

static uint64_t ticks_ns(uint64_t ticks)
{
	return ticks * (1000000000ull / (uint64_t)sysconf(_SC_CLK_TCK));
}

static struct proctable *mk(size_t max)
{
	struct proctable *t = NULL;
	assert_int_equal(proctable_new(NULL, max, &t), 0);

	assert_non_null(t);
	return t;
}

static struct proctable_stats stats(const struct proctable *t)
{
	struct proctable_stats st;

	proctable_get_stats(t, &st);
	return st;
}

/* What the want hook was handed. */
struct wants {
	struct proctable_want v[16];
	int n;
};

static void on_want(void *ctx, const struct proctable_want *w)
{
	struct wants *ws = ctx;

	if (ws->n < 16)
		ws->v[ws->n] = *w;
	ws->n++;
}

static struct proc_identity ident(const char *comm, uint32_t ppid, uint32_t uid, const char *cmdline, const char *exe)
{
	struct proc_identity id = { .ppid = ppid, .uid = uid };

	snprintf(id.comm, sizeof(id.comm), "%s", comm);
	id.cmdline = cmdline ? strdup(cmdline) : NULL;
	id.exe = exe ? strdup(exe) : NULL;
	return id;
}

static void test_normal(void **state)
{
	struct proctable *t = mk(100);
	const struct proc_info *p;
	struct wants ws = { 0 };
	struct proc_identity id;
	uint32_t i;

	(void)state;
	proctable_set_want_fn(t, on_want, &ws);
	i = proctable_get(t, 4101, ticks_ns(123456), "bpfcomm", 1000);
	assert_true(i >= 16);
	/* a new entry asks for its identity, once */
	assert_int_equal(ws.n, 1);
	assert_int_equal(ws.v[0].tgid, 4101);
	assert_int_equal(ws.v[0].start_ns, ticks_ns(123456));
	assert_int_equal(ws.v[0].flags, 0);
	p = proctable_info(t, i);
	assert_non_null(p);
	assert_int_equal(p->id, i);
	assert_int_equal(p->tgid, 4101);
	assert_int_equal(p->start_ns, ticks_ns(123456));
	/* until the identity arrives: what the sample said */
	assert_string_equal(p->comm, "bpfcomm");
	assert_int_equal(p->uid, UINT32_MAX);
	assert_null(p->cmdline);
	assert_int_equal(p->first_seen_ns, 1000);
	assert_int_equal(p->exit_ns, 0);
	assert_ptr_equal(proctable_lookup(t, 4101, ticks_ns(123456)), p);
	assert_null(proctable_lookup(t, 4101, ticks_ns(123457)));

	id = ident("nginx", 1, 33, "/usr/sbin/nginx -g daemon off;", "/usr/sbin/nginx");
	id.read_errors = 2;
	assert_int_equal(proctable_set_identity(t, 4101, ticks_ns(123456), &id, 0), 0);
	assert_null(id.cmdline); /* taken over */
	assert_null(id.exe);
	assert_string_equal(p->comm, "nginx"); /* /proc beats the event */
	assert_int_equal(p->uid, 33);
	assert_int_equal(p->ppid, 1);
	assert_string_equal(p->cmdline, "/usr/sbin/nginx -g daemon off;");
	assert_string_equal(p->exe, "/usr/sbin/nginx");
	assert_int_equal(stats(t).proc_read_errors, 2);
	assert_int_equal(stats(t).identities, 1);
	assert_int_equal(stats(t).wants, 1);

	/* the same key is the same entry, no new want; last use moves */
	assert_int_equal(proctable_get(t, 4101, ticks_ns(123456), NULL, 2000), i);
	assert_int_equal(ws.n, 1);
	assert_int_equal(p->last_used_ns, 2000);
	assert_int_equal(p->first_seen_ns, 1000);
	/* same tgid, another start time: another process */
	assert_int_not_equal(proctable_get(t, 4101, ticks_ns(123999), "x", 2000), i);
	assert_int_equal(ws.n, 2);
	assert_int_equal(stats(t).procs, 2);
	/* the newest process of a tgid */
	assert_int_equal(proctable_find_tgid(t, 4101)->start_ns, ticks_ns(123999));
	assert_null(proctable_find_tgid(t, 4242));
	/* an identity for an entry not held */
	id = ident("x", 1, 1, "x", NULL);
	assert_int_equal(proctable_set_identity(t, 4242, ticks_ns(1), &id, 0), -ENOENT);
	free(id.cmdline);
	assert_null(proctable_free(t));
	assert_null(proctable_free(NULL));
}

static void test_identity_rules(void **state)
{
	struct proctable *t = mk(100);
	const struct proc_info *p;
	struct wants ws = { 0 };
	struct proc_identity id;
	uint32_t i;

	(void)state;
	proctable_set_want_fn(t, on_want, &ws);
	/* unknown fields keep what the table had */
	i = proctable_get(t, 4103, ticks_ns(50), "kworker/0:1", 1);
	proctable_set_uid(t, i, 0);
	id = ident("", UINT32_MAX, UINT32_MAX, "", NULL);
	assert_int_equal(proctable_set_identity(t, 4103, ticks_ns(50), &id, 0), 0);
	p = proctable_info(t, i);
	assert_string_equal(p->comm, "kworker/0:1");
	assert_int_equal(p->uid, 0);
	/* known to be empty: "" (NULL would mean unknown) */
	assert_non_null(p->cmdline);
	assert_string_equal(p->cmdline, "");
	assert_null(p->exe);

	/* a process found by a /proc scan: created with its identity, no
	 * want raised; its gauges will refer to it, so it counts as used */
	id = ident("(a) b)", 4101, 1000, "./weird arg with space", "/opt/weird/bin/a b");
	i = proctable_add(t, 4102, ticks_ns(200000), &id, 5);
	assert_true(i >= 16);
	assert_null(id.cmdline);
	assert_int_equal(ws.n, 1);
	p = proctable_info(t, i);
	assert_string_equal(p->comm, "(a) b)");
	assert_int_equal(p->ppid, 4101);
	assert_int_equal(p->uid, 1000);
	assert_string_equal(p->exe, "/opt/weird/bin/a b");
	assert_int_equal(p->last_used_ns, 5);
	/* found again later: the same entry, its identity kept */
	id = ident("other", 1, 1, "other", NULL);
	assert_int_equal(proctable_add(t, 4102, ticks_ns(200000), &id, 6), i);
	assert_non_null(id.cmdline); /* not taken: the entry had one */
	free(id.cmdline);
	assert_string_equal(p->cmdline, "./weird arg with space");
	/* ... but an entry without one yet takes it */
	i = proctable_get(t, 4106, ticks_ns(300100), "n", 7);
	id = ident("noexe", 1, 1001, "noexe", NULL);
	assert_int_equal(proctable_add(t, 4106, ticks_ns(300100), &id, 8), i);
	assert_string_equal(proctable_info(t, i)->cmdline, "noexe");
	assert_int_equal(proctable_add(t, 0, 0, NULL, 9), PROC_ID_IDLE);
	proctable_free(t);
}

static void test_exec_exit(void **state)
{
	struct proctable *t = mk(100);
	const struct proc_info *p;
	struct wants ws = { 0 };
	struct proc_identity id;
	uint32_t i;

	(void)state;
	proctable_set_want_fn(t, on_want, &ws);
	i = proctable_get(t, 4101, ticks_ns(123456), NULL, 1);
	id = ident("nginx", 1, 33, "/usr/sbin/nginx", "/usr/sbin/nginx");
	proctable_set_identity(t, 4101, ticks_ns(123456), &id, 0);
	proctable_note_exec(t, 4101, ticks_ns(123456), 77, "newname", "./relative/bin", 10);
	p = proctable_info(t, i);
	assert_string_equal(p->comm, "newname");
	assert_int_equal(p->ppid, 77);
	/* the old image's data are gone; the event's filename stands in */
	assert_null(p->cmdline);
	assert_string_equal(p->exe, "./relative/bin");
	assert_int_equal(p->last_used_ns, 10);
	/* and the identity is wanted again, for an exec */
	assert_int_equal(ws.n, 2);
	assert_int_equal(ws.v[1].flags, PROCTABLE_WANT_EXEC);
	/* an exec's identity: comm, cmdline, exe; ppid and uid stay */
	id = ident("newname", 1, 99, "./relative/bin --x", "/srv/relative/bin");
	assert_int_equal(proctable_set_identity(t, 4101, ticks_ns(123456), &id, PROCTABLE_WANT_EXEC), 0);
	assert_string_equal(p->cmdline, "./relative/bin --x");
	assert_string_equal(p->exe, "/srv/relative/bin");
	assert_int_equal(p->ppid, 77);
	assert_int_equal(p->uid, 33);

	/* exec of a process never seen: created, wanted as new */
	proctable_note_exec(t, 4199, ticks_ns(9), 1, "short", "/usr/bin/short", 11);
	p = proctable_find_tgid(t, 4199);
	assert_non_null(p);
	assert_string_equal(p->comm, "short");
	assert_string_equal(p->exe, "/usr/bin/short");
	assert_int_equal(p->ppid, 1);
	assert_null(p->cmdline);
	assert_int_equal(ws.n, 3);
	assert_int_equal(ws.v[2].flags, 0);

	assert_int_equal(stats(t).alive, 2);
	proctable_note_exit(t, 4101, ticks_ns(123456), 3, 20);
	p = proctable_info(t, i);
	assert_int_equal(p->exit_ns, 20);
	assert_int_equal(p->exit_code, 3);
	assert_int_equal(stats(t).alive, 1);
	/* twice: no double count */
	proctable_note_exit(t, 4101, ticks_ns(123456), 3, 21);
	assert_int_equal(stats(t).alive, 1);
	assert_int_equal(p->exit_ns, 20);
	/* unknown process: nothing created */
	proctable_note_exit(t, 4102, ticks_ns(200000), 0, 22);
	assert_int_equal(stats(t).procs, 2);
	/* the dead stay visible until collected */
	assert_non_null(proctable_info(t, i));
	proctable_free(t);
}

static void test_note_gone(void **state)
{
	struct proctable *t = mk(100);
	uint32_t live, gone;

	(void)state;
	live = proctable_get(t, 4101, ticks_ns(123456), NULL, 1);
	gone = proctable_get(t, 4199, ticks_ns(5), NULL, 1);
	assert_int_equal(stats(t).alive, 2);
	/* /proc says gone: exited now */
	proctable_note_gone(t, 4199, ticks_ns(5), 50);
	assert_int_equal(proctable_info(t, gone)->exit_ns, 50);
	assert_int_equal(proctable_info(t, live)->exit_ns, 0);
	assert_int_equal(stats(t).alive, 1);
	/* again: the dead keep their exit time, no double count */
	proctable_note_gone(t, 4199, ticks_ns(5), 60);
	assert_int_equal(proctable_info(t, gone)->exit_ns, 50);
	assert_int_equal(stats(t).alive, 1);
	/* another start time on the pid, or an unknown pid: nothing */
	proctable_note_gone(t, 4101, ticks_ns(999), 70);
	proctable_note_gone(t, 4242, ticks_ns(1), 70);
	assert_int_equal(proctable_info(t, live)->exit_ns, 0);
	assert_int_equal(stats(t).procs, 2);
	proctable_free(t);
}

static void test_gc(void **state)
{
	struct proctable *t = mk(100);
	uint32_t a, b, c, d;

	(void)state;
	a = proctable_get(t, 4101, ticks_ns(123456), NULL, 10);
	b = proctable_get(t, 4102, ticks_ns(200000), NULL, 10);
	c = proctable_get(t, 4103, ticks_ns(50), NULL, 10);
	proctable_note_exit(t, 4101, ticks_ns(123456), 0, 20);
	proctable_note_exit(t, 4102, ticks_ns(200000), 0, 20);
	proctable_get(t, 4102, ticks_ns(200000), NULL, 40); /* late sample */

	/* alive entries are never collected, dead ones once unused */
	assert_int_equal(proctable_gc(t, 20), 0);
	assert_int_equal(proctable_gc(t, 30), 1);
	assert_null(proctable_info(t, a));
	assert_non_null(proctable_info(t, b));
	assert_non_null(proctable_info(t, c));
	assert_int_equal(stats(t).collected, 1);
	assert_int_equal(stats(t).procs, 2);
	/* the freed index is reused, under a new generation: the old id
	 * (still in old window data) does not name the new process */
	d = proctable_get(t, 4105, ticks_ns(300000), NULL, 50);
	assert_int_equal(proctable_id_index(d), proctable_id_index(a));
	assert_int_not_equal(d, a);
	assert_null(proctable_info(t, a));
	assert_string_equal(proctable_info(t, d)->comm, "");
	/* and a collected process seen again is a new entry, not a ghost */
	assert_true(proctable_get(t, 4101, ticks_ns(123456), NULL, 60) >= 16);
	assert_int_equal(stats(t).procs, 4);
	proctable_free(t);
}

static void test_bound(void **state)
{
	struct proctable *t = mk(3);
	const struct proc_info *p;
	uint32_t a, n;

	(void)state;
	a = proctable_get(t, 4101, ticks_ns(123456), NULL, 1);
	proctable_get(t, 4102, ticks_ns(200000), NULL, 2);
	proctable_get(t, 4103, ticks_ns(50), NULL, 3);
	assert_int_equal(proctable_get(t, 4105, ticks_ns(300000), NULL, 4), PROC_ID_OVERFLOW);
	assert_int_equal(stats(t).full_drops, 1);
	/* known processes still resolve when full */
	assert_int_equal(proctable_get(t, 4101, ticks_ns(123456), NULL, 5), a);

	/* a full table of live processes refuses new ones */
	assert_int_equal(proctable_gc(t, 3), 0);
	assert_int_equal(proctable_get(t, 4106, ticks_ns(300100), NULL, 6), PROC_ID_OVERFLOW);
	assert_int_equal(stats(t).full_drops, 2);

	/* a dead process the windows still refer to is evicted when the
	 * table is full (counted as expired); its id no longer resolves */
	proctable_note_exit(t, 4101, ticks_ns(123456), 0, 6);
	n = proctable_get(t, 4105, ticks_ns(300000), NULL, 7);
	assert_true(n >= 16 && n != PROC_ID_OVERFLOW);
	assert_int_equal(proctable_id_index(n), proctable_id_index(a));
	assert_null(proctable_info(t, a));
	assert_int_equal(stats(t).expired, 1);
	assert_int_equal(stats(t).procs, 3);
	assert_string_equal(proctable_info(t, n)->comm, "");

	/* the pseudo-entry its samples go to */
	p = proctable_info(t, PROC_ID_OVERFLOW);
	assert_non_null(p);
	assert_string_equal(p->comm, "[table full]");
	assert_int_equal(p->id, PROC_ID_OVERFLOW);
	proctable_free(t);
}

static void test_collect_on_demand(void **state)
{
	struct proctable *t = mk(2);
	uint32_t a, n;

	(void)state;
	a = proctable_get(t, 4101, ticks_ns(123456), NULL, 10);
	proctable_get(t, 4102, ticks_ns(200000), NULL, 10);
	assert_int_equal(proctable_gc(t, 50), 0); /* windows start at 50 */
	/* exit reported late, stamped 20: no window refers to it after 50 */
	proctable_note_exit(t, 4101, ticks_ns(123456), 0, 20);
	n = proctable_get(t, 4103, ticks_ns(50), NULL, 60);
	assert_int_equal(proctable_id_index(n), proctable_id_index(a));
	assert_int_equal(stats(t).collected, 1);
	assert_int_equal(stats(t).full_drops, 0);
	proctable_free(t);
}

static void test_pseudo(void **state)
{
	struct proctable *t = mk(10);
	const struct proc_info *p;

	(void)state;
	assert_int_equal(proctable_get(t, 0, 0, "swapper/0", 1), PROC_ID_IDLE);
	p = proctable_info(t, PROC_ID_IDLE);
	assert_non_null(p);
	assert_string_equal(p->comm, "[idle]");
	assert_null(proctable_info(t, PROC_ID_NONE));
	assert_null(proctable_info(t, 5));
	assert_null(proctable_info(t, 16));
	assert_int_equal(stats(t).procs, 0);
	assert_int_equal(proctable_new(NULL, 0, &(struct proctable *){ NULL }), -EINVAL);
	assert_int_equal(proctable_new(NULL, 1u << PROCTABLE_ID_INDEX_BITS, &(struct proctable *){ NULL }), -EINVAL);
	/* USER_HZ conversion, both ways */
	assert_int_equal(proctable_user_hz(), (uint64_t)sysconf(_SC_CLK_TCK));
	assert_int_equal(proctable_ns_to_ticks(ticks_ns(123456)), 123456);
	assert_int_equal(proctable_ns_to_ticks(ticks_ns(123456) + ticks_ns(1) - 1), 123456);
	assert_int_equal(proctable_ticks_to_ns(123456), ticks_ns(123456));
	assert_int_equal(proctable_ns_to_ticks(proctable_ticks_to_ns(987654321)), 987654321);
	assert_int_equal(proctable_ticks_to_ns(UINT64_MAX), UINT64_MAX);
	assert_true(proctable_same_start(100, 101) && proctable_same_start(101, 100) && proctable_same_start(7, 7));
	assert_false(proctable_same_start(100, 102) || proctable_same_start(102, 100));
	proctable_free(t);
}

static int count_fn(const struct proc_info *p, void *ctx)
{
	int *n = ctx;

	(void)p;
	return ++*n == 2;
}

static void test_foreach(void **state)
{
	struct proctable *t = mk(10);
	int n = 0;

	(void)state;
	proctable_get(t, 4101, ticks_ns(123456), NULL, 1);
	proctable_get(t, 4102, ticks_ns(200000), NULL, 1);
	proctable_get(t, 4103, ticks_ns(50), NULL, 1);
	proctable_foreach(t, count_fn, &n);
	assert_int_equal(n, 2); /* stopped early */
	proctable_free(t);
}

static void test_many(void **state)
{
	struct proctable *t = mk(5000);

	(void)state;
	/* pids absent from the fixtures: entries from events only; exercises
	 * bucket growth, chunked storage and lookups after growth */
	for (uint32_t i = 0; i < 5000; i++)
		assert_int_equal(proctable_get(t, 100000 + i, ticks_ns(i), "p", 1), 16 + i);
	for (uint32_t i = 0; i < 5000; i += 7)
		assert_int_equal(proctable_get(t, 100000 + i, ticks_ns(i), NULL, 2), 16 + i);
	assert_int_equal(proctable_get(t, 99, 0, NULL, 2), PROC_ID_OVERFLOW);
	/* arrays by id index need this many cells */
	assert_int_equal(proctable_id_bound(t), 16 + 5000);
	assert_int_equal(proctable_id_bound(NULL), 16);
	proctable_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normal),
		cmocka_unit_test(test_identity_rules),
		cmocka_unit_test(test_exec_exit),
		cmocka_unit_test(test_note_gone),
		cmocka_unit_test(test_gc),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_collect_on_demand),
		cmocka_unit_test(test_pseudo),
		cmocka_unit_test(test_foreach),
		cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
