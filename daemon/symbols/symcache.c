/* SPDX-License-Identifier: GPL-2.0-only */
/* Symbol tables of the symbolizer: loads (local, then debuginfod on the
 * fetch thread), JIT maps, the cache bound, lookups in loaded tables. */
#include "symbols/symbolizer_int.h"

#include "symbols/elfsym.h"
#include "symbols/perfmap.h"
#include "common/clock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- table loads ---- */

static struct symloader_job *job_new_load(struct symbolizer *s, uint32_t id)
{
	struct sym_object *o = obj_get(s, id);
	struct symloader_job *j = symloader_job_new(SYMLOADER_LOAD);

	if (!j)
		return NULL;
	j->obj = id;
	j->paths_gen = o->paths_gen;
	memcpy(j->build_id, o->build_id, o->build_id_len);
	j->build_id_len = o->build_id_len;
	j->has_key = o->has_key;
	j->key = o->key;
	for (size_t i = 0; i < OBJTAB_PATHS && o->paths[i].path; i++) {
		struct symloader_cand *c = &j->paths[i];

		c->magic = o->paths[i].magic;
		c->path = strdup(o->paths[i].path);
		c->root = o->paths[i].root ? strdup(o->paths[i].root) : NULL;
		if (!c->path || (o->paths[i].root && !c->root))
			return symloader_job_free(j);
	}
	if (o->logical_dir && !(j->logical_dir = strdup(o->logical_dir)))
		return symloader_job_free(j);
	return j;
}

/* Start loading object id. 0 (queued or, with no_worker, done) or -errno. */
static int load_start(struct symbolizer *s, uint32_t id)
{
	struct sym_object *o = obj_get(s, id);
	struct symloader_job *j;

	if (s->pending >= LOAD_QUEUE_MAX)
		return -EBUSY;
	j = job_new_load(s, id);
	if (!j)
		return -ENOMEM;
	o->state = OBJ_QUEUED;
	s->pending++;
	symloader_submit(s->loader, j);
	if (s->no_worker)
		symbolizer_install_done(s);
	return 0;
}

/* Ask for a table early, so it is there when a query renders the frame. */
void symcache_warm(struct symbolizer *s, uint32_t id)
{
	struct sym_object *o = obj_get(s, id);

	if (o && o->state == OBJ_IDLE && o->paths[0].path)
		(void)load_start(s, id);
}

/* ---- debuginfod: remote loads on the fetch thread ---- */

static uint64_t fetch_backoff_ns(uint32_t fails)
{
	uint64_t ns = FETCH_BACKOFF_MIN_NS;

	while (fails-- > 1 && ns < FETCH_BACKOFF_MAX_NS)
		ns *= 2;
	return ns < FETCH_BACKOFF_MAX_NS ? ns : FETCH_BACKOFF_MAX_NS;
}

/* A loaded table without a full symbol table (no .symtab, no local debug
 * file): ask a debuginfod server for its debug file, unless one is
 * asked already, or the last attempt failed too recently. */
static void maybe_fetch(struct symbolizer *s, uint32_t id)
{
	struct sym_object *o = obj_get(s, id);
	struct symloader_job *j;

	if (!o || !symloader_remote(s->loader) || o->state != OBJ_LOADED || o->fetching || !o->build_id_len ||
	    (elfsym_sources(o->table) & (ELFSYM_SRC_SYMTAB | ELFSYM_SRC_DEBUGFILE)) ||
	    s->fetch_pending >= FETCH_QUEUE_MAX || !o->paths[0].path)
		return;
	if (o->fetch_after_ns && clock_mono_ns() < o->fetch_after_ns)
		return;
	j = job_new_load(s, id);
	if (!j)
		return;
	j->remote = 1;
	o->fetching = 1;
	s->fetch_pending++;
	symloader_submit(s->loader, j);
	if (s->no_worker)
		symbolizer_install_done(s);
}

static void add_fetch_counts(struct symloader_fetch *sum, const struct symloader_fetch *f)
{
	sum->queries += f->queries;
	sum->downloaded += f->downloaded;
	sum->cached += f->cached;
	sum->failures += f->failures;
	sum->held_off += f->held_off;
	sum->evicted += f->evicted;
	sum->bytes += f->bytes;
	if (f->cache_bytes)
		sum->cache_bytes = f->cache_bytes;
}

/* A remote load is back: a table with the debug file's symbols replaces
 * the one without; a failure waits out its back-off. */
void symcache_install_remote(struct symbolizer *s, struct symloader_job *j)
{
	struct sym_object *o = obj_get(s, j->obj);

	s->fetch_pending--;
	add_fetch_counts(&s->fetched, &j->fetch);
	if (!o)
		return;
	o->fetching = 0;
	if (!j->table || !(elfsym_sources(j->table) & ELFSYM_SRC_DEBUGFILE)) {
		/* Held off (the server is down): not this object's fault. */
		if (!j->fetch.held_off)
			o->fetch_fails++;
		o->fetch_after_ns = clock_mono_ns() + (j->fetch.held_off ? FETCH_BACKOFF_MIN_NS
									: fetch_backoff_ns(o->fetch_fails));
		return;
	}
	o->fetch_fails = 0;
	if (o->state == OBJ_LOADED) {
		s->cache_bytes -= elfsym_bytes(o->table);
		elfsym_free(o->table);
	} else {
		/* evicted meanwhile, or a local reload under way (whose
		 * result symcache_install_load() ignores: this one is complete) */
		s->loaded++;
	}
	o->table = j->table;
	j->table = NULL;
	o->state = OBJ_LOADED;
	o->installed_poll = s->poll_gen;
	o->last_use = ++s->tick;
	s->cache_bytes += elfsym_bytes(o->table);
}

void symcache_install_load(struct symbolizer *s, struct symloader_job *j)
{
	struct sym_object *o = obj_get(s, j->obj);

	s->pending--;
	if (!o || o->state != OBJ_QUEUED)
		return;
	if (j->table) {
		o->table = j->table;
		j->table = NULL;
		if (j->size > o->size)
			o->size = j->size;
		o->state = OBJ_LOADED;
		o->installed_poll = s->poll_gen;
		o->last_use = ++s->tick;
		s->cache_bytes += elfsym_bytes(o->table);
		s->loaded++;
		maybe_fetch(s, j->obj);
	} else {
		s->load_failures++;
		/* A path learned meanwhile deserves a try. */
		o->state = o->paths_gen != j->paths_gen ? OBJ_IDLE : OBJ_FAILED;
	}
}

/* ---- JIT maps (perf-PID.map), on the load thread ---- */

/* Read (or re-read) o's map, at most once per JIT_REREAD_NS. */
static void jit_request(struct symbolizer *s, struct jitobj *o)
{
	struct symloader_job *j;
	uint64_t now = clock_mono_ns();

	if (!o->live || o->state == JIT_QUEUED || o->rereading || s->jit_pending >= JIT_QUEUE_MAX ||
	    (o->read_ns && now - o->read_ns < JIT_REREAD_NS))
		return;
	j = symloader_job_new(SYMLOADER_PERFMAP);
	if (!j)
		return;
	j->obj = o->id;
	j->pid = o->pid;
	/* With a map in memory, an unchanged file is not read again. */
	if (o->table) {
		j->has_key = 1;
		j->key = o->key;
		j->size = o->size;
		o->rereading = 1;
	} else {
		o->state = JIT_QUEUED;
	}
	o->read_ns = now;
	s->jit_pending++;
	symloader_submit(s->loader, j);
	if (s->no_worker)
		symbolizer_install_done(s);
}

void symcache_install_perfmap(struct symbolizer *s, struct symloader_job *j)
{
	struct jitobj *o = jittab_get(s->jit, j->obj);

	s->jit_pending--;
	s->jit_reads++;
	if (j->err < 0)
		s->jit_failures++;
	if (j->truncated)
		s->jit_truncated++;
	if (!o)
		return; /* recycled meanwhile */
	o->rereading = 0;
	if (o->state == JIT_QUEUED)
		o->state = JIT_IDLE;
	if (!j->perfmap)
		return; /* unchanged, or no map: named "[jit]" */
	o->key = j->key;
	o->size = j->size;
	jittab_set_table(s->jit, o, j->perfmap, s->poll_gen);
	j->perfmap = NULL;
	o->last_use = ++s->tick;
}

int symcache_lookup_jit(struct symbolizer *s, uint32_t id, uint64_t ip, struct sym_result *ret)
{
	struct jitobj *o = jittab_get(s->jit, id);
	const char *name;
	uint64_t off;

	if (!o)
		return -ENOENT;
	o->last_use = ++s->tick;
	if (o->state == JIT_IDLE)
		jit_request(s, o);
	if (o->state == JIT_QUEUED)
		return -EAGAIN;
	*ret = (struct sym_result){ .module = "[jit]" };
	if (o->table && perfmap_lookup(o->table, ip, &name, &off) == 0) {
		ret->name = ret->raw_name = name;
		ret->offset = off;
		return 0;
	}
	/* JITs append as they compile: code newer than the map read. */
	jit_request(s, o);
	if (o->table && perfmap_lookup(o->table, ip, &name, &off) == 0) { /* answered at once (no worker) */
		ret->name = ret->raw_name = name;
		ret->offset = off;
	}
	return 0;
}

/* ---- cache ---- */

static uint64_t cache_total(struct symbolizer *s)
{
	struct jittab_stats js;

	jittab_get_stats(s->jit, &js);
	return s->cache_bytes + js.bytes;
}

void symcache_evict(struct symbolizer *s)
{
	while (cache_total(s) > s->cache_max) {
		struct jitobj *jv = jittab_oldest_loaded(s->jit, s->poll_gen);
		struct sym_object *victim = NULL;

		for (size_t i = 0; i < objtab_count(s->objtab); i++) {
			struct sym_object *o = objtab_at(s->objtab, i);

			/* Tables installed by this poll have not been used yet:
			 * evicting them would only make loads thrash. */
			if (o->state != OBJ_LOADED || o->installed_poll == s->poll_gen)
				continue;
			if (!victim || o->last_use < victim->last_use)
				victim = o;
		}
		/* JIT maps share the bound: the least recently used goes. */
		if (jv && (!victim || jv->last_use < victim->last_use)) {
			jittab_drop_table(s->jit, jv);
			s->evictions++;
			continue;
		}
		if (!victim)
			break;
		s->cache_bytes -= elfsym_bytes(victim->table);
		victim->table = elfsym_free(victim->table);
		victim->state = OBJ_IDLE;
		s->loaded--;
		s->evictions++;
	}
}

int symcache_lookup_file(struct symbolizer *s, uint32_t obj, uint64_t addr, struct sym_result *ret)
{
	struct sym_object *o = obj_get(s, obj);
	const char *name, *raw;
	uint64_t off;

	if (!o)
		return -ENOENT;
	o->last_use = ++s->tick;
	if (o->state == OBJ_IDLE) {
		if (!o->paths[0].path)
			return -ENOENT;
		if (load_start(s, obj) < 0)
			return -EAGAIN;
	}
	if (o->state == OBJ_QUEUED)
		return -EAGAIN;
	if (o->state != OBJ_LOADED)
		return -ENOENT;
	/* a fetch refused while the queue was full, or one whose back-off
	 * is over (its cheap checks come before the clock) */
	maybe_fetch(s, obj);
	*ret = (struct sym_result){ .module = symbolizer_object_name(s, obj) };
	if (elfsym_lookup_offset_names(o->table, addr, &name, &raw, &off) == 0) {
		ret->name = name;
		ret->raw_name = raw;
		ret->offset = off;
	}
	return 0;
}
