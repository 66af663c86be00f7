/* SPDX-License-Identifier: GPL-2.0-only */
/* The csv and report encoders on the fixture profile with metric tables:
 * csv parsed back field by field (RFC 4180 quoting, empty cells for
 * absent values, one row per process per slot, times in RFC 3339); the
 * report names the hot function and process, ranks processes by each
 * resource, grades hotspots, lists alerts and keeps its Markdown tables
 * aligned (every row of a table as wide as its header). */
#include <math.h>

#include "profile_fixture.h"

static const char *const cols[] = { "cpu_pct", "rss_bytes", "read_bytes_per_s", "write_bytes_per_s", "gpu_pct" };
static const char *const units[] = { "percent", "bytes", "bytes/s", "bytes/s", "percent" };

static struct profile *with_metrics(void)
{
	struct profile *p = fixture();

	p->from_ns = 100000000000ull;
	p->to_ns = 130000000000ull;
	p->boot_to_real_ns = 1700000000000000000ll; /* 2023-11-14T22:13:20Z at boot */
	assert_int_equal(profile_table_new(p, cols, units, 5, &p->series), 0);
	assert_int_equal(profile_table_new(p, cols, units, 5, &p->totals), 0);
	for (int s = 0; s < 3; s++) {
		uint64_t at = p->from_ns + (uint64_t)s * 10000000000ull;

		assert_true(profile_table_add(p, p->series, 0, at, 10000000000ull,
					      (double[]){ 90.5 + s, 1048576.0 * 300, 0, 4096, NAN }) >= 0);
		assert_true(profile_table_add(p, p->series, 1, at, 10000000000ull,
					      (double[]){ 7.25, 5e6, 1e6 * (s + 1), 0, NAN }) >= 0);
	}
	assert_true(profile_table_add(p, p->totals, 0, p->from_ns, 30000000000ull,
				      (double[]){ 91.5, 1048576.0 * 300, 0, 4096, NAN }) >= 0);
	assert_true(profile_table_add(p, p->totals, 1, p->from_ns, 30000000000ull,
				      (double[]){ 7.25, 5e6, 2e6, 0, 12.5 }) >= 0);
	assert_int_equal(profile_add_host_metric(p, "host.cpu_pct", "percent", 48.75), 0);
	assert_int_equal(profile_add_host_metric(p, "host.mem_used_bytes", "bytes", 8.0 * 1073741824), 0);
	assert_int_equal(profile_add_host_metric(p, "host.load1", "", 1.5), 0);
	return p;
}

/* Split one CSV record (without its CRLF) into fields. */
static size_t split(const char *line, char fields[][128], size_t max)
{
	size_t n = 0, k = 0;
	int q = 0;

	for (const char *c = line;; c++) {
		if (q && *c == '"' && c[1] == '"') {
			fields[n][k++] = '"';
			c++;
		} else if (*c == '"') {
			q = !q;
		} else if (!*c || (*c == ',' && !q)) {
			fields[n][k] = 0;
			n++;
			k = 0;
			if (!*c || n == max)
				break;
		} else {
			fields[n][k++] = *c;
		}
	}
	return n;
}

static void test_csv(void **state)
{
	struct profile *p = with_metrics();
	struct format_opts o = { 0 };
	struct format_result res;
	char f[16][128], *line, *save = NULL;
	size_t len, rows = 0;
	int err;
	char *out = encode_with(p, "csv", &o, 0, &err, &res, &len);

	(void)state;
	assert_int_equal(err, 0);
	assert_int_equal(res.stacks, 6);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t n;

		assert_int_equal(line[strlen(line) - 1], '\r');
		line[strlen(line) - 1] = 0;
		n = split(line, f, 16);
		assert_int_equal(n, 9);
		if (!rows++) {
			assert_string_equal(f[0], "time");
			assert_string_equal(f[2], "pid");
			assert_string_equal(f[3], "comm");
			assert_string_equal(f[4], "cpu_pct");
			assert_string_equal(f[8], "gpu_pct");
			continue;
		}
		assert_string_equal(f[1], "10");
		assert_string_equal(f[8], ""); /* absent */
		if (!strcmp(f[2], "77")) {
			assert_string_equal(f[3], "my proc;x");
			assert_string_equal(f[4], "7.25");
			assert_string_equal(f[5], "5000000");
		} else {
			assert_string_equal(f[2], "4242");
			assert_string_equal(f[5], "314572800");
		}
		if (rows == 2) {
			assert_string_equal(f[0], "2023-11-14T22:15:00.000Z");
			assert_string_equal(f[4], "90.5");
		}
		if (rows == 6)
			assert_string_equal(f[0], "2023-11-14T22:15:20.000Z");
	}
	assert_int_equal(rows, 7);
	free(out);
	/* quoting */
	p->procs[1].comm = "a \"q\", b";
	out = encode_with(p, "csv", &o, 0, &err, &res, &len);
	assert_non_null(strstr(out, ",77,\"a \"\"q\"\", b\",7.25,"));
	free(out);
	profile_free(p);
}

/* Every line of a Markdown table block as wide as the block's first. */
static void check_tables_aligned(const char *md)
{
	const char *l = md;
	size_t width = 0;

	while (*l) {
		const char *e = strchr(l, '\n');
		size_t n = e ? (size_t)(e - l) : strlen(l);

		if (n && l[0] == '|') {
			if (!width)
				width = n;
			assert_int_equal(n, width);
		} else {
			width = 0;
		}
		l += n + (e ? 1 : 0);
	}
}

static void test_report(void **state)
{
	struct profile *p = with_metrics();
	struct format_opts o = { 0 };
	struct format_result res;
	size_t len;
	int err;
	char *out = encode_with(p, "report", &o, 0, &err, &res, &len);
	const char *hot;

	(void)state;
	assert_int_equal(err, 0);
	fprintf(stderr, "%s", out);
	assert_non_null(strstr(out, "# profd performance report\n"));
	assert_non_null(strstr(out, "2023-11-14T22:15:00.000Z to 2023-11-14T22:15:30.000Z (30 s)"));
	assert_non_null(strstr(out, "| host.cpu_pct "));
	assert_non_null(strstr(out, "48.8 %"));
	assert_non_null(strstr(out, "8.0 GiB"));
	/* the hot function of the hot process, graded: 65 of 83 samples */
	hot = strstr(out, "## Hotspots");
	assert_non_null(hot);
	assert_non_null(strstr(hot, "| high     | ns::work<int>(int) | 4242 | app "));
	assert_non_null(strstr(hot, "78.3 %"));
	/* by CPU app first; by disk I/O only pid 77; by GPU only pid 77 */
	assert_true(strstr(out, "| 4242 | app ") < strstr(out, "|   77 | my proc;x"));
	assert_non_null(strstr(strstr(out, "### By disk I/O"), "1.9 MiB/s"));
	assert_non_null(strstr(strstr(out, "### By GPU"), "12.5 %"));
	assert_non_null(strstr(out, "No alert engine reported"));
	assert_non_null(strstr(out, "## Top stacks\n\n1. 60.2 % (50 samples), app (pid 4242):\n\n```\n"
				    "  ns::work<int>(int)\n  main\n  _start\n```\n"));
	assert_non_null(strstr(out, "  vfs_read [k]\n"));
	check_tables_aligned(out);
	free(out);
	/* alerts, once an engine fills them in */
	p->alerts_known = 1;
	out = encode_with(p, "report", &o, 0, &err, &res, &len);
	assert_non_null(strstr(out, "No alerts were firing."));
	free(out);
	assert_int_equal(profile_add_alert(p, "cpu_hog", "critical", "app at 91 % CPU", 110000000000ull), 0);
	out = encode_with(p, "report", &o, 0, &err, &res, &len);
	assert_non_null(strstr(out, "- **cpu_hog** (critical, since 2023-11-14T22:15:10.000Z): app at 91 % CPU\n"));
	free(out);
	profile_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv),
		cmocka_unit_test(test_report),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
