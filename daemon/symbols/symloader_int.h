/* SPDX-License-Identifier: GPL-2.0-only */
/* The symbol loader's state, shared by its parts: symloader.c (threads,
 * queues, jobs), symident.c (identify and exec threads: maps reads, file
 * identity, the vdso), symload.c (load and fetch threads: symbol tables,
 * debuginfod, JIT maps). Internal to daemon/symbols/. */
#ifndef PROFD_SYMLOADER_INT_H
#define PROFD_SYMLOADER_INT_H

#include "symbols/symloader.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define IDCACHE_SLOTS 16384 /* (dev, ino, mtime) -> build-id; cleared when 3/4 full */
#define LEAKED_MAX 8        /* loaders left behind by stuck threads (kept reachable) */

enum { W_EXEC, W_IDENTIFY, W_LOAD, W_FETCH, W_COUNT };

struct idcache_slot {
	struct symloader_key key;
	uint64_t size;
	uint8_t build_id[ELFSYM_BUILD_ID_MAX];
	uint8_t build_id_len;
	uint8_t used;
};

struct worker {
	pthread_t thread;
	pthread_cond_t cond;
	struct symloader_job *queue, *tail;
	int started;
	int exited;
};

struct symloader {
	char *procfs;
	char *debug_dirs;
	int threads;
	unsigned load_flags;
	struct dbginfod *dbginfod;  /* fetch thread only, after start */
	/* The daemon's own vdso: its image in a memfd (what vdso tables load
	 * from), its bytes (what a process's vdso is compared with). */
	int vdso_fd;
	const unsigned char *vdso_img;
	size_t vdso_len;
	uint8_t vdso_bid[ELFSYM_BUILD_ID_MAX];
	size_t vdso_bid_len;
	/* The mutex guards the queues, the done list, `stop` and `exited`. */
	pthread_mutex_t lock;
	struct worker w[W_COUNT];
	struct symloader_job *done;
	int stop;
	int efd;
	/* Shared by the exec and identify threads; the lock is never held
	 * across I/O. */
	pthread_mutex_t idlock;
	struct idcache_slot *idcache;
	size_t nidcache;
};

/* Free a candidate's strings and zero it. */
void symloader_cand_clear(struct symloader_cand *c);
/* Fill a candidate (strings copied): 0 or -ENOMEM (c left clear). */
int symloader_cand_set(struct symloader_cand *c, const char *root, const char *path, int magic);

/* symident.c: a MAPS job (identify thread), an EXEC job (exec thread). */
void symloader_run_maps(struct symloader *l, struct symloader_job *j);
void symloader_run_exec(struct symloader *l, struct symloader_job *j);
/* symload.c: a LOAD job (load or fetch thread), a PERFMAP job (load
 * thread); the daemon's own vdso image, read once at start. */
void symloader_run_load(struct symloader *l, struct symloader_job *j);
void symloader_run_perfmap(struct symloader *l, struct symloader_job *j);
void symloader_vdso_init(struct symloader *l);

#endif
