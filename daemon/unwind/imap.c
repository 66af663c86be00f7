/* SPDX-License-Identifier: GPL-2.0-only */
/* Open-addressing u64 -> u32 map. See imap.h. */
#include "unwind/imap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

uint64_t imap_mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

static int imap_grow(struct imap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64;
	uint64_t *k = malloc(cap * sizeof(*k));
	uint32_t *v = malloc(cap * sizeof(*v));

	if (!k || !v) {
		free(k);
		free(v);
		return -ENOMEM;
	}
	for (size_t i = 0; i < cap; i++)
		v[i] = IMAP_NONE;
	for (size_t i = 0; i < m->cap; i++) {
		size_t j;

		if (m->vals[i] == IMAP_NONE)
			continue;
		for (j = imap_mix(m->keys[i]) & (cap - 1); v[j] != IMAP_NONE; j = (j + 1) & (cap - 1))
			;
		k[j] = m->keys[i];
		v[j] = m->vals[i];
	}
	free(m->keys);
	free(m->vals);
	m->keys = k;
	m->vals = v;
	m->cap = cap;
	return 0;
}

uint32_t imap_get(const struct imap *m, uint64_t key)
{
	if (!m->cap)
		return IMAP_NONE;
	for (size_t j = imap_mix(key) & (m->cap - 1); m->vals[j] != IMAP_NONE; j = (j + 1) & (m->cap - 1))
		if (m->keys[j] == key)
			return m->vals[j];
	return IMAP_NONE;
}

int imap_put(struct imap *m, uint64_t key, uint32_t val)
{
	size_t j;

	if ((m->n + 1) * 4 > m->cap * 3 && imap_grow(m) < 0)
		return -ENOMEM;
	for (j = imap_mix(key) & (m->cap - 1); m->vals[j] != IMAP_NONE; j = (j + 1) & (m->cap - 1)) {
		if (m->keys[j] == key) {
			m->vals[j] = val;
			return 0;
		}
	}
	m->keys[j] = key;
	m->vals[j] = val;
	m->n++;
	return 0;
}

void imap_del(struct imap *m, uint64_t key)
{
	size_t j, k;

	if (!m->cap)
		return;
	for (j = imap_mix(key) & (m->cap - 1); m->vals[j] != IMAP_NONE; j = (j + 1) & (m->cap - 1))
		if (m->keys[j] == key)
			break;
	if (m->vals[j] == IMAP_NONE)
		return;
	/* backward-shift deletion keeps every probe chain unbroken */
	m->vals[j] = IMAP_NONE;
	m->n--;
	for (k = (j + 1) & (m->cap - 1); m->vals[k] != IMAP_NONE; k = (k + 1) & (m->cap - 1)) {
		size_t home = imap_mix(m->keys[k]) & (m->cap - 1);

		if ((k > j && (home <= j || home > k)) || (k < j && home <= j && home > k)) {
			m->keys[j] = m->keys[k];
			m->vals[j] = m->vals[k];
			m->vals[k] = IMAP_NONE;
			j = k;
		}
	}
}

void imap_fini(struct imap *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}
