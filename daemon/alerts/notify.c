/* SPDX-License-Identifier: GPL-2.0-only */
/* Notification payloads and the log receiver, see notify.h. */
#include "alerts/notify.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "base/log.h"
#include "common/fmt.h"
#include "metrics/registry.h"

struct alert_sink *alert_sink_free(struct alert_sink *s)
{
	if (!s)
		return NULL;
	if (s->destroy)
		s->destroy(s);
	free(s->url);
	free(s);
	return NULL;
}

char *alert_rfc3339(int64_t unix_ns, char *buf, size_t n)
{
	time_t secs = (time_t)(unix_ns / 1000000000);
	struct tm tm;
	size_t l;

	if (unix_ns < 0)
		secs = 0;
	gmtime_r(&secs, &tm);
	l = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + l, n - l, ".%03dZ", (int)((unix_ns % 1000000000) / 1000000));
	return buf;
}

static const char *unit_of(const struct alert *a)
{
	const struct metric *m = metric_find(a->metric);

	return m ? m->unit : "";
}

char *alert_format_value(const struct alert *a, double v, char *buf, size_t n)
{
	const char *u = unit_of(a);
	char tmp[32];

	if (isnan(v)) {
		snprintf(buf, n, "n/a");
	} else if (!strcmp(u, "percent")) {
		snprintf(buf, n, "%.1f%%", v);
	} else if (!strcmp(u, "bytes")) {
		snprintf(buf, n, "%s", fmt_bytes(tmp, sizeof(tmp), v > 0 ? (uint64_t)v : 0));
	} else if (!strcmp(u, "bytes/s")) {
		/* growth is shown per minute: what people think leaks in */
		double pm = v * 60;

		snprintf(buf, n, "%s%s/min", pm < 0 ? "-" : "", fmt_bytes(tmp, sizeof(tmp), (uint64_t)fabs(pm)));
	} else if (!strcmp(u, "ns")) {
		snprintf(buf, n, "%s", fmt_duration(tmp, sizeof(tmp), v > 0 ? (uint64_t)v : 0));
	} else {
		snprintf(buf, n, "%.6g", v);
	}
	return buf;
}

static void entity_text(const struct alert *a, char *buf, size_t n)
{
	int w = 0;

	if (a->function)
		w = snprintf(buf, n, "%s in ", a->function);
	if (w < 0 || (size_t)w >= n)
		return;
	if (a->kind == ENTITY_PROCESS)
		snprintf(buf + w, n - (size_t)w, "%s (%" PRIu32 ")", a->comm, a->pid);
	else if (a->kind == ENTITY_UNIT)
		snprintf(buf + w, n - (size_t)w, "%s", a->unit ? a->unit : "?");
	else
		snprintf(buf + w, n - (size_t)w, "the host");
}

/* One placeholder's text into out. */
static void placeholder(const struct alert *a, const char *host, const char *name, size_t nl, int prec, char *out,
			size_t n)
{
	char d[32];

#define IS(s) (nl == sizeof(s) - 1 && !strncmp(name, s, nl))
	if ((IS("value") || IS("threshold") || IS("clear")) && prec >= 0) {
		double v = IS("value") ? a->value : IS("threshold") ? a->threshold : a->clear;

		snprintf(out, n, "%.*f", prec, v);
	} else if (IS("value")) {
		alert_format_value(a, a->value, out, n);
	} else if (IS("threshold")) {
		alert_format_value(a, a->threshold, out, n);
	} else if (IS("clear")) {
		alert_format_value(a, a->clear, out, n);
	} else if (IS("rule")) {
		snprintf(out, n, "%s", a->rule_name);
	} else if (IS("metric")) {
		snprintf(out, n, "%s", a->metric);
	} else if (IS("severity")) {
		snprintf(out, n, "%s", alert_severity_name(a->severity));
	} else if (IS("window")) {
		snprintf(out, n, "%s", fmt_duration(d, sizeof(d), a->window_ns));
	} else if (IS("for")) {
		snprintf(out, n, "%s", a->for_ns ? fmt_duration(d, sizeof(d), a->for_ns) : "0s");
	} else if (IS("host")) {
		snprintf(out, n, "%s", host ? host : "");
	} else if (IS("entity")) {
		entity_text(a, out, n);
	} else if (IS("pid")) {
		snprintf(out, n, "%" PRIu32, a->pid);
	} else if (IS("comm")) {
		snprintf(out, n, "%s", a->comm);
	} else if (IS("exe")) {
		snprintf(out, n, "%s", a->exe ? a->exe : "");
	} else if (IS("unit")) {
		snprintf(out, n, "%s", a->unit ? a->unit : "");
	} else if (IS("function")) {
		snprintf(out, n, "%s", a->function ? a->function : "");
	} else {
		snprintf(out, n, "{%.*s}", (int)nl, name);
	}
#undef IS
}

char *alert_render_summary(const struct alert *a, const char *tpl, const char *host, char *buf, size_t n)
{
	size_t len = 0;

	if (!tpl)
		tpl = a->below ? "{entity}: {metric} {value} below {threshold} over {window}"
			       : "{entity}: {metric} {value} above {threshold} over {window}";
	buf[0] = 0;
	for (const char *p = tpl; *p && len + 1 < n; p++) {
		char piece[512];
		const char *close, *colon;
		size_t pl;

		if ((*p == '{' && p[1] == '{') || (*p == '}' && p[1] == '}')) {
			buf[len++] = *p++;
			continue;
		}
		if (*p != '{' || !(close = strchr(p, '}'))) {
			buf[len++] = *p;
			continue;
		}
		colon = memchr(p, ':', (size_t)(close - p));
		placeholder(a, host, p + 1, (size_t)((colon ? colon : close) - p - 1),
			    colon && close - colon == 4 ? colon[2] - '0' : -1, piece, sizeof(piece));
		pl = strlen(piece);
		if (len + pl >= n)
			pl = n - len - 1;
		memcpy(buf + len, piece, pl);
		len += pl;
		p = close;
	}
	buf[len] = 0;
	return buf;
}

static const char *summary_of(const struct alert *a, char *buf, size_t n)
{
	if (a->summary)
		return a->summary;
	return alert_render_summary(a, NULL, NULL, buf, n);
}

char *alert_log_line(const struct alert_notification *n)
{
	const struct alert *a = n->alert;
	char sbuf[512], *line = NULL;
	const char *ev = a->stacks && a->stacks->evidence[0] ? a->stacks->evidence : NULL;
	int r;

	if (a->state == ALERT_RESOLVED)
		r = asprintf(&line, "alert %s resolved (%s): %s; %s", a->rule_name, alert_severity_name(a->severity),
			     summary_of(a, sbuf, sizeof(sbuf)), a->reason ? a->reason : "condition cleared");
	else if (a->state == ALERT_INACTIVE)
		r = asprintf(&line, "alert %s pending -> inactive: %s", a->rule_name, summary_of(a, sbuf, sizeof(sbuf)));
	else
		r = asprintf(&line, "alert %s %s%s (%s): %s%s%s", a->rule_name, alert_state_name(a->state),
			     n->resend ? " (still)" : "", alert_severity_name(a->severity),
			     summary_of(a, sbuf, sizeof(sbuf)), ev ? "; " : "", ev ? ev : "");
	return r < 0 ? NULL : line;
}

char *alert_stacks_folded(const struct alert_stacks *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	for (size_t i = 0; s && i < s->n; i++) {
		for (uint32_t k = 0; k < s->v[i].nframes; k++) {
			const char *c;

			if (k)
				fputc(';', f);
			/* ';' and ' ' would break the format (as the folded export) */
			for (c = s->v[i].frames[k]; *c; c++)
				fputc(*c == ';' || *c == ' ' ? '_' : *c, f);
		}
		fprintf(f, " %" PRIu64 "\n", s->v[i].count);
	}
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

static double unix_s(uint64_t boot_ns, int64_t off)
{
	return ((double)boot_ns + (double)off) / 1e9;
}

/* Unix seconds with milliseconds, written exactly: the daemon's global
 * double format (%.6g) would round a timestamp to the nearest 1,000 s. */
static void add_time(struct json_object *o, const char *k, double unix_secs)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%.3f", unix_secs);
	json_object_object_add(o, k, json_object_new_double_s(unix_secs, buf));
}

static void add_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

/* Ten significant digits: RSS in bytes and growth in bytes/s survive
 * (the daemon's global format keeps six). */
static void add_num(struct json_object *o, const char *k, double v)
{
	char buf[32];

	if (isnan(v)) {
		json_object_object_add(o, k, NULL);
		return;
	}
	snprintf(buf, sizeof(buf), "%.10g", v);
	json_object_object_add(o, k, json_object_new_double_s(v, buf));
}

static const char *kind_name(enum alert_entity_kind k)
{
	return k == ENTITY_PROCESS ? "process" : k == ENTITY_UNIT ? "unit" : "host";
}

struct json_object *alert_to_json(const struct alert *a, int64_t off)
{
	struct json_object *o = json_object_new_object(), *arr, *labels;
	char sbuf[512];

	if (!o)
		return NULL;
	add_str(o, "rule", a->rule_name);
	add_str(o, "state", alert_state_name(a->state));
	add_str(o, "severity", alert_severity_name(a->severity));
	add_str(o, "metric", a->metric);
	add_str(o, "kind", kind_name(a->kind));
	if (a->kind == ENTITY_PROCESS) {
		json_object_object_add(o, "pid", json_object_new_uint64(a->pid));
		json_object_object_add(o, "start_time_ns", json_object_new_uint64(a->start_ns));
		add_str(o, "comm", a->comm);
		if (a->exe)
			add_str(o, "exe", a->exe);
	}
	if (a->unit)
		add_str(o, "unit", a->unit);
	if (a->function)
		add_str(o, "function", a->function);
	add_num(o, "value", a->value);
	add_num(o, "threshold", a->threshold);
	add_num(o, "clear", a->clear);
	/* for people (profctl renders, it does not compute) */
	add_str(o, "value_text", alert_format_value(a, a->value, sbuf, sizeof(sbuf)));
	add_str(o, "threshold_text", alert_format_value(a, a->threshold, sbuf, sizeof(sbuf)));
	add_str(o, "comparison", a->below ? "below" : "above");
	add_num(o, "window_s", (double)a->window_ns / 1e9);
	add_num(o, "for_s", (double)a->for_ns / 1e9);
	add_time(o, "active_since", unix_s(a->active_since_ns, off));
	if (a->fired_at_ns)
		add_time(o, "fired_at", unix_s(a->fired_at_ns, off));
	if (a->state == ALERT_RESOLVED) {
		add_time(o, "resolved_at", unix_s(a->resolved_at_ns, off));
		add_str(o, "reason", a->reason);
	}
	add_str(o, "summary", summary_of(a, sbuf, sizeof(sbuf)));
	if (a->rule && a->rule->nlabels) {
		labels = json_object_new_object();
		for (size_t i = 0; i < a->rule->nlabels; i++)
			add_str(labels, a->rule->labels[i].key, a->rule->labels[i].value);
		json_object_object_add(o, "labels", labels);
	}
	arr = json_object_new_array();
	for (size_t i = 0; a->stacks && i < a->stacks->n; i++) {
		struct json_object *s = json_object_new_object(), *fr = json_object_new_array();

		for (uint32_t k = 0; k < a->stacks->v[i].nframes; k++)
			json_object_array_add(fr, json_object_new_string(a->stacks->v[i].frames[k]));
		json_object_object_add(s, "frames", fr);
		json_object_object_add(s, "count", json_object_new_uint64(a->stacks->v[i].count));
		add_num(s, "share_pct", a->stacks->v[i].share_pct);
		json_object_array_add(arr, s);
	}
	json_object_object_add(o, "stacks", arr);
	if (a->stacks) {
		json_object_object_add(o, "stacks_samples", json_object_new_uint64(a->stacks->samples));
		add_time(o, "stacks_at", unix_s(a->stacks->taken_ns, off));
		add_str(o, "evidence", a->stacks->evidence);
	}
	return o;
}

static char *to_text(struct json_object *o, size_t *ret_len)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	char *d = s ? strdup(s) : NULL;

	if (d && ret_len)
		*ret_len = strlen(d);
	json_object_put(o);
	return d;
}

char *alert_payload_alertmanager(const struct alert_notification *n, size_t *ret_len)
{
	const struct alert *a = n->alert;
	struct json_object *arr = json_object_new_array(), *x = json_object_new_object();
	struct json_object *labels = json_object_new_object(), *ann = json_object_new_object();
	char buf[64], sbuf[512], *folded;
	int64_t start, end;

	if (!arr || !x || !labels || !ann) {
		json_object_put(arr);
		json_object_put(x);
		json_object_put(labels);
		json_object_put(ann);
		return NULL;
	}
	add_str(labels, "alertname", a->rule_name);
	add_str(labels, "severity", alert_severity_name(a->severity));
	if (n->host && *n->host)
		add_str(labels, "host", n->host);
	if (a->kind == ENTITY_PROCESS) {
		snprintf(buf, sizeof(buf), "%" PRIu32, a->pid);
		add_str(labels, "pid", buf);
		if (a->comm[0])
			add_str(labels, "comm", a->comm);
	}
	if (a->unit)
		add_str(labels, "unit", a->unit);
	if (a->function)
		add_str(labels, "function", a->function);
	for (size_t i = 0; a->rule && i < a->rule->nlabels; i++)
		add_str(labels, a->rule->labels[i].key, a->rule->labels[i].value);
	json_object_object_add(x, "labels", labels);

	add_str(ann, "summary", summary_of(a, sbuf, sizeof(sbuf)));
	folded = alert_stacks_folded(a->stacks);
	if (folded && *folded)
		add_str(ann, "stacks", folded);
	free(folded);
	if (a->stacks && a->stacks->evidence[0])
		add_str(ann, "evidence", a->stacks->evidence);
	add_str(ann, "value", alert_format_value(a, a->value, buf, sizeof(buf)));
	add_str(ann, "threshold", alert_format_value(a, a->threshold, buf, sizeof(buf)));
	add_str(ann, "metric", a->metric);
	json_object_object_add(x, "annotations", ann);

	start = (int64_t)(a->fired_at_ns ? a->fired_at_ns : a->active_since_ns) + n->realtime_offset_ns;
	add_str(x, "startsAt", alert_rfc3339(start, buf, sizeof(buf)));
	/* firing: endsAt well past the next resend, so Alertmanager resolves
	 * it by itself if profd goes away (as Prometheus does, 4 resends);
	 * resolved: when it resolved */
	if (a->state == ALERT_RESOLVED)
		end = (int64_t)a->resolved_at_ns + n->realtime_offset_ns;
	else
		end = (int64_t)n->now_ns + n->realtime_offset_ns +
		      4 * (int64_t)(n->resend_ns ? n->resend_ns : 60 * NSEC_PER_SEC);
	add_str(x, "endsAt", alert_rfc3339(end, buf, sizeof(buf)));
	json_object_array_add(arr, x);
	return to_text(arr, ret_len);
}

char *alert_payload_webhook(const struct alert_notification *n, size_t *ret_len)
{
	struct json_object *o = json_object_new_object(), *a = alert_to_json(n->alert, n->realtime_offset_ns);

	if (!o || !a) {
		json_object_put(o);
		json_object_put(a);
		return NULL;
	}
	json_object_object_add(o, "version", json_object_new_int(1));
	add_str(o, "status", n->alert->state == ALERT_RESOLVED ? "resolved" : alert_state_name(n->alert->state));
	json_object_object_add(o, "resend", json_object_new_boolean(n->resend));
	add_str(o, "host", n->host);
	add_time(o, "sent_at", unix_s(n->now_ns, n->realtime_offset_ns));
	json_object_object_add(o, "alert", a);
	return to_text(o, ret_len);
}

/* ---- the log receiver ---- */

struct log_sink {
	uint64_t sent;
	int64_t last_unix;
};

static int log_send(struct alert_sink *s, const struct alert_notification *n)
{
	struct log_sink *l = s->ctx;
	char *line = alert_log_line(n);

	if (!line)
		return -ENOMEM;
	log_msg(n->alert->state == ALERT_FIRING && !n->resend ? LOG_WARNING : LOG_INFO, "%s", line);
	free(line);
	l->sent++;
	l->last_unix = ((int64_t)n->now_ns + n->realtime_offset_ns) / (int64_t)NSEC_PER_SEC;
	return 0;
}

static void log_stats(struct alert_sink *s, struct alert_sink_stats *ret)
{
	struct log_sink *l = s->ctx;

	memset(ret, 0, sizeof(*ret));
	ret->sent = l->sent;
	ret->last_sent_unix = l->last_unix;
}

static void log_destroy(struct alert_sink *s)
{
	free(s->ctx);
}

int alert_sink_log_new(struct alert_sink **ret)
{
	struct alert_sink *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->ctx = calloc(1, sizeof(struct log_sink));
	if (!s->ctx) {
		free(s);
		return -ENOMEM;
	}
	s->kind = "log";
	s->notify_bit = RULE_NOTIFY_LOG;
	s->send = log_send;
	s->get_stats = log_stats;
	s->destroy = log_destroy;
	*ret = s;
	return 0;
}
