/* SPDX-License-Identifier: GPL-2.0-only */
/* Small helpers shared by the parsers and file readers of the daemon. */
#ifndef PROFD_UTIL_H
#define PROFD_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/* Open path read-only if it is a regular file; O_NONBLOCK so a FIFO planted
 * where a file is expected cannot hang the caller. Returns the fd, -errno,
 * or -EINVAL for a non-regular file. ret_st (may be NULL) gets its stat. */
int util_open_regular(const char *path, struct stat *ret_st);

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
