/* SPDX-License-Identifier: GPL-2.0-only */
/* Window queries, see query.h. */
#include "profile/query.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "store/proctable.h"
#include "store/window.h"

/* Visits between two looks at the clock. */
#define DEADLINE_STRIDE 4096

struct collect_ctx {
	struct pq_result *r;
	const struct profile_src *src;
	const struct pq_filter *f;
	uint32_t visits;
	int err;
};

int pq_filter_match(const struct profile_src *src, const struct pq_filter *f, uint32_t proc)
{
	const struct proc_info *p;

	if (!f || (!f->tgid && !f->comm && !f->accept))
		return 1;
	p = proctable_info(src->procs, proc);
	if (f->tgid && (!p || p->tgid != f->tgid))
		return 0;
	if (f->comm && (!p || fnmatch(f->comm, p->comm, 0)))
		return 0;
	return !f->accept || f->accept(f->accept_ctx, proc);
}

static void collect(uint32_t proc, uint32_t stack, uint64_t count, void *ctx)
{
	struct collect_ctx *c = ctx;
	struct pq_result *r = c->r;

	/* The store's visit cannot be stopped: once failed, the rest of it
	 * costs a call each. */
	if (c->err)
		return;
	if (++c->visits % DEADLINE_STRIDE == 0 && profile_src_expired(c->src)) {
		c->err = -ETIMEDOUT;
		return;
	}
	if (!pq_filter_match(c->src, c->f, proc))
		return;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 256;
		struct pq_entry *v;

		if (c->src->max_bytes && cap * sizeof(*v) > c->src->max_bytes) {
			c->err = -E2BIG;
			return;
		}
		v = realloc(r->v, cap * sizeof(*v));
		if (!v) {
			c->err = -ENOMEM;
			return;
		}
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n++] = (struct pq_entry){ proc, stack, count };
}

int profile_query(const struct profile_src *src, uint64_t span_ns, const struct pq_filter *f, struct pq_result *ret)
{
	struct collect_ctx c = { .r = ret, .src = src, .f = f };
	struct window_range wr;
	uint64_t now = src->data_until_ns, from;
	int n;

	memset(ret, 0, sizeof(*ret));
	n = window_query(src->win, now, span_ns, collect, &c, &wr);
	if (n < 0)
		return n;
	if (c.err)
		return c.err;
	/* Covered time: what the summed slots span (whole slots: from the
	 * slot holding now - span), cut at the daemon's start. (wr.from_ns is
	 * the oldest slot holding data, which on an idle host is later than
	 * the window's start: using it would inflate CPU %; so would dividing
	 * by the requested span when the oldest slot reaches before it.) */
	from = wr.span_from_ns;
	if (from < src->start_ns)
		from = src->start_ns;
	ret->from_ns = from;
	ret->to_ns = now;
	ret->covered_ns = now > from ? now - from : 0;
	return 0;
}

int profile_query_range(const struct profile_src *src, uint64_t from_ns, uint64_t to_ns, const struct pq_filter *f,
			struct pq_result *ret)
{
	struct collect_ctx c = { .r = ret, .src = src, .f = f };
	struct window_range wr;
	int n;

	memset(ret, 0, sizeof(*ret));
	if (to_ns > src->data_until_ns)
		to_ns = src->data_until_ns;
	if (from_ns < src->start_ns)
		from_ns = src->start_ns;
	if (to_ns <= from_ns) {
		ret->from_ns = ret->to_ns = to_ns;
		return 0;
	}
	n = window_query_range(src->win, from_ns, to_ns, collect, &c, &wr);
	if (n < 0)
		return n;
	if (c.err)
		return c.err;
	/* whole slots: the first one may start before from_ns */
	ret->from_ns = wr.from_ns < from_ns && wr.from_ns != wr.to_ns ? wr.from_ns : from_ns;
	if (ret->from_ns < src->start_ns)
		ret->from_ns = src->start_ns;
	ret->to_ns = to_ns;
	ret->covered_ns = to_ns - ret->from_ns;
	return 0;
}

int profile_src_expired(const struct profile_src *src)
{
	return src->deadline_ns && clock_mono_ns() > src->deadline_ns;
}

void pq_result_release(struct pq_result *r)
{
	free(r->v);
	memset(r, 0, sizeof(*r));
}
