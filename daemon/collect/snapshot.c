/* SPDX-License-Identifier: GPL-2.0-only */
/* Snapshot builders, see snapshot.h. */
#include "collect/snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for one more element of size sz in *v (cap *cap, n used). */
static int grow(void **v, uint32_t *cap, uint32_t n, size_t sz, uint32_t first)
{
	uint32_t c = *cap ? *cap * 2 : first;
	void *p;

	if (n < *cap)
		return 0;
	p = realloc(*v, (size_t)c * sz);
	if (!p)
		return -1;
	*v = p;
	*cap = c;
	return 0;
}

struct snap_proc *snapshot_proc(struct res_snapshot *s, uint32_t pid, uint64_t start_ns, uint32_t flags)
{
	struct snap_proc *r;

	if (grow((void **)&s->procs, &s->pcap, s->nprocs, sizeof(*s->procs), 256) < 0)
		return NULL;
	r = &s->procs[s->nprocs++];
	memset(r, 0, sizeof(*r));
	r->pid = pid;
	r->start_ns = start_ns;
	r->flags = flags;
	return r;
}

struct snap_extra *snapshot_extra(struct res_snapshot *s, struct snap_proc *r)
{
	struct snap_extra *x;

	if (r->extra)
		return &s->extras[r->extra - 1];
	if (grow((void **)&s->extras, &s->xcap, s->nextras, sizeof(*s->extras), 64) < 0)
		return NULL;
	x = &s->extras[s->nextras++];
	memset(x, 0, sizeof(*x));
	x->id.ppid = UINT32_MAX;
	x->id.uid = UINT32_MAX;
	r->extra = s->nextras;
	return x;
}

struct snap_sched *snapshot_sched(struct res_snapshot *s, uint32_t pid, uint64_t start_ns)
{
	struct snap_sched *k;

	if (grow((void **)&s->sched, &s->scap, s->nsched, sizeof(*s->sched), 256) < 0)
		return NULL;
	k = &s->sched[s->nsched++];
	memset(k, 0, sizeof(*k));
	k->pid = pid;
	k->start_ns = start_ns;
	return k;
}

struct snap_unit_io *snapshot_unit_io(struct res_snapshot *s, const char *unit)
{
	struct snap_unit_io *u;

	if (grow((void **)&s->units, &s->ucap, s->nunits, sizeof(*s->units), 16) < 0)
		return NULL;
	u = &s->units[s->nunits++];
	memset(u, 0, sizeof(*u));
	snprintf(u->unit, sizeof(u->unit), "%s", unit);
	return u;
}

void snapshot_clear(struct res_snapshot *s)
{
	for (uint32_t i = 0; i < s->nextras; i++) {
		free(s->extras[i].id.cmdline);
		free(s->extras[i].id.exe);
	}
	s->nprocs = 0;
	s->nextras = 0;
	s->nsched = 0;
	s->nunits = 0;
	s->sys.cpu_ok = s->sys.mem_ok = s->sys.load_ok = s->sys.psi_ok = 0;
	s->gpu.fresh = 0;
	s->gpu.ndev = s->gpu.nproc = 0;
}

struct res_snapshot *snapshot_free(struct res_snapshot *s)
{
	if (!s)
		return NULL;
	snapshot_clear(s);
	free(s->procs);
	free(s->extras);
	free(s->sched);
	free(s->units);
	free(s->sys.per_cpu);
	free(s->gpu.dev);
	free(s->gpu.proc);
	free(s);
	return NULL;
}
