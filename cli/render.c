/* SPDX-License-Identifier: GPL-2.0-only */
/* profctl rendering: status as grouped key/value lines, and the tolerant
 * member access every renderer uses. top is in render_top.c (text) and
 * render_tui.c (curses). See render.h. */
#include "render.h"

#include <stdbool.h>
#include <string.h>

#include "common/fmt.h"
#include "render_internal.h"

/* ---- member access that survives a different daemon version ---- */

struct json_object *rj_get(struct json_object *o, const char *path)
{
	char key[64];

	while (o && *path) {
		size_t n = strcspn(path, ".");
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &o))
			return NULL;
		path += n + (path[n] == '.');
	}
	return o;
}

bool rj_has_num(struct json_object *o, const char *path)
{
	struct json_object *v = rj_get(o, path);

	return v && (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double));
}

int64_t rj_int(struct json_object *o, const char *path)
{
	return rj_has_num(o, path) ? json_object_get_int64(rj_get(o, path)) : 0;
}

double rj_double(struct json_object *o, const char *path)
{
	return rj_has_num(o, path) ? json_object_get_double(rj_get(o, path)) : 0.0;
}

const char *rj_str(struct json_object *o, const char *path)
{
	struct json_object *v = rj_get(o, path);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* Short-lived strings for printf arguments: a ring, so one printf may use
 * several. */
static char *scratch(void)
{
	static char ring[16][64];
	static unsigned next;

	return ring[next++ % 16];
}

/* Integer member, or "?" when the daemon did not send it. */
static const char *N(struct json_object *o, const char *path)
{
	char *b = scratch();

	if (!rj_has_num(o, path))
		return "?";
	snprintf(b, 64, "%lld", (long long)rj_int(o, path));
	return b;
}

static const char *B(struct json_object *o, const char *path)
{
	if (!rj_has_num(o, path))
		return "?";
	return fmt_bytes(scratch(), 64, (uint64_t)(rj_int(o, path) < 0 ? 0 : rj_int(o, path)));
}

/* Seconds (float) as a human duration. */
static const char *D(struct json_object *o, const char *path)
{
	double s = rj_double(o, path);

	if (!rj_has_num(o, path))
		return "?";
	return fmt_duration(scratch(), 64, s <= 0 ? 0 : (uint64_t)(s * 1e9 + 0.5));
}

static const char *S(struct json_object *o, const char *path)
{
	const char *s = rj_str(o, path);

	return s ? s : "?";
}

/* ---- status ---- */

static void render_samples(FILE *f, struct json_object *d)
{
	int64_t taken = rj_int(d, "samples.taken"), idle = rj_int(d, "samples.idle");
	int64_t drained = rj_int(d, "samples.drained"), pending = rj_int(d, "samples.pending");
	int64_t dropped = rj_int(d, "samples.dropped.ringbuf_full");
	int64_t diff = taken - (idle + drained + dropped + pending);

	fprintf(f, "samples\n");
	/* The identity is the point of this line: every sample is accounted
	 * for, and a gap says something was lost silently. */
	fprintf(f, "  taken: %s = idle %s + drained %s + dropped %s + pending %s%s\n", N(d, "samples.taken"),
		N(d, "samples.idle"), N(d, "samples.drained"), N(d, "samples.dropped.ringbuf_full"),
		N(d, "samples.pending"), diff && rj_has_num(d, "samples.taken") ? "  (does not add up!)" : "");
	if (diff && rj_has_num(d, "samples.taken"))
		fprintf(f, "  unaccounted: %lld\n", (long long)diff);
	fprintf(f, "  dropped: ringbuf full %s\n", N(d, "samples.dropped.ringbuf_full"));
	fprintf(f, "  process events lost: %s\n", N(d, "samples.dropped.proc_events_lost"));
	fprintf(f, "  stack errors: kernel %s, user %s\n", N(d, "samples.kstack_errors"), N(d, "samples.ustack_errors"));
	if (rj_has_num(d, "samples.malformed"))
		fprintf(f, "  malformed: %s\n", N(d, "samples.malformed"));
	if (rj_has_num(d, "samples.proc_events"))
		fprintf(f, "  process events: %s\n", N(d, "samples.proc_events"));
}

static void render_store(FILE *f, struct json_object *d)
{
	struct json_object *tiers = rj_get(d, "store.tiers");

	fprintf(f, "store\n");
	fprintf(f, "  memory: %s of %s\n", B(d, "store.bytes"), B(d, "store.limit_bytes"));
	fprintf(f, "  entries: %s (coarsened %s)\n", N(d, "store.entries"), N(d, "store.coarsened_entries"));
	fprintf(f, "  dropped slots: %s\n", N(d, "store.dropped_slots"));
	if (tiers && json_object_is_type(tiers, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(tiers); i++) {
			struct json_object *t = json_object_array_get_idx(tiers, i);
			fprintf(f, "  tier %zu: %s x %s slots, %s held (%s)\n", i + 1, N(t, "slots"), D(t, "slot_s"),
				N(t, "held_slots"), D(t, "held_s"));
		}
	}
}

/* One line per push target: what was delivered and what is waiting or lost. */
static void render_push(FILE *f, struct json_object *d)
{
	struct json_object *t = rj_get(d, "push.targets");
	size_t n = t && json_object_is_type(t, json_type_array) ? json_object_array_length(t) : 0;

	if (!n && !rj_get(d, "push.scrape"))
		return;
	fprintf(f, "push\n");
	for (size_t i = 0; i < n; i++) {
		struct json_object *x = json_object_array_get_idx(t, i);

		fprintf(f, "  %s (%s, %s): sent %s, retried %s, failed %s, dropped %s, queued %s of %s\n", S(x, "name"),
			S(x, "type"), S(x, "url"), N(x, "sent"), N(x, "retried"), N(x, "failed"), N(x, "dropped"),
			N(x, "queue_depth"), N(x, "queue_limit"));
		if (*S(x, "last_error"))
			fprintf(f, "    last error: %s\n", S(x, "last_error"));
	}
	if (rj_get(d, "push.scrape"))
		fprintf(f, "  scrape %s: served %s, refused %s, oversized %s\n", S(d, "push.scrape.listen"),
			N(d, "push.scrape.served"), N(d, "push.scrape.rejected"), N(d, "push.scrape.oversized"));
}

/* Where CPU time comes from, and which kernel counters are exact: each
 * family that is not says why. */
static void render_resources(FILE *f, struct json_object *d)
{
	struct json_object *c = rj_get(d, "resources.counters");

	if (!rj_get(d, "resources"))
		return;
	fprintf(f, "resources\n");
	fprintf(f, "  cpu source: %s\n", S(d, "resources.cpu_source"));
	if (c && json_object_is_type(c, json_type_object)) {
		json_object_object_foreach(c, name, v) {
			const char *why = rj_str(v, "reason");

			if (why)
				fprintf(f, "  %s: %s (%s)\n", name, S(v, "state"), why);
			else
				fprintf(f, "  %s: %s\n", name, S(v, "state"));
		}
	}
	if (rj_get(d, "resources.cgroup_io"))
		fprintf(f, "  block I/O per unit: %s units, %s cgroups; bytes to units %s, to no unit %s, unknown %s\n",
			N(d, "resources.cgroup_io.units"), N(d, "resources.cgroup_io.cgroups"),
			B(d, "resources.cgroup_io.unit_bytes"), B(d, "resources.cgroup_io.other_bytes"),
			B(d, "resources.cgroup_io.unknown_bytes"));
}

/* A share of one CPU: "0.12 %", "?" when absent (null). */
static const char *P(struct json_object *o, const char *path)
{
	char *b = scratch();

	if (!rj_has_num(o, path))
		return "?";
	snprintf(b, 64, "%.2f %%", rj_double(o, path));
	return b;
}

/* What profd costs: the same figures bench/run measures (threads' CPU
 * time + BPF run time, % of one CPU), over the last minute and since start;
 * threads and programs that cost nothing are left out. */
static void render_cost(FILE *f, struct json_object *d)
{
	static const char *const threads[] = { "loop", "collector", "symbols", "debuginfod", "unwind", "query",
					      "notify", "other" };
	static const char *const progs[] = { "sample", "sched_switch", "sched_wakeup", "sched_runtime", "sched_fork",
					    "proc", "blkio", "other" };
	const char *stats = rj_str(d, "cost.bpf_stats");
	bool measured = stats && strcmp(stats, "off");
	char path[96];
	const char *sep = "";

	if (!rj_get(d, "cost"))
		return;
	fprintf(f, "cost (%% of one CPU, last %s; since start)\n", D(d, "cost.window_s"));
	if (measured)
		fprintf(f, "  total: %s = daemon %s + BPF %s; since start %s\n", P(d, "cost.last_minute.total_pct"),
			P(d, "cost.last_minute.cpu_pct"), P(d, "cost.last_minute.bpf_pct"),
			P(d, "cost.since_start.total_pct"));
	else
		fprintf(f, "  total: not known: daemon %s (since start %s) + BPF not measured\n",
			P(d, "cost.last_minute.cpu_pct"), P(d, "cost.since_start.cpu_pct"));
	fprintf(f, "  threads:");
	for (size_t i = 0; i < sizeof(threads) / sizeof(threads[0]); i++) {
		snprintf(path, sizeof(path), "cost.threads.%s.cpu_pct", threads[i]);
		if (rj_double(d, path) < 0.005 && strcmp(threads[i], "loop"))
			continue;
		fprintf(f, "%s %s %s", sep, threads[i], P(d, path));
		sep = ",";
	}
	fprintf(f, "\n");
	if (!measured) {
		fprintf(f, "  bpf: not measured: kernel BPF statistics are off "
			   "(set [daemon] bpf_stats = yes, or sysctl kernel.bpf_stats_enabled=1)\n");
	} else {
		fprintf(f, "  bpf (statistics on: %s; %s of the window):\n", !strcmp(stats, "profd") ? "held by profd"
			: !strcmp(stats, "sysctl") ? "kernel.bpf_stats_enabled" : "by another process",
			D(d, "cost.last_minute.bpf_covered_s"));
		for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
			char a[96], b[96];

			snprintf(path, sizeof(path), "cost.bpf.%s.runs_per_s", progs[i]);
			if (rj_double(d, path) <= 0)
				continue;
			snprintf(a, sizeof(a), "cost.bpf.%s.cpu_pct", progs[i]);
			snprintf(b, sizeof(b), "cost.bpf.%s.ns_per_run", progs[i]);
			fprintf(f, "    %-14s %s: %.0f runs/s x %.0f ns\n", progs[i], P(d, a), rj_double(d, path),
				rj_double(d, b));
		}
	}
	if (rj_get(d, "cost.sched_counters") && !json_object_get_boolean(rj_get(d, "cost.sched_counters")))
		fprintf(f, "  scheduler counters: off (CPU %% from samples)\n");
	fprintf(f, "  memory: rss %s of budget %s (%s), peak %s\n", B(d, "memory.rss_bytes"), B(d, "memory.budget_bytes"),
		P(d, "cost.rss_budget_pct"), B(d, "memory.rss_peak_bytes"));
}

void render_status(FILE *f, struct json_object *d)
{
	fprintf(f, "profd %s (pid %s), up %s\n", S(d, "version"), N(d, "pid"), D(d, "uptime_s"));
	fprintf(f, "sampling\n");
	fprintf(f, "  frequency: %s Hz (%s) on %s CPUs\n", N(d, "sampling.frequency"), S(d, "sampling.event"),
		N(d, "sampling.cpus"));
	fprintf(f, "  tick: %s\n", D(d, "sampling.tick_s"));
	render_samples(f, d);
	fprintf(f, "processes\n");
	fprintf(f, "  tracked: %s of %s (alive %s)\n", N(d, "processes.tracked"), N(d, "processes.limit"),
		N(d, "processes.alive"));
	fprintf(f, "  table full: %s, collected: %s\n", N(d, "processes.table_full"), N(d, "processes.collected"));
	if (rj_has_num(d, "processes.read_errors"))
		fprintf(f, "  /proc read errors: %s\n", N(d, "processes.read_errors"));
	render_resources(f, d);
	fprintf(f, "stacks\n");
	fprintf(f, "  interned: %s of %s (%s)\n", N(d, "stacks.interned"), N(d, "stacks.limit"), B(d, "stacks.bytes"));
	fprintf(f, "  table full: %s, collected: %s\n", N(d, "stacks.table_full"), N(d, "stacks.collected"));
	render_store(f, d);
	fprintf(f, "symbols\n");
	fprintf(f, "  objects: %s (loaded %s, pending %s, table full %s)\n", N(d, "symbols.objects"),
		N(d, "symbols.objects_loaded"), N(d, "symbols.pending"), N(d, "symbols.objects_full"));
	fprintf(f, "  cache: %s of %s (evictions %s)\n", B(d, "symbols.cache_bytes"), B(d, "symbols.cache_limit_bytes"),
		N(d, "symbols.evictions"));
	fprintf(f, "  load failures: %s\n", N(d, "symbols.load_failures"));
	fprintf(f, "  kernel symbols: %s\n", N(d, "symbols.kernel_symbols"));
	fprintf(f, "  jit: %s objects (maps loaded %s, reads %s, failed %s, cut %s)\n", N(d, "symbols.jit_objects"),
		N(d, "symbols.jit_maps_loaded"), N(d, "symbols.jit_map_reads"), N(d, "symbols.jit_map_failures"),
		N(d, "symbols.jit_truncated"));
	fprintf(f, "  debuginfod: %s queries (downloaded %s, %s; cached %s; failed %s; held off %s), cache %s\n",
		N(d, "symbols.debuginfod_queries"), N(d, "symbols.debuginfod_downloads"), B(d, "symbols.debuginfod_bytes"),
		N(d, "symbols.debuginfod_cache_hits"), N(d, "symbols.debuginfod_failures"),
		N(d, "symbols.debuginfod_held_off"), B(d, "symbols.debuginfod_cache_bytes"));
	fprintf(f, "server\n");
	fprintf(f, "  clients: %s of %s (accepted %s)\n", N(d, "server.clients"), N(d, "server.limit_clients"),
		N(d, "server.accepted"));
	fprintf(f, "  requests: %s (errors %s)\n", N(d, "server.requests"), N(d, "server.errors"));
	fprintf(f, "  refused: busy %s, oversized %s, idle closed %s, slow closed %s\n", N(d, "server.rejected_clients"),
		N(d, "server.oversized"), N(d, "server.idle_closed"), N(d, "server.slow_closed"));
	fprintf(f, "daemon\n");
	fprintf(f, "  memory: %s rss\n", B(d, "daemon.rss_bytes"));
	fprintf(f, "  cpu: %s\n", D(d, "daemon.cpu_s"));
	fprintf(f, "  ticks: %s (overruns %s)\n", N(d, "daemon.ticks"), N(d, "daemon.tick_overruns"));
	if (rj_has_num(d, "daemon.reloads"))
		fprintf(f, "  reloads: %s (failed %s)\n", N(d, "daemon.reloads"), N(d, "daemon.reload_failures"));
	{
		struct json_object *p = rj_get(d, "pending_restart");
		size_t n = p && json_object_is_type(p, json_type_array) ? json_object_array_length(p) : 0;

		/* the file says otherwise; the running values stay until then */
		if (n) {
			fprintf(f, "  changed, applies at the next start:");
			for (size_t i = 0; i < n; i++)
				fprintf(f, "%s %s", i ? "," : "", json_object_get_string(json_object_array_get_idx(p, i)));
			fputc('\n', f);
		}
	}
	render_cost(f, d);
	render_push(f, d);
	render_status_alerts(f, d);
}
