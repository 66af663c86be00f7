/* SPDX-License-Identifier: GPL-2.0-only */
/* Per-process /proc counters: buffer parsers and dirfd-based readers. */
#include "collect/procstat.h"
#include "base/util.h"
#include "store/proctable.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/magic.h>

/* Read buffers, on the stack. stat is ~350 bytes (comm may be up to 64 on
 * kernels that show full kthread names); status is ~1.5 KiB but its
 * Cpus_allowed/Mems_allowed lines grow with CPU and node counts (4096 CPUs:
 * ~2.5 KiB more), and the lines we need come last; io is ~200 bytes;
 * cgroup has one line per v1 hierarchy (~15) of paths up to a few hundred
 * bytes. Anything cut off by a bound is parsed as truncated. */
#define STAT_BUF 1024
#define STATUS_BUF 16384
#define IO_BUF 512
#define CGROUP_BUF 8192
/* getdents64 buffer: ~24 bytes per fd entry, so ~1300 fds per call. */
#define DENTS_BUF 32768

/* Whole token [s, end) is one unsigned decimal. */
static int token_u64(const char *s, const char *end, uint64_t *ret)
{
	const char *p = s;
	uint64_t v;
	int r = util_parse_u64(&p, end, &v);

	if (r < 0)
		return r;
	if (p != end)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* Ticks -> ns without intermediate overflow where the result fits. */
static int ticks_to_ns(uint64_t ticks, uint64_t hz, uint64_t *ret)
{
	uint64_t whole, frac;

	if (__builtin_mul_overflow(ticks / hz, 1000000000ull, &whole))
		return -ERANGE;
	frac = (ticks % hz) * 1000000000ull / hz; /* ticks % hz < hz: fits */
	if (__builtin_add_overflow(whole, frac, ret))
		return -ERANGE;
	return 0;
}

int procstat_parse_stat(const char *buf, size_t n, uint64_t clk_tck, struct procstat *ret)
{
	const char *end, *lpar, *rpar, *p, *tok;
	uint64_t pid, v, ns;
	size_t clen;
	unsigned field;
	bool truncated;

	if (!buf || !ret)
		return -EINVAL;
	if (clk_tck == 0)
		clk_tck = 100;
	end = buf + n;
	lpar = memchr(buf, '(', n);
	rpar = memrchr(buf, ')', n);
	if (!lpar || !rpar || rpar < lpar)
		return -EINVAL;
	if (lpar == buf || lpar[-1] != ' ' ||
	    token_u64(buf, lpar - 1, &pid) < 0 || pid > UINT32_MAX)
		return -EINVAL;

	ret->pid = (uint32_t)pid;
	clen = (size_t)(rpar - lpar - 1);
	if (clen >= sizeof(ret->comm))
		clen = sizeof(ret->comm) - 1;
	memcpy(ret->comm, lpar + 1, clen);
	ret->comm[clen] = '\0';
	ret->valid |= PROCSTAT_PID;

	/* Fields after ") " are separated by one space; the line ends in
	 * '\n'. Without it, the last token may be cut and is not trusted. */
	truncated = end == buf || end[-1] != '\n';
	if (!truncated)
		end--;
	p = rpar + 1;
	for (field = 3; p < end && *p == ' '; field++) {
		tok = ++p;
		while (p < end && *p != ' ' && *p != '\n')
			p++;
		if (p == end && truncated) {
			ret->errors++;
			break;
		}
		if (field == 3) {
			if (p - tok == 1) {
				ret->state = *tok;
				ret->valid |= PROCSTAT_STATE;
			} else {
				ret->errors++;
			}
			continue;
		}
		if (field != 4 && field != 10 && field != 12 && field != 14 &&
		    field != 15 && field != 20 && field != 22)
			continue;
		if (token_u64(tok, p, &v) < 0) {
			ret->errors++;
			continue;
		}
		switch (field) {
		case 4:
			if (v > UINT32_MAX) {
				ret->errors++;
				break;
			}
			ret->ppid = (uint32_t)v;
			ret->valid |= PROCSTAT_PPID;
			break;
		case 10:
			ret->minflt = v;
			ret->valid |= PROCSTAT_MINFLT;
			break;
		case 12:
			ret->majflt = v;
			ret->valid |= PROCSTAT_MAJFLT;
			break;
		case 14:
		case 15:
			if (ticks_to_ns(v, clk_tck, &ns) < 0) {
				ret->errors++;
				break;
			}
			if (field == 14) {
				ret->utime_ns = ns;
				ret->valid |= PROCSTAT_UTIME;
			} else {
				ret->stime_ns = ns;
				ret->valid |= PROCSTAT_STIME;
			}
			break;
		case 20:
			ret->num_threads = v;
			ret->valid |= PROCSTAT_THREADS;
			break;
		case 22:
			ret->starttime_ticks = v;
			ret->valid |= PROCSTAT_STARTTIME;
			break;
		}
	}
	return 0;
}

/* "Key:<ws>value[ kB]" tables for status and io. */
struct kv_field {
	const char *key;
	size_t off;       /* offsetof(struct procstat, field) */
	uint32_t bit;
	bool kb;          /* value in kB: scale to bytes */
};

#define KV(k, f, b, kb) { k, offsetof(struct procstat, f), b, kb }

static const struct kv_field status_fields[] = {
	KV("VmRSS", rss_bytes, PROCSTAT_RSS, true),
	KV("RssAnon", rss_anon_bytes, PROCSTAT_RSS_ANON, true),
	KV("RssFile", rss_file_bytes, PROCSTAT_RSS_FILE, true),
	KV("RssShmem", rss_shmem_bytes, PROCSTAT_RSS_SHMEM, true),
	KV("VmSwap", swap_bytes, PROCSTAT_SWAP, true),
	KV("Threads", num_threads, PROCSTAT_THREADS, false),
	KV("voluntary_ctxt_switches", vol_ctxsw, PROCSTAT_VCTXSW, false),
	KV("nonvoluntary_ctxt_switches", nonvol_ctxsw, PROCSTAT_NVCTXSW, false),
};

static const struct kv_field io_fields[] = {
	KV("rchar", rchar, PROCSTAT_RCHAR, false),
	KV("wchar", wchar, PROCSTAT_WCHAR, false),
	KV("read_bytes", read_bytes, PROCSTAT_READ_BYTES, false),
	KV("write_bytes", write_bytes, PROCSTAT_WRITE_BYTES, false),
	KV("cancelled_write_bytes", cancelled_write_bytes, PROCSTAT_CWRITE_BYTES, false),
};

/* Parse one value line[0..len) (no '\n') after its key's ':'. */
static int kv_value(const char *p, const char *end, bool kb, uint64_t *ret)
{
	uint64_t v;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (util_parse_u64(&p, end, &v) < 0)
		return -EINVAL;
	if (kb) {
		if (end - p != 3 || memcmp(p, " kB", 3) != 0)
			return -EINVAL;
		if (__builtin_mul_overflow(v, 1024, &v))
			return -ERANGE;
	} else if (p != end) {
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

static int parse_kv(const char *buf, size_t n, const struct kv_field *tab, size_t ntab, struct procstat *ret)
{
	const char *p = buf, *end = buf + n, *nl, *colon;
	uint64_t v;
	int found = 0;
	size_t i;

	if (!buf || !ret)
		return -EINVAL;
	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		colon = memchr(p, ':', (size_t)((nl ? nl : end) - p));
		if (!colon)
			goto next;
		for (i = 0; i < ntab; i++) {
			size_t klen = strlen(tab[i].key);

			if ((size_t)(colon - p) != klen || memcmp(p, tab[i].key, klen) != 0)
				continue;
			/* A last line without '\n' may be cut mid-number. */
			if (!nl || kv_value(colon + 1, nl, tab[i].kb, &v) < 0) {
				ret->errors++;
				break;
			}
			memcpy((char *)ret + tab[i].off, &v, sizeof(v));
			ret->valid |= tab[i].bit;
			found++;
			break;
		}
next:
		if (!nl)
			break;
	}
	return found;
}

/* "Uid:\treal\teffective\tsaved\tfs": the real uid, the first. */
static int parse_uid(const char *buf, size_t n, struct procstat *ret)
{
	const char *end = buf + n, *p = buf, *nl;
	uint64_t v;

	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			return 0; /* a last line without '\n' may be cut */
		if (nl - p < 4 || memcmp(p, "Uid:", 4) != 0)
			continue;
		p += 4;
		while (p < nl && (*p == ' ' || *p == '\t'))
			p++;
		if (util_parse_u64(&p, nl, &v) < 0 || v > UINT32_MAX || (p < nl && *p != '\t' && *p != ' ')) {
			ret->errors++;
			return 0;
		}
		ret->uid = (uint32_t)v;
		ret->valid |= PROCSTAT_UID;
		return 1;
	}
	return 0;
}

int procstat_parse_status(const char *buf, size_t n, struct procstat *ret)
{
	int found = parse_kv(buf, n, status_fields, sizeof(status_fields) / sizeof(status_fields[0]), ret);

	return found < 0 ? found : found + parse_uid(buf, n, ret);
}

int procstat_parse_io(const char *buf, size_t n, struct procstat *ret)
{
	return parse_kv(buf, n, io_fields, sizeof(io_fields) / sizeof(io_fields[0]), ret);
}

/* Characters systemd allows in unit names. */
static bool unit_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == ':' || c == '-' || c == '_' ||
	       c == '.' || c == '\\' || c == '@';
}

static bool has_suffix(const char *s, size_t len, const char *suf)
{
	size_t sl = strlen(suf);

	return len > sl && memcmp(s + len - sl, suf, sl) == 0;
}

static bool is_unit_name(const char *s, size_t len)
{
	/* .slice is left out: a slice only groups units, a process's unit is
	 * the service or scope below it. */
	static const char *const suffixes[] = {
		".service", ".scope", ".socket", ".mount", ".swap", ".timer",
		".path", ".target", ".device", ".automount",
	};
	size_t i;

	if (len == 0 || len >= PROCSTAT_UNIT_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!unit_char(s[i]))
			return false;
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		if (has_suffix(s, len, suffixes[i]))
			return true;
	return false;
}

/* Previous path component before *end: sets [*ret_s, *ret_e) and moves end.
 * false when none is left. */
static bool prev_component(const char *path, const char **end, const char **ret_s)
{
	const char *e = *end, *s;

	while (e > path && e[-1] == '/')
		e--;
	if (e == path)
		return false;
	s = e;
	while (s > path && s[-1] != '/')
		s--;
	*ret_s = s;
	*end = e;
	return true;
}

int procstat_cgroup_unit(const char *path, size_t len, char *ret, size_t size)
{
	const char *e, *s;

	if (!path || !ret)
		return -EINVAL;
	for (e = path + len; prev_component(path, &e, &s); e = s) {
		size_t l = (size_t)(e - s);

		if (!is_unit_name(s, l))
			continue;
		if (l >= size)
			return -ENAMETOOLONG;
		memcpy(ret, s, l);
		ret[l] = '\0';
		return (int)l;
	}
	return -ENOENT;
}

#define CONTAINER_HEX 64

static bool all_hex(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

int procstat_cgroup_container(const char *path, size_t len, char ret[PROCSTAT_CONTAINER_ID_LEN + 1])
{
	const char *e, *s, *id;
	size_t l;

	if (!path || !ret)
		return -EINVAL;
	for (e = path + len; prev_component(path, &e, &s); e = s) {
		l = (size_t)(e - s);
		if (has_suffix(s, l, ".scope"))
			l -= strlen(".scope");
		if (l < CONTAINER_HEX)
			continue;
		id = s + l - CONTAINER_HEX;
		/* Bare id, or prefix-<id> / prefix:<id> (docker-, crio-, ...). */
		if (id != s && id[-1] != '-' && id[-1] != ':')
			continue;
		if (!all_hex(id, CONTAINER_HEX))
			continue;
		memcpy(ret, id, PROCSTAT_CONTAINER_ID_LEN);
		ret[PROCSTAT_CONTAINER_ID_LEN] = '\0';
		return 0;
	}
	return -ENOENT;
}

/* Whether the comma-separated controller list list[0..n) names ctl. */
static bool has_controller(const char *list, size_t n, const char *ctl)
{
	size_t l = strlen(ctl);

	for (const char *p = list, *e = list + n; p < e;) {
		const char *c = memchr(p, ',', (size_t)(e - p));
		size_t len = c ? (size_t)(c - p) : (size_t)(e - p);

		if (len == l && !memcmp(p, ctl, l))
			return true;
		p += len + 1;
	}
	return false;
}

int procstat_parse_cgroup(const char *buf, size_t n, struct procstat *ret)
{
	const char *p = buf, *end = buf + n, *nl, *c1, *c2;
	const char *v2 = NULL, *v2e = NULL, *sd = NULL, *sde = NULL, *path, *pe;
	static const char deleted[] = " (deleted)";
	const char *blk = NULL, *blke = NULL;
	int found = 0;

	if (!buf || !ret)
		return -EINVAL;
	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl) {
			/* A path cut mid-way could name the wrong unit. */
			if (p < end)
				ret->errors++;
			break;
		}
		c1 = memchr(p, ':', (size_t)(nl - p));
		c2 = c1 ? memchr(c1 + 1, ':', (size_t)(nl - c1 - 1)) : NULL;
		if (!c2 || c2 + 1 >= nl || c2[1] != '/') {
			ret->errors++;
			continue;
		}
		if (c1 - p == 1 && p[0] == '0' && c2 == c1 + 1) {
			v2 = c2 + 1;
			v2e = nl;
		} else if ((size_t)(c2 - c1 - 1) == strlen("name=systemd") &&
			   memcmp(c1 + 1, "name=systemd", strlen("name=systemd")) == 0) {
			sd = c2 + 1;
			sde = nl;
		} else if (has_controller(c1 + 1, (size_t)(c2 - c1 - 1), "blkio")) {
			blk = c2 + 1;
			blke = nl;
		}
	}
	/* where block I/O is charged: the blkio hierarchy if it is a v1 one */
	if (blk || v2) {
		const char *io = blk ? blk : v2, *ioe = blk ? blke : v2e;

		if (has_suffix(io, (size_t)(ioe - io), deleted))
			ioe -= strlen(deleted);
		if ((size_t)(ioe - io) < sizeof(ret->io_cgroup)) {
			memcpy(ret->io_cgroup, io, (size_t)(ioe - io));
			ret->io_cgroup[ioe - io] = '\0';
			ret->valid |= PROCSTAT_IO_CGROUP;
			found++;
		}
	}
	/* Hybrid hierarchies leave the v2 path at "/" while systemd's v1
	 * hierarchy holds the unit. */
	if (v2 && !(v2e - v2 == 1 && sd)) {
		path = v2;
		pe = v2e;
	} else {
		path = sd;
		pe = sde;
	}
	if (path) {
		if (has_suffix(path, (size_t)(pe - path), deleted))
			pe -= strlen(deleted);
		if ((size_t)(pe - path) < sizeof(ret->cgroup)) {
			memcpy(ret->cgroup, path, (size_t)(pe - path));
			ret->cgroup[pe - path] = '\0';
			ret->valid |= PROCSTAT_CGROUP;
			found++;
		} else {
			ret->errors++;
		}
		if (procstat_cgroup_unit(path, (size_t)(pe - path), ret->unit, sizeof(ret->unit)) >= 0) {
			ret->valid |= PROCSTAT_UNIT;
			found++;
		}
		if (procstat_cgroup_container(path, (size_t)(pe - path), ret->container_id) == 0) {
			ret->valid |= PROCSTAT_CONTAINER;
			return found + 1;
		}
	}
	/* cgroup v1 without systemd: the id shows in the controllers' paths. */
	for (p = buf; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			break;
		c1 = memchr(p, ':', (size_t)(nl - p));
		c2 = c1 ? memchr(c1 + 1, ':', (size_t)(nl - c1 - 1)) : NULL;
		if (c2 && procstat_cgroup_container(c2 + 1, (size_t)(nl - c2 - 1), ret->container_id) == 0) {
			ret->valid |= PROCSTAT_CONTAINER;
			found++;
			break;
		}
	}
	return found;
}

int procstat_open(const char *procfs, uint32_t pid)
{
	char path[4096];
	int fd, r;

	if (!procfs)
		return -EINVAL;
	r = snprintf(path, sizeof(path), "%s/%u", procfs, pid);
	if (r < 0 || (size_t)r >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Read name under dirfd into buf (at most cap bytes). Length or -errno.
 * One read(): these procfs files are single-record seq_files that hand
 * over their whole text at once (and a regular file reads short only at
 * its end), so the usual second read() for EOF, a syscall that costs
 * 1-2 µs under PTI, is skipped. Text past cap is lost and parsed as cut. */
static ssize_t read_at(int dirfd, const char *name, char *buf, size_t cap)
{
	ssize_t r;
	int fd, err;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	do
		r = read(fd, buf, cap);
	while (r < 0 && errno == EINTR);
	err = r < 0 ? -errno : 0;
	close(fd);
	return err < 0 ? err : r;
}

int procstat_count_fds(int piddir, uint64_t *ret)
{
	char buf[DENTS_BUF] __attribute__((aligned(8)));
	uint64_t count = 0;
	ssize_t r, off;
	int fd, err = 0;

	if (!ret)
		return -EINVAL;
	fd = openat(piddir, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		r = getdents64(fd, buf, sizeof(buf));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		if (r == 0)
			break;
		for (off = 0; off < r;) {
			const struct dirent64 *d = (const struct dirent64 *)(buf + off);

			if (d->d_reclen == 0 || d->d_reclen > r - off) {
				err = -EIO;
				break;
			}
			off += d->d_reclen;
			if (d->d_name[0] == '.' && (d->d_name[1] == '\0' ||
			    (d->d_name[1] == '.' && d->d_name[2] == '\0')))
				continue;
			count++;
		}
		if (err < 0 || count >= PROCSTAT_FDS_MAX)
			break;
	}
	close(fd);
	if (err < 0)
		return err;
	if (count >= PROCSTAT_FDS_MAX) {
		*ret = PROCSTAT_FDS_MAX;
		return 1;
	}
	*ret = count;
	return 0;
}

/* Open fds of the files read each tick; -1 where the file is opened per
 * read (or not read). */
struct procstat_handle {
	int dir;
	int stat;
	int status;
	int io;
	unsigned what;
};

/* pread at 0 of an already open file, else openat + read + close. */
static ssize_t read_part(int dirfd, int fd, const char *name, char *buf, size_t cap)
{
	ssize_t r;

	if (fd < 0)
		return read_at(dirfd, name, buf, cap);
	do
		r = pread(fd, buf, cap, 0);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

static int read_all(const struct procstat_handle *h, struct procstat *ret)
{
	char buf[STATUS_BUF];
	struct procstat ps;
	ssize_t n;
	uint64_t fds;
	int r;

	memset(&ps, 0, sizeof(ps));
	n = read_part(h->dir, h->stat, "stat", buf, STAT_BUF);
	if (n < 0)
		return (int)n;
	r = procstat_parse_stat(buf, (size_t)n, proctable_user_hz(), &ps);
	if (r < 0)
		return r;

	if (h->what & PROCSTAT_READ_STATUS) {
		n = read_part(h->dir, h->status, "status", buf, STATUS_BUF);
		if (n >= 0)
			procstat_parse_status(buf, (size_t)n, &ps);
	}
	if (h->what & PROCSTAT_READ_IO) {
		n = read_part(h->dir, h->io, "io", buf, IO_BUF);
		if (n >= 0)
			procstat_parse_io(buf, (size_t)n, &ps);
	}
	if (h->what & PROCSTAT_READ_CGROUP) {
		n = read_at(h->dir, "cgroup", buf, CGROUP_BUF);
		if (n >= 0)
			procstat_parse_cgroup(buf, (size_t)n, &ps);
	}
	if ((h->what & PROCSTAT_READ_FDS) && (h->what & PROCSTAT_READ_FDS_STSIZE)) {
		struct stat st;

		if (fstatat(h->dir, "fd", &st, 0) == 0 && st.st_size >= 0) {
			ps.fds = (uint64_t)st.st_size;
			ps.valid |= PROCSTAT_FDS;
		}
	} else if (h->what & PROCSTAT_READ_FDS) {
		r = procstat_count_fds(h->dir, &fds);
		if (r >= 0) {
			ps.fds = fds;
			ps.valid |= PROCSTAT_FDS | (r == 1 ? PROCSTAT_FDS_CAPPED : 0);
		}
	}
	*ret = ps;
	return 0;
}

int procstat_read_at(int piddir, unsigned what, struct procstat *ret)
{
	struct procstat_handle h = { piddir, -1, -1, -1, what };

	if (piddir < 0 || !ret)
		return -EINVAL;
	return read_all(&h, ret);
}

struct procstat_handle *procstat_handle_open(const char *procfs, uint32_t pid, unsigned what)
{
	struct procstat_handle *h;
	int fd;

	fd = procstat_open(procfs, pid);
	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		close(fd);
		return NULL;
	}
	h->dir = fd;
	h->what = what;
	h->stat = openat(fd, "stat", O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (h->stat < 0) {
		int err = errno;

		procstat_handle_free(h);
		errno = err;
		return NULL;
	}
	/* Missing or refused (io without ptrace access): opened per read,
	 * where it fails the same way and leaves its bits clear. */
	h->status = what & PROCSTAT_READ_STATUS ? openat(fd, "status", O_RDONLY | O_CLOEXEC | O_NOCTTY) : -1;
	h->io = what & PROCSTAT_READ_IO ? openat(fd, "io", O_RDONLY | O_CLOEXEC | O_NOCTTY) : -1;
	return h;
}

struct procstat_handle *procstat_handle_free(struct procstat_handle *h)
{
	if (!h)
		return NULL;
	if (h->io >= 0)
		close(h->io);
	if (h->status >= 0)
		close(h->status);
	if (h->stat >= 0)
		close(h->stat);
	if (h->dir >= 0)
		close(h->dir);
	free(h);
	return NULL;
}

int procstat_handle_read(struct procstat_handle *h, struct procstat *ret)
{
	if (!h || !ret)
		return -EINVAL;
	return read_all(h, ret);
}

int procstat_probe(const char *procfs)
{
	struct statfs sfs;
	struct stat st;
	char path[4096];
	int r, fd;

	if (!procfs)
		return -EINVAL;
	if (statfs(procfs, &sfs) < 0)
		return -errno;
	if (sfs.f_type != PROC_SUPER_MAGIC)
		return 0;
	r = snprintf(path, sizeof(path), "%s/self/fd", procfs);
	if (r < 0 || (size_t)r >= sizeof(path))
		return -ENAMETOOLONG;
	/* fd is open while we look, so a kernel that counts shows >= 1. */
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = fstat(fd, &st) < 0 ? -errno : 0;
	close(fd);
	if (r < 0)
		return r;
	return st.st_size > 0 ? (int)PROCSTAT_READ_FDS_STSIZE : 0;
}

int procstat_read(const char *procfs, uint32_t pid, unsigned what, struct procstat *ret)
{
	int fd, r;

	fd = procstat_open(procfs, pid);
	if (fd < 0)
		return fd;
	r = procstat_read_at(fd, what, ret);
	close(fd);
	return r;
}

int procstat_read_cmdline(int piddir, char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t r;
	int fd;

	if (!buf || cap == 0)
		return -EINVAL;
	fd = openat(piddir, "cmdline", O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	/* cmdline is produced a page at a time: read to the end (or cap) */
	while (len + 1 < cap) {
		r = read(fd, buf + len, cap - 1 - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			close(fd);
			return (int)r;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	for (size_t i = 0; i < len; i++) {
		if (!buf[i])
			buf[i] = ' ';
	}
	while (len && buf[len - 1] == ' ')
		len--;
	buf[len] = 0;
	return (int)len;
}

int procstat_read_exe(int piddir, char *buf, size_t cap)
{
	ssize_t n;

	if (!buf || cap == 0)
		return -EINVAL;
	n = readlinkat(piddir, "exe", buf, cap);
	if (n < 0)
		return -errno;
	if ((size_t)n >= cap)
		return -ENAMETOOLONG;
	buf[n] = 0;
	return (int)n;
}
