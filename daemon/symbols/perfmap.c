/* SPDX-License-Identifier: GPL-2.0-only */
/* JIT perf maps: "START SIZE NAME" lines into a table sorted by start. */
#include "symbols/perfmap.h"
#include "base/util.h"
#include "common/sort.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NEIGHBOURS 16 /* earlier entries tried for a covering later line */

struct pm_entry {
	uint64_t start;
	uint64_t size;
	uint32_t name;  /* arena offset */
	uint32_t seq;   /* line number: later lines win */
};

struct perfmap {
	struct pm_entry *e;
	size_t count, cap;
	struct util_arena arena;
	size_t skipped;
};

static int hex(const char **p, const char *end, uint64_t *ret)
{
	const char *s = *p;
	uint64_t v = 0;
	int n = 0;

	if (end - s > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	for (; s < end; s++, n++) {
		char c = *s;
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

		if (d < 0)
			break;
		if (n == 16)
			return -EINVAL;
		v = v << 4 | (uint64_t)d;
	}
	if (!n)
		return -EINVAL;
	*p = s;
	*ret = v;
	return 0;
}

/* One line [p, end) without its newline. 0 (added or blank), -EINVAL
 * (malformed), -ENOMEM. */
static int parse_line(struct perfmap *m, const char *p, const char *end, uint32_t seq)
{
	uint64_t start, size;
	size_t off, len;

	if (end > p && end[-1] == '\r')
		end--;
	if (p == end)
		return 0;
	if (hex(&p, end, &start) < 0 || p == end || *p != ' ')
		return -EINVAL;
	while (p < end && *p == ' ')
		p++;
	if (hex(&p, end, &size) < 0 || p == end || *p != ' ')
		return -EINVAL;
	while (p < end && *p == ' ')
		p++;
	len = (size_t)(end - p);
	if (!len || !size || start > UINT64_MAX - size || memchr(p, '\0', len))
		return -EINVAL;
	if (len > PERFMAP_NAME_MAX)
		len = PERFMAP_NAME_MAX;
	if (m->count == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 256;
		struct pm_entry *n = realloc(m->e, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		m->e = n;
		m->cap = cap;
	}
	if (m->arena.len + len + 1 > UINT32_MAX)
		return -ENOMEM;
	if (util_arena_add(&m->arena, p, len, &off) < 0)
		return -ENOMEM;
	m->e[m->count++] = (struct pm_entry){ .start = start, .size = size, .name = (uint32_t)off, .seq = seq };
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct pm_entry *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int perfmap_parse(const char *buf, size_t len, struct perfmap **ret)
{
	struct perfmap *m = calloc(1, sizeof(*m));
	const char *p = buf, *end = buf + len;
	uint32_t seq = 0;
	size_t out = 0;

	if (!m)
		return -ENOMEM;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		int r = parse_line(m, p, le, seq++);

		if (r == -ENOMEM) {
			perfmap_free(m);
			return r;
		}
		if (r < 0)
			m->skipped++;
		p = nl ? nl + 1 : end;
	}
	if (m->count)
		qsort_safe(m->e, m->count, sizeof(*m->e), cmp_entry);
	/* The same start twice: the later line replaces the earlier. */
	for (size_t i = 0; i < m->count; i++) {
		if (out && m->e[out - 1].start == m->e[i].start)
			out--;
		m->e[out++] = m->e[i];
	}
	m->count = out;
	*ret = m;
	return 0;
}

struct perfmap *perfmap_free(struct perfmap *m)
{
	if (m) {
		free(m->e);
		free(m->arena.buf);
		free(m);
	}
	return NULL;
}

int perfmap_lookup(const struct perfmap *m, uint64_t ip, const char **ret_name, uint64_t *ret_offset)
{
	const struct pm_entry *best = NULL;
	size_t lo = 0, hi = m->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->e[mid].start <= ip)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Code reused after a collection: several lines may cover ip, the
	 * latest is the code there now. */
	for (size_t i = lo, tries = 0; i > 0 && tries < NEIGHBOURS; i--, tries++) {
		const struct pm_entry *e = &m->e[i - 1];

		if (ip - e->start < e->size && (!best || e->seq > best->seq))
			best = e;
	}
	if (!best)
		return -ENOENT;
	*ret_name = m->arena.buf + best->name;
	*ret_offset = ip - best->start;
	return 0;
}

size_t perfmap_count(const struct perfmap *m)
{
	return m ? m->count : 0;
}

size_t perfmap_skipped(const struct perfmap *m)
{
	return m ? m->skipped : 0;
}

size_t perfmap_bytes(const struct perfmap *m)
{
	return m ? sizeof(*m) + m->cap * sizeof(*m->e) + m->arena.cap : 0;
}
