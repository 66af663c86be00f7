/* SPDX-License-Identifier: GPL-2.0-only */
/* Names of Python frames: a code object's address in a process (what the
 * BPF walk records, include/profd/python.h) to "file.py:qualname".
 *
 * A Python frame becomes an entry, (process, start time, code address,
 * signature), at once and without I/O on the caller's thread: the entry's
 * id is what a stack stores. The code object and its two strings are read
 * from the process's memory (process_vm_readv, which takes the target's
 * mmap lock and may wait for it, or an injected reader in tests) on a
 * worker thread of its own, bounded in size; pycode_poll() installs the
 * names on the caller's thread. Until then, and when the read fails, the
 * entry is named "[python]".
 *
 * The signature (co_firstlineno and the co_filename / co_qualname
 * pointers, as the BPF walk saw them) is checked against the code object
 * read: a code object freed and its address reused by another function
 * fails the check and is named "[python]" rather than by the wrong name,
 * and an entry serves only the signature it was made with. Entries and
 * names are never freed (stacks refer to them); both have bounds, and
 * what they refuse is counted. */
#ifndef PROFD_SYMBOLS_PYCODE_H
#define PROFD_SYMBOLS_PYCODE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Reads len bytes at addr in process pid: len, or -errno. */
typedef ssize_t (*pycode_read_fn)(void *ctx, uint32_t pid, uint64_t addr, void *buf, size_t len);

struct pycode_opts {
	pycode_read_fn read;  /* NULL: process_vm_readv */
	void *ctx;
	uint32_t max_entries; /* 0: 262144 (32 bytes each) */
	uint32_t max_names;   /* 0: 65536 */
	int no_worker;        /* 1: pycode_poll() reads (tests) */
};

struct pycode_stats {
	uint64_t lookups;       /* frames turned into entries */
	uint64_t hits;          /* of those, to an existing entry */
	uint64_t entries;       /* entries made */
	uint64_t entries_full;  /* frames refused at the bound (named "[python]") */
	uint64_t pending;       /* entries waiting for their read */
	uint64_t queue_full;    /* reads deferred: the worker's queue was full */
	uint64_t reads;         /* code objects read from a process */
	uint64_t read_failures; /* unreadable (process gone, bad pointer) */
	uint64_t stale;         /* signature differs: freed / reused code object */
	uint64_t names;         /* distinct names interned */
	uint64_t names_full;    /* names refused at the bound (named "[python]") */
};

struct pycode;

/* 0 and *ret, or -ENOMEM / -errno (thread). */
int pycode_new(const struct pycode_opts *opts, struct pycode **ret);
/* Stops and joins the worker. */
struct pycode *pycode_free(struct pycode *p);

/* Entry id of the code object at code in process (tgid, start_time) whose
 * BPF signature is sig; a new entry's read is queued. 0 ("[python]") when
 * the entries are at their bound. Never blocks. */
uint64_t pycode_frame(struct pycode *p, uint32_t tgid, uint64_t start_time, uint64_t code, uint32_t sig);
/* Install the worker's finished reads (and, with no_worker, read now). */
void pycode_poll(struct pycode *p);
/* The name of entry id ("[python]" while unread or unreadable), or NULL
 * for an id never handed out. */
const char *pycode_lookup(const struct pycode *p, uint64_t id);
void pycode_get_stats(const struct pycode *p, struct pycode_stats *ret);

/* "file.py:qualname" from co_filename and the name (basename of the file;
 * the name as is). Exposed for tests. */
void pycode_format(const char *filename, const char *qualname, char *buf, size_t n);

#endif
