/* SPDX-License-Identifier: GPL-2.0-only */
/* Symbol-file worker: exec, identify and load threads, a queue each, one done list, an eventfd. */
#include "symbols/symloader.h"

#include "symbols/procmaps.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define IDCACHE_SLOTS 16384 /* (dev, ino, mtime) -> build-id; cleared when 3/4 full */
#define LEAKED_MAX 8        /* loaders left behind by stuck threads (kept reachable) */

enum { W_EXEC, W_IDENTIFY, W_LOAD, W_COUNT };

struct idcache_slot {
	struct symloader_key key;
	uint64_t size;
	uint8_t build_id[ELFSYM_BUILD_ID_MAX];
	uint8_t build_id_len;
	uint8_t used;
};

struct worker {
	pthread_t thread;
	pthread_cond_t cond;
	struct symloader_job *queue, *tail;
	int started;
	int exited;
};

struct symloader {
	char *procfs;
	char *debug_dirs;
	int threads;
	/* The mutex guards the queues, the done list, `stop` and `exited`. */
	pthread_mutex_t lock;
	struct worker w[W_COUNT];
	struct symloader_job *done;
	int stop;
	int efd;
	/* Shared by the exec and identify threads; the lock is never held
	 * across I/O. */
	pthread_mutex_t idlock;
	struct idcache_slot *idcache;
	size_t nidcache;
};

static struct symloader *leaked[LEAKED_MAX];

struct symloader_job *symloader_job_new(enum symloader_kind kind)
{
	struct symloader_job *j = calloc(1, sizeof(*j));

	if (j)
		j->kind = kind;
	return j;
}

static void cand_clear(struct symloader_cand *c)
{
	free(c->root);
	free(c->path);
	*c = (struct symloader_cand){ 0 };
}

struct symloader_job *symloader_job_free(struct symloader_job *j)
{
	if (!j)
		return NULL;
	for (size_t i = 0; i < SYMLOADER_PATHS; i++)
		cand_clear(&j->paths[i]);
	for (size_t i = 0; i < j->nidents; i++) {
		free(j->idents[i].logical);
		for (size_t k = 0; k < SYMLOADER_IDENT_PATHS; k++)
			cand_clear(&j->idents[i].cands[k]);
	}
	free(j->idents);
	free(j->maps);
	free(j->logical_dir);
	free(j->path);
	elfsym_free(j->table);
	free(j);
	return NULL;
}

/* ---- identification (identify thread) ---- */

static uint64_t hash_key(const struct symloader_key *k)
{
	uint64_t x = k->dev * 0x9e3779b97f4a7c15ull ^ k->ino * 0xc2b2ae3d27d4eb4full ^ k->mtime_ns;

	x ^= x >> 31;
	x *= 0xff51afd7ed558ccdull;
	return x ^ (x >> 29);
}

static struct idcache_slot *idcache_find(struct symloader *l, const struct symloader_key *k)
{
	size_t i = hash_key(k) & (IDCACHE_SLOTS - 1);

	for (; l->idcache[i].used; i = (i + 1) & (IDCACHE_SLOTS - 1))
		if (symloader_key_eq(&l->idcache[i].key, k))
			return &l->idcache[i];
	return NULL;
}

static void idcache_put(struct symloader *l, const struct idcache_slot *v)
{
	size_t i;

	if (l->nidcache >= IDCACHE_SLOTS / 4 * 3) {
		/* Only a cache: starting over costs note reads, nothing else. */
		memset(l->idcache, 0, IDCACHE_SLOTS * sizeof(*l->idcache));
		l->nidcache = 0;
	}
	i = hash_key(&v->key) & (IDCACHE_SLOTS - 1);
	while (l->idcache[i].used)
		i = (i + 1) & (IDCACHE_SLOTS - 1);
	l->idcache[i] = *v;
	l->idcache[i].used = 1;
	l->nidcache++;
}

/* Fill id's build-id, key and size for the file on O_PATH fd pfd. The
 * notes are read only for a file not seen before. 0 or -errno. */
static int identify(struct symloader *l, int pfd, const struct stat *st, struct symloader_ident *id)
{
	struct idcache_slot v = { .key = symloader_key_of(st), .size = (uint64_t)st->st_size };
	struct idcache_slot *c;
	int fd, n, hit;

	pthread_mutex_lock(&l->idlock);
	c = idcache_find(l, &v.key);
	hit = c != NULL;
	if (hit)
		v = *c;
	pthread_mutex_unlock(&l->idlock);
	if (!hit) {
		fd = util_reopen_read(pfd);
		if (fd < 0)
			return fd;
		n = elfsym_read_build_id_fd(fd, v.build_id);
		close(fd);
		/* Not ELF, or no build-id: identified by key; loading tells the rest. */
		v.build_id_len = n > 0 ? (uint8_t)n : 0;
		pthread_mutex_lock(&l->idlock);
		if (!idcache_find(l, &v.key))
			idcache_put(l, &v);
		pthread_mutex_unlock(&l->idlock);
	}
	memcpy(id->build_id, v.build_id, v.build_id_len);
	id->build_id_len = v.build_id_len;
	id->key = v.key;
	id->size = v.size;
	return 0;
}

static int set_cand(struct symloader_cand *c, const char *root, const char *path, int magic)
{
	c->root = root ? strdup(root) : NULL;
	c->path = strdup(path);
	c->magic = magic;
	if (!c->path || (root && !c->root)) {
		cand_clear(c);
		return -ENOMEM;
	}
	return 0;
}

/* Does procfs/PID share our root directory and mount namespace? Only
 * then does a path it names mean the same file to us, after it exits. */
static int root_is_ours(struct symloader *l, uint32_t pid)
{
	char path[4096];
	struct stat a, b;

	snprintf(path, sizeof(path), "%s/%" PRIu32 "/root", l->procfs, pid);
	if (stat(path, &a) < 0 || stat("/", &b) < 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return 0;
	snprintf(path, sizeof(path), "%s/%" PRIu32 "/ns/mnt", l->procfs, pid);
	if (stat(path, &a) < 0 || stat("/proc/self/ns/mnt", &b) < 0)
		return 0;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Identify the file of one executable mapping: through map_files (the
 * mapped file itself, deleted or not, whatever the mount namespace),
 * else by its path inside the process's root, which must still be the
 * mapped inode. */
static int identify_mapping(struct symloader *l, struct symloader_job *j, const char *root,
			    const struct procmaps_entry *e, struct symloader_ident *id)
{
	char mf[4096];
	struct stat st;
	int pfd, r, n;

	n = snprintf(mf, sizeof(mf), "%s/%" PRIu32 "/map_files/%" PRIx64 "-%" PRIx64,
		     l->procfs, j->pid, e->start, e->end);
	if (n < 0 || (size_t)n >= sizeof(mf))
		return -ENAMETOOLONG;
	pfd = util_open_path(NULL, mf, UTIL_OPEN_MAGICLINKS, &st);
	if (pfd < 0 && !e->deleted) {
		pfd = util_open_path(root, e->path, 0, &st);
		if (pfd >= 0 && (uint64_t)st.st_ino != e->inode) {
			close(pfd);
			pfd = -ESTALE; /* the path names another file now */
		}
	}
	if (pfd < 0)
		return pfd;
	r = identify(l, pfd, &st, id);
	close(pfd);
	if (r < 0)
		return r;
	if (!(id->logical = strdup(e->path)))
		return -ENOMEM;
	/* Preferred first: the plain path outlives the process. */
	n = 0;
	if (!e->deleted && j->root_same && (r = set_cand(&id->cands[n++], NULL, e->path, 0)) < 0)
		return r;
	if (!e->deleted && (r = set_cand(&id->cands[n++], root, e->path, 0)) < 0)
		return r;
	return set_cand(&id->cands[n], NULL, mf, 1);
}

static void ident_clear(struct symloader_ident *id)
{
	free(id->logical);
	for (size_t k = 0; k < SYMLOADER_IDENT_PATHS; k++)
		cand_clear(&id->cands[k]);
	memset(id, 0, sizeof(*id));
}

/* What /proc/PID/maps says about a mapping's file, to spot the same file twice. */
struct mapfile {
	uint64_t inode;
	uint32_t dev_major, dev_minor;
	uint32_t deleted;
};

static int add_ident(struct symloader *l, struct symloader_job *j, const char *root,
		     const struct procmaps_entry *e, size_t *icap, uint32_t *ret)
{
	int r;

	if (j->nidents == *icap) {
		size_t nc = *icap ? *icap * 2 : 16;
		struct symloader_ident *ni = realloc(j->idents, nc * sizeof(*ni));

		if (!ni)
			return -ENOMEM;
		j->idents = ni;
		*icap = nc;
	}
	memset(&j->idents[j->nidents], 0, sizeof(j->idents[0]));
	r = identify_mapping(l, j, root, e, &j->idents[j->nidents]);
	if (r < 0) {
		ident_clear(&j->idents[j->nidents]);
		return r;
	}
	*ret = (uint32_t)j->nidents++;
	return 0;
}

static void run_maps(struct symloader *l, struct symloader_job *j)
{
	char path[4096], root[4096];
	struct procmaps *m = NULL;
	struct mapfile *mf = NULL;
	size_t n, cap = 0, icap = 0;
	int r;

	snprintf(path, sizeof(path), "%s/%" PRIu32 "/maps", l->procfs, j->pid);
	snprintf(root, sizeof(root), "%s/%" PRIu32 "/root", l->procfs, j->pid);
	r = procmaps_read(path, &m);
	if (r < 0) {
		j->err = r;
		return;
	}
	j->root_same = root_is_ours(l, j->pid);
	n = procmaps_count(m);
	for (size_t i = 0; i < n; i++) {
		const struct procmaps_entry *e = procmaps_get(m, i);
		struct mapfile f = {
			.inode = e->inode, .dev_major = e->dev_major, .dev_minor = e->dev_minor,
			.deleted = e->deleted,
		};
		uint32_t ident = SYMLOADER_NO_IDENT;
		size_t k;

		/* Only code: a sampled IP lies in an executable mapping. */
		if (!procmaps_entry_is_code(e))
			continue;
		if (j->nmaps >= SYMLOADER_MAX_MAPS) {
			j->ident_failures++;
			continue;
		}
		if (j->nmaps == cap) {
			size_t nc = cap ? cap * 2 : 32;
			struct symloader_map *nm = realloc(j->maps, nc * sizeof(*nm));
			struct mapfile *nf = realloc(mf, nc * sizeof(*nf));

			if (nm)
				j->maps = nm;
			if (nf)
				mf = nf;
			if (!nm || !nf)
				break;
			cap = nc;
		}
		/* The same file in several mappings is identified once. */
		for (k = 0; k < j->nmaps; k++)
			if (mf[k].inode == f.inode && mf[k].dev_major == f.dev_major &&
			    mf[k].dev_minor == f.dev_minor && mf[k].deleted == f.deleted)
				break;
		if (k < j->nmaps)
			ident = j->maps[k].ident;
		else if (add_ident(l, j, root, e, &icap, &ident) < 0)
			j->ident_failures++;
		mf[j->nmaps] = f;
		j->maps[j->nmaps++] = (struct symloader_map){
			.start = e->start, .end = e->end, .pgoff = e->pgoff, .ident = ident,
		};
	}
	free(mf);
	procmaps_free(m);
}

static void run_exec(struct symloader *l, struct symloader_job *j)
{
	char root[4096];
	struct symloader_ident *id;
	struct stat st;
	int pfd, r, n = 0;

	snprintf(root, sizeof(root), "%s/%" PRIu32 "/root", l->procfs, j->pid);
	/* Only inside the process's root: if it is gone, so is the meaning
	 * of its path (a host file of that name may be another file). */
	pfd = util_open_path(root, j->path, 0, &st);
	if (pfd < 0) {
		j->err = pfd;
		/* A file that failed to open in a root that is still there. */
		if (stat(root, &st) == 0)
			j->ident_failures++;
		return;
	}
	j->root_same = root_is_ours(l, j->pid);
	id = calloc(1, sizeof(*id));
	if (!id) {
		close(pfd);
		j->err = -ENOMEM;
		return;
	}
	r = identify(l, pfd, &st, id);
	close(pfd);
	if (r == 0 && !(id->logical = strdup(j->path)))
		r = -ENOMEM;
	if (r == 0 && j->root_same)
		r = set_cand(&id->cands[n++], NULL, j->path, 0);
	if (r == 0)
		r = set_cand(&id->cands[n], root, j->path, 0);
	if (r < 0) {
		ident_clear(id);
		free(id);
		j->err = r;
		j->ident_failures++;
		return;
	}
	j->idents = id;
	j->nidents = 1;
}

/* ---- loading (load thread) ---- */

/* Does the file have the identity the job asks for? pfd: O_PATH, fd: read. */
static int job_accepts(const struct symloader_job *j, int fd, const struct stat *st)
{
	if (j->build_id_len) {
		uint8_t id[ELFSYM_BUILD_ID_MAX];
		int r = elfsym_read_build_id_fd(fd, id);

		return r == (int)j->build_id_len && memcmp(id, j->build_id, j->build_id_len) == 0;
	}
	if (j->has_key) {
		struct symloader_key k = symloader_key_of(st);

		return symloader_key_eq(&k, &j->key);
	}
	return 1;
}

static void run_load(struct symloader *l, struct symloader_job *j)
{
	j->err = -ENOENT;
	for (size_t i = 0; i < SYMLOADER_PATHS && j->paths[i].path; i++) {
		const struct symloader_cand *c = &j->paths[i];
		struct elfsym *e;
		struct stat st;
		int fd, r;

		fd = util_open_regular_in(c->root, c->path, c->magic ? UTIL_OPEN_MAGICLINKS : 0, &st);
		if (fd < 0) {
			j->err = fd;
			continue;
		}
		if (!job_accepts(j, fd, &st)) {
			close(fd);
			j->err = -ESTALE;
			continue;
		}
		r = elfsym_load_fd(fd, &e);
		close(fd);
		if (r < 0) {
			j->err = r;
			continue;
		}
		if (!(elfsym_sources(e) & ELFSYM_SRC_SYMTAB)) {
			char dir[4096];
			const char *slash = strrchr(c->path, '/');
			/* A map_files entry's directory holds no debuglink targets. */
			int open_dir = !c->magic && slash && (size_t)(slash - c->path) < sizeof(dir);

			if (open_dir) {
				memcpy(dir, c->path, (size_t)(slash - c->path));
				dir[slash - c->path] = '\0';
				if (!dir[0])
					strcpy(dir, "/");
			}
			elfsym_load_debug(e, l->debug_dirs, c->root, open_dir ? dir : NULL, j->logical_dir);
		}
		j->table = e;
		j->size = (uint64_t)st.st_size;
		j->err = 0;
		return;
	}
}

static void run_job(struct symloader *l, struct symloader_job *j)
{
	switch (j->kind) {
	case SYMLOADER_LOAD:
		run_load(l, j);
		break;
	case SYMLOADER_MAPS:
		run_maps(l, j);
		break;
	case SYMLOADER_EXEC:
		run_exec(l, j);
		break;
	}
}

/* ---- threads ---- */

static void push_done(struct symloader *l, struct symloader_job *j)
{
	uint64_t one = 1;

	pthread_mutex_lock(&l->lock);
	j->next = l->done;
	l->done = j;
	pthread_mutex_unlock(&l->lock);
	if (l->efd >= 0 && write(l->efd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is saturated, a wakeup is pending anyway. */
	}
}

struct worker_arg {
	struct symloader *l;
	int which;
};

static void *worker_main(void *arg)
{
	struct symloader *l = ((struct worker_arg *)arg)->l;
	struct worker *w = &l->w[((struct worker_arg *)arg)->which];

	free(arg);
	for (;;) {
		struct symloader_job *j;

		pthread_mutex_lock(&l->lock);
		while (!w->queue && !l->stop)
			pthread_cond_wait(&w->cond, &l->lock);
		if (l->stop) {
			w->exited = 1;
			pthread_mutex_unlock(&l->lock);
			return NULL;
		}
		j = w->queue;
		w->queue = j->next;
		if (!w->queue)
			w->tail = NULL;
		pthread_mutex_unlock(&l->lock);

		run_job(l, j);
		push_done(l, j);
	}
}

static void free_list(struct symloader_job *j)
{
	while (j) {
		struct symloader_job *n = j->next;

		symloader_job_free(j);
		j = n;
	}
}

static void loader_destroy(struct symloader *l)
{
	for (int i = 0; i < W_COUNT; i++) {
		free_list(l->w[i].queue);
		pthread_cond_destroy(&l->w[i].cond);
	}
	free_list(l->done);
	pthread_mutex_destroy(&l->lock);
	pthread_mutex_destroy(&l->idlock);
	if (l->efd >= 0)
		close(l->efd);
	free(l->idcache);
	free(l->procfs);
	free(l->debug_dirs);
	free(l);
}

int symloader_new(const struct symloader_opts *opts, struct symloader **ret)
{
	struct symloader *l = calloc(1, sizeof(*l));
	int r = 0;

	if (!l)
		return -ENOMEM;
	l->efd = -1;
	pthread_mutex_init(&l->lock, NULL);
	pthread_mutex_init(&l->idlock, NULL);
	for (int i = 0; i < W_COUNT; i++)
		pthread_cond_init(&l->w[i].cond, NULL);
	l->threads = opts->threads;
	l->procfs = strdup(opts->procfs ? opts->procfs : "/proc");
	l->debug_dirs = strdup(opts->debug_dirs ? opts->debug_dirs : "/usr/lib/debug");
	l->idcache = calloc(IDCACHE_SLOTS, sizeof(*l->idcache));
	if (!l->procfs || !l->debug_dirs || !l->idcache) {
		loader_destroy(l);
		return -ENOMEM;
	}
	if (l->threads) {
		l->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (l->efd < 0) {
			r = -errno;
			loader_destroy(l);
			return r;
		}
		for (int i = 0; i < W_COUNT && r == 0; i++) {
			struct worker_arg *a = malloc(sizeof(*a));

			if (!a) {
				r = -ENOMEM;
				break;
			}
			*a = (struct worker_arg){ .l = l, .which = i };
			r = -pthread_create(&l->w[i].thread, NULL, worker_main, a);
			if (r < 0)
				free(a);
			else
				l->w[i].started = 1;
		}
		if (r < 0) {
			symloader_free(l);
			return r;
		}
	}
	*ret = l;
	return 0;
}

struct symloader *symloader_free(struct symloader *l)
{
	struct timespec deadline;
	int stuck = 0;

	if (!l)
		return NULL;
	pthread_mutex_lock(&l->lock);
	l->stop = 1;
	for (int i = 0; i < W_COUNT; i++)
		pthread_cond_broadcast(&l->w[i].cond);
	pthread_mutex_unlock(&l->lock);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += SYMLOADER_JOIN_MS / 1000;
	deadline.tv_nsec += (SYMLOADER_JOIN_MS % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	for (int i = 0; i < W_COUNT; i++) {
		if (!l->w[i].started)
			continue;
		if (pthread_timedjoin_np(l->w[i].thread, NULL, &deadline) != 0) {
			pthread_detach(l->w[i].thread);
			stuck = 1;
		}
	}
	if (stuck) {
		/* The stuck thread will touch l (and its job) if its file
		 * operation ever returns: leave both, reachable. */
		for (int i = 0; i < LEAKED_MAX; i++) {
			if (!leaked[i]) {
				leaked[i] = l;
				break;
			}
		}
		return NULL;
	}
	loader_destroy(l);
	return NULL;
}

int symloader_fd(const struct symloader *l)
{
	return l->efd;
}

void symloader_submit(struct symloader *l, struct symloader_job *j)
{
	struct worker *w = &l->w[j->kind == SYMLOADER_LOAD ? W_LOAD : j->kind == SYMLOADER_MAPS ? W_IDENTIFY : W_EXEC];

	j->next = NULL;
	if (!l->threads) {
		run_job(l, j);
		push_done(l, j);
		return;
	}
	pthread_mutex_lock(&l->lock);
	if (w->tail)
		w->tail->next = j;
	else
		w->queue = j;
	w->tail = j;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&l->lock);
}

struct symloader_job *symloader_take_done(struct symloader *l)
{
	struct symloader_job *done;
	uint64_t v;

	if (l->efd >= 0 && read(l->efd, &v, sizeof(v)) < 0) {
		/* EAGAIN: nothing signalled; the done list may still hold work. */
	}
	pthread_mutex_lock(&l->lock);
	done = l->done;
	l->done = NULL;
	pthread_mutex_unlock(&l->lock);
	return done;
}
