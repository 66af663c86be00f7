/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for daemon/config.c: defaults, INI parsing with precise
 * file:line messages, range checks, command-line overrides, cross-field
 * validation, --print-config round trip and the shipped packaging file. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"

static char tmpdir[256];
static char path[512];

static int setup_dir(void **state)
{
	const char *base = getenv("TMPDIR");

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_config.XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(path, sizeof(path), "%s/profd.conf", tmpdir);
	return 0;
}

static int teardown_dir(void **state)
{
	(void)state;
	unlink(path);
	return rmdir(tmpdir);
}

static void write_file(const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Load text as a file on top of the defaults. */
static int load_text(struct config *c, const char *text, char *err, size_t errsz)
{
	write_file(text, strlen(text));
	err[0] = '\0';
	return config_load_file(c, path, err, errsz);
}

/* Expect text to fail with a message "<path>:<line>: <want...>". */
static void expect_fail(const char *text, int line, const char *want)
{
	struct config c, before;
	char err[512], prefix[600];
	int r;

	config_defaults(&c);
	before = c;
	r = load_text(&c, text, err, sizeof(err));
	if (r != -EINVAL || !strstr(err, want))
		print_error("text:\n%s\ngot r=%d err=\"%s\", want \"%s\"\n", text, r, err, want);
	assert_int_equal(r, -EINVAL);
	assert_non_null(strstr(err, want));
	snprintf(prefix, sizeof(prefix), "%s:%d: ", path, line);
	if (strncmp(err, prefix, strlen(prefix)) != 0)
		print_error("err=\"%s\", want prefix \"%s\"\n", err, prefix);
	assert_int_equal(strncmp(err, prefix, strlen(prefix)), 0);
	/* *c untouched on any error. */
	assert_memory_equal(&c, &before, sizeof(c));
}

static void test_defaults(void **state)
{
	struct config c;
	char err[256];

	(void)state;
	config_defaults(&c);
	assert_string_equal(c.socket, "/run/profd/profd.sock");
	assert_string_equal(c.socket_group, "profd");
	assert_int_equal(c.log_level, LOG_INFO);
	assert_int_equal(c.frequency, 99);
	assert_int_equal(c.tick_ns, 1000000000ull);
	assert_int_equal(c.ringbuf_kib, 0);
	assert_int_equal(c.fine_slot_ns, 1000000000ull);
	assert_int_equal(c.fine_slots, 600);
	assert_int_equal(c.coarse_slot_ns, 60000000000ull);
	assert_int_equal(c.coarse_slots, 1440);
	assert_int_equal(c.store_max_bytes, 128ull << 20);
	assert_int_equal(c.max_clients, 64);
	assert_int_equal(c.max_request, 64 << 10);
	assert_int_equal(c.max_reply, 32ull << 20);
	assert_int_equal(c.client_idle_ms, 30000);
	assert_int_equal(c.max_procs, 32768);
	assert_int_equal(c.max_stacks, 200000);
	assert_int_equal(c.symcache_bytes, 96ull << 20);
	assert_int_equal(c.max_objects, 16384);
	assert_string_equal(c.debug_dirs, "/usr/lib/debug");
	assert_int_equal(c.memory_budget, 384ull << 20);
	assert_int_equal(c.reply_memory, 32ull << 20);
	assert_int_equal(c.query_memory, 48ull << 20);
	assert_int_equal(c.staging_memory, 32ull << 20);
	assert_int_equal(c.query_timeout_ms, 10000);
	assert_int_equal(c.max_queued_queries, 16);
	/* the bounds fit the budget, and the budget the unit's MemoryMax=512M
	 * with room for tables and code */
	assert_true(c.store_max_bytes + c.symcache_bytes + c.reply_memory + c.query_memory + c.staging_memory +
			    c.unwind_memory <=
		    c.memory_budget);
	assert_true(c.memory_budget <= 512ull << 20);
	assert_int_equal(config_validate(&c, err, sizeof(err)), 0);
}

/* Every bound that grows with load fits in memory_budget, and one reply
 * fits what all replies may hold together. */
static void test_budget(void **state)
{
	struct config c;
	char err[512];

	(void)state;
	config_defaults(&c);
	assert_int_equal(config_set(&c, "memory_limit", "200M", err, sizeof(err)), 0);
	assert_int_equal(config_validate(&c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "[limits] memory_budget = 384M: the bounds inside it add up to 440M ([windows] "
				 "memory_limit 200M + [symbols] cache_size 96M + [limits] reply_memory 32M + "
				 "query_memory 48M + staging_memory 32M + [sampling] unwind_memory 32M, kernel memory "
				 "charged to profd); raise memory_budget or lower one of them");
	assert_int_equal(config_set(&c, "memory_budget", "440M", err, sizeof(err)), 0);
	assert_int_equal(config_validate(&c, err, sizeof(err)), 0);
	assert_int_equal(config_set(&c, "staging_memory", "33M", err, sizeof(err)), 0);
	assert_int_equal(config_validate(&c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "add up to 441M"));
	/* without the unwinder its tables need no memory */
	assert_int_equal(config_set(&c, "dwarf_unwind", "no", err, sizeof(err)), 0);
	assert_int_equal(config_validate(&c, err, sizeof(err)), 0);

	config_defaults(&c);
	assert_int_equal(config_set(&c, "reply_memory", "16M", err, sizeof(err)), 0);
	assert_int_equal(config_validate(&c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "[limits] max_reply = 32M: must be at most reply_memory = 16M");
	assert_int_equal(config_set(&c, "max_reply", "16M", err, sizeof(err)), 0);
	assert_int_equal(config_validate(&c, err, sizeof(err)), 0);

	/* the keys' own ranges */
	assert_int_equal(config_set(&c, "memory_budget", "8M", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "must be between 16M and 256G"));
	assert_int_equal(config_set(&c, "query_timeout", "50ms", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "must be between 100ms and 10m"));
	assert_int_equal(config_set(&c, "max_queued_queries", "0", err, sizeof(err)), -EINVAL);
	assert_int_equal(config_set(&c, "query_timeout", "2500ms", err, sizeof(err)), 0);
	assert_int_equal(c.query_timeout_ms, 2500);
}

static void test_full_file(void **state)
{
	struct config c;
	char err[512];

	(void)state;
	config_defaults(&c);
	assert_int_equal(load_text(&c,
		"[daemon]\n"
		"socket = /tmp/x/profd.sock\n"
		"socket_group = wheel\n"
		"log_level = debug\n"
		"[sampling]\n"
		"frequency = 999\n"
		"tick = 500ms\n"
		"ringbuf_size = 4M\n"
		"[windows]\n"
		"fine_slot = 2s\n"
		"fine_slots = 300\n"
		"coarse_slot = 2m\n"
		"coarse_slots = 720\n"
		"memory_limit = 1G\n"
		"[limits]\n"
		"max_clients = 8\n"
		"max_request = 1K\n"
		"max_reply = 1M\n"
		"client_idle_timeout = 1m30s\n"
		"max_processes = 64\n"
		"max_stacks = 1024\n"
		"memory_budget = 100G\n"
		"reply_memory = 2M\n"
		"query_memory = 3M\n"
		"staging_memory = 512K\n"
		"query_timeout = 3s\n"
		"max_queued_queries = 4\n"
		"[symbols]\n"
		"cache_size = 64G\n"
		"max_objects = 10000000\n"
		"debug_dirs = /usr/lib/debug:/opt/debug\n",
		err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_string_equal(c.socket, "/tmp/x/profd.sock");
	assert_string_equal(c.socket_group, "wheel");
	assert_int_equal(c.log_level, LOG_DEBUG);
	assert_int_equal(c.frequency, 999);
	assert_int_equal(c.tick_ns, 500000000ull);
	assert_int_equal(c.ringbuf_kib, 4096);
	assert_int_equal(c.fine_slot_ns, 2000000000ull);
	assert_int_equal(c.fine_slots, 300);
	assert_int_equal(c.coarse_slot_ns, 120000000000ull);
	assert_int_equal(c.coarse_slots, 720);
	assert_int_equal(c.store_max_bytes, 1ull << 30);
	assert_int_equal(c.max_clients, 8);
	assert_int_equal(c.max_request, 1024);
	assert_int_equal(c.max_reply, 1ull << 20);
	assert_int_equal(c.client_idle_ms, 90000);
	assert_int_equal(c.max_procs, 64);
	assert_int_equal(c.max_stacks, 1024);
	assert_int_equal(c.memory_budget, 100ull << 30);
	assert_int_equal(c.reply_memory, 2ull << 20);
	assert_int_equal(c.query_memory, 3ull << 20);
	assert_int_equal(c.staging_memory, 512ull << 10);
	assert_int_equal(c.query_timeout_ms, 3000);
	assert_int_equal(c.max_queued_queries, 4);
	assert_int_equal(c.symcache_bytes, 64ull << 30);
	assert_int_equal(c.max_objects, 10000000);
	assert_string_equal(c.debug_dirs, "/usr/lib/debug:/opt/debug");
	assert_int_equal(config_validate(&c, err, sizeof(err)), 0);
}

/* A partial file changes only what it names. */
static void test_partial_file(void **state)
{
	struct config c, d;
	char err[512];

	(void)state;
	config_defaults(&c);
	config_defaults(&d);
	assert_int_equal(load_text(&c, "[sampling]\nfrequency = 10000\n", err, sizeof(err)), 0);
	d.frequency = 10000;
	assert_memory_equal(&c, &d, sizeof(c));
}

struct diffs {
	char names[32][96];
	int restart[32];
	int n;
};

static void on_diff(void *ctx, const char *name, int restart)
{
	struct diffs *d = ctx;

	assert_true(d->n < 32);
	snprintf(d->names[d->n], sizeof(d->names[0]), "%s", name);
	d->restart[d->n++] = restart;
}

/* restart flag of name in d, -1 when name is not listed */
static int diff_of(const struct diffs *d, const char *name)
{
	for (int i = 0; i < d->n; i++)
		if (!strcmp(d->names[i], name))
			return d->restart[i];
	return -1;
}

/* Reload: every changed key is listed, live ones apart from those a
 * restart needs; keeping the running values of the latter leaves only
 * the live changes, so the result is what is in force. */
static void test_reload_diff(void **state)
{
	struct config run, c;
	struct diffs d = { .n = 0 };
	char err[512];
	int n;

	(void)state;
	config_defaults(&run);
	assert_int_equal(load_text(&run, "[push a]\ntype = pushgateway\nurl = http://127.0.0.1:1/\n"
					  "[push b]\nurl = http://127.0.0.1:2/\n", err, sizeof(err)), 0);
	config_defaults(&c);
	assert_int_equal(load_text(&c, "[daemon]\nlog_level = debug\nsocket = /run/x.sock\n"
					"[sampling]\nfrequency = 49\ntick = 2s\nthread_stacks = 1\n"
					"[windows]\nmemory_limit = 64M\nfine_slots = 300\n"
					"[limits]\nmax_processes = 1000\nquery_timeout = 5s\n"
					"[symbols]\ncache_size = 32M\n"
					"[alerts]\nhistory = 50\nstacks_refresh = 10s\n"
					"[push a]\ntype = pushgateway\nurl = http://127.0.0.1:9/\n"
					"[push c]\nurl = http://127.0.0.1:3/\n", err, sizeof(err)), 0);
	n = config_diff(&run, &c, on_diff, &d);
	assert_int_equal(n, d.n);
	for (int i = 0; i < d.n; i++)
		print_message("%s %s\n", d.names[i], d.restart[i] ? "restart" : "live");
	assert_int_equal(d.n, 15);
	assert_int_equal(diff_of(&d, "daemon.log_level"), 0);
	assert_int_equal(diff_of(&d, "sampling.frequency"), 0);
	assert_int_equal(diff_of(&d, "sampling.thread_stacks"), 0);
	assert_int_equal(diff_of(&d, "limits.query_timeout"), 0);
	assert_int_equal(diff_of(&d, "alerts.stacks_refresh"), 0);
	assert_int_equal(diff_of(&d, "daemon.socket"), 1);
	assert_int_equal(diff_of(&d, "sampling.tick"), 1);
	assert_int_equal(diff_of(&d, "windows.memory_limit"), 1);
	assert_int_equal(diff_of(&d, "windows.fine_slots"), 1);
	assert_int_equal(diff_of(&d, "limits.max_processes"), 1);
	assert_int_equal(diff_of(&d, "symbols.cache_size"), 1);
	assert_int_equal(diff_of(&d, "alerts.history"), 1);
	assert_int_equal(diff_of(&d, "push a.url"), 1);
	assert_int_equal(diff_of(&d, "push b"), 1);
	assert_int_equal(diff_of(&d, "push c"), 1);
	assert_int_equal(diff_of(&d, "push a.type"), -1);
	assert_int_equal(diff_of(&d, "limits.query_memory"), -1);

	/* what is in force after the reload: the live keys changed, none else */
	config_keep_restart(&c, &run);
	assert_int_equal(c.frequency, 49);
	assert_int_equal(c.log_level, LOG_DEBUG);
	assert_int_equal(c.query_timeout_ms, 5000);
	assert_int_equal(c.store_max_bytes, run.store_max_bytes);
	assert_int_equal(c.tick_ns, run.tick_ns);
	assert_int_equal(c.max_procs, run.max_procs);
	assert_string_equal(c.socket, run.socket);
	assert_int_equal(c.npush, 2);
	assert_string_equal(c.push[0].url, "http://127.0.0.1:1/");
	memset(&d, 0, sizeof(d));
	assert_int_equal(config_diff(&run, &c, on_diff, &d), 5);
	for (int i = 0; i < d.n; i++)
		assert_int_equal(d.restart[i], 0);
	memset(&d, 0, sizeof(d));
	assert_int_equal(config_diff(&run, &run, on_diff, &d), 0);
}

static void test_bad_values(void **state)
{
	(void)state;
	/* zero, too big, garbage, negative, overflow, empty, wrong unit */
	expect_fail("[sampling]\nfrequency = 0\n", 2,
		    "[sampling] frequency = 0: must be between 1 and 10000");
	expect_fail("[sampling]\nfrequency = 10001\n", 2,
		    "[sampling] frequency = 10001: must be between 1 and 10000");
	expect_fail("[sampling]\nfrequency = 99x\n", 2,
		    "[sampling] frequency = 99x: not a whole number; must be between 1 and 10000");
	expect_fail("[sampling]\nfrequency = 0x10\n", 2, "not a whole number");
	expect_fail("[sampling]\nfrequency = 9 9\n", 2, "not a whole number");
	expect_fail("[sampling]\nfrequency = -5\n", 2,
		    "[sampling] frequency = -5: negative values are not allowed");
	expect_fail("[sampling]\nfrequency = +5\n", 2, "not a whole number");
	expect_fail("[sampling]\nfrequency = 99999999999999999999\n", 2,
		    "frequency = 99999999999999999999: too large; must be between 1 and 10000");
	expect_fail("[sampling]\nfrequency =\n", 2, "[sampling] frequency = : empty value");
	expect_fail("[sampling]\nfrequency = 4294967395\n", 2, "must be between 1 and 10000");

	expect_fail("[sampling]\ntick = 0\n", 2, "[sampling] tick = 0: must be between 100ms and 10s");
	expect_fail("[sampling]\ntick = 0s\n", 2, "[sampling] tick = 0s: must be between 100ms and 10s");
	expect_fail("[sampling]\ntick = 99ms\n", 2, "must be between 100ms and 10s");
	expect_fail("[sampling]\ntick = 11s\n", 2, "must be between 100ms and 10s");
	expect_fail("[sampling]\ntick = 5kg\n", 2,
		    "[sampling] tick = 5kg: not a duration (e.g. 500ms, 30s, 5m, 1h); must be between 100ms and 10s");
	expect_fail("[sampling]\ntick = 1M\n", 2, "not a duration");
	expect_fail("[sampling]\ntick = -1s\n", 2, "negative values are not allowed");
	expect_fail("[sampling]\ntick = 99999999999999999999s\n", 2, "too large; must be between 100ms and 10s");
	expect_fail("[sampling]\ntick = 1s garbage\n", 2, "not a duration");
	expect_fail("[sampling]\ntick =\n", 2, "empty value");

	expect_fail("[sampling]\nringbuf_size = 100K\n", 2,
		    "[sampling] ringbuf_size = 100K: must be 0 (auto) or a power of two between 64K and 1G");
	expect_fail("[sampling]\nringbuf_size = 32K\n", 2, "must be 0 (auto) or a power of two between 64K and 1G");
	expect_fail("[sampling]\nringbuf_size = 2G\n", 2, "must be 0 (auto) or a power of two between 64K and 1G");
	expect_fail("[sampling]\nringbuf_size = 65\n", 2, "power of two between 64K and 1G");

	expect_fail("[windows]\nmemory_limit = 0\n", 2,
		    "[windows] memory_limit = 0: must be between 1M and 64G");
	expect_fail("[windows]\nmemory_limit = 65G\n", 2, "must be between 1M and 64G");
	expect_fail("[windows]\nmemory_limit = 256Q\n", 2, "not a size (e.g. 64K, 256M, 1G)");
	expect_fail("[windows]\nmemory_limit = 256s\n", 2, "not a size");
	expect_fail("[windows]\nmemory_limit = 1.5G\n", 2, "not a size");
	expect_fail("[windows]\nmemory_limit = 99999999999999999999G\n", 2, "too large; must be between 1M and 64G");
	expect_fail("[windows]\nmemory_limit = 99999999999999999999\n", 2, "too large");

	expect_fail("[limits]\nmax_clients = 4097\n", 2, "must be between 1 and 4096");
	expect_fail("[limits]\nmax_request = 512\n", 2, "[limits] max_request = 512: must be between 1K and 16M");
	expect_fail("[limits]\nmax_request = 17M\n", 2, "must be between 1K and 16M");
	expect_fail("[limits]\nclient_idle_timeout = 500ms\n", 2, "must be between 1s and 1d");
	expect_fail("[limits]\nclient_idle_timeout = 1s500us\n", 2, "must be a whole number of milliseconds");
	expect_fail("[limits]\nmax_processes = 63\n", 2, "must be between 64 and 4000000");
	expect_fail("[limits]\nmax_stacks = 100000001\n", 2, "must be between 1024 and 100000000");
	expect_fail("[symbols]\ncache_size = 512K\n", 2, "must be between 1M and 64G");
	expect_fail("[symbols]\nmax_objects = 63\n", 2, "must be between 64 and 10000000");
	expect_fail("[symbols]\ndebug_dirs = usr/lib/debug\n", 2, "list of absolute paths");
	expect_fail("[symbols]\ndebug_dirs = /a::/b\n", 2, "list of absolute paths");
	expect_fail("[symbols]\ndebug_dirs = /a:\n", 2, "list of absolute paths");

	expect_fail("[daemon]\nlog_level = verbose\n", 2,
		    "[daemon] log_level = verbose: must be one of error, warning, info, debug");
	expect_fail("[daemon]\nsocket = profd.sock\n", 2, "[daemon] socket = profd.sock: must be an absolute path");
	expect_fail("[daemon]\nsocket =\n", 2, "empty value");
	expect_fail("[daemon]\nsocket_group =\n", 2, "empty value");
	expect_fail("[daemon]\nsocket = /run/profd/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
		    2, "too long (113 characters, at most 107)");
}

static void test_structure_errors(void **state)
{
	(void)state;
	expect_fail("# comment\n\n[sampling]\nfrequency = 99\nfrequncy = 5\n", 5,
		    "unknown key 'frequncy' in section [sampling]");
	expect_fail("[sampling]\n; c\n\n[sampler]\nfrequency = 5\n", 4, "unknown section [sampler]");
	/* An unknown section is refused even when it is empty. */
	expect_fail("[sampling]\nfrequency = 5\n[extra]\n", 3, "unknown section [extra]");
	/* Keys that exist in another section are still unknown here. */
	expect_fail("[daemon]\nfrequency = 5\n", 2, "unknown key 'frequency' in section [daemon]");
	expect_fail("frequency = 5\n", 1, "frequency = 5: key outside of any [section]");
	expect_fail("[sampling]\nfrequency = 5\n\nfrequency = 6\n", 4,
		    "[sampling] frequency: set twice (first on line 2)");
	expect_fail("[sampling]\nfrequency 5\n", 2, "syntax error");
	expect_fail("[sampling\nfrequency = 5\n", 1, "section header without ']'");
	/* The first error wins, whatever its kind. */
	expect_fail("[sampling]\njunk\nfrequency = 0\n", 2, "syntax error");
	expect_fail("[sampling]\nfrequency = 0\njunk\n", 2, "must be between 1 and 10000");
}

static void test_comments_whitespace(void **state)
{
	struct config c;
	char err[512];

	(void)state;
	config_defaults(&c);
	assert_int_equal(load_text(&c,
		"\xef\xbb\xbf# a BOM, then comments of both kinds\n"
		"; semicolon comment\n"
		"\n"
		"   [sampling]   \n"
		"\tfrequency\t=\t250   ; inline comment\n"
		"    tick=2s\r\n"
		"\n"
		"[windows]\n"
		"  fine_slot = 2s\n"
		"coarse_slot:4m\n"
		"[sampling]\n"
		"ringbuf_size = 256K\n",
		err, sizeof(err)), 0);
	assert_int_equal(c.frequency, 250);
	assert_int_equal(c.tick_ns, 2000000000ull);
	assert_int_equal(c.fine_slot_ns, 2000000000ull);
	assert_int_equal(c.coarse_slot_ns, 240000000000ull);
	assert_int_equal(c.ringbuf_kib, 256);
	assert_int_equal(config_validate(&c, err, sizeof(err)), 0);

	/* Empty file and /dev/null: nothing changes. */
	struct config d;

	config_defaults(&d);
	config_defaults(&c);
	assert_int_equal(load_text(&c, "", err, sizeof(err)), 0);
	assert_int_equal(config_load_file(&c, "/dev/null", err, sizeof(err)), 0);
	assert_memory_equal(&c, &d, sizeof(c));
}

static void test_line_numbers_after_long_comment(void **state)
{
	char text[4096];

	(void)state;
	/* inih's line buffer is ~200 bytes: over-long lines are refused with
	 * their own number instead of being split into phantom lines. */
	memset(text, 0, sizeof(text));
	strcat(text, "[sampling]\n# ");
	memset(text + strlen(text), 'x', 300);
	strcat(text, "\nfrequency = 5\n");
	expect_fail(text, 2, "line too long");
	memset(text, 0, sizeof(text));
	strcat(text, "[symbols]\ndebug_dirs = /");
	memset(text + strlen(text), 'd', 400);
	strcat(text, "\n");
	expect_fail(text, 2, "line too long");
}

static void test_file_errors(void **state)
{
	struct config c, before;
	char err[512];
	char *big;
	size_t bigsz = (1u << 20) + 2;

	(void)state;
	config_defaults(&c);
	before = c;
	snprintf(err, sizeof(err), "unset");
	assert_int_equal(config_load_file(&c, "/nonexistent/profd.conf", err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/profd.conf"));
	assert_memory_equal(&c, &before, sizeof(c));

	assert_int_equal(config_load_file(&c, tmpdir, err, sizeof(err)), -EISDIR);
	assert_memory_equal(&c, &before, sizeof(c));

	/* Larger than 1 MiB, even if all comments. */
	big = malloc(bigsz);
	assert_non_null(big);
	for (size_t i = 0; i < bigsz; i++)
		big[i] = (i % 64 == 63) ? '\n' : '#';
	write_file(big, bigsz);
	free(big);
	assert_int_equal(config_load_file(&c, path, err, sizeof(err)), -EFBIG);
	assert_non_null(strstr(err, "too large"));
	assert_memory_equal(&c, &before, sizeof(c));

	write_file("[sampling]\nfrequency = 5\0\n", 26);
	assert_int_equal(config_load_file(&c, path, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "NUL"));
	assert_memory_equal(&c, &before, sizeof(c));

	/* A tiny err buffer is truncated, not overrun; NULL is accepted. */
	char tiny[8];

	memset(tiny, 'z', sizeof(tiny));
	assert_int_equal(load_text(&c, "[sampling]\nfrequency = 0\n", tiny, 4), -EINVAL);
	assert_int_equal(strlen(tiny), 3);
	assert_int_equal(tiny[4], 'z');
	write_file("[x]\n", 4);
	assert_int_equal(config_load_file(&c, path, NULL, 0), -EINVAL);
}

/* A valid key followed by an invalid one: the valid one must not leak. */
static void test_untouched_on_error(void **state)
{
	struct config c, before;
	char err[512];

	(void)state;
	config_defaults(&c);
	c.frequency = 7;
	before = c;
	assert_int_equal(load_text(&c, "[sampling]\nfrequency = 500\ntick = 0\n", err, sizeof(err)), -EINVAL);
	assert_memory_equal(&c, &before, sizeof(c));
	/* Loading on top keeps earlier values the file does not name. */
	assert_int_equal(load_text(&c, "[sampling]\ntick = 2s\n", err, sizeof(err)), 0);
	assert_int_equal(c.frequency, 7);
}

static void test_set(void **state)
{
	struct config c, before;
	char err[512];

	(void)state;
	config_defaults(&c);
	assert_int_equal(config_set(&c, "frequency", "999", err, sizeof(err)), 0);
	assert_int_equal(c.frequency, 999);
	assert_int_equal(config_set(&c, "sampling.frequency", "49", err, sizeof(err)), 0);
	assert_int_equal(c.frequency, 49);
	assert_int_equal(config_set(&c, "socket", "/tmp/p.sock", err, sizeof(err)), 0);
	assert_string_equal(c.socket, "/tmp/p.sock");
	assert_int_equal(config_set(&c, "daemon.log_level", "warning", err, sizeof(err)), 0);
	assert_int_equal(c.log_level, LOG_WARNING);
	assert_int_equal(config_set(&c, "log_level", "error", err, sizeof(err)), 0);
	assert_int_equal(c.log_level, LOG_ERR);
	assert_int_equal(config_set(&c, "limits.client_idle_timeout", "2m", err, sizeof(err)), 0);
	assert_int_equal(c.client_idle_ms, 120000);
	assert_int_equal(config_set(&c, "ringbuf_size", "1G", err, sizeof(err)), 0);
	assert_int_equal(c.ringbuf_kib, 1u << 20);

	before = c;
	assert_int_equal(config_set(&c, "frequency", "0", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "command line: [sampling] frequency = 0: must be between 1 and 10000");
	assert_int_equal(config_set(&c, "frequency", "", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "empty value"));
	assert_int_equal(config_set(&c, "frequncy", "5", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "unknown configuration key 'frequncy'"));
	assert_int_equal(config_set(&c, "daemon.frequency", "5", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "unknown configuration key 'daemon.frequency'"));
	assert_int_equal(config_set(&c, ".frequency", "5", err, sizeof(err)), -EINVAL);
	assert_int_equal(config_set(&c, "sampling.", "5", err, sizeof(err)), -EINVAL);
	assert_int_equal(config_set(&c, "socket", "relative.sock", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "absolute path"));
	assert_int_equal(config_set(&c, "tick", "1h", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "must be between 100ms and 10s"));
	assert_memory_equal(&c, &before, sizeof(c));
}

static void test_validate(void **state)
{
	struct config c;
	char err[512];

	(void)state;
	config_defaults(&c);
	assert_int_equal(config_set(&c, "fine_slot", "500ms", err, sizeof(err)), 0);
	assert_int_equal(config_validate(&c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "[windows] fine_slot = 500ms: must be a multiple of [sampling] tick = 1s");

	config_defaults(&c);
	assert_int_equal(config_set(&c, "fine_slot", "1500ms", err, sizeof(err)), 0);
	assert_int_equal(config_validate(&c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "must be a multiple of [sampling] tick = 1s"));

	config_defaults(&c);
	assert_int_equal(config_set(&c, "coarse_slot", "90s", err, sizeof(err)), 0);
	assert_int_equal(config_set(&c, "fine_slot", "1m", err, sizeof(err)), 0);
	assert_int_equal(config_validate(&c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "[windows] coarse_slot = 90s: must be a multiple of fine_slot = 1m");

	config_defaults(&c);
	assert_int_equal(config_set(&c, "coarse_slot", "2s", err, sizeof(err)), 0);
	assert_int_equal(config_set(&c, "fine_slot", "4s", err, sizeof(err)), 0);
	assert_int_equal(config_validate(&c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "must be a multiple of fine_slot"));

	config_defaults(&c);
	assert_int_equal(config_set(&c, "coarse_slots", "9", err, sizeof(err)), 0);
	assert_int_equal(config_validate(&c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "coarse tier (9 x 1m) must cover at least the fine tier (600 x 1s)"));
	assert_int_equal(config_set(&c, "coarse_slots", "10", err, sizeof(err)), 0);
	assert_int_equal(config_validate(&c, err, sizeof(err)), 0);

	/* Equal slots and tick are fine. */
	config_defaults(&c);
	assert_int_equal(config_set(&c, "tick", "10s", err, sizeof(err)), 0);
	assert_int_equal(config_set(&c, "fine_slot", "10s", err, sizeof(err)), 0);
	assert_int_equal(config_set(&c, "coarse_slot", "10s", err, sizeof(err)), 0);
	assert_int_equal(config_validate(&c, err, sizeof(err)), 0);

	config_defaults(&c);
	assert_int_equal(config_set(&c, "max_request", "16M", err, sizeof(err)), 0);
	assert_int_equal(config_set(&c, "max_reply", "8M", err, sizeof(err)), 0);
	assert_int_equal(config_validate(&c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "[limits] max_reply = 8M: must be at least max_request = 16M");

	/* Values written straight into the struct are range-checked too. */
	config_defaults(&c);
	c.ringbuf_kib = 100;
	assert_int_equal(config_validate(&c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "ringbuf_size"));
	config_defaults(&c);
	c.frequency = 0;
	assert_int_equal(config_validate(&c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "[sampling] frequency = 0: must be between 1 and 10000");
	config_defaults(&c);
	c.log_level = 42;
	assert_int_equal(config_validate(&c, err, sizeof(err)), -EINVAL);
	config_defaults(&c);
	c.socket[0] = '\0';
	assert_int_equal(config_validate(&c, err, sizeof(err)), -EINVAL);
	config_defaults(&c);
	memset(c.socket_group, 'g', sizeof(c.socket_group));
	assert_int_equal(config_validate(&c, err, sizeof(err)), -EINVAL);
}

static void test_dump_roundtrip(void **state)
{
	struct config c, d;
	char err[512], buf[8192];
	int n;

	(void)state;
	config_defaults(&c);
	n = config_dump(&c, buf, sizeof(buf));
	assert_true(n > 0 && (size_t)n == strlen(buf));
	assert_non_null(strstr(buf, "\n[sampling]\n"));
	assert_non_null(strstr(buf, "\nfrequency = 99\n"));
	assert_non_null(strstr(buf, "\ntick = 1s\n"));
	assert_non_null(strstr(buf, "\nmemory_limit = 128M\n"));
	assert_non_null(strstr(buf, "\nmemory_budget = 384M\n"));
	assert_non_null(strstr(buf, "\nlog_level = info\n"));

	/* Non-default values of every kind, including ones that only an
	 * exact unit can express. */
	assert_int_equal(config_set(&c, "socket", "/tmp/a b/p.sock", err, sizeof(err)), 0);
	assert_int_equal(config_set(&c, "log_level", "debug", err, sizeof(err)), 0);
	assert_int_equal(config_set(&c, "frequency", "4999", err, sizeof(err)), 0);
	assert_int_equal(config_set(&c, "tick", "1250ms", err, sizeof(err)), 0);
	assert_int_equal(config_set(&c, "ringbuf_size", "64K", err, sizeof(err)), 0);
	assert_int_equal(config_set(&c, "fine_slot", "2500ms", err, sizeof(err)), 0);
	assert_int_equal(config_set(&c, "coarse_slot", "1h", err, sizeof(err)), 0);
	assert_int_equal(config_set(&c, "memory_limit", "1536M", err, sizeof(err)), 0);
	assert_int_equal(config_set(&c, "max_request", "1025", err, sizeof(err)), 0);
	assert_int_equal(config_set(&c, "max_reply", "3G", err, sizeof(err)), 0);
	assert_int_equal(config_set(&c, "client_idle_timeout", "1d", err, sizeof(err)), 0);
	assert_int_equal(config_set(&c, "cache_size", "1048577K", err, sizeof(err)), 0);
	assert_int_equal(config_set(&c, "debug_dirs", "", err, sizeof(err)), 0);
	n = config_dump(&c, buf, sizeof(buf));
	assert_true(n > 0);
	write_file(buf, (size_t)n);
	config_defaults(&d);
	assert_int_equal(config_load_file(&d, path, err, sizeof(err)), 0);
	assert_memory_equal(&c, &d, sizeof(c));

	/* The longest values still fit a line of the dump. */
	char longest[200];

	memset(longest, 'd', sizeof(longest));
	longest[0] = '/';
	longest[180] = '\0';
	assert_int_equal(config_set(&c, "debug_dirs", longest, err, sizeof(err)), 0);
	longest[180] = 'd';
	longest[181] = '\0';
	assert_int_equal(config_set(&c, "debug_dirs", longest, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "too long (181 characters, at most 180)"));
	memset(longest, 's', sizeof(longest));
	longest[0] = '/';
	longest[107] = '\0';
	assert_int_equal(config_set(&c, "socket", longest, err, sizeof(err)), 0);
	n = config_dump(&c, buf, sizeof(buf));
	assert_true(n > 0);
	write_file(buf, (size_t)n);
	config_defaults(&d);
	assert_int_equal(config_load_file(&d, path, err, sizeof(err)), 0);
	assert_memory_equal(&c, &d, sizeof(c));

	/* Too small a buffer: -ENOSPC, still terminated, never overrun. */
	memset(buf, 'z', sizeof(buf));
	assert_int_equal(config_dump(&c, buf, 100), -ENOSPC);
	assert_int_equal(strlen(buf), 99);
	assert_int_equal(buf[100], 'z');
	assert_int_equal(config_dump(&c, NULL, 0), -ENOSPC);
}

/* packaging/profd.conf must parse, equal the defaults, and still equal them
 * with every commented-out key enabled: it documents every default. */
static void test_shipped_config(void **state)
{
	const char *root = getenv("PROFD_SOURCE_ROOT");
	struct config c, d;
	char file[512], err[512], dump[8192], line[1024];
	char *text = NULL;
	size_t len = 0, cap = 0;
	FILE *f;

	(void)state;
	if (!root || !*root)
		skip();
	snprintf(file, sizeof(file), "%s/packaging/profd.conf", root);
	config_defaults(&c);
	config_defaults(&d);
	assert_int_equal(config_load_file(&c, file, err, sizeof(err)), 0);
	assert_memory_equal(&c, &d, sizeof(c));

	f = fopen(file, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		const char *l = line;
		size_t ll;

		/* "#key = value" -> "key = value"; prose comments stay. */
		if (line[0] == '#' && line[1] >= 'a' && line[1] <= 'z' && strstr(line, " = "))
			l = line + 1;
		ll = strlen(l);
		if (len + ll + 1 > cap) {
			cap = (len + ll + 1) * 2;
			text = realloc(text, cap);
			assert_non_null(text);
		}
		memcpy(text + len, l, ll + 1);
		len += ll;
	}
	fclose(f);
	assert_non_null(text);
	assert_int_equal(load_text(&c, text, err, sizeof(err)), 0);
	assert_memory_equal(&c, &d, sizeof(c));

	/* Every key of the table appears, enabled, in the uncommented text. */
	assert_true(config_dump(&d, dump, sizeof(dump)) > 0);
	for (char *p = strtok(dump, "\n"); p; p = strtok(NULL, "\n")) {
		char want[300];

		if (p[0] == '#' || p[0] == '[')
			continue;
		snprintf(want, sizeof(want), "\n%s\n", p);
		if (!strstr(text, want))
			print_error("packaging/profd.conf lacks \"#%s\"\n", p);
		assert_non_null(strstr(text, want));
	}
	free(text);
}

/* [rule NAME] sections belong to the alert rules (daemon/alerts/rules.c):
 * skipped here, whatever their keys; [alerts] keys are checked here. */
static void test_rule_sections(void **state)
{
	struct config c;
	char err[512];

	(void)state;
	config_defaults(&c);
	assert_int_equal(load_text(&c, "[rule cpu]\nmetric = process.cpu_pct\nabove = 90\n[alerts]\nhistory = 50\n"
				     "alertmanager_url = http://127.0.0.1:9093\n[rule other]\nanything = goes\n",
				   err, sizeof(err)),
			 0);
	assert_int_equal(c.alert_history, 50);
	assert_string_equal(c.alertmanager_url, "http://127.0.0.1:9093");
	config_defaults(&c);
	assert_int_equal(load_text(&c, "[alerts]\nwebhook_url = ftp://x\n", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ":2: [alerts] webhook_url = ftp://x: must be an http:// or https:// URL"));
	assert_int_equal(load_text(&c, "[rules]\nx = 1\n", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "unknown section [rules]"));
	assert_int_equal(load_text(&c, "[alerts]\nwebhook_resend = 0\nnotify_attempts = 0\n", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ":3: [alerts] notify_attempts = 0"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_full_file),
		cmocka_unit_test(test_partial_file),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_structure_errors),
		cmocka_unit_test(test_comments_whitespace),
		cmocka_unit_test(test_line_numbers_after_long_comment),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_untouched_on_error),
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_dump_roundtrip),
		cmocka_unit_test(test_shipped_config),
		cmocka_unit_test(test_rule_sections),
		cmocka_unit_test(test_reload_diff),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
