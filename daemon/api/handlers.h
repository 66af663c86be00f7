/* SPDX-License-Identifier: GPL-2.0-only */
/* Internal to the API layer: the handlers api.c dispatches to, and the
 * request helpers they share (request.c). */
#ifndef PROFD_API_HANDLERS_H
#define PROFD_API_HANDLERS_H

#include <stdint.h>

#include <json-c/json.h>

#include "profile/query.h"

struct daemon;
struct server_reply;

/* Longest window a request may ask for. */
#define API_MAX_WINDOW_NS (48ull * 3600 * 1000000000ull)

void api_status(struct daemon *d, struct json_object *req, struct server_reply *reply);
void api_top(struct daemon *d, struct json_object *req, struct server_reply *reply);
void api_export(struct daemon *d, struct json_object *req, struct server_reply *reply);
void api_diff(struct daemon *d, struct json_object *req, struct server_reply *reply);
void api_alerts(struct daemon *d, struct json_object *req, struct server_reply *reply);
void api_hotspots(struct daemon *d, struct json_object *req, struct server_reply *reply);
void api_reload(struct daemon *d, struct json_object *req, struct server_reply *reply);

/* The store and symbolizer of the daemon, as the profile layer takes them. */
void api_profile_src(const struct daemon *d, struct profile_src *ret);

/* "window" (default def_window) and "pid" (0 when absent) members; on a
 * bad value the error reply is sent and -EINVAL returned. */
int api_parse_common(struct json_object *req, uint64_t def_window, uint64_t *span, int64_t *pid, struct server_reply *reply);

/* ---- window.c: export and diff requests ---- */

/* A window: the last span (relative), or [from_ns, to_ns) CLOCK_BOOTTIME. */
struct api_window {
	int absolute;
	uint64_t span;
	uint64_t from_ns, to_ns;
};

/* Process filters of a request: "pid", "unit", "comm" (a glob). */
struct api_filter {
	struct pq_filter pq;
	struct daemon *d;
	const char *unit;
};

/* profile_src.thread_name: /proc/TGID/task/TID/comm of a live thread. */
void api_thread_name(void *ctx, uint32_t tgid, uint32_t tid, char *buf, size_t n);
/* by_thread asked where thread ids are not kept: the error reply is sent
 * and -EINVAL returned. */
int api_check_threads(const struct daemon *d, int by_thread, struct server_reply *reply);

/* CLOCK_REALTIME - CLOCK_BOOTTIME now. */
int64_t api_boot_to_real_ns(void);
/* from_key/to_key (ns since the epoch) if present, else "window" (a
 * duration, default def_span). On a bad value the error reply is sent and
 * -EINVAL returned. */
int api_parse_window(struct json_object *req, const char *from_key, const char *to_key, uint64_t def_span,
		     struct api_window *w, struct server_reply *reply);
int api_parse_filter(struct daemon *d, struct json_object *req, struct api_filter *f, struct server_reply *reply);
/* A boolean member (absent: 0). */
int api_get_flag(struct json_object *req, const char *key, int *ret, struct server_reply *reply);
int api_window_query(const struct profile_src *src, const struct api_window *w, const struct pq_filter *f,
		     struct pq_result *q);
/* Fill p's metric tables (totals over [p->from_ns, p->to_ns), and with
 * series one row per process per slot) and host figures, with the metric
 * registry. 0 or -ENOMEM. */
struct profile;
int api_profile_metrics(struct daemon *d, struct profile *p, const struct profile_src *src,
			const struct pq_filter *f, int series);

void api_add_u64(struct json_object *o, const char *k, uint64_t v);
void api_add_f(struct json_object *o, const char *k, double v);

#endif
