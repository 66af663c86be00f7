/* SPDX-License-Identifier: GPL-2.0-only */
/* The format table and the sinks encoders write to, see format.h. */
#include "profile/format.h"

#include <errno.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct format *const formats[] = {
	&format_folded,
	&format_json,
	&format_pprof,
	&format_speedscope,
	&format_svg,
	&format_csv,
	&format_report,
	NULL,
};

const struct format *format_find(const char *name)
{
	for (size_t i = 0; name && formats[i]; i++)
		if (!strcmp(formats[i]->name, name))
			return formats[i];
	return NULL;
}

const struct format *const *format_all(void)
{
	return formats;
}

char *format_names(char *buf, size_t n)
{
	size_t len = 0;

	if (n)
		buf[0] = 0;
	for (size_t i = 0; formats[i] && len < n; i++)
		len += (size_t)snprintf(buf + len, n - len, "%s%s", i ? ", " : "", formats[i]->name);
	return buf;
}

int sink_write(struct sink *s, const void *buf, size_t n)
{
	return n ? s->write(s, buf, n) : 0;
}

int sink_puts(struct sink *s, const char *str)
{
	return sink_write(s, str, strlen(str));
}

int sink_printf(struct sink *s, const char *fmt, ...)
{
	char small[256], *big = NULL;
	va_list ap;
	int n, r;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n < sizeof(small))
		return sink_write(s, small, (size_t)n);
	va_start(ap, fmt);
	n = vasprintf(&big, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	r = sink_write(s, big, (size_t)n);
	free(big);
	return r;
}

static int buf_write(struct sink *s, const void *p, size_t n)
{
	struct sink_buf *b = (struct sink_buf *)s;

	if (b->max && (b->len + n < b->len || b->len + n > b->max))
		return -E2BIG;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *nb;

		while (cap < b->len + n)
			cap *= 2;
		if (b->max && cap > b->max)
			cap = b->max;
		nb = realloc(b->buf, cap);
		if (!nb)
			return -ENOMEM;
		b->buf = nb;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, p, n);
	b->len += n;
	return 0;
}

void sink_buf_init(struct sink_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->sink.write = buf_write;
	b->max = max;
}

char *sink_buf_steal(struct sink_buf *b, size_t *ret_len)
{
	char *p = b->buf;

	*ret_len = b->len;
	b->buf = NULL;
	b->len = b->cap = 0;
	return p;
}

void sink_buf_release(struct sink_buf *b)
{
	free(b->buf);
	b->buf = NULL;
	b->len = b->cap = 0;
}

static int count_write(struct sink *s, const void *p, size_t n)
{
	struct sink_count *c = (struct sink_count *)s;

	(void)p;
	if (c->max && (c->bytes + n < c->bytes || c->bytes + n > c->max))
		return -E2BIG;
	c->bytes += n;
	return 0;
}

void sink_count_init(struct sink_count *c, uint64_t max)
{
	memset(c, 0, sizeof(*c));
	c->sink.write = count_write;
	c->max = max;
}

/* ---- encoders in pieces ---- */

struct format_stream {
	const struct format *f;
	void *state;
	uint64_t written;
	int done;
	/* one-shot encoders: the whole output, handed out in pieces */
	char *buf;
	size_t len, off;
};

/* A piece of a one-shot encoder's buffered output. */
#define ONESHOT_PIECE (64 * 1024)

static int oneshot_open(struct format_stream *s, const struct profile *p, const struct format_opts *o,
			struct format_result *r)
{
	struct sink_buf b;
	int e;

	sink_buf_init(&b, o ? o->scratch_max : 0);
	e = s->f->encode(p, o, &b.sink, r);
	if (e < 0) {
		sink_buf_release(&b);
		return e;
	}
	s->buf = sink_buf_steal(&b, &s->len);
	r->scratch_bytes += s->len;
	return 0;
}

static int oneshot_next(struct format_stream *s, struct sink *out)
{
	size_t n = s->len - s->off < ONESHOT_PIECE ? s->len - s->off : ONESHOT_PIECE;
	int r;

	if (!n)
		return 0;
	r = sink_write(out, s->buf + s->off, n);
	if (r < 0)
		return r;
	s->off += n;
	return 1;
}

/* Counts what passes through to the real sink. */
struct tee {
	struct sink sink;
	struct sink *out;
	size_t n;
};

static int tee_write(struct sink *s, const void *p, size_t n)
{
	struct tee *t = (struct tee *)s;
	int r = sink_write(t->out, p, n);

	if (!r)
		t->n += n;
	return r;
}

int format_stream_open(const struct format *f, const struct profile *p, const struct format_opts *o,
		       struct format_stream **ret, struct format_result *res)
{
	struct format_stream *s = calloc(1, sizeof(*s));
	struct format_result r = { 0 };
	int e;

	if (!s)
		return -ENOMEM;
	s->f = f;
	e = f->open ? f->open(p, o, &s->state, &r) : oneshot_open(s, p, o, &r);
	if (e < 0) {
		free(s);
		return e;
	}
	*ret = s;
	if (res)
		*res = r;
	return 0;
}

int format_stream_next(struct format_stream *s, struct sink *out, size_t want, size_t *ret_written)
{
	struct tee t = { .sink.write = tee_write, .out = out };
	int r = 1;

	while (!s->done && (t.n < want || !want)) {
		r = s->f->next ? s->f->next(s->state, &t.sink) : oneshot_next(s, &t.sink);
		if (r < 0)
			break;
		if (r == 0)
			s->done = 1;
		if (!want)
			break;
	}
	s->written += t.n;
	if (ret_written)
		*ret_written = t.n;
	if (r < 0)
		return r;
	return s->done ? 0 : 1;
}

uint64_t format_stream_written(const struct format_stream *s)
{
	return s->written;
}

struct format_stream *format_stream_free(struct format_stream *s)
{
	if (!s)
		return NULL;
	if (s->f->close)
		s->f->close(s->state);
	free(s->buf);
	free(s);
	return NULL;
}

int format_encode(const struct format *f, const struct profile *p, const struct format_opts *o, struct sink *out,
		  struct format_result *ret)
{
	struct format_stream *s;
	struct format_result res;
	int r;

	r = format_stream_open(f, p, o, &s, &res);
	if (r < 0)
		return r;
	do
		r = format_stream_next(s, out, SIZE_MAX, NULL);
	while (r > 0);
	format_stream_free(s);
	if (r < 0)
		return r;
	if (ret)
		*ret = res;
	return 0;
}
