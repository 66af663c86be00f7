/* SPDX-License-Identifier: GPL-2.0-only */
/* Table builder: builds unwind tables off the main thread. One worker
 * thread, a job queue in, a done list out; the owner takes finished jobs
 * back when it likes (each tick, or when the sampler asks). The builder
 * owns only its queues: no lock guards anything else. With `sync`, jobs
 * run on the calling thread at submission (unit tests). */
#ifndef PROFD_UNWIND_BUILDER_H
#define PROFD_UNWIND_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#include "unwind/table.h"

struct builder_job {
	struct builder_job *next;   /* queue link */
	uint32_t uid;               /* the owner's, never read by the builder */
	int fd;                     /* the ELF file (closed with the job), or -1: */
	const void *mem;            /* ... an image in memory (not owned) */
	size_t len;
	struct unwind_table *t;     /* result, NULL on failure */
	int err;                    /* unwind_table_build_*()'s return */
};

struct builder;

/* Start the worker (unless sync). 0 and *ret, or -errno; *ret untouched on
 * failure. */
int builder_new(int sync, struct builder **ret);
/* Stop and join the worker; jobs queued or not taken back are freed.
 * Accepts NULL, returns NULL. */
struct builder *builder_free(struct builder *b);

/* Build j (taken over by the builder until builder_take_done). */
void builder_submit(struct builder *b, struct builder_job *j);
/* Finished jobs (a list through next), NULL if none. */
struct builder_job *builder_take_done(struct builder *b);

/* Run j on the calling thread. */
void builder_job_run(struct builder_job *j);
/* Close the fd, free the table and the job. Accepts NULL, returns NULL. */
struct builder_job *builder_job_free(struct builder_job *j);

#endif
