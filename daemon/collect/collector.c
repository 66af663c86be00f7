/* SPDX-License-Identifier: GPL-2.0-only */
/* Collector: BPF-map, /proc, system and GPU reads on their own thread, one
 * immutable snapshot per round. See collector.h. */
#include "collect/collector.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "collect/cgio.h"
#include "base/threads.h"
#include "collect/kdelta.h"
#include "collect/kstats.h"
#include "collect/procset.h"
#include "collect/procstat.h"
#include "common/clock.h"

#define MS 1000000ull
/* Lead of a round before the tick boundary: twice the recent round time
 * plus a margin, at least this, at most half a tick. */
#define LEAD_MIN_NS (20 * MS)
#define LEAD_MARGIN_NS (10 * MS)
/* The fast phase (BPF counters, /proc/stat) starts this close to the
 * boundary: twice its recent time plus a margin, at least this, so its
 * figures end where the slot ends, within a few ms. */
#define FAST_MIN_NS (3 * MS)
#define FAST_MARGIN_NS (2 * MS)
/* DRM fdinfo scan period in rounds (hosts with render nodes only). */
#define DRM_SCAN_ROUNDS 5
#define SNAP_SPARE 2

struct collector {
	/* set at creation */
	char *procfs;
	char *dev_dri;
	char *nvml_path;
	uint64_t tick_ns;
	uint32_t max_procs;
	int threaded;
	int drm;
	uint32_t kstats_parts;
	uint32_t kstats_flags;

	/* the reading side: the thread, or the caller of an inline round */
	struct procset *ps;
	struct kstats *ks;
	struct kstats_exactness kexact; /* kstats_describe as of the last round */
	struct cgio *cgio;      /* block I/O per unit; NULL without the block I/O part */
	struct kdelta *kd;
	struct gpu *gpu;
	uint64_t gpu_last_ns;   /* now_ns of the last view taken */
	struct sysstat_cpu *cpu_prev, *cpu_cur;
	double *per_index;      /* sysstat_cpu_busy's output, by position */
	uint32_t cpu_ids;       /* highest CPU id seen + 1 */
	struct res_snapshot *build; /* being filled */
	uint64_t round;
	uint64_t slow_ns, fast_ns;  /* the last round's phases */
	uint64_t fast_lead;         /* how early the fast phase starts */
	int scan_more;          /* the last scan stopped at its budget */
	struct collector_stats st;
	struct proctable_want *wtake; /* wants taken from the inbox */
	uint32_t wtake_cap;
	struct collect_key *atake;    /* active keys taken from the inbox */
	uint32_t atake_cap;

	/* shared with the loop, under lock; efd is the loop's wake-up call */
	pthread_mutex_t lock;
	int efd;
	pthread_t thread;
	bool started, stop;
	struct proctable_want *wants;
	uint32_t nwants, wants_cap;
	struct collect_key *active;
	uint32_t nactive, active_cap;
	bool requested;
	uint64_t req_slot_ns;
	uint64_t boundary_mono;  /* the tick boundary the requested round ends at */
	uint64_t deadline_mono;  /* when its slow phase is due */
	uint64_t lead_ns;        /* published by the reading side */
	struct res_snapshot *out[COLLECT_QUEUE_MAX];
	uint32_t out_head, out_n;
	struct res_snapshot *spare[SNAP_SPARE];
	uint32_t nspare;
	uint64_t wants_dropped, active_dropped, rounds_skipped;
};

static uint64_t sub(uint64_t cur, uint64_t prev)
{
	return cur >= prev ? cur - prev : 0;
}

/* A cleared snapshot: a spare one, else a new one. NULL: no memory. */
static struct res_snapshot *snap_get(struct collector *c)
{
	struct res_snapshot *s = NULL;

	pthread_mutex_lock(&c->lock);
	if (c->nspare)
		s = c->spare[--c->nspare];
	pthread_mutex_unlock(&c->lock);
	return s ? s : calloc(1, sizeof(*s));
}

static int ensure_build(struct collector *c)
{
	if (!c->build)
		c->build = snap_get(c);
	return c->build ? 0 : -ENOMEM;
}

/* ---- scheduler and block-I/O counters ---- */

static void on_kstats_exit(void *ctx, const struct kstats_proc *p)
{
	struct collector *c = ctx;

	/* drained between rounds: they join the next snapshot */
	if (ensure_build(c) == 0)
		kdelta_account(c->kd, p, c->build);
}

static int visit_kstats(void *ctx, const struct kstats_proc *p)
{
	struct collector *c = ctx;

	/* ran: its /proc is read next round (a process not followed yet is
	 * left to its identity want, which the delta's apply raises) */
	if (kdelta_account(c->kd, p, c->build))
		procset_ran(c->ps, p->tgid, p->start_time, 0, c->round + 1);
	return 0;
}

static void on_unit_io(void *ctx, const char *unit, const struct profd_cgroup_io *d)
{
	struct collector *c = ctx;
	struct snap_unit_io *u = snapshot_unit_io(c->build, unit);

	if (u) {
		u->rbytes = d->read_bytes;
		u->wbytes = d->write_bytes;
		u->rreqs = d->read_reqs;
		u->wreqs = d->write_reqs;
	}
}

/* Per-cgroup block I/O into per-unit deltas (writeback included where
 * the kernel charges it to the cgroup that dirtied the pages). */
static void read_cgroups(struct collector *c)
{
	struct cgio_stats gs;

	cgio_begin(c->cgio);
	kstats_read_cgroups(c->ks, cgio_account, c->cgio);
	cgio_end(c->cgio, on_unit_io, c);
	cgio_get_stats(c->cgio, &gs);
	c->st.cgio_cgroups = gs.cgroups;
	c->st.cgio_full = gs.full;
	c->st.cgio_walks = gs.walks;
	c->st.cgio_unit_bytes = gs.unit_bytes;
	c->st.cgio_other_bytes = gs.other_bytes;
	c->st.cgio_unknown_bytes = gs.unknown_bytes;
}

static void read_kstats(struct collector *c)
{
	uint64_t t0 = clock_mono_ns();
	struct kstats_stats ks;

	kstats_drain(c->ks);
	kdelta_begin(c->kd);
	if (kstats_read(c->ks, visit_kstats, c) == 0)
		kdelta_sweep(c->kd);
	c->st.kstats_ns = clock_mono_ns() - t0;
	kstats_get_stats(c->ks, &ks);
	c->st.kstats_procs = ks.procs;
	c->st.kstats_exit_records = ks.exit_records;
	c->st.kstats_dropped = ks.sched.proc_full + ks.sched.exit_lost;
	kstats_describe(c->ks, &c->kexact);
	if (c->cgio)
		read_cgroups(c);
}

/* ---- system and GPU ---- */

static void read_system(struct collector *c, struct snap_system *y)
{
	struct sysstat_cpu *t;
	uint64_t tick_ns = proctable_ticks_to_ns(1);

	y->cpu_ok = 0;
	y->cpu_pct = y->steal_pct = -1;
	if (sysstat_read_cpu(c->procfs, c->cpu_cur) == 0) {
		const struct sysstat_cpu *cur = c->cpu_cur;

		if (cur->ncpu && cur->cpu[cur->ncpu - 1].id + 1 > c->cpu_ids)
			c->cpu_ids = cur->cpu[cur->ncpu - 1].id + 1;
		if (c->cpu_prev->has_total) {
			const struct sysstat_cpu_times *a = &c->cpu_prev->total, *b = &cur->total;
			uint64_t busy = sub(b->user + b->nice + b->system + b->irq + b->softirq + b->steal,
					    a->user + a->nice + a->system + a->irq + a->softirq + a->steal);
			uint64_t idle = sub(b->idle + b->iowait, a->idle + a->iowait);
			uint64_t steal = sub(b->steal, a->steal);
			int n = sysstat_cpu_busy(c->cpu_prev, cur, &y->cpu_pct, c->per_index, cur->ncpu);

			y->cpu_ok = 1;
			y->busy_ns = busy * tick_ns;
			y->elapsed_ns = (busy + idle) * tick_ns;
			y->steal_ns = steal * tick_ns;
			y->steal_pct = busy + idle ? 100.0 * (double)steal / (double)(busy + idle) : -1;
			if (!y->per_cpu)
				y->per_cpu = malloc(SYSSTAT_MAX_CPUS * sizeof(*y->per_cpu));
			if (y->per_cpu) {
				y->ncpu = c->cpu_ids;
				for (uint32_t i = 0; i < y->ncpu; i++)
					y->per_cpu[i] = -1;
				for (int i = 0; i < n; i++)
					y->per_cpu[cur->cpu[i].id] = c->per_index[i];
			}
		}
		t = c->cpu_prev;
		c->cpu_prev = c->cpu_cur;
		c->cpu_cur = t;
	}
	y->mem_ok = sysstat_read_meminfo(c->procfs, &y->mem) == 0;
	y->load_ok = sysstat_read_loadavg(c->procfs, &y->load) == 0;
	y->psi_ok = sysstat_read_pressure(c->procfs, &y->psi) > 0 &&
		    (y->psi.cpu.valid || y->psi.memory.valid || y->psi.io.valid);
}

struct gpu_copy {
	struct snap_gpu *g;
	uint32_t cap;
};

static int copy_gpu_proc(const struct gpu_proc_info *gp, void *ctx)
{
	struct gpu_copy *gc = ctx;

	if (gc->g->nproc >= gc->cap)
		return 1;
	gc->g->proc[gc->g->nproc++] = (struct snap_gpu_proc){
		.pid = gp->pid, .util_valid = gp->util_valid, .util_pct = gp->util_pct, .mem_bytes = gp->mem_bytes,
	};
	return 0;
}

static void read_gpu(struct collector *c, struct snap_gpu *g, uint64_t now_ns)
{
	bool fresh = false;

	g->fresh = 0;
	if (!c->gpu)
		return;
	if (gpu_nvml_ok(c->gpu)) {
		gpu_sample(c->gpu, now_ns);
		fresh = true;
	}
	if (c->drm && c->round % DRM_SCAN_ROUNDS == 1) {
		uint32_t n = procset_count(c->ps), *pids = malloc(((size_t)n + 1) * sizeof(*pids));

		if (pids) {
			n = procset_pids(c->ps, pids, n);
			gpu_scan_drm(c->gpu, pids, n, now_ns);
			free(pids);
			fresh = true;
		}
	}
	snprintf(g->state, sizeof(g->state), "%s", gpu_state(c->gpu));
	if (!fresh)
		return;
	if (!g->dev)
		g->dev = calloc(GPU_MAX_DEVICES, sizeof(*g->dev));
	if (!g->proc)
		g->proc = calloc(GPU_MAX_PROCS, sizeof(*g->proc));
	if (!g->dev || !g->proc)
		return;
	g->fresh = 1;
	g->gen = gpu_generation(c->gpu);
	/* busy share x the time it stands for: a late round covers more
	 * (bounded: a stalled thread must not make one view count for minutes) */
	g->interval_ns = c->gpu_last_ns && now_ns > c->gpu_last_ns ? now_ns - c->gpu_last_ns : c->tick_ns;
	if (g->interval_ns > 4 * c->tick_ns)
		g->interval_ns = 4 * c->tick_ns;
	c->gpu_last_ns = now_ns;
	g->ndev = 0;
	for (size_t i = 0; i < gpu_device_count(c->gpu) && g->ndev < GPU_MAX_DEVICES; i++) {
		if (gpu_device(c->gpu, i, &g->dev[g->ndev]) == 0)
			g->ndev++;
	}
	g->nproc = 0;
	gpu_foreach_process(c->gpu, copy_gpu_proc, &(struct gpu_copy){ g, GPU_MAX_PROCS });
}

/* ---- a round ---- */

/* Publish the snapshot being built; false if the queue is full. */
static bool push(struct collector *c)
{
	bool ok;

	pthread_mutex_lock(&c->lock);
	ok = c->out_n < COLLECT_QUEUE_MAX;
	if (ok) {
		c->build->stats.wants_dropped = c->wants_dropped;
		c->build->stats.active_dropped = c->active_dropped;
		c->build->stats.rounds_skipped = c->rounds_skipped;
		c->out[(c->out_head + c->out_n) % COLLECT_QUEUE_MAX] = c->build;
		c->out_n++;
		c->lead_ns = c->st.lead_ns;
	}
	pthread_mutex_unlock(&c->lock);
	if (ok)
		c->build = NULL;
	return ok;
}

/* Lead of a phase before the boundary: twice its recent time plus a
 * margin, within [min, max]; up at once, down slowly (one quick round must
 * not make the next slow one late). */
static uint64_t next_lead(uint64_t lead, uint64_t took, uint64_t margin, uint64_t min, uint64_t max)
{
	uint64_t want = 2 * took + margin;

	lead = want > lead ? want : (lead * 7 + want) / 8;
	return lead < min ? min : lead > max ? max : lead;
}

/* Answer the wants taken from the inbox into the snapshot being built. */
static void answer_wants(struct collector *c, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		procset_want(c->ps, c->build, &c->wtake[i]);
}

/* A round's first phase, the slow one, some time before the boundary:
 * /proc of the processes due, the scan, the GPU. */
static void round_slow(struct collector *c, uint32_t nactive)
{
	struct res_snapshot *s = c->build;
	uint64_t t0 = clock_mono_ns();

	c->round++;
	s->seq = c->round;
	for (uint32_t i = 0; i < nactive; i++)
		procset_ran(c->ps, c->atake[i].pid, c->atake[i].start_ns, 1, c->round);
	procset_round(c->ps, s, c->round);
	if (c->round % COLLECT_SCAN_ROUNDS == 1 || c->scan_more)
		c->scan_more = procset_scan(c->ps, s, COLLECT_NEW_PER_ROUND > s->nextras ? COLLECT_NEW_PER_ROUND - s->nextras : 0);
	read_gpu(c, &s->gpu, clock_boot_ns());
	c->slow_ns = clock_mono_ns() - t0;
	c->st.lead_ns = next_lead(c->st.lead_ns, c->slow_ns, LEAD_MARGIN_NS, LEAD_MIN_NS, c->tick_ns / 2);
}

/* Its second phase, just before the boundary: the counters whose time
 * matters (scheduler and block I/O, /proc/stat), read where the slot ends.
 * stamp: the time its data belong to, 0 for now. */
static void round_fast(struct collector *c, uint64_t stamp)
{
	struct res_snapshot *s = c->build;
	uint64_t t0 = clock_mono_ns();

	s->read_ns = stamp ? stamp : clock_boot_ns();
	read_system(c, &s->sys);
	if (c->ks)
		read_kstats(c);
	procset_stats(c->ps, &c->st);
	s->exact = c->kexact;
	c->st.rounds++;
	c->fast_ns = clock_mono_ns() - t0;
	c->fast_lead = next_lead(c->fast_lead, c->fast_ns, FAST_MARGIN_NS, FAST_MIN_NS, c->tick_ns / 4);
	c->st.last_round_ns = c->slow_ns + c->fast_ns;
	if (c->st.last_round_ns > c->st.max_round_ns)
		c->st.max_round_ns = c->st.last_round_ns;
	s->stats = c->st;
}

/* Take up to the per-snapshot budget of wants from the inbox (locked). */
static uint32_t take_wants(struct collector *c)
{
	uint32_t used = c->build ? c->build->nextras : 0;
	uint32_t room = used < COLLECT_NEW_PER_ROUND ? COLLECT_NEW_PER_ROUND - used : 0;
	uint32_t n = c->nwants < room ? c->nwants : room;

	if (n > c->wtake_cap) {
		struct proctable_want *v = realloc(c->wtake, (size_t)n * sizeof(*v));

		if (!v)
			return 0;
		c->wtake = v;
		c->wtake_cap = n;
	}
	if (!n)
		return 0; /* nothing wanted: the buffers may not exist yet */
	memcpy(c->wtake, c->wants, (size_t)n * sizeof(*c->wtake));
	memmove(c->wants, c->wants + n, (size_t)(c->nwants - n) * sizeof(*c->wants));
	c->nwants -= n;
	return n;
}

/* Take the round request's active keys (locked): swap buffers, the loop
 * appends to the other. */
static uint32_t take_active(struct collector *c)
{
	uint32_t n = c->nactive, tc = c->atake_cap;
	struct collect_key *t = c->atake;

	c->atake = c->active;
	c->atake_cap = c->active_cap;
	c->active = t;
	c->active_cap = tc;
	c->nactive = 0;
	return n;
}

/* Sleep (unlocked) until the loop calls, exit records pass half their
 * ring, or the deadline (if timed); drain the records. */
static void wait_for(struct collector *c, bool timed, uint64_t deadline)
{
	struct pollfd fds[2] = { { .fd = c->efd, .events = POLLIN }, { .fd = -1, .events = POLLIN } };
	struct timespec ts, *tp = NULL;
	uint64_t v;

	if (c->ks)
		fds[1].fd = kstats_epoll_fd(c->ks);
	if (timed) {
		uint64_t now = clock_mono_ns(), d = deadline > now ? deadline - now : 0;

		ts.tv_sec = (time_t)(d / 1000000000ull);
		ts.tv_nsec = (long)(d % 1000000000ull);
		tp = &ts;
	}
	if (ppoll(fds, 2, tp, NULL) <= 0)
		return;
	if (fds[0].revents & POLLIN)
		(void)!read(c->efd, &v, sizeof(v));
	if ((fds[1].revents & POLLIN) && ensure_build(c) == 0)
		kstats_drain(c->ks);
}

static void *thread_main(void *arg)
{
	struct collector *c = arg;
	struct gpu_opts go = { .nvml_path = c->nvml_path, .procfs = c->procfs };
	bool slow_done = false;   /* this round's slow phase ran: fast one due at fast_at */
	uint64_t fast_at = 0;

	thread_set_name(THREAD_NAME_COLLECTOR);
	/* nvmlInit can take a second or more: here, not on the loop */
	c->gpu = gpu_new(&go);
	pthread_mutex_lock(&c->lock);
	/* The first round primes, at once: every process's first read (the
	 * scan, identities, the BPF counters since each process was first
	 * seen) belongs to the time before the tick that asked, not to the
	 * slot a regular round describes; that first request's regular round
	 * still follows at its time. */
	while (!c->stop && !c->requested) {
		pthread_mutex_unlock(&c->lock);
		wait_for(c, false, 0);
		pthread_mutex_lock(&c->lock);
	}
	if (!c->stop) {
		uint64_t slot = c->req_slot_ns;
		uint32_t nw = take_wants(c);

		pthread_mutex_unlock(&c->lock);
		if (ensure_build(c) == 0) {
			uint64_t lead = c->st.lead_ns;

			answer_wants(c, nw);
			round_slow(c, 0);
			round_fast(c, slot);
			/* first reads of everything: no measure of a round */
			c->st.lead_ns = lead;
			push(c);
		}
		pthread_mutex_lock(&c->lock);
	}
	while (!c->stop) {
		uint64_t now = clock_mono_ns();
		bool due = !slow_done && c->requested && now >= c->deadline_mono;
		bool fast = slow_done && now >= fast_at;
		bool room = !c->build || c->build->nextras < COLLECT_NEW_PER_ROUND;
		uint32_t nw = 0, na = 0;

		if (due && c->out_n >= COLLECT_QUEUE_MAX) {
			/* the loop has not applied: skip; deltas carry over */
			c->requested = false;
			c->rounds_skipped++;
			take_active(c);
			due = false;
		}
		if (c->nwants && room)
			nw = take_wants(c);
		if (!nw && !due && !fast) {
			bool timed = slow_done || c->requested;
			uint64_t deadline = slow_done ? fast_at : c->deadline_mono;

			pthread_mutex_unlock(&c->lock);
			wait_for(c, timed, deadline);
			pthread_mutex_lock(&c->lock);
			continue;
		}
		if (due) {
			na = take_active(c);
			c->requested = false;
			fast_at = c->boundary_mono > c->fast_lead ? c->boundary_mono - c->fast_lead : 0;
		}
		pthread_mutex_unlock(&c->lock);
		if (ensure_build(c) == 0) {
			answer_wants(c, nw);
			if (due) {
				round_slow(c, na);
				slow_done = true;
			} else if (fast) {
				round_fast(c, 0);
				slow_done = false;
				push(c); /* room was checked: the loop only takes */
			}
		}
		pthread_mutex_lock(&c->lock);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* ---- the loop's side ---- */

static void wake(struct collector *c)
{
	uint64_t one = 1;

	(void)!write(c->efd, &one, sizeof(one));
}

void collector_want(struct collector *c, const struct proctable_want *w)
{
	bool call;

	if (!c || !w)
		return;
	pthread_mutex_lock(&c->lock);
	if (c->nwants >= c->max_procs) {
		c->wants_dropped++;
		pthread_mutex_unlock(&c->lock);
		return;
	}
	if (c->nwants == c->wants_cap) {
		uint32_t cap = c->wants_cap ? c->wants_cap * 2 : 256;
		struct proctable_want *v = realloc(c->wants, (size_t)cap * sizeof(*v));

		if (!v) {
			c->wants_dropped++;
			pthread_mutex_unlock(&c->lock);
			return;
		}
		c->wants = v;
		c->wants_cap = cap;
	}
	/* one call per batch: the thread takes everything queued */
	call = c->nwants == 0 && c->started;
	c->wants[c->nwants++] = *w;
	pthread_mutex_unlock(&c->lock);
	if (call)
		wake(c);
}

static void add_active(struct collector *c, const struct collect_key *k, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (c->nactive >= c->max_procs) {
			c->active_dropped += n - i;
			return;
		}
		if (c->nactive == c->active_cap) {
			uint32_t cap = c->active_cap ? c->active_cap * 2 : 256;
			struct collect_key *v = realloc(c->active, (size_t)cap * sizeof(*v));

			if (!v) {
				c->active_dropped += n - i;
				return;
			}
			c->active = v;
			c->active_cap = cap;
		}
		c->active[c->nactive++] = k[i];
	}
}

/* An inline round: wants, then the round, on the caller. */
static void round_inline(struct collector *c, uint64_t slot_ns)
{
	uint32_t nw, na;

	pthread_mutex_lock(&c->lock);
	if (c->out_n >= COLLECT_QUEUE_MAX) {
		c->rounds_skipped++;
		take_active(c);
		pthread_mutex_unlock(&c->lock);
		return;
	}
	pthread_mutex_unlock(&c->lock);
	if (ensure_build(c) < 0)
		return;
	do {
		pthread_mutex_lock(&c->lock);
		nw = take_wants(c);
		pthread_mutex_unlock(&c->lock);
		answer_wants(c, nw);
	} while (nw && c->build->nextras < COLLECT_NEW_PER_ROUND);
	pthread_mutex_lock(&c->lock);
	na = take_active(c);
	pthread_mutex_unlock(&c->lock);
	round_slow(c, na);
	round_fast(c, slot_ns);
	push(c); /* room was checked above */
}

int collector_request(struct collector *c, uint64_t now_ns, uint64_t slot_ns, const struct collect_key *active, size_t nactive)
{
	int err = 0;

	if (!c)
		return -EINVAL;
	if (c->threaded && !c->started) {
		err = pthread_create(&c->thread, NULL, thread_main, c);
		if (err) {
			/* go on inline: a slower loop, but nothing lost */
			err = -err;
			c->threaded = 0;
			c->gpu = gpu_new(&(struct gpu_opts){ .nvml_path = c->nvml_path, .procfs = c->procfs });
		} else {
			c->started = true;
		}
	}
	pthread_mutex_lock(&c->lock);
	add_active(c, active, nactive);
	if (c->threaded) {
		uint64_t boot = clock_boot_ns(), mono = clock_mono_ns();
		/* the next tick boundary, on the monotonic clock the thread
		 * waits on (both clocks advance alike while the host runs) */
		uint64_t boundary = (now_ns / c->tick_ns + 1) * c->tick_ns;
		uint64_t lead = c->lead_ns ? c->lead_ns : LEAD_MIN_NS;

		c->requested = true;
		c->req_slot_ns = slot_ns;
		c->boundary_mono = mono + (boundary > boot ? boundary - boot : 0);
		c->deadline_mono = c->boundary_mono > lead ? c->boundary_mono - lead : 0;
	}
	pthread_mutex_unlock(&c->lock);
	if (c->threaded)
		wake(c);
	else
		round_inline(c, slot_ns);
	return err;
}

void collector_counts(struct collector *c, struct collector_stats *ret)
{
	pthread_mutex_lock(&c->lock);
	ret->rounds_skipped = c->rounds_skipped;
	ret->wants_dropped = c->wants_dropped;
	ret->active_dropped = c->active_dropped;
	pthread_mutex_unlock(&c->lock);
}

struct res_snapshot *collector_take(struct collector *c)
{
	struct res_snapshot *s = NULL;

	if (!c)
		return NULL;
	pthread_mutex_lock(&c->lock);
	if (c->out_n) {
		s = c->out[c->out_head];
		c->out_head = (c->out_head + 1) % COLLECT_QUEUE_MAX;
		c->out_n--;
	}
	pthread_mutex_unlock(&c->lock);
	return s;
}

void collector_release(struct collector *c, struct res_snapshot *s)
{
	if (!c || !s)
		return;
	snapshot_clear(s);
	pthread_mutex_lock(&c->lock);
	if (c->nspare < SNAP_SPARE) {
		c->spare[c->nspare++] = s;
		s = NULL;
	}
	pthread_mutex_unlock(&c->lock);
	snapshot_free(s);
}

void collector_for_each_prog(struct collector *c, void (*fn)(void *ctx, const char *name, int fd), void *ctx)
{
	/* c->ks is set in collector_new and freed only by collector_free */
	kstats_for_each_prog(c->ks, fn, ctx);
}

uint32_t collector_kstats_parts(const struct collector *c)
{
	return c ? c->kstats_parts : 0;
}

static int has_render_nodes(const char *dev_dri)
{
	DIR *dir = dev_dri ? opendir(dev_dri) : NULL;
	struct dirent *de;
	int found = 0;

	if (!dir)
		return 0;
	while ((de = readdir(dir)))
		if (!strncmp(de->d_name, "renderD", 7))
			found = 1;
	closedir(dir);
	return found;
}

static void load_kstats(struct collector *c)
{
	struct kstats_opts ko = { .max_procs = c->max_procs, .flags = c->kstats_flags };
	struct kstats_callbacks kc = { .exit = on_kstats_exit, .ctx = c };
	int err = kstats_new(&ko, &kc, &c->ks);

	if (err) {
		log_warn_errno(err, "resources: scheduler/block-I/O counters unavailable (%m): CPU %% from samples");
		c->ks = NULL;
		return;
	}
	c->kstats_parts = kstats_parts(c->ks);
}

/* The first description of the counters (before any round), and the
 * per-unit block I/O where the block I/O part is loaded. 0 or -ENOMEM. */
static int describe_and_cgio(struct collector *c, int asked)
{
	char root[4096], mi[4200];
	int v2 = 0;

	kstats_describe(c->ks, &c->kexact);
	if (!asked)
		for (int i = 0; i < KSTATS_FAM_COUNT; i++)
			snprintf(c->kexact.fam[i].reason, sizeof(c->kexact.fam[i].reason), "%s",
				 "kernel counters not loaded (turned off)");
	if (!(c->kstats_parts & KSTATS_PART_BLKIO))
		return 0;
	snprintf(mi, sizeof(mi), "%s/self/mountinfo", c->procfs);
	if (cgio_find_root(mi, root, sizeof(root), &v2) < 0) {
		log_info("resources: no cgroup hierarchy carries the io controller: block I/O per unit off");
		root[0] = '\0';
	}
	return cgio_new(root, 0, &c->cgio);
}

int collector_unit_io(const struct collector *c)
{
	return cgio_has_root(c->cgio);
}

void collector_describe(const struct collector *c, struct kstats_exactness *ret)
{
	*ret = c->kexact;
}

int collector_new(const struct collector_opts *o, struct collector **ret)
{
	struct collector *c;
	int probe, err;

	if (!o || !o->procfs || !o->tick_ns || !o->max_procs || !ret)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	c->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	c->procfs = strdup(o->procfs);
	c->dev_dri = o->dev_dri ? strdup(o->dev_dri) : NULL;
	c->nvml_path = o->nvml_path ? strdup(o->nvml_path) : NULL;
	c->tick_ns = o->tick_ns;
	c->max_procs = o->max_procs;
	c->threaded = o->threaded;
	c->kstats_flags = o->kstats_flags;
	c->cpu_prev = sysstat_cpu_new(0);
	c->cpu_cur = sysstat_cpu_new(0);
	c->per_index = calloc(SYSSTAT_MAX_CPUS, sizeof(*c->per_index));
	if (c->efd < 0 || !c->procfs || (o->dev_dri && !c->dev_dri) || (o->nvml_path && !c->nvml_path) ||
	    !c->cpu_prev || !c->cpu_cur || !c->per_index || kdelta_new(&c->kd) < 0) {
		err = c->efd < 0 ? -errno : -ENOMEM;
		collector_free(c);
		return err;
	}
	if (o->kstats)
		load_kstats(c);
	err = describe_and_cgio(c, o->kstats);
	probe = procstat_probe(c->procfs);
	if (!err)
		err = procset_new(&(struct procset_opts){
			.procfs = c->procfs,
			.read_flags = PROCSTAT_READ_STATUS | PROCSTAT_READ_IO | PROCSTAT_READ_FDS |
				      (probe > 0 ? (unsigned)probe : 0),
			.max_procs = o->max_procs,
			.hot_max = o->hot_max,
			.cgio = c->cgio,
		}, &c->ps);
	if (err) {
		collector_free(c);
		return err;
	}
	c->st.lead_ns = LEAD_MIN_NS;
	c->fast_lead = FAST_MIN_NS;
	c->drm = has_render_nodes(c->dev_dri);
	if (!c->threaded)
		c->gpu = gpu_new(&(struct gpu_opts){ .nvml_path = c->nvml_path, .procfs = c->procfs });
	/* the first round's CPU % needs a previous /proc/stat */
	sysstat_read_cpu(c->procfs, c->cpu_prev);
	*ret = c;
	return 0;
}

struct collector *collector_free(struct collector *c)
{
	if (!c)
		return NULL;
	if (c->started) {
		pthread_mutex_lock(&c->lock);
		c->stop = true;
		pthread_mutex_unlock(&c->lock);
		wake(c);
		pthread_join(c->thread, NULL);
	}
	kstats_free(c->ks);
	cgio_free(c->cgio);
	kdelta_free(c->kd);
	procset_free(c->ps);
	gpu_free(c->gpu);
	sysstat_cpu_free(c->cpu_prev);
	sysstat_cpu_free(c->cpu_cur);
	free(c->per_index);
	snapshot_free(c->build);
	while (c->out_n) {
		snapshot_free(c->out[c->out_head]);
		c->out_head = (c->out_head + 1) % COLLECT_QUEUE_MAX;
		c->out_n--;
	}
	while (c->nspare)
		snapshot_free(c->spare[--c->nspare]);
	free(c->wtake);
	free(c->atake);
	free(c->wants);
	free(c->active);
	free(c->procfs);
	free(c->dev_dri);
	free(c->nvml_path);
	if (c->efd >= 0)
		close(c->efd);
	pthread_mutex_destroy(&c->lock);
	free(c);
	return NULL;
}
