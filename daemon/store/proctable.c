/* SPDX-License-Identifier: GPL-2.0-only */
/* Process table: (tgid, start time) -> what a user recognises a process by,
 * as events and the collector's /proc reads tell it, kept after the process
 * exits. */
#include "store/proctable.h"
#include "common/sort.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Entries live in fixed chunks so proc_info pointers stay valid while the
 * table grows (they are only invalidated by gc, as the header promises). */
#define PT_CHUNK 256u
#define PT_MIN_BUCKETS 64u
/* An exec event's filename is kept up to this (PATH_MAX). */
#define PT_PATH_MAX 4096u
#define NSEC_PER_SEC 1000000000ull

struct pent {
	struct proc_info info;
	uint64_t start_ticks; /* key, with info.tgid */
	uint32_t next;        /* bucket chain or free list */
	bool used;
	bool sampled;         /* referred to by data (proctable_get), not
			       * only by lifecycle events */
};

struct proctable {
	size_t max_procs;
	proctable_want_fn want_fn;
	void *want_ctx;
	struct pent **chunks;
	uint32_t nchunks;
	uint32_t nents;      /* ids handed out so far (high-water mark) */
	uint32_t free_head;  /* PROC_ID_NONE when empty */
	uint32_t *buckets;   /* by tgid only, so find_tgid walks one chain */
	uint32_t nbuckets;
	uint64_t gc_oldest_ns; /* oldest window time the daemon last passed */
	uint64_t latest_ns;    /* newest time seen: ages unsampled entries */
	/* Generation of changes that could make an entry collectable; a full
	 * table is rescanned only after one, never once per refused lookup. */
	uint64_t gen, full_gen;
	struct proctable_stats st;
};

static const struct proc_info overflow_info = {
	.id = PROC_ID_OVERFLOW, .uid = UINT32_MAX, .comm = "[table full]",
};
static const struct proc_info idle_info = {
	.id = PROC_ID_IDLE, .uid = 0, .comm = "[idle]",
};

uint64_t proctable_user_hz(void)
{
	/* relaxed atomics: threads racing here all store the same value */
	static uint64_t hz;
	uint64_t v = __atomic_load_n(&hz, __ATOMIC_RELAXED);

	if (!v) {
		long r = sysconf(_SC_CLK_TCK);

		v = r > 0 && r <= (long)NSEC_PER_SEC ? (uint64_t)r : 100;
		__atomic_store_n(&hz, v, __ATOMIC_RELAXED);
	}
	return v;
}

uint64_t proctable_ns_to_ticks(uint64_t ns)
{
	uint64_t hz = proctable_user_hz();

	/* floor(ns * hz / 1e9) without overflow, as the kernel rounds */
	return ns / NSEC_PER_SEC * hz + ns % NSEC_PER_SEC * hz / NSEC_PER_SEC;
}

uint64_t proctable_ticks_to_ns(uint64_t ticks)
{
	uint64_t hz = proctable_user_hz(), whole;

	if (__builtin_mul_overflow(ticks / hz, NSEC_PER_SEC, &whole))
		return UINT64_MAX;
	/* ticks % hz < hz <= 1e9: the product fits */
	return whole + ticks % hz * NSEC_PER_SEC / hz;
}

/* Entry of an id known to be handed out (its generation bits ignored). */
static inline struct pent *ent_of(const struct proctable *t, uint32_t id)
{
	uint32_t i = proctable_id_index(id) - PROC_ID_FIRST;

	return &t->chunks[i / PT_CHUNK][i % PT_CHUNK];
}

/* Entry of an id, NULL unless that very id (generation included) is live:
 * an id kept by old window data never resolves to the entry's next owner. */
static struct pent *ent_at(const struct proctable *t, uint32_t id)
{
	uint32_t i = proctable_id_index(id);
	struct pent *e;

	if (i < PROC_ID_FIRST || i - PROC_ID_FIRST >= t->nents)
		return NULL;
	e = ent_of(t, id);
	return e->used && e->info.id == id ? e : NULL;
}

static inline uint32_t bucket_of(uint32_t tgid, uint32_t nbuckets)
{
	uint32_t h = tgid * 0x9e3779b1u;

	return (h ^ (h >> 16)) & (nbuckets - 1);
}

/* ---- the table ---- */

int proctable_new(const char *procfs, size_t max_procs, struct proctable **ret)
{
	struct proctable *t;

	(void)procfs;
	/* ids keep PROCTABLE_ID_INDEX_BITS for the index */
	if (max_procs < 1 || max_procs > (1u << PROCTABLE_ID_INDEX_BITS) - PROC_ID_FIRST)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->nbuckets = PT_MIN_BUCKETS;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	if (!t->buckets) {
		proctable_free(t);
		return -ENOMEM;
	}
	t->max_procs = max_procs;
	t->full_gen = UINT64_MAX;
	*ret = t;
	return 0;
}

static void ent_release(struct pent *e)
{
	free(e->info.cmdline);
	free(e->info.exe);
	e->info.cmdline = NULL;
	e->info.exe = NULL;
}

struct proctable *proctable_free(struct proctable *t)
{
	if (!t)
		return NULL;
	for (uint32_t id = PROC_ID_FIRST; id - PROC_ID_FIRST < t->nents; id++)
		ent_release(ent_of(t, id));
	for (uint32_t c = 0; c < t->nchunks; c++)
		free(t->chunks[c]);
	free(t->chunks);
	free(t->buckets);
	free(t);
	return NULL;
}

static struct pent *lookup(const struct proctable *t, uint32_t tgid, uint64_t ticks)
{
	for (uint32_t id = t->buckets[bucket_of(tgid, t->nbuckets)]; id != PROC_ID_NONE;) {
		struct pent *e = ent_of(t, id);

		if (e->info.tgid == tgid && e->start_ticks == ticks)
			return e;
		id = e->next;
	}
	return NULL;
}

static void grow_buckets(struct proctable *t)
{
	uint32_t nb = t->nbuckets * 2, *b;

	b = nb > t->nbuckets ? calloc(nb, sizeof(*b)) : NULL;
	if (!b)
		return; /* longer chains, still correct */
	for (uint32_t id = PROC_ID_FIRST; id - PROC_ID_FIRST < t->nents; id++) {
		struct pent *e = ent_of(t, id);
		uint32_t s;

		if (!e->used)
			continue;
		s = bucket_of(e->info.tgid, nb);
		e->next = b[s];
		b[s] = id;
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = nb;
}

static void ent_remove(struct proctable *t, struct pent *e)
{
	uint32_t *link = &t->buckets[bucket_of(e->info.tgid, t->nbuckets)];
	uint32_t id = e->info.id;

	while (*link != id)
		link = &ent_of(t, *link)->next;
	*link = e->next;
	if (!e->info.exit_ns)
		t->st.alive--;
	ent_release(e);
	memset(e, 0, sizeof(*e));
	e->next = t->free_head;
	t->free_head = id;
	t->st.procs--;
	t->st.collected++;
}

/* A dead process that no data ever referred to (seen only through exec
 * and exit events) is collected this long after its exit: by then any
 * sample of it has long been drained. Without this, a host that execs a
 * lot would fill the table with processes no window will ever show. */
#define UNSAMPLED_GRACE_NS (60ull * 1000000000ull)

static size_t collect(struct proctable *t, uint64_t oldest_ns)
{
	size_t n = 0;

	for (uint32_t id = PROC_ID_FIRST; id - PROC_ID_FIRST < t->nents; id++) {
		struct pent *e = ent_of(t, id);

		if (e->used && e->info.exit_ns &&
		    (e->info.last_used_ns < oldest_ns ||
		     (!e->sampled && e->info.exit_ns + UNSAMPLED_GRACE_NS < t->latest_ns))) {
			ent_remove(t, e);
			n++;
		}
	}
	return n;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The table is full of processes the windows still refer to (a host that
 * starts hundreds of processes a second fills any bound within the 24 h
 * the coarse tier keeps). Evict the least recently used sixteenth of the
 * dead ones: their ids get a new generation when reused, so the windows'
 * old data about them is shown as an expired process, never as another. */
static void evict_dead(struct proctable *t)
{
	size_t n = 0, want = t->max_procs / 16 + 1;
	uint64_t *when = malloc(t->nents * sizeof(*when)), cut;

	if (!when)
		return;
	for (uint32_t id = PROC_ID_FIRST; id - PROC_ID_FIRST < t->nents; id++) {
		struct pent *e = ent_of(t, id);

		if (e->used && e->info.exit_ns)
			when[n++] = e->info.last_used_ns;
	}
	if (n) {
		qsort_safe(when, n, sizeof(*when), cmp_u64);
		cut = when[(want < n ? want : n) - 1];
		for (uint32_t id = PROC_ID_FIRST; id - PROC_ID_FIRST < t->nents; id++) {
			struct pent *e = ent_of(t, id);

			if (e->used && e->info.exit_ns && e->info.last_used_ns <= cut) {
				ent_remove(t, e);
				t->st.expired++;
			}
		}
	}
	free(when);
}

static struct pent *ent_alloc(struct proctable *t)
{
	struct pent *e;
	uint32_t id;

	if (t->free_head != PROC_ID_NONE) {
		uint32_t gen;

		id = t->free_head;
		e = ent_of(t, id);
		t->free_head = e->next;
		/* next generation of this index: data still holding the old id
		 * will not find this process */
		gen = ((id >> PROCTABLE_ID_INDEX_BITS) + 1) & ((1u << (32 - PROCTABLE_ID_INDEX_BITS)) - 1);
		id = (gen << PROCTABLE_ID_INDEX_BITS) | proctable_id_index(id);
	} else {
		if (t->nents == t->nchunks * PT_CHUNK) {
			struct pent **nc = realloc(t->chunks, (t->nchunks + 1) * sizeof(*nc));

			if (!nc)
				return NULL;
			t->chunks = nc;
			nc[t->nchunks] = calloc(PT_CHUNK, sizeof(**nc));
			if (!nc[t->nchunks])
				return NULL;
			t->nchunks++;
		}
		id = PROC_ID_FIRST + t->nents++;
		e = ent_of(t, id);
	}
	memset(e, 0, sizeof(*e));
	e->info.id = id;
	e->used = true;
	return e;
}

static void set_comm(struct pent *e, const char *comm)
{
	if (comm && *comm) {
		strncpy(e->info.comm, comm, sizeof(e->info.comm) - 1);
		e->info.comm[sizeof(e->info.comm) - 1] = 0;
	}
}

static void touch(struct proctable *t, struct pent *e, uint64_t now_ns)
{
	if (now_ns > t->latest_ns)
		t->latest_ns = now_ns;
	if (now_ns > e->info.last_used_ns)
		e->info.last_used_ns = now_ns;
}

static void mark_dead(struct proctable *t, struct pent *e, uint64_t now_ns, int exit_code)
{
	e->info.exit_ns = now_ns ? now_ns : 1; /* 0 means alive */
	e->info.exit_code = exit_code;
	t->st.alive--;
	/* usually last used now, so collectable only once the windows move
	 * past it (a new gc time bumps gen); if already, a rescan may help */
	if (e->info.last_used_ns < t->gc_oldest_ns)
		t->gen++;
}

static struct pent *get_entry(struct proctable *t, uint32_t tgid, uint64_t start_ns, const char *comm, uint64_t now_ns, bool *created)
{
	uint64_t ticks = proctable_ns_to_ticks(start_ns);
	struct pent *e = lookup(t, tgid, ticks);
	uint32_t b;

	*created = false;
	if (e) {
		if (!e->info.comm[0])
			set_comm(e, comm);
		touch(t, e, now_ns);
		return e;
	}
	if (t->st.procs >= t->max_procs && t->full_gen != t->gen) {
		/* Dead processes no window refers to any more make room. */
		if (!collect(t, t->gc_oldest_ns))
			t->full_gen = t->gen;
	}
	if (t->st.procs >= t->max_procs)
		evict_dead(t);
	if (t->st.procs >= t->max_procs || !(e = ent_alloc(t))) {
		/* (allocation failure lands here too: the samples still
		 * count, under PROC_ID_OVERFLOW) */
		t->st.full_drops++;
		return NULL;
	}
	e->info.tgid = tgid;
	e->info.start_ns = start_ns;
	e->info.uid = UINT32_MAX;
	e->info.first_seen_ns = now_ns;
	e->info.last_used_ns = now_ns;
	if (now_ns > t->latest_ns)
		t->latest_ns = now_ns;
	e->start_ticks = ticks;
	set_comm(e, comm);
	b = bucket_of(tgid, t->nbuckets);
	e->next = t->buckets[b];
	t->buckets[b] = e->info.id;
	t->st.procs++;
	t->st.alive++;
	if (t->st.procs > t->nbuckets)
		grow_buckets(t);
	*created = true;
	return e;
}

static void want(struct proctable *t, const struct pent *e, uint32_t flags)
{
	struct proctable_want w = { .tgid = e->info.tgid, .flags = flags, .start_ns = e->info.start_ns };

	if (!t->want_fn)
		return;
	t->st.wants++;
	t->want_fn(t->want_ctx, &w);
}

void proctable_set_want_fn(struct proctable *t, proctable_want_fn fn, void *ctx)
{
	if (!t)
		return;
	t->want_fn = fn;
	t->want_ctx = ctx;
}

/* Move what an identity holds into e; its strings are taken. */
static void take_identity(struct proctable *t, struct pent *e, struct proc_identity *id, bool exec_only)
{
	t->st.proc_read_errors += id->read_errors;
	id->read_errors = 0;
	if (id->comm[0])
		set_comm(e, id->comm);
	if (!exec_only) {
		if (id->ppid != UINT32_MAX)
			e->info.ppid = id->ppid;
		if (id->uid != UINT32_MAX)
			e->info.uid = id->uid;
	}
	if (id->cmdline) {
		free(e->info.cmdline);
		e->info.cmdline = id->cmdline;
		id->cmdline = NULL;
	}
	if (id->exe) {
		free(e->info.exe);
		e->info.exe = id->exe;
		id->exe = NULL;
	}
	t->st.identities++;
}

uint32_t proctable_get(struct proctable *t, uint32_t tgid, uint64_t start_ns, const char *comm, uint64_t now_ns)
{
	struct pent *e;
	bool created;

	if (!t)
		return PROC_ID_OVERFLOW;
	/* pid 0 is the per-CPU idle task: one pseudo-process, no entry */
	if (tgid == 0)
		return PROC_ID_IDLE;
	e = get_entry(t, tgid, start_ns, comm, now_ns, &created);
	if (!e)
		return PROC_ID_OVERFLOW;
	e->sampled = true;
	if (created)
		want(t, e, 0);
	return e->info.id;
}

uint32_t proctable_add(struct proctable *t, uint32_t tgid, uint64_t start_ns, struct proc_identity *id, uint64_t now_ns)
{
	struct pent *e;
	bool created;

	if (!t)
		return PROC_ID_OVERFLOW;
	if (tgid == 0)
		return PROC_ID_IDLE;
	e = get_entry(t, tgid, start_ns, id ? id->comm : NULL, now_ns, &created);
	if (!e)
		return PROC_ID_OVERFLOW;
	/* its gauges go into the windows: data refer to it */
	e->sampled = true;
	if (id && (created || !e->info.cmdline))
		take_identity(t, e, id, false);
	return e->info.id;
}

int proctable_set_identity(struct proctable *t, uint32_t tgid, uint64_t start_ns, struct proc_identity *id, uint32_t flags)
{
	struct pent *e = t && id ? lookup(t, tgid, proctable_ns_to_ticks(start_ns)) : NULL;

	if (!e)
		return -ENOENT;
	take_identity(t, e, id, flags & PROCTABLE_WANT_EXEC);
	return 0;
}

const struct proc_info *proctable_lookup(const struct proctable *t, uint32_t tgid, uint64_t start_ns)
{
	const struct pent *e = t ? lookup(t, tgid, proctable_ns_to_ticks(start_ns)) : NULL;

	return e ? &e->info : NULL;
}

uint32_t proctable_restore(struct proctable *t, const struct proc_info *p, uint64_t now_ns)
{
	struct pent *e;
	bool created;

	if (!t || !p)
		return PROC_ID_OVERFLOW;
	if (p->tgid == 0)
		return PROC_ID_IDLE;
	e = get_entry(t, p->tgid, p->start_ns, p->comm, now_ns, &created);
	if (!e)
		return PROC_ID_OVERFLOW;
	e->sampled = true;
	if (!created)
		return e->info.id;
	/* the saved identity until /proc's (for one still running) arrives */
	if (p->cmdline)
		e->info.cmdline = strndup(p->cmdline, PT_PATH_MAX - 1);
	if (p->exe)
		e->info.exe = strndup(p->exe, PT_PATH_MAX - 1);
	e->info.uid = p->uid;
	e->info.ppid = p->ppid;
	if (p->first_seen_ns && p->first_seen_ns < e->info.first_seen_ns)
		e->info.first_seen_ns = p->first_seen_ns;
	if (p->exit_ns)
		mark_dead(t, e, p->exit_ns, p->exit_code);
	else
		/* the collector reads it again, and notes it gone if it is */
		want(t, e, 0);
	return e->info.id;
}

void proctable_note_exec(struct proctable *t, uint32_t tgid, uint64_t start_ns, uint32_t ppid, const char *comm, const char *filename, uint64_t now_ns)
{
	struct pent *e;
	bool created;

	if (!t || tgid == 0)
		return;
	e = get_entry(t, tgid, start_ns, comm, now_ns, &created);
	if (!e)
		return;
	/* A new image: what was known about the old one no longer holds. */
	set_comm(e, comm);
	e->info.ppid = ppid;
	if (!created) {
		free(e->info.cmdline);
		free(e->info.exe);
		e->info.cmdline = NULL;
		e->info.exe = NULL;
	}
	/* What execve() got, until /proc/PID/exe (absolute, resolved)
	 * replaces it; it stays for a process gone before that read. */
	if (filename && *filename)
		e->info.exe = strndup(filename, PT_PATH_MAX - 1);
	want(t, e, created ? 0 : PROCTABLE_WANT_EXEC);
}

void proctable_note_exit(struct proctable *t, uint32_t tgid, uint64_t start_ns, int exit_code, uint64_t now_ns)
{
	struct pent *e;

	/* An exit of a process never sampled nor exec'd under profd creates
	 * nothing: an entry would only hold a comm-less tombstone. */
	if (!t || tgid == 0 || !(e = lookup(t, tgid, proctable_ns_to_ticks(start_ns))))
		return;
	touch(t, e, now_ns);
	if (!e->info.exit_ns)
		mark_dead(t, e, now_ns, exit_code);
}

void proctable_set_uid(struct proctable *t, uint32_t id, uint32_t uid)
{
	struct pent *e = t && id >= PROC_ID_FIRST ? (struct pent *)ent_at(t, id) : NULL;

	if (e && e->used && e->info.uid == UINT32_MAX)
		e->info.uid = uid;
}

const struct proc_info *proctable_info(const struct proctable *t, uint32_t id)
{
	const struct pent *e;

	if (id == PROC_ID_OVERFLOW)
		return &overflow_info;
	if (id == PROC_ID_IDLE)
		return &idle_info;
	e = t ? ent_at(t, id) : NULL;
	return e && e->used ? &e->info : NULL;
}

const struct proc_info *proctable_find_tgid(const struct proctable *t, uint32_t tgid)
{
	const struct pent *best = NULL;

	if (!t)
		return NULL;
	for (uint32_t id = t->buckets[bucket_of(tgid, t->nbuckets)]; id != PROC_ID_NONE;) {
		const struct pent *e = ent_of(t, id);

		if (e->info.tgid == tgid && (!best || e->info.start_ns > best->info.start_ns))
			best = e;
		id = e->next;
	}
	return best ? &best->info : NULL;
}

void proctable_note_gone(struct proctable *t, uint32_t tgid, uint64_t start_ns, uint64_t now_ns)
{
	struct pent *e = t && tgid ? lookup(t, tgid, proctable_ns_to_ticks(start_ns)) : NULL;

	if (e && !e->info.exit_ns)
		mark_dead(t, e, now_ns, 0);
}

size_t proctable_gc(struct proctable *t, uint64_t oldest_ns)
{
	if (!t)
		return 0;
	if (oldest_ns != t->gc_oldest_ns)
		t->gen++;
	t->gc_oldest_ns = oldest_ns;
	return collect(t, oldest_ns);
}

void proctable_foreach(const struct proctable *t, int (*fn)(const struct proc_info *p, void *ctx), void *ctx)
{
	if (!t || !fn)
		return;
	for (uint32_t id = PROC_ID_FIRST; id - PROC_ID_FIRST < t->nents; id++) {
		const struct pent *e = ent_of(t, id);

		if (e->used && fn(&e->info, ctx))
			return;
	}
}

uint32_t proctable_id_bound(const struct proctable *t)
{
	return t ? PROC_ID_FIRST + t->nents : PROC_ID_FIRST;
}

void proctable_get_stats(const struct proctable *t, struct proctable_stats *ret)
{
	if (!ret)
		return;
	if (!t) {
		memset(ret, 0, sizeof(*ret));
		return;
	}
	*ret = t->st;
}
