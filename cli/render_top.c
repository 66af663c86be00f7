/* SPDX-License-Identifier: GPL-2.0-only */
/* profctl top as text: the system header and the process table, fitted to
 * a terminal width. The plain output (--once, pipes) prints these lines;
 * the curses view (render_tui.c) draws the same ones. */
#include <langinfo.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/fmt.h"
#include "render_internal.h"
#include "common/sort.h"

/* Columns between table cells. */
#define GAP 2
/* With no known width: keeps one long command line from pushing HOTTEST
 * far to the right. */
#define CMD_NATURAL_MAX 60
/* Below these a command line or a function name says too little: columns
 * are dropped before COMMAND or HOTTEST get narrower. */
#define CMD_MIN 16
#define HOT_MIN 16
/* HOTTEST past this width (long C++ names) is better spent on COMMAND. */
#define HOT_CAP 48
#define USER_MAX 12
/* Per-CPU entries on the CPU line when no width bounds it. */
#define PERCPU_NATURAL_MAX 16

/* ---- text ---- */

static bool utf8_term(void)
{
	static int cached = -1;

	if (cached < 0)
		cached = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
	return cached;
}

/* A symbol in UTF-8, or its ASCII stand-in on other terminals. */
static const char *glyph(const char *utf8, const char *ascii)
{
	return utf8_term() ? utf8 : ascii;
}

/* Display columns of a UTF-8 string: one per code point (wide glyphs are
 * rare in process names; combining ones rarer). */
static size_t cols(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* Bytes taken by the first k code points of s. */
static size_t prefix_bytes(const char *s, size_t k)
{
	size_t b = 0, n = 0;

	for (; s[b]; b++) {
		if (((unsigned char)s[b] & 0xc0) != 0x80) {
			if (n == k)
				break;
			n++;
		}
	}
	return b;
}

/* Appends s to out, padded or cut to exactly w columns (w 0: as is). A cut
 * is marked with an ellipsis so nobody mistakes it for the whole name. */
static void cell(char *out, size_t cap, const char *s, size_t w, bool right)
{
	size_t len = strlen(out), c = cols(s);

	if (len >= cap)
		return;
	if (w == 0)
		snprintf(out + len, cap - len, "%s", s);
	else if (c > w)
		snprintf(out + len, cap - len, "%.*s%s", (int)prefix_bytes(s, w - 1), s, glyph("\xe2\x80\xa6", "~"));
	else if (right)
		snprintf(out + len, cap - len, "%*s%s", (int)(w - c), "", s);
	else
		snprintf(out + len, cap - len, "%s%*s", s, (int)(w - c), "");
}

/* Cuts s to w columns (w 0: leaves it), marking the cut. */
static void clip(char *s, size_t cap, size_t w)
{
	char tmp[1024];

	if (w == 0 || cols(s) <= w)
		return;
	tmp[0] = '\0';
	cell(tmp, sizeof(tmp), s, w, false);
	snprintf(s, cap, "%s", tmp);
}

/* Appends printf output to buf. */
static void __attribute__((format(printf, 3, 4))) add(char *buf, size_t cap, const char *fmt, ...)
{
	size_t len = strlen(buf);
	va_list ap;

	if (len >= cap)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + len, cap - len, fmt, ap);
	va_end(ap);
}

/* ---- compact numbers: "1.2G", "512M", "350µs" ---- */

/* v in a unit: one decimal below 10 (or below 100 when decimals says so),
 * none above, and none that is ".0". */
static char *scaled(char *b, size_t n, double v, bool decimals_to_100, const char *unit)
{
	int len;

	if (v < (decimals_to_100 ? 99.95 : 9.95)) {
		len = snprintf(b, n, "%.1f", v);
		if (len >= 2 && (size_t)len < n && strcmp(b + len - 2, ".0") == 0)
			b[len - 2] = '\0';
	} else {
		snprintf(b, n, "%.0f", v);
	}
	add(b, n, "%s", unit);
	return b;
}

/* Bytes, or bytes per second: "0", "512B", "40K", "1.2G", "512M". */
static char *compact_bytes(char *b, size_t n, double v)
{
	static const char *const units[] = { "K", "M", "G", "T", "P", "E" };
	int u = -1;

	if (!(v >= 0.5)) /* NaN included */
		return snprintf(b, n, "0"), b;
	if (v < 1023.5)
		return snprintf(b, n, "%.0fB", v), b;
	while (v >= 1023.5 && u < 5) {
		v /= 1024.0;
		u++;
	}
	return scaled(b, n, v, true, units[u]);
}

/* A duration in ns: "0", "800ns", "350µs", "1.2ms", "12s", "5m30s". */
static char *compact_ns(char *b, size_t n, double ns)
{
	if (!(ns >= 0.5))
		return snprintf(b, n, "0"), b;
	if (ns < 999.5)
		return snprintf(b, n, "%.0fns", ns), b;
	if (ns < 999.5e3)
		return scaled(b, n, ns / 1e3, false, glyph("\xc2\xb5s", "us"));
	if (ns < 999.5e6)
		return scaled(b, n, ns / 1e6, false, "ms");
	if (ns < 59.95e9)
		return scaled(b, n, ns / 1e9, false, "s");
	/* A double past UINT64_MAX does not convert; ~584 years is "more
	 * than enough" on any screen. */
	return fmt_duration(b, n, ns < 1.8e19 ? (uint64_t)ns : UINT64_MAX);
}

/* ---- cells from members; "-" for what the daemon did not send ---- */

static void cell_pct(char *b, size_t n, struct json_object *o, const char *key)
{
	if (rj_has_num(o, key))
		snprintf(b, n, "%.1f", rj_double(o, key));
	else
		snprintf(b, n, "-");
}

static void cell_bytes(char *b, size_t n, struct json_object *o, const char *key)
{
	if (rj_has_num(o, key))
		compact_bytes(b, n, rj_double(o, key));
	else
		snprintf(b, n, "-");
}

static void cell_ns(char *b, size_t n, struct json_object *o, const char *key)
{
	if (rj_has_num(o, key))
		compact_ns(b, n, rj_double(o, key));
	else
		snprintf(b, n, "-");
}

/* ---- the header ---- */

/* "window 10s", or "window 4.5s of 10s" while the daemon has not yet run
 * as long as asked. */
static void info_window(char *b, size_t n, struct json_object *d, const char *asked)
{
	uint64_t want = 0;
	double got = rj_double(d, "window_s");
	char s[32];

	if (!rj_has_num(d, "window_s")) {
		snprintf(b, n, "window %s", asked ? asked : "-");
		return;
	}
	fmt_duration(s, sizeof(s), got > 0 && got < 1.8e10 ? (uint64_t)(got * 1e9 + 0.5) : 0);
	if (asked && fmt_parse_duration(asked, &want) == 0 && got * 1e9 + 0.5e9 < (double)want)
		snprintf(b, n, "window %s of %s", s, asked);
	else
		snprintf(b, n, "window %s", s);
}

static void info_title(char *b, size_t n, struct json_object *d, const struct render_top_query *q)
{
	const char *dash = glyph(" \xe2\x80\x94 ", " - ");
	char win[96], clock[16] = "-";
	struct tm tm;
	time_t now = time(NULL);

	if (localtime_r(&now, &tm))
		strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
	info_window(win, sizeof(win), d, q->window);
	snprintf(b, n, "profd top%s%s%ssort %s", dash, win, dash, q->sort ? q->sort : "-");
	if (q->pid > 0)
		add(b, n, "%spid %lld", dash, q->pid);
	if (q->unit && *q->unit)
		add(b, n, "%sunit %s", dash, q->unit);
	add(b, n, "%s", dash);
	if (rj_has_num(d, "cpus"))
		add(b, n, "%lld CPU%s", (long long)rj_int(d, "cpus"), rj_int(d, "cpus") == 1 ? "" : "s");
	else
		add(b, n, "- CPUs");
	if (rj_has_num(d, "frequency"))
		add(b, n, " @ %lld Hz", (long long)rj_int(d, "frequency"));
	add(b, n, "%s%s", dash, clock);
}

struct percpu {
	size_t cpu;
	double pct;
	bool known;
};

/* Busiest first; unknown last; then by CPU number. */
static int percpu_cmp(const void *a, const void *b)
{
	const struct percpu *x = a, *y = b;

	if (x->known != y->known)
		return x->known ? -1 : 1;
	if (x->pct != y->pct)
		return x->pct > y->pct ? -1 : 1;
	return x->cpu < y->cpu ? -1 : x->cpu > y->cpu;
}

static void percpu_entry(char *b, size_t n, const struct percpu *c)
{
	if (c->known)
		snprintf(b, n, "cpu%zu %.1f", c->cpu, c->pct);
	else
		snprintf(b, n, "cpu%zu -", c->cpu);
}

/* "[cpu0 40.1 cpu1 35.0]" in at most budget columns (0: no bound but
 * PERCPU_NATURAL_MAX entries). When not all fit, the busiest do, busiest
 * first, and "+N" says how many are left out: an idle cpu0 is not what
 * anyone looks for on a 64-CPU machine. Empty when nothing fits. */
static void info_percpu(char *b, size_t n, struct json_object *arr, size_t budget)
{
	size_t cnt = arr && json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
	struct percpu *v = cnt ? calloc(cnt, sizeof(*v)) : NULL;
	size_t all = 2, shown = 0;
	char e[48], more[32];

	b[0] = '\0';
	if (!v)
		return;
	for (size_t i = 0; i < cnt; i++) {
		struct json_object *x = json_object_array_get_idx(arr, i);
		v[i].cpu = i;
		v[i].known = x && (json_object_is_type(x, json_type_double) || json_object_is_type(x, json_type_int));
		v[i].pct = v[i].known ? json_object_get_double(x) : 0;
		percpu_entry(e, sizeof(e), &v[i]);
		all += cols(e) + (i > 0);
	}
	if ((budget == 0 && cnt <= PERCPU_NATURAL_MAX) || (budget > 0 && all <= budget)) {
		shown = cnt;
	} else {
		size_t used = 2;

		qsort_safe(v, cnt, sizeof(*v), percpu_cmp);
		for (; shown < cnt && (budget > 0 || shown < PERCPU_NATURAL_MAX); shown++) {
			percpu_entry(e, sizeof(e), &v[shown]);
			if (cnt - shown - 1)
				snprintf(more, sizeof(more), " +%zu", cnt - shown - 1);
			else
				more[0] = '\0';
			if (budget > 0 && used + (shown > 0) + cols(e) + cols(more) > budget)
				break;
			used += (shown > 0) + cols(e);
		}
	}
	if (shown == 0) {
		free(v);
		return;
	}
	add(b, n, "[");
	for (size_t i = 0; i < shown; i++) {
		percpu_entry(e, sizeof(e), &v[i]);
		add(b, n, "%s%s", i ? " " : "", e);
	}
	if (shown < cnt)
		add(b, n, " +%zu", cnt - shown);
	add(b, n, "]");
	free(v);
}

/* CPU 37.5% [cpu0 40.1 cpu1 35.0]  MEM 1.2G used / 23.4G (5.1%), avail
 * 22.1G  SWAP 0/0  LOAD 0.52 0.40 0.33; narrow: "MEM 1.2G/23.4G (5.1%)
 * avail 22.1G", which fits 80 columns. */
static void info_resources_fmt(char *b, size_t n, struct json_object *d, int width, bool narrow)
{
	struct json_object *sys = rj_get(d, "system");
	char cpu[32], rest[256], list[1024], x[32], y[32], z[32];
	size_t fixed;

	/* An older daemon has only the top-level system_cpu_pct. */
	if (rj_has_num(sys, "cpu_pct"))
		snprintf(cpu, sizeof(cpu), "CPU %.1f%%", rj_double(sys, "cpu_pct"));
	else if (!sys && rj_has_num(d, "system_cpu_pct"))
		snprintf(cpu, sizeof(cpu), "CPU %.1f%%", rj_double(d, "system_cpu_pct"));
	else
		snprintf(cpu, sizeof(cpu), "CPU -");

	rest[0] = '\0';
	if (rj_has_num(sys, "mem_total_bytes")) {
		double total = rj_double(sys, "mem_total_bytes"), used = rj_double(sys, "mem_used_bytes");

		cell_bytes(x, sizeof(x), sys, "mem_used_bytes");
		add(rest, sizeof(rest), "  MEM %s%s%s", x, narrow ? "/" : " used / ", compact_bytes(y, sizeof(y), total));
		if (rj_has_num(sys, "mem_used_bytes") && total > 0)
			add(rest, sizeof(rest), " (%.1f%%)", 100.0 * used / total);
		cell_bytes(z, sizeof(z), sys, "mem_available_bytes");
		add(rest, sizeof(rest), "%savail %s", narrow ? " " : ", ", z);
	} else {
		add(rest, sizeof(rest), "  MEM -");
	}
	if (rj_has_num(sys, "swap_total_bytes") || rj_has_num(sys, "swap_used_bytes")) {
		cell_bytes(x, sizeof(x), sys, "swap_used_bytes");
		cell_bytes(y, sizeof(y), sys, "swap_total_bytes");
		add(rest, sizeof(rest), "  SWAP %s/%s", x, y);
	} else {
		add(rest, sizeof(rest), "  SWAP -");
	}
	if (rj_has_num(sys, "load1")) {
		static const char *const keys[] = { "load1", "load5", "load15" };

		add(rest, sizeof(rest), "  LOAD");
		for (size_t i = 0; i < 3; i++) {
			if (rj_has_num(sys, keys[i]))
				add(rest, sizeof(rest), " %.2f", rj_double(sys, keys[i]));
			else
				add(rest, sizeof(rest), " -");
		}
	} else {
		add(rest, sizeof(rest), "  LOAD -");
	}

	/* The per-CPU list gets what the rest leaves; it needs at least
	 * room for one entry and "+N" to be worth showing. */
	fixed = cols(cpu) + 1 + cols(rest);
	list[0] = '\0';
	if (width <= 0)
		info_percpu(list, sizeof(list), rj_get(sys, "per_cpu_pct"), 0);
	else if ((size_t)width >= fixed + 16)
		info_percpu(list, sizeof(list), rj_get(sys, "per_cpu_pct"), (size_t)width - fixed);
	snprintf(b, n, "%s%s%s%s", cpu, list[0] ? " " : "", list, rest);
}

static void info_resources(char *b, size_t n, struct json_object *d, int width)
{
	info_resources_fmt(b, n, d, width, false);
	if (width > 0 && cols(b) > (size_t)width)
		info_resources_fmt(b, n, d, width, true);
}

static void psi_val(char *b, size_t n, struct json_object *psi, const char *key)
{
	if (rj_has_num(psi, key))
		snprintf(b, n, "%.2f", rj_double(psi, key));
	else
		snprintf(b, n, "-");
}

static void info_psi(char *b, size_t n, struct json_object *d)
{
	struct json_object *psi = rj_get(d, "system.psi");
	char c[16], ms[16], is[16], mf[16], iff[16];

	if (!psi || !json_object_is_type(psi, json_type_object)) {
		snprintf(b, n, "PSI n/a");
		return;
	}
	psi_val(c, sizeof(c), psi, "cpu.some_avg10");
	psi_val(ms, sizeof(ms), psi, "memory.some_avg10");
	psi_val(is, sizeof(is), psi, "io.some_avg10");
	psi_val(mf, sizeof(mf), psi, "memory.full_avg10");
	psi_val(iff, sizeof(iff), psi, "io.full_avg10");
	snprintf(b, n, "PSI some10 cpu %s mem %s io %s (full mem %s io %s)", c, ms, is, mf, iff);
}

/* GPU0 NVIDIA H100: util 87% mem 40.1G/79.6G 61°C 312W */
static void info_gpu_device(char *b, size_t n, struct json_object *g, size_t i)
{
	const char *name = rj_str(g, "name");
	char x[32], y[32];

	if (rj_has_num(g, "index"))
		snprintf(b, n, "GPU%lld %s:", (long long)rj_int(g, "index"), name && *name ? name : "-");
	else
		snprintf(b, n, "GPU%zu %s:", i, name && *name ? name : "-");
	if (rj_has_num(g, "util_pct"))
		add(b, n, " util %.0f%%", rj_double(g, "util_pct"));
	else
		add(b, n, " util -");
	if (rj_has_num(g, "mem_used_bytes") || rj_has_num(g, "mem_total_bytes")) {
		cell_bytes(x, sizeof(x), g, "mem_used_bytes");
		cell_bytes(y, sizeof(y), g, "mem_total_bytes");
		add(b, n, " mem %s/%s", x, y);
	} else {
		add(b, n, " mem -");
	}
	if (rj_has_num(g, "temp_c"))
		add(b, n, " %lld%sC", (long long)rj_int(g, "temp_c"), glyph("\xc2\xb0", ""));
	else
		add(b, n, " temp -");
	if (rj_has_num(g, "power_w"))
		add(b, n, " %.0fW", rj_double(g, "power_w"));
	else
		add(b, n, " power -");
}

static struct json_object *gpu_devices(struct json_object *d)
{
	struct json_object *a = rj_get(d, "system.gpu.devices");

	return a && json_object_is_type(a, json_type_array) ? a : NULL;
}

int top_info_lines(struct json_object *data, const struct render_top_query *q)
{
	struct json_object *devs = gpu_devices(data);

	/* title, resources, PSI, GPU state, one per device, the unit's, blank */
	return 5 + (devs ? (int)json_object_array_length(devs) : 0) + (q && q->unit && *q->unit);
}

static const char *N_or_q(char *b, size_t n, struct json_object *o, const char *key)
{
	if (rj_has_num(o, key))
		snprintf(b, n, "%lld", (long long)rj_int(o, key));
	else
		snprintf(b, n, "?");
	return b;
}

/* The unit asked for, added up: its processes, and the block I/O its
 * cgroups were charged (the flusher's writeback of its pages included
 * where the kernel tags it), which its processes' own figures miss. */
static void info_unit(char *b, size_t n, struct json_object *d, const char *unit)
{
	struct json_object *a = rj_get(d, "units"), *u = NULL;
	char x[32], y[32];

	for (size_t i = 0; a && json_object_is_type(a, json_type_array) && i < json_object_array_length(a); i++) {
		struct json_object *e = json_object_array_get_idx(a, i);
		const char *name = rj_str(e, "unit");

		if (name && !strcmp(name, unit))
			u = e;
	}
	if (!u) {
		snprintf(b, n, "unit %s: no process and no block I/O in the window", unit);
		return;
	}
	snprintf(b, n, "unit %s: %s processes, CPU %.1f%%, RSS %s", unit, N_or_q(y, sizeof(y), u, "processes"),
		 rj_double(u, "cpu_pct"), compact_bytes(x, sizeof(x), rj_double(u, "rss_bytes")));
	if (rj_has_num(u, "io_write_bytes_per_s"))
		add(b, n, "; block I/O of its cgroups: read %s/s, write %s/s",
		    compact_bytes(x, sizeof(x), rj_double(u, "io_read_bytes_per_s")),
		    compact_bytes(y, sizeof(y), rj_double(u, "io_write_bytes_per_s")));
	else
		add(b, n, "; block I/O per cgroup n/a");
}

static void info_lines(struct json_object *d, const struct render_top_query *q, int width, top_emit_fn emit, void *ud)
{
	struct json_object *devs = gpu_devices(d);
	const char *state = rj_str(d, "system.gpu.state");
	size_t w = width > 0 ? (size_t)width : 0;
	char line[1024];

	info_title(line, sizeof(line), d, q);
	clip(line, sizeof(line), w);
	emit(ud, TOP_LINE_INFO, line);
	info_resources(line, sizeof(line), d, width);
	clip(line, sizeof(line), w);
	emit(ud, TOP_LINE_INFO, line);
	info_psi(line, sizeof(line), d);
	clip(line, sizeof(line), w);
	emit(ud, TOP_LINE_INFO, line);
	snprintf(line, sizeof(line), "GPU %s", state && *state ? state : rj_get(d, "system.gpu") ? "-" : "n/a");
	clip(line, sizeof(line), w);
	emit(ud, TOP_LINE_INFO, line);
	for (size_t i = 0; devs && i < json_object_array_length(devs); i++) {
		info_gpu_device(line, sizeof(line), json_object_array_get_idx(devs, i), i);
		clip(line, sizeof(line), w);
		emit(ud, TOP_LINE_INFO, line);
	}
	if (q && q->unit && *q->unit) {
		info_unit(line, sizeof(line), d, q->unit);
		clip(line, sizeof(line), w);
		emit(ud, TOP_LINE_INFO, line);
	}
	emit(ud, TOP_LINE_INFO, "");
}

/* ---- the table ---- */

enum col { C_PID, C_USER, C_CPU, C_RSS, C_MEM, C_GPU, C_GMEM, C_READ, C_WRITE, C_RUNQ, C_CMD, C_HOT, NCOL };

static const struct {
	const char *title;
	bool right;
} columns[NCOL] = {
	[C_PID] = { "PID", true },	   [C_USER] = { "USER", false },     [C_CPU] = { "CPU%", true },
	[C_RSS] = { "RSS", true },	   [C_MEM] = { "MEM%", true },	     [C_GPU] = { "GPU%", true },
	[C_GMEM] = { "GMEM", true },	   [C_READ] = { "READ/s", true },    [C_WRITE] = { "WRITE/s", true },
	[C_RUNQ] = { "RUNQ99", true },	   [C_CMD] = { "COMMAND", false },   [C_HOT] = { "HOTTEST", false },
};

/* Which columns give way, in order, when the terminal is too narrow; a
 * step drops both of a pair. COMMAND never goes. */
static const enum col drop_order[][2] = {
	{ C_GMEM, C_GMEM }, { C_GPU, C_GPU }, { C_RUNQ, C_RUNQ }, { C_WRITE, C_READ }, { C_MEM, C_MEM }, { C_HOT, C_HOT },
};

struct row {
	char cell[C_CMD][40];
	char command[512];
	char hottest[512];
};

/* uid → user name, cached: the view refreshes every few seconds and NSS
 * lookups may go to the network. */
static const char *user_name(int64_t uid)
{
	static struct {
		int64_t uid;
		char name[33];
	} cache[64];
	static unsigned used;
	struct passwd *pw;
	unsigned slot;

	for (unsigned i = 0; i < used && i < 64; i++)
		if (cache[i].uid == uid)
			return cache[i].name;
	slot = used++ % 64;
	cache[slot].uid = uid;
	/* (uid_t)-1 is the daemon's "unknown" */
	pw = uid >= 0 && uid < 4294967295LL ? getpwuid((uid_t)uid) : NULL;
	if (uid < 0 || uid >= 4294967295LL)
		snprintf(cache[slot].name, sizeof(cache[slot].name), "-");
	else if (pw)
		snprintf(cache[slot].name, sizeof(cache[slot].name), "%s", pw->pw_name);
	else
		snprintf(cache[slot].name, sizeof(cache[slot].name), "%lld", (long long)uid);
	return cache[slot].name;
}

/* mixed: some processes' CPU% is exact (scheduler accounting) and others'
 * an estimate from samples; the estimates are marked "~". */
static void row_fill(struct row *r, struct json_object *p, bool mixed)
{
	const char *cmdline = rj_str(p, "cmdline"), *comm = rj_str(p, "comm");
	const char *hot = rj_str(p, "hottest"), *mod = rj_str(p, "hottest_module");
	const char *src = rj_str(p, "cpu_source");
	struct json_object *alive = rj_get(p, "alive");
	/* Exited processes are marked up front, where truncation cannot
	 * hide it. */
	bool gone = alive && json_object_is_type(alive, json_type_boolean) && !json_object_get_boolean(alive);

	if (rj_has_num(p, "pid"))
		snprintf(r->cell[C_PID], sizeof(r->cell[C_PID]), "%lld", (long long)rj_int(p, "pid"));
	else
		snprintf(r->cell[C_PID], sizeof(r->cell[C_PID]), "-");
	snprintf(r->cell[C_USER], sizeof(r->cell[C_USER]), "%s", rj_has_num(p, "uid") ? user_name(rj_int(p, "uid")) : "-");
	if (rj_has_num(p, "cpu_pct"))
		snprintf(r->cell[C_CPU], sizeof(r->cell[C_CPU]), "%s%.1f",
			 mixed && src && strcmp(src, "samples") == 0 ? "~" : "", rj_double(p, "cpu_pct"));
	else
		snprintf(r->cell[C_CPU], sizeof(r->cell[C_CPU]), "-");
	cell_bytes(r->cell[C_RSS], sizeof(r->cell[C_RSS]), p, "rss_bytes");
	cell_pct(r->cell[C_MEM], sizeof(r->cell[C_MEM]), p, "mem_pct");
	cell_pct(r->cell[C_GPU], sizeof(r->cell[C_GPU]), p, "gpu_pct");
	cell_bytes(r->cell[C_GMEM], sizeof(r->cell[C_GMEM]), p, "gpu_mem_bytes");
	cell_bytes(r->cell[C_READ], sizeof(r->cell[C_READ]), p, "read_bytes_per_s");
	cell_bytes(r->cell[C_WRITE], sizeof(r->cell[C_WRITE]), p, "write_bytes_per_s");
	cell_ns(r->cell[C_RUNQ], sizeof(r->cell[C_RUNQ]), p, "runq_p99_ns");
	/* The command line says more than comm; kernel threads and exited
	 * processes may have none, ps shows those as [comm]. */
	if (cmdline && *cmdline)
		snprintf(r->command, sizeof(r->command), "%s%s", gone ? "(exited) " : "", cmdline);
	else
		snprintf(r->command, sizeof(r->command), "%s[%s]", gone ? "(exited) " : "", comm ? comm : "-");
	if (hot && *hot)
		snprintf(r->hottest, sizeof(r->hottest), "%s", hot);
	else if (mod && *mod)
		snprintf(r->hottest, sizeof(r->hottest), "[%s]", mod);
	else
		snprintf(r->hottest, sizeof(r->hottest), "-");
}

struct layout {
	size_t w[NCOL];
	bool on[NCOL];
};

static size_t max_sz(size_t a, size_t b)
{
	return a > b ? a : b;
}

static size_t min_sz(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* Columns before COMMAND, with their gaps. */
static size_t layout_fixed(const struct layout *L)
{
	size_t sum = 0;

	for (int i = 0; i < C_CMD; i++)
		if (L->on[i])
			sum += L->w[i] + GAP;
	return sum;
}

static void layout_compute(struct layout *L, const struct row *rows, size_t n, int width, bool gpu)
{
	size_t nat[NCOL], rest, hot, cmd, avail;

	for (int i = 0; i < NCOL; i++) {
		nat[i] = cols(columns[i].title);
		L->on[i] = true;
	}
	for (size_t r = 0; r < n; r++) {
		for (int i = 0; i < C_CMD; i++)
			nat[i] = max_sz(nat[i], cols(rows[r].cell[i]));
		nat[C_CMD] = max_sz(nat[C_CMD], cols(rows[r].command));
		nat[C_HOT] = max_sz(nat[C_HOT], cols(rows[r].hottest));
	}
	nat[C_USER] = min_sz(nat[C_USER], USER_MAX);
	memcpy(L->w, nat, sizeof(nat));
	/* No process has GPU data and there is no GPU: the columns could
	 * only ever say "-". */
	if (!gpu)
		L->on[C_GPU] = L->on[C_GMEM] = false;
	if (width <= 0) {
		L->w[C_CMD] = min_sz(nat[C_CMD], CMD_NATURAL_MAX);
		L->w[C_HOT] = 0; /* last column: as is */
		return;
	}
	for (size_t s = 0; s < sizeof(drop_order) / sizeof(drop_order[0]); s++) {
		size_t need = layout_fixed(L) + CMD_MIN + (L->on[C_HOT] ? GAP + min_sz(nat[C_HOT], HOT_MIN) : 0);

		if (need <= (size_t)width)
			break;
		L->on[drop_order[s][0]] = L->on[drop_order[s][1]] = false;
	}
	rest = (size_t)width > layout_fixed(L) ? (size_t)width - layout_fixed(L) : 0;
	if (!L->on[C_HOT]) {
		L->w[C_CMD] = max_sz(rest, 1);
		return;
	}
	/* Both fit: COMMAND as wide as it needs, HOTTEST the rest. If not,
	 * HOTTEST gets up to 2/5 (HOT_CAP at most, HOT_MIN at least) and
	 * COMMAND what is left. */
	avail = rest > GAP ? rest - GAP : 0;
	hot = min_sz(nat[C_HOT], HOT_CAP);
	if (nat[C_CMD] + hot <= avail) {
		cmd = nat[C_CMD];
		hot = avail - cmd;
	} else {
		hot = min_sz(hot, max_sz(HOT_MIN, avail * 2 / 5));
		cmd = avail > hot ? avail - hot : 1;
	}
	L->w[C_CMD] = max_sz(cmd, 1);
	L->w[C_HOT] = max_sz(hot, 1);
}

static void emit_row(const struct layout *L, const char *const c[NCOL], size_t width, top_emit_fn emit, void *ud,
		     enum top_line_kind kind)
{
	char line[2048] = "";
	bool first = true;

	for (int i = 0; i < NCOL; i++) {
		if (!L->on[i])
			continue;
		if (!first)
			add(line, sizeof(line), "%*s", GAP, "");
		cell(line, sizeof(line), c[i], L->w[i], columns[i].right);
		first = false;
	}
	/* No trailing blanks in plain output. */
	for (size_t n = strlen(line); n && line[n - 1] == ' '; n--)
		line[n - 1] = '\0';
	clip(line, sizeof(line), width);
	emit(ud, kind, line);
}

void top_lines(struct json_object *data, const struct render_top_query *q, int width, top_emit_fn emit, void *ud)
{
	struct json_object *procs = rj_get(data, "processes"), *devs = gpu_devices(data);
	size_t n = procs && json_object_is_type(procs, json_type_array) ? json_object_array_length(procs) : 0;
	struct row *rows = n ? calloc(n, sizeof(*rows)) : NULL;
	const char *src = rj_str(data, "cpu_source");
	bool gpu = devs && json_object_array_length(devs) > 0, sched = src && strcmp(src, "sched") == 0, samples = false;
	const char *c[NCOL];
	struct layout L;

	info_lines(data, q, width, emit, ud);
	if (!rows)
		n = 0;
	for (size_t i = 0; i < n; i++) {
		struct json_object *p = json_object_array_get_idx(procs, i);
		const char *s = rj_str(p, "cpu_source");

		gpu = gpu || rj_has_num(p, "gpu_pct") || rj_has_num(p, "gpu_mem_bytes");
		sched = sched || (s && strcmp(s, "sched") == 0);
		samples = samples || (s && strcmp(s, "samples") == 0);
	}
	for (size_t i = 0; i < n; i++)
		row_fill(&rows[i], json_object_array_get_idx(procs, i), sched && samples);
	layout_compute(&L, rows, n, width, gpu);
	for (int i = 0; i < NCOL; i++)
		c[i] = columns[i].title;
	emit_row(&L, c, width > 0 ? (size_t)width : 0, emit, ud, TOP_LINE_HEADER);
	for (size_t r = 0; r < n; r++) {
		for (int i = 0; i < C_CMD; i++)
			c[i] = rows[r].cell[i];
		c[C_CMD] = rows[r].command;
		c[C_HOT] = rows[r].hottest;
		emit_row(&L, c, width > 0 ? (size_t)width : 0, emit, ud, TOP_LINE_ROW);
	}
	free(rows);
}

static void emit_plain(void *ud, enum top_line_kind kind, const char *line)
{
	(void)kind;
	fprintf(ud, "%s\n", line);
}

void render_top(FILE *f, struct json_object *data, const struct render_top_query *q, int width)
{
	top_lines(data, q, width, emit_plain, f);
}
