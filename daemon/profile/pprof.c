/* SPDX-License-Identifier: GPL-2.0-only */
/* pprof: the perftools.profiles.Profile protobuf (proto/pprof.proto),
 * gzip-compressed, as go tool pprof, pprof's web UI, Grafana and Pyroscope
 * read it.
 *
 * Streamed: a Profile is a sequence of fields, and a repeated message
 * field may be written one element at a time (tag, length, element), so
 * each Sample, Mapping, Location and Function is packed by protobuf-c on
 * its own and goes straight through zlib into the sink. The encoder's own
 * memory is bounded by the profile's distinct strings and frames (the
 * string table, written last, and one function id per frame), never by
 * its samples or the size of the output; scratch_max bounds it.
 *
 * Values: [samples/count, cpu/nanoseconds], period 1e9 / frequency.
 * Addresses: each user object is placed at its own range (base + file
 * offset, memory_start = base, file_offset 0), so mappings never overlap
 * and address - memory_start + file_offset is the frame's file offset;
 * kernel frames keep their kernel addresses. Pseudo frames ([truncated],
 * [stack table full], [coarsened]) are locations of their own, at the
 * root, so the totals match folded. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>
#include <zlib.h>

#include "profile/format.h"
#include "profile/pprof.pb-c.h"
#include "profile/profile.h"
#include "profile/stackview.h"
#include "profile/strtab.h"

/* Where each user object is placed: object i at (i + 1) << USER_BASE_SHIFT
 * (file offsets stay below 1 TiB). */
#define USER_BASE_SHIFT 40
#define NPSEUDO 3
#define ZCHUNK 32768

struct pbw {
	struct sink *out;
	z_stream z;
	int zinit;
	unsigned char zbuf[ZCHUNK];
	uint8_t *msg;          /* one packed message */
	size_t msg_cap;
};

static int z_push(struct pbw *w, const void *p, size_t n, int flush)
{
	int r;

	w->z.next_in = (unsigned char *)(uintptr_t)p;
	w->z.avail_in = (uInt)n;
	do {
		w->z.next_out = w->zbuf;
		w->z.avail_out = sizeof(w->zbuf);
		r = deflate(&w->z, flush);
		if (r == Z_STREAM_ERROR)
			return -EIO;
		if (sizeof(w->zbuf) - w->z.avail_out) {
			int e = sink_write(w->out, w->zbuf, sizeof(w->zbuf) - w->z.avail_out);

			if (e)
				return e;
		}
	} while (w->z.avail_out == 0 || (flush == Z_FINISH && r != Z_STREAM_END));
	return 0;
}

static int put_varint(struct pbw *w, uint64_t v)
{
	uint8_t b[10];
	size_t n = 0;

	do {
		b[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			b[n] |= 0x80;
		n++;
	} while (v);
	return z_push(w, b, n, Z_NO_FLUSH);
}

/* Field `field` of Profile holding one packed message. */
static int put_message(struct pbw *w, uint32_t field, const ProtobufCMessage *m)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	int r;

	if (n > w->msg_cap) {
		size_t cap = w->msg_cap ? w->msg_cap : 256;
		uint8_t *nb;

		while (cap < n)
			cap *= 2;
		nb = realloc(w->msg, cap);
		if (!nb)
			return -ENOMEM;
		w->msg = nb;
		w->msg_cap = cap;
	}
	protobuf_c_message_pack(m, w->msg);
	r = put_varint(w, (uint64_t)field << 3 | 2);
	if (!r)
		r = put_varint(w, n);
	return r ? r : z_push(w, w->msg, n, Z_NO_FLUSH);
}

static int put_bytes(struct pbw *w, uint32_t field, const void *p, size_t n)
{
	int r = put_varint(w, (uint64_t)field << 3 | 2);

	if (!r)
		r = put_varint(w, n);
	return r ? r : z_push(w, p, n, Z_NO_FLUSH);
}

static int put_int(struct pbw *w, uint32_t field, int64_t v)
{
	int r;

	if (!v)
		return 0;
	r = put_varint(w, (uint64_t)field << 3);
	return r ? r : put_varint(w, (uint64_t)v);
}

struct enc {
	const struct profile *p;
	struct strtab *strs;   /* the string table */
	struct strtab *fkeys;  /* function identity: name '\0' file */
	uint32_t *ffunc;       /* function id of each frame */
	uint64_t *mlimit;      /* highest address + 1 per mapping */
	uint64_t *mstart;      /* lowest address per mapping (kernel) */
	uint8_t *mnamed;       /* mapping has named frames */
	int pseudo_func[NPSEUDO];
	size_t scratch_max;
};

static int str(struct enc *e, const char *s)
{
	return strtab_intern_str(e->strs, s);
}

/* Function id (1-based) for (name, file), interned on first sight. */
static int func_id(struct enc *e, const char *name, const char *file)
{
	char key[2 * (PROFILE_NAME_MAX + 1) + 4096];
	int n = snprintf(key, sizeof(key), "%s%c%s", name, 0, file ? file : "");
	int id;

	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= sizeof(key))
		n = sizeof(key) - 1;
	id = strtab_intern(e->fkeys, key, (size_t)n);
	return id < 0 ? id : id + 1;
}

static const char *const pseudo_names[NPSEUDO] = { PSEUDO_TRUNCATED, PSEUDO_OVERFLOW, PSEUDO_COARSENED };

static int pseudo_index(const char *name)
{
	for (int i = 0; i < NPSEUDO; i++)
		if (!strcmp(name, pseudo_names[i]))
			return i;
	return -1;
}

/* First pass: functions, address ranges of the mappings. */
static int prepare(struct enc *e)
{
	const struct profile *p = e->p;
	int r;

	e->ffunc = malloc((p->nframes ? p->nframes : 1) * sizeof(*e->ffunc));
	e->mlimit = calloc(p->nmappings ? p->nmappings : 1, sizeof(*e->mlimit));
	e->mstart = malloc((p->nmappings ? p->nmappings : 1) * sizeof(*e->mstart));
	e->mnamed = calloc(p->nmappings ? p->nmappings : 1, 1);
	if (!e->ffunc || !e->mlimit || !e->mstart || !e->mnamed)
		return -ENOMEM;
	if (e->scratch_max && (p->nframes * sizeof(*e->ffunc) + p->nmappings * 17) > e->scratch_max)
		return -E2BIG;
	for (size_t i = 0; i < p->nmappings; i++)
		e->mstart[i] = UINT64_MAX;
	if ((r = str(e, "")) < 0)
		return r;
	for (size_t i = 0; i < p->nframes; i++) {
		const struct profile_frame *f = &p->frames[i];

		r = func_id(e, f->name, f->file);
		if (r < 0)
			return r;
		e->ffunc[i] = (uint32_t)r;
		if (f->mapping == PROFILE_NO_MAPPING || f->mapping >= p->nmappings)
			continue;
		if (f->addr + 1 > e->mlimit[f->mapping])
			e->mlimit[f->mapping] = f->addr + 1;
		if (f->addr < e->mstart[f->mapping])
			e->mstart[f->mapping] = f->addr;
		if (f->name[0] != '[' && !strstr(f->name, "+0x"))
			e->mnamed[f->mapping] = 1;
	}
	for (int i = 0; i < NPSEUDO; i++) {
		r = func_id(e, pseudo_names[i], NULL);
		if (r < 0)
			return r;
		e->pseudo_func[i] = r;
	}
	return 0;
}

static uint64_t mapping_base(const struct enc *e, uint32_t m)
{
	if (e->p->mappings[m].kernel)
		return e->mstart[m] == UINT64_MAX ? 0 : e->mstart[m];
	return (uint64_t)(m + 1) << USER_BASE_SHIFT;
}

static uint64_t frame_address(const struct enc *e, const struct profile_frame *f)
{
	if (f->mapping == PROFILE_NO_MAPPING || f->mapping >= e->p->nmappings || e->p->mappings[f->mapping].kernel)
		return f->addr;
	return mapping_base(e, f->mapping) + f->addr;
}

static int put_value_type(struct pbw *w, struct enc *e, uint32_t field, const char *type, const char *unit)
{
	Perftools__Profiles__ValueType vt = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
	int t = str(e, type), u = str(e, unit);

	if (t < 0 || u < 0)
		return t < 0 ? t : u;
	vt.type = t;
	vt.unit = u;
	return put_message(w, field, &vt.base);
}

static int put_samples(struct pbw *w, struct enc *e, const struct format_opts *o, uint64_t period,
		       struct format_result *res)
{
	const struct profile *p = e->p;
	int labels = o && (o->flags & FORMAT_LABELS);
	int threads = o && (o->flags & (FORMAT_LABELS | FORMAT_BY_THREAD));
	size_t maxd = 0;
	struct vframe *vf;
	uint64_t *locs;
	int r = 0, kpid = 0, kcomm = 0, kthread = 0, ktid = 0;

	for (size_t i = 0; i < p->nstacks; i++)
		if (p->stacks[i].nframes > maxd)
			maxd = p->stacks[i].nframes;
	vf = malloc((maxd + VIEW_EXTRA) * sizeof(*vf));
	locs = malloc((maxd + VIEW_EXTRA) * sizeof(*locs));
	if (!vf || !locs) {
		free(vf);
		free(locs);
		return -ENOMEM;
	}
	if (labels || threads) {
		kpid = str(e, "pid");
		kcomm = str(e, "comm");
		kthread = str(e, "thread");
		ktid = str(e, "tid");
		if (kpid < 0 || kcomm < 0 || kthread < 0 || ktid < 0)
			r = -ENOMEM;
	}
	for (size_t i = 0; !r && i < p->nstacks; i++) {
		const struct profile_stack *s = &p->stacks[i];
		Perftools__Profiles__Sample sm = PERFTOOLS__PROFILES__SAMPLE__INIT;
		Perftools__Profiles__Label lb[4], *lbp[4];
		char tbuf[VIEW_THREAD_NAME_MAX];
		int64_t values[2] = { (int64_t)s->count, (int64_t)(s->count * period) };
		size_t n = stackview(p, s, 0, tbuf, vf), nl = 0;

		/* leaf first */
		for (size_t k = 0; k < n; k++) {
			const struct vframe *v = &vf[n - 1 - k];

			locs[k] = v->kind == VF_FRAME ? (uint64_t)v->frame + 1
						      : p->nframes + 1 + (uint64_t)pseudo_index(v->name);
		}
		sm.n_location_id = n;
		sm.location_id = locs;
		sm.n_value = 2;
		sm.value = values;
		if (labels) {
			const struct profile_proc *pr = &p->procs[s->proc];
			int comm = str(e, pr->comm);

			if (comm < 0) {
				r = comm;
				break;
			}
			perftools__profiles__label__init(&lb[nl]);
			lb[nl].key = kpid;
			lb[nl++].num = pr->pid;
			perftools__profiles__label__init(&lb[nl]);
			lb[nl].key = kcomm;
			lb[nl++].str = comm;
		}
		if (threads && s->thread != PROFILE_NO_THREAD && s->thread < p->nthreads) {
			const struct profile_thread *t = &p->threads[s->thread];
			int tn = str(e, t->name);

			if (tn < 0) {
				r = tn;
				break;
			}
			perftools__profiles__label__init(&lb[nl]);
			lb[nl].key = kthread;
			lb[nl++].str = tn;
			perftools__profiles__label__init(&lb[nl]);
			lb[nl].key = ktid;
			lb[nl++].num = t->tid;
		}
		for (size_t k = 0; k < nl; k++)
			lbp[k] = &lb[k];
		sm.n_label = nl;
		sm.label = nl ? lbp : NULL;
		r = put_message(w, 2, &sm.base);
		res->samples += s->count;
		res->stacks++;
	}
	free(vf);
	free(locs);
	return r;
}

static int put_mappings(struct pbw *w, struct enc *e)
{
	const struct profile *p = e->p;
	int r = 0;

	for (size_t i = 0; !r && i < p->nmappings; i++) {
		const struct profile_mapping *m = &p->mappings[i];
		Perftools__Profiles__Mapping pm = PERFTOOLS__PROFILES__MAPPING__INIT;
		char hex[2 * sizeof(m->build_id) + 1];
		int fn = str(e, m->name), bid = 0;

		for (size_t k = 0; k < m->build_id_len; k++)
			snprintf(hex + 2 * k, 3, "%02x", m->build_id[k]);
		if (m->build_id_len)
			bid = str(e, hex);
		if (fn < 0 || bid < 0)
			return fn < 0 ? fn : bid;
		pm.id = i + 1;
		pm.memory_start = mapping_base(e, (uint32_t)i);
		pm.memory_limit = m->kernel ? (e->mlimit[i] ? e->mlimit[i] : pm.memory_start + 1)
					    : pm.memory_start + (e->mlimit[i] ? e->mlimit[i] : 1);
		pm.file_offset = 0;
		pm.filename = fn;
		pm.build_id = bid;
		pm.has_functions = e->mnamed[i];
		r = put_message(w, 3, &pm.base);
	}
	return r;
}

static int put_locations(struct pbw *w, struct enc *e)
{
	const struct profile *p = e->p;
	Perftools__Profiles__Line ln = PERFTOOLS__PROFILES__LINE__INIT, *lnp = &ln;
	int r = 0;

	for (size_t i = 0; !r && i < p->nframes + NPSEUDO; i++) {
		Perftools__Profiles__Location pl = PERFTOOLS__PROFILES__LOCATION__INIT;

		pl.id = i + 1;
		if (i < p->nframes) {
			const struct profile_frame *f = &p->frames[i];

			pl.mapping_id = f->mapping == PROFILE_NO_MAPPING || f->mapping >= p->nmappings ? 0 : f->mapping + 1;
			pl.address = frame_address(e, f);
			ln.function_id = e->ffunc[i];
			ln.line = f->line;
		} else {
			ln.function_id = (uint64_t)e->pseudo_func[i - p->nframes];
			ln.line = 0;
		}
		pl.n_line = 1;
		pl.line = &lnp;
		r = put_message(w, 4, &pl.base);
	}
	return r;
}

static int put_functions(struct pbw *w, struct enc *e)
{
	int r = 0;

	for (size_t i = 0; !r && i < strtab_count(e->fkeys); i++) {
		Perftools__Profiles__Function pf = PERFTOOLS__PROFILES__FUNCTION__INIT;
		size_t len;
		const char *key = strtab_get(e->fkeys, (uint32_t)i, &len);
		const char *file = key + strlen(key) + 1;
		int name = str(e, key), fn = *file ? str(e, file) : 0;

		if (name < 0 || fn < 0)
			return name < 0 ? name : fn;
		pf.id = i + 1;
		pf.name = name;
		pf.system_name = name;
		pf.filename = fn;
		r = put_message(w, 5, &pf.base);
	}
	return r;
}

static int encode_pprof(const struct profile *p, const struct format_opts *o, struct sink *out,
			struct format_result *ret)
{
	struct enc e = { .p = p, .scratch_max = o ? o->scratch_max : 0 };
	struct pbw *w = calloc(1, sizeof(*w));
	struct format_result res = { 0 };
	uint64_t period = p->frequency ? 1000000000ull / p->frequency : 0;
	char comment[256];
	int r, cmt = 0, def = 0;

	if (!w)
		return -ENOMEM;
	w->out = out;
	r = strtab_new(e.scratch_max, &e.strs);
	if (!r)
		r = strtab_new(e.scratch_max, &e.fkeys);
	if (!r)
		r = prepare(&e);
	if (!r) {
		/* gzip wrapper: windowBits 15 + 16 */
		if (deflateInit2(&w->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
			r = -ENOMEM;
		else
			w->zinit = 1;
	}
	if (!r)
		r = put_value_type(w, &e, 1, "samples", "count");
	if (!r)
		r = put_value_type(w, &e, 1, "cpu", "nanoseconds");
	if (!r)
		r = put_samples(w, &e, o, period, &res);
	if (!r)
		r = put_mappings(w, &e);
	if (!r)
		r = put_locations(w, &e);
	if (!r)
		r = put_functions(w, &e);
	if (!r) {
		snprintf(comment, sizeof(comment), "profd: %llu samples at %u Hz over %.3f s",
			 (unsigned long long)p->samples, p->frequency, (double)p->covered_ns / 1e9);
		cmt = str(&e, comment);
		def = str(&e, "cpu");
		r = cmt < 0 ? cmt : def < 0 ? def : 0;
	}
	if (!r)
		r = put_int(w, 9, (int64_t)p->from_ns + p->boot_to_real_ns);
	if (!r)
		r = put_int(w, 10, (int64_t)p->covered_ns);
	if (!r)
		r = put_value_type(w, &e, 11, "cpu", "nanoseconds");
	if (!r)
		r = put_int(w, 12, (int64_t)period);
	if (!r)
		r = put_int(w, 13, cmt);
	if (!r)
		r = put_int(w, 14, def);
	/* the string table, last: every string the fields above named */
	for (size_t i = 0; !r && i < strtab_count(e.strs); i++) {
		size_t len;
		const char *s = strtab_get(e.strs, (uint32_t)i, &len);

		r = put_bytes(w, 6, s, len);
	}
	if (!r)
		r = z_push(w, NULL, 0, Z_FINISH);
	if (w->zinit)
		deflateEnd(&w->z);
	free(w->msg);
	free(w);
	free(e.ffunc);
	free(e.mlimit);
	free(e.mstart);
	free(e.mnamed);
	strtab_free(e.strs);
	strtab_free(e.fkeys);
	if (r)
		return r;
	*ret = res;
	return 0;
}

const struct format format_pprof = {
	.name = "pprof",
	.mime = "application/vnd.google.protobuf+gzip",
	.description = "pprof protobuf (gzip): go tool pprof, pprof web UI, Grafana, Pyroscope",
	.encode = encode_pprof,
};
