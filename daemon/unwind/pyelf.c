/* SPDX-License-Identifier: GPL-2.0-only */
/* CPython recognition from ELF symbols. See pyelf.h. */
#include "unwind/pyelf.h"

#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <string.h>

#include "profd/python.h"

int pyelf_name_matches(const char *path)
{
	const char *b = strrchr(path, '/');

	b = b ? b + 1 : path;
	return !strncmp(b, "python3", 7) || !strncmp(b, "libpython3", 10);
}

struct found {
	GElf_Sym runtime, eval, version;
	int have_runtime, have_eval, have_version;
};

static void scan_symbols(Elf *e, Elf_Scn *scn, const GElf_Shdr *sh, struct found *f)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	size_t n;

	if (!d || !sh->sh_entsize)
		return;
	n = sh->sh_size / sh->sh_entsize;
	for (size_t i = 0; i < n; i++) {
		GElf_Sym s;
		const char *name;

		if (!gelf_getsym(d, (int)i, &s) || s.st_shndx == SHN_UNDEF || !s.st_value)
			continue;
		name = elf_strptr(e, sh->sh_link, s.st_name);
		if (!name || (name[0] != '_' && name[0] != 'P'))
			continue;
		if (!f->have_runtime && !strcmp(name, "_PyRuntime")) {
			f->runtime = s;
			f->have_runtime = 1;
		} else if (!f->have_eval && !strcmp(name, "_PyEval_EvalFrameDefault")) {
			f->eval = s;
			f->have_eval = 1;
		} else if (!f->have_version && !strcmp(name, "Py_Version")) {
			f->version = s;
			f->have_version = 1;
		}
	}
}

/* The 4 bytes of Py_Version from its section's file contents. */
static int read_version(Elf *e, const GElf_Sym *s, uint32_t *ret)
{
	Elf_Scn *scn = elf_getscn(e, s->st_shndx);
	GElf_Shdr sh;
	Elf_Data *d;
	uint64_t off;

	if (!scn || !gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS)
		return -ENOENT;
	d = elf_getdata(scn, NULL);
	if (!d || !d->d_buf || s->st_value < sh.sh_addr)
		return -ENOENT;
	off = s->st_value - sh.sh_addr;
	if (off + 4 > d->d_size)
		return -ENOENT;
	memcpy(ret, (const char *)d->d_buf + off, 4);
	return 0;
}

int pyelf_read_fd(int fd, struct pyelf_info *ret)
{
	struct pyelf_info info = { 0 };
	struct found f = { 0 };
	GElf_Ehdr eh;
	size_t nph;
	Elf_Scn *scn = NULL;
	Elf *e;
	int r = -ENOENT;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e)
		return -EINVAL;
	if (elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &eh) || eh.e_machine != EM_X86_64 ||
	    elf_getphdrnum(e, &nph) < 0) {
		r = -EINVAL;
		goto out;
	}
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;

		if (gelf_getshdr(scn, &sh) && (sh.sh_type == SHT_SYMTAB || sh.sh_type == SHT_DYNSYM))
			scan_symbols(e, scn, &sh, &f);
	}
	if (!f.have_runtime || !f.have_eval || !f.have_version || !f.eval.st_size ||
	    read_version(e, &f.version, &info.version_hex) < 0)
		goto out;
	/* 3.11.x on x86_64: the only layout profd has offsets for */
	if ((info.version_hex >> 16) != 0x030b)
		goto out;
	info.version = PROFD_PY_311;
	info.runtime = f.runtime.st_value;
	info.dyn = eh.e_type == ET_DYN;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD || !(ph.p_flags & PF_X))
			continue;
		if (f.eval.st_value < ph.p_vaddr || f.eval.st_value + f.eval.st_size > ph.p_vaddr + ph.p_filesz)
			continue;
		info.exec_delta = ph.p_vaddr - ph.p_offset;
		info.eval_lo = f.eval.st_value - info.exec_delta;
		info.eval_hi = info.eval_lo + f.eval.st_size;
		*ret = info;
		r = 0;
		break;
	}
out:
	elf_end(e);
	return r;
}
