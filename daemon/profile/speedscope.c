/* SPDX-License-Identifier: GPL-2.0-only */
/* speedscope's file format (https://www.speedscope.app/file-format-schema.json):
 * one shared frame table and "sampled" profiles whose samples are lists of
 * frame indexes, root first, each with a weight (its sample count, unit
 * "none"). One profile for the whole window with the process as each
 * stack's root frame, or with FORMAT_BY_PROCESS one profile per process
 * ("comm (pid N)"), largest first. With FORMAT_BY_THREAD the thread is a
 * frame under the process.
 *
 * Frames are deduplicated by (name, object): the same function at many
 * addresses is one frame. Written as it goes: the encoder's own memory is
 * the frame table (the distinct names) and, per profile frame and per
 * stack, one index; never the samples' text. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "profile/format.h"
#include "profile/profile.h"
#include "profile/stackview.h"
#include "profile/strtab.h"

struct ss {
	const struct profile *p;
	unsigned view;
	struct strtab *frames;  /* "name\0file" per speedscope frame */
	int32_t *fid;           /* speedscope frame of each profile frame, -1 not yet */
	struct vframe *vf;
	size_t maxd;
};

static int put_str(struct sink *out, const char *s)
{
	struct json_object *o = json_object_new_string(s);
	int r;

	if (!o)
		return -ENOMEM;
	r = sink_puts(out, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return r;
}

static int frame_id(struct ss *e, const struct vframe *v)
{
	char key[2 * (PROFILE_NAME_MAX + 1) + 2];
	const char *file = "";
	size_t nl, fl;
	int id;

	if (v->kind == VF_FRAME && e->fid[v->frame] >= 0)
		return e->fid[v->frame];
	if (v->kind == VF_FRAME) {
		const struct profile_frame *f = &e->p->frames[v->frame];

		file = f->file ? f->file
		       : f->mapping != PROFILE_NO_MAPPING && f->mapping < e->p->nmappings ? e->p->mappings[f->mapping].name
											  : "";
	}
	nl = strnlen(v->name, PROFILE_NAME_MAX);
	fl = strnlen(file, PROFILE_NAME_MAX);
	memcpy(key, v->name, nl);
	key[nl] = 0;
	memcpy(key + nl + 1, file, fl);
	id = strtab_intern(e->frames, key, nl + 1 + fl);
	if (id >= 0 && v->kind == VF_FRAME)
		e->fid[v->frame] = id;
	return id;
}

/* Every frame of every stack into the table, before it is written. */
static int collect_frames(struct ss *e)
{
	char tbuf[VIEW_THREAD_NAME_MAX];

	for (size_t i = 0; i < e->p->nstacks; i++) {
		size_t n = stackview(e->p, &e->p->stacks[i], e->view, tbuf, e->vf);

		for (size_t k = 0; k < n; k++) {
			int r = frame_id(e, &e->vf[k]);

			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int put_frames(struct ss *e, struct sink *out)
{
	int r = sink_puts(out, "\"shared\":{\"frames\":[");

	for (size_t i = 0; !r && i < strtab_count(e->frames); i++) {
		const char *name = strtab_get(e->frames, (uint32_t)i, NULL);
		const char *file = name + strlen(name) + 1;

		r = sink_puts(out, i ? ",\n{\"name\":" : "\n{\"name\":");
		if (!r)
			r = put_str(out, name);
		if (!r && *file) {
			r = sink_puts(out, ",\"file\":");
			if (!r)
				r = put_str(out, file);
		}
		if (!r)
			r = sink_puts(out, "}");
	}
	return r ? r : sink_puts(out, "]}");
}

/* One sampled profile of the stacks idx[0..n). */
static int put_profile(struct ss *e, struct sink *out, const char *name, const uint32_t *idx, size_t n, int first)
{
	char tbuf[VIEW_THREAD_NAME_MAX];
	uint64_t total = 0;
	int r;

	for (size_t i = 0; i < n; i++)
		total += e->p->stacks[idx[i]].count;
	r = sink_puts(out, first ? "\n{\"type\":\"sampled\",\"name\":" : ",\n{\"type\":\"sampled\",\"name\":");
	if (!r)
		r = put_str(out, name);
	if (!r)
		r = sink_printf(out, ",\"unit\":\"none\",\"startValue\":0,\"endValue\":%llu,\"samples\":[",
				(unsigned long long)total);
	for (size_t i = 0; !r && i < n; i++) {
		size_t nf = stackview(e->p, &e->p->stacks[idx[i]], e->view, tbuf, e->vf);

		r = sink_puts(out, i ? ",[" : "[");
		for (size_t k = 0; !r && k < nf; k++)
			r = sink_printf(out, k ? ",%d" : "%d", frame_id(e, &e->vf[k]));
		if (!r)
			r = sink_puts(out, "]");
	}
	if (!r)
		r = sink_puts(out, "],\"weights\":[");
	for (size_t i = 0; !r && i < n; i++)
		r = sink_printf(out, i ? ",%llu" : "%llu", (unsigned long long)e->p->stacks[idx[i]].count);
	return r ? r : sink_puts(out, "]}");
}

struct by_proc {
	const struct profile *p;
	const uint64_t *total;
};

/* Processes by samples, largest first; stacks in profile order within. */
static int cmp_by_proc(const void *a, const void *b, void *ctx)
{
	const struct by_proc *c = ctx;
	const struct profile_stack *x = &c->p->stacks[*(const uint32_t *)a];
	const struct profile_stack *y = &c->p->stacks[*(const uint32_t *)b];

	if (x->proc != y->proc) {
		if (c->total[x->proc] != c->total[y->proc])
			return c->total[x->proc] > c->total[y->proc] ? -1 : 1;
		return x->proc < y->proc ? -1 : 1;
	}
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

static int encode_speedscope(const struct profile *p, const struct format_opts *o, struct sink *out,
			     struct format_result *ret)
{
	int by_proc = o && (o->flags & FORMAT_BY_PROCESS);
	struct ss e = { .p = p };
	uint32_t *idx = NULL;
	uint64_t *total = NULL;
	size_t scratch = 0;
	char name[PROFILE_NAME_MAX + 64];
	int r;

	e.view = (by_proc ? 0 : VIEW_COMM) | (o && (o->flags & FORMAT_BY_THREAD) ? VIEW_THREAD : 0);
	for (size_t i = 0; i < p->nstacks; i++)
		if (p->stacks[i].nframes > e.maxd)
			e.maxd = p->stacks[i].nframes;
	scratch = p->nframes * sizeof(*e.fid) + p->nstacks * sizeof(*idx) + p->nprocs * sizeof(*total);
	if (o && o->scratch_max && scratch > o->scratch_max)
		return -E2BIG;
	r = strtab_new(o ? o->scratch_max : 0, &e.frames);
	if (r)
		return r;
	e.fid = malloc((p->nframes ? p->nframes : 1) * sizeof(*e.fid));
	e.vf = malloc((e.maxd + VIEW_EXTRA) * sizeof(*e.vf));
	idx = malloc((p->nstacks ? p->nstacks : 1) * sizeof(*idx));
	total = calloc(p->nprocs ? p->nprocs : 1, sizeof(*total));
	if (!e.fid || !e.vf || !idx || !total) {
		r = -ENOMEM;
		goto out;
	}
	memset(e.fid, 0xff, (p->nframes ? p->nframes : 1) * sizeof(*e.fid));
	for (size_t i = 0; i < p->nstacks; i++) {
		idx[i] = (uint32_t)i;
		total[p->stacks[i].proc] += p->stacks[i].count;
	}
	if (by_proc && p->nstacks)
		qsort_r(idx, p->nstacks, sizeof(*idx), cmp_by_proc, &(struct by_proc){ .p = p, .total = total });
	r = collect_frames(&e);
	if (!r)
		r = sink_printf(out, "{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\","
				     "\"exporter\":\"profd %s\",\"name\":", PROFD_VERSION);
	if (!r)
		r = put_str(out, o && o->title ? o->title : "profd");
	if (!r)
		r = sink_puts(out, ",\"activeProfileIndex\":0,\n");
	if (!r)
		r = put_frames(&e, out);
	if (!r)
		r = sink_puts(out, ",\n\"profiles\":[");
	if (!r && !by_proc) {
		snprintf(name, sizeof(name), "all processes (%llu samples at %u Hz)", (unsigned long long)p->samples,
			 p->frequency);
		r = put_profile(&e, out, name, idx, p->nstacks, 1);
	}
	for (size_t i = 0; !r && by_proc && i < p->nstacks;) {
		const struct profile_proc *pr = &p->procs[p->stacks[idx[i]].proc];
		size_t j = i;

		while (j < p->nstacks && p->stacks[idx[j]].proc == p->stacks[idx[i]].proc)
			j++;
		snprintf(name, sizeof(name), "%s (pid %u)", pr->comm, pr->pid);
		r = put_profile(&e, out, name, idx + i, j - i, i == 0);
		i = j;
	}
	if (!r)
		r = sink_puts(out, "]}\n");
	if (!r) {
		ret->samples = p->samples;
		ret->stacks = p->nstacks;
	}
out:
	strtab_free(e.frames);
	free(e.fid);
	free(e.vf);
	free(idx);
	free(total);
	return r;
}

const struct format format_speedscope = {
	.name = "speedscope",
	.mime = "application/json",
	.description = "speedscope's JSON file format (sampled profiles; one per process with --by-process)",
	.encode = encode_speedscope,
};
