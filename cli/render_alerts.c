/* SPDX-License-Identifier: GPL-2.0-only */
/* profctl rendering of `alerts`, `hotspots` and the alerts part of
 * `status`. Renders only what the daemon sent (docs/protocol.md). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/fmt.h"
#include "render.h"
#include "render_internal.h"

static const char *str_or(struct json_object *o, const char *k, const char *def)
{
	const char *s = rj_str(o, k);

	return s ? s : def;
}

/* "postgres (1234)", "nginx.service", "the host", with "f in " before. */
static void entity(struct json_object *a, char *buf, size_t n)
{
	const char *kind = str_or(a, "kind", "?"), *fn = rj_str(a, "function");
	int w = fn ? snprintf(buf, n, "%s in ", fn) : 0;

	if (w < 0 || (size_t)w >= n)
		return;
	if (!strcmp(kind, "process"))
		snprintf(buf + w, n - (size_t)w, "%s (%lld)", str_or(a, "comm", "?"), (long long)rj_int(a, "pid"));
	else if (!strcmp(kind, "unit"))
		snprintf(buf + w, n - (size_t)w, "%s", str_or(a, "unit", "?"));
	else
		snprintf(buf + w, n - (size_t)w, "host");
}

static void when(double unix_s, char *buf, size_t n, int date)
{
	time_t t = (time_t)unix_s;
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, n, date ? "%Y-%m-%d %H:%M:%S" : "%H:%M:%S", &tm);
}

/* One stack, leaf first: "hash_search ← LockAcquire ← main", at most
 * max_frames of it. */
static void stack_line(FILE *f, struct json_object *st, int max_frames)
{
	struct json_object *fr = rj_get(st, "frames");
	size_t n = fr && json_object_is_type(fr, json_type_array) ? json_object_array_length(fr) : 0;
	int shown = 0;

	fprintf(f, "          %5.1f%%  ", rj_double(st, "share_pct"));
	for (size_t i = n; i-- > 0 && shown < max_frames; shown++)
		fprintf(f, "%s%s", shown ? " \xe2\x86\x90 " : "", json_object_get_string(json_object_array_get_idx(fr, i)));
	if (n > (size_t)max_frames)
		fprintf(f, " \xe2\x86\x90 \xe2\x80\xa6");
	fprintf(f, "\n");
}

static void one_alert(FILE *f, struct json_object *a, time_t now)
{
	struct json_object *stacks = rj_get(a, "stacks");
	char ent[256], t[32], age[32];
	double since = rj_double(a, "active_since");
	const char *state = str_or(a, "state", "?");
	size_t ns = stacks && json_object_is_type(stacks, json_type_array) ? json_object_array_length(stacks) : 0;

	entity(a, ent, sizeof(ent));
	when(since, t, sizeof(t), 0);
	fmt_duration(age, sizeof(age), now > since ? (uint64_t)((double)now - since) * NSEC_PER_SEC : 0);
	fprintf(f, "%-8s %-8s %s  %s  %s %s %s  since %s (%s)\n", state, str_or(a, "severity", "?"),
		str_or(a, "rule", "?"), ent, str_or(a, "value_text", "?"),
		!strcmp(str_or(a, "comparison", "above"), "below") ? "<" : ">", str_or(a, "threshold_text", "?"), t, age);
	if (rj_str(a, "summary"))
		fprintf(f, "         %s\n", rj_str(a, "summary"));
	if (rj_str(a, "evidence") && *rj_str(a, "evidence"))
		fprintf(f, "         evidence: %s\n", rj_str(a, "evidence"));
	if (ns) {
		fprintf(f, "         top stacks (%lld samples over %s):\n", (long long)rj_int(a, "stacks_samples"),
			fmt_duration(age, sizeof(age), (uint64_t)(rj_double(a, "window_s") * 1e9)));
		for (size_t i = 0; i < ns && i < 3; i++)
			stack_line(f, json_object_array_get_idx(stacks, i), 8);
	}
}

void render_alerts(FILE *f, struct json_object *d, int history)
{
	struct json_object *arr = rj_get(d, "alerts"), *h = rj_get(d, "history");
	size_t n = arr && json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
	time_t now = time(NULL);

	if (!n)
		fprintf(f, "no firing or pending alerts (%lld rules)\n", (long long)rj_int(d, "rules"));
	for (size_t i = 0; i < n; i++)
		one_alert(f, json_object_array_get_idx(arr, i), now);
	if (!history)
		return;
	n = h && json_object_is_type(h, json_type_array) ? json_object_array_length(h) : 0;
	fprintf(f, "\nhistory (newest first, %zu):\n", n);
	for (size_t i = 0; i < n; i++) {
		struct json_object *a = json_object_array_get_idx(h, i);
		const char *state = str_or(a, "state", "?");
		int resolved = !strcmp(state, "resolved");
		char ent[256], t[32];

		entity(a, ent, sizeof(ent));
		when(resolved ? rj_double(a, "resolved_at") : rj_double(a, "fired_at"), t, sizeof(t), 1);
		fprintf(f, "%s  %-8s %-8s %s  %s  %s", t, state, str_or(a, "severity", "?"), str_or(a, "rule", "?"), ent,
			str_or(a, "value_text", "?"));
		if (resolved)
			fprintf(f, "  (%s)", str_or(a, "reason", "?"));
		fprintf(f, "\n");
	}
}

void render_hotspots(FILE *f, struct json_object *d)
{
	struct json_object *arr = rj_get(d, "functions");
	size_t n = arr && json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
	char w[32];
	const char *scope = str_or(d, "scope", "host");

	fmt_duration(w, sizeof(w), (uint64_t)(rj_double(d, "window_s") * 1e9));
	if (!strcmp(scope, "process"))
		fprintf(f, "hotspots of pid %lld over %s: %lld samples\n", (long long)rj_int(d, "pid"), w,
			(long long)rj_int(d, "samples"));
	else if (!strcmp(scope, "unit"))
		fprintf(f, "hotspots of %s over %s: %lld samples\n", str_or(d, "unit", "?"), w,
			(long long)rj_int(d, "samples"));
	else
		fprintf(f, "hotspots of the host over %s: %lld samples\n", w, (long long)rj_int(d, "samples"));
	if (!n)
		return;
	fprintf(f, "%-8s %6s %6s  %-40s %-20s %s\n", "SEVERITY", "SELF%", "TOTAL%", "FUNCTION", "MODULE", "PROCESSES");
	for (size_t i = 0; i < n; i++) {
		struct json_object *x = json_object_array_get_idx(arr, i), *procs = rj_get(x, "processes");
		size_t np = procs && json_object_is_type(procs, json_type_array) ? json_object_array_length(procs) : 0;
		int64_t total = rj_int(x, "process_count");

		fprintf(f, "%-8s %6.1f %6.1f  %-40.40s %-20.20s ", str_or(x, "severity", "?"), rj_double(x, "self_pct"),
			rj_double(x, "total_pct"), str_or(x, "name", "?"), str_or(x, "module", ""));
		for (size_t k = 0; k < np && k < 3; k++) {
			struct json_object *p = json_object_array_get_idx(procs, k);

			fprintf(f, "%s%s (%lld)", k ? ", " : "", str_or(p, "comm", "?"), (long long)rj_int(p, "pid"));
		}
		if (total > 3)
			fprintf(f, " +%lld", (long long)(total - 3));
		fprintf(f, "\n");
	}
}

void render_status_alerts(FILE *f, struct json_object *d)
{
	struct json_object *rc = rj_get(d, "alerts.receivers");
	size_t n = rc && json_object_is_type(rc, json_type_array) ? json_object_array_length(rc) : 0;

	if (!rj_get(d, "alerts"))
		return;
	fprintf(f, "alerts\n");
	fprintf(f, "  rules: %lld (%lld files), firing %lld, pending %lld of %lld (refused %lld)\n",
		(long long)rj_int(d, "alerts.rules"), (long long)rj_int(d, "alerts.rule_files"),
		(long long)rj_int(d, "alerts.firing"), (long long)rj_int(d, "alerts.pending"),
		(long long)rj_int(d, "alerts.limit"), (long long)rj_int(d, "alerts.refused"));
	fprintf(f, "  evaluation: last %.2f ms, max %.2f ms; history %lld of %lld\n", rj_double(d, "alerts.last_eval_ms"),
		rj_double(d, "alerts.max_eval_ms"), (long long)rj_int(d, "alerts.history"),
		(long long)rj_int(d, "alerts.history_limit"));
	for (size_t i = 0; i < n; i++) {
		struct json_object *r = json_object_array_get_idx(rc, i);
		const char *err = rj_str(r, "last_error");

		fprintf(f, "  receiver %s%s%s: sent %lld, retried %lld, failed %lld, dropped %lld, queued %lld\n",
			str_or(r, "kind", "?"), rj_str(r, "url") ? " " : "", str_or(r, "url", ""),
			(long long)rj_int(r, "sent"), (long long)rj_int(r, "retried"), (long long)rj_int(r, "failed"),
			(long long)rj_int(r, "dropped"), (long long)rj_int(r, "queued"));
		if (err && *err) {
			char t[32];

			when(rj_double(r, "last_error_at"), t, sizeof(t), 1);
			fprintf(f, "    last error: %s (%s)\n", err, t);
		}
	}
}
