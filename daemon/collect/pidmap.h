/* SPDX-License-Identifier: GPL-2.0-only */
/* pid -> uint32 map (open addressing, linear probing, deletions shift the
 * probe chain back: no tombstones, no rehash on churn). The collector's
 * followed set and resources' scheduler baselines index their dense
 * arrays with it. pid 0 is not a key. */
#ifndef PROFD_PIDMAP_H
#define PROFD_PIDMAP_H

#include <stdint.h>

struct pidmap {
	uint32_t *keys;  /* 0: empty */
	uint32_t *vals;
	uint32_t cap;    /* 0 or a power of two, kept above 2 x n */
	uint32_t n;
};

/* The value of pid, or NULL. */
uint32_t *pidmap_get(const struct pidmap *m, uint32_t pid);
/* Insert or overwrite. 0, -EINVAL (pid 0) or -ENOMEM. */
int pidmap_put(struct pidmap *m, uint32_t pid, uint32_t val);
/* Remove pid if present. */
void pidmap_del(struct pidmap *m, uint32_t pid);
void pidmap_release(struct pidmap *m);

#endif
