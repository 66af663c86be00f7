/* SPDX-License-Identifier: GPL-2.0-only */
/* The pushers, see push.h. */
#include "push/push.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "base/log.h"
#include "base/util.h"
#include "collect/resources.h"
#include "common/clock.h"
#include "net/http.h"
#include "net/target.h"
#include "profile/format.h"
#include "profile/profile.h"
#include "push/encode.h"
#include "push/scrape.h"
#include "push/series.h"
#include "store/proctable.h"
#include "store/window.h"
#include "common/sort.h"

/* The profile format Pyroscope gets: pprof (stacks as locations with
 * their mappings and build-ids, a sample type of its own), in a
 * multipart/form-data body as Pyroscope's /ingest takes it: the profile
 * in a part named "profile", how to read its sample types in
 * "sample_type_config". The boundary is fixed (spooled payloads outlive
 * the process); a body that contains it is not sent (counted). */
#define PYROSCOPE_FORMAT "pprof"
#define PYROSCOPE_BOUNDARY "profd-pprof-8f3a1c6e0b9d4e27a5c1f0d3b6e9a248"
/* Our sample types: [samples/count, cpu/nanoseconds]; the samples become
 * the application APP.cpu{...}, as the folded format made them. */
#define PYROSCOPE_SAMPLE_TYPES \
	"{\"samples\": {\"units\": \"samples\", \"aggregation\": \"sum\", \"display-name\": \"cpu\", \"sampled\": true}}"

/* Largest payload a pusher builds (before compression): past it the
 * interval is skipped and counted, never half-sent. */
#define PUSH_MAX_PAYLOAD (64u << 20)

/* Credential files are a line; anything larger is not one. */
#define CRED_MAX 4096

enum kind { K_REMOTE_WRITE, K_PUSHGATEWAY, K_OTLP, K_PYROSCOPE };

struct ptarget {
	struct push_conf c;
	enum kind kind;
	struct net_target *nt;
	struct push_accum *acc;
	uint64_t last_until;      /* end of the last interval pushed, boot ns; 0: none */
	uint64_t intervals, skipped, encode_errors, capped_gaps;
	struct push_batch last;   /* counts of the last batch (points freed) */
	size_t last_series;
};

struct push {
	struct net *net;
	int own_net;              /* made here (no shared one given): freed here */
	struct ptarget *t;
	size_t nt;
	char host[256];
	uint64_t fine_slot_ns;
	struct scrape *scrape;
	struct push_scrape_conf sc;
	struct push_accum *scrape_acc;
	uint64_t scrape_last_until;
	uint64_t scrape_builds;
};

static uint64_t boot_to_unix_ms(uint64_t boot_ns)
{
	uint64_t now_boot = clock_boot_ns(), now_unix = clock_ns(CLOCK_REALTIME);
	uint64_t unix_ns = now_unix - (now_boot > boot_ns ? now_boot - boot_ns : 0);

	return unix_ns / 1000000ull;
}

void push_url_redacted(const char *url, char *buf, size_t n)
{
	const char *p = strstr(url, "://"), *host = p ? p + 3 : url, *at, *q;
	size_t end;

	/* drop user:password@ (refused by the config, but be safe) and the
	 * query (tokens sometimes travel there) */
	at = strchr(host, '@');
	q = strpbrk(host, "?#");
	if (at && (!q || at < q))
		host = at + 1;
	end = q ? (size_t)(q - host) : strlen(host);
	snprintf(buf, n, "%.*s%.*s%s", p ? (int)(p + 3 - url) : 0, url, (int)end, host, q ? "?..." : "");
}

static int urlenc(char *dst, size_t n, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t j = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		    c == '_' || c == '.' || c == '~') {
			if (j + 1 >= n)
				return -ENOSPC;
			dst[j++] = (char)c;
		} else {
			if (j + 3 >= n)
				return -ENOSPC;
			dst[j++] = '%';
			dst[j++] = hex[c >> 4];
			dst[j++] = hex[c & 15];
		}
	}
	dst[j] = '\0';
	return (int)j;
}

/* Pyroscope label values may not hold its own syntax characters. */
static void label_value(char *dst, size_t n, const char *s)
{
	size_t j = 0;

	for (; *s && j + 1 < n; s++)
		dst[j++] = (*s == ',' || *s == '{' || *s == '}' || *s == '=' || *s == ' ') ? '_' : *s;
	dst[j] = '\0';
}

int push_pyroscope_query(char *buf, size_t n, const char *app, const char *host, const char *label,
			 const char *value, uint64_t from_s, uint64_t until_s, uint32_t rate, const char *format)
{
	char name[512], enc[1600], h[256], v[256];
	int w;

	label_value(h, sizeof(h), host);
	label_value(v, sizeof(v), value);
	/* with pprof the name is a prefix: Pyroscope appends the sample
	 * type's display name (.cpu) */
	w = snprintf(name, sizeof(name), "%s%s{host=%s,%s=%s}", app, strcmp(format, "pprof") ? ".cpu" : "", h, label,
		     v);
	if (w < 0 || (size_t)w >= sizeof(name) || urlenc(enc, sizeof(enc), name) < 0)
		return -ENOSPC;
	w = snprintf(buf, n,
		     "?name=%s&from=%" PRIu64 "&until=%" PRIu64 "&sampleRate=%u&spyName=profd&units=samples"
		     "&aggregationType=sum&format=%s",
		     enc, from_s, until_s, rate, format);
	return w < 0 || (size_t)w >= n ? -ENOSPC : w;
}

/* A credential: the file's first line, without trailing blanks. Its
 * content is never logged; only the file's name is, on failure. */
static int read_secret(const char *path, char **ret)
{
	struct stat st;
	char buf[CRED_MAX + 1];
	ssize_t n;
	int fd = util_open_regular(path, &st);

	if (fd < 0)
		return fd;
	if (st.st_mode & S_IROTH)
		log_warn("push: %s is readable by every user", path);
	n = read(fd, buf, CRED_MAX + 1);
	close(fd);
	if (n < 0)
		return -errno;
	if (n > CRED_MAX)
		return -EFBIG;
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	n = (ssize_t)strlen(buf);
	while (n && (buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		buf[--n] = '\0';
	if (!n)
		return -ENODATA;
	*ret = strdup(buf);
	explicit_bzero(buf, sizeof(buf));
	return *ret ? 0 : -ENOMEM;
}

static int kind_of(const char *type, enum kind *k)
{
	static const char *const names[] = { "remote_write", "pushgateway", "otlp", "pyroscope" };

	for (int i = 0; i < 4; i++)
		if (!strcmp(type, names[i])) {
			*k = (enum kind)i;
			return 0;
		}
	return -EINVAL;
}

static int target_build(struct push *p, struct ptarget *t, const char *state_dir)
{
	static const char *const rw_headers[] = { "Content-Type: application/x-protobuf", "Content-Encoding: snappy",
						  "X-Prometheus-Remote-Write-Version: 0.1.0" };
	static const char *const text_headers[] = { "Content-Type: text/plain; version=0.0.4" };
	static const char *const otlp_pb[] = { "Content-Type: application/x-protobuf" };
	static const char *const otlp_json[] = { "Content-Type: application/json" };
	static const char *const pyro_headers[] = { "Content-Type: multipart/form-data; boundary=" PYROSCOPE_BOUNDARY };
	const struct push_conf *c = &t->c;
	char *bearer = NULL, *password = NULL, url[PUSH_URL_MAX + 1100];
	struct net_target_opts o = { 0 };
	int r;

	if (kind_of(c->type, &t->kind) < 0)
		return log_err_errno(EINVAL, "push %s: type \"%s\" is not one of remote_write, pushgateway, otlp, "
				     "pyroscope", c->name, c->type);
	o.name = c->name;
	o.method = "POST";
	snprintf(url, sizeof(url), "%s", c->url);
	switch (t->kind) {
	case K_REMOTE_WRITE:
		o.headers = rw_headers;
		o.nheaders = 3;
		break;
	case K_PUSHGATEWAY: {
		char job[200], inst[800];
		size_t ul = strlen(c->url);
		int w;

		/* PUT replaces the whole group: series that ended disappear */
		o.method = "PUT";
		o.headers = text_headers;
		o.nheaders = 1;
		if (urlenc(job, sizeof(job), c->job) < 0 || urlenc(inst, sizeof(inst), p->host) < 0)
			return -EINVAL;
		w = snprintf(url, sizeof(url), "%.*s/metrics/job/%.199s/instance/%.799s",
			     (int)(ul && c->url[ul - 1] == '/' ? ul - 1 : ul), c->url, job, inst);
		if (w < 0 || (size_t)w >= sizeof(url))
			return -ENAMETOOLONG;
		break;
	}
	case K_OTLP:
		o.headers = strcmp(c->encoding, "json") ? otlp_pb : otlp_json;
		o.nheaders = 1;
		break;
	case K_PYROSCOPE:
		o.headers = pyro_headers;
		o.nheaders = 1;
		break;
	}
	o.url = url;
	o.tls.ca_file = c->ca_file[0] ? c->ca_file : NULL;
	o.tls.client_cert = c->client_cert[0] ? c->client_cert : NULL;
	o.tls.client_key = c->client_key[0] ? c->client_key : NULL;
	o.tls.insecure = !c->tls_verify;
	if (c->bearer_token_file[0]) {
		r = read_secret(c->bearer_token_file, &bearer);
		if (r < 0)
			return log_err_errno(r, "push %s: bearer_token_file %s: %m", c->name, c->bearer_token_file);
		o.auth.bearer = bearer;
	}
	if (c->basic_auth_user[0]) {
		o.auth.user = c->basic_auth_user;
		if (c->basic_auth_password_file[0]) {
			r = read_secret(c->basic_auth_password_file, &password);
			if (r < 0) {
				free(bearer);
				return log_err_errno(r, "push %s: basic_auth_password_file %s: %m", c->name,
						     c->basic_auth_password_file);
			}
		}
		o.auth.password = password;
	}
	o.timeout_ms = c->timeout_ms;
	o.queue_max = c->queue_max;
	o.queue_bytes = c->queue_bytes;
	o.state_dir = c->spool ? state_dir : NULL;
	o.spool_bytes = c->spool_bytes;
	o.backoff_min_ms = 1000;
	o.backoff_max_ms = (uint32_t)(c->backoff_max_ns / 1000000ull);
	r = net_target_new(p->net, &o, &t->nt);
	if (bearer) {
		explicit_bzero(bearer, strlen(bearer));
		free(bearer);
	}
	if (password) {
		explicit_bzero(password, strlen(password));
		free(password);
	}
	if (r < 0)
		return log_err_errno(r, "push %s: %m%s", c->name,
				     c->spool && (r == -ELOOP || r == -ENOTDIR) ? " (spool directory is not a directory)" : "");
	if (!c->tls_verify)
		log_warn("push %s: TLS verification is off (tls_verify = no): the receiver is not authenticated",
			 c->name);
	if (t->kind != K_PYROSCOPE && push_accum_new(&t->acc) < 0)
		return -ENOMEM;
	{
		struct net_target_stats st;
		char red[PUSH_URL_MAX];

		net_target_get_stats(t->nt, &st);
		push_url_redacted(url, red, sizeof(red));
		log_info("push %s: %s to %s every %" PRIu64 "s%s%s", c->name, c->type, red, c->interval_ns / UINT64_C(1000000000),
			 c->spool ? ", spooled" : "", st.queued ? " (payloads left by the last run queued)" : "");
	}
	return 0;
}

int push_new(const struct push_opts *o, struct push **ret)
{
	struct push *p = calloc(1, sizeof(*p));
	int r;

	if (!p)
		return -ENOMEM;
	if (o->hostname)
		snprintf(p->host, sizeof(p->host), "%s", o->hostname);
	else if (gethostname(p->host, sizeof(p->host) - 1) < 0)
		snprintf(p->host, sizeof(p->host), "unknown");
	p->fine_slot_ns = o->fine_slot_ns ? o->fine_slot_ns : 1000000000ull;
	if (o->net) {
		p->net = o->net;
	} else {
		r = net_new(o->loop, &p->net);
		if (r < 0) {
			free(p);
			return r;
		}
		p->own_net = 1;
	}
	p->t = calloc(o->ntargets + 1, sizeof(*p->t));
	if (!p->t) {
		push_free(p);
		return -ENOMEM;
	}
	for (size_t i = 0; i < o->ntargets; i++) {
		struct ptarget *t = &p->t[p->nt];

		t->c = o->targets[i];
		if (target_build(p, t, o->state_dir) < 0) {
			log_err("push %s: left out", t->c.name);
			t->nt = net_target_free(t->nt);
			t->acc = push_accum_free(t->acc);
			continue;
		}
		p->nt++;
	}
	if (o->scrape && o->scrape->enabled) {
		p->sc = *o->scrape;
		r = scrape_new(o->loop, p->sc.listen, p->sc.max_clients, &p->scrape);
		if (r < 0) {
			log_err_errno(r, "scrape: listen on %s: %m", p->sc.listen);
			push_free(p);
			return r;
		}
		if (push_accum_new(&p->scrape_acc) < 0) {
			push_free(p);
			return -ENOMEM;
		}
		log_info("scrape: serving /metrics on %s", p->sc.listen);
	}
	*ret = p;
	return 0;
}

struct push *push_free(struct push *p)
{
	if (!p)
		return NULL;
	for (size_t i = 0; i < p->nt; i++) {
		struct net_target_stats st;

		net_target_get_stats(p->t[i].nt, &st);
		if (st.queued && !p->t[i].c.spool)
			log_info("push %s: %" PRIu64 " payloads not delivered are lost (no spool)", p->t[i].c.name,
				 st.queued);
		p->t[i].nt = net_target_free(p->t[i].nt);
		p->t[i].acc = push_accum_free(p->t[i].acc);
	}
	free(p->t);
	p->scrape = scrape_free(p->scrape);
	p->scrape_acc = push_accum_free(p->scrape_acc);
	if (p->own_net)
		net_free(p->net);
	free(p);
	return NULL;
}

/* ---- gathering one interval's per-process figures ---- */

struct gproc {
	uint32_t proc;
	int have_wc, live;
	struct wcounters wc;
	uint64_t samples;
};

struct gather {
	struct gproc *v;
	size_t n, cap;
	int oom;
	int have_sys;
	struct wcounters sys;   /* the system pseudo-process over the interval */
};

static struct gproc *gadd(struct gather *g, uint32_t proc)
{
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 256;
		struct gproc *nv = realloc(g->v, cap * sizeof(*nv));

		if (!nv) {
			g->oom = 1;
			return NULL;
		}
		g->v = nv;
		g->cap = cap;
	}
	memset(&g->v[g->n], 0, sizeof(g->v[g->n]));
	g->v[g->n].proc = proc;
	return &g->v[g->n++];
}

static void on_counters(uint32_t proc, const struct wcounters *c, void *ctx)
{
	struct gather *g = ctx;
	struct gproc *x;

	if (proc == PROC_ID_SYSTEM) {
		g->have_sys = 1;
		g->sys = *c;
		return;
	}
	if (proctable_id_index(proc) < PROC_ID_FIRST)
		return;
	x = gadd(g, proc);
	if (x) {
		x->have_wc = 1;
		x->wc = *c;
	}
}

static int on_live(const struct proc_info *pi, void *ctx)
{
	struct gather *g = ctx;
	struct gproc *x;

	if (!pi->exit_ns && (x = gadd(g, pi->id)))
		x->live = 1;
	return 0;
}

static int cmp_gproc(const void *a, const void *b)
{
	const struct gproc *x = a, *y = b;

	return x->proc < y->proc ? -1 : x->proc > y->proc;
}

static int cmp_entry_proc(const void *a, const void *b)
{
	const struct pq_entry *x = a, *y = b;

	return x->proc < y->proc ? -1 : x->proc > y->proc;
}

/* Per-process figures over (until - span, until]: counters and samples of
 * the interval, gauges now; and the host's (CPU and steal over the
 * interval, the rest as of the last tick) into *host unless in->host
 * gives them. 0 and *ret (free), or -errno. */
static int gather(const struct push_input *in, uint64_t span, struct push_proc **ret, size_t *ret_n,
		  struct metrics_host *host)
{
	const struct profile_src *src = in->src;
	struct gather g = { 0 };
	struct pq_result q = { 0 };
	struct push_proc *out = NULL;
	size_t n = 0, w = 0;
	double secs = (double)span / 1e9;
	int r;

	r = window_query_counters(src->win, src->data_until_ns, span, on_counters, &g, NULL);
	if (r < 0)
		goto done;
	proctable_foreach(src->procs, on_live, &g);
	if (in->host) {
		*host = *in->host;
	} else if (in->res) {
		size_t ndev;
		const struct gpu_device_info *dev = resources_gpu_devices(in->res, &ndev);

		metrics_host_compute(resources_system(in->res), g.have_sys ? &g.sys : NULL, dev, ndev, host);
	}
	r = profile_query(src, span, &(struct pq_filter){ 0 }, &q);
	if (r < 0 || g.oom) {
		r = r < 0 ? r : -ENOMEM;
		goto done;
	}
	/* merge counters and liveness per process */
	qsort_safe(g.v, g.n, sizeof(*g.v), cmp_gproc);
	for (size_t i = 0; i < g.n; i++) {
		if (w && g.v[w - 1].proc == g.v[i].proc) {
			if (g.v[i].have_wc) {
				g.v[w - 1].have_wc = 1;
				g.v[w - 1].wc = g.v[i].wc;
			}
			g.v[w - 1].live |= g.v[i].live;
		} else {
			g.v[w++] = g.v[i];
		}
	}
	g.n = w;
	qsort_safe(q.v, q.n, sizeof(*q.v), cmp_entry_proc);
	for (size_t i = 0, j = 0; i < q.n; i++) {
		while (j < g.n && g.v[j].proc < q.v[i].proc)
			j++;
		if (j < g.n && g.v[j].proc == q.v[i].proc)
			g.v[j].samples += q.v[i].count;
	}
	out = calloc(g.n + 1, sizeof(*out));
	if (!out) {
		r = -ENOMEM;
		goto done;
	}
	for (size_t i = 0; i < g.n; i++) {
		const struct proc_info *pi = proctable_info(src->procs, g.v[i].proc);
		struct res_gauges gg;
		int have_g = in->res && !resources_gauges(in->res, g.v[i].proc, &gg);
		struct push_proc *pp;

		if (!pi)
			continue;
		/* a series needs activity in the interval, or a live process */
		if (!g.v[i].have_wc && !g.v[i].samples && !have_g)
			continue;
		pp = &out[n++];
		pp->pid = pi->tgid;
		snprintf(pp->comm, sizeof(pp->comm), "%s", pi->comm);
		snprintf(pp->unit, sizeof(pp->unit), "%s", in->res ? resources_unit(in->res, g.v[i].proc) : "");
		metrics_process_compute(&(struct metrics_process_in){
			.wc = g.v[i].have_wc ? &g.v[i].wc : NULL,
			.g = have_g && !pi->exit_ns ? &gg : NULL,
			.samples = g.v[i].samples,
			.secs = secs,
			.frequency = src->frequency,
			.exact_cpu = in->exact_cpu,
			.mem_total = in->mem_total,
		}, &pp->m);
	}
	*ret = out;
	*ret_n = n;
	out = NULL;
	r = 0;
done:
	free(out);
	free(g.v);
	pq_result_release(&q);
	return r;
}

/* ---- one interval of one target ---- */

static void policy_of(const struct push_conf *c, struct push_policy *pol)
{
	pol->top_cpu = c->top_cpu;
	pol->top_mem = c->top_mem;
	pol->max_procs = c->max_series_procs;
	pol->units = c->units;
}

static int metrics_payload(struct push *p, struct ptarget *t, const struct push_batch *b, char **body, size_t *len)
{
	struct sink_buf sb;
	int r;

	switch (t->kind) {
	case K_REMOTE_WRITE:
		return push_encode_remote_write(b, p->host, body, len);
	case K_OTLP:
		return push_encode_otlp(b, p->host, t->c.service_name, !strcmp(t->c.encoding, "json"), body, len);
	case K_PUSHGATEWAY:
		sink_buf_init(&sb, PUSH_MAX_PAYLOAD);
		r = push_encode_text(b, p->host, 0, &sb.sink);
		if (r < 0) {
			sink_buf_release(&sb);
			return r;
		}
		*body = sink_buf_steal(&sb, len);
		return *body ? 0 : -ENOMEM;
	default:
		return -EINVAL;
	}
}

static void push_metrics(struct push *p, struct ptarget *t, const struct push_input *in, uint64_t span)
{
	struct push_proc *procs = NULL;
	struct push_policy pol;
	struct push_batch b;
	size_t n = 0, len = 0;
	char *body = NULL;
	uint64_t until = in->src->data_until_ns;
	struct metrics_host host;
	int r;

	r = gather(in, span, &procs, &n, &host);
	if (r < 0) {
		t->encode_errors++;
		log_warn_errno(r, "push %s: reading the interval: %m", t->c.name);
		return;
	}
	policy_of(&t->c, &pol);
	r = push_accum_build(t->acc, &pol, procs, n, in->host || in->res ? &host : NULL, boot_to_unix_ms(until - span),
			     boot_to_unix_ms(until), &b);
	free(procs);
	if (r == 0)
		r = metrics_payload(p, t, &b, &body, &len);
	if (r < 0) {
		t->encode_errors++;
		log_warn_errno(r, "push %s: encoding: %m", t->c.name);
		push_batch_release(&b);
		return;
	}
	t->last = b;
	t->last.series = NULL;
	t->last.points = NULL;
	t->last_series = b.nseries;
	push_batch_release(&b);
	net_target_enqueue(t->nt, NULL, body, len, clock_mono_ms());
	free(body);
}

/* Group key of a process for Pyroscope: its unit (or comm without one). */
static const char *group_of(const struct ptarget *t, const struct push_input *in, uint32_t proc, const char **label)
{
	const struct proc_info *pi = proctable_info(in->src->procs, proc);
	const char *u;

	if (!strcmp(t->c.group_by, "unit") && in->res && (u = resources_unit(in->res, proc)) && u[0]) {
		*label = "unit";
		return u;
	}
	*label = "comm";
	return pi ? pi->comm : "[expired]";
}

struct pgroup {
	char key[PUSH_UNIT_MAX];
	const char *label;
	uint64_t samples;
	struct pq_result q;
};

static int cmp_pgroup(const void *a, const void *b)
{
	const struct pgroup *x = a, *y = b;

	if (x->samples != y->samples)
		return x->samples > y->samples ? -1 : 1;
	return strcmp(x->key, y->key);
}

static int pq_push(struct pq_result *q, const struct pq_entry *e)
{
	if (q->n == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 64;
		struct pq_entry *nv = realloc(q->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		q->v = nv;
		q->cap = cap;
	}
	q->v[q->n++] = *e;
	return 0;
}

int push_pyroscope_body(const void *profile, size_t len, char **ret, size_t *ret_len)
{
	static const char head[] = "--" PYROSCOPE_BOUNDARY "\r\n"
				   "Content-Disposition: form-data; name=\"profile\"; filename=\"profile.pb.gz\"\r\n"
				   "Content-Type: application/octet-stream\r\n\r\n";
	static const char mid[] = "\r\n--" PYROSCOPE_BOUNDARY "\r\n"
				  "Content-Disposition: form-data; name=\"sample_type_config\"; "
				  "filename=\"sample_type_config.json\"\r\n"
				  "Content-Type: application/json\r\n\r\n" PYROSCOPE_SAMPLE_TYPES;
	static const char tail[] = "\r\n--" PYROSCOPE_BOUNDARY "--\r\n";
	size_t n = sizeof(head) - 1 + len + sizeof(mid) - 1 + sizeof(tail) - 1;
	char *b;

	if (len && memmem(profile, len, PYROSCOPE_BOUNDARY, sizeof(PYROSCOPE_BOUNDARY) - 1))
		return -EILSEQ;
	b = malloc(n);
	if (!b)
		return -ENOMEM;
	memcpy(b, head, sizeof(head) - 1);
	if (len)
		memcpy(b + sizeof(head) - 1, profile, len);
	memcpy(b + sizeof(head) - 1 + len, mid, sizeof(mid) - 1);
	memcpy(b + n - (sizeof(tail) - 1), tail, sizeof(tail) - 1);
	*ret = b;
	*ret_len = n;
	return 0;
}

static void push_profiles(struct push *p, struct ptarget *t, const struct push_input *in, uint64_t span)
{
	const struct format *fmt = format_find(PYROSCOPE_FORMAT);
	struct pq_result q = { 0 };
	struct pgroup *gv = NULL;
	size_t ng = 0, keep;
	uint64_t until = in->src->data_until_ns;
	uint64_t from_s = boot_to_unix_ms(until - span) / 1000, until_s = boot_to_unix_ms(until) / 1000;
	int r;

	if (!fmt) {
		t->encode_errors++;
		return;
	}
	r = profile_query(in->src, span, &(struct pq_filter){ 0 }, &q);
	if (r < 0)
		goto fail;
	for (size_t i = 0; i < q.n; i++) {
		const char *label, *key = group_of(t, in, q.v[i].proc, &label);
		size_t g;

		for (g = 0; g < ng; g++)
			if (!strcmp(gv[g].key, key) && gv[g].label == label)
				break;
		if (g == ng) {
			struct pgroup *nv = realloc(gv, (ng + 1) * sizeof(*nv));

			if (!nv) {
				r = -ENOMEM;
				goto fail;
			}
			gv = nv;
			memset(&gv[ng], 0, sizeof(gv[ng]));
			snprintf(gv[ng].key, sizeof(gv[ng].key), "%s", key);
			gv[ng].label = label;
			ng++;
		}
		gv[g].samples += q.v[i].count;
		if (pq_push(&gv[g].q, &q.v[i]) < 0) {
			r = -ENOMEM;
			goto fail;
		}
	}
	qsort_safe(gv, ng, sizeof(*gv), cmp_pgroup);
	/* bounded applications: the rest go into one "other" */
	keep = ng;
	if (ng > t->c.max_apps) {
		keep = t->c.max_apps ? t->c.max_apps - 1 : 0;
		for (size_t g = keep + 1; g < ng; g++) {
			for (size_t i = 0; i < gv[g].q.n; i++)
				if (pq_push(&gv[keep].q, &gv[g].q.v[i]) < 0) {
					r = -ENOMEM;
					goto fail;
				}
			gv[keep].samples += gv[g].samples;
		}
		snprintf(gv[keep].key, sizeof(gv[keep].key), "%s", PUSH_COMM_OTHER);
		gv[keep].label = "comm";
		keep++;
	}
	for (size_t g = 0; g < keep; g++) {
		struct profile *prof = NULL;
		struct sink_buf sb;
		struct format_result fr;
		char suffix[2048], *body;
		size_t len;

		gv[g].q.covered_ns = q.covered_ns;
		gv[g].q.from_ns = q.from_ns;
		gv[g].q.to_ns = q.to_ns;
		r = profile_build(in->src, &gv[g].q, &prof);
		if (r < 0)
			goto fail;
		sink_buf_init(&sb, PUSH_MAX_PAYLOAD);
		r = format_encode(fmt, prof, &(struct format_opts){ .scratch_max = PUSH_MAX_PAYLOAD }, &sb.sink, &fr);
		profile_free(prof);
		if (r < 0) {
			sink_buf_release(&sb);
			goto fail;
		}
		body = sink_buf_steal(&sb, &len);
		if (push_pyroscope_query(suffix, sizeof(suffix), t->c.app, p->host, gv[g].label, gv[g].key, from_s,
					 until_s, in->src->frequency, PYROSCOPE_FORMAT) < 0) {
			free(body);
			r = -ENOSPC;
			goto fail;
		}
		{
			char *form = NULL;
			size_t flen = 0;

			r = body ? push_pyroscope_body(body, len, &form, &flen) : -ENOMEM;
			free(body);
			if (r < 0)
				goto fail;
			net_target_enqueue(t->nt, suffix, form, flen, clock_mono_ms());
			free(form);
		}
	}
	t->last_series = keep;
	goto out;
fail:
	t->encode_errors++;
	log_warn_errno(r, "push %s: building profiles: %m", t->c.name);
out:
	for (size_t g = 0; g < ng; g++)
		pq_result_release(&gv[g].q);
	free(gv);
	pq_result_release(&q);
}

/* The span of the interval ending at data_until, or 0 when not due. The
 * first interval starts at the first tick (nothing before is pushed). */
static uint64_t due(uint64_t *last_until, uint64_t interval, uint64_t until, uint64_t max_span, uint64_t *capped)
{
	uint64_t span;

	if (!*last_until) {
		*last_until = until;
		return 0;
	}
	if (until < *last_until + interval)
		return 0;
	span = until - *last_until;
	if (span > max_span) {
		/* a stalled loop: the oldest part of the gap is lost to this
		 * target, and counted */
		(*capped)++;
		span = max_span;
	}
	*last_until = until;
	return span;
}

static void scrape_build(struct push *p, const struct push_input *in, uint64_t span)
{
	struct push_proc *procs = NULL;
	struct push_policy pol = { p->sc.top_cpu, p->sc.top_mem, p->sc.max_series_procs, p->sc.units };
	struct push_batch b;
	struct sink_buf sb;
	size_t n = 0, len;
	char *body;
	uint64_t until = in->src->data_until_ns;
	struct metrics_host host;

	if (gather(in, span, &procs, &n, &host) < 0)
		return;
	if (push_accum_build(p->scrape_acc, &pol, procs, n, in->host || in->res ? &host : NULL,
			     boot_to_unix_ms(until - span), boot_to_unix_ms(until), &b) < 0) {
		free(procs);
		return;
	}
	free(procs);
	sink_buf_init(&sb, PUSH_MAX_PAYLOAD);
	if (push_encode_text(&b, p->host, 1, &sb.sink) == 0) {
		body = sink_buf_steal(&sb, &len);
		if (body && scrape_set_body(p->scrape, body, len) == 0)
			p->scrape_builds++;
		free(body);
	} else {
		sink_buf_release(&sb);
	}
	push_batch_release(&b);
}

void push_tick(struct push *p, const struct push_input *in)
{
	uint64_t until = in->src->data_until_ns, now = clock_mono_ms();

	for (size_t i = 0; i < p->nt; i++) {
		struct ptarget *t = &p->t[i];
		uint64_t span = due(&t->last_until, t->c.interval_ns, until, 10 * t->c.interval_ns, &t->capped_gaps);

		if (span) {
			t->intervals++;
			if (t->kind == K_PYROSCOPE)
				push_profiles(p, t, in, span);
			else
				push_metrics(p, t, in, span);
		}
		net_target_poll(t->nt, now);
	}
	if (p->scrape) {
		uint64_t capped = 0, span = due(&p->scrape_last_until, p->sc.interval_ns, until,
						 10 * p->sc.interval_ns, &capped);

		if (span)
			scrape_build(p, in, span);
		scrape_tick(p->scrape, now);
	}
}

static void add_u64(struct json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_uint64(v));
}

int push_status_json(const struct push *p, struct json_object *obj)
{
	struct json_object *arr = json_object_new_array();

	if (!arr)
		return -ENOMEM;
	for (size_t i = 0; p && i < p->nt; i++) {
		const struct ptarget *t = &p->t[i];
		struct json_object *o = json_object_new_object();
		struct net_target_stats st;
		char red[PUSH_URL_MAX];

		net_target_get_stats(t->nt, &st);
		push_url_redacted(t->c.url, red, sizeof(red));
		json_object_object_add(o, "name", json_object_new_string(t->c.name));
		json_object_object_add(o, "type", json_object_new_string(t->c.type));
		json_object_object_add(o, "url", json_object_new_string(red));
		json_object_object_add(o, "interval_s", json_object_new_double((double)t->c.interval_ns / 1e9));
		add_u64(o, "sent", st.sent);
		add_u64(o, "retried", st.retried);
		add_u64(o, "failed", st.failed);
		add_u64(o, "dropped", st.dropped);
		add_u64(o, "queue_depth", st.queued);
		add_u64(o, "queue_limit", t->c.queue_max);
		add_u64(o, "queued_bytes", st.queued_bytes);
		add_u64(o, "spool_bytes", st.spool_bytes);
		add_u64(o, "spool_errors", st.spool_errors);
		json_object_object_add(o, "in_flight", json_object_new_boolean(st.in_flight));
		json_object_object_add(o, "last_error", json_object_new_string(st.last_error));
		json_object_object_add(o, "last_error_unix_ms",
				       st.last_error_ms ? json_object_new_uint64(st.last_error_ms) : NULL);
		json_object_object_add(o, "last_success_unix_ms",
				       st.last_success_ms ? json_object_new_uint64(st.last_success_ms) : NULL);
		json_object_object_add(o, "last_status", st.last_status ? json_object_new_int64(st.last_status) : NULL);
		add_u64(o, "intervals", t->intervals);
		/* the sample time of the last interval encoded (Unix ms): what
		 * a receiver's query at that time returns */
		json_object_object_add(o, "last_interval_end_unix_ms",
				       t->last.t_ms ? json_object_new_uint64(t->last.t_ms) : NULL);
		add_u64(o, "encode_errors", t->encode_errors);
		add_u64(o, "gaps_capped", t->capped_gaps);
		add_u64(o, "series", t->last_series);
		add_u64(o, "processes", t->last.procs);
		add_u64(o, "processes_own_series", t->last.procs_own);
		add_u64(o, "processes_other", t->last.procs_other);
		add_u64(o, "processes_over_bound", t->last.procs_over_bound);
		json_object_array_add(arr, o);
	}
	json_object_object_add(obj, "targets", arr);
	if (p && p->scrape) {
		struct json_object *s = json_object_new_object();
		struct scrape_stats ss;

		scrape_get_stats(p->scrape, &ss);
		json_object_object_add(s, "listen", json_object_new_string(p->sc.listen));
		add_u64(s, "clients", ss.clients);
		add_u64(s, "clients_limit", p->sc.max_clients);
		add_u64(s, "accepted", ss.accepted);
		add_u64(s, "served", ss.served);
		add_u64(s, "not_found", ss.not_found);
		add_u64(s, "rejected", ss.rejected);
		add_u64(s, "oversized", ss.oversized);
		add_u64(s, "idle_closed", ss.idle_closed);
		add_u64(s, "builds", p->scrape_builds);
		json_object_object_add(obj, "scrape", s);
	}
	return 0;
}
