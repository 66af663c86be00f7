/* SPDX-License-Identifier: GPL-2.0-only */
/* Functions by share of CPU samples, and alert evidence, see hotspots.h. */
#include "alerts/hotspots.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "profile/profile.h"
#include "common/sort.h"

const char *hotspot_severity(double pct)
{
	return pct >= 50 ? "critical" : pct >= 20 ? "high" : pct >= 10 ? "medium" : "low";
}

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 0x100000001b3ull;
	return h;
}

static uint64_t fin(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

/* Frame index -> function index, functions by (name, mapping, kind). */
struct fnmap {
	uint32_t *fid;        /* per frame */
	struct hotspot *funcs;
	size_t n, cap;
	uint32_t *tab;        /* function index + 1, 0 empty */
	size_t tcap;
};

static void fnmap_release(struct fnmap *m)
{
	free(m->fid);
	free(m->funcs);
	free(m->tab);
}

static uint64_t frame_key(const struct profile *p, const struct profile_frame *f)
{
	uint64_t h = hash_bytes(0xcbf29ce484222325ull, f->name, strlen(f->name));

	h = hash_bytes(h, &f->mapping, sizeof(f->mapping));
	return fin(hash_bytes(h, &f->kind, sizeof(f->kind)));
}

static int fnmap_build(const struct profile *p, struct fnmap *m)
{
	memset(m, 0, sizeof(*m));
	for (m->tcap = 64; m->tcap < 2 * p->nframes + 2; m->tcap *= 2)
		;
	m->tab = calloc(m->tcap, sizeof(*m->tab));
	m->fid = malloc((p->nframes ? p->nframes : 1) * sizeof(*m->fid));
	if (!m->tab || !m->fid)
		return -ENOMEM;
	for (size_t i = 0; i < p->nframes; i++) {
		const struct profile_frame *f = &p->frames[i];
		size_t j;

		for (j = frame_key(p, f) & (m->tcap - 1); m->tab[j]; j = (j + 1) & (m->tcap - 1)) {
			const struct hotspot *h = &m->funcs[m->tab[j] - 1];
			const struct profile_frame *g = &p->frames[(size_t)(h->self)]; /* self holds a frame during build */

			if (g->mapping == f->mapping && g->kind == f->kind && !strcmp(g->name, f->name))
				break;
		}
		if (!m->tab[j]) {
			struct hotspot *h;

			if (m->n == m->cap) {
				size_t cap = m->cap ? m->cap * 2 : 256;
				struct hotspot *v = realloc(m->funcs, cap * sizeof(*v));

				if (!v)
					return -ENOMEM;
				m->funcs = v;
				m->cap = cap;
			}
			h = &m->funcs[m->n];
			memset(h, 0, sizeof(*h));
			h->name = f->name;
			h->module = f->mapping < p->nmappings ? p->mappings[f->mapping].name : "";
			h->kernel = f->kind == PROFILE_FRAME_KERNEL;
			h->self = i; /* a representative frame, until counting */
			m->tab[j] = (uint32_t)++m->n;
		}
		m->fid[i] = m->tab[j] - 1;
	}
	for (size_t i = 0; i < m->n; i++)
		m->funcs[i].self = 0;
	return 0;
}

/* ---- (function, process) pairs ---- */

struct pairmap {
	struct hotspot_pair *v;
	size_t n, cap;
	uint32_t *tab;
	size_t tcap;
};

static int pair_grow(struct pairmap *m)
{
	size_t tcap = m->tcap ? m->tcap * 2 : 1024;
	uint32_t *t = calloc(tcap, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < m->n; i++) {
		uint64_t k = fin(((uint64_t)m->v[i].func << 32) | m->v[i].proc);
		size_t j;

		for (j = k & (tcap - 1); t[j]; j = (j + 1) & (tcap - 1))
			;
		t[j] = (uint32_t)i + 1;
	}
	free(m->tab);
	m->tab = t;
	m->tcap = tcap;
	return 0;
}

static struct hotspot_pair *pair_get(struct pairmap *m, uint32_t func, uint32_t proc)
{
	uint64_t k = fin(((uint64_t)func << 32) | proc);
	size_t j;

	if ((m->n + 1) * 2 > m->tcap && pair_grow(m) < 0)
		return NULL;
	for (j = k & (m->tcap - 1); m->tab[j]; j = (j + 1) & (m->tcap - 1)) {
		struct hotspot_pair *x = &m->v[m->tab[j] - 1];

		if (x->func == func && x->proc == proc)
			return x;
	}
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 1024;
		struct hotspot_pair *v = realloc(m->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		m->v = v;
		m->cap = cap;
	}
	m->v[m->n] = (struct hotspot_pair){ .func = func, .proc = proc };
	m->tab[j] = (uint32_t)++m->n;
	return &m->v[m->n - 1];
}

/* ---- hotspots ---- */

static const struct hotspot *sort_funcs;

static int cmp_func_idx(const void *a, const void *b)
{
	const struct hotspot *x = &sort_funcs[*(const uint32_t *)a], *y = &sort_funcs[*(const uint32_t *)b];

	if (x->self != y->self)
		return x->self > y->self ? -1 : 1;
	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int cmp_pair_proc(const void *a, const void *b)
{
	const struct hotspot_pair *x = a, *y = b;

	if (x->proc != y->proc)
		return x->proc < y->proc ? -1 : 1;
	if (x->self != y->self)
		return x->self > y->self ? -1 : 1;
	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	return x->func < y->func ? -1 : x->func > y->func;
}

int hotspots_compute(const struct profile *p, const uint8_t *keep, struct hotspots **ret)
{
	struct hotspots *h = calloc(1, sizeof(*h));
	struct fnmap m;
	struct pairmap pm = { 0 };
	uint32_t *stamp = NULL, *order = NULL, *rank = NULL;
	int r = -ENOMEM;

	if (!h)
		return -ENOMEM;
	h->p = p;
	if (fnmap_build(p, &m) < 0)
		goto out;
	stamp = calloc(m.n ? m.n : 1, sizeof(*stamp));
	h->proc_samples = calloc(p->nprocs ? p->nprocs : 1, sizeof(*h->proc_samples));
	if (!stamp || !h->proc_samples)
		goto out;
	for (size_t i = 0; i < p->nstacks; i++) {
		const struct profile_stack *s = &p->stacks[i];
		struct hotspot_pair *pr;
		uint32_t leaf;

		if (keep && !keep[s->proc])
			continue;
		h->samples += s->count;
		h->proc_samples[s->proc] += s->count;
		if (!s->nframes)
			continue;
		leaf = m.fid[p->refs[s->first + s->nframes - 1]];
		m.funcs[leaf].self += s->count;
		for (uint32_t k = 0; k < s->nframes; k++) {
			uint32_t f = m.fid[p->refs[s->first + k]];

			if (stamp[f] == i + 1)
				continue;
			stamp[f] = (uint32_t)i + 1;
			m.funcs[f].total += s->count;
			pr = pair_get(&pm, f, s->proc);
			if (!pr)
				goto out;
			pr->total += s->count;
			if (f == leaf)
				pr->self += s->count;
		}
	}
	/* sort functions, renumber the pairs, drop functions never seen */
	order = malloc((m.n ? m.n : 1) * sizeof(*order));
	rank = malloc((m.n ? m.n : 1) * sizeof(*rank));
	h->funcs = malloc((m.n ? m.n : 1) * sizeof(*h->funcs));
	if (!order || !rank || !h->funcs)
		goto out;
	for (size_t i = 0; i < m.n; i++)
		order[i] = (uint32_t)i;
	sort_funcs = m.funcs;
	if (m.n)
		qsort_safe(order, m.n, sizeof(*order), cmp_func_idx);
	sort_funcs = NULL;
	for (size_t i = 0; i < m.n; i++) {
		rank[order[i]] = (uint32_t)i;
		if (m.funcs[order[i]].total)
			h->funcs[h->nfuncs++] = m.funcs[order[i]];
	}
	for (size_t i = 0; i < pm.n; i++)
		pm.v[i].func = rank[pm.v[i].func];
	if (pm.n) /* pm.v is NULL when no stack had a frame */
		qsort_safe(pm.v, pm.n, sizeof(*pm.v), cmp_pair_proc);
	h->pairs = pm.v;
	h->npairs = pm.n;
	pm.v = NULL;
	*ret = h;
	h = NULL;
	r = 0;
out:
	free(stamp);
	free(order);
	free(rank);
	free(pm.v);
	free(pm.tab);
	fnmap_release(&m);
	hotspots_free(h);
	return r;
}

struct hotspots *hotspots_free(struct hotspots *h)
{
	if (!h)
		return NULL;
	free(h->funcs);
	free(h->pairs);
	free(h->proc_samples);
	free(h);
	return NULL;
}

const struct hotspot_pair *hotspots_of_proc(const struct hotspots *h, uint32_t proc, size_t *ret_n)
{
	size_t lo = 0, hi = h->npairs, first;

	/* the first pair of proc: pairs are sorted by proc */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (h->pairs[mid].proc < proc)
			lo = mid + 1;
		else
			hi = mid;
	}
	first = lo;
	while (lo < h->npairs && h->pairs[lo].proc == proc)
		lo++;
	*ret_n = lo - first;
	return lo > first ? &h->pairs[first] : NULL;
}

static int cmp_pair_func(const void *a, const void *b)
{
	const struct hotspot_pair *x = a, *y = b;

	if (x->func != y->func)
		return x->func < y->func ? -1 : 1;
	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	return x->proc < y->proc ? -1 : x->proc > y->proc;
}

struct json_object *hotspots_to_json(const struct hotspots *h, size_t limit, size_t max_procs)
{
	struct json_object *o = json_object_new_object(), *arr = json_object_new_array();
	struct hotspot_pair *byf = malloc((h->npairs ? h->npairs : 1) * sizeof(*byf));
	size_t k = 0;

	if (!o || !arr || !byf) {
		json_object_put(o);
		json_object_put(arr);
		free(byf);
		return NULL;
	}
	if (h->npairs) {
		memcpy(byf, h->pairs, h->npairs * sizeof(*byf));
		qsort_safe(byf, h->npairs, sizeof(*byf), cmp_pair_func);
	}
	json_object_object_add(o, "samples", json_object_new_uint64(h->samples));
	for (size_t i = 0; i < h->nfuncs && i < limit; i++) {
		const struct hotspot *f = &h->funcs[i];
		struct json_object *x = json_object_new_object(), *procs = json_object_new_array();
		double self = h->samples ? 100.0 * (double)f->self / (double)h->samples : 0;
		double total = h->samples ? 100.0 * (double)f->total / (double)h->samples : 0;
		size_t shown = 0;

		json_object_object_add(x, "name", json_object_new_string(f->name));
		json_object_object_add(x, "module", json_object_new_string(f->module ? f->module : ""));
		json_object_object_add(x, "kernel", json_object_new_boolean(f->kernel));
		json_object_object_add(x, "self_samples", json_object_new_uint64(f->self));
		json_object_object_add(x, "total_samples", json_object_new_uint64(f->total));
		json_object_object_add(x, "self_pct", json_object_new_double(self));
		json_object_object_add(x, "total_pct", json_object_new_double(total));
		json_object_object_add(x, "severity", json_object_new_string(hotspot_severity(self)));
		while (k < h->npairs && byf[k].func < i)
			k++;
		for (; k < h->npairs && byf[k].func == i; k++) {
			const struct profile_proc *pp = &h->p->procs[byf[k].proc];
			struct json_object *y;

			if (shown++ >= max_procs)
				continue;
			y = json_object_new_object();
			json_object_object_add(y, "pid", json_object_new_uint64(pp->pid));
			json_object_object_add(y, "start_time_ns", json_object_new_uint64(pp->start_ns));
			json_object_object_add(y, "comm", json_object_new_string(pp->comm));
			json_object_object_add(y, "samples", json_object_new_uint64(byf[k].total));
			json_object_object_add(y, "self_samples", json_object_new_uint64(byf[k].self));
			json_object_array_add(procs, y);
		}
		json_object_object_add(x, "processes", procs);
		json_object_object_add(x, "process_count", json_object_new_uint64(shown));
		json_object_array_add(arr, x);
	}
	json_object_object_add(o, "functions", arr);
	free(byf);
	return o;
}

/* ---- evidence ---- */

struct group {
	uint64_t hash, count;
	size_t stack;             /* a representative stack */
};

static uint64_t stack_hash(const struct profile *p, const struct fnmap *m, const struct profile_stack *s)
{
	uint64_t h = 0xcbf29ce484222325ull ^ s->flags;

	for (uint32_t k = 0; k < s->nframes; k++) {
		uint32_t f = m->fid[p->refs[s->first + k]];

		h = hash_bytes(h, &f, sizeof(f));
	}
	return fin(hash_bytes(h, &s->nframes, sizeof(s->nframes)));
}

static int same_stack(const struct profile *p, const struct fnmap *m, const struct profile_stack *a,
		      const struct profile_stack *b)
{
	if (a->nframes != b->nframes || a->flags != b->flags)
		return 0;
	for (uint32_t k = 0; k < a->nframes; k++)
		if (m->fid[p->refs[a->first + k]] != m->fid[p->refs[b->first + k]])
			return 0;
	return 1;
}

static int has_function(const struct profile *p, const struct profile_stack *s, const char *function)
{
	for (uint32_t k = 0; k < s->nframes; k++)
		if (!strcmp(p->frames[p->refs[s->first + k]].name, function))
			return 1;
	return 0;
}

static int cmp_group(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

/* Name of a frame as evidence shows it: the folded export's spelling. */
static size_t frame_text(const struct profile_frame *f, char *buf, size_t n)
{
	int w = snprintf(buf, n, "%s%s", f->name, f->kind == PROFILE_FRAME_KERNEL ? "_[k]" : "");

	return w < 0 ? 0 : (size_t)w >= n ? n - 1 : (size_t)w;
}

/* "61% in leaf ← caller ← caller ← …" from the heaviest leaf function. */
static void evidence(const struct profile *p, const struct fnmap *m, const struct group *g, size_t ng,
		     uint64_t total, const uint64_t *self, char *out, size_t n)
{
	uint32_t best = UINT32_MAX;
	const struct profile_stack *s = NULL;
	size_t len;
	int shown = 0;
	uint32_t k;

	out[0] = 0;
	for (uint32_t f = 0; f < m->n; f++)
		if (self[f] && (best == UINT32_MAX || self[f] > self[best]))
			best = f;
	if (best == UINT32_MAX || !total)
		return;
	for (size_t i = 0; i < ng && !s; i++) {
		const struct profile_stack *x = &p->stacks[g[i].stack];

		if (x->nframes && m->fid[p->refs[x->first + x->nframes - 1]] == best)
			s = x;
	}
	snprintf(out, n, "%.0f%% in %s", 100.0 * (double)self[best] / (double)total, m->funcs[best].name);
	if (!s)
		return;
	len = strlen(out);
	for (k = s->nframes - 1; k > 0 && shown < 3; k--) {
		const struct profile_frame *f = &p->frames[p->refs[s->first + k - 1]];

		if (m->fid[p->refs[s->first + k - 1]] == m->fid[p->refs[s->first + k]])
			continue; /* recursion */
		if (len + strlen(f->name) + 8 >= n)
			break;
		len += (size_t)snprintf(out + len, n - len, " \xe2\x86\x90 %s", f->name);
		shown++;
	}
	if (k > 0 && len + 8 < n)
		snprintf(out + len, n - len, " \xe2\x86\x90 \xe2\x80\xa6");
}

int alert_stacks_from_profile(const struct profile *p, const uint8_t *keep, const char *function,
			      uint64_t window_ns, uint64_t now_ns, struct alert_stacks **ret)
{
	struct alert_stacks *as = calloc(1, sizeof(*as));
	struct fnmap m;
	struct group *g = NULL;
	uint64_t *self = NULL;
	size_t ng = 0, gcap, arena_len = 0, nrefs = 0, off = 0;
	uint32_t *tab = NULL;
	char name[PROFILE_NAME_MAX + 8];
	int r = -ENOMEM;

	if (!as)
		return -ENOMEM;
	if (fnmap_build(p, &m) < 0)
		goto out;
	for (gcap = 64; gcap < 2 * p->nstacks + 2; gcap *= 2)
		;
	tab = calloc(gcap, sizeof(*tab));
	g = malloc((p->nstacks ? p->nstacks : 1) * sizeof(*g));
	self = calloc(m.n ? m.n : 1, sizeof(*self));
	if (!tab || !g || !self)
		goto out;
	for (size_t i = 0; i < p->nstacks; i++) {
		const struct profile_stack *s = &p->stacks[i];
		uint64_t h;
		size_t j;

		if ((keep && !keep[s->proc]) || (function && !has_function(p, s, function)))
			continue;
		as->samples += s->count;
		if (s->nframes)
			self[m.fid[p->refs[s->first + s->nframes - 1]]] += s->count;
		h = stack_hash(p, &m, s);
		for (j = h & (gcap - 1); tab[j]; j = (j + 1) & (gcap - 1))
			if (g[tab[j] - 1].hash == h && same_stack(p, &m, &p->stacks[g[tab[j] - 1].stack], s))
				break;
		if (!tab[j]) {
			g[ng] = (struct group){ .hash = h, .stack = i };
			tab[j] = (uint32_t)++ng;
		}
		g[tab[j] - 1].count += s->count;
	}
	if (ng)
		qsort_safe(g, ng, sizeof(*g), cmp_group);
	as->n = ng < ALERT_MAX_STACKS ? ng : ALERT_MAX_STACKS;
	/* one arena for the names, one array for the frame pointers */
	for (size_t i = 0; i < as->n; i++) {
		const struct profile_stack *s = &p->stacks[g[i].stack];
		uint32_t first = s->nframes > ALERT_MAX_FRAMES ? s->nframes - ALERT_MAX_FRAMES : 0;

		for (uint32_t k = first; k < s->nframes; k++)
			arena_len += frame_text(&p->frames[p->refs[s->first + k]], name, sizeof(name)) + 1;
		nrefs += s->nframes - first + 1;
		arena_len += sizeof("[truncated]");
	}
	as->arena = malloc(arena_len ? arena_len : 1);
	as->refs = malloc((nrefs ? nrefs : 1) * sizeof(*as->refs));
	if (!as->arena || !as->refs)
		goto out;
	nrefs = 0;
	for (size_t i = 0; i < as->n; i++) {
		const struct profile_stack *s = &p->stacks[g[i].stack];
		uint32_t first = s->nframes > ALERT_MAX_FRAMES ? s->nframes - ALERT_MAX_FRAMES : 0;
		struct alert_stack *x = &as->v[i];

		x->frames = &as->refs[nrefs];
		x->count = g[i].count;
		x->share_pct = as->samples ? 100.0 * (double)g[i].count / (double)as->samples : 0;
		if (first || (s->flags & PROFILE_STACK_TRUNCATED)) {
			memcpy(as->arena + off, "[truncated]", sizeof("[truncated]"));
			as->refs[nrefs++] = as->arena + off;
			off += sizeof("[truncated]");
			x->nframes++;
		}
		for (uint32_t k = first; k < s->nframes; k++) {
			size_t l = frame_text(&p->frames[p->refs[s->first + k]], name, sizeof(name));

			memcpy(as->arena + off, name, l + 1);
			as->refs[nrefs++] = as->arena + off;
			off += l + 1;
			x->nframes++;
		}
	}
	as->window_ns = window_ns;
	as->taken_ns = now_ns;
	evidence(p, &m, g, ng, as->samples, self, as->evidence, sizeof(as->evidence));
	*ret = as;
	as = NULL;
	r = 0;
out:
	fnmap_release(&m);
	free(tab);
	free(g);
	free(self);
	alert_stacks_free(as);
	return r;
}
