/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for collect/resources.c on a fixture procfs, without BPF:
 * discovery of processes, first-time and per-tick /proc reads turned into
 * window deltas (faults, /proc I/O) and gauges (RSS, threads, fds), the
 * unit from the cgroup, a reused pid whose /proc no longer matches, and the
 * system CPU, memory, load and PSI from /proc/stat, meminfo, loadavg and
 * pressure. Time is injected as the daemon's tick would pass it. */
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

#include "collect/collector.h"
#include "collect/procstat.h"
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

static struct window *mkwin(void)
{
	struct window_opts wo = {
		.ntiers = 2,
		.tier = { { .slot_ns = S, .slots = 600 }, { .slot_ns = 60 * S, .slots = 60 } },
		.max_bytes = 16 << 20,
	};
	struct window *w = NULL;

	assert_int_equal(window_new(&wo, T0, &w), 0);
	return w;
}

static struct resources *mkres(struct proctable *pt, struct window *w, const char *procfs)
{
	struct resources *r = NULL;

	assert_int_equal(resources_new(&(struct resources_opts){ .procs = pt, .win = w, .procfs = procfs,
								  .nvml_path = "", .tick_ns = S, .max_procs = 64,
								  .no_kstats = 1, .inline_collect = 1 },
				       &r),
			 0);
	return r;
}

/* The daemon's tick k: drain at the boundary, attribute to the slot that
 * just ended, then let the windows close it. */
static void tick(struct resources *r, struct window *w, unsigned k)
{
	uint64_t boundary = T0 + k * S, now = boundary + 5000000;

	resources_tick(r, now, boundary - 1);
	resources_apply(r);
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
								  .no_kstats = 1, .inline_collect = 1 },
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
	 * the old one (read counted as failed), which is marked exited (the
	 * collector's reads are the reap) and keeps no gauges; the new one is
	 * found by the next scan, a process of its own. */
	resources_get_stats(r, &st);
	db.start_ticks = 9999;
	db.rss_kb = 1;
	db.minflt = 999999;
	mkproc(&db);
	for (unsigned k = 13; k < 25; k++)
		tick(r, w, k);
	{
		struct res_stats st2;
		const struct proc_info *pn = proctable_find_tgid(pt, 200);

		resources_get_stats(r, &st2);
		assert_true(st2.proc_read_fail > st.proc_read_fail);
		assert_true(pd->exit_ns > 0);
		assert_non_null(pn);
		assert_int_not_equal(pn->id, pd->id);
		assert_int_equal(pn->start_ns, 9999 * USER_HZ_NS);
		assert_int_equal(pn->exit_ns, 0);
		assert_int_equal(resources_gauges(r, pn->id, &g), 0);
		assert_int_equal(g.rss, 1024);
	}
	assert_int_equal(resources_gauges(r, pd->id, &g), -ENOENT);
	v = query(w, 24, pd->id);
	assert_int_equal(v.c.sum[WC_MINFLT], 0);
	/* the live one was never mistaken for dead */
	assert_int_equal(pw->exit_ns, 0);

	resources_free(r);
	window_free(w);
	proctable_free(pt);
}


/* Collect and apply are apart: a round touches no store until applied;
 * deferred, snapshots queue (bounded), further rounds are skipped and
 * counted, and deltas carry over: nothing is lost. */
static void test_collect_apply_split(void **state)
{
	struct fproc app = { .pid = 300, .comm = "app", .start_ticks = 4200, .minflt = 1000, .rss_kb = 4096,
			     .threads = 2, .fds = 4, .cgroup = "/system.slice/app.service" };
	struct proctable *pt = NULL;
	struct window *w = mkwin();
	struct resources *r;
	const struct proc_info *p;
	struct res_stats st;
	struct visit v;
	unsigned k;

	(void)state;
	mkproc(&app);
	assert_int_equal(proctable_new(NULL, 64, &pt), 0);
	r = mkres(pt, w, root);

	/* collected, not applied: the store is as it was */
	resources_tick(r, T0 + S + 5000000, T0 + S - 1);
	assert_null(proctable_find_tgid(pt, 300));
	assert_int_equal(resources_gauges(r, 16, &(struct res_gauges){ 0 }), -ENOENT);
	assert_int_equal(resources_apply(r), 1); /* the snapshot (no BPF batch: nothing staged) */
	p = proctable_find_tgid(pt, 300);
	assert_non_null(p);
	/* identity from the scan: comm, cmdline, uid */
	assert_string_equal(p->comm, "app");
	assert_string_equal(p->cmdline, "app --flag");
	assert_int_equal(p->uid, 0);
	assert_int_equal(p->ppid, 1);
	assert_string_equal(resources_unit(r, p->id), "app.service");
	window_tick(w, T0 + S + 5000000);

	/* apply deferred for 8 ticks: 4 snapshots wait, 4 rounds skipped */
	for (k = 2; k < 10; k++) {
		app.minflt += 10;
		mkproc(&app);
		resources_tick(r, T0 + k * S + 5000000, T0 + k * S - 1);
	}
	assert_int_equal(resources_apply(r), COLLECT_QUEUE_MAX);
	resources_get_stats(r, &st);
	assert_int_equal(st.rounds_skipped, 8 - COLLECT_QUEUE_MAX);
	assert_int_equal(st.rounds, 1 + COLLECT_QUEUE_MAX);
	/* the queued snapshots land in the open slot; no fault was lost:
	 * reads skipped meanwhile are in the next round's delta */
	for (k = 10; k < 22; k++)
		tick(r, w, k);
	v = query(w, 21, p->id);
	assert_true(v.found);
	assert_int_equal(v.c.sum[WC_MINFLT], 80);

	resources_free(r);
	window_free(w);
	proctable_free(pt);
}

static const char *fixtures(void)
{
	const char *f = getenv("PROFD_FIXTURES");

	return f ? f : "tests/fixtures";
}

static void on_want(void *ctx, const struct proctable_want *w)
{
	collector_want(ctx, w);
}

/* Apply a whole snapshot's identities as resources_apply does. */
static void apply_identities(struct proctable *pt, struct collector *c)
{
	struct res_snapshot *sn;

	while ((sn = collector_take(c))) {
		for (uint32_t i = 0; i < sn->nprocs; i++) {
			struct snap_proc *rp = &sn->procs[i];
			struct snap_extra *x = rp->extra ? &sn->extras[rp->extra - 1] : NULL;

			if (rp->flags & SNAP_GONE)
				proctable_note_gone(pt, rp->pid, rp->start_ns, 77);
			else if ((rp->flags & SNAP_IDENT) && x)
				proctable_set_identity(pt, rp->pid, rp->start_ns, &x->id, x->want_flags);
		}
		collector_release(c, sn);
	}
}

static uint64_t proctable_get_stats_procs(const struct proctable *pt)
{
	struct proctable_stats ps;

	proctable_get_stats(pt, &ps);
	return ps.procs;
}

static uint64_t ticks_ns(uint64_t ticks)
{
	return proctable_ticks_to_ns(ticks);
}

/* Identities: a new table entry wants one; the collector reads it from
 * /proc (fixtures in $PROFD_FIXTURES/proc), verified by start time. */
static void test_identities(void **state)
{
	char procfs[512];
	struct proctable *pt = NULL;
	struct collector *c = NULL;
	const struct proc_info *p;
	struct proctable_stats ps;
	uint32_t nginx, weird, kthr, trunc, garb, noexe, longc, gone, reused, reused_new;

	(void)state;
	snprintf(procfs, sizeof(procfs), "%s/proc", fixtures());
	assert_int_equal(proctable_new(NULL, 64, &pt), 0);
	assert_int_equal(collector_new(&(struct collector_opts){ .procfs = procfs, .nvml_path = "", .tick_ns = S,
								  .max_procs = 64 }, &c), 0);
	proctable_set_want_fn(pt, on_want, c);
	nginx = proctable_get(pt, 4101, ticks_ns(123456), "bpfcomm", 1);
	weird = proctable_get(pt, 4102, ticks_ns(200001), "a", 1); /* ±1 tick of rounding */
	kthr = proctable_get(pt, 4103, ticks_ns(50), NULL, 1);
	trunc = proctable_get(pt, 4104, ticks_ns(777), "trunc-bpf", 1);
	garb = proctable_get(pt, 4105, ticks_ns(300000), "g", 1);
	noexe = proctable_get(pt, 4106, ticks_ns(300100), "n", 1);
	longc = proctable_get(pt, 4108, ticks_ns(400000), "l", 1);
	gone = proctable_get(pt, 4199, ticks_ns(5), "gone", 1);
	reused = proctable_get(pt, 4107, ticks_ns(300000), "oldproc", 1);
	assert_int_equal(collector_request(c, T0, T0 - 1, NULL, 0), 0);
	apply_identities(pt, c);

	p = proctable_info(pt, nginx);
	assert_string_equal(p->comm, "nginx"); /* /proc beats the event */
	assert_int_equal(p->uid, 33);          /* real, not effective (34) */
	assert_int_equal(p->ppid, 1);
	assert_string_equal(p->cmdline, "/usr/sbin/nginx -g daemon off;");
	assert_string_equal(p->exe, "/usr/sbin/nginx");
	p = proctable_info(pt, weird);
	assert_string_equal(p->comm, "(a) b)");
	assert_int_equal(p->ppid, 4101);
	assert_int_equal(p->uid, 1000);
	assert_string_equal(p->cmdline, "./weird arg with space");
	assert_string_equal(p->exe, "/opt/weird/bin/a b");
	p = proctable_info(pt, kthr);
	assert_string_equal(p->comm, "kworker/0:1");
	assert_int_equal(p->uid, 0);
	assert_int_equal(p->ppid, 2);
	assert_non_null(p->cmdline); /* known empty */
	assert_string_equal(p->cmdline, "");
	assert_null(p->exe);
	/* truncated stat: start time unverifiable, nothing lent, an error */
	p = proctable_info(pt, trunc);
	assert_string_equal(p->comm, "trunc-bpf");
	assert_null(p->cmdline);
	assert_int_equal(p->uid, UINT32_MAX);
	assert_int_equal(p->exit_ns, 0); /* unreadable is no proof of death */
	/* garbage status: uid unknown (an error), the rest kept */
	p = proctable_info(pt, garb);
	assert_string_equal(p->comm, "garbage");
	assert_int_equal(p->uid, UINT32_MAX);
	assert_string_equal(p->cmdline, "garbage --flag");
	assert_string_equal(p->exe, "/usr/bin/garbage");
	/* missing exe: expected, not an error */
	p = proctable_info(pt, noexe);
	assert_null(p->exe);
	assert_string_equal(p->cmdline, "noexe");
	assert_int_equal(p->uid, 1001);
	/* cmdline bounded */
	p = proctable_info(pt, longc);
	assert_true(strlen(p->cmdline) <= PROCSTAT_CMDLINE_MAX && strlen(p->cmdline) > 4000);
	assert_memory_equal(p->cmdline, "xxxx", 4);
	/* gone from /proc: exited, not an error */
	p = proctable_info(pt, gone);
	assert_string_equal(p->comm, "gone");
	assert_null(p->cmdline);
	assert_int_equal(p->exit_ns, 77);
	/* /proc/4107 is a newer process on a reused pid: nothing lent to ours,
	 * which is gone; the newer one gets its own data */
	p = proctable_info(pt, reused);
	assert_string_equal(p->comm, "oldproc");
	assert_null(p->cmdline);
	assert_int_equal(p->uid, UINT32_MAX);
	assert_int_equal(p->exit_ns, 77);
	reused_new = proctable_get(pt, 4107, ticks_ns(999999), NULL, 2);
	assert_int_not_equal(reused_new, reused);
	collector_request(c, T0 + S, T0 + S - 1, NULL, 0);
	apply_identities(pt, c);
	p = proctable_info(pt, reused_new);
	assert_string_equal(p->comm, "newproc");
	assert_string_equal(p->cmdline, "/usr/bin/newproc");
	proctable_get_stats(pt, &ps);
	assert_int_equal(ps.proc_read_errors, 2); /* 4104's stat, 4105's status */

	/* exec: comm, cmdline and exe re-read; ppid from the event, uid kept */
	proctable_note_exec(pt, 4101, ticks_ns(123456), 77, "newname", "./relative/bin", 10);
	p = proctable_info(pt, nginx);
	assert_string_equal(p->exe, "./relative/bin");
	assert_null(p->cmdline);
	collector_request(c, T0 + 2 * S, T0 + 2 * S - 1, NULL, 0);
	apply_identities(pt, c);
	assert_string_equal(p->comm, "nginx");
	assert_string_equal(p->exe, "/usr/sbin/nginx");
	assert_string_equal(p->cmdline, "/usr/sbin/nginx -g daemon off;");
	assert_int_equal(p->ppid, 77);
	assert_int_equal(p->uid, 33);

	proctable_set_want_fn(pt, NULL, NULL);
	collector_free(c);
	proctable_free(pt);
}

static struct snap_proc *find_rec(struct res_snapshot *sn, uint32_t pid)
{
	for (uint32_t i = 0; i < sn->nprocs; i++)
		if (sn->procs[i].pid == pid && (sn->procs[i].flags & SNAP_READ))
			return &sn->procs[i];
	return NULL;
}

/* Processes that ran are read every round (through a held handle once
 * hot); the others once in COLLECT_SLOW_ROUNDS rounds. */
static void test_active_and_slow(void **state)
{
	/* pid % 10 == 3: its slow slice is rounds 3, 13, ... */
	struct fproc hot = { .pid = 403, .comm = "hot", .start_ticks = 4300, .minflt = 5, .rss_kb = 100,
			     .threads = 1, .fds = 1, .cgroup = "/" };
	struct collect_key key = { .pid = 403, .start_ns = 4300 * USER_HZ_NS };
	struct collector *c = NULL;
	struct res_snapshot *sn;
	struct snap_proc *rp;
	unsigned reads = 0;

	(void)state;
	mkproc(&hot);
	assert_int_equal(collector_new(&(struct collector_opts){ .procfs = root, .nvml_path = "", .tick_ns = S,
								  .max_procs = 64, .hot_max = 4 }, &c), 0);
	/* round 1: found by the scan, read with its identity */
	collector_request(c, T0, T0 - 1, NULL, 0);
	sn = collector_take(c);
	assert_non_null(sn);
	rp = find_rec(sn, 403);
	assert_non_null(rp);
	assert_true(rp->flags & SNAP_FOUND);
	assert_true(rp->flags & SNAP_BASELINE);
	assert_string_equal(sn->extras[rp->extra - 1].id.comm, "hot");
	collector_release(c, sn);
	/* idle: rounds 2..11 read it once (round 3) */
	for (unsigned k = 2; k <= 11; k++) {
		collector_request(c, T0 + k * S, T0 + k * S - 1, NULL, 0);
		sn = collector_take(c);
		reads += find_rec(sn, 403) != NULL;
		assert_int_equal(sn->stats.handles, 0);
		collector_release(c, sn);
	}
	assert_int_equal(reads, 1);
	/* it runs: read every round, through a held handle after the first */
	for (unsigned k = 12; k <= 15; k++) {
		hot.minflt += 7;
		mkproc(&hot);
		collector_request(c, T0 + k * S, T0 + k * S - 1, &key, 1);
		sn = collector_take(c);
		rp = find_rec(sn, 403);
		assert_non_null(rp);
		assert_int_equal(rp->minflt, 7);
		assert_int_equal(sn->stats.handles, 1);
		if (k > 12)
			assert_true(sn->stats.handle_reads >= k - 12);
		collector_release(c, sn);
	}
	/* idle again: the handle is closed after HOT_IDLE_ROUNDS rounds */
	for (unsigned k = 16; k <= 30; k++) {
		collector_request(c, T0 + k * S, T0 + k * S - 1, NULL, 0);
		sn = collector_take(c);
		collector_release(c, sn);
	}
	collector_request(c, T0 + 31 * S, T0 + 31 * S - 1, NULL, 0);
	sn = collector_take(c);
	assert_int_equal(sn->stats.handles, 0);
	assert_int_equal(sn->stats.followed, 1);
	collector_release(c, sn);
	collector_free(c);
}

static void on_sys(uint32_t proc, const struct wcounters *c, void *ctx)
{
	if (proc == PROC_ID_SYSTEM)
		*(struct wcounters *)ctx = *c;
}

/* System: steal in the windows and the status figure; the per-CPU list by
 * CPU id with CPUs offline shown as unknown; idle samples. */
static void test_system(void **state)
{
	struct proctable *pt = NULL;
	struct window *w = mkwin();
	struct resources *r;
	const struct res_system *sys;
	struct wcounters sc;
	struct window_range wr;
	struct res_stats st;

	(void)state;
	assert_int_equal(proctable_new(NULL, 64, &pt), 0);
	mksys(1000, 3000, 0);
	r = mkres(pt, w, root);
	assert_true(isnan(((void)resources_get_stats(r, &st), st.host_steal_pct)));
	/* 100 ticks on 2 CPUs: 40 busy of which 20 steal, 60 idle */
	mksys(1000 + 20, 3000 + 60, 20);
	resources_note_idle(r, 7);
	tick(r, w, 1);
	sys = resources_system(r);
	assert_true(sys->cpu_pct > 39.9 && sys->cpu_pct < 40.1);
	assert_true(sys->steal_pct > 19.9 && sys->steal_pct < 20.1);
	assert_int_equal(sys->ncpu, 2);
	assert_true(sys->per_cpu[0] > 39.9 && sys->per_cpu[0] < 40.1);
	assert_true(sys->per_cpu[1] > 39.9 && sys->per_cpu[1] < 40.1);
	resources_get_stats(r, &st);
	assert_true(st.host_steal_pct > 19.9 && st.host_steal_pct < 20.1);
	/* CPU 1 goes offline, CPU 2 comes up: by id, 1 unknown */
	put("stat", "cpu  1100 0 0 3100 0 0 0 20 0 0\n"
		    "cpu0 550 0 0 1550 0 0 0 10 0 0\n"
		    "cpu2 40 0 0 60 0 0 0 0 0 0\n"
		    "ctxt 1\nbtime 1\nprocesses 10\nprocs_running 1\nprocs_blocked 0\n");
	resources_note_idle(r, 10);
	tick(r, w, 2);
	put("stat", "cpu  1200 0 0 3200 0 0 0 20 0 0\n"
		    "cpu0 600 0 0 1600 0 0 0 10 0 0\n"
		    "cpu2 90 0 0 110 0 0 0 0 0 0\n"
		    "ctxt 1\nbtime 1\nprocesses 10\nprocs_running 1\nprocs_blocked 0\n");
	tick(r, w, 3);
	sys = resources_system(r);
	assert_int_equal(sys->ncpu, 3);
	assert_true(sys->per_cpu[0] > 49.9 && sys->per_cpu[0] < 50.1);
	assert_true(sys->per_cpu[1] < 0);
	assert_true(sys->per_cpu[2] > 49.9 && sys->per_cpu[2] < 50.1);
	/* over the window: busy, elapsed, steal, idle samples */
	memset(&sc, 0, sizeof(sc));
	assert_true(window_query_counters(w, T0 + 3 * S, 10 * S, on_sys, &sc, &wr) >= 0);
	assert_int_equal(sc.sum[WC_STEAL_NS], 20 * USER_HZ_NS);
	assert_int_equal(sc.sum[WC_CPU_NS], (40 + 80 + 100) * USER_HZ_NS);
	assert_int_equal(sc.sum[WC_IDLE_SAMPLES], 10);
	resources_free(r);
	window_free(w);
	proctable_free(pt);
}

/* The apply budget: a burst of new processes is spread over ticks (the
 * loop's time per tick stays bounded), nothing is lost, the carry-over is
 * counted. */
static void test_apply_budget(void **state)
{
	struct proctable *pt = NULL;
	struct window *w = mkwin();
	struct resources *r = NULL;
	struct res_stats st;
	unsigned k;

	(void)state;
	for (unsigned i = 0; i < 7; i++) {
		struct fproc f = { .pid = 500 + i, .comm = "burst", .start_ticks = 4400 + i, .minflt = 1, .rss_kb = 64,
				   .threads = 1, .fds = 1, .cgroup = "/" };

		mkproc(&f);
	}
	assert_int_equal(proctable_new(NULL, 64, &pt), 0);
	assert_int_equal(resources_new(&(struct resources_opts){ .procs = pt, .win = w, .procfs = root, .nvml_path = "",
								  .tick_ns = S, .max_procs = 64, .no_kstats = 1,
								  .inline_collect = 1, .apply_budget = 3 },
				       &r),
			 0);
	/* tick 1: 7 found, 3 applied */
	resources_tick(r, T0 + S + 5000000, T0 + S - 1);
	assert_int_equal(resources_apply(r), 0); /* the snapshot is not done */
	assert_int_equal(proctable_get_stats_procs(pt), 3);
	resources_get_stats(r, &st);
	assert_int_equal(st.apply_carried, 1);
	/* without new rounds, the rest goes 3 at a time */
	assert_int_equal(resources_apply(r), 0);
	assert_int_equal(proctable_get_stats_procs(pt), 6);
	assert_int_equal(resources_apply(r), 1);
	assert_int_equal(proctable_get_stats_procs(pt), 7);
	/* and every one has its gauges, unit, identity */
	for (unsigned i = 0; i < 7; i++) {
		const struct proc_info *p = proctable_find_tgid(pt, 500 + i);
		struct res_gauges g;

		assert_non_null(p);
		assert_string_equal(p->cmdline, "burst --flag");
		assert_int_equal(resources_gauges(r, p->id, &g), 0);
		assert_int_equal(g.rss, 64 * 1024);
	}
	for (k = 2; k < 5; k++)
		tick(r, w, k);
	resources_free(r);
	window_free(w);
	proctable_free(pt);
}

/* Without scheduler counters the samples say which processes ran: one
 * noted as sampled is read at the next round, as one the counters saw
 * run; one not sampled only in its slow slice. */
static void test_sampled(void **state)
{
	struct fproc hot = { .pid = 403, .comm = "hot", .start_ticks = 4300, .minflt = 5, .rss_kb = 100,
			     .threads = 1, .fds = 1, .cgroup = "/" };
	struct proctable *pt = NULL;
	struct window *w = mkwin();
	struct resources *r;
	struct res_stats st;
	uint64_t before;

	(void)state;
	mkproc(&hot);
	assert_int_equal(proctable_new(root, 64, &pt), 0);
	r = mkres(pt, w, root);
	assert_int_equal(resources_exact_cpu(r), 0);
	tick(r, w, 1); /* found by the scan */
	resources_get_stats(r, &st);
	before = st.proc_reads;
	for (unsigned k = 2; k <= 11; k++)
		tick(r, w, k);
	resources_get_stats(r, &st);
	assert_int_equal(st.proc_reads - before, 1); /* its slow slice only */
	for (unsigned k = 12; k <= 16; k++) {
		before = st.proc_reads;
		/* twice in a row, as consecutive samples of one process come */
		resources_note_sampled(r, 403, 4300 * USER_HZ_NS);
		resources_note_sampled(r, 403, 4300 * USER_HZ_NS);
		tick(r, w, k);
		resources_get_stats(r, &st);
		assert_int_equal(st.proc_reads - before, 1);
	}
	resources_free(r);
	window_free(w);
	proctable_free(pt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fixture_procfs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_collect_apply_split, setup, teardown),
		cmocka_unit_test(test_identities),
		cmocka_unit_test_setup_teardown(test_active_and_slow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_system, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sampled, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
