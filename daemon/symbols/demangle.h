/* SPDX-License-Identifier: GPL-2.0-only */
/* C++ and Rust symbol names made readable, with libiberty's demangler
 * (the one binutils and GDB use), never a hand-written one.
 *
 * Bounded: names longer than DEMANGLE_IN_MAX are left alone (the
 * demangler's working space is on the stack, proportional to the name),
 * output past the caller's buffer is cut. Reentrant: the callback
 * interfaces keep no global state and do not allocate, so any loader
 * thread may call it. Pure: no I/O. */
#ifndef PROFD_DEMANGLE_H
#define PROFD_DEMANGLE_H

#include <stddef.h>

/* Longest mangled name demangled: 8 KiB costs the demangler about
 * 600 KiB of stack. Real C++ names stay far below it. */
#define DEMANGLE_IN_MAX 8192u

/* 1 when name (len bytes, no NUL needed) looks mangled: Itanium C++
 * ("_Z"), Rust v0 ("_R"); legacy Rust names are Itanium-shaped. */
int demangle_candidate(const char *name, size_t len);

/* Demangle the NUL-terminated name into out (cap bytes, NUL-terminated).
 * Returns the length written (cut at cap - 1: a name longer than that is
 * still returned, cut), 0 when name is not a mangled name the demangler
 * accepts (then out is ""), or -E2BIG when name is longer than
 * DEMANGLE_IN_MAX, -EINVAL when cap < 2. C++ names keep their parameter
 * lists ("ns::Acc<double>::step(double)"); legacy Rust names lose their
 * hash suffix. */
int demangle_name(const char *name, char *out, size_t cap);

#endif
