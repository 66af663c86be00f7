/* SPDX-License-Identifier: GPL-2.0-only */
/* Differential profiles: what changed between a base window and a newer
 * one. Pure: it reads two profile models and writes to a sink.
 *
 * For each function (by name and kind, merged across processes and
 * addresses), its self and total samples in each profile, its shares of
 * that profile's samples, the change of each share in percentage points,
 * and a two-proportion z-test of each change given the sample counts.
 * A function is significant when the smaller p of its two tests, times
 * the number of tests made (Bonferroni), is below alpha; functions are
 * sorted by |z| (the stronger of the two), so noise sinks to the bottom.
 * Samples of one stack are not independent draws (a hot loop is sampled
 * many times in a row), so p is optimistic for changes that come and go
 * within seconds: alpha defaults to 0.01 over all tests. */
#ifndef PROFD_PROFILE_DIFF_H
#define PROFD_PROFILE_DIFF_H

#include <stddef.h>
#include <stdint.h>

struct profile;
struct sink;

struct diff_fn {
	const char *name;
	uint8_t cls;              /* enum frame_class */
	uint64_t self[2];         /* samples with it as the leaf: [base, now] */
	uint64_t total[2];        /* samples with it anywhere in the stack */
	double self_pct[2], total_pct[2]; /* shares of each profile's samples, % */
	double d_self, d_total;   /* now - base, percentage points */
	double z_self, z_total;   /* two-proportion z (positive: grew) */
	double p;                 /* smaller two-sided p of the two tests */
	double z;                 /* the z of larger magnitude */
	int significant;
};

struct diff {
	uint64_t samples[2];      /* [base, now] */
	double window_s[2];
	double alpha;
	size_t ntests;            /* tests made (Bonferroni factor) */
	struct diff_fn *fns;      /* sorted by |z| descending */
	size_t nfns;
	struct diff_priv *priv;
};

struct diff_opts {
	double alpha;             /* family-wise level; 0: 0.01 */
	size_t scratch_max;       /* bound on the diff's memory; 0: none */
	unsigned flags;           /* FORMAT_BY_THREAD, FORMAT_ICICLE (svg, folded) */
	const char *title;
	uint32_t width;
	size_t limit;             /* text: at most this many functions; 0: 50 */
};

/* 0 and *ret, -E2BIG (over scratch_max) or -ENOMEM. */
int diff_compute(const struct profile *base, const struct profile *now, const struct diff_opts *o,
		 struct diff **ret);
struct diff *diff_free(struct diff *d);

/* Write d as "text" (a table for people), "json", "folded" (one line per
 * stack with the base and the new count: what difffolded-style tools
 * read) or "svg" (a differential flame graph: widths from the newer
 * window, red grew, blue shrank). The profiles are those d was computed
 * from. 0, -EINVAL (unknown format) or -errno. */
int diff_write(const struct diff *d, const struct profile *base, const struct profile *now, const char *format,
	       const struct diff_opts *o, struct sink *out);

/* "text, json, folded, svg". */
const char *diff_format_names(void);
int diff_format_known(const char *format);

#endif
