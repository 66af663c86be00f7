/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for the query worker: jobs run in order on its thread and
 * come back on the caller's through the eventfd; the queue is bounded
 * (forced jobs excepted); the store turn keeps the loop from writing while
 * the worker reads, and the worker from reading while the loop has writes
 * waiting, without the loop ever waiting. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "api/worker.h"

struct tjob {
	struct worker_job wj;
	int id;
	bool ran, done;
	pthread_t ran_on;
	int *order;
	int *norder;
	struct worker *w;
	bool read_store;   /* take the store for reading in run */
	int *gate;   /* run waits while *gate (atomic) */
	int *inside; /* set while reading (atomic) */
};

static void run(struct worker_job *wj)
{
	struct tjob *j = (struct tjob *)wj;

	j->ran_on = pthread_self();
	__atomic_store_n(&j->ran, true, __ATOMIC_SEQ_CST);
	if (j->read_store)
		worker_store_read_begin(j->w);
	if (j->inside)
		__atomic_store_n(j->inside, 1, __ATOMIC_SEQ_CST);
	while (j->gate && __atomic_load_n(j->gate, __ATOMIC_SEQ_CST))
		usleep(1000);
	j->order[(*j->norder)++] = j->id;
	if (j->inside)
		__atomic_store_n(j->inside, 0, __ATOMIC_SEQ_CST);
	if (j->read_store)
		worker_store_read_end(j->w);
}

static void done(struct worker_job *wj)
{
	struct tjob *j = (struct tjob *)wj;

	j->done = true;
}

/* Waits for the eventfd and dispatches, until every job in js is done. */
static void dispatch_until(struct worker *w, struct tjob *js, int n)
{
	for (int tries = 0; tries < 2000; tries++) {
		struct pollfd p = { .fd = worker_fd(w), .events = POLLIN };
		int all = 1;

		for (int i = 0; i < n; i++)
			all &= js[i].done;
		if (all)
			return;
		if (poll(&p, 1, 10) > 0)
			worker_dispatch(w);
	}
	fail_msg("jobs did not come back");
}

static void test_fifo(void **state)
{
	struct worker *w = NULL;
	struct tjob js[20];
	int order[20], norder = 0;
	struct worker_stats st;

	(void)state;
	assert_int_equal(worker_new(32, &w), 0);
	for (int i = 0; i < 20; i++) {
		js[i] = (struct tjob){ .wj = { .run = run, .done = done }, .id = i, .order = order, .norder = &norder };
		assert_int_equal(worker_submit(w, &js[i].wj), 0);
	}
	dispatch_until(w, js, 20);
	for (int i = 0; i < 20; i++) {
		assert_int_equal(order[i], i);
		assert_true(js[i].ran);
		/* run on the worker, done here */
		assert_false(pthread_equal(js[i].ran_on, pthread_self()));
	}
	worker_get_stats(w, &st);
	assert_int_equal(st.jobs, 20);
	assert_int_equal(st.queued, 0);
	assert_int_equal(st.refused, 0);
	assert_null(worker_free(w));
	assert_null(worker_free(NULL));
}

static void test_bound_and_free(void **state)
{
	struct worker *w = NULL;
	struct tjob js[6];
	int order[6], norder = 0;
	int gate = 1;
	struct worker_stats st;

	(void)state;
	assert_int_equal(worker_new(2, &w), 0);
	/* job 0 runs and blocks; 1 and 2 wait; 3 is refused; a forced 4
	 * passes the bound */
	for (int i = 0; i < 5; i++)
		js[i] = (struct tjob){ .wj = { .run = run, .done = done, .force = i == 4 }, .id = i, .order = order,
				       .norder = &norder, .gate = i == 0 ? &gate : NULL };
	assert_int_equal(worker_submit(w, &js[0].wj), 0);
	for (int tries = 0; tries < 1000 && !__atomic_load_n(&js[0].ran, __ATOMIC_SEQ_CST); tries++)
		usleep(1000);
	assert_true(__atomic_load_n(&js[0].ran, __ATOMIC_SEQ_CST));
	assert_int_equal(worker_submit(w, &js[1].wj), 0);
	assert_int_equal(worker_submit(w, &js[2].wj), 0);
	assert_int_equal(worker_submit(w, &js[3].wj), -EBUSY);
	assert_int_equal(worker_submit(w, &js[4].wj), 0);
	worker_get_stats(w, &st);
	assert_int_equal(st.refused, 1);
	assert_int_equal(st.queued, 3);
	assert_int_equal(st.running, 1);
	__atomic_store_n(&gate, 0, __ATOMIC_SEQ_CST);
	dispatch_until(w, js, 1);
	/* freeing: the jobs not run yet still get done() */
	worker_free(w);
	for (int i = 0; i < 5; i++)
		if (i != 3)
			assert_true(js[i].done);
	assert_false(js[3].done);
}

static void test_store_turn(void **state)
{
	struct worker *w = NULL;
	struct tjob j;
	int order[2], norder = 0;
	int gate = 1, inside = 0;
	struct worker_stats st;

	(void)state;
	assert_int_equal(worker_new(4, &w), 0);
	/* the loop holds the store: the worker's read waits for it */
	assert_true(worker_store_try_acquire(w));
	j = (struct tjob){ .wj = { .run = run, .done = done }, .id = 1, .order = order, .norder = &norder, .w = w,
			   .read_store = true, .gate = &gate, .inside = &inside };
	assert_int_equal(worker_submit(w, &j.wj), 0);
	usleep(50 * 1000);
	assert_true(__atomic_load_n(&j.ran, __ATOMIC_SEQ_CST));
	assert_false(__atomic_load_n(&inside, __ATOMIC_SEQ_CST));
	assert_false(worker_store_busy(w));
	/* released with more to write: still waiting */
	worker_store_release(w, true);
	usleep(50 * 1000);
	assert_false(__atomic_load_n(&inside, __ATOMIC_SEQ_CST));
	/* the last slice: the worker reads */
	assert_true(worker_store_try_acquire(w));
	worker_store_release(w, false);
	for (int tries = 0; tries < 1000 && !__atomic_load_n(&inside, __ATOMIC_SEQ_CST); tries++)
		usleep(1000);
	assert_true(__atomic_load_n(&inside, __ATOMIC_SEQ_CST));
	assert_true(worker_store_busy(w));
	/* while it reads, the loop is refused at once (it never waits) */
	assert_false(worker_store_try_acquire(w));
	__atomic_store_n(&gate, 0, __ATOMIC_SEQ_CST);
	dispatch_until(w, &j, 1);
	/* the end of the read woke the loop; its turn comes */
	assert_true(worker_store_try_acquire(w));
	worker_store_release(w, false);
	worker_get_stats(w, &st);
	assert_int_equal(st.reads, 1);
	assert_true(st.loop_denied >= 1);
	assert_true(st.read_wait_ns_max >= 50 * 1000000ull);
	worker_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fifo),
		cmocka_unit_test(test_bound_and_free),
		cmocka_unit_test(test_store_turn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
