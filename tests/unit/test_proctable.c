/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for the process table, against fixture /proc trees in
 * $PROFD_FIXTURES/proc (see the pids listed below). */
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

/* Fixture pids:
 * 4101 nginx, uid 33, start 123456 ticks; 4102 comm "(a) b)";
 * 4103 kernel thread (empty cmdline, no exe); 4104 truncated stat;
 * 4105 garbage status; 4106 no exe link; 4107 starttime 999999 (a newer
 * process on a reused pid); 4108 cmdline longer than 4 KiB;
 * 4199 has no directory at all. */

static char procfs[PATH_MAX];

static uint64_t ticks_ns(uint64_t ticks)
{
	return ticks * (1000000000ull / (uint64_t)sysconf(_SC_CLK_TCK));
}

static int setup(void **state)
{
	const char *fx = getenv("PROFD_FIXTURES");

	(void)state;
	snprintf(procfs, sizeof(procfs), "%s/proc", fx ? fx : "tests/fixtures");
	return access(procfs, R_OK) == 0 ? 0 : -1;
}

static struct proctable *mk(size_t max)
{
	struct proctable *t = NULL;
	assert_int_equal(proctable_new(procfs, max, &t), 0);

	assert_non_null(t);
	return t;
}

static struct proctable_stats stats(const struct proctable *t)
{
	struct proctable_stats st;

	proctable_get_stats(t, &st);
	return st;
}

static void test_normal(void **state)
{
	struct proctable *t = mk(100);
	const struct proc_info *p;
	uint32_t id;

	(void)state;
	id = proctable_get(t, 4101, ticks_ns(123456), "bpfcomm", 1000);
	assert_true(id >= 16);
	p = proctable_info(t, id);
	assert_non_null(p);
	assert_int_equal(p->id, id);
	assert_int_equal(p->tgid, 4101);
	assert_int_equal(p->start_ns, ticks_ns(123456));
	assert_string_equal(p->comm, "nginx"); /* /proc beats the event */
	assert_int_equal(p->uid, 33);          /* real, not effective (34) */
	assert_int_equal(p->ppid, 1);
	assert_string_equal(p->cmdline, "/usr/sbin/nginx -g daemon off;");
	assert_string_equal(p->exe, "/usr/sbin/nginx");
	assert_int_equal(p->first_seen_ns, 1000);
	assert_int_equal(p->exit_ns, 0);

	/* the same key is the same entry; last use moves */
	assert_int_equal(proctable_get(t, 4101, ticks_ns(123456), NULL, 2000), id);
	assert_int_equal(p->last_used_ns, 2000);
	assert_int_equal(p->first_seen_ns, 1000);
	/* same tgid, another start time: another process */
	assert_int_not_equal(proctable_get(t, 4101, ticks_ns(123999), "x", 2000), id);
	assert_int_equal(stats(t).procs, 2);
	assert_int_equal(stats(t).proc_read_errors, 0);
	assert_null(proctable_free(t));
	assert_null(proctable_free(NULL));
}

static void test_weird_comm(void **state)
{
	struct proctable *t = mk(100);
	const struct proc_info *p;

	(void)state;
	/* ±1 tick of rounding is accepted */
	p = proctable_info(t, proctable_get(t, 4102, ticks_ns(200001), "a", 1));
	assert_non_null(p);
	assert_string_equal(p->comm, "(a) b)");
	assert_int_equal(p->ppid, 4101);
	assert_int_equal(p->uid, 1000);
	assert_string_equal(p->cmdline, "./weird arg with space");
	assert_string_equal(p->exe, "/opt/weird/bin/a b");
	assert_int_equal(stats(t).proc_read_errors, 0);
	proctable_free(t);
}

static void test_kernel_thread(void **state)
{
	struct proctable *t = mk(100);
	const struct proc_info *p;

	(void)state;
	p = proctable_info(t, proctable_get(t, 4103, ticks_ns(50), NULL, 1));
	assert_non_null(p);
	assert_string_equal(p->comm, "kworker/0:1");
	assert_int_equal(p->uid, 0);
	assert_int_equal(p->ppid, 2);
	/* known to be empty: "" (NULL would mean unknown) */
	assert_non_null(p->cmdline);
	assert_string_equal(p->cmdline, "");
	assert_null(p->exe);
	assert_int_equal(stats(t).proc_read_errors, 0);
	proctable_free(t);
}

static void test_malformed(void **state)
{
	struct proctable *t = mk(100);
	const struct proc_info *p;

	(void)state;
	/* truncated stat: start time unverifiable, nothing lent */
	p = proctable_info(t, proctable_get(t, 4104, ticks_ns(777), "trunc-bpf", 1));
	assert_non_null(p);
	assert_string_equal(p->comm, "trunc-bpf");
	assert_null(p->cmdline);
	assert_null(p->exe);
	assert_int_equal(p->uid, UINT32_MAX);
	assert_int_equal(stats(t).proc_read_errors, 1);

	/* garbage status: uid unknown, the rest is kept */
	p = proctable_info(t, proctable_get(t, 4105, ticks_ns(300000), "g", 1));
	assert_non_null(p);
	assert_string_equal(p->comm, "garbage");
	assert_int_equal(p->uid, UINT32_MAX);
	assert_string_equal(p->cmdline, "garbage --flag");
	assert_string_equal(p->exe, "/usr/bin/garbage");
	assert_int_equal(stats(t).proc_read_errors, 2);

	/* missing exe: expected, not an error */
	p = proctable_info(t, proctable_get(t, 4106, ticks_ns(300100), "n", 1));
	assert_non_null(p);
	assert_null(p->exe);
	assert_string_equal(p->cmdline, "noexe");
	assert_int_equal(p->uid, 1001);
	assert_int_equal(stats(t).proc_read_errors, 2);

	/* cmdline bounded */
	p = proctable_info(t, proctable_get(t, 4108, ticks_ns(400000), "l", 1));
	assert_non_null(p);
	assert_non_null(p->cmdline);
	assert_true(strlen(p->cmdline) <= 4096);
	assert_true(strlen(p->cmdline) > 4000);
	assert_memory_equal(p->cmdline, "xxxx", 4);

	/* a process gone from /proc: not an error either */
	p = proctable_info(t, proctable_get(t, 4199, ticks_ns(5), "gone", 1));
	assert_non_null(p);
	assert_string_equal(p->comm, "gone");
	assert_null(p->cmdline);
	assert_int_equal(stats(t).proc_read_errors, 2);
	proctable_free(t);
}

static void test_reused_pid(void **state)
{
	struct proctable *t = mk(100);
	const struct proc_info *p;
	uint32_t old, new;

	(void)state;
	/* /proc/4107 belongs to a process started at tick 999999; ours
	 * started at 300000: its data must not be lent to ours */
	old = proctable_get(t, 4107, ticks_ns(300000), "oldproc", 1);
	p = proctable_info(t, old);
	assert_string_equal(p->comm, "oldproc");
	assert_null(p->cmdline);
	assert_null(p->exe);
	assert_int_equal(p->uid, UINT32_MAX);
	assert_int_equal(p->ppid, 0);
	assert_int_equal(stats(t).proc_read_errors, 0);

	new = proctable_get(t, 4107, ticks_ns(999999), NULL, 2);
	assert_int_not_equal(old, new);
	p = proctable_info(t, new);
	assert_string_equal(p->comm, "newproc");
	assert_string_equal(p->cmdline, "/usr/bin/newproc");
	/* the newest process of a tgid */
	assert_int_equal(proctable_find_tgid(t, 4107)->id, new);
	assert_null(proctable_find_tgid(t, 4242));
	proctable_free(t);
}

static void test_exec_exit(void **state)
{
	struct proctable *t = mk(100);
	const struct proc_info *p;
	uint32_t id;

	(void)state;
	id = proctable_get(t, 4101, ticks_ns(123456), NULL, 1);
	proctable_note_exec(t, 4101, ticks_ns(123456), 77, "newname", "./relative/bin", 10);
	p = proctable_info(t, id);
	assert_string_equal(p->comm, "newname");
	assert_int_equal(p->ppid, 77);
	/* /proc/PID/exe (absolute, resolved) is preferred to the argument */
	assert_string_equal(p->exe, "/usr/sbin/nginx");
	assert_string_equal(p->cmdline, "/usr/sbin/nginx -g daemon off;");
	assert_int_equal(p->last_used_ns, 10);

	/* exec of a process already gone from /proc: the event's data */
	proctable_note_exec(t, 4199, ticks_ns(9), 1, "short", "/usr/bin/short", 11);
	p = proctable_find_tgid(t, 4199);
	assert_non_null(p);
	assert_string_equal(p->comm, "short");
	assert_string_equal(p->exe, "/usr/bin/short");
	assert_int_equal(p->ppid, 1);
	assert_null(p->cmdline);

	assert_int_equal(stats(t).alive, 2);
	proctable_note_exit(t, 4101, ticks_ns(123456), 3, 20);
	p = proctable_info(t, id);
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
	assert_non_null(proctable_info(t, id));
	proctable_free(t);
}

static void test_reap(void **state)
{
	struct proctable *t = mk(100);
	uint32_t live, reused, gone, trunc;

	(void)state;
	live = proctable_get(t, 4101, ticks_ns(123456), NULL, 1);
	reused = proctable_get(t, 4107, ticks_ns(300000), NULL, 1);
	gone = proctable_get(t, 4199, ticks_ns(5), NULL, 1);
	trunc = proctable_get(t, 4104, ticks_ns(777), NULL, 1);
	assert_int_equal(stats(t).alive, 4);
	proctable_reap(t, 50);
	assert_int_equal(proctable_info(t, live)->exit_ns, 0);
	assert_int_equal(proctable_info(t, reused)->exit_ns, 50);
	assert_int_equal(proctable_info(t, gone)->exit_ns, 50);
	/* unreadable is not proof of death */
	assert_int_equal(proctable_info(t, trunc)->exit_ns, 0);
	assert_int_equal(stats(t).alive, 2);
	/* again: the dead keep their exit time */
	proctable_reap(t, 60);
	assert_int_equal(proctable_info(t, gone)->exit_ns, 50);
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
	assert_string_equal(proctable_info(t, d)->comm, "garbage");
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
	assert_string_equal(proctable_info(t, n)->comm, "garbage");

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
	assert_int_equal(proctable_new(procfs, 0, &(struct proctable *){ NULL }), -EINVAL);
	assert_true(proctable_new(NULL, 10, &(struct proctable *){ NULL }) < 0);
	/* USER_HZ conversion */
	assert_int_equal(proctable_ns_to_ticks(ticks_ns(123456)), 123456);
	assert_int_equal(proctable_ns_to_ticks(ticks_ns(123456) + ticks_ns(1) - 1), 123456);
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
	proctable_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normal),
		cmocka_unit_test(test_weird_comm),
		cmocka_unit_test(test_kernel_thread),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_reused_pid),
		cmocka_unit_test(test_exec_exit),
		cmocka_unit_test(test_reap),
		cmocka_unit_test(test_gc),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_collect_on_demand),
		cmocka_unit_test(test_pseudo),
		cmocka_unit_test(test_foreach),
		cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
