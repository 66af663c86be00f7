/* SPDX-License-Identifier: GPL-2.0-only */
/* Symbol-file worker: every file access of the symbolizer happens here.
 *
 * Three threads, each with its own queue, so a slow table load never
 * delays identification, a burst of maps reads never delays an exec, and
 * a file stuck on a hung mount blocks one thread, never the caller's loop:
 *  - the exec thread resolves exec'd paths inside the process's root, at
 *    once: a process that lives 50 ms must still be there;
 *  - the identify thread reads /proc/PID/maps and learns which file backs
 *    each executable mapping (build-id, or dev/ino/mtime);
 *  - the load thread parses symbol tables.
 * The symbolizer describes the work in a symloader_job, submits it, and
 * takes finished jobs back on its own thread after the eventfd fires. The
 * loader owns only its queues and the identification cache; it never
 * touches symbolizer state, so the symbolizer's tables need no lock.
 * Internal to the symbolizer. */
#ifndef PROFD_SYMLOADER_H
#define PROFD_SYMLOADER_H

#include "symbols/elfsym.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#define SYMLOADER_PATHS 4   /* candidate paths per object, most preferred first */
#define SYMLOADER_IDENT_PATHS 3 /* candidates found per identified file */
#define SYMLOADER_NO_IDENT UINT32_MAX
/* Executable file mappings identified per maps read; the rest are
 * ignored (counted in ident_failures). */
#define SYMLOADER_MAX_MAPS 16384u

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

/* Where a file can be opened from. */
struct symloader_cand {
	char *root;  /* NULL: path is a host path; else path is resolved inside
		      * this directory ("/proc/PID/root"), see util_open_path() */
	char *path;  /* NULL: unused slot */
	int magic;   /* path is a /proc/PID/map_files link: may be followed */
};

/* A file identified on the identify thread. */
struct symloader_ident {
	uint8_t build_id[ELFSYM_BUILD_ID_MAX];
	size_t build_id_len;          /* 0: identified by key */
	struct symloader_key key;
	uint64_t size;                /* file size */
	char *logical;                /* path as the process sees it */
	struct symloader_cand cands[SYMLOADER_IDENT_PATHS]; /* preferred first */
};

/* An executable file mapping of a maps read. */
struct symloader_map {
	uint64_t start;
	uint64_t end;
	uint64_t pgoff;
	uint32_t ident;               /* index in idents, or SYMLOADER_NO_IDENT */
};

enum symloader_kind {
	SYMLOADER_LOAD,  /* parse a symbol table (load thread) */
	SYMLOADER_MAPS,  /* read procfs/PID/maps, identify its code files (identify thread) */
	SYMLOADER_EXEC,  /* identify an exec'd path inside procfs/PID/root (exec thread) */
};

/* One piece of work. The caller fills the request, the loader the result;
 * everything is owned by the job and freed with it. */
struct symloader_job {
	struct symloader_job *next;  /* queue link: the loader's while submitted */
	enum symloader_kind kind;
	/* Caller's bookkeeping, never read by the loader. */
	uint32_t obj;
	uint32_t paths_gen;
	uint32_t req;
	/* LOAD request: a candidate is accepted only if it carries build_id
	 * (when build_id_len > 0), else only if its key matches (has_key). */
	uint8_t build_id[ELFSYM_BUILD_ID_MAX];
	size_t build_id_len;
	int has_key;
	struct symloader_key key;
	struct symloader_cand paths[SYMLOADER_PATHS];
	char *logical_dir;              /* dir as the process saw it, for debuglink; may be NULL */
	/* MAPS and EXEC request. */
	uint32_t pid;
	char *path;                     /* EXEC: the path as the process named it */
	/* LOAD result. */
	struct elfsym *table;           /* NULL on failure */
	uint64_t size;                  /* size of the file loaded */
	/* MAPS / EXEC result. */
	struct symloader_map *maps;     /* MAPS: sorted by start */
	size_t nmaps;
	struct symloader_ident *idents; /* EXEC: exactly one on success */
	size_t nidents;
	uint32_t ident_failures;        /* code files that could not be identified */
	int root_same;                  /* the process has our root and mount namespace */
	int err;                        /* 0, or -errno (LOAD: of the last candidate tried;
					 * MAPS/EXEC: the process or its maps/root is gone) */
};

/* Zeroed job; NULL on ENOMEM. */
struct symloader_job *symloader_job_new(enum symloader_kind kind);
/* Frees the strings, results and any table still held. Accepts NULL,
 * returns NULL. */
struct symloader_job *symloader_job_free(struct symloader_job *j);

struct symloader_opts {
	const char *procfs;      /* "/proc" or a test fixture root */
	const char *debug_dirs;  /* ':'-separated debug file dirs */
	int threads;             /* 0: symloader_submit() runs the job at once
				  * on the caller's thread (unit tests) */
};

struct symloader;

/* New loader (copies opts' strings); with threads, starts all three.
 * 0 and *ret, or -errno (eventfd, pthread_create, -ENOMEM); *ret
 * untouched on failure. */
int symloader_new(const struct symloader_opts *opts, struct symloader **ret);
/* Stop the threads; jobs queued or finished but not taken are freed. A
 * thread still stuck in a file operation after SYMLOADER_JOIN_MS is left
 * behind with what it uses (the process is about to exit, and a hung
 * mount must not hold it). Accepts NULL, returns NULL. */
#define SYMLOADER_JOIN_MS 2000
struct symloader *symloader_free(struct symloader *l);

/* eventfd (O_CLOEXEC, non-blocking) readable when finished jobs wait;
 * -1 without threads. */
int symloader_fd(const struct symloader *l);
/* Queue j (or run it now, without threads); ownership passes to the
 * loader until symloader_take_done() hands it back. The caller bounds
 * the number outstanding. */
void symloader_submit(struct symloader *l, struct symloader_job *j);
/* Finished jobs (linked by next, any order), or NULL. Resets the eventfd. */
struct symloader_job *symloader_take_done(struct symloader *l);

#endif
