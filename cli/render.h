/* SPDX-License-Identifier: GPL-2.0-only */
/* profctl rendering: turns the daemon's data objects (schemas in
 * docs/protocol.md) into text. Renders only; computes nothing the daemon
 * did not send, and tolerates missing members from an older daemon. */
#ifndef PROFCTL_RENDER_H
#define PROFCTL_RENDER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

/* `profctl status`: grouped "key: value" lines. */
void render_status(FILE *f, struct json_object *data);

/* What a top view asked the daemon for. The data does not echo it, and the
 * header shows it. */
struct render_top_query {
	const char *window; /* duration as given, e.g. "10s" */
	const char *sort;   /* cpu|mem|gpu|io|runq|samples|pid|comm */
	const char *unit;   /* systemd unit filter, or NULL */
	long long pid;      /* pid filter, or 0 */
};

/* `profctl top --once` (or not on a terminal): the system header, then the
 * process table. width 0 means no known width: columns take their natural
 * width. */
void render_top(FILE *f, struct json_object *data, const struct render_top_query *q, int width);

/* Fetches one top data object for the interactive view. Returns 0 with
 * *ret_data (caller puts) or a negative errno with a one-line message. */
typedef int (*render_fetch_fn)(void *userdata, const char *window, const char *sort, int limit, struct json_object **ret_data, char *err, size_t errsz);

/* The interactive `profctl top` (ncurses) until the user quits. q is the
 * starting window and sort (the keys change them; unit and pid stay, and
 * are fetch's business). limit 0 means "as many rows as fit". data is the
 * first answer, already fetched (so a dead daemon is reported before the
 * screen is taken); it is put. Returns 0, or -errno when the terminal
 * cannot be set up. */
int render_top_tui(render_fetch_fn fetch, void *userdata, struct json_object *data, const struct render_top_query *q, int limit, uint64_t interval_ms);

/* `profctl alerts`: firing and pending alerts with their evidence, then
 * (history) the transitions, newest first. */
void render_alerts(FILE *f, struct json_object *data, int history);
/* `profctl hotspots`: functions by share of the samples. */
void render_hotspots(FILE *f, struct json_object *data);
/* The alerts and receivers part of `profctl status` (nothing if the
 * daemon sent none). */
void render_status_alerts(FILE *f, struct json_object *data);

#endif
