/* SPDX-License-Identifier: GPL-2.0-only */
/* Staging of drained records while the store is being read, see
 * staging.h. */
#include "staging.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Kept after a replay; more is given back. */
#define KEEP_BYTES (256 * 1024)

struct hdr {
	uint32_t kind;
	uint32_t len;
	uint64_t a, b;
	uint64_t staged_ns;
};

struct staging {
	char *buf;
	size_t head;            /* first record not yet replayed */
	size_t len, cap, max;
	struct staging_stats st;
};

static size_t padded(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

int staging_new(size_t max_bytes, struct staging **ret)
{
	struct staging *s;

	if (!max_bytes)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->max = max_bytes;
	*ret = s;
	return 0;
}

struct staging *staging_free(struct staging *s)
{
	if (!s)
		return NULL;
	free(s->buf);
	free(s);
	return NULL;
}

int staging_push(struct staging *s, enum staging_kind kind, uint64_t a, uint64_t b, const void *data, size_t len,
		 uint64_t now_ns)
{
	size_t need = sizeof(struct hdr) + padded(len);
	struct hdr h = { .kind = kind, .len = (uint32_t)len, .a = a, .b = b, .staged_ns = now_ns };

	if (len > UINT32_MAX || (kind != STAGING_TICK && s->len - s->head + need > s->max)) {
		s->st.refused++;
		return -ENOBUFS;
	}
	/* replayed records at the front make room first */
	if (s->head && s->len + need > s->cap) {
		memmove(s->buf, s->buf + s->head, s->len - s->head);
		s->len -= s->head;
		s->head = 0;
	}
	if (s->len + need > s->cap) {
		size_t cap = s->cap ? s->cap : 65536;
		char *nb;

		while (cap < s->len + need)
			cap *= 2;
		/* within the bound, except for ticks past it */
		if (cap > s->max && s->len + need <= s->max)
			cap = s->max;
		nb = realloc(s->buf, cap);
		if (!nb)
			return -ENOMEM;
		s->buf = nb;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, &h, sizeof(h));
	if (len)
		memcpy(s->buf + s->len + sizeof(h), data, len);
	s->len += need;
	s->st.bytes = s->len - s->head;
	s->st.records++;
	if (kind == STAGING_SAMPLE)
		s->st.samples++;
	if (s->st.bytes > s->st.bytes_max)
		s->st.bytes_max = s->st.bytes;
	return 0;
}

int staging_pending(const struct staging *s)
{
	return s->head < s->len;
}

size_t staging_replay(struct staging *s, staging_fn fn, void *ctx, size_t max)
{
	size_t n = 0;

	while (s->head < s->len && (!max || n < max)) {
		struct hdr h;
		struct staging_rec r;

		memcpy(&h, s->buf + s->head, sizeof(h));
		r = (struct staging_rec){ .kind = h.kind, .len = h.len, .a = h.a, .b = h.b, .staged_ns = h.staged_ns,
					  .data = s->buf + s->head + sizeof(h) };
		/* fn must not push: the buffer may move */
		s->head += sizeof(h) + padded(h.len);
		s->st.records--;
		if (h.kind == STAGING_SAMPLE)
			s->st.samples--;
		fn(&r, ctx);
		n++;
	}
	s->st.replayed += n;
	if (s->head >= s->len) {
		s->head = s->len = 0;
		if (s->cap > KEEP_BYTES) {
			free(s->buf);
			s->buf = NULL;
			s->cap = 0;
		}
	}
	s->st.bytes = s->len - s->head;
	return n;
}

void staging_get_stats(const struct staging *s, struct staging_stats *ret)
{
	*ret = s->st;
	ret->allocated = s->cap;
}
