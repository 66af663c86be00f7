/* SPDX-License-Identifier: GPL-2.0-only */
/* The hottest function of one process: its stack entries' leaf frames
 * counted per function, so that every address inside one function counts
 * together (top's `hottest`). */
#ifndef PROFD_HOTTEST_H
#define PROFD_HOTTEST_H

#include <stddef.h>
#include <stdint.h>

#include "profile/profile.h"

struct symbolizer;
struct stacks;
struct pq_entry;

/* Reusable scratch: its table grows to the largest process seen (its
 * distinct leaf functions), so a whole `top` allocates a few times. */
struct hottest_scratch {
	struct hot_fn *fn;
	size_t n, cap;
	uint32_t *tab;   /* fn index + 1, 0 empty */
	size_t tcap;
};

struct hottest {
	char name[PROFILE_NAME_MAX + 1]; /* "" when the hottest has no symbol */
	const char *module;              /* its object ("" unknown); valid until the
					  * next symbolizer_poll() */
	uint64_t samples;                /* leaf samples of that function */
};

/* Count the leaf frames of entries v[0..n) (one process's, any order)
 * per function: (object, symbol start) once the frame is resolved
 * (profile_frame_resolve) and named; a frame no symbol covers counts
 * under its object (all its unnamed addresses together: "in libfoo",
 * not one row per address), and so do kernel frames shown as [kernel].
 * The function with the most samples (the first seen on a tie) goes to
 * *ret. name_flags: PROFILE_NAMES_*. 0 (ret->samples 0 when no entry has
 * a stack) or -ENOMEM. */
int hottest_find(struct hottest_scratch *sc, struct symbolizer *sym, const struct stacks *stacks,
		 const struct pq_entry *v, size_t n, unsigned name_flags, struct hottest *ret);
void hottest_scratch_release(struct hottest_scratch *sc);

#endif
