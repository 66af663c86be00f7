/* SPDX-License-Identifier: GPL-2.0-only */
/* The symbolizer's state, shared by its two halves: symbolizer.c (per-pid
 * code mappings, frames to objects, the public entry points) and
 * symcache.c (symbol tables: local and remote loads, JIT maps, the cache
 * bound, lookups in loaded tables). Internal to daemon/symbols/. */
#ifndef PROFD_SYMBOLIZER_INT_H
#define PROFD_SYMBOLIZER_INT_H

#include "symbols/jittab.h"
#include "symbols/ksyms.h"
#include "symbols/objtab.h"
#include "symbols/procobj.h"
#include "symbols/pycode.h"
#include "symbols/symbolizer.h"
#include "symbols/symloader.h"

#include <stddef.h>
#include <stdint.h>

#define DEFAULT_CACHE_BYTES (256u << 20)
#define DEFAULT_MAX_OBJECTS 65536u
#define PID_CACHE_MAX 1024        /* processes whose code mappings are kept */
#define PID_BUCKETS 2048
#define LOAD_QUEUE_MAX 256        /* table loads queued or running */
#define REQ_MAX 256               /* maps reads and exec identifications in flight */
#define MAPS_REREAD_NS 50000000ull /* a pid's maps are re-read at most every 50 ms */
#define GONE_RETRY_NS 1000000000ull /* a pid whose maps read failed is retried after 1 s
				     * (its exit event may have been lost, the pid reused) */
#define PROC_OBJECTS_MAX 16384    /* process objects (see procobj.h) */
#define PROC_FRAMES_MAX (256u << 10) /* frames recorded under them: 24 bytes each */
#define JIT_OBJECTS_MAX 1024      /* JIT objects (process lives with JIT code) */
#define JIT_QUEUE_MAX 64          /* perf-PID.map reads queued or running */
#define JIT_REREAD_NS 1000000000ull /* a JIT map is read at most once a second */
#define FETCH_QUEUE_MAX 32        /* remote (debuginfod) loads queued or running */
#define FETCH_BACKOFF_MIN_NS (60ull * 1000000000ull)   /* an object's first wait after a failed fetch */
#define FETCH_BACKOFF_MAX_NS (86400ull * 1000000000ull) /* its longest */
#define DEFAULT_DBGINFOD_CACHE (1ull << 30)
#define DEFAULT_DBGINFOD_TIMEOUT_S 10
#define NIL UINT32_MAX /* end of a pid bucket chain */

/* A code mapping of a process, its file already identified. */
struct pmap {
	uint64_t start;
	uint64_t end;
	uint64_t pgoff;
	uint32_t obj;               /* file object, or SYM_OBJ_UNKNOWN */
};

struct pid_entry {
	uint32_t pid;
	uint32_t used;
	uint32_t next;              /* bucket chain (slot index or NIL) */
	uint32_t have_maps;
	struct pmap *maps;          /* sorted by start */
	size_t nmaps;
	uint64_t read_ns;           /* when the last maps read was asked for */
	uint32_t req;               /* maps read in flight (request id), 0: none */
	uint32_t req_slot;
	uint32_t gone;              /* its maps could not be read: ask again only
				     * after GONE_RETRY_NS */
	uint32_t jit;               /* its JIT object (this life), 0: none yet */
	uint64_t last_use;
};

/* A maps read or exec identification in flight: what to bind on return. */
struct request {
	uint32_t id;                /* 0: free */
	uint32_t pobj;              /* process object awaiting this read, 0: none */
};

struct symbolizer {
	struct pycode *py;          /* Python frame names */
	char *procfs;
	char *kallsyms;
	char *debug_dirs;
	size_t cache_max;
	int no_worker;

	struct ksyms *ksyms;
	int ksyms_tried;        /* kallsyms read (or tried): at the first kernel lookup */

	struct objtab *objtab;

	struct pid_entry pids[PID_CACHE_MAX];
	uint32_t pid_buckets[PID_BUCKETS];

	struct request reqs[REQ_MAX];
	size_t nreqs;
	uint32_t next_req;

	struct procobj *procobj;
	struct jittab *jit;

	uint64_t tick;
	uint64_t poll_gen;
	size_t cache_bytes;
	uint64_t evictions, load_failures, maps_reads, loaded, pending;
	uint64_t identify_failures, bad_offsets;
	uint64_t jit_pending, jit_reads, jit_failures, jit_truncated;
	uint64_t fetch_pending;
	struct symloader_fetch fetched; /* debuginfod counts, summed */

	struct symloader *loader;   /* without threads when no_worker: jobs run inline */
};

static inline struct sym_object *obj_get(struct symbolizer *s, uint32_t id)
{
	return objtab_get(s->objtab, id);
}

/* symbolizer.c: install every finished job (main thread). */
void symbolizer_install_done(struct symbolizer *s);

/* symcache.c */
/* Ask for object id's table early, so it is there when a query renders. */
void symcache_warm(struct symbolizer *s, uint32_t id);
/* Install a finished local load, remote (debuginfod) load, JIT map read. */
void symcache_install_load(struct symbolizer *s, struct symloader_job *j);
void symcache_install_remote(struct symbolizer *s, struct symloader_job *j);
void symcache_install_perfmap(struct symbolizer *s, struct symloader_job *j);
/* Evict least recently used tables (files and JIT maps) past cache_max. */
void symcache_evict(struct symbolizer *s);
/* symbolizer_lookup() for a file object (addr: file offset) and a JIT
 * object (addr: IP): 0 and *ret, -EAGAIN (loading), -ENOENT. */
int symcache_lookup_file(struct symbolizer *s, uint32_t obj, uint64_t addr, struct sym_result *ret);
int symcache_lookup_jit(struct symbolizer *s, uint32_t id, uint64_t ip, struct sym_result *ret);

#endif
