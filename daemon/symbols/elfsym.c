/* SPDX-License-Identifier: GPL-2.0-only */
/* ELF function symbols via libelf: symtab, dynsym, MiniDebugInfo, merged debug files. */
#include "symbols/elfsym.h"

#include "symbols/debugfile.h"
#include "symbols/demangle.h"
#include "symbols/elfnote.h"
#include "base/util.h"
#include "common/sort.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <lzma.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SEGMENTS 64       /* PT_LOAD kept; real files have 2-5 */
#define NEIGHBOURS 8          /* earlier symbols tried when the nearest ends short */
#define ZERO_SIZE_LAST 4096   /* extent of a size-less last symbol without a segment */
#define LZMA_MEMLIMIT (128u << 20)
#define DEMANGLED_MAX 4096    /* bytes kept of one demangled name (displays cut far shorter) */

struct sym {
	uint64_t addr;
	uint64_t size;  /* 0 in input: extended to the next symbol by finish() */
	uint32_t name;  /* arena offset */
	uint8_t sized;  /* size came from the file */
	uint8_t rank;   /* binding preference: global 2, weak 1, local 0 */
	uint8_t demangled; /* DM_*: whether the arena holds a demangled name
			    * right after this one */
};

enum { DM_UNTRIED, DM_YES, DM_NO };

struct seg {
	uint64_t offset;
	uint64_t filesz;
	uint64_t vaddr;
	uint64_t memsz;
	uint32_t exec;
};

struct elfsym {
	struct sym *syms;
	size_t count;
	size_t cap;
	struct util_arena arena; /* names, NUL-terminated */
	struct seg segs[MAX_SEGMENTS];
	size_t nsegs;
	uint8_t build_id[ELFSYM_BUILD_ID_MAX];
	size_t build_id_len;
	char debuglink[ELFSYM_DEBUGLINK_MAX + 1];
	uint32_t debuglink_crc;
	unsigned sources;
	unsigned flags;          /* ELFSYM_LOAD_* */
	size_t ndemangled;       /* symbols given a demangled name */
	size_t demangled_bytes;  /* their bytes (bounded: ELFSYM_DEMANGLED_TOTAL_MAX) */
	size_t demangle_skipped; /* mangled-looking names left as they are */
};

static int libelf_ok;

static void libelf_once(void)
{
	libelf_ok = elf_version(EV_CURRENT) != EV_NONE;
}

/* elf_version() writes a global: once, whatever thread comes first. */
static int libelf_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, libelf_once);
	return libelf_ok ? 0 : -ENOTSUP;
}

static int arena_add(struct elfsym *e, const char *s, size_t len, uint32_t *ret)
{
	size_t off;
	int r;

	/* offsets are stored in 32 bits */
	if (e->arena.len + len + 1 > UINT32_MAX)
		return -EFBIG;
	r = util_arena_add(&e->arena, s, len, &off);
	if (!r)
		*ret = (uint32_t)off;
	return r;
}

static int sym_add(struct elfsym *e, uint64_t addr, uint64_t size, const char *name, size_t len, int rank)
{
	struct sym *s;
	int r;

	if (e->count >= ELFSYM_MAX_SYMBOLS)
		return -EFBIG;
	if (e->count == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 1024;
		struct sym *n = realloc(e->syms, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		e->syms = n;
		e->cap = cap;
	}
	s = &e->syms[e->count];
	r = arena_add(e, name, len, &s->name);
	if (r < 0)
		return r;
	s->addr = addr;
	s->size = size;
	s->sized = size != 0;
	s->rank = (uint8_t)rank;
	s->demangled = DM_UNTRIED;
	e->count++;
	return 0;
}

/* Section bounds against the image: libelf checks too, we do not rely on it. */
static int section_in_file(const GElf_Shdr *sh, size_t file_size)
{
	if (sh->sh_type == SHT_NOBITS)
		return 1;
	return sh->sh_offset <= file_size && sh->sh_size <= file_size - sh->sh_offset;
}

/* Section data, verified to lie inside the file. */
static Elf_Data *section_data(Elf_Scn *scn, const GElf_Shdr *sh, size_t file_size)
{
	Elf_Data *d;

	if (sh->sh_type == SHT_NOBITS || !section_in_file(sh, file_size))
		return NULL;
	d = elf_getdata(scn, NULL);
	if (!d || !d->d_buf || d->d_size > sh->sh_size)
		return NULL;
	return d;
}

static int collect_table(struct elfsym *e, Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh,
			 size_t shnum, size_t file_size)
{
	Elf_Scn *strscn;
	GElf_Shdr strsh;
	Elf_Data *d, *strd;
	size_t entsize, n;

	if (sh->sh_link == 0 || sh->sh_link >= shnum)
		return -EBADMSG;
	strscn = elf_getscn(elf, sh->sh_link);
	if (!strscn || !gelf_getshdr(strscn, &strsh) || strsh.sh_type != SHT_STRTAB)
		return -EBADMSG;
	if (!section_in_file(sh, file_size) || !section_in_file(&strsh, file_size))
		return -EBADMSG;
	/* Sizes are checked before libelf reads the sections into memory. */
	if (sh->sh_size > ELFSYM_SYMTAB_MAX || strsh.sh_size > ELFSYM_STRTAB_MAX)
		return -EFBIG;
	d = section_data(scn, sh, file_size);
	strd = section_data(strscn, &strsh, file_size);
	if (!d || !strd)
		return -EBADMSG;
	entsize = gelf_fsize(elf, ELF_T_SYM, 1, EV_CURRENT);
	if (entsize == 0)
		return -EBADMSG;
	n = d->d_size / entsize;
	if (n > INT32_MAX)
		return -EFBIG;
	for (size_t i = 1; i < n; i++) {
		GElf_Sym st;
		const char *strs = strd->d_buf, *name, *nul;
		int type, bind, r;

		if (!gelf_getsym(d, (int)i, &st))
			return -EBADMSG;
		type = GELF_ST_TYPE(st.st_info);
		if (type != STT_FUNC && type != STT_GNU_IFUNC)
			continue;
		if (st.st_shndx == SHN_UNDEF || st.st_value == 0 || st.st_name == 0)
			continue;
		if (st.st_name >= strd->d_size)
			return -EBADMSG;
		name = strs + st.st_name;
		nul = memchr(name, '\0', strd->d_size - st.st_name);
		if (!nul)
			return -EBADMSG;
		if (nul == name)
			continue;
		bind = GELF_ST_BIND(st.st_info);
		r = sym_add(e, st.st_value, st.st_size, name, (size_t)(nul - name),
			    bind == STB_GLOBAL ? 2 : bind == STB_WEAK ? 1 : 0);
		if (r < 0)
			return r;
	}
	return 0;
}

static void read_debuglink(struct elfsym *e, Elf *elf, Elf_Data *d)
{
	const char *s = d->d_buf, *nul = memchr(s, '\0', d->d_size);
	size_t len, crc_off;
	const unsigned char *c;
	GElf_Ehdr eh;

	if (!nul || nul == s)
		return;
	len = (size_t)(nul - s);
	crc_off = (len + 1 + 3) & ~(size_t)3;
	/* A plain file name only: the link comes from a file we do not trust. */
	if (len > ELFSYM_DEBUGLINK_MAX || crc_off + 4 > d->d_size || memchr(s, '/', len) ||
	    strcmp(s, ".") == 0 || strcmp(s, "..") == 0 || !gelf_getehdr(elf, &eh))
		return;
	c = (const unsigned char *)s + crc_off;
	if (eh.e_ident[EI_DATA] == ELFDATA2MSB)
		e->debuglink_crc = (uint32_t)c[0] << 24 | (uint32_t)c[1] << 16 | (uint32_t)c[2] << 8 | c[3];
	else
		e->debuglink_crc = (uint32_t)c[3] << 24 | (uint32_t)c[2] << 16 | (uint32_t)c[1] << 8 | c[0];
	memcpy(e->debuglink, s, len + 1);
}

static int scan_elf(struct elfsym *e, Elf *elf, size_t file_size, int main_file);

/* MiniDebugInfo: an xz-compressed ELF whose .symtab holds the local
 * functions stripped from the outer file. */
static int load_debugdata(struct elfsym *e, Elf_Data *d)
{
	lzma_stream strm = LZMA_STREAM_INIT;
	size_t cap = d->d_size * 4 < 65536 ? 65536 : d->d_size * 4, len = 0;
	uint8_t *out = NULL;
	lzma_ret lr;
	Elf *inner = NULL;
	int r;

	if (d->d_size > ELFSYM_DEBUGDATA_IN_MAX) /* also checked before reading */
		return -EFBIG;
	if (cap > ELFSYM_DEBUGDATA_OUT_MAX)
		cap = ELFSYM_DEBUGDATA_OUT_MAX;
	if (lzma_stream_decoder(&strm, LZMA_MEMLIMIT, 0) != LZMA_OK)
		return -ENOMEM;
	strm.next_in = d->d_buf;
	strm.avail_in = d->d_size;
	for (;;) {
		if (!out || len == cap) {
			uint8_t *n;

			if (out) {
				if (cap >= ELFSYM_DEBUGDATA_OUT_MAX) {
					r = -EFBIG;
					goto out;
				}
				cap = cap * 2 > ELFSYM_DEBUGDATA_OUT_MAX ? ELFSYM_DEBUGDATA_OUT_MAX : cap * 2;
			}
			n = realloc(out, cap);
			if (!n) {
				r = -ENOMEM;
				goto out;
			}
			out = n;
		}
		strm.next_out = out + len;
		strm.avail_out = cap - len;
		lr = lzma_code(&strm, LZMA_FINISH);
		len = cap - strm.avail_out;
		if (lr == LZMA_STREAM_END)
			break;
		if (lr != LZMA_OK && lr != LZMA_BUF_ERROR) {
			r = lr == LZMA_MEM_ERROR || lr == LZMA_MEMLIMIT_ERROR ? -ENOMEM : -EBADMSG;
			goto out;
		}
		if (lr == LZMA_BUF_ERROR && strm.avail_out != 0) {
			r = -EBADMSG; /* input ended early */
			goto out;
		}
	}
	inner = elf_memory((char *)out, len);
	if (!inner || elf_kind(inner) != ELF_K_ELF) {
		r = -EBADMSG;
		goto out;
	}
	size_t before = e->count;
	unsigned sources = e->sources;
	r = scan_elf(e, inner, len, 0);
	/* The inner .symtab counts as MiniDebugInfo, not as a full symtab. */
	e->sources = sources | (e->count > before ? ELFSYM_SRC_DEBUGDATA : 0);
out:
	if (inner)
		elf_end(inner);
	lzma_end(&strm);
	free(out);
	return r;
}

static int read_segments(struct elfsym *e, Elf *elf, size_t file_size)
{
	GElf_Ehdr eh;
	size_t phnum;

	if (elf_getphdrnum(elf, &phnum) != 0 || !gelf_getehdr(elf, &eh))
		return -EBADMSG;
	/* As for sections: libelf may report 0 for a table past the end. */
	if (eh.e_phnum && !phnum)
		return -EBADMSG;
	if (phnum && (eh.e_phoff > file_size ||
		      phnum * gelf_fsize(elf, ELF_T_PHDR, 1, EV_CURRENT) > file_size - eh.e_phoff))
		return -EBADMSG;
	e->nsegs = 0;
	for (size_t i = 0; i < phnum && i < 65536; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph))
			return -EBADMSG;
		if (ph.p_type != PT_LOAD || e->nsegs == MAX_SEGMENTS)
			continue;
		if (ph.p_offset > UINT64_MAX - ph.p_filesz)
			return -EBADMSG;
		e->segs[e->nsegs++] = (struct seg){
			.offset = ph.p_offset, .filesz = ph.p_filesz,
			.vaddr = ph.p_vaddr, .memsz = ph.p_memsz,
			.exec = (ph.p_flags & PF_X) != 0,
		};
	}
	return 0;
}

/* Walk sections: symbol tables always; on the main file also build-id,
 * debuglink and .gnu_debugdata. */
static int scan_elf(struct elfsym *e, Elf *elf, size_t file_size, int main_file)
{
	size_t shnum, shstrndx;
	Elf_Data *debugdata = NULL;
	unsigned seen = 0;
	int names_ok = 0;
	GElf_Ehdr eh;
	int r;

	if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh))
		return -ENOEXEC;
	if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)
		return -ENOEXEC;
	if (main_file) {
		r = read_segments(e, elf, file_size);
		if (r < 0)
			return r;
	}
	if (elf_getshdrnum(elf, &shnum) != 0 || elf_getshdrstrndx(elf, &shstrndx) != 0)
		return -EBADMSG;
	if (shnum > ELFSYM_MAX_SECTIONS)
		return -EFBIG;
	/* libelf quietly shows no sections when the table lies past the end
	 * of a truncated file: call that what it is. */
	if (eh.e_shoff && (eh.e_shoff > file_size ||
			   (shnum ? shnum : 1) * gelf_fsize(elf, ELF_T_SHDR, 1, EV_CURRENT) > file_size - eh.e_shoff))
		return -EBADMSG;
	if (eh.e_shnum && !shnum)
		return -EBADMSG;
	if (shnum && shstrndx >= shnum)
		return -EBADMSG;
	/* Section names need the whole name table in memory: only a sane one. */
	if (shnum) {
		Elf_Scn *strscn = elf_getscn(elf, shstrndx);
		GElf_Shdr strsh;

		names_ok = strscn && gelf_getshdr(strscn, &strsh) && strsh.sh_size <= ELFSYM_SHSTRTAB_MAX;
	}
	for (size_t i = 1; i < shnum; i++) {
		Elf_Scn *scn = elf_getscn(elf, i);
		const char *name;
		GElf_Shdr sh;
		Elf_Data *d;

		if (!scn || !gelf_getshdr(scn, &sh))
			return -EBADMSG;
		if (!section_in_file(&sh, file_size))
			return -EBADMSG;
		if (sh.sh_type == SHT_SYMTAB || sh.sh_type == SHT_DYNSYM) {
			unsigned src = sh.sh_type == SHT_SYMTAB ? ELFSYM_SRC_SYMTAB : ELFSYM_SRC_DYNSYM;
			size_t before = e->count;

			/* The gABI allows one of each; more would only multiply
			 * what a hostile file makes us read. */
			if (seen & src)
				continue;
			seen |= src;
			r = collect_table(e, elf, scn, &sh, shnum, file_size);
			if (r < 0)
				return r;
			if (e->count > before)
				e->sources |= src;
			continue;
		}
		if (!main_file || sh.sh_type != SHT_PROGBITS || !names_ok)
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name)
			continue;
		if (strcmp(name, ".gnu_debuglink") == 0) {
			/* name, NUL, padding to 4, CRC32 */
			if (sh.sh_size > ELFSYM_DEBUGLINK_MAX + 1 + 3 + 4)
				continue;
			d = section_data(scn, &sh, file_size);
			if (d)
				read_debuglink(e, elf, d);
		} else if (strcmp(name, ".gnu_debugdata") == 0 && sh.sh_size <= ELFSYM_DEBUGDATA_IN_MAX) {
			debugdata = section_data(scn, &sh, file_size);
		}
	}
	if (debugdata) {
		/* MiniDebugInfo is an optional extra: a broken one does not
		 * spoil the symbols already read. */
		r = load_debugdata(e, debugdata);
		if (r == -ENOMEM)
			return r;
	}
	return 0;
}

static int cmp_sym(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->sized != y->sized)
		return x->sized ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank > y->rank ? -1 : 1;
	return x->name < y->name ? -1 : x->name > y->name;
}

/* A new name arena holding only the names of the symbols kept, each raw
 * name followed by its demangled form when there is one: dropped
 * duplicates (.symtab and .dynsym name most functions twice) cost neither
 * memory nor a demangling. Names demangled before (an earlier finish) are
 * copied, new ones demangled here, once. 0, or -ENOMEM / -EFBIG (e is
 * left as it was). */
static int rebuild_names(struct elfsym *e)
{
	struct util_arena old = e->arena;
	uint32_t *noff = malloc((e->count ? e->count : 1) * sizeof(*noff));
	uint8_t *ndm = malloc(e->count ? e->count : 1);
	char buf[DEMANGLED_MAX];
	size_t added = 0, skipped = 0;
	int r = noff && ndm ? 0 : -ENOMEM;

	e->arena = (struct util_arena){ 0 };
	for (size_t i = 0; i < e->count && r == 0; i++) {
		const struct sym *s = &e->syms[i];
		const char *raw = old.buf + s->name;
		size_t len = strlen(raw);
		const char *dem = NULL;
		uint32_t doff = 0;
		int n = 0;

		if (s->demangled == DM_YES) {
			dem = raw + len + 1;
			n = (int)strlen(dem);
		} else if (s->demangled == DM_UNTRIED && (e->flags & ELFSYM_LOAD_DEMANGLE) &&
			   demangle_candidate(raw, len) && e->demangled_bytes < ELFSYM_DEMANGLED_TOTAL_MAX) {
			n = demangle_name(raw, buf, sizeof(buf));
			if (n > 0 && !((size_t)n == len && memcmp(buf, raw, len) == 0)) {
				dem = buf;
				added++;
				e->demangled_bytes += (size_t)n + 1;
			} else {
				skipped++;
			}
		}
		noff[i] = 0;
		r = arena_add(e, raw, len, &noff[i]);
		/* the arena only appends: the two names are neighbours */
		if (r == 0 && dem)
			r = arena_add(e, dem, (size_t)n, &doff);
		ndm[i] = dem ? DM_YES : DM_NO;
	}
	if (r == 0) {
		for (size_t i = 0; i < e->count; i++) {
			e->syms[i].name = noff[i];
			e->syms[i].demangled = ndm[i];
		}
		e->ndemangled += added;
		e->demangle_skipped += skipped;
		free(old.buf);
	} else {
		free(e->arena.buf);
		e->arena = old;
	}
	free(noff);
	free(ndm);
	return r;
}

/* Sort, keep one symbol per address, give size-less symbols the extent up
 * to the next one, demangle, and trim the arrays. 0 or -ENOMEM, -EFBIG
 * (the table stays usable: names not demangled). */
static int finish(struct elfsym *e)
{
	size_t out = 0;
	int r;

	if (e->count)
		qsort_safe(e->syms, e->count, sizeof(*e->syms), cmp_sym);
	for (size_t i = 0; i < e->count; i++) {
		if (out && e->syms[out - 1].addr == e->syms[i].addr)
			continue;
		e->syms[out++] = e->syms[i];
	}
	e->count = out;
	for (size_t i = 0; i < out; i++) {
		struct sym *s = &e->syms[i];

		if (s->sized)
			continue;
		if (i + 1 < out) {
			s->size = e->syms[i + 1].addr - s->addr;
			continue;
		}
		s->size = ZERO_SIZE_LAST;
		for (size_t j = 0; j < e->nsegs; j++) {
			const struct seg *g = &e->segs[j];

			if (s->addr >= g->vaddr && s->addr - g->vaddr < g->memsz)
				s->size = g->memsz - (s->addr - g->vaddr);
		}
	}
	if (out && out < e->cap) {
		struct sym *n = realloc(e->syms, out * sizeof(*n));

		if (n) {
			e->syms = n;
			e->cap = out;
		}
	}
	r = rebuild_names(e);
	if (e->arena.len && e->arena.len < e->arena.cap) {
		char *a = realloc(e->arena.buf, e->arena.len);

		if (a) {
			e->arena.buf = a;
			e->arena.cap = e->arena.len;
		}
	}
	return r;
}

/* Open an ELF for reading on fd; *ret_size is the file size. */
static int elf_open_fd(int fd, Elf **ret, size_t *ret_size)
{
	struct elfnote_hdr h;
	struct stat st;
	Elf *elf;
	int r = libelf_init();

	if (r < 0)
		return r;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (st.st_size < (off_t)sizeof(Elf32_Ehdr))
		return -ENOEXEC;
	/* Header counts size libelf's allocations: check them first. */
	r = elfnote_header(fd, (uint64_t)st.st_size, &h);
	if (r < 0)
		return r;
	/* ELF_C_READ, not _MMAP: a file truncated under us must give a
	 * read error, not SIGBUS. */
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf)
		return -ENOEXEC;
	if (elf_kind(elf) != ELF_K_ELF) {
		elf_end(elf);
		return -ENOEXEC;
	}
	*ret = elf;
	*ret_size = (size_t)st.st_size;
	return 0;
}

int elfsym_load_fd(int fd, struct elfsym **ret)
{
	return elfsym_load_fd_flags(fd, ELFSYM_LOAD_DEMANGLE, ret);
}

int elfsym_load_fd_flags(int fd, unsigned flags, struct elfsym **ret)
{
	struct elfsym *e;
	size_t size;
	Elf *elf;
	int r;

	r = elf_open_fd(fd, &elf, &size);
	if (r < 0)
		return r;
	e = calloc(1, sizeof(*e));
	if (!e) {
		elf_end(elf);
		return -ENOMEM;
	}
	e->flags = flags;
	r = scan_elf(e, elf, size, 1);
	elf_end(elf);
	if (r < 0) {
		elfsym_free(e);
		return r;
	}
	r = elfsym_read_build_id_fd(fd, e->build_id);
	e->build_id_len = r > 0 ? (size_t)r : 0;
	r = finish(e);
	if (r < 0) {
		elfsym_free(e);
		return r;
	}
	*ret = e;
	return 0;
}

int elfsym_load_path(const char *path, struct elfsym **ret)
{
	int fd = util_open_regular(path, NULL), r;

	if (fd < 0)
		return fd;
	r = elfsym_load_fd(fd, ret);
	close(fd);
	return r;
}

struct elfsym *elfsym_free(struct elfsym *e)
{
	if (e) {
		free(e->syms);
		free(e->arena.buf);
		free(e);
	}
	return NULL;
}

int elfsym_read_build_id_fd(int fd, uint8_t buf[ELFSYM_BUILD_ID_MAX])
{
	return elfnote_build_id_fd(fd, buf);
}

int elfsym_merge_debug_fd(struct elfsym *e, int fd)
{
	struct elfsym tmp = { .flags = e->flags };
	size_t size, before;
	Elf *elf;
	int r;

	if (e->build_id_len) {
		uint8_t id[ELFSYM_BUILD_ID_MAX];

		r = elfsym_read_build_id_fd(fd, id);
		if (r < 0)
			return r == -ENODATA ? -ESTALE : r;
		if ((size_t)r != e->build_id_len || memcmp(id, e->build_id, e->build_id_len) != 0)
			return -ESTALE;
	}
	r = elf_open_fd(fd, &elf, &size);
	if (r < 0)
		return r;
	/* Parse into a scratch table so a corrupt debug file leaves e intact. */
	r = scan_elf(&tmp, elf, size, 0);
	elf_end(elf);
	if (r < 0)
		goto out;
	before = e->count;
	for (size_t i = 0; i < tmp.count && r == 0; i++) {
		const struct sym *s = &tmp.syms[i];
		const char *name = tmp.arena.buf + s->name;

		r = sym_add(e, s->addr, s->size, name, strlen(name), s->rank);
	}
	if (e->count > before)
		e->sources |= ELFSYM_SRC_DEBUGFILE;
	/* Re-sort even on error: the symbols added so far are valid. */
	if (finish(e) < 0 && r == 0)
		r = -ENOMEM;
out:
	free(tmp.syms);
	free(tmp.arena.buf);
	return r;
}

static int merge_candidate(int fd, void *arg)
{
	return elfsym_merge_debug_fd(arg, fd);
}

int elfsym_load_debug(struct elfsym *e, const char *debug_dirs, const char *open_root,
		      const char *open_dir, const char *logical_dir)
{
	/* Where to look lives in debugfile.c; merging (and the build-id
	 * check that goes with it) stays here. */
	const struct debugfile_query q = {
		.build_id = e->build_id, .build_id_len = e->build_id_len,
		.debuglink = e->debuglink, .debuglink_crc = e->debuglink_crc,
		.debug_dirs = debug_dirs, .open_root = open_root, .open_dir = open_dir,
		.logical_dir = logical_dir,
	};

	return debugfile_search(&q, merge_candidate, e);
}

int elfsym_offset_to_vaddr(const struct elfsym *e, uint64_t off, uint64_t *ret_vaddr)
{
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < e->nsegs; i++) {
			const struct seg *g = &e->segs[i];

			if (pass == 0 && !g->exec)
				continue;
			if (off >= g->offset && off - g->offset < g->filesz) {
				*ret_vaddr = off - g->offset + g->vaddr;
				return 0;
			}
		}
	}
	return -ENOENT;
}

/* The symbol covering vaddr, or NULL. */
static const struct sym *find_sym(const struct elfsym *e, uint64_t vaddr)
{
	size_t lo = 0, hi = e->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (e->syms[mid].addr <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* The nearest symbol may end short (a small sized symbol nested in a
	 * bigger one): try a few earlier ones. */
	for (size_t i = lo, tries = 0; i > 0 && tries < NEIGHBOURS; i--, tries++) {
		const struct sym *s = &e->syms[i - 1];

		if (vaddr - s->addr < s->size)
			return s;
	}
	return NULL;
}

int elfsym_lookup_names(const struct elfsym *e, uint64_t vaddr, const char **ret_name, const char **ret_raw,
			uint64_t *ret_offset)
{
	const struct sym *s = find_sym(e, vaddr);
	const char *raw;

	if (!s)
		return -ENOENT;
	raw = e->arena.buf + s->name;
	*ret_name = s->demangled == DM_YES ? raw + strlen(raw) + 1 : raw;
	if (ret_raw)
		*ret_raw = raw;
	*ret_offset = vaddr - s->addr;
	return 0;
}

int elfsym_lookup(const struct elfsym *e, uint64_t vaddr, const char **ret_name, uint64_t *ret_offset)
{
	return elfsym_lookup_names(e, vaddr, ret_name, NULL, ret_offset);
}

int elfsym_lookup_offset_names(const struct elfsym *e, uint64_t off, const char **ret_name, const char **ret_raw,
			       uint64_t *ret_offset)
{
	uint64_t vaddr;
	int r = elfsym_offset_to_vaddr(e, off, &vaddr);

	return r < 0 ? r : elfsym_lookup_names(e, vaddr, ret_name, ret_raw, ret_offset);
}

int elfsym_lookup_offset(const struct elfsym *e, uint64_t off, const char **ret_name, uint64_t *ret_offset)
{
	return elfsym_lookup_offset_names(e, off, ret_name, NULL, ret_offset);
}

size_t elfsym_count(const struct elfsym *e)
{
	return e ? e->count : 0;
}

size_t elfsym_bytes(const struct elfsym *e)
{
	return e ? sizeof(*e) + e->cap * sizeof(*e->syms) + e->arena.cap : 0;
}

const uint8_t *elfsym_build_id(const struct elfsym *e, size_t *ret_len)
{
	*ret_len = e->build_id_len;
	return e->build_id;
}

const char *elfsym_debuglink(const struct elfsym *e)
{
	return e->debuglink[0] ? e->debuglink : NULL;
}

unsigned elfsym_sources(const struct elfsym *e)
{
	return e->sources;
}

size_t elfsym_demangled(const struct elfsym *e)
{
	return e ? e->ndemangled : 0;
}
