/* profctl rendering: status as grouped key/value lines, top as a table
 * (plain, or refreshed with ncurses on a terminal). See render.h. */
#include "render.h"

#include <errno.h>
#include <langinfo.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curses.h>

#include "fmt.h"

/* ---- member access that survives a different daemon version ---- */

static struct json_object *get(struct json_object *o, const char *path)
{
	char key[64];

	while (o && *path) {
		size_t n = strcspn(path, ".");
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &o))
			return NULL;
		path += n + (path[n] == '.');
	}
	return o;
}

static bool has_num(struct json_object *o, const char *path)
{
	struct json_object *v = get(o, path);

	return v && (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double));
}

static int64_t geti(struct json_object *o, const char *path)
{
	return has_num(o, path) ? json_object_get_int64(get(o, path)) : 0;
}

static double getd(struct json_object *o, const char *path)
{
	return has_num(o, path) ? json_object_get_double(get(o, path)) : 0.0;
}

static const char *jstr(struct json_object *o, const char *path)
{
	struct json_object *v = get(o, path);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* Short-lived strings for printf arguments: a ring, so one printf may use
 * several. */
static char *scratch(void)
{
	static char ring[16][64];
	static unsigned next;

	return ring[next++ % 16];
}

/* Integer member, or "?" when the daemon did not send it. */
static const char *N(struct json_object *o, const char *path)
{
	char *b = scratch();

	if (!has_num(o, path))
		return "?";
	snprintf(b, 64, "%lld", (long long)geti(o, path));
	return b;
}

static const char *B(struct json_object *o, const char *path)
{
	if (!has_num(o, path))
		return "?";
	return fmt_bytes(scratch(), 64, (uint64_t)(geti(o, path) < 0 ? 0 : geti(o, path)));
}

/* Seconds (float) as a human duration. */
static const char *D(struct json_object *o, const char *path)
{
	double s = getd(o, path);

	if (!has_num(o, path))
		return "?";
	return fmt_duration(scratch(), 64, s <= 0 ? 0 : (uint64_t)(s * 1e9 + 0.5));
}

static const char *S(struct json_object *o, const char *path)
{
	const char *s = jstr(o, path);

	return s ? s : "?";
}

/* ---- status ---- */

static void render_samples(FILE *f, struct json_object *d)
{
	int64_t taken = geti(d, "samples.taken"), idle = geti(d, "samples.idle");
	int64_t drained = geti(d, "samples.drained"), pending = geti(d, "samples.pending");
	int64_t dropped = geti(d, "samples.dropped.ringbuf_full");
	int64_t diff = taken - (idle + drained + dropped + pending);

	fprintf(f, "samples\n");
	/* The identity is the point of this line: every sample is accounted
	 * for, and a gap says something was lost silently. */
	fprintf(f, "  taken: %s = idle %s + drained %s + dropped %s + pending %s%s\n", N(d, "samples.taken"),
		N(d, "samples.idle"), N(d, "samples.drained"), N(d, "samples.dropped.ringbuf_full"),
		N(d, "samples.pending"), diff && has_num(d, "samples.taken") ? "  (does not add up!)" : "");
	if (diff && has_num(d, "samples.taken"))
		fprintf(f, "  unaccounted: %lld\n", (long long)diff);
	fprintf(f, "  dropped: ringbuf full %s\n", N(d, "samples.dropped.ringbuf_full"));
	fprintf(f, "  process events lost: %s\n", N(d, "samples.dropped.proc_events_lost"));
	fprintf(f, "  stack errors: kernel %s, user %s\n", N(d, "samples.kstack_errors"), N(d, "samples.ustack_errors"));
	if (has_num(d, "samples.malformed"))
		fprintf(f, "  malformed: %s\n", N(d, "samples.malformed"));
	if (has_num(d, "samples.proc_events"))
		fprintf(f, "  process events: %s\n", N(d, "samples.proc_events"));
}

static void render_store(FILE *f, struct json_object *d)
{
	struct json_object *tiers = get(d, "store.tiers");

	fprintf(f, "store\n");
	fprintf(f, "  memory: %s of %s\n", B(d, "store.bytes"), B(d, "store.limit_bytes"));
	fprintf(f, "  entries: %s (coarsened %s)\n", N(d, "store.entries"), N(d, "store.coarsened_entries"));
	fprintf(f, "  dropped slots: %s\n", N(d, "store.dropped_slots"));
	if (tiers && json_object_is_type(tiers, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(tiers); i++) {
			struct json_object *t = json_object_array_get_idx(tiers, i);
			fprintf(f, "  tier %zu: %s x %s slots, %s held (%s)\n", i + 1, N(t, "slots"), D(t, "slot_s"),
				N(t, "held_slots"), D(t, "held_s"));
		}
	}
}

void render_status(FILE *f, struct json_object *d)
{
	fprintf(f, "profd %s (pid %s), up %s\n", S(d, "version"), N(d, "pid"), D(d, "uptime_s"));
	fprintf(f, "sampling\n");
	fprintf(f, "  frequency: %s Hz (%s) on %s CPUs\n", N(d, "sampling.frequency"), S(d, "sampling.event"),
		N(d, "sampling.cpus"));
	fprintf(f, "  tick: %s\n", D(d, "sampling.tick_s"));
	render_samples(f, d);
	fprintf(f, "processes\n");
	fprintf(f, "  tracked: %s of %s (alive %s)\n", N(d, "processes.tracked"), N(d, "processes.limit"),
		N(d, "processes.alive"));
	fprintf(f, "  table full: %s, collected: %s\n", N(d, "processes.table_full"), N(d, "processes.collected"));
	if (has_num(d, "processes.read_errors"))
		fprintf(f, "  /proc read errors: %s\n", N(d, "processes.read_errors"));
	fprintf(f, "stacks\n");
	fprintf(f, "  interned: %s of %s (%s)\n", N(d, "stacks.interned"), N(d, "stacks.limit"), B(d, "stacks.bytes"));
	fprintf(f, "  table full: %s, collected: %s\n", N(d, "stacks.table_full"), N(d, "stacks.collected"));
	render_store(f, d);
	fprintf(f, "symbols\n");
	fprintf(f, "  objects: %s (loaded %s, pending %s, table full %s)\n", N(d, "symbols.objects"),
		N(d, "symbols.objects_loaded"), N(d, "symbols.pending"), N(d, "symbols.objects_full"));
	fprintf(f, "  cache: %s of %s (evictions %s)\n", B(d, "symbols.cache_bytes"), B(d, "symbols.cache_limit_bytes"),
		N(d, "symbols.evictions"));
	fprintf(f, "  load failures: %s\n", N(d, "symbols.load_failures"));
	fprintf(f, "  kernel symbols: %s\n", N(d, "symbols.kernel_symbols"));
	fprintf(f, "server\n");
	fprintf(f, "  clients: %s of %s (accepted %s)\n", N(d, "server.clients"), N(d, "server.limit_clients"),
		N(d, "server.accepted"));
	fprintf(f, "  requests: %s (errors %s)\n", N(d, "server.requests"), N(d, "server.errors"));
	fprintf(f, "  refused: busy %s, oversized %s, idle closed %s, slow closed %s\n", N(d, "server.rejected_clients"),
		N(d, "server.oversized"), N(d, "server.idle_closed"), N(d, "server.slow_closed"));
	fprintf(f, "daemon\n");
	fprintf(f, "  memory: %s rss\n", B(d, "daemon.rss_bytes"));
	fprintf(f, "  cpu: %s\n", D(d, "daemon.cpu_s"));
	fprintf(f, "  ticks: %s (overruns %s)\n", N(d, "daemon.ticks"), N(d, "daemon.tick_overruns"));
	if (has_num(d, "daemon.reloads"))
		fprintf(f, "  reloads: %s (failed %s)\n", N(d, "daemon.reloads"), N(d, "daemon.reload_failures"));
}

/* ---- top table ---- */

/* Display columns of a UTF-8 string: one per code point (wide glyphs are
 * rare in process names; combining ones rarer). */
static size_t cols(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static bool utf8_term(void)
{
	static int cached = -1;

	if (cached < 0)
		cached = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
	return cached;
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
	const char *mark = utf8_term() ? "\xe2\x80\xa6" : "~";

	if (w == 0)
		snprintf(out + len, cap - len, "%s", s);
	else if (c > w)
		snprintf(out + len, cap - len, "%.*s%s", (int)prefix_bytes(s, w - 1), s, mark);
	else if (right)
		snprintf(out + len, cap - len, "%*s%s", (int)(w - c), "", s);
	else
		snprintf(out + len, cap - len, "%s%*s", s, (int)(w - c), "");
}

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
	pw = uid >= 0 ? getpwuid((uid_t)uid) : NULL;
	if (pw)
		snprintf(cache[slot].name, sizeof(cache[slot].name), "%s", pw->pw_name);
	else
		snprintf(cache[slot].name, sizeof(cache[slot].name), "%lld", (long long)uid);
	return cache[slot].name;
}

struct row {
	char pid[24], cpu[24], samples[24];
	const char *user;
	char command[512];
	char hottest[512];
};

static void row_fill(struct row *r, struct json_object *p)
{
	const char *cmdline = jstr(p, "cmdline"), *comm = jstr(p, "comm");
	const char *hot = jstr(p, "hottest"), *mod = jstr(p, "hottest_module");
	struct json_object *alive = get(p, "alive");

	snprintf(r->pid, sizeof(r->pid), "%s", N(p, "pid"));
	snprintf(r->cpu, sizeof(r->cpu), "%.1f", getd(p, "cpu_pct"));
	snprintf(r->samples, sizeof(r->samples), "%s", N(p, "samples"));
	r->user = has_num(p, "uid") ? user_name(geti(p, "uid")) : "?";
	/* The command line says more than comm; kernel threads and exited
	 * processes may have none, ps shows those as [comm]. */
	/* Exited processes are marked up front, where truncation cannot
	 * hide it. */
	bool gone = alive && json_object_is_type(alive, json_type_boolean) && !json_object_get_boolean(alive);

	if (cmdline && *cmdline)
		snprintf(r->command, sizeof(r->command), "%s%s", gone ? "(exited) " : "", cmdline);
	else
		snprintf(r->command, sizeof(r->command), "%s[%s]", gone ? "(exited) " : "", comm ? comm : "?");
	if (hot && *hot)
		snprintf(r->hottest, sizeof(r->hottest), "%s", hot);
	else if (mod && *mod)
		snprintf(r->hottest, sizeof(r->hottest), "[%s]", mod);
	else
		snprintf(r->hottest, sizeof(r->hottest), "-");
}

/* Caps that keep one long command line from pushing HOTTEST off screen. */
#define CMD_NATURAL_MAX 60
#define GAP 2

struct layout {
	size_t pid, user, cpu, samples, command, hottest;
};

static size_t max_sz(size_t a, size_t b)
{
	return a > b ? a : b;
}

static void layout_compute(struct layout *L, const struct row *rows, size_t n, int width)
{
	size_t cmd_nat = strlen("COMMAND"), hot_nat = strlen("HOTTEST"), fixed, rest;

	*L = (struct layout){ strlen("PID"), strlen("USER"), strlen("CPU%"), strlen("SAMPLES"), 0, 0 };
	for (size_t i = 0; i < n; i++) {
		L->pid = max_sz(L->pid, strlen(rows[i].pid));
		L->user = max_sz(L->user, cols(rows[i].user));
		L->cpu = max_sz(L->cpu, strlen(rows[i].cpu));
		L->samples = max_sz(L->samples, strlen(rows[i].samples));
		cmd_nat = max_sz(cmd_nat, cols(rows[i].command));
		hot_nat = max_sz(hot_nat, cols(rows[i].hottest));
	}
	if (L->user > 12)
		L->user = 12;
	if (cmd_nat > CMD_NATURAL_MAX)
		cmd_nat = CMD_NATURAL_MAX;
	L->command = cmd_nat;
	L->hottest = 0; /* last column: as is */
	if (width <= 0)
		return;
	fixed = L->pid + L->user + L->cpu + L->samples + 4 * GAP + GAP;
	rest = (size_t)width > fixed ? (size_t)width - fixed : 0;
	if (cmd_nat + hot_nat <= rest) {
		L->hottest = rest - cmd_nat;
		return;
	}
	/* Too narrow: COMMAND gives way first, down to 40 % of the rest,
	 * since the hottest function is what this view is for. */
	L->command = cmd_nat;
	if (hot_nat < rest && rest - hot_nat >= (rest * 2) / 5)
		L->command = rest - hot_nat;
	else
		L->command = (rest * 2) / 5;
	if (L->command < 7)
		L->command = 7;
	L->hottest = rest > L->command ? rest - L->command : 1;
}

typedef void (*emit_fn)(void *ud, int kind, const char *line);
enum { LINE_SUMMARY, LINE_HEADER, LINE_ROW };

static void emit_row(const struct layout *L, const char *c[6], emit_fn emit, void *ud, int kind)
{
	char line[2048] = "";
	char gap[GAP + 1];

	memset(gap, ' ', GAP);
	gap[GAP] = '\0';
	cell(line, sizeof(line), c[0], L->pid, true);
	strcat(line, gap);
	cell(line, sizeof(line), c[1], L->user, false);
	strcat(line, gap);
	cell(line, sizeof(line), c[2], L->cpu, true);
	strcat(line, gap);
	cell(line, sizeof(line), c[3], L->samples, true);
	strcat(line, gap);
	cell(line, sizeof(line), c[4], L->command, false);
	strcat(line, gap);
	cell(line, sizeof(line), c[5], L->hottest, false);
	/* No trailing blanks in plain output. */
	for (size_t n = strlen(line); n && line[n - 1] == ' '; n--)
		line[n - 1] = '\0';
	emit(ud, kind, line);
}

static void top_lines(struct json_object *data, int width, emit_fn emit, void *ud)
{
	struct json_object *procs = get(data, "processes");
	size_t n = procs && json_object_is_type(procs, json_type_array) ? json_object_array_length(procs) : 0;
	struct row *rows = n ? calloc(n, sizeof(*rows)) : NULL;
	static const char *hdr[6] = { "PID", "USER", "CPU%", "SAMPLES", "COMMAND", "HOTTEST" };
	struct layout L;
	char sum[256];

	snprintf(sum, sizeof(sum), "window %s  |  %s CPUs @ %s Hz  |  %s samples (%s idle)  |  system CPU %.1f%%",
		 D(data, "window_s"), N(data, "cpus"), N(data, "frequency"), N(data, "total_samples"),
		 N(data, "idle_samples"), getd(data, "system_cpu_pct"));
	emit(ud, LINE_SUMMARY, sum);
	if (n && !rows)
		n = 0;
	for (size_t i = 0; i < n; i++)
		row_fill(&rows[i], json_object_array_get_idx(procs, i));
	layout_compute(&L, rows, n, width);
	emit_row(&L, hdr, emit, ud, LINE_HEADER);
	for (size_t i = 0; i < n; i++) {
		const char *c[6] = { rows[i].pid, rows[i].user, rows[i].cpu, rows[i].samples, rows[i].command,
				     rows[i].hottest };
		emit_row(&L, c, emit, ud, LINE_ROW);
	}
	free(rows);
}

static void emit_plain(void *ud, int kind, const char *line)
{
	fprintf(ud, "%s\n", line);
	if (kind == LINE_SUMMARY)
		fputc('\n', ud);
}

void render_top(FILE *f, struct json_object *data, int width)
{
	top_lines(data, width, emit_plain, f);
}

/* ---- interactive top ---- */

struct tui {
	int y;
};

static void emit_curses(void *ud, int kind, const char *line)
{
	struct tui *t = ud;

	if (t->y >= LINES - 1)
		return;
	if (kind == LINE_HEADER)
		attron(A_REVERSE);
	mvaddnstr(t->y, 0, line, -1);
	if (kind == LINE_HEADER) {
		/* The bar spans the screen. */
		for (int x = getcurx(stdscr); x < COLS; x++)
			addch(' ');
		attroff(A_REVERSE);
	}
	t->y += kind == LINE_SUMMARY ? 2 : 1;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static const char *const windows[] = { "10s", "30s", "1m", "5m" };

static void tui_draw(struct json_object *data, const char *window, const char *sort, const char *err)
{
	struct tui t = { 0 };
	char foot[256];

	erase();
	if (data)
		top_lines(data, COLS, emit_curses, &t);
	snprintf(foot, sizeof(foot), "window %s (w)  sort %s (c cpu, s samples, p pid, n command)  q quit", window,
		 sort);
	if (err) {
		attron(A_BOLD);
		mvaddnstr(LINES - 1, 0, err, COLS);
		attroff(A_BOLD);
	} else {
		mvaddnstr(LINES - 1, 0, foot, COLS);
	}
	refresh();
}

int render_top_tui(render_fetch_fn fetch, void *ud, struct json_object *data, const char *window, const char *sort, int limit, uint64_t interval_ms)
{
	char cur_sort[16], cur_window[16], err[512] = "";
	uint64_t next_fetch = mono_ms() + interval_ms;
	bool quit = false, refetch = false;

	snprintf(cur_sort, sizeof(cur_sort), "%s", sort);
	snprintf(cur_window, sizeof(cur_window), "%s", window);
	if (!initscr()) {
		json_object_put(data);
		return -ENOTTY;
	}
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	while (!quit) {
		uint64_t now = mono_ms();
		int ch;

		if (refetch || now >= next_fetch) {
			struct json_object *fresh = NULL;
			/* Rows that fit: summary, blank, header, footer. */
			int rows = limit > 0 ? limit : (LINES > 5 ? LINES - 4 : 1);

			if (fetch(ud, cur_window, cur_sort, rows, &fresh, err, sizeof(err)) == 0) {
				json_object_put(data);
				data = fresh;
				err[0] = '\0';
			}
			next_fetch = mono_ms() + interval_ms;
			refetch = false;
			now = mono_ms();
		}
		tui_draw(data, cur_window, cur_sort, err[0] ? err : NULL);
		timeout(next_fetch > now ? (int)(next_fetch - now) : 0);
		ch = getch();
		switch (ch) {
		case 'q': case 'Q':
			quit = true;
			break;
		case 'c': case 's': case 'p': case 'n': {
			const char *s = ch == 'c' ? "cpu" : ch == 's' ? "samples" : ch == 'p' ? "pid" : "comm";
			snprintf(cur_sort, sizeof(cur_sort), "%s", s);
			refetch = true;
			break;
		}
		case 'w': {
			size_t i = 0, nw = sizeof(windows) / sizeof(windows[0]);
			while (i < nw && strcmp(windows[i], cur_window) != 0)
				i++;
			snprintf(cur_window, sizeof(cur_window), "%s", windows[i < nw ? (i + 1) % nw : 0]);
			refetch = true;
			break;
		}
		case KEY_RESIZE:
			/* More rows may now fit. */
			refetch = limit <= 0;
			break;
		default:
			break;
		}
	}
	endwin();
	json_object_put(data);
	return 0;
}
