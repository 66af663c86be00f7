/* SPDX-License-Identifier: GPL-2.0-only */
/* The daemon's single epoll loop: sources are {fd, callback, data}. */
#ifndef PROFD_LOOP_H
#define PROFD_LOOP_H

#include <stdint.h>

struct loop;

/* Called with the epoll events that fired (EPOLLIN, EPOLLOUT, ...). */
typedef void (*loop_fn)(struct loop *l, int fd, uint32_t events, void *data);

/* 0 and *ret, or -errno (epoll_create1, -ENOMEM); *ret untouched on failure. */
int loop_new(struct loop **ret);
/* Frees the loop (not the fds). Accepts NULL, returns NULL. */
struct loop *loop_free(struct loop *l);

/* Watch fd for events (EPOLLIN|EPOLLOUT...). 0 or -errno. */
int loop_add(struct loop *l, int fd, uint32_t events, loop_fn fn, void *data);
/* Change the events of a watched fd. 0 or -errno. */
int loop_mod(struct loop *l, int fd, uint32_t events);
/* Stop watching fd; safe to call from inside a callback for any fd. */
int loop_del(struct loop *l, int fd);

/* What the callbacks cost the loop's thread, in CPU time: a callback that
 * runs long delays every other source. */
struct loop_stats {
	uint64_t dispatches;    /* callbacks run */
	uint64_t cpu_ns;        /* CPU time they used, total */
	uint64_t cpu_ns_max;    /* the most one of them used */
	uint64_t over_10ms;     /* callbacks that used more than 10 ms */
	uint64_t over_50ms;     /* ... more than 50 ms */
	uint64_t over_250ms;    /* ... more than 250 ms */
};
void loop_get_stats(const struct loop *l, struct loop_stats *ret);

/* Dispatch until loop_quit(). Returns 0 or -errno (epoll_wait failure). */
int loop_run(struct loop *l);
void loop_quit(struct loop *l);

#endif
