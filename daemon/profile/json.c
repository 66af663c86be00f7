/* SPDX-License-Identifier: GPL-2.0-only */
/* profd's own JSON profile: every stack with its process and its named
 * frames (outermost first), pretty-printed as json-c prints it; with
 * FORMAT_BY_THREAD each stack also has "tid" and "thread" (null when the
 * thread is not known). The
 * envelope is written by hand and each stack is serialised on its own, so
 * the encoder holds one stack's objects at a time, not the whole tree,
 * and writes one stack per piece. Kernel frames of a profile whose kernel
 * addresses are hidden have no "addr". */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "profile/format.h"
#include "profile/profile.h"

#define FLAGS (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE)

/* Doubles as on the wire everywhere in profd: shortest "%.6g" form,
 * independent of json-c's process-wide setting. */
static struct json_object *jdouble(double v)
{
	struct json_object *d = json_object_new_double(v);

	if (d)
		json_object_set_serializer(d, json_object_double_to_json_string, (void *)"%.6g", NULL);
	return d;
}

/* Write text indented by `indent` spaces after every newline: json-c
 * escapes newlines inside strings, so every raw newline is layout. */
static int put_indented(struct sink *out, const char *text, size_t indent)
{
	static const char spaces[] = "        ";
	const char *p = text, *nl;
	int r = 0;

	while (!r && (nl = strchr(p, '\n'))) {
		r = sink_write(out, p, (size_t)(nl - p + 1));
		if (!r)
			r = sink_write(out, spaces, indent);
		p = nl + 1;
	}
	return r ? r : sink_puts(out, p);
}

static int put_member(struct sink *out, const char *key, struct json_object *v)
{
	int r = v ? sink_printf(out, "  \"%s\": %s,\n", key, json_object_to_json_string_ext(v, FLAGS)) : -ENOMEM;

	json_object_put(v);
	return r;
}

static struct json_object *stack_json(const struct profile *p, const struct profile_stack *s, int by_thread)
{
	const struct profile_proc *pr = &p->procs[s->proc];
	struct json_object *x = json_object_new_object(), *frames = json_object_new_array();

	if (!x || !frames) {
		json_object_put(x);
		json_object_put(frames);
		return NULL;
	}
	json_object_object_add(x, "pid", json_object_new_uint64(pr->pid));
	json_object_object_add(x, "comm", json_object_new_string(pr->comm));
	if (by_thread) {
		const struct profile_thread *t = s->thread < p->nthreads ? &p->threads[s->thread] : NULL;

		json_object_object_add(x, "tid", t ? json_object_new_uint64(t->tid) : NULL);
		json_object_object_add(x, "thread", t ? json_object_new_string(t->name) : NULL);
	}
	json_object_object_add(x, "count", json_object_new_uint64(s->count));
	json_object_object_add(x, "truncated", json_object_new_boolean(!!(s->flags & PROFILE_STACK_TRUNCATED)));
	for (uint32_t i = 0; i < s->nframes; i++) {
		const struct profile_frame *f = &p->frames[p->refs[s->first + i]];
		const char *module = f->mapping == PROFILE_NO_MAPPING ? "[unknown]" : p->mappings[f->mapping].name;
		struct json_object *o = json_object_new_object();

		if (!o) {
			json_object_put(x);
			json_object_put(frames);
			return NULL;
		}
		json_object_object_add(o, "name", json_object_new_string(f->name));
		json_object_object_add(o, "module", json_object_new_string(module));
		json_object_object_add(o, "kernel", json_object_new_boolean(f->kind == PROFILE_FRAME_KERNEL));
		if (f->kind != PROFILE_FRAME_KERNEL || !p->kaddr_hidden)
			json_object_object_add(o, "addr", json_object_new_uint64(f->addr));
		json_object_array_add(frames, o);
	}
	json_object_object_add(x, "frames", frames);
	return x;
}

struct json_state {
	const struct profile *p;
	size_t next;   /* stack to write; 0 before the header */
	int phase;     /* 0 header, 1 stacks, 2 trailer, 3 done */
	int by_thread;
};

static int json_open(const struct profile *p, const struct format_opts *o, void **ret_state,
		     struct format_result *ret)
{
	struct json_state *st = calloc(1, sizeof(*st));

	if (!st)
		return -ENOMEM;
	st->p = p;
	st->by_thread = o && (o->flags & FORMAT_BY_THREAD);
	*ret_state = st;
	ret->samples = p->samples;
	ret->stacks = p->nstacks;
	ret->scratch_bytes = sizeof(*st);
	return 0;
}

static int json_next(void *state, struct sink *out)
{
	struct json_state *st = state;
	const struct profile *p = st->p;
	struct json_object *x;
	int r = 0;

	switch (st->phase) {
	case 0:
		r = sink_puts(out, "{\n");
		if (!r)
			r = put_member(out, "window_s", jdouble((double)p->covered_ns / 1e9));
		if (!r)
			r = put_member(out, "frequency", json_object_new_uint64(p->frequency));
		if (!r)
			r = put_member(out, "samples", json_object_new_uint64(p->samples));
		if (!r)
			r = sink_puts(out, "  \"stacks\": [\n");
		st->phase = p->nstacks ? 1 : 2;
		break;
	case 1:
		x = stack_json(p, &p->stacks[st->next], st->by_thread);
		if (!x)
			return -ENOMEM;
		r = sink_puts(out, st->next ? ",\n    " : "    ");
		if (!r)
			r = put_indented(out, json_object_to_json_string_ext(x, FLAGS), 4);
		json_object_put(x);
		if (++st->next == p->nstacks)
			st->phase = 2;
		break;
	case 2:
		r = sink_puts(out, p->nstacks ? "\n  ]\n}" : "  ]\n}");
		st->phase = 3;
		break;
	default:
		return 0;
	}
	return r < 0 ? r : 1;
}

static void json_close(void *state)
{
	free(state);
}

const struct format format_json = {
	.name = "json",
	.mime = "application/json",
	.description = "profd's JSON: every stack with its process and named frames",
	.open = json_open,
	.next = json_next,
	.close = json_close,
};
