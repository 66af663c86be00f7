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

/* A sink that only counts, up to max bytes (0: no bound; past it -E2BIG):
 * the size of an output without holding it. */
struct sink_count {
	struct sink sink;
	uint64_t bytes, max;
};
void sink_count_init(struct sink_count *c, uint64_t max);

struct format_opts {
	/* Bound on an encoder's scratch memory besides the sink (folded
	 * sorts its lines before writing them); 0: no bound. */
	size_t scratch_max;
	unsigned flags;         /* FORMAT_* */
	const char *title;      /* svg and report title; NULL: a default */
	uint32_t width;         /* svg width in px; 0: 1200 */
};

/* What an encoder writes, known once it is opened. */
struct format_result {
	uint64_t samples;  /* samples encoded */
	uint64_t stacks;   /* stacks (or distinct lines) written */
	uint64_t scratch_bytes; /* memory the open encoder holds */
};

/* An encoder writes its output in pieces (a line, a stack), so that a
 * server can send an output of any size in bounded memory, pausing
 * between pieces while the client reads. */
struct format {
	const char *name;  /* as in `profctl export --format NAME` */
	const char *mime;
	const char *description;
	/* Prepare to encode p (which must outlive the state): 0, *ret_state
	 * and the summary in *ret, or -errno (-E2BIG: scratch over the
	 * bound, -ENOMEM). */
	int (*open)(const struct profile *p, const struct format_opts *o, void **ret_state,
		    struct format_result *ret);
	/* Write the next piece: 1 when one was written, 0 when the output
	 * is complete (nothing written), or -errno (the sink's). */
	int (*next)(void *state, struct sink *out);
	void (*close)(void *state);
	/* Or, for formats that cannot be written in pieces (a gzip stream, a
	 * document whose summary comes first): write the whole output to out
	 * at once. format_stream runs it into a buffer bounded by
	 * scratch_max at open, then hands the buffer out in pieces. */
	int (*encode)(const struct profile *p, const struct format_opts *o, struct sink *out,
		      struct format_result *ret);
};

/* An open encoder over one profile. */
struct format_stream;
/* 0 and *ret (summary in *res), or the encoder's -errno. */
int format_stream_open(const struct format *f, const struct profile *p, const struct format_opts *o,
		       struct format_stream **ret, struct format_result *res);
/* Write whole pieces to out until at least want bytes went out or the
 * output is complete. Returns 1 when more remains, 0 when complete, or
 * -errno; *ret_written (may be NULL) gets the bytes written by this call. */
int format_stream_next(struct format_stream *s, struct sink *out, size_t want, size_t *ret_written);
/* Bytes written so far. */
uint64_t format_stream_written(const struct format_stream *s);
struct format_stream *format_stream_free(struct format_stream *s);

/* The whole output in one go: open, every piece, close. 0 and *ret, or
 * -errno (-E2BIG: the sink's or the scratch bound). */
int format_encode(const struct format *f, const struct profile *p, const struct format_opts *o, struct sink *out,
		  struct format_result *ret);

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
