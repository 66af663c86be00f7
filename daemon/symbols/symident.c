/* SPDX-License-Identifier: GPL-2.0-only */
/* Symbol loader, identification: /proc/PID/maps reads, exec'd paths,
 * file identity (build-id or dev/ino/mtime, cached), JIT and vdso mappings. */
#include "symbols/symloader_int.h"

#include "symbols/procmaps.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
	if (!e->deleted && j->root_same && (r = symloader_cand_set(&id->cands[n++], NULL, e->path, 0)) < 0)
		return r;
	if (!e->deleted && (r = symloader_cand_set(&id->cands[n++], root, e->path, 0)) < 0)
		return r;
	return symloader_cand_set(&id->cands[n], NULL, mf, 1);
}

static void ident_clear(struct symloader_ident *id)
{
	free(id->logical);
	for (size_t k = 0; k < SYMLOADER_IDENT_PATHS; k++)
		symloader_cand_clear(&id->cands[k]);
	memset(id, 0, sizeof(*id));
}

/* What /proc/PID/maps says about a mapping's file, to spot the same file twice. */
struct mapfile {
	uint64_t inode;
	uint32_t dev_major, dev_minor;
	uint32_t deleted;
};

static int grow_idents(struct symloader_job *j, size_t *icap)
{
	if (j->nidents == *icap) {
		size_t nc = *icap ? *icap * 2 : 16;
		struct symloader_ident *ni = realloc(j->idents, nc * sizeof(*ni));

		if (!ni)
			return -ENOMEM;
		j->idents = ni;
		*icap = nc;
	}
	memset(&j->idents[j->nidents], 0, sizeof(j->idents[0]));
	return 0;
}

static int add_ident(struct symloader *l, struct symloader_job *j, const char *root,
		     const struct procmaps_entry *e, size_t *icap, uint32_t *ret)
{
	int r = grow_idents(j, icap);

	if (r < 0)
		return r;
	r = identify_mapping(l, j, root, e, &j->idents[j->nidents]);
	if (r < 0) {
		ident_clear(&j->idents[j->nidents]);
		return r;
	}
	*ret = (uint32_t)j->nidents++;
	return 0;
}

/* What a mapping is to a sampled IP: -1 when it holds no code. */
static int map_kind(const struct procmaps_entry *e)
{
	if (procmaps_entry_is_code(e))
		return SYMLOADER_MAP_FILE;
	if (!(e->perms & PROCMAPS_X) || e->inode)
		return -1;
	if (strcmp(e->path, "[vdso]") == 0)
		return SYMLOADER_MAP_VDSO;
	/* Anonymous code is JIT code ("[anon:NAME]": named by prctl). */
	if (!e->path[0] || strncmp(e->path, "[anon:", 6) == 0)
		return SYMLOADER_MAP_JIT;
	return -1;
}

/* The process's vdso is ours when its bytes are: read it through
 * procfs/PID/mem (bounded by our image's size) and compare. */
static int identify_vdso(struct symloader *l, struct symloader_job *j, const struct procmaps_entry *e,
			 struct symloader_ident *id)
{
	char path[4096];
	unsigned char *buf;
	ssize_t n;
	int fd, same;

	if (l->vdso_fd < 0 || e->end - e->start < l->vdso_len)
		return -ENOENT;
	snprintf(path, sizeof(path), "%s/%" PRIu32 "/mem", l->procfs, j->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	buf = malloc(l->vdso_len);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	n = pread(fd, buf, l->vdso_len, (off_t)e->start);
	same = n == (ssize_t)l->vdso_len && memcmp(buf, l->vdso_img, l->vdso_len) == 0;
	free(buf);
	close(fd);
	if (!same)
		return n < 0 ? -EIO : -ESTALE;
	memcpy(id->build_id, l->vdso_bid, l->vdso_bid_len);
	id->build_id_len = l->vdso_bid_len;
	id->size = l->vdso_len;
	if (!(id->logical = strdup(SYMLOADER_VDSO_PATH)))
		return -ENOMEM;
	return symloader_cand_set(&id->cands[0], NULL, SYMLOADER_VDSO_PATH, 0);
}

static int add_vdso_ident(struct symloader *l, struct symloader_job *j, const struct procmaps_entry *e,
			  size_t *icap, uint32_t *ret)
{
	int r = grow_idents(j, icap);

	if (r < 0)
		return r;
	r = identify_vdso(l, j, e, &j->idents[j->nidents]);
	if (r < 0) {
		ident_clear(&j->idents[j->nidents]);
		return r;
	}
	*ret = (uint32_t)j->nidents++;
	return 0;
}

void symloader_run_maps(struct symloader *l, struct symloader_job *j)
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
		int kind = map_kind(e);
		size_t k;

		/* Only code: a sampled IP lies in an executable mapping. */
		if (kind < 0)
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
		if (kind == SYMLOADER_MAP_VDSO) {
			if (add_vdso_ident(l, j, e, &icap, &ident) < 0)
				j->ident_failures++;
		} else if (kind == SYMLOADER_MAP_FILE) {
			/* The same file in several mappings is identified once. */
			for (k = 0; k < j->nmaps; k++)
				if (j->maps[k].kind == SYMLOADER_MAP_FILE && mf[k].inode == f.inode &&
				    mf[k].dev_major == f.dev_major && mf[k].dev_minor == f.dev_minor &&
				    mf[k].deleted == f.deleted)
					break;
			if (k < j->nmaps)
				ident = j->maps[k].ident;
			else if (add_ident(l, j, root, e, &icap, &ident) < 0)
				j->ident_failures++;
		}
		mf[j->nmaps] = f;
		j->maps[j->nmaps++] = (struct symloader_map){
			.start = e->start, .end = e->end, .pgoff = e->pgoff, .ident = ident, .kind = (uint32_t)kind,
		};
	}
	free(mf);
	procmaps_free(m);
}

void symloader_run_exec(struct symloader *l, struct symloader_job *j)
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
		r = symloader_cand_set(&id->cands[n++], NULL, j->path, 0);
	if (r == 0)
		r = symloader_cand_set(&id->cands[n], root, j->path, 0);
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
