/* SPDX-License-Identifier: GPL-2.0-only */
/* Small helpers shared by the parsers and file readers of the daemon. */
#ifndef PROFD_UTIL_H
#define PROFD_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/* util_open_* flags. */
#define UTIL_OPEN_MAGICLINKS (1u << 0) /* path may go through a /proc magic link
					* (/proc/PID/map_files/..., /proc/PID/root) */

/* Files named by other processes are opened in three steps so that opening
 * one has no side effect unless it is a regular file: resolve the path
 * with O_PATH (no driver or FIFO open), fstat that, and only then reopen a
 * regular file for reading through /proc/self/fd. O_NONBLOCK, O_NOCTTY,
 * O_CLOEXEC throughout. */

/* O_PATH fd of the regular file at path, or -errno; -EINVAL when it is not
 * a regular file (a FIFO, device, directory...). root == NULL: path is a
 * host path; else root names a directory (typically "/proc/PID/root") and
 * path is resolved inside it as if it were "/": absolute symlinks and ".."
 * cannot leave it (openat2 RESOLVE_IN_ROOT). Magic links are refused
 * unless flags has UTIL_OPEN_MAGICLINKS (host paths only). ret_st (may be
 * NULL) gets the file's stat. */
int util_open_path(const char *root, const char *path, unsigned flags, struct stat *ret_st);
/* Read-only fd for the O_PATH fd of a regular file, or -errno. */
int util_reopen_read(int path_fd);
/* util_open_path() + util_reopen_read(): a read-only fd of a regular file. */
int util_open_regular_in(const char *root, const char *path, unsigned flags, struct stat *ret_st);
/* util_open_regular_in(NULL, path, 0, ret_st). */
int util_open_regular(const char *path, struct stat *ret_st);

/* Whole small file (procfs, sysfs, config) into a malloc'd, NUL-terminated
 * buffer: at most max bytes. Returns 0 (whole file), 1 (file longer than
 * max and UTIL_READ_TRUNCATE given: *ret_buf holds its first max bytes),
 * -EFBIG (longer than max, without the flag), -errno. *ret_buf and
 * *ret_len are set only on success; free(*ret_buf). Not for files another
 * process controls: it opens path as given and may block on a FIFO. */
#define UTIL_READ_TRUNCATE (1u << 0)
int util_read_file(const char *path, size_t max, unsigned flags, char **ret_buf, size_t *ret_len);

/* Unsigned decimal at [*p, end): all digits up to a separator. 0, -EINVAL
 * (no digits), or -ERANGE (overflow); *p ends past the digits either way. */
int util_parse_u64(const char **p, const char *end, uint64_t *ret);

/* A NUL-separated string arena: strings are referred to by offset so the
 * buffer can grow. */
struct util_arena {
	char *buf;
	size_t len, cap;
};
/* Append s[0..len) and a NUL; *ret_off gets its offset. 0 or -ENOMEM. */
int util_arena_add(struct util_arena *a, const char *s, size_t len, size_t *ret_off);

#endif
