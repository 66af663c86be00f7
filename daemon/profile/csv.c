/* SPDX-License-Identifier: GPL-2.0-only */
/* csv: per-process metric time series, one row per process per slot of
 * the window, with a header row (RFC 4180: comma-separated, CRLF line
 * ends, fields with commas, quotes or line breaks quoted), so that it
 * opens in a spreadsheet. Columns: the slot's start (RFC 3339, UTC, when
 * the wall clock is known, else seconds since boot) and length, pid, comm,
 * then the metric columns of the profile's series table (the metric
 * registry's per-process members, as `top --json` names them). Absent
 * values are empty cells. Streamed row by row: no memory of its own. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "profile/format.h"
#include "profile/profile.h"

static int put_field(struct sink *out, const char *s)
{
	int r;

	if (!strpbrk(s, ",\"\r\n"))
		return sink_puts(out, s);
	r = sink_puts(out, "\"");
	while (!r && *s) {
		const char *q = strchr(s, '"');
		size_t n = q ? (size_t)(q - s) + 1 : strlen(s);

		r = sink_write(out, s, n);
		if (!r && q)
			r = sink_puts(out, "\""); /* "" inside quotes */
		s += n;
	}
	return r ? r : sink_puts(out, "\"");
}

/* A metric value: integers exactly, others to 6 significant digits. */
static int put_value(struct sink *out, double v)
{
	if (isnan(v))
		return 0;
	if (v == floor(v) && fabs(v) < 9007199254740992.0)
		return sink_printf(out, "%.0f", v);
	return sink_printf(out, "%.6g", v);
}

static int encode_csv(const struct profile *p, const struct format_opts *o, struct sink *out,
		      struct format_result *ret)
{
	const struct profile_table *t = p->series;
	char when[64];
	int r;

	(void)o;
	r = sink_puts(out, "time,slot_s,pid,comm");
	for (size_t c = 0; t && !r && c < t->ncols; c++) {
		r = sink_puts(out, ",");
		if (!r)
			r = put_field(out, t->cols[c]);
	}
	if (!r)
		r = sink_puts(out, "\r\n");
	for (size_t i = 0; t && !r && i < t->nrows; i++) {
		const struct profile_row *row = &t->rows[i];
		const struct profile_proc *pr = &p->procs[row->proc];

		profile_time_text(p, row->from_ns, when, sizeof(when));
		r = sink_printf(out, "%s,%.6g,%u,", when, (double)row->len_ns / 1e9, pr->pid);
		if (!r)
			r = put_field(out, pr->comm);
		for (size_t c = 0; !r && c < t->ncols; c++) {
			r = sink_puts(out, ",");
			if (!r)
				r = put_value(out, t->values[i * t->ncols + c]);
		}
		if (!r)
			r = sink_puts(out, "\r\n");
	}
	if (r)
		return r;
	ret->samples = p->samples;
	ret->stacks = t ? t->nrows : 0;
	return 0;
}

const struct format format_csv = {
	.name = "csv",
	.mime = "text/csv",
	.description = "per-process metrics, one row per process per slot of the window (spreadsheets)",
	.encode = encode_csv,
};
