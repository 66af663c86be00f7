/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for the system counters: parsers on fixtures under
 * $PROFD_FIXTURES/sysstat, readers on fixture roots and on /proc. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "collect/sysstat.h"

#define KIB 1024ull

static const char *fixtures(void)
{
	const char *f = getenv("PROFD_FIXTURES");

	return f ? f : "tests/fixtures";
}

/* Fixture into a heap buffer of exactly its size (ASan sees overreads). */
static char *load(const char *name, size_t *ret_n)
{
	char path[4096], *buf;
	FILE *f;
	long sz;

	snprintf(path, sizeof(path), "%s/sysstat/%s", fixtures(), name);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	sz = ftell(f);
	assert_true(sz >= 0);
	rewind(f);
	buf = malloc(sz > 0 ? (size_t)sz : 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)sz, f), (size_t)sz);
	fclose(f);
	*ret_n = (size_t)sz;
	return buf;
}

static void root_path(char *buf, size_t size, const char *root)
{
	snprintf(buf, size, "%s/sysstat/%s", fixtures(), root);
}

static struct sysstat_cpu *parse_stat_file(const char *name, uint32_t max_cpus, int want)
{
	struct sysstat_cpu *s = sysstat_cpu_new(max_cpus);
	size_t n;
	char *buf = load(name, &n);

	assert_non_null(s);
	assert_int_equal(sysstat_parse_cpu(buf, n, s), want);
	free(buf);
	return s;
}

static void test_cpu_parse(void **state)
{
	struct sysstat_cpu *s;

	(void)state;
	s = parse_stat_file("stat_prev", 0, 0);
	assert_int_equal(s->max_cpus, SYSSTAT_MAX_CPUS);
	assert_int_equal(s->has_total, 1);
	assert_int_equal(s->total.id, UINT32_MAX);
	assert_int_equal(s->total.user, 800);
	assert_int_equal(s->total.nice, 10);
	assert_int_equal(s->total.system, 140);
	assert_int_equal(s->total.idle, 2900);
	assert_int_equal(s->total.iowait, 60);
	assert_int_equal(s->total.irq, 5);
	assert_int_equal(s->total.softirq, 5);
	assert_int_equal(s->total.steal, 80);
	assert_int_equal(s->ncpu, 4);
	assert_int_equal(s->cpu[1].id, 1);
	assert_int_equal(s->cpu[1].user, 200);
	assert_int_equal(s->cpu[1].steal, 50);
	assert_int_equal(s->cpu[3].id, 3);
	assert_int_equal(s->ctxt, 1128498);
	assert_int_equal(s->btime, 1700000000);
	assert_int_equal(s->processes, 24500);
	assert_int_equal(s->procs_running, 3);
	assert_int_equal(s->procs_blocked, 1);
	assert_int_equal(s->skipped, 0);
	sysstat_cpu_free(s);

	/* This machine's real file. */
	s = parse_stat_file("stat_real", 0, 0);
	assert_true(s->ncpu >= 1);
	assert_int_equal(s->skipped, 0);
	assert_true(s->ctxt > 0);
	sysstat_cpu_free(s);

	assert_null(sysstat_cpu_free(NULL));
	assert_null(sysstat_cpu_new(SYSSTAT_MAX_CPUS + 1));
	assert_int_equal(errno, EINVAL);
}

static void test_cpu_malformed(void **state)
{
	struct sysstat_cpu *s;

	(void)state;
	/* 4-field kernel; short, out-of-order, beyond-bound, bad-id and
	 * trailing-garbage cpu lines are skipped and counted. */
	s = parse_stat_file("stat_oldkernel", 0, 0);
	assert_int_equal(s->total.user, 10);
	assert_int_equal(s->total.idle, 40);
	assert_int_equal(s->total.iowait, 0);
	assert_int_equal(s->ncpu, 2);
	assert_int_equal(s->cpu[0].id, 0);
	assert_int_equal(s->cpu[1].id, 3);
	assert_int_equal(s->skipped, 5);
	assert_int_equal(s->ctxt, 5);
	sysstat_cpu_free(s);

	/* A small bound: cpu3 is past it. */
	s = parse_stat_file("stat_prev", 2, 0);
	assert_int_equal(s->ncpu, 2);
	assert_int_equal(s->skipped, 2);
	sysstat_cpu_free(s);

	s = parse_stat_file("stat_truncated", 0, 0);
	assert_int_equal(s->ncpu, 3);
	assert_int_equal(s->skipped, 1);
	sysstat_cpu_free(s);

	s = parse_stat_file("stat_garbage", 0, -EINVAL);
	assert_int_equal(s->has_total, 0);
	assert_int_equal(s->ncpu, 0);
	assert_int_equal(s->skipped, 2);
	assert_int_equal(sysstat_parse_cpu(NULL, 0, s), -EINVAL);
	assert_int_equal(sysstat_parse_cpu("", 0, s), -EINVAL);
	sysstat_cpu_free(s);
}

static void test_cpu_read_streaming(void **state)
{
	struct sysstat_cpu *a, *b;
	char root[4096];

	(void)state;
	/* The fixture's intr line (20 KB) is longer than the read chunk. */
	a = parse_stat_file("stat_prev", 0, 0);
	b = sysstat_cpu_new(0);
	root_path(root, sizeof(root), "root_full");
	assert_int_equal(sysstat_read_cpu(root, b), 0);
	assert_int_equal(b->ncpu, a->ncpu);
	assert_int_equal(b->skipped, 0);
	assert_memory_equal(&b->total, &a->total, sizeof(a->total));
	assert_memory_equal(b->cpu, a->cpu, a->ncpu * sizeof(a->cpu[0]));
	assert_int_equal(b->ctxt, a->ctxt);
	assert_int_equal(b->procs_blocked, a->procs_blocked);

	root_path(root, sizeof(root), "missing");
	assert_int_equal(sysstat_read_cpu(root, b), -ENOENT);
	assert_int_equal(sysstat_read_cpu(NULL, b), -EINVAL);
	sysstat_cpu_free(a);
	sysstat_cpu_free(b);
}

static void test_cpu_busy(void **state)
{
	struct sysstat_cpu *prev, *cur;
	double total, per[8];

	(void)state;
	prev = parse_stat_file("stat_prev", 0, 0);
	cur = parse_stat_file("stat_cur", 0, 0);
	assert_int_equal(sysstat_cpu_busy(prev, cur, &total, per, 8), 4);
	/* busy 141 of 292 jiffies overall */
	assert_float_equal(total, 100.0 * 141 / 292, 1e-9);
	assert_float_equal(per[0], 100.0 * 90 / 190, 1e-9); /* cpu0 */
	assert_float_equal(per[1], -1.0, 0);                 /* cpu1: no time passed */
	assert_float_equal(per[2], 50.0, 1e-9);              /* cpu3; cpu2 went offline */
	assert_float_equal(per[3], -1.0, 0);                 /* cpu5: new */

	/* Fewer slots than CPUs; no per-CPU output at all. */
	assert_int_equal(sysstat_cpu_busy(prev, cur, NULL, per, 1), 1);
	assert_int_equal(sysstat_cpu_busy(prev, cur, &total, NULL, 0), 0);
	/* Backwards (snapshots swapped): unknown, not negative garbage. */
	assert_int_equal(sysstat_cpu_busy(cur, prev, &total, per, 8), 4);
	assert_float_equal(total, -1.0, 0);
	assert_float_equal(per[0], -1.0, 0);
	/* Same snapshot: nothing elapsed. */
	assert_int_equal(sysstat_cpu_busy(cur, cur, &total, NULL, 0), 0);
	assert_float_equal(total, -1.0, 0);
	assert_int_equal(sysstat_cpu_busy(NULL, cur, &total, NULL, 0), -EINVAL);
	assert_int_equal(sysstat_cpu_busy(prev, cur, &total, NULL, 3), -EINVAL);
	sysstat_cpu_free(prev);
	sysstat_cpu_free(cur);
}

static void test_meminfo(void **state)
{
	struct sysstat_meminfo m;
	size_t n;
	char *buf;

	(void)state;
	buf = load("meminfo_basic", &n);
	assert_int_equal(sysstat_parse_meminfo(buf, n, &m), 8);
	free(buf);
	assert_int_equal(m.total, 16384000 * KIB);
	assert_int_equal(m.free, 1024000 * KIB);
	assert_int_equal(m.available, 8192000 * KIB);
	assert_int_equal(m.buffers, 12000 * KIB);
	assert_int_equal(m.cached, 4000000 * KIB);  /* not SwapCached */
	assert_int_equal(m.swap_total, 2097152 * KIB);
	assert_int_equal(m.swap_free, 2000000 * KIB);
	assert_int_equal(m.shmem, 8884 * KIB);
	assert_int_equal(m.errors, 0);

	buf = load("meminfo_truncated", &n);
	assert_int_equal(sysstat_parse_meminfo(buf, n, &m), 6);
	free(buf);
	assert_false(m.valid & (SYSSTAT_MEM_SWAPFREE | SYSSTAT_MEM_SHMEM));

	buf = load("meminfo_garbage", &n);
	assert_int_equal(sysstat_parse_meminfo(buf, n, &m), 1);
	free(buf);
	assert_int_equal(m.valid, SYSSTAT_MEM_CACHED);
	assert_int_equal(m.cached, 5 * KIB);
	assert_int_equal(m.errors, 4);

	buf = load("meminfo_real", &n);
	assert_int_equal(sysstat_parse_meminfo(buf, n, &m), 8);
	free(buf);
	assert_true(m.available <= m.total);

	assert_int_equal(sysstat_parse_meminfo(NULL, 0, &m), -EINVAL);
}

static void test_loadavg_uptime(void **state)
{
	static const char *const bad[] = {
		"", "1.35 1.59 0.86 1/94 21456", "1.35 1.59 0.86 1/94\n",
		"1.35 1.59 x 1/94 5\n", "1. 2 3 1/2 3\n", "1.35  1.59 0.86 1/94 5\n",
		"1 2 3 1/2 3 4\n", "1 2 3 99999999999/2 3\n", "-1 2 3 1/2 3\n",
	};
	struct sysstat_loadavg l, keep;
	struct sysstat_uptime u;
	size_t i;

	(void)state;
	assert_int_equal(sysstat_parse_loadavg("1.35 1.59 0.86 1/94 21456\n", 26, &l), 0);
	assert_float_equal(l.load1, 1.35, 1e-12);
	assert_float_equal(l.load5, 1.59, 1e-12);
	assert_float_equal(l.load15, 0.86, 1e-12);
	assert_int_equal(l.runnable, 1);
	assert_int_equal(l.total, 94);
	assert_int_equal(l.last_pid, 21456);
	assert_int_equal(sysstat_parse_loadavg("120 0.5 3 2/3 4\n", 16, &l), 0);
	assert_float_equal(l.load1, 120.0, 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&keep, 0x5a, sizeof(keep));
		l = keep;
		assert_int_equal(sysstat_parse_loadavg(bad[i], strlen(bad[i]), &l), -EINVAL);
		assert_memory_equal(&l, &keep, sizeof(l));
	}

	assert_int_equal(sysstat_parse_uptime("1939.10 3114.27\n", 16, &u), 0);
	assert_int_equal(u.uptime_ns, 1939100000000ull);
	assert_int_equal(u.idle_ns, 3114270000000ull);
	assert_int_equal(sysstat_parse_uptime("1939.10\n", 8, &u), -EINVAL);
	assert_int_equal(sysstat_parse_uptime("1939.10 3114.27", 15, &u), -EINVAL);
	assert_int_equal(sysstat_parse_uptime("99999999999999999999.5 1\n", 25, &u), -EINVAL);
}

static void test_psi(void **state)
{
	static const char cpu[] = "some avg10=5.95 avg60=12.24 avg300=16.29 total=119057200\n"
				  "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n";
	static const char bad[] = "some avg10=1.50 avg60=0.50 avg300=0.25 total=42\n"
				  "full avg10=x avg60=0.00 avg300=0.00 total=0\n"
				  "weird line\n"
				  "some avg10=1 avg60=2 avg300=3";
	struct sysstat_psi p;

	(void)state;
	assert_int_equal(sysstat_parse_psi(cpu, sizeof(cpu) - 1, &p), 2);
	assert_int_equal(p.valid, SYSSTAT_PSI_SOME | SYSSTAT_PSI_FULL);
	assert_float_equal(p.some.avg10, 5.95, 1e-12);
	assert_float_equal(p.some.avg60, 12.24, 1e-12);
	assert_float_equal(p.some.avg300, 16.29, 1e-12);
	assert_int_equal(p.some.total_us, 119057200);
	assert_int_equal(p.full.total_us, 0);
	assert_int_equal(p.errors, 0);

	assert_int_equal(sysstat_parse_psi(bad, sizeof(bad) - 1, &p), 1);
	assert_int_equal(p.valid, SYSSTAT_PSI_SOME);
	assert_int_equal(p.some.total_us, 42);
	assert_int_equal(p.errors, 3);
	assert_int_equal(sysstat_parse_psi("", 0, &p), 0);
	assert_int_equal(p.valid, 0);
}

static void test_read_roots(void **state)
{
	struct sysstat_pressure pr;
	struct sysstat_meminfo m;
	struct sysstat_loadavg l;
	struct sysstat_uptime u;
	char root[4096];

	(void)state;
	root_path(root, sizeof(root), "root_full");
	assert_int_equal(sysstat_read_pressure(root, &pr), 3);
	assert_int_equal(pr.cpu.valid, SYSSTAT_PSI_SOME | SYSSTAT_PSI_FULL);
	assert_int_equal(pr.memory.full.total_us, 7204865);
	assert_int_equal(pr.io.valid, SYSSTAT_PSI_SOME); /* its full line is bad */
	assert_int_equal(pr.io.errors, 1);
	assert_int_equal(sysstat_read_meminfo(root, &m), 0);
	assert_int_equal(m.total, 16384000 * KIB);
	assert_int_equal(sysstat_read_loadavg(root, &l), 0);
	assert_int_equal(l.total, 94);
	assert_int_equal(sysstat_read_uptime(root, &u), 0);
	assert_int_equal(u.uptime_ns, 1939100000000ull);

	/* No /proc/pressure (kernel without CONFIG_PSI): not an error. */
	root_path(root, sizeof(root), "root_nopsi");
	memset(&pr, 0x5a, sizeof(pr));
	assert_int_equal(sysstat_read_pressure(root, &pr), 0);
	assert_int_equal(pr.cpu.valid | pr.memory.valid | pr.io.valid, 0);

	root_path(root, sizeof(root), "missing");
	assert_int_equal(sysstat_read_meminfo(root, &m), -ENOENT);
	assert_int_equal(m.valid, 0);
	assert_int_equal(sysstat_read_loadavg(root, &l), -ENOENT);
	assert_int_equal(sysstat_read_uptime(root, &u), -ENOENT);
	assert_int_equal(sysstat_read_pressure(NULL, &pr), -EINVAL);
}

/* Every prefix of every fixture parses without reading past the end. */
static void test_prefixes(void **state)
{
	static const char *const files[] = {
		"stat_oldkernel", "meminfo_basic", "root_full/pressure/cpu",
		"root_full/loadavg", "root_full/uptime",
	};
	struct sysstat_cpu *s = sysstat_cpu_new(8);
	struct sysstat_meminfo m;
	struct sysstat_loadavg l;
	struct sysstat_uptime u;
	struct sysstat_psi p;
	size_t i, len, n;
	char *buf, *cut;

	(void)state;
	assert_non_null(s);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		buf = load(files[i], &n);
		for (len = 0; len <= n; len++) {
			cut = malloc(len ? len : 1);
			assert_non_null(cut);
			memcpy(cut, buf, len);
			(void)sysstat_parse_cpu(cut, len, s);
			(void)sysstat_parse_meminfo(cut, len, &m);
			(void)sysstat_parse_loadavg(cut, len, &l);
			(void)sysstat_parse_uptime(cut, len, &u);
			(void)sysstat_parse_psi(cut, len, &p);
			free(cut);
		}
		free(buf);
	}
	sysstat_cpu_free(s);
}

static volatile uint64_t spin_sink; /* keeps the loop from being optimized out */

static void spin_ms(long ms)
{
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	do {
		for (int i = 0; i < 100000; i++)
			spin_sink += (uint64_t)i;
		clock_gettime(CLOCK_MONOTONIC, &b);
	} while ((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < ms);
}

static void test_live(void **state)
{
	struct sysstat_cpu *a = sysstat_cpu_new(0), *b = sysstat_cpu_new(0);
	struct sysstat_pressure pr;
	struct sysstat_meminfo m;
	struct sysstat_loadavg l;
	struct sysstat_uptime u;
	double total, *per;
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);
	int r;

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(sysstat_read_cpu("/proc", a), 0);
	spin_ms(120); /* > 10 jiffies at USER_HZ 100, at least this CPU busy */
	assert_int_equal(sysstat_read_cpu("/proc", b), 0);
	assert_true(b->ncpu >= 1 && (long)b->ncpu <= ncpu);
	assert_int_equal(b->skipped, 0);
	per = calloc(b->ncpu, sizeof(*per));
	assert_non_null(per);
	r = sysstat_cpu_busy(a, b, &total, per, b->ncpu);
	assert_int_equal(r, (int)b->ncpu);
	print_message("busy %.1f%% over %u CPUs\n", total, b->ncpu);
	assert_true(total > 0.0 && total <= 100.0);
	free(per);

	assert_int_equal(sysstat_read_meminfo("/proc", &m), 0);
	assert_true(m.valid & SYSSTAT_MEM_TOTAL);
	assert_true(m.total > 0 && m.free <= m.total && m.available <= m.total);
	assert_int_equal(sysstat_read_loadavg("/proc", &l), 0);
	assert_true(l.runnable >= 1 && l.total >= l.runnable);
	assert_int_equal(sysstat_read_uptime("/proc", &u), 0);
	assert_true(u.uptime_ns > 0);
	r = sysstat_read_pressure("/proc", &pr);
	assert_true(r >= 0 && r <= 3);
	if (pr.memory.valid & SYSSTAT_PSI_SOME)
		assert_true(pr.memory.some.avg10 >= 0.0 && pr.memory.some.avg10 <= 100.0);
	sysstat_cpu_free(a);
	sysstat_cpu_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpu_parse),
		cmocka_unit_test(test_cpu_malformed),
		cmocka_unit_test(test_cpu_read_streaming),
		cmocka_unit_test(test_cpu_busy),
		cmocka_unit_test(test_meminfo),
		cmocka_unit_test(test_loadavg_uptime),
		cmocka_unit_test(test_psi),
		cmocka_unit_test(test_read_roots),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_live),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
