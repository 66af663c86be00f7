/* SPDX-License-Identifier: GPL-2.0-only */
/* Rolling windows: a tiered ring of time slots holding sample counts per
 * (process, stack), and per-process resource counters (struct wcounters).
 *
 * Tier 0 holds fine slots (default 1 s x 600), tier 1 coarse slots
 * (default 60 s x 1440). Every sample is added to the current fine slot;
 * when a fine slot closes its contents are also merged into the current
 * coarse slot, so a query is answered from the finest tier that covers it.
 * The whole store has a memory bound: when it is exceeded, the oldest coarse
 * slots lose their rarest detail first (entries with the smallest counts are
 * folded into one per-process entry with stack STACK_ID_COARSENED), then
 * whole oldest slots are dropped; both are counted in the stats. Counter
 * records (one per process per slot) roll up the same way; they are never
 * coarsened, but go with their slot when it is dropped.
 * Time is passed in (ns, CLOCK_BOOTTIME) so tests drive it. */
#ifndef PROFD_WINDOW_H
#define PROFD_WINDOW_H

#include <stddef.h>
#include <stdint.h>

/* Stack id used for detail folded away by coarsening ("[coarsened]"). */
#define STACK_ID_COARSENED 2u

#define WINDOW_MAX_TIERS 4

struct window_tier_opts {
	uint64_t slot_ns; /* slot length; each tier's a multiple of the previous */
	uint32_t slots;   /* number of slots kept */
};

struct window_opts {
	uint32_t ntiers;                      /* 1..WINDOW_MAX_TIERS */
	struct window_tier_opts tier[WINDOW_MAX_TIERS];
	size_t max_bytes;                     /* memory bound for all slots */
};

struct window_stats {
	uint64_t bytes;            /* memory held by slots */
	uint64_t entries;          /* (proc, stack) entries in all slots */
	uint32_t slots[WINDOW_MAX_TIERS]; /* slots holding data, per tier */
	uint64_t held_ns[WINDOW_MAX_TIERS]; /* time span held, per tier */
	uint64_t coarsened_entries;/* entries folded by the memory bound */
	uint64_t dropped_slots;    /* slots dropped early by the memory bound */
	uint64_t oldest_ns;        /* start of the oldest slot still held */
	uint64_t alloc_failures;   /* adds/merges/coarsenings that found no memory */
	uint64_t counter_records;  /* (proc, slot) counter records in all slots */
};

/* What a query was answered from. */
struct window_range {
	int tier;          /* tier used */
	uint64_t from_ns;  /* start of the oldest slot used that held data */
	uint64_t to_ns;    /* end of data used (<= now) */
	/* Start of the time the summed slots cover: every slot overlapping
	 * the span is summed whole, so this is the start of the oldest of
	 * them (earlier than now - span when the span does not fall on slot
	 * boundaries), but never before the store existed or before the
	 * oldest slot the tier can hold. A rate is sum / (to_ns - span_from_ns);
	 * dividing by the requested span instead overstates it (by up to one
	 * slot's worth: 9 % for 11 minutes from 1-minute slots). */
	uint64_t span_from_ns;
};

/* Per-process counters, one record per (process, slot). */
#define WC_HIST_BUCKETS 32
enum wc_sum {       /* summed over time: rates = sum / window seconds */
	WC_CPU_NS, WC_OFFCPU_NS, WC_VCSW, WC_IVCSW,
	WC_IO_RBYTES, WC_IO_WBYTES, WC_IO_RREQS, WC_IO_WREQS,
	WC_MINFLT, WC_MAJFLT, WC_PROC_RBYTES, WC_PROC_WBYTES,
	WC_GPU_UTIL_NS,    /* GPU busy share x ns (util% / 100 x tick ns) */
	/* PROC_ID_SYSTEM only (its WC_CPU_NS is busy and WC_OFFCPU_NS elapsed
	 * CPU time, all CPUs): */
	WC_STEAL_NS,       /* CPU time the hypervisor took (steal), all CPUs */
	WC_IDLE_SAMPLES,   /* CPU samples that found a CPU idle */
	WC_NSUM
};
enum wc_gauge {     /* sampled values: last and max over the window */
	WG_RSS, WG_THREADS, WG_FDS, WG_GPU_MEM, WG_NGAUGE
};
struct wcounters {
	uint64_t sum[WC_NSUM];          /* saturate at UINT64_MAX */
	uint64_t gauge_last[WG_NGAUGE]; /* value at the newest sample in the window */
	uint64_t gauge_max[WG_NGAUGE];
	uint64_t gauge_ns;              /* time of gauge_last (for "newest wins") */
	/* log2(ns) buckets as in profd/counters.h: bucket i counts values in
	 * [2^i, 2^(i+1)), 0 and 1 in bucket 0, bucket 31 everything >= 2^31;
	 * saturate at UINT32_MAX */
	uint32_t hist_runq[WC_HIST_BUCKETS];
	uint32_t hist_iolat[WC_HIST_BUCKETS];
};

struct window;

/* 0 and *ret, -EINVAL (opts out of range) or -ENOMEM; *ret is untouched
 * on failure. */
int window_new(const struct window_opts *opts, uint64_t now_ns, struct window **ret);
struct window *window_free(struct window *w);

/* Add count samples of (proc, stack) at time now_ns (the current fine
 * slot; a time before it is added to the current slot). 0 or -ENOMEM. */
int window_add(struct window *w, uint64_t now_ns, uint32_t proc, uint32_t stack, uint64_t count);

/* Advance time: close finished slots, roll them up, enforce the memory
 * bound. Call every tick. */
void window_tick(struct window *w, uint64_t now_ns);

/* Visit the sum of counts per (proc, stack) over [now_ns - span_ns,
 * now_ns], from the finest tier whose held span covers it (or the coarsest
 * if none does). fn may not call into the window. Returns the number of
 * entries visited or -errno; *ret describes the data used. */
typedef void (*window_visit_fn)(uint32_t proc, uint32_t stack, uint64_t count, void *ctx);
int window_query(struct window *w, uint64_t now_ns, uint64_t span_ns, window_visit_fn fn, void *ctx, struct window_range *ret);

/* Add counters of proc at time now_ns to the current fine slot (as
 * window_add): sums and histograms are deltas since the previous add;
 * gauges are c->gauge_last sampled at now_ns, with c->gauge_max a peak
 * seen since the previous add (0 if none: max(last, max) is kept).
 * c->gauge_ns is ignored: the sample time is now_ns. Merging: sums and
 * histograms add; the gauges of the newest gauge time win (the later add
 * on a tie); maxima take the max. 0, -EINVAL or -ENOMEM. */
int window_add_counters(struct window *w, uint64_t now_ns, uint32_t proc, const struct wcounters *c);

/* Visit the counters per process merged over [now_ns - span_ns, now_ns],
 * from the same tier and slots window_query uses. fn may not call into
 * the window. Returns the number of processes visited or -errno; *ret
 * describes the data used (from_ns: the oldest slot holding counters). */
typedef void (*window_counters_fn)(uint32_t proc, const struct wcounters *c, void *ctx);
int window_query_counters(struct window *w, uint64_t now_ns, uint64_t span_ns, window_counters_fn fn, void *ctx, struct window_range *ret);

/* Absolute ranges (profctl --from/--to, CSV rows per slot): the same as
 * window_query / window_query_counters over the slots intersecting
 * [from_ns, to_ns), from the finest tier whose ring still holds from_ns
 * (else the coarsest). A range is answered in whole slots: *ret says
 * which (from_ns: start of the first slot used, to_ns: min(to_ns, now)).
 * Returns the number of entries (processes) visited or -errno. */
int window_query_range(struct window *w, uint64_t from_ns, uint64_t to_ns, window_visit_fn fn, void *ctx,
		       struct window_range *ret);
int window_query_counters_range(struct window *w, uint64_t from_ns, uint64_t to_ns, window_counters_fn fn,
				void *ctx, struct window_range *ret);
/* Slot length of the tier a range query starting at from_ns uses. */
uint64_t window_range_slot_ns(const struct window *w, uint64_t from_ns);

/* Quantile q (0..1) of a log2 histogram: the upper bound 2^(i+1) of the
 * bucket i where the cumulative count reaches the nearest rank
 * ceil(q x total) (bucket 31, unbounded, gives 2^32); 0 if empty. */
uint64_t wc_hist_quantile(const uint32_t *hist, double q);

void window_get_stats(const struct window *w, struct window_stats *ret);

/* ---- Export and restore, for state that survives a restart ---- */

/* The geometry the window was made with (ntiers, slot lengths and counts,
 * memory bound). */
void window_get_opts(const struct window *w, struct window_opts *ret);

/* One slot, as window_export_tier hands it out. */
struct window_slot_info {
	uint32_t tier;
	uint64_t start_ns;
	uint64_t slot_ns;
	uint32_t nentries;  /* (proc, stack) entries that follow */
	uint32_t nrecords;  /* counter records that follow */
	/* The tier's open slot: its data has not been rolled up into the
	 * next tier yet (pass it back to window_restore as unmerged). */
	int unmerged;
};

/* Callbacks return 0 to go on, anything else to stop (returned). */
struct window_export_fns {
	int (*slot)(const struct window_slot_info *si, void *ctx);
	int (*entry)(uint32_t proc, uint32_t stack, uint64_t count, void *ctx);
	int (*counters)(uint32_t proc, const struct wcounters *c, void *ctx);
	void *ctx;
};

/* Visit every slot of tier k holding data, oldest first: slot(), then
 * entry() for each of its entries and counters() for each record (a
 * process may have two records in one slot; merging them is exact).
 * Returns the number of slots visited, a callback's non-zero value, or
 * -EINVAL (no such tier). */
int window_export_tier(struct window *w, uint32_t k, const struct window_export_fns *fns);

/* Put data back into slot start_ns of tier k, as window_export_tier gave
 * it: counts add to what the slot holds. unmerged: the data was never
 * rolled up into tier k + 1 (the slot was open when exported); if the
 * slot is closed now, it is added to the coarser tiers too (up to an
 * open slot, which rolls up by itself). 0, -EINVAL (no such tier, start
 * not a slot boundary), -ERANGE (the slot is older than the tier's ring
 * or after its open slot: nothing added), -ENOMEM. */
int window_restore(struct window *w, uint32_t k, uint64_t start_ns, int unmerged, uint32_t proc, uint32_t stack, uint64_t count);
int window_restore_counters(struct window *w, uint32_t k, uint64_t start_ns, int unmerged, uint32_t proc, const struct wcounters *c);
/* After the last window_restore*: pack restored closed slots and apply
 * the memory bound. */
void window_restore_finish(struct window *w);

#endif
