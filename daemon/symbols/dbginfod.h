/* SPDX-License-Identifier: GPL-2.0-only */
/* debuginfod client: debug files fetched by build-id from debuginfod
 * servers, through elfutils' libdebuginfod, into a bounded cache.
 *
 * libdebuginfod is a blocking HTTP client configured by environment
 * variables it reads at each query. So: dbginfod_new() sets them once
 * (DEBUGINFOD_URLS when configured, the cache path, timeouts, no retries)
 * before any loader thread runs, by installing a new environment array
 * atomically (the old one stays valid for any thread reading it); and
 * dbginfod_fetch() runs only on the symbol loader's fetch thread, one
 * client handle, one query at a time. A query is aborted at shutdown or
 * past its time bound (its progress callback); after a transport error
 * (server down, timeout) every query is held off with exponential
 * back-off, never retried in a tight loop; misses (the server has no such
 * file) are remembered by libdebuginfod's own cache for 10 minutes, and
 * per object by the symbolizer with its own back-off. TLS verification
 * stays as libcurl's default: on.
 *
 * The cache (libdebuginfod's layout: DIR/BUILDID/debuginfo) is bounded:
 * after each download the least recently used files are removed until it
 * fits (dbginfod_cache_trim). */
#ifndef PROFD_DBGINFOD_H
#define PROFD_DBGINFOD_H

#include <stddef.h>
#include <stdint.h>

#define DBGINFOD_BACKOFF_MIN_NS (10ull * 1000000000ull)   /* first hold-off after a transport error */
#define DBGINFOD_BACKOFF_MAX_NS (600ull * 1000000000ull)  /* longest hold-off */
#define DBGINFOD_TRIM_FILES 100000u /* cache entries looked at per trim */

struct dbginfod_opts {
	const char *urls;        /* space-separated server URLs; NULL or "": $DEBUGINFOD_URLS */
	const char *cache_dir;   /* absolute; created (0700) when missing */
	uint64_t cache_max;      /* bytes of cached files kept */
	uint32_t timeout_s;      /* a server must start sending within this (1..) */
	uint64_t max_file;       /* larger debug files are not downloaded */
};

/* Counts of one fetch, added to the symbolizer's. */
struct dbginfod_result {
	uint32_t queries;        /* queries made (0: held off, see err) */
	uint32_t downloaded;     /* files downloaded */
	uint32_t cached;         /* files found in the cache */
	uint32_t failures;       /* queries that failed (a miss, a transport error) */
	uint64_t bytes;          /* bytes downloaded */
	uint32_t evicted;        /* cache files removed to stay within cache_max */
	uint64_t cache_bytes;    /* cache size after the last trim (0: not measured) */
};

struct dbginfod;

/* 0 and *ret (NULL when no server URL is configured: debuginfod off), or
 * -EINVAL (relative cache_dir, no cache_dir), -ENOMEM. Call before other
 * threads read the environment. */
int dbginfod_new(const struct dbginfod_opts *opts, struct dbginfod **ret);
struct dbginfod *dbginfod_free(struct dbginfod *d);

/* The URLs in use (for the log), never NULL. */
const char *dbginfod_urls(const struct dbginfod *d);

/* Fetch the debug file of build_id (1..64 bytes), from the cache or a
 * server. Blocking: the fetch thread only. stop: read while waiting, a
 * non-zero value aborts. While queries are held off, the cache still
 * answers. Returns a read-only fd of the file, or -errno:
 * -ENOENT (no server has it), -EAGAIN (held off after a transport error),
 * -ECANCELED (stopped), other transport errors. *res gets the counts. */
int dbginfod_fetch(struct dbginfod *d, const uint8_t *build_id, size_t len, const int *stop,
		   struct dbginfod_result *res);

/* Remove the least recently modified files under dir's subdirectories
 * (files directly in dir are libdebuginfod's settings: kept) until the
 * rest is at most max_bytes; empty subdirectories go too. 0, *ret_bytes
 * (what stays) and *ret_evicted, or -errno (dir unreadable). Looks at no
 * more than DBGINFOD_TRIM_FILES files. */
int dbginfod_cache_trim(const char *dir, uint64_t max_bytes, uint64_t *ret_bytes, uint32_t *ret_evicted);

#endif
