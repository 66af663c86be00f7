/* SPDX-License-Identifier: GPL-2.0-only */
/* Symbol-file worker: exec, identify, load and fetch threads, a queue each,
 * one done list, an eventfd; the work itself in symident.c and symload.c. */
#include "symbols/symloader.h"
#include "symbols/symloader_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "base/threads.h"

static struct symloader *leaked[LEAKED_MAX];

struct symloader_job *symloader_job_new(enum symloader_kind kind)
{
	struct symloader_job *j = calloc(1, sizeof(*j));

	if (j)
		j->kind = kind;
	return j;
}

void symloader_cand_clear(struct symloader_cand *c)
{
	free(c->root);
	free(c->path);
	*c = (struct symloader_cand){ 0 };
}

int symloader_cand_set(struct symloader_cand *c, const char *root, const char *path, int magic)
{
	c->root = root ? strdup(root) : NULL;
	c->path = strdup(path);
	c->magic = magic;
	if (!c->path || (root && !c->root)) {
		symloader_cand_clear(c);
		return -ENOMEM;
	}
	return 0;
}

struct symloader_job *symloader_job_free(struct symloader_job *j)
{
	if (!j)
		return NULL;
	for (size_t i = 0; i < SYMLOADER_PATHS; i++)
		symloader_cand_clear(&j->paths[i]);
	for (size_t i = 0; i < j->nidents; i++) {
		free(j->idents[i].logical);
		for (size_t k = 0; k < SYMLOADER_IDENT_PATHS; k++)
			symloader_cand_clear(&j->idents[i].cands[k]);
	}
	free(j->idents);
	free(j->maps);
	free(j->logical_dir);
	free(j->path);
	elfsym_free(j->table);
	perfmap_free(j->perfmap);
	free(j);
	return NULL;
}

static void run_job(struct symloader *l, struct symloader_job *j)
{
	switch (j->kind) {
	case SYMLOADER_LOAD:
		symloader_run_load(l, j);
		break;
	case SYMLOADER_MAPS:
		symloader_run_maps(l, j);
		break;
	case SYMLOADER_EXEC:
		symloader_run_exec(l, j);
		break;
	case SYMLOADER_PERFMAP:
		symloader_run_perfmap(l, j);
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
	int which = ((struct worker_arg *)arg)->which;
	struct worker *w = &l->w[which];
	static const char *const names[W_COUNT] = {
		[W_EXEC] = THREAD_NAME_SYM_EXEC,
		[W_IDENTIFY] = THREAD_NAME_SYM_IDENT,
		[W_LOAD] = THREAD_NAME_SYM_LOAD,
		[W_FETCH] = THREAD_NAME_DEBUGINFOD,
	};

	free(arg);
	thread_set_name(names[which]);
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
	dbginfod_free(l->dbginfod);
	if (l->vdso_fd >= 0)
		close(l->vdso_fd);
	free(l);
}

int symloader_remote(const struct symloader *l)
{
	return l->dbginfod != NULL;
}

const char *symloader_remote_urls(const struct symloader *l)
{
	return l->dbginfod ? dbginfod_urls(l->dbginfod) : NULL;
}

int symloader_has_vdso(const struct symloader *l)
{
	return l->vdso_fd >= 0;
}

int symloader_new(const struct symloader_opts *opts, struct symloader **ret)
{
	struct symloader *l = calloc(1, sizeof(*l));
	int r = 0;

	if (!l) {
		dbginfod_free(opts->dbginfod);
		return -ENOMEM;
	}
	l->efd = -1;
	l->vdso_fd = -1;
	l->dbginfod = opts->dbginfod;
	pthread_mutex_init(&l->lock, NULL);
	pthread_mutex_init(&l->idlock, NULL);
	for (int i = 0; i < W_COUNT; i++)
		pthread_cond_init(&l->w[i].cond, NULL);
	l->threads = opts->threads;
	l->load_flags = opts->load_flags;
	symloader_vdso_init(l);
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
			struct worker_arg *a;

			if (i == W_FETCH && !l->dbginfod)
				continue; /* nothing will ever be queued for it */
			a = malloc(sizeof(*a));

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
	__atomic_store_n(&l->stop, 1, __ATOMIC_RELAXED);
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
	struct worker *w;

	switch (j->kind) {
	case SYMLOADER_LOAD:
		w = &l->w[j->remote && l->dbginfod ? W_FETCH : W_LOAD];
		break;
	case SYMLOADER_PERFMAP:
		w = &l->w[W_LOAD];
		break;
	case SYMLOADER_MAPS:
		w = &l->w[W_IDENTIFY];
		break;
	default:
		w = &l->w[W_EXEC];
		break;
	}

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
