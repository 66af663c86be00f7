/* SPDX-License-Identifier: GPL-2.0-only */
/* Sampler: BPF loading, perf_event attachment per online CPU, ring buffer
 * draining. See sampler.h. */
#include "collect/sampler.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cpu.skel.h"
#include "base/log.h"
#include "proc.skel.h"

#define MAX_CPUS 4096
#define RINGBUF_MIN (1u << 20)
#define RINGBUF_MAX (1u << 28)

struct sampler {
	struct profd_cpu_bpf *cpu;
	struct profd_proc_bpf *proc;
	struct ring_buffer *rb;
	struct bpf_link **links; /* one per online CPU, NULL where offline */
	int *pfds;
	uint32_t ncpus_possible;
	uint32_t ncpus_online;
	uint8_t online[MAX_CPUS / 8];
	uint32_t frequency;
	int use_cycles;
	struct sampler_callbacks cb;
	uint64_t drained, proc_events, malformed;
	uint64_t ticks;
	uint64_t cpus_attached, cpus_detached, cpu_attach_failures;
	struct profd_cpu_stats *statbuf; /* ncpus_possible per-CPU values */
	/* DWARF unwinder: its program runs instead of profd_sample */
	int unwinding;
	struct bpf_link *exec_link;
	void *mm_cells, *mm_maps, *mm_objs;
	size_t len_cells, len_maps, len_objs;
	struct sampler_unwind_maps um;
};

int sampler_parse_cpulist(const char *s, uint8_t *bitmap, size_t max)
{
	int n = 0;

	memset(bitmap, 0, (max + 7) / 8);
	while (*s && *s != '\n') {
		char *end;
		unsigned long a, b;

		errno = 0;
		a = strtoul(s, &end, 10);
		if (end == s || errno)
			return -EINVAL;
		b = a;
		s = end;
		if (*s == '-') {
			s++;
			b = strtoul(s, &end, 10);
			if (end == s || errno || b < a)
				return -EINVAL;
			s = end;
		}
		if (b >= max)
			return -EINVAL;
		for (unsigned long i = a; i <= b; i++) {
			if (!(bitmap[i / 8] & (1u << (i % 8))))
				n++;
			bitmap[i / 8] |= 1u << (i % 8);
		}
		if (*s == ',')
			s++;
		else if (*s && *s != '\n')
			return -EINVAL;
	}
	return n;
}

int sampler_cpulist_diff(const uint8_t *before, const uint8_t *now, size_t max, uint8_t *ret_added, uint8_t *ret_removed)
{
	int n = 0;

	if (ret_added)
		memset(ret_added, 0, (max + 7) / 8);
	if (ret_removed)
		memset(ret_removed, 0, (max + 7) / 8);
	for (size_t i = 0; i < max; i++) {
		unsigned b = before[i / 8] >> (i % 8) & 1, a = now[i / 8] >> (i % 8) & 1;

		if (a == b)
			continue;
		n++;
		if (a && ret_added)
			ret_added[i / 8] |= 1u << (i % 8);
		if (b && ret_removed)
			ret_removed[i / 8] |= 1u << (i % 8);
	}
	return n;
}

/* The online CPUs into bitmap (MAX_CPUS bits). Count or -errno. */
static int read_cpulist(uint8_t *bitmap)
{
	char buf[4096];
	ssize_t n;
	int fd = open("/sys/devices/system/cpu/online", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -EIO;
	buf[n] = 0;
	return sampler_parse_cpulist(buf, bitmap, MAX_CPUS);
}

static int read_online(struct sampler *s)
{
	int n = read_cpulist(s->online);

	if (n < 0)
		return n;
	s->ncpus_online = n;
	return 0;
}

static int handle_record(void *ctx, void *data, size_t len)
{
	struct sampler *s = ctx;
	uint32_t kind;

	if (len < sizeof(uint32_t)) {
		s->malformed++;
		return 0;
	}
	memcpy(&kind, data, sizeof(kind));
	if (kind == PROFD_REC_SAMPLE) {
		const struct profd_sample *r = data;
		size_t need;

		if (len < sizeof(*r)) {
			s->malformed++;
			return 0;
		}
		need = sizeof(*r) + (size_t)r->kdepth * sizeof(uint64_t) +
		       (size_t)r->udepth * (r->flags & PROFD_SF_UNWOUND ? sizeof(struct profd_uframe)
									   : sizeof(struct profd_ustack_frame));
		/* Counted as drained either way: the record left the ring. */
		s->drained++;
		if (need > len || r->kdepth > PROFD_MAX_KSTACK || r->udepth > PROFD_MAX_USTACK ||
		    (!(r->flags & PROFD_SF_UNWOUND) && r->udepth > PROFD_MAX_USTACK_BUILD_ID)) {
			s->malformed++;
			return 0;
		}
		if (s->cb.sample)
			s->cb.sample(s->cb.ctx, r, len);
	} else if (kind == PROFD_REC_EXEC || kind == PROFD_REC_EXIT) {
		const struct profd_proc_event *e = data;

		if (len < sizeof(*e)) {
			s->malformed++;
			return 0;
		}
		s->proc_events++;
		if (s->cb.proc_event)
			s->cb.proc_event(s->cb.ctx, e);
	} else {
		s->malformed++;
	}
	return 0;
}

static int perf_open(struct sampler *s, int cpu, int cycles, uint32_t hz)
{
	struct perf_event_attr attr = {
		.size = sizeof(attr),
		.type = cycles ? PERF_TYPE_HARDWARE : PERF_TYPE_SOFTWARE,
		.config = cycles ? PERF_COUNT_HW_CPU_CYCLES : PERF_COUNT_SW_CPU_CLOCK,
		.freq = 1,
		.sample_freq = hz,
	};
	int fd = syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);

	(void)s;
	return fd < 0 ? -errno : fd;
}

static void detach_cpu(struct sampler *s, uint32_t i)
{
	if (s->links && s->links[i]) {
		bpf_link__destroy(s->links[i]);
		s->links[i] = NULL;
	}
	if (s->pfds && s->pfds[i] >= 0) {
		close(s->pfds[i]);
		s->pfds[i] = -1;
	}
}

static void detach_perf(struct sampler *s)
{
	for (uint32_t i = 0; i < s->ncpus_possible; i++)
		detach_cpu(s, i);
}

/* One CPU's perf event with the program attached. 0 or -errno (logged). */
static int attach_cpu(struct sampler *s, uint32_t cpu, uint32_t hz)
{
	int fd = perf_open(s, (int)cpu, s->use_cycles, hz), err;

	if (fd < 0)
		return log_warn_errno(fd, "sampler: perf_event_open on CPU %u: %m", cpu);
	s->pfds[cpu] = fd;
	/* the unwinder's program replaces the plain one on every CPU */
	s->links[cpu] = bpf_program__attach_perf_event(
		s->unwinding ? s->cpu->progs.profd_sample_unwind : s->cpu->progs.profd_sample, fd);
	if (!s->links[cpu]) {
		err = -errno;
		close(fd);
		s->pfds[cpu] = -1;
		return log_warn_errno(err, "sampler: attach perf event on CPU %u: %m", cpu);
	}
	return 0;
}

static int attach_perf(struct sampler *s, uint32_t hz)
{
	int attached = 0, first_err = 0;

	/* Hardware cycles when the PMU offers them, else the software clock.
	 * Decided once on the first online CPU. */
	s->use_cycles = 0;
	for (uint32_t cpu = 0; cpu < s->ncpus_possible && cpu < MAX_CPUS; cpu++) {
		if (!(s->online[cpu / 8] & (1u << (cpu % 8))))
			continue;
		int fd = perf_open(s, cpu, 1, hz);
		if (fd >= 0) {
			s->use_cycles = 1;
			close(fd);
		}
		break;
	}
	for (uint32_t cpu = 0; cpu < s->ncpus_possible && cpu < MAX_CPUS; cpu++) {
		int err;

		if (!(s->online[cpu / 8] & (1u << (cpu % 8))))
			continue;
		err = attach_cpu(s, cpu, hz);
		if (err < 0) {
			if (!first_err)
				first_err = err;
			continue;
		}
		attached++;
	}
	if (!attached)
		return first_err ? first_err : -ENODEV;
	s->frequency = hz;
	return 0;
}

/* Size the unwinder's maps and choose the program, before load. Without
 * the unwinder its maps keep one entry each and its programs stay out. */
static int unwind_configure(struct sampler *s, const struct sampler_opts *o)
{
	struct profd_cpu_bpf *c = s->cpu;
	int err;

	s->unwinding = o->unwind;
	if (s->unwinding && libbpf_probe_bpf_helper(BPF_PROG_TYPE_PERF_EVENT, BPF_FUNC_loop, NULL) != 1) {
		log_warn("sampler: the kernel has no bpf_loop (5.17+): user stacks by frame pointers");
		s->unwinding = 0;
	}
	if (s->unwinding && (!o->unwind_cells || !o->unwind_mappings || !o->unwind_objects || !o->unwind_procs)) {
		log_warn("sampler: unwinder maps have no size: user stacks by frame pointers");
		s->unwinding = 0;
	}
	bpf_program__set_autoload(c->progs.profd_sample, !s->unwinding);
	bpf_program__set_autoload(c->progs.profd_sample_unwind, s->unwinding);
	bpf_program__set_autoload(c->progs.profd_unw_exec, s->unwinding);
	if (!s->unwinding)
		return 0;
	err = bpf_map__set_max_entries(c->maps.unw_cells, o->unwind_cells);
	if (!err)
		err = bpf_map__set_max_entries(c->maps.unw_maps, o->unwind_mappings);
	if (!err)
		err = bpf_map__set_max_entries(c->maps.unw_objs, o->unwind_objects);
	if (!err)
		err = bpf_map__set_max_entries(c->maps.unw_procs, o->unwind_procs);
	if (err)
		return log_err_errno(err, "sampler: sizing the unwinder's maps: %m");
	s->um.ncells = o->unwind_cells;
	s->um.nmaps = o->unwind_mappings;
	s->um.nobjs = o->unwind_objects;
	s->um.max_procs = o->unwind_procs;
	return 0;
}

static void *map_mmap(struct bpf_map *m, size_t *ret_len)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t len = (size_t)bpf_map__value_size(m) * bpf_map__max_entries(m);
	void *p;

	len = (len + (size_t)page - 1) / (size_t)page * (size_t)page;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(m), 0);
	if (p == MAP_FAILED)
		return NULL;
	*ret_len = len;
	return p;
}

/* After load: map the arrays user space writes, attach the exec hook. */
static int unwind_map(struct sampler *s)
{
	if (!s->unwinding)
		return 0;
	s->mm_cells = map_mmap(s->cpu->maps.unw_cells, &s->len_cells);
	s->mm_maps = map_mmap(s->cpu->maps.unw_maps, &s->len_maps);
	s->mm_objs = map_mmap(s->cpu->maps.unw_objs, &s->len_objs);
	if (!s->mm_cells || !s->mm_maps || !s->mm_objs)
		return log_err_errno(errno, "sampler: mapping the unwinder's tables: %m");
	s->um.cells = s->mm_cells;
	s->um.maps = s->mm_maps;
	s->um.objs = s->mm_objs;
	s->exec_link = bpf_program__attach(s->cpu->progs.profd_unw_exec);
	if (!s->exec_link)
		return log_err_errno(errno, "sampler: attach the unwinder's exec hook (tp_btf/sched_process_exec): %m");
	return 0;
}

static size_t auto_ringbuf(uint32_t ncpus, uint32_t hz, uint64_t tick_ns)
{
	/* Room for 4 ticks of samples at ~1 KiB each (typical depth ~20
	 * frames); the program wakes user space at half full, so a burst of
	 * deep stacks is drained before it is lost. */
	uint64_t ticks_s = tick_ns ? (tick_ns + 999999999ull) / 1000000000ull : 1;
	uint64_t want = (uint64_t)ncpus * hz * 1024ull * 4 * ticks_s;
	size_t sz = RINGBUF_MIN;

	while (sz < want && sz < RINGBUF_MAX)
		sz <<= 1;
	return sz;
}

int sampler_new(const struct sampler_opts *opts, const struct sampler_callbacks *cb, struct sampler **ret)
{
	struct sampler *s;
	size_t rbsz;
	int err, n;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->cb = *cb;
	n = libbpf_num_possible_cpus();
	if (n <= 0) {
		err = n < 0 ? n : -EINVAL;
		goto fail;
	}
	s->ncpus_possible = n > MAX_CPUS ? MAX_CPUS : n;
	err = read_online(s);
	if (err) {
		log_err_errno(err, "sampler: reading online CPUs: %m");
		goto fail;
	}
	s->links = calloc(s->ncpus_possible, sizeof(*s->links));
	s->pfds = malloc(s->ncpus_possible * sizeof(*s->pfds));
	if (!s->links || !s->pfds) {
		err = -ENOMEM;
		goto fail;
	}
	for (uint32_t i = 0; i < s->ncpus_possible; i++)
		s->pfds[i] = -1;

	s->cpu = profd_cpu_bpf__open();
	if (!s->cpu) {
		err = log_err_errno(errno, "sampler: open CPU sampler BPF object: %m");
		goto fail;
	}
	rbsz = opts->ringbuf_bytes ? opts->ringbuf_bytes : auto_ringbuf(s->ncpus_online, opts->frequency, opts->tick_ns);
	err = bpf_map__set_max_entries(s->cpu->maps.samples, rbsz);
	if (err)
		goto fail;
	s->cpu->rodata->ringbuf_wakeup_bytes = rbsz / 2;
	s->cpu->rodata->max_user_frames = opts->max_user_frames;
	err = unwind_configure(s, opts);
	if (err)
		goto fail;
	err = profd_cpu_bpf__load(s->cpu);
	if (err && s->unwinding) {
		/* Whatever the verifier refused in the unwinder, frame pointers
		 * still give stacks: say so and carry on without it. */
		log_warn_errno(err, "sampler: the DWARF unwinder did not load (%m); using frame pointers");
		profd_cpu_bpf__destroy(s->cpu);
		s->cpu = profd_cpu_bpf__open();
		if (!s->cpu) {
			err = log_err_errno(errno, "sampler: open CPU sampler BPF object: %m");
			goto fail;
		}
		err = bpf_map__set_max_entries(s->cpu->maps.samples, rbsz);
		if (err)
			goto fail;
		s->cpu->rodata->ringbuf_wakeup_bytes = rbsz / 2;
		err = unwind_configure(s, &(struct sampler_opts){ .unwind = 0 });
		if (err)
			goto fail;
		err = profd_cpu_bpf__load(s->cpu);
	}
	if (err) {
		log_err_errno(err, "sampler: load CPU sampler BPF program: %m");
		goto fail;
	}
	err = unwind_map(s);
	if (err)
		goto fail;

	s->proc = profd_proc_bpf__open_and_load();
	if (!s->proc) {
		err = log_err_errno(errno, "sampler: load process lifecycle BPF programs: %m");
		goto fail;
	}
	err = profd_proc_bpf__attach(s->proc);
	if (err) {
		log_err_errno(err, "sampler: attach sched_process_exec/exit (tp_btf): %m");
		goto fail;
	}

	s->rb = ring_buffer__new(bpf_map__fd(s->cpu->maps.samples), handle_record, s, NULL);
	if (!s->rb) {
		err = log_err_errno(errno, "sampler: ring buffer: %m");
		goto fail;
	}
	err = ring_buffer__add(s->rb, bpf_map__fd(s->proc->maps.events), handle_record, s);
	if (err) {
		log_err_errno(err, "sampler: lifecycle ring buffer: %m");
		goto fail;
	}

	err = attach_perf(s, opts->frequency);
	if (err) {
		log_err_errno(err, "sampler: no CPU could be sampled: %m");
		goto fail;
	}
	log_info("sampler: %s at %u Hz on %u CPUs, ring buffer %zu KiB, user stacks by %s",
		 s->use_cycles ? "cycles" : "cpu-clock", s->frequency, s->ncpus_online, rbsz / 1024,
		 s->unwinding ? "CFI tables" : "frame pointers");
	*ret = s;
	return 0;
fail:
	sampler_free(s);
	return err;
}

struct sampler *sampler_free(struct sampler *s)
{
	if (!s)
		return NULL;
	detach_perf(s);
	bpf_link__destroy(s->exec_link);
	if (s->mm_cells)
		munmap(s->mm_cells, s->len_cells);
	if (s->mm_maps)
		munmap(s->mm_maps, s->len_maps);
	if (s->mm_objs)
		munmap(s->mm_objs, s->len_objs);
	ring_buffer__free(s->rb);
	profd_proc_bpf__destroy(s->proc);
	profd_cpu_bpf__destroy(s->cpu);
	free(s->links);
	free(s->pfds);
	free(s->statbuf);
	free(s);
	return NULL;
}

int sampler_epoll_fd(struct sampler *s)
{
	return ring_buffer__epoll_fd(s->rb);
}

int sampler_drain(struct sampler *s)
{
	return ring_buffer__consume(s->rb);
}

int sampler_set_frequency(struct sampler *s, uint32_t hz)
{
	if (hz == s->frequency)
		return 0;
	detach_perf(s);
	return attach_perf(s, hz);
}

int sampler_tick(struct sampler *s)
{
	uint8_t now[MAX_CPUS / 8], added[MAX_CPUS / 8], removed[MAX_CPUS / 8];
	int n, changed;

	if (!s || s->ticks++ % SAMPLER_HOTPLUG_TICKS)
		return 0;
	n = read_cpulist(now);
	if (n < 0)
		return 0; /* keep what is attached: nothing says it changed */
	changed = sampler_cpulist_diff(s->online, now, s->ncpus_possible, added, removed);
	for (uint32_t cpu = 0; changed && cpu < s->ncpus_possible; cpu++) {
		if (removed[cpu / 8] & (1u << (cpu % 8))) {
			detach_cpu(s, cpu);
			s->online[cpu / 8] &= (uint8_t)~(1u << (cpu % 8));
			s->ncpus_online--;
			s->cpus_detached++;
			log_info("sampler: CPU %u went offline: no longer sampled", cpu);
		} else if (added[cpu / 8] & (1u << (cpu % 8))) {
			/* counted online even if its event failed: it runs tasks,
			 * and the failure is counted and logged */
			s->online[cpu / 8] |= (uint8_t)(1u << (cpu % 8));
			s->ncpus_online++;
			if (attach_cpu(s, cpu, s->frequency) < 0) {
				s->cpu_attach_failures++;
				continue;
			}
			s->cpus_attached++;
			log_info("sampler: CPU %u came online: sampled at %u Hz", cpu, s->frequency);
		}
	}
	return changed;
}

uint64_t sampler_idle_total(struct sampler *s)
{
	int ncpu = libbpf_num_possible_cpus(); /* the per-CPU value count */
	uint32_t zero = 0;
	uint64_t idle = 0;

	if (ncpu <= 0)
		return 0;
	if (!s->statbuf)
		s->statbuf = calloc((size_t)ncpu, sizeof(*s->statbuf));
	if (!s->statbuf || bpf_map__lookup_elem(s->cpu->maps.stats, &zero, sizeof(zero), s->statbuf,
						(size_t)ncpu * sizeof(*s->statbuf), 0))
		return 0;
	for (int i = 0; i < ncpu; i++)
		idle += s->statbuf[i].idle;
	return idle;
}

void sampler_get_stats(struct sampler *s, struct sampler_stats *ret)
{
	int ncpu = libbpf_num_possible_cpus();
	struct profd_cpu_stats *v;
	struct profd_unw_stats *u;
	uint64_t *lost;
	uint32_t zero = 0;

	memset(ret, 0, sizeof(*ret));
	ret->drained = s->drained;
	ret->proc_events = s->proc_events;
	ret->malformed = s->malformed;
	ret->cpus_attached = s->cpus_attached;
	ret->cpus_detached = s->cpus_detached;
	ret->cpu_attach_failures = s->cpu_attach_failures;
	if (ncpu <= 0)
		return;
	v = calloc(ncpu, sizeof(*v));
	lost = calloc(ncpu, sizeof(*lost));
	if (v && !bpf_map__lookup_elem(s->cpu->maps.stats, &zero, sizeof(zero), v, ncpu * sizeof(*v), 0)) {
		for (int i = 0; i < ncpu; i++) {
			ret->taken += v[i].taken;
			ret->idle += v[i].idle;
			ret->emitted += v[i].emitted;
			ret->dropped_ringbuf += v[i].dropped_ringbuf;
			ret->kstack_err += v[i].kstack_err;
			ret->ustack_err += v[i].ustack_err;
		}
	}
	if (lost && !bpf_map__lookup_elem(s->proc->maps.lost, &zero, sizeof(zero), lost, ncpu * sizeof(*lost), 0)) {
		for (int i = 0; i < ncpu; i++)
			ret->proc_events_lost += lost[i];
	}
	u = calloc(ncpu, sizeof(*u));
	if (u && !bpf_map__lookup_elem(s->cpu->maps.unw_stats, &zero, sizeof(zero), u, ncpu * sizeof(*u), 0)) {
		for (int i = 0; i < ncpu; i++) {
			ret->unwound += u[i].unwound;
			ret->unwind_fallback += u[i].fallback;
			ret->frames_dwarf += u[i].frames_dwarf;
			ret->frames_fp += u[i].frames_fp;
			ret->frames_signal += u[i].frames_signal;
			for (int k = 0; k < PROFD_USTOP_NR; k++)
				ret->ustop[k] += u[i].stops[k];
			ret->cfi_walk_ns += u[i].cfi_ns;
			ret->bid_walk_ns += u[i].bid_ns;
			ret->bid_walks += u[i].bid_walks;
			ret->row_cache_hits += u[i].row_hits;
			ret->unwound_ns += u[i].unwound_ns;
			ret->py_walks += u[i].py_walks;
			ret->py_frames += u[i].py_frames;
			ret->py_cut += u[i].py_cut;
			ret->py_no_thread += u[i].py_no_thread;
			ret->py_read_err += u[i].py_read_err;
			ret->py_walk_ns += u[i].py_ns;
		}
	}
	free(u);
	free(v);
	free(lost);
}

const char *sampler_event_name(const struct sampler *s)
{
	return s->use_cycles ? "cycles" : "cpu-clock";
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

void sampler_for_each_prog(struct sampler *s, void (*fn)(void *ctx, const char *name, int fd), void *ctx)
{
	for_each_prog(s->cpu ? s->cpu->obj : NULL, fn, ctx);
	for_each_prog(s->proc ? s->proc->obj : NULL, fn, ctx);
}

uint32_t sampler_ncpus(const struct sampler *s)
{
	return s->ncpus_online;
}

uint32_t sampler_frequency(const struct sampler *s)
{
	return s->frequency;
}

int sampler_unwinding(const struct sampler *s)
{
	return s->unwinding;
}

int sampler_unwind_maps(struct sampler *s, struct sampler_unwind_maps *ret)
{
	if (!s->unwinding)
		return -ENODATA;
	*ret = s->um;
	return 0;
}

int sampler_unwind_proc_set(struct sampler *s, uint32_t tgid, const struct profd_unw_proc *v)
{
	return bpf_map__update_elem(s->cpu->maps.unw_procs, &tgid, sizeof(tgid), v, sizeof(*v), BPF_ANY);
}

int sampler_unwind_proc_del(struct sampler *s, uint32_t tgid)
{
	return bpf_map__delete_elem(s->cpu->maps.unw_procs, &tgid, sizeof(tgid), 0);
}
