/* SPDX-License-Identifier: GPL-2.0-only */
/* String interning for encoders: each distinct string gets a dense id
 * (0, 1, 2 ... in order of first sight), so an encoder can name a function
 * once however many stacks it is in, and write tables indexed by id
 * (pprof's string table, speedscope's frame table). Memory: the strings
 * once, plus 12 bytes per string and a hash table of 4 bytes per slot
 * (at most 3/4 full); bounded by max_bytes. */
#ifndef PROFD_PROFILE_STRTAB_H
#define PROFD_PROFILE_STRTAB_H

#include <stddef.h>
#include <stdint.h>

struct strtab;

/* max_bytes: bound on the table's memory, 0 for none. 0 and *ret, or
 * -ENOMEM. */
int strtab_new(size_t max_bytes, struct strtab **ret);
struct strtab *strtab_free(struct strtab *t);

/* Id of s[0..len) (interned on first sight). id >= 0, -E2BIG when the
 * bound is reached, -ENOMEM. */
int strtab_intern(struct strtab *t, const char *s, size_t len);
/* The same for a NUL-terminated string. */
int strtab_intern_str(struct strtab *t, const char *s);

/* String of id (NUL-terminated; valid until the next intern), its length. */
const char *strtab_get(const struct strtab *t, uint32_t id, size_t *ret_len);
size_t strtab_count(const struct strtab *t);
/* Memory held, bytes. */
size_t strtab_bytes(const struct strtab *t);

#endif
