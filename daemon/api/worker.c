/* SPDX-License-Identifier: GPL-2.0-only */
/* The query worker and the store turn, see worker.h. One mutex guards the
 * queues and the turn; the loop only ever holds it for a few instructions,
 * never waits on a condition, so it cannot be stalled by the worker. */
#include "api/worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/threads.h"
#include "common/clock.h"

struct worker {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t job_cond;   /* a job came, or quit */
	pthread_cond_t store_cond; /* the loop took its turn, or quit */
	struct worker_job *q_head, *q_tail;
	size_t nbounded;           /* waiting jobs that count against max_queued */
	struct worker_job *done_head, *done_tail;
	size_t max_queued;
	bool quit;
	int efd;
	/* the store turn */
	bool reading, writing, want;
	uint64_t read_start_ns;
	struct worker_stats st;
};

static void wake_loop(struct worker *w)
{
	uint64_t one = 1;

	/* An eventfd write fails only when the counter would overflow: then
	 * it is readable anyway. */
	if (write(w->efd, &one, sizeof(one)) < 0)
		return;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	thread_set_name(THREAD_NAME_QUERY);
	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct worker_job *j;

		while (!w->q_head && !w->quit)
			pthread_cond_wait(&w->job_cond, &w->mu);
		if (w->quit)
			break;
		j = w->q_head;
		w->q_head = j->next;
		if (!w->q_head)
			w->q_tail = NULL;
		if (!j->force)
			w->nbounded--;
		w->st.queued--;
		w->st.running = 1;
		pthread_mutex_unlock(&w->mu);

		j->run(j);

		pthread_mutex_lock(&w->mu);
		w->st.running = 0;
		w->st.jobs++;
		j->next = NULL;
		if (w->done_tail)
			w->done_tail->next = j;
		else
			w->done_head = j;
		w->done_tail = j;
		wake_loop(w);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

int worker_new(size_t max_queued, struct worker **ret)
{
	struct worker *w = calloc(1, sizeof(*w));
	int r;

	if (!w)
		return -ENOMEM;
	w->max_queued = max_queued ? max_queued : 1;
	w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->efd < 0) {
		r = -errno;
		free(w);
		return r;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->job_cond, NULL);
	pthread_cond_init(&w->store_cond, NULL);
	r = -pthread_create(&w->thread, NULL, worker_main, w);
	if (r < 0) {
		pthread_cond_destroy(&w->store_cond);
		pthread_cond_destroy(&w->job_cond);
		pthread_mutex_destroy(&w->mu);
		close(w->efd);
		free(w);
		return r;
	}
	*ret = w;
	return 0;
}

static void finish_all(struct worker_job *j)
{
	while (j) {
		struct worker_job *next = j->next;

		j->done(j);
		j = next;
	}
}

struct worker *worker_free(struct worker *w)
{
	struct worker_job *q, *d;

	if (!w)
		return NULL;
	pthread_mutex_lock(&w->mu);
	w->quit = true;
	pthread_cond_broadcast(&w->job_cond);
	pthread_cond_broadcast(&w->store_cond);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	/* Finished jobs first, then those never run: done() frees them. */
	d = w->done_head;
	q = w->q_head;
	w->done_head = w->done_tail = w->q_head = w->q_tail = NULL;
	finish_all(d);
	finish_all(q);
	pthread_cond_destroy(&w->store_cond);
	pthread_cond_destroy(&w->job_cond);
	pthread_mutex_destroy(&w->mu);
	close(w->efd);
	free(w);
	return NULL;
}

int worker_fd(const struct worker *w)
{
	return w->efd;
}

int worker_submit(struct worker *w, struct worker_job *j)
{
	pthread_mutex_lock(&w->mu);
	if (!j->force && w->nbounded >= w->max_queued) {
		w->st.refused++;
		pthread_mutex_unlock(&w->mu);
		return -EBUSY;
	}
	j->next = NULL;
	if (w->q_tail)
		w->q_tail->next = j;
	else
		w->q_head = j;
	w->q_tail = j;
	if (!j->force)
		w->nbounded++;
	w->st.queued++;
	if (w->st.queued > w->st.queued_max)
		w->st.queued_max = w->st.queued;
	pthread_cond_signal(&w->job_cond);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

void worker_dispatch(struct worker *w)
{
	struct worker_job *d;
	uint64_t v;

	if (read(w->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&w->mu);
	d = w->done_head;
	w->done_head = w->done_tail = NULL;
	pthread_mutex_unlock(&w->mu);
	finish_all(d);
}

void worker_get_stats(struct worker *w, struct worker_stats *ret)
{
	pthread_mutex_lock(&w->mu);
	*ret = w->st;
	pthread_mutex_unlock(&w->mu);
}

bool worker_has_queue(struct worker *w)
{
	bool r;

	pthread_mutex_lock(&w->mu);
	r = w->q_head != NULL;
	pthread_mutex_unlock(&w->mu);
	return r;
}

bool worker_store_try_acquire(struct worker *w)
{
	bool ok;

	pthread_mutex_lock(&w->mu);
	ok = !w->reading;
	if (ok) {
		w->writing = true;
	} else {
		w->want = true;
		w->st.loop_denied++;
	}
	pthread_mutex_unlock(&w->mu);
	return ok;
}

void worker_store_release(struct worker *w, bool more)
{
	pthread_mutex_lock(&w->mu);
	w->writing = false;
	w->want = more;
	if (!more)
		pthread_cond_broadcast(&w->store_cond);
	pthread_mutex_unlock(&w->mu);
}

bool worker_store_busy(struct worker *w)
{
	bool r;

	pthread_mutex_lock(&w->mu);
	r = w->reading;
	pthread_mutex_unlock(&w->mu);
	return r;
}

void worker_store_read_begin(struct worker *w)
{
	uint64_t t0 = clock_mono_ns(), waited;

	pthread_mutex_lock(&w->mu);
	/* The loop's staged writes go first: queries see fresh data and the
	 * staging area is emptied between two reads. At shutdown the loop
	 * writes no more, so reading is safe without its turn. */
	while ((w->writing || w->want) && !w->quit)
		pthread_cond_wait(&w->store_cond, &w->mu);
	w->reading = true;
	w->read_start_ns = clock_mono_ns();
	waited = w->read_start_ns - t0;
	if (waited > w->st.read_wait_ns_max)
		w->st.read_wait_ns_max = waited;
	w->st.reads++;
	pthread_mutex_unlock(&w->mu);
}

void worker_store_read_end(struct worker *w)
{
	uint64_t held;

	pthread_mutex_lock(&w->mu);
	w->reading = false;
	held = clock_mono_ns() - w->read_start_ns;
	if (held > w->st.read_ns_max)
		w->st.read_ns_max = held;
	/* The loop learns it may take its turn now. */
	if (w->want)
		wake_loop(w);
	pthread_mutex_unlock(&w->mu);
}
