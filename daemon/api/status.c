/* SPDX-License-Identifier: GPL-2.0-only */
/* The `status` handler: what profd is doing and what it costs, every bound
 * with its limit and the count of times it was hit. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <json-c/json.h>

#include "api/handlers.h"
#include "api/server.h"
#include "collect/gpu.h"
#include "collect/resources.h"
#include "common/clock.h"
#include "daemon.h"
#include "store/proctable.h"
#include "store/stacks.h"
#include "store/window.h"
#include "symbols/symbolizer.h"

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

void api_status(struct daemon *d, struct json_object *req, struct server_reply *reply)
{
	struct json_object *o = json_object_new_object(), *x, *y, *tiers;
	struct sampler_stats ss;
	struct proctable_stats ps;
	struct stacks_stats st;
	struct window_stats ws;
	struct symbolizer_stats sy;
	struct server_stats sv;
	struct rusage ru;
	uint64_t now = clock_boot_ns();

	(void)req;

	sampler_get_stats(d->sampler, &ss);
	proctable_get_stats(d->procs, &ps);
	stacks_get_stats(d->stacks, &st);
	window_get_stats(d->win, &ws);
	symbolizer_get_stats(d->sym, &sy);
	server_get_stats(d->server, &sv);
	getrusage(RUSAGE_SELF, &ru);

	json_object_object_add(o, "version", json_object_new_string(PROFD_VERSION));
	api_add_u64(o, "pid", (uint64_t)getpid());
	api_add_f(o, "uptime_s", (double)(now - d->start_boot_ns) / 1e9);

	x = json_object_new_object();
	api_add_u64(x, "frequency", sampler_frequency(d->sampler));
	json_object_object_add(x, "event", json_object_new_string(sampler_event_name(d->sampler)));
	api_add_u64(x, "cpus", sampler_ncpus(d->sampler));
	api_add_f(x, "tick_s", (double)d->cfg.tick_ns / 1e9);
	json_object_object_add(o, "sampling", x);

	x = json_object_new_object();
	api_add_u64(x, "taken", ss.taken);
	api_add_u64(x, "idle", ss.idle);
	api_add_u64(x, "drained", ss.drained);
	/* emitted but not yet consumed: in the ring buffer right now */
	api_add_u64(x, "pending", ss.emitted > ss.drained ? ss.emitted - ss.drained : 0);
	y = json_object_new_object();
	api_add_u64(y, "ringbuf_full", ss.dropped_ringbuf);
	api_add_u64(y, "proc_events_lost", ss.proc_events_lost);
	json_object_object_add(x, "dropped", y);
	api_add_u64(x, "kstack_errors", ss.kstack_err);
	api_add_u64(x, "ustack_errors", ss.ustack_err);
	api_add_u64(x, "malformed", ss.malformed);
	api_add_u64(x, "proc_events", ss.proc_events);
	json_object_object_add(o, "samples", x);

	x = json_object_new_object();
	api_add_u64(x, "tracked", ps.procs);
	api_add_u64(x, "alive", ps.alive);
	api_add_u64(x, "table_full", ps.full_drops);
	api_add_u64(x, "collected", ps.collected);
	api_add_u64(x, "read_errors", ps.proc_read_errors);
	api_add_u64(x, "expired", ps.expired);
	api_add_u64(x, "limit", d->cfg.max_procs);
	json_object_object_add(o, "processes", x);

	x = json_object_new_object();
	api_add_u64(x, "interned", st.stacks);
	api_add_u64(x, "bytes", st.bytes);
	api_add_u64(x, "table_full", st.full_drops);
	api_add_u64(x, "collected", st.collected);
	api_add_u64(x, "limit", d->cfg.max_stacks);
	json_object_object_add(o, "stacks", x);

	x = json_object_new_object();
	api_add_u64(x, "bytes", ws.bytes);
	api_add_u64(x, "limit_bytes", d->cfg.store_max_bytes);
	api_add_u64(x, "entries", ws.entries);
	api_add_u64(x, "coarsened_entries", ws.coarsened_entries);
	api_add_u64(x, "dropped_slots", ws.dropped_slots);
	tiers = json_object_new_array();
	for (int i = 0; i < 2; i++) {
		y = json_object_new_object();
		api_add_f(y, "slot_s", (double)(i ? d->cfg.coarse_slot_ns : d->cfg.fine_slot_ns) / 1e9);
		api_add_u64(y, "slots", i ? d->cfg.coarse_slots : d->cfg.fine_slots);
		api_add_u64(y, "held_slots", ws.slots[i]);
		api_add_f(y, "held_s", (double)ws.held_ns[i] / 1e9);
		json_object_array_add(tiers, y);
	}
	json_object_object_add(x, "tiers", tiers);
	json_object_object_add(o, "store", x);

	x = json_object_new_object();
	api_add_u64(x, "objects", sy.objects);
	api_add_u64(x, "objects_loaded", sy.objects_loaded);
	api_add_u64(x, "cache_bytes", sy.cache_bytes);
	api_add_u64(x, "cache_limit_bytes", d->cfg.symcache_bytes);
	api_add_u64(x, "evictions", sy.evictions);
	api_add_u64(x, "load_failures", sy.load_failures);
	api_add_u64(x, "pending", sy.pending);
	api_add_u64(x, "objects_full", sy.objects_full);
	api_add_u64(x, "kernel_symbols", sy.kernel_symbols);
	json_object_object_add(o, "symbols", x);

	x = json_object_new_object();
	api_add_u64(x, "clients", sv.clients);
	api_add_u64(x, "accepted", sv.accepted);
	api_add_u64(x, "requests", sv.requests);
	api_add_u64(x, "errors", sv.errors);
	api_add_u64(x, "rejected_clients", sv.rejected_clients);
	api_add_u64(x, "oversized", sv.oversized);
	api_add_u64(x, "idle_closed", sv.idle_closed);
	api_add_u64(x, "slow_closed", sv.slow_closed);
	api_add_u64(x, "limit_clients", d->cfg.max_clients);
	json_object_object_add(o, "server", x);

	{
		struct res_stats rs;
		struct gpu *gpu = resources_gpu(d->res);

		resources_get_stats(d->res, &rs);
		x = json_object_new_object();
		json_object_object_add(x, "cpu_source", json_object_new_string(resources_exact_cpu(d->res) ? "sched" : "samples"));
		api_add_u64(x, "kstats_parts", rs.kstats_parts);
		api_add_u64(x, "kstats_procs", rs.kstats_procs);
		api_add_u64(x, "kstats_exit_records", rs.kstats_exit_records);
		api_add_u64(x, "kstats_dropped", rs.kstats_dropped);
		api_add_u64(x, "proc_reads", rs.proc_reads);
		api_add_u64(x, "proc_read_failures", rs.proc_read_fail);
		api_add_u64(x, "last_tick_procs", rs.last_tick_procs);
		api_add_f(x, "last_tick_ms", (double)rs.last_tick_ns / 1e6);
		api_add_f(x, "max_tick_ms", (double)rs.max_tick_ns / 1e6);
		api_add_u64(x, "states", rs.states);
		json_object_object_add(x, "gpu", json_object_new_string(gpu ? gpu_state(gpu) : "unavailable"));
		json_object_object_add(o, "resources", x);
	}
	api_add_u64(json_object_object_get(o, "store"), "counter_records", ws.counter_records);

	x = json_object_new_object();
	api_add_u64(x, "rss_bytes", self_rss());
	api_add_f(x, "cpu_s", (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
			      (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	api_add_u64(x, "ticks", d->ticks);
	api_add_u64(x, "tick_overruns", d->tick_overruns);
	api_add_u64(x, "reloads", d->reloads);
	api_add_u64(x, "reload_failures", d->reload_failures);
	json_object_object_add(o, "daemon", x);

	server_reply_ok(reply, o);
}

