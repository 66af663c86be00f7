/* SPDX-License-Identifier: GPL-2.0-only */
/* The CPython 3.11 offsets of include/profd/python.h against the
 * interpreter's own internal headers (python3.11-dev, Py_BUILD_CORE): every
 * field the BPF walk or the name reader uses must sit where the table
 * says. Exit 77 (skip) only when the 3.11 headers are absent. */
#if defined(__has_include)
#if __has_include(<Python.h>) && __has_include(<internal/pycore_frame.h>)
#define HAVE_PY 1
#endif
#endif

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#ifdef HAVE_PY
#define Py_BUILD_CORE 1
#include <Python.h>
#include <internal/pycore_frame.h>
#include <internal/pycore_interp.h>
#include <internal/pycore_runtime.h>
#endif

#include "profd/python.h"

#ifdef HAVE_PY
static int failures;

static void expect(const char *what, size_t table, size_t real)
{
	if (table == real) {
		printf("ok   %-40s %zu\n", what, real);
		return;
	}
	printf("FAIL %-40s table %zu, headers %zu\n", what, table, real);
	failures++;
}

#define CHECK(c, t, f) expect(#t "." #f, (size_t)(c), offsetof(t, f))
#endif

int main(void)
{
#ifndef HAVE_PY
	printf("skip: no CPython 3.11 internal headers (python3.11-dev)\n");
	return 77;
#else
	if (PY_VERSION_HEX >> 16 != 0x030b) {
		printf("skip: the headers are CPython %s, the table is for 3.11\n", PY_VERSION);
		return 77;
	}
	CHECK(PROFD_PY311_RT_TSTATE_CURRENT, _PyRuntimeState, gilstate.tstate_current);
	CHECK(PROFD_PY311_RT_INTERP_MAIN, _PyRuntimeState, interpreters.main);
	CHECK(PROFD_PY311_IS_THREADS_HEAD, PyInterpreterState, threads.head);
	CHECK(PROFD_PY311_TS_NEXT, PyThreadState, next);
	CHECK(PROFD_PY311_TS_CFRAME, PyThreadState, cframe);
	CHECK(PROFD_PY311_TS_THREAD_ID, PyThreadState, thread_id);
	CHECK(PROFD_PY311_CF_CURRENT_FRAME, _PyCFrame, current_frame);
	CHECK(PROFD_PY311_IF_CODE, _PyInterpreterFrame, f_code);
	CHECK(PROFD_PY311_IF_PREVIOUS, _PyInterpreterFrame, previous);
	CHECK(PROFD_PY311_IF_IS_ENTRY, _PyInterpreterFrame, is_entry);
	CHECK(PROFD_PY311_IF_OWNER, _PyInterpreterFrame, owner);
	CHECK(PROFD_PY311_CO_FIRSTLINENO, PyCodeObject, co_firstlineno);
	CHECK(PROFD_PY311_CO_FILENAME, PyCodeObject, co_filename);
	CHECK(PROFD_PY311_CO_NAME, PyCodeObject, co_name);
	CHECK(PROFD_PY311_CO_QUALNAME, PyCodeObject, co_qualname);
	CHECK(PROFD_PY311_OB_TYPE, PyObject, ob_type);
	CHECK(PROFD_PY311_STR_LENGTH, PyASCIIObject, length);
	CHECK(PROFD_PY311_STR_STATE, PyASCIIObject, state);
	CHECK(PROFD_PY311_STR_UTF8_LENGTH, PyCompactUnicodeObject, utf8_length);
	CHECK(PROFD_PY311_STR_UTF8, PyCompactUnicodeObject, utf8);
	expect("sizeof(PyASCIIObject) (ASCII data)", PROFD_PY311_STR_ASCII_DATA, sizeof(PyASCIIObject));
	expect("sizeof(PyCompactUnicodeObject)", PROFD_PY311_STR_COMPACT_DATA, sizeof(PyCompactUnicodeObject));
	/* the reads cover the fields */
	expect("frame read covers owner", PROFD_PY311_IF_READ >= offsetof(_PyInterpreterFrame, owner) + 1,
	       1);
	expect("code read covers co_qualname",
	       PROFD_PY311_CO_READ >= offsetof(PyCodeObject, co_qualname) + sizeof(PyObject *), 1);
	expect("sizeof(thread_id)", 8, sizeof(((PyThreadState *)0)->thread_id));
	expect("sizeof(co_firstlineno)", 4, sizeof(((PyCodeObject *)0)->co_firstlineno));
	/* the state bits the name reader decodes: compact (5) and ascii (6) */
	{
		PyASCIIObject o = { 0 };
		unsigned st;

		o.state.compact = 1;
		memcpy(&st, (char *)&o + PROFD_PY311_STR_STATE, sizeof(st));
		expect("state.compact is bit 5", st, 1u << 5);
		o.state.compact = 0;
		o.state.ascii = 1;
		memcpy(&st, (char *)&o + PROFD_PY311_STR_STATE, sizeof(st));
		expect("state.ascii is bit 6", st, 1u << 6);
	}
	return failures ? 1 : 0;
#endif
}
