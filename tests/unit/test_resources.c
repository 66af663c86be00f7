/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for collect/resources.c on a fixture procfs, without BPF:
 * discovery of processes, first-time and per-tick /proc reads turned into
 * window deltas (faults, /proc I/O) and gauges (RSS, threads, fds), the
 * unit from the cgroup, a reused pid whose /proc no longer matches, and the
 * system CPU, memory, load and PSI from /proc/stat, meminfo, loadavg and
 * pressure. Time is injected as the daemon's tick would pass it. */
#include <errno.h>
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

#include "collect/resources.h"
#include "store/proctable.h"
#include "store/window.h"

#define S 1000000000ull
#define T0 (5000 * S)
#define USER_HZ_NS 10000000ull /* USER_HZ 100 */

static char root[256];

__attribute__((format(printf, 2, 3)))
static void put(const char *rel, const char *fmt, ...)
{
	char path[512];
	va_list ap;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

struct fproc {
	unsigned pid;
	const char *comm;
	unsigned long long start_ticks, minflt, majflt, rss_kb, rbytes, wbytes;
	unsigned threads, fds;
	const char *cgroup;
};

static void mkproc(const struct fproc *p)
{
	char rel[512];

	snprintf(rel, sizeof(rel), "%s/%u", root, p->pid);
	mkdir(rel, 0755);
	snprintf(rel, sizeof(rel), "%s/%u/fd", root, p->pid);
	mkdir(rel, 0755);
	for (unsigned i = 0; i < p->fds; i++) {
		snprintf(rel, sizeof(rel), "%u/fd/%u", p->pid, i);
		put(rel, "%s", "");
	}
	snprintf(rel, sizeof(rel), "%u/stat", p->pid);
	put(rel, "%u (%s) S 1 %u %u 0 -1 4194560 %llu 0 %llu 0 10 5 0 0 20 0 %u 0 %llu 12345678 %llu "
		 "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0\n",
	    p->pid, p->comm, p->pid, p->pid, p->minflt, p->majflt, p->threads, p->start_ticks, p->rss_kb / 4);
	snprintf(rel, sizeof(rel), "%u/status", p->pid);
	put(rel, "Name:\t%s\nState:\tS (sleeping)\nTgid:\t%u\nPid:\t%u\nPPid:\t1\nUid:\t0\t0\t0\t0\n"
		 "VmRSS:\t%llu kB\nRssAnon:\t%llu kB\nRssFile:\t0 kB\nRssShmem:\t0 kB\nThreads:\t%u\n"
		 "voluntary_ctxt_switches:\t1\nnonvoluntary_ctxt_switches:\t0\n",
	    p->comm, p->pid, p->pid, p->rss_kb, p->rss_kb, p->threads);
	snprintf(rel, sizeof(rel), "%u/io", p->pid);
	put(rel, "rchar: 0\nwchar: 0\nsyscr: 0\nsyscw: 0\nread_bytes: %llu\nwrite_bytes: %llu\ncancelled_write_bytes: 0\n",
	    p->rbytes, p->wbytes);
	snprintf(rel, sizeof(rel), "%u/cgroup", p->pid);
	put(rel, "0::%s\n", p->cgroup);
	snprintf(rel, sizeof(rel), "%u/cmdline", p->pid);
	put(rel, "%s%c--flag", p->comm, 0);
}

/* /proc/stat with all CPU time in user, idle and steal (ticks). */
static void mksys(unsigned long long user, unsigned long long idle, unsigned long long steal)
{
	put("stat", "cpu  %llu 0 0 %llu 0 0 0 %llu 0 0\n"
		    "cpu0 %llu 0 0 %llu 0 0 0 %llu 0 0\n"
		    "cpu1 %llu 0 0 %llu 0 0 0 %llu 0 0\n"
		    "ctxt 1\nbtime 1\nprocesses 10\nprocs_running 1\nprocs_blocked 0\n",
	    user, idle, steal, user / 2, idle / 2, steal / 2, user - user / 2, idle - idle / 2, steal - steal / 2);
}

static int setup(void **state)
{
	char path[512];

	(void)state;
	snprintf(root, sizeof(root), "/tmp/profd-test-resources-XXXXXX");
	assert_non_null(mkdtemp(root));
	snprintf(path, sizeof(path), "%s/pressure", root);
	mkdir(path, 0755);
	mksys(1000, 3000, 0);
	put("meminfo", "MemTotal:       16000000 kB\nMemFree:         8000000 kB\nMemAvailable:   12000000 kB\n"
		       "Buffers:          100000 kB\nCached:          2000000 kB\nSwapTotal:       1000000 kB\n"
		       "SwapFree:         900000 kB\nShmem:             10000 kB\n");
	put("loadavg", "1.50 0.75 0.25 2/300 4242\n");
	put("pressure/cpu", "some avg10=12.50 avg60=5.00 avg300=1.00 total=123456\n");
	put("pressure/memory", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
			       "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
	put("pressure/io", "some avg10=3.00 avg60=0.00 avg300=0.00 total=99\n"
			   "full avg10=1.00 avg60=0.00 avg300=0.00 total=9\n");
	return 0;
}

static int teardown(void **state)
{
	char cmd[600];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

struct visit {
	uint32_t proc;
	struct wcounters c;
	int found;
	struct wcounters sys;
	int found_sys;
};

static void on_counters(uint32_t proc, const struct wcounters *c, void *ctx)
{
	struct visit *v = ctx;

	if (proc == v->proc) {
		v->c = *c;
		v->found = 1;
	}
	if (proc == PROC_ID_SYSTEM) {
		v->sys = *c;
		v->found_sys = 1;
	}
}

/* The daemon's tick k: drain at the boundary, attribute to the slot that
 * just ended, then let the windows close it. */
static void tick(struct resources *r, struct window *w, unsigned k)
{
	uint64_t boundary = T0 + k * S, now = boundary + 5000000;

	resources_tick(r, now, boundary - 1);
	window_tick(w, now);
}

static struct visit query(struct window *w, unsigned k, uint32_t proc)
{
	struct visit v = { .proc = proc };
	struct window_range wr;

	assert_true(window_query_counters(w, T0 + k * S, 60 * S, on_counters, &v, &wr) >= 0);
	return v;
}

static void test_fixture_procfs(void **state)
{
	struct fproc web = { .pid = 100, .comm = "nginx", .start_ticks = 4000, .minflt = 500, .majflt = 2,
			     .rss_kb = 20480, .rbytes = 4096, .wbytes = 0, .threads = 4, .fds = 7,
			     .cgroup = "/system.slice/nginx.service" };
	struct fproc db = { .pid = 200, .comm = "postgres", .start_ticks = 4100, .minflt = 10, .majflt = 0,
			    .rss_kb = 102400, .rbytes = 0, .wbytes = 8192, .threads = 1, .fds = 3,
			    .cgroup = "/system.slice/postgresql@15-main.service" };
	struct window_opts wo = {
		.ntiers = 2,
		.tier = { { .slot_ns = S, .slots = 600 }, { .slot_ns = 60 * S, .slots = 60 } },
		.max_bytes = 16 << 20,
	};
	struct proctable *pt = NULL;
	struct window *w = NULL;
	struct resources *r = NULL;
	const struct proc_info *pw, *pd;
	const struct res_system *sys;
	struct res_gauges g;
	struct res_stats st;
	struct visit v;

	(void)state;
	mkproc(&web);
	mkproc(&db);
	assert_int_equal(proctable_new(root, 64, &pt), 0);
	assert_int_equal(window_new(&wo, T0, &w), 0);
	/* inputs are checked */
	assert_int_equal(resources_new(&(struct resources_opts){ .procs = pt }, &r), -EINVAL);
	assert_int_equal(resources_new(&(struct resources_opts){ .procs = pt, .win = w, .procfs = root,
								  .nvml_path = "", .tick_ns = S, .max_procs = 64,
								  .no_kstats = 1 },
				       &r),
			 0);
	assert_int_equal(resources_exact_cpu(r), 0);

	/* Tick 1: both processes are discovered and read once. */
	tick(r, w, 1);
	pw = proctable_find_tgid(pt, 100);
	pd = proctable_find_tgid(pt, 200);
	assert_non_null(pw);
	assert_non_null(pd);
	assert_string_equal(pw->comm, "nginx");
	assert_int_equal(pw->start_ns, 4000 * USER_HZ_NS);
	assert_int_equal(resources_gauges(r, pw->id, &g), 0);
	assert_int_equal(g.rss, 20480ull * 1024);
	assert_int_equal(g.threads, 4);
	assert_int_equal(g.fds, 7);
	assert_string_equal(resources_unit(r, pw->id), "nginx.service");
	assert_string_equal(resources_unit(r, pd->id), "postgresql@15-main.service");
	/* the first read is a baseline: no deltas yet, gauges recorded */
	v = query(w, 1, pw->id);
	assert_true(v.found);
	assert_int_equal(v.c.sum[WC_MINFLT], 0);
	assert_int_equal(v.c.gauge_last[WG_RSS], 20480ull * 1024);

	/* Tick 2: counters moved; the whole system was busy for half of it. */
	web.minflt += 100;
	web.majflt += 3;
	web.rbytes += 40960;
	web.rss_kb = 30720;
	web.fds = 9;
	mkproc(&web);
	mksys(1000 + 100, 3000 + 100, 0);
	tick(r, w, 2);
	sys = resources_system(r);
	assert_int_equal(sys->ncpu, 2);
	assert_true(sys->cpu_pct > 49.9 && sys->cpu_pct < 50.1);
	assert_true(sys->mem_ok);
	assert_int_equal(sys->mem.total, 16000000ull * 1024);
	assert_int_equal(sys->mem.available, 12000000ull * 1024);
	assert_true(sys->load_ok);
	assert_true(sys->load.load1 > 1.49 && sys->load.load1 < 1.51);
	assert_true(sys->psi_ok);
	assert_true(sys->psi.cpu.some.avg10 > 12.49 && sys->psi.cpu.some.avg10 < 12.51);

	/* Processes that did not run (no scheduler counters here) are re-read
	 * once every 10 ticks, a slice of them each tick: after 10 ticks
	 * every change is in the window, counted once. */
	for (unsigned k = 3; k <= 11; k++)
		tick(r, w, k);
	v = query(w, 11, pw->id);
	assert_true(v.found);
	assert_int_equal(v.c.sum[WC_MINFLT], 100);
	assert_int_equal(v.c.sum[WC_MAJFLT], 3);
	assert_int_equal(v.c.sum[WC_PROC_RBYTES], 40960);
	assert_int_equal(v.c.gauge_last[WG_RSS], 30720ull * 1024);
	assert_int_equal(v.c.gauge_last[WG_FDS], 9);
	assert_true(v.found_sys);
	assert_int_equal(v.sys.sum[WC_CPU_NS], 100 * USER_HZ_NS);
	assert_int_equal(v.sys.sum[WC_OFFCPU_NS], 200 * USER_HZ_NS);
	assert_int_equal(resources_gauges(r, pw->id, &g), 0);
	assert_int_equal(g.rss, 30720ull * 1024);

	/* Steal counts as busy: a host whose CPU the hypervisor took. */
	mksys(1100 + 20, 3100 + 60, 20);
	tick(r, w, 12);
	sys = resources_system(r);
	assert_true(sys->cpu_pct > 39.9 && sys->cpu_pct < 40.1);

	/* Pid 200 was reused by another process: its /proc is not taken for
	 * the old one (read counted as failed, gauges unchanged). */
	resources_get_stats(r, &st);
	db.start_ticks = 9999;
	db.rss_kb = 1;
	db.minflt = 999999;
	mkproc(&db);
	for (unsigned k = 13; k < 25; k++)
		tick(r, w, k);
	{
		struct res_stats st2;

		resources_get_stats(r, &st2);
		assert_true(st2.proc_read_fail > st.proc_read_fail);
	}
	assert_int_equal(resources_gauges(r, pd->id, &g), 0);
	assert_int_equal(g.rss, 102400ull * 1024);
	v = query(w, 24, pd->id);
	assert_int_equal(v.c.sum[WC_MINFLT], 0);

	resources_free(r);
	window_free(w);
	proctable_free(pt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fixture_procfs, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
