/* SPDX-License-Identifier: GPL-2.0-only */
/* Python frame names. See pycode.h. */
#include "symbols/pycode.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "profd/python.h"

#define CACHE_BITS 14           /* 16384 entries, emptied at 3/4 full */
#define NAME_MAX_BYTES 255      /* longest file or function name kept */
#define DEFAULT_MAX_NAMES 65536

struct centry {
	uint64_t code, start_time;
	uint32_t tgid, sig;
	uint32_t id;                /* 0: empty slot (id 0 is never cached) */
};

struct pycode {
	pycode_read_fn read;
	void *ctx;
	struct centry *cache;
	uint32_t cached;
	char **names;               /* id -> name; names[0] = "[python]" */
	uint32_t nnames, cap, max_names;
	uint32_t *ntab;             /* name hash -> id + 1 (open addressing) */
	uint32_t ntab_cap;
	struct pycode_stats st;
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

int pycode_new(pycode_read_fn read, void *ctx, uint32_t max_names, struct pycode **ret)
{
	struct pycode *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->read = read ? read : vm_read;
	p->ctx = ctx;
	p->max_names = max_names ? max_names : DEFAULT_MAX_NAMES;
	p->cache = calloc(1u << CACHE_BITS, sizeof(*p->cache));
	p->cap = 64;
	p->names = calloc(p->cap, sizeof(*p->names));
	p->ntab_cap = 128;
	p->ntab = calloc(p->ntab_cap, sizeof(*p->ntab));
	if (!p->cache || !p->names || !p->ntab || !(p->names[0] = strdup("[python]"))) {
		pycode_free(p);
		return -ENOMEM;
	}
	p->nnames = 1;
	*ret = p;
	return 0;
}

struct pycode *pycode_free(struct pycode *p)
{
	if (!p)
		return NULL;
	for (uint32_t i = 0; p->names && i < p->nnames; i++)
		free(p->names[i]);
	free(p->names);
	free(p->ntab);
	free(p->cache);
	free(p);
	return NULL;
}

static int ntab_grow(struct pycode *p)
{
	uint32_t cap = p->ntab_cap * 2, *t = calloc(cap, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (uint32_t i = 1; i < p->nnames; i++) {
		uint32_t j = (uint32_t)hash_bytes(p->names[i]) & (cap - 1);

		while (t[j])
			j = (j + 1) & (cap - 1);
		t[j] = i + 1;
	}
	free(p->ntab);
	p->ntab = t;
	p->ntab_cap = cap;
	return 0;
}

/* The id of name, interned now if new; 0 at the bound. */
static uint32_t intern(struct pycode *p, const char *name)
{
	uint32_t j;
	char *c;

	if ((p->nnames + 1) * 4 > p->ntab_cap * 3 && ntab_grow(p) < 0)
		return 0;
	for (j = (uint32_t)hash_bytes(name) & (p->ntab_cap - 1); p->ntab[j]; j = (j + 1) & (p->ntab_cap - 1))
		if (!strcmp(p->names[p->ntab[j] - 1], name))
			return p->ntab[j] - 1;
	if (p->nnames >= p->max_names) {
		p->st.names_full++;
		return 0;
	}
	if (p->nnames == p->cap) {
		char **n = realloc(p->names, (size_t)p->cap * 2 * sizeof(*n));

		if (!n)
			return 0;
		p->names = n;
		p->cap *= 2;
	}
	c = strdup(name);
	if (!c)
		return 0;
	p->names[p->nnames] = c;
	p->ntab[j] = p->nnames + 1;
	p->st.names++;
	return p->nnames++;
}

/* A PyUnicodeObject's text (compact ASCII, or its cached UTF-8) into buf,
 * at most NAME_MAX_BYTES bytes; 0 or -errno. */
static int read_str(struct pycode *p, uint32_t pid, uint64_t addr, char *buf, size_t n)
{
	uint8_t h[PROFD_PY311_STR_COMPACT_DATA];
	uint64_t len, src = 0, u8;
	uint32_t state;
	ssize_t r;

	if (!addr)
		return -EINVAL;
	r = p->read(p->ctx, pid, addr, h, sizeof(h));
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
		r = p->read(p->ctx, pid, src, buf, (size_t)len);
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

static uint32_t read_name(struct pycode *p, uint32_t tgid, uint64_t code, uint32_t sig)
{
	uint8_t co[PROFD_PY311_CO_READ];
	char file[NAME_MAX_BYTES + 1], name[NAME_MAX_BYTES + 1], full[2 * NAME_MAX_BYTES + 2];
	uint64_t fn, qn;
	uint32_t line;
	ssize_t r;

	p->st.reads++;
	r = p->read(p->ctx, tgid, code, co, sizeof(co));
	if (r != (ssize_t)sizeof(co)) {
		p->st.read_failures++;
		return 0;
	}
	memcpy(&line, co + PROFD_PY311_CO_FIRSTLINENO, sizeof(line));
	memcpy(&fn, co + PROFD_PY311_CO_FILENAME, sizeof(fn));
	memcpy(&qn, co + PROFD_PY311_CO_QUALNAME, sizeof(qn));
	if (profd_py_code_sig(line, fn, qn) != sig) {
		p->st.stale++;
		return 0;
	}
	if (read_str(p, tgid, fn, file, sizeof(file)) < 0 || read_str(p, tgid, qn, name, sizeof(name)) < 0) {
		p->st.read_failures++;
		return 0;
	}
	pycode_format(file, name, full, sizeof(full));
	return intern(p, full);
}

uint32_t pycode_name(struct pycode *p, uint32_t tgid, uint64_t start_time, uint64_t code, uint32_t sig)
{
	uint32_t mask = (1u << CACHE_BITS) - 1, j, id;
	struct centry *e;

	p->st.lookups++;
	for (j = (uint32_t)hash_key(tgid, start_time, code, sig) & mask; p->cache[j].id; j = (j + 1) & mask) {
		e = &p->cache[j];
		if (e->code == code && e->tgid == tgid && e->sig == sig && e->start_time == start_time) {
			p->st.hits++;
			return e->id;
		}
	}
	id = read_name(p, tgid, code, sig);
	if (!id)
		return 0; /* not cached: a later sample may read it */
	if ((p->cached + 1) * 4 > (mask + 1) * 3) {
		memset(p->cache, 0, (size_t)(mask + 1) * sizeof(*p->cache));
		p->cached = 0;
		p->st.cache_resets++;
		j = (uint32_t)hash_key(tgid, start_time, code, sig) & mask;
	}
	p->cache[j] = (struct centry){ .code = code, .start_time = start_time, .tgid = tgid, .sig = sig, .id = id };
	p->cached++;
	return id;
}

const char *pycode_lookup(const struct pycode *p, uint64_t id)
{
	return id < p->nnames ? p->names[id] : NULL;
}

void pycode_get_stats(const struct pycode *p, struct pycode_stats *ret)
{
	*ret = p->st;
}
