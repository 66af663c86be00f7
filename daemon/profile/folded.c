/* SPDX-License-Identifier: GPL-2.0-only */
/* Folded stacks ("comm;outer;...;leaf count" per line), the input of
 * flamegraph.pl and most flame graph tools. Lines are sorted (strcmp) and
 * identical lines merged, so the output is stable for a given profile.
 * Pseudo frames: [truncated] (the user stack reached no entry point),
 * [stack table full], [coarsened]; kernel frames end in "_[k]". ';' and
 * ' ' inside names would break the format and become '_'. With
 * FORMAT_BY_THREAD the thread follows the process: "comm;[name_tid=N];...". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile/format.h"
#include "profile/profile.h"
#include "profile/stackview.h"

struct lines {
	char *buf;              /* NUL-terminated lines, back to back */
	size_t len, cap, max;
	size_t *off;            /* start of each line */
	uint64_t *count;
	size_t n, ncap;
};

static int put(struct lines *l, const char *s, size_t n, int sanitize)
{
	if (l->len + n + 1 > l->cap) {
		size_t cap = l->cap ? l->cap : 65536;
		char *nb;

		while (cap < l->len + n + 1)
			cap *= 2;
		if (l->max && cap > l->max) {
			if (l->len + n + 1 > l->max)
				return -E2BIG;
			cap = l->max;
		}
		nb = realloc(l->buf, cap);
		if (!nb)
			return -ENOMEM;
		l->buf = nb;
		l->cap = cap;
	}
	memcpy(l->buf + l->len, s, n);
	if (sanitize)
		for (size_t i = l->len; i < l->len + n; i++)
			if (l->buf[i] == ';' || l->buf[i] == ' ')
				l->buf[i] = '_';
	l->len += n;
	return 0;
}

static int add_line(struct lines *l, const struct profile *p, const struct profile_stack *s, int by_thread)
{
	const struct profile_proc *pr = &p->procs[s->proc];
	int r;

	if (l->n == l->ncap) {
		size_t ncap = l->ncap ? l->ncap * 2 : 1024;
		size_t *off = realloc(l->off, ncap * sizeof(*off));
		uint64_t *count;

		if (!off)
			return -ENOMEM;
		l->off = off;
		count = realloc(l->count, ncap * sizeof(*count));
		if (!count)
			return -ENOMEM;
		l->count = count;
		l->ncap = ncap;
	}
	l->off[l->n] = l->len;
	l->count[l->n] = s->count;
	r = put(l, pr->comm, strlen(pr->comm), 1);
	if (!r && by_thread && s->thread != PROFILE_NO_THREAD && s->thread < p->nthreads) {
		const struct profile_thread *t = &p->threads[s->thread];
		char name[VIEW_THREAD_NAME_MAX];

		snprintf(name, sizeof(name), "[%s tid=%u]", t->name[0] ? t->name : "?", t->tid);
		r = put(l, ";", 1, 0);
		if (!r)
			r = put(l, name, strlen(name), 1);
	}
	if (!r && (s->flags & PROFILE_STACK_TRUNCATED))
		r = put(l, ";[truncated]", 12, 0);
	if (!r && (s->flags & PROFILE_STACK_OVERFLOW))
		r = put(l, ";[stack table full]", 19, 0);
	if (!r && (s->flags & PROFILE_STACK_COARSENED))
		r = put(l, ";[coarsened]", 12, 0);
	for (uint32_t i = 0; !r && i < s->nframes; i++) {
		const struct profile_frame *f = &p->frames[p->refs[s->first + i]];

		r = put(l, ";", 1, 0);
		if (!r)
			r = put(l, f->name, strlen(f->name), 1);
		if (!r && f->kind == PROFILE_FRAME_KERNEL)
			r = put(l, "_[k]", 4, 0);
	}
	if (!r)
		r = put(l, "", 1, 0); /* the NUL */
	if (!r)
		l->n++;
	return r;
}

static const struct lines *sort_lines;

static int cmp_line(const void *a, const void *b)
{
	const struct lines *l = sort_lines;

	return strcmp(l->buf + l->off[*(const size_t *)a], l->buf + l->off[*(const size_t *)b]);
}

static int encode_folded(const struct profile *p, const struct format_opts *o, struct sink *out,
			 struct format_result *ret)
{
	struct lines l = { .max = o ? o->scratch_max : 0 };
	size_t *order = NULL;
	uint64_t samples = 0, uniq = 0;
	int r = 0;

	for (size_t i = 0; !r && i < p->nstacks; i++)
		r = add_line(&l, p, &p->stacks[i], o && (o->flags & FORMAT_BY_THREAD));
	if (!r && l.n) {
		order = malloc(l.n * sizeof(*order));
		if (!order)
			r = -ENOMEM;
	}
	if (!r && l.n) {
		for (size_t i = 0; i < l.n; i++)
			order[i] = i;
		sort_lines = &l;
		qsort(order, l.n, sizeof(*order), cmp_line);
		sort_lines = NULL;
	}
	for (size_t i = 0; !r && i < l.n;) {
		const char *line = l.buf + l.off[order[i]];
		uint64_t c = l.count[order[i]];
		size_t j = i + 1;

		while (j < l.n && !strcmp(l.buf + l.off[order[j]], line))
			c += l.count[order[j++]];
		r = sink_printf(out, "%s %llu\n", line, (unsigned long long)c);
		samples += c;
		uniq++;
		i = j;
	}
	free(order);
	free(l.buf);
	free(l.off);
	free(l.count);
	if (r)
		return r;
	ret->samples = samples;
	ret->stacks = uniq;
	return 0;
}

const struct format format_folded = {
	.name = "folded",
	.mime = "text/plain",
	.description = "folded stacks, one \"comm;outer;...;leaf count\" line per stack (flamegraph.pl)",
	.encode = encode_folded,
};
