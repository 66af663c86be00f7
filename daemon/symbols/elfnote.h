/* SPDX-License-Identifier: GPL-2.0-only */
/* Raw ELF headers and notes, read with bounded pread(), without libelf.
 *
 * libelf reads a whole section into memory on first access and sizes its
 * tables from header counts, both taken from the file. So the counts are
 * checked here before libelf sees a file, and notes (the build-id) are
 * read without libelf, a bounded slice at a time: a sparse file claiming
 * a note section of many GiB costs ELFSYM_NOTE_READ_MAX. Pure: an fd in,
 * no state. */
#ifndef PROFD_ELFNOTE_H
#define PROFD_ELFNOTE_H

#include "symbols/elfsym.h"

#include <stddef.h>
#include <stdint.h>

struct elfnote_hdr {
	int is64;
	int msb;                     /* big-endian file */
	uint64_t size;               /* file size */
	uint64_t shoff, phoff;
	uint64_t shnum, phnum;       /* extended numbering resolved */
	uint32_t shentsize, phentsize;
};

/* Read and check the ELF header of the file on fd (size bytes long):
 * 0 and *h; -ENOEXEC (not ELF), -EBADMSG (tables outside the file or of
 * the wrong entry size), -EFBIG (more than ELFSYM_MAX_SECTIONS section
 * or program headers), -errno from pread. */
int elfnote_header(int fd, uint64_t size, struct elfnote_hdr *h);

/* GNU build-id of the ELF on fd from its SHT_NOTE sections, then its
 * PT_NOTE segments, reading at most ELFSYM_NOTE_READ_MAX of each and
 * ELFSYM_NOTES_BUDGET in all. Its length (1..ELFSYM_BUILD_ID_MAX), or
 * -ENODATA (none found), -ENOEXEC, -EBADMSG, -EFBIG, -errno. */
int elfnote_build_id_fd(int fd, uint8_t buf[ELFSYM_BUILD_ID_MAX]);

#endif
