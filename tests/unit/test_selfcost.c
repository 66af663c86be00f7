/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for selfcost: thread roles and program groups by name, the
 * per-thread reader on a fixture task directory (threads that appear,
 * rename themselves and exit), the last-minute and since-start figures
 * from recorded snapshots (a window shorter than a minute at start, one
 * minute later, BPF time over the time statistics were on only), and the
 * statistics state from a fixture sysctl. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/threads.h"
#include "collect/selfcost.h"

#define S 1000000000ull

static void test_names(void **state)
{
	(void)state;
	assert_int_equal(selfcost_role_of("profd", 1), SC_ROLE_LOOP);
	assert_int_equal(selfcost_role_of("profd", 0), SC_ROLE_OTHER);
	assert_int_equal(selfcost_role_of(THREAD_NAME_COLLECTOR, 0), SC_ROLE_COLLECTOR);
	assert_int_equal(selfcost_role_of(THREAD_NAME_SYM_LOAD, 0), SC_ROLE_SYMBOLS);
	assert_int_equal(selfcost_role_of(THREAD_NAME_SYM_IDENT, 0), SC_ROLE_SYMBOLS);
	assert_int_equal(selfcost_role_of(THREAD_NAME_SYM_EXEC, 0), SC_ROLE_SYMBOLS);
	assert_int_equal(selfcost_role_of(THREAD_NAME_DEBUGINFOD, 0), SC_ROLE_DEBUGINFOD);
	assert_int_equal(selfcost_role_of(THREAD_NAME_UNWIND, 0), SC_ROLE_UNWIND);
	assert_int_equal(selfcost_role_of(THREAD_NAME_QUERY, 0), SC_ROLE_QUERY);
	assert_int_equal(selfcost_role_of(THREAD_NAME_NOTIFY, 0), SC_ROLE_NOTIFY);
	/* every thread name fits the kernel's 15 characters */
	assert_true(strlen(THREAD_NAME_DEBUGINFOD) <= 15 && strlen(THREAD_NAME_SYM_IDENT) <= 15);

	assert_int_equal(selfcost_prog_of("profd_sample"), SC_PROG_SAMPLE);
	assert_int_equal(selfcost_prog_of("profd_sample_unwind"), SC_PROG_SAMPLE);
	assert_int_equal(selfcost_prog_of("profd_sched_switch"), SC_PROG_SCHED_SWITCH);
	assert_int_equal(selfcost_prog_of("profd_sched_wakeup_new"), SC_PROG_SCHED_WAKEUP);
	assert_int_equal(selfcost_prog_of("profd_sched_runtime"), SC_PROG_SCHED_RUNTIME);
	assert_int_equal(selfcost_prog_of("profd_rq_complete"), SC_PROG_BLKIO);
	assert_int_equal(selfcost_prog_of("profd_unw_exec"), SC_PROG_PROC);
	assert_int_equal(selfcost_prog_of("something_else"), SC_PROG_OTHER);
	assert_int_equal(selfcost_prog_of(NULL), SC_PROG_OTHER);
	assert_string_equal(selfcost_role_name(SC_ROLE_COLLECTOR), "collector");
	assert_string_equal(selfcost_prog_name(SC_PROG_SCHED_SWITCH), "sched_switch");
	assert_string_equal(selfcost_stats_name(SC_STATS_OFF), "off");
	assert_string_equal(selfcost_stats_name(SC_STATS_PROFD), "profd");
}

static struct selfcost *new_sc(uint64_t start)
{
	struct selfcost *sc;

	assert_int_equal(selfcost_new(&(struct selfcost_opts){ .task_dir = "/nonexistent", .start_mono_ns = start,
							       .self_tid = 1 },
				      &sc),
			 0);
	return sc;
}

static void rec(struct selfcost *sc, uint64_t t, uint64_t cpu, uint64_t loop, uint64_t sample_ns,
		uint64_t sample_runs, enum selfcost_bpf_stats st)
{
	struct selfcost_sample s = { .mono_ns = t, .cpu_ns = cpu };

	s.role_ns[SC_ROLE_LOOP] = loop;
	s.role_ns[SC_ROLE_OTHER] = cpu - loop;
	s.prog_ns[SC_PROG_SAMPLE] = sample_ns;
	s.prog_runs[SC_PROG_SAMPLE] = sample_runs;
	selfcost_record(sc, &s, st);
}

static void test_windows(void **state)
{
	struct selfcost *sc = new_sc(100 * S);
	struct selfcost_stats st;

	(void)state;
	selfcost_get(sc, &st);
	assert_true(isnan(st.total_pct) && isnan(st.cpu_pct));
	assert_int_equal(st.bpf_stats, SC_STATS_OFF);

	/* started at 100 s; 1 s later: 20 ms of CPU since start, all of it
	 * start-up; stats on (since start, then) */
	rec(sc, 101 * S, 20000000, 15000000, 1000000, 100, SC_STATS_SYSCTL);
	/* then one reading a second for 90 s: 2 ms of CPU and 1 ms of BPF
	 * (200 runs of 5 us) each second */
	for (int i = 1; i <= 90; i++)
		rec(sc, (101 + i) * S, 20000000 + i * 2000000ull, 15000000 + i * 1500000ull, 1000000 + i * 1000000ull,
		    100 + i * 200ull, SC_STATS_SYSCTL);
	selfcost_get(sc, &st);
	assert_int_equal(st.bpf_stats, SC_STATS_SYSCTL);
	assert_float_equal(st.window_s, 60.0, 1e-9);
	assert_float_equal(st.cpu_pct, 0.2, 1e-9);
	assert_float_equal(st.role_pct[SC_ROLE_LOOP], 0.15, 1e-9);
	assert_float_equal(st.role_pct[SC_ROLE_OTHER], 0.05, 1e-9);
	assert_float_equal(st.bpf_pct, 0.1, 1e-9);
	assert_float_equal(st.total_pct, 0.3, 1e-9);
	assert_float_equal(st.prog_ns_per_run[SC_PROG_SAMPLE], 5000.0, 1e-9);
	assert_float_equal(st.prog_runs_per_s[SC_PROG_SAMPLE], 200.0, 1e-9);
	assert_true(isnan(st.prog_ns_per_run[SC_PROG_SCHED_SWITCH]));
	assert_float_equal(st.bpf_covered_s, 60.0, 1e-9);
	/* since start (91 s): 200 ms CPU, 91 ms BPF over 91 s */
	assert_float_equal(st.uptime_s, 91.0, 1e-9);
	assert_float_equal(st.cpu_pct_start, 100.0 * 0.2 / 91.0, 1e-9);
	assert_float_equal(st.bpf_pct_start, 100.0 * 0.091 / 91.0, 1e-9);
	assert_int_equal(st.cpu_ns, 200000000);
	assert_int_equal(st.prog_runs[SC_PROG_SAMPLE], 100 + 90 * 200);
	selfcost_free(sc);
}

static void test_short_window_and_stats_off(void **state)
{
	struct selfcost *sc = new_sc(0);
	struct selfcost_stats st;

	(void)state;
	/* statistics off for the first 20 s: no BPF figure, no total */
	for (int i = 0; i <= 20; i++)
		rec(sc, (uint64_t)i * S, (uint64_t)i * 1000000, 0, 0, 0, SC_STATS_OFF);
	selfcost_get(sc, &st);
	assert_float_equal(st.window_s, 20.0, 1e-9);
	assert_float_equal(st.cpu_pct, 0.1, 1e-9);
	assert_true(isnan(st.bpf_pct));
	assert_true(isnan(st.total_pct));
	assert_float_equal(st.bpf_covered_s, 0.0, 1e-9);

	/* on for the next 10 s: 4 ms of BPF; the share is over those 10 s */
	for (int i = 21; i <= 30; i++)
		rec(sc, (uint64_t)i * S, (uint64_t)i * 1000000, 0, (uint64_t)(i - 20) * 400000, (uint64_t)(i - 20) * 100,
		    SC_STATS_OTHER);
	selfcost_get(sc, &st);
	assert_int_equal(st.bpf_stats, SC_STATS_OTHER);
	assert_float_equal(st.window_s, 30.0, 1e-9);
	assert_float_equal(st.bpf_covered_s, 10.0, 1e-9);
	assert_float_equal(st.bpf_pct, 0.04, 1e-9);
	assert_float_equal(st.total_pct, 0.14, 1e-9);

	/* a reading that goes backwards (a failed read) is held */
	rec(sc, 31 * S, 0, 0, 0, 0, SC_STATS_OTHER);
	selfcost_get(sc, &st);
	assert_int_equal(st.cpu_ns, 30000000);
	assert_int_equal(st.prog_ns[SC_PROG_SAMPLE], 4000000);
	selfcost_free(sc);
}

static void test_ring_wraps(void **state)
{
	struct selfcost *sc = new_sc(0);
	struct selfcost_stats st;

	(void)state;
	/* ten minutes at one reading a second: the window stays a minute */
	for (int i = 0; i <= 600; i++)
		rec(sc, (uint64_t)i * S, (uint64_t)i * 3000000, 0, 0, 0, SC_STATS_OFF);
	selfcost_get(sc, &st);
	assert_float_equal(st.window_s, 60.0, 1e-9);
	assert_float_equal(st.cpu_pct, 0.3, 1e-9);
	assert_float_equal(st.cpu_pct_start, 0.3, 1e-9);
	selfcost_free(sc);
}

/* ---- the reader, on a fixture /proc/self/task ---- */

static char dir[64];

static void put(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void thread(uint32_t tid, const char *comm, uint64_t ns)
{
	char rel[64], text[128];

	snprintf(rel, sizeof(rel), "%u", tid);
	snprintf(text, sizeof(text), "%s/%s", dir, rel);
	mkdir(text, 0755);
	snprintf(rel, sizeof(rel), "%u/comm", tid);
	snprintf(text, sizeof(text), "%s\n", comm);
	put(rel, text);
	snprintf(rel, sizeof(rel), "%u/schedstat", tid);
	snprintf(text, sizeof(text), "%llu 1234 56\n", (unsigned long long)ns);
	put(rel, text);
}

static void gone(uint32_t tid)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%u/comm", dir, tid);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%u/schedstat", dir, tid);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%u", dir, tid);
	rmdir(path);
}

static void test_reader(void **state)
{
	char sysctl[128];
	struct selfcost *sc;
	struct selfcost_stats st;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_selfcost.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(sysctl, sizeof(sysctl), "%s/bpf_stats_enabled", dir);
	put("bpf_stats_enabled", "0\n");
	thread(100, "profd", 5000000);
	thread(101, THREAD_NAME_COLLECTOR, 1000000);
	/* named like its creator: not named yet */
	thread(102, "profd", 200000);
	assert_int_equal(selfcost_new(&(struct selfcost_opts){ .task_dir = dir, .stats_sysctl = sysctl,
							       .start_mono_ns = 1, .self_tid = 100 },
				      &sc),
			 0);
	assert_int_equal(selfcost_tick(sc, 10 * S), 1);
	/* less than a second later: nothing recorded */
	assert_int_equal(selfcost_tick(sc, 10 * S + 100000000), 0);
	selfcost_get(sc, &st);
	assert_int_equal(st.role_ns[SC_ROLE_LOOP], 5000000);
	assert_int_equal(st.role_ns[SC_ROLE_COLLECTOR], 1000000);
	assert_int_equal(st.bpf_stats, SC_STATS_OFF);

	/* 102 names itself, 101 runs 3 ms more, 103 appears; statistics on */
	thread(102, THREAD_NAME_QUERY, 700000);
	thread(101, THREAD_NAME_COLLECTOR, 4000000);
	thread(103, THREAD_NAME_UNWIND, 2000000);
	put("bpf_stats_enabled", "1\n");
	assert_int_equal(selfcost_tick(sc, 11 * S), 1);
	selfcost_get(sc, &st);
	assert_int_equal(st.bpf_stats, SC_STATS_SYSCTL);
	assert_int_equal(st.role_ns[SC_ROLE_COLLECTOR], 4000000);
	/* its first 0.2 ms counted before it had its name: stays where it was
	 * counted; the rest goes to its role */
	assert_int_equal(st.role_ns[SC_ROLE_QUERY], 500000);
	assert_int_equal(st.role_ns[SC_ROLE_UNWIND], 2000000);
	gone(101);
	thread(100, "profd", 6000000);
	assert_int_equal(selfcost_tick(sc, 12 * S), 1);
	selfcost_get(sc, &st);
	/* cumulative by role: an exited thread's time stays counted */
	assert_int_equal(st.role_ns[SC_ROLE_COLLECTOR], 4000000);
	assert_int_equal(st.role_ns[SC_ROLE_LOOP], 6000000);
	assert_float_equal(st.role_pct[SC_ROLE_LOOP], 100.0 * 1000000 / (2.0 * S), 1e-9);
	/* no program: BPF time is 0 while statistics are on */
	assert_float_equal(st.bpf_pct, 0.0, 1e-9);
	/* a descriptor that is not a BPF program: counted as a failed read */
	assert_int_equal(selfcost_add_prog(sc, "profd_sample", 0), 0);
	assert_int_equal(selfcost_tick(sc, 13 * S), 1);
	selfcost_get(sc, &st);
	assert_true(st.read_failures >= 1);
	assert_int_equal(st.progs, 1);
	selfcost_forget_progs(sc);
	selfcost_get(sc, &st);
	assert_int_equal(st.progs, 0);
	selfcost_free(sc);

	gone(100);
	gone(102);
	gone(103);
	unlink(sysctl);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_windows),
		cmocka_unit_test(test_short_window_and_stats_off),
		cmocka_unit_test(test_ring_wraps),
		cmocka_unit_test(test_reader),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
