/* SPDX-License-Identifier: GPL-2.0-only */
/* The format table and the sinks encoders write to, see format.h. */
#include "profile/format.h"

#include <errno.h>
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
