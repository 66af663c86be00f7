/* SPDX-License-Identifier: GPL-2.0-only */
/* Stack interning: identical stacks share one id.
 *
 * A stack is an array of frames, leaf first: kernel frames (if any) come
 * before user frames, as the kernel reports them. Frames are already reduced
 * to (object, address) by the symbolizer, so a stack id is independent of
 * the process it came from and stays valid after that process exits.
 * Bounded: when max_stacks is reached, new stacks are refused (counted). */
#ifndef PROFD_STACKS_H
#define PROFD_STACKS_H

#include <stddef.h>
#include <stdint.h>

#define STACK_FRAME_KERNEL (1u << 0) /* frame is a kernel frame */
/* The outermost frame names the sampled thread instead of code: addr is
 * the thread id, obj SYM_OBJ_UNKNOWN (profd's [sampling] thread_stacks).
 * It makes stacks per thread; the store itself does not look at it. */
#define STACK_FRAME_THREAD (1u << 1)

struct frame {
	uint32_t obj;   /* symbolizer object id (SYM_OBJ_KERNEL for kernel) */
	uint32_t flags; /* STACK_FRAME_* */
	uint64_t addr;  /* file offset, kernel IP, or raw IP (SYM_OBJ_UNKNOWN) */
};

#define STACK_F_TRUNCATED (1u << 0) /* user stack did not reach a root frame */
#define STACK_F_KSTACK_ERR (1u << 1)
#define STACK_F_USTACK_ERR (1u << 2)

/* Reserved ids: STACK_ID_NONE is never returned for a real stack. */
#define STACK_ID_NONE 0u
/* Samples whose stack could not be interned (table full) are accounted to
 * this id so the CPU time is not lost: rendered as "[stack table full]". */
#define STACK_ID_OVERFLOW 1u
/* Ids below STACK_ID_FIRST are reserved for pseudo-stacks (see window.h:
 * STACK_ID_COARSENED); stacks_intern() returns ids >= STACK_ID_FIRST. */
#define STACK_ID_FIRST 16u

struct stacks;

struct stacks_stats {
	uint64_t stacks;      /* stacks interned now */
	uint64_t bytes;       /* memory used by the table */
	uint64_t full_drops;  /* intern calls refused: max_stacks reached */
	uint64_t collected;   /* stacks freed by stacks_gc() */
};

/* max_stacks: bound on distinct stacks (>= 16). 0 and *ret, -EINVAL (bad
 * bound) or -ENOMEM; *ret is untouched on failure. */
int stacks_new(size_t max_stacks, struct stacks **ret);
struct stacks *stacks_free(struct stacks *t);

/* Intern frames[0..n) with flags (STACK_F_*). Marks the stack used at
 * now_ns. Returns the id (>= STACK_ID_FIRST), or STACK_ID_OVERFLOW when full. */
uint32_t stacks_intern(struct stacks *t, const struct frame *frames, uint32_t n, uint32_t flags, uint64_t now_ns);

/* Frames of a stack (leaf first). Returns the number of frames and sets
 * *ret_frames / *ret_flags, or -ENOENT for an unknown id. */
int stacks_get(const struct stacks *t, uint32_t id, const struct frame **ret_frames, uint32_t *ret_flags);

/* Free stacks last used before oldest_ns (no window slot can refer to
 * them any more). Returns the number freed. Ids are reused afterwards. */
size_t stacks_gc(struct stacks *t, uint64_t oldest_ns);

void stacks_get_stats(const struct stacks *t, struct stacks_stats *ret);

/* The hash that files stacks: any function of (frames, n, flags). The
 * default is a murmur3-style 64-bit mix. Replaceable on an empty table
 * only (NULL restores the default), so a test can force collisions. */
typedef uint64_t (*stacks_hash_fn)(const struct frame *frames, uint32_t n, uint32_t flags);
uint64_t stacks_hash_default(const struct frame *frames, uint32_t n, uint32_t flags);
void stacks_set_hash_fn(struct stacks *t, stacks_hash_fn fn);

#endif
