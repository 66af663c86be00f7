/* SPDX-License-Identifier: GPL-2.0-only */
/* Raw ELF headers and GNU build-id notes, read with bounded pread(), no libelf. */
#include "symbols/elfnote.h"

#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t get_u(const unsigned char *p, size_t n, int msb)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[msb ? n - 1 - i : i] << (8 * i);
	return v;
}

/* pread exactly len bytes at off: 0, -EIO on a short file, -errno. */
static int pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	size_t got = 0;

	if (off > (uint64_t)INT64_MAX - len)
		return -EBADMSG;
	while (got < len) {
		ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		got += (size_t)n;
	}
	return 0;
}

/* Table of count entries of entsize bytes at off lies inside the file. */
static int table_in_file(uint64_t off, uint64_t count, uint64_t entsize, uint64_t size)
{
	return off <= size && count <= (size - off) / entsize;
}

int elfnote_header(int fd, uint64_t size, struct elfnote_hdr *h)
{
	unsigned char eh[64], s0[64];
	uint64_t shnum, phnum;
	int r;

	if (size < 52)
		return -ENOEXEC;
	r = pread_all(fd, eh, size < 64 ? 52 : 64, 0);
	if (r < 0)
		return r;
	if (memcmp(eh, ELFMAG, SELFMAG) != 0 || (eh[EI_CLASS] != ELFCLASS32 && eh[EI_CLASS] != ELFCLASS64) ||
	    (eh[EI_DATA] != ELFDATA2LSB && eh[EI_DATA] != ELFDATA2MSB))
		return -ENOEXEC;
	memset(h, 0, sizeof(*h));
	h->is64 = eh[EI_CLASS] == ELFCLASS64;
	h->msb = eh[EI_DATA] == ELFDATA2MSB;
	h->size = size;
	if (h->is64) {
		if (size < 64)
			return -ENOEXEC;
		h->phoff = get_u(eh + 32, 8, h->msb);
		h->shoff = get_u(eh + 40, 8, h->msb);
		h->phentsize = (uint32_t)get_u(eh + 54, 2, h->msb);
		phnum = get_u(eh + 56, 2, h->msb);
		h->shentsize = (uint32_t)get_u(eh + 58, 2, h->msb);
		shnum = get_u(eh + 60, 2, h->msb);
	} else {
		h->phoff = get_u(eh + 28, 4, h->msb);
		h->shoff = get_u(eh + 32, 4, h->msb);
		h->phentsize = (uint32_t)get_u(eh + 42, 2, h->msb);
		phnum = get_u(eh + 44, 2, h->msb);
		h->shentsize = (uint32_t)get_u(eh + 46, 2, h->msb);
		shnum = get_u(eh + 48, 2, h->msb);
	}
	if (h->shoff && (shnum == 0 || phnum == PN_XNUM)) {
		/* Extended numbering: the real counts live in section 0. */
		size_t n = h->is64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr);

		if (!table_in_file(h->shoff, 1, n, size))
			return -EBADMSG;
		r = pread_all(fd, s0, n, h->shoff);
		if (r < 0)
			return r;
		if (shnum == 0)
			shnum = h->is64 ? get_u(s0 + 32, 8, h->msb) : get_u(s0 + 20, 4, h->msb);
		if (phnum == PN_XNUM)
			phnum = get_u(s0 + (h->is64 ? 44 : 28), 4, h->msb);
	}
	if (!h->shoff)
		shnum = 0;
	if (!h->phoff)
		phnum = 0;
	if (shnum > ELFSYM_MAX_SECTIONS || phnum > ELFSYM_MAX_SECTIONS)
		return -EFBIG;
	if (shnum && (h->shentsize != (h->is64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr)) ||
		      !table_in_file(h->shoff, shnum, h->shentsize, size)))
		return -EBADMSG;
	if (phnum && (h->phentsize != (h->is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr)) ||
		      !table_in_file(h->phoff, phnum, h->phentsize, size)))
		return -EBADMSG;
	h->shnum = shnum;
	h->phnum = phnum;
	return 0;
}

/* Find a GNU build-id note in buf[0..len); a = 4 or 8 (note alignment). */
static int notes_build_id(const unsigned char *buf, size_t len, int msb, size_t a,
			  uint8_t out[ELFSYM_BUILD_ID_MAX])
{
	size_t off = 0;

	while (len - off >= 12) {
		uint64_t namesz = get_u(buf + off, 4, msb), descsz = get_u(buf + off + 4, 4, msb);
		uint64_t type = get_u(buf + off + 8, 4, msb);
		uint64_t name_off = off + 12, desc_off, next;

		desc_off = name_off + ((namesz + a - 1) & ~(uint64_t)(a - 1));
		next = desc_off + ((descsz + a - 1) & ~(uint64_t)(a - 1));
		if (desc_off > len || descsz > len - desc_off)
			return 0;
		if (type == NT_GNU_BUILD_ID && namesz == 4 && memcmp(buf + name_off, "GNU", 4) == 0 &&
		    descsz > 0 && descsz <= ELFSYM_BUILD_ID_MAX) {
			memcpy(out, buf + desc_off, descsz);
			return (int)descsz;
		}
		if (next <= off || next > len)
			return 0;
		off = (size_t)next;
	}
	return 0;
}

/* Read at most ELFSYM_NOTE_READ_MAX (and what is left of *budget) of a
 * note area and look for a build-id. >0: its length; 0: none; -errno. */
static int note_area(int fd, const struct elfnote_hdr *h, uint64_t off, uint64_t len, uint64_t align,
		     size_t *budget, unsigned char *buf, uint8_t out[ELFSYM_BUILD_ID_MAX])
{
	size_t n = ELFSYM_NOTE_READ_MAX;
	int r;

	if (off > h->size || len > h->size - off)
		return 0;
	if (len < n)
		n = (size_t)len;
	if (*budget < n)
		n = *budget;
	if (n < 12)
		return 0;
	*budget -= n;
	r = pread_all(fd, buf, n, off);
	if (r < 0)
		return r;
	return notes_build_id(buf, n, h->msb, align == 8 ? 8 : 4, out);
}

#define HDR_CHUNK 64 /* headers read per pread */

/* Build-id from SHT_NOTE sections, then from PT_NOTE segments. */
static int build_id(int fd, const struct elfnote_hdr *h, uint8_t out[ELFSYM_BUILD_ID_MAX])
{
	unsigned char hdrs[HDR_CHUNK * sizeof(Elf64_Shdr)];
	size_t budget = ELFSYM_NOTES_BUDGET;
	unsigned char *buf = malloc(ELFSYM_NOTE_READ_MAX);
	int r = 0;

	if (!buf)
		return -ENOMEM;
	/* Sections first: a separate debug file keeps PT_NOTE headers whose
	 * file contents were dropped. */
	for (uint64_t i = 0; i < h->shnum && r == 0 && budget >= 12; i += HDR_CHUNK) {
		size_t k = h->shnum - i < HDR_CHUNK ? (size_t)(h->shnum - i) : HDR_CHUNK;

		r = pread_all(fd, hdrs, k * h->shentsize, h->shoff + i * h->shentsize);
		for (size_t j = 0; j < k && r == 0; j++) {
			const unsigned char *sh = hdrs + j * h->shentsize;
			uint64_t type = get_u(sh + 4, 4, h->msb), off, size, align;

			if (i + j == 0 || type != SHT_NOTE)
				continue;
			off = h->is64 ? get_u(sh + 24, 8, h->msb) : get_u(sh + 16, 4, h->msb);
			size = h->is64 ? get_u(sh + 32, 8, h->msb) : get_u(sh + 20, 4, h->msb);
			align = h->is64 ? get_u(sh + 48, 8, h->msb) : get_u(sh + 32, 4, h->msb);
			r = note_area(fd, h, off, size, align, &budget, buf, out);
		}
	}
	for (uint64_t i = 0; i < h->phnum && r == 0 && budget >= 12; i += HDR_CHUNK) {
		size_t k = h->phnum - i < HDR_CHUNK ? (size_t)(h->phnum - i) : HDR_CHUNK;

		r = pread_all(fd, hdrs, k * h->phentsize, h->phoff + i * h->phentsize);
		for (size_t j = 0; j < k && r == 0; j++) {
			const unsigned char *ph = hdrs + j * h->phentsize;
			uint64_t off, size, align;

			if (get_u(ph, 4, h->msb) != PT_NOTE)
				continue;
			off = h->is64 ? get_u(ph + 8, 8, h->msb) : get_u(ph + 4, 4, h->msb);
			size = h->is64 ? get_u(ph + 32, 8, h->msb) : get_u(ph + 16, 4, h->msb);
			align = h->is64 ? get_u(ph + 48, 8, h->msb) : get_u(ph + 28, 4, h->msb);
			r = note_area(fd, h, off, size, align, &budget, buf, out);
		}
	}
	free(buf);
	if (r == -EIO)
		r = -EBADMSG; /* a header said the data was there */
	return r < 0 ? r : r > 0 ? r : -ENODATA;
}

int elfnote_build_id_fd(int fd, uint8_t buf[ELFSYM_BUILD_ID_MAX])
{
	struct elfnote_hdr h;
	struct stat st;
	int r;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	r = elfnote_header(fd, (uint64_t)st.st_size, &h);
	if (r < 0)
		return r;
	return build_id(fd, &h, buf);
}
