/* SPDX-License-Identifier: GPL-2.0-only */
/* profd configuration: defaults, INI file (inih), command-line overrides,
 * range checks with precise messages. One table drives parsing, checking
 * and the documentation (docs/configuration.md lists the same keys). */
#ifndef PROFD_CONFIG_H
#define PROFD_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "push/conf.h"

#define PROFD_DEFAULT_CONFIG "/etc/profd/profd.conf"

struct config {
	/* [daemon] */
	char socket[108];          /* socket = /run/profd/profd.sock */
	char socket_group[64];     /* socket_group = profd */
	int log_level;             /* log_level = info (error|warning|info|debug) -> 3,4,6,7 (syslog) */
	char state_dir[256];       /* state_dir = /var/lib/profd (push spools, saved windows) */
	uint32_t save_windows;     /* save_windows = yes: windows survive restarts */
	uint64_t save_interval_ns; /* save_interval = 5m (0: at stop only) */
	uint32_t bpf_stats;        /* bpf_stats = no (yes: keep the kernel's BPF run-time statistics on while profd runs) */
	/* [sampling] */
	uint32_t frequency;        /* frequency = 99 (Hz, 1..10000) */
	uint64_t tick_ns;          /* tick = 1s (100ms..10s) */
	uint32_t ringbuf_kib;      /* ringbuf_size = 0 (auto), else KiB, power of two, 64..1048576 */
	uint32_t thread_stacks;    /* thread_stacks = 0 (1: stacks keep the thread id, for --by-thread) */
	uint32_t python_frames;    /* python_frames = yes: Python frames in place of the eval loop's */
	uint32_t dwarf_unwind;     /* dwarf_unwind = yes: user stacks from CFI tables (no: frame pointers) */
	uint32_t max_user_frames;  /* max_user_frames = 128 (16..512) */
	uint64_t unwind_memory;    /* unwind_memory = 32M (1M..4G): the unwind-table pool */
	uint32_t sched_counters;   /* sched_counters = yes (no: no scheduler programs; CPU % from samples) */
	/* [windows] */
	uint64_t fine_slot_ns;     /* fine_slot = 1s   */
	uint32_t fine_slots;       /* fine_slots = 600 */
	uint64_t coarse_slot_ns;   /* coarse_slot = 1m (multiple of fine_slot) */
	uint32_t coarse_slots;     /* coarse_slots = 1440 */
	uint64_t store_max_bytes;  /* memory_limit = 128M */
	/* [limits] */
	uint32_t max_clients;      /* max_clients = 64 */
	uint32_t max_request;      /* max_request = 64K */
	uint64_t max_reply;        /* max_reply = 64M */
	uint32_t client_idle_ms;   /* client_idle_timeout = 30s */
	uint32_t max_procs;        /* max_processes = 32768 */
	uint32_t max_stacks;       /* max_stacks = 200000 */
	uint64_t memory_budget;    /* memory_budget = 384M: every memory bound fits in it */
	uint64_t reply_memory;     /* reply_memory = 64M: queued for all clients together */
	uint64_t query_memory;     /* query_memory = 48M: profiles and encoders of exports */
	uint64_t staging_memory;   /* staging_memory = 32M: drained, not yet in the windows */
	uint32_t query_timeout_ms; /* query_timeout = 10s: longest a query holds the store */
	uint32_t max_queued_queries; /* max_queued_queries = 16 */
	/* [symbols] */
	uint64_t symcache_bytes;   /* cache_size = 96M */
	uint32_t max_objects;      /* max_objects = 16384 */
	char debug_dirs[512];      /* debug_dirs = /usr/lib/debug */
	uint32_t demangle;         /* demangle = yes */
	char debuginfod_urls[184]; /* debuginfod_urls =  (empty: $DEBUGINFOD_URLS) */
	uint64_t debuginfod_cache_bytes; /* debuginfod_cache_size = 1G */
	uint64_t debuginfod_timeout_ns;  /* debuginfod_timeout = 10s */
	/* [push NAME], any number up to PUSH_MAX_TARGETS: see docs/push.md */
	struct push_conf push[PUSH_MAX_TARGETS];
	uint32_t npush;
	/* [scrape] */
	struct push_scrape_conf scrape;
	/* [alerts] (the rules themselves are [rule NAME] sections, read by
	 * daemon/alerts/rules.c; this file skips them) */
	char rules_dir[184];       /* rules_dir = /etc/profd/rules.d/\*.conf (a glob or a directory) */
	uint32_t alert_history;    /* history = 1000 */
	uint32_t max_alerts;       /* max_alerts = 10000 */
	uint64_t stacks_refresh_ns;/* stacks_refresh = 30s */
	uint32_t alert_log;        /* log = yes */
	char alert_host[64];       /* host =  (empty: the hostname) */
	char alertmanager_url[184];/* alertmanager_url =  (empty: none) */
	uint64_t alertmanager_resend_ns; /* alertmanager_resend = 1m */
	char webhook_url[184];     /* webhook_url = */
	uint64_t webhook_resend_ns;/* webhook_resend = 0 (transitions only) */
	uint64_t notify_timeout_ns;/* notify_timeout = 5s */
	uint32_t notify_attempts;  /* notify_attempts = 6 */
	uint64_t notify_backoff_ns;/* notify_backoff = 1s */
	uint64_t notify_backoff_max_ns; /* notify_backoff_max = 1m */
	uint32_t notify_queue;     /* notify_queue = 1024 */
};

/* Fill with defaults. */
void config_defaults(struct config *c);

/* Parse the INI file at path on top of *c. On any error returns a negative
 * errno, leaves *c untouched (parse into a copy) and writes one precise
 * message ("profd.conf:12: frequency = 0: must be 1..10000") to err.
 * -ENOENT when the file does not exist (callers may accept that for the
 * default path). */
int config_load_file(struct config *c, const char *path, char *err, size_t errsz);

/* Set one key by its INI name ("section.key" or bare "key") from a string,
 * with the same checks; used for command-line overrides. 0 or -EINVAL. */
int config_set(struct config *c, const char *key, const char *value, char *err, size_t errsz);

/* Cross-field checks (coarse_slot multiple of fine_slot, the memory
 * bounds within memory_budget, ...). */
int config_validate(const struct config *c, char *err, size_t errsz);

/* Reload: every key whose value differs between a and b, as fn(ctx,
 * name, restart): name "section.key", "push NAME.key", or "push NAME" for
 * a target only one of them has; restart 1 for keys a reload cannot apply
 * (see config_keep_restart). Returns how many differ. */
typedef void (*config_diff_fn)(void *ctx, const char *name, int restart);
int config_diff(const struct config *a, const struct config *b, config_diff_fn fn, void *ctx);
/* Give c the running values of every key that applies only at the next
 * start, so that c is what is in force after a reload. Live keys: log
 * level, sampling frequency and thread_stacks, query_timeout,
 * query_memory (the caller keeps a raise), and [alerts] but its history
 * and max_alerts. */
void config_keep_restart(struct config *c, const struct config *running);
/* Write the effective configuration as INI text (for `profd --print-config`). */
int config_dump(const struct config *c, char *buf, size_t n);

#endif
