/* SPDX-License-Identifier: GPL-2.0-only */
/* Unwinder: objects, per-process mapping tables, table building on a worker
 * thread, the cell pool and eviction. See unwinder.h. */
#include "unwind/unwinder.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "profd/sample.h"
#include "symbols/procmaps.h"
#include "unwind/builder.h"
#include "unwind/imap.h"
#include "unwind/pool.h"
#include "unwind/pyelf.h"
#include "unwind/table.h"
#include "common/sort.h"

#define DEFAULT_LINGER_NS (60ull * 1000000000ull)
#define DEFAULT_REFRESH_NS (2ull * 1000000000ull)
#define DEFAULT_READS 64
#define DEFAULT_QUEUE 256
#define DEFAULT_PENDING_BYTES (16u << 20)
/* A record whose last mapper left is kept at least this many ticks, so a
 * sample still in the ring buffer finds its object's build-id. */
#define UNREF_GRACE_TICKS 2
/* A file that failed to build is tried again after this long, when a
 * process maps it again (it may have been replaced or made readable). */
#define RETRY_NS (300ull * 1000000000ull)
#define NIL IMAP_NONE
/* Every this many ticks, processes no longer in procfs are dropped. */
#define GC_TICKS 60
/* New objects with up to this much CFI are built on the main thread, at
 * most INLINE_BUDGET bytes of CFI per tick (~22 ms per MiB: 64 KiB is
 * ~1.4 ms, the budget ~6 ms; docs/performance.md), so a new program's first
 * table has them; the rest go to the worker and are installed at the next
 * tick. */
#define INLINE_CFI_MAX (64u << 10)
#define INLINE_BUDGET (256u << 10)

/* ---- state ------------------------------------------------------------------ */

enum obj_state {
	OBJ_NEW,      /* not built yet (waiting for room in the build queue) */
	OBJ_BUILDING, /* queued or on the worker */
	OBJ_PENDING,  /* built, waiting for room in the pool */
	OBJ_LOADED,   /* table in the pool */
	OBJ_NO_CFI,   /* the object has no CFI: frame pointers only */
	OBJ_FAILED,   /* could not be opened or parsed */
	OBJ_EVICTED,  /* table dropped for room while still mapped */
};

struct object {
	uint32_t uid;        /* 0: free record */
	uint16_t slot;
	uint8_t state;       /* enum obj_state */
	uint8_t vdso;
	uint8_t build_id[UNWIND_BUILD_ID_MAX];
	size_t build_id_len;
	uint64_t file_key;   /* files map key, 0 if none */
	uint64_t ino, size, mtime_ns; /* identity of the file it was made from */
	char *path;          /* openable path (through /proc/PID/root) to (re)build from */
	char *mapped;        /* the path as the first process that mapped it saw it */
	uint32_t refs;       /* processes mapping it */
	uint32_t cells_at, ncells;   /* pool range of a loaded table */
	uint32_t nrows, npages, first_page;
	uint32_t tag;        /* the caller's, UNWINDER_TAG_NONE until set */
	uint64_t unref_ns;   /* when refs fell to 0 */
	uint64_t unref_tick;
	uint64_t failed_ns;
	struct unwind_table *pending;
	uint32_t next_free;
	struct pyelf_info py; /* a CPython interpreter (py.version != 0) */
};


struct proc {
	uint32_t tgid;       /* 0: free record */
	uint64_t start_time;
	uint32_t *objs;      /* object indexes this process holds references on */
	uint32_t nobjs;
	uint32_t first, count; /* mapping pool range (count 0: none) */
	uint64_t read_ns;    /* CLOCK_BOOTTIME of the last maps read, 0: never */
	uint64_t exec_ns;    /* latest exec seen */
	uint32_t reads;      /* maps reads of this process (image) */
	uint8_t queued;      /* in the request list */
	uint8_t installed;   /* its hash entry exists */
	uint32_t next_free;
};

struct unwinder {
	struct unwinder_opts o;
	char procfs[256];
	struct object *objs;
	uint32_t nobjs_cap, obj_free;
	struct imap by_uid, by_bid, by_file;
	struct proc *procs;
	uint32_t nprocs_cap, proc_free;
	struct imap by_tgid;
	uint32_t *requests;
	uint32_t nreq, cap_req;
	struct pool *cells, *maps;
	uint16_t *slot_free;  /* stack of free slots */
	uint32_t nslot_free;
	uint16_t *slot_quar;  /* freed this tick */
	uint32_t nslot_quar;
	uint32_t next_uid;
	uint32_t vdso_obj;    /* object index of the vDSO, NIL if none */
	void *vdso_copy;
	size_t vdso_len;
	struct builder *b;    /* NULL until the first build (worker thread) */
	uint32_t queued;      /* jobs submitted, not taken back */
	size_t pending_bytes;
	uint64_t now, ticks;
	uint64_t inline_budget; /* bytes of CFI built inline left this tick */
	uint32_t reads_left;    /* maps reads left this tick */
	struct unwinder_stats st;  /* processes_known is kept here too */
};

/* ---- helpers ---------------------------------------------------------------- */

static uint64_t bid_key(const uint8_t *id, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull ^ len;

	for (size_t i = 0; i < len; i++)
		h = (h ^ id[i]) * 0x100000001b3ull;
	return imap_mix(h) | 1; /* never 0 */
}

static uint64_t file_key(uint32_t maj, uint32_t min, uint64_t ino)
{
	return imap_mix(((uint64_t)maj << 44) ^ ((uint64_t)min << 24) ^ imap_mix(ino)) | 1;
}

static struct object *obj_by_uid(struct unwinder *u, uint32_t uid)
{
	uint32_t i = imap_get(&u->by_uid, uid);

	return i == NIL ? NULL : &u->objs[i];
}

/* ---- descriptors ------------------------------------------------------------ */

/* The BPF program reads uid and nrows first and trusts the other fields
 * only while nrows is non-zero: writers clear nrows first and set it last
 * (x86-64 keeps stores in order; the fences keep the compiler from
 * reordering them). */
static void desc_set(struct unwinder *u, const struct object *o)
{
	struct profd_unw_obj *d = &u->o.be.objs[o->slot];

	__atomic_store_n(&d->nrows, 0, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	d->uid = o->uid;
	d->building = o->state == OBJ_NEW || o->state == OBJ_BUILDING || o->state == OBJ_PENDING;
	if (o->state != OBJ_LOADED)
		return;
	d->pages = o->cells_at;
	d->npages = o->npages;
	d->rows = o->cells_at + o->npages;
	d->first_page = o->first_page;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&d->nrows, o->nrows, __ATOMIC_RELEASE);
}

static void desc_clear(struct unwinder *u, uint16_t slot)
{
	struct profd_unw_obj *d = &u->o.be.objs[slot];

	__atomic_store_n(&d->nrows, 0, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	d->uid = 0;
	d->building = 0;
}

/* ---- objects ---------------------------------------------------------------- */

static int slot_get(struct unwinder *u, uint16_t *ret)
{
	if (!u->nslot_free)
		return -ENOSPC;
	*ret = u->slot_free[--u->nslot_free];
	return 0;
}

static uint32_t obj_new(struct unwinder *u, const uint8_t *bid, size_t bid_len, uint64_t fkey, const char *path)
{
	struct object *o;
	uint32_t i;
	uint16_t slot;

	if (slot_get(u, &slot) < 0) {
		u->st.process_full++;
		return NIL;
	}
	if (u->obj_free == NIL) {
		uint32_t cap = u->nobjs_cap ? u->nobjs_cap * 2 : 64;
		struct object *n = realloc(u->objs, cap * sizeof(*n));

		if (!n) {
			u->slot_free[u->nslot_free++] = slot;
			return NIL;
		}
		for (uint32_t k = u->nobjs_cap; k < cap; k++) {
			n[k].uid = 0;
			n[k].next_free = k + 1 < cap ? k + 1 : NIL;
		}
		u->objs = n;
		u->obj_free = u->nobjs_cap;
		u->nobjs_cap = cap;
	}
	i = u->obj_free;
	o = &u->objs[i];
	u->obj_free = o->next_free;
	memset(o, 0, sizeof(*o));
	if (++u->next_uid == 0)
		u->next_uid = 1;
	o->uid = u->next_uid;
	o->slot = slot;
	o->state = OBJ_NEW;
	o->tag = UNWINDER_TAG_NONE;
	o->file_key = fkey;
	o->next_free = NIL;
	if (bid_len) {
		memcpy(o->build_id, bid, bid_len);
		o->build_id_len = bid_len;
	}
	o->path = path ? strdup(path) : NULL;
	if (imap_put(&u->by_uid, o->uid, i) < 0 ||
	    (bid_len && imap_put(&u->by_bid, bid_key(bid, bid_len), o->uid) < 0) ||
	    (fkey && imap_put(&u->by_file, fkey, o->uid) < 0)) {
		imap_del(&u->by_uid, o->uid);
		free(o->path);
		o->uid = 0;
		o->next_free = u->obj_free;
		u->obj_free = i;
		u->slot_free[u->nslot_free++] = slot;
		return NIL;
	}
	desc_set(u, o);
	u->st.objects++;
	return i;
}

static void table_drop(struct unwinder *u, struct object *o)
{
	if (o->state == OBJ_LOADED) {
		desc_set(u, &(struct object){ .uid = o->uid, .slot = o->slot, .state = OBJ_EVICTED });
		pool_put(u->cells, o->cells_at, o->ncells);
		u->st.tables--;
		u->st.table_bytes -= (uint64_t)o->ncells * sizeof(union profd_unw_cell);
	}
	if (o->pending) {
		u->pending_bytes -= unwind_table_cells(o->pending) * sizeof(union profd_unw_cell);
		o->pending = unwind_table_free(o->pending);
	}
}

static void obj_remove(struct unwinder *u, uint32_t i)
{
	struct object *o = &u->objs[i];

	table_drop(u, o);
	desc_clear(u, o->slot);
	u->slot_quar[u->nslot_quar++] = o->slot;
	imap_del(&u->by_uid, o->uid);
	if (o->build_id_len && imap_get(&u->by_bid, bid_key(o->build_id, o->build_id_len)) == o->uid)
		imap_del(&u->by_bid, bid_key(o->build_id, o->build_id_len));
	if (o->file_key && imap_get(&u->by_file, o->file_key) == o->uid)
		imap_del(&u->by_file, o->file_key);
	free(o->path);
	free(o->mapped);
	o->uid = 0;
	o->next_free = u->obj_free;
	u->obj_free = i;
	u->st.objects--;
	if (u->vdso_obj == i)
		u->vdso_obj = NIL;
}

static void obj_ref(struct unwinder *u, uint32_t i)
{
	u->objs[i].refs++;
}

static void obj_unref(struct unwinder *u, uint32_t i)
{
	struct object *o = &u->objs[i];

	if (o->refs && --o->refs == 0) {
		o->unref_ns = u->now;
		o->unref_tick = u->ticks;
	}
}

/* Install a built table: 0, or -ENOSPC (kept pending or dropped). */
static int install(struct unwinder *u, struct object *o, struct unwind_table *t)
{
	uint32_t need = (uint32_t)unwind_table_cells(t), at;

	if (pool_alloc(u->cells, need, &at) < 0)
		return -ENOSPC;
	memcpy(&u->o.be.cells[at], t->pages, (size_t)t->npages * sizeof(*t->pages));
	memcpy(&u->o.be.cells[at + t->npages], t->rows, (size_t)t->nrows * sizeof(*t->rows));
	o->cells_at = at;
	o->ncells = need;
	o->nrows = t->nrows;
	o->npages = t->npages;
	o->first_page = t->first_page;
	o->state = OBJ_LOADED;
	desc_set(u, o);
	u->st.tables++;
	u->st.table_bytes += (uint64_t)need * sizeof(union profd_unw_cell);
	return 0;
}

/* Drop the tables of objects nobody maps, oldest first, until `need`
 * cells could fit (they become free at the next tick). */
static void evict_for_room(struct unwinder *u, uint32_t need)
{
	uint32_t freed = 0;

	while (pool_size(u->cells) - pool_used(u->cells) + freed < need || pool_largest(u->cells) + freed < need) {
		uint32_t best = NIL;

		for (uint32_t i = 0; i < u->nobjs_cap; i++) {
			const struct object *o = &u->objs[i];

			if (!o->uid || o->refs || o->state != OBJ_LOADED)
				continue;
			if (best == NIL || o->unref_ns < u->objs[best].unref_ns)
				best = i;
		}
		if (best == NIL)
			return;
		freed += u->objs[best].ncells;
		table_drop(u, &u->objs[best]);
		u->objs[best].state = OBJ_EVICTED;
		desc_set(u, &u->objs[best]);
		u->st.evictions++;
	}
}

static void take_table(struct unwinder *u, struct object *o, struct unwind_table *t)
{
	size_t bytes = unwind_table_cells(t) * sizeof(union profd_unw_cell);

	if (install(u, o, t) == 0) {
		unwind_table_free(t);
		return;
	}
	evict_for_room(u, (uint32_t)unwind_table_cells(t));
	if (u->pending_bytes + bytes <= u->o.pending_max_bytes) {
		o->pending = t;
		o->state = OBJ_PENDING;
		u->pending_bytes += bytes;
		return;
	}
	unwind_table_free(t);
	o->state = OBJ_EVICTED;
	desc_set(u, o);
	u->st.pool_full++;
}

static void finish_job(struct unwinder *u, struct builder_job *j)
{
	struct object *o = obj_by_uid(u, j->uid);

	u->queued--;
	if (!o || o->state != OBJ_BUILDING)
		return;
	if (j->t) {
		u->st.build_ns += j->t->st.build_ns;
		u->st.cfi_bytes += j->t->st.cfi_bytes;
		if (!o->build_id_len && j->t->build_id_len) {
			/* learnt late (the vDSO): index it now */
			memcpy(o->build_id, j->t->build_id, j->t->build_id_len);
			o->build_id_len = j->t->build_id_len;
			imap_put(&u->by_bid, bid_key(o->build_id, o->build_id_len), o->uid);
		}
	}
	if (j->err == 0 && j->t && j->t->nrows) {
		u->st.builds++;
		take_table(u, o, j->t);
		j->t = NULL;
	} else if (j->err == -ENODATA) {
		u->st.builds++;
		o->state = OBJ_NO_CFI;
		desc_set(u, o);
	} else {
		u->st.build_failures++;
		o->state = OBJ_FAILED;
		o->failed_ns = u->now;
		desc_set(u, o);
	}
}

/* Open a file the unwinder named by a path through procfs: inside a
 * process's root ("PROCFS/PID/root/PATH") the path resolves within that
 * root (RESOLVE_IN_ROOT: a container's absolute symlinks stay in the
 * container); "PROCFS/PID/map_files/A-B" is the mapping's own file (a
 * magic link, followed on purpose). -errno otherwise. */
static int open_object(const char *procfs, const char *path, struct stat *ret_st)
{
	size_t plen = strlen(procfs);
	const char *p = path + plen, *slash;
	char root[512];

	if (strncmp(path, procfs, plen) || *p != '/')
		return util_open_regular(path, ret_st);
	slash = strchr(p + 1, '/');
	if (!slash)
		return -EINVAL;
	if (!strncmp(slash, "/map_files/", 11))
		return util_open_regular_in(NULL, path, UTIL_OPEN_MAGICLINKS, ret_st);
	if (!strncmp(slash, "/root/", 6)) {
		if ((size_t)(slash + 5 - path) >= sizeof(root))
			return -ENAMETOOLONG;
		snprintf(root, sizeof(root), "%.*s", (int)(slash + 5 - path), path);
		return util_open_regular_in(root, slash + 5, 0, ret_st);
	}
	return util_open_regular(path, ret_st);
}

/* Queue a build for o from fd (taken), or reopening its path when fd < 0.
 * 0, or -EAGAIN when the queue is full (o stays OBJ_NEW). */
static int queue_build(struct unwinder *u, struct object *o, int fd)
{
	struct builder_job *j;

	if (u->queued >= u->o.queue_max) {
		if (fd >= 0)
			close(fd);
		return -EAGAIN;
	}
	if (fd < 0 && !o->vdso) {
		fd = o->path ? open_object(u->procfs, o->path, NULL) : -ENOENT;
		if (fd < 0) {
			u->st.build_failures++;
			o->state = OBJ_FAILED;
			o->failed_ns = u->now;
			desc_set(u, o);
			return 0;
		}
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		if (fd >= 0)
			close(fd);
		return -EAGAIN;
	}
	if (!u->b && builder_new(u->o.no_worker, &u->b) < 0) {
		free(j);
		if (fd >= 0)
			close(fd);
		return -EAGAIN;
	}
	j->uid = o->uid;
	j->fd = o->vdso ? -1 : fd;
	j->mem = u->vdso_copy;
	j->len = u->vdso_len;
	o->state = OBJ_BUILDING;
	desc_set(u, o);
	u->queued++;
	builder_submit(u->b, j);
	return 0;
}

/* Take the worker's finished builds and install them. Called each tick,
 * and between ticks when the sampler met an object whose table is being
 * built (it woke us up for that). */
static void install_done(struct unwinder *u)
{
	struct builder_job *d = u->b ? builder_take_done(u->b) : NULL;

	while (d) {
		struct builder_job *n = d->next;

		finish_job(u, d);
		builder_job_free(d);
		d = n;
	}
}

/* ---- processes -------------------------------------------------------------- */

static struct proc *proc_find(struct unwinder *u, uint32_t tgid)
{
	uint32_t i = imap_get(&u->by_tgid, tgid);

	return i == NIL ? NULL : &u->procs[i];
}

static struct proc *proc_new(struct unwinder *u, uint32_t tgid)
{
	struct proc *p;
	uint32_t i;

	if (u->st.processes_known >= u->o.be.max_procs) {
		u->st.process_full++;
		return NULL;
	}
	if (u->proc_free == NIL) {
		uint32_t cap = u->nprocs_cap ? u->nprocs_cap * 2 : 64;
		struct proc *n = realloc(u->procs, cap * sizeof(*n));

		if (!n)
			return NULL;
		for (uint32_t k = u->nprocs_cap; k < cap; k++) {
			n[k].tgid = 0;
			n[k].next_free = k + 1 < cap ? k + 1 : NIL;
		}
		u->procs = n;
		u->proc_free = u->nprocs_cap;
		u->nprocs_cap = cap;
	}
	i = u->proc_free;
	p = &u->procs[i];
	if (imap_put(&u->by_tgid, tgid, i) < 0)
		return NULL;
	u->proc_free = p->next_free;
	memset(p, 0, sizeof(*p));
	p->tgid = tgid;
	p->next_free = NIL;
	u->st.processes_known++;
	return p;
}

/* Drop p's mapping table: hash entry, pool range, object references. */
static void proc_clear(struct unwinder *u, struct proc *p)
{
	if (p->installed) {
		u->o.be.proc_del(u->o.be.ctx, p->tgid);
		p->installed = 0;
		u->st.processes--;
	}
	if (p->count) {
		pool_put(u->maps, p->first, p->count);
		u->st.mappings -= p->count;
		p->count = 0;
	}
	for (uint32_t k = 0; k < p->nobjs; k++)
		obj_unref(u, p->objs[k]);
	free(p->objs);
	p->objs = NULL;
	p->nobjs = 0;
}

static void proc_remove(struct unwinder *u, struct proc *p)
{
	proc_clear(u, p);
	imap_del(&u->by_tgid, p->tgid);
	p->tgid = 0;
	p->next_free = u->proc_free;
	u->proc_free = (uint32_t)(p - u->procs);
	u->st.processes_known--;
}

static int file_same(const struct object *o, const struct stat *st)
{
	return o->ino == (uint64_t)st->st_ino && o->size == (uint64_t)st->st_size &&
	       o->mtime_ns == (uint64_t)st->st_mtim.tv_sec * 1000000000ull + (uint64_t)st->st_mtim.tv_nsec;
}

/* Object for a file mapping of process tgid, opened through its root;
 * NIL when the file cannot be opened or no object can be made. */
static uint32_t obj_for_file(struct unwinder *u, uint32_t tgid, const struct procmaps_entry *e)
{
	uint64_t fk = file_key(e->dev_major, e->dev_minor, e->inode);
	uint8_t bid[UNWIND_BUILD_ID_MAX];
	char path[4352], mf[320];
	struct object *o;
	struct stat st;
	uint32_t uid = imap_get(&u->by_file, fk), i;
	uint64_t cfi = 0;
	int fd = -ENOENT, n;

	n = snprintf(path, sizeof(path), "%s/%" PRIu32 "/root%s", u->procfs, tgid, e->path);
	if (uid != NIL) {
		o = obj_by_uid(u, uid);
		/* An inode number is reused once its file is gone (a rebuilt
		 * program, an upgraded library): trust the cache only for the
		 * very file it was made from, or when the file cannot be seen
		 * (deleted, but still mapped, so its inode is not free). */
		if (o && (e->deleted || stat(path, &st) < 0 || file_same(o, &st)))
			goto found;
		imap_del(&u->by_file, fk);
	}
	if (!e->deleted && n > 0 && (size_t)n < sizeof(path)) {
		fd = open_object(u->procfs, path, &st);
		if (fd >= 0 && st.st_ino != e->inode) {
			/* the path names another file now (replaced after mapping) */
			close(fd);
			fd = -ESTALE;
		}
	}
	if (fd < 0) {
		/* works for deleted files where profd may follow map_files links */
		snprintf(mf, sizeof(mf), "%s/%" PRIu32 "/map_files/%" PRIx64 "-%" PRIx64, u->procfs, tgid, e->start,
			 e->end);
		fd = open_object(u->procfs, mf, &st);
		if (fd < 0) {
			u->st.open_failures++;
			return NIL;
		}
		snprintf(path, sizeof(path), "%s", mf);
	}
	n = unwind_read_build_id_fd(fd, bid, &cfi);
	if (n > 0) {
		uid = imap_get(&u->by_bid, bid_key(bid, (size_t)n));
		o = uid == NIL ? NULL : obj_by_uid(u, uid);
		if (o && o->build_id_len == (size_t)n && !memcmp(o->build_id, bid, (size_t)n)) {
			close(fd);
			imap_put(&u->by_file, fk, o->uid);
			goto found;
		}
	}
	i = obj_new(u, bid, n > 0 ? (size_t)n : 0, fk, path);
	if (i == NIL) {
		close(fd);
		return NIL;
	}
	u->objs[i].mapped = strdup(e->path);
	memset(&u->objs[i].py, 0, sizeof(u->objs[i].py));
	if (pyelf_name_matches(e->path) && pyelf_read_fd(fd, &u->objs[i].py) == 0)
		u->st.python_objects++;
	u->objs[i].ino = (uint64_t)st.st_ino;
	u->objs[i].size = (uint64_t)st.st_size;
	u->objs[i].mtime_ns = (uint64_t)st.st_mtim.tv_sec * 1000000000ull + (uint64_t)st.st_mtim.tv_nsec;
	if (cfi <= INLINE_CFI_MAX && u->inline_budget >= cfi) {
		/* A small new object (a freshly built program, a small tool):
		 * built here, so the process's first table already has it. */
		struct builder_job j = { .uid = u->objs[i].uid, .fd = fd };

		u->inline_budget -= cfi;
		u->objs[i].state = OBJ_BUILDING;
		u->queued++;
		builder_job_run(&j);
		finish_job(u, &j);
		unwind_table_free(j.t);
		close(fd);
		u->st.inline_builds++;
		return i;
	}
	queue_build(u, &u->objs[i], fd);
	return i;
found:
	if (o->state == OBJ_FAILED && u->now - o->failed_ns >= RETRY_NS) {
		free(o->path);
		o->path = NULL;
		n = snprintf(path, sizeof(path), "%s/%" PRIu32 "/root%s", u->procfs, tgid, e->path);
		if (n > 0 && (size_t)n < sizeof(path))
			o->path = strdup(path);
		o->state = OBJ_NEW;
		desc_set(u, o);
	}
	return (uint32_t)(o - u->objs);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Read p's maps and publish its mapping table. */
static void proc_read(struct unwinder *u, struct proc *p)
{
	struct profd_unw_mapping *v = NULL;
	uint32_t *objs = NULL, nv = 0, no = 0, at = 0;
	struct procmaps *m = NULL;
	struct profd_unw_proc pv = { 0 };
	char path[288];
	size_t n;
	int r;

	snprintf(path, sizeof(path), "%s/%" PRIu32 "/maps", u->procfs, p->tgid);
	u->st.maps_reads++;
	r = procmaps_read(path, &m);
	if (r < 0) {
		/* gone (its exit event is on the way) or unreadable: kept, so
		 * its next samples back off like a re-read instead of asking
		 * again at every wake-up */
		u->st.maps_read_failures++;
		proc_clear(u, p);
		p->read_ns = u->now;
		p->reads++;
		return;
	}
	n = procmaps_count(m);
	v = malloc((n ? n : 1) * sizeof(*v));
	objs = malloc((n ? n : 1) * sizeof(*objs));
	if (!v || !objs)
		goto out;
	for (size_t k = 0; k < n; k++) {
		const struct procmaps_entry *e = procmaps_get(m, k);
		struct profd_unw_mapping me = { .start = e->start, .end = e->end, .pgoff = e->pgoff };
		uint32_t i = NIL;

		/* [vsyscall] lies in kernel space: no user pc is ever there */
		if (!(e->perms & PROCMAPS_X) || e->start >= (1ull << 47))
			continue;
		if (nv >= PROFD_UNW_MAX_PROC_MAPPINGS) {
			u->st.mappings_cut++;
			break;
		}
		if (!strcmp(e->path, "[vdso]")) {
			i = u->vdso_obj;
			me.flags = PROFD_UNW_MAP_VDSO | PROFD_UNW_MAP_RAW;
		} else if (procmaps_entry_is_file(e)) {
			i = obj_for_file(u, p->tgid, e);
		}
		if (i == NIL) {
			me.flags |= PROFD_UNW_MAP_RAW;
		} else {
			const struct pyelf_info *py = &u->objs[i].py;

			me.uid = u->objs[i].uid;
			me.slot = u->objs[i].slot;
			if (u->o.python && py->version && !pv.py_version && py->eval_hi <= UINT32_MAX && e->pgoff <= py->eval_lo &&
			    py->eval_hi <= e->pgoff + (e->end - e->start)) {
				/* the mapping of the eval loop gives the load bias */
				pv.py_version = py->version;
				pv.py_runtime = py->dyn ? e->start - e->pgoff - py->exec_delta + py->runtime : py->runtime;
				pv.py_uid = me.uid;
				pv.py_eval_lo = (uint32_t)py->eval_lo;
				pv.py_eval_hi = (uint32_t)py->eval_hi;
			}
			if (!u->objs[i].build_id_len)
				me.flags |= PROFD_UNW_MAP_RAW;
			objs[no++] = i;
		}
		v[nv++] = me;
	}
	/* one reference per object, however many mappings it has */
	qsort_safe(objs, no, sizeof(*objs), cmp_u32);
	{
		uint32_t w = 0;

		for (uint32_t k = 0; k < no; k++)
			if (!w || objs[w - 1] != objs[k])
				objs[w++] = objs[k];
		no = w;
	}
	if (nv && pool_alloc(u->maps, nv, &at) < 0) {
		u->st.process_full++;
		goto out;
	}
	memcpy(&u->o.be.maps[at], v, (size_t)nv * sizeof(*v));
	for (uint32_t k = 0; k < no; k++)
		obj_ref(u, objs[k]);
	proc_clear(u, p);
	p->objs = objs;
	p->nobjs = no;
	objs = NULL;
	p->first = at;
	p->count = nv;
	u->st.mappings += nv;
	p->read_ns = u->now;
	p->reads++;
	pv.start_time = p->start_time;
	pv.first = at;
	pv.count = nv;
	r = u->o.be.proc_set(u->o.be.ctx, p->tgid, &pv);
	if (r >= 0 && pv.py_version)
		u->st.python_processes++;
	if (r < 0) {
		u->st.process_full++;
		proc_clear(u, p);
	} else {
		p->installed = 1;
		u->st.processes++;
	}
out:
	free(v);
	free(objs);
	procmaps_free(m);
}

/* ---- public --------------------------------------------------------------- */

/* Re-reads of one process back off: 50 ms after the first read, doubling
 * up to refresh_ns, so a process still loading its libraries is caught up
 * at once and one that keeps missing costs little. */
static uint64_t refresh_after(const struct unwinder *u, const struct proc *p)
{
	uint64_t d = 50000000ull << (p->reads < 6 ? p->reads : 6);

	return d < u->o.refresh_ns ? d : u->o.refresh_ns;
}

void unwinder_note_sample(struct unwinder *u, uint32_t tgid, uint64_t start_time, uint32_t flags, uint64_t ts_ns)
{
	struct proc *p;

	if (ts_ns > u->now)
		u->now = ts_ns;
	if (flags & PROFD_SF_UNW_BUILDING)
		install_done(u);
	if (!(flags & (PROFD_SF_UNW_NOPROC | PROFD_SF_UNW_MISS)) || tgid == 0)
		return;
	p = proc_find(u, tgid);
	if (p && p->start_time != start_time) {
		/* the pid was reused */
		proc_clear(u, p);
		p->read_ns = 0;
		p->reads = 0;
	}
	if (!p) {
		p = proc_new(u, tgid);
		if (!p)
			return;
	}
	p->start_time = start_time;
	if (p->queued)
		return;
	if (p->read_ns && u->now - p->read_ns < refresh_after(u, p))
		return;
	if (p->read_ns)
		u->st.refreshes++;
	if (u->reads_left) {
		/* between ticks too: the sampler woke us up to ask */
		u->reads_left--;
		proc_read(u, p);
		return;
	}
	if (u->nreq == u->cap_req) {
		uint32_t cap = u->cap_req ? u->cap_req * 2 : 64;
		uint32_t *n = realloc(u->requests, cap * sizeof(*n));

		if (!n)
			return;
		u->requests = n;
		u->cap_req = cap;
	}
	u->requests[u->nreq++] = tgid;
	p->queued = 1;
}

void unwinder_note_exec(struct unwinder *u, uint32_t tgid, uint64_t ts_ns)
{
	struct proc *p = proc_find(u, tgid);

	if (!p || p->exec_ns >= ts_ns)
		return;
	p->exec_ns = ts_ns;
	/* A read after the exec describes the new image already. */
	if (p->read_ns && p->read_ns > ts_ns)
		return;
	proc_clear(u, p);
	p->read_ns = 0;
	p->reads = 0;
}

void unwinder_forget(struct unwinder *u, uint32_t tgid)
{
	struct proc *p = proc_find(u, tgid);

	if (p)
		proc_remove(u, p);
}

void unwinder_tick(struct unwinder *u, uint64_t now_ns)
{
	uint32_t k;

	u->now = now_ns;
	u->ticks++;
	u->inline_budget = INLINE_BUDGET;
	u->reads_left = u->o.reads_per_tick;
	pool_release(u->cells);
	pool_release(u->maps);
	for (uint32_t i = 0; i < u->nslot_quar; i++)
		u->slot_free[u->nslot_free++] = u->slot_quar[i];
	u->nslot_quar = 0;

	/* tables waiting for room first: eviction made some last tick */
	for (uint32_t i = 0; i < u->nobjs_cap; i++) {
		struct object *o = &u->objs[i];
		struct unwind_table *t;

		if (!o->uid || o->state != OBJ_PENDING)
			continue;
		t = o->pending;
		if (install(u, o, t) == 0) {
			u->pending_bytes -= unwind_table_cells(t) * sizeof(union profd_unw_cell);
			o->pending = unwind_table_free(t);
		} else {
			evict_for_room(u, (uint32_t)unwind_table_cells(t));
		}
	}
	install_done(u);

	/* maps reads left from earlier ticks, bounded per tick */
	for (k = 0; k < u->nreq && u->reads_left; k++) {
		struct proc *p = proc_find(u, u->requests[k]);

		if (!p || !p->queued)
			continue;
		p->queued = 0;
		u->reads_left--;
		proc_read(u, p);
	}
	if (k < u->nreq) {
		u->st.requests_deferred += u->nreq - k;
		memmove(u->requests, u->requests + k, (u->nreq - k) * sizeof(*u->requests));
	}
	u->nreq -= k;

	/* processes whose exit was never seen (its event lost): gone from
	 * procfs, so their tables and references go too */
	if (u->ticks % GC_TICKS == 0) {
		for (uint32_t i = 0; i < u->nprocs_cap; i++) {
			char path[288];
			struct stat st;

			if (!u->procs[i].tgid)
				continue;
			snprintf(path, sizeof(path), "%s/%" PRIu32, u->procfs, u->procs[i].tgid);
			if (stat(path, &st) < 0 && errno == ENOENT)
				proc_remove(u, &u->procs[i]);
		}
	}

	/* objects: builds to queue, lingering tables to evict */
	for (uint32_t i = 0; i < u->nobjs_cap; i++) {
		struct object *o = &u->objs[i];

		if (!o->uid || o->vdso)
			continue;
		if (o->refs == 0) {
			if (u->ticks - o->unref_tick >= UNREF_GRACE_TICKS &&
			    (o->state != OBJ_LOADED || now_ns - o->unref_ns >= u->o.linger_ns)) {
				if (o->state == OBJ_LOADED)
					u->st.evictions++;
				obj_remove(u, i);
			}
			continue;
		}
		if (o->state == OBJ_NEW ||
		    (o->state == OBJ_EVICTED && pool_largest(u->cells) > pool_size(u->cells) / 8))
			queue_build(u, o, -1);
	}
}

int unwinder_object_build_id(struct unwinder *u, uint32_t uid, const uint8_t **ret, size_t *ret_len)
{
	struct object *o = obj_by_uid(u, uid);

	if (!o || !o->build_id_len)
		return -ENOENT;
	*ret = o->build_id;
	*ret_len = o->build_id_len;
	return 0;
}

const char *unwinder_object_path(struct unwinder *u, uint32_t uid)
{
	struct object *o = obj_by_uid(u, uid);

	return o ? o->mapped : NULL;
}

uint32_t unwinder_object_tag(struct unwinder *u, uint32_t uid)
{
	struct object *o = obj_by_uid(u, uid);

	return o ? o->tag : UNWINDER_TAG_NONE;
}

void unwinder_set_object_tag(struct unwinder *u, uint32_t uid, uint32_t tag)
{
	struct object *o = obj_by_uid(u, uid);

	if (o)
		o->tag = tag;
}

void unwinder_get_stats(struct unwinder *u, struct unwinder_stats *ret)
{
	*ret = u->st;
	ret->table_limit_bytes = (uint64_t)pool_size(u->cells) * sizeof(union profd_unw_cell);
	ret->mappings_limit = pool_size(u->maps);
	ret->build_queue = u->queued;
	ret->without_table = 0;
	ret->no_cfi = 0;
	for (uint32_t i = 0; i < u->nobjs_cap; i++) {
		const struct object *o = &u->objs[i];

		if (!o->uid || !o->refs || o->state == OBJ_LOADED)
			continue;
		ret->without_table++;
		if (o->state == OBJ_NO_CFI)
			ret->no_cfi++;
	}
}

/* The vDSO image: ELF header to the end of the section headers (the
 * kernel's image is that long; bounded by the mapping's two pages). */
static size_t vdso_size(const void *img)
{
	const unsigned char *b = img;
	uint64_t shoff;
	uint16_t shnum, shentsize;

	if (memcmp(b, "\177ELF", 4) || b[4] != 2)
		return 0;
	memcpy(&shoff, b + 0x28, 8);
	memcpy(&shentsize, b + 0x3a, 2);
	memcpy(&shnum, b + 0x3c, 2);
	if (shoff > (1u << 20) || (uint64_t)shnum * shentsize > (1u << 20))
		return 0;
	return (size_t)(shoff + (uint64_t)shnum * shentsize);
}

static void vdso_init(struct unwinder *u)
{
	const void *img = u->o.vdso;
	size_t len = u->o.vdso_len;
	uint32_t i;

	u->vdso_obj = NIL;
	if (!img) {
		img = (const void *)getauxval(AT_SYSINFO_EHDR);
		len = img ? vdso_size(img) : 0;
	}
	if (!img || !len)
		return;
	u->vdso_copy = malloc(len);
	if (!u->vdso_copy)
		return;
	memcpy(u->vdso_copy, img, len);
	u->vdso_len = len;
	i = obj_new(u, NULL, 0, 0, NULL);
	if (i == NIL)
		return;
	u->objs[i].vdso = 1;
	u->objs[i].refs = 1; /* never evicted: every process maps it */
	u->vdso_obj = i;
	/* A few hundred bytes of CFI: built here, before the worker exists
	 * (it starts with the first file, after privileges are dropped). */
	{
		struct builder_job j = { .uid = u->objs[i].uid, .fd = -1, .mem = u->vdso_copy, .len = u->vdso_len };

		u->objs[i].state = OBJ_BUILDING;
		u->queued++;
		builder_job_run(&j);
		finish_job(u, &j);
		unwind_table_free(j.t);
	}
}

int unwinder_new(const struct unwinder_opts *opts, struct unwinder **ret)
{
	struct unwinder *u;
	const struct unwind_backend *be = &opts->be;
	int r;

	if (!be->cells || !be->ncells || !be->maps || !be->nmaps || !be->objs || !be->nobjs || !be->proc_set ||
	    !be->proc_del || !be->max_procs)
		return -EINVAL;
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->o = *opts;
	if (!u->o.linger_ns)
		u->o.linger_ns = DEFAULT_LINGER_NS;
	if (!u->o.refresh_ns)
		u->o.refresh_ns = DEFAULT_REFRESH_NS;
	if (!u->o.reads_per_tick)
		u->o.reads_per_tick = DEFAULT_READS;
	if (!u->o.queue_max)
		u->o.queue_max = DEFAULT_QUEUE;
	if (!u->o.pending_max_bytes)
		u->o.pending_max_bytes = DEFAULT_PENDING_BYTES;
	snprintf(u->procfs, sizeof(u->procfs), "%s", opts->procfs ? opts->procfs : "/proc");
	u->o.procfs = u->procfs;
	u->obj_free = NIL;
	u->proc_free = NIL;
	if (u->o.be.nobjs > 65536)
		u->o.be.nobjs = 65536; /* slots are 16 bits */
	u->slot_free = malloc(u->o.be.nobjs * sizeof(*u->slot_free));
	u->slot_quar = malloc(u->o.be.nobjs * sizeof(*u->slot_quar));
	if (!u->slot_free || !u->slot_quar) {
		unwinder_free(u);
		return -ENOMEM;
	}
	/* handed out low slots first */
	for (uint32_t s = 0; s < u->o.be.nobjs; s++)
		u->slot_free[s] = (uint16_t)(u->o.be.nobjs - 1 - s);
	u->nslot_free = u->o.be.nobjs;
	r = pool_new(be->ncells, &u->cells);
	if (r == 0)
		r = pool_new(be->nmaps, &u->maps);
	if (r < 0) {
		unwinder_free(u);
		return r;
	}
	memset(be->objs, 0, (size_t)be->nobjs * sizeof(*be->objs));
	vdso_init(u);
	*ret = u;
	return 0;
}

struct unwinder *unwinder_free(struct unwinder *u)
{
	if (!u)
		return NULL;
	builder_free(u->b);
	for (uint32_t i = 0; i < u->nobjs_cap; i++) {
		if (u->objs[i].uid) {
			free(u->objs[i].path);
			free(u->objs[i].mapped);
			unwind_table_free(u->objs[i].pending);
		}
	}
	for (uint32_t i = 0; i < u->nprocs_cap; i++)
		if (u->procs[i].tgid)
			free(u->procs[i].objs);
	free(u->objs);
	free(u->procs);
	free(u->requests);
	imap_fini(&u->by_uid);
	imap_fini(&u->by_bid);
	imap_fini(&u->by_file);
	imap_fini(&u->by_tgid);
	pool_free(u->cells);
	pool_free(u->maps);
	free(u->slot_free);
	free(u->slot_quar);
	free(u->vdso_copy);
	free(u);
	return NULL;
}
