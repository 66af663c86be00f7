/* SPDX-License-Identifier: GPL-2.0-only */
/* The `top` handler: per-process CPU (exact from the scheduler, else from
 * samples), memory, GPU, disk I/O, run-queue latency and hottest function
 * over a window, and a system header. The request is checked on the loop
 * and computed by the query worker, holding the store for reading within
 * query_timeout. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "api/handlers.h"
#include "api/worker.h"
#include "common/clock.h"
#include "daemon.h"
#include "common/fmt.h"
#include "collect/gpu.h"
#include "metrics/registry.h"
#include "profile/hottest.h"
#include "profile/profile.h"
#include "store/proctable.h"
#include "common/proto.h"
#include "collect/resources.h"
#include "api/server.h"
#include "store/stacks.h"
#include "symbols/symbolizer.h"
#include "store/window.h"
#include "common/sort.h"

struct row {
	uint32_t proc;
	uint64_t samples;
	uint64_t hot_samples;
	char hot[PROFILE_NAME_MAX + 1];
	const char *hot_module;
	int have_wc;
	struct wcounters wc;
	struct metrics_process m; /* derived, for sorting and output */
};

struct top {
	struct daemon *d;
	int show_kaddr;
	struct row *rows;
	size_t n, cap;
	int32_t *idx;        /* proc id -> row index, -1 */
	uint32_t nidx;
	uint32_t only_tgid;
	int have_sys;
	struct wcounters sys;
	struct hottest_scratch hs;
	struct tunit {
		const char *name;
		uint64_t io[4];      /* cgroup read, write bytes; read, write requests */
		int have_io;
		struct metrics_unit_acc acc;
		struct metrics_process m;
	} *units;
	size_t nunits, ucap;
	int oom;
};

static struct row *row_for(struct top *t, uint32_t proc)
{
	const struct proc_info *p = proctable_info(t->d->procs, proc);
	uint32_t i = proctable_id_index(proc);

	/* an id whose process was evicted (or never known) has no row */
	if (!p || i >= t->nidx)
		return NULL;
	if (t->idx[i] >= 0)
		return &t->rows[t->idx[i]];
	if (t->only_tgid && p->tgid != t->only_tgid)
		return NULL;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		struct row *v = realloc(t->rows, cap * sizeof(*v));
		if (!v) {
			t->oom = 1;
			return NULL;
		}
		t->rows = v;
		t->cap = cap;
	}
	memset(&t->rows[t->n], 0, sizeof(t->rows[t->n]));
	t->rows[t->n].proc = proc;
	t->idx[i] = (int32_t)t->n;
	return &t->rows[t->n++];
}

/* The entry of unit name (added if new), NULL on -ENOMEM. */
static struct tunit *unit_get(struct top *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->nunits && strcmp(t->units[i].name, name); i++)
		;
	if (i < t->nunits)
		return &t->units[i];
	if (t->nunits == t->ucap) {
		size_t cap = t->ucap ? t->ucap * 2 : 32;
		struct tunit *v = realloc(t->units, cap * sizeof(*v));

		if (!v) {
			t->oom = 1;
			return NULL;
		}
		t->units = v;
		t->ucap = cap;
	}
	memset(&t->units[i], 0, sizeof(t->units[i]));
	t->units[i].name = name;
	t->nunits++;
	return &t->units[i];
}

static void on_counters(uint32_t proc, const struct wcounters *c, void *ctx)
{
	struct top *t = ctx;
	struct row *r;

	if (proc == PROC_ID_SYSTEM) {
		t->have_sys = 1;
		t->sys = *c;
		return;
	}
	if (resources_is_unit_id(proc)) {
		/* block I/O charged to a unit's cgroups, writeback included */
		const char *name = resources_unit_name(t->d->res, proc);
		struct tunit *u = name ? unit_get(t, name) : NULL;

		if (u) {
			u->have_io = 1;
			u->io[0] = c->sum[WC_IO_RBYTES];
			u->io[1] = c->sum[WC_IO_WBYTES];
			u->io[2] = c->sum[WC_IO_RREQS];
			u->io[3] = c->sum[WC_IO_WREQS];
		}
		return;
	}
	if (proctable_id_index(proc) < PROC_ID_FIRST)
		return;
	r = row_for(t, proc);
	if (r) {
		r->have_wc = 1;
		r->wc = *c;
	}
}

static int add_live(const struct proc_info *p, void *ctx)
{
	struct top *t = ctx;

	if (!p->exit_ns)
		row_for(t, p->id);
	return 0;
}

static int cmp_entry_proc(const void *a, const void *b)
{
	const struct pq_entry *x = a, *y = b;

	if (x->proc != y->proc)
		return x->proc < y->proc ? -1 : 1;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

struct sort_ctx {
	const char *key;
	struct daemon *d;
};

static int cmp_rows(const void *a, const void *b, void *ctx)
{
	const struct sort_ctx *sc = ctx;
	const char *sort_key = sc->key;
	const struct row *x = a, *y = b;
	double vx = 0, vy = 0;

	if (!strcmp(sort_key, "pid") || !strcmp(sort_key, "comm")) {
		const struct proc_info *p = proctable_info(sc->d->procs, x->proc);
		const struct proc_info *q = proctable_info(sc->d->procs, y->proc);
		int c;

		if (!p || !q)
			return p ? -1 : q ? 1 : 0;
		c = !strcmp(sort_key, "comm") ? strcmp(p->comm, q->comm) : 0;
		if (c)
			return c;
		return p->tgid < q->tgid ? -1 : p->tgid > q->tgid;
	}
	if (!strcmp(sort_key, "mem")) {
		vx = (double)x->m.rss_bytes;
		vy = (double)y->m.rss_bytes;
	} else if (!strcmp(sort_key, "gpu")) {
		vx = isnan(x->m.gpu_pct) ? -1 : x->m.gpu_pct;
		vy = isnan(y->m.gpu_pct) ? -1 : y->m.gpu_pct;
	} else if (!strcmp(sort_key, "io")) {
		vx = x->m.read_bps + x->m.write_bps;
		vy = y->m.read_bps + y->m.write_bps;
	} else if (!strcmp(sort_key, "runq")) {
		vx = (double)x->m.runq_p99_ns;
		vy = (double)y->m.runq_p99_ns;
	} else if (!strcmp(sort_key, "samples")) {
		vx = (double)x->samples;
		vy = (double)y->samples;
	}
	if (vx == vy) {
		vx = x->m.cpu_pct;
		vy = y->m.cpu_pct;
	}
	if (vx != vy)
		return vx > vy ? -1 : 1;
	return x->proc < y->proc ? -1 : x->proc > y->proc;
}

static struct json_object *system_json(struct daemon *d, const struct top *t)
{
	const struct res_system *s = resources_system(d->res);
	struct json_object *o = json_object_new_object(), *a, *g, *devs;
	size_t ndev;
	const struct gpu_device_info *dev = resources_gpu_devices(d->res, &ndev);
	struct metrics_host h;

	/* the one computation of the registry */
	metrics_host_compute(s, t->have_sys ? &t->sys : NULL, dev, ndev, &h);
	metrics_to_json(METRIC_HOST, &h, o);
	a = json_object_new_array();
	/* by CPU id: null for a CPU offline now or not known yet */
	for (uint32_t i = 0; i < s->ncpu && s->per_cpu; i++)
		json_object_array_add(a, s->per_cpu[i] >= 0 ? json_object_new_double(s->per_cpu[i]) : NULL);
	json_object_object_add(o, "per_cpu_pct", a);
	g = json_object_new_object();
	json_object_object_add(g, "state", json_object_new_string(resources_gpu_state(d->res)));
	devs = json_object_new_array();
	for (size_t i = 0; i < ndev; i++) {
		struct gpu_device_info di = dev[i];
		struct json_object *x;

		x = json_object_new_object();
		api_add_u64(x, "index", di.index);
		json_object_object_add(x, "name", json_object_new_string(di.name));
		if (di.valid & GPU_HAVE_UTIL)
			api_add_f(x, "util_pct", di.util_gpu_pct);
		if (di.valid & GPU_HAVE_MEM) {
			api_add_u64(x, "mem_used_bytes", di.mem_used_bytes);
			api_add_u64(x, "mem_total_bytes", di.mem_total_bytes);
		}
		if (di.valid & GPU_HAVE_TEMP)
			api_add_u64(x, "temp_c", di.temp_c);
		if (di.valid & GPU_HAVE_POWER)
			api_add_f(x, "power_w", di.power_mw / 1000.0);
		json_object_array_add(devs, x);
	}
	json_object_object_add(g, "devices", devs);
	json_object_object_add(o, "gpu", g);
	return o;
}

/* A process's row counts for its unit when it had activity in the window
 * or is alive (what makes it a row of the reply). */
static int row_shown(const struct top *t, const struct row *r)
{
	struct res_gauges g;

	return r->samples || r->have_wc || !resources_gauges(t->d->res, r->proc, &g);
}

/* The units: their processes' rows added up, and the block I/O charged to
 * their cgroups (a unit whose processes have exited is there while its
 * pages are written back). 0 or -ENOMEM. */
static int units_compute(struct top *t, double secs)
{
	int unit_io = resources_unit_io(t->d->res);

	for (size_t i = 0; i < t->n; i++) {
		const struct row *r = &t->rows[i];
		const char *name = resources_unit(t->d->res, r->proc);
		struct tunit *u;

		if (!name[0] || !proctable_info(t->d->procs, r->proc) || !row_shown(t, r))
			continue;
		u = unit_get(t, name);
		if (!u)
			return -ENOMEM;
		metrics_unit_add(&u->acc, &r->m, r->have_wc ? &r->wc : NULL);
	}
	for (size_t i = 0; i < t->nunits; i++) {
		struct tunit *u = &t->units[i];

		if (unit_io)
			metrics_unit_cgroup(&u->acc, u->have_io ? u->io : NULL, secs);
		metrics_unit_finish(&u->acc, &u->m);
	}
	return 0;
}

static int cmp_units(const void *a, const void *b)
{
	const struct tunit *x = a, *y = b;
	double vx = x->m.cpu_pct + (x->have_io ? 1e-9 * (double)(x->io[0] + x->io[1]) : 0);
	double vy = y->m.cpu_pct + (y->have_io ? 1e-9 * (double)(y->io[0] + y->io[1]) : 0);

	if (vx != vy)
		return vx > vy ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* "units": only_unit's when given, else the first limit by CPU and block
 * I/O; with a pid asked for, only the units of its rows. */
static struct json_object *units_json(struct top *t, const char *only_unit, int64_t limit)
{
	struct json_object *arr = json_object_new_array();
	int64_t shown = 0;

	qsort_safe(t->units, t->nunits, sizeof(*t->units), cmp_units);
	for (size_t i = 0; i < t->nunits && shown < limit; i++) {
		const struct tunit *u = &t->units[i];
		struct json_object *x;

		if ((only_unit && strcmp(only_unit, u->name)) || (t->only_tgid && !u->acc.procs))
			continue;
		shown++;
		x = json_object_new_object();
		json_object_object_add(x, "unit", json_object_new_string(u->name));
		api_add_u64(x, "processes", u->acc.procs);
		metrics_to_json(METRIC_UNIT, &u->m, x);
		json_object_array_add(arr, x);
	}
	return arr;
}

struct top_job {
	struct api_job j;
	uint64_t span;
	int64_t pid, limit;
	char sort[16];
	char *unit;
	int version, show_kaddr;
	unsigned name_flags;    /* PROFILE_NAMES_*: hottest's names */
	char *line;
	int is_error, timed_out;
};

/* Entries between two looks at the deadline. */
#define TOP_DEADLINE_STRIDE 1024

/* The reply's data, or NULL with the error in code and msg. Holds the
 * store: worker thread, between read_begin and read_end. */
static struct json_object *top_compute(struct top_job *tj, const char **code, char *msg, size_t msgsz)
{
	struct daemon *d = tj->j.d;
	int qr;
	struct top t = { .d = d, .show_kaddr = tj->show_kaddr };
	struct profile_src src;
	struct pq_result e = { 0 };
	struct window_range wr;
	uint64_t span = tj->span, total = 0, mem_total = 0;
	uint64_t deadline = clock_mono_ns() + (uint64_t)d->cfg.query_timeout_ms * 1000000ull;
	struct json_object *o = NULL, *arr;
	double secs, denom;
	int exact = resources_exact_cpu(d->res);
	const struct res_system *sys = resources_system(d->res);
	const char *unit = tj->unit;
	size_t shown = 0, visited = 0;
	struct sort_ctx sc = { .key = tj->sort, .d = d };

	*code = PROFD_E_INTERNAL;
	snprintf(msg, msgsz, "out of memory");
	t.only_tgid = (uint32_t)tj->pid;
	/* every id the table hands out, whatever max_processes says now */
	t.nidx = proctable_id_bound(d->procs);
	t.idx = malloc((t.nidx ? t.nidx : 1) * sizeof(*t.idx));
	if (!t.idx)
		goto out;
	memset(t.idx, 0xff, t.nidx * sizeof(*t.idx));

	api_profile_src(d, deadline, 0, tj->show_kaddr, &src);
	qr = profile_query(&src, span, &(struct pq_filter){ .tgid = (uint32_t)tj->pid }, &e);
	if (qr < 0) {
		if (qr == -ETIMEDOUT)
			goto timeout;
		snprintf(msg, msgsz, "window query: %s", strerror(-qr));
		goto out;
	}
	secs = (double)e.covered_ns / 1e9;
	qsort_safe(e.v, e.n, sizeof(*e.v), cmp_entry_proc);
	for (size_t i = 0; i < e.n;) {
		size_t j = i;
		struct row *r = row_for(&t, e.v[i].proc);

		while (j < e.n && e.v[j].proc == e.v[i].proc) {
			if (r)
				r->samples += e.v[j].count;
			total += e.v[j].count;
			j++;
		}
		if (r) {
			struct hottest h;

			if (hottest_find(&t.hs, d->sym, d->stacks, &e.v[i], j - i, tj->name_flags, &h) < 0)
				goto out;
			memcpy(r->hot, h.name, sizeof(r->hot));
			r->hot_module = h.module;
			r->hot_samples = h.samples;
		}
		visited += j - i;
		if (visited >= TOP_DEADLINE_STRIDE) {
			visited = 0;
			if (clock_mono_ns() > deadline)
				goto timeout;
		}
		i = j;
	}
	window_query_counters(d->win, d->data_until_ns, span, on_counters, &t, &wr);
	proctable_foreach(d->procs, add_live, &t);
	if (t.oom)
		goto out;

	if (sys->mem_ok)
		mem_total = sys->mem.total;
	denom = (double)sampler_frequency(d->sampler) * secs;
	for (size_t i = 0; i < t.n; i++) {
		struct row *r = &t.rows[i];
		struct res_gauges g;
		int have_g = !resources_gauges(d->res, r->proc, &g);

		metrics_process_compute(&(struct metrics_process_in){
			.wc = r->have_wc ? &r->wc : NULL,
			.g = have_g ? &g : NULL,
			.samples = r->samples,
			.secs = secs,
			.frequency = sampler_frequency(d->sampler),
			.exact_cpu = exact,
			.mem_total = mem_total,
		}, &r->m);
	}
	qsort_r(t.rows, t.n, sizeof(*t.rows), cmp_rows, &sc);
	if (clock_mono_ns() > deadline)
		goto timeout;
	if (units_compute(&t, secs) < 0)
		goto out;

	o = json_object_new_object();
	api_add_f(o, "window_s", secs);
	api_add_u64(o, "frequency", sampler_frequency(d->sampler));
	api_add_u64(o, "cpus", sampler_ncpus(d->sampler));
	api_add_u64(o, "total_samples", total);
	api_add_u64(o, "idle_samples", t.have_sys ? t.sys.sum[WC_IDLE_SAMPLES] : 0);
	json_object_object_add(o, "cpu_source", json_object_new_string(exact ? "sched" : "samples"));
	api_add_f(o, "system_cpu_pct", denom > 0 ? 100.0 * (double)total / (denom * sampler_ncpus(d->sampler)) : 0.0);
	json_object_object_add(o, "system", system_json(d, &t));
	arr = json_object_new_array();
	for (size_t i = 0; i < t.n && (int64_t)shown < tj->limit; i++) {
		const struct row *r = &t.rows[i];
		const struct proc_info *p = proctable_info(d->procs, r->proc);
		const char *u = resources_unit(d->res, r->proc);
		struct json_object *x;
		struct res_gauges g;
		int have_g = !resources_gauges(d->res, r->proc, &g);

		if (!p)
			continue;
		if (unit && strcmp(unit, u))
			continue;
		/* a window row needs activity in it, or to be alive */
		if (!r->samples && !r->have_wc && !have_g)
			continue;
		shown++;
		x = json_object_new_object();
		api_add_u64(x, "pid", p->tgid);
		api_add_u64(x, "start_time_ns", p->start_ns);
		api_add_u64(x, "uid", p->uid);
		json_object_object_add(x, "comm", json_object_new_string(p->comm));
		json_object_object_add(x, "cmdline", json_object_new_string(p->cmdline ? p->cmdline : ""));
		json_object_object_add(x, "alive", json_object_new_boolean(!p->exit_ns));
		json_object_object_add(x, "cpu_source", json_object_new_string(exact && r->have_wc ? "sched" : "samples"));
		json_object_object_add(x, "hottest", r->hot[0] ? json_object_new_string(r->hot) : NULL);
		json_object_object_add(x, "hottest_module", json_object_new_string(r->hot_module ? r->hot_module : ""));
		api_add_u64(x, "hottest_samples", r->hot_samples);
		metrics_to_json(METRIC_PROCESS, &r->m, x);
		json_object_object_add(x, "unit", json_object_new_string(u));
		json_object_object_add(x, "container", json_object_new_string(resources_container(d->res, r->proc)));
		json_object_array_add(arr, x);
	}
	json_object_object_add(o, "processes", arr);
	json_object_object_add(o, "units", units_json(&t, unit, tj->limit));
	goto out;
timeout:
	tj->timed_out = 1;
	*code = PROFD_E_TIMEOUT;
	snprintf(msg, msgsz, "top over %s took longer than query_timeout (%u ms); ask for a shorter window",
		 fmt_duration((char[32]){ 0 }, 32, span), d->cfg.query_timeout_ms);
out:
	pq_result_release(&e);
	hottest_scratch_release(&t.hs);
	free(t.units);
	free(t.rows);
	free(t.idx);
	return o;
}

static void top_run(struct api_job *j)
{
	struct top_job *tj = (struct top_job *)j;
	struct json_object *o;
	const char *code;
	char msg[256];

	worker_store_read_begin(j->d->worker);
	o = top_compute(tj, &code, msg, sizeof(msg));
	worker_store_read_end(j->d->worker);
	/* serialised off the store: the tree holds copies */
	if (o) {
		tj->line = proto_ok_v(tj->version, o, NULL);
	} else {
		tj->line = proto_error_v(tj->version, code, "%s", msg);
		tj->is_error = 1;
	}
}

static void top_free(struct api_job *j)
{
	struct top_job *tj = (struct top_job *)j;

	free(tj->line);
	free(tj->unit);
	free(tj);
}

static void top_done(struct api_job *j)
{
	struct top_job *tj = (struct top_job *)j;

	j->d->queries.top++;
	if (tj->timed_out)
		j->d->queries.timeouts++;
	server_reply_line(j->rq, tj->line, tj->is_error);
	tj->line = NULL;
	j->rq = NULL;
	top_free(j);
}

void api_top(struct daemon *d, struct server_request *rq)
{
	struct json_object *req = server_request_json(rq);
	struct top_job *tj;
	uint64_t span;
	int64_t pid, limit = 20;
	const char *sort = "cpu", *unit = NULL;
	char msg[256];
	struct api_err err = { 0 };
	int r, no_demangle;

	if (api_parse_common(rq, 10 * NSEC_PER_SEC, &span, &pid))
		return;
	if (api_get_flag(req, "no_demangle", &no_demangle, &err)) {
		api_reply_err(rq, &err);
		return;
	}
	if (proto_get_int(req, "limit", 1, 10000, &limit, msg, sizeof(msg)) ||
	    proto_get_string(req, "sort", &sort, msg, sizeof(msg)) ||
	    proto_get_string(req, "unit", &unit, msg, sizeof(msg))) {
		server_reply_error(rq, PROFD_E_BAD_ARGUMENT, "%s", msg);
		return;
	}
	if (strcmp(sort, "cpu") && strcmp(sort, "mem") && strcmp(sort, "gpu") && strcmp(sort, "io") &&
	    strcmp(sort, "runq") && strcmp(sort, "samples") && strcmp(sort, "pid") && strcmp(sort, "comm")) {
		server_reply_error(rq, PROFD_E_BAD_ARGUMENT,
				   "sort: \"%s\" is not one of cpu, mem, gpu, io, runq, samples, pid, comm", sort);
		return;
	}
	tj = calloc(1, sizeof(*tj));
	if (!tj || (unit && !(tj->unit = strdup(unit)))) {
		free(tj);
		server_reply_error(rq, PROFD_E_INTERNAL, "out of memory");
		return;
	}
	tj->j.d = d;
	tj->j.rq = rq;
	tj->j.run = top_run;
	tj->j.done = top_done;
	tj->j.free = top_free;
	tj->span = span;
	tj->pid = pid;
	tj->limit = limit;
	snprintf(tj->sort, sizeof(tj->sort), "%s", sort);
	tj->version = server_request_version(rq);
	tj->show_kaddr = server_request_privileged(rq);
	tj->name_flags = (no_demangle ? PROFILE_NAMES_RAW : 0) | (tj->show_kaddr ? PROFILE_NAMES_KADDR : 0);
	server_request_set_data(rq, &tj->j);
	r = api_job_submit(&tj->j, false);
	if (r < 0) {
		server_request_set_data(rq, NULL);
		api_job_refused(&tj->j, r);
		top_free(&tj->j);
	}
}
