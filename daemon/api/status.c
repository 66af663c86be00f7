/* SPDX-License-Identifier: GPL-2.0-only */
/* The `status` handler: what profd is doing and what it costs, every bound
 * with its limit and the count of times it was hit. */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <json-c/json.h>

#include "alerts/alerts.h"
#include "api/handlers.h"
#include "api/server.h"
#include "collect/gpu.h"
#include "collect/resources.h"
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

static uint64_t self_rss(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "re");

	if (!f)
		return 0;
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = 0;
	fclose(f);
	return (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* Everything status reports that is a metric, read once. */
static void snapshot(struct daemon *d, struct metrics_daemon *m)
{
	struct rusage ru;

	memset(m, 0, sizeof(*m));
	m->uptime_s = (double)(clock_boot_ns() - d->start_boot_ns) / 1e9;
	m->frequency = sampler_frequency(d->sampler);
	m->cpus = sampler_ncpus(d->sampler);
	m->tick_s = (double)d->cfg.tick_ns / 1e9;
	sampler_get_stats(d->sampler, &m->samples);
	m->samples_pending = m->samples.emitted > m->samples.drained ? m->samples.emitted - m->samples.drained : 0;
	proctable_get_stats(d->procs, &m->procs);
	m->procs_limit = d->cfg.max_procs;
	stacks_get_stats(d->stacks, &m->stacks);
	m->stacks_limit = d->cfg.max_stacks;
	window_get_stats(d->win, &m->store);
	m->store_limit = d->cfg.store_max_bytes;
	symbolizer_get_stats(d->sym, &m->symbols);
	if (d->unw)
		unwinder_get_stats(d->unw, &m->unwind);
	m->symbols_cache_limit = d->cfg.symcache_bytes;
	server_get_stats(d->server, &m->server);
	m->server_clients_limit = d->cfg.max_clients;
	resources_get_stats(d->res, &m->res);
	m->res_last_tick_ms = (double)m->res.last_tick_ns / 1e6;
	m->res_max_tick_ms = (double)m->res.max_tick_ns / 1e6;
	m->rss_bytes = self_rss();
	getrusage(RUSAGE_SELF, &ru);
	m->cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
		   (double)ru.ru_stime.tv_usec / 1e6;
	m->ticks = d->ticks;
	m->tick_overruns = d->tick_overruns;
	m->reloads = d->reloads;
	m->reload_failures = d->reload_failures;
}

void api_status(struct daemon *d, struct json_object *req, struct server_reply *reply)
{
	struct json_object *o = json_object_new_object(), *x, *y, *tiers;
	struct metrics_daemon m;

	(void)req;
	snapshot(d, &m);
	json_object_object_add(o, "version", json_object_new_string(PROFD_VERSION));
	api_add_u64(o, "pid", (uint64_t)getpid());
	if (metrics_to_json(METRIC_DAEMON, &m, o) < 0) {
		json_object_put(o);
		server_reply_error(reply, PROFD_E_INTERNAL, "out of memory");
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
	json_object_object_add(x, "cpu_source", json_object_new_string(resources_exact_cpu(d->res) ? "sched" : "samples"));
	json_object_object_add(x, "gpu", json_object_new_string(resources_gpu_state(d->res)));
	/* per-target delivery counters: sent, retried, failed, dropped, queue */
	y = json_object_new_object();
	push_status_json(d->push, y);
	json_object_object_add(o, "push", y);
	if (d->alerts)
		alerts_status_json(d->alerts, o);
	server_reply_ok(reply, o);
}
