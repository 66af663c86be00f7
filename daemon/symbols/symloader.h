/* SPDX-License-Identifier: GPL-2.0-only */
/* Symbol-table loader: parses ELF files off the main thread for the symbolizer.
 *
 * The symbolizer describes what to load in a symloader_job (candidate paths
 * and the identity the file must have), submits it, and later takes the
 * finished jobs back on the main thread after the eventfd fires. The loader
 * owns only its two queues; it never touches symbolizer state, so the
 * symbolizer's tables need no lock. Internal to the symbolizer. */
#ifndef PROFD_SYMLOADER_H
#define PROFD_SYMLOADER_H

#include "symbols/elfsym.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#define SYMLOADER_PATHS 4 /* candidate paths per job, most preferred first */

/* Identity of a file that has no build-id: a rewritten file gets a new mtime. */
struct symloader_key {
	uint64_t dev;
	uint64_t ino;
	uint64_t mtime_ns;
};

static inline struct symloader_key symloader_key_of(const struct stat *st)
{
	return (struct symloader_key){
		.dev = st->st_dev, .ino = st->st_ino,
		.mtime_ns = (uint64_t)st->st_mtim.tv_sec * 1000000000ull + (uint64_t)st->st_mtim.tv_nsec,
	};
}

static inline int symloader_key_eq(const struct symloader_key *a, const struct symloader_key *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->mtime_ns == b->mtime_ns;
}

/* One load. The caller fills the request, the loader fills the result.
 * Strings are owned by the job and freed with it. */
struct symloader_job {
	struct symloader_job *next;  /* queue link: the loader's while submitted */
	/* Caller's bookkeeping, never read by the loader. */
	uint32_t obj;
	uint32_t paths_gen;
	/* Request: a candidate is accepted only if it carries build_id (when
	 * build_id_len > 0), else only if its key matches (when has_key). */
	uint8_t build_id[ELFSYM_BUILD_ID_MAX];
	size_t build_id_len;
	int has_key;
	struct symloader_key key;
	char *paths[SYMLOADER_PATHS];   /* NULL-terminated unless full */
	char *logical_dir;              /* dir as the process saw it, for debuglink; may be NULL */
	const char *debug_dirs;         /* not owned: must outlive the job */
	/* Result. */
	struct elfsym *table;           /* NULL on failure */
	int err;                        /* 0, or -errno of the last candidate tried */
};

/* Zeroed job; NULL on ENOMEM. */
struct symloader_job *symloader_job_new(void);
/* Frees the strings and any table still held. Accepts NULL, returns NULL. */
struct symloader_job *symloader_job_free(struct symloader_job *j);
/* Load synchronously on the calling thread (no worker): the first
 * candidate with the right identity is parsed, with separate debug
 * symbols added when it has no .symtab. Touches only j. */
void symloader_job_run(struct symloader_job *j);

struct symloader;

/* Start the worker thread. 0 and *ret, or -errno (eventfd, pthread_create,
 * -ENOMEM); *ret untouched on failure. */
int symloader_new(struct symloader **ret);
/* Stop and join the worker; jobs queued or finished but not taken are
 * freed. Accepts NULL, returns NULL. */
struct symloader *symloader_free(struct symloader *l);

/* eventfd (O_CLOEXEC, non-blocking) readable when finished jobs wait. */
int symloader_fd(const struct symloader *l);
/* Queue j; ownership passes to the loader until symloader_take_done()
 * hands it back. The caller bounds the number outstanding. */
void symloader_submit(struct symloader *l, struct symloader_job *j);
/* Finished jobs (linked by next, any order), or NULL. Resets the eventfd. */
struct symloader_job *symloader_take_done(struct symloader *l);

#endif
