/* SPDX-License-Identifier: GPL-2.0-only */
/* Interactive SVG flame graphs, see svg.h; and the `svg` format: the
 * profile's stacks (process as the root, thread under it with
 * --by-thread) merged into a flame tree and drawn. The encoder's memory is
 * the tree (distinct path prefixes, bounded by scratch_max) and one child
 * list at a time per level while drawing; the SVG text is streamed. */
#include "profile/svg.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile/flame.h"
#include "profile/format.h"
#include "profile/profile.h"
#include "profile/stackview.h"

#define PAD 10.0          /* px left and right */
#define FH 16             /* frame height, px */
#define TOP 66            /* title, subtitle, controls, legend */
#define BOTTOM_SPACE 36   /* details line */
#define MERGE_PX 1.0      /* narrower frames are merged per parent */
#define MIN_PX 0.1        /* a lone narrow frame narrower than this is merged too */
#define FONT_W 6.6        /* px per character of the 11 px monospace font */

struct draw {
	const struct flame *f;
	const struct flame_node *n;
	const struct svg_opts *o;
	struct sink *out;
	double scale;         /* px per sample (of v[w]) */
	int w;                /* which value gives widths */
	double tot[2];
	double maxd;          /* largest |share change| (diff) */
	uint32_t depth;
	double height;
	uint64_t frames;
	int merged_any;       /* a merged box carries its subtrees (data-t) */
};

/* ---- text ---- */

/* Length of the valid UTF-8 sequence at s (1..4), 0 if invalid. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0 && s[0] >= 0xc2)
		n = 2;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3;
	else if ((s[0] & 0xf8) == 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* s escaped for XML text and attributes, at most max characters (then
 * ".." ends it); invalid UTF-8 and control characters become '?', which
 * keeps one bad symbol name from breaking the whole document. */
static int put_text(struct sink *out, const char *s, size_t max)
{
	char buf[1024];
	size_t len = 0, chars = 0, total = 0;
	const unsigned char *p = (const unsigned char *)s;
	int r = 0;

	for (const unsigned char *q = p; *q; total++) {
		size_t n = utf8_len(q);

		q += n ? n : 1;
	}
	while (*p && !r) {
		size_t n = utf8_len(p);
		const char *rep = NULL;

		if (max && total > max && chars + 2 >= max) {
			rep = "..";
			p += strlen((const char *)p);
		} else if (!n || (n == 1 && (*p < 0x20 || *p == 0x7f))) {
			rep = "?";
			p++;
		} else if (*p == '&') {
			rep = "&amp;";
		} else if (*p == '<') {
			rep = "&lt;";
		} else if (*p == '>') {
			rep = "&gt;";
		} else if (*p == '"') {
			rep = "&quot;";
		}
		if (len + 8 > sizeof(buf)) {
			r = sink_write(out, buf, len);
			len = 0;
		}
		if (rep) {
			if (*p && rep[0] == '&')
				p++;
			memcpy(buf + len, rep, strlen(rep));
			len += strlen(rep);
		} else {
			memcpy(buf + len, p, n);
			len += n;
			p += n;
		}
		chars++;
	}
	return r ? r : sink_write(out, buf, len);
}

static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* Colour of a frame: a family per class, a shade from the name. */
static void colour(const char *name, uint8_t cls, char *buf, size_t n)
{
	uint32_t h = name_hash(name);
	double a = (double)(h & 0xff) / 255.0, b = (double)((h >> 8) & 0xff) / 255.0;

	switch (cls) {
	case FC_KERNEL: /* teal */
		snprintf(buf, n, "rgb(%d,%d,%d)", 40 + (int)(50 * a), 160 + (int)(50 * b), 170 + (int)(50 * b));
		break;
	case FC_INTERP: /* green */
		snprintf(buf, n, "rgb(%d,%d,%d)", 60 + (int)(60 * a), 175 + (int)(55 * b), 60 + (int)(40 * a));
		break;
	case FC_UNKNOWN: /* grey */
		snprintf(buf, n, "rgb(%d,%d,%d)", 165 + (int)(25 * a), 165 + (int)(25 * a), 165 + (int)(25 * a));
		break;
	case FC_ROOT: /* violet */
		snprintf(buf, n, "rgb(%d,%d,%d)", 170 + (int)(30 * a), 140 + (int)(30 * b), 215 + (int)(30 * a));
		break;
	default: /* user: red to yellow, as flame graphs have always been */
		snprintf(buf, n, "rgb(%d,%d,%d)", 205 + (int)(50 * b), (int)(230 * a), (int)(55 * b));
		break;
	}
}

static void diff_colour(double d, double maxd, char *buf, size_t n)
{
	double i = maxd > 0 ? fabs(d) / maxd : 0;
	int c = 235 - (int)(200 * (i > 1 ? 1 : i));

	if (d > 0)
		snprintf(buf, n, "rgb(255,%d,%d)", c, c);
	else if (d < 0)
		snprintf(buf, n, "rgb(%d,%d,255)", c, c);
	else
		snprintf(buf, n, "rgb(235,235,235)");
}

/* ---- layout ---- */

static int cmp_name(const void *a, const void *b, void *ctx)
{
	const struct flame *f = ctx;

	return strcmp(flame_name(f, *(const uint32_t *)a, NULL), flame_name(f, *(const uint32_t *)b, NULL));
}

static double share(const struct draw *d, uint64_t v, int k)
{
	return d->tot[k] > 0 ? (double)v / d->tot[k] : 0;
}

static double y_of(const struct draw *d, uint32_t depth)
{
	return d->o->icicle ? TOP + (double)depth * FH : d->height - BOTTOM_SPACE - (double)(depth + 1) * FH;
}

/* n in base 36 (the page's parseInt(s, 36)). */
static char *b36(char *buf, uint64_t n)
{
	char tmp[16];
	size_t k = 0, o = 0;

	do {
		uint64_t q = n % 36;

		tmp[k++] = (char)(q < 10 ? '0' + q : 'a' + q - 10);
		n /= 36;
	} while (n);
	while (k)
		buf[o++] = tmp[--k];
	buf[o] = '\0';
	return buf;
}

/* A merged box's subtrees in preorder, one token per frame: "depth,name"
 * with ",value" unless it is 1 (base 36; depth 1 = a merged child; name:
 * an index into the page's MN table), so that a search counts the
 * samples under matching frames whether they were drawn or merged. */
static int put_subtree(struct draw *d, uint32_t node, uint32_t depth, int *first)
{
	const struct flame_node *nd = &d->n[node];
	char a[16], b[16], c[16];
	int r;

	if (!nd->v[d->w])
		return 0;
	r = sink_printf(d->out, "%s%s,%s%s%s", *first ? "" : " ", b36(a, depth), b36(b, nd->name),
			nd->v[d->w] != 1 ? "," : "", nd->v[d->w] != 1 ? b36(c, nd->v[d->w]) : "");
	*first = 0;
	for (uint32_t k = nd->child; !r && k != FLAME_NONE; k = d->n[k].next)
		r = put_subtree(d, k, depth + 1, first);
	return r;
}

static int box(struct draw *d, const char *name, uint8_t cls, uint64_t v, uint64_t vb, uint32_t depth, double x,
	       double w, const uint32_t *merged, uint32_t nmerged)
{
	char fill[64];
	int r, first = 1;

	if (d->o->diff)
		diff_colour(share(d, v, 1) - share(d, vb, 0), d->maxd, fill, sizeof(fill));
	else
		colour(name, cls, fill, sizeof(fill));
	d->frames++;
	if (d->o->diff)
		r = sink_printf(d->out, "<g data-v=\"%llu\" data-b=\"%llu\"", (unsigned long long)v,
				(unsigned long long)vb);
	else
		r = sink_printf(d->out, "<g data-v=\"%llu\"", (unsigned long long)v);
	if (!r && merged) {
		d->merged_any = 1;
		r = sink_puts(d->out, " data-m=\"1\" data-t=\"");
		for (uint32_t i = 0; !r && i < nmerged; i++)
			r = put_subtree(d, merged[i], 1, &first);
		if (!r)
			r = sink_puts(d->out, "\"");
	}
	if (!r)
		r = sink_puts(d->out, "><title>");
	if (!r)
		r = put_text(d->out, name, 0);
	if (!r)
		r = sink_printf(d->out, "</title><rect x=\"%.2f\" y=\"%.0f\" width=\"%.2f\" height=\"%d\" fill=\"%s\"/>"
					"<text x=\"%.2f\" y=\"%.0f\">",
				x, y_of(d, depth), w, FH - 1, fill, x + 3, y_of(d, depth) + FH - 5);
	if (!r && w > 3 * FONT_W + 6)
		r = put_text(d->out, name, (size_t)((w - 6) / FONT_W));
	return r ? r : sink_puts(d->out, "</text></g>\n");
}

/* Node and its subtree; x in px. */
static int draw_node(struct draw *d, uint32_t node, uint32_t depth, double x)
{
	const struct flame_node *nd = &d->n[node];
	uint32_t *kids, nk = 0, nnarrow = 0;
	uint64_t narrow[2] = { 0, 0 };
	uint8_t cls;
	const char *name = flame_name(d->f, node, &cls);
	double w = (double)nd->v[d->w] * d->scale;
	int r;

	r = box(d, name, cls, nd->v[d->w], nd->v[0], depth, x, w, NULL, 0);
	if (r || nd->child == FLAME_NONE)
		return r;
	for (uint32_t c = nd->child; c != FLAME_NONE; c = d->n[c].next)
		nk++;
	kids = malloc(nk * sizeof(*kids));
	if (!kids)
		return -ENOMEM;
	nk = 0;
	for (uint32_t c = nd->child; c != FLAME_NONE; c = d->n[c].next)
		kids[nk++] = c;
	qsort_r(kids, nk, sizeof(*kids), cmp_name, (void *)d->f);
	for (uint32_t i = 0; i < nk && !r; i++) {
		const struct flame_node *c = &d->n[kids[i]];
		double cw = (double)c->v[d->w] * d->scale;

		if (!c->v[d->w])
			continue; /* only in the base window of a diff */
		if (cw < MERGE_PX) {
			narrow[0] += c->v[0];
			narrow[1] += c->v[1];
			/* the narrow ones to the front, drawn ones are done */
			kids[nnarrow++] = kids[i];
			continue;
		}
		r = draw_node(d, kids[i], depth + 1, x);
		x += cw;
	}
	if (!r && nnarrow == 1 && (double)narrow[d->w] * d->scale >= MIN_PX) {
		r = draw_node(d, kids[0], depth + 1, x);
	} else if (!r && nnarrow) {
		/* one box for them all, however narrow: it carries their
		 * subtrees, so a search still counts what is under it */
		char label[48];

		if (nnarrow == 1)
			snprintf(label, sizeof(label), "[1 frame < 0.1px]");
		else
			snprintf(label, sizeof(label), "[%u frames < 1px]", nnarrow);
		r = box(d, label, FC_UNKNOWN, narrow[d->w], narrow[0], depth + 1, x, (double)narrow[d->w] * d->scale,
			kids, nnarrow);
	}
	free(kids);
	return r;
}

/* The names merged boxes refer to, as a JavaScript array (MN): strings
 * with '<', '>', '&' and non-ASCII as \u escapes (nothing can end the
 * CDATA section), invalid UTF-8 as '?'. */
static int put_names(struct draw *d)
{
	size_t n = d->merged_any ? flame_name_count(d->f) : 0;
	int r = sink_puts(d->out, "<script type=\"text/ecmascript\"><![CDATA[\nvar MN = [");

	for (size_t i = 0; !r && i < n; i++) {
		const unsigned char *p = (const unsigned char *)flame_name_by_id(d->f, (uint32_t)i);
		char buf[512];
		size_t len = 0;

		buf[len++] = i ? ',' : ' ';
		buf[len++] = '"';
		while (*p && !r) {
			size_t k = utf8_len(p);
			uint32_t cp;

			if (len + 16 > sizeof(buf)) {
				r = sink_write(d->out, buf, len);
				len = 0;
			}
			if (!k) {
				buf[len++] = '?';
				p++;
				continue;
			}
			cp = k == 1 ? p[0] : k == 2 ? (p[0] & 0x1fu) << 6 | (p[1] & 0x3fu)
				: k == 3 ? (p[0] & 0x0fu) << 12 | (p[1] & 0x3fu) << 6 | (p[2] & 0x3fu)
				: (p[0] & 0x07u) << 18 | (p[1] & 0x3fu) << 12 | (p[2] & 0x3fu) << 6 | (p[3] & 0x3fu);
			p += k;
			if (cp >= 0x20 && cp < 0x7f && cp != '"' && cp != '\\' && cp != '<' && cp != '>' && cp != '&') {
				buf[len++] = (char)cp;
			} else if (cp >= 0x10000) {
				cp -= 0x10000;
				len += (size_t)snprintf(buf + len, sizeof(buf) - len, "\\u%04x\\u%04x", 0xd800 + (cp >> 10),
							0xdc00 + (cp & 0x3ff));
			} else {
				len += (size_t)snprintf(buf + len, sizeof(buf) - len, "\\u%04x", cp);
			}
		}
		buf[len++] = '"';
		if (!r)
			r = sink_write(d->out, buf, len);
	}
	return r ? r : sink_puts(d->out, "];\n]]></script>\n");
}

/* Largest share change among frames that will be drawn (diff colours). */
static void max_change(struct draw *d)
{
	size_t n;
	const struct flame_node *nd = flame_nodes(d->f, &n);

	for (size_t i = 0; i < n; i++) {
		double c = fabs(share(d, nd[i].v[1], 1) - share(d, nd[i].v[0], 0));

		if ((double)nd[i].v[1] * d->scale >= MIN_PX && c > d->maxd)
			d->maxd = c;
	}
}

/* ---- the document ---- */

static const char script[] =
	"<script type=\"text/ecmascript\"><![CDATA[\n"
	"'use strict';\n"
	"var frames, details, matched, unzoombtn, searchbox, zoomed = null, term = '';\n"
	"function init() {\n"
	"  frames = document.getElementById('frames');\n"
	"  details = document.getElementById('details');\n"
	"  matched = document.getElementById('matched');\n"
	"  unzoombtn = document.getElementById('unzoom');\n"
	"  searchbox = document.getElementById('search');\n"
	"  frames.addEventListener('mouseover', function (e) { var g = frame_of(e.target); if (g) details.textContent = describe(g); });\n"
	"  frames.addEventListener('mouseout', function () { details.textContent = ' '; });\n"
	"  frames.addEventListener('click', function (e) { var g = frame_of(e.target); if (g) zoom(g); });\n"
	"  unzoombtn.addEventListener('click', unzoom);\n"
	"  if (searchbox) searchbox.addEventListener('input', function () { search(searchbox.value); });\n"
	"  document.addEventListener('keydown', function (e) {\n"
	"    if (e.key === 'Escape') { unzoom(); if (searchbox) { searchbox.value = ''; search(''); } }\n"
	"  });\n"
	"}\n"
	"function frame_of(n) { while (n && n !== frames) { if (n.tagName === 'g') return n; n = n.parentNode; } return null; }\n"
	"function name_of(g) { return g.firstChild.textContent; }\n"
	"function pct(v, t) { return t > 0 ? (100 * v / t).toFixed(2) + '%' : '0.00%'; }\n"
	"function num(v) { return String(v).replace(/\\B(?=(\\d{3})+(?!\\d))/g, ','); }\n"
	"function describe(g) {\n"
	"  var v = +g.getAttribute('data-v');\n"
	"  if (!DIFF) return name_of(g) + ' (' + num(v) + ' samples, ' + pct(v, TOTAL) + ')';\n"
	"  var b = +g.getAttribute('data-b'), d = (BTOTAL > 0 && TOTAL > 0) ? 100 * (v / TOTAL - b / BTOTAL) : 0;\n"
	"  return name_of(g) + ': base ' + pct(b, BTOTAL) + ' (' + num(b) + ' samples), now ' + pct(v, TOTAL) +\n"
	"    ' (' + num(v) + ' samples), ' + (d >= 0 ? '+' : '') + d.toFixed(2) + ' points';\n"
	"}\n"
	"function geom(g) {\n"
	"  var r = g.childNodes[1];\n"
	"  if (!g.hasAttribute('data-x')) { g.setAttribute('data-x', r.getAttribute('x')); g.setAttribute('data-w', r.getAttribute('width')); }\n"
	"  return { x: +g.getAttribute('data-x'), w: +g.getAttribute('data-w'), d: level(+r.getAttribute('y')) };\n"
	"}\n"
	"function level(y) { return Math.round(ICICLE ? (y - TOPY) / FH : (BASEY - y) / FH); }\n"
	"function place(g, x, w) {\n"
	"  var r = g.childNodes[1], t = g.childNodes[2], n = name_of(g), m = Math.floor((w - 6) / FONTW);\n"
	"  r.setAttribute('x', x.toFixed(2)); r.setAttribute('width', w.toFixed(2)); t.setAttribute('x', (x + 3).toFixed(2));\n"
	"  t.textContent = m < 3 ? '' : (n.length <= m ? n : n.substring(0, m - 2) + '..');\n"
	"}\n"
	"function zoom(g) {\n"
	"  var z = geom(g), scale = (WIDTH - 2 * PAD) / z.w, eps = 0.0001, all = frames.children;\n"
	"  for (var i = 0; i < all.length; i++) {\n"
	"    var c = all[i], o = geom(c);\n"
	"    c.classList.remove('hide'); c.classList.remove('parent');\n"
	"    if (o.d < z.d && o.x <= z.x + eps && o.x + o.w >= z.x + z.w - eps) { place(c, PAD, WIDTH - 2 * PAD); c.classList.add('parent'); }\n"
	"    else if (o.d >= z.d && o.x >= z.x - eps && o.x + o.w <= z.x + z.w + eps) place(c, PAD + (o.x - z.x) * scale, o.w * scale);\n"
	"    else c.classList.add('hide');\n"
	"  }\n"
	"  zoomed = g; unzoombtn.classList.remove('hide'); search(term);\n"
	"}\n"
	"function unzoom() {\n"
	"  var all = frames.children;\n"
	"  for (var i = 0; i < all.length; i++) {\n"
	"    var c = all[i];\n"
	"    c.classList.remove('hide'); c.classList.remove('parent');\n"
	"    if (c.hasAttribute('data-x')) place(c, +c.getAttribute('data-x'), +c.getAttribute('data-w'));\n"
	"  }\n"
	"  zoomed = null; unzoombtn.classList.add('hide'); search(term);\n"
	"}\n"
	"function merged_hits(c, test) {\n"
	"  var t = c.getAttribute('data-t'), sum = 0, skip = 0;\n"
	"  if (!t) return 0;\n"
	"  t = t.split(' ');\n"
	"  for (var i = 0; i < t.length; i++) {\n"
	"    var f = t[i].split(','), dep = parseInt(f[0], 36);\n"
	"    if (skip && dep > skip) continue;\n"
	"    skip = 0;\n"
	"    if (test(parseInt(f[1], 36))) { sum += f.length > 2 ? parseInt(f[2], 36) : 1; skip = dep; }\n"
	"  }\n"
	"  return sum;\n"
	"}\n"
	"function search(t) {\n"
	"  var re = null, all = frames.children, sum = 0, under = -1, memo = [];\n"
	"  term = t || '';\n"
	"  if (term) { try { re = new RegExp(term); } catch (e) { re = null; } }\n"
	"  function matches(n) { return re ? re.test(n) : n.indexOf(term) >= 0; }\n"
	"  function test(k) { if (memo[k] === undefined) memo[k] = matches(MN[k]); return memo[k]; }\n"
	"  // frames come parent first (depth first): those deeper than a match\n"
	"  // that follow it are inside it, and their samples are counted already\n"
	"  for (var i = 0; i < all.length; i++) {\n"
	"    var c = all[i], r = c.childNodes[1], n = name_of(c), v = 0, lv = geom(c).d;\n"
	"    if (!r.hasAttribute('data-fill')) r.setAttribute('data-fill', r.getAttribute('fill'));\n"
	"    if (under >= 0 && lv <= under) under = -1;\n"
	"    if (term !== '') v = c.hasAttribute('data-m') ? merged_hits(c, test) : matches(n) ? +c.getAttribute('data-v') : 0;\n"
	"    r.setAttribute('fill', v > 0 ? 'rgb(230,0,230)' : r.getAttribute('data-fill'));\n"
	"    if (v > 0 && under < 0) { sum += v; under = lv; }\n"
	"  }\n"
	"  matched.textContent = term ? 'Matched: ' + pct(sum, TOTAL) + ' (' + num(sum) + ' samples)' : ' ';\n"
	"  return sum;\n"
	"}\n"
	"]]></script>\n";

static int put_header(struct draw *d)
{
	const struct svg_opts *o = d->o;
	double W = o->width ? o->width : 1200;
	int r;

	r = sink_printf(d->out,
			"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
			"<svg version=\"1.1\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" onload=\"init()\" "
			"xmlns=\"http://www.w3.org/2000/svg\">\n"
			"<style type=\"text/css\">\n"
			"text { font-family: 'DejaVu Sans Mono', monospace; font-size: 11px; fill: rgb(0,0,0); }\n"
			"#frames text { pointer-events: none; }\n"
			"#frames rect { stroke: rgb(255,255,255); stroke-width: 0.5; }\n"
			"#frames g:hover rect { stroke: rgb(0,0,0); stroke-width: 1; cursor: pointer; }\n"
			".hide { display: none; }\n"
			".parent { opacity: 0.5; }\n"
			"#title { font-size: 17px; text-anchor: middle; }\n"
			"#subtitle, #unzoom, #matched, .legend { font-size: 12px; }\n"
			"#subtitle { text-anchor: middle; fill: rgb(90,90,90); }\n"
			"#unzoom { cursor: pointer; fill: rgb(0,0,160); }\n"
			"#matched { text-anchor: end; }\n"
			"</style>\n"
			"<script type=\"text/ecmascript\"><![CDATA[\n"
			"var WIDTH = %.0f, PAD = %.0f, FH = %d, TOPY = %d, BASEY = %.0f, FONTW = %.1f, "
			"TOTAL = %.0f, BTOTAL = %.0f, DIFF = %d, ICICLE = %d;\n"
			"]]></script>\n",
			W, d->height, W, d->height, W, PAD, FH, TOP, d->height - BOTTOM_SPACE - FH, FONT_W,
			d->tot[d->w], d->tot[0], o->diff ? 1 : 0, o->icicle ? 1 : 0);
	if (!r)
		r = sink_puts(d->out, script);
	if (!r)
		r = sink_printf(d->out, "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"rgb(248,248,245)\"/>\n"
					"<text id=\"title\" x=\"%.1f\" y=\"22\">",
				W, d->height, W / 2);
	if (!r)
		r = put_text(d->out, o->title ? o->title : "Flame graph", 0);
	if (!r)
		r = sink_printf(d->out, "</text>\n<text id=\"subtitle\" x=\"%.1f\" y=\"39\">", W / 2);
	if (!r)
		r = put_text(d->out, o->subtitle ? o->subtitle : "", 0);
	if (!r)
		r = sink_printf(d->out,
				"</text>\n"
				"<text id=\"unzoom\" class=\"hide\" x=\"%.0f\" y=\"22\">Reset zoom</text>\n"
				"<foreignObject x=\"%.0f\" y=\"6\" width=\"240\" height=\"24\">"
				"<input xmlns=\"http://www.w3.org/1999/xhtml\" id=\"search\" type=\"search\" "
				"placeholder=\"Search (regex)\" style=\"width: 228px; font-size: 12px\"/>"
				"</foreignObject>\n",
				PAD, W - PAD - 240);
	if (!r && !o->diff) {
		static const struct {
			const char *label;
			uint8_t cls;
			const char *sample;
		} legend[] = {
			{ "user", FC_USER, "a" }, { "kernel", FC_KERNEL, "a" }, { "Python", FC_INTERP, "a" },
			{ "unknown / truncated", FC_UNKNOWN, "a" }, { "process / thread", FC_ROOT, "a" },
		};
		double x = PAD;

		for (size_t i = 0; !r && i < sizeof(legend) / sizeof(legend[0]); i++) {
			char fill[64];

			colour(legend[i].sample, legend[i].cls, fill, sizeof(fill));
			r = sink_printf(d->out,
					"<rect class=\"legend\" x=\"%.0f\" y=\"48\" width=\"12\" height=\"12\" fill=\"%s\"/>"
					"<text class=\"legend\" x=\"%.0f\" y=\"58\">%s</text>\n",
					x, fill, x + 16, legend[i].label);
			x += 24 + 7.2 * (double)strlen(legend[i].label);
		}
	} else if (!r) {
		r = sink_printf(d->out,
				"<rect class=\"legend\" x=\"%.0f\" y=\"48\" width=\"12\" height=\"12\" fill=\"rgb(255,60,60)\"/>"
				"<text class=\"legend\" x=\"%.0f\" y=\"58\">share grew</text>"
				"<rect class=\"legend\" x=\"%.0f\" y=\"48\" width=\"12\" height=\"12\" fill=\"rgb(60,60,255)\"/>"
				"<text class=\"legend\" x=\"%.0f\" y=\"58\">share shrank (widths: the newer window)</text>\n",
				PAD, PAD + 16, PAD + 110, PAD + 126);
	}
	if (!r)
		r = sink_printf(d->out,
				"<text id=\"details\" x=\"%.0f\" y=\"%.0f\"> </text>\n"
				"<text id=\"matched\" x=\"%.0f\" y=\"%.0f\"> </text>\n<g id=\"frames\">\n",
				PAD, d->height - 12, W - PAD, d->height - 12);
	return r;
}

int svg_render(const struct flame *f, const struct svg_opts *o, struct sink *out, uint64_t *ret_frames)
{
	struct draw d = { .f = f, .o = o, .out = out, .w = o->diff ? 1 : 0 };
	size_t n;
	double W = o->width ? o->width : 1200;
	int r;

	d.n = flame_nodes(f, &n);
	d.tot[0] = (double)d.n[FLAME_ROOT].v[0];
	d.tot[1] = (double)d.n[FLAME_ROOT].v[1];
	d.scale = d.tot[d.w] > 0 ? (W - 2 * PAD) / d.tot[d.w] : 0;
	d.depth = flame_depth(f);
	d.height = TOP + (double)(d.depth + 1) * FH + BOTTOM_SPACE + 8;
	if (o->diff)
		max_change(&d);
	r = put_header(&d);
	if (!r && d.tot[d.w] > 0)
		r = draw_node(&d, FLAME_ROOT, 0, PAD);
	if (!r)
		r = sink_puts(out, "</g>\n");
	if (!r)
		r = put_names(&d);
	if (!r)
		r = sink_puts(out, "</svg>\n");
	if (!r && ret_frames)
		*ret_frames = d.frames;
	return r;
}

/* ---- the svg format ---- */

static int encode_svg(const struct profile *p, const struct format_opts *o, struct sink *out,
		      struct format_result *ret)
{
	unsigned view = VIEW_COMM | (o && (o->flags & FORMAT_BY_THREAD) ? VIEW_THREAD : 0);
	struct svg_opts so = { .title = o && o->title ? o->title : "Flame graph",
			       .width = o ? o->width : 0,
			       .icicle = o && (o->flags & FORMAT_ICICLE) };
	struct flame *f = NULL;
	struct flame_frame *path = NULL;
	struct vframe *vf = NULL;
	size_t maxd = 0;
	char sub[160], tbuf[VIEW_THREAD_NAME_MAX];
	uint64_t frames = 0;
	int r;

	for (size_t i = 0; i < p->nstacks; i++)
		if (p->stacks[i].nframes > maxd)
			maxd = p->stacks[i].nframes;
	r = flame_new("all", FC_ROOT, o ? o->scratch_max : 0, &f);
	if (r)
		return r;
	vf = malloc((maxd + VIEW_EXTRA) * sizeof(*vf));
	path = malloc((maxd + VIEW_EXTRA) * sizeof(*path));
	if (!vf || !path)
		r = -ENOMEM;
	for (size_t i = 0; !r && i < p->nstacks; i++) {
		size_t n = stackview(p, &p->stacks[i], view, tbuf, vf);

		for (size_t k = 0; k < n; k++)
			path[k] = (struct flame_frame){ .name = vf[k].name, .cls = (uint8_t)stackview_class(p, &vf[k]) };
		r = flame_add(f, 0, path, n, p->stacks[i].count);
	}
	if (!r) {
		snprintf(sub, sizeof(sub), "%llu samples at %u Hz over %.1f s%s", (unsigned long long)p->samples,
			 p->frequency, (double)p->covered_ns / 1e9, so.icicle ? " (icicle: roots at the top)" : "");
		so.subtitle = sub;
		r = svg_render(f, &so, out, &frames);
	}
	free(vf);
	free(path);
	flame_free(f);
	if (r)
		return r;
	ret->samples = p->samples;
	ret->stacks = frames;
	return 0;
}

const struct format format_svg = {
	.name = "svg",
	.mime = "image/svg+xml",
	.description = "interactive flame graph (self-contained SVG: hover, click to zoom, search; --icicle)",
	.encode = encode_svg,
};
