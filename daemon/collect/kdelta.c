/* SPDX-License-Identifier: GPL-2.0-only */
/* Scheduler and block-I/O deltas, see kdelta.h. */
#include "collect/kdelta.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/pidmap.h"

struct kbase {
	uint32_t tgid;
	uint32_t have;            /* KB_SCHED, KB_IO */
	uint64_t start_ns;
	uint64_t seen;            /* the read that last listed it */
	struct profd_sched_counters sched;
	struct profd_io_counters io;
};
#define KB_SCHED (1u << 0)
#define KB_IO (1u << 1)

struct kdelta {
	struct kbase *v;          /* dense */
	uint32_t n, cap;
	struct pidmap idx;        /* tgid -> index into v */
	uint64_t gen;             /* reads begun */
};

static uint64_t sub(uint64_t cur, uint64_t prev)
{
	return cur >= prev ? cur - prev : 0;
}

static void hist_delta(uint32_t *out, const struct profd_hist *cur, const struct profd_hist *prev)
{
	for (int i = 0; i < WC_HIST_BUCKETS && i < PROFD_HIST_SLOTS; i++) {
		uint64_t v = sub(cur->slot[i], prev ? prev->slot[i] : 0);
		out[i] = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
	}
}

static int wc_empty(const struct wcounters *c)
{
	static const struct wcounters zero;

	return !memcmp(c, &zero, sizeof(zero));
}

/* The baseline of p's tgid (reset when the tgid is another process now),
 * NULL for none (no memory, or an exit record of a process whose tgid is
 * already another's: that one's baseline stays). */
static struct kbase *base_get(struct kdelta *k, const struct kstats_proc *p)
{
	uint32_t *i = pidmap_get(&k->idx, p->tgid);
	struct kbase *b;

	if (i) {
		b = &k->v[*i];
		if (b->start_ns != p->start_time) {
			if (p->flags & KSTATS_F_EXITED)
				return NULL;
			memset(b, 0, sizeof(*b));
			b->tgid = p->tgid;
			b->start_ns = p->start_time;
		}
		return b;
	}
	if (k->n == k->cap) {
		uint32_t cap = k->cap ? k->cap * 2 : 256;
		struct kbase *v = realloc(k->v, (size_t)cap * sizeof(*v));

		if (!v)
			return NULL;
		k->v = v;
		k->cap = cap;
	}
	if (pidmap_put(&k->idx, p->tgid, k->n) < 0)
		return NULL;
	b = &k->v[k->n++];
	memset(b, 0, sizeof(*b));
	b->tgid = p->tgid;
	b->start_ns = p->start_time;
	return b;
}

static void base_remove(struct kdelta *k, uint32_t at)
{
	pidmap_del(&k->idx, k->v[at].tgid);
	if (at != --k->n) {
		k->v[at] = k->v[k->n];
		pidmap_put(&k->idx, k->v[at].tgid, at); /* overwrite: no allocation */
	}
}

void kdelta_begin(struct kdelta *k)
{
	k->gen++;
}

int kdelta_account(struct kdelta *k, const struct kstats_proc *p, struct res_snapshot *s)
{
	struct kbase *b;
	struct snap_sched *r;
	struct wcounters wc;
	int exited = !!(p->flags & KSTATS_F_EXITED);

	if (!p->tgid)
		return 0;
	b = base_get(k, p);
	memset(&wc, 0, sizeof(wc));
	if (p->sched) {
		const struct profd_sched_counters *c = p->sched, *o = b && (b->have & KB_SCHED) ? &b->sched : NULL;

		wc.sum[WC_CPU_NS] = sub(c->oncpu_ns, o ? o->oncpu_ns : 0);
		wc.sum[WC_OFFCPU_NS] = sub(c->offcpu_ns, o ? o->offcpu_ns : 0);
		wc.sum[WC_VCSW] = sub(c->nvcsw, o ? o->nvcsw : 0);
		wc.sum[WC_IVCSW] = sub(c->nivcsw, o ? o->nivcsw : 0);
		hist_delta(wc.hist_runq, &c->runq_hist, o ? &o->runq_hist : NULL);
	}
	if (p->io) {
		const struct profd_io_counters *c = p->io, *o = b && (b->have & KB_IO) ? &b->io : NULL;

		wc.sum[WC_IO_RBYTES] = sub(c->read_bytes, o ? o->read_bytes : 0);
		wc.sum[WC_IO_WBYTES] = sub(c->write_bytes, o ? o->write_bytes : 0);
		wc.sum[WC_IO_RREQS] = sub(c->read_reqs, o ? o->read_reqs : 0);
		wc.sum[WC_IO_WREQS] = sub(c->write_reqs, o ? o->write_reqs : 0);
		hist_delta(wc.hist_iolat, &c->lat_hist, o ? &o->lat_hist : NULL);
	}
	if (b) {
		if (p->sched) {
			b->sched = *p->sched;
			b->have |= KB_SCHED;
		}
		if (p->io) {
			b->io = *p->io;
			b->have |= KB_IO;
		}
		b->seen = k->gen;
	}
	if (exited || !wc_empty(&wc)) {
		r = snapshot_sched(s, p->tgid, p->start_time);
		if (r) {
			r->wc = wc;
			r->exited = (uint32_t)exited;
			if (p->comm)
				snprintf(r->comm, sizeof(r->comm), "%s", p->comm);
		}
	}
	if (exited && b)
		base_remove(k, (uint32_t)(b - k->v));
	return !exited && (wc.sum[WC_CPU_NS] > 0 || p->running);
}

void kdelta_sweep(struct kdelta *k)
{
	for (uint32_t i = k->n; i-- > 0;)
		if (k->v[i].seen != k->gen)
			base_remove(k, i);
}

uint32_t kdelta_count(const struct kdelta *k)
{
	return k->n;
}

int kdelta_new(struct kdelta **ret)
{
	*ret = calloc(1, sizeof(**ret));
	return *ret ? 0 : -ENOMEM;
}

struct kdelta *kdelta_free(struct kdelta *k)
{
	if (!k)
		return NULL;
	free(k->v);
	pidmap_release(&k->idx);
	free(k);
	return NULL;
}
