/* SPDX-License-Identifier: GPL-2.0-only */
/* Symbolizer: turns frames into function names.
 *
 * Every user frame is reduced, at drain time, to (object, file offset):
 * an object is an ELF file identified by its GNU build-id (or, lacking one,
 * by device/inode and path). Names are looked up later, process-free, so a
 * process that lived 50 ms is still symbolized after it has gone.
 * Kernel frames use object SYM_OBJ_KERNEL and the raw kernel address.
 *
 * ELF symbol tables are parsed by a worker thread; lookups on the main thread
 * never block on file I/O: while an object's table is loading, lookup returns
 * -EAGAIN and the caller renders "module+0xoffset". All mutation of shared
 * tables happens in symbolizer_poll(), on the main thread. */
#ifndef PROFD_SYMBOLIZER_H
#define PROFD_SYMBOLIZER_H

#include <stddef.h>
#include <stdint.h>

#define SYM_OBJ_KERNEL 0u         /* kernel (and modules): addr is a kernel IP */
#define SYM_OBJ_UNKNOWN 0xffffffffu /* unresolvable user IP: addr is the raw IP */

struct symbolizer;

struct symbolizer_opts {
	const char *procfs;      /* "/proc" unless a test injects a fixture root */
	const char *kallsyms;    /* "/proc/kallsyms" unless injected */
	const char *debug_dirs;  /* ':'-separated, default "/usr/lib/debug" */
	size_t cache_bytes;      /* bound on memory held by loaded symbol tables */
	size_t max_objects;      /* bound on objects known (build-id/path records) */
	int no_worker;           /* 1: load tables synchronously (unit tests) */
};

struct symbolizer_stats {
	uint64_t objects;        /* objects known */
	uint64_t objects_loaded; /* objects whose symbol table is in memory */
	uint64_t cache_bytes;    /* bytes held by loaded tables */
	uint64_t evictions;      /* tables evicted to respect cache_bytes */
	uint64_t load_failures;  /* files that could not be opened/parsed */
	uint64_t pending;        /* loads queued or running */
	uint64_t objects_full;   /* objects refused: max_objects reached */
	uint64_t kernel_symbols; /* kallsyms entries loaded */
	uint64_t maps_reads;     /* /proc/PID/maps parses */
};

struct sym_result {
	const char *name;   /* function name, or NULL if none covers the address */
	const char *module; /* object basename ("libc.so.6", "vmlinux", "[ext4]") */
	uint64_t offset;    /* address - symbol start (when name != NULL) */
};

/* New symbolizer: 0 and *ret, or -errno (-ENOMEM, the worker thread could
 * not start); *ret untouched on failure. Loads kallsyms at once (failure
 * to read it is not fatal: kernel frames stay unnamed). */
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

/* Resolve a raw user IP of live process pid via its /proc/PID/maps
 * (cached per pid, re-read on a miss). On success returns the object id
 * and sets *ret_offset to the file offset; SYM_OBJ_UNKNOWN if the address
 * is in no file-backed mapping or the process is gone. */
uint32_t symbolizer_object_for_ip(struct symbolizer *s, uint32_t pid, uint64_t ip, uint64_t *ret_offset);

/* Learn where files live: after an exec (path as the kernel gave it,
 * opened through /proc/PID/root when the process is alive) and from a
 * live process's mappings (every file-backed mapping is indexed by its
 * build-id, so build-id frames of short-lived processes find their file). */
void symbolizer_note_exec(struct symbolizer *s, uint32_t pid, const char *path);
void symbolizer_note_process(struct symbolizer *s, uint32_t pid);
/* Forget per-pid caches (process exited). */
void symbolizer_forget_pid(struct symbolizer *s, uint32_t pid);

/* Name for (object, addr). addr: file offset for user objects, kernel IP
 * for SYM_OBJ_KERNEL, raw IP for SYM_OBJ_UNKNOWN.
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
