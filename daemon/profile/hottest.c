/* SPDX-License-Identifier: GPL-2.0-only */
/* The hottest function of one process, see hottest.h. */
#include "profile/hottest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile/query.h"
#include "store/stacks.h"
#include "symbols/symbolizer.h"

/* No symbol covers the address: the function is "somewhere in obj". */
#define HOT_NO_SYMBOL UINT64_MAX

struct hot_fn {
	uint32_t obj;
	uint64_t start;          /* symbol start, or HOT_NO_SYMBOL */
	uint64_t samples;
	struct frame leaf;       /* one leaf of it, to name it */
	const char *module;
};

static size_t hot_hash(uint32_t obj, uint64_t start)
{
	uint64_t h = ((uint64_t)obj << 32 ^ obj) * 0x9e3779b97f4a7c15ull ^ start;

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return (size_t)h;
}

/* Room for n more functions: the table at most half full. */
static int reserve(struct hottest_scratch *sc, size_t n)
{
	size_t tcap = sc->tcap ? sc->tcap : 64;

	if (sc->n + n > sc->cap) {
		size_t cap = sc->cap ? sc->cap : 64;
		struct hot_fn *v;

		while (cap < sc->n + n)
			cap *= 2;
		v = realloc(sc->fn, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		sc->fn = v;
		sc->cap = cap;
	}
	while (tcap < 2 * (sc->n + n))
		tcap *= 2;
	if (tcap != sc->tcap) {
		uint32_t *t = calloc(tcap, sizeof(*t));

		if (!t)
			return -ENOMEM;
		free(sc->tab);
		sc->tab = t;
		sc->tcap = tcap;
		/* only called with an empty set: nothing to rehash */
	}
	return 0;
}

int hottest_find(struct hottest_scratch *sc, struct symbolizer *sym, const struct stacks *stacks,
		 const struct pq_entry *v, size_t n, unsigned name_flags, struct hottest *ret)
{
	const struct hot_fn *best = NULL;
	int r;

	memset(ret, 0, sizeof(*ret));
	ret->module = "";
	if (sc->tab)
		memset(sc->tab, 0, sc->tcap * sizeof(*sc->tab));
	sc->n = 0;
	/* a process has at most one function per entry */
	r = reserve(sc, n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		const struct frame *fr;
		struct frame rf;
		struct sym_result s;
		uint32_t fl;
		uint64_t start = HOT_NO_SYMBOL;
		const char *module = NULL;
		struct hot_fn *f;
		size_t j;

		if (stacks_get(stacks, v[i].stack, &fr, &fl) <= 0 || (fr[0].flags & STACK_FRAME_THREAD))
			continue; /* no code: an overflow or coarsened count, a thread alone */
		profile_frame_resolve(sym, &fr[0], &rf);
		if (!symbolizer_lookup(sym, rf.obj, rf.addr, &s) && s.name) {
			start = rf.addr - s.offset;
			module = s.module;
		}
		for (j = hot_hash(rf.obj, start) & (sc->tcap - 1); sc->tab[j]; j = (j + 1) & (sc->tcap - 1)) {
			f = &sc->fn[sc->tab[j] - 1];
			if (f->obj == rf.obj && f->start == start)
				break;
		}
		if (!sc->tab[j]) {
			f = &sc->fn[sc->n];
			f->obj = rf.obj;
			f->start = start;
			f->samples = 0;
			f->leaf = fr[0];
			if (!module)
				module = rf.obj == SYM_OBJ_UNKNOWN ? "" : symbolizer_object_name(sym, rf.obj);
			f->module = module && strcmp(module, "[unknown]") ? module : "";
			sc->tab[j] = (uint32_t)++sc->n;
		}
		f = &sc->fn[sc->tab[j] - 1];
		f->samples += v[i].count;
	}
	for (size_t i = 0; i < sc->n; i++)
		if (!best || sc->fn[i].samples > best->samples)
			best = &sc->fn[i];
	if (!best)
		return 0;
	ret->samples = best->samples;
	ret->module = best->module;
	if (best->start != HOT_NO_SYMBOL)
		profile_frame_name_flags(sym, &best->leaf, 1, name_flags, ret->name, sizeof(ret->name));
	return 0;
}

void hottest_scratch_release(struct hottest_scratch *sc)
{
	free(sc->fn);
	free(sc->tab);
	memset(sc, 0, sizeof(*sc));
}
