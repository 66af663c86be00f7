/* SPDX-License-Identifier: GPL-2.0-only */
/* Recognizes a CPython interpreter in an ELF object (the python3.11
 * executable, or a libpython3.11 shared object) from its symbols:
 * _PyRuntime (the interpreter state the BPF walk starts from),
 * _PyEval_EvalFrameDefault (the native frames Python frames replace) and
 * Py_Version (PY_VERSION_HEX, read from the file). Only versions
 * include/profd/python.h has offsets for are reported. */
#ifndef PROFD_UNWIND_PYELF_H
#define PROFD_UNWIND_PYELF_H

#include <stdint.h>

struct pyelf_info {
	uint32_t version;      /* PROFD_PY_* (never PROFD_PY_NONE on success) */
	uint32_t version_hex;  /* Py_Version as read */
	uint64_t runtime;      /* _PyRuntime's link-time address */
	uint64_t eval_lo;      /* _PyEval_EvalFrameDefault's file offsets [lo, hi) */
	uint64_t eval_hi;
	uint64_t exec_delta;   /* p_vaddr - p_offset of the segment holding it: a
				* mapping at start with file offset pgoff loads
				* the object at bias start - pgoff - exec_delta */
	int dyn;               /* ET_DYN: addresses move by the load bias */
};

/* Whether a mapped file's name looks like an interpreter (python3.11,
 * libpython3.11.so.1.0): the ELF is read only for those. */
int pyelf_name_matches(const char *path);

/* 0 and *ret for a known interpreter; -ENOENT (not one, or a version
 * profd has no offsets for: *ret untouched), -EINVAL (not ELF). */
int pyelf_read_fd(int fd, struct pyelf_info *ret);

#endif
