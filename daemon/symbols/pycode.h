/* SPDX-License-Identifier: GPL-2.0-only */
/* Names of Python frames: a code object's address in a process (what the
 * BPF walk records, include/profd/python.h) to "file.py:qualname".
 *
 * The code object and its two strings are read from the process's memory
 * (process_vm_readv, or an injected reader in tests), bounded in size,
 * then cached per (process, start time, code address, signature). The
 * signature (co_firstlineno and the co_filename / co_qualname pointers, as
 * the BPF walk saw them) is checked against the code object user space
 * reads: a code object freed and its address reused by another function
 * fails the check and is named "[python]" rather than by the wrong name,
 * and a cached entry serves only the signature it was read with. Names
 * are interned once and never freed (stacks refer to them by id); both
 * tables have bounds, and what they refuse is counted. */
#ifndef PROFD_SYMBOLS_PYCODE_H
#define PROFD_SYMBOLS_PYCODE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Reads len bytes at addr in process pid: len, or -errno. */
typedef ssize_t (*pycode_read_fn)(void *ctx, uint32_t pid, uint64_t addr, void *buf, size_t len);

struct pycode_stats {
	uint64_t lookups;       /* frames named */
	uint64_t hits;          /* of those, from the cache */
	uint64_t reads;         /* code objects read from a process */
	uint64_t read_failures; /* unreadable (process gone, bad pointer) */
	uint64_t stale;         /* signature differs: freed / reused code object */
	uint64_t cache_resets;  /* cache full: emptied */
	uint64_t names;         /* distinct names interned */
	uint64_t names_full;    /* names refused at the bound (named "[python]") */
};

struct pycode;

/* read NULL: process_vm_readv. max_names: bound on distinct names (0: 65536).
 * 0 and *ret, or -ENOMEM. */
int pycode_new(pycode_read_fn read, void *ctx, uint32_t max_names, struct pycode **ret);
struct pycode *pycode_free(struct pycode *p);

/* Name id of the code object at code in process (tgid, start_time) whose
 * BPF signature is sig; id 0 is "[python]" (unreadable, stale, or no room). */
uint32_t pycode_name(struct pycode *p, uint32_t tgid, uint64_t start_time, uint64_t code, uint32_t sig);
/* The name of id, or NULL for an id never handed out. */
const char *pycode_lookup(const struct pycode *p, uint64_t id);
void pycode_get_stats(const struct pycode *p, struct pycode_stats *ret);

/* "file.py:qualname" from co_filename and the name (basename of the file;
 * the name as is). Exposed for tests. */
void pycode_format(const char *filename, const char *qualname, char *buf, size_t n);

#endif
