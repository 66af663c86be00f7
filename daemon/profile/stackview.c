/* SPDX-License-Identifier: GPL-2.0-only */
/* Display frames of a stack, see stackview.h. */
#include "profile/stackview.h"

#include <stdio.h>
#include <string.h>

size_t stackview(const struct profile *p, const struct profile_stack *s, unsigned flags,
		 char tbuf[VIEW_THREAD_NAME_MAX], struct vframe *out)
{
	size_t n = 0;

	if (flags & VIEW_COMM)
		out[n++] = (struct vframe){ .kind = VF_COMM, .name = p->procs[s->proc].comm };
	if ((flags & VIEW_THREAD) && s->thread != PROFILE_NO_THREAD && s->thread < p->nthreads) {
		const struct profile_thread *t = &p->threads[s->thread];

		snprintf(tbuf, VIEW_THREAD_NAME_MAX, "[%s tid=%u]", t->name[0] ? t->name : "?", t->tid);
		out[n++] = (struct vframe){ .kind = VF_THREAD, .name = tbuf };
	}
	/* the order folded has always used */
	if (s->flags & PROFILE_STACK_TRUNCATED)
		out[n++] = (struct vframe){ .kind = VF_PSEUDO, .name = PSEUDO_TRUNCATED };
	if (s->flags & PROFILE_STACK_OVERFLOW)
		out[n++] = (struct vframe){ .kind = VF_PSEUDO, .name = PSEUDO_OVERFLOW };
	if (s->flags & PROFILE_STACK_COARSENED)
		out[n++] = (struct vframe){ .kind = VF_PSEUDO, .name = PSEUDO_COARSENED };
	for (uint32_t i = 0; i < s->nframes; i++) {
		uint32_t f = p->refs[s->first + i];

		out[n++] = (struct vframe){ .kind = VF_FRAME, .frame = f, .name = p->frames[f].name };
	}
	return n;
}

static int is_python(const char *module)
{
	return !strncmp(module, "libpython", 9) || !strncmp(module, "python", 6);
}

enum frame_class stackview_class(const struct profile *p, const struct vframe *v)
{
	const struct profile_frame *f;

	switch (v->kind) {
	case VF_COMM:
	case VF_THREAD:
		return FC_ROOT;
	case VF_PSEUDO:
		return FC_UNKNOWN;
	default:
		break;
	}
	f = &p->frames[v->frame];
	if (f->kind == PROFILE_FRAME_KERNEL)
		return FC_KERNEL;
	if (f->kind == PROFILE_FRAME_INTERP)
		return FC_INTERP;
	/* "[unknown]", or "module+0x1234": no symbol */
	if (f->name[0] == '[' || strstr(f->name, "+0x"))
		return FC_UNKNOWN;
	if (f->mapping != PROFILE_NO_MAPPING && is_python(p->mappings[f->mapping].name))
		return FC_INTERP;
	return FC_USER;
}
