/* SPDX-License-Identifier: GPL-2.0-only */
/* The values of alert rules: thresholds with units, summary templates,
 * match patterns. See rules.h. */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/rules.h"
#include "metrics/registry.h"

/* Placeholders of a summary template (rendered by alerts/notify.c). */
static const char *const template_names[] = {
	"rule", "metric", "severity", "value", "threshold", "clear", "window", "for", "host",
	"entity", "pid", "comm", "exe", "unit", "function", NULL,
};

int rule_glob_match(const struct rule_match *m, const char *s)
{
	if (!s)
		return 0;
	switch (m->glob) {
	case GLOB_LITERAL:
		return !strcmp(m->pattern, s);
	case GLOB_PREFIX:
		return !strncmp(m->pattern, s, m->fixed);
	case GLOB_ANY:
		return 1;
	default:
		return !fnmatch(m->pattern, s, 0);
	}
}

static const char *skip_space(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* unit suffix -> multiplier, from a table; "" matches a bare number */
struct suffix {
	const char *name;
	double mult;
};

static const struct suffix size_suffixes[] = {
	{ "", 1 },	   { "B", 1 },		  { "k", 1024.0 },	     { "K", 1024.0 },
	{ "KB", 1024.0 },  { "KiB", 1024.0 },	  { "M", 1048576.0 },	     { "MB", 1048576.0 },
	{ "MiB", 1048576.0 }, { "G", 1073741824.0 }, { "GB", 1073741824.0 }, { "GiB", 1073741824.0 },
	{ "T", 1099511627776.0 }, { "TB", 1099511627776.0 }, { "TiB", 1099511627776.0 }, { NULL, 0 },
};
static const struct suffix time_suffixes[] = {
	{ "", 1 }, { "ns", 1 }, { "us", 1e3 }, { "\xc2\xb5s", 1e3 }, { "ms", 1e6 },
	{ "s", 1e9 }, { "m", 60e9 }, { "min", 60e9 }, { "h", 3600e9 }, { NULL, 0 },
};
static const struct suffix per_time[] = {
	{ "", 1 }, { "/s", 1 }, { "/m", 1.0 / 60 }, { "/min", 1.0 / 60 }, { "/h", 1.0 / 3600 }, { NULL, 0 },
};
static const struct suffix pct_suffixes[] = { { "", 1 }, { "%", 1 }, { NULL, 0 } };
static const struct suffix bare[] = { { "", 1 }, { NULL, 0 } };

/* Longest suffix of table that s starts with; NULL if none. */
static const struct suffix *suffix_at(const struct suffix *table, const char *s, size_t *ret_len)
{
	const struct suffix *best = NULL;
	size_t best_len = 0;

	for (const struct suffix *x = table; x->name; x++) {
		size_t l = strlen(x->name);

		if ((!best || l > best_len) && !strncmp(s, x->name, l)) {
			best = x;
			best_len = l;
		}
	}
	*ret_len = best_len;
	return best;
}

int rule_parse_threshold(const struct metric *m, const char *s, double *ret, char *msg, size_t msgsz)
{
	const struct suffix *table = bare, *x, *y;
	const char *hint = "a number";
	char *end;
	size_t l;
	double v;

	if (!strcmp(m->unit, "percent")) {
		table = pct_suffixes;
		hint = "a number of percent (90, 90%)";
	} else if (!strcmp(m->unit, "bytes") || !strcmp(m->unit, "bytes/s")) {
		table = size_suffixes;
		hint = !strcmp(m->unit, "bytes") ? "a size (8G, 512MiB, or bytes)"
						   : "a rate (10MiB/min, 1M/s, or bytes per second)";
	} else if (!strcmp(m->unit, "ns")) {
		table = time_suffixes;
		hint = "a duration (50ms, 2s, or ns)";
	}
	s = skip_space(s);
	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || !isfinite(v) || (*s != '-' && *s != '+' && !isdigit((unsigned char)*s) && *s != '.')) {
		snprintf(msg, msgsz, "not %s", hint);
		return -EINVAL;
	}
	end = (char *)skip_space(end);
	x = suffix_at(table, end, &l);
	if (!x) {
		snprintf(msg, msgsz, "unit '%s' does not fit %s (%s): give %s", end, m->name, m->unit, hint);
		return -EINVAL;
	}
	v *= x->mult;
	end += l;
	if (!strcmp(m->unit, "bytes/s")) {
		y = suffix_at(per_time, skip_space(end), &l);
		if (!y) {
			snprintf(msg, msgsz, "unit '%s' does not fit %s (bytes/s): give %s", end, m->name, hint);
			return -EINVAL;
		}
		v *= y->mult;
		end = (char *)skip_space(end) + l;
	}
	if (*skip_space(end)) {
		snprintf(msg, msgsz, "unit '%s' does not fit %s (%s): give %s", end, m->name, *m->unit ? m->unit : "a count",
			 hint);
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

static int template_known(const char *name, size_t len)
{
	for (int i = 0; template_names[i]; i++)
		if (strlen(template_names[i]) == len && !strncmp(template_names[i], name, len))
			return 1;
	return 0;
}

int rule_check_template(const char *tpl, char *msg, size_t msgsz)
{
	for (const char *p = tpl; *p; p++) {
		const char *close, *colon;
		size_t nl;

		if (*p == '}') {
			if (p[1] == '}') {
				p++;
				continue;
			}
			snprintf(msg, msgsz, "a lone '}' (write '}}' for a brace)");
			return -EINVAL;
		}
		if (*p != '{')
			continue;
		if (p[1] == '{') {
			p++;
			continue;
		}
		close = strchr(p, '}');
		if (!close) {
			snprintf(msg, msgsz, "'{' without '}' (write '{{' for a brace)");
			return -EINVAL;
		}
		colon = memchr(p, ':', (size_t)(close - p));
		nl = (size_t)((colon ? colon : close) - p - 1);
		if (!template_known(p + 1, nl)) {
			snprintf(msg, msgsz,
				 "unknown placeholder {%.*s} (known: rule, metric, severity, value, threshold, clear, "
				 "window, for, host, entity, pid, comm, exe, unit, function)",
				 (int)nl, p + 1);
			return -EINVAL;
		}
		if (colon) {
			/* the one format: .Nf, N = 0..9 */
			if (close - colon != 4 || colon[1] != '.' || !isdigit((unsigned char)colon[2]) || colon[3] != 'f') {
				snprintf(msg, msgsz, "format of {%.*s}: only :.Nf (N = 0..9) is known", (int)(close - p - 1),
					 p + 1);
				return -EINVAL;
			}
		}
		p = close;
	}
	return 0;
}
