/* SPDX-License-Identifier: GPL-2.0-only */
/* The configuration of the pushers and the scrape endpoint, as the table
 * in config.c fills it: plain structs, no dependencies, so the config
 * module includes this and nothing else of push/. */
#ifndef PROFD_PUSH_CONF_H
#define PROFD_PUSH_CONF_H

#include <stdint.h>

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

#endif
