/* SPDX-License-Identifier: GPL-2.0-only */
/* The `status` handler: what profd is doing and what it costs, every bound
 * with its limit and the count of times it was hit. Answered on the loop,
 * never waiting for the query worker: the store's figures come from the
 * loop's last turn with the store (daemon_store_turn), the rest is read
 * live. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <json-c/json.h>

#include "alerts/alerts.h"
#include "api/handlers.h"
#include "api/server.h"
#include "api/worker.h"
#include "collect/selfcost.h"
#include "base/loop.h"
#include "common/clock.h"
#include "daemon.h"
#include "metrics/registry.h"
#include "profd/protocol.h"
#include "push/push.h"
#include "store/proctable.h"
#include "store/stacks.h"
#include "store/window.h"
#include "symbols/symbolizer.h"
#include "unwind/unwinder.h"
#include "staging.h"

/* VmRSS and VmHWM from /proc/self/status, bytes. */
static void self_rss(uint64_t *rss, uint64_t *peak)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");
	unsigned long long kb;

	*rss = *peak = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "VmRSS: %llu kB", &kb) == 1)
			*rss = kb * 1024;
		else if (sscanf(line, "VmHWM: %llu kB", &kb) == 1)
			*peak = kb * 1024;
	}
	fclose(f);
}

/* Everything status reports that is a metric, read once. */
static void snapshot(struct daemon *d, struct metrics_daemon *m)
{
	const struct daemon_snapshot *sn = &d->snap;
	struct staging_stats ss;
	struct worker_stats ws = { 0 };
	struct loop_stats ls;
	struct rusage ru;

	memset(m, 0, sizeof(*m));
	m->uptime_s = (double)(clock_boot_ns() - d->start_boot_ns) / 1e9;
	m->frequency = sampler_frequency(d->sampler);
	m->cpus = sampler_ncpus(d->sampler);
	m->tick_s = (double)d->cfg.tick_ns / 1e9;
	sampler_get_stats(d->sampler, &m->samples);
	m->samples_pending = m->samples.emitted > m->samples.drained ? m->samples.emitted - m->samples.drained : 0;
	staging_get_stats(d->staging, &ss);
	m->samples_applied = d->samples_applied;
	m->samples_staged = ss.samples;
	m->samples_staging_dropped = d->staging_dropped_samples;
	m->samples_store_failed = d->samples_store_failed;
	m->py_frames = d->py_frames;
	m->py_evals_named = d->py_evals_named;
	m->py_evals_unnamed = d->py_evals_unnamed;
	m->py_frames_unmatched = d->py_frames_unmatched;
	m->procs = sn->procs;
	m->procs_limit = d->cfg.max_procs;
	m->stacks = sn->stacks;
	m->stacks_limit = d->cfg.max_stacks;
	m->store = sn->store;
	m->store_limit = d->cfg.store_max_bytes;
	m->symbols = sn->symbols;
	if (d->unw)
		unwinder_get_stats(d->unw, &m->unwind);
	m->symbols_cache_limit = d->cfg.symcache_bytes;
	server_get_stats(d->server, &m->server);
	m->server_clients_limit = d->cfg.max_clients;
	m->protocol_version = PROFD_PROTO_VERSION;
	m->res = sn->res;
	m->res_last_tick_ms = (double)m->res.last_tick_ns / 1e6;
	m->res_max_tick_ms = (double)m->res.max_tick_ns / 1e6;
	self_rss(&m->rss_bytes, &m->rss_peak_bytes);
	getrusage(RUSAGE_SELF, &ru);
	m->cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
		   (double)ru.ru_stime.tv_usec / 1e6;
	m->ticks = d->ticks;
	m->tick_overruns = d->tick_overruns;
	m->reloads = d->reloads;
	m->reload_failures = d->reload_failures;
	selfcost_get(d->cost, &m->cost);
	m->rss_budget_pct = d->cfg.memory_budget ? 100.0 * (double)m->rss_bytes / (double)d->cfg.memory_budget : NAN;

	m->mem_budget = d->cfg.memory_budget;
	m->replies_limit = d->cfg.reply_memory;
	m->queries_bytes = __atomic_load_n(&d->query_held, __ATOMIC_RELAXED);
	m->queries_limit = d->cfg.query_memory;
	m->staging_bytes = ss.allocated;
	m->staging_limit = d->cfg.staging_memory;

	if (d->worker)
		worker_get_stats(d->worker, &ws);
	m->q_top = d->queries.top;
	m->q_exports = d->queries.exports;
	m->q_export_bytes = d->queries.export_bytes;
	m->q_export_failures = d->queries.export_failures;
	m->q_timeouts = d->queries.timeouts;
	m->q_refused_memory = d->queries.refused_memory;
	m->q_jobs = ws.jobs;
	m->q_queued = ws.queued;
	m->q_queued_max = ws.queued_max;
	m->q_queue_limit = d->cfg.max_queued_queries;
	m->q_refused = ws.refused;
	m->q_running = ws.running;
	m->q_reads = ws.reads;
	m->q_loop_deferred = ws.loop_denied;
	m->q_read_ms_max = (double)ws.read_ns_max / 1e6;
	m->q_wait_ms_max = (double)ws.read_wait_ns_max / 1e6;
	m->q_timeout_ms = d->cfg.query_timeout_ms;

	m->staging_records = ss.records;
	m->staging_bytes_max = ss.bytes_max;
	m->staging_events_dropped = d->staging_dropped_events;
	m->staging_deferred_ticks = d->deferred_ticks;
	m->staging_slices = d->replay_slices;
	m->staging_delay_ms_max = (double)d->staging_delay_ns_max / 1e6;
	m->store_age_ms = (double)(clock_mono_ns() - d->snap.taken_ns) / 1e6;
	loop_get_stats(d->loop, &ls);
	m->loop_dispatches = ls.dispatches;
	m->loop_max_ms = (double)ls.cpu_ns_max / 1e6;
	m->loop_over_10ms = ls.over_10ms;
	m->loop_over_50ms = ls.over_50ms;
	m->loop_over_250ms = ls.over_250ms;
}

/* Which kernel counters are exact, which estimated or absent, and why. */
static struct json_object *counters_json(const struct kstats_exactness *x)
{
	static const char *const states[] = { [KSTATS_EXACT] = "exact", [KSTATS_ESTIMATED] = "estimated",
					      [KSTATS_ABSENT] = "absent" };
	struct json_object *o = json_object_new_object();

	for (int i = 0; i < KSTATS_FAM_COUNT; i++) {
		const struct kstats_family *f = &x->fam[i];
		struct json_object *y = json_object_new_object();

		json_object_object_add(y, "state", json_object_new_string(f->state <= KSTATS_ABSENT ? states[f->state]
												    : "absent"));
		if (f->reason[0])
			json_object_object_add(y, "reason", json_object_new_string(f->reason));
		json_object_object_add(o, f->name ? f->name : "?", y);
	}
	return o;
}

void api_status(struct daemon *d, struct server_request *rq)
{
	struct json_object *o = json_object_new_object(), *x, *y, *tiers;
	struct metrics_daemon m;

	/* fresh figures when the store is free; the last ones when not */
	daemon_store_turn(d);
	snapshot(d, &m);
	json_object_object_add(o, "version", json_object_new_string(PROFD_VERSION));
	api_add_u64(o, "pid", (uint64_t)getpid());
	if (metrics_to_json(METRIC_DAEMON, &m, o) < 0) {
		json_object_put(o);
		server_reply_error(rq, PROFD_E_INTERNAL, "out of memory");
		return;
	}
	/* Members that are descriptions, not metrics. */
	x = json_object_object_get(o, "sampling");
	json_object_object_add(x, "event", json_object_new_string(sampler_event_name(d->sampler)));
	json_object_object_add(x, "unwinder", json_object_new_string(d->unw ? "dwarf" : "fp"));
	tiers = json_object_new_array();
	for (int i = 0; i < 2; i++) {
		y = json_object_new_object();
		api_add_f(y, "slot_s", (double)(i ? d->cfg.coarse_slot_ns : d->cfg.fine_slot_ns) / 1e9);
		api_add_u64(y, "slots", i ? d->cfg.coarse_slots : d->cfg.fine_slots);
		api_add_u64(y, "held_slots", m.store.slots[i]);
		api_add_f(y, "held_s", (double)m.store.held_ns[i] / 1e9);
		json_object_array_add(tiers, y);
	}
	json_object_object_add(json_object_object_get(o, "store"), "tiers", tiers);
	x = json_object_object_get(o, "resources");
	json_object_object_add(x, "cpu_source", json_object_new_string(d->snap.exact_cpu ? "sched" : "samples"));
	json_object_object_add(x, "counters", counters_json(&d->snap.exact));
	json_object_object_add(x, "gpu", json_object_new_string(d->snap.gpu_state));
	/* changed in the file, in force at the next start only */
	json_object_object_add(o, "pending_restart", daemon_list_json(d->pending_restart));
	/* who keeps BPF statistics on: "profd", "sysctl", "other" or "off" */
	x = json_object_object_get(o, "cost");
	json_object_object_add(x, "bpf_stats", json_object_new_string(selfcost_stats_name(m.cost.bpf_stats)));
	json_object_object_add(x, "sched_counters", json_object_new_boolean(d->snap.exact_cpu));
	/* per-target delivery counters: sent, retried, failed, dropped, queue */
	y = json_object_new_object();
	push_status_json(d->push, y);
	json_object_object_add(o, "push", y);
	if (d->alerts)
		alerts_status_json(d->alerts, o);
	server_reply_ok(rq, o);
}
