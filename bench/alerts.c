/* SPDX-License-Identifier: GPL-2.0-only */
/* bench_alerts: what evaluating alert rules costs a tick. A real store
 * (windows, stacks, process table, symbolizer on a kallsyms file) filled
 * with N processes x 60 s of counters and samples, then alerts_tick() over
 * R rules: a mix of process rules (comm globs, exact names, every process),
 * host rules, unit rules and function-share rules, over three windows
 * (10 s, 1 m, 5 m). Reported: median, mean and worst tick in CPU time of
 * the evaluating thread (wall time on a shared VM measures the neighbours),
 * for "busy" (every process ran every second: a record per process per
 * slot, the worst case for window reads) and "typical" (10 % ran each
 * second, the others' gauges recorded once a minute, as resources does),
 * each without and with a storm (one more rule every process fires, so
 * evidence is taken for thousands of alerts).
 *
 * usage: bench_alerts [--procs 2000] [--rules 100] [--ticks 30] [--kallsyms PATH] */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "alerts/alerts.h"
#include "alerts/rules.h"
#include "collect/resources.h"
#include "common/clock.h"
#include "store/proctable.h"
#include "store/stacks.h"
#include "store/window.h"
#include "symbols/symbolizer.h"

#define S 1000000000ull
#define T0 (100000 * S)
#define FREQ 99

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* R rules: mostly process rules, as a fleet's rule files look. */
static char *make_rules(int nrules, int storm)
{
	static const char *const metrics[] = { "process.cpu_pct", "process.rss_bytes", "process.fds", "process.threads",
					       "process.runq_p99_ns", "process.offcpu_pct", "process.write_bytes_per_s",
					       "process.rss_growth_bytes_per_s" };
	static const char *const above[] = { "90", "8G", "10000", "5000", "50ms", "500", "500MiB/s", "10MiB/min" };
	static const char *const windows[] = { "10s", "1m", "5m" };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	for (int i = 0; i < nrules; i++) {
		int k = i % 20;

		fprintf(f, "[rule r%d]\n", i);
		if (k < 2) {
			fprintf(f, "metric = host.%s\nabove = 95\n", k ? "mem_pct" : "psi.cpu_some");
		} else if (k < 4) {
			fprintf(f, "metric = unit.cpu_pct\nmatch = unit:svc%d*\nabove = 400\n", i % 10);
		} else if (k < 5) {
			fprintf(f, "metric = function.self_pct\nmatch = comm:svc1%d*\nabove = 95\n", i % 10);
		} else {
			int m = i % 8;

			fprintf(f, "metric = %s\nabove = %s\n", metrics[m], above[m]);
			if (k < 12)
				fprintf(f, "match = comm:svc%d*\n", i % 10);
			else if (k < 17)
				fprintf(f, "match = comm:svc%d\n", i);
			/* else: every process */
		}
		fprintf(f, "window = %s\nfor = 1m\n", windows[i % 3]);
	}
	if (storm) /* every process above 0.1 % CPU: all of them fire */
		fprintf(f, "[rule storm]\nmetric = process.cpu_pct\nabove = 0.1\nwindow = 10s\n");
	fclose(f);
	return buf;
}

int main(int argc, char **argv)
{
	int nprocs = 2000, nrules = 100, nticks = 30;
	const char *kallsyms = "tests/fixtures/kallsyms.txt";
	char dir[] = "/tmp/profd-bench-alerts-XXXXXX";
	struct window_opts wo = { .ntiers = 2, .tier = { { S, 600 }, { 60 * S, 1440 } }, .max_bytes = 1ull << 30 };
	struct proctable *pt;
	struct window *w;
	struct stacks *st;
	struct symbolizer *sym;
	struct resources *res;
	struct alerts *a;
	uint32_t *ids, stack_ids[8];
	uint64_t *cost;
	unsigned tick = 0;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--procs"))
			nprocs = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--rules"))
			nrules = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--ticks"))
			nticks = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--kallsyms"))
			kallsyms = argv[i + 1];
	}
	if (access(kallsyms, R_OK) || !mkdtemp(dir)) {
		fprintf(stderr, "bench_alerts: %s: %s (run from the source tree or give --kallsyms)\n", kallsyms,
			strerror(errno));
		return 1;
	}
	ids = calloc((size_t)nprocs, sizeof(*ids));
	cost = calloc((size_t)nticks, sizeof(*cost));
	if (proctable_new(dir, (size_t)nprocs + 64, &pt) || window_new(&wo, T0, &w) || stacks_new(100000, &st) ||
	    symbolizer_new(&(struct symbolizer_opts){ .procfs = dir, .kallsyms = kallsyms, .debug_dirs = "/nonexistent",
						      .cache_bytes = 1 << 20, .max_objects = 64, .no_worker = 1 },
			   &sym) ||
	    resources_new(&(struct resources_opts){ .procs = pt, .win = w, .procfs = dir, .nvml_path = "",
						    .tick_ns = S, .max_procs = (uint32_t)nprocs + 64, .no_kstats = 1,
						    .inline_collect = 1 },
			  &res) ||
	    !ids || !cost)
		return 1;
	for (int i = 0; i < 8; i++) {
		/* kernel stacks of three frames, named from the kallsyms file */
		struct frame fr[3] = { { 0, 1, 0xffffffff81000110ull + (uint64_t)i * 0x100 },
				       { 0, 1, 0xffffffff81000120ull },
				       { 0, 1, 0xffffffff81000050ull } };

		stack_ids[i] = stacks_intern(st, fr, 3, 0, T0);
	}
	for (int i = 0; i < nprocs; i++) {
		char comm[16];

		snprintf(comm, sizeof(comm), "svc%d", i);
		ids[i] = proctable_get(pt, 100000 + (uint32_t)i, T0 / 2 + (uint64_t)i * 10000000ull, comm, T0);
	}

	for (int run = 0; run < 4; run++) {
		int storm = run % 2, typical = run / 2;
		char *text = make_rules(nrules, storm), err[512];
		struct ruleset *rs;
		uint64_t sum = 0;

		if (alerts_new(&(struct alerts_opts){ .host = "bench", .history = 1000, .max_active = 10000,
						      .stacks_refresh_ns = 30 * S, .max_procs = (uint32_t)nprocs + 64,
						      .log = 0, .http = { 1000, 1, 10, 10, 4 } },
			       &a) ||
		    ruleset_new(&rs) || ruleset_load_buffer(rs, "bench", text, strlen(text), RULES_FILE, err, sizeof(err)) ||
		    alerts_set_rules(a, rs, T0)) {
			fprintf(stderr, "bench_alerts: rules: %s\n", err);
			return 1;
		}
		free(text);
		for (int t = 0; t < 60 + nticks; t++) {
			uint64_t boundary = T0 + ++tick * S, now = boundary + 5000000, t0;
			struct alerts_src src = {
				.prof = { .win = w, .stacks = st, .procs = pt, .sym = sym, .data_until_ns = boundary,
					  .start_ns = T0, .frequency = FREQ },
				.res = res,
				.procfs = dir,
			};

			for (int i = 0; i < nprocs; i++) {
				struct wcounters wc;

				/* typical: a tenth runs each second, the rest only
				 * record their gauges once a minute */
				if (typical && (i + t) % 10 && (i + t) % 60)
					continue;
				memset(&wc, 0, sizeof(wc));
				wc.sum[WC_CPU_NS] = 20000000ull + (uint64_t)(i % 7) * 1000000ull;
				wc.sum[WC_OFFCPU_NS] = 900000000ull;
				wc.hist_runq[12] = 10;
				wc.gauge_last[WG_RSS] = wc.gauge_max[WG_RSS] = (uint64_t)(50 + i % 100) << 20;
				wc.gauge_last[WG_FDS] = wc.gauge_max[WG_FDS] = 20;
				wc.gauge_last[WG_THREADS] = wc.gauge_max[WG_THREADS] = 4;
				window_add_counters(w, boundary - 1, ids[i], &wc);
				window_add(w, boundary - 1, ids[i], stack_ids[i % 8], 1);
				window_add(w, boundary - 1, ids[i], stack_ids[(i + 3) % 8], 1);
			}
			window_tick(w, now);
			if (t < 60)
				continue; /* fill a minute first */
			t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
			alerts_tick(a, &src, now);
			cost[t - 60] = clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
			sum += cost[t - 60];
		}
		qsort(cost, (size_t)nticks, sizeof(*cost), cmp_u64);
		{
			struct json_object *o = alerts_list_json(a, 0, NULL);
			size_t firing = json_object_array_length(json_object_object_get(o, "alerts"));

			printf("| %s%s | %d | %d | %zu | %.2f | %.2f | %.2f |\n", typical ? "typical" : "busy",
			       storm ? ", storm" : "", nrules + storm,
			       nprocs, firing, (double)cost[nticks / 2] / 1e6, (double)sum / nticks / 1e6,
			       (double)cost[nticks - 1] / 1e6);
			json_object_put(o);
		}
		alerts_free(a);
	}
	resources_free(res);
	symbolizer_free(sym);
	stacks_free(st);
	window_free(w);
	proctable_free(pt);
	free(ids);
	free(cost);
	rmdir(dir);
	return 0;
}
