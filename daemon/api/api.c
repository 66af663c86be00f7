/* Socket API handlers: status, top, export. They read the store and render
 * JSON or folded text; they never write files (the CLI does). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <json-c/json.h>

#include "api/api.h"
#include "daemon.h"
#include "common/fmt.h"
#include "collect/gpu.h"
#include "store/proctable.h"
#include "collect/resources.h"
#include "common/proto.h"
#include "api/server.h"
#include "store/stacks.h"
#include "symbols/symbolizer.h"
#include "store/window.h"
#include "common/clock.h"


static void collect(uint32_t proc, uint32_t stack, uint64_t count, void *ctx)
{
	struct entries *e = ctx;

	if (e->only_tgid) {
		const struct proc_info *p = proctable_info(e->d->procs, proc);
		if (!p || p->tgid != e->only_tgid)
			return;
	}
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 256;
		struct entry *v = realloc(e->v, cap * sizeof(*v));
		if (!v) {
			e->oom = 1;
			return;
		}
		e->v = v;
		e->cap = cap;
	}
	e->v[e->n++] = (struct entry){ proc, stack, count };
}

/* Run a window query for [data_until - span, data_until]. Returns the span
 * actually covered by data (ns) or a negative errno. */
int64_t api_query(struct daemon *d, uint64_t span, uint32_t tgid, struct entries *e)
{
	struct window_range r;
	uint64_t now = d->data_until_ns, from;
	int n;

	memset(e, 0, sizeof(*e));
	e->d = d;
	e->only_tgid = tgid;
	n = window_query(d->win, now, span, collect, e, &r);
	if (n < 0)
		return n;
	if (e->oom)
		return -ENOMEM;
	/* Covered time: the window, cut at the daemon's start. (r.from_ns is
	 * the oldest slot holding data, which on an idle host is later than
	 * the window's start: using it would inflate CPU %.) */
	from = now > span ? now - span : 0;
	if (from < d->start_boot_ns)
		from = d->start_boot_ns;
	return now > from ? (int64_t)(now - from) : 0;
}

/* ---- frame rendering ---- */

static int is_root_symbol(const char *name)
{
	static const char *roots[] = { "_start", "__libc_start_main", "__libc_start_call_main",
				       "start_thread", "clone", "clone3", "__clone", "__clone3",
				       "thread_start", "_dl_start_user", NULL };
	for (int i = 0; roots[i]; i++)
		if (!strcmp(name, roots[i]))
			return 1;
	return 0;
}

/* Name of one frame. Return addresses (all but the leaf of each part) are
 * looked up at addr-1 so a call at a function's end names the caller. */
void api_frame_name(struct daemon *d, const struct frame *f, int is_leaf, char *buf, size_t n)
{
	struct sym_result r;
	uint64_t addr = f->addr;
	int err;

	if (!is_leaf && addr)
		addr--;
	err = symbolizer_lookup(d->sym, f->obj, addr, &r);
	if (!err && r.name) {
		snprintf(buf, n, "%s", r.name);
	} else if (f->obj == SYM_OBJ_UNKNOWN) {
		snprintf(buf, n, "[unknown]");
	} else {
		const char *m = (!err && r.module) ? r.module : symbolizer_object_name(d->sym, f->obj);
		if (m && strcmp(m, "[unknown]"))
			snprintf(buf, n, "%s+0x%llx", m, (unsigned long long)f->addr);
		else
			snprintf(buf, n, "[unknown]");
	}
}

struct rframe {
	char name[NAME_MAX_LEN];
	const char *module;
	int kernel;
	uint64_t addr; /* file offset (user) or kernel address */
};

/* Render a stack outermost first: user frames, then kernel frames. Junk
 * frames above a recognised root (frame-pointer walks through code built
 * without frame pointers) are cut; a user stack that reaches no root is
 * reported truncated. Returns the number of frames in out[]. */
static size_t render_stack(struct daemon *d, uint32_t id, struct rframe *out, size_t max, int *ret_truncated)
{
	const struct frame *fr;
	uint32_t flags = 0;
	int n = stacks_get(d->stacks, id, &fr, &flags);
	size_t k = 0, nk = 0, nu;
	int root = -1;

	*ret_truncated = 0;
	if (n <= 0)
		return 0;
	while (nk < (size_t)n && (fr[nk].flags & STACK_FRAME_KERNEL))
		nk++;
	nu = n - nk;
	/* User frames, outermost (highest index) first. */
	if (nu) {
		for (int i = (int)n - 1; i >= (int)nk && i >= (int)n - 3; i--) {
			char tmp[NAME_MAX_LEN];
			api_frame_name(d, &fr[i], i == (int)nk, tmp, sizeof(tmp));
			if (is_root_symbol(tmp)) {
				root = i;
				break;
			}
		}
		if (root < 0)
			*ret_truncated = 1;
		if (flags & STACK_F_TRUNCATED)
			*ret_truncated = 1;
		for (int i = root >= 0 ? root : (int)n - 1; i >= (int)nk && k < max; i--, k++) {
			api_frame_name(d, &fr[i], i == (int)nk, out[k].name, sizeof(out[k].name));
			out[k].module = symbolizer_object_name(d->sym, fr[i].obj);
			out[k].kernel = 0;
			out[k].addr = fr[i].addr;
		}
	}
	for (int i = (int)nk - 1; i >= 0 && k < max; i--, k++) {
		api_frame_name(d, &fr[i], i == 0, out[k].name, sizeof(out[k].name));
		out[k].module = "vmlinux";
		out[k].kernel = 1;
		out[k].addr = fr[i].addr;
	}
	return k;
}

/* ---- status ---- */

void api_add_u64(struct json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_uint64(v));
}

void api_add_f(struct json_object *o, const char *k, double v)
{
	json_object_object_add(o, k, json_object_new_double(v));
}

static uint64_t self_rss(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "re");

	if (!f)
		return 0;
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = 0;
	fclose(f);
	return (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE);
}

static void handle_status(struct daemon *d, struct server_reply *reply)
{
	struct json_object *o = json_object_new_object(), *x, *y, *tiers;
	struct sampler_stats ss;
	struct proctable_stats ps;
	struct stacks_stats st;
	struct window_stats ws;
	struct symbolizer_stats sy;
	struct server_stats sv;
	struct rusage ru;
	uint64_t now = clock_boot_ns();

	sampler_get_stats(d->sampler, &ss);
	proctable_get_stats(d->procs, &ps);
	stacks_get_stats(d->stacks, &st);
	window_get_stats(d->win, &ws);
	symbolizer_get_stats(d->sym, &sy);
	server_get_stats(d->server, &sv);
	getrusage(RUSAGE_SELF, &ru);

	json_object_object_add(o, "version", json_object_new_string(PROFD_VERSION));
	api_add_u64(o, "pid", (uint64_t)getpid());
	api_add_f(o, "uptime_s", (double)(now - d->start_boot_ns) / 1e9);

	x = json_object_new_object();
	api_add_u64(x, "frequency", sampler_frequency(d->sampler));
	json_object_object_add(x, "event", json_object_new_string(sampler_event_name(d->sampler)));
	api_add_u64(x, "cpus", sampler_ncpus(d->sampler));
	api_add_f(x, "tick_s", (double)d->cfg.tick_ns / 1e9);
	json_object_object_add(o, "sampling", x);

	x = json_object_new_object();
	api_add_u64(x, "taken", ss.taken);
	api_add_u64(x, "idle", ss.idle);
	api_add_u64(x, "drained", ss.drained);
	/* emitted but not yet consumed: in the ring buffer right now */
	api_add_u64(x, "pending", ss.emitted > ss.drained ? ss.emitted - ss.drained : 0);
	y = json_object_new_object();
	api_add_u64(y, "ringbuf_full", ss.dropped_ringbuf);
	api_add_u64(y, "proc_events_lost", ss.proc_events_lost);
	json_object_object_add(x, "dropped", y);
	api_add_u64(x, "kstack_errors", ss.kstack_err);
	api_add_u64(x, "ustack_errors", ss.ustack_err);
	api_add_u64(x, "malformed", ss.malformed);
	api_add_u64(x, "proc_events", ss.proc_events);
	json_object_object_add(o, "samples", x);

	x = json_object_new_object();
	api_add_u64(x, "tracked", ps.procs);
	api_add_u64(x, "alive", ps.alive);
	api_add_u64(x, "table_full", ps.full_drops);
	api_add_u64(x, "collected", ps.collected);
	api_add_u64(x, "read_errors", ps.proc_read_errors);
	api_add_u64(x, "expired", ps.expired);
	api_add_u64(x, "limit", d->cfg.max_procs);
	json_object_object_add(o, "processes", x);

	x = json_object_new_object();
	api_add_u64(x, "interned", st.stacks);
	api_add_u64(x, "bytes", st.bytes);
	api_add_u64(x, "table_full", st.full_drops);
	api_add_u64(x, "collected", st.collected);
	api_add_u64(x, "limit", d->cfg.max_stacks);
	json_object_object_add(o, "stacks", x);

	x = json_object_new_object();
	api_add_u64(x, "bytes", ws.bytes);
	api_add_u64(x, "limit_bytes", d->cfg.store_max_bytes);
	api_add_u64(x, "entries", ws.entries);
	api_add_u64(x, "coarsened_entries", ws.coarsened_entries);
	api_add_u64(x, "dropped_slots", ws.dropped_slots);
	tiers = json_object_new_array();
	for (int i = 0; i < 2; i++) {
		y = json_object_new_object();
		api_add_f(y, "slot_s", (double)(i ? d->cfg.coarse_slot_ns : d->cfg.fine_slot_ns) / 1e9);
		api_add_u64(y, "slots", i ? d->cfg.coarse_slots : d->cfg.fine_slots);
		api_add_u64(y, "held_slots", ws.slots[i]);
		api_add_f(y, "held_s", (double)ws.held_ns[i] / 1e9);
		json_object_array_add(tiers, y);
	}
	json_object_object_add(x, "tiers", tiers);
	json_object_object_add(o, "store", x);

	x = json_object_new_object();
	api_add_u64(x, "objects", sy.objects);
	api_add_u64(x, "objects_loaded", sy.objects_loaded);
	api_add_u64(x, "cache_bytes", sy.cache_bytes);
	api_add_u64(x, "cache_limit_bytes", d->cfg.symcache_bytes);
	api_add_u64(x, "evictions", sy.evictions);
	api_add_u64(x, "load_failures", sy.load_failures);
	api_add_u64(x, "pending", sy.pending);
	api_add_u64(x, "objects_full", sy.objects_full);
	api_add_u64(x, "kernel_symbols", sy.kernel_symbols);
	json_object_object_add(o, "symbols", x);

	x = json_object_new_object();
	api_add_u64(x, "clients", sv.clients);
	api_add_u64(x, "accepted", sv.accepted);
	api_add_u64(x, "requests", sv.requests);
	api_add_u64(x, "errors", sv.errors);
	api_add_u64(x, "rejected_clients", sv.rejected_clients);
	api_add_u64(x, "oversized", sv.oversized);
	api_add_u64(x, "idle_closed", sv.idle_closed);
	api_add_u64(x, "slow_closed", sv.slow_closed);
	api_add_u64(x, "limit_clients", d->cfg.max_clients);
	json_object_object_add(o, "server", x);

	{
		struct res_stats rs;
		struct gpu *gpu = resources_gpu(d->res);

		resources_get_stats(d->res, &rs);
		x = json_object_new_object();
		json_object_object_add(x, "cpu_source", json_object_new_string(resources_exact_cpu(d->res) ? "sched" : "samples"));
		api_add_u64(x, "kstats_parts", rs.kstats_parts);
		api_add_u64(x, "kstats_procs", rs.kstats_procs);
		api_add_u64(x, "kstats_exit_records", rs.kstats_exit_records);
		api_add_u64(x, "kstats_dropped", rs.kstats_dropped);
		api_add_u64(x, "proc_reads", rs.proc_reads);
		api_add_u64(x, "proc_read_failures", rs.proc_read_fail);
		api_add_u64(x, "last_tick_procs", rs.last_tick_procs);
		api_add_f(x, "last_tick_ms", (double)rs.last_tick_ns / 1e6);
		api_add_f(x, "max_tick_ms", (double)rs.max_tick_ns / 1e6);
		api_add_u64(x, "states", rs.states);
		json_object_object_add(x, "gpu", json_object_new_string(gpu ? gpu_state(gpu) : "unavailable"));
		json_object_object_add(o, "resources", x);
	}
	api_add_u64(json_object_object_get(o, "store"), "counter_records", ws.counter_records);

	x = json_object_new_object();
	api_add_u64(x, "rss_bytes", self_rss());
	api_add_f(x, "cpu_s", (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
			      (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	api_add_u64(x, "ticks", d->ticks);
	api_add_u64(x, "tick_overruns", d->tick_overruns);
	api_add_u64(x, "reloads", d->reloads);
	api_add_u64(x, "reload_failures", d->reload_failures);
	json_object_object_add(o, "daemon", x);

	server_reply_ok(reply, o);
}

int api_parse_common(struct json_object *req, uint64_t def_window, uint64_t *span, int64_t *pid, struct server_reply *reply)
{
	char msg[256];

	*span = def_window;
	*pid = 0;
	if (proto_get_duration(req, "window", NSEC_PER_SEC / 10, MAX_WINDOW_NS, span, msg, sizeof(msg)) ||
	    proto_get_int(req, "pid", 1, 4194304, pid, msg, sizeof(msg))) {
		server_reply_error(reply, PROFD_E_BAD_ARGUMENT, "%s", msg);
		return -EINVAL;
	}
	return 0;
}

/* ---- export ---- */

struct fold {
	char *line; /* "comm;a;b;c" */
	uint64_t count;
};

static int cmp_fold(const void *a, const void *b)
{
	return strcmp(((const struct fold *)a)->line, ((const struct fold *)b)->line);
}

/* Folded line for one entry into buf; returns its length or -E2BIG. */
static int fold_line(struct daemon *d, const struct entry *en, char *buf, size_t n, struct rframe *fr, size_t maxfr)
{
	const struct proc_info *p = proctable_info(d->procs, en->proc);
	int trunc;
	size_t k = render_stack(d, en->stack, fr, maxfr, &trunc);
	size_t len;

	len = (size_t)snprintf(buf, n, "%s", p ? p->comm : "[expired]");
	/* folded format separates frames by ';': keep names free of it */
	for (size_t i = 0; i < len; i++)
		if (buf[i] == ';' || buf[i] == ' ')
			buf[i] = '_';
	if (trunc && len < n)
		len += snprintf(buf + len, n - len, ";[truncated]");
	if (en->stack == STACK_ID_OVERFLOW && len < n)
		len += snprintf(buf + len, n - len, ";[stack table full]");
	if (en->stack == STACK_ID_COARSENED && len < n)
		len += snprintf(buf + len, n - len, ";[coarsened]");
	for (size_t i = 0; i < k && len < n; i++) {
		size_t start = len + 1;
		len += snprintf(buf + len, n - len, ";%s%s", fr[i].name, fr[i].kernel ? "_[k]" : "");
		for (size_t j = start; j < len && j < n; j++)
			if (buf[j] == ';' || buf[j] == ' ')
				buf[j] = '_';
	}
	if (len >= n)
		return -E2BIG;
	return (int)len;
}

static void export_folded(struct daemon *d, struct entries *e, int64_t covered, struct server_reply *reply)
{
	struct rframe *fr = malloc(sizeof(*fr) * (PROFD_MAX_KSTACK + PROFD_MAX_USTACK));
	size_t cap = 65536, bufsz = (PROFD_MAX_KSTACK + PROFD_MAX_USTACK + 2) * (NAME_MAX_LEN + 8);
	char *line = malloc(bufsz);
	struct fold *folds = calloc(e->n ? e->n : 1, sizeof(*folds));
	size_t nf = 0, len = 0, uniq = 0;
	uint64_t samples = 0;
	char *out = malloc(cap);
	struct json_object *o;

	if (!fr || !line || !folds || !out)
		goto oom;
	for (size_t i = 0; i < e->n; i++) {
		int l = fold_line(d, &e->v[i], line, bufsz, fr, PROFD_MAX_KSTACK + PROFD_MAX_USTACK);
		if (l < 0)
			continue;
		folds[nf].line = strdup(line);
		if (!folds[nf].line)
			goto oom;
		folds[nf].count = e->v[i].count;
		samples += e->v[i].count;
		nf++;
	}
	qsort(folds, nf, sizeof(*folds), cmp_fold);
	for (size_t i = 0; i < nf;) {
		size_t j = i + 1;
		uint64_t c = folds[i].count;
		size_t need;

		while (j < nf && !strcmp(folds[j].line, folds[i].line))
			c += folds[j++].count;
		need = strlen(folds[i].line) + 24;
		if (len + need > cap) {
			while (len + need > cap)
				cap *= 2;
			char *n2 = realloc(out, cap);
			if (!n2)
				goto oom;
			out = n2;
		}
		len += snprintf(out + len, cap - len, "%s %llu\n", folds[i].line, (unsigned long long)c);
		uniq++;
		i = j;
	}
	o = json_object_new_object();
	api_add_f(o, "window_s", (double)covered / 1e9);
	api_add_u64(o, "samples", samples);
	api_add_u64(o, "stacks", uniq);
	server_reply_payload(reply, o, out, len, "text/plain");
	goto done;
oom:
	server_reply_error(reply, PROFD_E_INTERNAL, "out of memory");
done:
	for (size_t i = 0; i < nf; i++)
		free(folds[i].line);
	free(folds);
	free(out);
	free(line);
	free(fr);
}

static void export_json(struct daemon *d, struct entries *e, int64_t covered, struct server_reply *reply)
{
	struct rframe *fr = malloc(sizeof(*fr) * (PROFD_MAX_KSTACK + PROFD_MAX_USTACK));
	struct json_object *o, *arr;
	uint64_t samples = 0;

	if (!fr) {
		server_reply_error(reply, PROFD_E_INTERNAL, "out of memory");
		return;
	}
	o = json_object_new_object();
	arr = json_object_new_array();
	for (size_t i = 0; i < e->n; i++) {
		const struct proc_info *p = proctable_info(d->procs, e->v[i].proc);
		struct json_object *x = json_object_new_object(), *frames = json_object_new_array();
		int trunc;
		size_t k = render_stack(d, e->v[i].stack, fr, PROFD_MAX_KSTACK + PROFD_MAX_USTACK, &trunc);

		api_add_u64(x, "pid", p ? p->tgid : 0);
		json_object_object_add(x, "comm", json_object_new_string(p ? p->comm : "[expired]"));
		api_add_u64(x, "count", e->v[i].count);
		json_object_object_add(x, "truncated", json_object_new_boolean(trunc));
		for (size_t j = 0; j < k; j++) {
			struct json_object *f = json_object_new_object();
			json_object_object_add(f, "name", json_object_new_string(fr[j].name));
			json_object_object_add(f, "module", json_object_new_string(fr[j].module ? fr[j].module : ""));
			json_object_object_add(f, "kernel", json_object_new_boolean(fr[j].kernel));
			api_add_u64(f, "addr", fr[j].addr);
			json_object_array_add(frames, f);
		}
		json_object_object_add(x, "frames", frames);
		json_object_array_add(arr, x);
		samples += e->v[i].count;
	}
	api_add_f(o, "window_s", (double)covered / 1e9);
	api_add_u64(o, "frequency", sampler_frequency(d->sampler));
	api_add_u64(o, "samples", samples);
	json_object_object_add(o, "stacks", arr);
	free(fr);
	server_reply_ok(reply, o);
}

static void handle_export(struct daemon *d, struct json_object *req, struct server_reply *reply)
{
	struct entries e;
	const char *format = NULL;
	uint64_t span;
	int64_t pid, covered;
	char msg[256];

	if (api_parse_common(req, 30 * NSEC_PER_SEC, &span, &pid, reply))
		return;
	if (proto_get_string(req, "format", &format, msg, sizeof(msg))) {
		server_reply_error(reply, PROFD_E_BAD_ARGUMENT, "%s", msg);
		return;
	}
	if (!format) {
		server_reply_error(reply, PROFD_E_BAD_REQUEST, "export needs \"format\": \"folded\" or \"json\"");
		return;
	}
	if (strcmp(format, "folded") && strcmp(format, "json")) {
		server_reply_error(reply, PROFD_E_BAD_ARGUMENT, "format: \"%s\" is not one of folded, json", format);
		return;
	}
	covered = api_query(d, span, (uint32_t)pid, &e);
	if (covered < 0) {
		server_reply_error(reply, PROFD_E_INTERNAL, "window query: %s", strerror((int)-covered));
	} else if (!strcmp(format, "folded")) {
		export_folded(d, &e, covered, reply);
	} else {
		export_json(d, &e, covered, reply);
	}
	free(e.v);
}

void api_handle(void *userdata, const char *cmd, struct json_object *req, struct server_reply *reply)
{
	struct daemon *d = userdata;

	if (!strcmp(cmd, "status"))
		handle_status(d, reply);
	else if (!strcmp(cmd, "top"))
		api_top(d, req, reply);
	else if (!strcmp(cmd, "export"))
		handle_export(d, req, reply);
	else
		server_reply_error(reply, PROFD_E_UNKNOWN_CMD, "unknown command \"%s\" (known: status, top, export)", cmd);
}
