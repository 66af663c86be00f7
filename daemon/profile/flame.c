/* SPDX-License-Identifier: GPL-2.0-only */
/* Merged call tree for flame graphs, see flame.h. */
#include "profile/flame.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "profile/profile.h"
#include "profile/strtab.h"

struct flame {
	struct strtab *names;
	struct flame_node *n;
	size_t len, cap;
	uint32_t *tab;        /* node + 1 by hash(parent, name); 0 = empty */
	size_t tcap;
	uint32_t depth;
	size_t max;
};

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

static size_t bytes(const struct flame *f)
{
	return f->cap * sizeof(*f->n) + f->tcap * sizeof(*f->tab) + strtab_bytes(f->names);
}

static int rehash(struct flame *f)
{
	size_t cap = f->tcap ? f->tcap * 2 : 4096;
	uint32_t *t;

	if (f->max && bytes(f) + (cap - f->tcap) * sizeof(*t) > f->max)
		return -E2BIG;
	t = calloc(cap, sizeof(*t));
	if (!t)
		return -ENOMEM;
	for (size_t i = 1; i < f->len; i++) {
		size_t j = mix((uint64_t)f->n[i].parent << 32 | f->n[i].name) & (cap - 1);

		while (t[j])
			j = (j + 1) & (cap - 1);
		t[j] = (uint32_t)i + 1;
	}
	free(f->tab);
	f->tab = t;
	f->tcap = cap;
	return 0;
}

static int intern(struct flame *f, const char *name, uint8_t cls)
{
	char key[PROFILE_NAME_MAX + 2];
	size_t n = strnlen(name, PROFILE_NAME_MAX);

	key[0] = (char)('0' + cls);
	memcpy(key + 1, name, n);
	return strtab_intern(f->names, key, n + 1);
}

static int node_new(struct flame *f, uint32_t parent, uint32_t name)
{
	if (f->len == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 1024;
		struct flame_node *nn;

		if (f->max && bytes(f) + (cap - f->cap) * sizeof(*nn) > f->max)
			return -E2BIG;
		nn = realloc(f->n, cap * sizeof(*nn));
		if (!nn)
			return -ENOMEM;
		f->n = nn;
		f->cap = cap;
	}
	f->n[f->len] = (struct flame_node){ .name = name, .parent = parent, .child = FLAME_NONE, .next = FLAME_NONE };
	if (parent != FLAME_NONE) {
		f->n[f->len].next = f->n[parent].child;
		f->n[parent].child = (uint32_t)f->len;
	}
	return (int)f->len++;
}

int flame_new(const char *root_name, uint8_t root_cls, size_t max_bytes, struct flame **ret)
{
	struct flame *f = calloc(1, sizeof(*f));
	int r;

	if (!f)
		return -ENOMEM;
	f->max = max_bytes;
	r = strtab_new(0, &f->names);
	if (!r)
		r = intern(f, root_name, root_cls);
	if (r >= 0)
		r = node_new(f, FLAME_NONE, (uint32_t)r);
	if (r < 0) {
		flame_free(f);
		return r;
	}
	*ret = f;
	return 0;
}

struct flame *flame_free(struct flame *f)
{
	if (!f)
		return NULL;
	strtab_free(f->names);
	free(f->n);
	free(f->tab);
	free(f);
	return NULL;
}

int flame_add(struct flame *f, int which, const struct flame_frame *path, size_t n, uint64_t count)
{
	uint32_t cur = FLAME_ROOT;
	int r;

	f->n[cur].v[which] += count;
	for (size_t i = 0; i < n; i++) {
		uint32_t name;
		size_t j;

		r = intern(f, path[i].name, path[i].cls);
		if (r < 0)
			return r;
		name = (uint32_t)r;
		if ((f->len + 1) * 4 > f->tcap * 3 && (r = rehash(f)) < 0)
			return r;
		for (j = mix((uint64_t)cur << 32 | name) & (f->tcap - 1); f->tab[j]; j = (j + 1) & (f->tcap - 1)) {
			const struct flame_node *x = &f->n[f->tab[j] - 1];

			if (x->parent == cur && x->name == name)
				break;
		}
		if (!f->tab[j]) {
			r = node_new(f, cur, name);
			if (r < 0)
				return r;
			f->tab[j] = (uint32_t)r + 1;
		}
		cur = f->tab[j] - 1;
		f->n[cur].v[which] += count;
		if (i + 1 > f->depth)
			f->depth = (uint32_t)(i + 1);
	}
	return 0;
}

const struct flame_node *flame_nodes(const struct flame *f, size_t *ret_n)
{
	*ret_n = f->len;
	return f->n;
}

const char *flame_name(const struct flame *f, uint32_t node, uint8_t *ret_cls)
{
	const char *s = strtab_get(f->names, f->n[node].name, NULL);

	if (ret_cls)
		*ret_cls = (uint8_t)(s[0] - '0');
	return s + 1;
}

size_t flame_name_count(const struct flame *f)
{
	return strtab_count(f->names);
}

const char *flame_name_by_id(const struct flame *f, uint32_t id)
{
	return strtab_get(f->names, id, NULL) + 1;
}

uint32_t flame_depth(const struct flame *f)
{
	return f->depth;
}
