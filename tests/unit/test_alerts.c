/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for alerts/alerts.c: the whole evaluation on a fixture procfs
 * and a real store, without BPF, with injected time (one tick per second):
 * a CPU rule on a "burner" fed samples with known kernel stacks (named
 * from a fixture kallsyms) fires after `for` with those stacks as
 * evidence; a descriptor rule, a unit rule and a host PSI rule fire; a
 * function-share rule fires on the function holding 2/3 of the samples;
 * a steadily growing RSS trips the leak rule while a sawtooth does not;
 * the burner exits and its alert resolves with its evidence kept; a
 * reload removes a rule; the replies carry the members docs/protocol.md
 * promises. */
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
#include <json-c/json.h>

#include "alerts/alerts.h"
#include "base/loop.h"
#include "net/http.h"
#include "alerts/rules.h"
#include "collect/resources.h"
#include "store/proctable.h"
#include "store/stacks.h"
#include "store/window.h"
#include "symbols/symbolizer.h"

#define S 1000000000ull
#define T0 (5000 * S)
#define FREQ 100

static char root[256];

__attribute__((format(printf, 2, 3))) static void put(const char *rel, const char *fmt, ...)
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

static void mkproc(unsigned pid, const char *comm, unsigned long long start, unsigned long long rss_kb, unsigned fds,
		   const char *cgroup)
{
	char rel[512];

	snprintf(rel, sizeof(rel), "%s/%u", root, pid);
	mkdir(rel, 0755);
	snprintf(rel, sizeof(rel), "%s/%u/fd", root, pid);
	mkdir(rel, 0755);
	for (unsigned i = 0; i < fds; i++) {
		snprintf(rel, sizeof(rel), "%u/fd/%u", pid, i);
		put(rel, "%s", "");
	}
	snprintf(rel, sizeof(rel), "%u/stat", pid);
	put(rel, "%u (%s) S 1 %u %u 0 -1 4194560 0 0 0 0 10 5 0 0 20 0 1 0 %llu 12345678 %llu "
		 "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0\n",
	    pid, comm, pid, pid, start, rss_kb / 4);
	snprintf(rel, sizeof(rel), "%u/status", pid);
	put(rel, "Name:\t%s\nState:\tS (sleeping)\nTgid:\t%u\nPid:\t%u\nPPid:\t1\nUid:\t0\t0\t0\t0\n"
		 "VmRSS:\t%llu kB\nRssAnon:\t%llu kB\nRssFile:\t0 kB\nRssShmem:\t0 kB\nThreads:\t1\n",
	    comm, pid, pid, rss_kb, rss_kb);
	snprintf(rel, sizeof(rel), "%u/io", pid);
	put(rel, "rchar: 0\nwchar: 0\nsyscr: 0\nsyscw: 0\nread_bytes: 0\nwrite_bytes: 0\ncancelled_write_bytes: 0\n");
	snprintf(rel, sizeof(rel), "%u/cgroup", pid);
	put(rel, "0::%s\n", cgroup);
	snprintf(rel, sizeof(rel), "%u/cmdline", pid);
	put(rel, "%s", comm);
}

static int setup(void **state)
{
	char path[512];

	(void)state;
	snprintf(root, sizeof(root), "/tmp/profd-test-alerts-XXXXXX");
	assert_non_null(mkdtemp(root));
	snprintf(path, sizeof(path), "%s/pressure", root);
	mkdir(path, 0755);
	put("stat", "cpu  1000 0 0 3000 0 0 0 0 0 0\ncpu0 1000 0 0 3000 0 0 0 0 0 0\n");
	put("meminfo", "MemTotal:       16000000 kB\nMemFree:         8000000 kB\nMemAvailable:   12000000 kB\n");
	put("loadavg", "1.50 0.75 0.25 2/300 4242\n");
	put("pressure/cpu", "some avg10=12.50 avg60=5.00 avg300=1.00 total=123456\n");
	put("pressure/memory", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
	put("pressure/io", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
	return 0;
}

static int teardown(void **state)
{
	char cmd[600];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

struct world {
	struct proctable *pt;
	struct window *w;
	struct stacks *st;
	struct symbolizer *sym;
	struct resources *res;
	struct alerts *a;
	struct alerts_src src;
	struct alerts_opts opts;
	struct loop *lp;             /* the HTTP receivers' engine (never run here) */
	struct net *net;
	uint32_t hot, warm;          /* stack ids */
	unsigned k;                  /* ticks so far */
};

static void world_new(struct world *wd)
{
	struct window_opts wo = { .ntiers = 1, .tier = { { .slot_ns = S, .slots = 600 } }, .max_bytes = 64 << 20 };
	char kallsyms[512];
	const char *fx = getenv("PROFD_FIXTURES");
	/* kernel stacks, leaf first: do_one_initcall <- _stext, and
	 * local_helper <- do_one_initcall <- _stext */
	struct frame hot[] = { { 0, 1, 0xffffffff81000110ull }, { 0, 1, 0xffffffff81000050ull } };
	struct frame warm[] = { { 0, 1, 0xffffffff81000210ull }, { 0, 1, 0xffffffff81000120ull },
				{ 0, 1, 0xffffffff81000050ull } };

	memset(wd, 0, sizeof(*wd));
	snprintf(kallsyms, sizeof(kallsyms), "%s/kallsyms.txt", fx ? fx : "tests/fixtures");
	assert_int_equal(proctable_new(root, 64, &wd->pt), 0);
	assert_int_equal(window_new(&wo, T0, &wd->w), 0);
	assert_int_equal(stacks_new(1024, &wd->st), 0);
	assert_int_equal(symbolizer_new(&(struct symbolizer_opts){ .procfs = root, .kallsyms = kallsyms,
								      .debug_dirs = "/nonexistent", .cache_bytes = 1 << 20,
								      .max_objects = 64, .no_worker = 1 },
					&wd->sym),
			 0);
	assert_int_equal(resources_new(&(struct resources_opts){ .procs = wd->pt, .win = wd->w, .procfs = root,
								      .nvml_path = "", .tick_ns = S, .max_procs = 64,
								      .no_kstats = 1, .inline_collect = 1 },
				       &wd->res),
			 0);
	wd->hot = stacks_intern(wd->st, hot, 2, 0, T0);
	wd->warm = stacks_intern(wd->st, warm, 3, 0, T0);
	wd->opts = (struct alerts_opts){ .host = "testhost", .history = 100, .max_active = 100,
					 .stacks_refresh_ns = 10 * S, .max_procs = 64, .log = 1,
					 .http = { .timeout_ms = 1000, .max_attempts = 1, .backoff_min_ms = 10,
						   .backoff_max_ms = 10, .max_queue = 4 } };
	assert_int_equal(loop_new(&wd->lp), 0);
	assert_int_equal(net_new(wd->lp, &wd->net), 0);
	wd->opts.net = wd->net;
	assert_int_equal(alerts_new(&wd->opts, &wd->a), 0);
	wd->src = (struct alerts_src){
		.prof = { .win = wd->w, .stacks = wd->st, .procs = wd->pt, .sym = wd->sym, .start_ns = T0,
			  .frequency = FREQ },
		.res = wd->res,
		.procfs = root,
	};
}

static void world_free(struct world *wd)
{
	alerts_free(wd->a);
	net_free(wd->net);
	loop_free(wd->lp);
	resources_free(wd->res);
	symbolizer_free(wd->sym);
	stacks_free(wd->st);
	window_free(wd->w);
	proctable_free(wd->pt);
}

static void set_rules(struct world *wd, const char *text)
{
	struct ruleset *rs;
	char err[512];

	assert_int_equal(ruleset_new(&rs), 0);
	if (ruleset_load_buffer(rs, "t.conf", text, strlen(text), RULES_FILE, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(alerts_set_rules(wd->a, rs, T0 + wd->k * S), 0);
}

/* One daemon tick: the burner (if alive) gets 60 + 30 samples of its two
 * stacks in the slot that ends now, then resources, windows and alerts. */
static void tick(struct world *wd, int burner_alive)
{
	uint64_t boundary = T0 + ++wd->k * S, now = boundary + 5000000;
	const struct proc_info *b = proctable_find_tgid(wd->pt, 100);

	if (burner_alive && b) {
		window_add(wd->w, boundary - 1, b->id, wd->hot, 60);
		window_add(wd->w, boundary - 1, b->id, wd->warm, 30);
	}
	resources_tick(wd->res, now, boundary - 1);
	resources_apply(wd->res);
	window_tick(wd->w, now);
	wd->src.prof.data_until_ns = boundary;
	alerts_tick(wd->a, &wd->src, now);
}

struct found {
	const char *rule;
	unsigned pid;
	const char *function;
	struct json_object *o;
};

/* The alert of rule (and pid, function) in an `alerts` reply, NULL if none. */
static struct json_object *find(struct json_object *list, const char *rule, unsigned pid, const char *function)
{
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		struct json_object *x = json_object_array_get_idx(list, i), *v;

		if (strcmp(json_object_get_string(json_object_object_get(x, "rule")), rule))
			continue;
		if (pid && (!json_object_object_get_ex(x, "pid", &v) || (unsigned)json_object_get_int(v) != pid))
			continue;
		if (function && (!json_object_object_get_ex(x, "function", &v) || strcmp(json_object_get_string(v), function)))
			continue;
		return x;
	}
	return NULL;
}

static const char *state_of(struct world *wd, const char *rule, unsigned pid, const char *function)
{
	static char buf[32];
	struct json_object *o = alerts_list_json(wd->a, 0, NULL), *x;

	x = find(json_object_object_get(o, "alerts"), rule, pid, function);
	snprintf(buf, sizeof(buf), "%s", x ? json_object_get_string(json_object_object_get(x, "state")) : "none");
	json_object_put(o);
	return buf;
}

static void test_end_to_end(void **state)
{
	struct world wd;
	struct json_object *o, *x, *st, *fr, *h, *v;
	int saw_firing = 0;

	(void)state;
	mkproc(100, "burner", 4000, 10240, 5, "/system.slice/burn.service");
	mkproc(300, "fdhog", 4100, 10240, 12, "/system.slice/fd.service");
	world_new(&wd);
	set_rules(&wd, "[rule cpu]\nmetric = process.cpu_pct\nmatch = comm:burner\nabove = 50\nfor = 3s\nclear = 20\n"
		       "window = 10s\nsummary = {comm} ({pid}) at {value:.0f}% CPU for {for}\n"
		       "[rule fds]\nmetric = process.fds\nabove = 10\n"
		       "[rule ufds]\nmetric = unit.fds\nmatch = unit:burn*\nabove = 3\n"
		       "[rule fn]\nmetric = function.self_pct\nmatch = comm:burner\nfunction = do_one*\nabove = 40\nwindow = 10s\n"
		       "[rule psi]\nmetric = host.psi.cpu_some\nabove = 10\nseverity = critical\n"
		       "[rule quiet]\nmetric = process.fds\nmatch = comm:nothing-like-this\nabove = 0\n");
	/* tick 1 discovers the processes: samples from tick 2 on, so at tick
	 * 3 the burner has 180 samples in 3 s: 60 % */
	tick(&wd, 1);
	tick(&wd, 1);
	tick(&wd, 1);
	assert_string_equal(state_of(&wd, "fds", 300, NULL), "firing");
	assert_string_equal(state_of(&wd, "fds", 100, NULL), "none");
	assert_string_equal(state_of(&wd, "ufds", 0, NULL), "firing");
	assert_string_equal(state_of(&wd, "psi", 0, NULL), "firing");
	assert_string_equal(state_of(&wd, "cpu", 100, NULL), "pending");
	assert_string_equal(state_of(&wd, "fn", 100, "do_one_initcall"), "firing");
	tick(&wd, 1);
	tick(&wd, 1);
	assert_string_equal(state_of(&wd, "cpu", 100, NULL), "pending");
	tick(&wd, 1); /* 3 s after it became pending */
	assert_string_equal(state_of(&wd, "cpu", 100, NULL), "firing");
	for (int i = 0; i < 6; i++) /* a full 10 s window of samples */
		tick(&wd, 1);

	o = alerts_list_json(wd.a, 0, "cpu");
	assert_int_equal(json_object_array_length(json_object_object_get(o, "alerts")), 1);
	x = json_object_array_get_idx(json_object_object_get(o, "alerts"), 0);
	assert_string_equal(json_object_get_string(json_object_object_get(x, "comm")), "burner");
	assert_string_equal(json_object_get_string(json_object_object_get(x, "unit")), "burn.service");
	assert_true(fabs(json_object_get_double(json_object_object_get(x, "value")) - 90) < 0.5);
	assert_true(json_object_get_double(json_object_object_get(x, "threshold")) == 50);
	assert_string_equal(json_object_get_string(json_object_object_get(x, "summary")), "burner (100) at 90% CPU for 3s");
	assert_true(json_object_object_get_ex(x, "active_since", &v) && json_object_get_double(v) > 1e9);
	assert_true(json_object_object_get_ex(x, "start_time_ns", &v) && json_object_get_int64(v) == 4000 * 10000000ll);
	st = json_object_object_get(x, "stacks");
	assert_int_equal(json_object_array_length(st), 2);
	fr = json_object_object_get(json_object_array_get_idx(st, 0), "frames");
	/* outermost first: _stext, then the hot leaf */
	assert_string_equal(json_object_get_string(json_object_array_get_idx(fr, 1)), "do_one_initcall_[k]");
	assert_true(fabs(json_object_get_double(json_object_object_get(json_object_array_get_idx(st, 0), "share_pct")) -
			 66.67) < 0.1);
	assert_string_equal(json_object_get_string(json_object_object_get(x, "evidence")),
			    "67% in do_one_initcall \xe2\x86\x90 _stext");
	json_object_put(o);

	/* the function rule: 60 of 90 samples */
	o = alerts_list_json(wd.a, 0, "fn");
	x = find(json_object_object_get(o, "alerts"), "fn", 100, "do_one_initcall");
	assert_non_null(x);
	assert_true(fabs(json_object_get_double(json_object_object_get(x, "value")) - 66.67) < 0.1);
	assert_null(find(json_object_object_get(o, "alerts"), "fn", 100, "local_helper")); /* 33 %, and not do_one* */
	json_object_put(o);

	/* hotspots of the host */
	assert_int_equal(alerts_hotspots_json(&wd.src, 10 * S, 0, NULL, 5, &o), 0);
	x = json_object_array_get_idx(json_object_object_get(o, "functions"), 0);
	assert_string_equal(json_object_get_string(json_object_object_get(x, "name")), "do_one_initcall");
	assert_string_equal(json_object_get_string(json_object_object_get(x, "severity")), "critical");
	assert_string_equal(json_object_get_string(json_object_object_get(o, "scope")), "host");
	json_object_put(o);

	/* the burner exits: its alerts resolve, the evidence stays */
	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s/100'", root);
		assert_int_equal(system(cmd), 0);
	}
	/* its exit event, as the lifecycle BPF program reports it */
	{
		const struct proc_info *b = proctable_find_tgid(wd.pt, 100);

		assert_non_null(b);
		proctable_note_exit(wd.pt, 100, b->start_ns, 0, T0 + (wd.k + 1) * S);
	}
	tick(&wd, 0);
	assert_string_equal(state_of(&wd, "cpu", 100, NULL), "none");
	assert_string_equal(state_of(&wd, "ufds", 0, NULL), "none"); /* its only process left */
	o = alerts_list_json(wd.a, 1, "cpu");
	h = json_object_object_get(o, "history");
	x = json_object_array_get_idx(h, 0);
	assert_string_equal(json_object_get_string(json_object_object_get(x, "state")), "resolved");
	assert_string_equal(json_object_get_string(json_object_object_get(x, "reason")), "process exited");
	assert_true(json_object_object_get_ex(x, "resolved_at", NULL));
	assert_int_equal(json_object_array_length(json_object_object_get(x, "stacks")), 2);
	for (size_t i = 0; i < json_object_array_length(h); i++)
		saw_firing |= !strcmp(json_object_get_string(json_object_object_get(json_object_array_get_idx(h, i), "state")),
				      "firing");
	assert_true(saw_firing);
	json_object_put(o);

	/* reload without fds: resolved "rule removed"; psi carries over */
	set_rules(&wd, "[rule psi]\nmetric = host.psi.cpu_some\nabove = 10\n");
	assert_string_equal(state_of(&wd, "fds", 300, NULL), "none");
	assert_string_equal(state_of(&wd, "psi", 0, NULL), "firing");
	o = alerts_list_json(wd.a, 1, "fds");
	x = json_object_array_get_idx(json_object_object_get(o, "history"), 0);
	assert_string_equal(json_object_get_string(json_object_object_get(x, "reason")), "rule removed");
	json_object_put(o);

	/* the same receiver settings again (a reload): the receivers, their
	 * queues and counters stay */
	assert_int_equal(alerts_configure(wd.a, &wd.opts), 0);

	/* status: the log receiver said something for every transition */
	o = json_object_new_object();
	alerts_status_json(wd.a, o);
	x = json_object_object_get(o, "alerts");
	assert_int_equal(json_object_get_int(json_object_object_get(x, "rules")), 1);
	assert_int_equal(json_object_get_int(json_object_object_get(x, "firing")), 1);
	v = json_object_array_get_idx(json_object_object_get(x, "receivers"), 0);
	assert_string_equal(json_object_get_string(json_object_object_get(v, "kind")), "log");
	assert_true(json_object_get_int(json_object_object_get(v, "sent")) >= 10);
	assert_int_equal(json_object_array_length(json_object_object_get(x, "receivers")), 1);
	json_object_put(o);

	/* a rule naming its own webhook gets a receiver of its own */
	set_rules(&wd, "[rule psi]\nmetric = host.psi.cpu_some\nabove = 10\nwebhook_url = http://127.0.0.1:9/hook\n");
	o = json_object_new_object();
	alerts_status_json(wd.a, o);
	x = json_object_object_get(json_object_object_get(o, "alerts"), "receivers");
	assert_int_equal(json_object_array_length(x), 2);
	assert_string_equal(json_object_get_string(json_object_object_get(json_object_array_get_idx(x, 1), "kind")),
			    "webhook");
	assert_string_equal(json_object_get_string(json_object_object_get(json_object_array_get_idx(x, 1), "url")),
			    "http://127.0.0.1:9/hook");
	json_object_put(o);
	world_free(&wd);
}

/* RSS readings of two processes: one grows 2 MiB/s (a leak), one climbs
 * 4 MiB/s for 5 s and falls back (a sawtooth). Only the leak fires.
 * Without BPF no process counts as active, so resources reads their
 * gauges every 10 ticks: a 90 s window holds 9 readings. */
static void test_leak_and_sawtooth(void **state)
{
	struct world wd;
	struct alerts_stats st;

	(void)state;
	mkproc(400, "leaky", 4200, 10240, 1, "/system.slice/leak.service");
	mkproc(500, "sawtooth", 4300, 10240, 1, "/system.slice/saw.service");
	world_new(&wd);
	set_rules(&wd, "[rule leak]\nmetric = process.rss_growth_bytes_per_s\nabove = 1MiB/s\nwindow = 90s\nfor = 10s\n"
		       "match = comm:leaky, comm:l*\n[rule leak_any]\nmetric = process.rss_growth_bytes_per_s\n"
		       "above = 1MiB/s\nwindow = 90s\nfor = 10s\n[rule unit_leak]\nmetric = unit.rss_growth_bytes_per_s\n"
		       "above = 1MiB/s\nwindow = 90s\nfor = 10s\n");
	for (unsigned t = 1; t <= 130; t++) {
		mkproc(400, "leaky", 4200, 10240 + 2048ull * t, 1, "/system.slice/leak.service");
		mkproc(500, "sawtooth", 4300, 10240 + 4096ull * (t % 6), 1, "/system.slice/saw.service");
		tick(&wd, 0);
		assert_string_equal(state_of(&wd, "leak_any", 500, NULL), "none");
	}
	assert_string_equal(state_of(&wd, "leak", 400, NULL), "firing");
	assert_string_equal(state_of(&wd, "leak_any", 400, NULL), "firing");
	{
		struct json_object *o = alerts_list_json(wd.a, 0, "unit_leak");
		struct json_object *x = json_object_array_get_idx(json_object_object_get(o, "alerts"), 0);

		assert_non_null(x);
		assert_string_equal(json_object_get_string(json_object_object_get(x, "unit")), "leak.service");
		assert_string_equal(json_object_get_string(json_object_object_get(x, "state")), "firing");
		assert_true(fabs(json_object_get_double(json_object_object_get(x, "value")) - 2 * 1048576.0) < 0.05 * 1048576);
		assert_int_equal(json_object_array_length(json_object_object_get(o, "alerts")), 1);
		json_object_put(o);
	}
	alerts_get_stats(wd.a, &st);
	assert_true(st.series >= 2);
	world_free(&wd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_end_to_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_leak_and_sawtooth, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
