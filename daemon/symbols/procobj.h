/* SPDX-License-Identifier: GPL-2.0-only */
/* Process objects: user frames drained before their process's mappings were read.
 *
 * A raw user IP becomes (file object, file offset) only through the
 * process's /proc/PID/maps, and the symbolizer reads that on its worker
 * thread, never on the caller's. A frame drained before the read comes
 * back is given a process object instead: an id of its own (kept apart
 * from file objects) and the raw IP. The IPs handed out under it are
 * recorded; when the maps read comes back each is bound to its file
 * object and offset, or dropped when it lies in no code mapping, and
 * lookups go through that binding from then on.
 *
 * Bounded: objects and recorded frames both. When full, the least
 * recently used object is recycled; its frames then resolve to nothing
 * (rendered unknown) and count as recycled. Ids are not reused within
 * PROCOBJ_SPAN creations. Pure: no I/O, no clock (time is passed in). */
#ifndef PROFD_PROCOBJ_H
#define PROFD_PROCOBJ_H

#include <stddef.h>
#include <stdint.h>

#define PROCOBJ_FIRST 0x80000000u /* first id; file object ids stay far below */
#define PROCOBJ_SPAN (1u << 30)   /* ids PROCOBJ_FIRST .. PROCOBJ_FIRST + SPAN - 1 */
#define PROCOBJ_FRAMES_PER_OBJ 4096u /* distinct IPs recorded under one object */

static inline int procobj_is_id(uint32_t id)
{
	return id >= PROCOBJ_FIRST && id - PROCOBJ_FIRST < PROCOBJ_SPAN;
}

struct procobj_stats {
	uint64_t objects;   /* live process objects */
	uint64_t pending;   /* of them, awaiting their maps read */
	uint64_t frames;    /* recorded IPs */
	uint64_t recycled;  /* objects recycled to stay within the bound */
	uint64_t refused;   /* IPs not recorded: a frame bound was reached */
};

struct procobj;

/* max_objects >= 1, max_frames >= 1. 0 and *ret, or -EINVAL, -ENOMEM. */
int procobj_new(size_t max_objects, size_t max_frames, struct procobj **ret);
struct procobj *procobj_free(struct procobj *t);

/* A new object awaiting binding; 0 and *ret_id, or -ENOMEM. */
int procobj_create(struct procobj *t, uint64_t now, uint32_t *ret_id);
/* Record ip under the pending object id. 0, -ENOSPC (a frame bound was
 * reached), -ENOENT (no such object, or already bound). */
int procobj_add(struct procobj *t, uint32_t id, uint64_t ip, uint64_t now);

/* Binds one IP: 0 and outputs, or -errno to drop it. */
typedef int (*procobj_bind_fn)(void *ctx, uint64_t ip, uint32_t *ret_obj, uint64_t *ret_off);
/* Bind every IP recorded under id through fn; an object left with no
 * frame is freed. A recycled id is ignored. */
void procobj_bind(struct procobj *t, uint32_t id, procobj_bind_fn fn, void *ctx);
/* Drop a pending object whose maps read failed (the process is gone). */
void procobj_drop(struct procobj *t, uint32_t id);

/* (file object, offset) of frame (id, ip): 0, -EAGAIN while the object
 * awaits binding, -ENOENT when it never will (unknown or recycled id, ip
 * dropped at binding). */
int procobj_resolve(struct procobj *t, uint32_t id, uint64_t ip, uint64_t now, uint32_t *ret_obj,
		    uint64_t *ret_off);

void procobj_get_stats(const struct procobj *t, struct procobj_stats *ret);

#endif
