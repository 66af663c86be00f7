/* SPDX-License-Identifier: GPL-2.0-only */
/* The query worker: one thread that runs the costly requests (top,
 * export) the loop hands it, in the order they come, and the turn-taking
 * that lets it read the store while the loop stays its only writer.
 *
 * Jobs: the loop submits a job (FIFO, bounded); the worker runs job->run on
 * its thread, then the loop runs job->done once the worker's eventfd says
 * so (worker_dispatch). A job owns its memory; done frees it.
 *
 * The store turn: the store, the stack and process tables and the
 * symbolizer are single-threaded. The worker reads them only between
 * worker_store_read_begin and _end; the loop writes them only between a
 * successful worker_store_try_acquire and worker_store_release. The loop
 * never waits: when the worker is reading, try_acquire fails, the loop
 * stages what it would have written, and the worker, before its next read,
 * waits until the loop has taken its turn (the end of a read wakes the
 * loop through the eventfd). */
#ifndef PROFD_API_WORKER_H
#define PROFD_API_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct worker;

struct worker_job {
	struct worker_job *next;           /* the worker's */
	void (*run)(struct worker_job *j);  /* on the worker thread */
	void (*done)(struct worker_job *j); /* on the loop thread, after run */
	bool force;                        /* not counted against max_queued */
};

struct worker_stats {
	uint64_t jobs;              /* jobs run */
	uint64_t queued;            /* waiting now (not running) */
	uint64_t queued_max;        /* the most ever waiting */
	uint64_t refused;           /* submissions refused: max_queued */
	uint64_t running;           /* 1 while a job runs */
	uint64_t reads;             /* store reads */
	uint64_t read_ns_max;       /* longest store read */
	uint64_t read_wait_ns_max;  /* longest wait for the loop's turn */
	uint64_t loop_denied;       /* loop turns deferred by a read */
};

/* Starts the thread. max_queued: jobs waiting at most (besides forced
 * ones). 0 and *ret, or -errno. */
int worker_new(size_t max_queued, struct worker **ret);
/* Stops the thread after its current job; every job not run gets done()
 * called without run(). NULL-safe; returns NULL. */
struct worker *worker_free(struct worker *w);
/* Readable when jobs finished or a store read ended. */
int worker_fd(const struct worker *w);
/* Queue j. 0, or -EBUSY when max_queued jobs wait already (j.force
 * skips the bound: a stream's next piece must not be refused). */
int worker_submit(struct worker *w, struct worker_job *j);
/* Loop: after worker_fd polled readable: runs done() of finished jobs. */
void worker_dispatch(struct worker *w);
void worker_get_stats(struct worker *w, struct worker_stats *ret);
/* Worker thread: true when a job is waiting besides the running one. */
bool worker_has_queue(struct worker *w);

/* Loop: hold the store for writing if the worker is not reading it.
 * false: it is being read; the worker will give it back before its next
 * read and wake the loop. */
bool worker_store_try_acquire(struct worker *w);
/* more: the loop has writes left (a backlog it applies in slices): the
 * worker still may not begin a read. */
void worker_store_release(struct worker *w, bool more);
/* Loop: true while the worker reads the store. */
bool worker_store_busy(struct worker *w);
/* Worker: wait for the loop's pending turn, then read. */
void worker_store_read_begin(struct worker *w);
void worker_store_read_end(struct worker *w);

#endif
