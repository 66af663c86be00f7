/* SPDX-License-Identifier: GPL-2.0-only */
/* An on-disk queue of payloads in one directory under the state directory:
 * one file per payload, named by its sequence number, written to a
 * temporary name and renamed into place (a crash leaves either the whole
 * file or none), with a header and a CRC-32 over its contents (a torn or
 * altered file is detected, removed and counted, never sent). Paths come
 * only from the configuration: the state directory and a target name; every
 * component below the state directory is opened with O_NOFOLLOW.
 *
 * Files are not fsync'd: the spool exists to survive an outage of the
 * receiver and a restart of profd, and an fsync per payload in the event
 * loop could stall it behind a busy disk. A power loss may lose the newest
 * payloads; the checksum turns a torn one into a counted drop. */
#ifndef PROFD_NET_SPOOL_H
#define PROFD_NET_SPOOL_H

#include <stddef.h>
#include <stdint.h>

struct spool;

struct spool_stats {
	uint64_t files;       /* payloads on disk */
	uint64_t bytes;       /* their size, headers included */
	uint64_t corrupt;     /* files removed: bad header or checksum */
	uint64_t write_errors;
};

/* Called for every valid payload found at open, oldest (lowest seq) first. */
typedef void (*spool_found_fn)(uint64_t seq, uint64_t created_ms, uint64_t bytes, void *ctx);

/* Open (creating 0700 as needed) state_dir/spool/name; name is one path
 * component of [A-Za-z0-9_.-] not starting with '.'. Stale temporary files
 * are removed, payloads reported to fn in order. 0 and *ret, -EINVAL (bad
 * name), -ENOTDIR/-ELOOP (a component is not a directory, or a symlink),
 * or -errno. */
int spool_open(const char *state_dir, const char *name, spool_found_fn fn, void *ctx, struct spool **ret);
struct spool *spool_free(struct spool *s);

/* Store a payload: a URL suffix (may be "") and a body. 0 and *ret_bytes
 * (its size on disk), or -errno (counted in write_errors). */
int spool_write(struct spool *s, uint64_t seq, uint64_t created_ms, const char *suffix, const void *body,
		size_t len, uint64_t *ret_bytes);
/* Read payload seq back: *ret_suffix and *ret_body malloc'd (the body has
 * a NUL after len bytes). 0, -ENOENT, -EBADMSG (corrupt: the file is
 * removed and counted) or -errno. */
int spool_read(struct spool *s, uint64_t seq, char **ret_suffix, char **ret_body, size_t *ret_len);
/* Remove payload seq (bytes: its size, for the totals). */
void spool_remove(struct spool *s, uint64_t seq, uint64_t bytes);

void spool_get_stats(const struct spool *s, struct spool_stats *ret);

/* The header of a spool file (exposed for tests that corrupt one). */
#define SPOOL_MAGIC "PRFDSPL1"
#define SPOOL_HEADER_SIZE 40
/* Largest payload accepted (bounds what a read allocates). */
#define SPOOL_MAX_PAYLOAD (256u << 20)

#endif
