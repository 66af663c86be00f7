/* SPDX-License-Identifier: GPL-2.0-only */
/* Unwinder: keeps the BPF unwinder's maps filled.
 *
 * - Objects: every executable file (or the vDSO) a tracked process maps gets
 *   a uid (never reused while profd runs), a descriptor slot and, once a
 *   worker thread has built it from the file's CFI, a compact table in the
 *   shared cell pool. Objects are keyed by build-id (else by device and
 *   inode), so one table serves every process and container that maps the
 *   same object. Objects are reference-counted by the processes that map
 *   them; a table nobody maps lingers (exec churn reuses it), then is
 *   evicted, and is evicted at once when the pool needs the room.
 * - Processes: the executable mappings of each sampled process, read from
 *   /proc/PID/maps on its first sample (the sampler flags processes it has
 *   no table for) and again when it samples a pc in no known mapping
 *   (dlopen, a new exec), rate-limited per process and bounded per tick.
 *
 * Everything runs on the main thread except table building; the worker owns
 * only its queue. The BPF maps are reached through an injectable backend so
 * that unit tests run the whole logic on plain memory. */
#ifndef PROFD_UNWIND_UNWINDER_H
#define PROFD_UNWIND_UNWINDER_H

#include <stddef.h>
#include <stdint.h>

#include "profd/unwind.h"

/* Where the tables go: the sampler's BPF maps (memory-mapped arrays and the
 * per-process hash), or plain memory in tests. */
struct unwind_backend {
	union profd_unw_cell *cells;     /* the row and page-index pool */
	uint32_t ncells;
	struct profd_unw_mapping *maps;  /* the mapping pool */
	uint32_t nmaps;
	struct profd_unw_obj *objs;      /* descriptors, indexed by slot */
	uint32_t nobjs;
	uint32_t max_procs;              /* capacity of the per-process hash */
	/* Set or delete the tgid's entry of the per-process hash: 0 or -errno
	 * (-E2BIG/-ENOMEM when the hash is full, -ENOENT for no entry). */
	int (*proc_set)(void *ctx, uint32_t tgid, const struct profd_unw_proc *v);
	int (*proc_del)(void *ctx, uint32_t tgid);
	void *ctx;
};

struct unwinder_opts {
	const char *procfs;          /* "/proc" unless a test injects a fixture */
	int python;                  /* 1: publish CPython 3.11 interpreters (pyelf.h) to the
				      * BPF walk, which then appends Python frames */
	struct unwind_backend be;
	int no_worker;               /* 1: build tables synchronously (tests) */
	uint64_t linger_ns;          /* unmapped tables kept this long; 0: default 60 s */
	uint64_t refresh_ns;         /* longest back-off between re-reads of a process; 0: default 2 s */
	uint32_t reads_per_tick;     /* /proc/PID/maps reads per tick; 0: default 64 */
	uint32_t queue_max;          /* builds queued at once; 0: default 256 */
	size_t pending_max_bytes;    /* built tables waiting for pool room; 0: default 16 MiB */
	const void *vdso;            /* the vDSO image to serve [vdso] (NULL: profd's own) */
	size_t vdso_len;
};

struct unwinder_stats {
	uint64_t objects;          /* objects known now */
	uint64_t tables;           /* objects with a table in the pool */
	uint64_t table_bytes;      /* pool bytes holding tables */
	uint64_t table_limit_bytes;/* pool size (unwind_memory) */
	uint64_t without_table;    /* mapped objects with no table: building, no CFI, failed, no room */
	uint64_t no_cfi;           /* of those: objects with no CFI at all */
	uint64_t builds;           /* tables built */
	uint64_t inline_builds;    /* of those: small objects built on the main thread */
	uint64_t build_failures;   /* files that could not be opened or parsed */
	uint64_t build_ns;         /* worker time spent building */
	uint64_t cfi_bytes;        /* CFI bytes parsed by those builds */
	uint64_t build_queue;      /* builds queued or running */
	uint64_t pool_full;        /* tables refused: no room even after eviction */
	uint64_t evictions;        /* tables evicted (lingered out, or for room) */
	uint64_t processes;        /* processes with a mapping table */
	uint64_t processes_known;  /* processes tracked (with or waiting for a table) */
	uint64_t process_full;     /* tables refused: per-process hash or mapping pool full */
	uint64_t mappings;         /* mapping entries in use */
	uint64_t mappings_limit;
	uint64_t maps_reads;       /* /proc/PID/maps reads */
	uint64_t maps_read_failures; /* processes gone or unreadable */
	uint64_t refreshes;        /* re-reads for a pc in no known mapping */
	uint64_t requests_deferred;/* reads left for the next tick (per-tick bound) */
	uint64_t mappings_cut;     /* processes with more than PROFD_UNW_MAX_PROC_MAPPINGS */
	uint64_t open_failures;    /* mapped files that could not be opened */
	uint64_t python_objects;   /* objects recognized as a CPython profd knows */
	uint64_t python_processes; /* mapping tables published with Python frames on */
};

struct unwinder;

/* 0 and *ret, or -errno (-EINVAL for an empty backend, -ENOMEM); *ret is
 * untouched on failure. The worker thread starts at the first build. */
int unwinder_new(const struct unwinder_opts *opts, struct unwinder **ret);
struct unwinder *unwinder_free(struct unwinder *u);

/* A sample of tgid was drained with sampler flags (PROFD_SF_*): a process
 * without a table, or a pc outside its known mappings, has its maps read
 * now while this tick's read budget lasts, else at the next
 * unwinder_tick(). Re-reads of a process back off from 50 ms to
 * refresh_ns. start_time: the group leader's start_boottime; ts_ns: the
 * sample's CLOCK_BOOTTIME. */
void unwinder_note_sample(struct unwinder *u, uint32_t tgid, uint64_t start_time, uint32_t flags, uint64_t ts_ns);
/* tgid exec'd at ts_ns (CLOCK_BOOTTIME): its old image's mappings are gone
 * (the BPF program deleted its entry already); a table read before ts_ns is
 * dropped. */
void unwinder_note_exec(struct unwinder *u, uint32_t tgid, uint64_t ts_ns);
/* tgid exited: its mapping table and its object references are released. */
void unwinder_forget(struct unwinder *u, uint32_t tgid);

/* Once per tick on the main thread: read the maps of requested processes
 * (bounded), queue builds, install finished tables, evict lingering ones.
 * now_ns: CLOCK_BOOTTIME. */
void unwinder_tick(struct unwinder *u, uint64_t now_ns);

/* Build-id of object uid (for naming its frames): 0 with *ret and *ret_len,
 * valid until the next unwinder_tick(), or -ENOENT (unknown uid, no id). */
int unwinder_object_build_id(struct unwinder *u, uint32_t uid, const uint8_t **ret, size_t *ret_len);

/* The path object uid was mapped at, as the process that first mapped it
 * saw it (inside its mount namespace), or NULL (the vDSO, unknown uid).
 * Valid until the next unwinder_tick(). */
const char *unwinder_object_path(struct unwinder *u, uint32_t uid);

/* A value the caller keeps per object (the daemon: its symbolizer object
 * id), so that it asks the symbolizer once per object. */
#define UNWINDER_TAG_NONE UINT32_MAX
uint32_t unwinder_object_tag(struct unwinder *u, uint32_t uid);
void unwinder_set_object_tag(struct unwinder *u, uint32_t uid, uint32_t tag);

void unwinder_get_stats(struct unwinder *u, struct unwinder_stats *ret);

#endif
