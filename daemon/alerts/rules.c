/* SPDX-License-Identifier: GPL-2.0-only */
/* Alert rules: parsing and checking, see rules.h. */
#include "alerts/rules.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <ini.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fmt.h"
#include "metrics/registry.h"

/* A rules file is a few KiB; past this it is not one. */
#define RULES_MAX_FILE (1024 * 1024)
/* Longest window a rule may ask for: the coarse tier's default span. */
#define RULE_MAX_WINDOW_NS (24ull * 3600 * NSEC_PER_SEC)

/* Labels profd sets itself: a rule may not set them. */
static const char *const reserved_labels[] = {
	"alertname", "severity", "host", "pid", "comm", "unit", "function", "rule", NULL,
};

static const struct {
	const char *name;
	enum rule_match_kind kind;
} match_kinds[] = {
	{ "comm", MATCH_COMM }, { "exe", MATCH_EXE },	{ "cmdline", MATCH_CMDLINE }, { "unit", MATCH_UNIT },
	{ "cgroup", MATCH_CGROUP }, { "pid", MATCH_PID }, { "uid", MATCH_UID },
};

const char *alert_severity_name(enum alert_severity s)
{
	return s == SEVERITY_CRITICAL ? "critical" : s == SEVERITY_WARNING ? "warning" : "info";
}

static void rule_release(struct rule *r)
{
	free(r->name);
	free(r->file);
	for (size_t i = 0; i < r->nmatch; i++)
		free(r->match[i].pattern);
	free(r->function);
	for (size_t i = 0; i < r->nlabels; i++) {
		free(r->labels[i].key);
		free(r->labels[i].value);
	}
	free(r->summary);
	free(r->alertmanager_url);
	free(r->webhook_url);
	memset(r, 0, sizeof(*r));
}

int ruleset_new(struct ruleset **ret)
{
	struct ruleset *rs = calloc(1, sizeof(*rs));

	if (!rs)
		return -ENOMEM;
	*ret = rs;
	return 0;
}

struct ruleset *ruleset_free(struct ruleset *rs)
{
	if (!rs)
		return NULL;
	for (size_t i = 0; i < rs->n; i++)
		rule_release(&rs->v[i]);
	free(rs->v);
	free(rs);
	return NULL;
}

const struct rule *ruleset_find(const struct ruleset *rs, const char *name)
{
	for (size_t i = 0; rs && i < rs->n; i++)
		if (!strcmp(rs->v[i].name, name))
			return &rs->v[i];
	return NULL;
}

static int str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

int rule_same_identity(const struct rule *a, const struct rule *b)
{
	if (a->metric != b->metric || a->scope != b->scope || a->nmatch != b->nmatch || !str_eq(a->function, b->function))
		return 0;
	for (size_t i = 0; i < a->nmatch; i++)
		if (a->match[i].kind != b->match[i].kind || a->match[i].num != b->match[i].num ||
		    !str_eq(a->match[i].pattern, b->match[i].pattern))
			return 0;
	return 1;
}

static const char *skip_space(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* ---- the parser ---- */

struct load {
	struct ruleset *rs;
	const char *name;
	const char *buf;
	size_t len, pos;
	int lineno;
	enum rules_source src;
	struct rule cur;          /* the rule being read */
	int in_rule;              /* cur is in use */
	int in_other;             /* inside a non-rule section (RULES_CONFIG) */
	int seen_above, seen_below, seen_window, seen_for, seen_severity, seen_metric, seen_clear, seen_summary,
		seen_scope, seen_function, seen_notify, seen_labels, seen_am, seen_wh;
	int scope_host;           /* scope = host (function rules) */
	char above[64], below[64], clear[64];
	int line_above, line_below, line_clear;
	int err;                  /* first error */
	char msg[512];
};

static void load_fail(struct load *ld, int line, int err, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void load_fail(struct load *ld, int line, int err, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (ld->err)
		return;
	ld->err = err;
	n = snprintf(ld->msg, sizeof(ld->msg), "%s:%d: ", ld->name, line);
	if (n < 0 || (size_t)n >= sizeof(ld->msg))
		return;
	va_start(ap, fmt);
	vsnprintf(ld->msg + n, sizeof(ld->msg) - (size_t)n, fmt, ap);
	va_end(ap);
}

static int name_valid(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > RULE_NAME_MAX)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.' && *s != ':')
			return 0;
	return 1;
}

static char *dup_or_fail(struct load *ld, const char *s)
{
	char *d = strdup(s);

	if (!d)
		load_fail(ld, ld->lineno, ENOMEM, "out of memory");
	return d;
}

static void reset_seen(struct load *ld)
{
	ld->seen_above = ld->seen_below = ld->seen_window = ld->seen_for = ld->seen_severity = 0;
	ld->seen_metric = ld->seen_clear = ld->seen_summary = ld->seen_scope = ld->seen_function = 0;
	ld->seen_notify = ld->seen_labels = ld->seen_am = ld->seen_wh = 0;
	ld->scope_host = 0;
	ld->above[0] = ld->below[0] = ld->clear[0] = 0;
}

/* The rule read so far is complete: check what needs several keys, add it. */
static void finish_rule(struct load *ld)
{
	struct rule *r = &ld->cur;
	const struct rule *dup;
	char msg[256];
	int line = r->line;

	if (!ld->in_rule)
		return;
	ld->in_rule = 0;
	if (ld->err)
		goto drop;
	if (!r->metric) {
		load_fail(ld, line, EINVAL, "[rule %s]: no metric (metric = process.cpu_pct, ...)", r->name);
		goto drop;
	}
	if (!ld->seen_above == !ld->seen_below) {
		load_fail(ld, line, EINVAL, "[rule %s]: give exactly one of above = or below =", r->name);
		goto drop;
	}
	r->below = !!ld->seen_below;
	if (rule_parse_threshold(r->metric, r->below ? ld->below : ld->above, &r->threshold, msg, sizeof(msg))) {
		load_fail(ld, r->below ? ld->line_below : ld->line_above, EINVAL, "%s = %s: %s", r->below ? "below" : "above",
			  r->below ? ld->below : ld->above, msg);
		goto drop;
	}
	r->clear = r->threshold;
	if (ld->seen_clear) {
		if (rule_parse_threshold(r->metric, ld->clear, &r->clear, msg, sizeof(msg))) {
			load_fail(ld, ld->line_clear, EINVAL, "clear = %s: %s", ld->clear, msg);
			goto drop;
		}
		if (r->below ? r->clear < r->threshold : r->clear > r->threshold) {
			load_fail(ld, ld->line_clear, EINVAL, "clear = %s: must be %s the threshold (%s = %s): hysteresis",
				  ld->clear, r->below ? "at or above" : "at or below", r->below ? "below" : "above",
				  r->below ? ld->below : ld->above);
			goto drop;
		}
		r->has_clear = 1;
	}
	if (r->metric->scope == METRIC_FUNCTION) {
		r->scope = ld->scope_host ? RULE_FUNCTION_HOST : RULE_FUNCTION;
		if (ld->scope_host && r->nmatch) {
			load_fail(ld, line, EINVAL, "[rule %s]: scope = host takes no match (it is the whole host)", r->name);
			goto drop;
		}
	} else {
		if (ld->seen_function || ld->seen_scope) {
			load_fail(ld, line, EINVAL, "[rule %s]: function = and scope = are for function.* metrics only",
				  r->name);
			goto drop;
		}
		r->scope = r->metric->scope == METRIC_HOST ? RULE_HOST
			   : r->metric->scope == METRIC_UNIT ? RULE_UNIT
							      : RULE_PROCESS;
	}
	if (r->scope == RULE_HOST && r->nmatch) {
		load_fail(ld, line, EINVAL, "[rule %s]: match does not apply to host metrics (%s)", r->name,
			  r->metric->name);
		goto drop;
	}
	if (r->scope == RULE_UNIT)
		for (size_t i = 0; i < r->nmatch; i++)
			if (r->match[i].kind != MATCH_UNIT) {
				load_fail(ld, line, EINVAL, "[rule %s]: unit metrics match on unit: only", r->name);
				goto drop;
			}
	if (!ld->seen_window)
		r->window_ns = 60 * NSEC_PER_SEC;
	if (!ld->seen_notify)
		r->notify = RULE_NOTIFY_ALL;
	dup = ruleset_find(ld->rs, r->name);
	if (dup) {
		load_fail(ld, line, EINVAL, "[rule %s]: a rule of that name is already defined at %s:%d", r->name, dup->file,
			  dup->line);
		goto drop;
	}
	if (ld->rs->n >= RULES_MAX) {
		load_fail(ld, line, E2BIG, "[rule %s]: more than %d rules", r->name, RULES_MAX);
		goto drop;
	}
	if (ld->rs->n == ld->rs->cap) {
		size_t cap = ld->rs->cap ? ld->rs->cap * 2 : 16;
		struct rule *v = realloc(ld->rs->v, cap * sizeof(*v));

		if (!v) {
			load_fail(ld, line, ENOMEM, "out of memory");
			goto drop;
		}
		ld->rs->v = v;
		ld->rs->cap = cap;
	}
	r->index = (uint32_t)ld->rs->n;
	ld->rs->v[ld->rs->n++] = *r;
	memset(r, 0, sizeof(*r));
	return;
drop:
	rule_release(r);
}

/* A [rule NAME] header (or another section) on line ld->lineno. */
static void begin_section(struct load *ld, const char *sec, size_t len)
{
	char name[RULE_NAME_MAX + 2];

	finish_rule(ld);
	ld->in_other = 0;
	if (len < 5 || strncmp(sec, "rule", 4) || (sec[4] != ' ' && sec[4] != '\t')) {
		if (ld->src == RULES_CONFIG) {
			ld->in_other = 1;
			return;
		}
		load_fail(ld, ld->lineno, EINVAL, "[%.*s]: a rules file holds only [rule NAME] sections", (int)len, sec);
		return;
	}
	sec += 5;
	len -= 5;
	while (len && (*sec == ' ' || *sec == '\t'))
		sec++, len--;
	while (len && (sec[len - 1] == ' ' || sec[len - 1] == '\t'))
		len--;
	if (len > RULE_NAME_MAX || !len) {
		load_fail(ld, ld->lineno, EINVAL, "rule name must be 1..%d characters", RULE_NAME_MAX);
		return;
	}
	memcpy(name, sec, len);
	name[len] = 0;
	if (!name_valid(name)) {
		load_fail(ld, ld->lineno, EINVAL, "rule name '%s': letters, digits, '_', '-', '.', ':' only", name);
		return;
	}
	memset(&ld->cur, 0, sizeof(ld->cur));
	reset_seen(ld);
	ld->cur.name = dup_or_fail(ld, name);
	ld->cur.file = dup_or_fail(ld, ld->name);
	ld->cur.line = ld->lineno;
	ld->cur.severity = SEVERITY_WARNING;
	ld->in_rule = 1;
}

static char *load_reader(char *str, int num, void *stream)
{
	struct load *ld = stream;
	const char *line, *end, *nl;
	size_t n;

	if (ld->pos >= ld->len || ld->err)
		return NULL;
	line = ld->buf + ld->pos;
	nl = memchr(line, '\n', ld->len - ld->pos);
	end = nl ? nl : ld->buf + ld->len;
	ld->pos = (size_t)(end - ld->buf) + (nl ? 1 : 0);
	ld->lineno++;
	/* no multi-line values: an indented line is a line of its own */
	while (line < end && (*line == ' ' || *line == '\t'))
		line++;
	n = (size_t)(end - line);
	if (n && line[n - 1] == '\r')
		n--;
	if (num < 3 || n + 2 > (size_t)num) {
		load_fail(ld, ld->lineno, EINVAL, "line too long (more than %d characters)", num - 2);
		return NULL;
	}
	memcpy(str, line, n);
	str[n] = '\n';
	str[n + 1] = 0;
	if (n && line[0] == '[') {
		const char *close = memchr(line, ']', n);

		if (!close)
			load_fail(ld, ld->lineno, EINVAL, "section header without ']'");
		else
			begin_section(ld, line + 1, (size_t)(close - line - 1));
	}
	return str;
}

static int add_match(struct load *ld, const char *term)
{
	struct rule *r = &ld->cur;
	const char *colon = strchr(term, ':');
	struct rule_match *m;
	size_t k, kl;

	if (!colon) {
		load_fail(ld, ld->lineno, EINVAL, "match = %s: expected KIND:PATTERN (comm, exe, cmdline, unit, cgroup, pid, uid)",
			  term);
		return -EINVAL;
	}
	kl = (size_t)(colon - term);
	for (k = 0; k < sizeof(match_kinds) / sizeof(match_kinds[0]); k++)
		if (strlen(match_kinds[k].name) == kl && !strncmp(match_kinds[k].name, term, kl))
			break;
	if (k == sizeof(match_kinds) / sizeof(match_kinds[0])) {
		load_fail(ld, ld->lineno, EINVAL, "match = %s: unknown kind '%.*s' (comm, exe, cmdline, unit, cgroup, pid, uid)",
			  term, (int)kl, term);
		return -EINVAL;
	}
	if (r->nmatch == RULE_MAX_MATCH) {
		load_fail(ld, ld->lineno, EINVAL, "match: more than %d terms", RULE_MAX_MATCH);
		return -EINVAL;
	}
	m = &r->match[r->nmatch];
	memset(m, 0, sizeof(*m));
	m->kind = match_kinds[k].kind;
	colon++;
	if (!*colon) {
		load_fail(ld, ld->lineno, EINVAL, "match = %s: empty pattern", term);
		return -EINVAL;
	}
	if (m->kind == MATCH_PID || m->kind == MATCH_UID) {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(colon, &end, 10);
		if (errno || *end || !isdigit((unsigned char)*colon) || v > UINT32_MAX ||
		    (m->kind == MATCH_PID && !v)) {
			load_fail(ld, ld->lineno, EINVAL, "match = %s: %s must be a number", term,
				  m->kind == MATCH_PID ? "a pid" : "a uid");
			return -EINVAL;
		}
		m->num = (uint32_t)v;
	} else {
		if (strlen(colon) > RULE_TEXT_MAX) {
			load_fail(ld, ld->lineno, EINVAL, "match = %s: pattern too long", term);
			return -EINVAL;
		}
		m->pattern = dup_or_fail(ld, colon);
		if (!m->pattern)
			return -ENOMEM;
		m->fixed = strcspn(colon, "*?[\\");
		m->glob = !colon[m->fixed]					? GLOB_LITERAL
			  : !strcmp(colon, "*")					? GLOB_ANY
			  : colon[m->fixed] == '*' && !colon[m->fixed + 1]	? GLOB_PREFIX
										: GLOB_FNMATCH;
	}
	r->nmatch++;
	return 0;
}

/* Split a comma-separated value into trimmed terms; fn gets each. */
static int for_each_term(struct load *ld, const char *value, int (*fn)(struct load *ld, const char *term))
{
	char buf[RULE_TEXT_MAX + 1];
	char *p, *save = NULL;
	int any = 0;

	if (strlen(value) > RULE_TEXT_MAX) {
		load_fail(ld, ld->lineno, EINVAL, "value too long");
		return -EINVAL;
	}
	snprintf(buf, sizeof(buf), "%s", value);
	for (p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		char *e;

		p = (char *)skip_space(p);
		e = p + strlen(p);
		while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
			*--e = 0;
		if (!*p) {
			load_fail(ld, ld->lineno, EINVAL, "empty item in a comma-separated list");
			return -EINVAL;
		}
		if (fn(ld, p))
			return -EINVAL;
		any = 1;
	}
	if (!any) {
		load_fail(ld, ld->lineno, EINVAL, "empty value");
		return -EINVAL;
	}
	return 0;
}

static int add_label(struct load *ld, const char *term)
{
	struct rule *r = &ld->cur;
	const char *eq = strchr(term, '=');
	char key[64];
	size_t kl;

	if (!eq) {
		load_fail(ld, ld->lineno, EINVAL, "labels: '%s' is not KEY=VALUE", term);
		return -EINVAL;
	}
	kl = (size_t)(eq - term);
	while (kl && (term[kl - 1] == ' ' || term[kl - 1] == '\t'))
		kl--;
	if (!kl || kl >= sizeof(key)) {
		load_fail(ld, ld->lineno, EINVAL, "labels: '%s': the key must be 1..%zu characters", term, sizeof(key) - 1);
		return -EINVAL;
	}
	memcpy(key, term, kl);
	key[kl] = 0;
	for (size_t i = 0; i < kl; i++)
		if (!(isalpha((unsigned char)key[i]) || key[i] == '_' || (i && isdigit((unsigned char)key[i])))) {
			load_fail(ld, ld->lineno, EINVAL, "labels: key '%s': letters, digits and '_', not starting with a digit",
				  key);
			return -EINVAL;
		}
	for (int i = 0; reserved_labels[i]; i++)
		if (!strcmp(key, reserved_labels[i])) {
			load_fail(ld, ld->lineno, EINVAL, "labels: '%s' is set by profd itself", key);
			return -EINVAL;
		}
	for (size_t i = 0; i < r->nlabels; i++)
		if (!strcmp(r->labels[i].key, key)) {
			load_fail(ld, ld->lineno, EINVAL, "labels: '%s' given twice", key);
			return -EINVAL;
		}
	eq = skip_space(eq + 1);
	if (!*eq) {
		load_fail(ld, ld->lineno, EINVAL, "labels: '%s' has an empty value", key);
		return -EINVAL;
	}
	if (r->nlabels == RULE_MAX_LABELS) {
		load_fail(ld, ld->lineno, EINVAL, "labels: more than %d", RULE_MAX_LABELS);
		return -EINVAL;
	}
	r->labels[r->nlabels].key = dup_or_fail(ld, key);
	r->labels[r->nlabels].value = dup_or_fail(ld, eq);
	r->nlabels++;
	return ld->err ? -ENOMEM : 0;
}

static int add_notify(struct load *ld, const char *term)
{
	struct rule *r = &ld->cur;

	if (!strcmp(term, "log"))
		r->notify |= RULE_NOTIFY_LOG;
	else if (!strcmp(term, "alertmanager"))
		r->notify |= RULE_NOTIFY_ALERTMANAGER;
	else if (!strcmp(term, "webhook"))
		r->notify |= RULE_NOTIFY_WEBHOOK;
	else if (!strcmp(term, "all"))
		r->notify |= RULE_NOTIFY_ALL;
	else if (strcmp(term, "none")) {
		load_fail(ld, ld->lineno, EINVAL, "notify: '%s' is not one of log, alertmanager, webhook, all, none", term);
		return -EINVAL;
	}
	return 0;
}

static int once(struct load *ld, int *seen, const char *key)
{
	if (*seen) {
		load_fail(ld, ld->lineno, EINVAL, "%s: set twice in [rule %s]", key, ld->cur.name);
		return -EINVAL;
	}
	*seen = ld->lineno;
	return 0;
}

static int set_duration(struct load *ld, const char *key, const char *value, uint64_t min, uint64_t *ret)
{
	uint64_t ns = 0;

	if (strcmp(value, "0") && (fmt_parse_duration(value, &ns) < 0)) {
		load_fail(ld, ld->lineno, EINVAL, "%s = %s: not a duration (30s, 5m, 1h30m)", key, value);
		return -EINVAL;
	}
	if (ns < min || ns > RULE_MAX_WINDOW_NS) {
		load_fail(ld, ld->lineno, EINVAL, "%s = %s: must be %s..24h", key, value, min ? "1s" : "0");
		return -EINVAL;
	}
	*ret = ns;
	return 0;
}

static int set_url(struct load *ld, const char *key, const char *value, char **ret)
{
	if ((strncmp(value, "http://", 7) && strncmp(value, "https://", 8)) || strlen(value) > RULE_TEXT_MAX) {
		load_fail(ld, ld->lineno, EINVAL, "%s = %s: must be an http:// or https:// URL", key, value);
		return -EINVAL;
	}
	*ret = dup_or_fail(ld, value);
	return 0;
}

static int load_handler(void *user, const char *section, const char *key, const char *value)
{
	struct load *ld = user;
	struct rule *r = &ld->cur;
	char msg[256];

	(void)section;
	if (ld->err)
		return 0;
	if (ld->in_other)
		return 1;
	if (!ld->in_rule) {
		if (ld->src == RULES_FILE)
			load_fail(ld, ld->lineno, EINVAL, "%s = %s: outside of a [rule NAME] section", key, value);
		return 1;
	}
	if (!strcmp(key, "metric")) {
		if (once(ld, &ld->seen_metric, key))
			return 0;
		r->metric = metric_find(value);
		if (!r->metric) {
			load_fail(ld, ld->lineno, EINVAL, "metric = %s: no such metric (docs/metrics.md lists them)", value);
			return 0;
		}
		if (r->metric->scope == METRIC_DAEMON) {
			load_fail(ld, ld->lineno, EINVAL, "metric = %s: alerts take host.*, process.*, unit.* and function.* metrics",
				  value);
			return 0;
		}
	} else if (!strcmp(key, "match")) {
		for_each_term(ld, value, add_match);
	} else if (!strcmp(key, "above") || !strcmp(key, "below") || !strcmp(key, "clear")) {
		int below = key[0] == 'b', clear = key[0] == 'c';
		char *dst = clear ? ld->clear : below ? ld->below : ld->above;

		if (once(ld, clear ? &ld->seen_clear : below ? &ld->seen_below : &ld->seen_above, key))
			return 0;
		if (strlen(value) >= sizeof(ld->above)) {
			load_fail(ld, ld->lineno, EINVAL, "%s: value too long", key);
			return 0;
		}
		snprintf(dst, sizeof(ld->above), "%s", value);
		if (clear)
			ld->line_clear = ld->lineno;
		else if (below)
			ld->line_below = ld->lineno;
		else
			ld->line_above = ld->lineno;
		/* the metric may come later in the section: the value is
		 * parsed in finish_rule, but a value that is no number at all
		 * is refused here, on its own line */
		if (r->metric && rule_parse_threshold(r->metric, value, &(double){ 0 }, msg, sizeof(msg)))
			load_fail(ld, ld->lineno, EINVAL, "%s = %s: %s", key, value, msg);
	} else if (!strcmp(key, "window")) {
		if (!once(ld, &ld->seen_window, key))
			set_duration(ld, key, value, NSEC_PER_SEC, &r->window_ns);
	} else if (!strcmp(key, "for")) {
		if (!once(ld, &ld->seen_for, key))
			set_duration(ld, key, value, 0, &r->for_ns);
	} else if (!strcmp(key, "severity")) {
		if (once(ld, &ld->seen_severity, key))
			return 0;
		if (!strcmp(value, "info"))
			r->severity = SEVERITY_INFO;
		else if (!strcmp(value, "warning"))
			r->severity = SEVERITY_WARNING;
		else if (!strcmp(value, "critical"))
			r->severity = SEVERITY_CRITICAL;
		else
			load_fail(ld, ld->lineno, EINVAL, "severity = %s: must be info, warning or critical", value);
	} else if (!strcmp(key, "labels")) {
		if (!once(ld, &ld->seen_labels, key))
			for_each_term(ld, value, add_label);
	} else if (!strcmp(key, "summary")) {
		if (once(ld, &ld->seen_summary, key))
			return 0;
		if (strlen(value) > RULE_TEXT_MAX)
			load_fail(ld, ld->lineno, EINVAL, "summary: longer than %d characters", RULE_TEXT_MAX);
		else if (rule_check_template(value, msg, sizeof(msg)))
			load_fail(ld, ld->lineno, EINVAL, "summary = %s: %s", value, msg);
		else
			r->summary = dup_or_fail(ld, value);
	} else if (!strcmp(key, "function")) {
		if (once(ld, &ld->seen_function, key))
			return 0;
		if (strlen(value) > RULE_TEXT_MAX)
			load_fail(ld, ld->lineno, EINVAL, "function: pattern too long");
		else
			r->function = dup_or_fail(ld, value);
	} else if (!strcmp(key, "scope")) {
		if (once(ld, &ld->seen_scope, key))
			return 0;
		if (!strcmp(value, "host"))
			ld->scope_host = 1;
		else if (strcmp(value, "process"))
			load_fail(ld, ld->lineno, EINVAL, "scope = %s: must be process or host", value);
	} else if (!strcmp(key, "notify")) {
		if (!once(ld, &ld->seen_notify, key))
			for_each_term(ld, value, add_notify);
	} else if (!strcmp(key, "alertmanager_url")) {
		if (!once(ld, &ld->seen_am, key))
			set_url(ld, key, value, &r->alertmanager_url);
	} else if (!strcmp(key, "webhook_url")) {
		if (!once(ld, &ld->seen_wh, key))
			set_url(ld, key, value, &r->webhook_url);
	} else {
		load_fail(ld, ld->lineno, EINVAL,
			  "unknown key '%s' in [rule %s] (metric, match, function, scope, above, below, clear, window, "
			  "for, severity, labels, summary, notify, alertmanager_url, webhook_url)",
			  key, r->name);
	}
	return 1;
}

int ruleset_load_buffer(struct ruleset *rs, const char *name, const char *buf, size_t len, enum rules_source src,
			char *err, size_t errsz)
{
	struct load *ld = calloc(1, sizeof(*ld));
	size_t n0 = rs->n;
	int r;

	if (!ld) {
		snprintf(err, errsz, "%s: out of memory", name);
		return -ENOMEM;
	}
	ld->rs = rs;
	ld->name = name;
	ld->buf = buf;
	ld->len = len;
	ld->src = src;
	if (memchr(buf, 0, len))
		load_fail(ld, 1, EINVAL, "contains a NUL byte; not a text file");
	r = ld->err ? 0 : ini_parse_stream(load_reader, ld, load_handler, ld);
	if (r > 0 && !ld->err)
		load_fail(ld, r, EINVAL, "syntax error: expected '[rule NAME]', 'key = value' or a comment");
	else if (r < 0 && !ld->err)
		load_fail(ld, 0, ENOMEM, "out of memory while parsing");
	if (!ld->err)
		finish_rule(ld);
	rule_release(&ld->cur);
	r = -ld->err;
	if (r) {
		snprintf(err, errsz, "%s", ld->msg);
		/* all or nothing: forget this buffer's rules */
		while (rs->n > n0)
			rule_release(&rs->v[--rs->n]);
	}
	free(ld);
	return r;
}

int ruleset_load_file(struct ruleset *rs, const char *path, enum rules_source src, char *err, size_t errsz)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errsz, "%s: %s", path, strerror(-r));
		return r;
	}
	for (;;) {
		ssize_t got;

		if (len == cap) {
			char *nb;

			cap = cap ? cap * 2 : 4096;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				r = -ENOMEM;
				break;
			}
			buf = nb;
		}
		got = read(fd, buf + len, cap - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = -errno;
			break;
		}
		if (!got)
			break;
		len += (size_t)got;
		if (len > RULES_MAX_FILE) {
			r = -EFBIG;
			break;
		}
	}
	close(fd);
	if (r == -EFBIG)
		snprintf(err, errsz, "%s: larger than %d bytes; not a rules file", path, RULES_MAX_FILE);
	else if (r)
		snprintf(err, errsz, "%s: %s", path, strerror(-r));
	if (!r)
		r = ruleset_load_buffer(rs, path, buf ? buf : "", len, src, err, errsz);
	free(buf);
	return r;
}

int ruleset_load_glob(struct ruleset *rs, const char *pattern, char *err, size_t errsz)
{
	glob_t g;
	int r;

	memset(&g, 0, sizeof(g));
	r = glob(pattern, GLOB_ERR, NULL, &g);
	if (r == GLOB_NOMATCH) {
		globfree(&g);
		return 0;
	}
	if (r) {
		globfree(&g);
		/* an absent directory is no rule, not an error */
		if (r == GLOB_ABORTED && errno == ENOENT)
			return 0;
		snprintf(err, errsz, "%s: cannot list: %s", pattern, r == GLOB_NOSPACE ? "out of memory" : strerror(errno));
		return r == GLOB_NOSPACE ? -ENOMEM : -EIO;
	}
	if (g.gl_pathc > RULES_MAX_FILES) {
		snprintf(err, errsz, "%s: %zu files, more than %d", pattern, (size_t)g.gl_pathc, RULES_MAX_FILES);
		globfree(&g);
		return -E2BIG;
	}
	for (size_t i = 0; i < g.gl_pathc; i++) {
		r = ruleset_load_file(rs, g.gl_pathv[i], RULES_FILE, err, errsz);
		if (r)
			break;
		rs->files++;
	}
	globfree(&g);
	return r;
}
