/* SPDX-License-Identifier: GPL-2.0-only */
/* The Prometheus text exposition format, see encode.h. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "profile/format.h"
#include "push/encode.h"

size_t push_series_labels(const struct push_series *s, const char *host, struct push_label *ret)
{
	size_t n = 0;

	if (s->kind != PUSH_SERIES_HOST && s->comm[0])
		ret[n++] = (struct push_label){ "comm", s->comm };
	if (host && host[0])
		ret[n++] = (struct push_label){ "host", host };
	if (s->kind != PUSH_SERIES_HOST && s->pid[0])
		ret[n++] = (struct push_label){ "pid", s->pid };
	if (s->kind != PUSH_SERIES_HOST && s->unit[0])
		ret[n++] = (struct push_label){ "unit", s->unit };
	return n;
}

/* Label values escape backslash, double quote and newline; help text
 * backslash and newline. */
static int put_escaped(struct sink *out, const char *s, int quotes)
{
	char buf[512];
	size_t n = 0;
	int r;

	for (; *s; s++) {
		if (n + 3 > sizeof(buf)) {
			r = sink_write(out, buf, n);
			if (r)
				return r;
			n = 0;
		}
		if (*s == '\\' || (quotes && *s == '"')) {
			buf[n++] = '\\';
			buf[n++] = *s;
		} else if (*s == '\n') {
			buf[n++] = '\\';
			buf[n++] = 'n';
		} else {
			buf[n++] = *s;
		}
	}
	return n ? sink_write(out, buf, n) : 0;
}

static int put_value(struct sink *out, double v)
{
	if (isinf(v))
		return sink_puts(out, v > 0 ? "+Inf" : "-Inf");
	if (isnan(v))
		return sink_puts(out, "NaN");
	/* 17 significant digits: the double read back is the one written */
	return sink_printf(out, "%.17g", v);
}

int push_encode_text(const struct push_batch *b, const char *host, int with_ts, struct sink *out)
{
	const struct metric *last = NULL;
	int r = 0;

	for (size_t i = 0; i < b->npoints && !r; i++) {
		const struct push_point *p = &b->points[i];
		const struct push_series *s = &b->series[p->series];
		struct push_label l[PUSH_MAX_LABELS];
		size_t nl;

		if (s->stale)
			continue;
		if (p->m != last) {
			last = p->m;
			r = sink_printf(out, "# HELP %s ", p->m->prom);
			if (!r)
				r = put_escaped(out, p->m->help, 0);
			if (!r)
				r = sink_printf(out, "\n# TYPE %s %s\n", p->m->prom,
						p->m->type == METRIC_COUNTER ? "counter" : "gauge");
			if (r)
				break;
		}
		r = sink_puts(out, p->m->prom);
		nl = push_series_labels(s, host, l);
		for (size_t j = 0; j < nl && !r; j++) {
			r = sink_printf(out, "%s%s=\"", j ? "," : "{", l[j].name);
			if (!r)
				r = put_escaped(out, l[j].value, 1);
			if (!r)
				r = sink_puts(out, "\"");
		}
		if (!r && nl)
			r = sink_puts(out, "}");
		if (!r)
			r = sink_puts(out, " ");
		if (!r)
			r = put_value(out, p->value);
		if (!r && with_ts)
			r = sink_printf(out, " %" PRIu64, b->t_ms);
		if (!r)
			r = sink_puts(out, "\n");
	}
	return r;
}
