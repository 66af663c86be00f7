/* SPDX-License-Identifier: GPL-2.0-only */
/* JIT objects: the anonymous executable mappings of one process life.
 *
 * A frame in JIT code is (JIT object, raw IP): its name comes from the
 * process's /tmp/perf-PID.map (perfmap.h), which that process writes and
 * which is readable only while it lives (through /proc/PID/root). So a
 * JIT object belongs to one process: the symbolizer creates it at the
 * first maps read that shows JIT code and retires it when the process
 * exits (or leaves the pid cache); a retired object keeps the names it
 * has loaded but is never read again. An exec keeps it (the exec event
 * may be handled after a maps read of the new image; the map is re-read
 * whenever the file changes).
 *
 * Bounded: max objects; the least recently used is recycled and its
 * frames render "[jit]". Ids have their own range, apart from file and
 * process objects, and are not reused within JITTAB_SPAN / max
 * recyclings of a slot. Pure: no I/O, no clock. Main thread only. */
#ifndef PROFD_JITTAB_H
#define PROFD_JITTAB_H

#include "symbols/perfmap.h"
#include "symbols/symloader.h"

#include <stddef.h>
#include <stdint.h>

#define JITTAB_FIRST 0x40000000u /* first id: above file objects, below process objects */
#define JITTAB_SPAN (1u << 29)

static inline int jittab_is_id(uint32_t id)
{
	return id >= JITTAB_FIRST && id - JITTAB_FIRST < JITTAB_SPAN;
}

enum jit_state { JIT_IDLE, JIT_QUEUED, JIT_LOADED };

struct jitobj {
	uint32_t id;              /* 0: free slot */
	uint32_t pid;
	uint32_t gen;             /* recyclings of this slot */
	uint8_t live;             /* the process life is current: its map may be read */
	uint8_t state;            /* enum jit_state */
	uint8_t rereading;        /* a re-read of the loaded map is queued */
	struct perfmap *table;
	struct symloader_key key; /* the map file as last read (dev, ino, mtime) */
	uint64_t size;            /* and its size */
	uint64_t read_ns;         /* when a read was last asked for */
	uint64_t last_use;
	uint64_t installed_poll;
};

struct jittab_stats {
	uint64_t objects;   /* JIT objects in use */
	uint64_t loaded;    /* of them, with a map in memory */
	uint64_t bytes;     /* held by their maps */
	uint64_t recycled;  /* objects recycled to stay within the bound */
};

struct jittab;

/* max >= 1. 0 and *ret, or -EINVAL, -ENOMEM. */
int jittab_new(size_t max, struct jittab **ret);
struct jittab *jittab_free(struct jittab *t);

/* A new live object for pid (recycling the least recently used when
 * full). Returns its id. */
uint32_t jittab_create(struct jittab *t, uint32_t pid, uint64_t now);
/* The object with id, or NULL (unknown or recycled). */
struct jitobj *jittab_get(struct jittab *t, uint32_t id);
/* No more reads for this object (exec, exit). Unknown ids are ignored. */
void jittab_retire(struct jittab *t, uint32_t id);

/* Install a freshly read map (ownership passes; the old one is freed). */
void jittab_set_table(struct jittab *t, struct jitobj *o, struct perfmap *m, uint64_t poll);
/* Drop the map of o (eviction): it is read again if still live. */
void jittab_drop_table(struct jittab *t, struct jitobj *o);
/* The loaded object used least recently, not installed at poll, or NULL. */
struct jitobj *jittab_oldest_loaded(struct jittab *t, uint64_t poll);

void jittab_get_stats(const struct jittab *t, struct jittab_stats *ret);

#endif
