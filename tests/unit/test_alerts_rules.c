/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for alerts/rules: the rule syntax of docs/alerts.md, each
 * refusal with its file:line, thresholds with units, templates, drop-in
 * directories, and that a failed load adds no rule at all. */
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

#include "alerts/rules.h"
#include "metrics/registry.h"

#define MIB (1024.0 * 1024.0)
#define SEC 1000000000ull

static int load(struct ruleset *rs, const char *text, enum rules_source src, char *err, size_t n)
{
	return ruleset_load_buffer(rs, "test.conf", text, strlen(text), src, err, n);
}

static void test_issue_example(void **state)
{
	static const char text[] =
		"; the example of the issue\n"
		"[rule process_cpu_hot]\n"
		"metric    = process.cpu_pct        ; any metric of docs/metrics.md\n"
		"match     = comm:postgres*         ; several = all must match\n"
		"above     = 90\n"
		"window    = 1m\n"
		"for       = 2m\n"
		"clear     = 80\n"
		"severity  = warning\n"
		"labels    = team=db, tier=prod\n"
		"summary   = {comm} ({pid}) at {value:.0f}% CPU for {for}\n"
		"\n"
		"[rule leak]\n"
		"metric = process.rss_growth_bytes_per_s\n"
		"match = exe:/usr/bin/*, unit:nginx.service\n"
		"match = pid:1234\n"
		"above = 10MiB/min\n"
		"window = 15m\n"
		"notify = log, webhook\n"
		"[rule runq]\n"
		"metric = process.runq_p99_ns\n"
		"above = 50ms\n"
		"[rule hot_function]\n"
		"metric = function.self_pct\n"
		"function = hash_search*\n"
		"scope = host\n"
		"below = 5%\n"
		"severity = critical\n";
	struct ruleset *rs;
	const struct rule *r;
	char err[512] = "";

	(void)state;
	assert_int_equal(ruleset_new(&rs), 0);
	if (load(rs, text, RULES_FILE, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(rs->n, 4);
	r = ruleset_find(rs, "process_cpu_hot");
	assert_non_null(r);
	assert_string_equal(r->metric->name, "process.cpu_pct");
	assert_int_equal(r->scope, RULE_PROCESS);
	assert_int_equal(r->line, 2);
	assert_string_equal(r->file, "test.conf");
	assert_int_equal(r->nmatch, 1);
	assert_int_equal(r->match[0].kind, MATCH_COMM);
	assert_string_equal(r->match[0].pattern, "postgres*");
	assert_false(r->below);
	assert_true(r->threshold == 90 && r->clear == 80 && r->has_clear);
	assert_int_equal(r->window_ns, 60 * SEC);
	assert_int_equal(r->for_ns, 120 * SEC);
	assert_int_equal(r->severity, SEVERITY_WARNING);
	assert_int_equal(r->nlabels, 2);
	assert_string_equal(r->labels[1].key, "tier");
	assert_string_equal(r->labels[1].value, "prod");
	assert_string_equal(r->summary, "{comm} ({pid}) at {value:.0f}% CPU for {for}");
	assert_int_equal(r->notify, RULE_NOTIFY_ALL);

	r = ruleset_find(rs, "leak");
	assert_int_equal(r->nmatch, 3);
	assert_int_equal(r->match[1].kind, MATCH_UNIT);
	assert_int_equal(r->match[2].kind, MATCH_PID);
	assert_int_equal(r->match[2].num, 1234);
	assert_true(fabs(r->threshold - 10 * MIB / 60) < 1e-6);
	assert_true(r->clear == r->threshold && !r->has_clear);
	assert_int_equal(r->notify, RULE_NOTIFY_LOG | RULE_NOTIFY_WEBHOOK);

	r = ruleset_find(rs, "runq");
	assert_true(r->threshold == 50e6);
	assert_int_equal(r->window_ns, 60 * SEC); /* the default */
	assert_int_equal(r->for_ns, 0);

	r = ruleset_find(rs, "hot_function");
	assert_int_equal(r->scope, RULE_FUNCTION_HOST);
	assert_string_equal(r->function, "hash_search*");
	assert_true(r->below && r->threshold == 5);
	assert_int_equal(r->severity, SEVERITY_CRITICAL);
	assert_int_equal(r->index, 3);
	ruleset_free(rs);
}

struct bad {
	const char *text;
	const char *err; /* expected start of the message */
};

static void test_errors(void **state)
{
	static const struct bad bad[] = {
		{ "[rule a]\nmetric = process.nope\nabove = 1\n", "test.conf:2: metric = process.nope: no such metric" },
		{ "[rule a]\nmetric = process.cpu_pct\n", "test.conf:1: [rule a]: give exactly one of above = or below =" },
		{ "[rule a]\nabove = 1\n", "test.conf:1: [rule a]: no metric" },
		{ "[rule a]\nmetric = process.cpu_pct\nabove = 1\nbelow = 2\n", "test.conf:1: [rule a]: give exactly one" },
		{ "\n[rule a]\nmetric = process.cpu_pct\nabove = lots\n", "test.conf:4: above = lots: not a number" },
		{ "[rule a]\nabove = 50 furlongs\nmetric = process.cpu_pct\n", "test.conf:2: above = 50 furlongs: unit" },
		{ "[rule a]\nmetric = process.rss_bytes\nabove = 5ms\n", "test.conf:3: above = 5ms: unit 'ms' does not fit" },
		{ "[rule a]\nmetric = process.cpu_pct\nabove = 90\nclear = 95\n", "test.conf:4: clear = 95: must be at or below" },
		{ "[rule a]\nmetric = process.cpu_pct\nbelow = 10\nclear = 5\n", "test.conf:4: clear = 5: must be at or above" },
		{ "[rule a]\nmetric = process.cpu_pct\nabove = 1\nwindow = 0\n", "test.conf:4: window = 0: must be 1s..24h" },
		{ "[rule a]\nmetric = process.cpu_pct\nabove = 1\nfor = soon\n", "test.conf:4: for = soon: not a duration" },
		{ "[rule a]\nmetric = process.cpu_pct\nabove = 1\nwindow = 48h\n", "test.conf:4: window = 48h: must be" },
		{ "[rule a]\nmetric = process.cpu_pct\nabove = 1\nseverity = dire\n", "test.conf:4: severity = dire" },
		{ "[rule a]\nmetric = process.cpu_pct\nabove = 1\nmatch = color:red\n", "test.conf:4: match = color:red: unknown kind" },
		{ "[rule a]\nmetric = process.cpu_pct\nabove = 1\nmatch = pid:abc\n", "test.conf:4: match = pid:abc: a pid must be" },
		{ "[rule a]\nmetric = process.cpu_pct\nabove = 1\nmatch = postgres\n", "test.conf:4: match = postgres: expected KIND:PATTERN" },
		{ "[rule a]\nmetric = host.mem_pct\nabove = 1\nmatch = comm:x\n", "test.conf:1: [rule a]: match does not apply" },
		{ "[rule a]\nmetric = unit.cpu_pct\nabove = 1\nmatch = comm:x\n", "test.conf:1: [rule a]: unit metrics match on unit: only" },
		{ "[rule a]\nmetric = profd.ticks\nabove = 1\n", "test.conf:2: metric = profd.ticks: alerts take" },
		{ "[rule a]\nmetric = process.cpu_pct\nabove = 1\nfunction = f\n", "test.conf:1: [rule a]: function = and scope =" },
		{ "[rule a]\nmetric = function.self_pct\nabove = 1\nscope = host\nmatch = comm:x\n", "test.conf:1: [rule a]: scope = host takes no match" },
		{ "[rule a]\nmetric = process.cpu_pct\nabove = 1\nlabels = severity=high\n", "test.conf:4: labels: 'severity' is set by profd" },
		{ "[rule a]\nmetric = process.cpu_pct\nabove = 1\nlabels = team\n", "test.conf:4: labels: 'team' is not KEY=VALUE" },
		{ "[rule a]\nmetric = process.cpu_pct\nabove = 1\nlabels = 9x=1\n", "test.conf:4: labels: key '9x'" },
		{ "[rule a]\nmetric = process.cpu_pct\nabove = 1\nsummary = {nope}\n", "test.conf:4: summary = {nope}: unknown placeholder {nope}" },
		{ "[rule a]\nmetric = process.cpu_pct\nabove = 1\nsummary = {value:%d}\n", "test.conf:4: summary = {value:%d}: format" },
		{ "[rule a]\nmetric = process.cpu_pct\nabove = 1\nsummary = {value\n", "test.conf:4: summary = {value: '{' without '}'" },
		{ "[rule a]\nmetric = process.cpu_pct\nabove = 1\nnotify = pager\n", "test.conf:4: notify: 'pager' is not one of" },
		{ "[rule a]\nmetric = process.cpu_pct\nabove = 1\nwebhook_url = ftp://x\n", "test.conf:4: webhook_url = ftp://x: must be an http" },
		{ "[rule a]\nmetric = process.cpu_pct\nabove = 1\ncolour = red\n", "test.conf:4: unknown key 'colour' in [rule a]" },
		{ "[rule a]\nmetric = process.cpu_pct\nabove = 1\nabove = 2\n", "test.conf:4: above: set twice in [rule a]" },
		{ "[rule a]\nmetric = process.cpu_pct\nabove = 1\n[rule a]\nmetric = host.cpu_pct\nabove = 1\n",
		  "test.conf:4: [rule a]: a rule of that name is already defined at test.conf:1" },
		{ "[rule bad name!]\n", "test.conf:1: rule name 'bad name!'" },
		{ "[rule]\n", "test.conf:1: [rule]: a rules file holds only" },
		{ "[daemon]\nsocket = /x\n", "test.conf:1: [daemon]: a rules file holds only [rule NAME] sections" },
		{ "metric = process.cpu_pct\n", "test.conf:1: metric = process.cpu_pct: outside of a [rule NAME] section" },
		{ "[rule a]\nmetric = process.cpu_pct\nabove = 1\nthis is not ini\n", "test.conf:4: syntax error" },
		{ "[rule a\n", "test.conf:1: section header without ']'" },
	};
	struct ruleset *rs;
	char err[512];

	(void)state;
	assert_int_equal(ruleset_new(&rs), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		if (load(rs, bad[i].text, RULES_FILE, err, sizeof(err)) != -EINVAL)
			fail_msg("case %zu accepted:\n%s", i, bad[i].text);
		if (strncmp(err, bad[i].err, strlen(bad[i].err)))
			fail_msg("case %zu: got \"%s\", want \"%s...\"", i, err, bad[i].err);
		assert_int_equal(rs->n, 0);
	}
	ruleset_free(rs);
}

/* A file with a good rule and then a bad one adds neither; the rules of
 * an earlier file stay. */
static void test_all_or_nothing(void **state)
{
	struct ruleset *rs;
	char err[512];

	(void)state;
	assert_int_equal(ruleset_new(&rs), 0);
	assert_int_equal(load(rs, "[rule one]\nmetric = host.cpu_pct\nabove = 90\n", RULES_FILE, err, sizeof(err)), 0);
	assert_int_equal(load(rs, "[rule two]\nmetric = host.cpu_pct\nabove = 90\n[rule three]\nmetric = x\n", RULES_FILE,
			      err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(rs->n, 1);
	assert_non_null(ruleset_find(rs, "one"));
	assert_null(ruleset_find(rs, "two"));
	ruleset_free(rs);
}

/* profd.conf: other sections are config.c's, rule sections are ours. */
static void test_config_mode(void **state)
{
	static const char text[] = "[daemon]\nsocket = /run/x.sock\n[rule cpu]\nmetric = host.cpu_pct\nabove = 95\n"
				   "[sampling]\nfrequency = 99\n";
	struct ruleset *rs;
	char err[512];

	(void)state;
	assert_int_equal(ruleset_new(&rs), 0);
	if (load(rs, text, RULES_CONFIG, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(rs->n, 1);
	assert_int_equal(ruleset_find(rs, "cpu")->scope, RULE_HOST);
	ruleset_free(rs);
}

static void test_thresholds(void **state)
{
	static const struct {
		const char *metric, *text;
		double want;
	} ok[] = {
		{ "process.cpu_pct", "90", 90 },	 { "process.cpu_pct", "90 %", 90 },
		{ "process.cpu_pct", "12.5%", 12.5 },	 { "process.rss_bytes", "8G", 8.0 * 1024 * MIB },
		{ "process.rss_bytes", "512MiB", 512 * MIB }, { "process.rss_bytes", "4096", 4096 },
		{ "process.rss_bytes", "1.5 GiB", 1.5 * 1024 * MIB }, { "process.runq_p99_ns", "50ms", 50e6 },
		{ "process.runq_p99_ns", "2s", 2e9 },	 { "process.runq_p99_ns", "250us", 250e3 },
		{ "process.rss_growth_bytes_per_s", "10MiB/min", 10 * MIB / 60 },
		{ "process.rss_growth_bytes_per_s", "1M/s", MIB }, { "process.rss_growth_bytes_per_s", "-1M/h", -MIB / 3600 },
		{ "process.fds", "10000", 10000 },	 { "process.write_bytes_per_s", "100MiB/s", 100 * MIB },
	};
	static const struct {
		const char *metric, *text;
	} bad[] = {
		{ "process.fds", "10k" },	  { "process.cpu_pct", "90ms" }, { "process.runq_p99_ns", "5MiB" },
		{ "process.rss_bytes", "" },	  { "process.rss_growth_bytes_per_s", "1M/fortnight" },
		{ "process.cpu_pct", "nan" },	  { "process.cpu_pct", "inf" },
	};
	char msg[256];
	double v;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (rule_parse_threshold(metric_find(ok[i].metric), ok[i].text, &v, msg, sizeof(msg)))
			fail_msg("%s %s: %s", ok[i].metric, ok[i].text, msg);
		if (fabs(v - ok[i].want) > 1e-9 * fabs(ok[i].want))
			fail_msg("%s %s: %g, want %g", ok[i].metric, ok[i].text, v, ok[i].want);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!rule_parse_threshold(metric_find(bad[i].metric), bad[i].text, &v, msg, sizeof(msg)))
			fail_msg("%s %s: accepted as %g", bad[i].metric, bad[i].text, v);
	assert_int_equal(rule_check_template("{{literal}} {rule} {value:.2f}% of {threshold}", msg, sizeof(msg)), 0);
	{
		static const struct {
			const char *pattern, *s;
			int want;
		} g[] = {
			{ "postgres", "postgres", 1 }, { "postgres", "postgres2", 0 }, { "post*", "postgres", 1 },
			{ "post*", "pos", 0 },	       { "*", "x", 1 },		       { "*gres", "postgres", 1 },
			{ "p?stgres", "postgres", 1 }, { "[pq]ostgres", "qostgres", 1 }, { "/usr/bin/*", "/usr/bin/x", 1 },
		};
		struct ruleset *rs;
		char err[256], text[256];

		for (size_t i = 0; i < sizeof(g) / sizeof(g[0]); i++) {
			assert_int_equal(ruleset_new(&rs), 0);
			snprintf(text, sizeof(text), "[rule g]\nmetric = process.fds\nabove = 1\nmatch = comm:%s\n", g[i].pattern);
			assert_int_equal(ruleset_load_buffer(rs, "t", text, strlen(text), RULES_FILE, err, sizeof(err)), 0);
			if (rule_glob_match(&rs->v[0].match[0], g[i].s) != g[i].want)
				fail_msg("%s vs %s", g[i].pattern, g[i].s);
			assert_false(rule_glob_match(&rs->v[0].match[0], NULL));
			ruleset_free(rs);
		}
	}
	assert_int_equal(rule_check_template("a } b", msg, sizeof(msg)), -EINVAL);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_glob(void **state)
{
	char dir[] = "/tmp/profd-rules-XXXXXX", path[512], pattern[512], err[512];
	struct ruleset *rs;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(pattern, sizeof(pattern), "%s/*.conf", dir);
	assert_int_equal(ruleset_new(&rs), 0);
	/* nothing there: no rules, no error; a missing directory too */
	assert_int_equal(ruleset_load_glob(rs, pattern, err, sizeof(err)), 0);
	assert_int_equal(ruleset_load_glob(rs, "/nonexistent/profd/rules.d/*.conf", err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/10-cpu.conf", dir);
	write_file(path, "[rule cpu]\nmetric = host.cpu_pct\nabove = 90\n");
	snprintf(path, sizeof(path), "%s/20-mem.conf", dir);
	write_file(path, "[rule mem]\nmetric = host.mem_pct\nabove = 90\n");
	snprintf(path, sizeof(path), "%s/README", dir);
	write_file(path, "not a rules file\n");
	assert_int_equal(ruleset_load_glob(rs, pattern, err, sizeof(err)), 0);
	assert_int_equal(rs->n, 2);
	assert_int_equal(rs->files, 2);
	/* the same rule name in another file: refused, pointing at both */
	ruleset_free(rs);
	assert_int_equal(ruleset_new(&rs), 0);
	snprintf(path, sizeof(path), "%s/30-dup.conf", dir);
	write_file(path, "\n\n[rule cpu]\nmetric = host.cpu_pct\nabove = 80\n");
	assert_int_equal(ruleset_load_glob(rs, pattern, err, sizeof(err)), -EINVAL);
	snprintf(path, sizeof(path), "%s/30-dup.conf:3: [rule cpu]: a rule of that name is already defined at %s/10-cpu.conf:1",
		 dir, dir);
	assert_string_equal(err, path);
	ruleset_free(rs);
	assert_int_equal(ruleset_new(&rs), 0);
	assert_int_equal(ruleset_load_file(rs, "/nonexistent.conf", RULES_FILE, err, sizeof(err)), -ENOENT);
	ruleset_free(rs);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
}

/* Alerts carry over a reload when the rule still describes them. */
static void test_identity(void **state)
{
	struct ruleset *a, *b;
	char err[512];

	(void)state;
	assert_int_equal(ruleset_new(&a), 0);
	assert_int_equal(ruleset_new(&b), 0);
	assert_int_equal(load(a, "[rule x]\nmetric = process.cpu_pct\nmatch = comm:a*\nabove = 90\n[rule y]\nmetric = "
				 "process.fds\nabove = 9\n",
			      RULES_FILE, err, sizeof(err)),
			 0);
	assert_int_equal(load(b, "[rule x]\nmetric = process.cpu_pct\nmatch = comm:a*\nabove = 50\nfor = 1m\n[rule y]\n"
				 "metric = process.fds\nmatch = comm:b\nabove = 9\n",
			      RULES_FILE, err, sizeof(err)),
			 0);
	assert_true(rule_same_identity(ruleset_find(a, "x"), ruleset_find(b, "x")));
	assert_false(rule_same_identity(ruleset_find(a, "y"), ruleset_find(b, "y")));
	ruleset_free(a);
	ruleset_free(b);
	assert_null(ruleset_free(NULL));
}

/* The shipped rules (packaging/rules.d) load, and so do the commented-out
 * ones once uncommented: enabling one must not be a syntax lesson. */
static void test_shipped_rules(void **state)
{
	const char *root = getenv("PROFD_SOURCE_ROOT");
	char path[1024], err[512], line[512];
	struct ruleset *rs;
	char *text = NULL;
	size_t len = 0;
	FILE *f, *m;

	(void)state;
	if (!root || !*root)
		skip();
	snprintf(path, sizeof(path), "%s/packaging/rules.d/*.conf", root);
	assert_int_equal(ruleset_new(&rs), 0);
	if (ruleset_load_glob(rs, path, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(rs->n, 3);
	assert_non_null(ruleset_find(rs, "host_memory_high"));
	assert_true(ruleset_find(rs, "process_fd_leak")->threshold == 10000);
	assert_true(fabs(ruleset_find(rs, "process_memory_leak")->threshold - 10 * MIB / 60) < 1e-6);
	assert_int_equal(ruleset_find(rs, "process_memory_leak")->for_ns, 15 * 60 * SEC);
	ruleset_free(rs);

	snprintf(path, sizeof(path), "%s/packaging/rules.d/default.conf", root);
	f = fopen(path, "r");
	assert_non_null(f);
	m = open_memstream(&text, &len);
	while (fgets(line, sizeof(line), f))
		fputs(line[0] == '#' && (line[1] == '[' || (line[1] >= 'a' && line[1] <= 'z')) ? line + 1 : line, m);
	fclose(f);
	fclose(m);
	assert_int_equal(ruleset_new(&rs), 0);
	if (ruleset_load_buffer(rs, "default.conf", text, len, RULES_FILE, err, sizeof(err)))
		fail_msg("uncommented: %s", err);
	assert_int_equal(rs->n, 6);
	assert_true(ruleset_find(rs, "process_runqueue_delay")->threshold == 50e6);
	assert_true(ruleset_find(rs, "process_cpu_hot")->clear == 80);
	assert_non_null(ruleset_find(rs, "gpu_memory_full"));
	ruleset_free(rs);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_issue_example), cmocka_unit_test(test_errors),   cmocka_unit_test(test_all_or_nothing),
		cmocka_unit_test(test_config_mode),   cmocka_unit_test(test_thresholds), cmocka_unit_test(test_glob),
		cmocka_unit_test(test_identity),      cmocka_unit_test(test_shipped_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
