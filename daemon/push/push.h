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

struct loop;
struct resources;
struct json_object;

#define PUSH_MAX_TARGETS 16
#define PUSH_NAME_MAX 32
#define PUSH_URL_MAX 512
#define PUSH_PATH_MAX 256

/* One [push NAME] section of the configuration (the table in config.c
 * fills it; push_new re-checks what it relies on). */
struct push_conf {
	char name[PUSH_NAME_MAX + 1];   /* from the section header */
	char type[16];                  /* remote_write | pushgateway | otlp | pyroscope */
	char url[PUSH_URL_MAX];         /* http(s)://host[:port]/path, no user:password@ */
	uint64_t interval_ns;
	uint32_t timeout_ms;
	char ca_file[PUSH_PATH_MAX];
	char client_cert[PUSH_PATH_MAX];
	char client_key[PUSH_PATH_MAX];
	uint32_t tls_verify;            /* 0 only by explicit option: logs a warning */
	char bearer_token_file[PUSH_PATH_MAX];
	char basic_auth_user[128];
	char basic_auth_password_file[PUSH_PATH_MAX];
	uint32_t queue_max;             /* payloads */
	uint64_t queue_bytes;           /* in memory, without spool */
	uint32_t spool;                 /* 1: spool to state_dir/spool/NAME */
	uint64_t spool_bytes;
	uint64_t backoff_max_ns;
	/* metrics targets: the cardinality policy */
	uint32_t top_cpu, top_mem, max_series_procs;
	char units[512];
	/* pushgateway */
	char job[64];
	/* otlp */
	char encoding[16];              /* protobuf | json */
	char service_name[64];
	/* pyroscope */
	char app[64];
	char group_by[8];               /* unit | comm */
	uint32_t max_apps;              /* groups per interval; the rest: "other" */
};

/* The [scrape] section. */
struct push_scrape_conf {
	uint32_t enabled;
	char listen[64];                /* "127.0.0.1:9464", "[::1]:9464" */
	uint64_t interval_ns;           /* how often /metrics is rebuilt */
	uint32_t max_clients;
	uint32_t top_cpu, top_mem, max_series_procs;
	char units[512];
};

struct push_opts {
	struct loop *loop;
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
 * "<app>.cpu{host=...,<label>=...}", URL-encoded. Returns the length
 * written (snprintf-like), or -ENOSPC. Pure. */
int push_pyroscope_query(char *buf, size_t n, const char *app, const char *host, const char *label,
			 const char *value, uint64_t from_s, uint64_t until_s, uint32_t rate, const char *format);

/* The URL without its query and credentials, for status and logs. */
void push_url_redacted(const char *url, char *buf, size_t n);

#endif
