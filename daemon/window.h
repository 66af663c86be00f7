/* Rolling windows: a tiered ring of time slots holding sample counts per
 * (process, stack).
 *
 * Tier 0 holds fine slots (default 1 s x 600), tier 1 coarse slots
 * (default 60 s x 1440). Every sample is added to the current fine slot;
 * when a fine slot closes its contents are also merged into the current
 * coarse slot, so a query is answered from the finest tier that covers it.
 * The whole store has a memory bound: when it is exceeded, the oldest coarse
 * slots lose their rarest detail first (entries with the smallest counts are
 * folded into one per-process entry with stack STACK_ID_COARSENED), then
 * whole oldest slots are dropped; both are counted in the stats.
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
};

/* What a query was answered from. */
struct window_range {
	int tier;          /* tier used */
	uint64_t from_ns;  /* start of the first slot used */
	uint64_t to_ns;    /* end of data used (<= now) */
};

struct window;

/* Validates opts (-EINVAL via errno on bad ones); NULL on failure. */
struct window *window_new(const struct window_opts *opts, uint64_t now_ns);
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

void window_get_stats(const struct window *w, struct window_stats *ret);

#endif
