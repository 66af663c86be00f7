/* SPDX-License-Identifier: GPL-2.0-only */
/* Symbolizer: per-pid code mappings, frames to objects, the entry points;
 * tables and the cache in symcache.c, objects in objtab.c, file work in
 * symloader.c. */
#include "symbols/symbolizer.h"
#include "symbols/symbolizer_int.h"

#include "symbols/dbginfod.h"
#include "symbols/elfsym.h"
#include "common/clock.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

/* Can file offset off lie in object oid's file? */
static int offset_ok(struct symbolizer *s, uint32_t oid, uint64_t off)
{
	struct sym_object *o = obj_get(s, oid);

	if (off < (o && o->size ? o->size : SYM_MAX_FILE_OFFSET))
		return 1;
	s->bad_offsets++;
	return 0;
}

/* ---- per-pid code mappings ---- */

static void pid_drop_maps(struct pid_entry *p)
{
	free(p->maps);
	p->maps = NULL;
	p->nmaps = 0;
	p->have_maps = 0;
}

static void pid_unlink(struct symbolizer *s, struct pid_entry *p)
{
	uint32_t *link = &s->pid_buckets[hash64(p->pid) & (PID_BUCKETS - 1)];
	uint32_t idx = (uint32_t)(p - s->pids);

	while (*link != NIL && *link != idx)
		link = &s->pids[*link].next;
	if (*link == idx)
		*link = p->next;
	pid_drop_maps(p);
	/* Its JIT map is that life's: never read for another. */
	jittab_retire(s->jit, p->jit);
	p->jit = 0;
	p->used = 0;
}

static struct pid_entry *pid_find(struct symbolizer *s, uint32_t pid)
{
	for (uint32_t i = s->pid_buckets[hash64(pid) & (PID_BUCKETS - 1)]; i != NIL; i = s->pids[i].next)
		if (s->pids[i].pid == pid)
			return &s->pids[i];
	return NULL;
}

/* Cached entry for pid, created empty (no I/O) when new. */
static struct pid_entry *pid_get(struct symbolizer *s, uint32_t pid)
{
	struct pid_entry *p = pid_find(s, pid), *victim = NULL;
	size_t b;

	if (p) {
		p->last_use = ++s->tick;
		return p;
	}
	for (size_t i = 0; i < PID_CACHE_MAX; i++) {
		if (!s->pids[i].used) {
			victim = &s->pids[i];
			break;
		}
		if (!victim || s->pids[i].last_use < victim->last_use)
			victim = &s->pids[i];
	}
	if (victim->used)
		pid_unlink(s, victim);
	p = victim;
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->used = 1;
	p->last_use = ++s->tick;
	b = hash64(pid) & (PID_BUCKETS - 1);
	p->next = s->pid_buckets[b];
	s->pid_buckets[b] = (uint32_t)(p - s->pids);
	return p;
}

static const struct pmap *pmap_find(const struct pmap *m, size_t n, uint64_t ip)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m[mid].start <= ip)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && ip < m[lo - 1].end ? &m[lo - 1] : NULL;
}

/* Submit a maps read (MAPS) or exec identification (EXEC) for pid. 0 and
 * *ret_slot, *ret_id, or -EBUSY / -ENOMEM. Without a worker the job has
 * run when this returns, but its result waits for symbolizer_install_done(). */
static int request_submit(struct symbolizer *s, enum symloader_kind kind, uint32_t pid, const char *path,
			  uint32_t *ret_slot, uint32_t *ret_id)
{
	struct symloader_job *j;
	size_t slot;

	if (s->nreqs >= REQ_MAX)
		return -EBUSY;
	for (slot = 0; s->reqs[slot].id; slot++)
		;
	j = symloader_job_new(kind);
	if (!j || (path && !(j->path = strdup(path)))) {
		symloader_job_free(j);
		return -ENOMEM;
	}
	if (++s->next_req == 0)
		s->next_req = 1;
	s->reqs[slot] = (struct request){ .id = s->next_req };
	s->nreqs++;
	j->req = s->next_req;
	j->obj = (uint32_t)slot;
	j->pid = pid;
	if (kind == SYMLOADER_MAPS)
		s->maps_reads++;
	*ret_slot = (uint32_t)slot;
	*ret_id = s->next_req;
	symloader_submit(s->loader, j);
	return 0;
}

/* Ask the worker for pid's code mappings, unless a read is in flight or
 * the process is known to be gone. */
static void pid_request_maps(struct symbolizer *s, struct pid_entry *p)
{
	if (p->req || (p->gone && clock_mono_ns() - p->read_ns < GONE_RETRY_NS))
		return;
	p->gone = 0;
	p->read_ns = clock_mono_ns();
	if (request_submit(s, SYMLOADER_MAPS, p->pid, NULL, &p->req_slot, &p->req) < 0)
		return;
	if (s->no_worker)
		symbolizer_install_done(s);
}

struct bind_ctx {
	struct symbolizer *s;
	const struct pmap *maps;
	size_t n;
};

static int bind_ip(void *arg, uint64_t ip, uint32_t *ret_obj, uint64_t *ret_off)
{
	struct bind_ctx *c = arg;
	const struct pmap *m = pmap_find(c->maps, c->n, ip);
	uint64_t off;

	if (!m || m->obj == SYM_OBJ_UNKNOWN)
		return -ENOENT;
	if (jittab_is_id(m->obj)) {
		*ret_obj = m->obj;
		*ret_off = ip;
		return 0;
	}
	off = ip - m->start + m->pgoff;
	if (!offset_ok(c->s, m->obj, off))
		return -ERANGE;
	symcache_warm(c->s, m->obj);
	*ret_obj = m->obj;
	*ret_off = off;
	return 0;
}

static void install_maps(struct symbolizer *s, struct symloader_job *j, struct request *rq)
{
	struct pid_entry *p = pid_find(s, j->pid);
	uint32_t *objs = NULL;
	struct pmap *maps = NULL;

	if (j->err == 0) {
		objs = malloc((j->nidents ? j->nidents : 1) * sizeof(*objs));
		maps = malloc((j->nmaps ? j->nmaps : 1) * sizeof(*maps));
	}
	if (!objs || !maps) {
		/* The process is gone (or no memory): its pending frames never bind. */
		if (rq->pobj)
			procobj_drop(s->procobj, rq->pobj);
		if (p && p->req == j->req) {
			p->req = 0;
			p->gone = j->err != 0;
		}
		free(objs);
		free(maps);
		return;
	}
	for (size_t i = 0; i < j->nidents; i++)
		objs[i] = objtab_for_ident(s->objtab, &j->idents[i]);
	for (size_t i = 0; i < j->nmaps; i++) {
		uint32_t obj = j->maps[i].ident == SYMLOADER_NO_IDENT ? SYM_OBJ_UNKNOWN : objs[j->maps[i].ident];

		/* JIT code: the pid's object until it exits (a forgotten pid
		 * has exited). Not per image: an exec event may be handled
		 * after this read saw the new image, and the map file of
		 * either image is perf-PID.map, re-read when it changes. */
		if (j->maps[i].kind == SYMLOADER_MAP_JIT) {
			if (p && !p->jit)
				p->jit = jittab_create(s->jit, j->pid, ++s->tick);
			obj = p ? p->jit : SYM_OBJ_UNKNOWN;
		}
		maps[i] = (struct pmap){
			.start = j->maps[i].start, .end = j->maps[i].end, .pgoff = j->maps[i].pgoff, .obj = obj,
		};
	}
	free(objs);
	if (rq->pobj) {
		struct bind_ctx c = { .s = s, .maps = maps, .n = j->nmaps };

		procobj_bind(s->procobj, rq->pobj, bind_ip, &c);
	}
	if (p && p->req == j->req) {
		pid_drop_maps(p);
		p->maps = maps;
		p->nmaps = j->nmaps;
		p->have_maps = 1;
		p->req = 0;
	} else {
		free(maps);
	}
}

static void install_exec(struct symbolizer *s, struct symloader_job *j)
{
	if (j->err == 0 && j->nidents == 1)
		(void)objtab_for_ident(s->objtab, &j->idents[0]);
}

/* Install every finished job. Main thread only. */
void symbolizer_install_done(struct symbolizer *s)
{
	struct symloader_job *done = symloader_take_done(s->loader);

	while (done) {
		struct symloader_job *next = done->next;

		if (done->kind == SYMLOADER_LOAD && done->remote) {
			symcache_install_remote(s, done);
		} else if (done->kind == SYMLOADER_LOAD) {
			symcache_install_load(s, done);
		} else if (done->kind == SYMLOADER_PERFMAP) {
			symcache_install_perfmap(s, done);
		} else {
			struct request *rq = &s->reqs[done->obj];

			s->identify_failures += done->ident_failures;
			if (done->kind == SYMLOADER_MAPS)
				install_maps(s, done, rq);
			else
				install_exec(s, done);
			*rq = (struct request){ 0 };
			s->nreqs--;
		}
		symloader_job_free(done);
		done = next;
	}
}

uint32_t symbolizer_object_for_ip(struct symbolizer *s, uint32_t pid, uint64_t ip, uint64_t *ret_offset)
{
	struct pid_entry *p = pid_get(s, pid);
	const struct pmap *m = NULL;
	struct request *rq;

	if (p->have_maps)
		m = pmap_find(p->maps, p->nmaps, ip);
	/* A miss means new mappings (or a bogus IP): read them again, at
	 * most every MAPS_REREAD_NS. */
	if (!m && !p->req && (!p->have_maps || clock_mono_ns() - p->read_ns >= MAPS_REREAD_NS)) {
		pid_request_maps(s, p);
		if (p->have_maps)
			m = pmap_find(p->maps, p->nmaps, ip); /* answered at once (no worker) */
	}
	if (m && jittab_is_id(m->obj)) {
		*ret_offset = ip; /* JIT frames keep their IP */
		return m->obj;
	}
	if (m) {
		uint64_t off = ip - m->start + m->pgoff;

		if (m->obj == SYM_OBJ_UNKNOWN || !offset_ok(s, m->obj, off))
			return SYM_OBJ_UNKNOWN;
		*ret_offset = off;
		return m->obj;
	}
	if (!p->req)
		return SYM_OBJ_UNKNOWN;
	/* A read is under way: hand out a process object it will bind. */
	rq = &s->reqs[p->req_slot];
	if (!rq->pobj && procobj_create(s->procobj, ++s->tick, &rq->pobj) < 0)
		return SYM_OBJ_UNKNOWN;
	if (procobj_add(s->procobj, rq->pobj, ip, ++s->tick) < 0)
		return SYM_OBJ_UNKNOWN;
	*ret_offset = ip;
	return rq->pobj;
}

void symbolizer_note_process(struct symbolizer *s, uint32_t pid)
{
	struct pid_entry *p = pid_get(s, pid);

	if (!p->have_maps || clock_mono_ns() - p->read_ns >= MAPS_REREAD_NS)
		pid_request_maps(s, p);
}

void symbolizer_note_exec(struct symbolizer *s, uint32_t pid, const char *path)
{
	struct pid_entry *p = pid_find(s, pid);
	uint32_t slot, id;

	/* A new image: the old mappings mean nothing now, and a read in
	 * flight may have seen either image. */
	if (p) {
		pid_drop_maps(p);
		p->req = 0;
		p->gone = 0;
	}
	if (!path || path[0] != '/')
		return;
	if (request_submit(s, SYMLOADER_EXEC, pid, path, &slot, &id) == 0 && s->no_worker)
		symbolizer_install_done(s);
}

void symbolizer_forget_pid(struct symbolizer *s, uint32_t pid)
{
	struct pid_entry *p = pid_find(s, pid);

	/* A read in flight still binds its process object when it returns. */
	if (p)
		pid_unlink(s, p);
}

uint32_t symbolizer_object_by_build_id(struct symbolizer *s, const uint8_t *build_id, size_t len)
{
	if (!build_id || len == 0 || len > ELFSYM_BUILD_ID_MAX)
		return SYM_OBJ_UNKNOWN;
	return objtab_by_build_id(s->objtab, build_id, len);
}

uint32_t symbolizer_build_id_frame(struct symbolizer *s, const uint8_t *build_id, size_t len, uint64_t off)
{
	uint32_t oid;

	if (off >= SYM_MAX_FILE_OFFSET) {
		s->bad_offsets++;
		return SYM_OBJ_UNKNOWN;
	}
	oid = symbolizer_object_by_build_id(s, build_id, len);
	if (oid != SYM_OBJ_UNKNOWN && !offset_ok(s, oid, off))
		return SYM_OBJ_UNKNOWN;
	return oid;
}

int symbolizer_object_is_process(uint32_t obj)
{
	return procobj_is_id(obj);
}

int symbolizer_object_is_jit(uint32_t obj)
{
	return jittab_is_id(obj);
}

int symbolizer_frame_resolve(struct symbolizer *s, uint32_t obj, uint64_t addr, uint32_t *ret_obj,
			     uint64_t *ret_addr)
{
	if (!procobj_is_id(obj)) {
		*ret_obj = obj;
		*ret_addr = addr;
		return 0;
	}
	return procobj_resolve(s->procobj, obj, addr, ++s->tick, ret_obj, ret_addr);
}

void symbolizer_poll(struct symbolizer *s)
{
	s->poll_gen++;
	pycode_poll(s->py);
	symbolizer_install_done(s);
	symcache_evict(s);
}

int symbolizer_lookup(struct symbolizer *s, uint32_t obj, uint64_t addr, struct sym_result *ret)
{
	const char *name, *module;
	uint64_t off;
	int r;

	if (obj == SYM_OBJ_KERNEL) {
		/* Read when first needed, not at start: parsing kallsyms
		 * (the kernel formats ~200,000 lines) cost 50-100 ms of CPU
		 * in profd's first second, for names that only a query, an
		 * alert's evidence or a profile push ever renders. */
		if (!s->ksyms_tried)
			(void)symbolizer_reload_kernel(s);
		if (!ksyms_count(s->ksyms))
			return -ENOENT;
		if (ksyms_lookup(s->ksyms, addr, &name, &module, &off) < 0)
			*ret = (struct sym_result){ .module = "vmlinux" };
		else
			*ret = (struct sym_result){ .name = name, .raw_name = name, .module = module, .offset = off };
		return 0;
	}
	if (obj == SYM_OBJ_PYTHON) {
		name = pycode_lookup(s->py, addr);
		if (!name)
			return -ENOENT;
		*ret = (struct sym_result){ .name = name, .raw_name = name, .module = "[python]" };
		return 0;
	}
	if (jittab_is_id(obj))
		return symcache_lookup_jit(s, obj, addr, ret);
	if (!procobj_is_id(obj))
		return symcache_lookup_file(s, obj, addr, ret);
	r = procobj_resolve(s->procobj, obj, addr, ++s->tick, &obj, &addr);
	if (r < 0)
		return r;
	if (jittab_is_id(obj))
		return symcache_lookup_jit(s, obj, addr, ret);
	r = symcache_lookup_file(s, obj, addr, ret);
	/* Without a name the caller prints module+addr, and addr is a raw
	 * IP here: leave the module out (the caller shows "[unknown]"). */
	if (r == 0 && !ret->name)
		ret->module = NULL;
	return r;
}

int symbolizer_object_build_id(struct symbolizer *s, uint32_t obj, const uint8_t **ret, size_t *ret_len)
{
	struct sym_object *o = obj == SYM_OBJ_KERNEL ? NULL : obj_get(s, obj);

	if (!o || !o->build_id_len)
		return -ENOENT;
	*ret = o->build_id;
	*ret_len = o->build_id_len;
	return 0;
}

const char *symbolizer_object_name(struct symbolizer *s, uint32_t obj)
{
	struct sym_object *o;

	if (obj == SYM_OBJ_KERNEL)
		return "vmlinux";
	if (jittab_is_id(obj))
		return "[jit]";
	if (obj == SYM_OBJ_PYTHON)
		return "[python]";
	o = obj_get(s, obj);
	return o && o->name ? o->name : "[unknown]";
}

int symbolizer_reload_kernel(struct symbolizer *s)
{
	struct ksyms *k;
	int r;

	s->ksyms_tried = 1;
	r = ksyms_load(s->kallsyms, &k);
	if (r < 0)
		return r;
	ksyms_free(s->ksyms);
	s->ksyms = k;
	return ksyms_restricted(k) ? -EPERM : 0;
}

int symbolizer_fd(struct symbolizer *s)
{
	return s->no_worker ? -1 : symloader_fd(s->loader);
}

void symbolizer_get_stats(struct symbolizer *s, struct symbolizer_stats *ret)
{
	struct procobj_stats ps;
	struct jittab_stats js;

	procobj_get_stats(s->procobj, &ps);
	jittab_get_stats(s->jit, &js);
	*ret = (struct symbolizer_stats){
		.objects = objtab_count(s->objtab),
		.objects_loaded = s->loaded,
		.cache_bytes = s->cache_bytes + js.bytes,
		.evictions = s->evictions,
		.load_failures = s->load_failures,
		.pending = s->pending,
		.objects_full = objtab_full(s->objtab),
		.kernel_symbols = ksyms_count(s->ksyms),
		.maps_reads = s->maps_reads,
		.identify_failures = s->identify_failures,
		.bad_offsets = s->bad_offsets,
		.proc_objects = ps.objects,
		.proc_pending = ps.pending,
		.proc_frames = ps.frames,
		.proc_recycled = ps.recycled,
		.proc_refused = ps.refused,
		.identify_pending = s->nreqs,
		.jit_objects = js.objects,
		.jit_maps_loaded = js.loaded,
		.jit_map_reads = s->jit_reads,
		.jit_map_failures = s->jit_failures,
		.jit_truncated = s->jit_truncated,
		.jit_recycled = js.recycled,
		.dbginfod_queries = s->fetched.queries,
		.dbginfod_downloads = s->fetched.downloaded,
		.dbginfod_cache_hits = s->fetched.cached,
		.dbginfod_failures = s->fetched.failures,
		.dbginfod_held_off = s->fetched.held_off,
		.dbginfod_bytes = s->fetched.bytes,
		.dbginfod_cache_bytes = s->fetched.cache_bytes,
		.dbginfod_evicted = s->fetched.evicted,
		.dbginfod_pending = s->fetch_pending,
	};
	pycode_get_stats(s->py, &ret->python);
}

const char *symbolizer_debuginfod_urls(struct symbolizer *s)
{
	return symloader_remote_urls(s->loader);
}

int symbolizer_new(const struct symbolizer_opts *opts, struct symbolizer **ret)
{
	struct symbolizer *s = calloc(1, sizeof(*s));
	struct dbginfod *dbg = NULL;
	struct symloader_opts lo;
	int r;

	if (!s)
		return -ENOMEM;
	s->no_worker = opts && opts->no_worker;
	s->procfs = strdup(opts && opts->procfs ? opts->procfs : "/proc");
	s->kallsyms = strdup(opts && opts->kallsyms ? opts->kallsyms : "/proc/kallsyms");
	s->debug_dirs = strdup(opts && opts->debug_dirs ? opts->debug_dirs : "/usr/lib/debug");
	s->cache_max = opts && opts->cache_bytes ? opts->cache_bytes : DEFAULT_CACHE_BYTES;
	if (!s->procfs || !s->kallsyms || !s->debug_dirs) {
		r = -ENOMEM;
		goto fail;
	}
	memset(s->pid_buckets, 0xff, sizeof(s->pid_buckets));
	r = objtab_new(opts && opts->max_objects ? opts->max_objects : DEFAULT_MAX_OBJECTS, &s->objtab);
	if (r < 0)
		goto fail;
	r = procobj_new(PROC_OBJECTS_MAX, PROC_FRAMES_MAX, &s->procobj);
	if (r < 0)
		goto fail;
	r = pycode_new(&(struct pycode_opts){ .no_worker = opts && opts->no_worker }, &s->py);
	if (r < 0)
		goto fail;
	r = jittab_new(JIT_OBJECTS_MAX, &s->jit);
	if (r < 0)
		goto fail;
	if (opts && opts->debuginfod_cache) {
		struct dbginfod_opts dopts = {
			.urls = opts->debuginfod_urls,
			.cache_dir = opts->debuginfod_cache,
			.cache_max = opts->debuginfod_cache_bytes ? opts->debuginfod_cache_bytes : DEFAULT_DBGINFOD_CACHE,
			.timeout_s = opts->debuginfod_timeout_s ? opts->debuginfod_timeout_s : DEFAULT_DBGINFOD_TIMEOUT_S,
		};

		/* No single debug file may take more than the whole cache. */
		dopts.max_file = dopts.cache_max;
		r = dbginfod_new(&dopts, &dbg);
		if (r < 0)
			goto fail;
	}
	lo = (struct symloader_opts){
		.procfs = s->procfs, .debug_dirs = s->debug_dirs, .threads = !s->no_worker,
		.load_flags = opts && opts->no_demangle ? 0 : ELFSYM_LOAD_DEMANGLE,
		.dbginfod = dbg,
	};
	r = symloader_new(&lo, &s->loader); /* owns dbg from here, also on failure */
	if (r < 0)
		goto fail;
	*ret = s;
	return 0;
fail:
	symbolizer_free(s);
	return r;
}

struct symbolizer *symbolizer_free(struct symbolizer *s)
{
	if (!s)
		return NULL;
	/* Stop the workers first: they own their jobs' copies of everything. */
	s->loader = symloader_free(s->loader);
	for (size_t i = 0; i < PID_CACHE_MAX; i++)
		pid_drop_maps(&s->pids[i]);
	s->objtab = objtab_free(s->objtab);
	procobj_free(s->procobj);
	jittab_free(s->jit);
	pycode_free(s->py);
	ksyms_free(s->ksyms);
	free(s->procfs);
	free(s->kallsyms);
	free(s->debug_dirs);
	free(s);
	return NULL;
}

_Static_assert(SYM_BUILD_ID_MAX == ELFSYM_BUILD_ID_MAX, "one build-id bound");

int symbolizer_object_describe(struct symbolizer *s, uint32_t obj, struct sym_object_desc *ret)
{
	struct sym_object *o = obj_get(s, obj);
	size_t plen = strlen(s->procfs);

	if (!o || !ret)
		return -ENOENT;
	memset(ret, 0, sizeof(*ret));
	memcpy(ret->build_id, o->build_id, o->build_id_len);
	ret->build_id_len = o->build_id_len;
	ret->has_key = o->has_key;
	ret->dev = o->key.dev;
	ret->ino = o->key.ino;
	ret->mtime_ns = o->key.mtime_ns;
	/* a host path outlives the process; /proc/PID/... places do not */
	for (size_t i = 0; i < OBJTAB_PATHS; i++) {
		const struct symloader_cand *c = &o->paths[i];

		if (c->path && !c->root && !c->magic && c->path[0] == '/' &&
		    !(strncmp(c->path, s->procfs, plen) == 0 && c->path[plen] == '/')) {
			ret->path = c->path;
			break;
		}
	}
	return 0;
}

uint32_t symbolizer_object_restore(struct symbolizer *s, const struct sym_object_desc *d)
{
	uint32_t oid;

	if (!s || !d)
		return SYM_OBJ_UNKNOWN;
	if (d->build_id_len > 0 && d->build_id_len <= ELFSYM_BUILD_ID_MAX) {
		oid = objtab_by_build_id(s->objtab, d->build_id, d->build_id_len);
	} else if (d->has_key) {
		struct symloader_key k = { .dev = d->dev, .ino = d->ino, .mtime_ns = d->mtime_ns };

		oid = objtab_by_key(s->objtab, &k);
	} else {
		return SYM_OBJ_UNKNOWN;
	}
	if (oid != SYM_OBJ_UNKNOWN && d->path && d->path[0] == '/')
		objtab_add_path(s->objtab, oid, &(struct symloader_cand){ .path = (char *)d->path }, d->path);
	return oid;
}

uint64_t symbolizer_python_frame(struct symbolizer *s, uint32_t tgid, uint64_t start_time, uint64_t code, uint32_t sig)
{
	return pycode_frame(s->py, tgid, start_time, code, sig);
}

void symbolizer_python_poll(struct symbolizer *s)
{
	pycode_poll(s->py);
}

void symbolizer_python_stats(struct symbolizer *s, struct pycode_stats *ret)
{
	pycode_get_stats(s->py, ret);
}
