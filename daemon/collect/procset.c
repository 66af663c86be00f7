/* SPDX-License-Identifier: GPL-2.0-only */
/* The collector's followed processes and their /proc reads, see procset.h. */
#include "collect/procset.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect/pidmap.h"
#include "collect/cgio.h"
#include "collect/procstat.h"

#define EXE_MAX 4096

struct cproc {
	uint32_t pid;
	uint32_t flags;         /* CP_* */
	uint64_t start_ticks;   /* /proc's, identity with the pid */
	uint64_t start_ns;      /* the key snapshots carry */
	uint64_t minflt, majflt, rbytes, wbytes; /* last read, for deltas */
	uint64_t ran_round;     /* last round it was seen running */
	struct procstat_handle *h;
};

#define CP_BASE   (1u << 0) /* counters above are a baseline */
#define CP_CGROUP (1u << 1) /* unit and container were read */
#define CP_RAN    (1u << 2) /* ran since the last round: read it now */
#define CP_NEW    (1u << 3) /* unknown to the loop: the first read carries the identity */
#define CP_FAILED (1u << 4) /* the last read failed (not gone): retried on the slow cycle */

/* The followed processes: a dense array indexed by pid. */
struct pset {
	struct cproc *v;
	uint32_t n, cap;
	struct pidmap idx;      /* pid -> index into v */
};

struct procset {
	char *procfs;
	struct cgio *cgio;
	unsigned read_flags;
	uint32_t max_procs;
	uint32_t hot_max;
	struct pset set;
	uint64_t round;
	char *cmdline_buf;
	struct collector_stats st;
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

/* ---- per-process reads ---- */

static bool gone_err(int r)
{
	return r == -ENOENT || r == -ESRCH;
}

static void copy_unit(struct procset *c, struct snap_extra *x, const struct procstat *ps)
{
	/* where its block I/O is charged: named while the process lives */
	if (ps->valid & PROCSTAT_IO_CGROUP)
		cgio_note(c->cgio, ps->io_cgroup);
	if (ps->valid & PROCSTAT_UNIT)
		snprintf(x->unit, sizeof(x->unit), "%.*s", (int)sizeof(x->unit) - 1, ps->unit);
	if (ps->valid & PROCSTAT_CONTAINER)
		snprintf(x->container, sizeof(x->container), "%.*s", (int)sizeof(x->container) - 1, ps->container_id);
}

/* comm, ppid, uid from ps; cmdline and exe read through dir. */
static void read_identity(struct procset *c, int dir, const struct procstat *ps, struct proc_identity *id, bool want_status)
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
static int read_first(struct procset *c, uint32_t pid, uint64_t want_ticks, unsigned what, struct procstat *ps, struct proc_identity *id)
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
	snapshot_proc(s, pid, start_ns, SNAP_GONE | more);
}

static void drop_proc(struct procset *c, struct cproc *p)
{
	if (p->h)
		c->st.handles--;
	pset_remove(&c->set, p);
}

/* Read p; it is removed if gone (p is then invalid). */
static void read_proc(struct procset *c, struct res_snapshot *s, struct cproc *p)
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
		} else {
			p->flags |= CP_FAILED;
		}
		return;
	}
	p->flags &= ~CP_FAILED;
	if (!p->start_ticks) {
		p->start_ticks = ps.starttime_ticks;
		p->start_ns = proctable_ticks_to_ns(ps.starttime_ticks);
	}
	rec = snapshot_proc(s, p->pid, p->start_ns, SNAP_READ | (first ? SNAP_BASELINE : 0));
	if (!rec) {
		free(id.cmdline);
		free(id.exe);
		return; /* no memory: the next read has the deltas */
	}
	put_counters(rec, p, &ps, first);
	if ((what & PROCSTAT_READ_CGROUP) || with_id) {
		x = snapshot_extra(s, rec);
		if (x) {
			if (what & PROCSTAT_READ_CGROUP) {
				copy_unit(c, x, &ps);
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
static void answer_want(struct procset *c, struct res_snapshot *s, const struct proctable_want *w)
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
		rec = snapshot_proc(s, w->tgid, w->start_ns, SNAP_IDENT);
		x = rec ? snapshot_extra(s, rec) : NULL;
		if (x) {
			x->want_flags = w->flags;
			x->id.read_errors = 1;
		}
		return;
	}
	rec = snapshot_proc(s, w->tgid, w->start_ns, SNAP_IDENT);
	x = rec ? snapshot_extra(s, rec) : NULL;
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
	copy_unit(c, x, &ps);
	p->flags |= CP_CGROUP;
}

int procset_scan(struct procset *c, struct res_snapshot *s, uint32_t budget)
{
	DIR *dir = opendir(c->procfs);
	struct dirent *de;
	int more = 0;

	if (!dir)
		return 0;
	while ((de = readdir(dir))) {
		char *end;
		unsigned long pid = strtoul(de->d_name, &end, 10);
		struct cproc *p;

		if (*end || !pid || pid > UINT32_MAX || pset_find(&c->set, (uint32_t)pid))
			continue;
		if (!budget) {
			more = 1;
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
	return more;
}

void procset_ran(struct procset *c, uint32_t pid, uint64_t start_ns, int follow, uint64_t round)
{
	struct cproc *p = pset_find(&c->set, pid);

	if (!p) {
		if (!follow)
			return;
		p = pset_add(&c->set, pid, c->max_procs);
		if (!p) {
			c->st.follow_full++;
			return;
		}
		p->start_ticks = proctable_ns_to_ticks(start_ns);
		p->start_ns = start_ns;
		p->flags = CP_NEW;
	}
	/* another process on the pid: reading it finds the followed one gone */
	p->flags |= CP_RAN;
	p->ran_round = round;
}

void procset_want(struct procset *c, struct res_snapshot *s, const struct proctable_want *w)
{
	answer_want(c, s, w);
}

void procset_round(struct procset *c, struct res_snapshot *s, uint64_t round)
{
	c->round = round;
	c->st.last_round_procs = 0;
	/* backwards: a removed entry is replaced by the last, already seen */
	for (uint32_t i = c->set.n; i-- > 0;) {
		struct cproc *p = &c->set.v[i];

		if (p->h && round - p->ran_round >= PROCSET_HOT_IDLE) {
			p->h = procstat_handle_free(p->h);
			c->st.handles--;
		}
		/* ran, or new (unless its read failed: then the slow cycle) */
		if ((p->flags & CP_RAN) || ((p->flags & CP_NEW) && !(p->flags & CP_FAILED)) ||
		    p->pid % PROCSET_SLOW_ROUNDS == round % PROCSET_SLOW_ROUNDS)
			read_proc(c, s, p);
	}
	c->st.followed = c->set.n;
}

uint32_t procset_pids(const struct procset *c, uint32_t *buf, uint32_t cap)
{
	uint32_t n = c->set.n < cap ? c->set.n : cap;

	for (uint32_t i = 0; i < n; i++)
		buf[i] = c->set.v[i].pid;
	return n;
}

uint32_t procset_count(const struct procset *c)
{
	return c->set.n;
}

void procset_stats(const struct procset *c, struct collector_stats *ret)
{
	ret->proc_reads = c->st.proc_reads;
	ret->proc_read_fail = c->st.proc_read_fail;
	ret->handle_reads = c->st.handle_reads;
	ret->handles = c->st.handles;
	ret->followed = c->set.n;
	ret->follow_full = c->st.follow_full;
	ret->found = c->st.found;
	ret->identities = c->st.identities;
	ret->last_round_procs = c->st.last_round_procs;
}

int procset_new(const struct procset_opts *o, struct procset **ret)
{
	struct procset *c;

	if (!o || !o->procfs || !o->max_procs || !ret)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->procfs = strdup(o->procfs);
	c->cmdline_buf = malloc(PROCSTAT_CMDLINE_MAX + 1);
	if (!c->procfs || !c->cmdline_buf) {
		procset_free(c);
		return -ENOMEM;
	}
	c->read_flags = o->read_flags;
	c->max_procs = o->max_procs;
	c->hot_max = o->hot_max ? o->hot_max : PROCSET_HOT_DEFAULT;
	c->cgio = o->cgio;
	*ret = c;
	return 0;
}

struct procset *procset_free(struct procset *c)
{
	if (!c)
		return NULL;
	for (uint32_t i = 0; i < c->set.n; i++)
		procstat_handle_free(c->set.v[i].h);
	free(c->set.v);
	pidmap_release(&c->set.idx);
	free(c->cmdline_buf);
	free(c->procfs);
	free(c);
	return NULL;
}
