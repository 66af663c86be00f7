/* SPDX-License-Identifier: GPL-2.0-only */
/* The interactive profctl top: the lines of render_top.c redrawn with
 * ncurses every interval, keys to change sort and window. See render.h. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <curses.h>

#include "render_internal.h"
#include "common/clock.h"

/* What the w key cycles through. */
static const char *const windows[] = { "10s", "30s", "1m", "5m", "1h" };

/* Sort keys: the key, and the sort the daemon knows it by. */
static const struct {
	int key;
	const char *sort;
} sort_keys[] = {
	{ 'c', "cpu" }, { 'm', "mem" },	 { 'g', "gpu" }, { 'i', "io" },
	{ 'r', "runq" }, { 's', "samples" }, { 'p', "pid" }, { 'n', "comm" },
};

struct tui {
	int y;
};

static void emit_curses(void *ud, enum top_line_kind kind, const char *line)
{
	struct tui *t = ud;

	/* The last line is the footer's. */
	if (t->y >= LINES - 1)
		return;
	if (kind == TOP_LINE_HEADER)
		attron(A_REVERSE);
	/* Lines come cut to COLS; a wrap would overwrite the next one. */
	mvaddnstr(t->y, 0, line, -1);
	if (kind == TOP_LINE_HEADER) {
		/* The bar spans the screen. */
		for (int x = getcurx(stdscr); x < COLS && getcury(stdscr) == t->y; x++)
			addch(' ');
		attroff(A_REVERSE);
	}
	t->y++;
}

static void tui_draw(struct json_object *data, const struct render_top_query *q, const char *err)
{
	struct tui t = { 0 };
	char foot[256];

	erase();
	if (data)
		top_lines(data, q, COLS, emit_curses, &t);
	snprintf(foot, sizeof(foot),
		 "sort %s: c cpu  m mem  g gpu  i io  r runq  s samples  p pid  n command   w window %s   q quit", q->sort,
		 q->window);
	if ((int)strlen(foot) > COLS)
		snprintf(foot, sizeof(foot), "sort %s (c m g i r s p n)  window %s (w)  q quit", q->sort, q->window);
	if (err) {
		/* The last data stays on screen; the line says it is stale
		 * and why. Fetching goes on every interval. */
		attron(A_BOLD);
		mvaddnstr(LINES - 1, 0, err, COLS);
		attroff(A_BOLD);
	} else {
		mvaddnstr(LINES - 1, 0, foot, COLS);
	}
	refresh();
}

/* Rows of processes that fit under the header, over the footer. */
static int rows_that_fit(struct json_object *data, const struct render_top_query *q)
{
	int r = LINES - (data ? top_info_lines(data, q) : 5) - 2;

	return r > 1 ? r : 1;
}

int render_top_tui(render_fetch_fn fetch, void *ud, struct json_object *data, const struct render_top_query *q0, int limit, uint64_t interval_ms)
{
	char cur_sort[16], cur_window[16], err[512] = "";
	struct render_top_query q = *q0;
	uint64_t next_fetch = clock_mono_ms() + interval_ms;
	bool quit = false, refetch = false;

	snprintf(cur_sort, sizeof(cur_sort), "%s", q0->sort);
	snprintf(cur_window, sizeof(cur_window), "%s", q0->window);
	q.sort = cur_sort;
	q.window = cur_window;
	if (!initscr()) {
		json_object_put(data);
		return -ENOTTY;
	}
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	while (!quit) {
		uint64_t now = clock_mono_ms();
		int ch;

		if (refetch || now >= next_fetch) {
			struct json_object *fresh = NULL;
			int rows = limit > 0 ? limit : rows_that_fit(data, &q);

			if (fetch(ud, cur_window, cur_sort, rows, &fresh, err, sizeof(err)) == 0) {
				json_object_put(data);
				data = fresh;
				err[0] = '\0';
			}
			next_fetch = clock_mono_ms() + interval_ms;
			refetch = false;
			now = clock_mono_ms();
		}
		tui_draw(data, &q, err[0] ? err : NULL);
		timeout(next_fetch > now ? (int)(next_fetch - now) : 0);
		ch = getch();
		switch (ch) {
		case 'q': case 'Q':
			quit = true;
			break;
		case 'w': {
			size_t i = 0, nw = sizeof(windows) / sizeof(windows[0]);
			while (i < nw && strcmp(windows[i], cur_window) != 0)
				i++;
			snprintf(cur_window, sizeof(cur_window), "%s", windows[i < nw ? (i + 1) % nw : 0]);
			refetch = true;
			break;
		}
		case KEY_RESIZE:
			/* Redrawn at the new width below; more rows may fit. */
			refetch = limit <= 0;
			break;
		default:
			for (size_t i = 0; i < sizeof(sort_keys) / sizeof(sort_keys[0]); i++) {
				if (ch == sort_keys[i].key) {
					snprintf(cur_sort, sizeof(cur_sort), "%s", sort_keys[i].sort);
					refetch = true;
				}
			}
			break;
		}
	}
	endwin();
	json_object_put(data);
	return 0;
}
