/* SPDX-License-Identifier: GPL-2.0-only */
/* A minimal epoll loop whose sources are {fd, callback, data}. */
#include "base/loop.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

struct source {
	int fd;
	loop_fn fn;
	void *data;
	struct source *next; /* all sources, for teardown */
	int dead;            /* removed while an event batch is dispatched */
};

struct loop {
	int epfd;
	int quit;
	struct source *sources;
	int dispatching;
	struct loop_stats st;
};

/* The calling thread's CPU time: what a callback costs the loop, however
 * long the scheduler kept it waiting. */
static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void account(struct loop *l, uint64_t ns)
{
	l->st.dispatches++;
	l->st.cpu_ns += ns;
	if (ns > l->st.cpu_ns_max)
		l->st.cpu_ns_max = ns;
	if (ns > 10000000ull)
		l->st.over_10ms++;
	if (ns > 50000000ull)
		l->st.over_50ms++;
	if (ns > 250000000ull)
		l->st.over_250ms++;
}

int loop_new(struct loop **ret)
{
	struct loop *l = calloc(1, sizeof(*l));
	int e;

	if (!l)
		return -ENOMEM;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		e = -errno;
		free(l);
		return e;
	}
	*ret = l;
	return 0;
}

static void reap(struct loop *l)
{
	struct source **pp = &l->sources;

	while (*pp) {
		struct source *s = *pp;
		if (s->dead) {
			*pp = s->next;
			free(s);
		} else {
			pp = &s->next;
		}
	}
}

struct loop *loop_free(struct loop *l)
{
	if (!l)
		return NULL;
	while (l->sources) {
		struct source *s = l->sources;
		l->sources = s->next;
		free(s);
	}
	if (l->epfd >= 0)
		close(l->epfd);
	free(l);
	return NULL;
}

static struct source *find(struct loop *l, int fd)
{
	for (struct source *s = l->sources; s; s = s->next)
		if (s->fd == fd && !s->dead)
			return s;
	return NULL;
}

int loop_add(struct loop *l, int fd, uint32_t events, loop_fn fn, void *data)
{
	struct source *s = calloc(1, sizeof(*s));
	struct epoll_event ev = { .events = events };

	if (!s)
		return -ENOMEM;
	s->fd = fd;
	s->fn = fn;
	s->data = data;
	ev.data.ptr = s;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int e = errno;
		free(s);
		return -e;
	}
	s->next = l->sources;
	l->sources = s;
	return 0;
}

int loop_mod(struct loop *l, int fd, uint32_t events)
{
	struct source *s = find(l, fd);
	struct epoll_event ev = { .events = events };

	if (!s)
		return -ENOENT;
	ev.data.ptr = s;
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

int loop_del(struct loop *l, int fd)
{
	struct source *s = find(l, fd);

	if (!s)
		return -ENOENT;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	s->dead = 1;
	if (!l->dispatching)
		reap(l);
	return 0;
}

void loop_get_stats(const struct loop *l, struct loop_stats *ret)
{
	*ret = l->st;
}

void loop_quit(struct loop *l)
{
	l->quit = 1;
}

int loop_run(struct loop *l)
{
	struct epoll_event evs[64];

	while (!l->quit) {
		int n = epoll_wait(l->epfd, evs, 64, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		l->dispatching = 1;
		for (int i = 0; i < n && !l->quit; i++) {
			struct source *s = evs[i].data.ptr;
			uint64_t t0;

			if (s->dead)
				continue;
			t0 = thread_cpu_ns();
			s->fn(l, s->fd, evs[i].events, s->data);
			account(l, thread_cpu_ns() - t0);
		}
		l->dispatching = 0;
		reap(l);
	}
	return 0;
}
