/* SPDX-License-Identifier: GPL-2.0-only */
/* The symbolized profile: the one neutral model every output format
 * encodes (folded, JSON, and the formats that follow: pprof, speedscope,
 * SVG), and that alerts and pushers reuse.
 *
 * A profile is built once from a window query: its stacks are (process,
 * stack id) entries of the store, in the order the store visits them, with
 * their frames already named, outermost first, and deduplicated into a
 * frame table, so a function that appears in 50,000 stacks is stored once.
 * Names, modules and process strings live in one arena owned by the
 * profile; encoders read it and never call back into the daemon, so every
 * encoder is unit-tested on a profile made from fixtures
 * (profile_new_empty + profile_add_*). */
#ifndef PROFD_PROFILE_PROFILE_H
#define PROFD_PROFILE_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "profile/query.h"

/* Longest name kept, bytes without the NUL: longer names are cut. */
#define PROFILE_NAME_MAX 511

/* profile_frame.kind */
enum profile_frame_kind {
	PROFILE_FRAME_USER = 0,   /* user code: addr is a file offset */
	PROFILE_FRAME_KERNEL = 1, /* kernel: addr is a kernel address */
	PROFILE_FRAME_INTERP = 2, /* interpreted code (a Python function): addr
				   * is what the unwinder reported, 0 if none */
};

/* profile_stack.flags */
#define PROFILE_STACK_TRUNCATED (1u << 0) /* user stack reached no entry point */
#define PROFILE_STACK_OVERFLOW (1u << 1)  /* samples whose stack did not fit the table */
#define PROFILE_STACK_COARSENED (1u << 2) /* detail folded by the store's memory bound */

#define PROFILE_NO_MAPPING UINT32_MAX
#define PROFILE_NO_THREAD UINT32_MAX

/* An object code was mapped from: a binary, a library, the kernel. */
struct profile_mapping {
	const char *name;      /* basename ("libc.so.6", "vmlinux") */
	uint8_t build_id[20];  /* GNU build-id, build_id_len bytes */
	uint8_t build_id_len;
	uint8_t kernel;
};

/* One distinct frame. */
struct profile_frame {
	const char *name;      /* "func", "module+0xoff" or "[unknown]" */
	uint32_t mapping;      /* index into mappings, or PROFILE_NO_MAPPING */
	uint32_t kind;         /* enum profile_frame_kind */
	uint64_t addr;         /* file offset (user) or kernel address */
	const char *file;      /* source file, NULL when unknown */
	uint32_t line;         /* source line, 0 when unknown */
};

/* A process the profile's stacks belong to. */
struct profile_proc {
	uint32_t pid;          /* 0 when the process is no longer known */
	uint32_t uid;          /* (uint32_t)-1 when unknown */
	uint64_t start_ns;     /* start time, ns since boot */
	const char *comm;      /* "[expired]" when no longer known */
	const char *cmdline;   /* "" when unknown */
};

/* A thread, when the profile is split by thread (profile_build with
 * threads known to the store). */
struct profile_thread {
	uint32_t proc;         /* index into procs */
	uint32_t tid;
	const char *name;      /* the thread's comm, "" when unknown */
};

struct profile_stack {
	uint32_t proc;         /* index into procs */
	uint32_t thread;       /* index into threads, or PROFILE_NO_THREAD */
	uint32_t flags;        /* PROFILE_STACK_* */
	uint32_t nframes;
	uint32_t first;        /* frames are refs[first .. first + nframes) */
	uint64_t count;        /* samples */
};

struct profile {
	uint64_t covered_ns;   /* time the profile covers (CPU % denominator) */
	uint64_t from_ns, to_ns; /* CLOCK_BOOTTIME bounds of the query */
	uint32_t frequency;    /* sampling frequency, Hz per CPU */
	uint64_t samples;      /* sum of stack counts */
	/* Kernel frames carry no address (0) and unnamed ones read
	 * "[kernel]": the profile is for a client that may not learn where
	 * the kernel is loaded (KASLR). Encoders leave such addresses out. */
	int kaddr_hidden;

	struct profile_mapping *mappings;
	size_t nmappings;
	struct profile_frame *frames;
	size_t nframes;
	uint32_t *refs;        /* frame indexes of every stack, outermost first */
	size_t nrefs;
	struct profile_stack *stacks;
	size_t nstacks;
	struct profile_proc *procs;
	size_t nprocs;
	struct profile_thread *threads;
	size_t nthreads;

	/* CLOCK_REALTIME - CLOCK_BOOTTIME when the profile was built, to
	 * turn from_ns/to_ns into wall-clock times; 0: unknown (encoders then
	 * write boot-relative times). */
	int64_t boot_to_real_ns;

	/* Metrics for the csv and report formats, filled by whoever builds
	 * the profile (the API, from the metric registry); empty otherwise. */
	struct profile_table *series;  /* per process per slot */
	struct profile_table *totals;  /* per process over the whole window */
	struct profile_metric *host;   /* the host over the window */
	size_t nhost;
	struct profile_alert *alerts;  /* alerts firing in the window */
	size_t nalerts;
	int alerts_known;              /* 0: no alert engine to ask */

	struct profile_priv *priv; /* arena and dedup tables */
};

/* A table of metric values per (process, time slot): columns are metric
 * names of the registry ("process.cpu_pct"), rows one process in one
 * slot; absent values are NaN. */
struct profile_table {
	size_t ncols;
	const char **cols;     /* metric names */
	const char **units;    /* "percent", "bytes", ... ("" when none) */
	size_t nrows;
	struct profile_row {
		uint32_t proc;     /* index into procs */
		uint64_t from_ns;  /* slot start, CLOCK_BOOTTIME */
		uint64_t len_ns;   /* slot length */
	} *rows;
	double *values;        /* nrows x ncols, row-major */
	size_t cap_rows;
};

/* One figure of the host ("host.cpu_pct", 37.5, "percent"). */
struct profile_metric {
	const char *name;
	const char *unit;
	double value;          /* NaN when absent */
};

struct profile_alert {
	const char *name;
	const char *severity;
	const char *summary;
	uint64_t since_ns;     /* firing since, CLOCK_BOOTTIME */
};

/* An empty profile to fill by hand (tests, fixtures). 0 or -ENOMEM. */
int profile_new_empty(struct profile **ret);
struct profile *profile_free(struct profile *p);

/* Build from the query result q over the store in src: names every frame
 * (profile_frame_name), cuts junk above a recognised entry point and flags
 * stacks that reach none. Kernel addresses are hidden unless
 * src->show_kaddr. 0 and *ret, or -ENOMEM, -ETIMEDOUT (past
 * src->deadline_ns) or -E2BIG (the profile passes src->max_bytes). */
int profile_build(const struct profile_src *src, const struct pq_result *q, struct profile **ret);

/* Heap memory the profile holds (arrays as allocated, strings, tables). */
size_t profile_bytes(const struct profile *p);

/* Fixture builders. Each returns the new index, or -ENOMEM. */
int profile_add_mapping(struct profile *p, const char *name, const uint8_t *build_id, size_t build_id_len, int kernel);
int profile_add_frame(struct profile *p, const char *name, uint32_t mapping, uint32_t kind, uint64_t addr);
int profile_add_proc(struct profile *p, uint32_t pid, uint64_t start_ns, const char *comm, const char *cmdline);
/* frames[0..n) outermost first, indexes into p->frames. The stack has
 * no thread (set p->stacks[i].thread to a profile_add_thread index). */
int profile_add_stack(struct profile *p, uint32_t proc, const uint32_t *frames, uint32_t n, uint32_t flags, uint64_t count);
int profile_add_thread(struct profile *p, uint32_t proc, uint32_t tid, const char *name);
/* Source position of frame f (file copied). 0 or -ENOMEM. */
int profile_set_frame_source(struct profile *p, uint32_t f, const char *file, uint32_t line);

/* Metric tables: a new empty table with these columns (names and units
 * copied), then rows of ncols values each. 0 / the row index, or -ENOMEM. */
int profile_table_new(struct profile *p, const char *const *cols, const char *const *units, size_t ncols,
		      struct profile_table **ret);
int profile_table_add(struct profile *p, struct profile_table *t, uint32_t proc, uint64_t from_ns, uint64_t len_ns,
		      const double *values);
/* Append a host figure / an alert (strings copied). 0 or -ENOMEM. */
int profile_add_host_metric(struct profile *p, const char *name, const char *unit, double value);
int profile_add_alert(struct profile *p, const char *name, const char *severity, const char *summary,
		      uint64_t since_ns);

/* A CLOCK_BOOTTIME time as text: RFC 3339 in UTC with milliseconds when
 * p->boot_to_real_ns is known, else seconds since boot. snprintf's return. */
int profile_time_text(const struct profile *p, uint64_t boot_ns, char *buf, size_t n);

/* The file object and offset behind a stored frame: frames drained before
 * their process's mappings were read are bound later (symbolizer); one
 * never bound becomes SYM_OBJ_UNKNOWN with its raw IP. */
struct frame;
void profile_frame_resolve(struct symbolizer *sym, const struct frame *f, struct frame *ret);

/* Name of one frame of the store: "func", "module+0xoff" or "[unknown]";
 * a kernel frame without a symbol is "[kernel]" unless show_kaddr (then
 * "vmlinux+0xADDRESS"). Return addresses (every frame but the leaf of its
 * part) are looked up at addr - 1, so a call at a function's very end
 * names the caller. */
void profile_frame_name(struct symbolizer *sym, const struct frame *f, int is_leaf, int show_kaddr, char *buf,
			size_t n);

#endif
