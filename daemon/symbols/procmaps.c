/* SPDX-License-Identifier: GPL-2.0-only */
/* /proc/PID/maps parser: bounded, tolerant of malformed lines. */
#include "symbols/procmaps.h"
#include "base/util.h"
#include "common/sort.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DELETED_SUFFIX " (deleted)"

struct procmaps {
	struct procmaps_entry *entries;
	size_t count;
	size_t cap;
	struct util_arena arena; /* names, NUL-terminated */
	size_t skipped;
};

/* Parse a hex number at *p, at most 16 digits; advances *p. */
static int parse_hex(const char **p, const char *end, uint64_t *ret)
{
	const char *s = *p;
	uint64_t v = 0;
	int n = 0;

	while (s < end) {
		int d;
		char c = *s;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			break;
		if (++n > 16) /* would overflow 64 bits */
			return -EINVAL;
		v = (v << 4) | (uint64_t)d;
		s++;
	}
	if (n == 0)
		return -EINVAL;
	*p = s;
	*ret = v;
	return 0;
}

static int parse_dec(const char **p, const char *end, uint64_t *ret)
{
	const char *s = *p;
	uint64_t v = 0;
	int n = 0;

	while (s < end && *s >= '0' && *s <= '9') {
		uint64_t d = (uint64_t)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
		s++;
		n++;
	}
	if (n == 0)
		return -EINVAL;
	*p = s;
	*ret = v;
	return 0;
}

static int expect(const char **p, const char *end, char c)
{
	if (*p >= end || **p != c)
		return -EINVAL;
	(*p)++;
	return 0;
}

static void skip_spaces(const char **p, const char *end)
{
	while (*p < end && (**p == ' ' || **p == '\t'))
		(*p)++;
}

static int arena_add(struct procmaps *m, const char *s, size_t len, size_t *ret_off)
{
	return util_arena_add(&m->arena, s, len, ret_off);
}

/* Parse one line [s, end). Returns 0 (entry added), -EINVAL (skip), -ENOMEM. */
static int parse_line(struct procmaps *m, const char *s, const char *end)
{
	struct procmaps_entry e = {0};
	uint64_t maj, min;
	size_t off;
	int r;

	if (parse_hex(&s, end, &e.start) < 0 || expect(&s, end, '-') < 0 ||
	    parse_hex(&s, end, &e.end) < 0 || expect(&s, end, ' ') < 0)
		return -EINVAL;
	if (e.end <= e.start || end - s < 4)
		return -EINVAL;
	if (s[0] == 'r')
		e.perms |= PROCMAPS_R;
	else if (s[0] != '-')
		return -EINVAL;
	if (s[1] == 'w')
		e.perms |= PROCMAPS_W;
	else if (s[1] != '-')
		return -EINVAL;
	if (s[2] == 'x')
		e.perms |= PROCMAPS_X;
	else if (s[2] != '-')
		return -EINVAL;
	if (s[3] == 'p')
		e.perms |= PROCMAPS_P;
	else if (s[3] != 's')
		return -EINVAL;
	s += 4;
	if (expect(&s, end, ' ') < 0 || parse_hex(&s, end, &e.pgoff) < 0 ||
	    expect(&s, end, ' ') < 0 || parse_hex(&s, end, &maj) < 0 ||
	    expect(&s, end, ':') < 0 || parse_hex(&s, end, &min) < 0 ||
	    expect(&s, end, ' ') < 0 || parse_dec(&s, end, &e.inode) < 0)
		return -EINVAL;
	if (maj > UINT32_MAX || min > UINT32_MAX)
		return -EINVAL;
	e.dev_major = (uint32_t)maj;
	e.dev_minor = (uint32_t)min;
	/* The path is the rest of the line after the padding: it may hold
	 * spaces. A path column must be separated by at least one space. */
	if (s < end && *s != ' ' && *s != '\t')
		return -EINVAL;
	skip_spaces(&s, end);
	size_t plen = (size_t)(end - s);
	if (plen >= sizeof(DELETED_SUFFIX) - 1 &&
	    memcmp(end - (sizeof(DELETED_SUFFIX) - 1), DELETED_SUFFIX, sizeof(DELETED_SUFFIX) - 1) == 0) {
		e.deleted = 1;
		plen -= sizeof(DELETED_SUFFIX) - 1;
	}
	if (memchr(s, '\0', plen))
		return -EINVAL;
	r = arena_add(m, s, plen, &off);
	if (r < 0)
		return r;
	if (m->count == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		struct procmaps_entry *n = realloc(m->entries, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		m->entries = n;
		m->cap = cap;
	}
	/* Store the arena offset for now: the arena may still move. */
	e.path = (const char *)(uintptr_t)off;
	m->entries[m->count++] = e;
	return 0;
}

static int cmp_start(const void *a, const void *b)
{
	const struct procmaps_entry *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

int procmaps_parse(const char *buf, size_t len, struct procmaps **ret)
{
	struct procmaps *m = calloc(1, sizeof(*m));
	const char *p = buf, *end = buf + len;
	int sorted = 1;

	if (!m)
		return -ENOMEM;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		int r;

		if (le > p) {
			r = parse_line(m, p, le);
			if (r == -ENOMEM) {
				procmaps_free(m);
				return r;
			}
			if (r < 0)
				m->skipped++;
		}
		p = nl ? nl + 1 : end;
	}
	for (size_t i = 0; i < m->count; i++) {
		m->entries[i].path = m->arena.buf + (uintptr_t)m->entries[i].path;
		if (i && m->entries[i].start < m->entries[i - 1].start)
			sorted = 0;
	}
	/* The kernel emits maps sorted; fixtures might not be. */
	if (!sorted)
		qsort_safe(m->entries, m->count, sizeof(*m->entries), cmp_start);
	*ret = m;
	return 0;
}

int procmaps_read(const char *path, struct procmaps **ret)
{
	size_t len;
	char *buf;
	int r, truncated;

	r = util_read_file(path, PROCMAPS_MAX_BYTES, UTIL_READ_TRUNCATE, &buf, &len);
	if (r < 0)
		return r;
	truncated = r == 1;
	if (truncated) {
		/* Drop the partial last line. */
		while (len && buf[len - 1] != '\n')
			len--;
	}
	r = procmaps_parse(buf, len, ret);
	if (r == 0 && truncated)
		(*ret)->skipped++;
	free(buf);
	return r;
}

struct procmaps *procmaps_free(struct procmaps *m)
{
	if (m) {
		free(m->entries);
		free(m->arena.buf);
		free(m);
	}
	return NULL;
}

size_t procmaps_count(const struct procmaps *m)
{
	return m ? m->count : 0;
}

const struct procmaps_entry *procmaps_get(const struct procmaps *m, size_t i)
{
	return m && i < m->count ? &m->entries[i] : NULL;
}

const struct procmaps_entry *procmaps_find(const struct procmaps *m, uint64_t ip, size_t *ret_index)
{
	size_t lo = 0, hi;

	if (!m)
		return NULL;
	hi = m->count;
	/* Last entry with start <= ip. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->entries[mid].start <= ip)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || ip >= m->entries[lo - 1].end)
		return NULL;
	if (ret_index)
		*ret_index = lo - 1;
	return &m->entries[lo - 1];
}

size_t procmaps_skipped(const struct procmaps *m)
{
	return m ? m->skipped : 0;
}

size_t procmaps_bytes(const struct procmaps *m)
{
	return m ? sizeof(*m) + m->cap * sizeof(*m->entries) + m->arena.cap : 0;
}

int procmaps_entry_is_file(const struct procmaps_entry *e)
{
	return e && e->inode != 0 && e->path[0] == '/';
}

int procmaps_entry_is_code(const struct procmaps_entry *e)
{
	return procmaps_entry_is_file(e) && (e->perms & PROCMAPS_X);
}
