/* SPDX-License-Identifier: GPL-2.0-only */
/* Table builder: one worker thread, a queue in, a done list out. See builder.h. */
#include "unwind/builder.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/threads.h"

struct builder {
	int sync;
	pthread_t th;
	/* The mutex guards only the two lists and `stop`. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct builder_job *queue, *queue_tail, *done;
	int stop;
};

void builder_job_run(struct builder_job *j)
{
	if (j->fd >= 0)
		j->err = unwind_table_build_fd(j->fd, &j->t);
	else
		j->err = unwind_table_build_mem(j->mem, j->len, &j->t);
}

struct builder_job *builder_job_free(struct builder_job *j)
{
	if (j) {
		if (j->fd >= 0)
			close(j->fd);
		unwind_table_free(j->t);
		free(j);
	}
	return NULL;
}

static void free_list(struct builder_job *j)
{
	while (j) {
		struct builder_job *n = j->next;

		builder_job_free(j);
		j = n;
	}
}

static void *worker_main(void *arg)
{
	struct builder *b = arg;

	thread_set_name(THREAD_NAME_UNWIND);
	for (;;) {
		struct builder_job *j;

		pthread_mutex_lock(&b->lock);
		while (!b->queue && !b->stop)
			pthread_cond_wait(&b->cond, &b->lock);
		if (b->stop) {
			pthread_mutex_unlock(&b->lock);
			return NULL;
		}
		j = b->queue;
		b->queue = j->next;
		if (!b->queue)
			b->queue_tail = NULL;
		pthread_mutex_unlock(&b->lock);

		builder_job_run(j);

		pthread_mutex_lock(&b->lock);
		j->next = b->done;
		b->done = j;
		pthread_mutex_unlock(&b->lock);
	}
}

int builder_new(int sync, struct builder **ret)
{
	struct builder *b = calloc(1, sizeof(*b));
	int r;

	if (!b)
		return -ENOMEM;
	b->sync = sync;
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->cond, NULL);
	if (!sync) {
		r = -pthread_create(&b->th, NULL, worker_main, b);
		if (r < 0) {
			pthread_cond_destroy(&b->cond);
			pthread_mutex_destroy(&b->lock);
			free(b);
			return r;
		}
	}
	*ret = b;
	return 0;
}

struct builder *builder_free(struct builder *b)
{
	if (!b)
		return NULL;
	if (!b->sync) {
		pthread_mutex_lock(&b->lock);
		b->stop = 1;
		pthread_cond_broadcast(&b->cond);
		pthread_mutex_unlock(&b->lock);
		pthread_join(b->th, NULL);
	}
	free_list(b->queue);
	free_list(b->done);
	pthread_cond_destroy(&b->cond);
	pthread_mutex_destroy(&b->lock);
	free(b);
	return NULL;
}

void builder_submit(struct builder *b, struct builder_job *j)
{
	if (b->sync) {
		builder_job_run(j);
		j->next = b->done;
		b->done = j;
		return;
	}
	j->next = NULL;
	pthread_mutex_lock(&b->lock);
	if (b->queue_tail)
		b->queue_tail->next = j;
	else
		b->queue = j;
	b->queue_tail = j;
	pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

struct builder_job *builder_take_done(struct builder *b)
{
	struct builder_job *d;

	pthread_mutex_lock(&b->lock);
	d = b->done;
	b->done = NULL;
	pthread_mutex_unlock(&b->lock);
	return d;
}
