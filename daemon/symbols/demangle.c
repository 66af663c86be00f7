/* SPDX-License-Identifier: GPL-2.0-only */
/* C++ and Rust demangling through libiberty's callback interfaces. */
#include "symbols/demangle.h"

#include <errno.h>
#include <string.h>

#include <libiberty/demangle.h>

struct out {
	char *buf;
	size_t cap;
	size_t len;
};

/* libiberty hands the text over in pieces; what does not fit is dropped. */
static void append(const char *s, size_t n, void *arg)
{
	struct out *o = arg;
	size_t room = o->cap - 1 - o->len;

	if (n > room)
		n = room;
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

int demangle_candidate(const char *name, size_t len)
{
	return len > 2 && name[0] == '_' && (name[1] == 'Z' || name[1] == 'R');
}

int demangle_name(const char *name, char *out, size_t cap)
{
	const int opts = DMGL_PARAMS | DMGL_ANSI;
	struct out o = { .buf = out, .cap = cap };
	size_t len;

	if (cap < 2)
		return -EINVAL;
	out[0] = '\0';
	len = strnlen(name, DEMANGLE_IN_MAX + 1);
	if (len > DEMANGLE_IN_MAX)
		return -E2BIG;
	if (!demangle_candidate(name, len))
		return 0;
	/* Legacy Rust names are valid Itanium names too: Rust first, as
	 * libiberty's own automatic style does, so their hash is dropped. */
	if (!rust_demangle_callback(name, opts, append, &o)) {
		o.len = 0;
		out[0] = '\0';
		if (!cplus_demangle_v3_callback(name, opts, append, &o)) {
			out[0] = '\0';
			return 0;
		}
	}
	return (int)o.len;
}
