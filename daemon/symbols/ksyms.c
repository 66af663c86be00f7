/* SPDX-License-Identifier: GPL-2.0-only */
/* kallsyms parser: sorted text symbols, names in one arena. */
#include "symbols/ksyms.h"
#include "base/util.h"
#include "common/sort.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* KSYM_NAME_LEN is 512 on current kernels; a module name is < 64. */
#define KSYMS_LINE_MAX 1024
#define KSYMS_MODULES_MAX 4096

struct ksym {
	uint64_t addr;
	uint32_t name;   /* arena offset */
	uint32_t module; /* arena offset */
	uint32_t global; /* 1 for T/W: preferred among aliases */
	uint32_t seq;    /* input order, for a stable sort */
};

struct ksyms {
	struct ksym *syms;
	size_t count;
	size_t cap;
	struct util_arena arena; /* names, NUL-terminated */
	uint32_t modules[KSYMS_MODULES_MAX]; /* arena offsets of distinct modules */
	size_t nmodules;
	size_t lines;
	size_t zero_addrs;
	int restricted;
};

static int arena_add(struct ksyms *k, const char *s, size_t len, uint32_t *ret)
{
	size_t off;
	int r;

	/* offsets are stored in 32 bits */
	if (k->arena.len + len + 1 > UINT32_MAX)
		return -E2BIG;
	r = util_arena_add(&k->arena, s, len, &off);
	if (!r)
		*ret = (uint32_t)off;
	return r;
}

/* Modules are few: intern them so each symbol stores an offset only. */
static int module_intern(struct ksyms *k, const char *s, size_t len, uint32_t *ret)
{
	for (size_t i = 0; i < k->nmodules; i++) {
		const char *m = k->arena.buf + k->modules[i];

		if (strlen(m) == len && memcmp(m, s, len) == 0) {
			*ret = k->modules[i];
			return 0;
		}
	}
	if (k->nmodules == KSYMS_MODULES_MAX) {
		*ret = k->modules[KSYMS_MODULES_MAX - 1];
		return 0;
	}
	/* The last slot holds a catch-all name: past the bound, modules
	 * share it rather than fail the load. */
	if (k->nmodules == KSYMS_MODULES_MAX - 1) {
		s = "[?]";
		len = 3;
	}
	int r = arena_add(k, s, len, ret);
	if (r == 0)
		k->modules[k->nmodules++] = *ret;
	return r;
}

/* One line: "ADDR TYPE NAME[\t[MODULE]]". 0 added or skipped, -errno fatal. */
static int parse_line(struct ksyms *k, const char *s, const char *end)
{
	uint64_t addr = 0;
	int digits = 0;
	char type;
	const char *name, *name_end, *mod = "vmlinux", *mod_end;
	struct ksym sym;
	int r;

	k->lines++;
	while (s < end && digits <= 16) {
		char c = *s;
		int d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			break;
		addr = (addr << 4) | (uint64_t)d;
		digits++;
		s++;
	}
	if (digits == 0 || digits > 16 || end - s < 4 || s[0] != ' ' || s[2] != ' ')
		return 0;
	type = s[1];
	if (addr == 0)
		k->zero_addrs++;
	if (type != 't' && type != 'T' && type != 'w' && type != 'W')
		return 0;
	if (addr == 0)
		return 0;
	name = s + 3;
	name_end = name;
	while (name_end < end && *name_end != '\t' && *name_end != ' ')
		name_end++;
	if (name_end == name)
		return 0;
	mod_end = mod + strlen(mod);
	if (name_end < end) {
		const char *m = name_end;

		while (m < end && (*m == '\t' || *m == ' '))
			m++;
		if (m < end) {
			const char *me = end;

			while (me > m && (me[-1] == ' ' || me[-1] == '\r'))
				me--;
			if (me - m < 3 || *m != '[' || me[-1] != ']')
				return 0;
			mod = m;
			mod_end = me;
		}
	}
	if (k->count >= KSYMS_MAX_SYMBOLS)
		return -E2BIG;
	if (k->count == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 4096;
		struct ksym *n = realloc(k->syms, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		k->syms = n;
		k->cap = cap;
	}
	sym.addr = addr;
	sym.global = type == 'T' || type == 'W';
	sym.seq = (uint32_t)k->count;
	r = arena_add(k, name, (size_t)(name_end - name), &sym.name);
	if (r == 0)
		r = module_intern(k, mod, (size_t)(mod_end - mod), &sym.module);
	if (r < 0)
		return r;
	k->syms[k->count++] = sym;
	return 0;
}

static int cmp_sym(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->global != y->global)
		return x->global ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sort, keep one symbol per address (a global one if any), trim memory. */
static void finish(struct ksyms *k)
{
	size_t out = 0;

	if (k->lines > 0 && k->zero_addrs == k->lines)
		k->restricted = 1;
	if (k->count)
		qsort_safe(k->syms, k->count, sizeof(*k->syms), cmp_sym);
	for (size_t i = 0; i < k->count; i++) {
		if (out && k->syms[out - 1].addr == k->syms[i].addr)
			continue;
		k->syms[out++] = k->syms[i];
	}
	k->count = out;
	if (out && out < k->cap) {
		struct ksym *n = realloc(k->syms, out * sizeof(*n));

		if (n) {
			k->syms = n;
			k->cap = out;
		}
	}
}

static struct ksyms *ksyms_alloc(void)
{
	return calloc(1, sizeof(struct ksyms));
}

int ksyms_parse(const char *buf, size_t len, struct ksyms **ret)
{
	struct ksyms *k = ksyms_alloc();
	const char *p = buf, *end = buf + len;

	if (!k)
		return -ENOMEM;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		int r;

		if (le > p) {
			r = parse_line(k, p, le);
			if (r < 0) {
				ksyms_free(k);
				return r;
			}
		}
		p = nl ? nl + 1 : end;
	}
	finish(k);
	*ret = k;
	return 0;
}

int ksyms_load(const char *path, struct ksyms **ret)
{
	char line[KSYMS_LINE_MAX];
	struct ksyms *k;
	FILE *f;
	int r = 0;

	/* /proc/kallsyms reports size 0: stream it line by line. */
	f = fopen(path, "re");
	if (!f)
		return -errno;
	k = ksyms_alloc();
	if (!k) {
		fclose(f);
		return -ENOMEM;
	}
	while (fgets(line, sizeof(line), f)) {
		size_t len = strlen(line);

		if (len && line[len - 1] == '\n') {
			len--;
		} else if (len == sizeof(line) - 1) {
			/* Overlong: not a kallsyms line; skip the rest of it. */
			int c;

			while ((c = fgetc(f)) != EOF && c != '\n')
				;
			continue;
		}
		if (len == 0) /* as ksyms_parse: a blank line must not hide kptr_restrict */
			continue;
		r = parse_line(k, line, line + len);
		if (r < 0)
			break;
	}
	if (r == 0 && ferror(f))
		r = -EIO;
	fclose(f);
	if (r < 0) {
		ksyms_free(k);
		return r;
	}
	finish(k);
	*ret = k;
	return 0;
}

struct ksyms *ksyms_free(struct ksyms *k)
{
	if (k) {
		free(k->syms);
		free(k->arena.buf);
		free(k);
	}
	return NULL;
}

int ksyms_lookup(const struct ksyms *k, uint64_t addr, const char **ret_name,
		 const char **ret_module, uint64_t *ret_offset)
{
	size_t lo = 0, hi;

	if (!k || k->count == 0)
		return -ENOENT;
	hi = k->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (k->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return -ENOENT;
	const struct ksym *s = &k->syms[lo - 1];
	*ret_name = k->arena.buf + s->name;
	*ret_module = k->arena.buf + s->module;
	*ret_offset = addr - s->addr;
	return 0;
}

size_t ksyms_count(const struct ksyms *k)
{
	return k ? k->count : 0;
}

int ksyms_restricted(const struct ksyms *k)
{
	return k ? k->restricted : 0;
}

size_t ksyms_bytes(const struct ksyms *k)
{
	return k ? sizeof(*k) + k->cap * sizeof(*k->syms) + k->arena.cap : 0;
}
