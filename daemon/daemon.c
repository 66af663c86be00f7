/* SPDX-License-Identifier: GPL-2.0-only */
/* The daemon's state, its tick, and the ingestion of BPF records into the
 * process table, the stack table and the rolling windows.
 *
 * Draining and ingesting are two steps. The loop drains the rings at every
 * tick (and when they fill), copying each record into staging: that is
 * cheap, and it is what must never wait, or the kernel drops samples.
 * Ingesting a record (process table, /proc reads of new processes, stack
 * interning, windows) costs more, and only the holder of the store may do
 * it: the loop replays staging, in order and with the times the records
 * were drained at, in slices of a few milliseconds, whenever the query
 * worker is not reading the store. So neither a query holding the store
 * for seconds nor a burst of new processes holds the loop for long. */
#include "daemon.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "alerts/alerts.h"
#include "base/notify.h"
#include "state/persist.h"
#include "store/proctable.h"
#include "collect/resources.h"
#include <json-c/json.h>

#include "api/server.h"
#include "net/http.h"
#include "collect/selfcost.h"
#include "push/push.h"
#include "store/stacks.h"
#include "symbols/symbolizer.h"
#include "store/window.h"
#include "unwind/unwinder.h"

#define MAX_FRAMES (PROFD_MAX_KSTACK + PROFD_MAX_USTACK)
/* Unwinder map sizes besides the table pool (unwind_memory): mapping
 * entries (executable mappings of all tracked processes, 2 MiB), object
 * slots (8192 x 32 bytes) and processes with a mapping table. */
#define UNWIND_MAPPINGS 65536
#define UNWIND_OBJECTS 8192
#define UNWIND_PROCS 16384
#include "api/worker.h"
#include "base/log.h"
#include "base/loop.h"
#include "collect/gpu.h"
#include "common/clock.h"
#include "staging.h"

/* A backlog of staged records is applied in slices of this much loop
 * time, so a query that held the store for seconds does not stall the
 * loop for the time it takes to catch up. */
#define REPLAY_SLICE_NS (5 * 1000000ull)
/* Records between two looks at the clock while replaying. */
#define REPLAY_STRIDE 32
/* A tick applied later than this after it was drained counts as deferred. */
#define DEFERRED_NS (50 * 1000000ull)

/* Index a process's mappings (build-id -> file) once per process image, so
 * build-id frames of its libraries find their files even after it exits. */
static void note_process_once(struct daemon *d, uint32_t proc, uint32_t tgid, uint64_t start_ns)
{
	uint32_t i = proctable_id_index(proc);

	if (i < PROC_ID_FIRST || i >= d->noted_len)
		return;
	if (d->noted[i] == start_ns)
		return;
	d->noted[i] = start_ns;
	symbolizer_note_process(d->sym, tgid);
}

/* A new stack: ask for its objects' symbol tables now, so the worker has
 * loaded them long before a query renders the stack. */
static void warm_symbols(struct daemon *d, const struct frame *frames, uint32_t n)
{
	uint32_t last = SYM_OBJ_UNKNOWN - 1;

	for (uint32_t i = 0; i < n; i++) {
		struct sym_result r;

		if (frames[i].obj == SYM_OBJ_KERNEL || frames[i].obj == SYM_OBJ_UNKNOWN || frames[i].obj == last)
			continue;
		last = frames[i].obj;
		symbolizer_lookup(d->sym, frames[i].obj, frames[i].addr, &r);
	}
}

/* Symbolizer object for an unwinder object: asked by build-id once per
 * object, then kept as the object's tag. The symbolizer learns the file
 * where the process (tgid, alive: it was just sampled) mapped it, which
 * covers libraries it opened after its maps were first indexed. */
static uint32_t unwound_object(struct daemon *d, uint32_t uid, uint32_t tgid)
{
	uint32_t obj = unwinder_object_tag(d->unw, uid);
	const uint8_t *bid;
	const char *path;
	size_t len;

	if (obj != UNWINDER_TAG_NONE)
		return obj;
	if (unwinder_object_build_id(d->unw, uid, &bid, &len) < 0)
		return SYM_OBJ_UNKNOWN;
	path = unwinder_object_path(d->unw, uid);
	if (path)
		symbolizer_note_exec(d->sym, tgid, path);
	obj = symbolizer_object_by_build_id(d->sym, bid, len);
	if (obj != SYM_OBJ_UNKNOWN)
		unwinder_set_object_tag(d->unw, uid, obj);
	return obj;
}

/* A native frame of the unwound stack: its object by unwinder uid, or a
 * raw IP through the process's maps. */
static uint32_t unwound_frame(struct daemon *d, const struct profd_sample *r, const struct profd_uframe *f,
			      struct frame *out)
{
	uint64_t off = 0;

	out->flags = 0;
	if (!(f->flags & PROFD_UF_RAW) && d->unw) {
		out->obj = unwound_object(d, f->uid, r->tgid);
		out->addr = out->obj == SYM_OBJ_UNKNOWN ? 0 : f->addr;
		return 1;
	}
	out->obj = symbolizer_object_for_ip(d->sym, r->tgid, f->addr, &off);
	out->addr = out->obj == SYM_OBJ_UNKNOWN ? f->addr : off;
	return 1;
}

/* Unwound user frames, with the Python frames the BPF walk appended
 * (PROFD_UF_PY, leaf first, after every native frame) put in place of the
 * _PyEval_EvalFrameDefault frames that ran them: each such native frame,
 * leaf first, runs the Python frames up to and including the next one
 * marked entry. An eval frame with no Python frames left keeps its native
 * name; Python frames left over (the native walk was cut before their eval
 * frame) are dropped and counted. */
static uint32_t unwound_frames(struct daemon *d, const struct profd_sample *r, const void *data, struct frame *frames,
			       uint32_t n)
{
	uint32_t nat = 0, py;

	for (nat = 0; nat < r->udepth; nat++) {
		struct profd_uframe f;

		memcpy(&f, (const struct profd_uframe *)data + nat, sizeof(f));
		if (f.flags & PROFD_UF_PY)
			break;
	}
	py = nat;
	for (uint32_t i = 0; i < nat && n < MAX_FRAMES; i++) {
		struct profd_uframe f;

		memcpy(&f, (const struct profd_uframe *)data + i, sizeof(f));
		if ((f.flags & PROFD_UF_PYEVAL) && py < r->udepth && d->cfg.python_frames) {
			d->py_evals_named++;
			while (py < r->udepth && n < MAX_FRAMES) {
				struct profd_uframe pf;

				memcpy(&pf, (const struct profd_uframe *)data + py, sizeof(pf));
				py++;
				frames[n].flags = 0;
				frames[n].obj = SYM_OBJ_PYTHON;
				frames[n].addr = symbolizer_python_frame(d->sym, r->tgid, r->start_time, pf.addr, pf.uid);
				n++;
				d->py_frames++;
				if (pf.flags & PROFD_UF_PY_ENTRY)
					break;
			}
			continue;
		}
		if (f.flags & PROFD_UF_PYEVAL)
			d->py_evals_unnamed++;
		n += unwound_frame(d, r, &f, &frames[n]);
	}
	if (py < r->udepth)
		d->py_frames_unmatched += r->udepth - py;
	return n;
}

/* Build-id user frames (the kernel's walk: frame pointers, or the fallback
 * before a process has a mapping table), leaf first, into
 * frames[n..MAX_FRAMES); returns the new n. Build-id frames name their
 * object by build-id; raw IPs go through the process's maps. */
static uint32_t user_frames(struct daemon *d, const struct profd_sample *r, const void *data, struct frame *frames,
			    uint32_t n)
{
	for (uint32_t i = 0; i < r->udepth && n < MAX_FRAMES; i++) {
		struct profd_ustack_frame f;
		uint64_t ip, off = 0;

		frames[n].flags = 0;
		memcpy(&f, (const struct profd_ustack_frame *)data + i, sizeof(f));
		if (f.status == PROFD_BUILD_ID_VALID) {
			frames[n].obj = symbolizer_build_id_frame(d->sym, f.build_id, PROFD_BUILD_ID_SIZE, f.offset_or_ip);
			frames[n].addr = frames[n].obj == SYM_OBJ_UNKNOWN ? 0 : f.offset_or_ip;
			n++;
			continue;
		}
		if (f.status != PROFD_BUILD_ID_IP)
			continue;
		ip = f.offset_or_ip;
		frames[n].obj = symbolizer_object_for_ip(d->sym, r->tgid, ip, &off);
		frames[n].addr = frames[n].obj == SYM_OBJ_UNKNOWN ? ip : off;
		n++;
	}
	return n;
}

/* One sample into the store; data_until: the slot boundary of its drain. */
static void ingest_sample(struct daemon *d, const struct profd_sample *r, uint64_t data_until)
{
	struct frame frames[MAX_FRAMES];
	const uint64_t *kips = (const uint64_t *)(r + 1);
	uint64_t t = r->ts;
	uint32_t n = 0, flags = 0, proc, stack;
	struct stacks_stats before, after;

	/* Samples drained at a tick belong to the slot that just ended; the
	 * few taken after the boundary (the tick fires slightly late) are
	 * clamped into it so every tick's data lands in one slot. */
	if (t >= data_until + d->cfg.fine_slot_ns || t < data_until)
		t = data_until ? data_until + d->cfg.fine_slot_ns - 1 : t;
	proc = proctable_get(d->procs, r->tgid, r->start_time, r->comm, t);
	note_process_once(d, proc, r->tgid, r->start_time);
	proctable_set_uid(d->procs, proc, r->uid);
	if (d->unw)
		unwinder_note_sample(d->unw, r->tgid, r->start_time, r->flags, r->ts);

	for (uint32_t i = 0; i < r->kdepth && n < MAX_FRAMES; i++) {
		frames[n].obj = SYM_OBJ_KERNEL;
		frames[n].flags = STACK_FRAME_KERNEL;
		frames[n].addr = kips[i];
		n++;
	}
	if (r->flags & PROFD_SF_UNWOUND)
		n = unwound_frames(d, r, kips + r->kdepth, frames, n);
	else
		n = user_frames(d, r, kips + r->kdepth, frames, n);
	/* the thread as the outermost pseudo frame (export --by-thread); a
	 * stack that fills every frame keeps its code instead */
	if (d->cfg.thread_stacks && n < MAX_FRAMES) {
		frames[n].obj = SYM_OBJ_UNKNOWN;
		frames[n].flags = STACK_FRAME_THREAD;
		frames[n].addr = r->pid;
		n++;
	}
	/* Cut at the frame bound, or a walk that failed before any entry
	 * point (unreadable stack, a rule the unwinder cannot follow): never
	 * a complete stack, whatever its outermost frame is named. */
	if (r->flags & PROFD_SF_UCUT)
		flags |= STACK_F_TRUNCATED;
	if ((r->flags & PROFD_SF_UNWOUND) &&
	    (r->ustop == PROFD_USTOP_NO_MAPPING || r->ustop == PROFD_USTOP_READ || r->ustop == PROFD_USTOP_UNSUP ||
	     r->ustop == PROFD_USTOP_BAD_SP))
		flags |= STACK_F_TRUNCATED;
	if (r->flags & PROFD_SF_KSTACK_ERR)
		flags |= STACK_F_KSTACK_ERR;
	if (r->flags & PROFD_SF_USTACK_ERR)
		flags |= STACK_F_USTACK_ERR;
	stacks_get_stats(d->stacks, &before);
	stack = stacks_intern(d->stacks, frames, n, flags, t);
	stacks_get_stats(d->stacks, &after);
	if (after.stacks > before.stacks)
		warm_symbols(d, frames, n);
	if (window_add(d->win, t, proc, stack, 1) == 0)
		d->samples_applied++;
	else
		d->samples_store_failed++;
}

static void ingest_proc_event(struct daemon *d, const struct profd_proc_event *e, uint64_t now)
{
	char comm[PROFD_COMM_LEN + 1], fn[PROFD_PATH_LEN + 1];

	memcpy(comm, e->comm, PROFD_COMM_LEN);
	comm[PROFD_COMM_LEN] = 0;
	memcpy(fn, e->filename, PROFD_PATH_LEN);
	fn[PROFD_PATH_LEN] = 0;
	if (e->kind == PROFD_REC_EXEC) {
		const struct proc_info *p;

		proctable_note_exec(d->procs, e->tgid, e->start_time, e->ppid, comm, fn, now);
		symbolizer_note_exec(d->sym, e->tgid, fn);
		if (d->unw)
			unwinder_note_exec(d->unw, e->tgid, e->ts);
		/* A new image: index its mappings again at its next sample. */
		p = proctable_find_tgid(d->procs, e->tgid);
		if (p && proctable_id_index(p->id) >= PROC_ID_FIRST && proctable_id_index(p->id) < d->noted_len)
			d->noted[proctable_id_index(p->id)] = 0;
		if (p)
			proctable_set_uid(d->procs, p->id, e->uid);
	} else if (e->kind == PROFD_REC_EXIT) {
		proctable_note_exit(d->procs, e->tgid, e->start_time, (int)e->exit_code, now);
		symbolizer_forget_pid(d->sym, e->tgid);
		if (d->unw)
			unwinder_forget(d->unw, e->tgid);
	}
}

static int unw_proc_set(void *ctx, uint32_t tgid, const struct profd_unw_proc *v)
{
	return sampler_unwind_proc_set(ctx, tgid, v);
}

static int unw_proc_del(void *ctx, uint32_t tgid)
{
	return sampler_unwind_proc_del(ctx, tgid);
}

/* The unwinder fills the sampler's unwind maps; none when the sampler
 * walks frame pointers (configured so, or the kernel cannot). */
static int unwinder_init(struct daemon *d)
{
	struct sampler_unwind_maps m;
	int err;

	if (sampler_unwind_maps(d->sampler, &m) < 0)
		return 0;
	err = unwinder_new(&(struct unwinder_opts){
		.procfs = "/proc",
		.python = (int)d->cfg.python_frames,
		.be = {
			.cells = m.cells, .ncells = m.ncells,
			.maps = m.maps, .nmaps = m.nmaps,
			.objs = m.objs, .nobjs = m.nobjs,
			.max_procs = m.max_procs,
			.proc_set = unw_proc_set, .proc_del = unw_proc_del, .ctx = d->sampler,
		},
	}, &d->unw);
	if (err < 0)
		return log_err_errno(err, "unwinder: %m");
	return 0;
}

static void on_sample(void *ctx, const struct profd_sample *r, size_t len)
{
	struct daemon *d = ctx;

	/* Copied whole: the record is valid only during this call. */
	if (staging_push(d->staging, STAGING_SAMPLE, d->drain_until_ns, 0, r, len, clock_mono_ns()) < 0)
		d->staging_dropped_samples++;
	/* without scheduler counters, the samples say which processes ran */
	resources_note_sampled(d->res, r->tgid, r->start_time);
}

static void on_proc_event(void *ctx, const struct profd_proc_event *e)
{
	struct daemon *d = ctx;
	uint64_t now = clock_boot_ns();

	if (staging_push(d->staging, STAGING_PROC, now, 0, e, sizeof(*e), clock_mono_ns()) < 0)
		d->staging_dropped_events++;
}

static void do_reload(struct daemon *d);

/* ---- the store's turn ---- */

/* Hold the store for writing if the query worker is not reading it. */
static bool store_acquire(struct daemon *d)
{
	if (d->store_held)
		return true;
	d->store_held = !d->worker || worker_store_try_acquire(d->worker);
	return d->store_held;
}

static void store_release(struct daemon *d)
{
	if (!d->store_held)
		return;
	d->store_held = false;
	if (d->worker)
		worker_store_release(d->worker, staging_pending(d->staging));
}

/* A tick's writes: everything drained so far precedes boundary. */
static void apply_tick(struct daemon *d, uint64_t now, uint64_t boundary)
{
	d->data_until_ns = boundary;
	/* what the collector thread has finished goes into the store */
	resources_apply(d->res);
	window_tick(d->win, now);
	/* right after window_tick: the slot just opened is still empty, so
	 * each pusher's interval sees every closed slot exactly once */
	if (d->push) {
		const struct res_system *rs = resources_system(d->res);
		struct profile_src src = {
			.win = d->win, .stacks = d->stacks, .procs = d->procs, .sym = d->sym,
			.data_until_ns = d->data_until_ns, .start_ns = d->data_from_ns,
			.frequency = sampler_frequency(d->sampler),
		};

		push_tick(d->push, &(struct push_input){
			.src = &src, .res = d->res, .exact_cpu = resources_exact_cpu(d->res),
			.mem_total = rs->mem_ok ? rs->mem.total : 0,
		});
	}
	d->last_tick_ns = now;
	/* rules read the windows (and name stacks): in the store's turn */
	daemon_alerts_tick(d, now);
	/* the periodic save encodes the store: in its turn too */
	if (d->cfg.save_windows && d->cfg.save_interval_ns && now >= d->next_save_ns)
		daemon_state_save(d, 0);
	if (d->ticks % 10 == 0) {
		struct window_stats ws;

		window_get_stats(d->win, &ws);
		stacks_gc(d->stacks, ws.oldest_ns);
		proctable_gc(d->procs, ws.oldest_ns);
	}
}

static void replay_one(const struct staging_rec *r, void *ctx)
{
	struct daemon *d = ctx;
	uint64_t waited = clock_mono_ns() - r->staged_ns;

	if (waited > d->staging_delay_ns_max)
		d->staging_delay_ns_max = waited;
	switch (r->kind) {
	case STAGING_SAMPLE:
		ingest_sample(d, r->data, r->a);
		break;
	case STAGING_PROC:
		ingest_proc_event(d, r->data, r->a);
		break;
	case STAGING_TICK:
		if (waited > DEFERRED_NS)
			d->deferred_ticks++;
		apply_tick(d, r->a, r->b);
		break;
	}
}

/* With the store held: what waited while it was being read, a slice of
 * it at a time. false: more is left, and the loop comes back for it. */
static bool apply_pending(struct daemon *d)
{
	uint64_t end = clock_mono_ns() + REPLAY_SLICE_NS;

	while (staging_pending(d->staging)) {
		staging_replay(d->staging, replay_one, d, REPLAY_STRIDE);
		if (staging_pending(d->staging) && clock_mono_ns() > end) {
			uint64_t one = 1;

			d->replay_slices++;
			if (write(d->replay_fd, &one, sizeof(one)) < 0)
				log_debug_errno(errno, "replay eventfd: %m");
			return false;
		}
	}
	if (d->sym_poll_pending) {
		d->sym_poll_pending = false;
		symbolizer_poll(d->sym);
	} else {
		symbolizer_python_poll(d->sym);
	}
	if (d->reload_pending) {
		d->reload_pending = false;
		do_reload(d);
	}
	return true;
}

static void take_snapshot(struct daemon *d)
{
	struct daemon_snapshot *sn = &d->snap;

	proctable_get_stats(d->procs, &sn->procs);
	stacks_get_stats(d->stacks, &sn->stacks);
	window_get_stats(d->win, &sn->store);
	symbolizer_get_stats(d->sym, &sn->symbols);
	resources_get_stats(d->res, &sn->res);
	sn->exact_cpu = resources_exact_cpu(d->res);
	resources_describe(d->res, &sn->exact);
	snprintf(sn->gpu_state, sizeof(sn->gpu_state), "%s", resources_gpu_state(d->res));
	sn->taken_ns = clock_mono_ns();
}

void daemon_store_turn(struct daemon *d)
{
	if (!store_acquire(d))
		return;
	apply_pending(d);
	take_snapshot(d);
	store_release(d);
}

void daemon_replay_ready(struct daemon *d)
{
	uint64_t v;

	if (read(d->replay_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_debug_errno(errno, "replay eventfd: %m");
	daemon_store_turn(d);
}

void daemon_worker_ready(struct daemon *d)
{
	if (d->worker)
		worker_dispatch(d->worker);
	if (staging_pending(d->staging) || d->sym_poll_pending || d->reload_pending)
		daemon_store_turn(d);
}

void daemon_drain(struct daemon *d)
{
	int n;

	/* d->drain_until_ns is still the last tick's boundary */
	n = sampler_drain(d->sampler);
	if (n < 0)
		log_warn_errno(n, "sampler: draining the ring buffer: %m");
	daemon_store_turn(d);
}

void daemon_symbols_ready(struct daemon *d)
{
	if (!store_acquire(d)) {
		d->sym_poll_pending = true;
		return;
	}
	apply_pending(d);
	symbolizer_poll(d->sym);
	store_release(d);
}

static int make_window(const struct config *c, uint64_t now, struct window **ret)
{
	struct window_opts wo = {
		.ntiers = 2,
		.tier = {
			{ .slot_ns = c->fine_slot_ns, .slots = c->fine_slots },
			{ .slot_ns = c->coarse_slot_ns, .slots = c->coarse_slots },
		},
		.max_bytes = c->store_max_bytes,
	};

	return window_new(&wo, now, ret);
}

/* Created after privileges are dropped: its worker thread inherits the
 * reduced capability sets (capabilities are per thread). */
int daemon_init_symbolizer(struct daemon *d)
{
	char cache[sizeof(d->cfg.state_dir) + 16];
	struct symbolizer_opts so = {
		.procfs = "/proc",
		.kallsyms = "/proc/kallsyms",
		.debug_dirs = d->cfg.debug_dirs,
		.cache_bytes = d->cfg.symcache_bytes,
		.max_objects = d->cfg.max_objects,
		.no_demangle = !d->cfg.demangle,
		.debuginfod_urls = d->cfg.debuginfod_urls,
		.debuginfod_cache = cache,
		.debuginfod_cache_bytes = d->cfg.debuginfod_cache_bytes,
		.debuginfod_timeout_s = (uint32_t)(d->cfg.debuginfod_timeout_ns / 1000000000u),
	};
	int err;

	snprintf(cache, sizeof(cache), "%s/debuginfod", d->cfg.state_dir);
	err = symbolizer_new(&so, &d->sym);
	if (err < 0)
		return log_err_errno(err, "symbolizer: %m");
	if (symbolizer_debuginfod_urls(d->sym))
		log_info("symbolizer: debuginfod servers %s, cache %s", symbolizer_debuginfod_urls(d->sym), cache);
	return 0;
}

static void cost_add_prog(void *ctx, const char *name, int fd)
{
	selfcost_add_prog(ctx, name, fd);
}

/* profd's own cost: every BPF program it loaded, its threads, and (if
 * asked, while CAP_SYS_ADMIN is still held) BPF statistics kept on. */
static int selfcost_init(struct daemon *d)
{
	int err = selfcost_new(&(struct selfcost_opts){
		.task_dir = "/proc/self/task",
		.stats_sysctl = "/proc/sys/kernel/bpf_stats_enabled",
		.self_tid = (uint32_t)getpid(),
	}, &d->cost);

	if (err)
		return log_err_errno(err, "cost accounting: %m");
	if (d->cfg.bpf_stats) {
		err = selfcost_hold_stats(d->cost);
		if (err)
			log_warn_errno(err, "bpf_stats: cannot turn BPF statistics on (%m; needs CAP_SYS_ADMIN): "
				       "the BPF programs' cost is not measured");
		else
			log_info("bpf_stats: BPF run-time statistics on while profd runs");
	}
	sampler_for_each_prog(d->sampler, cost_add_prog, d->cost);
	resources_for_each_prog(d->res, cost_add_prog, d->cost);
	return 0;
}

int daemon_init(struct daemon *d)
{
	struct sampler_opts sopts = {
		.frequency = d->cfg.frequency,
		.ringbuf_bytes = (size_t)d->cfg.ringbuf_kib * 1024,
		.tick_ns = d->cfg.tick_ns,
		.unwind = (int)d->cfg.dwarf_unwind,
		.max_user_frames = d->cfg.max_user_frames,
		.unwind_cells = (uint32_t)(d->cfg.unwind_memory / sizeof(union profd_unw_cell)),
		.unwind_mappings = UNWIND_MAPPINGS,
		.unwind_objects = UNWIND_OBJECTS,
		.unwind_procs = d->cfg.max_procs < UNWIND_PROCS ? d->cfg.max_procs : UNWIND_PROCS,
	};
	struct sampler_callbacks cb = { .sample = on_sample, .proc_event = on_proc_event, .ctx = d };
	int err;

	d->start_boot_ns = clock_boot_ns();
	d->data_from_ns = d->start_boot_ns;
	d->status_ns = d->start_boot_ns; /* the first STATUS= rate: since start */
	d->data_until_ns = d->start_boot_ns / d->cfg.fine_slot_ns * d->cfg.fine_slot_ns;
	d->drain_until_ns = d->data_until_ns;

	err = staging_new(d->cfg.staging_memory, &d->staging);
	if (err < 0)
		return log_err_errno(err, "staging: %m");
	d->replay_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->replay_fd < 0)
		return log_err_errno(errno, "replay eventfd: %m");

	err = stacks_new(d->cfg.max_stacks, &d->stacks);
	if (err < 0)
		return log_err_errno(err, "stack table: %m");
	err = proctable_new("/proc", d->cfg.max_procs, &d->procs);
	if (err < 0)
		return log_err_errno(err, "process table: %m");
	err = make_window(&d->cfg, d->start_boot_ns, &d->win);
	if (err < 0)
		return log_err_errno(err, "window store: %m");
	d->noted_len = d->cfg.max_procs + PROC_ID_FIRST;
	d->noted = calloc(d->noted_len, sizeof(*d->noted));
	if (!d->noted)
		return log_err_errno(ENOMEM, "process notes: %m");
	err = sampler_new(&sopts, &cb, &d->sampler);
	if (err)
		return err;
	err = unwinder_init(d);
	if (err)
		return err;
	err = resources_new(&(struct resources_opts){
		.procs = d->procs,
		.win = d->win,
		.procfs = "/proc",
		.dev_dri = "/dev/dri",
		.tick_ns = d->cfg.tick_ns,
		.max_procs = d->cfg.max_procs,
		.no_sched = !d->cfg.sched_counters,
	}, &d->res);
	if (err)
		return log_err_errno(err, "resources: %m");
	/* one HTTP engine in the loop for every sender */
	err = net_new(d->loop, &d->net);
	if (err)
		return log_err_errno(err, "net: %m");
	err = selfcost_init(d);
	if (err)
		return err;
	if (d->cfg.npush || d->cfg.scrape.enabled) {
		err = push_new(&(struct push_opts){
			.loop = d->loop,
			.net = d->net,
			.targets = d->cfg.push,
			.ntargets = d->cfg.npush,
			.scrape = &d->cfg.scrape,
			.state_dir = d->cfg.state_dir,
			.fine_slot_ns = d->cfg.fine_slot_ns,
		}, &d->push);
		if (err)
			return log_err_errno(err, "push: %m");
	}
	return daemon_alerts_init(d);
}

void daemon_fini(struct daemon *d)
{
	/* it reads the programs' descriptors: before their objects go */
	d->cost = selfcost_free(d->cost);
	daemon_alerts_fini(d);
	d->state_writer = persist_writer_free(d->state_writer);
	d->push = push_free(d->push);
	d->net = net_free(d->net); /* after every sender's targets */
	d->res = resources_free(d->res);
	d->unw = unwinder_free(d->unw); /* writes the sampler's maps: first */
	d->sampler = sampler_free(d->sampler);
	d->win = window_free(d->win);
	d->procs = proctable_free(d->procs);
	d->stacks = stacks_free(d->stacks);
	d->sym = symbolizer_free(d->sym);
	d->staging = staging_free(d->staging);
	if (d->replay_fd >= 0)
		close(d->replay_fd);
	d->replay_fd = -1;
	free(d->noted);
	d->noted = NULL;
}

/* STATUS= every 10 s, and the watchdog's keep-alive, from the tick: a
 * loop that stops ticking stops feeding the watchdog, and systemd
 * restarts it. A drain that fails is not healthy either. */
#define STATUS_EVERY_NS (10ull * 1000000000ull)
static void daemon_notify_tick(struct daemon *d, uint64_t now)
{
	int r;

	if (!notify_enabled(d->notify))
		return;
	r = notify_watchdog_tick(d->notify, clock_mono_ns(), !d->sampler_failing);
	if (r < 0)
		log_warn_errno(r, "notify: watchdog keep-alive: %m");
	if (now - d->status_ns >= STATUS_EVERY_NS) {
		struct sampler_stats ss;
		char status[128];
		int alerts_firing = -1;

		if (d->alerts) {
			struct alerts_stats as;

			alerts_get_stats(d->alerts, &as);
			alerts_firing = as.firing > INT32_MAX ? INT32_MAX : (int)as.firing;
		}
		sampler_get_stats(d->sampler, &ss);
		/* the store's own figures come from the last snapshot: the
		 * query worker may be reading it now */
		notify_format_status(status, sizeof(status),
				     now > d->status_ns ? (double)(ss.drained - d->status_drained) * 1e9 / (double)(now - d->status_ns) : 0,
				     d->snap.procs.alive, alerts_firing);
		d->status_ns = now;
		d->status_drained = ss.drained;
		r = notify_status(d->notify, status);
		if (r < 0)
			log_warn_errno(r, "notify: status: %m");
	}
}

void daemon_tick(struct daemon *d, uint64_t now)
{
	uint64_t slot = d->cfg.fine_slot_ns;
	uint64_t boundary = now / slot * slot;
	int n;

	d->ticks++;
	/* Everything drained now was taken before this slot boundary (plus
	 * the timer's small lateness): it closes the slot that just ended. */
	d->drain_until_ns = boundary - slot;
	n = sampler_drain(d->sampler);
	d->sampler_failing = n < 0;
	if (n < 0)
		log_warn_errno(n, "sampler: draining the ring buffer: %m");
	d->drain_until_ns = boundary;
	/* Not the store: the unwinder's tables, CPU hotplug, and asking the
	 * collector thread for a round. */
	if (d->unw)
		unwinder_tick(d->unw, now);
	sampler_tick(d->sampler);
	resources_note_idle(d->res, sampler_idle_total(d->sampler));
	resources_tick(d->res, now, boundary - 1);
	/* taken past the bound if need be: see staging.h */
	staging_push(d->staging, STAGING_TICK, now, boundary, NULL, 0, clock_mono_ns());
	daemon_store_turn(d);
	server_tick(d->server, clock_mono_ms());
	/* the loop is alive: feed the watchdog (the store need not be) */
	daemon_notify_tick(d, now);
	selfcost_tick(d->cost, clock_mono_ns());
}

void daemon_reload(struct daemon *d)
{
	/* the service manager waits for READY=1 (Type=notify-reload) */
	notify_reloading(d->notify, clock_mono_ns());
	/* d->cfg is read by queries: changed only with the store held */
	if (!store_acquire(d)) {
		d->reload_pending = true;
		return;
	}
	d->reload_pending = true;
	apply_pending(d);
	store_release(d);
}

/* READY=1 after a reload, with its result as STATUS= */
static void reload_notify(struct daemon *d)
{
	const struct reload_result *res = &d->last_reload;
	char status[720];

	if (!res->applied)
		snprintf(status, sizeof(status), "reload failed, running configuration kept: %s", res->error);
	else if (res->restart[0])
		snprintf(status, sizeof(status), "reloaded; needs a restart to apply: %s", res->restart);
	else
		snprintf(status, sizeof(status), "reloaded %.400s", d->config_path);
	notify_ready(d->notify, status);
}

int daemon_apply_overrides(const struct daemon *d, struct config *c, char *err, size_t errsz)
{
	for (int i = 0; i < d->noverrides; i++)
		if (config_set(c, d->overrides[i].key, d->overrides[i].value, err, errsz))
			return -EINVAL;
	return 0;
}

struct json_object *daemon_list_json(const char *list)
{
	struct json_object *a = json_object_new_array();

	for (const char *p = list; p && *p;) {
		size_t n = strcspn(p, "\n");

		json_object_array_add(a, json_object_new_string_len(p, (int)n));
		p += n + (p[n] == '\n');
	}
	return a;
}

/* Append name to a '\n'-separated list of n bytes; "..." once full. */
static void list_add(char *list, size_t n, const char *name)
{
	size_t l = strlen(list), k = strlen(name);

	if (l && !strcmp(list + (l >= 4 ? l - 4 : 0), "...\n"))
		return;
	if (l + k + 2 > n - 5) {
		snprintf(list + l, n - l, "...\n");
		return;
	}
	memcpy(list + l, name, k);
	list[l + k] = '\n';
	list[l + k + 1] = '\0';
}

struct reload_diff {
	char applied[4096], pending[4096];
};

static void on_diff(void *ctx, const char *name, int restart)
{
	struct reload_diff *rd = ctx;

	if (restart)
		list_add(rd->pending, sizeof(rd->pending), name);
	else
		list_add(rd->applied, sizeof(rd->applied), name);
}

/* For the log: "a, b, c". */
static const char *joined(char *out, size_t n, const char *list)
{
	size_t o = 0;

	out[0] = '\0';
	for (const char *p = list; *p && o + 1 < n;) {
		size_t k = strcspn(p, "\n");

		o += (size_t)snprintf(out + o, n - o, "%s%.*s", o ? ", " : "", (int)k, p);
		p += k + (p[k] == '\n');
	}
	return out[0] ? out : "none";
}

/* Re-read the file with the command-line overrides on top; refuse it
 * whole when anything is invalid. Apply what can change live; keep the
 * running value of the rest in d->cfg (status shows only values in
 * force) and list those keys as waiting for a restart. */
static void do_reload(struct daemon *d)
{
	struct config c;
	struct ruleset *rules = NULL;
	struct reload_diff rd;
	char err[512], a[1024], b[1024];
	int r;

	d->reloads++;
	memset(&d->last_reload, 0, sizeof(d->last_reload));
	config_defaults(&c);
	r = config_load_file(&c, d->config_path, err, sizeof(err));
	if (r == -ENOENT && !d->config_explicit)
		r = 0;
	if (!r)
		r = daemon_apply_overrides(d, &c, err, sizeof(err));
	if (!r)
		r = config_validate(&c, err, sizeof(err));
	if (!r)
		r = daemon_alerts_prepare(d, &c, &rules, err, sizeof(err));
	if (r) {
		d->reload_failures++;
		snprintf(d->last_reload.error, sizeof(d->last_reload.error), "%s", err);
		snprintf(d->reload_error, sizeof(d->reload_error), "%s", err);
		log_err("config: reload failed, keeping the running configuration and rules: %s", err);
		reload_notify(d);
		return;
	}
	d->reload_error[0] = 0;
	rd.applied[0] = rd.pending[0] = '\0';
	config_diff(&d->cfg, &c, on_diff, &rd);
	config_keep_restart(&c, &d->cfg);
	if (c.query_memory > d->cfg.query_memory) {
		/* the budget was checked with the running value */
		c.query_memory = d->cfg.query_memory;
		list_add(rd.pending, sizeof(rd.pending), "limits.query_memory");
	}
	if (c.frequency != d->cfg.frequency) {
		r = sampler_set_frequency(d->sampler, c.frequency);
		if (r) {
			snprintf(d->last_reload.error, sizeof(d->last_reload.error),
				 "sampler: switching to %u Hz failed (%s), back to %u Hz", c.frequency, strerror(-r),
				 d->cfg.frequency);
			log_err("%s", d->last_reload.error);
			sampler_set_frequency(d->sampler, d->cfg.frequency);
			c.frequency = d->cfg.frequency;
		}
	}
	log_set_level(c.log_level);
	d->cfg = c;
	snprintf(d->reload_applied, sizeof(d->reload_applied), "%s", rd.applied);
	snprintf(d->pending_restart, sizeof(d->pending_restart), "%s", rd.pending);
	daemon_alerts_apply(d, rules);
	d->last_reload.applied = 1;
	joined(d->last_reload.restart, sizeof(d->last_reload.restart), rd.pending);
	if (!rd.pending[0])
		d->last_reload.restart[0] = '\0';
	reload_notify(d);
	log_info("config: reloaded %s; applied: %s", d->config_path, joined(a, sizeof(a), rd.applied));
	if (rd.pending[0])
		log_warn("config: these changes apply at the next start: %s", joined(b, sizeof(b), rd.pending));
}

void daemon_reload_result(struct daemon *d, struct reload_result *res)
{
	daemon_reload(d);
	if (d->reload_pending) {
		memset(res, 0, sizeof(*res));
		res->pending = 1;
		return;
	}
	*res = d->last_reload;
}

/* ---- the windows across restarts ---- */

static struct persist_src state_src(struct daemon *d)
{
	return (struct persist_src){ .win = d->win, .stacks = d->stacks, .procs = d->procs, .sym = d->sym };
}

static struct persist_opts state_opts(struct daemon *d, uint32_t tiers)
{
	return (struct persist_opts){
		.tiers = tiers,
		/* the file holds what the store holds, in a denser form: the
		 * store's own bound bounds it */
		.max_bytes = d->cfg.store_max_bytes,
		.boot_id = d->boot_id,
		.now_ns = clock_boot_ns(),
		.real_ns = clock_ns(CLOCK_REALTIME),
		.data_from_ns = d->data_from_ns,
	};
}

void daemon_state_load(struct daemon *d)
{
	struct persist_src src = state_src(d);
	struct persist_opts o;
	struct persist_load_stats st;
	struct window_stats ws;
	int r;

	/* read even with save_windows off: a reload may turn it on */
	r = persist_read_boot_id(NULL, d->boot_id, sizeof(d->boot_id));
	if (r < 0) {
		/* without it a file could be loaded into another boot's time */
		d->boot_id[0] = 0;
		log_warn_errno(r, "state: reading the boot id: %m; the windows are neither saved nor loaded");
		return;
	}
	d->next_save_ns = clock_boot_ns() + d->cfg.save_interval_ns;
	if (!d->cfg.save_windows)
		return;
	o = state_opts(d, 0);
	r = persist_load(d->cfg.state_dir, &src, &o, &st);
	if (r == -ENOENT)
		return;
	if (r == -ESTALE) {
		log_info("state: %s/" PERSIST_FILE ": %s; the windows start empty", d->cfg.state_dir, st.reason);
		return;
	}
	if (r == -EBADMSG || r == -EPROTO || r == -EFBIG) {
		log_warn("state: %s/" PERSIST_FILE " set aside as " PERSIST_FILE ".bad: %s; the windows start empty",
			 d->cfg.state_dir, st.reason);
		return;
	}
	if (r < 0) {
		log_warn_errno(r, "state: loading %s/" PERSIST_FILE ": %m; the windows start empty", d->cfg.state_dir);
		return;
	}
	/* the restored data begins where the saving run's did, unless the
	 * ring has dropped that far back since */
	window_get_stats(d->win, &ws);
	if (st.slots) {
		uint64_t from = st.data_from_ns > ws.oldest_ns ? st.data_from_ns : ws.oldest_ns;

		if (from < d->data_from_ns)
			d->data_from_ns = from;
	}
	log_info("state: restored %" PRIu64 " slots (%" PRIu64 " entries, %" PRIu64 " counter records) of %" PRIu64
		 " processes and %" PRIu64 " stacks, saved %.1f s ago; %" PRIu64 " slots too old or of another geometry, %" PRIu64 " refused",
		 st.slots, st.entries, st.records, st.procs, st.stacks,
		 (double)(clock_boot_ns() - st.saved_ns) / 1e9, st.dropped_slots, st.failed);
}

void daemon_state_save(struct daemon *d, int final)
{
	struct persist_src src = state_src(d);
	struct window_opts wo;
	struct persist_opts o;
	struct persist_buf *b = NULL;
	uint64_t t0 = clock_mono_ns();
	size_t len;
	int r;

	if (!d->cfg.save_windows || !d->win || !d->boot_id[0])
		return;
	d->next_save_ns = clock_boot_ns() + d->cfg.save_interval_ns;
	window_get_opts(d->win, &wo);
	/* periodic: the coarse tier (the hour before); at stop: every tier */
	o = state_opts(d, final ? (1u << wo.ntiers) - 1 : 1u << (wo.ntiers - 1));
	if (!final && d->state_writer) {
		r = persist_writer_poll(d->state_writer);
		if (r < 0 && r != -EINPROGRESS)
			log_warn_errno(r, "state: saving %s/" PERSIST_FILE ": %m", d->cfg.state_dir);
		if (r == -EINPROGRESS)
			return; /* the last one still writes: skip this one */
	}
	r = persist_encode(&src, &o, &b);
	if (r < 0) {
		log_warn_errno(r, "state: encoding the windows: %m%s", r == -EFBIG ? " (over memory_limit)" : "");
		return;
	}
	if (final) {
		if (d->state_writer)
			d->state_writer = persist_writer_free(d->state_writer);
		r = persist_write(d->cfg.state_dir, b);
		if (r < 0)
			log_err_errno(r, "state: saving %s/" PERSIST_FILE ": %m", d->cfg.state_dir);
		else
			log_info("state: saved %" PRIu64 " slots of %" PRIu64 " processes and %" PRIu64 " stacks (%zu bytes%s) in %.0f ms",
				 b->slots, b->procs, b->stacks, b->len, b->tiers == o.tiers ? "" : ", fine tier left out: over the bound",
				 (double)(clock_mono_ns() - t0) / 1e6);
		persist_buf_free(b);
		return;
	}
	if (!d->state_writer && (r = persist_writer_new(d->cfg.state_dir, &d->state_writer)) < 0) {
		persist_buf_free(b);
		log_warn_errno(r, "state: writer: %m");
		return;
	}
	len = b->len;
	r = persist_writer_submit(d->state_writer, b); /* takes b */
	if (r < 0)
		log_warn_errno(r, "state: saving %s/" PERSIST_FILE ": %m", d->cfg.state_dir);
	else
		log_debug("state: periodic save of %zu bytes handed to the writer (%.1f ms to encode)", len,
			  (double)(clock_mono_ns() - t0) / 1e6);
}

void daemon_stop_save(struct daemon *d)
{
	/* what the rings and staging still hold counts */
	daemon_drain(d);
	daemon_store_turn(d);
	if (!store_acquire(d)) {
		log_warn("state: the store is still read at stop; the windows are not saved");
		return;
	}
	daemon_state_save(d, 1);
	store_release(d);
}
