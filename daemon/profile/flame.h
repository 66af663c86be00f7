/* SPDX-License-Identifier: GPL-2.0-only */
/* A merged call tree for flame graphs: paths of (name, colour class)
 * frames, outermost first, merged by name under each parent, each node
 * holding two sample counts (v[0], v[1]: one profile, or the base and the
 * new window of a differential graph). Memory: 32 bytes per distinct path
 * prefix, a hash index of 8 bytes per slot and the distinct names once;
 * bounded by max_bytes. */
#ifndef PROFD_PROFILE_FLAME_H
#define PROFD_PROFILE_FLAME_H

#include <stddef.h>
#include <stdint.h>

#define FLAME_ROOT 0u
#define FLAME_NONE UINT32_MAX

struct flame_node {
	uint32_t name;         /* strtab id of the name (class byte first) */
	uint32_t parent;
	uint32_t child;        /* first child, FLAME_NONE */
	uint32_t next;         /* next sibling, FLAME_NONE */
	uint64_t v[2];
};

struct flame_frame {
	const char *name;
	uint8_t cls;           /* enum frame_class */
};

struct flame;

/* root_name, root_cls: the root node's name ("all") and class. 0 and
 * *ret, -ENOMEM. */
int flame_new(const char *root_name, uint8_t root_cls, size_t max_bytes, struct flame **ret);
struct flame *flame_free(struct flame *f);

/* Add count to v[which] of the root and of every node along path[0..n).
 * 0, -E2BIG (over the bound) or -ENOMEM. */
int flame_add(struct flame *f, int which, const struct flame_frame *path, size_t n, uint64_t count);

const struct flame_node *flame_nodes(const struct flame *f, size_t *ret_n);
/* Name and class of a node. */
const char *flame_name(const struct flame *f, uint32_t node, uint8_t *ret_cls);
/* Distinct (name, class) pairs, ids 0..count-1 (flame_node.name), and the
 * name of one of them. */
size_t flame_name_count(const struct flame *f);
const char *flame_name_by_id(const struct flame *f, uint32_t id);
/* Depth of the deepest node (root = 0). */
uint32_t flame_depth(const struct flame *f);

#endif
