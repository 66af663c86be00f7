/* SPDX-License-Identifier: GPL-2.0-only */
/* The symbolized profile model and its builder, see profile.h. */
#include "profile/profile.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "profd/sample.h"
#include "store/proctable.h"
#include "store/stacks.h"
#include "store/window.h"
#include "symbols/symbolizer.h"

/* Frames of one stored stack: kernel and user parts. */
#define MAX_FRAMES (PROFD_MAX_KSTACK + PROFD_MAX_USTACK)
/* Strings are bump-allocated in chunks so that pointers stay valid. */
#define CHUNK_BYTES (64 * 1024)
/* Entries added between two checks of the deadline and the memory bound. */
#define CHECK_STRIDE 256

struct chunk {
	struct chunk *next;
	size_t used, cap;
	char data[];
};

/* Open-addressing map from a 64-bit key to an index; key 0 is never used
 * (keys are built with a set marker bit). */
struct imap {
	uint64_t *keys;
	uint32_t *vals;
	size_t cap, n;
};

/* What a frame of the store is keyed by in the frame table. */
struct fkey {
	uint32_t obj;
	uint32_t leaf;
	uint64_t addr;
};

struct profile_priv {
	struct chunk *chunks;
	size_t cap_mappings, cap_frames, cap_refs, cap_stacks, cap_procs, cap_threads, cap_host, cap_alerts;
	struct fkey *fkeys;      /* per frame, when built from the store */
	size_t cap_fkeys;
	uint32_t *ftab;          /* frame index + 1, 0 = empty; by fkey_hash */
	size_t ftab_cap;
	struct imap mapping_idx; /* object id -> mapping */
	struct imap proc_idx;    /* process id -> proc */
	struct imap thread_idx;  /* (proc index, tid) -> thread */
};

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

static int imap_grow(struct imap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 1024;
	uint64_t *keys = calloc(cap, sizeof(*keys));
	uint32_t *vals = malloc(cap * sizeof(*vals));

	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->cap; i++) {
		size_t j;

		if (!m->keys[i])
			continue;
		for (j = mix64(m->keys[i]) & (cap - 1); keys[j]; j = (j + 1) & (cap - 1))
			;
		keys[j] = m->keys[i];
		vals[j] = m->vals[i];
	}
	free(m->keys);
	free(m->vals);
	m->keys = keys;
	m->vals = vals;
	m->cap = cap;
	return 0;
}

/* Slot for key: *found tells whether it holds key already. NULL: -ENOMEM. */
static uint32_t *imap_slot(struct imap *m, uint64_t key, int *found)
{
	size_t j;

	if ((m->n + 1) * 4 > m->cap * 3 && imap_grow(m) < 0)
		return NULL;
	for (j = mix64(key) & (m->cap - 1); m->keys[j]; j = (j + 1) & (m->cap - 1)) {
		if (m->keys[j] == key) {
			*found = 1;
			return &m->vals[j];
		}
	}
	*found = 0;
	m->keys[j] = key;
	m->n++;
	return &m->vals[j];
}

static uint64_t fkey_hash(const struct fkey *k)
{
	return mix64(mix64(k->addr) ^ ((uint64_t)k->obj << 1 | k->leaf));
}

static int ftab_grow(struct profile *p)
{
	struct profile_priv *pv = p->priv;
	size_t cap = pv->ftab_cap ? pv->ftab_cap * 2 : 4096;
	uint32_t *t = calloc(cap, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < pv->ftab_cap; i++) {
		size_t j;

		if (!pv->ftab[i])
			continue;
		for (j = fkey_hash(&pv->fkeys[pv->ftab[i] - 1]) & (cap - 1); t[j]; j = (j + 1) & (cap - 1))
			;
		t[j] = pv->ftab[i];
	}
	free(pv->ftab);
	pv->ftab = t;
	pv->ftab_cap = cap;
	return 0;
}

static void imap_release(struct imap *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

static const char *pstrdup(struct profile *p, const char *s)
{
	size_t len = strlen(s) + 1;
	struct chunk *c = p->priv->chunks;
	char *r;

	if (!c || c->cap - c->used < len) {
		size_t cap = len > CHUNK_BYTES ? len : CHUNK_BYTES;

		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->used = 0;
		c->cap = cap;
		c->next = p->priv->chunks;
		p->priv->chunks = c;
	}
	r = c->data + c->used;
	memcpy(r, s, len);
	c->used += len;
	return r;
}

/* Make room for one more element in a growable array. */
static int grow(void **v, size_t *cap, size_t n, size_t size)
{
	void *nv;
	size_t ncap;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 64;
	nv = realloc(*v, ncap * size);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = ncap;
	return 0;
}

int profile_new_empty(struct profile **ret)
{
	struct profile *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->priv = calloc(1, sizeof(*p->priv));
	if (!p->priv) {
		free(p);
		return -ENOMEM;
	}
	*ret = p;
	return 0;
}

struct profile *profile_free(struct profile *p)
{
	struct chunk *c, *n;

	if (!p)
		return NULL;
	if (p->priv) {
		for (c = p->priv->chunks; c; c = n) {
			n = c->next;
			free(c);
		}
		imap_release(&p->priv->mapping_idx);
		imap_release(&p->priv->proc_idx);
		imap_release(&p->priv->thread_idx);
		free(p->priv->fkeys);
		free(p->priv->ftab);
		free(p->priv);
	}
	free(p->mappings);
	free(p->frames);
	free(p->refs);
	free(p->stacks);
	free(p->procs);
	free(p->threads);
	free(p->host);
	free(p->alerts);
	for (int i = 0; i < 2; i++) {
		struct profile_table *t = i ? p->totals : p->series;

		if (!t)
			continue;
		free(t->cols);
		free(t->units);
		free(t->rows);
		free(t->values);
		free(t);
	}
	free(p);
	return NULL;
}

int profile_add_mapping(struct profile *p, const char *name, const uint8_t *build_id, size_t build_id_len, int kernel)
{
	struct profile_mapping *m;

	if (grow((void **)&p->mappings, &p->priv->cap_mappings, p->nmappings, sizeof(*p->mappings)) < 0)
		return -ENOMEM;
	m = &p->mappings[p->nmappings];
	memset(m, 0, sizeof(*m));
	m->name = pstrdup(p, name ? name : "[unknown]");
	if (!m->name)
		return -ENOMEM;
	if (build_id && build_id_len <= sizeof(m->build_id)) {
		memcpy(m->build_id, build_id, build_id_len);
		m->build_id_len = (uint8_t)build_id_len;
	}
	m->kernel = !!kernel;
	return (int)p->nmappings++;
}

int profile_add_frame(struct profile *p, const char *name, uint32_t mapping, uint32_t kind, uint64_t addr)
{
	struct profile_frame *f;
	char cut[PROFILE_NAME_MAX + 1];

	if (grow((void **)&p->frames, &p->priv->cap_frames, p->nframes, sizeof(*p->frames)) < 0)
		return -ENOMEM;
	f = &p->frames[p->nframes];
	snprintf(cut, sizeof(cut), "%s", name);
	f->name = pstrdup(p, cut);
	if (!f->name)
		return -ENOMEM;
	f->mapping = mapping;
	f->kind = kind;
	f->addr = addr;
	f->file = NULL;
	f->line = 0;
	return (int)p->nframes++;
}

int profile_set_frame_source(struct profile *p, uint32_t f, const char *file, uint32_t line)
{
	if (f >= p->nframes)
		return -EINVAL;
	p->frames[f].file = file ? pstrdup(p, file) : NULL;
	if (file && !p->frames[f].file)
		return -ENOMEM;
	p->frames[f].line = line;
	return 0;
}

int profile_add_thread(struct profile *p, uint32_t proc, uint32_t tid, const char *name)
{
	struct profile_thread *t;

	if (grow((void **)&p->threads, &p->priv->cap_threads, p->nthreads, sizeof(*p->threads)) < 0)
		return -ENOMEM;
	t = &p->threads[p->nthreads];
	t->proc = proc;
	t->tid = tid;
	t->name = pstrdup(p, name ? name : "");
	if (!t->name)
		return -ENOMEM;
	return (int)p->nthreads++;
}

int profile_table_new(struct profile *p, const char *const *cols, const char *const *units, size_t ncols,
		      struct profile_table **ret)
{
	struct profile_table *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->cols = calloc(ncols ? ncols : 1, sizeof(*t->cols));
	t->units = calloc(ncols ? ncols : 1, sizeof(*t->units));
	if (!t->cols || !t->units)
		goto oom;
	for (size_t i = 0; i < ncols; i++) {
		t->cols[i] = pstrdup(p, cols[i]);
		t->units[i] = pstrdup(p, units && units[i] ? units[i] : "");
		if (!t->cols[i] || !t->units[i])
			goto oom;
	}
	t->ncols = ncols;
	*ret = t;
	return 0;
oom:
	free(t->cols);
	free(t->units);
	free(t);
	return -ENOMEM;
}

int profile_table_add(struct profile *p, struct profile_table *t, uint32_t proc, uint64_t from_ns, uint64_t len_ns,
		      const double *values)
{
	(void)p;
	if (t->nrows == t->cap_rows) {
		size_t cap = t->cap_rows ? t->cap_rows * 2 : 64;
		struct profile_row *r = realloc(t->rows, cap * sizeof(*r));
		double *v;

		if (!r)
			return -ENOMEM;
		t->rows = r;
		v = realloc(t->values, cap * (t->ncols ? t->ncols : 1) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		t->values = v;
		t->cap_rows = cap;
	}
	t->rows[t->nrows] = (struct profile_row){ .proc = proc, .from_ns = from_ns, .len_ns = len_ns };
	for (size_t i = 0; i < t->ncols; i++)
		t->values[t->nrows * t->ncols + i] = values ? values[i] : NAN;
	return (int)t->nrows++;
}

int profile_add_host_metric(struct profile *p, const char *name, const char *unit, double value)
{
	struct profile_metric *m;

	if (grow((void **)&p->host, &p->priv->cap_host, p->nhost, sizeof(*p->host)) < 0)
		return -ENOMEM;
	m = &p->host[p->nhost];
	m->name = pstrdup(p, name);
	m->unit = pstrdup(p, unit ? unit : "");
	m->value = value;
	if (!m->name || !m->unit)
		return -ENOMEM;
	p->nhost++;
	return 0;
}

int profile_add_alert(struct profile *p, const char *name, const char *severity, const char *summary,
		      uint64_t since_ns)
{
	struct profile_alert *a;

	if (grow((void **)&p->alerts, &p->priv->cap_alerts, p->nalerts, sizeof(*p->alerts)) < 0)
		return -ENOMEM;
	a = &p->alerts[p->nalerts];
	a->name = pstrdup(p, name);
	a->severity = pstrdup(p, severity ? severity : "");
	a->summary = pstrdup(p, summary ? summary : "");
	a->since_ns = since_ns;
	if (!a->name || !a->severity || !a->summary)
		return -ENOMEM;
	p->nalerts++;
	return 0;
}

int profile_add_proc(struct profile *p, uint32_t pid, uint64_t start_ns, const char *comm, const char *cmdline)
{
	struct profile_proc *pr;

	if (grow((void **)&p->procs, &p->priv->cap_procs, p->nprocs, sizeof(*p->procs)) < 0)
		return -ENOMEM;
	pr = &p->procs[p->nprocs];
	pr->pid = pid;
	pr->uid = (uint32_t)-1;
	pr->start_ns = start_ns;
	pr->comm = pstrdup(p, comm ? comm : "[expired]");
	pr->cmdline = pstrdup(p, cmdline ? cmdline : "");
	if (!pr->comm || !pr->cmdline)
		return -ENOMEM;
	return (int)p->nprocs++;
}

int profile_add_stack(struct profile *p, uint32_t proc, const uint32_t *frames, uint32_t n, uint32_t flags, uint64_t count)
{
	struct profile_stack *s;

	if (grow((void **)&p->stacks, &p->priv->cap_stacks, p->nstacks, sizeof(*p->stacks)) < 0)
		return -ENOMEM;
	while (p->nrefs + n > p->priv->cap_refs) {
		size_t cap = p->priv->cap_refs ? p->priv->cap_refs * 2 : 1024;
		uint32_t *r = realloc(p->refs, cap * sizeof(*r));

		if (!r)
			return -ENOMEM;
		p->refs = r;
		p->priv->cap_refs = cap;
	}
	s = &p->stacks[p->nstacks];
	s->proc = proc;
	s->thread = PROFILE_NO_THREAD;
	s->flags = flags;
	s->nframes = n;
	s->first = (uint32_t)p->nrefs;
	s->count = count;
	if (n)
		memcpy(p->refs + p->nrefs, frames, n * sizeof(*frames));
	p->nrefs += n;
	p->samples += count;
	return (int)p->nstacks++;
}

int profile_time_text(const struct profile *p, uint64_t boot_ns, char *buf, size_t n)
{
	if (p->boot_to_real_ns) {
		int64_t real = (int64_t)boot_ns + p->boot_to_real_ns;
		time_t secs = (time_t)(real / 1000000000);
		struct tm tm;

		gmtime_r(&secs, &tm);
		return snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
				tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(real % 1000000000 / 1000000));
	}
	return snprintf(buf, n, "%.3f", (double)boot_ns / 1e9);
}

/* ---- naming frames of the store ---- */

void profile_frame_resolve(struct symbolizer *sym, const struct frame *f, struct frame *ret)
{
	*ret = *f;
	/* A frame drained before its process's mappings were read names the
	 * process and the raw IP; the file and offset are bound later. Never
	 * render a raw IP as an offset: unbound is unknown. */
	if (symbolizer_object_is_process(f->obj) &&
	    symbolizer_frame_resolve(sym, f->obj, f->addr, &ret->obj, &ret->addr) < 0) {
		ret->obj = SYM_OBJ_UNKNOWN;
		ret->addr = f->addr;
	}
}

void profile_frame_name(struct symbolizer *sym, const struct frame *frame, int is_leaf, int show_kaddr, char *buf,
			size_t n)
{
	profile_frame_name_flags(sym, frame, is_leaf, show_kaddr ? PROFILE_NAMES_KADDR : 0, buf, n);
}

/* How a profile built from src names its frames. */
static unsigned name_flags(const struct profile_src *src)
{
	return src->name_flags | (src->show_kaddr ? PROFILE_NAMES_KADDR : 0);
}

void profile_frame_name_flags(struct symbolizer *sym, const struct frame *frame, int is_leaf, unsigned flags,
			      char *buf, size_t n)
{
	struct sym_result r;
	struct frame rf, *f = &rf;
	uint64_t addr;
	int err;

	profile_frame_resolve(sym, frame, &rf);
	addr = f->addr;

	/* a Python frame's addr is a name id, not a return address */
	if (!is_leaf && addr && f->obj != SYM_OBJ_PYTHON)
		addr--;
	err = symbolizer_lookup(sym, f->obj, addr, &r);
	if (!err && r.name) {
		snprintf(buf, n, "%s", (flags & PROFILE_NAMES_RAW) && r.raw_name ? r.raw_name : r.name);
	} else if (f->obj == SYM_OBJ_UNKNOWN) {
		snprintf(buf, n, "[unknown]");
	} else if (f->obj == SYM_OBJ_KERNEL && !(flags & PROFILE_NAMES_KADDR)) {
		snprintf(buf, n, "[kernel]");
	} else if (symbolizer_object_is_jit(f->obj)) {
		snprintf(buf, n, "[jit]"); /* its address is an IP, no offset */
	} else {
		const char *m = (!err && r.module) ? r.module : symbolizer_object_name(sym, f->obj);

		if (m && strcmp(m, "[unknown]"))
			snprintf(buf, n, "%s+0x%llx", m, (unsigned long long)f->addr);
		else
			snprintf(buf, n, "[unknown]");
	}
}

static int is_root_symbol(const char *name)
{
	static const char *const roots[] = { "_start", "__libc_start_main", "__libc_start_call_main",
					     "start_thread", "clone", "clone3", "__clone", "__clone3",
					     "thread_start", "_dl_start_user", NULL };

	for (int i = 0; roots[i]; i++)
		if (!strcmp(name, roots[i]))
			return 1;
	return 0;
}

static int proc_for(struct profile *p, const struct profile_src *src, uint32_t id)
{
	const struct proc_info *pi;
	uint32_t *slot;
	int found, idx;

	slot = imap_slot(&p->priv->proc_idx, (uint64_t)id | (1ull << 63), &found);
	if (!slot)
		return -ENOMEM;
	if (found)
		return (int)*slot;
	pi = proctable_info(src->procs, id);
	idx = pi ? profile_add_proc(p, pi->tgid, pi->start_ns, pi->comm, pi->cmdline)
		 : profile_add_proc(p, 0, 0, "[expired]", "");
	if (idx < 0)
		return idx;
	if (pi)
		p->procs[idx].uid = pi->uid;
	*slot = (uint32_t)idx;
	return idx;
}

/* Thread index for (proc index, tid), named once. */
static int thread_for(struct profile *p, const struct profile_src *src, uint32_t proc, uint32_t tid)
{
	char name[64] = "";
	uint32_t *slot;
	int found, idx;

	slot = imap_slot(&p->priv->thread_idx, (uint64_t)proc << 32 | tid | (1ull << 63), &found);
	if (!slot)
		return -ENOMEM;
	if (found)
		return (int)*slot;
	if (src->thread_name && p->procs[proc].pid)
		src->thread_name(src->thread_ctx, p->procs[proc].pid, tid, name, sizeof(name));
	idx = profile_add_thread(p, proc, tid, name);
	if (idx < 0)
		return idx;
	*slot = (uint32_t)idx;
	return idx;
}

static int mapping_for(struct profile *p, struct symbolizer *sym, uint32_t obj)
{
	const uint8_t *bid = NULL;
	size_t bid_len = 0;
	uint32_t *slot;
	int found, idx;

	slot = imap_slot(&p->priv->mapping_idx, (uint64_t)obj | (1ull << 63), &found);
	if (!slot)
		return -ENOMEM;
	if (found)
		return (int)*slot;
	if (obj != SYM_OBJ_KERNEL)
		symbolizer_object_build_id(sym, obj, &bid, &bid_len);
	idx = profile_add_mapping(p, obj == SYM_OBJ_KERNEL ? "vmlinux" : symbolizer_object_name(sym, obj), bid,
				  bid_len, obj == SYM_OBJ_KERNEL);
	if (idx < 0)
		return idx;
	*slot = (uint32_t)idx;
	return idx;
}

/* Frame index for a store frame, named once per (object, address, leaf):
 * the leaf flag matters because return addresses are named at addr - 1. */
static int frame_for(struct profile *p, const struct profile_src *src, const struct frame *frame, int is_leaf)
{
	struct symbolizer *sym = src->sym;
	struct profile_priv *pv = p->priv;
	struct frame rf, *f = &rf;
	char name[PROFILE_NAME_MAX + 1];
	struct fkey k;
	int kernel, m, idx;
	size_t j;

	profile_frame_resolve(sym, frame, &rf);
	k = (struct fkey){ .obj = f->obj, .leaf = !!is_leaf, .addr = f->addr };
	kernel = f->obj == SYM_OBJ_KERNEL;

	if ((p->nframes + 1) * 4 > pv->ftab_cap * 3 && ftab_grow(p) < 0)
		return -ENOMEM;
	for (j = fkey_hash(&k) & (pv->ftab_cap - 1); pv->ftab[j]; j = (j + 1) & (pv->ftab_cap - 1)) {
		const struct fkey *o = &pv->fkeys[pv->ftab[j] - 1];

		if (o->obj == k.obj && o->leaf == k.leaf && o->addr == k.addr)
			return (int)pv->ftab[j] - 1;
	}
	m = (int)PROFILE_NO_MAPPING;
	if (f->obj != SYM_OBJ_UNKNOWN) {
		m = mapping_for(p, sym, f->obj);
		if (m < 0)
			return m;
	}
	profile_frame_name_flags(sym, f, is_leaf, name_flags(src), name, sizeof(name));
	if (grow((void **)&pv->fkeys, &pv->cap_fkeys, p->nframes, sizeof(*pv->fkeys)) < 0)
		return -ENOMEM;
	idx = profile_add_frame(p, name, (uint32_t)m, kernel ? PROFILE_FRAME_KERNEL : PROFILE_FRAME_USER,
				kernel && !src->show_kaddr ? 0 : f->addr);
	if (idx < 0)
		return idx;
	pv->fkeys[idx] = k;
	pv->ftab[j] = (uint32_t)idx + 1;
	return idx;
}

/* One (process, stack) entry rendered as the folded and JSON exports have
 * always shown it: user frames outermost first, then kernel frames. Junk
 * frames above a recognised root (frame-pointer walks through code built
 * without frame pointers) are cut; a user stack that reaches no root is
 * flagged truncated. */
static int add_entry(struct profile *p, const struct profile_src *src, const struct pq_entry *e)
{
	uint32_t refs[MAX_FRAMES];
	const struct frame *fr;
	uint32_t sflags = 0, flags = 0, k = 0, thread = PROFILE_NO_THREAD;
	int n, nk = 0, root = -1, proc, idx;

	proc = proc_for(p, src, e->proc);
	if (proc < 0)
		return proc;
	if (e->stack == STACK_ID_OVERFLOW)
		flags |= PROFILE_STACK_OVERFLOW;
	if (e->stack == STACK_ID_COARSENED)
		flags |= PROFILE_STACK_COARSENED;
	n = stacks_get(src->stacks, e->stack, &fr, &sflags);
	if (n <= 0)
		return profile_add_stack(p, (uint32_t)proc, NULL, 0, flags, e->count);
	if (n > MAX_FRAMES + 1)
		n = MAX_FRAMES + 1;
	/* the thread's pseudo frame, outermost: not code */
	if (fr[n - 1].flags & STACK_FRAME_THREAD) {
		idx = thread_for(p, src, (uint32_t)proc, (uint32_t)fr[n - 1].addr);
		if (idx < 0)
			return idx;
		thread = (uint32_t)idx;
		n--;
	}
	if (n > MAX_FRAMES)
		n = MAX_FRAMES;
	while (nk < n && (fr[nk].flags & STACK_FRAME_KERNEL))
		nk++;
	if (n > nk) {
		/* named without entering the table: frames above the root
		 * are dropped and must not show up as functions */
		for (int i = n - 1; i >= nk && i >= n - 3; i--) {
			char name[PROFILE_NAME_MAX + 1];

			profile_frame_name_flags(src->sym, &fr[i], i == nk, name_flags(src), name, sizeof(name));
			if (is_root_symbol(name)) {
				root = i;
				break;
			}
		}
		if (root < 0 || (sflags & STACK_F_TRUNCATED))
			flags |= PROFILE_STACK_TRUNCATED;
		for (int i = root >= 0 ? root : n - 1; i >= nk; i--) {
			idx = frame_for(p, src, &fr[i], i == nk);
			if (idx < 0)
				return idx;
			refs[k++] = (uint32_t)idx;
		}
	}
	for (int i = nk - 1; i >= 0; i--) {
		idx = frame_for(p, src, &fr[i], i == 0);
		if (idx < 0)
			return idx;
		refs[k++] = (uint32_t)idx;
	}
	idx = profile_add_stack(p, (uint32_t)proc, refs, k, flags, e->count);
	if (idx >= 0)
		p->stacks[idx].thread = thread;
	return idx;
}

int profile_build(const struct profile_src *src, const struct pq_result *q, struct profile **ret)
{
	struct profile *p;
	int r;

	r = profile_new_empty(&p);
	if (r < 0)
		return r;
	p->covered_ns = q->covered_ns;
	p->from_ns = q->from_ns;
	p->to_ns = q->to_ns;
	p->frequency = src->frequency;
	p->kaddr_hidden = !src->show_kaddr;
	for (size_t i = 0; i < q->n; i++) {
		r = add_entry(p, src, &q->v[i]);
		if (r >= 0 && i % CHECK_STRIDE == CHECK_STRIDE - 1) {
			if (profile_src_expired(src))
				r = -ETIMEDOUT;
			else if (src->max_bytes && profile_bytes(p) > src->max_bytes)
				r = -E2BIG;
		}
		if (r < 0) {
			profile_free(p);
			return r;
		}
	}
	if (src->max_bytes && profile_bytes(p) > src->max_bytes) {
		profile_free(p);
		return -E2BIG;
	}
	*ret = p;
	return 0;
}

size_t profile_bytes(const struct profile *p)
{
	const struct profile_priv *pv = p->priv;
	size_t n = sizeof(*p) + sizeof(*pv);

	n += pv->cap_mappings * sizeof(*p->mappings) + pv->cap_frames * sizeof(*p->frames) +
	     pv->cap_refs * sizeof(*p->refs) + pv->cap_stacks * sizeof(*p->stacks) + pv->cap_procs * sizeof(*p->procs);
	n += pv->cap_fkeys * sizeof(*pv->fkeys) + pv->ftab_cap * sizeof(*pv->ftab);
	n += pv->mapping_idx.cap * (sizeof(uint64_t) + sizeof(uint32_t));
	n += pv->proc_idx.cap * (sizeof(uint64_t) + sizeof(uint32_t));
	for (const struct chunk *c = pv->chunks; c; c = c->next)
		n += sizeof(*c) + c->cap;
	return n;
}
