/* SPDX-License-Identifier: GPL-2.0-only */
/* Sampler: loads and attaches the BPF programs (CPU sampling on every
 * online CPU, process lifecycle) and hands their ring-buffer records to
 * callbacks. Owns every BPF object; sampler_free() detaches everything. */
#ifndef PROFD_SAMPLER_H
#define PROFD_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

#include "profd/sample.h"
#include "profd/unwind.h"

struct sampler;

struct sampler_callbacks {
	/* A CPU sample; rec is valid only during the call, len its size. */
	void (*sample)(void *ctx, const struct profd_sample *rec, size_t len);
	void (*proc_event)(void *ctx, const struct profd_proc_event *ev);
	void *ctx;
};

struct sampler_opts {
	uint32_t frequency;   /* Hz per CPU */
	size_t ringbuf_bytes; /* 0: sized from CPUs x frequency */
	uint64_t tick_ns;     /* drain period, used for auto sizing */
	/* The DWARF unwinder (unwind = 1): its BPF maps, sized here. When the
	 * kernel cannot run it (no bpf_loop) the sampler logs why and uses
	 * frame pointers (sampler_unwinding() says which). */
	int unwind;
	uint32_t max_user_frames;  /* 16..PROFD_UNW_MAX_FRAMES */
	uint32_t unwind_cells;     /* table pool: unwind_memory / 8 */
	uint32_t unwind_mappings;  /* mapping pool entries */
	uint32_t unwind_objects;   /* descriptor slots (<= 65536) */
	uint32_t unwind_procs;     /* processes with a mapping table */
};

/* The unwinder's maps as the unwinder module writes them: the three
 * arrays memory-mapped (valid until sampler_free), the process hash
 * through sampler_unwind_proc_set/del. */
struct sampler_unwind_maps {
	union profd_unw_cell *cells;
	uint32_t ncells;
	struct profd_unw_mapping *maps;
	uint32_t nmaps;
	struct profd_unw_obj *objs;
	uint32_t nobjs;
	uint32_t max_procs;
};

struct sampler_stats {
	uint64_t taken, idle, emitted, dropped_ringbuf, kstack_err, ustack_err;
	uint64_t proc_events_lost;
	uint64_t drained;       /* samples consumed by user space */
	uint64_t proc_events;   /* lifecycle events consumed */
	uint64_t malformed;     /* records of unexpected size/kind (ignored) */
	/* CPU hotplug (sampler_tick) */
	uint64_t cpus_attached; /* CPUs that came online and are now sampled */
	uint64_t cpus_detached; /* CPUs that went offline: their events closed */
	uint64_t cpu_attach_failures; /* CPUs that came online but could not be sampled */
	/* DWARF unwinder (profd_unw_stats summed over CPUs) */
	uint64_t unwound, unwind_fallback;
	uint64_t frames_dwarf, frames_fp, frames_signal;
	uint64_t ustop[PROFD_USTOP_NR];
	uint64_t cfi_walk_ns, bid_walk_ns, bid_walks; /* user-stack walks' own time */
	uint64_t row_cache_hits;
	uint64_t unwound_ns;    /* whole-program time of the unwound samples */
	/* Python frame walks (profd_unw_stats.py_*) */
	uint64_t py_walks, py_frames, py_cut, py_no_thread, py_read_err, py_walk_ns;
};

/* Loads, attaches. Returns 0 and *ret or -errno; messages (which CPU,
 * which program) go to the log. -EPERM/-ENOSYS etc. mean BPF is unusable. */
int sampler_new(const struct sampler_opts *opts, const struct sampler_callbacks *cb, struct sampler **ret);
struct sampler *sampler_free(struct sampler *s);

/* fd that polls readable when the ring buffer has data past its wakeup
 * threshold (lifecycle events wake at once, samples past half full). */
int sampler_epoll_fd(struct sampler *s);
/* Consume everything available. Returns records consumed or -errno. */
int sampler_drain(struct sampler *s);
/* Change the frequency on the fly (SIGHUP): re-opens the perf events. */
int sampler_set_frequency(struct sampler *s, uint32_t hz);

void sampler_get_stats(struct sampler *s, struct sampler_stats *ret);
/* 1 when user stacks are unwound with the CFI tables, 0 for frame pointers. */
int sampler_unwinding(const struct sampler *s);
/* The unwinder's maps: 0 and *ret, or -ENODATA when not unwinding. */
int sampler_unwind_maps(struct sampler *s, struct sampler_unwind_maps *ret);
/* Set or delete tgid's mapping-table entry: 0 or -errno (-E2BIG: full). */
int sampler_unwind_proc_set(struct sampler *s, uint32_t tgid, const struct profd_unw_proc *v);
int sampler_unwind_proc_del(struct sampler *s, uint32_t tgid);

/* Every BPF program the sampler loaded: fn(ctx, program name, its fd),
 * fds valid until sampler_free (profd's cost accounting reads their run
 * time). */
void sampler_for_each_prog(struct sampler *s, void (*fn)(void *ctx, const char *name, int fd), void *ctx);

/* "cycles" or "cpu-clock". */
const char *sampler_event_name(const struct sampler *s);
uint32_t sampler_ncpus(const struct sampler *s);
uint32_t sampler_frequency(const struct sampler *s);

/* Follow CPU hotplug: every SAMPLER_HOTPLUG_TICKS calls, re-read the online
 * CPU list; attach a perf event to each CPU that came online, close those
 * of CPUs that went offline (counted in the stats, logged). Call once per
 * tick. Returns the number of CPUs whose state changed (0 mostly). */
#define SAMPLER_HOTPLUG_TICKS 5
int sampler_tick(struct sampler *s);
/* Idle samples since start (the BPF per-CPU counter, summed): one map
 * read, cheap enough for every tick. */
uint64_t sampler_idle_total(struct sampler *s);

/* Parse a kernel CPU list ("0-3,5,7-8") into a bitmap of up to max CPUs.
 * Returns the number of CPUs set or -EINVAL. Exposed for unit tests. */
int sampler_parse_cpulist(const char *s, uint8_t *bitmap, size_t max);
/* CPUs set in now but not in before (ret_added) and the reverse
 * (ret_removed), bitmaps of max CPUs (either output may be NULL). Returns
 * the number of CPUs that changed. */
int sampler_cpulist_diff(const uint8_t *before, const uint8_t *now, size_t max, uint8_t *ret_added, uint8_t *ret_removed);

#endif
