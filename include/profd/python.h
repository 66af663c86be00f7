/* SPDX-License-Identifier: GPL-2.0-only */
/* BPF <-> user-space ABI of the Python frame walk: the interpreter versions
 * profd knows and the offsets of the CPython fields the BPF program reads.
 *
 * CPython 3.11 on x86_64 (Debian 12's /usr/bin/python3.11). Every offset is
 * checked against the interpreter's own internal headers by
 * tests/unit/test_python_offsets.c (Py_BUILD_CORE): a value here that
 * differs from offsetof() in those headers fails the unit suite. A version
 * not listed here gets no Python frames: its native frames stay as they are.
 *
 * Only <linux/types.h> types: compiled by clang -target bpf and by the host
 * compiler. */
#ifndef PROFD_PYTHON_H
#define PROFD_PYTHON_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* profd_unw_proc.py_version */
#define PROFD_PY_NONE 0
#define PROFD_PY_311 1 /* CPython 3.11.x */

/* _PyRuntimeState */
#define PROFD_PY311_RT_TSTATE_CURRENT 576 /* gilstate.tstate_current (PyThreadState *) */
#define PROFD_PY311_RT_INTERP_MAIN 48     /* interpreters.main (PyInterpreterState *) */
/* PyInterpreterState */
#define PROFD_PY311_IS_THREADS_HEAD 16    /* threads.head (PyThreadState *) */
/* PyThreadState */
#define PROFD_PY311_TS_NEXT 8             /* next thread of the interpreter */
#define PROFD_PY311_TS_CFRAME 56          /* cframe (_PyCFrame *) */
#define PROFD_PY311_TS_THREAD_ID 152      /* thread_id: pthread_self() = the thread's fs base */
/* _PyCFrame */
#define PROFD_PY311_CF_CURRENT_FRAME 8    /* current_frame (_PyInterpreterFrame *) */
/* _PyInterpreterFrame */
#define PROFD_PY311_IF_CODE 32            /* f_code (PyCodeObject *) */
#define PROFD_PY311_IF_PREVIOUS 48        /* previous (_PyInterpreterFrame *) */
#define PROFD_PY311_IF_IS_ENTRY 68        /* is_entry (bool): first frame of one
					   * _PyEval_EvalFrameDefault call */
#define PROFD_PY311_IF_OWNER 69           /* owner (char) */
#define PROFD_PY311_IF_READ 72            /* bytes read per frame: up to owner, rounded */
/* PyCodeObject */
#define PROFD_PY311_CO_FIRSTLINENO 72     /* co_firstlineno (int) */
#define PROFD_PY311_CO_FILENAME 112       /* co_filename (PyUnicodeObject *) */
#define PROFD_PY311_CO_NAME 120           /* co_name */
#define PROFD_PY311_CO_QUALNAME 128       /* co_qualname */
#define PROFD_PY311_CO_READ 136           /* bytes user space reads of a code object */
/* PyObject, PyASCIIObject, PyCompactUnicodeObject */
#define PROFD_PY311_OB_TYPE 8
#define PROFD_PY311_STR_LENGTH 16         /* length (code points) */
#define PROFD_PY311_STR_STATE 32          /* state bit field (kind 2..4, compact 5, ascii 6) */
#define PROFD_PY311_STR_ASCII_DATA 48     /* sizeof(PyASCIIObject): compact ASCII data */
#define PROFD_PY311_STR_UTF8_LENGTH 48    /* PyCompactUnicodeObject.utf8_length */
#define PROFD_PY311_STR_UTF8 56           /* PyCompactUnicodeObject.utf8 (char *) */
#define PROFD_PY311_STR_COMPACT_DATA 72   /* sizeof(PyCompactUnicodeObject): its data */

/* Python frames of a sample: the walk's bound (frames past it are cut and
 * counted) and the interpreter threads searched for the sampled one. */
#define PROFD_PY_MAX_FRAMES 64
#define PROFD_PY_MAX_THREADS 32

/* A Python frame in a sample is a profd_uframe (profd/unwind.h) with
 * PROFD_UF_PY set: addr is the PyCodeObject's address in the process, uid
 * a signature of the code object (profd_py_code_sig of co_firstlineno and
 * the co_filename and co_qualname pointers) so that user space can tell a
 * freed and reused address from the code object the sample saw. Python
 * frames follow all native frames, leaf first. */
static inline __u32 profd_py_code_sig(__u32 firstlineno, __u64 filename, __u64 qualname)
{
	__u64 h = (__u64)firstlineno * 0x9e3779b97f4a7c15ull ^ filename * 0xc2b2ae3d27d4eb4full ^
		  qualname * 0x165667b19e3779f9ull;

	h ^= h >> 29;
	return (__u32)(h ^ (h >> 32)) | 1; /* never 0 */
}

#endif /* PROFD_PYTHON_H */
