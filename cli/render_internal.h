/* SPDX-License-Identifier: GPL-2.0-only */
/* Shared by profctl's render*.c files; not part of its interface (that is
 * render.h). Member access that survives a different daemon version, and
 * the line-by-line form of the top view that both the plain and the curses
 * output draw. */
#ifndef PROFCTL_RENDER_INTERNAL_H
#define PROFCTL_RENDER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "render.h"

/* The member at a dotted path ("system.psi.cpu"), or NULL when any step is
 * missing, null or not an object. */
struct json_object *rj_get(struct json_object *o, const char *path);
/* True when the member is a JSON number (null and absent are not). */
bool rj_has_num(struct json_object *o, const char *path);
/* The member as a number; 0 when rj_has_num() is false. */
int64_t rj_int(struct json_object *o, const char *path);
double rj_double(struct json_object *o, const char *path);
/* The member as a string, or NULL when it is not one. */
const char *rj_str(struct json_object *o, const char *path);

/* ---- top, as lines (render_top.c) ---- */

enum top_line_kind {
	TOP_LINE_INFO,   /* the system header, and the blank line after it */
	TOP_LINE_HEADER, /* the column titles */
	TOP_LINE_ROW,    /* one process */
};

typedef void (*top_emit_fn)(void *userdata, enum top_line_kind kind, const char *line);

/* Emits the header lines, a blank line, the column titles and one line per
 * process. width > 0: every line fits in width columns; 0: natural widths. */
void top_lines(struct json_object *data, const struct render_top_query *q, int width, top_emit_fn emit, void *userdata);

/* Lines top_lines() emits before the column titles (blank one included),
 * so the interactive view knows how many rows are left for processes. */
int top_info_lines(struct json_object *data, const struct render_top_query *q);

#endif
