/* SPDX-License-Identifier: GPL-2.0-only */
/* Separate debug files: where to look for them and whether a candidate matches.
 *
 * Knows the GDB conventions (DIR/.build-id/xx/rest.debug, .gnu_debuglink
 * next to the file, in its .debug/ subdirectory and under DIR/logical_dir)
 * and the debuglink CRC32, but nothing of ELF: what to do with a candidate
 * is the caller's callback (elfsym merges its .symtab). */
#ifndef PROFD_DEBUGFILE_H
#define PROFD_DEBUGFILE_H

#include <stddef.h>
#include <stdint.h>

struct debugfile_query {
	const uint8_t *build_id;  /* GNU build-id of the stripped file, or NULL */
	size_t build_id_len;      /* 0 when none; the build-id dirs need >= 2 bytes */
	const char *debuglink;    /* .gnu_debuglink name (plain file name) or NULL */
	uint32_t debuglink_crc;   /* CRC32 the linked file must have when there is no build-id */
	const char *debug_dirs;   /* ':'-separated; NULL means "/usr/lib/debug" */
	const char *open_root;    /* NULL: open_dir is a host path; else open_dir is
				   * resolved inside this root ("/proc/PID/root"),
				   * see util_open_path() */
	const char *open_dir;     /* where the file opens from ("/usr/bin"), or NULL */
	const char *logical_dir;  /* the directory as the process sees it ("/usr/bin"), or NULL */
};

/* Called with each candidate open read-only (regular files only, opened
 * without side effects on other kinds; closed after the call). Return 0
 * to accept it and end the search, or -errno. */
typedef int (*debugfile_try_fn)(int fd, void *arg);

/* Offer q's candidates to try_fn, in order: every build-id dir, then with
 * a debuglink open_dir/LINK, open_dir/.debug/LINK, DIR/logical_dir/LINK.
 * Without a build-id a debuglink candidate is offered only if its CRC32
 * matches (with one, checking the build-id is try_fn's job). 0 when
 * try_fn accepted a candidate, -ENOENT otherwise. */
int debugfile_search(const struct debugfile_query *q, debugfile_try_fn try_fn, void *arg);

/* Largest file whose CRC32 is computed: a debuglink candidate without a
 * build-id costs a read of the whole file. */
#define DEBUGFILE_CRC_MAX (4ull << 30)

/* CRC32 of the whole file on fd (zlib's polynomial, as GNU debuglink
 * uses), read with pread: the file offset is untouched. 0, -EFBIG past
 * DEBUGFILE_CRC_MAX, or -errno. */
int debugfile_crc32_fd(int fd, uint32_t *ret);

#endif
