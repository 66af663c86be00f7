/* SPDX-License-Identifier: GPL-2.0-only */
/* Folded stacks ("comm;outer;...;leaf count" per line), the input of
 * flamegraph.pl and most flame graph tools. Lines are sorted (strcmp) and
 * identical lines merged, so the output is stable for a given profile.
 * Pseudo frames: [truncated] (the user stack reached no entry point),
 * [stack table full], [coarsened]; kernel frames end in "_[k]". ';' and
 * ' ' inside names would break the format and become '_'. With
 * FORMAT_BY_THREAD the thread follows the process: "comm;[name_tid=N];...".
 *
 * The lines are never built in memory: every distinct piece of text (a
 * process name, a frame name as it is printed) becomes a token once, each
 * stack a sequence of token ids, and the stacks are sorted by comparing
 * those sequences the way strcmp would compare the lines they spell. So
 * the scratch memory is that of the sequences (4 bytes per frame), not of
 * the output, and the output is written one line per piece. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile/format.h"
#include "profile/profile.h"
#include "profile/stackview.h"

#define KERNEL_SUFFIX "_[k]"

struct folded {
	const struct profile *p;
	size_t scratch_max;
	int by_thread;         /* FORMAT_BY_THREAD */
	/* tokens: text in one arena, by offset; a hash of them for interning */
	char *text;
	size_t text_len, text_cap;
	uint32_t *tok_off, *tok_len;
	size_t ntok, tok_cap;
	uint32_t *hash;        /* token id + 1, 0 empty */
	size_t hash_cap;
	/* per stack: its token ids, back to back */
	uint32_t *seq;
	size_t seq_len, seq_cap;
	uint32_t *seq_off, *seq_n; /* per stack */
	size_t *order;         /* stacks in line order */
	size_t pos;            /* next entry of order to write */
	uint32_t tok_trunc, tok_overflow, tok_coarse;
};

static size_t scratch_bytes(const struct folded *f)
{
	return f->text_cap + f->tok_cap * 2 * sizeof(uint32_t) + f->hash_cap * sizeof(uint32_t) +
	       f->seq_cap * sizeof(uint32_t) + (f->order ? f->p->nstacks * (sizeof(size_t) + 2 * sizeof(uint32_t)) : 0);
}

/* Grows *v to hold need elements, within the scratch bound. */
static int reserve(struct folded *f, void **v, size_t *cap, size_t need, size_t size)
{
	size_t ncap = *cap ? *cap : 1024;
	void *nv;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	if (f->scratch_max && scratch_bytes(f) + (ncap - *cap) * size > f->scratch_max)
		return -E2BIG;
	nv = realloc(*v, ncap * size);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = ncap;
	return 0;
}

static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h ^ (h >> 29);
}

static int rehash(struct folded *f)
{
	size_t cap = f->hash_cap ? f->hash_cap * 2 : 4096;
	uint32_t *t;

	if (f->scratch_max && scratch_bytes(f) + cap * sizeof(*t) > f->scratch_max)
		return -E2BIG;
	t = calloc(cap, sizeof(*t));
	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < f->ntok; i++) {
		size_t j = hash_bytes(f->text + f->tok_off[i], f->tok_len[i]) & (cap - 1);

		while (t[j])
			j = (j + 1) & (cap - 1);
		t[j] = (uint32_t)i + 1;
	}
	free(f->hash);
	f->hash = t;
	f->hash_cap = cap;
	return 0;
}

/* Token id of the text s[0..n) (+ suffix), sanitised when asked. */
static int intern(struct folded *f, const char *s, size_t n, int sanitize, const char *suffix, uint32_t *ret)
{
	size_t sl = suffix ? strlen(suffix) : 0, len = n + sl, j;
	char *t;
	int r;

	if ((f->ntok + 1) * 4 > f->hash_cap * 3 && (r = rehash(f)) < 0)
		return r;
	r = reserve(f, (void **)&f->text, &f->text_cap, f->text_len + len + 1, 1);
	if (r < 0)
		return r;
	/* build it at the arena's end; kept only if new */
	t = f->text + f->text_len;
	memcpy(t, s, n);
	if (sanitize)
		for (size_t i = 0; i < n; i++)
			if (t[i] == ';' || t[i] == ' ')
				t[i] = '_';
	if (sl)
		memcpy(t + n, suffix, sl);
	for (j = hash_bytes(t, len) & (f->hash_cap - 1); f->hash[j]; j = (j + 1) & (f->hash_cap - 1)) {
		uint32_t id = f->hash[j] - 1;

		if (f->tok_len[id] == len && !memcmp(f->text + f->tok_off[id], t, len)) {
			*ret = id;
			return 0;
		}
	}
	if (f->ntok >= f->tok_cap) {
		size_t cap = f->tok_cap;

		r = reserve(f, (void **)&f->tok_off, &cap, f->ntok + 1, sizeof(uint32_t));
		if (r == 0) {
			cap = f->tok_cap;
			r = reserve(f, (void **)&f->tok_len, &cap, f->ntok + 1, sizeof(uint32_t));
		}
		if (r < 0)
			return r;
		f->tok_cap = cap;
	}
	if (f->text_len + len > UINT32_MAX)
		return -E2BIG;
	f->tok_off[f->ntok] = (uint32_t)f->text_len;
	f->tok_len[f->ntok] = (uint32_t)len;
	f->text_len += len;
	f->hash[j] = (uint32_t)f->ntok + 1;
	*ret = (uint32_t)f->ntok++;
	return 0;
}

static int push(struct folded *f, uint32_t tok)
{
	int r = reserve(f, (void **)&f->seq, &f->seq_cap, f->seq_len + 1, sizeof(uint32_t));

	if (r < 0)
		return r;
	f->seq[f->seq_len++] = tok;
	return 0;
}

/* strcmp of the lines two stacks spell, on their token sequences: equal
 * tokens are equal text, so only the first differing pair is read. */
static int cmp_stacks(const void *a, const void *b, void *ctx)
{
	const struct folded *f = ctx;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	const uint32_t *sa = f->seq + f->seq_off[x], *sb = f->seq + f->seq_off[y];
	uint32_t na = f->seq_n[x], nb = f->seq_n[y];

	for (uint32_t i = 0; i < na && i < nb; i++) {
		const unsigned char *ta, *tb;
		uint32_t la, lb, m;
		int ca, cb, c;

		if (sa[i] == sb[i])
			continue;
		ta = (const unsigned char *)f->text + f->tok_off[sa[i]];
		tb = (const unsigned char *)f->text + f->tok_off[sb[i]];
		la = f->tok_len[sa[i]];
		lb = f->tok_len[sb[i]];
		m = la < lb ? la : lb;
		c = memcmp(ta, tb, m);
		if (c)
			return c;
		/* one token is a prefix of the other: what follows the shorter
		 * is ';' or the end of its line, never a name's character */
		ca = la > m ? ta[m] : i + 1 < na ? ';' : 0;
		cb = lb > m ? tb[m] : i + 1 < nb ? ';' : 0;
		return ca - cb;
	}
	/* a line that is a prefix of the other ends first */
	return na < nb ? -1 : na > nb;
}

static int same(const struct folded *f, size_t x, size_t y)
{
	return f->seq_n[x] == f->seq_n[y] &&
	       !memcmp(f->seq + f->seq_off[x], f->seq + f->seq_off[y], f->seq_n[x] * sizeof(uint32_t));
}

static void folded_close(void *state)
{
	struct folded *f = state;

	if (!f)
		return;
	free(f->text);
	free(f->tok_off);
	free(f->tok_len);
	free(f->hash);
	free(f->seq);
	free(f->seq_off);
	free(f->seq_n);
	free(f->order);
	free(f);
}

static int build(struct folded *f)
{
	const struct profile *p = f->p;
	uint32_t *frame_tok = NULL, *proc_tok = NULL;
	int r = 0;

	if ((r = intern(f, "[truncated]", 11, 0, NULL, &f->tok_trunc)) < 0 ||
	    (r = intern(f, "[stack table full]", 18, 0, NULL, &f->tok_overflow)) < 0 ||
	    (r = intern(f, "[coarsened]", 11, 0, NULL, &f->tok_coarse)) < 0)
		return r;
	if (f->scratch_max && (p->nframes + p->nprocs) * sizeof(uint32_t) + scratch_bytes(f) > f->scratch_max)
		return -E2BIG;
	frame_tok = malloc((p->nframes + 1) * sizeof(*frame_tok));
	proc_tok = malloc((p->nprocs + 1) * sizeof(*proc_tok));
	if (!frame_tok || !proc_tok) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < p->nframes && !r; i++) {
		const struct profile_frame *fr = &p->frames[i];

		r = intern(f, fr->name, strlen(fr->name), 1, fr->kind == PROFILE_FRAME_KERNEL ? KERNEL_SUFFIX : NULL,
			   &frame_tok[i]);
	}
	for (size_t i = 0; i < p->nprocs && !r; i++)
		r = intern(f, p->procs[i].comm, strlen(p->procs[i].comm), 1, NULL, &proc_tok[i]);
	if (r)
		goto out;
	if (f->scratch_max && scratch_bytes(f) + p->nstacks * (sizeof(size_t) + 2 * sizeof(uint32_t)) > f->scratch_max) {
		r = -E2BIG;
		goto out;
	}
	f->seq_off = malloc((p->nstacks + 1) * sizeof(*f->seq_off));
	f->seq_n = malloc((p->nstacks + 1) * sizeof(*f->seq_n));
	f->order = malloc((p->nstacks + 1) * sizeof(*f->order));
	if (!f->seq_off || !f->seq_n || !f->order) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < p->nstacks && !r; i++) {
		const struct profile_stack *s = &p->stacks[i];

		if (f->seq_len > UINT32_MAX - s->nframes - 5) {
			r = -E2BIG;
			break;
		}
		f->seq_off[i] = (uint32_t)f->seq_len;
		r = push(f, proc_tok[s->proc]);
		if (!r && f->by_thread && s->thread != PROFILE_NO_THREAD && s->thread < p->nthreads) {
			const struct profile_thread *t = &p->threads[s->thread];
			char name[VIEW_THREAD_NAME_MAX];
			uint32_t tok;
			int n = snprintf(name, sizeof(name), "[%s tid=%u]", t->name[0] ? t->name : "?", t->tid);

			r = intern(f, name, n < 0 ? 0 : (size_t)n < sizeof(name) ? (size_t)n : sizeof(name) - 1, 1, NULL,
				   &tok);
			if (!r)
				r = push(f, tok);
		}
		if (!r && (s->flags & PROFILE_STACK_TRUNCATED))
			r = push(f, f->tok_trunc);
		if (!r && (s->flags & PROFILE_STACK_OVERFLOW))
			r = push(f, f->tok_overflow);
		if (!r && (s->flags & PROFILE_STACK_COARSENED))
			r = push(f, f->tok_coarse);
		for (uint32_t k = 0; !r && k < s->nframes; k++)
			r = push(f, frame_tok[p->refs[s->first + k]]);
		f->seq_n[i] = (uint32_t)(f->seq_len - f->seq_off[i]);
		f->order[i] = i;
	}
	if (!r)
		qsort_r(f->order, p->nstacks, sizeof(*f->order), cmp_stacks, f);
out:
	free(frame_tok);
	free(proc_tok);
	return r;
}

static int folded_open(const struct profile *p, const struct format_opts *o, void **ret_state,
		       struct format_result *ret)
{
	struct folded *f = calloc(1, sizeof(*f));
	uint64_t lines = 0;
	int r;

	if (!f)
		return -ENOMEM;
	f->p = p;
	f->scratch_max = o ? o->scratch_max : 0;
	f->by_thread = o && (o->flags & FORMAT_BY_THREAD);
	r = build(f);
	if (r < 0) {
		folded_close(f);
		return r;
	}
	for (size_t i = 0; i < p->nstacks; i++)
		if (!i || !same(f, f->order[i - 1], f->order[i]))
			lines++;
	ret->samples = p->samples;
	ret->stacks = lines;
	ret->scratch_bytes = scratch_bytes(f) + sizeof(*f);
	*ret_state = f;
	return 0;
}

/* One merged line. */
static int folded_next(void *state, struct sink *out)
{
	struct folded *f = state;
	const struct profile *p = f->p;
	size_t first, i;
	uint64_t count = 0;
	int r = 0;

	if (f->pos >= p->nstacks)
		return 0;
	first = f->order[f->pos];
	for (i = f->pos; i < p->nstacks && same(f, first, f->order[i]); i++)
		count += p->stacks[f->order[i]].count;
	f->pos = i;
	for (uint32_t k = 0; !r && k < f->seq_n[first]; k++) {
		uint32_t t = f->seq[f->seq_off[first] + k];

		if (k)
			r = sink_write(out, ";", 1);
		if (!r)
			r = sink_write(out, f->text + f->tok_off[t], f->tok_len[t]);
	}
	if (!r)
		r = sink_printf(out, " %llu\n", (unsigned long long)count);
	return r < 0 ? r : 1;
}

const struct format format_folded = {
	.name = "folded",
	.mime = "text/plain",
	.description = "folded stacks, one \"comm;outer;...;leaf count\" line per stack (flamegraph.pl)",
	.open = folded_open,
	.next = folded_next,
	.close = folded_close,
};
