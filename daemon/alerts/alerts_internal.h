/* SPDX-License-Identifier: GPL-2.0-only */
/* Internal to daemon/alerts: the state alerts.c (lifecycle, receivers,
 * evidence, replies) and eval.c (reading the windows, evaluating rules per
 * entity) share. Not an interface: that is alerts.h. */
#ifndef PROFD_ALERTS_ALERTS_INTERNAL_H
#define PROFD_ALERTS_ALERTS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "alerts/alerts.h"
#include "alerts/engine.h"
#include "alerts/notify.h"
#include "alerts/rules.h"
#include "collect/resources.h"
#include "metrics/registry.h"
#include "store/window.h"

struct proc_info;
struct series;

/* A live process this tick, and its figures over the window in hand. */
struct pent {
	const struct proc_info *pi;
	const char *unit;
	struct res_gauges g;
	int have_g;
	int have_m;
	const struct wcounters *wc;  /* over the window in hand, NULL: none */
	uint64_t samples;
	struct metrics_process m;
};

/* One rule window's per-process counters and samples, as last read from
 * the store. Reading a window costs its slots x the processes in them (a
 * 5 m window is 300 fine slots): a window is read again once the data has
 * moved by window / ALERTS_REFRESH_DIV (at least every tick), so the
 * figures a rule sees lag its window by at most that, 2 s for 1 m. */
struct wentry {
	uint32_t proc;
	uint64_t samples;
	int have_wc;
	struct wcounters wc;
};

struct wagg {
	uint64_t window_ns;
	uint64_t until_ns;           /* data end of the last read, 0: never */
	int with_samples;            /* samples were read too */
	int used;                    /* a rule of this tick has this window */
	int fresh;                   /* read at this tick */
	double secs;                 /* time the read covered */
	struct wcounters sys;
	int have_sys;
	int32_t *idx;                /* proctable index -> entry, -1 */
	struct wentry *e;
	size_t n, cap;
	/* units' cgroup block I/O in the window (PROC_ID_UNIT records) */
	struct ucg {
		uint32_t id;
		uint64_t io[4];      /* read, write bytes; read, write requests */
	} *ucg;
	size_t nucg, ucg_cap;
};

/* A unit's processes added up, over the window in hand. */
struct uent {
	const char *name;
	uint64_t key;
	uint64_t newest_ns;          /* newest gauge reading of its processes */
	struct metrics_unit_acc acc;
};

struct sink_slot {
	struct alert_sink *s;
	char *src_url;               /* as configured (the sink may extend it) */
	int global;                  /* the [alerts] receiver of its kind */
};

struct alerts {
	struct alerts_opts o;          /* URLs and host not kept: the copies below */
	char host[256];
	char am_url[512], wh_url[512];
	int configured;
	struct ruleset *rs;
	struct alert_engine *eng;
	struct series *series;
	struct sink_slot sinks[ALERTS_MAX_SINKS];
	size_t nsinks;

	/* per tick */
	const struct alerts_src *src;
	uint64_t now;
	int64_t rt_off;
	int32_t *idx;                /* proctable index -> pent, -1 */
	uint32_t nidx;
	struct pent *p;
	size_t np, pcap;
	struct uent *u;
	size_t nu, ucap;
	struct wagg *aggs;           /* one per distinct rule window */
	size_t naggs;
	struct wagg *cur;            /* the window in hand */
	double secs;                 /* window covered */
	int stacks_budget;

	char **cgroup;               /* per proctable index, lazily */
	uint64_t *cgroup_start;
	struct alerts_stats st;
};

/* eval.c: one evaluation of every rule at a->now over a->src (pending and
 * firing alerts move through a->eng; transitions call back into
 * alerts.c). Returns the longest rule window. */
uint64_t alerts_eval(struct alerts *a);
/* eval.c: a window's cached reads. */
void alerts_wagg_release(struct wagg *g);

#endif
