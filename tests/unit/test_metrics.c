/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for the metric registry: the table's invariants (unique
 * names and JSON members, Prometheus naming), JSON emission from a
 * snapshot, the shared per-process computation, and docs/metrics.md,
 * whose reference table must be exactly what the registry generates
 * (PROFD_UPDATE_GOLDEN=1 rewrites it). */
#include <errno.h>
#include <math.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "metrics/registry.h"

#define BEGIN "<!-- metrics:begin (generated from daemon/metrics/registry.c; tests/unit/test_metrics.c checks it) -->\n"
#define END "<!-- metrics:end -->\n"

static size_t scope_size(enum metric_scope s)
{
	return s == METRIC_DAEMON     ? sizeof(struct metrics_daemon)
	       : s == METRIC_HOST     ? sizeof(struct metrics_host)
	       : s == METRIC_FUNCTION ? sizeof(struct metrics_function)
				      : sizeof(struct metrics_process);
}

static void test_table_invariants(void **state)
{
	static const char *const prefix[] = { "profd.", "host.", "process.", "unit.", "function." };
	size_t n;
	const struct metric *t = metrics_all(&n);
	regex_t prom;

	(void)state;
	assert_true(n > 90);
	assert_int_equal(regcomp(&prom, "^profd_[a-z0-9_]+$", REG_EXTENDED | REG_NOSUB), 0);
	for (size_t i = 0; i < n; i++) {
		const struct metric *m = &t[i];
		size_t len = m->prom ? strlen(m->prom) : 0;

		assert_true(m->scope < METRIC_NSCOPES);
		if (strncmp(m->name, prefix[m->scope], strlen(prefix[m->scope])))
			fail_msg("%s: the name must start with %s", m->name, prefix[m->scope]);
		assert_non_null(m->help);
		assert_true(strlen(m->help) > 5);
		assert_non_null(m->unit);
		assert_true(m->offset + 8 <= scope_size(m->scope));
		assert_int_equal(m->offset % 8, 0);
		assert_ptr_equal(metric_find(m->name), m);
		if (m->prom) {
			if (regexec(&prom, m->prom, 0, NULL, 0))
				fail_msg("%s: Prometheus name %s breaks the naming rules", m->name, m->prom);
			if (m->type == METRIC_COUNTER && (len < 6 || strcmp(m->prom + len - 6, "_total")))
				fail_msg("%s: a counter's Prometheus name ends in _total", m->name);
			if (m->type == METRIC_GAUGE && len >= 6 && !strcmp(m->prom + len - 6, "_total"))
				fail_msg("%s: only counters end in _total", m->name);
			assert_true(m->prom_scale > 0);
		}
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(t[j].name, m->name))
				fail_msg("duplicate metric name %s", m->name);
			if (m->prom && t[j].prom && !strcmp(t[j].prom, m->prom))
				fail_msg("duplicate Prometheus name %s", m->prom);
			if (m->json && t[j].json && t[j].scope == m->scope && !strcmp(t[j].json, m->json))
				fail_msg("duplicate JSON member %s in one scope", m->json);
		}
	}
	regfree(&prom);
	assert_null(metric_find("process.nope"));
	assert_null(metric_find(NULL));
}

static void test_json(void **state)
{
	struct metrics_daemon d;
	struct metrics_process p;
	struct json_object *o = json_object_new_object(), *v;

	(void)state;
	memset(&d, 0, sizeof(d));
	d.samples.taken = 1234;
	d.samples.dropped_ringbuf = 7;
	d.procs_limit = 32768;
	d.cpu_s = 1.5;
	assert_int_equal(metrics_to_json(METRIC_DAEMON, &d, o), 0);
	assert_true(json_object_object_get_ex(o, "samples", &v));
	assert_int_equal(json_object_get_int64(json_object_object_get(v, "taken")), 1234);
	v = json_object_object_get(json_object_object_get(v, "dropped"), "ringbuf_full");
	assert_int_equal(json_object_get_int64(v), 7);
	assert_int_equal(json_object_get_int64(json_object_object_get(json_object_object_get(o, "processes"), "limit")),
			 32768);
	assert_true(json_object_get_double(json_object_object_get(json_object_object_get(o, "daemon"), "cpu_s")) == 1.5);
	json_object_put(o);

	/* absent values are null, not 0 */
	memset(&p, 0, sizeof(p));
	p.gpu_pct = NAN;
	p.gpu_mem_bytes = METRIC_ABSENT_U64;
	p.rss_bytes = 4096;
	o = json_object_new_object();
	assert_int_equal(metrics_to_json(METRIC_PROCESS, &p, o), 0);
	assert_true(json_object_object_get_ex(o, "gpu_pct", &v));
	assert_null(v);
	assert_true(json_object_object_get_ex(o, "gpu_mem_bytes", &v));
	assert_null(v);
	assert_int_equal(json_object_get_int64(json_object_object_get(o, "rss_bytes")), 4096);
	assert_true(isnan(metric_value(metric_find("process.gpu_pct"), &p)));
	assert_true(metric_value(metric_find("process.rss_bytes"), &p) == 4096);
	json_object_put(o);
}

static void test_process_compute(void **state)
{
	struct wcounters wc;
	struct res_gauges g = { .valid = 1, .rss = 1 << 20, .threads = 3, .fds = 9 };
	struct metrics_process m;

	(void)state;
	memset(&wc, 0, sizeof(wc));
	wc.sum[WC_CPU_NS] = 5000000000ull; /* 5 s on CPU in 10 s */
	wc.sum[WC_IO_RBYTES] = 1000;
	wc.sum[WC_IO_WBYTES] = 3000;
	wc.gauge_last[WG_RSS] = 77;
	metrics_process_compute(&(struct metrics_process_in){ .wc = &wc, .g = &g, .samples = 495, .secs = 10,
								.frequency = 99, .exact_cpu = 1, .mem_total = 4 << 20 },
				&m);
	assert_true(fabs(m.cpu_pct - 50.0) < 1e-9);
	assert_true(fabs(m.sample_cpu_pct - 50.0) < 1e-9);
	assert_int_equal(m.rss_bytes, 1 << 20); /* live gauge over the window's */
	assert_true(fabs(m.mem_pct - 25.0) < 1e-9);
	assert_true(fabs(m.write_bps - 300.0) < 1e-9);
	assert_true(isnan(m.gpu_pct));
	assert_int_equal(m.gpu_mem_bytes, METRIC_ABSENT_U64);
	/* no scheduler counters: CPU from samples; a dead process: window gauges */
	metrics_process_compute(&(struct metrics_process_in){ .wc = &wc, .samples = 99, .secs = 10, .frequency = 99 }, &m);
	assert_true(fabs(m.cpu_pct - 10.0) < 1e-9);
	assert_int_equal(m.rss_bytes, 77);
	/* GPU busy time in the window */
	wc.sum[WC_GPU_UTIL_NS] = 2500000000ull;
	metrics_process_compute(&(struct metrics_process_in){ .wc = &wc, .secs = 10, .frequency = 99 }, &m);
	assert_true(fabs(m.gpu_pct - 25.0) < 1e-9);
}

/* A unit is its processes added up; its percentiles come from the merged
 * histograms, not from adding percentiles. */
static void test_unit_and_host(void **state)
{
	struct metrics_unit_acc acc;
	struct metrics_process a, b, u;
	struct wcounters wa, wb;
	struct res_system sys;
	struct metrics_host h;

	(void)state;
	memset(&wa, 0, sizeof(wa));
	memset(&wb, 0, sizeof(wb));
	wa.sum[WC_CPU_NS] = 2000000000ull;
	wb.sum[WC_CPU_NS] = 3000000000ull;
	wa.hist_runq[10] = 99; /* 1 us .. 2 us */
	wb.hist_runq[20] = 5;  /* ~1 ms */
	metrics_process_compute(&(struct metrics_process_in){ .wc = &wa, .secs = 10, .frequency = 99, .exact_cpu = 1,
								.g = &(struct res_gauges){ .rss = 100, .fds = 7 } },
				&a);
	metrics_process_compute(&(struct metrics_process_in){ .wc = &wb, .secs = 10, .frequency = 99, .exact_cpu = 1,
								.g = &(struct res_gauges){ .rss = 50, .fds = 3 } },
				&b);
	memset(&acc, 0, sizeof(acc));
	metrics_unit_add(&acc, &a, &wa);
	metrics_unit_add(&acc, &b, &wb);
	metrics_unit_finish(&acc, &u);
	assert_true(fabs(u.cpu_pct - 50.0) < 1e-9);
	assert_int_equal(u.rss_bytes, 150);
	assert_int_equal(u.fds, 10);
	assert_true(isnan(u.gpu_pct));
	assert_int_equal(u.runq_p99_ns, 1u << 21); /* 104 waits: the 103rd is in bucket 20 */
	assert_int_equal(u.runq_p50_ns, 1u << 11);
	assert_true(isnan(u.rss_growth_bps));
	assert_true(metric_value(metric_find("unit.cpu_pct"), &u) == u.cpu_pct);

	memset(&sys, 0, sizeof(sys));
	sys.cpu_pct = 12;
	sys.mem_ok = 1;
	sys.mem.total = 1000;
	sys.mem.available = 250;
	metrics_host_compute(&sys, NULL, NULL, 0, &h);
	assert_true(isnan(h.gpu_mem_pct));
	assert_true(h.cpu_pct == 12);
	assert_true(fabs(h.mem_used_pct - 75.0) < 1e-9);
	assert_true(isnan(h.psi_cpu_some)); /* no PSI read: absent, not 0 */
	memset(&wa, 0, sizeof(wa));
	wa.sum[WC_CPU_NS] = 1;
	wa.sum[WC_OFFCPU_NS] = 4;
	metrics_host_compute(&sys, &wa, NULL, 0, &h);
	assert_true(fabs(h.cpu_pct - 25.0) < 1e-9);
}

static void test_docs(void **state)
{
	const char *root = getenv("PROFD_SOURCE_ROOT");
	char path[4096], *doc = NULL, *gen = metrics_doc_table(), *b, *e;
	size_t cap = 0, len;
	FILE *f;

	(void)state;
	assert_non_null(gen);
	snprintf(path, sizeof(path), "%s/docs/metrics.md", root ? root : ".");
	f = fopen(path, "r");
	assert_non_null(f);
	len = getdelim(&doc, &cap, 0, f) > 0 ? strlen(doc) : 0;
	fclose(f);
	b = strstr(doc, BEGIN);
	e = b ? strstr(b, END) : NULL;
	if (!b || !e)
		fail_msg("docs/metrics.md lacks the generated block (%s ... %s)", BEGIN, END);
	b += strlen(BEGIN);
	if ((size_t)(e - b) != strlen(gen) || memcmp(b, gen, strlen(gen))) {
		if (getenv("PROFD_UPDATE_GOLDEN")) {
			f = fopen(path, "w");
			assert_non_null(f);
			fwrite(doc, 1, (size_t)(b - doc), f);
			fputs(gen, f);
			fputs(e, f);
			fclose(f);
		} else {
			fprintf(stderr, "expected block:\n%s", gen);
			fail_msg("docs/metrics.md is out of date with the registry (PROFD_UPDATE_GOLDEN=1 rewrites it)");
		}
	}
	(void)len;
	free(doc);
	free(gen);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_invariants),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_process_compute),
		cmocka_unit_test(test_unit_and_host),
		cmocka_unit_test(test_docs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
