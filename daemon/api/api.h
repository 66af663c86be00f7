/* Internal interface between the API handlers (api.c: status, export and
 * dispatch; api_top.c: top). */
#ifndef PROFD_API_H
#define PROFD_API_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

struct daemon;
struct frame;
struct server_reply;

#define MAX_WINDOW_NS (48ull * 3600 * 1000000000ull)
#define NAME_MAX_LEN 512

struct entry {
	uint32_t proc, stack;
	uint64_t count;
};

struct entries {
	struct entry *v;
	size_t n, cap;
	int oom;
	uint32_t only_tgid; /* 0: all */
	struct daemon *d;
};

/* Stack counts over [data_until - span, data_until], optionally of one
 * tgid. Returns the covered span (ns) or -errno; caller frees e->v. */
int64_t api_query(struct daemon *d, uint64_t span, uint32_t tgid, struct entries *e);
/* Name of a frame ("func", "module+0xoff" or "[unknown]"). */
void api_frame_name(struct daemon *d, const struct frame *f, int is_leaf, char *buf, size_t n);
/* "window" and "pid" members; on error the reply is sent, -EINVAL. */
int api_parse_common(struct json_object *req, uint64_t def_window, uint64_t *span, int64_t *pid, struct server_reply *reply);
void api_add_u64(struct json_object *o, const char *k, uint64_t v);
void api_add_f(struct json_object *o, const char *k, double v);

void api_top(struct daemon *d, struct json_object *req, struct server_reply *reply);

#endif
