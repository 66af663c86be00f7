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
void api_reload(struct daemon *d, struct json_object *req, struct server_reply *reply);

/* The store and symbolizer of the daemon, as the profile layer takes them. */
void api_profile_src(const struct daemon *d, struct profile_src *ret);

/* "window" (default def_window) and "pid" (0 when absent) members; on a
 * bad value the error reply is sent and -EINVAL returned. */
int api_parse_common(struct json_object *req, uint64_t def_window, uint64_t *span, int64_t *pid, struct server_reply *reply);

void api_add_u64(struct json_object *o, const char *k, uint64_t v);
void api_add_f(struct json_object *o, const char *k, double v);

#endif
