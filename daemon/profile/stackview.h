/* SPDX-License-Identifier: GPL-2.0-only */
/* How encoders show a stack: the frames a person reads, outermost first,
 * with the pseudo frames folded has always written ([truncated], [stack
 * table full], [coarsened]) and, on request, the process and the thread
 * as root frames. One place, so that pprof, speedscope, SVG and diffs
 * agree with folded on what a stack is. */
#ifndef PROFD_PROFILE_STACKVIEW_H
#define PROFD_PROFILE_STACKVIEW_H

#include <stddef.h>
#include <stdint.h>

#include "profile/profile.h"

#define PSEUDO_TRUNCATED "[truncated]"
#define PSEUDO_OVERFLOW "[stack table full]"
#define PSEUDO_COARSENED "[coarsened]"

enum vframe_kind {
	VF_COMM,   /* the process's comm */
	VF_THREAD, /* "[NAME tid=TID]" */
	VF_PSEUDO, /* one of PSEUDO_* */
	VF_FRAME,  /* a frame of the profile */
};

/* Colour classes of a flame graph. */
enum frame_class {
	FC_USER,
	FC_KERNEL,
	FC_INTERP,  /* Python: interpreted frames and the interpreter's own */
	FC_UNKNOWN, /* [unknown], module+0xoff, and the pseudo frames */
	FC_ROOT,    /* process and thread roots */
	FC_N,
};

struct vframe {
	uint32_t kind;   /* enum vframe_kind */
	uint32_t frame;  /* VF_FRAME: index into p->frames */
	const char *name;
};

#define VIEW_COMM (1u << 0)   /* the process as the root frame */
#define VIEW_THREAD (1u << 1) /* the thread (if any) under it */

/* Most display frames besides the stack's own frames. */
#define VIEW_EXTRA 5
/* Thread frame names are written into a buffer of this size. */
#define VIEW_THREAD_NAME_MAX 64

/* The display frames of s into out[0 .. s->nframes + VIEW_EXTRA),
 * outermost first; a thread frame's name is written into tbuf. Returns
 * how many. */
size_t stackview(const struct profile *p, const struct profile_stack *s, unsigned flags,
		 char tbuf[VIEW_THREAD_NAME_MAX], struct vframe *out);

/* The colour class of a display frame. */
enum frame_class stackview_class(const struct profile *p, const struct vframe *v);

#endif
