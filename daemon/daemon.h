/* SPDX-License-Identifier: GPL-2.0-only */
/* The daemon's state and its tick: ingestion of BPF records into the
 * process table, stack table and windows; shared by main.c and api.c. */
#ifndef PROFD_DAEMON_H
#define PROFD_DAEMON_H

#include <stdint.h>

#include "config.h"
#include "collect/sampler.h"

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
struct alerts;
struct ruleset;
struct unwinder;

struct daemon {
	struct config cfg;
	char config_path[4096];
	int config_explicit;        /* --config given: a missing file is an error */
	/* command-line overrides (NULL: none), applied again on reload */
	const char *opt_socket, *opt_frequency, *opt_log_level;
	struct loop *loop;
	struct sampler *sampler;
	struct symbolizer *sym;
	struct stacks *stacks;
	struct proctable *procs;
	struct window *win;
	struct server *server;
	struct resources *res;
	struct push *push;          /* pushers and scrape endpoint; NULL: none */
	struct alerts *alerts;
	struct unwinder *unw;       /* NULL when user stacks are walked by frame pointers */
	int tfd, sfd;
	struct notify *notify;      /* service manager (sd_notify); a no-op outside systemd */
	struct persist_writer *state_writer; /* periodic saves of the windows */
	uint64_t next_save_ns;      /* CLOCK_BOOTTIME of the next periodic save */
	uint64_t data_from_ns;      /* oldest data held: start, or restored history */
	char boot_id[40];           /* this boot's id: the state file is valid within it */
	uint64_t status_ns, status_drained; /* last STATUS= line: time, samples drained */
	int sampler_failing;        /* the last drain failed: not healthy */

	uint64_t start_boot_ns;     /* CLOCK_BOOTTIME at start */
	uint64_t last_tick_ns;      /* CLOCK_BOOTTIME of the last drain */
	uint64_t data_until_ns;     /* slot boundary all drained data precedes */
	uint64_t ticks, tick_overruns;
	uint64_t reloads, reload_failures;
	char reload_error[512];     /* why the last reload failed, "" if it did not */

	/* proc id -> start_ns for which /proc/PID/maps were indexed */
	uint64_t *noted;
	uint32_t noted_len;
};

/* Build every subsystem from d->cfg. 0 or -errno (logged). */
int daemon_init(struct daemon *d);
/* The symbolizer (and its worker thread): after daemon_init and after
 * privileges are dropped. 0 or -errno (logged). */
int daemon_init_symbolizer(struct daemon *d);
void daemon_fini(struct daemon *d);
/* Drain BPF records and advance windows; now_ns is CLOCK_BOOTTIME. */
void daemon_tick(struct daemon *d, uint64_t now_ns);
/* SIGHUP: reload the config file; keep the old one if invalid. */
void daemon_reload(struct daemon *d);

/* What a reload did (profctl reload shows it). */
struct reload_result {
	int applied;          /* 1: the new file is in force */
	char error[512];      /* not applied: why (file, line, key) */
	char restart[256];    /* settings changed that wait for a restart, or "" */
};
/* daemon_reload, with its result; RELOADING=1 ... READY=1 around it. */
void daemon_reload_result(struct daemon *d, struct reload_result *ret);

/* The windows saved by the last run (state_dir/profd.state), after the
 * symbolizer exists; logs what it restored or why not. */
void daemon_state_load(struct daemon *d);
/* Save the windows: final (at stop) writes both tiers now; otherwise the
 * coarse tier goes to the writer thread. Logs failures. */
void daemon_state_save(struct daemon *d, int final);

/* Alerts (daemon_alerts.c): created after resources, evaluated after the
 * windows advance at each tick; a reload reads the new rules first
 * (prepare: 0 and *ret, or -errno with "file:line: reason" in err, which
 * refuses the reload) and switches to them with the new config (apply). */
int daemon_alerts_init(struct daemon *d);
void daemon_alerts_tick(struct daemon *d, uint64_t now_ns);
int daemon_alerts_prepare(struct daemon *d, const struct config *c, struct ruleset **ret, char *err, size_t errsz);
void daemon_alerts_apply(struct daemon *d, struct ruleset *rs);
void daemon_alerts_fini(struct daemon *d);


#endif
