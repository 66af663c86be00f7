/* SPDX-License-Identifier: GPL-2.0-only */
/* The state file: encode the stores, write atomically, check and load
 * back; see persist.h and docs/persistence.md. */
#include "state/persist.h"

#include "store/proctable.h"
#include "store/stacks.h"
#include "store/window.h"
#include "symbols/symbolizer.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static const char MAGIC[8] = { 'P', 'R', 'O', 'F', 'D', 'S', 'T', 'A' };
#define HEADER_LEN 96u
#define BOOT_ID_LEN 36u
/* Sections of the payload: tag, length, body. Unknown tags are skipped,
 * so a later profd may add sections without a new version. */
enum { SEC_GEOMETRY = 1, SEC_OBJECTS = 2, SEC_PROCS = 3, SEC_STACKS = 4, SEC_SLOTS = 5, SEC_META = 6 };
/* frame kinds */
enum { FK_KERNEL = 0, FK_OBJECT = 1, FK_UNKNOWN = 2 };
/* Bounds a reader enforces whatever the file says (a corrupt count must
 * not allocate without limit); the writer stays inside them. */
#define MAX_FRAMES 1024u
#define MAX_STR 4096u
#define MAX_LAYOUT 256u      /* counters' fields per kind, any version */
#define TMP_SUFFIX ".tmp"
#define BAD_SUFFIX ".bad"

/* ---- little-endian bytes and LEB128 varints ---- */

struct wbuf {
	uint8_t *p;
	size_t len, cap;
	int err;
};

static void w_room(struct wbuf *b, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (b->err || b->len + n <= b->cap)
		return;
	cap = b->cap ? b->cap : 4096;
	while (cap < b->len + n)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->err = -ENOMEM;
		return;
	}
	b->p = p;
	b->cap = cap;
}

static void w_bytes(struct wbuf *b, const void *d, size_t n)
{
	if (!n)
		return; /* d may be NULL then (an absent string) */
	w_room(b, n);
	if (b->err)
		return;
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

static void w_var(struct wbuf *b, uint64_t v)
{
	uint8_t t[10];
	size_t n = 0;

	do {
		t[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			t[n] |= 0x80;
		n++;
	} while (v);
	w_bytes(b, t, n);
}

static void w_str(struct wbuf *b, const char *s)
{
	size_t n = s ? strnlen(s, MAX_STR) : 0;

	w_var(b, n);
	w_bytes(b, s, n);
}

static void w_section(struct wbuf *b, uint64_t tag, const struct wbuf *body)
{
	if (body->err && !b->err)
		b->err = body->err;
	w_var(b, tag);
	w_var(b, body->len);
	w_bytes(b, body->p, body->len);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

struct rbuf {
	const uint8_t *p, *end;
	int err; /* sticky: reads after an error return 0 */
};

static uint64_t r_var(struct rbuf *r)
{
	uint64_t v = 0;

	for (unsigned shift = 0; !r->err; shift += 7) {
		uint8_t c;

		if (r->p >= r->end || shift > 63) {
			r->err = -EBADMSG;
			break;
		}
		c = *r->p++;
		if (shift == 63 && c > 1) {
			r->err = -EBADMSG;
			break;
		}
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return v;
	}
	return 0;
}

/* A count of items, each at least min_size bytes: never more than what
 * remains can hold, so a corrupt count cannot drive an allocation. */
static uint64_t r_count(struct rbuf *r, size_t min_size)
{
	uint64_t n = r_var(r);

	if (!r->err && n > (uint64_t)(r->end - r->p) / min_size)
		r->err = -EBADMSG;
	return r->err ? 0 : n;
}

static uint32_t r_u32(struct rbuf *r)
{
	uint64_t v = r_var(r);

	if (v > UINT32_MAX)
		r->err = -EBADMSG;
	return r->err ? 0 : (uint32_t)v;
}

/* A string into buf (NUL-terminated, cut at cap - 1). */
static void r_str(struct rbuf *r, char *buf, size_t cap)
{
	uint64_t n = r_var(r);

	buf[0] = 0;
	if (r->err)
		return;
	if (n > MAX_STR || n > (uint64_t)(r->end - r->p)) {
		r->err = -EBADMSG;
		return;
	}
	memcpy(buf, r->p, n < cap ? n : cap - 1);
	buf[n < cap ? n : cap - 1] = 0;
	/* a NUL inside a name is no name of ours */
	if (memchr(r->p, 0, n))
		r->err = -EBADMSG;
	r->p += n;
}

/* ---- id maps: old id -> value (a set when the value is unused) ---- */

struct idmap {
	uint32_t *keys, *vals;
	uint8_t *used;
	size_t cap, n;
	uint32_t *order;  /* keys in insertion order */
	int err;
};

static size_t id_slot(const struct idmap *m, uint32_t key)
{
	size_t i = (key * 0x9e3779b1u) & (m->cap - 1);

	while (m->used[i] && m->keys[i] != key)
		i = (i + 1) & (m->cap - 1);
	return i;
}

static void id_free(struct idmap *m)
{
	free(m->keys);
	free(m->vals);
	free(m->used);
	free(m->order);
	memset(m, 0, sizeof(*m));
}

static int id_grow(struct idmap *m)
{
	struct idmap n = { .cap = m->cap ? m->cap * 2 : 256 };

	n.keys = malloc(n.cap * sizeof(*n.keys));
	n.vals = malloc(n.cap * sizeof(*n.vals));
	n.used = calloc(n.cap, 1);
	n.order = malloc(n.cap / 2 * sizeof(*n.order));
	if (!n.keys || !n.vals || !n.used || !n.order) {
		id_free(&n);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->n; i++) {
		size_t j;

		/* re-insert in order: values and order survive */
		j = id_slot(&n, m->order[i]);
		n.used[j] = 1;
		n.keys[j] = m->order[i];
		n.vals[j] = m->vals[id_slot(m, m->order[i])];
		n.order[n.n++] = m->order[i];
	}
	id_free(m);
	*m = n;
	return 0;
}

/* Insert key with value val unless present. Returns 1 if inserted, 0 if
 * present (*ret_val set to the present value), -ENOMEM (sticky). */
static int id_put(struct idmap *m, uint32_t key, uint32_t val, uint32_t *ret_val)
{
	size_t i;

	if (m->err)
		return m->err;
	if (m->n + 1 > m->cap / 2 && id_grow(m) < 0)
		return m->err = -ENOMEM;
	i = id_slot(m, key);
	if (m->used[i]) {
		if (ret_val)
			*ret_val = m->vals[i];
		return 0;
	}
	m->used[i] = 1;
	m->keys[i] = key;
	m->vals[i] = val;
	m->order[m->n++] = key;
	if (ret_val)
		*ret_val = val;
	return 1;
}

static bool id_get(const struct idmap *m, uint32_t key, uint32_t *ret_val)
{
	size_t i;

	if (!m->cap)
		return false;
	i = id_slot(m, key);
	if (!m->used[i])
		return false;
	*ret_val = m->vals[i];
	return true;
}

/* ---- encoding ---- */

struct enc {
	const struct persist_src *src;
	struct wbuf slots;
	struct idmap procs, stacks, objs;
	struct persist_buf *out;
};

static int enc_slot(const struct window_slot_info *si, void *ctx)
{
	struct enc *e = ctx;

	w_var(&e->slots, si->tier);
	w_var(&e->slots, si->start_ns);
	w_var(&e->slots, si->unmerged ? 1 : 0);
	w_var(&e->slots, si->nentries);
	w_var(&e->slots, si->nrecords);
	e->out->slots++;
	return e->slots.err;
}

static void note_proc(struct enc *e, uint32_t proc)
{
	if (proc >= PROC_ID_FIRST)
		id_put(&e->procs, proc, 0, NULL);
}

static int enc_entry(uint32_t proc, uint32_t stack, uint64_t count, void *ctx)
{
	struct enc *e = ctx;

	w_var(&e->slots, proc);
	w_var(&e->slots, stack);
	w_var(&e->slots, count);
	note_proc(e, proc);
	if (stack >= STACK_ID_FIRST)
		id_put(&e->stacks, stack, 0, NULL);
	e->out->entries++;
	return e->slots.err ? e->slots.err : e->procs.err ? e->procs.err : e->stacks.err;
}

static int enc_counters(uint32_t proc, const struct wcounters *c, void *ctx)
{
	struct enc *e = ctx;
	struct wbuf *b = &e->slots;

	w_var(b, proc);
	for (unsigned i = 0; i < WC_NSUM; i++)
		w_var(b, c->sum[i]);
	for (unsigned i = 0; i < WG_NGAUGE; i++)
		w_var(b, c->gauge_last[i]);
	for (unsigned i = 0; i < WG_NGAUGE; i++)
		w_var(b, c->gauge_max[i]);
	w_var(b, c->gauge_ns);
	for (unsigned i = 0; i < WC_HIST_BUCKETS; i++)
		w_var(b, c->hist_runq[i]);
	for (unsigned i = 0; i < WC_HIST_BUCKETS; i++)
		w_var(b, c->hist_iolat[i]);
	note_proc(e, proc);
	e->out->records++;
	return b->err ? b->err : e->procs.err;
}

static void enc_geometry(struct wbuf *b, const struct window_opts *wo)
{
	w_var(b, wo->ntiers);
	for (uint32_t k = 0; k < wo->ntiers; k++) {
		w_var(b, wo->tier[k].slot_ns);
		w_var(b, wo->tier[k].slots);
	}
	/* the counters' layout: a later profd with more fields reads ours
	 * (zeros for the new ones) and ours reads its (extra ones skipped) */
	w_var(b, WC_NSUM);
	w_var(b, WG_NGAUGE);
	w_var(b, WC_HIST_BUCKETS);
}

static void enc_procs(struct enc *e, struct wbuf *b)
{
	uint64_t n = 0;

	for (size_t i = 0; i < e->procs.n; i++)
		n += proctable_info(e->src->procs, e->procs.order[i]) != NULL;
	w_var(b, n);
	/* a process the table no longer holds (evicted) is left out: its
	 * entries load as an unknown process, as they show now */
	for (size_t i = 0; i < e->procs.n; i++) {
		const struct proc_info *p = proctable_info(e->src->procs, e->procs.order[i]);

		if (!p)
			continue;
		w_var(b, p->id);
		w_var(b, p->tgid);
		w_var(b, p->start_ns);
		w_var(b, p->uid);
		w_var(b, p->ppid);
		w_var(b, p->first_seen_ns);
		w_var(b, p->exit_ns);
		w_var(b, (uint32_t)p->exit_code);
		w_str(b, p->comm);
		w_str(b, p->cmdline);
		w_str(b, p->exe);
	}
	e->out->procs = n;
}

static void enc_stacks(struct enc *e, struct wbuf *b)
{
	uint64_t n = 0;

	for (size_t i = 0; i < e->stacks.n; i++) {
		const struct frame *f;
		uint32_t flags;

		n += stacks_get(e->src->stacks, e->stacks.order[i], &f, &flags) >= 0;
	}
	w_var(b, n);
	for (size_t i = 0; i < e->stacks.n; i++) {
		const struct frame *f;
		uint32_t flags;
		int nf = stacks_get(e->src->stacks, e->stacks.order[i], &f, &flags);

		if (nf < 0)
			continue;
		w_var(b, e->stacks.order[i]);
		w_var(b, flags);
		w_var(b, (uint64_t)nf);
		for (int j = 0; j < nf; j++) {
			uint32_t idx;

			if (f[j].obj == SYM_OBJ_KERNEL) {
				w_var(b, FK_KERNEL);
			} else if (f[j].obj == SYM_OBJ_UNKNOWN || !e->src->sym) {
				w_var(b, FK_UNKNOWN);
			} else {
				/* the object's index in the OBJECTS section */
				id_put(&e->objs, f[j].obj, (uint32_t)e->objs.n, &idx);
				w_var(b, FK_OBJECT);
				w_var(b, idx);
			}
			w_var(b, f[j].flags);
			w_var(b, f[j].addr);
		}
	}
	if (e->objs.err && !b->err)
		b->err = e->objs.err;
	e->out->stacks = n;
}

static void enc_objects(struct enc *e, struct wbuf *b)
{
	w_var(b, e->objs.n);
	for (size_t i = 0; i < e->objs.n; i++) {
		struct sym_object_desc d;

		if (symbolizer_object_describe(e->src->sym, e->objs.order[i], &d) < 0)
			memset(&d, 0, sizeof(d)); /* loads as an unknown object */
		w_var(b, d.build_id_len);
		w_bytes(b, d.build_id, d.build_id_len);
		w_var(b, d.has_key ? 1 : 0);
		w_var(b, d.dev);
		w_var(b, d.ino);
		w_var(b, d.mtime_ns);
		w_str(b, d.path);
	}
	e->out->objects = e->objs.n;
}

static void enc_free(struct enc *e)
{
	free(e->slots.p);
	id_free(&e->procs);
	id_free(&e->stacks);
	id_free(&e->objs);
}

static int encode_tiers(const struct persist_src *src, const struct persist_opts *o, uint32_t tiers, struct persist_buf *out)
{
	struct enc e = { .src = src, .out = out };
	struct wbuf file = { 0 }, sec = { 0 };
	struct window_opts wo;
	uint8_t *h;
	int r = 0;

	memset(out, 0, sizeof(*out));
	out->tiers = tiers;
	window_get_opts(src->win, &wo);
	for (uint32_t k = 0; k < wo.ntiers && !r; k++) {
		if (tiers & (1u << k)) {
			r = window_export_tier(src->win, k, &(struct window_export_fns){
				.slot = enc_slot, .entry = enc_entry, .counters = enc_counters, .ctx = &e });
			r = r < 0 ? r : 0;
		}
	}
	if (r)
		goto out;
	w_room(&file, HEADER_LEN);
	file.len = HEADER_LEN;
	/* where the data begins: a restored query's covered time starts there */
	w_var(&sec, o->data_from_ns);
	w_section(&file, SEC_META, &sec);
	sec.len = 0;
	enc_geometry(&sec, &wo);
	w_section(&file, SEC_GEOMETRY, &sec);
	sec.len = 0;
	/* stacks first into their own buffer: they name the objects */
	{
		struct wbuf stk = { 0 };

		enc_stacks(&e, &stk);
		enc_objects(&e, &sec);
		w_section(&file, SEC_OBJECTS, &sec);
		sec.len = 0;
		enc_procs(&e, &sec);
		w_section(&file, SEC_PROCS, &sec);
		w_section(&file, SEC_STACKS, &stk);
		free(stk.p);
	}
	sec.len = 0;
	w_var(&sec, out->slots);
	w_bytes(&sec, e.slots.p, e.slots.len);
	w_section(&file, SEC_SLOTS, &sec);
	r = file.err ? file.err : sec.err;
	if (r)
		goto out;
	h = file.p;
	memset(h, 0, HEADER_LEN);
	memcpy(h, MAGIC, sizeof(MAGIC));
	put_le32(h + 8, PERSIST_VERSION);
	put_le32(h + 12, HEADER_LEN);
	if (o->boot_id)
		memcpy(h + 16, o->boot_id, strnlen(o->boot_id, BOOT_ID_LEN));
	put_le64(h + 56, o->now_ns);
	put_le64(h + 64, o->real_ns);
	put_le64(h + 72, file.len - HEADER_LEN);
	put_le32(h + 80, (uint32_t)crc32(0, file.p + HEADER_LEN, (uInt)(file.len - HEADER_LEN)));
	put_le32(h + 84, tiers);
	put_le32(h + 92, (uint32_t)crc32(0, h, 92));
	out->data = file.p;
	out->len = file.len;
	file.p = NULL;
out:
	free(file.p);
	free(sec.p);
	enc_free(&e);
	return r;
}

int persist_encode(const struct persist_src *src, const struct persist_opts *o, struct persist_buf **ret)
{
	struct persist_buf *b;
	struct window_opts wo;
	uint32_t tiers;
	int r;

	if (!src || !src->win || !src->stacks || !src->procs || !o || !ret)
		return -EINVAL;
	window_get_opts(src->win, &wo);
	tiers = o->tiers & ((1u << wo.ntiers) - 1);
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	for (;;) {
		r = encode_tiers(src, o, tiers, b);
		if (r < 0)
			break;
		if (!o->max_bytes || b->len <= o->max_bytes)
			break;
		free(b->data);
		b->data = NULL;
		/* over the bound: the finest tier goes first (the coarse one
		 * covers the same time, with less detail) */
		if (!(tiers & (tiers - 1))) {
			r = -EFBIG;
			break;
		}
		tiers &= tiers - 1;
	}
	if (r < 0) {
		persist_buf_free(b);
		return r;
	}
	*ret = b;
	return 0;
}

struct persist_buf *persist_buf_free(struct persist_buf *b)
{
	if (b) {
		free(b->data);
		free(b);
	}
	return NULL;
}

/* ---- files ---- */

static int open_dir(const char *dir, bool create)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT && create) {
		if (mkdir(dir, 0750) < 0 && errno != EEXIST)
			return -errno;
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	return fd < 0 ? -errno : fd;
}

int persist_write(const char *dir, const struct persist_buf *buf)
{
	int dfd, fd, r = 0;
	size_t off = 0;

	if (!dir || !buf || !buf->data)
		return -EINVAL;
	dfd = open_dir(dir, true);
	if (dfd < 0)
		return dfd;
	/* O_NOFOLLOW: a link planted in the state directory is not followed */
	fd = openat(dfd, PERSIST_FILE TMP_SUFFIX, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	while (off < buf->len && !r) {
		ssize_t n = write(fd, buf->data + off, buf->len - off);

		if (n < 0 && errno != EINTR)
			r = -errno;
		else if (n > 0)
			off += (size_t)n;
	}
	/* data on disk before the name points at it: a crash leaves the old
	 * file or the new one, never an empty one */
	if (!r && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && renameat(dfd, PERSIST_FILE TMP_SUFFIX, dfd, PERSIST_FILE) < 0)
		r = -errno;
	if (r)
		unlinkat(dfd, PERSIST_FILE TMP_SUFFIX, 0);
	else if (fsync(dfd) < 0)
		r = -errno;
out:
	close(dfd);
	return r;
}

int persist_read_boot_id(const char *path, char *buf, size_t cap)
{
	int fd = open(path ? path : "/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (cap < BOOT_ID_LEN + 1)
		return -EINVAL;
	if (fd < 0)
		return -errno;
	n = read(fd, buf, BOOT_ID_LEN);
	close(fd);
	if (n != (ssize_t)BOOT_ID_LEN)
		return n < 0 ? -errno : -EINVAL;
	buf[BOOT_ID_LEN] = 0;
	return 0;
}

/* ---- loading ---- */

struct dec {
	const struct persist_src *src;
	const struct persist_opts *o;
	struct persist_load_stats *st;
	bool apply;           /* pass 1 checks, pass 2 applies */
	struct window_opts wo;  /* this run's window */
	struct window_opts fo;  /* the file's window */
	uint32_t nsum, ngauge, nhist;
	bool have_geometry;
	uint32_t *objs;       /* file object index -> this run's id */
	uint64_t nobjs;
	struct idmap procs, stacks; /* file id -> this run's id */
	struct frame *frames;
};

static void set_reason(struct persist_load_stats *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_reason(struct persist_load_stats *st, const char *fmt, ...)
{
	va_list ap;

	if (st->reason[0])
		return; /* the first cause is the one to tell */
	va_start(ap, fmt);
	vsnprintf(st->reason, sizeof(st->reason), fmt, ap);
	va_end(ap);
}

static int dec_geometry(struct dec *d, struct rbuf *r)
{
	d->fo.ntiers = r_u32(r);
	if (!r->err && (d->fo.ntiers < 1 || d->fo.ntiers > WINDOW_MAX_TIERS))
		r->err = -EBADMSG;
	for (uint32_t k = 0; k < d->fo.ntiers && !r->err; k++) {
		d->fo.tier[k].slot_ns = r_var(r);
		d->fo.tier[k].slots = r_u32(r);
		if (!d->fo.tier[k].slot_ns)
			r->err = -EBADMSG;
	}
	d->nsum = r_u32(r);
	d->ngauge = r_u32(r);
	d->nhist = r_u32(r);
	if (!r->err && (d->nsum > MAX_LAYOUT || d->ngauge > MAX_LAYOUT || d->nhist > MAX_LAYOUT))
		r->err = -EBADMSG;
	d->have_geometry = !r->err;
	return r->err;
}

static int dec_objects(struct dec *d, struct rbuf *r)
{
	uint64_t n = r_count(r, 6);

	if (d->apply && n) {
		d->objs = calloc(n, sizeof(*d->objs));
		if (!d->objs)
			return -ENOMEM;
	}
	d->nobjs = n;
	for (uint64_t i = 0; i < n && !r->err; i++) {
		struct sym_object_desc od = { 0 };
		char path[MAX_STR + 1];

		od.build_id_len = r_var(r);
		if (od.build_id_len > SYM_BUILD_ID_MAX || od.build_id_len > (size_t)(r->end - r->p)) {
			r->err = -EBADMSG;
			break;
		}
		memcpy(od.build_id, r->p, od.build_id_len);
		r->p += od.build_id_len;
		od.has_key = r_var(r) != 0;
		od.dev = r_var(r);
		od.ino = r_var(r);
		od.mtime_ns = r_var(r);
		r_str(r, path, sizeof(path));
		od.path = path[0] == '/' ? path : NULL;
		if (!r->err && d->apply) {
			d->objs[i] = d->src->sym ? symbolizer_object_restore(d->src->sym, &od) : SYM_OBJ_UNKNOWN;
			d->st->objects++;
		}
	}
	return r->err;
}

static int dec_procs(struct dec *d, struct rbuf *r)
{
	uint64_t n = r_count(r, 11);

	for (uint64_t i = 0; i < n && !r->err; i++) {
		char cmdline[MAX_STR + 1], exe[MAX_STR + 1];
		struct proc_info p = { 0 };
		char comm[sizeof(p.comm)];
		uint32_t old = r_u32(r), id;

		p.tgid = r_u32(r);
		p.start_ns = r_var(r);
		p.uid = r_u32(r);
		p.ppid = r_u32(r);
		p.first_seen_ns = r_var(r);
		p.exit_ns = r_var(r);
		p.exit_code = (int)r_u32(r);
		r_str(r, comm, sizeof(comm));
		r_str(r, cmdline, sizeof(cmdline));
		r_str(r, exe, sizeof(exe));
		if (!r->err && old < PROC_ID_FIRST)
			r->err = -EBADMSG;
		if (r->err || !d->apply)
			continue;
		memcpy(p.comm, comm, sizeof(p.comm));
		p.cmdline = cmdline[0] ? cmdline : NULL;
		p.exe = exe[0] ? exe : NULL;
		id = proctable_restore(d->src->procs, &p, d->o->now_ns);
		if (id_put(&d->procs, old, id, NULL) < 0)
			return -ENOMEM;
		if (id == PROC_ID_OVERFLOW)
			d->st->failed++;
		else
			d->st->procs++;
	}
	return r->err;
}

static int dec_stacks(struct dec *d, struct rbuf *r)
{
	uint64_t n = r_count(r, 3);

	for (uint64_t i = 0; i < n && !r->err; i++) {
		uint32_t old = r_u32(r), flags = r_u32(r), id;
		uint64_t nf = r_var(r);

		if (!r->err && (old < STACK_ID_FIRST || nf > MAX_FRAMES))
			r->err = -EBADMSG;
		for (uint64_t j = 0; j < nf && !r->err; j++) {
			uint64_t kind = r_var(r), idx = 0;
			struct frame f;

			if (kind == FK_OBJECT) {
				idx = r_var(r);
				if (!r->err && idx >= d->nobjs)
					r->err = -EBADMSG;
			} else if (kind != FK_KERNEL && kind != FK_UNKNOWN) {
				r->err = -EBADMSG;
			}
			f.flags = r_u32(r);
			f.addr = r_var(r);
			if (r->err || !d->apply)
				continue;
			f.obj = kind == FK_KERNEL ? SYM_OBJ_KERNEL : kind == FK_UNKNOWN ? SYM_OBJ_UNKNOWN : d->objs[idx];
			/* an object this run cannot identify: its offset would
			 * read as a raw address, so it goes, as at drain time */
			if (kind == FK_OBJECT && f.obj == SYM_OBJ_UNKNOWN)
				f.addr = 0;
			d->frames[j] = f;
		}
		if (r->err || !d->apply)
			continue;
		id = stacks_intern(d->src->stacks, d->frames, (uint32_t)nf, flags, d->o->now_ns);
		if (id_put(&d->stacks, old, id, NULL) < 0)
			return -ENOMEM;
		if (id == STACK_ID_OVERFLOW)
			d->st->failed++;
		else
			d->st->stacks++;
	}
	return r->err;
}

static uint32_t map_proc(const struct dec *d, uint32_t old)
{
	uint32_t id;

	if (old < PROC_ID_FIRST)
		return old; /* pseudo-processes are the same in every run */
	/* a process the saving run no longer held: unknown, as it showed */
	return id_get(&d->procs, old, &id) ? id : PROC_ID_NONE;
}

static uint32_t map_stack(const struct dec *d, uint32_t old)
{
	uint32_t id;

	if (old < STACK_ID_FIRST)
		return old;
	/* a stack the saving run had freed: its detail is gone */
	return id_get(&d->stacks, old, &id) ? id : STACK_ID_COARSENED;
}

static void dec_record(struct dec *d, struct rbuf *r, uint32_t *proc, struct wcounters *c)
{
	memset(c, 0, sizeof(*c));
	*proc = r_u32(r);
	for (uint32_t i = 0; i < d->nsum; i++) {
		uint64_t v = r_var(r);

		if (i < WC_NSUM)
			c->sum[i] = v;
	}
	for (uint32_t i = 0; i < d->ngauge; i++) {
		uint64_t v = r_var(r);

		if (i < WG_NGAUGE)
			c->gauge_last[i] = v;
	}
	for (uint32_t i = 0; i < d->ngauge; i++) {
		uint64_t v = r_var(r);

		if (i < WG_NGAUGE)
			c->gauge_max[i] = v;
	}
	c->gauge_ns = r_var(r);
	for (uint32_t i = 0; i < 2 * d->nhist; i++) {
		uint32_t v = r_u32(r);

		if (i < d->nhist && i < WC_HIST_BUCKETS)
			c->hist_runq[i] = v;
		else if (i >= d->nhist && i - d->nhist < WC_HIST_BUCKETS)
			c->hist_iolat[i - d->nhist] = v;
	}
}

static int dec_slots(struct dec *d, struct rbuf *r)
{
	uint64_t n = r_count(r, 5);

	if (!d->have_geometry)
		return r->err = -EBADMSG;
	for (uint64_t i = 0; i < n && !r->err; i++) {
		uint32_t k = r_u32(r);
		uint64_t start = r_var(r);
		int unmerged = r_var(r) != 0, keep;
		uint64_t ne = r_count(r, 3);
		uint64_t nr = r_count(r, 1);

		if (!r->err && (k >= d->fo.ntiers || start % d->fo.tier[k].slot_ns))
			r->err = -EBADMSG;
		/* a tier restores only into a tier of the same slot length */
		keep = !r->err && k < d->wo.ntiers && d->wo.tier[k].slot_ns == d->fo.tier[k].slot_ns;
		if (d->apply && keep && start > d->o->now_ns)
			keep = 0;
		if (d->apply && !keep)
			d->st->dropped_slots++;
		for (uint64_t j = 0; j < ne && !r->err; j++) {
			uint32_t proc = r_u32(r), stack = r_u32(r);
			uint64_t count = r_var(r);
			int e;

			if (r->err || !d->apply)
				continue;
			if (!keep) {
				d->st->dropped_entries++;
				continue;
			}
			e = window_restore(d->src->win, k, start, unmerged, map_proc(d, proc), map_stack(d, stack), count);
			if (e == -ERANGE) {
				d->st->dropped_entries++;
				keep = 0;
				d->st->dropped_slots++;
			} else if (e < 0) {
				d->st->failed++;
			} else {
				d->st->entries++;
			}
		}
		for (uint64_t j = 0; j < nr && !r->err; j++) {
			struct wcounters c;
			uint32_t proc;
			int e;

			dec_record(d, r, &proc, &c);
			if (r->err || !d->apply)
				continue;
			if (!keep) {
				d->st->dropped_entries++;
				continue;
			}
			e = window_restore_counters(d->src->win, k, start, unmerged, map_proc(d, proc), &c);
			if (e == -ERANGE) {
				d->st->dropped_entries++;
				keep = 0;
				d->st->dropped_slots++;
			} else if (e < 0) {
				d->st->failed++;
			} else {
				d->st->records++;
			}
		}
		if (d->apply && keep)
			d->st->slots++;
	}
	return r->err;
}

/* One pass over the payload: check only (apply false), or restore. */
static int dec_payload(struct dec *d, const uint8_t *p, size_t len)
{
	struct rbuf r = { .p = p, .end = p + len };
	int seen = 0;

	while (r.p < r.end && !r.err) {
		uint64_t tag = r_var(&r), slen = r_var(&r);
		struct rbuf s;
		int e = 0;

		if (r.err || slen > (uint64_t)(r.end - r.p))
			return -EBADMSG;
		s = (struct rbuf){ .p = r.p, .end = r.p + slen };
		r.p += slen;
		/* sections come in this order; each once (META first) */
		if (tag >= SEC_GEOMETRY && tag <= SEC_SLOTS) {
			if ((int)tag <= seen)
				return -EBADMSG;
			seen = (int)tag;
		} else if (tag == SEC_META && seen) {
			return -EBADMSG;
		}
		switch (tag) {
		case SEC_META: d->st->data_from_ns = r_var(&s); e = s.err; break;
		case SEC_GEOMETRY: e = dec_geometry(d, &s); break;
		case SEC_OBJECTS: e = dec_objects(d, &s); break;
		case SEC_PROCS: e = dec_procs(d, &s); break;
		case SEC_STACKS: e = dec_stacks(d, &s); break;
		case SEC_SLOTS: e = dec_slots(d, &s); break;
		default: continue; /* a later profd's section */
		}
		if (e)
			return e;
		if (s.p != s.end)
			return -EBADMSG; /* a section longer than its contents */
	}
	if (r.err)
		return r.err;
	return seen == SEC_SLOTS ? 0 : -EBADMSG;
}

static void dec_reset(struct dec *d)
{
	free(d->objs);
	d->objs = NULL;
	d->nobjs = 0;
	id_free(&d->procs);
	id_free(&d->stacks);
	d->have_geometry = false;
}

/* Rename the file aside; the reason has been set. */
static void set_aside(int dfd)
{
	renameat(dfd, PERSIST_FILE, dfd, PERSIST_FILE BAD_SUFFIX);
}

static int read_all(int fd, uint8_t *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = read(fd, buf + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EBADMSG; /* shrank under us */
		off += (size_t)n;
	}
	return 0;
}

/* The header's checks: 0 and *ret_payload_len, or -EPROTO/-EBADMSG with
 * the reason set. */
static int check_header(const uint8_t *h, size_t size, struct persist_load_stats *st, uint64_t *ret_payload_len)
{
	uint32_t version, hlen;
	uint64_t plen;

	if (size < sizeof(MAGIC) || memcmp(h, MAGIC, sizeof(MAGIC))) {
		set_reason(st, "not a profd state file (no magic)");
		return -EPROTO;
	}
	if (size < HEADER_LEN) {
		set_reason(st, "truncated: %zu bytes, shorter than the header", size);
		return -EBADMSG;
	}
	version = get_le32(h + 8);
	hlen = get_le32(h + 12);
	if (get_le32(h + 92) != (uint32_t)crc32(0, h, 92)) {
		set_reason(st, "header checksum mismatch");
		return -EBADMSG;
	}
	if (version != PERSIST_VERSION || hlen != HEADER_LEN) {
		set_reason(st, "format version %u, this profd reads version %u", version, PERSIST_VERSION);
		return -EPROTO;
	}
	plen = get_le64(h + 72);
	if (plen != size - HEADER_LEN) {
		set_reason(st, "truncated: %zu bytes, the header says %llu", size, (unsigned long long)(plen + HEADER_LEN));
		return -EBADMSG;
	}
	if (get_le32(h + 80) != (uint32_t)crc32(0, h + HEADER_LEN, (uInt)plen)) {
		set_reason(st, "payload checksum mismatch");
		return -EBADMSG;
	}
	*ret_payload_len = plen;
	return 0;
}

int persist_load(const char *dir, const struct persist_src *src, const struct persist_opts *o, struct persist_load_stats *st)
{
	struct persist_load_stats dummy;
	struct dec d = { .src = src, .o = o };
	uint8_t *buf = NULL;
	uint64_t plen = 0;
	struct stat sb;
	int dfd, fd = -1, r;
	char boot[BOOT_ID_LEN + 1];

	if (!st)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	d.st = st;
	if (!dir || !src || !src->win || !src->stacks || !src->procs || !o)
		return -EINVAL;
	dfd = open_dir(dir, false);
	if (dfd < 0)
		return dfd;
	fd = openat(dfd, PERSIST_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		r = errno == ELOOP ? -EPROTO : -errno;
		if (r == -EPROTO) {
			set_reason(st, "a symbolic link, not a file");
			set_aside(dfd);
		}
		goto out;
	}
	if (fstat(fd, &sb) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		set_reason(st, "not a regular file");
		r = -EPROTO;
		set_aside(dfd);
		goto out;
	}
	st->bytes = (uint64_t)sb.st_size;
	if (o->max_bytes && (uint64_t)sb.st_size > o->max_bytes) {
		set_reason(st, "%llu bytes, over the bound of %zu", (unsigned long long)sb.st_size, o->max_bytes);
		r = -EFBIG;
		set_aside(dfd);
		goto out;
	}
	buf = malloc(sb.st_size ? (size_t)sb.st_size : 1);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	r = read_all(fd, buf, (size_t)sb.st_size);
	if (r == -EBADMSG)
		set_reason(st, "the file shrank while being read");
	if (!r)
		r = check_header(buf, (size_t)sb.st_size, st, &plen);
	if (r) {
		if (r == -EBADMSG || r == -EPROTO)
			set_aside(dfd);
		goto out;
	}
	st->saved_ns = get_le64(buf + 56);
	memcpy(boot, buf + 16, BOOT_ID_LEN);
	boot[BOOT_ID_LEN] = 0;
	if (o->boot_id && strncmp(boot, o->boot_id, BOOT_ID_LEN)) {
		set_reason(st, "saved in another boot (%.36s): window times and kernel addresses are this boot's only", boot);
		r = -ESTALE;
		goto out;
	}
	window_get_opts(src->win, &d.wo);
	/* pass 1: the whole file must parse before the stores are touched */
	r = dec_payload(&d, buf + HEADER_LEN, plen);
	dec_reset(&d);
	if (r) {
		if (r == -EBADMSG) {
			set_reason(st, "malformed payload (checksum correct: written by a faulty profd?)");
			set_aside(dfd);
		}
		goto out;
	}
	d.apply = true;
	d.frames = malloc(MAX_FRAMES * sizeof(*d.frames));
	if (!d.frames) {
		r = -ENOMEM;
		goto out;
	}
	r = dec_payload(&d, buf + HEADER_LEN, plen);
	window_restore_finish(src->win);
out:
	dec_reset(&d);
	free(d.frames);
	free(buf);
	if (fd >= 0)
		close(fd);
	close(dfd);
	return r;
}

/* ---- the writer thread ---- */

struct persist_writer {
	char *dir;
	pthread_t th;
	bool have_thread;
	atomic_int done;
	int result;          /* of the thread that finished */
	bool result_unread;
	struct persist_buf *buf;
};

static void *writer_main(void *arg)
{
	struct persist_writer *w = arg;

	w->result = persist_write(w->dir, w->buf);
	atomic_store(&w->done, 1);
	return NULL;
}

int persist_writer_new(const char *dir, struct persist_writer **ret)
{
	struct persist_writer *w = calloc(1, sizeof(*w));

	if (!w || !(w->dir = strdup(dir))) {
		free(w);
		return -ENOMEM;
	}
	*ret = w;
	return 0;
}

/* Join a finished thread; false while one runs. */
static bool writer_reap(struct persist_writer *w)
{
	if (!w->have_thread)
		return true;
	if (!atomic_load(&w->done))
		return false;
	pthread_join(w->th, NULL);
	w->have_thread = false;
	w->result_unread = true;
	w->buf = persist_buf_free(w->buf);
	return true;
}

int persist_writer_submit(struct persist_writer *w, struct persist_buf *buf)
{
	int r;

	if (!w || !buf) {
		persist_buf_free(buf);
		return -EINVAL;
	}
	if (!writer_reap(w)) {
		persist_buf_free(buf);
		return -EBUSY;
	}
	w->buf = buf;
	atomic_store(&w->done, 0);
	r = -pthread_create(&w->th, NULL, writer_main, w);
	if (r) {
		w->buf = persist_buf_free(w->buf);
		return r;
	}
	w->have_thread = true;
	return 0;
}

int persist_writer_poll(struct persist_writer *w)
{
	if (!w)
		return 1;
	if (!writer_reap(w))
		return -EINPROGRESS;
	if (!w->result_unread)
		return 1;
	w->result_unread = false;
	return w->result;
}

struct persist_writer *persist_writer_free(struct persist_writer *w)
{
	if (!w)
		return NULL;
	if (w->have_thread)
		pthread_join(w->th, NULL);
	persist_buf_free(w->buf);
	free(w->dir);
	free(w);
	return NULL;
}
