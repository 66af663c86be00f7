/* SPDX-License-Identifier: GPL-2.0-only */
/* Resources: the loop's half of resource collection. resources_tick asks
 * the collector thread for a round; resources_apply writes finished
 * snapshots into the process table and the windows. See resources.h. */
#include "collect/resources.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "collect/collector.h"
#include "collect/kstats.h"
#include "collect/procstat.h"
#include "common/clock.h"
#include "store/proctable.h"
#include "store/window.h"

/* Gauges go into the windows only when they moved (1 % for sizes, any
 * change for counts) or every GAUGE_KEEP_ROUNDS rounds: a thousand
 * sleeping processes would otherwise add a thousand records to every slot.
 * Current values are kept here for top. */
#define GAUGE_KEEP_ROUNDS 60
/* Rounds the status's steal figure covers. */
#define STEAL_RING 10

/* What top shows of one process: its latest gauges, unit, container. */
struct pstate {
	uint64_t start_ticks;     /* identity with the proc id (USER_HZ) */
	struct res_gauges g;      /* latest gauges */
	struct res_gauges g_rec;  /* gauges last written to the windows */
	uint64_t g_rec_round;
	uint64_t gpu_gen;         /* GPU view g.gpu* came from */
	char unit[128];
	char container[16];
};

struct resources {
	struct proctable *procs;
	struct window *win;
	uint64_t tick_ns;
	struct collector *col;

	/* collect side (loop, no store) */
	uint64_t idle_last, idle_pending;
	uint64_t tick_slot_ns;    /* slot_ns of the last resources_tick */
	uint64_t tick_loop_ns;    /* resources_tick's time, this tick */
	struct collect_key *sampled; /* without scheduler counters: ran this tick */
	uint32_t nsampled;

	/* apply side (loop, what top reads) */
	struct pstate **st;       /* by proc id index */
	uint32_t nst;
	struct res_system sys;
	double *per_cpu;
	uint64_t steal_ns[STEAL_RING], elapsed_ns[STEAL_RING];
	uint32_t steal_at;
	char gpu_state[160];
	struct gpu_device_info gpu_dev[GPU_MAX_DEVICES];
	size_t ngpu_dev;
	uint64_t gpu_gen;
	uint32_t *gpu_ids, ngpu_ids, gpu_ids_cap; /* proc ids holding GPU values */
	uint64_t round;           /* seq of the last snapshot applied */
	struct res_snapshot *cur; /* being applied (the budget ran out in it) */
	uint32_t cur_at;          /* its records applied: sched ones, then procs */
	uint32_t apply_budget;    /* records per resources_apply */
	struct res_stats stats;
	struct kstats_exactness exact;
	/* units with block I/O records in the windows, by number - 1 */
	struct unit_rec {
		char name[128];       /* "": free */
		uint64_t last_ns;     /* its newest record */
	} *units;
};

static int wc_empty(const struct wcounters *c)
{
	static const struct wcounters zero;

	return !memcmp(c, &zero, sizeof(zero));
}

/* ---- collect: the round request ---- */

void resources_note_idle(struct resources *r, uint64_t idle_total)
{
	if (!r)
		return;
	r->idle_pending += idle_total >= r->idle_last ? idle_total - r->idle_last : idle_total;
	r->idle_last = idle_total;
}

void resources_note_sampled(struct resources *r, uint32_t pid, uint64_t start_ns)
{
	struct collect_key *last;

	if (!r || !r->sampled || r->nsampled >= RES_SAMPLED_MAX)
		return;
	last = r->nsampled ? &r->sampled[r->nsampled - 1] : NULL;
	if (last && last->pid == pid && last->start_ns == start_ns)
		return;
	r->sampled[r->nsampled++] = (struct collect_key){ .pid = pid, .start_ns = start_ns };
}

void resources_tick(struct resources *r, uint64_t now_ns, uint64_t slot_ns)
{
	uint64_t t0 = clock_mono_ns();

	/* idle samples drained at this tick belong to the slot that ended, and
	 * so do the data of a round meant for it that ran late */
	r->tick_slot_ns = slot_ns;
	collector_request(r->col, now_ns, slot_ns, r->sampled, r->nsampled);
	r->nsampled = 0;
	r->tick_loop_ns = clock_mono_ns() - t0;
}

/* ---- apply: staged batches and snapshots -> store ---- */

static struct pstate *state_get(struct resources *r, uint32_t proc, uint64_t start_ns)
{
	uint64_t ticks = proctable_ns_to_ticks(start_ns);
	struct pstate *s;

	proc = proctable_id_index(proc);
	if (proc < PROC_ID_FIRST || proc >= r->nst)
		return NULL;
	s = r->st[proc];
	if (s && !proctable_same_start(s->start_ticks, ticks)) {
		/* the id was recycled for another process */
		memset(s, 0, sizeof(*s));
		s->start_ticks = ticks;
	}
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return NULL;
		s->start_ticks = ticks;
		r->st[proc] = s;
		r->stats.states++;
	}
	return s;
}

/* The state of id if it still names the process it was made for. */
static struct pstate *state_of(const struct resources *r, uint32_t proc)
{
	const struct proc_info *pi = proctable_info(r->procs, proc);
	uint32_t i = proctable_id_index(proc);
	struct pstate *s = i < r->nst ? r->st[i] : NULL;

	if (!s || !pi || !proctable_same_start(s->start_ticks, proctable_ns_to_ticks(pi->start_ns)))
		return NULL;
	return s;
}

static void state_drop(struct resources *r, uint32_t proc)
{
	proc = proctable_id_index(proc);
	if (proc >= PROC_ID_FIRST && proc < r->nst && r->st[proc]) {
		free(r->st[proc]);
		r->st[proc] = NULL;
		r->stats.states--;
	}
}

static int moved(uint64_t a, uint64_t b, uint64_t pct)
{
	uint64_t d = a > b ? a - b : b - a;

	return d * 100 > (a > b ? a : b) * pct;
}

static int gauges_moved(const struct res_gauges *g, const struct res_gauges *rec)
{
	return moved(g->rss, rec->rss, 1) || g->threads != rec->threads ||
	       g->fds != rec->fds || moved(g->gpu_mem, rec->gpu_mem, 1);
}

/* Put the process's current gauges into this round's window record. */
static void record_gauges(struct resources *r, struct pstate *s, struct wcounters *wc)
{
	wc->gauge_last[WG_RSS] = wc->gauge_max[WG_RSS] = s->g.rss;
	wc->gauge_last[WG_THREADS] = wc->gauge_max[WG_THREADS] = s->g.threads;
	wc->gauge_last[WG_FDS] = wc->gauge_max[WG_FDS] = s->g.fds;
	wc->gauge_last[WG_GPU_MEM] = wc->gauge_max[WG_GPU_MEM] = s->g.gpu_mem;
	s->g_rec = s->g;
	s->g_rec_round = r->round;
}

/* Scheduler and block-I/O deltas of one process: the records that create
 * table entries for processes seen running (their identity is then
 * wanted). */
static void apply_sched(struct resources *r, const struct res_snapshot *s, const struct snap_sched *k)
{
	uint32_t proc = proctable_get(r->procs, k->pid, k->start_ns, k->comm[0] ? k->comm : NULL, s->read_ns);

	if (!wc_empty(&k->wc))
		window_add_counters(r->win, s->read_ns, proc, &k->wc);
	if (k->exited)
		state_drop(r, proc);
}

/* One record of a snapshot. */
static void apply_proc(struct resources *r, struct res_snapshot *s, struct snap_proc *p)
{
	struct snap_extra *x = p->extra ? &s->extras[p->extra - 1] : NULL;
	const struct proc_info *pi;
	struct pstate *st;
	struct wcounters wc;
	uint32_t id;

	if (p->flags & SNAP_GONE) {
		pi = proctable_lookup(r->procs, p->pid, p->start_ns);
		if (pi) {
			proctable_note_gone(r->procs, p->pid, p->start_ns, s->read_ns);
			state_drop(r, pi->id);
		}
		return;
	}
	if ((p->flags & SNAP_FOUND) && x) {
		id = proctable_add(r->procs, p->pid, p->start_ns, &x->id, s->read_ns);
		if (proctable_id_index(id) < PROC_ID_FIRST)
			return; /* table full: counted there */
	} else {
		if ((p->flags & SNAP_IDENT) && x)
			proctable_set_identity(r->procs, p->pid, p->start_ns, &x->id, x->want_flags);
		pi = proctable_lookup(r->procs, p->pid, p->start_ns);
		if (!pi)
			return; /* collected meanwhile */
		id = pi->id;
	}
	if (!(p->flags & (SNAP_READ | SNAP_UNIT)))
		return;
	st = state_get(r, id, p->start_ns);
	if (!st)
		return;
	if ((p->flags & SNAP_UNIT) && x) {
		memcpy(st->unit, x->unit, sizeof(st->unit));
		memcpy(st->container, x->container, sizeof(st->container));
	}
	if (!(p->flags & SNAP_READ))
		return;
	memset(&wc, 0, sizeof(wc));
	wc.sum[WC_MINFLT] = p->minflt;
	wc.sum[WC_MAJFLT] = p->majflt;
	wc.sum[WC_PROC_RBYTES] = p->rbytes;
	wc.sum[WC_PROC_WBYTES] = p->wbytes;
	st->g.valid = 1;
	st->g.ns = s->read_ns;
	if (p->valid & PROCSTAT_RSS)
		st->g.rss = p->rss;
	if (p->valid & PROCSTAT_THREADS)
		st->g.threads = p->threads;
	if (p->valid & PROCSTAT_FDS)
		st->g.fds = p->fds;
	if (gauges_moved(&st->g, &st->g_rec) || r->round >= st->g_rec_round + GAUGE_KEEP_ROUNDS)
		record_gauges(r, st, &wc);
	if (!wc_empty(&wc))
		window_add_counters(r->win, s->read_ns, id, &wc);
}

static void apply_system(struct resources *r, const struct res_snapshot *s)
{
	const struct snap_system *y = &s->sys;

	if (y->cpu_ok) {
		struct wcounters wc;

		/* The system pseudo-process: busy, elapsed and stolen CPU time,
		 * so a window's busy % and steal % are their ratios. */
		memset(&wc, 0, sizeof(wc));
		wc.sum[WC_CPU_NS] = y->busy_ns;
		wc.sum[WC_OFFCPU_NS] = y->elapsed_ns;
		wc.sum[WC_STEAL_NS] = y->steal_ns;
		window_add_counters(r->win, s->read_ns, PROC_ID_SYSTEM, &wc);
		r->steal_ns[r->steal_at] = y->steal_ns;
		r->elapsed_ns[r->steal_at] = y->elapsed_ns;
		r->steal_at = (r->steal_at + 1) % STEAL_RING;
		r->sys.ncpu = y->per_cpu ? y->ncpu : 0;
		if (r->sys.ncpu)
			memcpy(r->per_cpu, y->per_cpu, r->sys.ncpu * sizeof(*r->per_cpu));
	}
	r->sys.cpu_pct = y->cpu_ok ? y->cpu_pct : -1;
	r->sys.steal_pct = y->cpu_ok ? y->steal_pct : -1;
	r->sys.per_cpu = r->per_cpu;
	r->sys.mem_ok = y->mem_ok;
	if (y->mem_ok)
		r->sys.mem = y->mem;
	r->sys.load_ok = y->load_ok;
	if (y->load_ok)
		r->sys.load = y->load;
	r->sys.psi_ok = y->psi_ok;
	if (y->psi_ok)
		r->sys.psi = y->psi;
}

static void gpu_id_add(struct resources *r, uint32_t id)
{
	if (r->ngpu_ids == r->gpu_ids_cap) {
		uint32_t cap = r->gpu_ids_cap ? r->gpu_ids_cap * 2 : 64;
		uint32_t *v = realloc(r->gpu_ids, cap * sizeof(*v));

		if (!v)
			return;
		r->gpu_ids = v;
		r->gpu_ids_cap = cap;
	}
	r->gpu_ids[r->ngpu_ids++] = id;
}

/* A new GPU view: its processes' values, and the end of GPU values for
 * the processes it no longer lists. */
static void apply_gpu(struct resources *r, const struct res_snapshot *s)
{
	const struct snap_gpu *g = &s->gpu;
	uint32_t nold = r->ngpu_ids;

	if (g->state[0] && strcmp(g->state, r->gpu_state)) {
		log_info("gpu: %s", g->state);
		snprintf(r->gpu_state, sizeof(r->gpu_state), "%s", g->state);
	}
	if (!g->fresh)
		return;
	r->gpu_gen = g->gen;
	r->ngpu_dev = g->ndev < GPU_MAX_DEVICES ? g->ndev : GPU_MAX_DEVICES;
	memcpy(r->gpu_dev, g->dev, r->ngpu_dev * sizeof(*r->gpu_dev));
	for (uint32_t i = 0; i < g->nproc; i++) {
		const struct snap_gpu_proc *gp = &g->proc[i];
		const struct proc_info *pi = proctable_find_tgid(r->procs, gp->pid);
		struct pstate *st;
		struct wcounters wc;

		if (!pi || pi->exit_ns || !(st = state_get(r, pi->id, pi->start_ns)))
			continue;
		memset(&wc, 0, sizeof(wc));
		st->g.gpu = 1;
		st->gpu_gen = g->gen;
		st->g.gpu_pct = gp->util_valid ? gp->util_pct : 0;
		st->g.gpu_mem = gp->mem_bytes;
		if (gp->util_valid && gp->util_pct > 0)
			wc.sum[WC_GPU_UTIL_NS] = (uint64_t)(gp->util_pct / 100.0 * (double)g->interval_ns);
		if (st->g.gpu_mem != st->g_rec.gpu_mem)
			record_gauges(r, st, &wc);
		if (!wc_empty(&wc))
			window_add_counters(r->win, s->read_ns, pi->id, &wc);
		gpu_id_add(r, pi->id);
	}
	/* the previous view's processes this one did not list left the GPU */
	for (uint32_t i = 0; i < nold; i++) {
		struct pstate *st = state_of(r, r->gpu_ids[i]);

		if (!st || !st->g.gpu || st->gpu_gen == g->gen)
			continue;
		st->g.gpu = 0;
		st->g.gpu_pct = 0;
		st->g.gpu_mem = 0;
		if (st->g_rec.gpu_mem) {
			struct wcounters wc;

			memset(&wc, 0, sizeof(wc));
			record_gauges(r, st, &wc);
			window_add_counters(r->win, s->read_ns, r->gpu_ids[i], &wc);
		}
	}
	memmove(r->gpu_ids, r->gpu_ids + nold, (r->ngpu_ids - nold) * sizeof(*r->gpu_ids));
	r->ngpu_ids -= nold;
}

int resources_unit_io(const struct resources *r)
{
	return collector_unit_io(r->col);
}

int resources_is_unit_id(uint32_t id)
{
	uint32_t n = id >> PROCTABLE_ID_INDEX_BITS;

	return proctable_id_index(id) == PROC_ID_UNIT && n >= 1 && n <= RES_MAX_UNITS;
}

const char *resources_unit_name(const struct resources *r, uint32_t id)
{
	if (!resources_is_unit_id(id) || !r->units)
		return NULL;
	id >>= PROCTABLE_ID_INDEX_BITS;
	return r->units[id - 1].name[0] ? r->units[id - 1].name : NULL;
}

/* The pseudo id of unit name at time ns, numbered on first use; 0 when
 * every number is taken by a unit the store still holds records of. */
static uint32_t unit_id(struct resources *r, const char *name, uint64_t ns)
{
	uint32_t free_at = UINT32_MAX;
	struct window_stats ws;

	for (uint32_t i = 0; i < RES_MAX_UNITS; i++) {
		if (!strcmp(r->units[i].name, name)) {
			r->units[i].last_ns = ns;
			return (i + 1) << PROCTABLE_ID_INDEX_BITS | PROC_ID_UNIT;
		}
		if (!r->units[i].name[0] && free_at == UINT32_MAX)
			free_at = i;
	}
	if (free_at == UINT32_MAX) {
		/* a number whose records have all left the store */
		window_get_stats(r->win, &ws);
		for (uint32_t i = 0; i < RES_MAX_UNITS && free_at == UINT32_MAX; i++)
			if (ws.oldest_ns && r->units[i].last_ns < ws.oldest_ns)
				free_at = i;
		if (free_at == UINT32_MAX) {
			r->stats.units_full++;
			return 0;
		}
		r->stats.units--;
	}
	snprintf(r->units[free_at].name, sizeof(r->units[free_at].name), "%s", name);
	r->units[free_at].last_ns = ns;
	r->stats.units++;
	return (free_at + 1) << PROCTABLE_ID_INDEX_BITS | PROC_ID_UNIT;
}

/* The units' block I/O of the round, into the windows. */
static void apply_units(struct resources *r, const struct res_snapshot *s)
{
	for (uint32_t i = 0; i < s->nunits; i++) {
		const struct snap_unit_io *u = &s->units[i];
		struct wcounters wc;
		uint32_t id;

		if (!u->unit[0] || !(id = unit_id(r, u->unit, s->read_ns)))
			continue;
		memset(&wc, 0, sizeof(wc));
		wc.sum[WC_IO_RBYTES] = u->rbytes;
		wc.sum[WC_IO_WBYTES] = u->wbytes;
		wc.sum[WC_IO_RREQS] = u->rreqs;
		wc.sum[WC_IO_WREQS] = u->wreqs;
		window_add_counters(r->win, s->read_ns, id, &wc);
	}
}

/* A snapshot's start: its time, the system figures. */
static void snapshot_begin(struct resources *r, struct res_snapshot *s)
{
	/* A round runs just before the boundary; one that ran past it (a busy
	 * host) still describes the slot that just ended: put it there, as the
	 * sampler's drain clamps late samples. */
	if (r->tick_slot_ns && s->read_ns > r->tick_slot_ns) {
		s->read_ns = r->tick_slot_ns;
		r->stats.rounds_past_boundary++;
	} else if (s->read_ns + r->tick_ns <= r->tick_slot_ns) {
		/* not ready at its tick (or apply deferred): its data land a
		 * slot late; counted, so the lead can be judged */
		r->stats.rounds_late++;
	}
	r->round = s->seq;
	apply_system(r, s);
	apply_units(r, s);
	r->exact = s->exact;
	r->cur_at = 0;
}

/* Apply records of r->cur while *budget lasts; then, if all are done, the
 * GPU view (it names processes the records may have created) and the
 * stats. true when the snapshot is done. */
static bool snapshot_step(struct resources *r, uint32_t *budget)
{
	struct res_snapshot *s = r->cur;
	const struct collector_stats *cs = &s->stats;
	uint32_t total = s->nsched + s->nprocs;

	for (; r->cur_at < total && *budget; r->cur_at++, (*budget)--) {
		if (r->cur_at < s->nsched)
			apply_sched(r, s, &s->sched[r->cur_at]);
		else
			apply_proc(r, s, &s->procs[r->cur_at - s->nsched]);
	}
	if (r->cur_at < total)
		return false;
	apply_gpu(r, s);
	r->stats.proc_reads = cs->proc_reads;
	r->stats.proc_read_fail = cs->proc_read_fail;
	r->stats.handle_reads = cs->handle_reads;
	r->stats.handles = cs->handles;
	r->stats.followed = cs->followed;
	r->stats.follow_full = cs->follow_full;
	r->stats.identities = cs->identities;
	r->stats.wants_dropped = cs->wants_dropped;
	r->stats.last_tick_procs = cs->last_round_procs;
	r->stats.rounds = cs->rounds;
	r->stats.rounds_skipped = cs->rounds_skipped;
	r->stats.last_round_ns = cs->last_round_ns;
	r->stats.max_round_ns = cs->max_round_ns;
	r->stats.lead_ns = cs->lead_ns;
	r->stats.kstats_ns = cs->kstats_ns;
	r->stats.kstats_procs = cs->kstats_procs;
	r->stats.kstats_exit_records = cs->kstats_exit_records;
	r->stats.kstats_dropped = cs->kstats_dropped;
	r->stats.cgroups = cs->cgio_cgroups;
	r->stats.cgroups_full = cs->cgio_full;
	r->stats.cgroup_walks = cs->cgio_walks;
	r->stats.cgroup_unit_bytes = cs->cgio_unit_bytes;
	r->stats.cgroup_other_bytes = cs->cgio_other_bytes;
	r->stats.cgroup_unknown_bytes = cs->cgio_unknown_bytes;
	return true;
}

int resources_apply(struct resources *r)
{
	uint64_t t0 = clock_mono_ns();
	uint32_t budget = r->apply_budget;
	int n = 0;

	if (r->idle_pending) {
		struct wcounters wc;

		memset(&wc, 0, sizeof(wc));
		wc.sum[WC_IDLE_SAMPLES] = r->idle_pending;
		window_add_counters(r->win, r->tick_slot_ns, PROC_ID_SYSTEM, &wc);
		r->idle_pending = 0;
	}
	while (budget) {
		if (!r->cur) {
			r->cur = collector_take(r->col);
			if (!r->cur)
				break;
			snapshot_begin(r, r->cur);
		}
		if (!snapshot_step(r, &budget)) {
			/* the rest next tick; the queue behind it fills and the
			 * collector skips rounds: the loop's time stays bounded */
			r->stats.apply_carried++;
			break;
		}
		collector_release(r->col, r->cur);
		r->cur = NULL;
		n++;
	}
	r->stats.apply_ns = clock_mono_ns() - t0;
	if (r->stats.apply_ns > r->stats.max_apply_ns)
		r->stats.max_apply_ns = r->stats.apply_ns;
	r->stats.last_tick_ns = r->tick_loop_ns + r->stats.apply_ns;
	r->tick_loop_ns = 0;
	if (r->stats.last_tick_ns > r->stats.max_tick_ns)
		r->stats.max_tick_ns = r->stats.last_tick_ns;
	return n;
}

/* ---- life cycle and readers ---- */

static void on_want(void *ctx, const struct proctable_want *w)
{
	struct resources *r = ctx;

	collector_want(r->col, w);
}

int resources_new(const struct resources_opts *o, struct resources **ret)
{
	struct resources *r;
	struct collector_opts co = {
		.procfs = o->procfs, .dev_dri = o->dev_dri, .nvml_path = o->nvml_path, .tick_ns = o->tick_ns,
		.max_procs = o->max_procs, .threaded = !o->inline_collect, .kstats = !o->no_kstats,
		.kstats_flags = o->no_sched ? KSTATS_OPT_NO_SCHED : 0,
	};
	int err;

	if (!o->procs || !o->win || !o->procfs || !o->tick_ns || !o->max_procs)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->procs = o->procs;
	r->win = o->win;
	r->tick_ns = o->tick_ns;
	r->nst = o->max_procs + PROC_ID_FIRST;
	r->st = calloc(r->nst, sizeof(*r->st));
	r->per_cpu = calloc(SYSSTAT_MAX_CPUS, sizeof(*r->per_cpu));
	r->units = calloc(RES_MAX_UNITS, sizeof(*r->units));
	err = collector_new(&co, &r->col);
	if (err || !r->st || !r->per_cpu || !r->units) {
		resources_free(r);
		return err ? err : -ENOMEM;
	}
	r->sys.cpu_pct = r->sys.steal_pct = -1;
	r->sys.per_cpu = r->per_cpu;
	r->stats.kstats_parts = collector_kstats_parts(r->col);
	collector_describe(r->col, &r->exact);
	/* no scheduler counters to say which processes ran: the samples say */
	if (!(r->stats.kstats_parts & KSTATS_PART_ONCPU)) {
		r->sampled = calloc(RES_SAMPLED_MAX, sizeof(*r->sampled));
		if (!r->sampled) {
			resources_free(r);
			return -ENOMEM;
		}
	}
	r->apply_budget = o->apply_budget ? o->apply_budget : RES_APPLY_BUDGET;
	proctable_set_want_fn(r->procs, on_want, r);
	*ret = r;
	return 0;
}

struct resources *resources_free(struct resources *r)
{
	if (!r)
		return NULL;
	if (r->procs)
		proctable_set_want_fn(r->procs, NULL, NULL);
	if (r->cur)
		collector_release(r->col, r->cur);
	r->col = collector_free(r->col);
	if (r->st)
		for (uint32_t i = 0; i < r->nst; i++)
			free(r->st[i]);
	free(r->st);
	free(r->per_cpu);
	free(r->units);
	free(r->gpu_ids);
	free(r->sampled);
	free(r);
	return NULL;
}


const struct res_system *resources_system(const struct resources *r)
{
	return &r->sys;
}

int resources_gauges(const struct resources *r, uint32_t proc, struct res_gauges *ret)
{
	const struct pstate *s = proctable_id_index(proc) < r->nst ? r->st[proctable_id_index(proc)] : NULL;

	if (!s || !s->g.valid)
		return -ENOENT;
	*ret = s->g;
	if (ret->gpu && s->gpu_gen != r->gpu_gen) {
		ret->gpu = 0; /* not in the latest GPU view */
		ret->gpu_pct = 0;
		ret->gpu_mem = 0;
	}
	return 0;
}

const char *resources_unit(const struct resources *r, uint32_t proc)
{
	proc = proctable_id_index(proc);
	return proc < r->nst && r->st[proc] ? r->st[proc]->unit : "";
}

const char *resources_container(const struct resources *r, uint32_t proc)
{
	proc = proctable_id_index(proc);
	return proc < r->nst && r->st[proc] ? r->st[proc]->container : "";
}

const char *resources_gpu_state(const struct resources *r)
{
	return r->gpu_state[0] ? r->gpu_state : "GPU monitoring unavailable";
}

const struct gpu_device_info *resources_gpu_devices(const struct resources *r, size_t *ret_n)
{
	*ret_n = r->ngpu_dev;
	return r->gpu_dev;
}

int resources_exact_cpu(const struct resources *r)
{
	/* the one source: what status says of the oncpu family */
	return r->exact.fam[KSTATS_FAM_ONCPU].state != KSTATS_ABSENT;
}

void resources_describe(const struct resources *r, struct kstats_exactness *ret)
{
	*ret = r->exact;
}

void resources_for_each_prog(struct resources *r, void (*fn)(void *ctx, const char *name, int fd), void *ctx)
{
	if (r->col)
		collector_for_each_prog(r->col, fn, ctx);
}

void resources_get_stats(const struct resources *r, struct res_stats *ret)
{
	uint64_t steal = 0, elapsed = 0;

	*ret = r->stats;
	for (uint32_t i = 0; i < STEAL_RING; i++) {
		steal += r->steal_ns[i];
		elapsed += r->elapsed_ns[i];
	}
	ret->host_steal_pct = elapsed ? 100.0 * (double)steal / (double)elapsed : NAN;
	if (r->col) {
		struct collector_stats cs;

		collector_counts(r->col, &cs);
		ret->rounds_skipped = cs.rounds_skipped;
		ret->wants_dropped = cs.wants_dropped;
	}
}
