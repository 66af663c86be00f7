/* SPDX-License-Identifier: GPL-2.0-only */
/* Collector: /proc, system and GPU reads on their own thread, one
 * immutable snapshot per round. See collector.h. */
#include "collect/collector.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "collect/pidmap.h"
#include "collect/procstat.h"
#include "common/clock.h"

#define MS 1000000ull
/* Lead of a round before the tick boundary: twice the recent round time
 * plus a margin, at least this, at most half a tick. */
#define LEAD_MIN_NS (20 * MS)
#define LEAD_MARGIN_NS (10 * MS)
/* A held handle is closed after this many rounds without its process
 * running (the slow cycle reads it as cheaply without one). */
#define HOT_IDLE_ROUNDS 10
/* DRM fdinfo scan period in rounds (hosts with render nodes only). */
#define DRM_SCAN_ROUNDS 5
#define EXE_MAX 4096
#define SNAP_SPARE 2

struct cproc {
	uint32_t pid;
	uint32_t flags;         /* CP_* */
	uint64_t start_ticks;   /* /proc's, identity with the pid */
	uint64_t start_ns;      /* the key snapshots carry */
	uint64_t minflt, majflt, rbytes, wbytes; /* last read, for deltas */
	uint64_t ran_round;     /* last round the scheduler saw it run */
	struct procstat_handle *h;
};

#define CP_BASE   (1u << 0) /* counters above are a baseline */
#define CP_CGROUP (1u << 1) /* unit and container were read */
#define CP_RAN    (1u << 2) /* ran since the last round: read it now */
#define CP_NEW    (1u << 3) /* unknown to the loop: the first read carries the identity */

/* The followed processes: a dense array indexed by pid. */
struct pset {
	struct cproc *v;
	uint32_t n, cap;
	struct pidmap idx;      /* pid -> index into v */
};

struct collector {
	/* set at creation */
	char *procfs;
	char *dev_dri;
	char *nvml_path;
	uint64_t tick_ns;
	uint32_t max_procs;
	uint32_t hot_max;
	int threaded;
	int drm;
	unsigned read_flags;    /* PROCSTAT_READ_* of a per-tick read */

	/* the reading side: the thread, or the caller of an inline round */
	struct pset set;
	struct gpu *gpu;
	struct sysstat_cpu *cpu_prev, *cpu_cur;
	double *per_index;      /* sysstat_cpu_busy's output, by position */
	uint32_t cpu_ids;       /* highest CPU id seen + 1 */
	struct res_snapshot *build; /* being filled */
	uint64_t round;
	int scan_more;          /* the last scan stopped at its budget */
	struct collector_stats st;
	struct proctable_want *wtake; /* wants taken from the inbox */
	uint32_t wtake_cap;
	struct collect_key *atake;    /* active keys taken from the inbox */
	uint32_t atake_cap;
	char *cmdline_buf;

	/* shared with the loop, under lock */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	bool started, stop;
	struct proctable_want *wants;
	uint32_t nwants, wants_cap;
	struct collect_key *active;
	uint32_t nactive, active_cap;
	bool requested;
	uint64_t req_now_ns, req_slot_ns;
	uint64_t deadline_mono;  /* when the requested round is due */
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

/* ---- the followed set ---- */

static struct cproc *pset_find(const struct pset *s, uint32_t pid)
{
	const uint32_t *i = pidmap_get(&s->idx, pid);

	return i ? &s->v[*i] : NULL;
}

/* A new zeroed entry for pid (not present), or NULL: bound or memory. */
static struct cproc *pset_add(struct pset *s, uint32_t pid, uint32_t max)
{
	struct cproc *p;

	if (s->n >= max || !pid)
		return NULL;
	if (s->n == s->cap) {
		uint32_t cap = s->cap ? s->cap * 2 : 256;
		struct cproc *v;

		if (cap > max)
			cap = max;
		v = realloc(s->v, (size_t)cap * sizeof(*v));
		if (!v)
			return NULL;
		s->v = v;
		s->cap = cap;
	}
	if (pidmap_put(&s->idx, pid, s->n) < 0)
		return NULL;
	p = &s->v[s->n++];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	return p;
}

/* Remove p (its handle closed): the last entry moves into its place. */
static void pset_remove(struct pset *s, struct cproc *p)
{
	uint32_t at = (uint32_t)(p - s->v);

	procstat_handle_free(p->h);
	pidmap_del(&s->idx, p->pid);
	s->n--;
	if (at != s->n) {
		s->v[at] = s->v[s->n];
		pidmap_put(&s->idx, s->v[at].pid, at); /* overwrite: no allocation */
	}
}

/* ---- snapshots ---- */

static struct snap_proc *snap_rec(struct res_snapshot *s, uint32_t pid, uint64_t start_ns, uint32_t flags)
{
	struct snap_proc *r;

	if (s->nprocs == s->pcap) {
		uint32_t cap = s->pcap ? s->pcap * 2 : 256;
		struct snap_proc *v = realloc(s->procs, (size_t)cap * sizeof(*v));

		if (!v)
			return NULL;
		s->procs = v;
		s->pcap = cap;
	}
	r = &s->procs[s->nprocs++];
	memset(r, 0, sizeof(*r));
	r->pid = pid;
	r->start_ns = start_ns;
	r->flags = flags;
	return r;
}

static struct snap_extra *snap_extra(struct res_snapshot *s, struct snap_proc *r)
{
	struct snap_extra *x;

	if (r->extra)
		return &s->extras[r->extra - 1];
	if (s->nextras == s->xcap) {
		uint32_t cap = s->xcap ? s->xcap * 2 : 64;
		struct snap_extra *v = realloc(s->extras, (size_t)cap * sizeof(*v));

		if (!v)
			return NULL;
		s->extras = v;
		s->xcap = cap;
	}
	x = &s->extras[s->nextras++];
	memset(x, 0, sizeof(*x));
	x->id.ppid = UINT32_MAX;
	x->id.uid = UINT32_MAX;
	r->extra = s->nextras;
	return x;
}

static void snap_clear(struct res_snapshot *s)
{
	for (uint32_t i = 0; i < s->nextras; i++) {
		free(s->extras[i].id.cmdline);
		free(s->extras[i].id.exe);
	}
	s->nprocs = 0;
	s->nextras = 0;
	s->sys.cpu_ok = s->sys.mem_ok = s->sys.load_ok = s->sys.psi_ok = 0;
	s->gpu.fresh = 0;
	s->gpu.ndev = s->gpu.nproc = 0;
}

static struct res_snapshot *snap_free(struct res_snapshot *s)
{
	if (!s)
		return NULL;
	snap_clear(s);
	free(s->procs);
	free(s->extras);
	free(s->sys.per_cpu);
	free(s->gpu.dev);
	free(s->gpu.proc);
	free(s);
	return NULL;
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

/* ---- per-process reads ---- */

static bool gone_err(int r)
{
	return r == -ENOENT || r == -ESRCH;
}

static void copy_unit(struct snap_extra *x, const struct procstat *ps)
{
	if (ps->valid & PROCSTAT_UNIT)
		snprintf(x->unit, sizeof(x->unit), "%.*s", (int)sizeof(x->unit) - 1, ps->unit);
	if (ps->valid & PROCSTAT_CONTAINER)
		snprintf(x->container, sizeof(x->container), "%.*s", (int)sizeof(x->container) - 1, ps->container_id);
}

/* comm, ppid, uid from ps; cmdline and exe read through dir. */
static void read_identity(struct collector *c, int dir, const struct procstat *ps, struct proc_identity *id, bool want_status)
{
	char exe[EXE_MAX];
	int n;

	memcpy(id->comm, ps->comm, sizeof(id->comm));
	id->comm[sizeof(id->comm) - 1] = 0;
	id->ppid = ps->valid & PROCSTAT_PPID ? ps->ppid : UINT32_MAX;
	id->uid = ps->valid & PROCSTAT_UID ? ps->uid : UINT32_MAX;
	if (want_status && !(ps->valid & PROCSTAT_UID))
		id->read_errors++; /* status unreadable or malformed */
	n = procstat_read_cmdline(dir, c->cmdline_buf, PROCSTAT_CMDLINE_MAX + 1);
	if (n >= 0)
		id->cmdline = strndup(c->cmdline_buf, (size_t)n);
	else if (!gone_err(n))
		id->read_errors++;
	/* exe is unreadable for kernel threads and without ptrace rights:
	 * expected, so not counted */
	if (procstat_read_exe(dir, exe, sizeof(exe)) > 0)
		id->exe = strdup(exe);
}

/* First read of a process, through one directory fd (which names that one
 * process even if the pid is reused meanwhile): counters, unit and
 * identity. want_ticks: the start time to verify, UINT64_MAX for none.
 * 0, -ESRCH (gone or another process), -EINVAL (start unverifiable) or
 * another -errno. */
static int read_first(struct collector *c, uint32_t pid, uint64_t want_ticks, unsigned what, struct procstat *ps, struct proc_identity *id)
{
	int dir = procstat_open(c->procfs, pid), r;

	if (dir < 0)
		return gone_err(dir) ? -ESRCH : dir;
	r = procstat_read_at(dir, what, ps);
	if (r == 0 && !(ps->valid & PROCSTAT_STARTTIME))
		r = -EINVAL; /* truncated stat: the start time is unverifiable */
	if (r == 0 && want_ticks != UINT64_MAX && !proctable_same_start(ps->starttime_ticks, want_ticks))
		r = -ESRCH;
	if (r == 0 && id)
		read_identity(c, dir, ps, id, what & PROCSTAT_READ_STATUS);
	close(dir);
	return gone_err(r) ? -ESRCH : r;
}

static void put_counters(struct snap_proc *rec, struct cproc *p, const struct procstat *ps, bool first)
{
	rec->valid = ps->valid & (PROCSTAT_RSS | PROCSTAT_THREADS | PROCSTAT_FDS);
	rec->rss = ps->rss_bytes;
	rec->threads = ps->num_threads;
	rec->fds = ps->fds;
	if (!first) {
		rec->minflt = sub(ps->minflt, p->minflt);
		rec->majflt = sub(ps->majflt, p->majflt);
		rec->rbytes = sub(ps->read_bytes, p->rbytes);
		rec->wbytes = sub(ps->write_bytes, p->wbytes);
	}
	p->minflt = ps->minflt;
	p->majflt = ps->majflt;
	p->rbytes = ps->read_bytes;
	p->wbytes = ps->write_bytes;
	p->flags |= CP_BASE;
}

static void emit_gone(struct res_snapshot *s, uint32_t pid, uint64_t start_ns, uint32_t more)
{
	snap_rec(s, pid, start_ns, SNAP_GONE | more);
}

static void drop_proc(struct collector *c, struct cproc *p)
{
	if (p->h)
		c->st.handles--;
	pset_remove(&c->set, p);
}

/* Read p; it is removed if gone (p is then invalid). */
static void read_proc(struct collector *c, struct res_snapshot *s, struct cproc *p)
{
	bool first = !(p->flags & CP_BASE), ran = p->flags & CP_RAN;
	unsigned what = c->read_flags | (p->flags & CP_CGROUP ? 0 : PROCSTAT_READ_CGROUP);
	struct proc_identity id = { .ppid = UINT32_MAX, .uid = UINT32_MAX };
	bool with_id = p->flags & CP_NEW;
	struct snap_proc *rec;
	struct snap_extra *x;
	struct procstat ps;
	int r;

	p->flags &= ~CP_RAN;
	c->st.proc_reads++;
	c->st.last_round_procs++;
	if (p->h && !first && (what & PROCSTAT_READ_CGROUP) == 0) {
		c->st.handle_reads++;
		r = procstat_handle_read(p->h, &ps);
	} else if (first) {
		r = read_first(c, p->pid, p->start_ticks ? p->start_ticks : UINT64_MAX, what, &ps,
			       with_id ? &id : NULL);
	} else {
		r = procstat_read(c->procfs, p->pid, what, &ps);
	}
	if (r == 0 && (ps.valid & PROCSTAT_STARTTIME) && p->start_ticks &&
	    !proctable_same_start(ps.starttime_ticks, p->start_ticks))
		r = -ESRCH; /* the pid now names another process */
	if (r < 0) {
		c->st.proc_read_fail++;
		free(id.cmdline);
		free(id.exe);
		if (gone_err(r)) {
			emit_gone(s, p->pid, p->start_ns, 0);
			drop_proc(c, p);
		}
		return;
	}
	if (!p->start_ticks) {
		p->start_ticks = ps.starttime_ticks;
		p->start_ns = proctable_ticks_to_ns(ps.starttime_ticks);
	}
	rec = snap_rec(s, p->pid, p->start_ns, SNAP_READ | (first ? SNAP_BASELINE : 0));
	if (!rec) {
		free(id.cmdline);
		free(id.exe);
		return; /* no memory: the next read has the deltas */
	}
	put_counters(rec, p, &ps, first);
	if ((what & PROCSTAT_READ_CGROUP) || with_id) {
		x = snap_extra(s, rec);
		if (x) {
			if (what & PROCSTAT_READ_CGROUP) {
				copy_unit(x, &ps);
				rec->flags |= SNAP_UNIT;
				p->flags |= CP_CGROUP;
			}
			if (with_id) {
				x->id = id;
				rec->flags |= SNAP_FOUND;
				p->flags &= ~CP_NEW;
				id.cmdline = id.exe = NULL;
			}
		}
	}
	free(id.cmdline);
	free(id.exe);
	/* hot: keep its files open while it keeps running */
	if (ran && !p->h && c->st.handles < c->hot_max) {
		p->h = procstat_handle_open(c->procfs, p->pid, c->read_flags);
		if (p->h)
			c->st.handles++;
	}
}

/* Answer one want: a first read with the identity, or for a process
 * already followed (found by the scan, or exec'd) the identity alone. */
static void answer_want(struct collector *c, struct res_snapshot *s, const struct proctable_want *w)
{
	uint64_t ticks = proctable_ns_to_ticks(w->start_ns);
	struct cproc *p = pset_find(&c->set, w->tgid);
	bool known = p && proctable_same_start(p->start_ticks, ticks) && (p->flags & CP_BASE);
	/* followed already (found by the scan, or exec'd): the identity
	 * alone; the uid only where the want asks for more than an exec's */
	unsigned what = known ? (w->flags & PROCTABLE_WANT_EXEC ? 0 : PROCSTAT_READ_STATUS)
			      : c->read_flags | PROCSTAT_READ_CGROUP;
	struct proc_identity id = { .ppid = UINT32_MAX, .uid = UINT32_MAX };
	struct snap_proc *rec;
	struct snap_extra *x;
	struct procstat ps;
	int r;

	c->st.identities++;
	if (p && !known && p->start_ticks && !proctable_same_start(p->start_ticks, ticks)) {
		/* the want names a newer process on this pid: the old is gone */
		emit_gone(s, p->pid, p->start_ns, 0);
		drop_proc(c, p);
		p = NULL;
	}
	c->st.proc_reads++;
	r = read_first(c, w->tgid, ticks, what, &ps, &id);
	if (r < 0) {
		c->st.proc_read_fail++;
		free(id.cmdline);
		free(id.exe);
		if (r == -ESRCH) {
			emit_gone(s, w->tgid, w->start_ns, SNAP_IDENT);
			if (p)
				drop_proc(c, p);
			return;
		}
		/* unverifiable: nothing is lent, the error is counted */
		rec = snap_rec(s, w->tgid, w->start_ns, SNAP_IDENT);
		x = rec ? snap_extra(s, rec) : NULL;
		if (x) {
			x->want_flags = w->flags;
			x->id.read_errors = 1;
		}
		return;
	}
	rec = snap_rec(s, w->tgid, w->start_ns, SNAP_IDENT);
	x = rec ? snap_extra(s, rec) : NULL;
	if (!x) {
		free(id.cmdline);
		free(id.exe);
		return;
	}
	x->id = id;
	x->want_flags = w->flags;
	if (known)
		return;
	if (!p)
		p = pset_add(&c->set, w->tgid, c->max_procs);
	if (!p) {
		c->st.follow_full++;
		return;
	}
	p->start_ticks = ps.starttime_ticks;
	p->start_ns = w->start_ns;
	p->flags &= ~CP_NEW;
	rec->flags |= SNAP_READ | SNAP_BASELINE | SNAP_UNIT;
	put_counters(rec, p, &ps, true);
	copy_unit(x, &ps);
	p->flags |= CP_CGROUP;
}

/* ---- a round ---- */

/* Processes that have not run since profd started are found by a /proc
 * scan, read at once with their identity. */
static void scan(struct collector *c, struct res_snapshot *s)
{
	DIR *dir = opendir(c->procfs);
	struct dirent *de;
	uint32_t budget = COLLECT_NEW_PER_ROUND > s->nextras ? COLLECT_NEW_PER_ROUND - s->nextras : 0;

	c->scan_more = 0;
	if (!dir)
		return;
	while ((de = readdir(dir))) {
		char *end;
		unsigned long pid = strtoul(de->d_name, &end, 10);
		struct cproc *p;

		if (*end || !pid || pid > UINT32_MAX || pset_find(&c->set, (uint32_t)pid))
			continue;
		if (!budget) {
			c->scan_more = 1;
			break;
		}
		budget--;
		p = pset_add(&c->set, (uint32_t)pid, c->max_procs);
		if (!p) {
			c->st.follow_full++;
			break;
		}
		p->flags = CP_NEW;
		c->st.found++;
		read_proc(c, s, p);
	}
	closedir(dir);
}

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
		uint32_t *pids = malloc(((size_t)c->set.n + 1) * sizeof(*pids));

		if (pids) {
			for (uint32_t i = 0; i < c->set.n; i++)
				pids[i] = c->set.v[i].pid;
			gpu_scan_drm(c->gpu, pids, c->set.n, now_ns);
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
	g->ndev = 0;
	for (size_t i = 0; i < gpu_device_count(c->gpu) && g->ndev < GPU_MAX_DEVICES; i++) {
		if (gpu_device(c->gpu, i, &g->dev[g->ndev]) == 0)
			g->ndev++;
	}
	g->nproc = 0;
	gpu_foreach_process(c->gpu, copy_gpu_proc, &(struct gpu_copy){ g, GPU_MAX_PROCS });
}

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

static void update_lead(struct collector *c, uint64_t took)
{
	uint64_t want = 2 * took + LEAD_MARGIN_NS, lead = c->st.lead_ns;

	/* up at once, down slowly: one quick round must not make the next
	 * slow one late */
	lead = want > lead ? want : (lead * 7 + want) / 8;
	if (lead < LEAD_MIN_NS)
		lead = LEAD_MIN_NS;
	if (lead > c->tick_ns / 2)
		lead = c->tick_ns / 2;
	c->st.lead_ns = lead;
}

static int ensure_build(struct collector *c)
{
	if (!c->build)
		c->build = snap_get(c);
	return c->build ? 0 : -ENOMEM;
}

/* Read the wants taken from the inbox into the snapshot being built. */
static void answer_wants(struct collector *c, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		answer_want(c, c->build, &c->wtake[i]);
}

static void run_round(struct collector *c, uint64_t slot_ns, uint32_t nactive)
{
	struct res_snapshot *s = c->build;
	uint64_t t0 = clock_mono_ns(), now = clock_boot_ns();

	c->round++;
	s->seq = c->round;
	s->read_ns = c->threaded ? now : slot_ns;
	c->st.last_round_procs = 0;
	for (uint32_t i = 0; i < nactive; i++) {
		const struct collect_key *k = &c->atake[i];
		struct cproc *p = pset_find(&c->set, k->pid);

		if (!p) {
			/* unknown here (its want was refused): follow it now */
			p = pset_add(&c->set, k->pid, c->max_procs);
			if (!p) {
				c->st.follow_full++;
				continue;
			}
			p->start_ticks = proctable_ns_to_ticks(k->start_ns);
			p->start_ns = k->start_ns;
			p->flags = CP_NEW;
		}
		p->flags |= CP_RAN;
		p->ran_round = c->round;
	}
	/* backwards: a removed entry is replaced by the last, already seen */
	for (uint32_t i = c->set.n; i-- > 0;) {
		struct cproc *p = &c->set.v[i];

		if (p->h && c->round - p->ran_round >= HOT_IDLE_ROUNDS) {
			p->h = procstat_handle_free(p->h);
			c->st.handles--;
		}
		if ((p->flags & (CP_RAN | CP_NEW)) || !(p->flags & CP_BASE) ||
		    p->pid % COLLECT_SLOW_ROUNDS == c->round % COLLECT_SLOW_ROUNDS)
			read_proc(c, s, p);
	}
	if (c->round % COLLECT_SCAN_ROUNDS == 1 || c->scan_more)
		scan(c, s);
	read_system(c, &s->sys);
	read_gpu(c, &s->gpu, now);
	c->st.rounds++;
	c->st.followed = c->set.n;
	c->st.last_round_ns = clock_mono_ns() - t0;
	if (c->st.last_round_ns > c->st.max_round_ns)
		c->st.max_round_ns = c->st.last_round_ns;
	update_lead(c, c->st.last_round_ns);
	s->stats = c->st;
}

/* Take up to the per-snapshot budget of wants from the inbox (locked). */
static uint32_t take_wants(struct collector *c)
{
	uint32_t room = c->build && c->build->nextras < COLLECT_NEW_PER_ROUND ? COLLECT_NEW_PER_ROUND - c->build->nextras
			: c->build ? 0 : COLLECT_NEW_PER_ROUND;
	uint32_t n = c->nwants < room ? c->nwants : room;

	if (n > c->wtake_cap) {
		struct proctable_want *v = realloc(c->wtake, (size_t)n * sizeof(*v));

		if (!v)
			return 0;
		c->wtake = v;
		c->wtake_cap = n;
	}
	memcpy(c->wtake, c->wants, (size_t)n * sizeof(*c->wtake));
	memmove(c->wants, c->wants + n, (size_t)(c->nwants - n) * sizeof(*c->wants));
	c->nwants -= n;
	return n;
}

/* Take the round request's active keys (locked). */
static uint32_t take_active(struct collector *c)
{
	uint32_t n = c->nactive;
	struct collect_key *t = c->atake;
	uint32_t tc = c->atake_cap;

	/* swap buffers: the loop appends to the other */
	c->atake = c->active;
	c->atake_cap = c->active_cap;
	c->active = t;
	c->active_cap = tc;
	c->nactive = 0;
	return n;
}

static void *thread_main(void *arg)
{
	struct collector *c = arg;
	struct gpu_opts go = { .nvml_path = c->nvml_path, .procfs = c->procfs };

	/* nvmlInit can take a second or more: here, not on the loop */
	c->gpu = gpu_new(&go);
	pthread_mutex_lock(&c->lock);
	while (!c->stop) {
		bool due = c->requested && clock_mono_ns() >= c->deadline_mono;
		bool room = !c->build || c->build->nextras < COLLECT_NEW_PER_ROUND;
		uint32_t nw = 0, na = 0;
		uint64_t slot = 0;

		if (due && c->out_n >= COLLECT_QUEUE_MAX) {
			/* the loop has not applied: skip; deltas carry over */
			c->requested = false;
			c->rounds_skipped++;
			take_active(c);
			due = false;
		}
		if (c->nwants && room)
			nw = take_wants(c);
		if (!nw && !due) {
			if (c->requested) {
				uint64_t d = c->deadline_mono;
				struct timespec ts = { .tv_sec = (time_t)(d / 1000000000ull), .tv_nsec = (long)(d % 1000000000ull) };

				pthread_cond_timedwait(&c->cond, &c->lock, &ts);
			} else {
				pthread_cond_wait(&c->cond, &c->lock);
			}
			continue;
		}
		if (due) {
			na = take_active(c);
			slot = c->req_slot_ns;
			c->requested = false;
		}
		pthread_mutex_unlock(&c->lock);
		if (ensure_build(c) == 0) {
			answer_wants(c, nw);
			if (due) {
				run_round(c, slot, na);
				push(c); /* room was checked: the loop only takes */
			}
		}
		pthread_mutex_lock(&c->lock);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* ---- the loop's side ---- */

void collector_want(struct collector *c, const struct proctable_want *w)
{
	bool wake;

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
	wake = c->nwants == 0;
	c->wants[c->nwants++] = *w;
	if (wake && c->started)
		pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
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

static int start_thread(struct collector *c)
{
	int err = pthread_create(&c->thread, NULL, thread_main, c);

	if (err)
		return -err;
	c->started = true;
	return 0;
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
	run_round(c, slot_ns, na);
	push(c); /* room was checked above */
}

int collector_request(struct collector *c, uint64_t now_ns, uint64_t slot_ns, const struct collect_key *active, size_t nactive)
{
	int err = 0;

	if (!c)
		return -EINVAL;
	if (c->threaded && !c->started) {
		err = start_thread(c);
		if (err < 0) {
			/* go on inline: slower loop, but nothing lost */
			c->threaded = 0;
			c->gpu = gpu_new(&(struct gpu_opts){ .nvml_path = c->nvml_path, .procfs = c->procfs });
		}
	}
	pthread_mutex_lock(&c->lock);
	add_active(c, active, nactive);
	if (c->threaded) {
		uint64_t boot = clock_boot_ns(), mono = clock_mono_ns();
		uint64_t target = now_ns + c->tick_ns - (c->lead_ns ? c->lead_ns : LEAD_MIN_NS);

		c->requested = true;
		c->req_now_ns = now_ns;
		c->req_slot_ns = slot_ns;
		c->deadline_mono = mono + (target > boot ? target - boot : 0);
		pthread_cond_signal(&c->cond);
	}
	pthread_mutex_unlock(&c->lock);
	if (!c->threaded)
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
	snap_clear(s);
	pthread_mutex_lock(&c->lock);
	if (c->nspare < SNAP_SPARE) {
		c->spare[c->nspare++] = s;
		s = NULL;
	}
	pthread_mutex_unlock(&c->lock);
	snap_free(s);
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

int collector_new(const struct collector_opts *o, struct collector **ret)
{
	struct collector *c;
	pthread_condattr_t ca;
	int probe;

	if (!o || !o->procfs || !o->tick_ns || !o->max_procs || !ret)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->procfs = strdup(o->procfs);
	c->dev_dri = o->dev_dri ? strdup(o->dev_dri) : NULL;
	c->nvml_path = o->nvml_path ? strdup(o->nvml_path) : NULL;
	c->tick_ns = o->tick_ns;
	c->max_procs = o->max_procs;
	c->hot_max = o->hot_max ? o->hot_max : COLLECT_HOT_DEFAULT;
	c->threaded = o->threaded;
	c->cpu_prev = sysstat_cpu_new(0);
	c->cpu_cur = sysstat_cpu_new(0);
	c->per_index = calloc(SYSSTAT_MAX_CPUS, sizeof(*c->per_index));
	c->cmdline_buf = malloc(PROCSTAT_CMDLINE_MAX + 1);
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (!c->procfs || (o->dev_dri && !c->dev_dri) || (o->nvml_path && !c->nvml_path) || !c->cpu_prev ||
	    !c->cpu_cur || !c->per_index || !c->cmdline_buf) {
		collector_free(c);
		return -ENOMEM;
	}
	c->st.lead_ns = LEAD_MIN_NS;
	probe = procstat_probe(c->procfs);
	c->read_flags = PROCSTAT_READ_STATUS | PROCSTAT_READ_IO | PROCSTAT_READ_FDS | (probe > 0 ? (unsigned)probe : 0);
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
		pthread_cond_signal(&c->cond);
		pthread_mutex_unlock(&c->lock);
		pthread_join(c->thread, NULL);
	}
	for (uint32_t i = 0; i < c->set.n; i++)
		procstat_handle_free(c->set.v[i].h);
	free(c->set.v);
	pidmap_release(&c->set.idx);
	gpu_free(c->gpu);
	sysstat_cpu_free(c->cpu_prev);
	sysstat_cpu_free(c->cpu_cur);
	free(c->per_index);
	snap_free(c->build);
	while (c->out_n) {
		snap_free(c->out[c->out_head]);
		c->out_head = (c->out_head + 1) % COLLECT_QUEUE_MAX;
		c->out_n--;
	}
	while (c->nspare)
		snap_free(c->spare[--c->nspare]);
	free(c->wtake);
	free(c->atake);
	free(c->wants);
	free(c->active);
	free(c->cmdline_buf);
	free(c->procfs);
	free(c->dev_dri);
	free(c->nvml_path);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	free(c);
	return NULL;
}
