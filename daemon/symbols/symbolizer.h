/* SPDX-License-Identifier: GPL-2.0-only */
/* Symbolizer: turns frames into function names.
 *
 * Every user frame is reduced, at drain time, to (object, file offset):
 * an object is an ELF file identified by its GNU build-id (or, lacking one,
 * by device/inode/mtime). Names are looked up later, process-free, so a
 * process that lived 50 ms is still symbolized after it has gone.
 * Kernel frames use object SYM_OBJ_KERNEL and the raw kernel address.
 * The vdso is an object like a file (its image is the daemon's own);
 * JIT code is a JIT object per process life with raw IPs.
 *
 * No function here opens or reads a file on the caller's thread (other
 * than kallsyms, at the first lookup of a kernel frame and in
 * symbolizer_reload_kernel): /proc/PID/maps reads,
 * file identification and ELF parsing all run on the worker threads of
 * symloader.c, and symbolizer_poll() installs their results. A raw-IP
 * frame drained before its process's maps have been read gets a
 * *process object* (symbolizer_object_is_process()) and the raw IP; it is
 * bound to its file object and offset when the read comes back (see
 * symbolizer_frame_resolve()). */
#ifndef PROFD_SYMBOLIZER_H
#define PROFD_SYMBOLIZER_H

#include <stddef.h>
#include <stdint.h>

#include "symbols/pycode.h"

#define SYM_OBJ_KERNEL 0u         /* kernel (and modules): addr is a kernel IP */
#define SYM_OBJ_UNKNOWN 0xffffffffu /* unresolvable user IP: addr is the raw IP */
#define SYM_OBJ_PYTHON 0xfffffffeu /* a Python frame: addr is a name id (symbolizer_python_frame) */
/* No file is larger than this: a build-id frame's offset at or past it
 * (or past its file's size, once known) cannot be real. The kernel
 * computes offsets for IPs below their VMA as huge wrapped values. */
#define SYM_MAX_FILE_OFFSET (1ull << 47)

struct symbolizer;

struct symbolizer_opts {
	const char *procfs;      /* "/proc" unless a test injects a fixture root */
	const char *kallsyms;    /* "/proc/kallsyms" unless injected */
	const char *debug_dirs;  /* ':'-separated, default "/usr/lib/debug" */
	size_t cache_bytes;      /* bound on memory held by loaded symbol tables */
	size_t max_objects;      /* bound on objects known (build-id/path records) */
	int no_worker;           /* 1: no threads: maps reads, identification and
				  * loads run inline, answered at once (unit tests) */
	int no_demangle;         /* 1: keep C++/Rust names as in the file only
				  * (saves the demangled copies' memory) */
	/* debuginfod (dbginfod.h): off unless a server URL is configured
	 * here or in $DEBUGINFOD_URLS, and a cache directory is given. */
	const char *debuginfod_urls;     /* space-separated; NULL/"": $DEBUGINFOD_URLS */
	const char *debuginfod_cache;    /* cache directory (absolute); NULL: off */
	uint64_t debuginfod_cache_bytes; /* bound on it (default 1 GiB) */
	uint32_t debuginfod_timeout_s;   /* a server must answer within (default 10 s) */
};

struct symbolizer_stats {
	uint64_t objects;        /* objects known */
	uint64_t objects_loaded; /* objects whose symbol table is in memory */
	uint64_t cache_bytes;    /* bytes held by loaded tables */
	uint64_t evictions;      /* tables evicted to respect cache_bytes */
	uint64_t load_failures;  /* symbol tables that could not be loaded (open, parse, bounds) */
	uint64_t pending;        /* loads queued or running */
	uint64_t objects_full;   /* objects refused: max_objects reached */
	uint64_t kernel_symbols; /* kallsyms entries loaded */
	uint64_t maps_reads;     /* /proc/PID/maps reads submitted */
	uint64_t identify_failures; /* code files / exec'd paths that could not be identified */
	uint64_t bad_offsets;    /* frames refused: file offset outside their file */
	uint64_t proc_objects;   /* process objects (frames drained before their maps were read) */
	uint64_t proc_pending;   /* of them, awaiting their maps read */
	uint64_t proc_frames;    /* frames recorded under process objects */
	uint64_t proc_recycled;  /* process objects recycled to stay within bounds */
	uint64_t proc_refused;   /* frames left unknown: process-object bounds reached */
	uint64_t identify_pending; /* maps reads / exec identifications queued or running */
	/* JIT code (perf-PID.map) */
	uint64_t jit_objects;    /* JIT objects (process lives with JIT code) */
	uint64_t jit_maps_loaded;/* of them, with their map in memory */
	uint64_t jit_map_reads;  /* perf-PID.map reads done */
	uint64_t jit_map_failures; /* reads that found no map or failed */
	uint64_t jit_truncated;  /* maps cut at PERFMAP_MAX_BYTES */
	uint64_t jit_recycled;   /* JIT objects recycled to stay within bounds */
	/* debuginfod */
	uint64_t dbginfod_queries;   /* queries made */
	uint64_t dbginfod_downloads; /* debug files downloaded */
	uint64_t dbginfod_cache_hits;/* debug files found in its cache */
	uint64_t dbginfod_failures;  /* queries failed (miss, server down, timeout) */
	uint64_t dbginfod_held_off;  /* remote loads held off after transport errors */
	struct pycode_stats python;  /* Python frame names (pycode.h) */
	uint64_t dbginfod_bytes;     /* bytes downloaded */
	uint64_t dbginfod_cache_bytes; /* cache size after the last trim */
	uint64_t dbginfod_evicted;   /* cache files removed to respect its bound */
	uint64_t dbginfod_pending;   /* remote loads queued or running */
};

struct sym_result {
	const char *name;   /* function name, or NULL if none covers the address;
			     * demangled (C++, Rust) unless no_demangle */
	const char *raw_name; /* the same name as the symbol table spells it
			       * (mangled); set whenever name is */
	const char *module; /* object basename ("libc.so.6", "vmlinux", "[ext4]") */
	uint64_t offset;    /* address - symbol start (when name != NULL) */
};

/* New symbolizer: 0 and *ret, or -errno (-ENOMEM, the worker thread could
 * not start); *ret untouched on failure. kallsyms is read at the first
 * lookup of a kernel frame (failure to read it is not fatal: kernel frames
 * stay unnamed). */
int symbolizer_new(const struct symbolizer_opts *opts, struct symbolizer **ret);
struct symbolizer *symbolizer_free(struct symbolizer *s);

/* eventfd that becomes readable when the worker finished loads; the
 * daemon calls symbolizer_poll() then. -1 when no_worker. */
int symbolizer_fd(struct symbolizer *s);
/* Install finished loads, evict to respect cache_bytes. Main thread only.
 * Invalidates name/module pointers previously returned by lookup. */
void symbolizer_poll(struct symbolizer *s);

/* Re-read kallsyms (SIGHUP, module load). 0 or -errno. */
int symbolizer_reload_kernel(struct symbolizer *s);

/* Object id for a GNU build-id reported by the kernel for a user frame.
 * Finds or creates the record; the file is located later (see note_*).
 * Returns the id, or SYM_OBJ_UNKNOWN when max_objects is reached. */
uint32_t symbolizer_object_by_build_id(struct symbolizer *s, const uint8_t *build_id, size_t len);
/* The same for a build-id frame at file offset off: SYM_OBJ_UNKNOWN
 * (counted in bad_offsets) when off cannot lie in the file (>= its size
 * when known, else >= SYM_MAX_FILE_OFFSET). Use this at drain time. */
uint32_t symbolizer_build_id_frame(struct symbolizer *s, const uint8_t *build_id, size_t len, uint64_t off);

/* Resolve a raw user IP of live process pid through its code mappings.
 * Never reads a file here: the mappings come from /proc/PID/maps reads
 * done on the worker (requested here when the pid has none, or on a miss
 * at most every 50 ms). Returns
 *  - a file object, *ret_offset = file offset: the IP lies in a code
 *    mapping already identified;
 *  - a process object, *ret_offset = ip: a maps read is under way; the
 *    frame is bound when it comes back (symbolizer_frame_resolve());
 *  - SYM_OBJ_UNKNOWN: in no code mapping, its file could not be
 *    identified, the offset lies outside the file (bad_offsets), or a
 *    bound was reached. */
uint32_t symbolizer_object_for_ip(struct symbolizer *s, uint32_t pid, uint64_t ip, uint64_t *ret_offset);

/* Learn where files live, on the worker: after an exec (the path as the
 * kernel gave it, resolved only inside /proc/PID/root: a process already
 * gone teaches nothing), and from a live process's code mappings (indexed
 * by build-id, so build-id frames of short-lived processes find their
 * file). Both return at once; the answers arrive through symbolizer_poll(). */
void symbolizer_note_exec(struct symbolizer *s, uint32_t pid, const char *path);
void symbolizer_note_process(struct symbolizer *s, uint32_t pid);
/* Forget per-pid caches (process exited). */
void symbolizer_forget_pid(struct symbolizer *s, uint32_t pid);

/* 1 for a process object (see symbolizer_object_for_ip()). */
int symbolizer_object_is_process(uint32_t obj);
/* 1 for a JIT object: code in anonymous memory of one process life, its
 * frames (obj, raw IP) named from the process's /tmp/perf-PID.map. Its
 * addresses are IPs, not offsets: render it "[jit]" when unnamed. */
int symbolizer_object_is_jit(uint32_t obj);

/* A Python frame of process (tgid, start_time): the code object at code
 * with the BPF walk's signature sig (include/profd/python.h) becomes the
 * frame (SYM_OBJ_PYTHON, returned id), named "file.py:qualname" by
 * symbolizer_lookup once a worker thread has read it from the process
 * (daemon/symbols/pycode.h), "[python]" until then or when it cannot be
 * read. No I/O on the caller's thread. */
uint64_t symbolizer_python_frame(struct symbolizer *s, uint32_t tgid, uint64_t start_time, uint64_t code, uint32_t sig);
/* Install the Python names read since the last call; with the store held
 * (lookups on the query worker read the same tables). symbolizer_poll()
 * does it too. */
void symbolizer_python_poll(struct symbolizer *s);
void symbolizer_python_stats(struct symbolizer *s, struct pycode_stats *ret);
/* The file object and file offset behind frame (obj, addr): for a process
 * object, its binding; any other frame is returned as it is. 0, -EAGAIN
 * (not bound yet), -ENOENT (never will be: the IP lay in no code mapping,
 * the process was gone, or the binding was recycled). Renderers call this
 * before printing "module+0xoffset", so that no raw IP is printed as an
 * offset. */
int symbolizer_frame_resolve(struct symbolizer *s, uint32_t obj, uint64_t addr, uint32_t *ret_obj,
			     uint64_t *ret_addr);

/* Name for (object, addr). addr: file offset for user objects, kernel IP
 * for SYM_OBJ_KERNEL, raw IP for SYM_OBJ_UNKNOWN and process objects (for
 * those, module is set only with a name: their own name is "[unknown]").
 * Returns 0 and fills *ret (name may be NULL when the address is covered by
 * no symbol: render "module+0xoffset"), -EAGAIN while the object's table is
 * being loaded (loading is queued by this call), -ENOENT when the object
 * cannot be symbolized at all (file never found / not ELF).
 * Pointers in *ret stay valid until the next symbolizer_poll(). */
int symbolizer_lookup(struct symbolizer *s, uint32_t obj, uint64_t addr, struct sym_result *ret);

/* GNU build-id of an object: 0 with *ret and *ret_len (valid until the next
 * symbolizer_poll), or -ENOENT when the object has none or is unknown. */
int symbolizer_object_build_id(struct symbolizer *s, uint32_t obj, const uint8_t **ret, size_t *ret_len);

/* Basename of an object's file for display, "[unknown]" if unknown. */
const char *symbolizer_object_name(struct symbolizer *s, uint32_t obj);

void symbolizer_get_stats(struct symbolizer *s, struct symbolizer_stats *ret);

/* The debuginfod servers asked (space-separated), or NULL when off. */
const char *symbolizer_debuginfod_urls(struct symbolizer *s);

/* What identifies an object across a restart of profd, where object ids
 * differ: its build-id, or lacking one the file's (device, inode, mtime),
 * and a path where it was found. */
#define SYM_BUILD_ID_MAX 20
struct sym_object_desc {
	uint8_t build_id[SYM_BUILD_ID_MAX];
	size_t build_id_len;          /* 0: none, then has_key */
	int has_key;
	uint64_t dev, ino, mtime_ns;
	const char *path;             /* absolute path outside /proc, or NULL */
};

/* Describe object obj: 0 and *ret (path valid until the next
 * symbolizer_poll), -ENOENT for the kernel, SYM_OBJ_UNKNOWN or an unknown
 * id. */
int symbolizer_object_describe(struct symbolizer *s, uint32_t obj, struct sym_object_desc *ret);
/* The object a description names in this run: found or created by
 * build-id (or key), with d->path as a candidate file; the loader opens a
 * candidate only if it has that identity, so a file replaced since (an
 * upgrade) is never used to name the old one's addresses. Returns the id,
 * or SYM_OBJ_UNKNOWN (nothing identifies it, or max_objects reached). */
uint32_t symbolizer_object_restore(struct symbolizer *s, const struct sym_object_desc *d);

#endif
