/* SPDX-License-Identifier: GPL-2.0-only */
/* Separate debug-file search: build-id directories, debuglink locations, CRC32 check. */
#include "symbols/debugfile.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define DEFAULT_DEBUG_DIRS "/usr/lib/debug"
#define BUILD_ID_HEX_MAX 64 /* hex digits kept of a build-id: far above SHA-1's 40 */

int debugfile_crc32_fd(int fd, uint32_t *ret)
{
	unsigned char buf[65536];
	uLong crc = crc32(0L, Z_NULL, 0);
	off_t off = 0;

	for (;;) {
		ssize_t n = pread(fd, buf, sizeof(buf), off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		if ((uint64_t)off + (uint64_t)n > DEBUGFILE_CRC_MAX)
			return -EFBIG;
		crc = crc32(crc, buf, (uInt)n);
		off += n;
	}
	*ret = (uint32_t)crc;
	return 0;
}

static int try_path(const struct debugfile_query *q, const char *root, const char *path,
		    debugfile_try_fn try_fn, void *arg)
{
	int fd = util_open_regular_in(root, path, 0, NULL), r;

	if (fd < 0)
		return fd;
	if (!q->build_id_len) {
		uint32_t crc;

		r = debugfile_crc32_fd(fd, &crc);
		if (r == 0 && crc != q->debuglink_crc)
			r = -ESTALE;
		if (r < 0) {
			close(fd);
			return r;
		}
	}
	r = try_fn(fd, arg);
	close(fd);
	return r;
}

int debugfile_search(const struct debugfile_query *q, debugfile_try_fn try_fn, void *arg)
{
	const char *debug_dirs = q->debug_dirs ? q->debug_dirs : DEFAULT_DEBUG_DIRS;
	char path[4096], dir[4096];
	const char *p;
	int n;

	if (q->build_id && q->build_id_len >= 2) {
		char hex[BUILD_ID_HEX_MAX + 1];
		size_t len = q->build_id_len < BUILD_ID_HEX_MAX / 2 ? q->build_id_len : BUILD_ID_HEX_MAX / 2;

		for (size_t i = 0; i < len; i++)
			snprintf(hex + 2 * i, 3, "%02x", q->build_id[i]);
		for (p = debug_dirs; *p;) {
			size_t dl = strcspn(p, ":");

			n = snprintf(path, sizeof(path), "%.*s/.build-id/%.2s/%s.debug", (int)dl, p, hex, hex + 2);
			if (dl && n > 0 && (size_t)n < sizeof(path) && try_path(q, NULL, path, try_fn, arg) == 0)
				return 0;
			p += dl;
			if (*p == ':')
				p++;
		}
	}
	if (!q->debuglink || !q->debuglink[0])
		return -ENOENT;
	if (q->open_dir) {
		/* Inside the process's root when it has one: a link planted
		 * there must not lead out of it. */
		n = snprintf(path, sizeof(path), "%s/%s", q->open_dir, q->debuglink);
		if (n > 0 && (size_t)n < sizeof(path) && try_path(q, q->open_root, path, try_fn, arg) == 0)
			return 0;
		n = snprintf(path, sizeof(path), "%s/.debug/%s", q->open_dir, q->debuglink);
		if (n > 0 && (size_t)n < sizeof(path) && try_path(q, q->open_root, path, try_fn, arg) == 0)
			return 0;
	}
	if (!q->logical_dir || q->logical_dir[0] != '/')
		return -ENOENT;
	for (p = debug_dirs; *p;) {
		size_t dl = strcspn(p, ":");

		n = snprintf(dir, sizeof(dir), "%.*s%s", (int)dl, p, q->logical_dir);
		if (dl && n > 0 && (size_t)n < sizeof(dir)) {
			n = snprintf(path, sizeof(path), "%s/%s", dir, q->debuglink);
			if (n > 0 && (size_t)n < sizeof(path) && try_path(q, NULL, path, try_fn, arg) == 0)
				return 0;
		}
		p += dl;
		if (*p == ':')
			p++;
	}
	return -ENOENT;
}
