/* SPDX-License-Identifier: GPL-2.0-only */
/* Helpers shared by the fuzz targets: a reusable memfd holding the current input. */
#ifndef PROFD_FUZZ_UTIL_H
#define PROFD_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* The one entry point every target defines (libFuzzer's name and signature). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort with a message: libFuzzer (and the regression driver) report an
 * abort as a crash, which is what a broken invariant is. */
#define FUZZ_CHECK(cond)                                                          \
	do {                                                                      \
		if (!(cond)) {                                                    \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, \
				__LINE__, #cond);                                 \
			abort();                                                  \
		}                                                                 \
	} while (0)

/* A memfd opened once per process and rewritten per input: parsers that
 * take an fd or a path (/proc/self/fd/N) see a regular file holding
 * exactly data[0..size). Returns the fd; aborts if the kernel refuses,
 * since no input could then be tested. */
static inline int fuzz_memfd(const char *name, const uint8_t *data, size_t size)
{
	static int fd = -1;
	size_t off = 0;

	if (fd < 0) {
		fd = memfd_create(name, MFD_CLOEXEC);
		FUZZ_CHECK(fd >= 0);
	}
	FUZZ_CHECK(ftruncate(fd, 0) == 0);
	while (off < size) {
		ssize_t n = pwrite(fd, data + off, size - off, (off_t)off);

		FUZZ_CHECK(n > 0);
		off += (size_t)n;
	}
	return fd;
}

#endif
