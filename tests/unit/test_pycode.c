/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for Python frame names (symbols/pycode.c): a fake process
 * memory holding CPython 3.11 code objects and strings, laid out by the
 * offsets of include/profd/python.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "profd/python.h"
#include "symbols/pycode.h"

#define BASE 0x10000ull
#define SIZE 4096

struct mem {
	uint8_t b[SIZE];
	uint32_t pid;     /* the process that can be read */
	int reads;
};

static ssize_t fake_read(void *ctx, uint32_t pid, uint64_t addr, void *buf, size_t len)
{
	struct mem *m = ctx;

	m->reads++;
	if (pid != m->pid || addr < BASE || addr - BASE + len > SIZE)
		return -EFAULT;
	memcpy(buf, m->b + (addr - BASE), len);
	return (ssize_t)len;
}

static void put64(struct mem *m, uint64_t at, uint64_t v)
{
	memcpy(m->b + (at - BASE), &v, 8);
}

static void put32(struct mem *m, uint64_t at, uint32_t v)
{
	memcpy(m->b + (at - BASE), &v, 4);
}

/* A compact ASCII string at at. */
static void ascii(struct mem *m, uint64_t at, const char *s)
{
	put64(m, at + PROFD_PY311_STR_LENGTH, strlen(s));
	put32(m, at + PROFD_PY311_STR_STATE, 1u << 5 | 1u << 6 | 1u << 2);
	memcpy(m->b + (at - BASE) + PROFD_PY311_STR_ASCII_DATA, s, strlen(s));
}

/* A compact non-ASCII string whose UTF-8 form is cached at u8. */
static void utf8(struct mem *m, uint64_t at, uint64_t u8, const char *s)
{
	put64(m, at + PROFD_PY311_STR_LENGTH, 3);
	put32(m, at + PROFD_PY311_STR_STATE, 1u << 5 | 2u << 2);
	put64(m, at + PROFD_PY311_STR_UTF8_LENGTH, strlen(s));
	put64(m, at + PROFD_PY311_STR_UTF8, u8);
	memcpy(m->b + (u8 - BASE), s, strlen(s));
}

/* A code object at at; returns its signature. */
static uint32_t code(struct mem *m, uint64_t at, uint32_t line, uint64_t file, uint64_t qual)
{
	put32(m, at + PROFD_PY311_CO_FIRSTLINENO, line);
	put64(m, at + PROFD_PY311_CO_FILENAME, file);
	put64(m, at + PROFD_PY311_CO_NAME, qual);
	put64(m, at + PROFD_PY311_CO_QUALNAME, qual);
	return profd_py_code_sig(line, file, qual);
}

static struct pycode *make(struct mem *m, uint32_t max_names, int worker)
{
	struct pycode *p = NULL;

	assert_int_equal(pycode_new(&(struct pycode_opts){ .read = fake_read, .ctx = m, .max_names = max_names,
							   .no_worker = !worker },
				    &p),
			 0);
	return p;
}

/* The frame's entry, then its name once read. */
static const char *name_of(struct pycode *p, uint32_t tgid, uint64_t start, uint64_t code, uint32_t sig,
			   uint64_t *ret_id)
{
	uint64_t id = pycode_frame(p, tgid, start, code, sig);

	pycode_poll(p);
	if (ret_id)
		*ret_id = id;
	return pycode_lookup(p, id);
}

static void test_names(void **state)
{
	struct mem *m = calloc(1, sizeof(*m));
	struct pycode *p;
	struct pycode_stats st;
	uint32_t sig, sig2;
	uint64_t id, id2;

	(void)state;
	m->pid = 42;
	ascii(m, BASE + 0x400, "/srv/app/py_json_hash.py");
	ascii(m, BASE + 0x500, "Worker.work_json");
	sig = code(m, BASE + 0x100, 12, BASE + 0x400, BASE + 0x500);
	utf8(m, BASE + 0x600, BASE + 0x700, "gr\xc3\xbc\xc3\x9f");
	sig2 = code(m, BASE + 0x200, 30, BASE + 0x400, BASE + 0x600);
	p = make(m, 4, 0);

	/* before the read: an entry, named "[python]" */
	id = pycode_frame(p, 42, 1000, BASE + 0x100, sig);
	assert_true(id > 0);
	assert_string_equal(pycode_lookup(p, id), "[python]");
	pycode_poll(p);
	assert_string_equal(pycode_lookup(p, id), "py_json_hash.py:Worker.work_json");
	/* the same frame again: the same entry, no read */
	m->reads = 0;
	assert_string_equal(name_of(p, 42, 1000, BASE + 0x100, sig, &id2), "py_json_hash.py:Worker.work_json");
	assert_int_equal(id2, id);
	assert_int_equal(m->reads, 0);
	/* a non-ASCII name by its cached UTF-8 */
	assert_string_equal(name_of(p, 42, 1000, BASE + 0x200, sig2, NULL), "py_json_hash.py:gr\xc3\xbc\xc3\x9f");
	/* another process life: another entry, the same name */
	assert_string_equal(name_of(p, 42, 2000, BASE + 0x100, sig, &id2), "py_json_hash.py:Worker.work_json");
	assert_true(id2 != id);

	/* the code object was freed and its address reused by another
	 * function: the sample's signature no longer matches: "[python]",
	 * and the entry already named keeps its name */
	code(m, BASE + 0x100, 99, BASE + 0x400, BASE + 0x600);
	assert_string_equal(name_of(p, 42, 3000, BASE + 0x100, sig, NULL), "[python]");
	assert_string_equal(pycode_lookup(p, id), "py_json_hash.py:Worker.work_json");
	/* an unreadable process, a wild pointer */
	assert_string_equal(name_of(p, 43, 1000, BASE + 0x100, sig, NULL), "[python]");
	assert_string_equal(name_of(p, 42, 1000, 0x10, 5, NULL), "[python]");
	assert_null(pycode_lookup(p, 1000));

	pycode_get_stats(p, &st);
	assert_int_equal(st.stale, 1);
	assert_int_equal(st.read_failures, 2);
	assert_int_equal(st.names, 2);
	assert_int_equal(st.entries, 6);
	assert_int_equal(st.pending, 0);
	assert_true(st.hits >= 1);
	p = pycode_free(p);
	assert_null(p);
	free(m);
}

/* The reader thread: names arrive at a later poll. */
static void test_worker(void **state)
{
	struct mem *m = calloc(1, sizeof(*m));
	struct pycode *p;
	struct pycode_stats st;
	uint64_t id;
	uint32_t sig;

	(void)state;
	m->pid = 9;
	ascii(m, BASE + 0x400, "w.py");
	ascii(m, BASE + 0x500, "f");
	sig = code(m, BASE + 0x100, 1, BASE + 0x400, BASE + 0x500);
	p = make(m, 0, 1);
	id = pycode_frame(p, 9, 1, BASE + 0x100, sig);
	for (int i = 0; i < 2000; i++) {
		pycode_poll(p);
		pycode_get_stats(p, &st);
		if (!st.pending)
			break;
		usleep(1000);
	}
	assert_int_equal(st.pending, 0);
	assert_string_equal(pycode_lookup(p, id), "w.py:f");
	pycode_free(p);
	free(m);
}

/* The bound on names: past it frames are "[python]" and counted. */
static void test_name_bound(void **state)
{
	struct mem *m = calloc(1, sizeof(*m));
	struct pycode *p;
	struct pycode_stats st;
	const char *names[4];
	char q[16];

	(void)state;
	m->pid = 7;
	ascii(m, BASE + 0x800, "a.py");
	p = make(m, 3, 0); /* "[python]" + 2 */
	for (int i = 0; i < 4; i++) {
		uint64_t s = BASE + 0x100 * (uint64_t)(i + 1), c = BASE + 0xa00 + 0x100 * (uint64_t)i;

		snprintf(q, sizeof(q), "f%d", i);
		ascii(m, s, q);
		names[i] = name_of(p, 7, 1, c, code(m, c, 1, BASE + 0x800, s), NULL);
	}
	assert_string_equal(names[0], "a.py:f0");
	assert_string_equal(names[1], "a.py:f1");
	assert_string_equal(names[2], "[python]");
	assert_string_equal(names[3], "[python]");
	pycode_get_stats(p, &st);
	assert_int_equal(st.names_full, 2);
	pycode_free(p);
	free(m);
}

static void test_format(void **state)
{
	char buf[64];

	(void)state;
	pycode_format("/usr/lib/python3.11/json/encoder.py", "JSONEncoder.encode", buf, sizeof(buf));
	assert_string_equal(buf, "encoder.py:JSONEncoder.encode");
	pycode_format("<string>", "<module>", buf, sizeof(buf));
	assert_string_equal(buf, "<string>:<module>");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_worker),
		cmocka_unit_test(test_name_bound),
		cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
