/* SPDX-License-Identifier: GPL-2.0-only */
/* profd configuration: one table of keys drives the defaults, the INI parser
 * (inih), command-line overrides, range checks and --print-config. Pure
 * module: no logging, every error is one precise message in the caller's
 * buffer. */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "common/fmt.h"

/* A config file is a few KiB; anything past this is not a config file (a
 * wrong path, a log, /dev/zero) and must not make us allocate without bound. */
#define CONFIG_MAX_FILE (1024 * 1024)

enum key_type {
	KEY_UINT,     /* decimal count, no sign, no unit */
	KEY_DURATION, /* fmt_parse_duration; min/max in ns */
	KEY_SIZE,     /* fmt_parse_size; min/max in bytes */
	KEY_STRING,   /* copied into a char array; max = longest allowed length */
	KEY_LOGLEVEL, /* error|warning|info|debug -> syslog level (int) */
	KEY_BOOL,     /* yes/no, true/false, on/off, 1/0 -> uint32 0/1 */
	KEY_CHOICE,   /* a string that must be one of key.choices ('|'-separated) */
};

enum {
	KEY_ZERO_AUTO = 1 << 0, /* 0 is allowed outside [min, max] and means "auto" */
	KEY_POW2 = 1 << 1,      /* non-zero values must be a power of two */
	KEY_ABSPATH = 1 << 2,   /* string must be an absolute path */
	KEY_PATHLIST = 1 << 3,  /* string is ':'-separated absolute paths */
	KEY_NONEMPTY = 1 << 4,  /* string must not be empty */
	KEY_PUSH = 1 << 5,      /* a key of a [push NAME] section: offset into struct push_conf */
	KEY_URL = 1 << 6,       /* string is empty or an http:// or https:// URL */
	KEY_URLS = 1 << 7,      /* string is empty or space-separated http://, https:// or file:// URLs */
};

struct key {
	const char *section;
	const char *name;
	enum key_type type;
	size_t offset; /* into struct config */
	size_t width;  /* sizeof the field: 4 or 8 for numbers, array size for strings */
	uint64_t scale; /* parsed units per stored unit (ns per ms, bytes per KiB), else 1 */
	uint64_t min, max; /* in parsed units: count, ns or bytes */
	unsigned flags;
	const char *def;  /* default, as it would be written in the file */
	const char *doc;  /* one line: meaning, units, range */
	const char *choices; /* KEY_CHOICE: "a|b|c" */
};

#define FIELD(m) offsetof(struct config, m), sizeof(((struct config *)0)->m)
#define PFIELD(m) offsetof(struct push_conf, m), sizeof(((struct push_conf *)0)->m)

#define MS UINT64_C(1000000)
#define SEC (1000 * MS)
#define KIB UINT64_C(1024)
#define MIB (1024 * KIB)
#define GIB (1024 * MIB)

static const struct key keys[] = {
	{ "daemon", "socket", KEY_STRING, FIELD(socket), 1, 1, 107, KEY_ABSPATH,
	  "/run/profd/profd.sock", "Unix socket path for profctl (absolute, at most 107 characters)", NULL },
	{ "daemon", "socket_group", KEY_STRING, FIELD(socket_group), 1, 1, 63, KEY_NONEMPTY,
	  "profd", "group that owns the socket (mode 0660); its members may query profd", NULL },
	{ "daemon", "log_level", KEY_LOGLEVEL, FIELD(log_level), 1, LOG_ERR, LOG_DEBUG, 0,
	  "info", "error, warning, info or debug", NULL },
	{ "daemon", "state_dir", KEY_STRING, FIELD(state_dir), 1, 1, 180, KEY_ABSPATH,
	  "/var/lib/profd", "directory for state that survives restarts (push spools under spool/NAME)", NULL },
	{ "daemon", "save_windows", KEY_BOOL, FIELD(save_windows), 1, 0, 1, 0,
	  "yes", "save the windows to state_dir/profd.state at stop (and periodically) and load them at start", NULL },
	{ "daemon", "save_interval", KEY_DURATION, FIELD(save_interval_ns), 1, 10 * SEC, 86400 * SEC, KEY_ZERO_AUTO,
	  "5m", "how often the coarse tier is saved while running (10s..1d; 0: only at stop)", NULL },
	{ "daemon", "bpf_stats", KEY_BOOL, FIELD(bpf_stats), 1, 0, 1, 0,
	  "no", "keep the kernel's BPF run-time statistics on while profd runs, so status shows its BPF programs' cost (about 20-40 ns more per program run; applies at restart)", NULL },

	{ "sampling", "frequency", KEY_UINT, FIELD(frequency), 1, 1, 10000, 0,
	  "99", "CPU samples per second per CPU, Hz (1..10000)", NULL },
	{ "sampling", "tick", KEY_DURATION, FIELD(tick_ns), 1, 100 * MS, 10 * SEC, 0,
	  "1s", "how often samples are drained into the windows (100ms..10s)", NULL },
	{ "sampling", "ringbuf_size", KEY_SIZE, FIELD(ringbuf_kib), KIB, 64 * KIB, GIB,
	  KEY_ZERO_AUTO | KEY_POW2,
	  "0", "BPF event ring buffer; 0 = auto, else a power of two (64K..1G)", NULL },
	{ "sampling", "thread_stacks", KEY_UINT, FIELD(thread_stacks), 1, 0, 1, 0,
	  "0", "1: keep each sample's thread id with its stack (export --by-thread); stacks become per thread", NULL },
	{ "sampling", "dwarf_unwind", KEY_BOOL, FIELD(dwarf_unwind), 1, 0, 1, 0,
	  "yes", "unwind user stacks in the kernel with the objects' CFI (.eh_frame); no: frame pointers only", NULL },
	{ "sampling", "python_frames", KEY_BOOL, FIELD(python_frames), 1, 0, 1, 0,
	  "yes", "name CPython 3.11 frames (file.py:function) in place of the interpreter's _PyEval_EvalFrameDefault frames (needs dwarf_unwind; applies at restart)", NULL },
	{ "sampling", "max_user_frames", KEY_UINT, FIELD(max_user_frames), 1, 16, 512, 0,
	  "128", "user frames kept per sample; deeper stacks are cut and flagged (16..512)", NULL },
	{ "sampling", "unwind_memory", KEY_SIZE, FIELD(unwind_memory), 1, MIB, 4 * GIB, 0,
	  "32M", "kernel memory for unwind tables, allocated at start; past it objects go without (1M..4G)", NULL },
	{ "sampling", "sched_counters", KEY_BOOL, FIELD(sched_counters), 1, 0, 1, 0,
	  "yes", "exact per-process CPU, switches and run-queue latency from scheduler programs run at every context switch; no: CPU % from samples (applies at restart)", NULL },

	{ "windows", "fine_slot", KEY_DURATION, FIELD(fine_slot_ns), 1, 100 * MS, 3600 * SEC, 0,
	  "1s", "length of one fine slot; a multiple of tick (100ms..1h)", NULL },
	{ "windows", "fine_slots", KEY_UINT, FIELD(fine_slots), 1, 10, 1000000, 0,
	  "600", "number of fine slots kept (10..1000000)", NULL },
	{ "windows", "coarse_slot", KEY_DURATION, FIELD(coarse_slot_ns), 1, SEC, 86400 * SEC, 0,
	  "1m", "length of one coarse slot; a multiple of fine_slot (1s..1d)", NULL },
	{ "windows", "coarse_slots", KEY_UINT, FIELD(coarse_slots), 1, 1, 1000000, 0,
	  "1440", "number of coarse slots kept (1..1000000)", NULL },
	{ "windows", "memory_limit", KEY_SIZE, FIELD(store_max_bytes), 1, MIB, 64 * GIB, 0,
	  "128M", "memory bound of the window store; past it old detail is coarsened (1M..64G)", NULL },

	{ "limits", "max_clients", KEY_UINT, FIELD(max_clients), 1, 1, 4096, 0,
	  "64", "concurrent socket clients (1..4096)", NULL },
	{ "limits", "max_request", KEY_SIZE, FIELD(max_request), 1, KIB, 16 * MIB, 0,
	  "64K", "largest request line accepted from a client (1K..16M)", NULL },
	{ "limits", "max_reply", KEY_SIZE, FIELD(max_reply), 1, MIB, 16 * GIB, 0,
	  "32M", "largest reply (JSON plus binary payload) sent to a client (1M..16G)", NULL },
	{ "limits", "client_idle_timeout", KEY_DURATION, FIELD(client_idle_ms), MS, SEC, 86400 * SEC, 0,
	  "30s", "a client silent for this long is disconnected (1s..1d)", NULL },
	{ "limits", "max_processes", KEY_UINT, FIELD(max_procs), 1, 64, 4000000, 0,
	  "32768", "processes tracked at once (64..4000000)", NULL },
	{ "limits", "max_stacks", KEY_UINT, FIELD(max_stacks), 1, 1024, 100000000, 0,
	  "200000", "distinct stacks interned (1024..100000000)", NULL },
	{ "limits", "memory_budget", KEY_SIZE, FIELD(memory_budget), 1, 16 * MIB, 256 * GIB, 0,
	  "384M", "memory profd may use: the store, symbol cache, reply, query and staging bounds and the unwind tables must fit in it (16M..256G)", NULL },
	{ "limits", "reply_memory", KEY_SIZE, FIELD(reply_memory), 1, MIB, 64 * GIB, 0,
	  "32M", "bytes queued for all clients together; streamed exports pause past it (1M..64G)", NULL },
	{ "limits", "query_memory", KEY_SIZE, FIELD(query_memory), 1, MIB, 64 * GIB, 0,
	  "48M", "memory of the profiles and encoders of exports in progress; a larger export is refused (1M..64G)", NULL },
	{ "limits", "staging_memory", KEY_SIZE, FIELD(staging_memory), 1, 256 * KIB, 16 * GIB, 0,
	  "32M", "records drained from the ring buffers and not yet in the windows (256K..16G)", NULL },
	{ "limits", "query_timeout", KEY_DURATION, FIELD(query_timeout_ms), MS, 100 * MS, 600 * SEC, 0,
	  "10s", "longest a query may read the store; past it the query is aborted (100ms..10m)", NULL },
	{ "limits", "max_queued_queries", KEY_UINT, FIELD(max_queued_queries), 1, 1, 4096, 0,
	  "16", "queries waiting for the query worker; more are refused with busy (1..4096)", NULL },

	{ "symbols", "cache_size", KEY_SIZE, FIELD(symcache_bytes), 1, MIB, 64 * GIB, 0,
	  "96M", "memory bound of the symbol cache (1M..64G)", NULL },
	{ "symbols", "max_objects", KEY_UINT, FIELD(max_objects), 1, 64, 10000000, 0,
	  "16384", "ELF objects (binaries, libraries) kept in the symbol cache (64..10000000)", NULL },
	/* 180, not 511: a config line holds at most 198 characters (inih's
	 * line buffer), and --print-config output must parse back. */
	{ "symbols", "debug_dirs", KEY_STRING, FIELD(debug_dirs), 1, 0, 180, KEY_PATHLIST,
	  "/usr/lib/debug", "':'-separated directories searched for debug files (by build-id, debuglink)", NULL },
	{ "symbols", "demangle", KEY_BOOL, FIELD(demangle), 1, 0, 1, 0,
	  "yes", "keep a demangled name beside each C++/Rust name (export --no-demangle shows the raw one); no saves their memory", NULL },
	{ "symbols", "debuginfod_urls", KEY_STRING, FIELD(debuginfod_urls), 1, 0, 180, KEY_URLS,
	  "", "space-separated debuginfod servers asked for debug files by build-id; empty: the daemon's $DEBUGINFOD_URLS; neither: off", NULL },
	{ "symbols", "debuginfod_cache_size", KEY_SIZE, FIELD(debuginfod_cache_bytes), 1, 16 * MIB, 1024 * GIB, 0,
	  "1G", "bound of the debuginfod cache under state_dir/debuginfod, least recently used files go first (16M..1T)", NULL },
	{ "symbols", "debuginfod_timeout", KEY_DURATION, FIELD(debuginfod_timeout_ns), 1, SEC, 300 * SEC, 0,
	  "10s", "a debuginfod server must start sending within this; a download may take 6 times as long (1s..5m)", NULL },

	{ "scrape", "enabled", KEY_BOOL, FIELD(scrape.enabled), 1, 0, 1, 0,
	  "no", "serve /metrics (Prometheus text format) for servers that pull", NULL },
	{ "scrape", "listen", KEY_STRING, FIELD(scrape.listen), 1, 1, 63, KEY_NONEMPTY,
	  "127.0.0.1:9464", "address:port of the scrape endpoint ([::1]:9464 for IPv6); loopback unless widened here", NULL },
	{ "scrape", "interval", KEY_DURATION, FIELD(scrape.interval_ns), 1, SEC, 600 * SEC, 0,
	  "15s", "how often /metrics is rebuilt (1s..10m; a multiple of fine_slot)", NULL },
	{ "scrape", "max_clients", KEY_UINT, FIELD(scrape.max_clients), 1, 1, 256, 0,
	  "8", "concurrent scrape connections (1..256)", NULL },
	{ "scrape", "top_cpu", KEY_UINT, FIELD(scrape.top_cpu), 1, 0, 10000, 0,
	  "20", "processes with series of their own: the top N by CPU time (0..10000)", NULL },
	{ "scrape", "top_memory", KEY_UINT, FIELD(scrape.top_mem), 1, 0, 10000, 0,
	  "20", "... and the top N by resident memory (0..10000)", NULL },
	{ "scrape", "max_processes", KEY_UINT, FIELD(scrape.max_series_procs), 1, 1, 100000, 0,
	  "200", "bound on processes with series of their own; the rest are comm=\"other\" (1..100000)", NULL },
	{ "scrape", "units", KEY_STRING, FIELD(scrape.units), 1, 0, 180, 0,
	  "", "space-separated systemd units whose every process gets its own series", NULL },

	/* [push NAME]: repeated sections, one per target (see docs/push.md) */
	{ "push", "type", KEY_CHOICE, PFIELD(type), 1, 1, 15, KEY_PUSH,
	  "remote_write", "remote_write, pushgateway, otlp or pyroscope", "remote_write|pushgateway|otlp|pyroscope" },
	{ "push", "url", KEY_STRING, PFIELD(url), 1, 1, 180, KEY_PUSH,
	  "", "http:// or https:// URL of the receiver (required; no user:password@: use the auth keys)", NULL },
	{ "push", "interval", KEY_DURATION, PFIELD(interval_ns), 1, SEC, 600 * SEC, KEY_PUSH,
	  "15s", "push period (1s..10m; a multiple of fine_slot)", NULL },
	{ "push", "timeout", KEY_DURATION, PFIELD(timeout_ms), MS, 100 * MS, 300 * SEC, KEY_PUSH,
	  "10s", "bound on one request, connection included (100ms..5m)", NULL },
	{ "push", "ca_file", KEY_STRING, PFIELD(ca_file), 1, 0, 180, KEY_PUSH,
	  "", "PEM CA bundle to verify the receiver with; empty: the system's CAs", NULL },
	{ "push", "client_cert", KEY_STRING, PFIELD(client_cert), 1, 0, 180, KEY_PUSH,
	  "", "PEM client certificate (mutual TLS); empty: none", NULL },
	{ "push", "client_key", KEY_STRING, PFIELD(client_key), 1, 0, 180, KEY_PUSH,
	  "", "PEM key of client_cert; empty: in the certificate file", NULL },
	{ "push", "tls_verify", KEY_BOOL, PFIELD(tls_verify), 1, 0, 1, KEY_PUSH,
	  "yes", "verify the receiver's certificate and name; no: logs a warning at start", NULL },
	{ "push", "bearer_token_file", KEY_STRING, PFIELD(bearer_token_file), 1, 0, 180, KEY_PUSH,
	  "", "file whose first line is sent as 'Authorization: Bearer'; never logged", NULL },
	{ "push", "basic_auth_user", KEY_STRING, PFIELD(basic_auth_user), 1, 0, 127, KEY_PUSH,
	  "", "HTTP basic auth user; empty: none", NULL },
	{ "push", "basic_auth_password_file", KEY_STRING, PFIELD(basic_auth_password_file), 1, 0, 180, KEY_PUSH,
	  "", "file whose first line is the basic auth password; never logged", NULL },
	{ "push", "queue_max", KEY_UINT, PFIELD(queue_max), 1, 2, 1000000, KEY_PUSH,
	  "240", "payloads held while the receiver is unreachable; past it the oldest is dropped (2..1000000)", NULL },
	{ "push", "queue_memory", KEY_SIZE, PFIELD(queue_bytes), 1, 64 * KIB, 4 * GIB, KEY_PUSH,
	  "64M", "memory bound of the queue without a spool (64K..4G)", NULL },
	{ "push", "spool", KEY_BOOL, PFIELD(spool), 1, 0, 1, KEY_PUSH,
	  "no", "keep the queue on disk under state_dir/spool/NAME: it survives restarts", NULL },
	{ "push", "spool_size", KEY_SIZE, PFIELD(spool_bytes), 1, MIB, 64 * GIB, KEY_PUSH,
	  "256M", "disk bound of the spool; past it the oldest payload is dropped (1M..64G)", NULL },
	{ "push", "backoff_max", KEY_DURATION, PFIELD(backoff_max_ns), 1, SEC, 3600 * SEC, KEY_PUSH,
	  "2m", "longest wait between retries (1s..1h); retries start at 1s and double", NULL },
	{ "push", "top_cpu", KEY_UINT, PFIELD(top_cpu), 1, 0, 10000, KEY_PUSH,
	  "20", "processes with series of their own: the top N by CPU time in the interval (0..10000)", NULL },
	{ "push", "top_memory", KEY_UINT, PFIELD(top_mem), 1, 0, 10000, KEY_PUSH,
	  "20", "... and the top N by resident memory (0..10000)", NULL },
	{ "push", "max_processes", KEY_UINT, PFIELD(max_series_procs), 1, 1, 100000, KEY_PUSH,
	  "200", "bound on processes with series of their own; the rest are summed as comm=\"other\" (1..100000)", NULL },
	{ "push", "units", KEY_STRING, PFIELD(units), 1, 0, 180, KEY_PUSH,
	  "", "space-separated systemd units whose every process gets its own series", NULL },
	{ "push", "job", KEY_STRING, PFIELD(job), 1, 1, 63, KEY_PUSH | KEY_NONEMPTY,
	  "profd", "pushgateway: the job of the group /metrics/job/JOB/instance/HOST", NULL },
	{ "push", "encoding", KEY_CHOICE, PFIELD(encoding), 1, 1, 15, KEY_PUSH,
	  "protobuf", "otlp: protobuf or json", "protobuf|json" },
	{ "push", "service_name", KEY_STRING, PFIELD(service_name), 1, 1, 63, KEY_PUSH | KEY_NONEMPTY,
	  "profd", "otlp: the service.name resource attribute", NULL },
	{ "push", "app", KEY_STRING, PFIELD(app), 1, 1, 63, KEY_PUSH | KEY_NONEMPTY,
	  "profd", "pyroscope: application name prefix (APP.cpu{host=...,unit=...})", NULL },
	{ "push", "group_by", KEY_CHOICE, PFIELD(group_by), 1, 1, 7, KEY_PUSH,
	  "unit", "pyroscope: one application per unit (comm where none) or per comm", "unit|comm" },
	{ "push", "max_apps", KEY_UINT, PFIELD(max_apps), 1, 1, 10000, KEY_PUSH,
	  "50", "pyroscope: applications per interval; the rest are one comm=\"other\" (1..10000)", NULL },
	  
	{ "alerts", "rules_dir", KEY_STRING, FIELD(rules_dir), 1, 0, 180, KEY_ABSPATH,
	  "/etc/profd/rules.d/*.conf", "alert rule files: a glob, or a directory (its *.conf files), read in name order", NULL },
	{ "alerts", "history", KEY_UINT, FIELD(alert_history), 1, 10, 1000000, 0,
	  "1000", "alert transitions (firing, resolved) kept for profctl alerts --history (10..1000000)", NULL },
	{ "alerts", "max_alerts", KEY_UINT, FIELD(max_alerts), 1, 10, 1000000, 0,
	  "10000", "pending and firing alerts at once; more are refused and counted (10..1000000)", NULL },
	{ "alerts", "stacks_refresh", KEY_DURATION, FIELD(stacks_refresh_ns), 1, SEC, 3600 * SEC, 0,
	  "30s", "a firing alert's stacks are taken again this often (1s..1h)", NULL },
	{ "alerts", "log", KEY_BOOL, FIELD(alert_log), 1, 0, 1, 0,
	  "yes", "log every alert transition", NULL },
	{ "alerts", "host", KEY_STRING, FIELD(alert_host), 1, 0, 63, 0,
	  "", "the host label of notifications; empty: the hostname", NULL },
	{ "alerts", "alertmanager_url", KEY_STRING, FIELD(alertmanager_url), 1, 0, 180, KEY_URL,
	  "", "Prometheus Alertmanager (http://host:9093); alerts are POSTed to /api/v2/alerts; empty: none", NULL },
	{ "alerts", "alertmanager_resend", KEY_DURATION, FIELD(alertmanager_resend_ns), 1, SEC, 3600 * SEC, 0,
	  "1m", "firing alerts are sent to Alertmanager again this often (1s..1h)", NULL },
	{ "alerts", "webhook_url", KEY_STRING, FIELD(webhook_url), 1, 0, 180, KEY_URL,
	  "", "a JSON webhook, POSTed on every firing and resolved transition; empty: none", NULL },
	{ "alerts", "webhook_resend", KEY_DURATION, FIELD(webhook_resend_ns), 1, SEC, 86400 * SEC, KEY_ZERO_AUTO,
	  "0", "firing alerts are sent to the webhook again this often; 0: transitions only (1s..1d)", NULL },
	{ "alerts", "notify_timeout", KEY_DURATION, FIELD(notify_timeout_ns), 1, 100 * MS, 60 * SEC, 0,
	  "5s", "one HTTP attempt, connection included (100ms..60s)", NULL },
	{ "alerts", "notify_attempts", KEY_UINT, FIELD(notify_attempts), 1, 1, 100, 0,
	  "6", "attempts per notification before it is dropped (1..100)", NULL },
	{ "alerts", "notify_backoff", KEY_DURATION, FIELD(notify_backoff_ns), 1, 10 * MS, 60 * SEC, 0,
	  "1s", "delay before the first retry, doubled each retry, with jitter (10ms..60s)", NULL },
	{ "alerts", "notify_backoff_max", KEY_DURATION, FIELD(notify_backoff_max_ns), 1, 10 * MS, 3600 * SEC, 0,
	  "1m", "longest delay between two attempts (10ms..1h)", NULL },
	{ "alerts", "notify_queue", KEY_UINT, FIELD(notify_queue), 1, 1, 100000, 0,
	  "1024", "notifications waiting per receiver; past it the oldest is dropped (1..100000)", NULL },
};

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

static const struct {
	const char *name;
	int level;
} log_levels[] = {
	{ "error", LOG_ERR },
	{ "warning", LOG_WARNING },
	{ "info", LOG_INFO },
	{ "debug", LOG_DEBUG },
};

static void seterr(char *err, size_t errsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	if (!err || errsz == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
}

/* Exact textual form of a duration, in the largest unit that divides it, so
 * that --print-config output parses back to the same value. */
static void duration_str(char *buf, size_t n, uint64_t ns)
{
	static const struct {
		const char *unit;
		uint64_t ns;
	} units[] = { { "d", 86400 * SEC }, { "h", 3600 * SEC }, { "m", 60 * SEC },
		      { "s", SEC }, { "ms", MS }, { "us", UINT64_C(1000) }, { "ns", UINT64_C(1) } };

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (ns != 0 && ns % units[i].ns == 0) {
			snprintf(buf, n, "%" PRIu64 "%s", ns / units[i].ns, units[i].unit);
			return;
		}
	}
	snprintf(buf, n, "0s"); /* unreachable for keys with a range; fmt refuses it */
}

static void size_str(char *buf, size_t n, uint64_t bytes)
{
	if (bytes != 0 && bytes % GIB == 0)
		snprintf(buf, n, "%" PRIu64 "G", bytes / GIB);
	else if (bytes != 0 && bytes % MIB == 0)
		snprintf(buf, n, "%" PRIu64 "M", bytes / MIB);
	else if (bytes != 0 && bytes % KIB == 0)
		snprintf(buf, n, "%" PRIu64 "K", bytes / KIB);
	else
		snprintf(buf, n, "%" PRIu64, bytes);
}

static void value_str(const struct key *k, char *buf, size_t n, uint64_t v)
{
	if (k->type == KEY_DURATION)
		duration_str(buf, n, v);
	else if (k->type == KEY_SIZE)
		size_str(buf, n, v);
	else
		snprintf(buf, n, "%" PRIu64, v);
}

/* "must be between 100ms and 10s", in the key's own units. */
static void range_str(const struct key *k, char *buf, size_t n)
{
	char lo[32], hi[32];

	value_str(k, lo, sizeof(lo), k->min);
	value_str(k, hi, sizeof(hi), k->max);
	if (k->flags & KEY_ZERO_AUTO)
		snprintf(buf, n, "must be 0 (auto) or %sbetween %s and %s",
			 k->flags & KEY_POW2 ? "a power of two " : "", lo, hi);
	else
		snprintf(buf, n, "must be %sbetween %s and %s",
			 k->flags & KEY_POW2 ? "a power of two " : "", lo, hi);
}

/* The "0" / "0s" / "00K" spellings of zero: fmt_parse_* refuse zero, but
 * for a key with a range the right message is the range, not "syntax". */
static bool is_zero_spelling(const char *s)
{
	if (*s != '0')
		return false;
	while (*s == '0')
		s++;
	while ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z'))
		s++;
	return *s == '\0';
}

/* Length of the leading digit run: past ~19 digits a uint64 overflows, and
 * fmt_parse_* only says -EINVAL, so we tell "too large" from "garbage". */
static size_t digit_run(const char *s)
{
	size_t i = 0;

	while (s[i] >= '0' && s[i] <= '9')
		i++;
	return i;
}

/* Parse value for key k into a number in the key's parsed units (count, ns,
 * bytes). 0 or -EINVAL with a message that does not name the key (the
 * caller prefixes "file:line: [section] key = value: "). */
static int parse_number(const struct key *k, const char *value, uint64_t *ret, char *msg, size_t msgsz)
{
	char range[128];
	uint64_t v = 0;
	int r;

	range_str(k, range, sizeof(range));
	if (value[0] == '-') {
		snprintf(msg, msgsz, "negative values are not allowed; %s", range);
		return -EINVAL;
	}
	switch (k->type) {
	case KEY_UINT: {
		size_t nd = digit_run(value);

		if (nd == 0 || value[nd] != '\0') {
			snprintf(msg, msgsz, "not a whole number; %s", range);
			return -EINVAL;
		}
		errno = 0;
		v = strtoull(value, NULL, 10);
		if (errno == ERANGE) {
			snprintf(msg, msgsz, "too large; %s", range);
			return -EINVAL;
		}
		break;
	}
	case KEY_DURATION:
	case KEY_SIZE:
		if (k->type == KEY_DURATION)
			r = fmt_parse_duration(value, &v);
		else
			r = fmt_parse_size(value, &v);
		if (r < 0) {
			if (is_zero_spelling(value)) {
				v = 0;
				break;
			}
			if (digit_run(value) >= 19) {
				snprintf(msg, msgsz, "too large; %s", range);
				return -EINVAL;
			}
			if (k->type == KEY_DURATION)
				snprintf(msg, msgsz, "not a duration (e.g. 500ms, 30s, 5m, 1h); %s", range);
			else
				snprintf(msg, msgsz, "not a size (e.g. 64K, 256M, 1G); %s", range);
			return -EINVAL;
		}
		break;
	default:
		assert(!"not a numeric key");
		return -EINVAL;
	}

	if (v == 0 && (k->flags & KEY_ZERO_AUTO)) {
		*ret = 0;
		return 0;
	}
	if (v < k->min || v > k->max || ((k->flags & KEY_POW2) && (v & (v - 1)) != 0)) {
		snprintf(msg, msgsz, "%s", range);
		return -EINVAL;
	}
	if (v % k->scale != 0) {
		snprintf(msg, msgsz, "must be a whole number of %s",
			 k->type == KEY_DURATION ? "milliseconds" : "KiB");
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

static int parse_string(const struct key *k, const char *value, char *msg, size_t msgsz)
{
	size_t len = strlen(value);

	if (len > k->max) {
		snprintf(msg, msgsz, "too long (%zu characters, at most %" PRIu64 ")", len, k->max);
		return -EINVAL;
	}
	if ((k->flags & KEY_ABSPATH) && value[0] != '/') {
		snprintf(msg, msgsz, "must be an absolute path");
		return -EINVAL;
	}
	if ((k->flags & KEY_URL) && len && strncmp(value, "http://", 7) && strncmp(value, "https://", 8)) {
		snprintf(msg, msgsz, "must be an http:// or https:// URL (or empty)");
		return -EINVAL;
	}
	if (k->flags & KEY_URLS) {
		for (const char *p = value + strspn(value, " "); *p; p += strspn(p, " ")) {
			size_t el = strcspn(p, " ");

			if (strncmp(p, "http://", 7) && strncmp(p, "https://", 8) && strncmp(p, "file://", 7)) {
				snprintf(msg, msgsz, "\"%.*s\": must be space-separated http://, https:// or file:// URLs",
					 (int)(el > 64 ? 64 : el), p);
				return -EINVAL;
			}
			p += el;
		}
	}
	if ((k->flags & KEY_PATHLIST) && len > 0) {
		/* Every element absolute: a relative debug dir would depend on
		 * the daemon's cwd. */
		for (const char *p = value; *p;) {
			size_t el = strcspn(p, ":");

			if (el == 0 || p[0] != '/') {
				snprintf(msg, msgsz, "must be a ':'-separated list of absolute paths");
				return -EINVAL;
			}
			p += el;
			if (*p == ':')
				p++;
			if (*p == '\0' && p[-1] == ':') {
				snprintf(msg, msgsz, "must be a ':'-separated list of absolute paths");
				return -EINVAL;
			}
		}
	}
	return 0;
}

static int parse_bool(const char *value, uint32_t *ret)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcmp(value, yes[i]) == 0) {
			*ret = 1;
			return 0;
		}
		if (strcmp(value, no[i]) == 0) {
			*ret = 0;
			return 0;
		}
	}
	return -EINVAL;
}

/* Check value for k and store it in c. On error c is unchanged and msg
 * says why (without the key or location). */
static bool choice_ok(const struct key *k, const char *value)
{
	size_t vl = strlen(value);

	for (const char *p = k->choices; *p;) {
		size_t n = strcspn(p, "|");

		if (n == vl && !strncmp(p, value, n))
			return true;
		p += n + (p[n] == '|');
	}
	return false;
}

/* base: the struct config, or the struct push_conf of a KEY_PUSH key. */
static int key_apply(const struct key *k, void *base, const char *value, char *msg, size_t msgsz)
{
	char *field = (char *)base + k->offset;
	uint64_t v;
	int r;

	if (value[0] == '\0' && !(k->type == KEY_STRING && !(k->flags & (KEY_ABSPATH | KEY_NONEMPTY)))) {
		snprintf(msg, msgsz, "empty value");
		return -EINVAL;
	}

	switch (k->type) {
	case KEY_CHOICE:
		if (!choice_ok(k, value)) {
			snprintf(msg, msgsz, "must be one of %s", k->choices);
			return -EINVAL;
		}
		/* fall through */
	case KEY_STRING:
		r = parse_string(k, value, msg, msgsz);
		if (r < 0)
			return r;
		assert(k->max < k->width);
		memset(field, 0, k->width);
		memcpy(field, value, strlen(value));
		return 0;
	case KEY_LOGLEVEL:
		for (size_t i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++) {
			if (strcmp(value, log_levels[i].name) == 0) {
				int lvl = log_levels[i].level;

				memcpy(field, &lvl, sizeof(lvl));
				return 0;
			}
		}
		snprintf(msg, msgsz, "must be one of error, warning, info, debug");
		return -EINVAL;
	case KEY_BOOL: {
		uint32_t b;

		if (parse_bool(value, &b) < 0) {
			snprintf(msg, msgsz, "must be yes or no");
			return -EINVAL;
		}
		memcpy(field, &b, sizeof(b));
		return 0;
	}
	case KEY_UINT:
	case KEY_DURATION:
	case KEY_SIZE:
		r = parse_number(k, value, &v, msg, msgsz);
		if (r < 0)
			return r;
		v /= k->scale;
		if (k->width == sizeof(uint32_t)) {
			uint32_t v32 = (uint32_t)v;

			assert(v <= UINT32_MAX);
			memcpy(field, &v32, sizeof(v32));
		} else {
			memcpy(field, &v, sizeof(v));
		}
		return 0;
	}
	return -EINVAL;
}

/* The stored value back in parsed units (count, ns, bytes). */
static uint64_t key_get(const struct key *k, const void *base)
{
	const char *field = (const char *)base + k->offset;

	if (k->width == sizeof(uint32_t)) {
		uint32_t v32;

		memcpy(&v32, field, sizeof(v32));
		return (uint64_t)v32 * k->scale;
	}
	uint64_t v;

	memcpy(&v, field, sizeof(v));
	return v * k->scale;
}

static const struct key *key_find(const char *section, const char *name)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

/* "push NAME": a repeated section; *ret_name gets NAME. A name is what a
 * spool directory is called: [A-Za-z0-9_-], 1..PUSH_NAME_MAX. */
static bool push_section(const char *section, const char **ret_name)
{
	const char *n;

	if (strncmp(section, "push ", 5))
		return false;
	n = section + 5;
	if (!*n || strlen(n) > PUSH_NAME_MAX)
		return false;
	for (const char *p = n; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
		      *p == '-'))
			return false;
	*ret_name = n;
	return true;
}

/* "[rule NAME]" sections are alert rules: daemon/alerts/rules.c reads
 * and checks them from the same file; here they are skipped. */
static bool rule_section(const char *section, size_t len)
{
	return len > 5 && !strncmp(section, "rule", 4) && (section[4] == ' ' || section[4] == '\t');
}

static bool section_known(const char *section)
{
	const char *name;

	if (push_section(section, &name))
		return true;
	for (size_t i = 0; i < N_KEYS; i++)
		if (strcmp(keys[i].section, section) == 0 && !(keys[i].flags & KEY_PUSH))
			return true;
	return false;
}

static void push_defaults(struct push_conf *pc, const char *name)
{
	char msg[256];

	memset(pc, 0, sizeof(*pc));
	for (size_t i = 0; i < N_KEYS; i++) {
		int r;

		if (!(keys[i].flags & KEY_PUSH))
			continue;
		r = key_apply(&keys[i], pc, keys[i].def, msg, sizeof(msg));
		assert(r == 0 || keys[i].def[0] == '\0');
		(void)r;
	}
	snprintf(pc->name, sizeof(pc->name), "%s", name);
}

void config_defaults(struct config *c)
{
	char msg[256];

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < N_KEYS; i++) {
		int r;

		if (keys[i].flags & KEY_PUSH)
			continue; /* applied to each [push NAME] as it appears */
		r = key_apply(&keys[i], c, keys[i].def, msg, sizeof(msg));

		/* The table's own defaults must pass its own checks; the unit
		 * test holds us to it. */
		assert(r == 0);
		(void)r;
	}
}

/* State of one file parse. inih reads lines through our reader so that we
 * know the line number of every handler call (Debian's libinih is built
 * without INI_HANDLER_LINENO), can refuse over-long lines instead of having
 * inih split them, and can check section headers on the line they appear. */
struct load {
	const char *path;
	const char *buf;
	size_t len, pos;
	int lineno;           /* line last handed to inih */
	struct config cfg;    /* the copy being filled */
	int err_line;         /* first error found by us; 0 = none */
	int err;              /* its errno */
	char msg[512];        /* its message, complete */
	int seen[N_KEYS];     /* line a key was first set on, to refuse duplicates */
	int seen_push[PUSH_MAX_TARGETS][N_KEYS];
	uint32_t npush_base;  /* [push] sections of the config loaded on top of */
};

static void load_fail(struct load *ld, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void load_fail(struct load *ld, int err, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (ld->err_line)
		return; /* keep the first error: later ones may be its echoes */
	ld->err_line = ld->lineno;
	ld->err = err;
	n = snprintf(ld->msg, sizeof(ld->msg), "%s:%d: ", ld->path, ld->lineno);
	if (n < 0 || (size_t)n >= sizeof(ld->msg))
		return;
	va_start(ap, fmt);
	vsnprintf(ld->msg + n, sizeof(ld->msg) - n, fmt, ap);
	va_end(ap);
}

static char *load_reader(char *str, int num, void *stream)
{
	struct load *ld = stream;
	const char *line, *end, *nl;
	size_t n;

	if (ld->pos >= ld->len || ld->err_line)
		return NULL;
	line = ld->buf + ld->pos;
	nl = memchr(line, '\n', ld->len - ld->pos);
	end = nl ? nl : ld->buf + ld->len;
	ld->pos = (size_t)(end - ld->buf) + (nl ? 1 : 0);
	ld->lineno++;

	/* Leading blanks go: inih would take an indented line for the
	 * continuation of the previous value (multi-line values), which no
	 * key here has; an indented "key = value" means just that. */
	while (line < end && (*line == ' ' || *line == '\t'))
		line++;
	n = (size_t)(end - line);
	if (num < 3 || n + 2 > (size_t)num) {
		load_fail(ld, EINVAL, "line too long (more than %d characters)", num - 2);
		return NULL;
	}
	memcpy(str, line, n);
	str[n] = '\n';
	str[n + 1] = '\0';

	if (n > 0 && line[0] == '[') {
		const char *close = memchr(line, ']', n);
		char section[64];
		size_t sl;

		if (!close) {
			load_fail(ld, EINVAL, "section header without ']'");
			return str;
		}
		sl = (size_t)(close - line - 1);
		if (sl >= sizeof(section))
			sl = sizeof(section) - 1;
		memcpy(section, line + 1, sl);
		section[sl] = '\0';
		if (!strncmp(section, "push", 4) && !section_known(section))
			load_fail(ld, EINVAL, "[%s]: a push section is [push NAME], NAME of 1..%d letters, digits, '_' "
				  "or '-'", section, PUSH_NAME_MAX);
		else if (!section_known(section) && !rule_section(line + 1, (size_t)(close - line - 1)))
			load_fail(ld, EINVAL,
				  "unknown section [%s] (known: daemon, sampling, windows, limits, symbols, alerts, "
				  "rule NAME, scrape, push NAME)", section);
	}
	return str;
}

static int load_handler(void *user, const char *section, const char *name, const char *value)
{
	struct load *ld = user;
	const struct key *k;
	const char *pname;
	char msg[256];
	size_t i;

	if (ld->err_line)
		return 0;
	if (section[0] == '\0') {
		load_fail(ld, EINVAL, "%s = %s: key outside of any [section]", name, value);
		return 0;
	}
	if (rule_section(section, strlen(section)))
		return 1; /* an alert rule: daemon/alerts/rules.c reads it */
	if (!section_known(section))
		return 0; /* already reported at the header line */
	if (push_section(section, &pname)) {
		uint32_t j;

		k = key_find("push", name);
		if (!k) {
			load_fail(ld, EINVAL, "unknown key '%s' in section [%s]", name, section);
			return 0;
		}
		for (j = 0; j < ld->cfg.npush; j++)
			if (!strcmp(ld->cfg.push[j].name, pname))
				break;
		if (j == ld->cfg.npush) {
			if (j == PUSH_MAX_TARGETS) {
				load_fail(ld, EINVAL, "[%s]: more than %d push targets", section, PUSH_MAX_TARGETS);
				return 0;
			}
			push_defaults(&ld->cfg.push[j], pname);
			memset(ld->seen_push[j], 0, sizeof(ld->seen_push[j]));
			ld->cfg.npush++;
		}
		i = (size_t)(k - keys);
		if (ld->seen_push[j][i]) {
			load_fail(ld, EINVAL, "[%s] %s: set twice (first on line %d)", section, name,
				  ld->seen_push[j][i]);
			return 0;
		}
		ld->seen_push[j][i] = ld->lineno;
		if (key_apply(k, &ld->cfg.push[j], value, msg, sizeof(msg)) < 0) {
			load_fail(ld, EINVAL, "[%s] %s = %s: %s", section, name, value, msg);
			return 0;
		}
		return 1;
	}
	k = key_find(section, name);
	if (!k) {
		load_fail(ld, EINVAL, "unknown key '%s' in section [%s]", name, section);
		return 0;
	}
	i = (size_t)(k - keys);
	if (ld->seen[i]) {
		load_fail(ld, EINVAL, "[%s] %s: set twice (first on line %d)", section, name, ld->seen[i]);
		return 0;
	}
	ld->seen[i] = ld->lineno;
	if (key_apply(k, &ld->cfg, value, msg, sizeof(msg)) < 0) {
		load_fail(ld, EINVAL, "[%s] %s = %s: %s", section, name, value, msg);
		return 0;
	}
	return 1;
}

/* Read the whole file, bounded. 0 or -errno with a message. */
static int read_file(const char *path, char **ret_buf, size_t *ret_len, char *err, size_t errsz)
{
	size_t len = 0, cap = 4096;
	char *buf = NULL, *nbuf;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		seterr(err, errsz, "%s: %s", path, strerror(-r));
		return r;
	}
	for (;;) {
		ssize_t got;

		if (len == cap || !buf) {
			if (buf)
				cap *= 2;
			nbuf = realloc(buf, cap + 1);
			if (!nbuf) {
				r = -ENOMEM;
				seterr(err, errsz, "%s: out of memory", path);
				goto out;
			}
			buf = nbuf;
		}
		got = read(fd, buf + len, cap - len);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			seterr(err, errsz, "%s: %s", path, strerror(-r));
			goto out;
		}
		if (got == 0)
			break;
		len += (size_t)got;
		if (len > CONFIG_MAX_FILE) {
			r = -EFBIG;
			seterr(err, errsz, "%s: file too large (more than %d bytes)", path, CONFIG_MAX_FILE);
			goto out;
		}
	}
	if (memchr(buf, '\0', len)) {
		r = -EINVAL;
		seterr(err, errsz, "%s: contains a NUL byte; not a text file", path);
		goto out;
	}
	buf[len] = '\0';
out:
	close(fd);
	if (r < 0) {
		free(buf);
		return r;
	}
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

int config_load_file(struct config *c, const char *path, char *err, size_t errsz)
{
	struct load *ld;
	char *buf = NULL;
	size_t len = 0;
	int r;

	r = read_file(path, &buf, &len, err, errsz);
	if (r < 0)
		return r;
	/* On the heap: the copy of the config plus its bookkeeping is ~1.5 KiB
	 * and this may run from a signal-driven reload deep in the loop. */
	ld = calloc(1, sizeof(*ld));
	if (!ld) {
		free(buf);
		seterr(err, errsz, "%s: out of memory", path);
		return -ENOMEM;
	}
	ld->path = path;
	ld->buf = buf;
	ld->len = len;
	ld->cfg = *c;

	r = ini_parse_stream(load_reader, ld, load_handler, ld);
	if (r > 0 && (!ld->err_line || r < ld->err_line)) {
		/* inih found a line it could not read at all, before any of ours. */
		ld->err_line = 0;
		ld->lineno = r;
		load_fail(ld, EINVAL, "syntax error: expected '[section]', 'key = value' or a comment");
	} else if (r < 0 && !ld->err_line) {
		ld->lineno = 0;
		load_fail(ld, ENOMEM, "out of memory while parsing");
	}

	if (ld->err_line) {
		seterr(err, errsz, "%s", ld->msg);
		r = -ld->err;
	} else {
		*c = ld->cfg;
		r = 0;
	}
	free(ld);
	free(buf);
	return r;
}

int config_set(struct config *c, const char *key, const char *value, char *err, size_t errsz)
{
	const struct key *k = NULL;
	const char *dot = strchr(key, '.');
	char msg[256];

	if (dot) {
		char section[64];
		size_t sl = (size_t)(dot - key);

		if (sl < sizeof(section)) {
			memcpy(section, key, sl);
			section[sl] = '\0';
			k = key_find(section, dot + 1);
		}
	} else {
		for (size_t i = 0; i < N_KEYS; i++) {
			if (strcmp(keys[i].name, key) != 0 || (keys[i].flags & KEY_PUSH))
				continue;
			if (k) {
				seterr(err, errsz, "key '%s' is ambiguous: say %s.%s or %s.%s", key,
				       k->section, k->name, keys[i].section, keys[i].name);
				return -EINVAL;
			}
			k = &keys[i];
		}
	}
	if (!k || (k->flags & KEY_PUSH)) {
		seterr(err, errsz, "unknown configuration key '%s' (profd --print-config lists them)", key);
		return -EINVAL;
	}
	if (key_apply(k, c, value, msg, sizeof(msg)) < 0) {
		seterr(err, errsz, "command line: [%s] %s = %s: %s", k->section, k->name, value, msg);
		return -EINVAL;
	}
	return 0;
}

/* Range and form of one key's stored value (base: the struct the key's
 * offset is into), as the parser would have checked it. */
static int check_key(const struct key *k, const void *base, const char *section, char *err, size_t errsz)
{
	const char *field = (const char *)base + k->offset;
	char range[128], val[32];
	uint64_t v;

	if (k->type == KEY_STRING || k->type == KEY_CHOICE) {
		if (memchr(field, '\0', k->width) == NULL || strlen(field) > k->max ||
		    ((k->flags & (KEY_ABSPATH | KEY_NONEMPTY)) && field[0] == '\0') ||
		    ((k->flags & KEY_ABSPATH) && field[0] != '/')) {
			seterr(err, errsz, "[%s] %s: invalid value", section, k->name);
			return -EINVAL;
		}
		if (k->type == KEY_CHOICE && !choice_ok(k, field)) {
			seterr(err, errsz, "[%s] %s = %s: must be one of %s", section, k->name, field, k->choices);
			return -EINVAL;
		}
		return 0;
	}
	if (k->type == KEY_LOGLEVEL) {
		int lvl;

		memcpy(&lvl, field, sizeof(lvl));
		if (lvl < LOG_ERR || lvl > LOG_DEBUG || lvl == LOG_NOTICE) {
			seterr(err, errsz, "[%s] %s = %d: must be error, warning, info or debug", section, k->name, lvl);
			return -EINVAL;
		}
		return 0;
	}
	if (k->type == KEY_BOOL)
		return 0;
	v = key_get(k, base);
	if (v == 0 && (k->flags & KEY_ZERO_AUTO))
		return 0;
	if (v < k->min || v > k->max) {
		range_str(k, range, sizeof(range));
		value_str(k, val, sizeof(val), v);
		seterr(err, errsz, "[%s] %s = %s: %s", section, k->name, val, range);
		return -EINVAL;
	}
	return 0;
}

/* One [push NAME]: its keys, and what they mean together. */
static int check_push(const struct config *c, const struct push_conf *p, char *err, size_t errsz)
{
	const char *url = p->url, *host, *name;
	char section[64], a[32], b[32];

	snprintf(section, sizeof(section), "push %s", p->name);
	if (!push_section(section, &name)) {
		seterr(err, errsz, "[push %s]: invalid name", p->name);
		return -EINVAL;
	}
	for (size_t i = 0; i < N_KEYS; i++)
		if ((keys[i].flags & KEY_PUSH) && check_key(&keys[i], p, section, err, errsz) < 0)
			return -EINVAL;
	if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) {
		seterr(err, errsz, "[%s] url = %s: must start with http:// or https://", section, url);
		return -EINVAL;
	}
	host = strstr(url, "://") + 3;
	if (!*host || *host == '/' || (strchr(host, '@') && (!strchr(host, '/') || strchr(host, '@') < strchr(host, '/')))) {
		/* credentials in a URL end up in logs and process listings */
		seterr(err, errsz, "[%s] url: must name a host, without user:password@ (use bearer_token_file or "
		       "basic_auth_*)", section);
		return -EINVAL;
	}
	if (strchr(url, ' ') || strchr(url, '\t')) {
		seterr(err, errsz, "[%s] url: must not contain blanks", section);
		return -EINVAL;
	}
	/* An interval ends on a slot boundary and is read from the fine tier:
	 * each slot's counters are then pushed exactly once. */
	if (p->interval_ns % c->fine_slot_ns ||
	    p->interval_ns > c->fine_slot_ns * (uint64_t)c->fine_slots / 10) {
		duration_str(a, sizeof(a), p->interval_ns);
		duration_str(b, sizeof(b), c->fine_slot_ns);
		seterr(err, errsz, "[%s] interval = %s: must be a multiple of [windows] fine_slot = %s and at most a "
		       "tenth of the fine tier (fine_slot x fine_slots)", section, a, b);
		return -EINVAL;
	}
	if (p->client_key[0] && !p->client_cert[0]) {
		seterr(err, errsz, "[%s] client_key: needs client_cert", section);
		return -EINVAL;
	}
	if (p->basic_auth_password_file[0] && !p->basic_auth_user[0]) {
		seterr(err, errsz, "[%s] basic_auth_password_file: needs basic_auth_user", section);
		return -EINVAL;
	}
	if (p->bearer_token_file[0] && p->basic_auth_user[0]) {
		seterr(err, errsz, "[%s]: bearer_token_file and basic_auth_user exclude each other", section);
		return -EINVAL;
	}
	return 0;
}

int config_validate(const struct config *c, char *err, size_t errsz)
{
	char a[32], b[32];

	/* Slots are filled a tick at a time and rolled whole into the coarse
	 * tier: anything but exact multiples would smear samples across
	 * slot boundaries. */
	if (c->fine_slot_ns < c->tick_ns || c->fine_slot_ns % c->tick_ns != 0) {
		duration_str(a, sizeof(a), c->fine_slot_ns);
		duration_str(b, sizeof(b), c->tick_ns);
		seterr(err, errsz, "[windows] fine_slot = %s: must be a multiple of [sampling] tick = %s", a, b);
		return -EINVAL;
	}
	if (c->coarse_slot_ns < c->fine_slot_ns || c->coarse_slot_ns % c->fine_slot_ns != 0) {
		duration_str(a, sizeof(a), c->coarse_slot_ns);
		duration_str(b, sizeof(b), c->fine_slot_ns);
		seterr(err, errsz, "[windows] coarse_slot = %s: must be a multiple of fine_slot = %s", a, b);
		return -EINVAL;
	}
	/* A coarse tier shorter than the fine one would answer nothing the
	 * fine tier cannot. Compared in fine slots: the ratio is at most
	 * 1d / 100ms = 864000, times 1e6 slots fits easily in 64 bits, while
	 * the spans in ns could overflow. */
	if ((c->coarse_slot_ns / c->fine_slot_ns) * (uint64_t)c->coarse_slots < c->fine_slots) {
		duration_str(a, sizeof(a), c->coarse_slot_ns);
		duration_str(b, sizeof(b), c->fine_slot_ns);
		seterr(err, errsz,
		       "[windows] coarse tier (%" PRIu32 " x %s) must cover at least the fine tier (%" PRIu32 " x %s)",
		       c->coarse_slots, a, c->fine_slots, b);
		return -EINVAL;
	}
	if (c->ringbuf_kib != 0 && (c->ringbuf_kib & (c->ringbuf_kib - 1)) != 0) {
		seterr(err, errsz, "[sampling] ringbuf_size = %" PRIu32 "K: must be 0 (auto) or a power of two",
		       c->ringbuf_kib);
		return -EINVAL;
	}
	/* A reply must at least be able to carry the largest request echoed
	 * back in an error; below that clients get truncated errors. */
	if (c->max_reply < c->max_request) {
		size_str(a, sizeof(a), c->max_reply);
		size_str(b, sizeof(b), c->max_request);
		seterr(err, errsz, "[limits] max_reply = %s: must be at least max_request = %s", a, b);
		return -EINVAL;
	}
	/* One bound for the process (the unit's MemoryMax): every part
	 * that can grow with load has its own bound, and they must add up
	 * within it, leaving the rest for tables and code. */
	{
		uint64_t parts = c->store_max_bytes + c->symcache_bytes + c->reply_memory + c->query_memory +
				 c->staging_memory + (c->dwarf_unwind ? c->unwind_memory : 0);
		char sum[32], p1[32], p2[32], p3[32], p4[32], p5[32], p6[32];

		if (parts > c->memory_budget) {
			size_str(a, sizeof(a), c->memory_budget);
			size_str(sum, sizeof(sum), parts);
			size_str(p1, sizeof(p1), c->store_max_bytes);
			size_str(p2, sizeof(p2), c->symcache_bytes);
			size_str(p3, sizeof(p3), c->reply_memory);
			size_str(p4, sizeof(p4), c->query_memory);
			size_str(p5, sizeof(p5), c->staging_memory);
			size_str(p6, sizeof(p6), c->dwarf_unwind ? c->unwind_memory : 0);
			seterr(err, errsz,
			       "[limits] memory_budget = %s: the bounds inside it add up to %s ([windows] memory_limit %s + "
			       "[symbols] cache_size %s + [limits] reply_memory %s + query_memory %s + staging_memory %s + "
			       "[sampling] unwind_memory %s, kernel memory charged to profd); "
			       "raise memory_budget or lower one of them",
			       a, sum, p1, p2, p3, p4, p5, p6);
			return -EINVAL;
		}
	}
	/* One reply line must fit what all replies may hold together. */
	if (c->max_reply > c->reply_memory) {
		size_str(a, sizeof(a), c->max_reply);
		size_str(b, sizeof(b), c->reply_memory);
		seterr(err, errsz, "[limits] max_reply = %s: must be at most reply_memory = %s", a, b);
		return -EINVAL;
	}
	/* Values may have been set directly in the struct: re-check the ranges
	 * the parser enforces, so validate is a complete gate. */
	for (size_t i = 0; i < N_KEYS; i++)
		if (!(keys[i].flags & KEY_PUSH) && check_key(&keys[i], c, keys[i].section, err, errsz) < 0)
			return -EINVAL;
	if (c->npush > PUSH_MAX_TARGETS) {
		seterr(err, errsz, "at most %d [push NAME] sections", PUSH_MAX_TARGETS);
		return -EINVAL;
	}
	if (c->scrape.enabled && c->scrape.interval_ns % c->fine_slot_ns) {
		duration_str(a, sizeof(a), c->scrape.interval_ns);
		duration_str(b, sizeof(b), c->fine_slot_ns);
		seterr(err, errsz, "[scrape] interval = %s: must be a multiple of [windows] fine_slot = %s", a, b);
		return -EINVAL;
	}
	for (uint32_t j = 0; j < c->npush; j++)
		if (check_push(c, &c->push[j], err, errsz) < 0)
			return -EINVAL;
	return 0;
}

/* ---- reload: what changed, what applies now ---- */

/* A reload applies these at once: they are read where they are used (the
 * log level, the thread flag at ingestion, a query's timeout), or have a
 * setter (the sampling frequency), or rebuild what they configure (alert
 * receivers and rules). query_memory may only shrink (the budget was
 * checked with the running value): the daemon keeps a raise for restart.
 * Every other key sized or set up something that exists once (the socket,
 * BPF programs and maps, the windows, the tables, the symbolizer, the
 * pushers, the alert engine's bounds) and applies at the next start. */
static bool key_live(const struct key *k)
{
	static const char *const live[] = {
		"daemon.log_level", "sampling.frequency", "sampling.thread_stacks", "limits.query_timeout",
		"limits.query_memory",
	};
	char name[64];

	if (k->flags & KEY_PUSH)
		return false;
	if (!strcmp(k->section, "alerts"))
		return strcmp(k->name, "history") && strcmp(k->name, "max_alerts");
	snprintf(name, sizeof(name), "%s.%s", k->section, k->name);
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		if (!strcmp(name, live[i]))
			return true;
	return false;
}

static bool field_differs(const struct key *k, const void *a, const void *b)
{
	const char *x = (const char *)a + k->offset, *y = (const char *)b + k->offset;

	if (k->type == KEY_STRING || k->type == KEY_CHOICE)
		return strncmp(x, y, k->width) != 0;
	return memcmp(x, y, k->width) != 0;
}

static const struct push_conf *push_named(const struct config *c, const char *name)
{
	for (uint32_t i = 0; i < c->npush; i++)
		if (!strcmp(c->push[i].name, name))
			return &c->push[i];
	return NULL;
}

int config_diff(const struct config *a, const struct config *b, config_diff_fn fn, void *ctx)
{
	char name[PUSH_NAME_MAX + 80];
	int n = 0;

	for (size_t i = 0; i < N_KEYS; i++) {
		const struct key *k = &keys[i];

		if ((k->flags & KEY_PUSH) || !field_differs(k, a, b))
			continue;
		snprintf(name, sizeof(name), "%s.%s", k->section, k->name);
		fn(ctx, name, !key_live(k));
		n++;
	}
	/* [push NAME]: targets added or removed, then the keys of the others */
	for (int pass = 0; pass < 2; pass++) {
		const struct config *x = pass ? b : a, *y = pass ? a : b;

		for (uint32_t j = 0; j < x->npush; j++) {
			const struct push_conf *px = &x->push[j], *py = push_named(y, px->name);

			if (!py) {
				snprintf(name, sizeof(name), "push %s", px->name);
				fn(ctx, name, 1);
				n++;
				continue;
			}
			for (size_t i = 0; pass == 0 && i < N_KEYS; i++) {
				const struct key *k = &keys[i];

				if (!(k->flags & KEY_PUSH) || !field_differs(k, px, py))
					continue;
				snprintf(name, sizeof(name), "push %s.%s", px->name, k->name);
				fn(ctx, name, 1);
				n++;
			}
		}
	}
	return n;
}

void config_keep_restart(struct config *c, const struct config *running)
{
	for (size_t i = 0; i < N_KEYS; i++) {
		const struct key *k = &keys[i];

		if (!(k->flags & KEY_PUSH) && !key_live(k))
			memcpy((char *)c + k->offset, (const char *)running + k->offset, k->width);
	}
	memcpy(c->push, running->push, sizeof(c->push));
	c->npush = running->npush;
}

int config_dump(const struct config *c, char *buf, size_t n)
{
	const char *section = NULL;
	size_t off = 0;
	int w;

#define EMIT(...)                                                                  \
	do {                                                                       \
		w = snprintf(buf && off < n ? buf + off : NULL, buf && off < n ? n - off : 0, __VA_ARGS__); \
		if (w < 0)                                                         \
			return -EIO;                                               \
		off += (size_t)w;                                                  \
	} while (0)

	EMIT("# profd effective configuration (profd --print-config)\n");
	for (uint32_t j = 0; j <= c->npush; j++) {
	for (size_t i = 0; i < N_KEYS; i++) {
		const struct key *k = &keys[i];
		const void *base = j ? (const void *)&c->push[j - 1] : (const void *)c;
		const char *field = (const char *)base + k->offset;
		char val[32];

		/* pass 0: the fixed sections; pass j: [push NAME] j */
		if (!!(k->flags & KEY_PUSH) != !!j)
			continue;
		if (j && i > 0 && !(keys[i - 1].flags & KEY_PUSH)) {
			EMIT("\n[push %s]\n", c->push[j - 1].name);
		} else if (!j && (!section || strcmp(section, k->section) != 0)) {
			section = k->section;
			EMIT("\n[%s]\n", section);
		}
		/* the keys of push sections are described once */
		if (j <= 1)
			EMIT("# %s\n", k->doc);
		switch (k->type) {
		case KEY_CHOICE:
		case KEY_STRING:
			EMIT("%s = %.*s\n", k->name, (int)strnlen(field, k->width), field);
			break;
		case KEY_LOGLEVEL: {
			int lvl;
			const char *name = "info";

			memcpy(&lvl, field, sizeof(lvl));
			for (size_t l = 0; l < sizeof(log_levels) / sizeof(log_levels[0]); l++)
				if (log_levels[l].level == lvl)
					name = log_levels[l].name;
			EMIT("%s = %s\n", k->name, name);
			break;
		}
		case KEY_BOOL: {
			uint32_t b;

			memcpy(&b, field, sizeof(b));
			EMIT("%s = %s\n", k->name, b ? "yes" : "no");
			break;
		}
		default:
			value_str(k, val, sizeof(val), key_get(k, base));
			EMIT("%s = %s\n", k->name, val);
			break;
		}
	}
	}
#undef EMIT
	if (off >= n)
		return -ENOSPC;
	return (int)off;
}
