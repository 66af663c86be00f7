/* SPDX-License-Identifier: GPL-2.0-only */
/* DRM fdinfo: parse one client's usage text, de-duplicate clients shared
 * between fds and processes, and turn busy counters into rates. */
#include "collect/gpu_drm.h"
#include "common/clock.h"
#include "common/sort.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NSEC_PER_SEC 1000000000ull

struct drm_eng {
	char name[GPU_DRM_KEY_MAX];
	uint32_t cap;
	uint64_t busy, cyc, tot;        /* largest values seen (monotonic rule) */
	bool has_busy, has_cyc, has_tot;
	bool pct_valid;
	double pct;
};

struct drm_client {
	char driver[GPU_DRM_KEY_MAX];
	char pdev[GPU_DRM_KEY_MAX];
	uint64_t id;
	bool noid;                      /* no drm-client-id: keyed by (pid, fd) */
	uint32_t owner;                 /* pid it is attributed to */
	uint32_t round_owner;
	uint64_t round;                 /* last scan round that saw it */
	uint64_t seen_ns;               /* now_ns of that round */
	uint64_t mem;
	uint32_t n_eng;
	struct drm_eng eng[GPU_DRM_MAX_ENGINES];
};


struct gpu_drm {
	char *procfs;
	struct drm_client *clients;     /* [GPU_DRM_MAX_CLIENTS] */
	size_t nclients;
	uint32_t *index;                /* open addressing: client index + 1, 0 empty */
	size_t index_size;
	uint64_t round;
	bool skip_nvidia;               /* of the round in progress */
	struct gpu_proc_info *procs;    /* [GPU_MAX_PROCS], sorted by pid */
	size_t nprocs;
	struct gpu_stats st;            /* drm_* fields only */
};

static void copy_str(char *dst, size_t size, const char *src, size_t len)
{
	if (len >= size)
		len = size - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* ---- parser --------------------------------------------------------- */

static bool parse_uint(const char *s, size_t len, uint64_t *ret)
{
	uint64_t v = 0;

	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*ret = v;
	return true;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static bool key_is(const char *key, size_t klen, const char *prefix, const char **rest, size_t *rlen)
{
	size_t plen = strlen(prefix);

	if (klen < plen || memcmp(key, prefix, plen) != 0)
		return false;
	*rest = key + plen;
	*rlen = klen - plen;
	return true;
}

/* Finds or adds engine name[len]: 1 found, 0 over GPU_DRM_MAX_ENGINES
 * (counted), -1 bad name. */
static int parse_engine(struct gpu_drm_fdinfo *f, const char *name, size_t len, struct gpu_drm_engine **ret)
{
	struct gpu_drm_engine *e;

	if (len == 0 || len >= GPU_DRM_KEY_MAX)
		return -1;
	for (uint32_t i = 0; i < f->n_engines; i++) {
		if (strlen(f->engines[i].name) == len && memcmp(f->engines[i].name, name, len) == 0) {
			*ret = &f->engines[i];
			return 1;
		}
	}
	if (f->n_engines == GPU_DRM_MAX_ENGINES) {
		f->engines_dropped++;
		return 0;
	}
	e = &f->engines[f->n_engines++];
	memset(e, 0, sizeof(*e));
	copy_str(e->name, sizeof(e->name), name, len);
	e->capacity = 1;
	*ret = e;
	return 1;
}

/* "<uint> [KiB|MiB]" -> bytes. */
static bool parse_mem(const char *v, size_t vlen, const char *unit, size_t ulen, uint64_t *ret)
{
	uint64_t n, mul = 1;

	if (!parse_uint(v, vlen, &n))
		return false;
	if (ulen == 3 && memcmp(unit, "KiB", 3) == 0)
		mul = 1024;
	else if (ulen == 3 && memcmp(unit, "MiB", 3) == 0)
		mul = 1024 * 1024;
	else if (ulen != 0)
		return false;
	*ret = n > UINT64_MAX / mul ? UINT64_MAX : n * mul;
	return true;
}

/* One "drm-<key>: <val>" line, val trimmed. Numeric values are one token
 * and an optional unit. Returns false when the line is malformed. */
static bool parse_line(struct gpu_drm_fdinfo *f, const char *key, size_t klen, const char *val, size_t vall)
{
	const char *unit, *rest;
	size_t tlen = 0, ulen, rlen;
	struct gpu_drm_engine *e = NULL;
	uint64_t n;
	bool known;
	int r;

	while (tlen < vall && val[tlen] != ' ' && val[tlen] != '\t')
		tlen++;
	unit = val + tlen;
	while (unit < val + vall && (*unit == ' ' || *unit == '\t'))
		unit++;
	ulen = (size_t)(val + vall - unit);

	/* String values (may hold spaces: <valstr>). */
	if (key_is(key, klen, "drm-driver", &rest, &rlen) && rlen == 0) {
		copy_str(f->driver, sizeof(f->driver), val, vall);
		return vall > 0;
	}
	if (key_is(key, klen, "drm-client-name", &rest, &rlen) && rlen == 0)
		return true;
	/* Numeric keys below take one value and an optional unit: a third
	 * token makes them malformed (unknown keys may hold any text). */
	known = key_is(key, klen, "drm-pdev", &rest, &rlen) || key_is(key, klen, "drm-client-id", &rest, &rlen) ||
		key_is(key, klen, "drm-engine-", &rest, &rlen) || key_is(key, klen, "drm-cycles-", &rest, &rlen) ||
		key_is(key, klen, "drm-total-", &rest, &rlen) || key_is(key, klen, "drm-resident-", &rest, &rlen) ||
		key_is(key, klen, "drm-memory-", &rest, &rlen);
	if (known && (memchr(unit, ' ', ulen) || memchr(unit, '\t', ulen)))
		return false;
	if (key_is(key, klen, "drm-pdev", &rest, &rlen) && rlen == 0) {
		copy_str(f->pdev, sizeof(f->pdev), val, tlen);
		return tlen > 0 && ulen == 0;
	}
	if (key_is(key, klen, "drm-client-id", &rest, &rlen) && rlen == 0) {
		f->has_client_id = ulen == 0 && parse_uint(val, tlen, &f->client_id);
		return f->has_client_id;
	}
	/* Longer prefixes first: capacity and total-cycles share a stem. */
	if (key_is(key, klen, "drm-engine-capacity-", &rest, &rlen)) {
		if (ulen || !parse_uint(val, tlen, &n) || n == 0 || n > UINT32_MAX ||
		    (r = parse_engine(f, rest, rlen, &e)) < 0)
			return false;
		if (e)
			e->capacity = (uint32_t)n;
		return true;
	}
	if (key_is(key, klen, "drm-engine-", &rest, &rlen)) {
		if ((ulen && !(ulen == 2 && memcmp(unit, "ns", 2) == 0)) || !parse_uint(val, tlen, &n) ||
		    (r = parse_engine(f, rest, rlen, &e)) < 0)
			return false;
		if (e) {
			e->busy_ns = n;
			e->has_busy = true;
		}
		return true;
	}
	if (key_is(key, klen, "drm-total-cycles-", &rest, &rlen) || key_is(key, klen, "drm-cycles-", &rest, &rlen)) {
		bool total = key[4] == 't';

		if (ulen || !parse_uint(val, tlen, &n) || (r = parse_engine(f, rest, rlen, &e)) < 0)
			return false;
		if (e && total) {
			e->total_cycles = n;
			e->has_total_cycles = true;
		} else if (e) {
			e->cycles = n;
			e->has_cycles = true;
		}
		return true;
	}
	if (key_is(key, klen, "drm-resident-", &rest, &rlen) || key_is(key, klen, "drm-memory-", &rest, &rlen) ||
	    key_is(key, klen, "drm-total-", &rest, &rlen)) {
		if (rlen == 0 || !parse_mem(val, tlen, unit, ulen, &n))
			return false;
		if (key[4] == 'r') {
			f->resident_bytes = sat_add(f->resident_bytes, n);
			f->has_resident = true;
		} else if (key[4] == 'm') {
			f->memory_bytes = sat_add(f->memory_bytes, n);
			f->has_memory = true;
		} else {
			f->total_bytes = sat_add(f->total_bytes, n);
			f->has_total = true;
		}
		return true;
	}
	/* Other documented keys (maxfreq, shared, purgeable, active) and
	 * future ones are not errors. */
	return true;
}

int gpu_drm_parse_fdinfo(const char *buf, size_t len, struct gpu_drm_fdinfo *ret)
{
	struct gpu_drm_fdinfo f;
	const char *p = buf, *end = buf + len;

	memset(&f, 0, sizeof(f));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end, *colon, *val, *vend;

		if (eol - p >= 4 && memcmp(p, "drm-", 4) == 0) {
			colon = memchr(p, ':', (size_t)(eol - p));
			if (!colon || memchr(p, ' ', (size_t)(colon - p)) || memchr(p, '\t', (size_t)(colon - p))) {
				f.malformed++;
			} else {
				val = colon + 1;
				vend = eol;
				while (val < vend && (*val == ' ' || *val == '\t'))
					val++;
				while (vend > val && (vend[-1] == ' ' || vend[-1] == '\t' || vend[-1] == '\r'))
					vend--;
				if (!parse_line(&f, p, (size_t)(colon - p), val, (size_t)(vend - val)))
					f.malformed++;
			}
		}
		p = nl ? nl + 1 : end;
	}
	if (!f.driver[0])
		return -ENOENT;
	*ret = f;
	return 0;
}

uint64_t gpu_drm_fdinfo_mem(const struct gpu_drm_fdinfo *f)
{
	if (f->has_resident)
		return f->resident_bytes;
	if (f->has_memory)
		return f->memory_bytes;
	return f->total_bytes;
}

/* ---- clients -------------------------------------------------------- */

static uint64_t client_hash(const char *driver, const char *pdev, uint64_t id, bool noid)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (const char *s = driver; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	h = (h ^ 0xff) * 1099511628211ull;
	for (const char *s = pdev; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	h ^= id + (noid ? 0x9e3779b97f4a7c15ull : 0);
	return h * 0xff51afd7ed558ccdull;
}

static bool client_eq(const struct drm_client *c, const char *driver, const char *pdev, uint64_t id, bool noid)
{
	return c->id == id && c->noid == noid && strcmp(c->driver, driver) == 0 && strcmp(c->pdev, pdev) == 0;
}

static void index_insert(struct gpu_drm *g, size_t ci)
{
	const struct drm_client *c = &g->clients[ci];
	size_t mask = g->index_size - 1;
	size_t i = client_hash(c->driver, c->pdev, c->id, c->noid) & mask;

	while (g->index[i])
		i = (i + 1) & mask;
	g->index[i] = (uint32_t)ci + 1;
}

static struct drm_client *client_find(struct gpu_drm *g, const char *driver, const char *pdev, uint64_t id, bool noid)
{
	size_t mask = g->index_size - 1;
	size_t i = client_hash(driver, pdev, id, noid) & mask;

	for (; g->index[i]; i = (i + 1) & mask) {
		struct drm_client *c = &g->clients[g->index[i] - 1];

		if (client_eq(c, driver, pdev, id, noid))
			return c;
	}
	return NULL;
}

static void client_update(struct drm_client *c, const struct gpu_drm_fdinfo *f, uint64_t now_ns)
{
	uint64_t dt = c->seen_ns && now_ns > c->seen_ns ? now_ns - c->seen_ns : 0;

	c->mem = gpu_drm_fdinfo_mem(f);
	for (uint32_t j = 0; j < c->n_eng; j++)
		c->eng[j].pct_valid = false; /* an engine no longer listed has no rate */
	for (uint32_t i = 0; i < f->n_engines; i++) {
		const struct gpu_drm_engine *fe = &f->engines[i];
		struct drm_eng *e = NULL;
		uint64_t dbusy, dcyc, dtot;

		for (uint32_t j = 0; j < c->n_eng; j++)
			if (strcmp(c->eng[j].name, fe->name) == 0)
				e = &c->eng[j];
		if (!e) {
			if (c->n_eng == GPU_DRM_MAX_ENGINES)
				continue;
			e = &c->eng[c->n_eng++];
			memset(e, 0, sizeof(*e));
			memcpy(e->name, fe->name, sizeof(e->name));
			/* First sighting: no rate yet; prime the counters. */
			e->busy = fe->busy_ns;
			e->cyc = fe->cycles;
			e->tot = fe->total_cycles;
			e->has_busy = fe->has_busy;
			e->has_cyc = fe->has_cycles;
			e->has_tot = fe->has_total_cycles;
			e->cap = fe->capacity;
			continue;
		}
		e->cap = fe->capacity;
		/* A counter that goes backwards keeps its larger previous
		 * value until it catches up (drm-usage-stats.rst). */
		dbusy = fe->busy_ns > e->busy ? fe->busy_ns - e->busy : 0;
		dcyc = fe->cycles > e->cyc ? fe->cycles - e->cyc : 0;
		dtot = fe->total_cycles > e->tot ? fe->total_cycles - e->tot : 0;
		e->pct_valid = false;
		if (fe->has_cycles && fe->has_total_cycles && e->has_cyc && e->has_tot) {
			/* GPU clock domain: immune to our scheduling jitter. */
			if (dtot) {
				e->pct = 100.0 * (double)dcyc / ((double)dtot * e->cap);
				e->pct_valid = true;
			}
		} else if (fe->has_busy && e->has_busy && dt) {
			e->pct = 100.0 * (double)dbusy / ((double)dt * e->cap);
			e->pct_valid = true;
		}
		if (e->pct > 100.0)
			e->pct = 100.0;
		e->busy += dbusy;
		e->cyc += dcyc;
		e->tot += dtot;
		e->has_busy |= fe->has_busy;
		e->has_cyc |= fe->has_cycles;
		e->has_tot |= fe->has_total_cycles;
	}
	c->seen_ns = now_ns;
}

static void drm_note(struct gpu_drm *g, uint32_t pid, int fd, const struct gpu_drm_fdinfo *f, uint64_t now_ns)
{
	bool noid = !f->has_client_id;
	uint64_t id = noid ? ((uint64_t)pid << 32 | (uint32_t)fd) : f->client_id;
	struct drm_client *c = client_find(g, f->driver, f->pdev, id, noid);

	if (c && c->round == g->round) {
		/* Same client through another fd or a forked process. */
		g->st.drm_duplicates++;
		if (pid == c->owner)
			c->round_owner = pid; /* keep attribution stable */
		return;
	}
	if (!c) {
		if (g->nclients == GPU_DRM_MAX_CLIENTS) {
			g->st.drm_truncated++;
			return;
		}
		c = &g->clients[g->nclients];
		memset(c, 0, sizeof(*c));
		memcpy(c->driver, f->driver, sizeof(c->driver));
		memcpy(c->pdev, f->pdev, sizeof(c->pdev));
		c->id = id;
		c->noid = noid;
		c->owner = pid;
		index_insert(g, g->nclients++);
	}
	c->round = g->round;
	c->round_owner = pid;
	g->st.drm_truncated += f->engines_dropped;
	client_update(c, f, now_ns);
}

/* Reads at most size - 1 bytes of one fdinfo file. When the file is
 * longer (*trunc), the length returned ends after the last whole line: a
 * line cut by the bound would read as another value ("drm-resident-vram:
 * 1048576 KiB" cut to "drm-resident-vram: 1048"). */
static ssize_t read_small(int dirfd, const char *name, char *buf, size_t size, bool *trunc)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	char extra;

	if (fd < 0)
		return -errno;
	*trunc = false;
	while (len < size - 1) {
		ssize_t r = read(fd, buf + len, size - 1 - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	/* Full: one more byte tells a file of exactly size - 1 bytes from a
	 * longer one. */
	if (len == size - 1) {
		ssize_t r;

		while ((r = read(fd, &extra, 1)) < 0 && errno == EINTR)
			;
		*trunc = r > 0;
	}
	close(fd);
	if (*trunc) {
		while (len > 0 && buf[len - 1] != '\n')
			len--;
	}
	buf[len] = '\0';
	return (ssize_t)len;
}

static bool is_number(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* A directory entry named by a decimal number up to max (fd numbers,
 * pids): false for anything else, never a wrapped value. */
static bool parse_name(const char *s, uint64_t max, uint64_t *ret)
{
	return is_number(s) && parse_uint(s, strlen(s), ret) && *ret <= max;
}

static void drm_scan_pid(struct gpu_drm *g, uint32_t pid, uint64_t now_ns, char *buf)
{
	char path[4096], link[64];
	int fddir, infodir, fd;
	size_t nfds = 0;
	struct dirent *de;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/%u/fdinfo", g->procfs, pid);
	infodir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (infodir < 0) {
		if (errno != ENOENT) /* a process that exited is no error */
			g->st.drm_read_errors++;
		return;
	}
	/* readlink on fd/N filters out non-DRM fds for one syscall each;
	 * without fd/ (fixtures) every fdinfo is read. */
	snprintf(path, sizeof(path), "%s/%u/fd", g->procfs, pid);
	fddir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fd = dup(infodir);
	dir = fd >= 0 ? fdopendir(fd) : NULL;
	if (!dir) {
		if (fd >= 0)
			close(fd);
		g->st.drm_read_errors++;
		goto out;
	}
	while ((de = readdir(dir))) {
		struct gpu_drm_fdinfo f;
		bool trunc = false;
		uint64_t fdnum;
		ssize_t len;

		if (!parse_name(de->d_name, INT_MAX, &fdnum))
			continue;
		if (++nfds > GPU_DRM_MAX_FDS) {
			g->st.drm_truncated++;
			break;
		}
		if (fddir >= 0) {
			len = readlinkat(fddir, de->d_name, link, sizeof(link) - 1);
			if (len < 0 || (size_t)len < 9 || memcmp(link, "/dev/dri/", 9) != 0)
				continue;
		}
		len = read_small(infodir, de->d_name, buf, GPU_DRM_FDINFO_MAX, &trunc);
		if (len < 0) {
			if (len != -ENOENT)
				g->st.drm_read_errors++;
			continue;
		}
		g->st.drm_fds_read++;
		if (trunc)
			g->st.drm_truncated++;
		if (gpu_drm_parse_fdinfo(buf, (size_t)len, &f) < 0)
			continue;
		g->st.drm_malformed += f.malformed;
		/* NVML already accounts NVIDIA GPUs; do not count them twice. */
		if (g->skip_nvidia && strncmp(f.driver, "nvidia", 6) == 0)
			continue;
		drm_note(g, pid, (int)fdnum, &f, now_ns);
	}
	closedir(dir);
out:
	if (fddir >= 0)
		close(fddir);
	close(infodir);
}

static int client_owner_cmp(const void *a, const void *b)
{
	const struct drm_client *x = a, *y = b;
	int r;

	if (x->owner != y->owner)
		return x->owner < y->owner ? -1 : 1;
	r = strcmp(x->driver, y->driver);
	return r ? r : strcmp(x->pdev, y->pdev);
}

/* After a round: forget clients not seen, settle owners, and fold clients
 * into one entry per pid. Per pid and device, engines of the same name are
 * summed over clients and the busiest engine is the device's busy %. */
struct eng_sum {
	const char *name;
	double pct;
};

static void drm_finish(struct gpu_drm *g, uint64_t now_ns)
{
	size_t w = 0, n = 0;

	for (size_t i = 0; i < g->nclients; i++) {
		if (g->clients[i].round != g->round)
			continue;
		g->clients[w] = g->clients[i];
		g->clients[w].owner = g->clients[w].round_owner;
		w++;
	}
	g->nclients = w;
	qsort_safe(g->clients, g->nclients, sizeof(*g->clients), client_owner_cmp);
	memset(g->index, 0, g->index_size * sizeof(*g->index));
	for (size_t i = 0; i < g->nclients; i++)
		index_insert(g, i);

	for (size_t i = 0; i < g->nclients;) {
		const struct drm_client *c = &g->clients[i];
		struct eng_sum eng[GPU_DRM_MAX_ENGINES * 2];
		size_t neng = 0, j = i;
		struct gpu_proc_info *p;
		double busiest = 0;
		bool valid = false;

		if (n == 0 || g->procs[n - 1].pid != c->owner) {
			if (n == GPU_MAX_PROCS) {
				g->st.drm_truncated++;
				break;
			}
			g->procs[n++] = (struct gpu_proc_info){ .pid = c->owner, .sources = GPU_SRC_DRM, .seen_ns = now_ns };
		}
		p = &g->procs[n - 1];
		for (; j < g->nclients && client_owner_cmp(&g->clients[j], c) == 0; j++) {
			const struct drm_client *cj = &g->clients[j];

			p->mem_bytes = sat_add(p->mem_bytes, cj->mem);
			for (uint32_t k = 0; k < cj->n_eng; k++) {
				size_t m;

				if (!cj->eng[k].pct_valid)
					continue;
				valid = true;
				for (m = 0; m < neng && strcmp(eng[m].name, cj->eng[k].name); m++)
					;
				if (m == neng) {
					if (neng == sizeof(eng) / sizeof(eng[0]))
						continue;
					eng[neng++] = (struct eng_sum){ cj->eng[k].name, 0 };
				}
				eng[m].pct += cj->eng[k].pct;
			}
		}
		for (size_t m = 0; m < neng; m++)
			if (eng[m].pct > busiest)
				busiest = eng[m].pct;
		p->devices++;
		if (valid) {
			p->util_valid = true;
			p->util_pct += busiest > 100.0 ? 100.0 : busiest;
		}
		i = j;
	}
	g->nprocs = n;
	g->st.drm_clients = g->nclients;
}

int gpu_drm_scan(struct gpu_drm *g, const uint32_t *pids, size_t n, uint64_t now_ns, bool skip_nvidia)
{
	uint64_t t0 = clock_mono_ns();
	char *buf = malloc(GPU_DRM_FDINFO_MAX);
	int ret = 0;

	g->round++;
	g->skip_nvidia = skip_nvidia;
	if (!buf) {
		drm_finish(g, now_ns); /* nothing known: nothing listed */
		return -ENOMEM;
	}
	if (pids) {
		for (size_t i = 0; i < n; i++)
			drm_scan_pid(g, pids[i], now_ns, buf);
	} else {
		DIR *dir = opendir(g->procfs);
		struct dirent *de;
		size_t seen = 0;

		if (!dir) {
			ret = -errno;
			g->st.drm_read_errors++;
			/* Nothing is known this round: the previous
			 * round's clients must not stay listed. */
			drm_finish(g, now_ns);
			goto out;
		}
		while ((de = readdir(dir))) {
			uint64_t pid;

			if (!parse_name(de->d_name, UINT32_MAX, &pid))
				continue;
			if (++seen > GPU_DRM_MAX_PIDS) {
				g->st.drm_truncated++;
				break;
			}
			drm_scan_pid(g, (uint32_t)pid, now_ns, buf);
		}
		closedir(dir);
	}
	drm_finish(g, now_ns);
	ret = (int)g->nclients;
out:
	g->st.drm_scans++;
	g->st.last_scan_ns = clock_mono_ns() - t0;
	free(buf);
	return ret;
}

struct gpu_drm *gpu_drm_new(const char *procfs)
{
	struct gpu_drm *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->procfs = strdup(procfs ? procfs : "/proc");
	g->index_size = 2 * GPU_DRM_MAX_CLIENTS; /* load factor <= 1/2 */
	g->index = calloc(g->index_size, sizeof(*g->index));
	g->clients = calloc(GPU_DRM_MAX_CLIENTS, sizeof(*g->clients));
	g->procs = calloc(GPU_MAX_PROCS, sizeof(*g->procs));
	if (!g->procfs || !g->index || !g->clients || !g->procs) {
		gpu_drm_free(g);
		errno = ENOMEM;
		return NULL;
	}
	return g;
}

struct gpu_drm *gpu_drm_free(struct gpu_drm *g)
{
	if (!g)
		return NULL;
	free(g->procfs);
	free(g->index);
	free(g->clients);
	free(g->procs);
	free(g);
	return NULL;
}

const struct gpu_proc_info *gpu_drm_procs(const struct gpu_drm *g, size_t *ret_n)
{
	*ret_n = g->nprocs;
	return g->procs;
}

void gpu_drm_get_stats(const struct gpu_drm *g, struct gpu_stats *ret)
{
	ret->drm_scans = g->st.drm_scans;
	ret->drm_fds_read = g->st.drm_fds_read;
	ret->drm_clients = g->st.drm_clients;
	ret->drm_duplicates = g->st.drm_duplicates;
	ret->drm_malformed = g->st.drm_malformed;
	ret->drm_read_errors = g->st.drm_read_errors;
	ret->drm_truncated = g->st.drm_truncated;
	ret->last_scan_ns = g->st.last_scan_ns;
}
