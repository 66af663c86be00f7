/* SPDX-License-Identifier: GPL-2.0-only */
/* Staging: what the loop drains from the BPF rings while the query worker
 * reads the store, kept in arrival order until the loop may write the
 * store again, then replayed. The loop never stops draining (so the
 * kernel loses nothing) and never writes the store under a reader.
 *
 * Records are copied into one growing buffer bounded by max_bytes; a
 * record that does not fit is refused (the caller counts it as dropped).
 * Tick records are small and always taken, past the bound if need be:
 * windows must advance at the ticks that happened, and their number is
 * bounded by how long a reader may hold the store (query_timeout). */
#ifndef PROFD_STAGING_H
#define PROFD_STAGING_H

#include <stddef.h>
#include <stdint.h>

enum staging_kind {
	STAGING_SAMPLE = 1, /* a CPU sample record; a = the drain's data_until */
	STAGING_PROC = 2,   /* an exec/exit event; a = when it was drained */
	STAGING_TICK = 3,   /* a tick; a = its time, b = its slot boundary */
};

struct staging_rec {
	uint32_t kind;
	uint32_t len;       /* bytes of data */
	uint64_t a, b;
	uint64_t staged_ns; /* CLOCK_MONOTONIC when staged */
	const void *data;
};

struct staging_stats {
	uint64_t bytes;      /* held now */
	uint64_t allocated;  /* memory allocated now (what the budget counts) */
	uint64_t records;    /* held now */
	uint64_t samples;    /* sample records held now */
	uint64_t bytes_max;  /* the most ever held */
	uint64_t refused;    /* records refused: max_bytes */
	uint64_t replayed;   /* records replayed, total */
};

struct staging;

/* 0 and *ret, -EINVAL (max_bytes 0) or -ENOMEM. */
int staging_new(size_t max_bytes, struct staging **ret);
struct staging *staging_free(struct staging *s);
/* Copy a record in. 0, -ENOBUFS (over max_bytes; not for ticks) or
 * -ENOMEM. now_ns is CLOCK_MONOTONIC, for the delay figures. */
int staging_push(struct staging *s, enum staging_kind kind, uint64_t a, uint64_t b, const void *data, size_t len,
		 uint64_t now_ns);
/* 1 when records are waiting. */
int staging_pending(const struct staging *s);
/* Hand the oldest records to fn in order, at most max of them (0: all),
 * so a long backlog can be applied in slices between other work. Once
 * every record is out the staging is empty again (memory past a small
 * reserve is released). fn must not push. Returns the number replayed. */
typedef void (*staging_fn)(const struct staging_rec *r, void *ctx);
size_t staging_replay(struct staging *s, staging_fn fn, void *ctx, size_t max);
void staging_get_stats(const struct staging *s, struct staging_stats *ret);

#endif
