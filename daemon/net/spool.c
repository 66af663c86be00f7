/* SPDX-License-Identifier: GPL-2.0-only */
/* The on-disk payload queue, see spool.h. File layout (little endian):
 *   0  magic "PRFDSPL1"      24 suffix length (u32)
 *   8  version (u32) = 1     28 body length (u32)
 *   12 header size (u32)     32 CRC-32 of suffix + body (u32)
 *   16 created, unix ms (u64) 36 reserved (u32)
 * then the suffix and the body. */
#include "net/spool.h"
#include "common/sort.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

struct spool {
	int dfd;
	struct spool_stats st;
};

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static bool name_ok(const char *name)
{
	if (!name || !*name || name[0] == '.' || strlen(name) > 64)
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
		      *p == '-' || *p == '.'))
			return false;
	return true;
}

/* Open (creating) directory component name under dfd, never through a
 * symlink. Returns an fd or -errno. */
static int open_subdir(int dfd, const char *name)
{
	int fd;

	if (mkdirat(dfd, name, 0700) < 0 && errno != EEXIST)
		return -errno;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static void file_name(char *buf, size_t n, uint64_t seq)
{
	snprintf(buf, n, "%016" PRIx64 ".spool", seq);
}

/* seq of a payload file name, or -1 for anything else. */
static int parse_name(const char *name, uint64_t *seq)
{
	char *end;

	if (strlen(name) != 22 || strcmp(name + 16, ".spool"))
		return -1;
	for (int i = 0; i < 16; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
			return -1;
	*seq = strtoull(name, &end, 16);
	return 0;
}

/* Read and check the header of an open file; 0 and the lengths, or
 * -EBADMSG. */
static int read_header(int fd, uint64_t *created, uint32_t *slen, uint32_t *blen, uint32_t *crc, off_t size)
{
	uint8_t h[SPOOL_HEADER_SIZE];

	if (pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return -EBADMSG;
	if (memcmp(h, SPOOL_MAGIC, 8) || get32(h + 8) != 1 || get32(h + 12) != SPOOL_HEADER_SIZE)
		return -EBADMSG;
	*created = get64(h + 16);
	*slen = get32(h + 24);
	*blen = get32(h + 28);
	*crc = get32(h + 32);
	if (*slen > 65536 || *blen > SPOOL_MAX_PAYLOAD ||
	    (uint64_t)size != (uint64_t)SPOOL_HEADER_SIZE + *slen + *blen)
		return -EBADMSG;
	return 0;
}

static int open_payload(struct spool *s, uint64_t seq, struct stat *st)
{
	char name[32];
	int fd;

	file_name(name, sizeof(name), seq);
	fd = openat(s->dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		return -EBADMSG;
	}
	return fd;
}

static int read_all(int fd, void *buf, size_t n, off_t off)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = pread(fd, (char *)buf + done, n - done, off + (off_t)done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EBADMSG;
		done += (size_t)r;
	}
	return 0;
}

static int read_payload(struct spool *s, uint64_t seq, char **ret_suffix, char **ret_body, size_t *ret_len,
			uint64_t *ret_created)
{
	struct stat st;
	uint64_t created;
	uint32_t slen, blen, crc;
	char *suffix = NULL, *body = NULL;
	int fd = open_payload(s, seq, &st), r;

	if (fd < 0)
		return fd;
	r = read_header(fd, &created, &slen, &blen, &crc, st.st_size);
	if (r < 0)
		goto out;
	suffix = malloc(slen + 1);
	body = malloc(blen + 1);
	if (!suffix || !body) {
		r = -ENOMEM;
		goto out;
	}
	r = read_all(fd, suffix, slen, SPOOL_HEADER_SIZE);
	if (!r)
		r = read_all(fd, body, blen, SPOOL_HEADER_SIZE + (off_t)slen);
	if (r < 0)
		goto out;
	suffix[slen] = '\0';
	body[blen] = '\0';
	if ((uint32_t)crc32(crc32(crc32(0L, Z_NULL, 0), (const Bytef *)suffix, slen), (const Bytef *)body, blen) !=
	    crc) {
		r = -EBADMSG;
		goto out;
	}
	if (memchr(suffix, '\0', slen)) {
		r = -EBADMSG;
		goto out;
	}
	*ret_created = created;
	*ret_len = blen;
	if (ret_suffix) {
		*ret_suffix = suffix;
		suffix = NULL;
	}
	if (ret_body) {
		*ret_body = body;
		body = NULL;
	}
out:
	close(fd);
	free(suffix);
	free(body);
	return r;
}

struct found {
	uint64_t seq, size;
};

static int cmp_found(const void *a, const void *b)
{
	const struct found *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int spool_open(const char *state_dir, const char *name, spool_found_fn fn, void *ctx, struct spool **ret)
{
	struct spool *s;
	struct found *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int top, mid, dfd, r = 0;

	if (!state_dir || state_dir[0] != '/' || !name_ok(name))
		return -EINVAL;
	/* the state directory itself comes from the configuration; systemd
	 * creates it (StateDirectory=), a start outside systemd may not have */
	if (mkdir(state_dir, 0750) < 0 && errno != EEXIST)
		return -errno;
	top = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (top < 0)
		return -errno;
	mid = open_subdir(top, "spool");
	close(top);
	if (mid < 0)
		return mid;
	dfd = open_subdir(mid, name);
	close(mid);
	if (dfd < 0)
		return dfd;
	s = calloc(1, sizeof(*s));
	if (!s) {
		close(dfd);
		return -ENOMEM;
	}
	s->dfd = dfd;
	d = fdopendir(dup(dfd));
	if (!d) {
		r = -errno;
		goto fail;
	}
	while ((de = readdir(d))) {
		uint64_t seq;

		if (!strncmp(de->d_name, ".tmp-", 5)) {
			unlinkat(dfd, de->d_name, 0);
			continue;
		}
		if (parse_name(de->d_name, &seq) < 0)
			continue;
		if (n == cap) {
			struct found *nv = realloc(v, (cap ? cap * 2 : 64) * sizeof(*v));

			if (!nv) {
				r = -ENOMEM;
				closedir(d);
				goto fail;
			}
			v = nv;
			cap = cap ? cap * 2 : 64;
		}
		v[n++].seq = seq;
	}
	closedir(d);
	if (n)
		qsort_safe(v, n, sizeof(*v), cmp_found);
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		uint64_t created;
		uint32_t slen, blen, crc;
		int fd = open_payload(s, v[i].seq, &st), e;

		if (fd < 0) {
			e = fd;
		} else {
			e = read_header(fd, &created, &slen, &blen, &crc, st.st_size);
			close(fd);
		}
		if (e < 0) {
			char fname[32];

			file_name(fname, sizeof(fname), v[i].seq);
			unlinkat(dfd, fname, 0);
			s->st.corrupt++;
			continue;
		}
		s->st.files++;
		s->st.bytes += (uint64_t)st.st_size;
		if (fn)
			fn(v[i].seq, created, (uint64_t)st.st_size, ctx);
	}
	free(v);
	*ret = s;
	return 0;
fail:
	free(v);
	close(dfd);
	free(s);
	return r;
}

struct spool *spool_free(struct spool *s)
{
	if (!s)
		return NULL;
	close(s->dfd);
	free(s);
	return NULL;
}

static int write_all(int fd, const void *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = write(fd, (const char *)buf + done, n - done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		done += (size_t)r;
	}
	return 0;
}

int spool_write(struct spool *s, uint64_t seq, uint64_t created_ms, const char *suffix, const void *body,
		size_t len, uint64_t *ret_bytes)
{
	uint8_t h[SPOOL_HEADER_SIZE] = { 0 };
	size_t slen = suffix ? strlen(suffix) : 0;
	char tmp[40], name[32];
	uLong crc;
	int fd, r;

	if (len > SPOOL_MAX_PAYLOAD || slen > 65536)
		return -E2BIG;
	crc = crc32(crc32(crc32(0L, Z_NULL, 0), (const Bytef *)(suffix ? suffix : ""), (uInt)slen),
		    (const Bytef *)body, (uInt)len);
	memcpy(h, SPOOL_MAGIC, 8);
	put32(h + 8, 1);
	put32(h + 12, SPOOL_HEADER_SIZE);
	put64(h + 16, created_ms);
	put32(h + 24, (uint32_t)slen);
	put32(h + 28, (uint32_t)len);
	put32(h + 32, (uint32_t)crc);
	snprintf(tmp, sizeof(tmp), ".tmp-%016" PRIx64, seq);
	file_name(name, sizeof(name), seq);
	fd = openat(s->dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		goto fail;
	}
	r = write_all(fd, h, sizeof(h));
	if (!r && slen)
		r = write_all(fd, suffix, slen);
	if (!r && len)
		r = write_all(fd, body, len);
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && renameat(s->dfd, tmp, s->dfd, name) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(s->dfd, tmp, 0);
		goto fail;
	}
	s->st.files++;
	s->st.bytes += SPOOL_HEADER_SIZE + slen + len;
	if (ret_bytes)
		*ret_bytes = SPOOL_HEADER_SIZE + slen + len;
	return 0;
fail:
	s->st.write_errors++;
	return r;
}

int spool_read(struct spool *s, uint64_t seq, char **ret_suffix, char **ret_body, size_t *ret_len)
{
	uint64_t created;
	int r = read_payload(s, seq, ret_suffix, ret_body, ret_len, &created);

	if (r == -EBADMSG) {
		char name[32];

		file_name(name, sizeof(name), seq);
		unlinkat(s->dfd, name, 0);
		s->st.corrupt++;
	}
	return r;
}

void spool_remove(struct spool *s, uint64_t seq, uint64_t bytes)
{
	char name[32];

	file_name(name, sizeof(name), seq);
	if (unlinkat(s->dfd, name, 0) == 0 || errno == ENOENT) {
		if (s->st.files)
			s->st.files--;
		s->st.bytes = s->st.bytes > bytes ? s->st.bytes - bytes : 0;
	}
}

void spool_get_stats(const struct spool *s, struct spool_stats *ret)
{
	*ret = s->st;
}
