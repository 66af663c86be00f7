/* SPDX-License-Identifier: GPL-2.0-only */
/* Resources: per-tick collection of per-process and system counters into
 * the rolling windows. See resources.h. */
#include "collect/resources.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "collect/gpu.h"
#include "collect/kstats.h"
#include "base/log.h"
#include "collect/procstat.h"
#include "store/proctable.h"
#include "store/window.h"
#include "common/clock.h"

/* Idle processes' gauges are refreshed once every this many ticks (in
 * slices: 1/N of them per tick), active ones every tick. */
#define GAUGE_ROUNDS 10
/* DRM fdinfo scan period in ticks (only on hosts with DRM render nodes). */
#define DRM_SCAN_TICKS 5
/* Full /proc scan period in ticks: finds processes that have not run since
 * profd started (they still hold memory). */
#define DISCOVER_TICKS 10
/* Processes met for the first time cost several /proc reads each (stat,
 * status, cmdline, exe, cgroup): at most this many per tick, the rest on
 * the next ticks, so a burst of 1,000 new processes never stalls the loop. */
#define NEW_PER_TICK 128

/* Gauges go into the windows only when they moved this much (or every
 * GAUGE_KEEP_TICKS): a thousand sleeping processes would otherwise add a
 * thousand records to every slot. Current values are kept here for top. */
#define GAUGE_KEEP_TICKS 60

/* What was last seen of one process: cumulative values to diff against. */
struct pstate {
	uint64_t start_ticks;     /* identity with the proc id (USER_HZ) */
	struct res_gauges g;      /* latest gauges */
	struct res_gauges g_rec;  /* gauges last written to the windows */
	uint64_t gpu_gen;         /* gpu_generation() of the GPU view g.gpu* came from */
	uint64_t g_rec_tick;
	int have_k;
	struct profd_sched_counters sched;
	struct profd_io_counters io;
	int have_p;
	uint64_t minflt, majflt, rbytes, wbytes; /* from /proc */
	int cgroup_read;
	int active;                /* ran during the last tick */
	char unit[128];
	char container[16];
};

struct resources {
	struct proctable *procs;
	struct window *win;
	char *procfs;
	uint64_t tick_ns;
	struct kstats *ks;
	struct gpu *gpu;
	int drm;                   /* host has /dev/dri render nodes */
	unsigned read_flags;       /* PROCSTAT_READ_* */
	struct pstate **st;        /* by proc id */
	uint32_t nst;
	struct sysstat_cpu *cpu_prev, *cpu_cur;
	double *per_cpu;
	struct res_system sys;
	uint64_t ticks;
	uint64_t slot_ns, now_ns;  /* of the tick in progress */
	uint32_t new_budget;       /* first-time reads left in this tick */
	int discover_more;         /* last /proc scan stopped at the budget */
	struct res_stats stats;
};

static struct pstate *state_get(struct resources *r, uint32_t proc, uint64_t start_ns)
{
	uint64_t ticks = proctable_ns_to_ticks(start_ns);
	struct pstate *s;

	proc = proctable_id_index(proc);
	if (proc < PROC_ID_FIRST || proc >= r->nst)
		return NULL;
	s = r->st[proc];
	if (s && (s->start_ticks + 1 < ticks || s->start_ticks > ticks + 1)) {
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

static void state_drop(struct resources *r, uint32_t proc)
{
	proc = proctable_id_index(proc);
	if (proc >= PROC_ID_FIRST && proc < r->nst && r->st[proc]) {
		free(r->st[proc]);
		r->st[proc] = NULL;
		r->stats.states--;
	}
}

static uint64_t sub(uint64_t cur, uint64_t prev)
{
	return cur >= prev ? cur - prev : 0;
}

static void hist_delta(uint32_t *out, const struct profd_hist *cur, const struct profd_hist *prev)
{
	for (int i = 0; i < WC_HIST_BUCKETS && i < PROFD_HIST_SLOTS; i++) {
		uint64_t v = sub(cur->slot[i], prev ? prev->slot[i] : 0);
		out[i] = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
	}
}

static int wc_empty(const struct wcounters *c)
{
	static const struct wcounters zero;

	return !memcmp(c, &zero, sizeof(zero));
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

/* Cumulative kernel counters of one process -> this tick's deltas. */
static void account_kstats(struct resources *r, const struct kstats_proc *p)
{
	struct wcounters wc;
	struct pstate *s;
	uint32_t proc;

	if (!p->tgid)
		return;
	proc = proctable_get(r->procs, p->tgid, p->start_time, p->comm, r->slot_ns);
	s = state_get(r, proc, p->start_time);
	memset(&wc, 0, sizeof(wc));
	if (p->sched) {
		const struct profd_sched_counters *c = p->sched, *o = s && s->have_k ? &s->sched : NULL;

		wc.sum[WC_CPU_NS] = sub(c->oncpu_ns, o ? o->oncpu_ns : 0);
		wc.sum[WC_OFFCPU_NS] = sub(c->offcpu_ns, o ? o->offcpu_ns : 0);
		wc.sum[WC_VCSW] = sub(c->nvcsw, o ? o->nvcsw : 0);
		wc.sum[WC_IVCSW] = sub(c->nivcsw, o ? o->nivcsw : 0);
		hist_delta(wc.hist_runq, &c->runq_hist, o ? &o->runq_hist : NULL);
	}
	if (p->io) {
		const struct profd_io_counters *c = p->io, *o = s && s->have_k ? &s->io : NULL;

		wc.sum[WC_IO_RBYTES] = sub(c->read_bytes, o ? o->read_bytes : 0);
		wc.sum[WC_IO_WBYTES] = sub(c->write_bytes, o ? o->write_bytes : 0);
		wc.sum[WC_IO_RREQS] = sub(c->read_reqs, o ? o->read_reqs : 0);
		wc.sum[WC_IO_WREQS] = sub(c->write_reqs, o ? o->write_reqs : 0);
		hist_delta(wc.hist_iolat, &c->lat_hist, o ? &o->lat_hist : NULL);
	}
	if (s) {
		if (p->sched)
			s->sched = *p->sched;
		if (p->io)
			s->io = *p->io;
		s->have_k = 1;
		s->active = wc.sum[WC_CPU_NS] > 0 || p->running;
	}
	if (!wc_empty(&wc))
		window_add_counters(r->win, r->slot_ns, proc, &wc);
	if (p->flags & KSTATS_F_EXITED)
		state_drop(r, proc);
}

static void on_kstats_exit(void *ctx, const struct kstats_proc *p)
{
	struct resources *r = ctx;

	/* Exit records can arrive between ticks (ring half full): they belong
	 * to the slot in progress. */
	if (!r->slot_ns)
		r->slot_ns = clock_boot_ns();
	account_kstats(r, p);
}

static int visit_kstats(void *ctx, const struct kstats_proc *p)
{
	account_kstats(ctx, p);
	return 0;
}

/* Put the process's current gauges into this tick's window record. */
static void record_gauges(struct resources *r, struct pstate *s, struct wcounters *wc)
{
	wc->gauge_ns = r->now_ns;
	wc->gauge_last[WG_RSS] = wc->gauge_max[WG_RSS] = s->g.rss;
	wc->gauge_last[WG_THREADS] = wc->gauge_max[WG_THREADS] = s->g.threads;
	wc->gauge_last[WG_FDS] = wc->gauge_max[WG_FDS] = s->g.fds;
	wc->gauge_last[WG_GPU_MEM] = wc->gauge_max[WG_GPU_MEM] = s->g.gpu_mem;
	s->g_rec = s->g;
	s->g_rec_tick = r->ticks;
}

/* Gauges and /proc counters of one live process. */
static void read_proc(struct resources *r, const struct proc_info *pi)
{
	struct procstat ps;
	struct pstate *s = state_get(r, pi->id, pi->start_ns);
	struct wcounters wc;
	unsigned what = r->read_flags;
	uint64_t want = proctable_ns_to_ticks(pi->start_ns);

	if (!s)
		return;
	if (!s->cgroup_read)
		what |= PROCSTAT_READ_CGROUP;
	r->stats.proc_reads++;
	r->stats.last_tick_procs++;
	if (procstat_read(r->procfs, pi->tgid, what, &ps) < 0 ||
	    ((ps.valid & PROCSTAT_STARTTIME) && (ps.starttime_ticks + 1 < want || ps.starttime_ticks > want + 1))) {
		r->stats.proc_read_fail++;
		return;
	}
	memset(&wc, 0, sizeof(wc));
	if (what & PROCSTAT_READ_CGROUP) {
		s->cgroup_read = 1;
		if (ps.valid & PROCSTAT_UNIT)
			snprintf(s->unit, sizeof(s->unit), "%.*s", (int)sizeof(s->unit) - 1, ps.unit);
		if (ps.valid & PROCSTAT_CONTAINER)
			snprintf(s->container, sizeof(s->container), "%.*s", (int)sizeof(s->container) - 1, ps.container_id);
	}
	if (s->have_p) {
		wc.sum[WC_MINFLT] = sub(ps.minflt, s->minflt);
		wc.sum[WC_MAJFLT] = sub(ps.majflt, s->majflt);
		wc.sum[WC_PROC_RBYTES] = sub(ps.read_bytes, s->rbytes);
		wc.sum[WC_PROC_WBYTES] = sub(ps.write_bytes, s->wbytes);
	}
	s->minflt = ps.minflt;
	s->majflt = ps.majflt;
	s->rbytes = ps.read_bytes;
	s->wbytes = ps.write_bytes;
	s->have_p = 1;
	s->g.valid = 1;
	s->g.ns = r->now_ns;
	if (ps.valid & PROCSTAT_RSS)
		s->g.rss = ps.rss_bytes;
	if (ps.valid & PROCSTAT_THREADS)
		s->g.threads = ps.num_threads;
	if (ps.valid & PROCSTAT_FDS)
		s->g.fds = ps.fds;
	if (gauges_moved(&s->g, &s->g_rec) || r->ticks >= s->g_rec_tick + GAUGE_KEEP_TICKS)
		record_gauges(r, s, &wc);
	if (!wc_empty(&wc))
		window_add_counters(r->win, r->slot_ns, pi->id, &wc);
}

struct gauge_ctx {
	struct resources *r;
	uint32_t *pids;
	size_t n, cap;
};

static int gauge_one(const struct proc_info *pi, void *ctx)
{
	struct gauge_ctx *g = ctx;
	struct resources *r = g->r;
	uint32_t i = proctable_id_index(pi->id);
	struct pstate *s = i < r->nst ? r->st[i] : NULL;

	if (pi->exit_ns)
		return 0;
	/* GPU values from a view older than the latest: the process left
	 * the GPU (runs before this tick's sample, so the latest view is the
	 * previous tick's, which the GPU pass stamped). */
	if (s && s->g.gpu && r->gpu && s->gpu_gen != gpu_generation(r->gpu)) {
		s->g.gpu = 0;
		s->g.gpu_pct = 0;
		s->g.gpu_mem = 0;
		if (s->g_rec.gpu_mem) {
			struct wcounters wc;

			memset(&wc, 0, sizeof(wc));
			record_gauges(r, s, &wc);
			window_add_counters(r->win, r->slot_ns, pi->id, &wc);
		}
	}
	if (!s) {
		if (r->new_budget) {
			r->new_budget--;
			read_proc(r, pi);
		}
	} else if (s->active || i % GAUGE_ROUNDS == r->ticks % GAUGE_ROUNDS) {
		read_proc(r, pi);
	}
	if (s)
		s->active = 0;
	if (g->pids && g->n < g->cap)
		g->pids[g->n++] = pi->tgid;
	return 0;
}

/* Processes that have not run since profd started are found by a /proc
 * scan; /proc data is only taken when its start time matches. */
static void discover(struct resources *r)
{
	DIR *dir = opendir(r->procfs);
	struct dirent *de;
	uint64_t clk = (uint64_t)sysconf(_SC_CLK_TCK);

	if (!dir)
		return;
	if (!clk)
		clk = 100;
	r->discover_more = 0;
	while ((de = readdir(dir))) {
		char *end;
		unsigned long pid = strtoul(de->d_name, &end, 10);
		struct procstat ps;

		if (*end || !pid || pid > UINT32_MAX)
			continue;
		if (proctable_find_tgid(r->procs, (uint32_t)pid))
			continue;
		if (!r->new_budget) {
			r->discover_more = 1;
			break;
		}
		r->new_budget--;
		if (procstat_read(r->procfs, (uint32_t)pid, 0, &ps) < 0 || !(ps.valid & PROCSTAT_STARTTIME))
			continue;
		proctable_get(r->procs, (uint32_t)pid, ps.starttime_ticks * (1000000000ull / clk), ps.comm, r->slot_ns);
	}
	closedir(dir);
}

static int gpu_one(const struct gpu_proc_info *gp, void *ctx)
{
	struct resources *r = ctx;
	const struct proc_info *pi = proctable_find_tgid(r->procs, gp->pid);
	struct pstate *s;
	struct wcounters wc;

	if (!pi || pi->exit_ns || !(s = state_get(r, pi->id, pi->start_ns)))
		return 0;
	memset(&wc, 0, sizeof(wc));
	s->g.gpu = 1;
	s->gpu_gen = gp->gen;
	s->g.gpu_pct = gp->util_valid ? gp->util_pct : 0;
	s->g.gpu_mem = gp->mem_bytes;
	if (gp->util_valid && gp->util_pct > 0)
		wc.sum[WC_GPU_UTIL_NS] = (uint64_t)(gp->util_pct / 100.0 * (double)r->tick_ns);
	if (s->g.gpu_mem != s->g_rec.gpu_mem)
		record_gauges(r, s, &wc);
	if (!wc_empty(&wc))
		window_add_counters(r->win, r->slot_ns, pi->id, &wc);
	return 0;
}

static void system_tick(struct resources *r)
{
	struct sysstat_cpu *t;
	double total = -1;

	if (sysstat_read_cpu(r->procfs, r->cpu_cur) == 0) {
		if (r->cpu_prev->has_total) {
			struct wcounters wc;
			const struct sysstat_cpu_times *a = &r->cpu_prev->total, *b = &r->cpu_cur->total;
			uint64_t busy = sub(b->user + b->nice + b->system + b->irq + b->softirq + b->steal,
					    a->user + a->nice + a->system + a->irq + a->softirq + a->steal);
			uint64_t idle = sub(b->idle + b->iowait, a->idle + a->iowait);
			uint64_t clk = (uint64_t)sysconf(_SC_CLK_TCK);
			uint64_t ns = 1000000000ull / (clk ? clk : 100);

			sysstat_cpu_busy(r->cpu_prev, r->cpu_cur, &total, r->per_cpu, r->cpu_cur->ncpu);
			/* The system pseudo-process: busy and elapsed CPU time, so
			 * a window's busy % is their ratio (see docs/metrics.md). */
			memset(&wc, 0, sizeof(wc));
			wc.sum[WC_CPU_NS] = busy * ns;
			wc.sum[WC_OFFCPU_NS] = (busy + idle) * ns;
			window_add_counters(r->win, r->slot_ns, PROC_ID_SYSTEM, &wc);
		}
		t = r->cpu_prev;
		r->cpu_prev = r->cpu_cur;
		r->cpu_cur = t;
	}
	r->sys.cpu_pct = total;
	r->sys.ncpu = r->cpu_prev->ncpu;
	r->sys.per_cpu = r->per_cpu;
	r->sys.mem_ok = sysstat_read_meminfo(r->procfs, &r->sys.mem) == 0;
	r->sys.load_ok = sysstat_read_loadavg(r->procfs, &r->sys.load) == 0;
	r->sys.psi_ok = sysstat_read_pressure(r->procfs, &r->sys.psi) > 0 &&
			(r->sys.psi.cpu.valid || r->sys.psi.memory.valid || r->sys.psi.io.valid);
}

void resources_tick(struct resources *r, uint64_t now_ns, uint64_t slot_ns)
{
	struct gauge_ctx g = { .r = r };
	uint64_t t0 = clock_mono_ns();

	r->now_ns = now_ns;
	r->slot_ns = slot_ns;
	r->stats.last_tick_procs = 0;
	r->new_budget = NEW_PER_TICK;
	if (r->ticks % DISCOVER_TICKS == 0 || r->discover_more)
		discover(r);
	if (r->ks) {
		kstats_drain(r->ks);
		kstats_read(r->ks, visit_kstats, r);
	}
	if (r->drm && r->ticks % DRM_SCAN_TICKS == 0) {
		g.cap = 65536;
		g.pids = malloc(g.cap * sizeof(*g.pids));
	}
	proctable_foreach(r->procs, gauge_one, &g);
	if (r->gpu) {
		if (gpu_nvml_ok(r->gpu))
			gpu_sample(r->gpu, now_ns);
		if (g.pids)
			gpu_scan_drm(r->gpu, g.pids, g.n, now_ns);
		gpu_foreach_process(r->gpu, gpu_one, r);
	}
	free(g.pids);
	system_tick(r);
	r->ticks++;
	r->slot_ns = 0;
	r->stats.last_tick_ns = clock_mono_ns() - t0;
	if (r->stats.last_tick_ns > r->stats.max_tick_ns)
		r->stats.max_tick_ns = r->stats.last_tick_ns;
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

int resources_new(const struct resources_opts *o, struct resources **ret)
{
	struct resources *r;
	struct kstats_opts ko = { .max_procs = o->max_procs };
	struct kstats_callbacks kc;
	struct gpu_opts go = { .nvml_path = o->nvml_path, .procfs = o->procfs };
	int err, probe;

	if (!o->procs || !o->win || !o->procfs || !o->tick_ns || !o->max_procs)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->procs = o->procs;
	r->win = o->win;
	r->tick_ns = o->tick_ns;
	r->procfs = strdup(o->procfs);
	r->nst = o->max_procs + PROC_ID_FIRST;
	r->st = calloc(r->nst, sizeof(*r->st));
	r->cpu_prev = sysstat_cpu_new(0);
	r->cpu_cur = sysstat_cpu_new(0);
	r->per_cpu = calloc(SYSSTAT_MAX_CPUS, sizeof(*r->per_cpu));
	if (!r->procfs || !r->st || !r->cpu_prev || !r->cpu_cur || !r->per_cpu) {
		resources_free(r);
		return -ENOMEM;
	}
	r->sys.cpu_pct = -1;
	probe = procstat_probe(r->procfs);
	r->read_flags = PROCSTAT_READ_STATUS | PROCSTAT_READ_IO | PROCSTAT_READ_FDS | (probe > 0 ? (unsigned)probe : 0);

	kc.exit = on_kstats_exit;
	kc.ctx = r;
	err = o->no_kstats ? -ENOTSUP : kstats_new(&ko, &kc, &r->ks);
	if (err == -ENOTSUP && o->no_kstats) {
		r->ks = NULL;
	} else if (err) {
		log_warn_errno(err, "resources: scheduler/block-I/O counters unavailable (%m): CPU %% from samples");
		r->ks = NULL;
	} else {
		r->stats.kstats_parts = kstats_parts(r->ks);
	}
	r->gpu = gpu_new(&go);
	if (r->gpu)
		log_info("gpu: %s", gpu_state(r->gpu));
	r->drm = has_render_nodes(o->dev_dri);
	sysstat_read_cpu(r->procfs, r->cpu_prev);
	*ret = r;
	return 0;
}

struct resources *resources_free(struct resources *r)
{
	if (!r)
		return NULL;
	kstats_free(r->ks);
	gpu_free(r->gpu);
	if (r->st)
		for (uint32_t i = 0; i < r->nst; i++)
			free(r->st[i]);
	free(r->st);
	sysstat_cpu_free(r->cpu_prev);
	sysstat_cpu_free(r->cpu_cur);
	free(r->per_cpu);
	free(r->procfs);
	free(r);
	return NULL;
}

int resources_epoll_fd(struct resources *r)
{
	return r->ks ? kstats_epoll_fd(r->ks) : -1;
}

void resources_drain(struct resources *r)
{
	if (r->ks)
		kstats_drain(r->ks);
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
	if (ret->gpu && r->gpu && s->gpu_gen != gpu_generation(r->gpu)) {
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

struct gpu *resources_gpu(struct resources *r)
{
	return r->gpu;
}

int resources_exact_cpu(const struct resources *r)
{
	return r->ks && (r->stats.kstats_parts & KSTATS_PART_ONCPU);
}

void resources_get_stats(const struct resources *r, struct res_stats *ret)
{
	*ret = r->stats;
	if (r->ks) {
		struct kstats_stats ks;

		kstats_get_stats(r->ks, &ks);
		ret->kstats_procs = ks.procs;
		ret->kstats_exit_records = ks.exit_records;
		ret->kstats_dropped = ks.sched.proc_full + ks.sched.exit_lost;
	}
}
