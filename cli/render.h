/* profctl rendering: turns the daemon's data objects (schemas in
 * docs/protocol.md) into text. Renders only; computes nothing the daemon
 * did not send, and tolerates missing members from an older daemon. */
#ifndef PROFCTL_RENDER_H
#define PROFCTL_RENDER_H

#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

/* `profctl status`: grouped "key: value" lines. */
void render_status(FILE *f, struct json_object *data);

/* `profctl top --once`: summary line, then the table. width 0 means no
 * terminal: columns take their natural width. */
void render_top(FILE *f, struct json_object *data, int width);

/* Fetches one top data object for the interactive view. Returns 0 with
 * *ret_data (caller puts) or a negative errno with a one-line message. */
typedef int (*render_fetch_fn)(void *userdata, const char *window, const char *sort, int limit, struct json_object **ret_data, char *err, size_t errsz);

/* The interactive `profctl top` (ncurses) until the user quits. limit 0
 * means "as many rows as fit". data is the first answer, already fetched
 * (so a dead daemon is reported before the screen is taken); it is put.
 * Returns 0, or -errno when the terminal cannot be set up. */
int render_top_tui(render_fetch_fn fetch, void *userdata, struct json_object *data, const char *window, const char *sort, int limit, uint64_t interval_ms);

#endif
