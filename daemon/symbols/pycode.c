/* SPDX-License-Identifier: GPL-2.0-only */
/* Python frame names. See pycode.h. */
#include "symbols/pycode.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "base/threads.h"
#include "profd/python.h"

#define NAME_MAX_BYTES 255      /* longest file or function name kept */
#define FULL_MAX (2 * NAME_MAX_BYTES + 2)
#define DEFAULT_MAX_ENTRIES 262144
#define DEFAULT_MAX_NAMES 65536
#define QUEUE_MAX 4096          /* reads queued for the worker, and results back */

enum { E_NEW, E_QUEUED, E_DONE };

struct pentry {
	uint64_t code, start_time;
	uint32_t tgid, sig;
	uint32_t name;              /* name id once read (0: "[python]") */
	uint32_t state;             /* E_* */
};

struct preq {
	uint64_t code;
	uint32_t ent, tgid, sig;
};

struct pres {
	uint32_t ent;
	int r;                      /* 0, -ESTALE (signature), or a read error */
	char name[FULL_MAX];
};

struct pycode {
	struct pycode_opts o;
	/* the caller's thread */
	struct pentry *ents;
	uint32_t nents, cap_ents;
	uint32_t *etab;             /* key hash -> entry index + 1 */
	uint32_t etab_cap;
	char **names;               /* id -> name; names[0] = "[python]" */
	uint32_t nnames, cap_names;
	uint32_t *ntab;             /* name hash -> id + 1 */
	uint32_t ntab_cap;
	struct pycode_stats st;
	/* shared with the worker, under lock */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct preq *req;
	uint32_t nreq;
	struct pres *res;
	uint32_t nres;
	uint64_t reads, read_failures, stale; /* the worker's counts */
	int stop, started;
	pthread_t thr;
};

static ssize_t vm_read(void *ctx, uint32_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec l = { buf, len }, r = { (void *)(uintptr_t)addr, len };
	ssize_t n = process_vm_readv((pid_t)pid, &l, 1, &r, 1, 0);

	(void)ctx;
	return n < 0 ? -errno : n;
}

static uint64_t hash_bytes(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	return h;
}

static uint64_t hash_key(uint32_t tgid, uint64_t start, uint64_t code, uint32_t sig)
{
	uint64_t h = code * 0x9e3779b97f4a7c15ull ^ start * 0xc2b2ae3d27d4eb4full ^ ((uint64_t)tgid << 32 | sig);

	return h ^ (h >> 31);
}

/* ---- reading a process (the worker) ---- */

/* A PyUnicodeObject's text (compact ASCII, or its cached UTF-8) into buf,
 * at most NAME_MAX_BYTES bytes; 0 or -errno. */
static int read_str(const struct pycode *p, uint32_t pid, uint64_t addr, char *buf, size_t n)
{
	uint8_t h[PROFD_PY311_STR_COMPACT_DATA];
	uint64_t len, src, u8;
	uint32_t state;
	ssize_t r;

	if (!addr)
		return -EINVAL;
	r = p->o.read(p->o.ctx, pid, addr, h, sizeof(h));
	if (r != (ssize_t)sizeof(h))
		return r < 0 ? (int)r : -EIO;
	memcpy(&state, h + PROFD_PY311_STR_STATE, sizeof(state));
	memcpy(&len, h + PROFD_PY311_STR_LENGTH, sizeof(len));
	if (!(state >> 5 & 1))
		return -EINVAL; /* not compact: code object names always are */
	if (state >> 6 & 1) {
		src = addr + PROFD_PY311_STR_ASCII_DATA;
	} else {
		memcpy(&len, h + PROFD_PY311_STR_UTF8_LENGTH, sizeof(len));
		memcpy(&u8, h + PROFD_PY311_STR_UTF8, sizeof(u8));
		src = u8;
	}
	if (!src || len > (1u << 20))
		return -EINVAL;
	if (len > NAME_MAX_BYTES)
		len = NAME_MAX_BYTES;
	if (len >= n)
		len = n - 1;
	if (len) {
		r = p->o.read(p->o.ctx, pid, src, buf, (size_t)len);
		if (r != (ssize_t)len)
			return r < 0 ? (int)r : -EIO;
	}
	buf[len] = 0;
	for (uint64_t i = 0; i < len; i++)
		if (!buf[i] || buf[i] == ';' || buf[i] == '\n')
			buf[i] = '?'; /* the folded format's separators */
	return 0;
}

void pycode_format(const char *filename, const char *qualname, char *buf, size_t n)
{
	const char *b = strrchr(filename, '/');

	snprintf(buf, n, "%s:%s", b ? b + 1 : filename, qualname);
}

/* One code object's name into res: 0, -ESTALE or -errno. */
static int read_name(const struct pycode *p, const struct preq *q, struct pres *res)
{
	uint8_t co[PROFD_PY311_CO_READ];
	char file[NAME_MAX_BYTES + 1], name[NAME_MAX_BYTES + 1];
	uint64_t fn, qn;
	uint32_t line;
	ssize_t r;
	int e;

	r = p->o.read(p->o.ctx, q->tgid, q->code, co, sizeof(co));
	if (r != (ssize_t)sizeof(co))
		return r < 0 ? (int)r : -EIO;
	memcpy(&line, co + PROFD_PY311_CO_FIRSTLINENO, sizeof(line));
	memcpy(&fn, co + PROFD_PY311_CO_FILENAME, sizeof(fn));
	memcpy(&qn, co + PROFD_PY311_CO_QUALNAME, sizeof(qn));
	if (profd_py_code_sig(line, fn, qn) != q->sig)
		return -ESTALE;
	e = read_str(p, q->tgid, fn, file, sizeof(file));
	if (!e)
		e = read_str(p, q->tgid, qn, name, sizeof(name));
	if (e)
		return e;
	pycode_format(file, name, res->name, sizeof(res->name));
	return 0;
}

/* Read the queued requests, at most QUEUE_MAX results held at once. Called
 * with the lock held; reads without it. */
static void serve(struct pycode *p)
{
	while (p->nreq && p->nres < QUEUE_MAX && !p->stop) {
		struct preq q = p->req[--p->nreq];
		struct pres r = { .ent = q.ent };

		pthread_mutex_unlock(&p->lock);
		r.r = read_name(p, &q, &r);
		pthread_mutex_lock(&p->lock);
		p->reads++;
		if (r.r == -ESTALE)
			p->stale++;
		else if (r.r < 0)
			p->read_failures++;
		p->res[p->nres++] = r;
	}
}

static void *worker(void *arg)
{
	struct pycode *p = arg;

	thread_set_name(THREAD_NAME_SYM_PYTHON);
	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		if (!p->nreq || p->nres >= QUEUE_MAX) {
			pthread_cond_wait(&p->cond, &p->lock);
			continue;
		}
		serve(p);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* ---- the caller's thread ---- */

int pycode_new(const struct pycode_opts *opts, struct pycode **ret)
{
	struct pycode *p = calloc(1, sizeof(*p));
	int r;

	if (!p)
		return -ENOMEM;
	if (opts)
		p->o = *opts;
	if (!p->o.read)
		p->o.read = vm_read;
	if (!p->o.max_entries)
		p->o.max_entries = DEFAULT_MAX_ENTRIES;
	if (!p->o.max_names)
		p->o.max_names = DEFAULT_MAX_NAMES;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->cap_names = 64;
	p->names = calloc(p->cap_names, sizeof(*p->names));
	p->ntab_cap = 128;
	p->ntab = calloc(p->ntab_cap, sizeof(*p->ntab));
	p->etab_cap = 256;
	p->etab = calloc(p->etab_cap, sizeof(*p->etab));
	p->req = calloc(QUEUE_MAX, sizeof(*p->req));
	p->res = calloc(QUEUE_MAX, sizeof(*p->res));
	if (!p->names || !p->ntab || !p->etab || !p->req || !p->res || !(p->names[0] = strdup("[python]"))) {
		pycode_free(p);
		return -ENOMEM;
	}
	p->nnames = 1;
	if (!p->o.no_worker) {
		r = pthread_create(&p->thr, NULL, worker, p);
		if (r) {
			pycode_free(p);
			return -r;
		}
		p->started = 1;
	}
	*ret = p;
	return 0;
}

struct pycode *pycode_free(struct pycode *p)
{
	if (!p)
		return NULL;
	if (p->started) {
		pthread_mutex_lock(&p->lock);
		p->stop = 1;
		pthread_cond_signal(&p->cond);
		pthread_mutex_unlock(&p->lock);
		pthread_join(p->thr, NULL);
	}
	for (uint32_t i = 0; p->names && i < p->nnames; i++)
		free(p->names[i]);
	free(p->names);
	free(p->ntab);
	free(p->etab);
	free(p->ents);
	free(p->req);
	free(p->res);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
	return NULL;
}

static int grow_tab(uint32_t **tab, uint32_t *cap, uint32_t n, uint64_t (*key)(const struct pycode *, uint32_t),
		    const struct pycode *p)
{
	uint32_t c = *cap * 2, *t = calloc(c, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t j = (uint32_t)key(p, i) & (c - 1);

		while (t[j])
			j = (j + 1) & (c - 1);
		t[j] = i + 1;
	}
	free(*tab);
	*tab = t;
	*cap = c;
	return 0;
}

static uint64_t name_key(const struct pycode *p, uint32_t i)
{
	return hash_bytes(p->names[i]);
}

static uint64_t ent_key(const struct pycode *p, uint32_t i)
{
	const struct pentry *e = &p->ents[i];

	return hash_key(e->tgid, e->start_time, e->code, e->sig);
}

/* The id of name, interned now if new; 0 at the bound. */
static uint32_t intern(struct pycode *p, const char *name)
{
	uint32_t j;
	char *c;

	if ((p->nnames + 1) * 4 > p->ntab_cap * 3 && grow_tab(&p->ntab, &p->ntab_cap, p->nnames, name_key, p) < 0)
		return 0;
	for (j = (uint32_t)hash_bytes(name) & (p->ntab_cap - 1); p->ntab[j]; j = (j + 1) & (p->ntab_cap - 1))
		if (!strcmp(p->names[p->ntab[j] - 1], name))
			return p->ntab[j] - 1;
	if (p->nnames >= p->o.max_names) {
		p->st.names_full++;
		return 0;
	}
	if (p->nnames == p->cap_names) {
		char **n = realloc(p->names, (size_t)p->cap_names * 2 * sizeof(*n));

		if (!n)
			return 0;
		p->names = n;
		p->cap_names *= 2;
	}
	c = strdup(name);
	if (!c)
		return 0;
	p->names[p->nnames] = c;
	p->ntab[j] = p->nnames + 1;
	p->st.names++;
	return p->nnames++;
}

/* Queue entry i's read; it stays E_NEW (tried again at its next frame)
 * when the queue is full. */
static void enqueue(struct pycode *p, uint32_t i)
{
	struct pentry *e = &p->ents[i];

	pthread_mutex_lock(&p->lock);
	if (p->nreq < QUEUE_MAX) {
		p->req[p->nreq++] = (struct preq){ .code = e->code, .ent = i, .tgid = e->tgid, .sig = e->sig };
		e->state = E_QUEUED;
		pthread_cond_signal(&p->cond);
	} else {
		p->st.queue_full++;
	}
	pthread_mutex_unlock(&p->lock);
}

uint64_t pycode_frame(struct pycode *p, uint32_t tgid, uint64_t start_time, uint64_t code, uint32_t sig)
{
	uint64_t h = hash_key(tgid, start_time, code, sig);
	uint32_t j, i;

	p->st.lookups++;
	if ((p->nents + 1) * 4 > p->etab_cap * 3 && grow_tab(&p->etab, &p->etab_cap, p->nents, ent_key, p) < 0)
		return 0;
	for (j = (uint32_t)h & (p->etab_cap - 1); p->etab[j]; j = (j + 1) & (p->etab_cap - 1)) {
		struct pentry *e = &p->ents[p->etab[j] - 1];

		if (e->code == code && e->tgid == tgid && e->sig == sig && e->start_time == start_time) {
			p->st.hits++;
			if (e->state == E_NEW)
				enqueue(p, p->etab[j] - 1);
			return p->etab[j];
		}
	}
	if (p->nents >= p->o.max_entries) {
		p->st.entries_full++;
		return 0;
	}
	if (p->nents == p->cap_ents) {
		uint32_t c = p->cap_ents ? p->cap_ents * 2 : 256;
		struct pentry *n = realloc(p->ents, (size_t)c * sizeof(*n));

		if (!n)
			return 0;
		p->ents = n;
		p->cap_ents = c;
	}
	i = p->nents++;
	p->ents[i] = (struct pentry){ .code = code, .start_time = start_time, .tgid = tgid, .sig = sig };
	p->etab[j] = i + 1;
	p->st.entries++;
	p->st.pending++;
	enqueue(p, i);
	return (uint64_t)i + 1;
}

void pycode_poll(struct pycode *p)
{
	struct pres *res;
	uint32_t n;

	pthread_mutex_lock(&p->lock);
	if (p->o.no_worker)
		serve(p);
	n = p->nres;
	p->st.reads = p->reads;
	p->st.read_failures = p->read_failures;
	p->st.stale = p->stale;
	/* names are interned outside the lock: take the results, then let
	 * the worker go on into an empty array */
	res = n ? malloc((size_t)n * sizeof(*res)) : NULL;
	if (res) {
		memcpy(res, p->res, (size_t)n * sizeof(*res));
		p->nres = 0;
		pthread_cond_signal(&p->cond);
	} else {
		n = 0;
	}
	pthread_mutex_unlock(&p->lock);
	for (uint32_t k = 0; k < n; k++) {
		struct pentry *e = &p->ents[res[k].ent];

		e->name = res[k].r == 0 ? intern(p, res[k].name) : 0;
		e->state = E_DONE;
		p->st.pending--;
	}
	free(res);
}

const char *pycode_lookup(const struct pycode *p, uint64_t id)
{
	if (id == 0)
		return p->names[0];
	if (id > p->nents)
		return NULL;
	return p->names[p->ents[id - 1].name];
}

void pycode_get_stats(const struct pycode *p, struct pycode_stats *ret)
{
	*ret = p->st;
}
