/* SPDX-License-Identifier: GPL-2.0-only */
/* System counters from /proc: buffer parsers and root-injectable readers. */
#include "collect/sysstat.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* meminfo is ~1.5 KiB (~55 lines); loadavg, uptime and each pressure file
 * are under 200 bytes. */
#define SMALL_BUF 8192
/* /proc/stat streaming chunk: per-CPU lines are ~80 bytes; the intr and
 * softirq lines may be longer than this and are skipped as overlong (they
 * are not parsed anyway). */
#define STAT_CHUNK 16384

/* "123.45" at [*p, end) as fixed point in 1e-9 units (digits past the
 * ninth are dropped). Locale-free, unlike strtod. */
static int parse_fixed9(const char **p, const char *end, uint64_t *ret)
{
	uint64_t whole, frac = 0, scale = 1000000000ull;
	const char *s;
	int r;

	r = util_parse_u64(p, end, &whole);
	if (r < 0)
		return r;
	s = *p;
	if (s < end && *s == '.') {
		s++;
		if (s >= end || *s < '0' || *s > '9')
			return -EINVAL;
		for (; s < end && *s >= '0' && *s <= '9'; s++) {
			if (scale > 1) {
				scale /= 10;
				frac += (uint64_t)(*s - '0') * scale;
			}
		}
	}
	*p = s;
	if (__builtin_mul_overflow(whole, 1000000000ull, &whole) ||
	    __builtin_add_overflow(whole, frac, ret))
		return -ERANGE;
	return 0;
}

static void skip_blanks(const char **p, const char *end)
{
	while (*p < end && (**p == ' ' || **p == '\t'))
		(*p)++;
}

/* Small file procfs/name into buf[0..cap) with one read() (see
 * procstat.c: single-record procfs files give all their text at once).
 * Length or -errno. */
static ssize_t read_file(const char *procfs, const char *name, char *buf, size_t cap)
{
	char path[4096];
	ssize_t r;
	int fd, err;

	if (!procfs)
		return -EINVAL;
	r = snprintf(path, sizeof(path), "%s/%s", procfs, name);
	if (r < 0 || (size_t)r >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	do
		r = read(fd, buf, cap);
	while (r < 0 && errno == EINTR);
	err = r < 0 ? -errno : 0;
	close(fd);
	return err < 0 ? err : r;
}

/* ---- /proc/stat ---- */

struct sysstat_cpu *sysstat_cpu_new(uint32_t max_cpus)
{
	struct sysstat_cpu *s;

	if (max_cpus == 0)
		max_cpus = SYSSTAT_MAX_CPUS;
	if (max_cpus > SYSSTAT_MAX_CPUS) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s) + (size_t)max_cpus * sizeof(s->cpu[0]));
	if (!s)
		return NULL;
	s->max_cpus = max_cpus;
	return s;
}

struct sysstat_cpu *sysstat_cpu_free(struct sysstat_cpu *s)
{
	free(s);
	return NULL;
}

static void cpu_reset(struct sysstat_cpu *s)
{
	uint32_t max = s->max_cpus;

	/* cpu[] entries past ncpu are never read: no need to clear 256 KiB. */
	memset(s, 0, sizeof(*s));
	s->max_cpus = max;
	s->total.id = UINT32_MAX;
}

/* "user nice system idle [iowait irq softirq steal guest guest_nice]":
 * at least four fields (the oldest kernels print only those). */
static int parse_times(const char *p, const char *end, struct sysstat_cpu_times *t)
{
	uint64_t *f[] = { &t->user, &t->nice, &t->system, &t->idle,
			  &t->iowait, &t->irq, &t->softirq, &t->steal };
	uint64_t v;
	size_t i;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		skip_blanks(&p, end);
		if (p == end && i >= 4)
			break;
		if (util_parse_u64(&p, end, &v) < 0)
			return -EINVAL;
		if (p < end && *p != ' ')
			return -EINVAL;
		*f[i] = v;
	}
	return 0;
}

static bool key_is(const char *p, const char *end, const char *key, const char **ret_val)
{
	size_t kl = strlen(key);

	if ((size_t)(end - p) <= kl || memcmp(p, key, kl) != 0 || p[kl] != ' ')
		return false;
	*ret_val = p + kl;
	return true;
}

/* One line without its '\n'. */
static void cpu_line(struct sysstat_cpu *s, const char *p, const char *end)
{
	struct sysstat_cpu_times t = { 0 };
	const char *v;
	uint64_t id, *dst = NULL;

	if (end - p >= 3 && memcmp(p, "cpu", 3) == 0) {
		if (p[3] == ' ') {
			t.id = UINT32_MAX;
			if (parse_times(p + 3, end, &t) == 0) {
				s->total = t;
				s->has_total = 1;
			} else {
				s->skipped++;
			}
			return;
		}
		v = p + 3;
		if (util_parse_u64(&v, end, &id) < 0 || id >= s->max_cpus ||
		    parse_times(v, end, &t) < 0 ||
		    (s->ncpu > 0 && s->cpu[s->ncpu - 1].id >= id) ||
		    s->ncpu >= s->max_cpus) {
			s->skipped++;
			return;
		}
		t.id = (uint32_t)id;
		s->cpu[s->ncpu++] = t;
		return;
	}
	if (key_is(p, end, "ctxt", &v))
		dst = &s->ctxt;
	else if (key_is(p, end, "processes", &v))
		dst = &s->processes;
	else if (key_is(p, end, "procs_running", &v))
		dst = &s->procs_running;
	else if (key_is(p, end, "procs_blocked", &v))
		dst = &s->procs_blocked;
	else if (key_is(p, end, "btime", &v))
		dst = &s->btime;
	if (dst) {
		uint64_t x;

		skip_blanks(&v, end);
		if (util_parse_u64(&v, end, &x) == 0 && v == end)
			*dst = x;
	}
}

int sysstat_parse_cpu(const char *buf, size_t n, struct sysstat_cpu *s)
{
	const char *p = buf, *end = buf + n, *nl;

	if (!buf || !s)
		return -EINVAL;
	cpu_reset(s);
	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl) {
			/* Cut mid-line: a partial cpu line would read low. */
			if (end - p >= 3 && memcmp(p, "cpu", 3) == 0)
				s->skipped++;
			break;
		}
		cpu_line(s, p, nl);
	}
	return s->has_total ? 0 : -EINVAL;
}

int sysstat_read_cpu(const char *procfs, struct sysstat_cpu *s)
{
	char *buf, *p, *nl;
	char path[4096];
	size_t len = 0;
	bool overlong = false;
	ssize_t r;
	int fd, err = 0;

	if (!procfs || !s)
		return -EINVAL;
	r = snprintf(path, sizeof(path), "%s/stat", procfs);
	if (r < 0 || (size_t)r >= sizeof(path))
		return -ENAMETOOLONG;
	buf = malloc(STAT_CHUNK);
	if (!buf)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	cpu_reset(s);
	for (;;) {
		r = read(fd, buf + len, STAT_CHUNK - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		p = buf;
		while ((nl = memchr(p, '\n', len - (size_t)(p - buf)))) {
			if (!overlong)
				cpu_line(s, p, nl);
			overlong = false;
			p = nl + 1;
		}
		len -= (size_t)(p - buf);
		memmove(buf, p, len);
		if (len == STAT_CHUNK) {
			/* A line longer than the chunk: drop it to its end. */
			if (memcmp(buf, "cpu", 3) == 0)
				s->skipped++;
			overlong = true;
			len = 0;
		}
	}
	close(fd);
	if (err == 0 && !s->has_total)
		err = -EINVAL;
out:
	free(buf);
	return err;
}

/* busy and total jiffies of cur - prev; false when they went backwards. */
static bool times_delta(const struct sysstat_cpu_times *a, const struct sysstat_cpu_times *b, uint64_t *ret_busy, uint64_t *ret_all)
{
	uint64_t ba = a->user + a->nice + a->system + a->irq + a->softirq + a->steal;
	uint64_t bb = b->user + b->nice + b->system + b->irq + b->softirq + b->steal;
	uint64_t ia = a->idle + a->iowait, ib = b->idle + b->iowait;

	if (bb < ba || ib < ia)
		return false;
	*ret_busy = bb - ba;
	*ret_all = (bb - ba) + (ib - ia);
	return true;
}

static double busy_pct(const struct sysstat_cpu_times *a, const struct sysstat_cpu_times *b)
{
	uint64_t busy, all;

	if (!times_delta(a, b, &busy, &all) || all == 0)
		return -1.0;
	return 100.0 * (double)busy / (double)all;
}

int sysstat_cpu_busy(const struct sysstat_cpu *prev, const struct sysstat_cpu *cur, double *ret_total, double *ret_per_cpu, size_t n)
{
	size_t i, j = 0, count;

	if (!prev || !cur || (n > 0 && !ret_per_cpu))
		return -EINVAL;
	if (ret_total)
		*ret_total = prev->has_total && cur->has_total ? busy_pct(&prev->total, &cur->total) : -1.0;
	count = n < cur->ncpu ? n : cur->ncpu;
	/* Both lists ascend by id (the parser enforces it): merge walk. */
	for (i = 0; i < count; i++) {
		while (j < prev->ncpu && prev->cpu[j].id < cur->cpu[i].id)
			j++;
		if (j < prev->ncpu && prev->cpu[j].id == cur->cpu[i].id)
			ret_per_cpu[i] = busy_pct(&prev->cpu[j], &cur->cpu[i]);
		else
			ret_per_cpu[i] = -1.0;
	}
	return (int)count;
}

/* ---- /proc/meminfo ---- */

int sysstat_parse_meminfo(const char *buf, size_t n, struct sysstat_meminfo *ret)
{
	static const struct {
		const char *key;
		size_t off;
		uint32_t bit;
	} keys[] = {
		{ "MemTotal", offsetof(struct sysstat_meminfo, total), SYSSTAT_MEM_TOTAL },
		{ "MemFree", offsetof(struct sysstat_meminfo, free), SYSSTAT_MEM_FREE },
		{ "MemAvailable", offsetof(struct sysstat_meminfo, available), SYSSTAT_MEM_AVAILABLE },
		{ "Buffers", offsetof(struct sysstat_meminfo, buffers), SYSSTAT_MEM_BUFFERS },
		{ "Cached", offsetof(struct sysstat_meminfo, cached), SYSSTAT_MEM_CACHED },
		{ "SwapTotal", offsetof(struct sysstat_meminfo, swap_total), SYSSTAT_MEM_SWAPTOTAL },
		{ "SwapFree", offsetof(struct sysstat_meminfo, swap_free), SYSSTAT_MEM_SWAPFREE },
		{ "Shmem", offsetof(struct sysstat_meminfo, shmem), SYSSTAT_MEM_SHMEM },
	};
	const char *p = buf, *end = buf + n, *nl, *colon, *v;
	uint64_t x;
	int found = 0;
	size_t i;

	if (!buf || !ret)
		return -EINVAL;
	memset(ret, 0, sizeof(*ret));
	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			break; /* cut mid-line: the number may be short */
		colon = memchr(p, ':', (size_t)(nl - p));
		if (!colon)
			continue;
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			if ((size_t)(colon - p) != strlen(keys[i].key) ||
			    memcmp(p, keys[i].key, (size_t)(colon - p)) != 0)
				continue;
			v = colon + 1;
			skip_blanks(&v, nl);
			if (util_parse_u64(&v, nl, &x) < 0 || nl - v != 3 ||
			    memcmp(v, " kB", 3) != 0 ||
			    __builtin_mul_overflow(x, 1024, &x)) {
				ret->errors++;
				break;
			}
			memcpy((char *)ret + keys[i].off, &x, sizeof(x));
			if (!(ret->valid & keys[i].bit))
				found++;
			ret->valid |= keys[i].bit;
			break;
		}
	}
	return found;
}

int sysstat_read_meminfo(const char *procfs, struct sysstat_meminfo *ret)
{
	char buf[SMALL_BUF];
	ssize_t n;

	if (!ret)
		return -EINVAL;
	memset(ret, 0, sizeof(*ret));
	n = read_file(procfs, "meminfo", buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	sysstat_parse_meminfo(buf, (size_t)n, ret);
	return 0;
}

/* ---- /proc/loadavg, /proc/uptime ---- */

int sysstat_parse_loadavg(const char *buf, size_t n, struct sysstat_loadavg *ret)
{
	const char *p = buf, *end = buf + n;
	uint64_t l[3], run, total, last;
	size_t i;

	if (!buf || !ret)
		return -EINVAL;
	if (n == 0 || end[-1] != '\n')
		return -EINVAL; /* truncated: the last pid could be cut */
	end--;
	for (i = 0; i < 3; i++) {
		if (parse_fixed9(&p, end, &l[i]) < 0 || p >= end || *p != ' ')
			return -EINVAL;
		p++;
	}
	if (util_parse_u64(&p, end, &run) < 0 || p >= end || *p != '/' ||
	    (p++, util_parse_u64(&p, end, &total)) < 0 || p >= end || *p != ' ' ||
	    (p++, util_parse_u64(&p, end, &last)) < 0 || p != end ||
	    run > UINT32_MAX || total > UINT32_MAX || last > UINT32_MAX)
		return -EINVAL;
	ret->load1 = (double)l[0] / 1e9;
	ret->load5 = (double)l[1] / 1e9;
	ret->load15 = (double)l[2] / 1e9;
	ret->runnable = (uint32_t)run;
	ret->total = (uint32_t)total;
	ret->last_pid = (uint32_t)last;
	return 0;
}

int sysstat_read_loadavg(const char *procfs, struct sysstat_loadavg *ret)
{
	char buf[SMALL_BUF];
	ssize_t n = read_file(procfs, "loadavg", buf, sizeof(buf));

	return n < 0 ? (int)n : sysstat_parse_loadavg(buf, (size_t)n, ret);
}

int sysstat_parse_uptime(const char *buf, size_t n, struct sysstat_uptime *ret)
{
	const char *p = buf, *end = buf + n;
	uint64_t up, idle;

	if (!buf || !ret)
		return -EINVAL;
	if (n == 0 || end[-1] != '\n')
		return -EINVAL;
	end--;
	if (parse_fixed9(&p, end, &up) < 0 || p >= end || *p != ' ' ||
	    (p++, parse_fixed9(&p, end, &idle)) < 0 || p != end)
		return -EINVAL;
	ret->uptime_ns = up;
	ret->idle_ns = idle;
	return 0;
}

int sysstat_read_uptime(const char *procfs, struct sysstat_uptime *ret)
{
	char buf[SMALL_BUF];
	ssize_t n = read_file(procfs, "uptime", buf, sizeof(buf));

	return n < 0 ? (int)n : sysstat_parse_uptime(buf, (size_t)n, ret);
}

/* ---- /proc/pressure ---- */

/* "avg10=5.95 avg60=12.24 avg300=16.29 total=119057200" */
static int psi_fields(const char *p, const char *end, struct sysstat_psi_line *ret)
{
	static const char *const keys[] = { "avg10=", "avg60=", "avg300=", "total=" };
	uint64_t v[4];
	size_t i, kl;

	for (i = 0; i < 4; i++) {
		kl = strlen(keys[i]);
		if ((size_t)(end - p) < kl || memcmp(p, keys[i], kl) != 0)
			return -EINVAL;
		p += kl;
		if ((i < 3 ? parse_fixed9(&p, end, &v[i]) : util_parse_u64(&p, end, &v[i])) < 0)
			return -EINVAL;
		if (i < 3) {
			if (p >= end || *p != ' ')
				return -EINVAL;
			p++;
		}
	}
	if (p != end)
		return -EINVAL;
	ret->avg10 = (double)v[0] / 1e9;
	ret->avg60 = (double)v[1] / 1e9;
	ret->avg300 = (double)v[2] / 1e9;
	ret->total_us = v[3];
	return 0;
}

int sysstat_parse_psi(const char *buf, size_t n, struct sysstat_psi *ret)
{
	const char *p = buf, *end = buf + n, *nl;
	struct sysstat_psi_line line;
	int found = 0;

	if (!buf || !ret)
		return -EINVAL;
	memset(ret, 0, sizeof(*ret));
	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl) {
			ret->errors++;
			break;
		}
		if (nl - p > 5 && memcmp(p, "some ", 5) == 0 && psi_fields(p + 5, nl, &line) == 0) {
			ret->some = line;
			ret->valid |= SYSSTAT_PSI_SOME;
			found++;
		} else if (nl - p > 5 && memcmp(p, "full ", 5) == 0 && psi_fields(p + 5, nl, &line) == 0) {
			ret->full = line;
			ret->valid |= SYSSTAT_PSI_FULL;
			found++;
		} else {
			ret->errors++;
		}
	}
	return found;
}

int sysstat_read_pressure(const char *procfs, struct sysstat_pressure *ret)
{
	static const char *const names[] = { "pressure/cpu", "pressure/memory", "pressure/io" };
	struct sysstat_psi *dst[3];
	char buf[SMALL_BUF];
	int avail = 0;
	size_t i;
	ssize_t n;

	if (!procfs || !ret)
		return -EINVAL;
	memset(ret, 0, sizeof(*ret));
	dst[0] = &ret->cpu;
	dst[1] = &ret->memory;
	dst[2] = &ret->io;
	for (i = 0; i < 3; i++) {
		n = read_file(procfs, names[i], buf, sizeof(buf));
		if (n < 0)
			continue; /* ENOENT: no CONFIG_PSI; EOPNOTSUPP: psi=0 */
		if (sysstat_parse_psi(buf, (size_t)n, dst[i]) > 0)
			avail++;
	}
	return avail;
}
