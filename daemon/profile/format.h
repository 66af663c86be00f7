/* SPDX-License-Identifier: GPL-2.0-only */
/* Output formats: one table of {name, MIME type, encode(profile, sink)}
 * over the neutral profile model. The API's export, the pushers and alert
 * evidence look formats up here; adding a format is one encoder module
 * and one row in format.c. */
#ifndef PROFD_PROFILE_FORMAT_H
#define PROFD_PROFILE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

struct profile;

/* Where encoders write: a write function and its state. */
struct sink {
	/* 0, or -errno: -E2BIG when the sink's bound is reached. */
	int (*write)(struct sink *s, const void *buf, size_t n);
};

int sink_write(struct sink *s, const void *buf, size_t n);
int sink_puts(struct sink *s, const char *str);
int sink_printf(struct sink *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A sink into one growable buffer of at most max bytes. */
struct sink_buf {
	struct sink sink;
	char *buf;
	size_t len, cap, max;
};
void sink_buf_init(struct sink_buf *b, size_t max);
/* Hand the buffer over (caller frees); the sink is empty afterwards. */
char *sink_buf_steal(struct sink_buf *b, size_t *ret_len);
void sink_buf_release(struct sink_buf *b);

/* format_opts.flags */
#define FORMAT_BY_THREAD (1u << 0)  /* split stacks by thread (folded, json, svg, speedscope, pprof labels) */
#define FORMAT_BY_PROCESS (1u << 1) /* one profile per process (speedscope) */
#define FORMAT_LABELS (1u << 2)     /* pid, comm, thread labels (pprof) */
#define FORMAT_ICICLE (1u << 3)     /* roots at the top (svg) */

struct format_opts {
	/* Bound on an encoder's scratch memory besides the sink (folded
	 * sorts its lines before writing them); 0: no bound. */
	size_t scratch_max;
	unsigned flags;         /* FORMAT_* */
	const char *title;      /* svg and report title; NULL: a default */
	uint32_t width;         /* svg width in px; 0: 1200 */
};

/* What an encoder wrote, for the reply's summary. */
struct format_result {
	uint64_t samples;  /* samples encoded */
	uint64_t stacks;   /* stacks (or lines) written */
};

struct format {
	const char *name;  /* as in `profctl export --format NAME` */
	const char *mime;
	const char *description;
	/* 0 and *ret, or -errno (-E2BIG: over a bound, -ENOMEM) */
	int (*encode)(const struct profile *p, const struct format_opts *o, struct sink *out,
		      struct format_result *ret);
};

/* The format called name, NULL if none. */
const struct format *format_find(const char *name);
/* Every format, NULL-terminated, in the order `--help` lists them. */
const struct format *const *format_all(void);
/* "folded, json" into buf, for messages. Returns buf. */
char *format_names(char *buf, size_t n);

/* The encoders (one module each). */
extern const struct format format_folded;
extern const struct format format_json;
extern const struct format format_pprof;
extern const struct format format_speedscope;
extern const struct format format_svg;
extern const struct format format_csv;
extern const struct format format_report;

#endif
