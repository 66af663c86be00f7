// SPDX-License-Identifier: GPL-2.0-only
/* Per-process block I/O: bytes and requests by direction, and an
 * issue -> completion latency histogram, in a hash map keyed by tgid that
 * user space reads each tick (daemon/collect/kstats.c).
 *
 * Attribution: a request is owned by the task in whose context it entered
 * the block layer (block_io_start, called from blk_mq_submit_bio() /
 * blk_insert_cloned_request() by the submitter, before any scheduler or
 * direct issue), remembered by request pointer until its completion, which
 * runs in interrupt context. O_DIRECT and synchronous reads/fsync are
 * submitted by the process itself; background writeback by a flusher
 * kworker, which is what we then record (plus the bio's cgroup, which the
 * kernel does carry for writeback). docs/metrics.md has the full story. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "profd/counters.h"
#include "core_fixes.bpf.h"
#include "hist.bpf.h"
#include "maps.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define PF_KTHREAD 0x00200000
/* errno values: vmlinux.h has no macros. */
#define EEXIST 17
/* include/linux/blk_types.h: the op is the low REQ_OP_BITS (8) bits of
 * cmd_flags; READ = 0 and WRITE = 1 since the op field exists. */
#define REQ_OP_MASK 0xff
#define OP_READ 0
#define OP_WRITE 1

/* inflight.flags */
#define INF_ISSUER 1 /* owner taken at issue, not at submission */

struct inflight {
	__u64 start_time; /* owner's leader start_boottime */
	__u64 issue_ts;   /* CLOCK_MONOTONIC ns of the (last) issue; 0: not yet */
	__u64 cgroup_id;  /* bio->bi_blkg's cgroup; 0: unknown */
	__u32 tgid;       /* owner */
	__u32 flags;      /* INF_* | PROFD_KF_KTHREAD << 8 */
};

/* Sizes set by user space (bpf_map__set_max_entries) before load. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* struct request * */
	__type(value, struct inflight);
} inflight SEC(".maps");

/* io_procs: maps.bpf.h (shared with sched.bpf.c). */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, struct profd_cgroup_io);
} io_cgroups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct profd_io_stats);
} stats SEC(".maps");

/* Template for new cgroup entries (update_elem copies it; never written). */
const struct profd_cgroup_io zero_cgroup = {};

static __always_inline struct profd_io_stats *stats_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&stats, &zero);
}


/* Record the current task as the request's owner. */
static __always_inline struct inflight *track(struct request *rq, __u32 flags, struct profd_io_stats *st)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	__u64 key = (__u64)rq;
	struct inflight v = {};

	v.tgid = cur->tgid;
	v.start_time = cur->group_leader->start_boottime;
	v.cgroup_id = rq_cgroup_id(rq);
	v.flags = flags;
	if (cur->flags & PF_KTHREAD)
		v.flags |= PROFD_KF_KTHREAD << 8;
	/* BPF_ANY: a request struct is reused; an entry left by a completion
	 * we did not see is overwritten here. */
	if (bpf_map_update_elem(&inflight, &key, &v, BPF_ANY)) {
		st->inflight_full++;
		return NULL;
	}
	return bpf_map_lookup_elem(&inflight, &key);
}

SEC("tp_btf/block_io_start")
int BPF_PROG(profd_io_start, struct request *rq)
{
	struct profd_io_stats *st = stats_get();

	if (!st)
		return 0;
	st->started++;
	track(rq, 0, st);
	return 0;
}

/* Kernels before 6.5 have no block_io_start: user space loads this one
 * instead. Not called for requests issued directly without an I/O
 * scheduler; those are then owned by whoever issues them. */
SEC("tp_btf/block_rq_insert")
int BPF_PROG(profd_rq_insert, struct request *rq)
{
	struct profd_io_stats *st = stats_get();

	if (!st)
		return 0;
	st->started++;
	track(rq, 0, st);
	return 0;
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(profd_rq_issue, struct request *rq)
{
	__u64 key = (__u64)rq;
	struct inflight *e = bpf_map_lookup_elem(&inflight, &key);
	struct profd_io_stats *st;

	if (!e) {
		/* Not seen at submission (a flush sequence, passthrough, or
		 * started before attach): the issuing context is all we have. */
		st = stats_get();
		if (!st)
			return 0;
		st->issuer_attrib++;
		e = track(rq, INF_ISSUER, st);
		if (!e)
			return 0;
	}
	/* A requeued request is issued again: latency counts from the last
	 * issue, as the device saw it. */
	e->issue_ts = bpf_ktime_get_ns();
	return 0;
}

/* Insert a process's entry complete, identity included, in one map
 * update, so another CPU never sees it half-initialised and resets it
 * (sched.bpf.c's proc_insert, for the same reason). Out of line: the
 * 336-byte template lives in this frame only. */
static __noinline int io_insert(__u32 tgid, __u64 start, __u32 flags, int stale, struct profd_io_stats *st)
{
	struct profd_io_counters init = {};
	long err;

	init.start_time = start;
	init.tgid = tgid;
	init.flags = flags;
	if (stale) {
		st->stale_reset++;
		return bpf_map_update_elem(&io_procs, &tgid, &init, BPF_EXIST) ? -1 : 0;
	}
	err = bpf_map_update_elem(&io_procs, &tgid, &init, BPF_NOEXIST);
	/* -EEXIST: another CPU created it just now, complete. */
	if (err && err != -EEXIST) {
		st->proc_full++;
		return -1;
	}
	return 0;
}

static __always_inline struct profd_io_counters *io_get(struct inflight *e, struct profd_io_stats *st)
{
	__u32 tgid = e->tgid;
	struct profd_io_counters *c = bpf_map_lookup_elem(&io_procs, &tgid);

	if (c && c->start_time == e->start_time)
		return c;
	if (io_insert(tgid, e->start_time, e->flags >> 8, c != 0, st))
		return NULL;
	c = bpf_map_lookup_elem(&io_procs, &tgid);
	return c && c->start_time == e->start_time ? c : NULL;
}

static __always_inline void cgroup_add(struct inflight *e, __u32 op, __u64 bytes, int final,
				       struct profd_io_stats *st)
{
	__u64 id = e->cgroup_id;
	struct profd_cgroup_io *g;

	if (!id || (op != OP_READ && op != OP_WRITE))
		return;
	g = bpf_map_lookup_elem(&io_cgroups, &id);
	if (!g) {
		long err = bpf_map_update_elem(&io_cgroups, &id, &zero_cgroup, BPF_NOEXIST);

		if (err && err != -EEXIST) {
			st->cgroup_full++;
			return;
		}
		g = bpf_map_lookup_elem(&io_cgroups, &id);
		if (!g)
			return;
	}
	if (op == OP_READ) {
		__sync_fetch_and_add(&g->read_bytes, bytes);
		if (final)
			__sync_fetch_and_add(&g->read_reqs, 1);
	} else {
		__sync_fetch_and_add(&g->write_bytes, bytes);
		if (final)
			__sync_fetch_and_add(&g->write_reqs, 1);
	}
}

/* Called once per blk_update_request(): possibly several partial
 * completions per request, nr_bytes each; the request ends when nr_bytes
 * covers what is left of it (__data_len is updated after this call). */
SEC("tp_btf/block_rq_complete")
int BPF_PROG(profd_rq_complete, struct request *rq, blk_status_t error, unsigned int nr_bytes)
{
	__u64 key = (__u64)rq;
	struct inflight *e = bpf_map_lookup_elem(&inflight, &key);
	struct profd_io_stats *st = stats_get();
	struct profd_io_counters *c;
	__u32 op, left;
	int final;

	if (!st)
		return 0;
	if (!e) {
		st->unmatched++;
		return 0;
	}
	op = rq->cmd_flags & REQ_OP_MASK;
	left = rq->__data_len;
	final = nr_bytes >= left;
	c = io_get(e, st);
	if (c) {
		if (op == OP_READ) {
			__sync_fetch_and_add(&c->read_bytes, nr_bytes);
			if (final)
				__sync_fetch_and_add(&c->read_reqs, 1);
		} else if (op == OP_WRITE) {
			__sync_fetch_and_add(&c->write_bytes, nr_bytes);
			if (final)
				__sync_fetch_and_add(&c->write_reqs, 1);
		} else if (final) {
			__sync_fetch_and_add(&c->other_reqs, 1);
		}
		if (error)
			__sync_fetch_and_add(&c->errors, 1);
		if (final && e->issue_ts) {
			__u64 now = bpf_ktime_get_ns();
			__u64 d = now > e->issue_ts ? now - e->issue_ts : 0;

			__sync_fetch_and_add(&c->lat_ns, d);
			__sync_fetch_and_add(&c->lat_count, 1);
			__sync_fetch_and_add(&c->lat_hist.slot[log2_slot(d)], 1);
		}
	}
	cgroup_add(e, op, nr_bytes, final, st);
	if (final) {
		st->completed++;
		bpf_map_delete_elem(&inflight, &key);
	}
	return 0;
}
