/* SPDX-License-Identifier: GPL-2.0-only */
/* kstats: loads bpf/sched.bpf.c and bpf/blkio.bpf.c, reads their
 * per-process counters with the slices still on CPU added, and drains
 * exit records. See kstats.h; the metrics are documented in docs/metrics.md. */
#include "collect/kstats.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "blkio.skel.h"
#include "collect/khold.h"
#include "base/log.h"
#include "sched.skel.h"
#include "common/clock.h"
#include "common/sort.h"

/* The ABI with the BPF programs: a field moved in counters.h breaks here. */
_Static_assert(sizeof(struct profd_hist) == 256, "hist size");
_Static_assert(sizeof(struct profd_sched_counters) == 328, "sched counters size");
_Static_assert(sizeof(struct profd_io_counters) == 336, "io counters size");
_Static_assert(sizeof(struct profd_cgroup_io) == 32, "cgroup io size");
_Static_assert(sizeof(struct profd_cpu_slot) == 64, "cpu slot size (mmap stride: one cache line)");
_Static_assert(sizeof(struct profd_kstats_exit) == 704, "exit record size");
_Static_assert(sizeof(struct profd_sched_stats) == 128, "sched stats size");
_Static_assert(sizeof(struct profd_io_stats) == 128, "io stats size");

#define DEFAULT_MAX_PROCS 16384
#define DEFAULT_MAX_INFLIGHT 16384
#define DEFAULT_MAX_CGROUPS 1024
#define DEFAULT_RINGBUF (1u << 20)
#define MAX_ENTRIES_LIMIT (1u << 22) /* 4 M entries: beyond any pid_max use */
#define SLOT_READ_TRIES 10000        /* a slot update lasts well under 1 us */
#define REDO_TRIES 8                 /* consistent re-reads of one process */

struct kstats {
	struct profd_sched_bpf *sched;
	struct profd_blkio_bpf *blkio;
	struct bpf_link *links[16];
	unsigned nlinks;
	struct ring_buffer *rb;
	const struct profd_cpu_slot *slots; /* mmap of cpu_slots */
	size_t slots_len;
	uint32_t nslots;
	uint32_t parts;
	uint32_t max_procs;
	uint32_t max_cgroups;
	int batch_ok; /* bpf_map_lookup_batch works on this kernel */
	long clk_tck;
	struct kstats_callbacks cb;
	/* read buffers, max_procs each */
	uint32_t *keys;
	struct profd_sched_counters *sv;
	struct profd_io_counters *iv;
	uint32_t *running;
	uint8_t *sflags;
	struct profd_cpu_slot *s1, *c1;
	uint64_t *seq2;
	struct khold *hold; /* on-CPU totals handed out: never hand out less */
	int compat_switch; /* sched_switch without prev_state (< 5.18) */
	int blkio_insert;  /* ownership at block_rq_insert (< 6.5) */
	char why_sched[KSTATS_REASON_LEN]; /* why the scheduler part is absent */
	char why_blkio[KSTATS_REASON_LEN]; /* why block I/O is absent */
	/* user-space counters */
	uint64_t exit_records, malformed, inexact, orphans, held, last_procs, last_io;
};


static uint32_t clamp_entries(uint32_t v, uint32_t def)
{
	if (!v)
		return def;
	return v > MAX_ENTRIES_LIMIT ? MAX_ENTRIES_LIMIT : v;
}

/* "tp_btf/NAME" programs need btf_trace_NAME in the running kernel's BTF;
 * one that lacks it would fail the whole object's load, so it is left out
 * (autoload off) and logged. Returns 1 if it can load. */
static int prog_fits_kernel(struct bpf_program *p, const struct btf *vmbtf, const char *part)
{
	const char *sec = bpf_program__section_name(p);
	char name[128];

	if (!vmbtf || strncmp(sec, "tp_btf/", 7))
		return 1;
	snprintf(name, sizeof(name), "btf_trace_%s", sec + 7);
	if (btf__find_by_name_kind(vmbtf, name, BTF_KIND_TYPEDEF) >= 0)
		return 1;
	log_warn("kstats: %s: kernel has no tracepoint %s, left out", part, sec + 7);
	bpf_program__set_autoload(p, false);
	return 0;
}

/* Number of arguments of tracepoint NAME in the running kernel's BTF
 * (btf_trace_NAME: typedef -> pointer -> prototype whose first parameter
 * is the tracepoint's private data). -ENOENT when it has none. */
static int tp_nargs(const struct btf *vmbtf, const char *name)
{
	char tn[128];
	const struct btf_type *t;
	int id;

	if (!vmbtf)
		return -ENOENT;
	snprintf(tn, sizeof(tn), "btf_trace_%s", name);
	id = btf__find_by_name_kind(vmbtf, tn, BTF_KIND_TYPEDEF);
	if (id < 0)
		return -ENOENT;
	t = btf__type_by_id(vmbtf, id);
	for (int hops = 0; t && hops < 4 && !btf_is_func_proto(t); hops++)
		t = btf__type_by_id(vmbtf, t->type);
	if (!t || !btf_is_func_proto(t) || btf_vlen(t) < 1)
		return -ENOENT;
	return btf_vlen(t) - 1;
}

/* The running kernel's major * 1000 + minor (6.18 -> 6018); 0 unknown. */
static int kernel_version(void)
{
	struct utsname u;
	unsigned maj, min;

	if (uname(&u) || sscanf(u.release, "%u.%u", &maj, &min) != 2)
		return 0;
	return (int)(maj * 1000 + min);
}

static void attach_all(struct kstats *k, struct bpf_object *obj, const char *part)
{
	struct bpf_program *p;

	bpf_object__for_each_program(p, obj) {
		const char *name = bpf_program__name(p);
		struct bpf_link *l;
		uint32_t bit = 0;

		if (!bpf_program__autoload(p))
			continue;
		if (k->nlinks >= sizeof(k->links) / sizeof(k->links[0]))
			break;
		l = bpf_program__attach(p);
		if (!l) {
			log_warn_errno(errno, "kstats: %s: attach %s: %m", part, bpf_program__section_name(p));
			continue;
		}
		k->links[k->nlinks++] = l;
		if (!strcmp(name, "profd_sched_switch"))
			bit = KSTATS_PART_ONCPU;
		else if (!strcmp(name, "profd_sched_wakeup"))
			bit = KSTATS_PART_RUNQ;
		else if (!strcmp(name, "profd_sched_fork"))
			bit = KSTATS_PART_FORK;
		else if (!strcmp(name, "profd_sched_runtime"))
			bit = KSTATS_PART_SEED;
		else if (!strcmp(name, "profd_rq_complete"))
			bit = KSTATS_PART_BLKIO;
		else if (!strcmp(name, "profd_io_start"))
			bit = KSTATS_PART_BLKIO_SUBMIT;
		else if (!strcmp(name, "profd_rq_insert"))
			k->blkio_insert = 1;
		k->parts |= bit;
	}
}

static int load_blkio(struct kstats *k, const struct kstats_opts *o, const struct btf *vmbtf)
{
	struct profd_blkio_bpf *b = profd_blkio_bpf__open();
	int err;

	if (!b) {
		err = log_warn_errno(errno, "kstats: block I/O: open BPF object: %m");
		snprintf(k->why_blkio, sizeof(k->why_blkio), "BPF object could not be opened: %s", strerror(-err));
		return err;
	}
	/* Before 5.11 block_rq_issue/insert took (queue, request): the
	 * programs would read the queue as a request. Not worked around. */
	if (tp_nargs(vmbtf, "block_rq_issue") > 1) {
		log_warn("kstats: block I/O: this kernel's block tracepoints take (queue, request) "
			 "(before 5.11): left out");
		snprintf(k->why_blkio, sizeof(k->why_blkio),
			 "kernel before 5.11: block tracepoints take (queue, request); per-process block I/O needs 5.11");
		profd_blkio_bpf__destroy(b);
		return -EOPNOTSUPP;
	}
	/* Submission-time ownership: block_io_start (6.5+) sees every request
	 * in its submitter's context; block_rq_insert only those that go
	 * through a scheduler queue, so it is the fallback. */
	if (prog_fits_kernel(b->progs.profd_io_start, vmbtf, "block I/O"))
		bpf_program__set_autoload(b->progs.profd_rq_insert, false);
	else
		prog_fits_kernel(b->progs.profd_rq_insert, vmbtf, "block I/O");
	prog_fits_kernel(b->progs.profd_rq_issue, vmbtf, "block I/O");
	if (!prog_fits_kernel(b->progs.profd_rq_complete, vmbtf, "block I/O")) {
		snprintf(k->why_blkio, sizeof(k->why_blkio), "kernel has no block_rq_complete tracepoint");
		profd_blkio_bpf__destroy(b);
		return -ENOENT;
	}
	k->max_cgroups = clamp_entries(o->max_cgroups, DEFAULT_MAX_CGROUPS);
	err = bpf_map__set_max_entries(b->maps.inflight, clamp_entries(o->max_inflight, DEFAULT_MAX_INFLIGHT));
	if (!err)
		err = bpf_map__set_max_entries(b->maps.io_procs, k->max_procs);
	if (!err)
		err = bpf_map__set_max_entries(b->maps.io_cgroups, k->max_cgroups);
	if (!err)
		err = profd_blkio_bpf__load(b);
	if (err) {
		log_warn_errno(err, "kstats: block I/O: load BPF programs: %m");
		snprintf(k->why_blkio, sizeof(k->why_blkio), "BPF programs failed to load: %s", strerror(-err));
		profd_blkio_bpf__destroy(b);
		return err;
	}
	k->blkio = b;
	return 0;
}

static int load_sched(struct kstats *k, const struct kstats_opts *o, const struct btf *vmbtf, size_t rbsz)
{
	struct profd_sched_bpf *s = profd_sched_bpf__open();
	struct bpf_program *p;
	int err, n = libbpf_num_possible_cpus();

	if (!s) {
		err = log_warn_errno(errno, "kstats: scheduler: open BPF object: %m");
		snprintf(k->why_sched, sizeof(k->why_sched), "BPF object could not be opened: %s", strerror(-err));
		return err;
	}
	if (n <= 0) {
		snprintf(k->why_sched, sizeof(k->why_sched), "number of possible CPUs unknown");
		profd_sched_bpf__destroy(s);
		return n < 0 ? n : -EINVAL;
	}
	bpf_object__for_each_program(p, s->obj)
		prog_fits_kernel(p, vmbtf, "scheduler");
	/* sched_switch's prev_state argument: 5.18+ (core_fixes.bpf.h). */
	k->compat_switch = (o->flags & KSTATS_OPT_COMPAT_SWITCH) || tp_nargs(vmbtf, "sched_switch") < 4;
	s->rodata->switch_has_prev_state = !k->compat_switch;
	if (k->compat_switch)
		log_info("kstats: sched_switch without prev_state (kernel before 5.18): state read from the task");
	k->nslots = n;
	err = bpf_map__set_max_entries(s->maps.procs, k->max_procs);
	if (!err)
		err = bpf_map__set_max_entries(s->maps.io_procs, k->max_procs);
	if (!err)
		err = bpf_map__set_max_entries(s->maps.cpu_slots, k->nslots);
	if (!err)
		err = bpf_map__set_max_entries(s->maps.exits, rbsz);
	/* One io_procs map for both objects: the exit record carries I/O. */
	if (!err && k->blkio)
		err = bpf_map__reuse_fd(s->maps.io_procs, bpf_map__fd(k->blkio->maps.io_procs));
	s->rodata->ringbuf_wakeup_bytes = rbsz / 2;
	if (!err)
		err = profd_sched_bpf__load(s);
	if (err) {
		int v = kernel_version();

		log_warn_errno(err, "kstats: scheduler: load BPF programs: %m");
		if (v && v < 5013)
			snprintf(k->why_sched, sizeof(k->why_sched),
				 "kernel %d.%d: the scheduler programs need 5.13 (task-local storage in tracing programs)",
				 v / 1000, v % 1000);
		else
			snprintf(k->why_sched, sizeof(k->why_sched), "BPF programs failed to load: %s",
				 strerror(-err));
		profd_sched_bpf__destroy(s);
		return err;
	}
	k->sched = s;
	return 0;
}

static int handle_exit(void *ctx, void *data, size_t len)
{
	struct kstats *k = ctx;
	const struct profd_kstats_exit *e = data;
	struct kstats_proc p = {0};
	struct profd_sched_counters sched;
	char comm[PROFD_KSTATS_COMM_LEN + 1];

	if (len < sizeof(*e) || e->kind != PROFD_REC_KSTATS_EXIT) {
		k->malformed++;
		return 0;
	}
	k->exit_records++;
	if (!k->cb.exit)
		return 0;
	memcpy(comm, e->comm, PROFD_KSTATS_COMM_LEN);
	comm[PROFD_KSTATS_COMM_LEN] = 0;
	p.flags = KSTATS_F_EXITED;
	p.exit_code = e->exit_code;
	p.comm = comm;
	p.io = e->has_io ? &e->io : NULL;
	if (e->has_sched) {
		uint64_t before;

		/* The final total is every slice, complete: not below what a
		 * read handed out, unless a slot showed a slice twice. Held
		 * here all the same, so a consumer's baseline never goes down. */
		sched = e->sched;
		if (!khold_find(k->hold, sched.tgid, sched.start_time, &before) && before > sched.oncpu_ns) {
			sched.oncpu_ns = before;
			k->held++;
		}
		p.sched = &sched;
	}
	p.tgid = p.sched ? e->sched.tgid : e->io.tgid;
	p.start_time = p.sched ? e->sched.start_time : e->io.start_time;
	k->cb.exit(k->cb.ctx, &p);
	return 0;
}

int kstats_new(const struct kstats_opts *opts, const struct kstats_callbacks *cb, struct kstats **ret)
{
	static const struct kstats_opts defaults;
	const struct kstats_opts *o = opts ? opts : &defaults;
	struct kstats *k = calloc(1, sizeof(*k));
	struct btf *vmbtf;
	size_t rbsz = o->ringbuf_bytes ? o->ringbuf_bytes : DEFAULT_RINGBUF;
	int err_b, err_s, err = 0;

	if (!k)
		return -ENOMEM;
	if (cb)
		k->cb = *cb;
	k->max_procs = clamp_entries(o->max_procs, DEFAULT_MAX_PROCS);
	k->batch_ok = 1;
	k->clk_tck = sysconf(_SC_CLK_TCK);
	if (k->clk_tck <= 0)
		k->clk_tck = 100;

	/* Missing BTF is not fatal here: load then fails with a clear error. */
	vmbtf = btf__load_vmlinux_btf();
	if (!vmbtf)
		vmbtf = NULL;
	err_b = load_blkio(k, o, vmbtf);
	if (o->flags & KSTATS_OPT_NO_SCHED) {
		/* a choice, not a failure: said so in status, not logged as one */
		snprintf(k->why_sched, sizeof(k->why_sched), "turned off ([sampling] sched_counters = no)");
		err_s = -ENODEV;
	} else {
		err_s = load_sched(k, o, vmbtf, rbsz);
	}
	btf__free(vmbtf);
	if (!k->blkio && !k->sched) {
		err = err_s ? err_s : err_b;
		goto fail;
	}
	if (k->blkio)
		attach_all(k, k->blkio->obj, "block I/O");
	if (k->sched) {
		attach_all(k, k->sched->obj, "scheduler");
		k->slots_len = ((size_t)k->nslots * sizeof(struct profd_cpu_slot) + 4095) & ~(size_t)4095;
		k->slots = mmap(NULL, k->slots_len, PROT_READ, MAP_SHARED, bpf_map__fd(k->sched->maps.cpu_slots), 0);
		if (k->slots == MAP_FAILED) {
			/* Without it slices in progress are not added: readable,
			 * only less fresh. */
			log_warn_errno(errno, "kstats: mmap CPU slots: %m; running slices not added");
			k->slots = NULL;
		}
		k->rb = ring_buffer__new(bpf_map__fd(k->sched->maps.exits), handle_exit, k, NULL);
		if (!k->rb)
			log_warn("kstats: exit ring buffer: %s; exited processes lose their last counters",
				 strerror(errno));
		else if (k->parts & KSTATS_PART_ONCPU)
			k->parts |= KSTATS_PART_EXIT;
	}
	if (!(k->parts & (KSTATS_PART_ONCPU | KSTATS_PART_BLKIO))) {
		log_err("kstats: no scheduler or block I/O program could be attached");
		err = -ENODEV;
		goto fail;
	}
	k->keys = calloc(k->max_procs, sizeof(*k->keys));
	k->sv = calloc(k->max_procs, sizeof(*k->sv));
	k->iv = calloc(k->max_procs, sizeof(*k->iv));
	k->running = calloc(k->max_procs, sizeof(*k->running));
	k->sflags = calloc(k->max_procs, sizeof(*k->sflags));
	k->s1 = calloc(k->nslots ? k->nslots : 1, sizeof(*k->s1));
	k->c1 = calloc(k->nslots ? k->nslots : 1, sizeof(*k->c1));
	k->seq2 = calloc(k->nslots ? k->nslots : 1, sizeof(*k->seq2));
	err = khold_new(k->max_procs, &k->hold);
	if (err || !k->keys || !k->sv || !k->iv || !k->running || !k->sflags || !k->s1 || !k->c1 || !k->seq2) {
		err = -ENOMEM;
		goto fail;
	}
	log_info("kstats: scheduler %s%s%s%s, block I/O %s%s; %u processes per map",
		 k->parts & KSTATS_PART_ONCPU ? "on" : "off",
		 k->parts & KSTATS_PART_RUNQ ? " +runq" : "",
		 k->parts & KSTATS_PART_EXIT ? " +exit" : "",
		 k->parts & KSTATS_PART_SEED ? " +seed" : "",
		 k->parts & KSTATS_PART_BLKIO ? "on" : "off",
		 k->parts & KSTATS_PART_BLKIO_SUBMIT ? " (submitter)" : "", k->max_procs);
	*ret = k;
	return 0;
fail:
	kstats_free(k);
	return err;
}

struct kstats *kstats_free(struct kstats *k)
{
	if (!k)
		return NULL;
	for (unsigned i = 0; i < k->nlinks; i++)
		bpf_link__destroy(k->links[i]);
	ring_buffer__free(k->rb);
	if (k->slots)
		munmap((void *)k->slots, k->slots_len);
	profd_sched_bpf__destroy(k->sched);
	profd_blkio_bpf__destroy(k->blkio);
	free(k->keys);
	free(k->sv);
	free(k->iv);
	free(k->running);
	free(k->sflags);
	free(k->s1);
	free(k->c1);
	free(k->seq2);
	khold_free(k->hold);
	free(k);
	return NULL;
}

uint32_t kstats_parts(const struct kstats *k)
{
	return k->parts;
}

int kstats_epoll_fd(struct kstats *k)
{
	return k->rb ? ring_buffer__epoll_fd(k->rb) : -ENODEV;
}

int kstats_drain(struct kstats *k)
{
	return k->rb ? ring_buffer__consume(k->rb) : 0;
}

/* Dump a hash map of __u32 keys into keys[]/vals[] (at most max). Batch
 * lookup where the kernel has it (5.6+), else key by key. */
static int map_dump(struct kstats *k, int fd, void *vals, size_t vsz, uint32_t max, uint32_t *ret_n)
{
	uint32_t n = 0, key, next;
	int err;

	if (k->batch_ok) {
		uint64_t token = 0;
		int first = 1;

		for (;;) {
			uint32_t cnt = max - n;

			if (!cnt)
				break;
			err = bpf_map_lookup_batch(fd, first ? NULL : &token, &token, k->keys + n,
						   (char *)vals + (size_t)n * vsz, &cnt, NULL);
			first = 0;
			n += cnt;
			if (err == -ENOENT)
				break;
			if (err == -EINVAL || err == -EOPNOTSUPP || err == -524 /* ENOTSUPP */) {
				k->batch_ok = 0;
				n = 0;
				break;
			}
			if (err)
				return err;
		}
		if (k->batch_ok) {
			*ret_n = n;
			return 0;
		}
	}
	/* get_next_key restarts from the first key when the current one was
	 * deleted meanwhile: duplicates are removed after sorting. */
	err = bpf_map_get_next_key(fd, NULL, &next);
	while (!err && n < max) {
		key = next;
		if (!bpf_map_lookup_elem(fd, &key, (char *)vals + (size_t)n * vsz))
			k->keys[n++] = key;
		err = bpf_map_get_next_key(fd, &key, &next);
	}
	*ret_n = n;
	return 0;
}

static int cmp_sched(const void *a, const void *b)
{
	const struct profd_sched_counters *x = a, *y = b;

	return x->tgid < y->tgid ? -1 : x->tgid > y->tgid;
}

static int cmp_io(const void *a, const void *b)
{
	const struct profd_io_counters *x = a, *y = b;

	return x->tgid < y->tgid ? -1 : x->tgid > y->tgid;
}

/* Seqcount read of one CPU slot. Returns 0, or -EAGAIN if it never held
 * still (then its seq is set to an odd value that matches nothing). */
static int slot_read(const struct profd_cpu_slot *s, struct profd_cpu_slot *out)
{
	for (int i = 0; i < SLOT_READ_TRIES; i++) {
		uint64_t a = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);

		if (a & 1)
			continue;
		out->tgid = __atomic_load_n(&s->tgid, __ATOMIC_RELAXED);
		out->pid = __atomic_load_n(&s->pid, __ATOMIC_RELAXED);
		out->start_time = __atomic_load_n(&s->start_time, __ATOMIC_RELAXED);
		out->sum_in = __atomic_load_n(&s->sum_in, __ATOMIC_RELAXED);
		out->sum_now = __atomic_load_n(&s->sum_now, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&s->seq, __ATOMIC_RELAXED) == a) {
			out->seq = a;
			return 0;
		}
	}
	memset(out, 0, sizeof(*out));
	out->seq = 1;
	return -EAGAIN;
}

static void slots_read(struct kstats *k, struct profd_cpu_slot *out)
{
	for (uint32_t c = 0; c < k->nslots; c++)
		slot_read(&k->slots[c], &out[c]);
}

static void seqs_read(struct kstats *k)
{
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	for (uint32_t c = 0; c < k->nslots; c++)
		k->seq2[c] = __atomic_load_n(&k->slots[c].seq, __ATOMIC_RELAXED);
}

/* The slice a slot shows: what its thread has run since its switch-in,
 * as of the scheduler's last runtime update of it (a lower bound, at most
 * one tick behind on a CPU whose tick runs). */
static uint64_t slot_slice(const struct profd_cpu_slot *s)
{
	return s->sum_now > s->sum_in ? s->sum_now - s->sum_in : 0;
}

/* Re-read one process consistently with every CPU that ran it: the
 * snapshot lost consistency because one of its threads switched out
 * during it. Returns 0, -ENOENT (gone: its exit record follows), or
 * -EAGAIN (no consistent read: *v holds the counters without slices). */
static int redo_one(struct kstats *k, uint32_t tgid, struct profd_sched_counters *v, uint32_t *running)
{
	int fd = bpf_map__fd(k->sched->maps.procs);

	for (int t = 0; t < REDO_TRIES; t++) {
		uint64_t add = 0;
		uint32_t run = 0;
		int ok = 1;

		slots_read(k, k->c1);
		if (bpf_map_lookup_elem(fd, &tgid, v))
			return -ENOENT;
		v->tgid = tgid;
		seqs_read(k);
		for (uint32_t c = 0; c < k->nslots && ok; c++) {
			if (k->c1[c].seq & 1) {
				ok = 0;
			} else if (k->c1[c].tgid == tgid && k->c1[c].start_time == v->start_time) {
				if (k->c1[c].seq != k->seq2[c]) {
					ok = 0;
				} else {
					add += slot_slice(&k->c1[c]);
					run++;
				}
			}
		}
		if (ok) {
			v->oncpu_ns += add;
			*running = run;
			return 0;
		}
	}
	return -EAGAIN;
}

static int proc_alive(struct kstats *k, uint32_t tgid, uint64_t start_ns)
{
	char path[64], buf[1024], *p;
	unsigned long long st;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/stat", tgid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 1; /* exists; cannot tell: keep */
	buf[n] = 0;
	p = strrchr(buf, ')');
	/* After ')': state is field 3, starttime field 22 -> skip 19 fields. */
	for (int f = 0; p && f < 20; f++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu", &st) != 1)
		return 1;
	uint64_t want = start_ns / (1000000000ull / (uint64_t)k->clk_tck);
	return st + 1 >= want && st <= want + 1;
}

/* Never hand out less on-CPU time for a process than an earlier read did
 * (khold.h says why). Every process in the map goes through, handed out
 * or not (gone: sflags 2), so the exit record that follows is held too. */
static void hold_monotonic(struct kstats *k, uint32_t ns)
{
	khold_begin(k->hold);
	for (uint32_t i = 0; i < ns; i++) {
		uint64_t v = k->sv[i].oncpu_ns; /* __u64 is unsigned long long */

		if (khold_apply(k->hold, k->sv[i].tgid, k->sv[i].start_time, &v) && k->sflags[i] != 2)
			k->held++;
		k->sv[i].oncpu_ns = v;
	}
	khold_end(k->hold);
}

int kstats_read(struct kstats *k, kstats_visit_fn fn, void *ctx)
{
	uint32_t ns = 0, ni = 0, i, j;
	int have_slots = k->sched && k->slots;
	int err, r = 0;

	if (have_slots)
		slots_read(k, k->s1);
	if (k->sched) {
		err = map_dump(k, bpf_map__fd(k->sched->maps.procs), k->sv, sizeof(*k->sv), k->max_procs, &ns);
		if (err)
			return err;
		for (i = 0; i < ns; i++)
			k->sv[i].tgid = k->keys[i];
	}
	if (have_slots)
		seqs_read(k);
	if (k->blkio) {
		err = map_dump(k, bpf_map__fd(k->blkio->maps.io_procs), k->iv, sizeof(*k->iv), k->max_procs, &ni);
		if (err)
			return err;
		for (i = 0; i < ni; i++)
			k->iv[i].tgid = k->keys[i];
	}
	qsort_safe(k->sv, ns, sizeof(*k->sv), cmp_sched);
	qsort_safe(k->iv, ni, sizeof(*k->iv), cmp_io);
	/* Drop duplicates of the key-by-key fallback (keep the later read). */
	for (i = j = 0; i < ns; i++) {
		if (j && k->sv[j - 1].tgid == k->sv[i].tgid)
			j--;
		k->sv[j++] = k->sv[i];
	}
	ns = j;
	for (i = j = 0; i < ni; i++) {
		if (j && k->iv[j - 1].tgid == k->iv[i].tgid)
			j--;
		k->iv[j++] = k->iv[i];
	}
	ni = j;
	k->last_procs = ns;
	k->last_io = ni;
	memset(k->running, 0, ns * sizeof(*k->running));
	memset(k->sflags, 0, ns);

	/* Slices in progress: added where the CPU's slot held still across
	 * the dump (the slice is then not in oncpu_ns); the processes whose
	 * thread switched out meanwhile are re-read on their own. */
	for (uint32_t c = 0; have_slots && c < k->nslots; c++) {
		struct profd_sched_counters key = {.tgid = k->s1[c].tgid}, *v;

		if (!key.tgid)
			continue;
		v = bsearch(&key, k->sv, ns, sizeof(*k->sv), cmp_sched);
		if (!v || v->start_time != k->s1[c].start_time)
			continue;
		if (k->s1[c].seq == k->seq2[c] && !(k->s1[c].seq & 1)) {
			v->oncpu_ns += slot_slice(&k->s1[c]);
			k->running[v - k->sv]++;
		} else {
			k->sflags[v - k->sv] = 1;
		}
	}
	for (i = 0; have_slots && i < ns; i++) {
		if (!k->sflags[i])
			continue;
		err = redo_one(k, k->sv[i].tgid, &k->sv[i], &k->running[i]);
		if (err == -ENOENT) {
			k->sflags[i] = 2; /* exited: its exit record has it */
		} else if (err) {
			k->inexact++;
			k->sflags[i] = 3;
			k->running[i] = 0;
		} else {
			k->sflags[i] = 0;
		}
	}
	hold_monotonic(k, ns);

	/* Merge by tgid. An I/O entry without a scheduler entry of the same
	 * process may belong to one that has exited (I/O completed after its
	 * exit record): report it once as exited and delete it. */
	for (i = j = 0; !r && (i < ns || j < ni);) {
		struct kstats_proc p = {0};
		int orphan = 0;

		if (j >= ni || (i < ns && k->sv[i].tgid < k->iv[j].tgid)) {
			p.sched = &k->sv[i++];
		} else if (i >= ns || k->iv[j].tgid < k->sv[i].tgid) {
			p.io = &k->iv[j++];
		} else if (k->sv[i].start_time == k->iv[j].start_time) {
			p.sched = &k->sv[i++];
			p.io = &k->iv[j++];
		} else if (k->sv[i].start_time < k->iv[j].start_time) {
			p.sched = &k->sv[i++];
		} else {
			p.io = &k->iv[j++];
		}
		if (p.sched) {
			uint32_t idx = p.sched - k->sv;

			if (k->sflags[idx] == 2)
				continue;
			p.tgid = p.sched->tgid;
			p.start_time = p.sched->start_time;
			p.running = k->running[idx];
			if (k->sflags[idx] == 3)
				p.flags |= KSTATS_F_INEXACT;
		} else {
			p.tgid = p.io->tgid;
			p.start_time = p.io->start_time;
			if (!proc_alive(k, p.tgid, p.start_time)) {
				p.flags |= KSTATS_F_EXITED;
				orphan = 1;
			}
		}
		r = fn(ctx, &p);
		if (orphan) {
			uint32_t key = p.tgid;
			struct profd_io_counters cur;

			/* Only if it is still that process's entry. */
			if (!bpf_map_lookup_elem(bpf_map__fd(k->blkio->maps.io_procs), &key, &cur) &&
			    cur.start_time == p.start_time) {
				bpf_map_delete_elem(bpf_map__fd(k->blkio->maps.io_procs), &key);
				k->orphans++;
			}
		}
	}
	return r;
}

int kstats_read_cgroups(struct kstats *k, kstats_cgroup_fn fn, void *ctx)
{
	uint64_t key, next;
	struct profd_cgroup_io v;
	uint32_t n = 0;
	int fd, err, r = 0;

	if (!k->blkio)
		return 0;
	fd = bpf_map__fd(k->blkio->maps.io_cgroups);
	err = bpf_map_get_next_key(fd, NULL, &next);
	/* Entries are never deleted, so the walk cannot restart; the bound
	 * (the map's size) keeps it finite whatever happens. */
	while (!err && !r && n++ < k->max_cgroups) {
		key = next;
		if (!bpf_map_lookup_elem(fd, &key, &v))
			r = fn(ctx, key, &v);
		err = bpf_map_get_next_key(fd, &key, &next);
	}
	return r;
}

static void for_each_prog(struct bpf_object *obj, void (*fn)(void *ctx, const char *name, int fd), void *ctx)
{
	struct bpf_program *p;

	if (!obj)
		return;
	bpf_object__for_each_program(p, obj) {
		int fd = bpf_program__fd(p);

		if (fd >= 0)
			fn(ctx, bpf_program__name(p), fd);
	}
}

void kstats_for_each_prog(struct kstats *k, void (*fn)(void *ctx, const char *name, int fd), void *ctx)
{
	if (!k)
		return;
	for_each_prog(k->sched ? k->sched->obj : NULL, fn, ctx);
	for_each_prog(k->blkio ? k->blkio->obj : NULL, fn, ctx);
}

void kstats_get_stats(struct kstats *k, struct kstats_stats *ret)
{
	int ncpu = libbpf_num_possible_cpus();
	uint32_t zero = 0;

	memset(ret, 0, sizeof(*ret));
	ret->parts = k->parts;
	ret->procs = k->last_procs;
	ret->io_procs = k->last_io;
	ret->max_procs = k->max_procs;
	ret->exit_records = k->exit_records;
	ret->malformed = k->malformed;
	ret->inexact = k->inexact;
	ret->held = k->held;
	ret->orphans = k->orphans;
	if (ncpu <= 0)
		return;
	if (k->sched) {
		struct profd_sched_stats *v = calloc(ncpu, sizeof(*v));

		if (v && !bpf_map__lookup_elem(k->sched->maps.stats, &zero, sizeof(zero), v, ncpu * sizeof(*v), 0)) {
			for (int c = 0; c < ncpu; c++) {
				const uint64_t *src = (const uint64_t *)&v[c];
				uint64_t *dst = (uint64_t *)&ret->sched;

				for (size_t f = 0; f < sizeof(*v) / sizeof(uint64_t); f++)
					dst[f] += src[f];
			}
		}
		free(v);
	}
	if (k->blkio) {
		struct profd_io_stats *v = calloc(ncpu, sizeof(*v));

		if (v && !bpf_map__lookup_elem(k->blkio->maps.stats, &zero, sizeof(zero), v, ncpu * sizeof(*v), 0)) {
			for (int c = 0; c < ncpu; c++) {
				const uint64_t *src = (const uint64_t *)&v[c];
				uint64_t *dst = (uint64_t *)&ret->io;

				for (size_t f = 0; f < sizeof(*v) / sizeof(uint64_t); f++)
					dst[f] += src[f];
			}
		}
		free(v);
	}
}

/* Raise f to state and append a reason ("; " between reasons). */
static void fam_note(struct kstats_family *f, uint32_t state, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fam_note(struct kstats_family *f, uint32_t state, const char *fmt, ...)
{
	size_t len = strlen(f->reason);
	va_list ap;

	if (state > f->state)
		f->state = state;
	if (len && len + 2 < sizeof(f->reason)) {
		memcpy(f->reason + len, "; ", 3);
		len += 2;
	}
	if (len + 1 >= sizeof(f->reason))
		return;
	va_start(ap, fmt);
	vsnprintf(f->reason + len, sizeof(f->reason) - len, fmt, ap);
	va_end(ap);
}

static void describe_absent(struct kstats_exactness *x, const char *sched_why, const char *blkio_why)
{
	for (int i = 0; i < KSTATS_FAM_COUNT; i++)
		if (!x->fam[i].reason[0])
			fam_note(&x->fam[i], KSTATS_ABSENT, "%s", i == KSTATS_FAM_BLKIO ? blkio_why : sched_why);
}

void kstats_describe(struct kstats *k, struct kstats_exactness *ret)
{
	static const char *const names[KSTATS_FAM_COUNT] = {"oncpu", "switches", "runq", "blkio", "exit"};
	struct kstats_family *on = &ret->fam[KSTATS_FAM_ONCPU], *sw = &ret->fam[KSTATS_FAM_SWITCHES];
	struct kstats_family *rq = &ret->fam[KSTATS_FAM_RUNQ], *io = &ret->fam[KSTATS_FAM_BLKIO];
	struct kstats_family *ex = &ret->fam[KSTATS_FAM_EXIT];
	struct kstats_stats st;
	const char *compat = "kernel before 5.18 (sched_switch without prev_state): the outgoing thread's state is "
			     "read after the switch, so a racing wake-up";

	memset(ret, 0, sizeof(*ret));
	for (int i = 0; i < KSTATS_FAM_COUNT; i++)
		ret->fam[i].name = names[i];
	if (!k) {
		int v = kernel_version();
		char why[KSTATS_REASON_LEN];

		if (v && v < 5013)
			snprintf(why, sizeof(why), "kernel %d.%d: the scheduler programs need 5.13", v / 1000, v % 1000);
		else
			snprintf(why, sizeof(why), "scheduler and block I/O programs not loaded (see the log)");
		describe_absent(ret, why, v && v < 5011 ? "kernel before 5.11: block I/O programs need 5.11" : why);
		return;
	}
	kstats_get_stats(k, &st);

	if (!k->sched || !(k->parts & KSTATS_PART_ONCPU)) {
		const char *why = k->why_sched[0] ? k->why_sched : "sched_switch program not attached (see the log)";

		fam_note(on, KSTATS_ABSENT, "%s", why);
		fam_note(sw, KSTATS_ABSENT, "%s", why);
		fam_note(rq, KSTATS_ABSENT, "%s", why);
		fam_note(ex, KSTATS_ABSENT, "%s", why);
	} else {
		if (!k->slots)
			fam_note(on, KSTATS_ESTIMATED, "CPU slots not mapped: totals lag by the slices in progress");
		if ((uint64_t)st.sched.storage_fail)
			fam_note(on, KSTATS_ESTIMATED, "%" PRIu64 " task-storage allocations failed: slices lost",
				 (uint64_t)st.sched.storage_fail);
		if (k->compat_switch) {
			fam_note(sw, KSTATS_ESTIMATED, "%s can count a voluntary switch as involuntary", compat);
			fam_note(rq, KSTATS_ESTIMATED, "%s can turn blocked time into run-queue wait", compat);
		}
		if (!(k->parts & KSTATS_PART_RUNQ))
			fam_note(rq, KSTATS_ABSENT, "sched_wakeup programs not attached (see the log)");
		if (!(k->parts & KSTATS_PART_EXIT))
			fam_note(ex, KSTATS_ABSENT, "exit ring buffer unavailable: exited processes lose their last counters");
		else if ((uint64_t)st.sched.exit_lost)
			fam_note(ex, KSTATS_ESTIMATED, "%" PRIu64 " exit records lost (ring full)", (uint64_t)st.sched.exit_lost);
		if ((uint64_t)st.sched.proc_full) {
			for (int i = KSTATS_FAM_ONCPU; i <= KSTATS_FAM_RUNQ; i++)
				fam_note(&ret->fam[i], KSTATS_ESTIMATED,
					 "%" PRIu64 " updates dropped: process map full (%" PRIu64 " entries)",
					 (uint64_t)st.sched.proc_full, (uint64_t)st.max_procs);
		}
	}

	if (!k->blkio || !(k->parts & KSTATS_PART_BLKIO)) {
		fam_note(io, KSTATS_ABSENT, "%s",
			 k->why_blkio[0] ? k->why_blkio : "block_rq_complete program not attached (see the log)");
	} else {
		if (!(k->parts & KSTATS_PART_BLKIO_SUBMIT))
			fam_note(io, KSTATS_ESTIMATED,
				 "%s: %" PRIu64 " requests attributed to the context that issued them "
				 "(often a kworker), not the submitter",
				 k->blkio_insert ? "kernel before 6.5 (no block_io_start)" : "block_io_start not attached",
				 (uint64_t)st.io.issuer_attrib);
		if ((uint64_t)st.io.inflight_full)
			fam_note(io, KSTATS_ESTIMATED, "%" PRIu64 " requests not tracked: in-flight map full",
				 (uint64_t)st.io.inflight_full);
		if ((uint64_t)st.io.proc_full)
			fam_note(io, KSTATS_ESTIMATED, "%" PRIu64 " completions dropped: process map full", (uint64_t)st.io.proc_full);
		if ((uint64_t)st.io.cgroup_full)
			fam_note(io, KSTATS_ESTIMATED, "%" PRIu64 " completions not counted per cgroup: cgroup map full",
				 (uint64_t)st.io.cgroup_full);
	}
}

uint64_t kstats_hist_percentile(const struct profd_hist *h, double pct)
{
	uint64_t total = 0, want, acc = 0;

	for (int i = 0; i < PROFD_HIST_SLOTS; i++)
		total += h->slot[i];
	if (!total)
		return 0;
	want = (uint64_t)((double)total * pct / 100.0 + 0.999999);
	if (want < 1)
		want = 1;
	for (int i = 0; i < PROFD_HIST_SLOTS; i++) {
		acc += h->slot[i];
		if (acc >= want)
			return i == PROFD_HIST_SLOTS - 1 ? UINT64_MAX : (2ull << i) - 1;
	}
	return UINT64_MAX;
}
