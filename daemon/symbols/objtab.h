/* SPDX-License-Identifier: GPL-2.0-only */
/* Object table: one record per ELF file the symbolizer knows.
 *
 * An object is identified by its GNU build-id or, lacking one, by
 * (dev, ino, mtime); it keeps where its file can be opened from (newest
 * first), its display name and, once loaded, its symbol table. Ids are
 * dense from 1 (0 is SYM_OBJ_KERNEL) and never reused. Bounded by
 * max_objects: past it, lookups that would create an object return
 * SYM_OBJ_UNKNOWN and are counted. Main thread only; no I/O. */
#ifndef PROFD_OBJTAB_H
#define PROFD_OBJTAB_H

#include "symbols/symbolizer.h"
#include "symbols/symloader.h"

#include <stddef.h>
#include <stdint.h>

#define OBJTAB_PATHS SYMLOADER_PATHS /* candidate places kept per object */
#define OBJTAB_MAX_LIMIT (1u << 22)  /* max_objects is clamped to this */

enum obj_state { OBJ_IDLE, OBJ_QUEUED, OBJ_LOADED, OBJ_FAILED };

struct sym_object {
	uint8_t build_id[ELFSYM_BUILD_ID_MAX];
	uint8_t build_id_len;
	uint8_t has_key;
	uint8_t state;              /* enum obj_state: the symbolizer's */
	struct symloader_key key;   /* identity when there is no build-id */
	uint64_t size;              /* file size; 0 until identified or loaded */
	char *name;                 /* display basename; NULL until a path is known */
	char *logical_dir;          /* dirname as the process saw it (debuglink) */
	struct symloader_cand paths[OBJTAB_PATHS];
	uint32_t paths_gen;         /* bumped when a path is learned */
	uint32_t next_bid;          /* hash chains (object index or UINT32_MAX) */
	uint32_t next_key;
	struct elfsym *table;       /* owned; freed with the table */
	uint64_t last_use;
	uint64_t installed_poll;
};

struct objtab;

/* 0 and *ret, or -ENOMEM. */
int objtab_new(size_t max_objects, struct objtab **ret);
/* Frees every object, its strings and its symbol table. */
struct objtab *objtab_free(struct objtab *t);

/* Object id (1..count), or NULL for SYM_OBJ_KERNEL, SYM_OBJ_UNKNOWN and
 * ids never handed out. Pointers stay valid until the next object is
 * created. */
struct sym_object *objtab_get(struct objtab *t, uint32_t id);
/* The i-th object (0 <= i < count). */
struct sym_object *objtab_at(struct objtab *t, size_t i);
size_t objtab_count(const struct objtab *t);
/* Objects refused: max_objects reached. */
uint64_t objtab_full(const struct objtab *t);

/* Find or create by build-id (len 1..ELFSYM_BUILD_ID_MAX) or by key;
 * SYM_OBJ_UNKNOWN when full or out of memory. */
uint32_t objtab_by_build_id(struct objtab *t, const uint8_t *id, size_t len);
uint32_t objtab_by_key(struct objtab *t, const struct symloader_key *k);
/* Remember where the file opens from (newest first) and the path the
 * process saw (its dir for debuglink, its basename as the name). A new
 * place lets a failed object be retried. */
void objtab_add_path(struct objtab *t, uint32_t id, const struct symloader_cand *c, const char *logical);
/* Object for a file the worker identified; learns its places and size. */
uint32_t objtab_for_ident(struct objtab *t, const struct symloader_ident *id);

#endif
