/* SPDX-License-Identifier: GPL-2.0-only */
/* String interning for encoders, see strtab.h. */
#include "profile/strtab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct sent {
	uint64_t off;  /* into buf */
	uint32_t len;
};

struct strtab {
	char *buf;          /* strings back to back, each NUL-terminated */
	size_t len, cap;
	struct sent *v;     /* by id */
	size_t n, vcap;
	uint32_t *tab;      /* id + 1, 0 = empty */
	size_t tcap;
	size_t max;
};

static uint64_t hash(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return h ^ (h >> 29);
}

int strtab_new(size_t max_bytes, struct strtab **ret)
{
	struct strtab *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->max = max_bytes;
	*ret = t;
	return 0;
}

struct strtab *strtab_free(struct strtab *t)
{
	if (!t)
		return NULL;
	free(t->buf);
	free(t->v);
	free(t->tab);
	free(t);
	return NULL;
}

size_t strtab_bytes(const struct strtab *t)
{
	return t->cap + t->vcap * sizeof(*t->v) + t->tcap * sizeof(*t->tab);
}

/* Would growing one part from old to new bytes pass the bound? */
static int over(const struct strtab *t, size_t old, size_t new)
{
	return t->max && strtab_bytes(t) - old + new > t->max;
}

static int rehash(struct strtab *t)
{
	size_t cap = t->tcap ? t->tcap * 2 : 1024;
	uint32_t *tab;

	if (over(t, t->tcap * sizeof(*tab), cap * sizeof(*tab)))
		return -E2BIG;
	tab = calloc(cap, sizeof(*tab));
	if (!tab)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++) {
		size_t j = hash(t->buf + t->v[i].off, t->v[i].len) & (cap - 1);

		while (tab[j])
			j = (j + 1) & (cap - 1);
		tab[j] = (uint32_t)i + 1;
	}
	free(t->tab);
	t->tab = tab;
	t->tcap = cap;
	return 0;
}

int strtab_intern(struct strtab *t, const char *s, size_t len)
{
	size_t j;
	int r;

	if (len > UINT32_MAX || t->n >= INT32_MAX)
		return -E2BIG;
	if ((t->n + 1) * 4 > t->tcap * 3 && (r = rehash(t)) < 0)
		return r;
	for (j = hash(s, len) & (t->tcap - 1); t->tab[j]; j = (j + 1) & (t->tcap - 1)) {
		const struct sent *e = &t->v[t->tab[j] - 1];

		if (e->len == len && !memcmp(t->buf + e->off, s, len))
			return (int)t->tab[j] - 1;
	}
	if (t->len + len + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 16384;
		char *nb;

		while (cap < t->len + len + 1)
			cap *= 2;
		if (over(t, t->cap, cap))
			return -E2BIG;
		nb = realloc(t->buf, cap);
		if (!nb)
			return -ENOMEM;
		t->buf = nb;
		t->cap = cap;
	}
	if (t->n == t->vcap) {
		size_t cap = t->vcap ? t->vcap * 2 : 256;
		struct sent *v;

		if (over(t, t->vcap * sizeof(*v), cap * sizeof(*v)))
			return -E2BIG;
		v = realloc(t->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		t->v = v;
		t->vcap = cap;
	}
	memcpy(t->buf + t->len, s, len);
	t->buf[t->len + len] = 0;
	t->v[t->n] = (struct sent){ .off = t->len, .len = (uint32_t)len };
	t->len += len + 1;
	t->tab[j] = (uint32_t)t->n + 1;
	return (int)t->n++;
}

int strtab_intern_str(struct strtab *t, const char *s)
{
	return strtab_intern(t, s, strlen(s));
}

const char *strtab_get(const struct strtab *t, uint32_t id, size_t *ret_len)
{
	if (id >= t->n)
		return NULL;
	if (ret_len)
		*ret_len = t->v[id].len;
	return t->buf + t->v[id].off;
}

size_t strtab_count(const struct strtab *t)
{
	return t->n;
}
