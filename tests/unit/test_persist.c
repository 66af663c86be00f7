/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for the state file: the windows' export and restore, a round
 * trip through a file that must reproduce every query, and corrupt,
 * truncated, foreign, oversized and other-boot files set aside or skipped
 * without touching the stores. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "state/persist.h"
#include "store/proctable.h"
#include "store/stacks.h"
#include "store/window.h"
#include "symbols/symbolizer.h"

#define SEC 1000000000ull
#define MS 1000000ull
#define T0 (1000 * SEC)
#define BOOT_A "0b5d3a4e-1111-4c2d-9f00-aaaaaaaaaaaa"
#define BOOT_B "0b5d3a4e-2222-4c2d-9f00-bbbbbbbbbbbb"
#define FAKE_TGID 3999001u /* above any pid_max: never alive */

struct world {
	struct window *win;
	struct stacks *stacks;
	struct proctable *procs;
	struct symbolizer *sym;
	struct persist_src src;
};

static void world_new(struct world *w, uint64_t now, uint64_t fine_ns, uint32_t fine_slots)
{
	struct window_opts wo = {
		.ntiers = 2,
		.tier = { { .slot_ns = fine_ns, .slots = fine_slots }, { .slot_ns = 5 * SEC, .slots = 20 } },
		.max_bytes = 64u << 20,
	};
	struct symbolizer_opts so = { .procfs = "/proc", .kallsyms = "/nonexistent", .debug_dirs = "/nonexistent",
				      .no_worker = 1 };

	memset(w, 0, sizeof(*w));
	assert_int_equal(window_new(&wo, now, &w->win), 0);
	assert_int_equal(stacks_new(4096, &w->stacks), 0);
	assert_int_equal(proctable_new("/proc", 1024, &w->procs), 0);
	assert_int_equal(symbolizer_new(&so, &w->sym), 0);
	w->src = (struct persist_src){ .win = w->win, .stacks = w->stacks, .procs = w->procs, .sym = w->sym };
}

static void world_free(struct world *w)
{
	window_free(w->win);
	stacks_free(w->stacks);
	proctable_free(w->procs);
	symbolizer_free(w->sym);
}

static uint64_t self_start_ns(void)
{
	char buf[2048], *p;
	unsigned long long ticks = 0;
	FILE *f = fopen("/proc/self/stat", "r");

	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	p = strrchr(buf, ')');
	assert_non_null(p);
	/* field 22 (starttime) is the 20th after the comm's ')' */
	for (int i = 0; i < 20; i++)
		p = strchr(p + 1, ' ');
	assert_int_equal(sscanf(p, " %llu", &ticks), 1);
	return ticks * (SEC / (uint64_t)sysconf(_SC_CLK_TCK));
}

/* Fill w with 30 s of samples and counters, starting at T0: two processes
 * (this test, alive, and a dead one), kernel, object (by build-id and by
 * key) and unknown frames; the last slot is left open. */
static void fill(struct world *w)
{
	static const uint8_t bid[20] = { 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	struct sym_object_desc kd = { .has_key = 1, .dev = 2049, .ino = 77, .mtime_ns = 1234567890123ull, .path = "/usr/bin/true" };
	uint32_t obj_b = symbolizer_object_by_build_id(w->sym, bid, sizeof(bid));
	uint32_t obj_k = symbolizer_object_restore(w->sym, &kd);
	struct frame s1[] = {
		{ .obj = SYM_OBJ_KERNEL, .flags = STACK_FRAME_KERNEL, .addr = 0xffffffff81234567ull },
		{ .obj = obj_b, .addr = 0x1140 },
		{ .obj = obj_k, .addr = 0x2a0 },
	};
	struct frame s2[] = { { .obj = SYM_OBJ_UNKNOWN, .addr = 0x7f0000001234ull }, { .obj = obj_b, .addr = 0x99 } };
	uint32_t me, dead, st1, st2;

	assert_int_not_equal(obj_b, SYM_OBJ_UNKNOWN);
	assert_int_not_equal(obj_k, SYM_OBJ_UNKNOWN);
	me = proctable_get(w->procs, (uint32_t)getpid(), self_start_ns(), "test_persist", T0);
	/* what the collector would read from /proc */
	assert_int_equal(proctable_set_identity(w->procs, (uint32_t)getpid(), self_start_ns(), &(struct proc_identity){
		.comm = "test_persist", .ppid = 1, .uid = 1234, .cmdline = strdup("test_persist --round-trip"),
		.exe = strdup("/usr/libexec/test_persist") }, 0), 0);
	proctable_note_exec(w->procs, FAKE_TGID, 5 * SEC, 1, "gone", "/usr/bin/gone", T0);
	dead = proctable_get(w->procs, FAKE_TGID, 5 * SEC, "gone", T0);
	proctable_set_uid(w->procs, dead, 4242);
	proctable_note_exit(w->procs, FAKE_TGID, 5 * SEC, 3, T0 + 20 * SEC);
	st1 = stacks_intern(w->stacks, s1, 3, 0, T0);
	st2 = stacks_intern(w->stacks, s2, 2, STACK_F_TRUNCATED, T0);
	assert_true(me >= PROC_ID_FIRST && dead >= PROC_ID_FIRST && st1 >= STACK_ID_FIRST && st2 >= STACK_ID_FIRST);

	for (uint64_t s = 0; s < 30; s++) {
		uint64_t t = T0 + s * SEC + 300 * MS;
		struct wcounters c = { .sum = { [WC_CPU_NS] = 10 * MS * (s + 1), [WC_VCSW] = s },
				       .gauge_last = { [WG_RSS] = 1000 + s }, .gauge_max = { [WG_RSS] = 2000 + s } };

		c.hist_runq[s % WC_HIST_BUCKETS] = 1;
		window_add(w->win, t, me, st1, 3 + s % 4);
		window_add(w->win, t, me, st2, 1);
		if (s < 20)
			window_add(w->win, t, dead, st1, 2);
		window_add(w->win, t, PROC_ID_OVERFLOW, STACK_ID_OVERFLOW, 1);
		window_add_counters(w->win, t, me, &c);
		window_add_counters(w->win, t, PROC_ID_SYSTEM, &c);
		window_tick(w->win, t + 600 * MS);
	}
}

/* ---- a canonical text of what queries return: ids of one run never
 * appear, only what they name ---- */

struct dumpctx {
	struct world *w;
	char **lines;
	size_t n, cap;
};

static void add_line(struct dumpctx *d, const char *s)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 64;
		d->lines = realloc(d->lines, d->cap * sizeof(*d->lines));
		assert_non_null(d->lines);
	}
	d->lines[d->n++] = strdup(s);
}

static int proc_text(struct world *w, uint32_t proc, char *buf, size_t cap)
{
	const struct proc_info *p = proctable_info(w->procs, proc);

	if (proc < PROC_ID_FIRST || !p)
		return snprintf(buf, cap, "pseudo%u", proc < PROC_ID_FIRST ? proc : 0);
	return snprintf(buf, cap, "%u@%" PRIu64 " %s uid=%u exe=%s cmd=%s dead=%d code=%d", p->tgid, p->start_ns, p->comm,
			p->uid, p->exe ? p->exe : "-", p->cmdline ? p->cmdline : "-", p->exit_ns != 0, p->exit_code);
}

static void entry_cb(uint32_t proc, uint32_t stack, uint64_t count, void *ctx)
{
	struct dumpctx *d = ctx;
	char line[2048];
	int len = proc_text(d->w, proc, line, sizeof(line));
	const struct frame *f;
	uint32_t flags;
	int n = stack >= STACK_ID_FIRST ? stacks_get(d->w->stacks, stack, &f, &flags) : -1;

	if (n < 0) {
		len += snprintf(line + len, sizeof(line) - len, " | stack%u", stack);
	} else {
		len += snprintf(line + len, sizeof(line) - len, " | f%u", flags);
		for (int i = 0; i < n; i++) {
			struct sym_object_desc od;

			if (f[i].obj == SYM_OBJ_KERNEL) {
				len += snprintf(line + len, sizeof(line) - len, " k:%" PRIx64, f[i].addr);
			} else if (symbolizer_object_describe(d->w->sym, f[i].obj, &od) < 0) {
				len += snprintf(line + len, sizeof(line) - len, " u:%" PRIx64, f[i].addr);
			} else {
				len += snprintf(line + len, sizeof(line) - len, " o:");
				for (size_t b = 0; b < od.build_id_len; b++)
					len += snprintf(line + len, sizeof(line) - len, "%02x", od.build_id[b]);
				len += snprintf(line + len, sizeof(line) - len, "/%d:%" PRIu64 ":%" PRIu64 ":%" PRIu64 ":%s+%" PRIx64,
						od.has_key, od.dev, od.ino, od.mtime_ns, od.path ? od.path : "-", f[i].addr);
			}
		}
	}
	snprintf(line + len, sizeof(line) - len, " = %" PRIu64, count);
	add_line(d, line);
}

static void counters_cb(uint32_t proc, const struct wcounters *c, void *ctx)
{
	struct dumpctx *d = ctx;
	char line[4096];
	int len = proc_text(d->w, proc, line, sizeof(line));

	for (int i = 0; i < WC_NSUM; i++)
		len += snprintf(line + len, sizeof(line) - len, " s%" PRIu64, c->sum[i]);
	for (int i = 0; i < WG_NGAUGE; i++)
		len += snprintf(line + len, sizeof(line) - len, " g%" PRIu64 "/%" PRIu64, c->gauge_last[i], c->gauge_max[i]);
	for (int i = 0; i < WC_HIST_BUCKETS; i++)
		len += snprintf(line + len, sizeof(line) - len, " h%u/%u", c->hist_runq[i], c->hist_iolat[i]);
	snprintf(line + len, sizeof(line) - len, " t%" PRIu64, c->gauge_ns);
	add_line(d, line);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Everything a query over span at now returns, sorted, one string. */
static char *dump(struct world *w, uint64_t now, uint64_t span)
{
	struct dumpctx d = { .w = w };
	struct window_range r1, r2;
	size_t total = 64;
	char *out;

	assert_true(window_query(w->win, now, span, entry_cb, &d, &r1) >= 0);
	assert_true(window_query_counters(w->win, now, span, counters_cb, &d, &r2) >= 0);
	if (d.n)
		qsort(d.lines, d.n, sizeof(*d.lines), cmp_str);
	for (size_t i = 0; i < d.n; i++)
		total += strlen(d.lines[i]) + 1;
	out = malloc(total);
	assert_non_null(out);
	snprintf(out, total, "tier %d from %" PRIu64 "\n", r1.tier, r1.from_ns);
	for (size_t i = 0; i < d.n; i++) {
		strcat(out, d.lines[i]);
		strcat(out, "\n");
		free(d.lines[i]);
	}
	free(d.lines);
	return out;
}

static char tmpdir[64];

static int setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/profd-persist-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void path_of(char *buf, size_t cap, const char *suffix)
{
	snprintf(buf, cap, "%s/" PERSIST_FILE "%s", tmpdir, suffix);
}

static struct persist_opts opts_at(uint64_t now, uint32_t tiers)
{
	return (struct persist_opts){ .tiers = tiers, .max_bytes = 16u << 20, .boot_id = BOOT_A, .now_ns = now, .real_ns = 1,
				      .data_from_ns = T0 + 123 };
}

static void save(struct world *w, uint64_t now, uint32_t tiers)
{
	struct persist_opts o = opts_at(now, tiers);
	struct persist_buf *b = NULL;

	assert_int_equal(persist_encode(&w->src, &o, &b), 0);
	assert_int_equal(persist_write(tmpdir, b), 0);
	persist_buf_free(b);
}

static int load(struct world *w, uint64_t now, struct persist_load_stats *st)
{
	struct persist_opts o = opts_at(now, 0);

	return persist_load(tmpdir, &w->src, &o, st);
}

/* Save at T0 + 29.9 s (fine slot 29 open), load into a new run at
 * T0 + 31.2 s: for every span, the restored run answers exactly what the
 * original answers at the same moment. */
static void test_round_trip(void **state)
{
	static const uint64_t spans[] = { 1 * SEC, 5 * SEC, 10 * SEC, 20 * SEC, 60 * SEC, 100 * SEC };
	struct world a, b;
	struct persist_load_stats st;
	uint64_t later = T0 + 31200 * MS;
	struct stat sb;
	char p[128];

	(void)state;
	world_new(&a, T0, SEC, 10);
	fill(&a);
	save(&a, T0 + 29900 * MS, 3);
	path_of(p, sizeof(p), "");
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	path_of(p, sizeof(p), ".tmp");
	assert_int_equal(stat(p, &sb), -1); /* renamed, nothing left over */

	world_new(&b, T0 + 31 * SEC, SEC, 10);
	assert_int_equal(load(&b, later, &st), 0);
	assert_int_equal(st.data_from_ns, T0 + 123);
	assert_int_equal(st.procs, 2);
	assert_int_equal(st.stacks, 2);
	assert_int_equal(st.objects, 2);
	assert_int_equal(st.failed, 0);
	assert_true(st.slots > 10);
	/* slot 21 of the fine tier is older than the restoring run's ring */
	assert_true(st.dropped_slots >= 1);

	window_tick(a.win, later);
	window_tick(b.win, later);
	for (size_t i = 0; i < sizeof(spans) / sizeof(spans[0]); i++) {
		char *x = dump(&a, later, spans[i]), *y = dump(&b, later, spans[i]);

		assert_string_equal(x, y);
		/* and it is not empty: the spans (but the last second) hold data */
		if (spans[i] > SEC)
			assert_non_null(strstr(x, "test_persist"));
		free(x);
		free(y);
	}
	/* the dead process is dead, the live one (this test) alive */
	{
		const struct proc_info *pi = proctable_find_tgid(b.procs, FAKE_TGID);

		assert_non_null(pi);
		assert_true(pi->exit_ns != 0);
		assert_int_equal(pi->exit_code, 3);
		assert_int_equal(pi->uid, 4242);
		assert_string_equal(pi->exe, "/usr/bin/gone");
		pi = proctable_find_tgid(b.procs, (uint32_t)getpid());
		assert_non_null(pi);
		assert_int_equal(pi->exit_ns, 0);
		/* the saved identity, until the collector reads /proc again */
		assert_string_equal(pi->cmdline, "test_persist --round-trip");
		assert_string_equal(pi->exe, "/usr/libexec/test_persist");
		assert_int_equal(pi->uid, 1234);
	}
	world_free(&a);
	world_free(&b);
}

/* Only the coarse tier (the periodic save): the hour before is there,
 * the fine tier starts empty. */
static void test_coarse_only(void **state)
{
	struct world a, b;
	struct persist_load_stats st;
	uint64_t later = T0 + 40 * SEC;
	char *x, *y;

	(void)state;
	world_new(&a, T0, SEC, 10);
	fill(&a);
	save(&a, T0 + 29900 * MS, 2);
	world_new(&b, later, SEC, 10);
	assert_int_equal(load(&b, later, &st), 0);
	window_tick(a.win, later);
	window_tick(b.win, later);
	/* 100 s: from the coarse tier; the slot open at the save (25..30 s)
	 * held fine slots 25..28 only: 29 was still open, and is lost */
	x = dump(&a, later, 100 * SEC);
	y = dump(&b, later, 100 * SEC);
	assert_string_not_equal(x, y);
	free(x);
	free(y);
	x = dump(&b, later, 10 * SEC);
	assert_null(strstr(x, "test_persist"));
	free(x);
	world_free(&a);
	world_free(&b);
}

/* A changed fine slot length: the fine tier is not restored, the coarse
 * one is. */
static void test_geometry_change(void **state)
{
	struct world a, b;
	struct persist_load_stats st;

	(void)state;
	world_new(&a, T0, SEC, 10);
	fill(&a);
	save(&a, T0 + 29900 * MS, 3);
	world_new(&b, T0 + 31 * SEC, 500 * MS, 20);
	assert_int_equal(load(&b, T0 + 31 * SEC, &st), 0);
	assert_true(st.dropped_slots >= 9);
	assert_true(st.slots >= 6);
	world_free(&a);
	world_free(&b);
}

/* The bound: over it, the fine tier goes first; under the coarse tier's
 * own size, nothing is written. */
static void test_bound(void **state)
{
	struct world a;
	struct persist_buf *full = NULL, *cut = NULL;
	struct persist_opts o = opts_at(T0 + 29900 * MS, 3);

	(void)state;
	world_new(&a, T0, SEC, 10);
	fill(&a);
	assert_int_equal(persist_encode(&a.src, &o, &full), 0);
	assert_int_equal(full->tiers, 3);
	o.max_bytes = full->len - 1;
	assert_int_equal(persist_encode(&a.src, &o, &cut), 0);
	assert_int_equal(cut->tiers, 2);
	assert_true(cut->len < full->len);
	o.max_bytes = 200;
	persist_buf_free(cut);
	cut = (struct persist_buf *)0x1;
	assert_int_equal(persist_encode(&a.src, &o, &cut), -EFBIG);
	assert_ptr_equal(cut, (struct persist_buf *)0x1);
	persist_buf_free(full);
	world_free(&a);
}

static size_t read_file(const char *path, uint8_t **ret)
{
	struct stat sb;
	int fd = open(path, O_RDONLY);
	uint8_t *b;

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &sb), 0);
	b = malloc((size_t)sb.st_size);
	assert_int_equal(read(fd, b, (size_t)sb.st_size), sb.st_size);
	close(fd);
	*ret = b;
	return (size_t)sb.st_size;
}

static void write_file(const char *path, const void *b, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, b, len), (ssize_t)len);
	close(fd);
}

static void fix_crcs(uint8_t *b, size_t len)
{
	uint32_t pc = (uint32_t)crc32(0, b + 96, (uInt)(len - 96)), hc;

	for (int i = 0; i < 4; i++)
		b[80 + i] = (uint8_t)(pc >> (8 * i));
	hc = (uint32_t)crc32(0, b, 92);
	for (int i = 0; i < 4; i++)
		b[92 + i] = (uint8_t)(hc >> (8 * i));
}

/* Load a bad file into a fresh run: the expected error, a reason, the
 * file set aside as .bad (or left, for -ESTALE), the stores untouched. */
static void expect_refused(const uint8_t *b, size_t len, int want, const char *reason_part)
{
	struct world w;
	struct persist_load_stats st;
	struct window_stats ws;
	struct stat sb;
	char p[128], bad[128];

	path_of(p, sizeof(p), "");
	path_of(bad, sizeof(bad), ".bad");
	unlink(bad);
	write_file(p, b, len);
	world_new(&w, T0 + 31 * SEC, SEC, 10);
	assert_int_equal(load(&w, T0 + 31 * SEC, &st), want);
	assert_non_null(strstr(st.reason, reason_part));
	window_get_stats(w.win, &ws);
	assert_int_equal(ws.entries, 0);
	assert_int_equal(ws.counter_records, 0);
	if (want == -ESTALE) {
		assert_int_equal(stat(p, &sb), 0);
	} else {
		assert_int_equal(stat(p, &sb), -1);
		assert_int_equal(stat(bad, &sb), 0);
		assert_int_equal((size_t)sb.st_size, len);
	}
	world_free(&w);
}

static void test_refused(void **state)
{
	struct world a;
	uint8_t *b, *m;
	size_t len;
	char p[128];
	struct persist_load_stats st;

	(void)state;
	world_new(&a, T0, SEC, 10);
	fill(&a);
	save(&a, T0 + 29900 * MS, 3);
	path_of(p, sizeof(p), "");
	len = read_file(p, &b);
	m = malloc(len);

	/* corrupt: one bit of the payload */
	memcpy(m, b, len);
	m[len / 2] ^= 0x10;
	expect_refused(m, len, -EBADMSG, "payload checksum");
	/* corrupt: one bit of the header */
	memcpy(m, b, len);
	m[60] ^= 1;
	expect_refused(m, len, -EBADMSG, "header checksum");
	/* truncated, at several lengths */
	expect_refused(b, len - 1, -EBADMSG, "truncated");
	expect_refused(b, len / 3, -EBADMSG, "truncated");
	expect_refused(b, 50, -EBADMSG, "truncated");
	expect_refused(b, 0, -EPROTO, "not a profd state file");
	/* foreign: another file entirely, and another version of ours */
	expect_refused((const uint8_t *)"[daemon]\nsocket = /run/x\n", 26, -EPROTO, "not a profd state file");
	memcpy(m, b, len);
	m[8] = 2;
	fix_crcs(m, len);
	expect_refused(m, len, -EPROTO, "version 2");
	/* malformed with correct checksums: an unfinished varint at the end */
	memcpy(m, b, len);
	m[len - 1] = 0x80;
	fix_crcs(m, len);
	expect_refused(m, len, -EBADMSG, "malformed");
	/* another boot: nothing restored, the file left for the next save */
	memcpy(m, b, len);
	memcpy(m + 16, BOOT_B, 36);
	fix_crcs(m, len);
	expect_refused(m, len, -ESTALE, "another boot");
	/* over the reader's bound */
	{
		struct world w;
		struct persist_opts o = opts_at(T0 + 31 * SEC, 0);
		char bad[128];
		struct stat sb;

		write_file(p, b, len);
		world_new(&w, T0 + 31 * SEC, SEC, 10);
		o.max_bytes = len - 1;
		assert_int_equal(persist_load(tmpdir, &w.src, &o, &st), -EFBIG);
		assert_non_null(strstr(st.reason, "over the bound"));
		path_of(bad, sizeof(bad), ".bad");
		assert_int_equal(stat(bad, &sb), 0);
		world_free(&w);
	}
	/* a symbolic link is not followed */
	unlink(p);
	assert_int_equal(symlink("/etc/passwd", p), 0);
	{
		struct world w;

		world_new(&w, T0 + 31 * SEC, SEC, 10);
		assert_int_equal(load(&w, T0 + 31 * SEC, &st), -EPROTO);
		world_free(&w);
	}
	/* none at all */
	unlink(p);
	{
		struct world w;

		world_new(&w, T0 + 31 * SEC, SEC, 10);
		assert_int_equal(load(&w, T0 + 31 * SEC, &st), -ENOENT);
		world_free(&w);
	}
	free(m);
	free(b);
	world_free(&a);
}

/* Random damage behind correct checksums (what a faulty writer could
 * produce): every load is refused or succeeds, never crashes, and a
 * refused one leaves the stores untouched. */
static void test_mutations(void **state)
{
	struct world a;
	uint8_t *b, *m;
	size_t len;
	char p[128];
	unsigned seed = 12345, refused = 0;

	(void)state;
	world_new(&a, T0, SEC, 10);
	fill(&a);
	save(&a, T0 + 29900 * MS, 3);
	path_of(p, sizeof(p), "");
	len = read_file(p, &b);
	m = malloc(len);
	for (int i = 0; i < 300; i++) {
		struct world w;
		struct persist_load_stats st;
		struct window_stats ws;
		int r;

		memcpy(m, b, len);
		for (int k = 0; k < 1 + i % 4; k++) {
			seed = seed * 1103515245u + 12345u;
			m[96 + (seed >> 8) % (len - 96)] ^= (uint8_t)(1u << ((seed >> 4) % 8));
		}
		fix_crcs(m, len);
		write_file(p, m, len);
		world_new(&w, T0 + 31 * SEC, SEC, 10);
		r = load(&w, T0 + 31 * SEC, &st);
		assert_true(r == 0 || r == -EBADMSG);
		if (r) {
			refused++;
			window_get_stats(w.win, &ws);
			assert_int_equal(ws.entries, 0);
		}
		world_free(&w);
	}
	/* most damage is caught by the structure checks */
	assert_true(refused > 30);
	free(m);
	free(b);
	world_free(&a);
}

static void test_writer_thread(void **state)
{
	struct world a, b;
	struct persist_writer *wr = NULL;
	struct persist_buf *buf = NULL;
	struct persist_opts o = opts_at(T0 + 29900 * MS, 3);
	struct persist_load_stats st;
	int r;

	(void)state;
	world_new(&a, T0, SEC, 10);
	fill(&a);
	unlink(tmpdir); /* no-op: it is a directory */
	assert_int_equal(persist_writer_new(tmpdir, &wr), 0);
	assert_int_equal(persist_writer_poll(wr), 1);
	assert_int_equal(persist_encode(&a.src, &o, &buf), 0);
	assert_int_equal(persist_writer_submit(wr, buf), 0);
	while ((r = persist_writer_poll(wr)) == -EINPROGRESS)
		usleep(1000);
	assert_int_equal(r, 0);
	assert_int_equal(persist_writer_poll(wr), 1);
	world_new(&b, T0 + 31 * SEC, SEC, 10);
	assert_int_equal(load(&b, T0 + 31 * SEC, &st), 0);
	assert_true(st.entries > 0);
	/* a second one, freed while (perhaps) still running: no leak */
	assert_int_equal(persist_encode(&a.src, &o, &buf), 0);
	assert_int_equal(persist_writer_submit(wr, buf), 0);
	persist_writer_free(wr);
	assert_null(persist_writer_free(NULL));
	world_free(&a);
	world_free(&b);
}

static void test_boot_id(void **state)
{
	char id[64];
	char p[128];

	(void)state;
	assert_int_equal(persist_read_boot_id(NULL, id, sizeof(id)), 0);
	assert_int_equal(strlen(id), 36);
	assert_int_equal(id[8], '-');
	snprintf(p, sizeof(p), "%s/short", tmpdir);
	write_file(p, "abc\n", 4);
	assert_int_equal(persist_read_boot_id(p, id, sizeof(id)), -EINVAL);
	assert_int_equal(persist_read_boot_id("/nonexistent", id, sizeof(id)), -ENOENT);
	unlink(p);
}

/* A state directory that does not exist yet is created. */
static void test_creates_dir(void **state)
{
	struct world a;
	char dir[128], cmd[160];
	struct persist_buf *b = NULL;
	struct persist_opts o = opts_at(T0 + 29900 * MS, 2);
	struct stat sb;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/sub", tmpdir);
	world_new(&a, T0, SEC, 10);
	fill(&a);
	assert_int_equal(persist_encode(&a.src, &o, &b), 0);
	assert_int_equal(persist_write(dir, b), 0);
	assert_int_equal(stat(dir, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0750);
	persist_buf_free(b);
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", dir);
	assert_int_equal(system(cmd), 0);
	world_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_coarse_only),
		cmocka_unit_test(test_geometry_change),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_writer_thread),
		cmocka_unit_test(test_boot_id),
		cmocka_unit_test(test_creates_dir),
	};
	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
