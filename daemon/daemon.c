/* SPDX-License-Identifier: GPL-2.0-only */
/* The daemon's state, its tick, and the ingestion of BPF records into the
 * process table, the stack table and the rolling windows. */
#include "daemon.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "alerts/alerts.h"
#include "base/notify.h"
#include "state/persist.h"
#include "store/proctable.h"
#include "collect/resources.h"
#include "api/server.h"
#include "push/push.h"
#include "store/stacks.h"
#include "symbols/symbolizer.h"
#include "store/window.h"
#include "common/clock.h"
#include "unwind/unwinder.h"

#define MAX_FRAMES (PROFD_MAX_KSTACK + PROFD_MAX_USTACK)
/* Unwinder map sizes besides the table pool (unwind_memory): mapping
 * entries (executable mappings of all tracked processes, 2 MiB), object
 * slots (8192 x 32 bytes) and processes with a mapping table. */
#define UNWIND_MAPPINGS 65536
#define UNWIND_OBJECTS 8192
#define UNWIND_PROCS 16384

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

/* User frames, leaf first, into frames[n..MAX_FRAMES); returns the new n.
 * Unwound frames name their object by unwinder uid; build-id frames (the
 * fallback) by build-id; raw IPs go through the process's maps. */
static uint32_t user_frames(struct daemon *d, const struct profd_sample *r, const void *data, struct frame *frames,
			    uint32_t n)
{
	for (uint32_t i = 0; i < r->udepth && n < MAX_FRAMES; i++) {
		uint64_t ip, off = 0;

		frames[n].flags = 0;
		if (r->flags & PROFD_SF_UNWOUND) {
			struct profd_uframe f;

			memcpy(&f, (const struct profd_uframe *)data + i, sizeof(f));
			ip = f.addr;
			if (!(f.flags & PROFD_UF_RAW) && d->unw) {
				frames[n].obj = unwound_object(d, f.uid, r->tgid);
				frames[n].addr = frames[n].obj == SYM_OBJ_UNKNOWN ? 0 : f.addr;
				n++;
				continue;
			}
		} else {
			struct profd_ustack_frame f;

			memcpy(&f, (const struct profd_ustack_frame *)data + i, sizeof(f));
			if (f.status == PROFD_BUILD_ID_VALID) {
				frames[n].obj = symbolizer_build_id_frame(d->sym, f.build_id, PROFD_BUILD_ID_SIZE,
									 f.offset_or_ip);
				frames[n].addr = frames[n].obj == SYM_OBJ_UNKNOWN ? 0 : f.offset_or_ip;
				n++;
				continue;
			}
			if (f.status != PROFD_BUILD_ID_IP)
				continue;
			ip = f.offset_or_ip;
		}
		frames[n].obj = symbolizer_object_for_ip(d->sym, r->tgid, ip, &off);
		frames[n].addr = frames[n].obj == SYM_OBJ_UNKNOWN ? ip : off;
		n++;
	}
	return n;
}

static void on_sample(void *ctx, const struct profd_sample *r, size_t len)
{
	struct daemon *d = ctx;
	struct frame frames[MAX_FRAMES];
	const uint64_t *kips = (const uint64_t *)(r + 1);
	uint64_t t = r->ts;
	uint32_t n = 0, flags = 0, proc, stack;
	struct stacks_stats before, after;

	(void)len;
	/* Samples drained at a tick belong to the slot that just ended; the
	 * few taken after the boundary (the tick fires slightly late) are
	 * clamped into it so every tick's data lands in one slot. */
	if (t >= d->data_until_ns + d->cfg.fine_slot_ns || t < d->data_until_ns)
		t = d->data_until_ns ? d->data_until_ns + d->cfg.fine_slot_ns - 1 : t;
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
	window_add(d->win, t, proc, stack, 1);
}

static void on_proc_event(void *ctx, const struct profd_proc_event *e)
{
	struct daemon *d = ctx;
	char comm[PROFD_COMM_LEN + 1], fn[PROFD_PATH_LEN + 1];
	uint64_t now = clock_boot_ns();

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
	struct symbolizer_opts so = {
		.procfs = "/proc",
		.kallsyms = "/proc/kallsyms",
		.debug_dirs = d->cfg.debug_dirs,
		.cache_bytes = d->cfg.symcache_bytes,
		.max_objects = d->cfg.max_objects,
	};
	int err = symbolizer_new(&so, &d->sym);

	if (err < 0)
		return log_err_errno(err, "symbolizer: %m");
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
	}, &d->res);
	if (err)
		return log_err_errno(err, "resources: %m");
	if (d->cfg.npush || d->cfg.scrape.enabled) {
		err = push_new(&(struct push_opts){
			.loop = d->loop,
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
	daemon_alerts_fini(d);
	d->state_writer = persist_writer_free(d->state_writer);
	d->push = push_free(d->push);
	d->res = resources_free(d->res);
	d->unw = unwinder_free(d->unw); /* writes the sampler's maps: first */
	d->sampler = sampler_free(d->sampler);
	d->win = window_free(d->win);
	d->procs = proctable_free(d->procs);
	d->stacks = stacks_free(d->stacks);
	d->sym = symbolizer_free(d->sym);
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
		struct proctable_stats ps;
		char status[128];
		int alerts_firing = -1;

		if (d->alerts) {
			struct alerts_stats as;

			alerts_get_stats(d->alerts, &as);
			alerts_firing = as.firing > INT32_MAX ? INT32_MAX : (int)as.firing;
		}
		sampler_get_stats(d->sampler, &ss);
		proctable_get_stats(d->procs, &ps);
		notify_format_status(status, sizeof(status),
				     now > d->status_ns ? (double)(ss.drained - d->status_drained) * 1e9 / (double)(now - d->status_ns) : 0,
				     ps.alive, alerts_firing);
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
	d->data_until_ns = boundary - slot;
	n = sampler_drain(d->sampler);
	d->sampler_failing = n < 0;
	if (n < 0)
		log_warn_errno(n, "sampler: draining the ring buffer: %m");
	d->data_until_ns = boundary;
	if (d->unw)
		unwinder_tick(d->unw, now);
	sampler_tick(d->sampler); /* CPU hotplug */
	/* collect: ask the collector thread for a round (it reads the BPF
	 * counters, /proc and the GPU); apply: what it has finished goes into
	 * the store. Dead processes are found by its /proc reads. */
	resources_note_idle(d->res, sampler_idle_total(d->sampler));
	resources_tick(d->res, now, boundary - 1);
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
	daemon_alerts_tick(d, now);
	server_tick(d->server, clock_mono_ms());
	daemon_notify_tick(d, now);
	if (d->cfg.save_windows && d->cfg.save_interval_ns && now >= d->next_save_ns)
		daemon_state_save(d, 0);

	if (d->ticks % 10 == 0) {
		struct window_stats ws;

		window_get_stats(d->win, &ws);
		stacks_gc(d->stacks, ws.oldest_ns);
		proctable_gc(d->procs, ws.oldest_ns);
	}
}

void daemon_reload(struct daemon *d)
{
	struct reload_result r;

	daemon_reload_result(d, &r);
}

static void reload_apply(struct daemon *d, struct reload_result *res)
{
	struct config c;
	struct ruleset *rules = NULL;
	char err[512];
	int r;

	d->reloads++;
	c = d->cfg;
	config_defaults(&c);
	r = config_load_file(&c, d->config_path, err, sizeof(err));
	if (r == -ENOENT && !d->config_explicit)
		r = 0;
	/* the command line still wins over the file */
	if (!r && ((d->opt_socket && config_set(&c, "daemon.socket", d->opt_socket, err, sizeof(err))) ||
		   (d->opt_frequency && config_set(&c, "sampling.frequency", d->opt_frequency, err, sizeof(err))) ||
		   (d->opt_log_level && config_set(&c, "daemon.log_level", d->opt_log_level, err, sizeof(err)))))
		r = -EINVAL;
	if (!r)
		r = config_validate(&c, err, sizeof(err));
	if (!r)
		r = daemon_alerts_prepare(d, &c, &rules, err, sizeof(err));
	if (r) {
		d->reload_failures++;
		snprintf(res->error, sizeof(res->error), "%s", err);
		snprintf(d->reload_error, sizeof(d->reload_error), "%s", err);
		log_err("config: reload failed, keeping the running configuration and rules: %s", err);
		return;
	}
	d->reload_error[0] = 0;
	/* Settings that need a restart keep their running values. */
	if (strcmp(c.socket, d->cfg.socket) || c.fine_slot_ns != d->cfg.fine_slot_ns ||
	    c.fine_slots != d->cfg.fine_slots || c.coarse_slot_ns != d->cfg.coarse_slot_ns ||
	    c.coarse_slots != d->cfg.coarse_slots || c.tick_ns != d->cfg.tick_ns) {
		snprintf(res->restart, sizeof(res->restart), "socket, tick and window geometry");
		log_warn("config: socket, tick and window geometry changes apply at restart");
	}
	if (c.npush != d->cfg.npush || memcmp(c.push, d->cfg.push, sizeof(c.push)) ||
	    memcmp(&c.scrape, &d->cfg.scrape, sizeof(c.scrape)) || strcmp(c.state_dir, d->cfg.state_dir)) {
		size_t n = strlen(res->restart);

		snprintf(res->restart + n, sizeof(res->restart) - n, "%spush, scrape and state_dir", n ? "; " : "");
		log_warn("config: push, scrape and state_dir changes apply at restart");
	}
	memcpy(c.push, d->cfg.push, sizeof(c.push));
	c.npush = d->cfg.npush;
	c.scrape = d->cfg.scrape;
	memcpy(c.state_dir, d->cfg.state_dir, sizeof(c.state_dir));
	/* The unwinder's program and map sizes are fixed at load. */
	if (c.dwarf_unwind != d->cfg.dwarf_unwind || c.max_user_frames != d->cfg.max_user_frames ||
	    c.unwind_memory != d->cfg.unwind_memory)
		log_warn("config: dwarf_unwind, max_user_frames and unwind_memory changes apply at restart");
	c.dwarf_unwind = d->cfg.dwarf_unwind;
	c.max_user_frames = d->cfg.max_user_frames;
	c.unwind_memory = d->cfg.unwind_memory;
	memcpy(c.socket, d->cfg.socket, sizeof(c.socket));
	c.fine_slot_ns = d->cfg.fine_slot_ns;
	c.fine_slots = d->cfg.fine_slots;
	c.coarse_slot_ns = d->cfg.coarse_slot_ns;
	c.coarse_slots = d->cfg.coarse_slots;
	c.tick_ns = d->cfg.tick_ns;
	if (c.frequency != d->cfg.frequency) {
		r = sampler_set_frequency(d->sampler, c.frequency);
		if (r) {
			snprintf(res->error, sizeof(res->error), "sampler: switching to %u Hz failed (%s), back to %u Hz",
				 c.frequency, strerror(-r), d->cfg.frequency);
			log_err("%s", res->error);
			sampler_set_frequency(d->sampler, d->cfg.frequency);
			c.frequency = d->cfg.frequency;
		}
	}
	log_set_level(c.log_level);
	d->cfg = c;
	daemon_alerts_apply(d, rules);
	res->applied = 1;
	log_info("config: reloaded %s", d->config_path);
}

void daemon_reload_result(struct daemon *d, struct reload_result *res)
{
	char status[640];

	memset(res, 0, sizeof(*res));
	/* the service manager waits for READY=1 (Type=notify-reload) */
	notify_reloading(d->notify, clock_mono_ns());
	reload_apply(d, res);
	if (!res->applied)
		snprintf(status, sizeof(status), "reload failed, running configuration kept: %s", res->error);
	else if (res->restart[0])
		snprintf(status, sizeof(status), "reloaded; needs a restart to apply: %s", res->restart);
	else
		snprintf(status, sizeof(status), "reloaded %.400s", d->config_path);
	notify_ready(d->notify, status);
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
