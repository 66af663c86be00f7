/* SPDX-License-Identifier: GPL-2.0-only */
/* Small helpers shared by the parsers and file readers, see util.h. */
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* glibc 2.36 has no wrapper; the kernel has had it since 5.6. */
static int openat2_path(int dirfd, const char *path, uint64_t resolve)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = resolve,
	};
	long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));

	return fd < 0 ? -errno : (int)fd;
}

int util_open_path(const char *root, const char *path, unsigned flags, struct stat *ret_st)
{
	struct stat st;
	int fd, r;

	if (!path || !path[0])
		return -ENOENT;
	if (root) {
		/* The root itself is ours to name (procfs/PID/root, a magic
		 * link): follow it; everything below it stays inside. */
		int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);

		if (rootfd < 0)
			return -errno;
		fd = openat2_path(rootfd, path, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
		close(rootfd);
	} else if (flags & UTIL_OPEN_MAGICLINKS) {
		fd = open(path, O_PATH | O_CLOEXEC);
		if (fd < 0)
			fd = -errno;
	} else {
		fd = openat2_path(AT_FDCWD, path, RESOLVE_NO_MAGICLINKS);
	}
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	if (ret_st)
		*ret_st = st;
	return fd;
}

int util_reopen_read(int path_fd)
{
	char proc[64];
	int fd;

	/* Reopening through /proc/self/fd names the very inode the O_PATH fd
	 * holds: no second path walk that a rename could redirect. */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", path_fd);
	fd = open(proc, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	return fd < 0 ? -errno : fd;
}

int util_open_regular_in(const char *root, const char *path, unsigned flags, struct stat *ret_st)
{
	int pfd = util_open_path(root, path, flags, ret_st), fd;

	if (pfd < 0)
		return pfd;
	fd = util_reopen_read(pfd);
	close(pfd);
	return fd;
}

int util_open_regular(const char *path, struct stat *ret_st)
{
	return util_open_regular_in(NULL, path, 0, ret_st);
}

int util_read_file(const char *path, size_t max, unsigned flags, char **ret_buf, size_t *ret_len)
{
	size_t len = 0, cap = max < 4096 ? max : 4096;
	char *buf = NULL;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n;

		if (!buf || len == cap) {
			char *nb;

			if (buf && cap == max) {
				/* Full: one more byte tells a file of exactly
				 * max bytes from a longer one. */
				char probe;

				do
					n = read(fd, &probe, 1);
				while (n < 0 && errno == EINTR);
				if (n < 0)
					r = -errno;
				else if (n > 0)
					r = flags & UTIL_READ_TRUNCATE ? 1 : -EFBIG;
				break;
			}
			if (buf)
				cap = cap > max / 2 ? max : cap * 2;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				r = -ENOMEM;
				break;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (r < 0) {
		free(buf);
		return r;
	}
	buf[len] = '\0';
	*ret_buf = buf;
	*ret_len = len;
	return r;
}

int util_parse_u64(const char **p, const char *end, uint64_t *ret)
{
	const char *s = *p;
	uint64_t v = 0;
	bool over = false;

	if (s >= end || *s < '0' || *s > '9')
		return -EINVAL;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(*s - '0'), &v))
			over = true;
	}
	*p = s;
	if (over)
		return -ERANGE;
	*ret = v;
	return 0;
}

int util_arena_add(struct util_arena *a, const char *s, size_t len, size_t *ret_off)
{
	if (a->len + len + 1 > a->cap) {
		size_t cap = a->cap ? a->cap : 4096;
		char *b;

		while (cap < a->len + len + 1)
			cap *= 2;
		b = realloc(a->buf, cap);
		if (!b)
			return -ENOMEM;
		a->buf = b;
		a->cap = cap;
	}
	memcpy(a->buf + a->len, s, len);
	a->buf[a->len + len] = '\0';
	*ret_off = a->len;
	a->len += len + 1;
	return 0;
}
