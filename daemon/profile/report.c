/* SPDX-License-Identifier: GPL-2.0-only */
/* report: a Markdown performance report of a window, written to read well
 * both as plain text in a terminal (tables padded to aligned columns,
 * stacks in fenced blocks) and rendered. Sections: the window and host
 * summary (the profile's host figures); the top processes by CPU, memory,
 * disk I/O and GPU (the totals table); hotspots: the functions with the
 * largest self share of samples in one process, with a severity by that
 * share (high >= 25 %, medium >= 10 %, low >= 5 %) and the CPUs they use;
 * alerts firing in the window, when an alert engine filled them in; the
 * top stacks.
 *
 * Memory: a hash of (process, leaf function) self counts, the top-N
 * lists, and one table (at most TOP rows) at a time for padding; the
 * text is streamed. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile/format.h"
#include "profile/profile.h"
#include "profile/stackview.h"
#include "profile/strtab.h"
#include "common/sort.h"

#define TOP 10
#define MAX_COLS 8
#define CELL 96
#define HOT_LOW 5.0
#define HOT_MEDIUM 10.0
#define HOT_HIGH 25.0
/* Frames of a stack shown in full; deeper stacks keep the leaf end. */
#define STACK_SHOWN 12
/* Characters of a command line shown. */
#define CMD_SHOWN 48

/* A Markdown table held until written, so columns can be padded. */
struct mdtable {
	size_t ncols, nrows;
	int right[MAX_COLS];   /* right-aligned column (numbers) */
	char cell[TOP + 1][MAX_COLS][CELL];
};

static void md_cell(char *dst, const char *src)
{
	size_t n = 0;

	/* '|' would end the cell, a newline the row */
	for (; *src && n + 2 < CELL; src++) {
		if (*src == '|')
			dst[n++] = '\\';
		dst[n++] = *src == '\n' ? ' ' : *src;
	}
	dst[n] = 0;
}

static int md_write(struct sink *out, const struct mdtable *t)
{
	size_t w[MAX_COLS] = { 0 };
	int r = 0;

	for (size_t c = 0; c < t->ncols; c++) {
		for (size_t i = 0; i < t->nrows; i++)
			if (strlen(t->cell[i][c]) > w[c])
				w[c] = strlen(t->cell[i][c]);
		if (w[c] < 3)
			w[c] = 3;
	}
	for (size_t i = 0; !r && i < t->nrows; i++) {
		for (size_t c = 0; !r && c < t->ncols; c++)
			r = sink_printf(out, t->right[c] ? "| %*s " : "| %-*s ", (int)w[c], t->cell[i][c]);
		if (!r)
			r = sink_puts(out, "|\n");
		if (!r && i == 0) {
			for (size_t c = 0; !r && c < t->ncols; c++) {
				char dash[CELL + 2];

				memset(dash, '-', w[c]);
				dash[w[c]] = 0;
				if (t->right[c])
					dash[w[c] - 1] = ':';
				r = sink_printf(out, "| %s ", dash);
			}
			if (!r)
				r = sink_puts(out, "|\n");
		}
	}
	return r ? r : sink_puts(out, "\n");
}

static void fmt_bytes(char *buf, size_t n, double v)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;

	if (isnan(v)) {
		snprintf(buf, n, "-");
		return;
	}
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(buf, n, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

static void fmt_value(char *buf, size_t n, double v, const char *unit)
{
	if (isnan(v))
		snprintf(buf, n, "-");
	else if (!strcmp(unit, "bytes"))
		fmt_bytes(buf, n, v);
	else if (!strcmp(unit, "bytes/s")) {
		fmt_bytes(buf, n - 2, v);
		strcat(buf, "/s");
	} else if (!strcmp(unit, "percent"))
		snprintf(buf, n, "%.1f %%", v);
	else if (v == floor(v) && fabs(v) < 1e15)
		snprintf(buf, n, "%.0f%s%s", v, *unit ? " " : "", unit);
	else
		snprintf(buf, n, "%.2f%s%s", v, *unit ? " " : "", unit);
}

static int col_of(const struct profile_table *t, const char *name)
{
	for (size_t c = 0; t && c < t->ncols; c++)
		if (!strcmp(t->cols[c], name))
			return (int)c;
	return -1;
}

static double val(const struct profile_table *t, size_t row, int col)
{
	return col < 0 ? NAN : t->values[row * t->ncols + (size_t)col];
}

/* ---- sections ---- */

static int put_summary(const struct profile *p, const struct format_opts *o, struct sink *out)
{
	char from[64], to[64];
	double secs = (double)p->covered_ns / 1e9;
	int r;

	profile_time_text(p, p->from_ns, from, sizeof(from));
	profile_time_text(p, p->to_ns, to, sizeof(to));
	r = sink_printf(out, "# %s\n\n", o && o->title ? o->title : "profd performance report");
	if (!r)
		r = sink_printf(out,
				"Window: %s to %s (%.0f s). CPU samples: %llu at %u Hz per CPU (%.2f CPUs busy on "
				"average).\n\n",
				from, to, secs, (unsigned long long)p->samples, p->frequency,
				secs > 0 && p->frequency ? (double)p->samples / ((double)p->frequency * secs) : 0.0);
	if (!r && p->nhost) {
		struct mdtable *t = calloc(1, sizeof(*t));
		size_t i = 0;

		if (!t)
			return -ENOMEM;
		r = sink_puts(out, "## Host\n\n");
		while (!r && i < p->nhost) {
			t->ncols = 2;
			t->right[1] = 1;
			t->nrows = 1;
			snprintf(t->cell[0][0], CELL, "metric");
			snprintf(t->cell[0][1], CELL, "value");
			for (; i < p->nhost && t->nrows <= TOP; i++) {
				md_cell(t->cell[t->nrows][0], p->host[i].name);
				fmt_value(t->cell[t->nrows][1], CELL, p->host[i].value, p->host[i].unit);
				t->nrows++;
			}
			r = md_write(out, t);
		}
		free(t);
	}
	return r;
}

struct sort_key {
	const struct profile_table *t;
	int col, col2;
};

static double key_of(const struct sort_key *k, size_t row)
{
	double a = val(k->t, row, k->col), b = k->col2 >= 0 ? val(k->t, row, k->col2) : 0;

	if (isnan(a))
		a = 0;
	if (isnan(b))
		b = 0;
	return a + b;
}

static int cmp_rows(const void *x, const void *y, void *ctx)
{
	double a = key_of(ctx, *(const size_t *)x), b = key_of(ctx, *(const size_t *)y);

	return a > b ? -1 : a < b ? 1 : 0;
}

/* Top processes by column col (+ col2). Skipped when nobody has any. */
static int put_top(const struct profile *p, struct sink *out, const char *title, int col, int col2,
		   const char *vhead, const char *unit, size_t *order)
{
	const struct profile_table *t = p->totals;
	struct sort_key k = { .t = t, .col = col, .col2 = col2 };
	struct mdtable *m;
	int r;

	if (!t || col < 0 || !t->nrows)
		return 0;
	for (size_t i = 0; i < t->nrows; i++)
		order[i] = i;
	qsort_r(order, t->nrows, sizeof(*order), cmp_rows, &k);
	if (key_of(&k, order[0]) <= 0)
		return 0;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->ncols = 4;
	m->right[0] = m->right[3] = 1;
	snprintf(m->cell[0][0], CELL, "pid");
	snprintf(m->cell[0][1], CELL, "comm");
	snprintf(m->cell[0][2], CELL, "command");
	snprintf(m->cell[0][3], CELL, "%s", vhead);
	m->nrows = 1;
	for (size_t i = 0; i < t->nrows && m->nrows <= TOP && key_of(&k, order[i]) > 0; i++) {
		const struct profile_proc *pr = &p->procs[t->rows[order[i]].proc];

		snprintf(m->cell[m->nrows][0], CELL, "%u", pr->pid);
		md_cell(m->cell[m->nrows][1], pr->comm);
		md_cell(m->cell[m->nrows][2], pr->cmdline && *pr->cmdline ? pr->cmdline : "");
		if (strlen(m->cell[m->nrows][2]) > CMD_SHOWN) /* a terminal's width for the table */
			strcpy(m->cell[m->nrows][2] + CMD_SHOWN - 2, "..");
		fmt_value(m->cell[m->nrows][3], CELL, key_of(&k, order[i]), unit);
		m->nrows++;
	}
	r = sink_printf(out, "### %s\n\n", title);
	if (!r)
		r = md_write(out, m);
	free(m);
	return r;
}

static int put_processes(const struct profile *p, struct sink *out)
{
	const struct profile_table *t = p->totals;
	size_t *order;
	int r;

	if (!t || !t->nrows)
		return sink_puts(out, "## Top processes\n\nNo process metrics for this window.\n\n");
	order = malloc(t->nrows * sizeof(*order));
	if (!order)
		return -ENOMEM;
	r = sink_puts(out, "## Top processes\n\n");
	if (!r)
		r = put_top(p, out, "By CPU", col_of(t, "cpu_pct"), -1, "CPU", "percent", order);
	if (!r)
		r = put_top(p, out, "By memory", col_of(t, "rss_bytes"), -1, "RSS", "bytes", order);
	if (!r)
		r = put_top(p, out, "By disk I/O", col_of(t, "read_bytes_per_s"), col_of(t, "write_bytes_per_s"),
			    "read + write", "bytes/s", order);
	if (!r)
		r = put_top(p, out, "By GPU", col_of(t, "gpu_pct"), -1, "GPU", "percent", order);
	free(order);
	return r;
}

struct hot {
	uint32_t proc;
	uint32_t name;      /* strtab id */
	uint64_t self;
};

static int cmp_hot(const void *a, const void *b)
{
	const struct hot *x = a, *y = b;

	return x->self > y->self ? -1 : x->self < y->self ? 1 : 0;
}

static int put_hotspots(const struct profile *p, struct sink *out)
{
	struct strtab *keys = NULL;
	struct hot *h = NULL;
	size_t cap = 0;
	double secs = (double)p->covered_ns / 1e9;
	struct vframe *vf = NULL;
	size_t maxd = 0, shown = 0;
	char tbuf[VIEW_THREAD_NAME_MAX];
	struct mdtable *m = NULL;
	int r;

	r = sink_puts(out, "## Hotspots\n\n");
	if (r || !p->samples)
		return r ? r : sink_puts(out, "No CPU samples in this window.\n\n");
	for (size_t i = 0; i < p->nstacks; i++)
		if (p->stacks[i].nframes > maxd)
			maxd = p->stacks[i].nframes;
	vf = malloc((maxd + VIEW_EXTRA) * sizeof(*vf));
	m = calloc(1, sizeof(*m));
	r = vf && m ? strtab_new(0, &keys) : -ENOMEM;
	/* self samples per (process, leaf function) */
	for (size_t i = 0; !r && i < p->nstacks; i++) {
		const struct profile_stack *s = &p->stacks[i];
		size_t n = stackview(p, s, 0, tbuf, vf);
		char key[PROFILE_NAME_MAX + 16];
		size_t before = keys ? strtab_count(keys) : 0;
		int len, id;

		if (!n)
			continue;
		len = snprintf(key, sizeof(key), "%u:%s", s->proc, vf[n - 1].name);
		id = strtab_intern(keys, key, len > 0 && (size_t)len < sizeof(key) ? (size_t)len : strlen(key));
		if (id < 0) {
			r = id;
			break;
		}
		if ((size_t)id >= cap) {
			size_t ncap = cap ? cap * 2 : 256;
			struct hot *nh = realloc(h, ncap * sizeof(*nh));

			if (!nh) {
				r = -ENOMEM;
				break;
			}
			h = nh;
			cap = ncap;
		}
		if ((size_t)id == before) /* new */
			h[id] = (struct hot){ .proc = s->proc, .name = (uint32_t)id, .self = 0 };
		h[id].self += s->count;
	}
	if (!r && keys && strtab_count(keys)) {
		qsort_safe(h, strtab_count(keys), sizeof(*h), cmp_hot);
		m->ncols = 6;
		m->right[2] = m->right[4] = m->right[5] = 1;
		snprintf(m->cell[0][0], CELL, "severity");
		snprintf(m->cell[0][1], CELL, "function");
		snprintf(m->cell[0][2], CELL, "pid");
		snprintf(m->cell[0][3], CELL, "comm");
		snprintf(m->cell[0][4], CELL, "self %% of samples");
		snprintf(m->cell[0][5], CELL, "CPUs");
		m->nrows = 1;
		for (size_t i = 0; i < strtab_count(keys) && m->nrows <= TOP; i++) {
			double share = 100.0 * (double)h[i].self / (double)p->samples;
			const char *name = strchr(strtab_get(keys, h[i].name, NULL), ':') + 1;
			const struct profile_proc *pr = &p->procs[h[i].proc];

			if (share < HOT_LOW)
				break;
			snprintf(m->cell[m->nrows][0], CELL, "%s",
				 share >= HOT_HIGH ? "high" : share >= HOT_MEDIUM ? "medium" : "low");
			md_cell(m->cell[m->nrows][1], name);
			snprintf(m->cell[m->nrows][2], CELL, "%u", pr->pid);
			md_cell(m->cell[m->nrows][3], pr->comm);
			snprintf(m->cell[m->nrows][4], CELL, "%.1f %%", share);
			snprintf(m->cell[m->nrows][5], CELL, "%.2f",
				 secs > 0 && p->frequency ? (double)h[i].self / ((double)p->frequency * secs) : 0.0);
			m->nrows++;
			shown++;
		}
		if (shown)
			r = md_write(out, m);
		else
			r = sink_printf(out, "No function holds %.0f %% of the samples or more.\n\n", HOT_LOW);
		if (!r)
			r = sink_printf(out,
					"Severity by a function's self share of all samples: high >= %.0f %%, medium >= "
					"%.0f %%, low >= %.0f %%.\n\n",
					HOT_HIGH, HOT_MEDIUM, HOT_LOW);
	}
	strtab_free(keys);
	free(h);
	free(vf);
	free(m);
	return r;
}

static int put_alerts(const struct profile *p, struct sink *out)
{
	int r = sink_puts(out, "## Alerts\n\n");

	if (r)
		return r;
	if (!p->alerts_known)
		return sink_puts(out, "No alert engine reported for this window.\n\n");
	if (!p->nalerts)
		return sink_puts(out, "No alerts were firing.\n\n");
	for (size_t i = 0; !r && i < p->nalerts; i++) {
		char since[64];

		profile_time_text(p, p->alerts[i].since_ns, since, sizeof(since));
		r = sink_printf(out, "- **%s** (%s, since %s): %s\n", p->alerts[i].name, p->alerts[i].severity, since,
				p->alerts[i].summary);
	}
	return r ? r : sink_puts(out, "\n");
}

static int cmp_count(const void *a, const void *b, void *ctx)
{
	const struct profile *p = ctx;
	uint64_t x = p->stacks[*(const uint32_t *)a].count, y = p->stacks[*(const uint32_t *)b].count;

	return x > y ? -1 : x < y ? 1 : 0;
}

static int put_stacks(const struct profile *p, struct sink *out)
{
	uint32_t top[TOP];
	size_t ntop = 0, maxd = 0;
	struct vframe *vf;
	char tbuf[VIEW_THREAD_NAME_MAX];
	int r;

	r = sink_puts(out, "## Top stacks\n\n");
	if (r || !p->nstacks)
		return r ? r : sink_puts(out, "No stacks in this window.\n");
	/* the TOP largest, by insertion into a short sorted list */
	for (size_t i = 0; i < p->nstacks; i++) {
		uint32_t x = (uint32_t)i;

		if (ntop == TOP && p->stacks[i].count <= p->stacks[top[TOP - 1]].count)
			continue;
		if (ntop < TOP)
			ntop++;
		top[ntop - 1] = x;
		qsort_r(top, ntop, sizeof(*top), cmp_count, (void *)p);
	}
	for (size_t i = 0; i < ntop; i++)
		if (p->stacks[top[i]].nframes > maxd)
			maxd = p->stacks[top[i]].nframes;
	vf = malloc((maxd + VIEW_EXTRA) * sizeof(*vf));
	if (!vf)
		return -ENOMEM;
	for (size_t i = 0; !r && i < ntop; i++) {
		const struct profile_stack *s = &p->stacks[top[i]];
		size_t n = stackview(p, s, VIEW_COMM, tbuf, vf);

		r = sink_printf(out, "%zu. %.1f %% (%llu samples), %s (pid %u):\n\n```\n", i + 1,
				100.0 * (double)s->count / (double)p->samples, (unsigned long long)s->count,
				p->procs[s->proc].comm, p->procs[s->proc].pid);
		/* leaf first, as a debugger shows a backtrace */
		for (size_t k = n; !r && k-- > 1;) {
			if (n - k > STACK_SHOWN) {
				r = sink_printf(out, "  ... %zu more callers\n", k);
				break;
			}
			r = sink_printf(out, "  %s%s\n", vf[k].name,
					vf[k].kind == VF_FRAME && p->frames[vf[k].frame].kind == PROFILE_FRAME_KERNEL
						? " [k]"
						: "");
		}
		if (!r)
			r = sink_puts(out, "```\n\n");
	}
	free(vf);
	return r;
}

static int encode_report(const struct profile *p, const struct format_opts *o, struct sink *out,
			 struct format_result *ret)
{
	int r = put_summary(p, o, out);

	if (!r)
		r = put_processes(p, out);
	if (!r)
		r = put_hotspots(p, out);
	if (!r)
		r = put_alerts(p, out);
	if (!r)
		r = put_stacks(p, out);
	if (r)
		return r;
	ret->samples = p->samples;
	ret->stacks = p->nstacks;
	return 0;
}

const struct format format_report = {
	.name = "report",
	.mime = "text/markdown",
	.description = "Markdown report: host summary, top processes, hotspots, alerts, top stacks",
	.encode = encode_report,
};
