/* SPDX-License-Identifier: GPL-2.0-only */
/* The scrape endpoint: an HTTP/1.1 listener in the epoll loop (loopback by
 * default) that serves GET /metrics in the text exposition format. Non-
 * blocking accept, reads and writes; clients, request size and idle time
 * are bounded, and every refusal is counted. The body is built by the
 * pushers at their interval (scrape_set_body) and served as it is, so a
 * scrape costs a copy, never a query. */
#ifndef PROFD_PUSH_SCRAPE_H
#define PROFD_PUSH_SCRAPE_H

#include <stddef.h>
#include <stdint.h>

struct loop;
struct scrape;

#define SCRAPE_MAX_REQUEST 8192   /* request line and headers, bytes */
#define SCRAPE_IDLE_MS 10000      /* a client silent this long is closed */

struct scrape_stats {
	uint64_t clients;          /* connected now */
	uint64_t accepted, served; /* connections, 200 replies */
	uint64_t not_found;        /* 404/405 replies */
	uint64_t rejected;         /* refused at max_clients */
	uint64_t oversized;        /* requests over SCRAPE_MAX_REQUEST */
	uint64_t idle_closed;      /* closed after SCRAPE_IDLE_MS */
};

/* Listen on addr ("127.0.0.1:9464", "[::1]:9464", "0.0.0.0:9464"). 0 and
 * *ret, -EINVAL (address) or the socket's -errno. */
int scrape_new(struct loop *l, const char *addr, uint32_t max_clients, struct scrape **ret);
struct scrape *scrape_free(struct scrape *s);
/* Replace the body served (copied). 0 or -ENOMEM (the old one stays). */
int scrape_set_body(struct scrape *s, const char *body, size_t len);
/* Close idle clients; now in CLOCK_MONOTONIC ms. */
void scrape_tick(struct scrape *s, uint64_t now_ms);
/* The port actually bound (for ":0" in tests). */
int scrape_port(const struct scrape *s);
void scrape_get_stats(const struct scrape *s, struct scrape_stats *ret);

#endif
