/* SPDX-License-Identifier: GPL-2.0-only */
/* Request helpers of export and diff: windows given as a span or as
 * absolute wall-clock bounds, process filters (pid, systemd unit, comm
 * glob), and the metric tables csv and report read (per process per slot,
 * per process over the window, the host), computed with the metric
 * registry exactly as `top` computes its rows. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "api/handlers.h"
#include "api/server.h"
#include "collect/resources.h"
#include "collect/sampler.h"
#include "common/clock.h"
#include "common/fmt.h"
#include "common/proto.h"
#include "daemon.h"
#include "metrics/registry.h"
#include "profile/profile.h"
#include "store/proctable.h"
#include "store/window.h"

void api_thread_name(void *ctx, uint32_t tgid, uint32_t tid, char *buf, size_t n)
{
	char path[64];
	ssize_t got;
	int fd;

	(void)ctx;
	buf[0] = 0;
	snprintf(path, sizeof(path), "/proc/%u/task/%u/comm", tgid, tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	got = read(fd, buf, n - 1);
	close(fd);
	if (got <= 0) {
		buf[0] = 0;
		return;
	}
	buf[got] = 0;
	buf[strcspn(buf, "\n")] = 0;
}

static int seterr(struct api_err *err, const char *code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int seterr(struct api_err *err, const char *code, const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int api_check_threads(const struct daemon *d, int by_thread, struct api_err *err)
{
	if (!by_thread || d->cfg.thread_stacks)
		return 0;
	return seterr(err, PROFD_E_BAD_ARGUMENT,
		      "by_thread: profd keeps no thread ids; set thread_stacks = 1 in [sampling] and reload");
}

int64_t api_boot_to_real_ns(void)
{
	return (int64_t)clock_ns(CLOCK_REALTIME) - (int64_t)clock_boot_ns();
}

static int get_i64(struct json_object *req, const char *key, int64_t *ret, int *present, struct api_err *err)
{
	struct json_object *v;

	*present = json_object_object_get_ex(req, key, &v) && v;
	if (!*present)
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return seterr(err, PROFD_E_BAD_ARGUMENT, "%s: must be an integer (ns since the epoch)", key);
	*ret = json_object_get_int64(v);
	return 0;
}

int api_parse_window(struct json_object *req, const char *from_key, const char *to_key, uint64_t def_span,
		     struct api_window *w, struct api_err *err)
{
	int64_t from = 0, to = 0, off = api_boot_to_real_ns();
	char msg[256];
	int hf, ht;

	memset(w, 0, sizeof(*w));
	if (get_i64(req, from_key, &from, &hf, err) || get_i64(req, to_key, &to, &ht, err))
		return -EINVAL;
	if (!hf && !ht) {
		/* the relative form, as before: "window" */
		w->span = def_span;
		if (proto_get_duration(req, "window", NSEC_PER_SEC / 10, API_MAX_WINDOW_NS, &w->span, msg, sizeof(msg)))
			return seterr(err, PROFD_E_BAD_ARGUMENT, "%s", msg);
		return 0;
	}
	if (!hf || !ht || to <= from || from - off < 0)
		return seterr(err, PROFD_E_BAD_ARGUMENT, "%s and %s: both needed, %s after %s, and not before boot",
			      from_key, to_key, to_key, from_key);
	if ((uint64_t)(to - from) > API_MAX_WINDOW_NS)
		return seterr(err, PROFD_E_BAD_ARGUMENT, "window longer than 48 h");
	w->absolute = 1;
	w->from_ns = (uint64_t)(from - off);
	w->to_ns = (uint64_t)(to - off);
	return 0;
}

static int unit_accept(void *ctx, uint32_t proc)
{
	const struct api_filter *f = ctx;

	return !strcmp(resources_unit(f->d->res, proc), f->unit);
}

int api_parse_filter(struct daemon *d, struct json_object *req, struct api_filter *f, struct api_err *err)
{
	const char *unit = NULL, *comm = NULL;
	char msg[256];
	int64_t pid = 0;

	memset(f, 0, sizeof(*f));
	f->d = d;
	if (proto_get_int(req, "pid", 1, 4194304, &pid, msg, sizeof(msg)) ||
	    proto_get_string(req, "unit", &unit, msg, sizeof(msg)) ||
	    proto_get_string(req, "comm", &comm, msg, sizeof(msg)))
		return seterr(err, PROFD_E_BAD_ARGUMENT, "%s", msg);
	if ((unit && strlen(unit) >= sizeof(f->unit)) || (comm && strlen(comm) >= sizeof(f->comm)))
		return seterr(err, PROFD_E_BAD_ARGUMENT, "unit or comm: longer than %zu bytes", sizeof(f->unit) - 1);
	f->pq.tgid = (uint32_t)pid;
	if (comm) {
		snprintf(f->comm, sizeof(f->comm), "%s", comm);
		f->pq.comm = f->comm;
	}
	if (unit) {
		snprintf(f->unit, sizeof(f->unit), "%s", unit);
		f->pq.accept = unit_accept;
		f->pq.accept_ctx = f;
	}
	return 0;
}

int api_get_flag(struct json_object *req, const char *key, int *ret, struct api_err *err)
{
	struct json_object *v;

	*ret = 0;
	if (!json_object_object_get_ex(req, key, &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return seterr(err, PROFD_E_BAD_ARGUMENT, "%s: must be true or false", key);
	*ret = json_object_get_boolean(v);
	return 0;
}

int api_window_query(const struct profile_src *src, const struct api_window *w, const struct pq_filter *f,
		     struct pq_result *q)
{
	if (w->absolute)
		return profile_query_range(src, w->from_ns, w->to_ns, f, q);
	return profile_query(src, w->span, f, q);
}

/* ---- metric tables (csv, report) ---- */

struct mproc {
	uint32_t proc;
	uint64_t samples;
	int have_wc;
	struct wcounters wc;
};

struct mcollect {
	struct mproc *v;
	size_t n, cap;
	int32_t *idx;          /* proc index -> v index, -1 */
	uint32_t nidx;
	const struct profile_src *src;
	const struct pq_filter *f;
	int have_sys;
	struct wcounters sys;
	int oom;
};

static struct mproc *mproc_for(struct mcollect *c, uint32_t proc)
{
	uint32_t i = proctable_id_index(proc);

	if (i < PROC_ID_FIRST || i >= c->nidx || !proctable_info(c->src->procs, proc))
		return NULL;
	if (c->idx[i] >= 0 && c->v[c->idx[i]].proc == proc)
		return &c->v[c->idx[i]];
	if (!pq_filter_match(c->src, c->f, proc))
		return NULL;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct mproc *nv = realloc(c->v, cap * sizeof(*nv));

		if (!nv) {
			c->oom = 1;
			return NULL;
		}
		c->v = nv;
		c->cap = cap;
	}
	memset(&c->v[c->n], 0, sizeof(c->v[c->n]));
	c->v[c->n].proc = proc;
	c->idx[i] = (int32_t)c->n;
	return &c->v[c->n++];
}

static void on_samples(uint32_t proc, uint32_t stack, uint64_t count, void *ctx)
{
	struct mproc *m = mproc_for(ctx, proc);

	(void)stack;
	if (m)
		m->samples += count;
}

static void on_counters(uint32_t proc, const struct wcounters *wc, void *ctx)
{
	struct mcollect *c = ctx;
	struct mproc *m;

	if (proc == PROC_ID_SYSTEM) {
		c->have_sys = 1;
		c->sys = *wc;
		return;
	}
	m = mproc_for(c, proc);

	if (m) {
		m->have_wc = 1;
		m->wc = *wc;
	}
}

/* The model's process index for a store process id (added if new). */
static int proc_index(struct profile *p, const struct profile_src *src, uint32_t proc, uint32_t **map, size_t *nmap)
{
	uint32_t i = proctable_id_index(proc);
	const struct proc_info *pi;
	int idx;

	if (i < *nmap && (*map)[i] != UINT32_MAX)
		return (int)(*map)[i];
	pi = proctable_info(src->procs, proc);
	idx = profile_add_proc(p, pi ? pi->tgid : 0, pi ? pi->start_ns : 0, pi ? pi->comm : NULL,
			       pi ? pi->cmdline : NULL);
	if (idx >= 0 && i < *nmap)
		(*map)[i] = (uint32_t)idx;
	return idx;
}

/* One set of rows (a slot, or the whole window) into t. */
static int fill_rows(struct daemon *d, struct profile *p, struct profile_table *t, const struct profile_src *src,
		     const struct pq_filter *f, uint64_t from, uint64_t to, int live_gauges, uint32_t **map,
		     size_t *nmap, const struct metric **cols, size_t ncols, double *ret_host_cpu)
{
	struct mcollect c = { .src = src, .f = f, .nidx = proctable_id_bound(d->procs) };
	struct window_range wr;
	const struct res_system *sys = resources_system(d->res);
	double secs = (double)(to - from) / 1e9;
	double *vals = malloc((ncols ? ncols : 1) * sizeof(*vals));
	int r = 0;

	c.idx = malloc(c.nidx * sizeof(*c.idx));
	if (!c.idx || !vals) {
		free(c.idx);
		free(vals);
		return -ENOMEM;
	}
	memset(c.idx, 0xff, c.nidx * sizeof(*c.idx));
	if (window_query_range(src->win, from, to, on_samples, &c, &wr) < 0 ||
	    window_query_counters_range(src->win, from, to, on_counters, &c, &wr) < 0)
		r = -ENOMEM;
	if (!r && c.oom)
		r = -ENOMEM;
	for (size_t i = 0; !r && i < c.n; i++) {
		struct mproc *m = &c.v[i];
		struct res_gauges g;
		int have_g = live_gauges && !resources_gauges(d->res, m->proc, &g);
		struct metrics_process mp;
		int idx;

		if (!m->samples && !m->have_wc && !have_g)
			continue;
		metrics_process_compute(&(struct metrics_process_in){
			.wc = m->have_wc ? &m->wc : NULL,
			.g = have_g ? &g : NULL,
			.samples = m->samples,
			.secs = secs,
			.frequency = src->frequency,
			.exact_cpu = resources_exact_cpu(d->res),
			.mem_total = sys->mem_ok ? sys->mem.total : 0,
		}, &mp);
		for (size_t k = 0; k < ncols; k++)
			vals[k] = metric_value(cols[k], &mp);
		idx = proc_index(p, src, m->proc, map, nmap);
		if (idx < 0 || profile_table_add(p, t, (uint32_t)idx, from, to - from, vals) < 0)
			r = -ENOMEM;
	}
	if (ret_host_cpu)
		*ret_host_cpu = c.have_sys && c.sys.sum[WC_OFFCPU_NS]
					? 100.0 * (double)c.sys.sum[WC_CPU_NS] / (double)c.sys.sum[WC_OFFCPU_NS]
					: NAN;
	free(vals);
	free(c.v);
	free(c.idx);
	return r;
}

int api_profile_metrics(struct daemon *d, struct profile *p, const struct profile_src *src,
			const struct pq_filter *f, int series)
{
	size_t nall, ncols = 0;
	const struct metric *all = metrics_all(&nall);
	const struct metric **cols = malloc(nall * sizeof(*cols));
	const char **names = malloc(nall * sizeof(*names)), **units = malloc(nall * sizeof(*units));
	uint32_t *map = NULL;
	size_t nmap = proctable_id_bound(d->procs);
	uint64_t from = p->from_ns, to = p->to_ns;
	double host_cpu = NAN;
	int r = 0;

	if (!cols || !names || !units)
		goto oom;
	for (size_t i = 0; i < nall; i++)
		if (all[i].scope == METRIC_PROCESS && all[i].json) {
			cols[ncols] = &all[i];
			names[ncols] = all[i].json;
			units[ncols++] = all[i].unit;
		}
	map = malloc(nmap * sizeof(*map));
	if (!map)
		goto oom;
	memset(map, 0xff, nmap * sizeof(*map));
	/* the profile's own processes keep their indexes */
	if (profile_table_new(p, names, units, ncols, &p->totals) < 0)
		goto oom;
	r = fill_rows(d, p, p->totals, src, f, from, to, 1, &map, &nmap, cols, ncols, &host_cpu);
	if (!r && series) {
		uint64_t slot = window_range_slot_ns(src->win, from);

		if (profile_table_new(p, names, units, ncols, &p->series) < 0)
			goto oom;
		for (uint64_t s = from / slot * slot; !r && slot && s < to; s += slot)
			r = fill_rows(d, p, p->series, src, f, s < from ? from : s, s + slot > to ? to : s + slot, 0,
				      &map, &nmap, cols, ncols, NULL);
	}
	if (!r) {
		/* the host: the figures `top` shows in its header */
		const struct res_system *s = resources_system(d->res);

		/* CPU over the window from the system counters, as `top` */
		profile_add_host_metric(p, "host.cpu_pct", "percent",
					!isnan(host_cpu) ? host_cpu : s->cpu_pct >= 0 ? s->cpu_pct : NAN);
		if (s->mem_ok) {
			profile_add_host_metric(p, "host.mem_total_bytes", "bytes", (double)s->mem.total);
			profile_add_host_metric(p, "host.mem_available_bytes", "bytes", (double)s->mem.available);
		}
		if (s->load_ok) {
			profile_add_host_metric(p, "host.load1", "", s->load.load1);
			profile_add_host_metric(p, "host.load5", "", s->load.load5);
		}
		profile_add_host_metric(p, "host.cpus", "", (double)sampler_ncpus(d->sampler));
	}
	free(map);
	free(cols);
	free(names);
	free(units);
	return r;
oom:
	free(map);
	free(cols);
	free(names);
	free(units);
	return -ENOMEM;
}
