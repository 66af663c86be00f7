/* SPDX-License-Identifier: GPL-2.0-only */
/* The pushers: any number of targets, each of one type (Prometheus remote
 * write, Pushgateway, OTLP/HTTP metrics, Pyroscope ingest), each with its
 * own interval, cardinality policy and delivery queue (net/target.h), and
 * the optional scrape endpoint (scrape.h). Nothing here blocks: payloads
 * are built at the tick and sent by curl from the loop.
 *
 * Exactly-once counters: a target's interval ends on a slot boundary, and
 * push_tick() must run right after window_tick() in the daemon's tick,
 * before anything can be added to the slot just opened, so a query over
 * (previous end, data_until] sees each closed slot exactly once (the open
 * slot is still empty). The configuration check keeps an interval a
 * multiple of the fine slot and within the fine tier. */
#ifndef PROFD_PUSH_PUSH_H
#define PROFD_PUSH_PUSH_H

#include <stddef.h>
#include <stdint.h>

#include "metrics/registry.h"
#include "profile/query.h"
#include "push/conf.h"

struct loop;
struct resources;
struct json_object;

struct net;

struct push_opts {
	struct loop *loop;
	struct net *net;                /* the daemon's HTTP engine, shared with the
					 * alert receivers; NULL: one of its own on loop */
	const struct push_conf *targets;
	size_t ntargets;
	const struct push_scrape_conf *scrape; /* NULL: none */
	const char *state_dir;          /* for spools */
	const char *hostname;           /* the host label; NULL: gethostname */
	uint64_t fine_slot_ns;          /* intervals end on its multiples */
};

/* What a tick hands the pushers: the store (through the profile layer's
 * source, data_until_ns being the end of drained data), live gauges and
 * units, and the host's figures (NULL: not pushed). */
struct push_input {
	const struct profile_src *src;
	struct resources *res;
	/* the host's figures; NULL: computed from res and the store for each
	 * interval (CPU and steal over it, the rest as of the last tick) */
	const struct metrics_host *host;
	int exact_cpu;                  /* resources_exact_cpu() */
	uint64_t mem_total;             /* MemTotal, 0: unknown */
};

struct push;

/* Build every target (opening spools, reading credential files) and the
 * scrape listener. A target that cannot be built is logged and left out;
 * 0 and *ret, or -ENOMEM / the scrape listener's -errno. */
int push_new(const struct push_opts *o, struct push **ret);
struct push *push_free(struct push *p);

/* The tick hook: after window_tick(), every tick. */
void push_tick(struct push *p, const struct push_input *in);

/* `status`: an array of per-target objects (name, type, sent, retried,
 * failed, dropped, queue_depth, last_error, last_success_unix_ms, ...)
 * and the scrape endpoint's counters. 0 or -ENOMEM. */
int push_status_json(const struct push *p, struct json_object *ret_obj);

/* Pyroscope's /ingest query string for one application: name is
 * "<app>.cpu{host=...,<label>=...}" ("<app>{...}" with format pprof, whose
 * sample type names the profile), URL-encoded. Returns the length
 * written (snprintf-like), or -ENOSPC. Pure. */
int push_pyroscope_query(char *buf, size_t n, const char *app, const char *host, const char *label,
			 const char *value, uint64_t from_s, uint64_t until_s, uint32_t rate, const char *format);

/* Pyroscope's /ingest body for a pprof profile (profile[0..len)): the
 * multipart/form-data parts "profile" and "sample_type_config", with the
 * boundary of the target's Content-Type. 0 and *ret (free it), -EILSEQ
 * when the profile contains the boundary, -ENOMEM. Pure. */
int push_pyroscope_body(const void *profile, size_t len, char **ret, size_t *ret_len);

/* The URL without its query and credentials, for status and logs. */
void push_url_redacted(const char *url, char *buf, size_t n);

#endif
