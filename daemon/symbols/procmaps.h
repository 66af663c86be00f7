/* SPDX-License-Identifier: GPL-2.0-only */
/* /proc/PID/maps parser: text in, sorted mapping entries out.
 *
 * Pure: takes a buffer or a path, so tests feed fixtures. Malformed or
 * truncated lines are skipped and counted, never fatal. */
#ifndef PROFD_PROCMAPS_H
#define PROFD_PROCMAPS_H

#include <stddef.h>
#include <stdint.h>

#define PROCMAPS_R (1u << 0)
#define PROCMAPS_W (1u << 1)
#define PROCMAPS_X (1u << 2)
#define PROCMAPS_P (1u << 3) /* private (copy-on-write); else shared */

/* Bound on the text read from one maps file: 65530 mappings (the default
 * vm.max_map_count) of ~200 bytes each fit well under it. */
#define PROCMAPS_MAX_BYTES (32u << 20)

struct procmaps_entry {
	uint64_t start;      /* first address */
	uint64_t end;        /* one past the last address */
	uint64_t pgoff;      /* file offset of start */
	uint64_t inode;      /* 0 for anonymous mappings */
	uint32_t dev_major;
	uint32_t dev_minor;
	uint32_t perms;      /* PROCMAPS_* */
	uint32_t deleted;    /* 1: path had the " (deleted)" suffix (removed here) */
	const char *path;    /* "" anonymous, "[vdso]"/"[heap]"/..., or a file path */
};

struct procmaps;

/* Parse maps text buf[0..len). 0 and *ret set, or -errno (-ENOMEM only:
 * bad lines are skipped). */
int procmaps_parse(const char *buf, size_t len, struct procmaps **ret);
/* Read and parse a maps file (at most PROCMAPS_MAX_BYTES: the rest is
 * ignored and counted as truncated). 0 or -errno from open/read. */
int procmaps_read(const char *path, struct procmaps **ret);
struct procmaps *procmaps_free(struct procmaps *m);

size_t procmaps_count(const struct procmaps *m);
/* Entry i (0 <= i < count), sorted by start; NULL when out of range. */
const struct procmaps_entry *procmaps_get(const struct procmaps *m, size_t i);
/* Entry containing ip, NULL if none. Sets *ret_index when ret_index != NULL. */
const struct procmaps_entry *procmaps_find(const struct procmaps *m, uint64_t ip, size_t *ret_index);
/* Lines skipped as malformed (a truncated read counts as one). */
size_t procmaps_skipped(const struct procmaps *m);
/* Bytes held. */
size_t procmaps_bytes(const struct procmaps *m);

/* 1 when the entry maps a file (absolute path, inode != 0). What the file
 * is (regular, device, ...) only an fstat of it can tell. */
int procmaps_entry_is_file(const struct procmaps_entry *e);
/* 1 when the entry maps a file executable: the only mappings a sampled
 * IP can belong to. */
int procmaps_entry_is_code(const struct procmaps_entry *e);

#endif
