/* SPDX-License-Identifier: GPL-2.0-only */
/* Symbolizer: object table, per-pid maps cache, bounded table cache; loads run in symloader.c. */
#include "symbols/symbolizer.h"

#include "symbols/elfsym.h"
#include "symbols/ksyms.h"
#include "symbols/procmaps.h"
#include "symbols/symloader.h"
#include "base/util.h"
#include "common/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_CACHE_BYTES (256u << 20)
#define DEFAULT_MAX_OBJECTS 65536u
#define MAX_OBJECTS_LIMIT (1u << 22)
#define PATHS_PER_OBJECT SYMLOADER_PATHS /* candidate paths kept, newest first */
#define PID_CACHE_MAX 1024        /* processes whose maps are cached */
#define PID_BUCKETS 2048
#define FILE_CACHE_SLOTS 16384    /* (dev, ino, mtime) -> object; cleared when 3/4 full */
#define QUEUE_MAX 256             /* loads queued or running */
#define MAPS_REREAD_NS 50000000ull /* a pid's maps are re-read at most every 50 ms */
#define OBJ_UNRESOLVED 0xfffffffeu
#define NIL UINT32_MAX

enum obj_state { OBJ_IDLE, OBJ_QUEUED, OBJ_LOADED, OBJ_FAILED };

struct object {
	uint8_t build_id[ELFSYM_BUILD_ID_MAX];
	uint8_t build_id_len;
	uint8_t has_key;
	uint8_t state;              /* enum obj_state */
	struct symloader_key key;        /* identity when there is no build-id */
	char *name;                 /* display basename; NULL until a path is known */
	char *logical_dir;          /* dirname as the process saw it (debuglink) */
	char *paths[PATHS_PER_OBJECT];
	uint32_t paths_gen;         /* bumped when a path is learned */
	uint32_t next_bid;          /* hash chains (object index or NIL) */
	uint32_t next_key;
	struct elfsym *table;
	uint64_t last_use;
	uint64_t installed_poll;
};

struct pid_entry {
	uint32_t pid;
	uint32_t used;
	uint32_t next;              /* bucket chain (slot index or NIL) */
	int root_same;              /* /proc/PID/root is our root: plain paths work */
	struct procmaps *maps;
	uint32_t *objs;             /* per maps entry: object id, OBJ_UNRESOLVED, SYM_OBJ_UNKNOWN */
	uint64_t read_ns;
	uint64_t last_use;
};

struct file_slot {
	struct symloader_key key;
	uint32_t obj;               /* 0: empty (id 0 is the kernel, never a file) */
};

struct symbolizer {
	char *procfs;
	char *kallsyms;
	char *debug_dirs;
	size_t cache_max;
	size_t max_objects;
	int no_worker;

	struct ksyms *ksyms;

	struct object *objs;
	size_t nobjs;
	size_t objs_cap;
	uint32_t *bid_buckets;
	uint32_t *key_buckets;
	size_t nbuckets;

	struct pid_entry pids[PID_CACHE_MAX];
	uint32_t pid_buckets[PID_BUCKETS];

	struct file_slot *files;
	size_t nfiles;

	uint64_t tick;
	uint64_t poll_gen;
	size_t cache_bytes;
	uint64_t evictions, load_failures, objects_full, maps_reads, loaded, pending;

	struct symloader *loader;   /* NULL with no_worker: loads run inline */
};

static uint64_t hash64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

static uint64_t hash_bid(const uint8_t *id, size_t len)
{
	uint64_t h = len;

	for (size_t i = 0; i < len; i++)
		h = (h ^ id[i]) * 0x100000001b3ull;
	return hash64(h);
}

static uint64_t hash_key(const struct symloader_key *k)
{
	return hash64(k->dev ^ hash64(k->ino ^ hash64(k->mtime_ns)));
}

/* ---- object table ---- */

static struct object *obj_get(struct symbolizer *s, uint32_t id)
{
	if (id == SYM_OBJ_KERNEL || id == SYM_OBJ_UNKNOWN || (size_t)id - 1 >= s->nobjs)
		return NULL;
	return &s->objs[id - 1];
}

static uint32_t obj_new(struct symbolizer *s)
{
	struct object *o;

	if (s->nobjs >= s->max_objects) {
		s->objects_full++;
		return SYM_OBJ_UNKNOWN;
	}
	if (s->nobjs == s->objs_cap) {
		size_t cap = s->objs_cap ? s->objs_cap * 2 : 64;
		struct object *n;

		if (cap > s->max_objects)
			cap = s->max_objects;
		n = realloc(s->objs, cap * sizeof(*n));
		if (!n)
			return SYM_OBJ_UNKNOWN;
		s->objs = n;
		s->objs_cap = cap;
	}
	o = &s->objs[s->nobjs];
	memset(o, 0, sizeof(*o));
	o->next_bid = o->next_key = NIL;
	return (uint32_t)++s->nobjs;
}

static uint32_t obj_by_build_id(struct symbolizer *s, const uint8_t *id, size_t len)
{
	size_t b = hash_bid(id, len) & (s->nbuckets - 1);
	uint32_t i, oid;

	for (i = s->bid_buckets[b]; i != NIL; i = s->objs[i].next_bid)
		if (s->objs[i].build_id_len == len && memcmp(s->objs[i].build_id, id, len) == 0)
			return i + 1;
	oid = obj_new(s);
	if (oid == SYM_OBJ_UNKNOWN)
		return oid;
	memcpy(s->objs[oid - 1].build_id, id, len);
	s->objs[oid - 1].build_id_len = (uint8_t)len;
	s->objs[oid - 1].next_bid = s->bid_buckets[b];
	s->bid_buckets[b] = oid - 1;
	return oid;
}

static uint32_t obj_by_key(struct symbolizer *s, const struct symloader_key *k)
{
	size_t b = hash_key(k) & (s->nbuckets - 1);
	uint32_t i, oid;

	for (i = s->key_buckets[b]; i != NIL; i = s->objs[i].next_key)
		if (s->objs[i].has_key && symloader_key_eq(&s->objs[i].key, k))
			return i + 1;
	oid = obj_new(s);
	if (oid == SYM_OBJ_UNKNOWN)
		return oid;
	s->objs[oid - 1].key = *k;
	s->objs[oid - 1].has_key = 1;
	s->objs[oid - 1].next_key = s->key_buckets[b];
	s->key_buckets[b] = oid - 1;
	return oid;
}

/* Remember an openable path (newest first) and the directory the process
 * saw it in. A new path lets a failed object be retried. */
static void obj_add_path(struct symbolizer *s, uint32_t id, const char *path, const char *logical)
{
	struct object *o = obj_get(s, id);
	char *p;

	if (!o || !path)
		return;
	for (size_t i = 0; i < PATHS_PER_OBJECT; i++)
		if (o->paths[i] && strcmp(o->paths[i], path) == 0)
			return;
	p = strdup(path);
	if (!p)
		return;
	free(o->paths[PATHS_PER_OBJECT - 1]);
	memmove(&o->paths[1], &o->paths[0], (PATHS_PER_OBJECT - 1) * sizeof(o->paths[0]));
	o->paths[0] = p;
	o->paths_gen++;
	if (logical && logical[0] == '/') {
		const char *slash = strrchr(logical, '/');
		char *dir = strndup(logical, slash == logical ? 1 : (size_t)(slash - logical));
		char *base = strdup(slash + 1);

		if (dir) {
			free(o->logical_dir);
			o->logical_dir = dir;
		}
		if (base && base[0] && !o->name)
			o->name = base;
		else
			free(base);
	}
	if (o->state == OBJ_FAILED)
		o->state = OBJ_IDLE;
}

/* ---- file cache: (dev, ino, mtime) -> object, so a file is parsed once ---- */

static uint32_t file_find(struct symbolizer *s, const struct symloader_key *k)
{
	size_t i = hash_key(k) & (FILE_CACHE_SLOTS - 1);

	for (; s->files[i].obj; i = (i + 1) & (FILE_CACHE_SLOTS - 1))
		if (symloader_key_eq(&s->files[i].key, k))
			return s->files[i].obj;
	return 0;
}

static void file_put(struct symbolizer *s, const struct symloader_key *k, uint32_t obj)
{
	size_t i;

	if (s->nfiles >= FILE_CACHE_SLOTS / 4 * 3) {
		/* Only a cache: starting over costs build-id reads, nothing else. */
		memset(s->files, 0, FILE_CACHE_SLOTS * sizeof(*s->files));
		s->nfiles = 0;
	}
	i = hash_key(k) & (FILE_CACHE_SLOTS - 1);
	while (s->files[i].obj)
		i = (i + 1) & (FILE_CACHE_SLOTS - 1);
	s->files[i].key = *k;
	s->files[i].obj = obj;
	s->nfiles++;
}

/* Object for an open file: by build-id, else by (dev, ino, mtime). */
static uint32_t obj_for_fd(struct symbolizer *s, int fd, const struct stat *st)
{
	struct symloader_key k = symloader_key_of(st);
	uint8_t id[ELFSYM_BUILD_ID_MAX];
	uint32_t oid = file_find(s, &k);
	int n;

	if (oid)
		return oid;
	n = elfsym_read_build_id_fd(fd, id);
	oid = n > 0 ? obj_by_build_id(s, id, (size_t)n) : obj_by_key(s, &k);
	if (oid != SYM_OBJ_UNKNOWN)
		file_put(s, &k, oid);
	return oid;
}

/* ---- per-pid maps cache ---- */

static int root_is_ours(struct symbolizer *s, uint32_t pid)
{
	char path[256];
	struct stat a, b;

	snprintf(path, sizeof(path), "%s/%" PRIu32 "/root", s->procfs, pid);
	return stat(path, &a) == 0 && stat("/", &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static void pid_drop_maps(struct pid_entry *p)
{
	p->maps = procmaps_free(p->maps);
	free(p->objs);
	p->objs = NULL;
}

static int pid_read_maps(struct symbolizer *s, struct pid_entry *p)
{
	char path[256];
	struct procmaps *m;
	uint32_t *objs;
	size_t n;
	int r;

	snprintf(path, sizeof(path), "%s/%" PRIu32 "/maps", s->procfs, p->pid);
	p->read_ns = clock_mono_ns();
	s->maps_reads++;
	r = procmaps_read(path, &m);
	if (r < 0)
		return r;
	n = procmaps_count(m);
	objs = malloc((n ? n : 1) * sizeof(*objs));
	if (!objs) {
		procmaps_free(m);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		objs[i] = OBJ_UNRESOLVED;
	pid_drop_maps(p);
	p->maps = m;
	p->objs = objs;
	return 0;
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
	p->used = 0;
}

static struct pid_entry *pid_find(struct symbolizer *s, uint32_t pid)
{
	for (uint32_t i = s->pid_buckets[hash64(pid) & (PID_BUCKETS - 1)]; i != NIL; i = s->pids[i].next)
		if (s->pids[i].pid == pid)
			return &s->pids[i];
	return NULL;
}

/* Cached entry for pid with maps read, or NULL (process gone, no memory). */
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
	if (pid_read_maps(s, p) < 0)
		return NULL;
	p->used = 1;
	p->last_use = ++s->tick;
	p->root_same = root_is_ours(s, pid);
	b = hash64(pid) & (PID_BUCKETS - 1);
	p->next = s->pid_buckets[b];
	s->pid_buckets[b] = (uint32_t)(p - s->pids);
	return p;
}

/* Identify the file behind maps entry idx of p and remember its paths. */
static uint32_t resolve_mapping(struct symbolizer *s, struct pid_entry *p, size_t idx)
{
	const struct procmaps_entry *e = procmaps_get(p->maps, idx);
	char mf[256], rootp[4352];
	struct stat st;
	uint32_t oid;
	int fd, n, have_root;

	snprintf(mf, sizeof(mf), "%s/%" PRIu32 "/map_files/%" PRIx64 "-%" PRIx64,
		 s->procfs, p->pid, e->start, e->end);
	n = snprintf(rootp, sizeof(rootp), "%s/%" PRIu32 "/root%s", s->procfs, p->pid, e->path);
	have_root = !e->deleted && n > 0 && (size_t)n < sizeof(rootp);
	/* map_files works for deleted files and across mount namespaces. */
	fd = util_open_regular(mf, &st);
	if (fd < 0 && have_root)
		fd = util_open_regular(rootp, &st);
	if (fd < 0)
		return SYM_OBJ_UNKNOWN;
	oid = obj_for_fd(s, fd, &st);
	close(fd);
	if (oid == SYM_OBJ_UNKNOWN)
		return oid;
	/* Added least preferred first: the plain path outlives the process. */
	obj_add_path(s, oid, mf, e->path);
	if (have_root)
		obj_add_path(s, oid, rootp, e->path);
	if (have_root && p->root_same)
		obj_add_path(s, oid, e->path, e->path);
	/* Other mappings of the same file share the answer. */
	for (size_t i = idx + 1; i < procmaps_count(p->maps); i++) {
		const struct procmaps_entry *o = procmaps_get(p->maps, i);

		if (o->inode == e->inode && o->dev_major == e->dev_major &&
		    o->dev_minor == e->dev_minor && p->objs[i] == OBJ_UNRESOLVED)
			p->objs[i] = oid;
	}
	return oid;
}

uint32_t symbolizer_object_for_ip(struct symbolizer *s, uint32_t pid, uint64_t ip, uint64_t *ret_offset)
{
	const struct procmaps_entry *e;
	struct pid_entry *p = pid_get(s, pid);
	size_t idx;

	if (!p)
		return SYM_OBJ_UNKNOWN;
	e = procmaps_find(p->maps, ip, &idx);
	if (!e && clock_mono_ns() - p->read_ns >= MAPS_REREAD_NS) {
		/* A miss means new mappings (or a bogus IP): re-read once. */
		if (pid_read_maps(s, p) < 0) {
			pid_unlink(s, p);
			return SYM_OBJ_UNKNOWN;
		}
		e = procmaps_find(p->maps, ip, &idx);
	}
	if (!e || !procmaps_entry_is_file(e))
		return SYM_OBJ_UNKNOWN;
	if (p->objs[idx] == OBJ_UNRESOLVED)
		p->objs[idx] = resolve_mapping(s, p, idx);
	if (p->objs[idx] == SYM_OBJ_UNKNOWN)
		return SYM_OBJ_UNKNOWN;
	*ret_offset = ip - e->start + e->pgoff;
	return p->objs[idx];
}

void symbolizer_note_process(struct symbolizer *s, uint32_t pid)
{
	struct pid_entry *p = pid_get(s, pid);

	if (!p)
		return;
	for (size_t i = 0; i < procmaps_count(p->maps); i++)
		if (p->objs[i] == OBJ_UNRESOLVED && procmaps_entry_is_file(procmaps_get(p->maps, i)))
			p->objs[i] = resolve_mapping(s, p, i);
}

void symbolizer_note_exec(struct symbolizer *s, uint32_t pid, const char *path)
{
	char rootp[4352];
	struct stat st;
	uint32_t oid;
	int fd, n, via_root = 0;

	if (!path || path[0] != '/')
		return;
	n = snprintf(rootp, sizeof(rootp), "%s/%" PRIu32 "/root%s", s->procfs, pid, path);
	fd = n > 0 && (size_t)n < sizeof(rootp) ? util_open_regular(rootp, &st) : -ENAMETOOLONG;
	if (fd >= 0)
		via_root = 1;
	else
		fd = util_open_regular(path, &st); /* the process is gone already */
	if (fd < 0)
		return;
	oid = obj_for_fd(s, fd, &st);
	close(fd);
	if (oid == SYM_OBJ_UNKNOWN)
		return;
	if (via_root)
		obj_add_path(s, oid, rootp, path);
	if (!via_root || root_is_ours(s, pid))
		obj_add_path(s, oid, path, path);
}

void symbolizer_forget_pid(struct symbolizer *s, uint32_t pid)
{
	struct pid_entry *p = pid_find(s, pid);

	if (p)
		pid_unlink(s, p);
}

uint32_t symbolizer_object_by_build_id(struct symbolizer *s, const uint8_t *build_id, size_t len)
{
	if (!build_id || len == 0 || len > ELFSYM_BUILD_ID_MAX)
		return SYM_OBJ_UNKNOWN;
	return obj_by_build_id(s, build_id, len);
}

/* ---- loading ---- */

static struct symloader_job *job_new(struct symbolizer *s, uint32_t id)
{
	struct object *o = obj_get(s, id);
	struct symloader_job *j = symloader_job_new();

	if (!j)
		return NULL;
	j->obj = id;
	j->paths_gen = o->paths_gen;
	memcpy(j->build_id, o->build_id, o->build_id_len);
	j->build_id_len = o->build_id_len;
	j->has_key = o->has_key;
	j->key = o->key;
	j->debug_dirs = s->debug_dirs;
	for (size_t i = 0; i < PATHS_PER_OBJECT; i++) {
		if (o->paths[i] && !(j->paths[i] = strdup(o->paths[i])))
			return symloader_job_free(j);
	}
	if (o->logical_dir && !(j->logical_dir = strdup(o->logical_dir)))
		return symloader_job_free(j);
	return j;
}

/* Main thread: move a finished job's table into its object. */
static void job_install(struct symbolizer *s, struct symloader_job *j)
{
	struct object *o = obj_get(s, j->obj);

	if (o && o->state == OBJ_QUEUED) {
		if (j->table) {
			o->table = j->table;
			j->table = NULL;
			o->state = OBJ_LOADED;
			o->installed_poll = s->poll_gen;
			o->last_use = ++s->tick;
			s->cache_bytes += elfsym_bytes(o->table);
			s->loaded++;
		} else {
			s->load_failures++;
			/* A path learned meanwhile deserves a try. */
			o->state = o->paths_gen != j->paths_gen ? OBJ_IDLE : OBJ_FAILED;
		}
	}
	symloader_job_free(j);
}

/* Start loading object o. 0 (queued or, with no_worker, done) or -errno. */
static int load_start(struct symbolizer *s, uint32_t id)
{
	struct object *o = obj_get(s, id);
	struct symloader_job *j;

	if (s->pending >= QUEUE_MAX)
		return -EBUSY;
	j = job_new(s, id);
	if (!j)
		return -ENOMEM;
	o->state = OBJ_QUEUED;
	if (!s->loader) {
		symloader_job_run(j);
		job_install(s, j);
		return 0;
	}
	symloader_submit(s->loader, j);
	s->pending++;
	return 0;
}

static void evict(struct symbolizer *s)
{
	while (s->cache_bytes > s->cache_max) {
		struct object *victim = NULL;

		for (size_t i = 0; i < s->nobjs; i++) {
			struct object *o = &s->objs[i];

			/* Tables installed by this poll have not been used yet:
			 * evicting them would only make loads thrash. */
			if (o->state != OBJ_LOADED || o->installed_poll == s->poll_gen)
				continue;
			if (!victim || o->last_use < victim->last_use)
				victim = o;
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

void symbolizer_poll(struct symbolizer *s)
{
	struct symloader_job *done = NULL;

	s->poll_gen++;
	if (s->loader)
		done = symloader_take_done(s->loader);
	while (done) {
		struct symloader_job *next = done->next;

		s->pending--;
		job_install(s, done);
		done = next;
	}
	evict(s);
}

int symbolizer_lookup(struct symbolizer *s, uint32_t obj, uint64_t addr, struct sym_result *ret)
{
	struct object *o;
	const char *name, *module;
	uint64_t off;

	if (obj == SYM_OBJ_KERNEL) {
		if (!ksyms_count(s->ksyms))
			return -ENOENT;
		if (ksyms_lookup(s->ksyms, addr, &name, &module, &off) < 0)
			*ret = (struct sym_result){ .module = "vmlinux" };
		else
			*ret = (struct sym_result){ .name = name, .module = module, .offset = off };
		return 0;
	}
	o = obj_get(s, obj);
	if (!o)
		return -ENOENT;
	o->last_use = ++s->tick;
	if (o->state == OBJ_IDLE) {
		if (!o->paths[0])
			return -ENOENT;
		if (load_start(s, obj) < 0)
			return -EAGAIN;
	}
	if (o->state == OBJ_QUEUED)
		return -EAGAIN;
	if (o->state != OBJ_LOADED)
		return -ENOENT;
	*ret = (struct sym_result){ .module = symbolizer_object_name(s, obj) };
	if (elfsym_lookup_offset(o->table, addr, &name, &off) == 0) {
		ret->name = name;
		ret->offset = off;
	}
	return 0;
}

int symbolizer_object_build_id(struct symbolizer *s, uint32_t obj, const uint8_t **ret, size_t *ret_len)
{
	struct object *o = obj == SYM_OBJ_KERNEL ? NULL : obj_get(s, obj);

	if (!o || !o->build_id_len)
		return -ENOENT;
	*ret = o->build_id;
	*ret_len = o->build_id_len;
	return 0;
}

const char *symbolizer_object_name(struct symbolizer *s, uint32_t obj)
{
	struct object *o;

	if (obj == SYM_OBJ_KERNEL)
		return "vmlinux";
	o = obj_get(s, obj);
	return o && o->name ? o->name : "[unknown]";
}

int symbolizer_reload_kernel(struct symbolizer *s)
{
	struct ksyms *k;
	int r = ksyms_load(s->kallsyms, &k);

	if (r < 0)
		return r;
	ksyms_free(s->ksyms);
	s->ksyms = k;
	return ksyms_restricted(k) ? -EPERM : 0;
}

int symbolizer_fd(struct symbolizer *s)
{
	return s->loader ? symloader_fd(s->loader) : -1;
}

void symbolizer_get_stats(struct symbolizer *s, struct symbolizer_stats *ret)
{
	*ret = (struct symbolizer_stats){
		.objects = s->nobjs,
		.objects_loaded = s->loaded,
		.cache_bytes = s->cache_bytes,
		.evictions = s->evictions,
		.load_failures = s->load_failures,
		.pending = s->pending,
		.objects_full = s->objects_full,
		.kernel_symbols = ksyms_count(s->ksyms),
		.maps_reads = s->maps_reads,
	};
}

int symbolizer_new(const struct symbolizer_opts *opts, struct symbolizer **ret)
{
	struct symbolizer *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	s->no_worker = opts && opts->no_worker;
	s->procfs = strdup(opts && opts->procfs ? opts->procfs : "/proc");
	s->kallsyms = strdup(opts && opts->kallsyms ? opts->kallsyms : "/proc/kallsyms");
	s->debug_dirs = strdup(opts && opts->debug_dirs ? opts->debug_dirs : "/usr/lib/debug");
	s->cache_max = opts && opts->cache_bytes ? opts->cache_bytes : DEFAULT_CACHE_BYTES;
	s->max_objects = opts && opts->max_objects ? opts->max_objects : DEFAULT_MAX_OBJECTS;
	if (s->max_objects > MAX_OBJECTS_LIMIT)
		s->max_objects = MAX_OBJECTS_LIMIT;
	for (s->nbuckets = 64; s->nbuckets < s->max_objects; s->nbuckets *= 2)
		;
	s->bid_buckets = malloc(s->nbuckets * sizeof(uint32_t));
	s->key_buckets = malloc(s->nbuckets * sizeof(uint32_t));
	s->files = calloc(FILE_CACHE_SLOTS, sizeof(*s->files));
	if (!s->procfs || !s->kallsyms || !s->debug_dirs || !s->bid_buckets || !s->key_buckets || !s->files) {
		r = -ENOMEM;
		goto fail;
	}
	memset(s->bid_buckets, 0xff, s->nbuckets * sizeof(uint32_t));
	memset(s->key_buckets, 0xff, s->nbuckets * sizeof(uint32_t));
	memset(s->pid_buckets, 0xff, sizeof(s->pid_buckets));
	/* Not fatal: kernel frames stay unnamed. */
	(void)symbolizer_reload_kernel(s);
	if (!s->no_worker) {
		r = symloader_new(&s->loader);
		if (r < 0)
			goto fail;
	}
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
	/* Stop the worker first: a running job reads s->debug_dirs. */
	s->loader = symloader_free(s->loader);
	for (size_t i = 0; i < PID_CACHE_MAX; i++)
		pid_drop_maps(&s->pids[i]);
	for (size_t i = 0; i < s->nobjs; i++) {
		struct object *o = &s->objs[i];

		elfsym_free(o->table);
		free(o->name);
		free(o->logical_dir);
		for (size_t k = 0; k < PATHS_PER_OBJECT; k++)
			free(o->paths[k]);
	}
	free(s->objs);
	free(s->bid_buckets);
	free(s->key_buckets);
	free(s->files);
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
	struct object *o = obj_get(s, obj);
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
	/* a plain path outlives the process; /proc/PID/... ones do not */
	for (size_t i = 0; i < PATHS_PER_OBJECT; i++) {
		const char *p = o->paths[i];

		if (p && p[0] == '/' && !(strncmp(p, s->procfs, plen) == 0 && p[plen] == '/')) {
			ret->path = p;
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
		oid = obj_by_build_id(s, d->build_id, d->build_id_len);
	} else if (d->has_key) {
		struct symloader_key k = { .dev = d->dev, .ino = d->ino, .mtime_ns = d->mtime_ns };

		oid = obj_by_key(s, &k);
	} else {
		return SYM_OBJ_UNKNOWN;
	}
	if (oid != SYM_OBJ_UNKNOWN && d->path && d->path[0] == '/')
		obj_add_path(s, oid, d->path, d->path);
	return oid;
}
