/* SPDX-License-Identifier: GPL-2.0-only */
/* The daemon's state and its tick: ingestion of BPF records into the
 * process table, stack table and windows; shared by main.c and api/.
 *
 * Threads: the loop (main.c) is the only writer of the store (windows,
 * stacks, processes, symbolizer, resources); the query worker reads them
 * between worker_store_read_begin and _end. The loop drains the rings into
 * staging (staging.h) and applies staging in slices when the worker is not
 * reading; what else would write the store (symbol installs, the
 * collector's snapshots, reloads) waits for the same turn. */
#ifndef PROFD_DAEMON_H
#define PROFD_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "collect/resources.h"
#include "collect/sampler.h"
#include "store/proctable.h"
#include "store/stacks.h"
#include "store/window.h"
#include "symbols/symbolizer.h"

struct loop;
struct server;
struct symbolizer;
struct stacks;
struct proctable;
struct window;
struct resources;
struct push;
struct notify;
struct persist_writer;
struct net;
struct alerts;
struct ruleset;
struct unwinder;
struct staging;
struct worker;
struct selfcost;

/* The store's figures as of the loop's last turn with it: status answers
 * from these while the worker reads the store (it never waits for it). */
struct daemon_snapshot {
	struct proctable_stats procs;
	struct stacks_stats stacks;
	struct window_stats store;
	struct symbolizer_stats symbols;
	struct res_stats res;
	int exact_cpu;
	struct kstats_exactness exact; /* resources_describe */
	char gpu_state[256];
	uint64_t taken_ns;          /* CLOCK_MONOTONIC of this snapshot */
};

/* What the query worker did, counted on the loop. */
struct daemon_queries {
	uint64_t top, exports;      /* answered (errors included) */
	uint64_t export_bytes;      /* payload bytes of exports */
	uint64_t export_failures;   /* exports that failed after their header */
	uint64_t timeouts;          /* queries aborted at query_timeout */
	uint64_t refused_memory;    /* exports refused: query_memory or max_reply */
};

/* What a reload did (profctl reload shows it). */
struct reload_result {
	int pending;          /* 1: a query holds the store; it runs when it ends */
	int applied;          /* 1: the new file is in force */
	char error[512];      /* not applied: why (file, line, key) */
	char restart[320];    /* settings changed that wait for a restart, or "" */
};

struct daemon {
	struct config cfg;
	char config_path[4096];
	int config_explicit;        /* --config given: a missing file is an error */
	struct loop *loop;
	struct sampler *sampler;
	struct symbolizer *sym;
	struct stacks *stacks;
	struct proctable *procs;
	struct window *win;
	struct server *server;
	struct resources *res;
	struct net *net;            /* outbound HTTP (pushers, alert receivers) */
	struct push *push;          /* pushers and scrape endpoint; NULL: none */
	struct alerts *alerts;
	struct unwinder *unw;       /* NULL when user stacks are walked by frame pointers */
	struct worker *worker;      /* NULL: the loop reads and writes alone */
	struct staging *staging;
	struct selfcost *cost;      /* profd's own CPU and BPF time */
	int tfd, sfd;
	int replay_fd;              /* readable while a staged backlog remains */
	struct notify *notify;      /* service manager (sd_notify); a no-op outside systemd */
	struct persist_writer *state_writer; /* periodic saves of the windows */
	uint64_t next_save_ns;      /* CLOCK_BOOTTIME of the next periodic save */
	uint64_t data_from_ns;      /* oldest data held: start, or restored history */
	char boot_id[40];           /* this boot's id: the state file is valid within it */
	uint64_t status_ns, status_drained; /* last STATUS= line: time, samples drained */
	int sampler_failing;        /* the last drain failed: not healthy */

	uint64_t start_boot_ns;     /* CLOCK_BOOTTIME at start */
	uint64_t last_tick_ns;      /* CLOCK_BOOTTIME of the last tick applied */
	uint64_t data_until_ns;     /* slot boundary all data in the store precedes */
	uint64_t drain_until_ns;    /* the same for what is being drained now */
	uint64_t ticks, tick_overruns;
	uint64_t reloads, reload_failures;
	char reload_error[512];     /* why the last reload failed, "" if it did not */
	struct reload_result last_reload; /* what the last reload that ran did */
	/* Command-line overrides ("section.key", value), applied on top of
	 * the file at start and again at every reload. */
	struct daemon_override {
		const char *key, *value;
	} overrides[4];
	int noverrides;
	/* The last successful reload: the keys it applied, and every key whose
	 * file value differs from the one in force until a restart (d->cfg
	 * keeps those); names separated by '\n', "" for none. */
	char reload_applied[4096];
	char pending_restart[4096];

	/* ingestion */
	bool store_held;            /* the loop holds the store now */
	bool sym_poll_pending;      /* symbol tables wait to be installed */
	bool reload_pending;        /* SIGHUP came while the store was read */
	uint64_t samples_applied;   /* samples added to the windows */
	uint64_t samples_store_failed; /* samples the windows could not take */
	/* Python frames (daemon.c unwound_frames) */
	uint64_t py_frames;          /* Python frames put into stacks */
	uint64_t py_evals_named;     /* eval-loop frames replaced by Python frames */
	uint64_t py_evals_unnamed;   /* eval-loop frames left native: no Python frames left */
	uint64_t py_frames_unmatched;/* Python frames dropped: no eval frame for them */
	uint64_t staging_dropped_samples, staging_dropped_events;
	uint64_t deferred_ticks;    /* ticks applied over 50 ms late */
	uint64_t staging_delay_ns_max; /* longest a record waited in staging */
	uint64_t replay_slices;     /* backlogs applied over more than one loop turn */

	/* queries */
	struct daemon_queries queries;
	uint64_t query_held;        /* query_memory held by exports (atomic) */
	struct daemon_snapshot snap;

	/* proc id -> start_ns for which /proc/PID/maps were indexed */
	uint64_t *noted;
	uint32_t noted_len;
};

/* d->overrides onto c (with config_set's checks). 0, or -EINVAL with the
 * message in err. */
int daemon_apply_overrides(const struct daemon *d, struct config *c, char *err, size_t errsz);
/* The names of a '\n'-separated list (reload_applied, pending_restart)
 * as a JSON array. */
struct json_object;
struct json_object *daemon_list_json(const char *list);

/* Build every subsystem from d->cfg. 0 or -errno (logged). */
int daemon_init(struct daemon *d);
/* The symbolizer (and its worker thread): after daemon_init and after
 * privileges are dropped. 0 or -errno (logged). */
int daemon_init_symbolizer(struct daemon *d);
void daemon_fini(struct daemon *d);
/* The tick: drain BPF records into staging with the tick itself, then
 * take the loop's turn with the store. now_ns is CLOCK_BOOTTIME. */
void daemon_tick(struct daemon *d, uint64_t now_ns);
/* The ring buffer woke the loop between ticks: drain it into staging. */
void daemon_drain(struct daemon *d);
/* The symbolizer's eventfd fired (already read): install its loads. */
void daemon_symbols_ready(struct daemon *d);
/* SIGHUP: reload the config file; keep the old one if invalid. Deferred
 * while the store is being read. */
void daemon_reload(struct daemon *d);

/* daemon_reload, with its result (unless it had to wait for the store).
 * RELOADING=1 goes out now, READY=1 with the result when it has run. */
void daemon_reload_result(struct daemon *d, struct reload_result *ret);

/* The windows saved by the last run (state_dir/profd.state), after the
 * symbolizer exists; logs what it restored or why not. */
void daemon_state_load(struct daemon *d);
/* Save the windows: final (at stop) writes both tiers now; otherwise the
 * coarse tier goes to the writer thread. Logs failures. */
void daemon_state_save(struct daemon *d, int final);
/* At stop, once no query can read the store: drain what is left into the
 * windows and save them (final). */
void daemon_stop_save(struct daemon *d);

/* Alerts (daemon_alerts.c): created after resources, evaluated after the
 * windows advance at each tick; a reload reads the new rules first
 * (prepare: 0 and *ret, or -errno with "file:line: reason" in err, which
 * refuses the reload) and switches to them with the new config (apply). */
int daemon_alerts_init(struct daemon *d);
void daemon_alerts_tick(struct daemon *d, uint64_t now_ns);
int daemon_alerts_prepare(struct daemon *d, const struct config *c, struct ruleset **ret, char *err, size_t errsz);
void daemon_alerts_apply(struct daemon *d, struct ruleset *rs);
void daemon_alerts_fini(struct daemon *d);

/* The worker's eventfd fired: run finished jobs, then take the loop's
 * turn with the store if it has anything waiting. */
void daemon_worker_ready(struct daemon *d);
/* d->replay_fd fired: apply the next slice of the staged backlog. */
void daemon_replay_ready(struct daemon *d);
/* The loop's turn with the store, if the worker is not reading it: apply
 * a slice (a few ms) of what staging holds (the rest is signalled on
 * d->replay_fd), then refresh d->snap. Status calls it too. */
void daemon_store_turn(struct daemon *d);

#endif
