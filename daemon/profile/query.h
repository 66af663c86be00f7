/* SPDX-License-Identifier: GPL-2.0-only */
/* Window queries shared by every reader of the store (top, export,
 * alerts, pushers): sample counts per (process, stack) over the last span
 * of drained data, optionally of one process. */
#ifndef PROFD_PROFILE_QUERY_H
#define PROFD_PROFILE_QUERY_H

#include <stddef.h>
#include <stdint.h>

struct window;
struct stacks;
struct proctable;
struct symbolizer;

/* What a query or a profile is read from: the store and the symbolizer,
 * passed explicitly so that nothing below the API holds the daemon. */
struct profile_src {
	struct window *win;
	struct stacks *stacks;
	struct proctable *procs;
	struct symbolizer *sym;
	uint64_t data_until_ns; /* slot boundary all drained data precedes */
	uint64_t start_ns;      /* daemon start: no data before it */
	uint32_t frequency;     /* Hz per CPU */
	/* The comm of thread tid of process tgid into buf ("" if unknown),
	 * for stacks that carry a thread (STACK_FRAME_THREAD); NULL: names
	 * unknown. */
	void (*thread_name)(void *ctx, uint32_t tgid, uint32_t tid, char *buf, size_t n);
	void *thread_ctx;
	/* Bounds of one query, so that a reader sharing the store with the
	 * ingesting loop gives it back in time and in bounded memory. */
	uint64_t deadline_ns;   /* CLOCK_MONOTONIC; past it: -ETIMEDOUT. 0: none */
	size_t max_bytes;       /* query result / profile memory; over: -E2BIG. 0: none */
	int show_kaddr;         /* 1: kernel addresses may be shown (root clients) */
};

struct pq_filter {
	uint32_t tgid;          /* 0: every process */
	const char *comm;       /* fnmatch(3) glob on the comm, NULL: any */
	/* A further test by the caller (a systemd unit, ...): non-zero keeps
	 * the process id. NULL: none. */
	int (*accept)(void *ctx, uint32_t proc);
	void *accept_ctx;
};

struct pq_entry {
	uint32_t proc, stack;
	uint64_t count;
};

struct pq_result {
	struct pq_entry *v;
	size_t n, cap;
	uint64_t covered_ns;    /* the window, cut at the daemon's start */
	uint64_t from_ns, to_ns;
};

/* Counts over [data_until - span, data_until]. 0 and *ret (release with
 * pq_result_release, also on failure), or -ENOMEM, -ETIMEDOUT (past
 * src->deadline_ns), -E2BIG (the result passes src->max_bytes) or the
 * store's -errno. */
int profile_query(const struct profile_src *src, uint64_t span_ns, const struct pq_filter *f, struct pq_result *ret);
/* Counts over the slots intersecting [from_ns, to_ns) (CLOCK_BOOTTIME),
 * cut at the daemon's start and at data_until; the result's from/to are
 * those of the slots used. Same returns as profile_query. */
int profile_query_range(const struct profile_src *src, uint64_t from_ns, uint64_t to_ns, const struct pq_filter *f,
			struct pq_result *ret);
/* Whether process id proc passes f (NULL passes everything). */
int pq_filter_match(const struct profile_src *src, const struct pq_filter *f, uint32_t proc);
void pq_result_release(struct pq_result *r);
/* 1 when src has a deadline and it has passed. */
int profile_src_expired(const struct profile_src *src);

#endif
