/* SPDX-License-Identifier: GPL-2.0-only */
/* pid -> uint32 map, see pidmap.h. */
#include "collect/pidmap.h"

#include <errno.h>
#include <stdlib.h>

#define PIDMAP_MIN_CAP 64u

static inline uint32_t home(uint32_t pid, uint32_t mask)
{
	uint32_t h = pid * 0x9e3779b1u;

	return (h ^ (h >> 15)) & mask;
}

static uint32_t slot_of(const struct pidmap *m, uint32_t pid)
{
	uint32_t mask = m->cap - 1, i = home(pid, mask);

	while (m->keys[i] && m->keys[i] != pid)
		i = (i + 1) & mask;
	return i;
}

uint32_t *pidmap_get(const struct pidmap *m, uint32_t pid)
{
	uint32_t i;

	if (!m->cap || !pid)
		return NULL;
	i = slot_of(m, pid);
	return m->keys[i] ? &m->vals[i] : NULL;
}

static int grow(struct pidmap *m, uint32_t cap)
{
	struct pidmap n = { calloc(cap, sizeof(uint32_t)), calloc(cap, sizeof(uint32_t)), cap, m->n };

	if (!n.keys || !n.vals) {
		free(n.keys);
		free(n.vals);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < m->cap; i++) {
		if (m->keys[i]) {
			uint32_t j = slot_of(&n, m->keys[i]);

			n.keys[j] = m->keys[i];
			n.vals[j] = m->vals[i];
		}
	}
	free(m->keys);
	free(m->vals);
	*m = n;
	return 0;
}

int pidmap_put(struct pidmap *m, uint32_t pid, uint32_t val)
{
	uint32_t i;

	if (!pid)
		return -EINVAL;
	if ((m->n + 1) * 2 > m->cap && grow(m, m->cap ? m->cap * 2 : PIDMAP_MIN_CAP) < 0)
		return -ENOMEM;
	i = slot_of(m, pid);
	if (!m->keys[i]) {
		m->keys[i] = pid;
		m->n++;
	}
	m->vals[i] = val;
	return 0;
}

void pidmap_del(struct pidmap *m, uint32_t pid)
{
	uint32_t mask, i, j, k;

	if (!m->cap || !pid)
		return;
	mask = m->cap - 1;
	i = slot_of(m, pid);
	if (!m->keys[i])
		return;
	m->keys[i] = 0;
	m->n--;
	/* shift back every entry of the chain whose home is not in (i, j] */
	for (j = (i + 1) & mask; m->keys[j]; j = (j + 1) & mask) {
		k = home(m->keys[j], mask);
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		m->keys[i] = m->keys[j];
		m->vals[i] = m->vals[j];
		m->keys[j] = 0;
		i = j;
	}
}

void pidmap_release(struct pidmap *m)
{
	free(m->keys);
	free(m->vals);
	m->keys = m->vals = NULL;
	m->cap = m->n = 0;
}
