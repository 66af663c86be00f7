/* SPDX-License-Identifier: GPL-2.0-only */
/* A small open-addressing hash map, 64-bit key -> 32-bit value, for the
 * unwinder's indexes (uid, build-id, file identity, tgid -> record).
 * Linear probing with backward-shift deletion; grows at 3/4 load. */
#ifndef PROFD_UNWIND_IMAP_H
#define PROFD_UNWIND_IMAP_H

#include <stddef.h>
#include <stdint.h>

#define IMAP_NONE UINT32_MAX /* no value: also the empty-slot marker */

struct imap {
	uint64_t *keys;
	uint32_t *vals; /* IMAP_NONE: empty */
	size_t cap, n;
};

/* A 64-bit mix (murmur3's finalizer): hashing and key derivation. */
uint64_t imap_mix(uint64_t x);

/* The value for key, IMAP_NONE if absent. */
uint32_t imap_get(const struct imap *m, uint64_t key);
/* Set key -> val (val != IMAP_NONE). 0 or -ENOMEM. */
int imap_put(struct imap *m, uint64_t key, uint32_t val);
void imap_del(struct imap *m, uint64_t key);
/* Free the arrays; the map is empty and usable again. */
void imap_fini(struct imap *m);

#endif
