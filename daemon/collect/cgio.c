/* SPDX-License-Identifier: GPL-2.0-only */
/* Block I/O per systemd unit from per-cgroup counters, see cgio.h. */
#include "collect/cgio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collect/procstat.h"

#define CG_NAMED (1u << 0) /* unit known ("" : the cgroup has none) */
#define CG_IO    (1u << 1) /* the kernel counted I/O for it */
#define CG_LOST  (1u << 2) /* a walk after its first I/O did not find it */

struct cg {
	uint64_t id;
	uint32_t flags;
	uint64_t seen_round;   /* first I/O, or the last note */
	char unit[CGIO_UNIT_MAX];
	struct profd_cgroup_io last;    /* cumulative, as last read */
	struct profd_cgroup_io pending; /* deltas waiting for a name */
};

struct unit_acc {
	char unit[CGIO_UNIT_MAX]; /* a copy: make_room moves entries */
	struct profd_cgroup_io d;
};

struct cgio {
	char *root;
	uint32_t max;
	struct cg *v;          /* dense */
	uint32_t n;
	uint32_t *tab;         /* index + 1, 0 empty */
	uint32_t tcap;
	uint64_t round, walk_round;
	bool walked, need_walk;
	char last_note[PROCSTAT_CGROUP_MAX];
	struct unit_acc *acc;  /* this round's units */
	uint32_t nacc, acc_cap;
	struct cgio_stats st;
};

static uint32_t slot_of(uint64_t id, uint32_t cap)
{
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdull;
	id ^= id >> 33;
	return (uint32_t)id & (cap - 1);
}

static struct cg *find(struct cgio *g, uint64_t id)
{
	for (uint32_t j = slot_of(id, g->tcap); g->tab[j]; j = (j + 1) & (g->tcap - 1))
		if (g->v[g->tab[j] - 1].id == id)
			return &g->v[g->tab[j] - 1];
	return NULL;
}

static void index_put(struct cgio *g, uint32_t i)
{
	uint32_t j;

	for (j = slot_of(g->v[i].id, g->tcap); g->tab[j]; j = (j + 1) & (g->tcap - 1))
		;
	g->tab[j] = i + 1;
}

/* Room for one more: evict the cgroup noted longest ago that never did
 * I/O (a process's cgroup, learnt in case it would). false: full. */
static bool make_room(struct cgio *g)
{
	uint32_t victim = UINT32_MAX;

	if (g->n < g->max)
		return true;
	for (uint32_t i = 0; i < g->n; i++)
		if (!(g->v[i].flags & CG_IO) && (victim == UINT32_MAX || g->v[i].seen_round < g->v[victim].seen_round))
			victim = i;
	if (victim == UINT32_MAX) {
		g->st.full++;
		return false;
	}
	g->v[victim] = g->v[--g->n];
	memset(g->tab, 0, g->tcap * sizeof(*g->tab));
	for (uint32_t i = 0; i < g->n; i++)
		index_put(g, i);
	return true;
}

static struct cg *insert(struct cgio *g, uint64_t id)
{
	struct cg *c;

	if (!make_room(g))
		return NULL;
	c = &g->v[g->n];
	memset(c, 0, sizeof(*c));
	c->id = id;
	c->seen_round = g->round;
	index_put(g, g->n++);
	return c;
}

static void set_name(struct cg *c, const char *path)
{
	if (procstat_cgroup_unit(path, strlen(path), c->unit, sizeof(c->unit)) < 0)
		c->unit[0] = '\0';
	c->flags |= CG_NAMED;
}

int cgio_new(const char *root, uint32_t max, struct cgio **ret)
{
	struct cgio *g = calloc(1, sizeof(*g));

	if (!g)
		return -ENOMEM;
	g->max = max ? max : CGIO_MAX_DEFAULT;
	for (g->tcap = 16; g->tcap < 2 * g->max; g->tcap *= 2)
		;
	g->v = calloc(g->max, sizeof(*g->v));
	g->tab = calloc(g->tcap, sizeof(*g->tab));
	if (root && root[0])
		g->root = strdup(root);
	if (!g->v || !g->tab || (root && root[0] && !g->root)) {
		cgio_free(g);
		return -ENOMEM;
	}
	*ret = g;
	return 0;
}

struct cgio *cgio_free(struct cgio *g)
{
	if (!g)
		return NULL;
	free(g->root);
	free(g->v);
	free(g->tab);
	free(g->acc);
	free(g);
	return NULL;
}

void cgio_note(struct cgio *g, const char *io_path)
{
	char path[PATH_MAX];
	struct stat st;
	struct cg *c;

	if (!g || !g->root || !io_path || io_path[0] != '/')
		return;
	/* processes come in crowds from one cgroup */
	if (!strcmp(io_path, g->last_note))
		return;
	snprintf(g->last_note, sizeof(g->last_note), "%s", io_path);
	if (snprintf(path, sizeof(path), "%s%s", g->root, io_path) >= (int)sizeof(path) || stat(path, &st) ||
	    !S_ISDIR(st.st_mode))
		return;
	c = find(g, (uint64_t)st.st_ino);
	if (!c)
		c = insert(g, (uint64_t)st.st_ino);
	if (!c)
		return;
	c->seen_round = g->round;
	set_name(c, io_path);
}

void cgio_begin(struct cgio *g)
{
	g->round++;
	g->nacc = 0;
	g->need_walk = false;
}

static uint64_t sub(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

static uint64_t bytes_of(const struct profd_cgroup_io *d)
{
	return d->read_bytes + d->write_bytes;
}

static void add_io(struct profd_cgroup_io *a, const struct profd_cgroup_io *d)
{
	a->read_bytes += d->read_bytes;
	a->write_bytes += d->write_bytes;
	a->read_reqs += d->read_reqs;
	a->write_reqs += d->write_reqs;
}

static int is_zero(const struct profd_cgroup_io *d)
{
	return !d->read_bytes && !d->write_bytes && !d->read_reqs && !d->write_reqs;
}

/* Charge d to c's unit for this round (c named). */
static void charge(struct cgio *g, const struct cg *c, const struct profd_cgroup_io *d)
{
	uint32_t i;

	if (is_zero(d))
		return;
	if (!c->unit[0]) {
		g->st.other_bytes += bytes_of(d);
		return;
	}
	for (i = 0; i < g->nacc && strcmp(g->acc[i].unit, c->unit); i++)
		;
	if (i == g->nacc) {
		if (g->nacc == g->acc_cap) {
			uint32_t cap = g->acc_cap ? g->acc_cap * 2 : 16;
			struct unit_acc *v = realloc(g->acc, cap * sizeof(*v));

			if (!v) {
				g->st.other_bytes += bytes_of(d);
				return;
			}
			g->acc = v;
			g->acc_cap = cap;
		}
		memcpy(g->acc[i].unit, c->unit, sizeof(g->acc[i].unit));
		memset(&g->acc[i].d, 0, sizeof(g->acc[i].d));
		g->nacc++;
	}
	add_io(&g->acc[i].d, d);
	g->st.unit_bytes += bytes_of(d);
}

int cgio_account(void *ctx, uint64_t id, const struct profd_cgroup_io *io)
{
	struct cgio *g = ctx;
	struct profd_cgroup_io d;
	struct cg *c;

	c = id ? find(g, id) : NULL;
	if (!c && id)
		c = insert(g, id);
	if (!c) {
		/* id 0 (the kernel did not say) or no room: the cumulative
		 * figure cannot be turned into a delta */
		return 0;
	}
	if (!(c->flags & CG_IO)) {
		c->flags |= CG_IO;
		c->seen_round = g->round;
	}
	d.read_bytes = sub(io->read_bytes, c->last.read_bytes);
	d.write_bytes = sub(io->write_bytes, c->last.write_bytes);
	d.read_reqs = sub(io->read_reqs, c->last.read_reqs);
	d.write_reqs = sub(io->write_reqs, c->last.write_reqs);
	c->last = *io;
	if (c->flags & CG_NAMED) {
		charge(g, c, &d);
	} else if (c->flags & CG_LOST) {
		g->st.unknown_bytes += bytes_of(&d);
	} else if (!is_zero(&d)) {
		add_io(&c->pending, &d);
		g->need_walk = true;
	}
	return 0;
}

/* Name the unnamed ids that did I/O from the directories under dir
 * (path: its path relative to the root, "" for the root). */
static void walk(struct cgio *g, int dfd, char *path, size_t len, int depth, uint32_t *budget)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;

	if (!d) {
		close(dfd);
		return;
	}
	while (*budget && (de = readdir(d))) {
		struct stat st;
		struct cg *c;
		size_t l = strlen(de->d_name);
		int sub;

		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (len + 1 + l >= PATH_MAX)
			continue;
		(*budget)--;
		path[len] = '/';
		memcpy(path + len + 1, de->d_name, l + 1);
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW))
			continue;
		c = find(g, (uint64_t)st.st_ino);
		if (c && !(c->flags & CG_NAMED))
			set_name(c, path);
		/* cgroup trees are shallow; the bound keeps a pathological one finite */
		if (depth < 32) {
			sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
			if (sub >= 0)
				walk(g, sub, path, len + 1 + l, depth + 1, budget);
		}
		path[len] = '\0';
	}
	closedir(d);
}

void cgio_end(struct cgio *g, cgio_unit_fn fn, void *ctx)
{
	if (g->need_walk && g->root && (!g->walked || g->round - g->walk_round >= CGIO_WALK_ROUNDS)) {
		char path[PATH_MAX] = "";
		uint32_t budget = CGIO_WALK_MAX_DIRS;
		int dfd = open(g->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		struct stat st;
		struct cg *c;

		g->walked = true;
		g->walk_round = g->round;
		g->st.walks++;
		/* the root itself */
		if (dfd >= 0 && !fstat(dfd, &st) && (c = find(g, (uint64_t)st.st_ino)) && !(c->flags & CG_NAMED))
			set_name(c, "/");
		if (dfd >= 0)
			walk(g, dfd, path, 0, 0, &budget);
	}
	for (uint32_t i = 0; i < g->n; i++) {
		struct cg *c = &g->v[i];

		if (is_zero(&c->pending))
			continue;
		if (c->flags & CG_NAMED) {
			charge(g, c, &c->pending);
		} else if (!g->root || (g->walked && c->seen_round <= g->walk_round)) {
			/* searched for since its first I/O: removed before we knew it */
			c->flags |= CG_LOST;
			g->st.unknown_bytes += bytes_of(&c->pending);
		} else {
			continue; /* the next walk */
		}
		memset(&c->pending, 0, sizeof(c->pending));
	}
	for (uint32_t i = 0; i < g->nacc; i++)
		fn(ctx, g->acc[i].unit, &g->acc[i].d);
	g->nacc = 0;
}

int cgio_has_root(const struct cgio *g)
{
	return g && g->root;
}

void cgio_get_stats(const struct cgio *g, struct cgio_stats *ret)
{
	*ret = g->st;
	ret->cgroups = g->n;
}

int cgio_find_root(const char *mountinfo, char *ret, size_t n, int *ret_v2)
{
	char line[4096], v1[PATH_MAX] = "";
	FILE *f = fopen(mountinfo, "re");
	int found = 0;

	if (!f)
		return -ENOENT;
	while (!found && fgets(line, sizeof(line), f)) {
		char mnt[PATH_MAX], fstype[64], opts[1024], path[PATH_MAX + 32], ctl[512];
		const char *sep = strstr(line, " - ");
		FILE *c;

		if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 ||
		    sscanf(sep + 3, "%63s %*s %1023s", fstype, opts) != 2)
			continue;
		if (!strcmp(fstype, "cgroup")) {
			/* the super options list the controllers: rw,blkio */
			for (char *t = opts, *e; t && *t && !v1[0]; t = e ? e + 1 : NULL) {
				e = strchr(t, ',');
				if ((e ? (size_t)(e - t) : strlen(t)) == 5 && !strncmp(t, "blkio", 5))
					snprintf(v1, sizeof(v1), "%s", mnt);
			}
			continue;
		}
		if (strcmp(fstype, "cgroup2"))
			continue;
		snprintf(path, sizeof(path), "%s/cgroup.controllers", mnt);
		c = fopen(path, "re");
		if (!c)
			continue;
		if (!fgets(ctl, sizeof(ctl), c))
			ctl[0] = '\0';
		fclose(c);
		for (char *save, *t = strtok_r(ctl, " \n", &save); t; t = strtok_r(NULL, " \n", &save))
			if (!strcmp(t, "io"))
				found = 1;
		if (found)
			snprintf(ret, n, "%s", mnt);
	}
	fclose(f);
	if (found) {
		*ret_v2 = 1;
		return 0;
	}
	if (!v1[0])
		return -ENOENT;
	*ret_v2 = 0;
	snprintf(ret, n, "%s", v1);
	return 0;
}
