/* SPDX-License-Identifier: GPL-2.0-only */
/* Flame graphs as self-contained interactive SVG, drawn from a merged call
 * tree (flame.h): hover shows a frame's name, samples and share; click
 * zooms, "Reset zoom" returns; a search box highlights matches and shows
 * the matched share; colour classes for user, kernel, interpreter,
 * unknown/truncated frames and process roots; --icicle puts roots at the
 * top. Frames narrower than a pixel are merged into one "[N frames]" box
 * per parent (dropped below 0.1 px, as flamegraph.pl's minwidth), so the
 * output is bounded by the width times the depth, whatever the number of
 * stacks. Differential graphs take widths from v[1] and colour by the
 * change of each frame's share from v[0] (red grew, blue shrank). */
#ifndef PROFD_PROFILE_SVG_H
#define PROFD_PROFILE_SVG_H

#include <stdint.h>

struct flame;
struct sink;

struct svg_opts {
	const char *title;
	const char *subtitle;
	uint32_t width;        /* px, 0: 1200 */
	int icicle;
	int diff;              /* widths from v[1], colour by share change */
};

/* Draw f into out. Returns 0 and *ret_frames (boxes drawn), or -errno. */
int svg_render(const struct flame *f, const struct svg_opts *o, struct sink *out, uint64_t *ret_frames);

#endif
