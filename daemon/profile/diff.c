/* SPDX-License-Identifier: GPL-2.0-only */
/* Differential profiles, see diff.h. */
#include "profile/diff.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "profile/flame.h"
#include "profile/format.h"
#include "profile/profile.h"
#include "profile/stackview.h"
#include "profile/strtab.h"
#include "profile/svg.h"
#include "common/sort.h"

struct diff_priv {
	struct strtab *names;     /* class byte + name, one per function */
};

/* ---- computing ---- */

struct acc {
	struct strtab *names;
	struct diff_fn *fns;
	size_t cap;
	uint32_t *seen;           /* per function: last stack that counted it + 1 */
	size_t max;
};

static int fn_of(struct acc *a, const char *name, uint8_t cls)
{
	char key[PROFILE_NAME_MAX + 2];
	size_t n = strnlen(name, PROFILE_NAME_MAX);
	int id;

	key[0] = (char)('0' + cls);
	memcpy(key + 1, name, n);
	id = strtab_intern(a->names, key, n + 1);
	if (id < 0)
		return id;
	if ((size_t)id >= a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 256;
		struct diff_fn *f;
		uint32_t *s;

		if (a->max && cap * (sizeof(*f) + sizeof(*s)) + strtab_bytes(a->names) > a->max)
			return -E2BIG;
		f = realloc(a->fns, cap * sizeof(*f));
		if (!f)
			return -ENOMEM;
		a->fns = f;
		s = realloc(a->seen, cap * sizeof(*s));
		if (!s)
			return -ENOMEM;
		a->seen = s;
		memset(a->fns + a->cap, 0, (cap - a->cap) * sizeof(*f));
		memset(a->seen + a->cap, 0, (cap - a->cap) * sizeof(*s));
		a->cap = cap;
	}
	a->fns[id].cls = cls;
	return id;
}

static int account(struct acc *a, const struct profile *p, int k)
{
	struct vframe *vf;
	size_t maxd = 0;
	char tbuf[VIEW_THREAD_NAME_MAX];
	int r = 0;

	for (size_t i = 0; i < p->nstacks; i++)
		if (p->stacks[i].nframes > maxd)
			maxd = p->stacks[i].nframes;
	vf = malloc((maxd + VIEW_EXTRA) * sizeof(*vf));
	if (!vf)
		return -ENOMEM;
	/* a stack counts once towards each function's total however often
	 * the function recurses in it: seen[] holds the stack's stamp */
	for (size_t i = 0; !r && i < p->nstacks; i++) {
		const struct profile_stack *s = &p->stacks[i];
		uint32_t stamp = (uint32_t)(i + 1) * 2 + (uint32_t)k; /* distinct per profile too */
		size_t n = stackview(p, s, 0, tbuf, vf);

		for (size_t j = 0; j < n; j++) {
			int id = fn_of(a, vf[j].name, (uint8_t)stackview_class(p, &vf[j]));

			if (id < 0) {
				r = id;
				break;
			}
			if (a->seen[id] != stamp) {
				a->seen[id] = stamp;
				a->fns[id].total[k] += s->count;
			}
			if (j == n - 1)
				a->fns[id].self[k] += s->count;
		}
	}
	free(vf);
	return r;
}

/* z of the change from x0/n0 to x1/n1 (pooled two-proportion test). */
static double ztest(uint64_t x0, uint64_t n0, uint64_t x1, uint64_t n1)
{
	double p0, p1, pp, se;

	if (!n0 || !n1)
		return 0;
	p0 = (double)x0 / (double)n0;
	p1 = (double)x1 / (double)n1;
	pp = (double)(x0 + x1) / (double)(n0 + n1);
	se = sqrt(pp * (1 - pp) * (1.0 / (double)n0 + 1.0 / (double)n1));
	if (se <= 0)
		return 0;
	return (p1 - p0) / se;
}

static int cmp_fn(const void *a, const void *b)
{
	const struct diff_fn *x = a, *y = b;
	double ax = fabs(x->z), ay = fabs(y->z);

	if (ax != ay)
		return ax > ay ? -1 : 1;
	if (fabs(x->d_total) != fabs(y->d_total))
		return fabs(x->d_total) > fabs(y->d_total) ? -1 : 1;
	return strcmp(x->name, y->name);
}

int diff_compute(const struct profile *base, const struct profile *now, const struct diff_opts *o,
		 struct diff **ret)
{
	struct acc a = { .max = o ? o->scratch_max : 0 };
	struct diff *d = calloc(1, sizeof(*d));
	const struct profile *pr[2] = { base, now };
	int r;

	if (!d)
		return -ENOMEM;
	d->priv = calloc(1, sizeof(*d->priv));
	if (!d->priv) {
		free(d);
		return -ENOMEM;
	}
	d->alpha = o && o->alpha > 0 ? o->alpha : 0.01;
	r = strtab_new(0, &a.names);
	for (int k = 0; !r && k < 2; k++) {
		d->samples[k] = pr[k]->samples;
		d->window_s[k] = (double)pr[k]->covered_ns / 1e9;
		r = account(&a, pr[k], k);
	}
	free(a.seen);
	if (r) {
		free(a.fns);
		strtab_free(a.names);
		free(d->priv);
		free(d);
		return r;
	}
	d->priv->names = a.names;
	d->fns = a.fns;
	d->nfns = strtab_count(a.names);
	d->ntests = 2 * d->nfns;
	for (size_t i = 0; i < d->nfns; i++) {
		struct diff_fn *f = &d->fns[i];
		double ps, pt;

		f->name = strtab_get(a.names, (uint32_t)i, NULL) + 1;
		for (int k = 0; k < 2; k++) {
			f->self_pct[k] = d->samples[k] ? 100.0 * (double)f->self[k] / (double)d->samples[k] : 0;
			f->total_pct[k] = d->samples[k] ? 100.0 * (double)f->total[k] / (double)d->samples[k] : 0;
		}
		f->d_self = f->self_pct[1] - f->self_pct[0];
		f->d_total = f->total_pct[1] - f->total_pct[0];
		f->z_self = ztest(f->self[0], d->samples[0], f->self[1], d->samples[1]);
		f->z_total = ztest(f->total[0], d->samples[0], f->total[1], d->samples[1]);
		f->z = fabs(f->z_self) > fabs(f->z_total) ? f->z_self : f->z_total;
		ps = erfc(fabs(f->z_self) / M_SQRT2);
		pt = erfc(fabs(f->z_total) / M_SQRT2);
		f->p = ps < pt ? ps : pt;
		f->significant = f->p * (double)d->ntests < d->alpha;
	}
	/* names point into the table: sorting moves only the records */
	qsort_safe(d->fns, d->nfns, sizeof(*d->fns), cmp_fn);
	*ret = d;
	return 0;
}

struct diff *diff_free(struct diff *d)
{
	if (!d)
		return NULL;
	if (d->priv)
		strtab_free(d->priv->names);
	free(d->priv);
	free(d->fns);
	free(d);
	return NULL;
}

/* ---- writing ---- */

static const char *kind_name(uint8_t cls)
{
	switch (cls) {
	case FC_KERNEL:
		return "kernel";
	case FC_INTERP:
		return "python";
	case FC_UNKNOWN:
		return "unknown";
	default:
		return "user";
	}
}

static int write_text(const struct diff *d, const struct diff_opts *o, struct sink *out)
{
	size_t limit = o && o->limit ? o->limit : 50, nsig = 0;
	int r;

	for (size_t i = 0; i < d->nfns; i++)
		nsig += d->fns[i].significant;
	r = sink_printf(out,
			"base:   %.1f s, %llu samples\n"
			"window: %.1f s, %llu samples\n"
			"%zu functions, %zu changed significantly (two-proportion z-test, p < %g after Bonferroni "
			"over %zu tests)\n\n"
			"%-26s %-26s %8s  %-4s  %s\n",
			d->window_s[0], (unsigned long long)d->samples[0], d->window_s[1],
			(unsigned long long)d->samples[1], d->nfns, nsig, d->alpha, d->ntests,
			"total % base -> now (pts)", "self % base -> now (pts)", "z", "sig", "function");
	for (size_t i = 0; !r && i < d->nfns && i < limit; i++) {
		const struct diff_fn *f = &d->fns[i];
		char t[64], s[64];

		snprintf(t, sizeof(t), "%6.2f -> %6.2f (%+6.2f)", f->total_pct[0], f->total_pct[1], f->d_total);
		snprintf(s, sizeof(s), "%6.2f -> %6.2f (%+6.2f)", f->self_pct[0], f->self_pct[1], f->d_self);
		r = sink_printf(out, "%-26s %-26s %8.2f  %-4s  %s%s\n", t, s, f->z, f->significant ? "yes" : "no",
				f->name, f->cls == FC_KERNEL ? " [k]" : "");
	}
	if (!r && d->nfns > limit)
		r = sink_printf(out, "(%zu more, less significant)\n", d->nfns - limit);
	return r;
}

static int write_json(const struct diff *d, struct sink *out)
{
	struct json_object *o = json_object_new_object(), *arr = json_object_new_array();
	int r;

	if (!o || !arr) {
		json_object_put(o);
		json_object_put(arr);
		return -ENOMEM;
	}
	for (int k = 0; k < 2; k++) {
		struct json_object *w = json_object_new_object();

		json_object_object_add(w, "window_s", json_object_new_double(d->window_s[k]));
		json_object_object_add(w, "samples", json_object_new_uint64(d->samples[k]));
		json_object_object_add(o, k ? "window" : "base", w);
	}
	json_object_object_add(o, "test", json_object_new_string("two-proportion z-test, Bonferroni"));
	json_object_object_add(o, "alpha", json_object_new_double(d->alpha));
	json_object_object_add(o, "tests", json_object_new_uint64(d->ntests));
	/* the header first, then each function serialised on its own */
	r = sink_puts(out, "{");
	json_object_object_foreach(o, key, val)
	{
		if (r)
			break;
		r = sink_printf(out, "\"%s\":%s,", key,
				json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	}
	json_object_put(o);
	json_object_put(arr);
	if (!r)
		r = sink_puts(out, "\"functions\":[");
	for (size_t i = 0; !r && i < d->nfns; i++) {
		const struct diff_fn *f = &d->fns[i];
		struct json_object *x = json_object_new_object();

		if (!x)
			return -ENOMEM;
		json_object_object_add(x, "name", json_object_new_string(f->name));
		json_object_object_add(x, "kind", json_object_new_string(kind_name(f->cls)));
		for (int k = 0; k < 2; k++) {
			struct json_object *w = json_object_new_object();

			json_object_object_add(w, "self", json_object_new_uint64(f->self[k]));
			json_object_object_add(w, "total", json_object_new_uint64(f->total[k]));
			json_object_object_add(w, "self_pct", json_object_new_double(f->self_pct[k]));
			json_object_object_add(w, "total_pct", json_object_new_double(f->total_pct[k]));
			json_object_object_add(x, k ? "window" : "base", w);
		}
		json_object_object_add(x, "delta_self_pts", json_object_new_double(f->d_self));
		json_object_object_add(x, "delta_total_pts", json_object_new_double(f->d_total));
		json_object_object_add(x, "z_self", json_object_new_double(f->z_self));
		json_object_object_add(x, "z_total", json_object_new_double(f->z_total));
		json_object_object_add(x, "z", json_object_new_double(f->z));
		json_object_object_add(x, "p", json_object_new_double(f->p));
		json_object_object_add(x, "significant", json_object_new_boolean(f->significant));
		r = sink_puts(out, i ? ",\n" : "\n");
		if (!r)
			r = sink_puts(out, json_object_to_json_string_ext(x, JSON_C_TO_STRING_PLAIN |
									     JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(x);
	}
	return r ? r : sink_puts(out, "\n]}\n");
}

/* Folded line of a stack as folded.c writes it (comm first, ';' and ' '
 * in names become '_', kernel frames end in "_[k]"), into buf. */
static size_t folded_line(const struct profile *p, const struct profile_stack *s, unsigned view, struct vframe *vf,
			  char *buf, size_t cap)
{
	char tbuf[VIEW_THREAD_NAME_MAX];
	size_t n = stackview(p, s, view | VIEW_COMM, tbuf, vf), len = 0;

	for (size_t k = 0; k < n && len + 8 < cap; k++) {
		const char *name = vf[k].name;
		size_t start = len;

		if (k)
			buf[len++] = ';';
		start = len;
		while (*name && len + 8 < cap)
			buf[len++] = *name++;
		/* pseudo frames are written as they are */
		if (vf[k].kind != VF_PSEUDO)
			for (size_t i = start; i < len; i++)
				if (buf[i] == ';' || buf[i] == ' ')
					buf[i] = '_';
		if (vf[k].kind == VF_FRAME && p->frames[vf[k].frame].kind == PROFILE_FRAME_KERNEL) {
			memcpy(buf + len, "_[k]", 4);
			len += 4;
		}
	}
	buf[len] = 0;
	return len;
}

static int cmp_str(const void *a, const void *b, void *ctx)
{
	const struct strtab *t = ctx;

	return strcmp(strtab_get(t, *(const uint32_t *)a, NULL), strtab_get(t, *(const uint32_t *)b, NULL));
}

static int write_folded(const struct profile *base, const struct profile *now, const struct diff_opts *o,
			struct sink *out)
{
	const struct profile *pr[2] = { base, now };
	unsigned view = o && (o->flags & FORMAT_BY_THREAD) ? VIEW_THREAD : 0;
	struct strtab *lines = NULL;
	uint64_t (*cnt)[2] = NULL;
	size_t cap = 0, maxd = 0, linecap;
	uint32_t *order = NULL;
	struct vframe *vf;
	char *buf;
	int r;

	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < pr[k]->nstacks; i++)
			if (pr[k]->stacks[i].nframes > maxd)
				maxd = pr[k]->stacks[i].nframes;
	linecap = (maxd + VIEW_EXTRA) * (PROFILE_NAME_MAX + 6) + 16;
	vf = malloc((maxd + VIEW_EXTRA) * sizeof(*vf));
	buf = malloc(linecap);
	r = vf && buf ? strtab_new(o ? o->scratch_max : 0, &lines) : -ENOMEM;
	for (int k = 0; !r && k < 2; k++)
		for (size_t i = 0; !r && i < pr[k]->nstacks; i++) {
			size_t len = folded_line(pr[k], &pr[k]->stacks[i], view, vf, buf, linecap);
			int id = strtab_intern(lines, buf, len);

			if (id < 0) {
				r = id;
				break;
			}
			if ((size_t)id >= cap) {
				size_t ncap = cap ? cap * 2 : 1024;
				uint64_t (*nc)[2] = realloc(cnt, ncap * sizeof(*nc));

				if (!nc) {
					r = -ENOMEM;
					break;
				}
				memset(nc + cap, 0, (ncap - cap) * sizeof(*nc));
				cnt = nc;
				cap = ncap;
			}
			cnt[id][k] += pr[k]->stacks[i].count;
		}
	if (!r && lines && strtab_count(lines)) {
		order = malloc(strtab_count(lines) * sizeof(*order));
		if (!order)
			r = -ENOMEM;
	}
	if (!r && order) {
		for (size_t i = 0; i < strtab_count(lines); i++)
			order[i] = (uint32_t)i;
		qsort_r(order, strtab_count(lines), sizeof(*order), cmp_str, lines);
		for (size_t i = 0; !r && i < strtab_count(lines); i++)
			r = sink_printf(out, "%s %llu %llu\n", strtab_get(lines, order[i], NULL),
					(unsigned long long)cnt[order[i]][0], (unsigned long long)cnt[order[i]][1]);
	}
	free(order);
	free(cnt);
	free(vf);
	free(buf);
	strtab_free(lines);
	return r;
}

static int write_svg(const struct profile *base, const struct profile *now, const struct diff_opts *o,
		     struct sink *out)
{
	const struct profile *pr[2] = { base, now };
	unsigned view = VIEW_COMM | (o && (o->flags & FORMAT_BY_THREAD) ? VIEW_THREAD : 0);
	struct svg_opts so = { .title = o && o->title ? o->title : "Differential flame graph",
			       .width = o ? o->width : 0,
			       .icicle = o && (o->flags & FORMAT_ICICLE),
			       .diff = 1 };
	struct flame *f = NULL;
	struct flame_frame *path = NULL;
	struct vframe *vf = NULL;
	char tbuf[VIEW_THREAD_NAME_MAX], sub[200];
	size_t maxd = 0;
	int r;

	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < pr[k]->nstacks; i++)
			if (pr[k]->stacks[i].nframes > maxd)
				maxd = pr[k]->stacks[i].nframes;
	r = flame_new("all", FC_ROOT, o ? o->scratch_max : 0, &f);
	if (r)
		return r;
	vf = malloc((maxd + VIEW_EXTRA) * sizeof(*vf));
	path = malloc((maxd + VIEW_EXTRA) * sizeof(*path));
	if (!vf || !path)
		r = -ENOMEM;
	for (int k = 0; !r && k < 2; k++)
		for (size_t i = 0; !r && i < pr[k]->nstacks; i++) {
			size_t n = stackview(pr[k], &pr[k]->stacks[i], view, tbuf, vf);

			for (size_t j = 0; j < n; j++)
				path[j] = (struct flame_frame){ .name = vf[j].name,
								.cls = (uint8_t)stackview_class(pr[k], &vf[j]) };
			r = flame_add(f, k, path, n, pr[k]->stacks[i].count);
		}
	if (!r) {
		snprintf(sub, sizeof(sub), "base %.1f s, %llu samples; window %.1f s, %llu samples",
			 (double)base->covered_ns / 1e9, (unsigned long long)base->samples, (double)now->covered_ns / 1e9,
			 (unsigned long long)now->samples);
		so.subtitle = sub;
		r = svg_render(f, &so, out, NULL);
	}
	free(vf);
	free(path);
	flame_free(f);
	return r;
}

static const char *const formats[] = { "text", "json", "folded", "svg", NULL };

const char *diff_format_names(void)
{
	return "text, json, folded, svg";
}

int diff_format_known(const char *format)
{
	for (int i = 0; format && formats[i]; i++)
		if (!strcmp(format, formats[i]))
			return 1;
	return 0;
}

int diff_write(const struct diff *d, const struct profile *base, const struct profile *now, const char *format,
	       const struct diff_opts *o, struct sink *out)
{
	if (!strcmp(format, "text"))
		return write_text(d, o, out);
	if (!strcmp(format, "json"))
		return write_json(d, out);
	if (!strcmp(format, "folded"))
		return write_folded(base, now, o, out);
	if (!strcmp(format, "svg"))
		return write_svg(base, now, o, out);
	return -EINVAL;
}
