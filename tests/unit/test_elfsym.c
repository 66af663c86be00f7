/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for ELF symbol loading: real binaries built at test time,
 * and malformed input that must fail cleanly. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "symbols/elfsym.h"
#include "symtest_util.h"

static char *dir;
static int have_binutils; /* nm, objcopy, strip */

static void path_of(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "%s/%s", dir, name);
}

static int setup(void **state)
{
	(void)state;
	dir = symtest_tmpdir();
	if (!dir)
		return -1;
	have_binutils = symtest_have("nm") && symtest_have("objcopy") && symtest_have("strip");
	if (symtest_build(dir, "prog_pie", symtest_prog_src, "-fPIE -pie -Wl,--build-id") ||
	    symtest_build(dir, "prog_nopie", symtest_prog_src, "-fno-PIE -no-pie -Wl,--build-id") ||
	    symtest_build(dir, "libt.so", symtest_lib_src, "-fPIC -shared -Wl,--build-id") ||
	    symtest_build(dir, "prog_rdyn", symtest_prog_src, "-fPIE -pie -rdynamic -Wl,--build-id") ||
	    symtest_build(dir, "prog_noid", symtest_prog_src, "-fPIE -pie -Wl,--build-id=none")) {
		fprintf(stderr, "cannot compile test programs with %s\n", symtest_cc());
		symtest_rmdir(dir);
		dir = NULL;
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	symtest_rmdir(dir);
	dir = NULL;
	return 0;
}

static struct elfsym *load(const char *name)
{
	char path[4096];
	struct elfsym *e = NULL;

	path_of(path, sizeof(path), name);
	assert_int_equal(elfsym_load_path(path, &e), 0);
	assert_non_null(e);
	return e;
}

/* nm's address of sym in nm_file -> file offset -> elfsym name. */
static void expect_name(const struct elfsym *e, const char *nm_file, const char *sym, int dyn)
{
	char path[4096];
	const char *name = NULL;
	uint64_t vaddr, off, delta = 0;

	path_of(path, sizeof(path), nm_file);
	vaddr = symtest_nm(path, sym, dyn);
	assert_true(vaddr != 0);
	off = symtest_vaddr_to_off(path, vaddr);
	assert_true(off != UINT64_MAX);
	assert_int_equal(elfsym_lookup_offset(e, off + 1, &name, &delta), 0);
	assert_string_equal(name, sym);
	assert_int_equal(delta, 1);
	/* and by vaddr directly */
	assert_int_equal(elfsym_lookup(e, vaddr, &name, &delta), 0);
	assert_string_equal(name, sym);
	assert_int_equal(delta, 0);
}

static void expect_build_id(const struct elfsym *e, const char *name)
{
	char path[4096];
	uint8_t id[ELFSYM_BUILD_ID_MAX];
	const uint8_t *eid;
	size_t len;
	int fd;

	path_of(path, sizeof(path), name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(elfsym_read_build_id_fd(fd, id), 20);
	close(fd);
	eid = elfsym_build_id(e, &len);
	assert_int_equal(len, 20);
	assert_memory_equal(eid, id, 20);
}

static void test_pie(void **state)
{
	struct elfsym *e = load("prog_pie");

	(void)state;
	if (!have_binutils)
		skip();
	assert_true(elfsym_sources(e) & ELFSYM_SRC_SYMTAB);
	expect_name(e, "prog_pie", "alpha_func", 0);
	expect_name(e, "prog_pie", "beta_local", 0);
	expect_name(e, "prog_pie", "gamma_func", 0);
	expect_name(e, "prog_pie", "main", 0);
	expect_build_id(e, "prog_pie");
	assert_true(elfsym_count(e) >= 4);
	assert_true(elfsym_bytes(e) > 0);
	assert_null(elfsym_free(e));
}

static void test_nopie(void **state)
{
	struct elfsym *e = load("prog_nopie");

	(void)state;
	if (!have_binutils)
		skip();
	expect_name(e, "prog_nopie", "alpha_func", 0);
	expect_name(e, "prog_nopie", "beta_local", 0);
	expect_name(e, "prog_nopie", "gamma_func", 0);
	expect_build_id(e, "prog_nopie");
	elfsym_free(e);
}

static void test_shared(void **state)
{
	struct elfsym *e = load("libt.so");

	(void)state;
	if (!have_binutils)
		skip();
	expect_name(e, "libt.so", "lib_one", 0);
	expect_name(e, "libt.so", "lib_hidden", 0);
	expect_name(e, "libt.so", "lib_two", 1);
	expect_build_id(e, "libt.so");
	elfsym_free(e);
}

static void test_stripped(void **state)
{
	char src[4096], dst[4096];
	const char *name = NULL;
	struct elfsym *e;
	uint64_t off, delta;

	(void)state;
	if (!have_binutils)
		skip();
	path_of(src, sizeof(src), "prog_rdyn");
	path_of(dst, sizeof(dst), "prog_stripped");
	assert_int_equal(symtest_sh("cp '%s' '%s' && strip '%s'", src, dst, dst), 0);
	e = load("prog_stripped");
	assert_int_equal(elfsym_sources(e), ELFSYM_SRC_DYNSYM);
	expect_name(e, "prog_stripped", "alpha_func", 1);
	expect_name(e, "prog_stripped", "gamma_func", 1);
	/* the local function is gone with .symtab */
	off = symtest_vaddr_to_off(dst, symtest_nm(src, "beta_local", 0));
	if (elfsym_lookup_offset(e, off, &name, &delta) == 0)
		assert_string_not_equal(name, "beta_local");
	expect_build_id(e, "prog_stripped");
	elfsym_free(e);
}

/* MiniDebugInfo, built as the GDB manual describes. */
static void test_minidebuginfo(void **state)
{
	char p[4096];
	struct elfsym *e;

	(void)state;
	if (!have_binutils || !symtest_have("xz")) {
		print_message("objcopy/strip/xz missing: MiniDebugInfo case skipped\n");
		skip();
	}
	path_of(p, sizeof(p), "prog_mini");
	assert_int_equal(symtest_sh(
		"set -e; cd '%s'; cp prog_pie prog_mini; cp prog_pie prog_mini.orig;"
		"nm -D prog_mini --format=posix --defined-only | awk '{ print $1 }' | sort > dynsyms;"
		"nm prog_mini --format=posix --defined-only | awk '{ if ($2 == \"T\" || $2 == \"t\" || $2 == \"D\") print $1 }' | sort > funcsyms;"
		"comm -13 dynsyms funcsyms > keep_symbols;"
		"objcopy --only-keep-debug prog_mini mini.debug;"
		"objcopy -S --remove-section .gdb_index --remove-section .comment --keep-symbols=keep_symbols mini.debug mini_debuginfo;"
		"strip --strip-all -R .comment prog_mini;"
		"rm -f mini_debuginfo.xz; xz mini_debuginfo;"
		"objcopy --add-section .gnu_debugdata=mini_debuginfo.xz prog_mini",
		dir), 0);
	e = load("prog_mini");
	assert_true(elfsym_sources(e) & ELFSYM_SRC_DEBUGDATA);
	assert_false(elfsym_sources(e) & ELFSYM_SRC_SYMTAB);
	expect_name(e, "prog_mini.orig", "beta_local", 0);
	expect_name(e, "prog_mini.orig", "alpha_func", 0);
	expect_name(e, "prog_mini.orig", "gamma_func", 0);
	elfsym_free(e);

	/* A corrupt .gnu_debugdata leaves the outer symbols usable. */
	assert_int_equal(symtest_sh(
		"set -e; cd '%s'; cp prog_rdyn prog_baddd; strip prog_baddd;"
		"head -c 300 /dev/urandom > junk.xz; printf '\\375' | cat - junk.xz > junk2.xz;"
		"objcopy --add-section .gnu_debugdata=junk2.xz prog_baddd", dir), 0);
	e = load("prog_baddd");
	assert_int_equal(elfsym_sources(e), ELFSYM_SRC_DYNSYM);
	expect_name(e, "prog_baddd", "gamma_func", 1);
	elfsym_free(e);
}

/* Separate debug files: by build-id under a debug dir, and by debuglink
 * (with its CRC) next to the file. */
static void test_debug_files(void **state)
{
	char dbg[4096], p[4096];
	struct elfsym *e;

	(void)state;
	if (!have_binutils)
		skip();
	assert_int_equal(symtest_sh(
		"set -e; cd '%s'; cp prog_pie prog_bid; cp prog_pie prog_bid.orig;"
		"objcopy --only-keep-debug prog_bid prog_bid.debug; strip prog_bid;"
		"id=$(readelf -n prog_bid | awk '/Build ID/ { print $3 }');"
		"mkdir -p dbg/.build-id/$(echo $id | cut -c1-2);"
		"mv prog_bid.debug dbg/.build-id/$(echo $id | cut -c1-2)/$(echo $id | cut -c3-).debug", dir), 0);
	e = load("prog_bid");
	assert_false(elfsym_sources(e) & ELFSYM_SRC_SYMTAB);
	snprintf(dbg, sizeof(dbg), "/nonexistent:%s/dbg", dir);
	assert_int_equal(elfsym_load_debug(e, "/nonexistent", NULL, NULL, NULL), -ENOENT);
	assert_int_equal(elfsym_load_debug(e, dbg, NULL, NULL, NULL), 0);
	assert_true(elfsym_sources(e) & ELFSYM_SRC_DEBUGFILE);
	expect_name(e, "prog_bid.orig", "beta_local", 0);
	expect_name(e, "prog_bid.orig", "main", 0);
	elfsym_free(e);

	/* debuglink without a build-id: the CRC must match */
	assert_int_equal(symtest_sh(
		"set -e; cd '%s'; mkdir -p ln; cp prog_noid ln/prog_ln; cp prog_noid prog_ln.orig; cd ln;"
		"objcopy --only-keep-debug prog_ln prog_ln.dbg; strip prog_ln;"
		"objcopy --add-gnu-debuglink=prog_ln.dbg prog_ln", dir), 0);
	e = load("ln/prog_ln");
	assert_string_equal(elfsym_debuglink(e), "prog_ln.dbg");
	snprintf(p, sizeof(p), "%s/ln", dir);
	assert_int_equal(elfsym_load_debug(e, "/nonexistent", NULL, p, "/usr/bin"), 0);
	expect_name(e, "prog_ln.orig", "beta_local", 0);
	elfsym_free(e);

	/* the same link with a changed debug file: CRC mismatch, refused */
	assert_int_equal(symtest_sh("cd '%s/ln' && printf x >> prog_ln.dbg", dir), 0);
	e = load("ln/prog_ln");
	assert_int_equal(elfsym_load_debug(e, NULL, NULL, p, NULL), -ENOENT);
	elfsym_free(e);
}

static void test_no_build_id(void **state)
{
	char path[4096];
	uint8_t id[ELFSYM_BUILD_ID_MAX];
	struct elfsym *e = load("prog_noid");
	size_t len;
	int fd;

	(void)state;
	elfsym_build_id(e, &len);
	assert_int_equal(len, 0);
	elfsym_free(e);
	path_of(path, sizeof(path), "prog_noid");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_int_equal(elfsym_read_build_id_fd(fd, id), -ENODATA);
	close(fd);
}

/* ---- malformed input ---- */

static int load_bytes(const char *name, const void *buf, size_t len)
{
	char path[4096];
	struct elfsym *e = NULL;
	int fd, r;

	path_of(path, sizeof(path), name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
	r = elfsym_load_path(path, &e);
	if (r == 0) {
		/* whatever loaded must be safe to query */
		const char *n;
		uint64_t o;

		for (uint64_t a = 0; a < 0x4000; a += 0x10)
			elfsym_lookup_offset(e, a, &n, &o);
		elfsym_free(e);
	}
	return r;
}

static void *read_file(const char *name, size_t *len)
{
	char path[4096];
	struct stat st;
	void *buf;
	int fd;

	path_of(path, sizeof(path), name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

/* Offset in the image of section header number idx of the section named `want`. */
static Elf64_Shdr *find_shdr(unsigned char *img, size_t len, const char *want)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
	Elf64_Shdr *sh = (Elf64_Shdr *)(img + eh->e_shoff), *str;

	assert_true(eh->e_shoff + (size_t)eh->e_shnum * sizeof(*sh) <= len);
	str = &sh[eh->e_shstrndx];
	for (size_t i = 0; i < eh->e_shnum; i++)
		if (strcmp((char *)img + str->sh_offset + sh[i].sh_name, want) == 0)
			return &sh[i];
	fail_msg("no section %s", want);
	return NULL;
}

static void test_malformed(void **state)
{
	static const char garbage[] = "this is not an ELF file, just some text\n";
	unsigned char *img, *copy;
	Elf64_Shdr *sh;
	size_t len;

	(void)state;
	assert_int_equal(load_bytes("empty", "", 0), -ENOEXEC);
	assert_int_equal(load_bytes("garbage", garbage, sizeof(garbage)), -ENOEXEC);
	assert_int_equal(load_bytes("magic_only", "\177ELF", 4), -ENOEXEC);

	img = read_file("prog_pie", &len);
	copy = malloc(len);
	assert_non_null(copy);

	/* truncated at several points: header only, half, all but the end */
	assert_true(load_bytes("trunc64", img, 64) < 0);
	assert_true(load_bytes("trunc_half", img, len / 2) < 0);
	assert_true(load_bytes("trunc_end", img, len - 100) < 0);

	/* e_shoff far past the end */
	memcpy(copy, img, len);
	((Elf64_Ehdr *)copy)->e_shoff = UINT64_MAX - 1000;
	assert_true(load_bytes("bad_shoff", copy, len) < 0);
	memcpy(copy, img, len);
	((Elf64_Ehdr *)copy)->e_shoff = len - 10;
	assert_true(load_bytes("bad_shoff2", copy, len) < 0);

	/* huge sh_size on .symtab */
	memcpy(copy, img, len);
	sh = find_shdr(copy, len, ".symtab");
	sh->sh_size = UINT64_MAX / 2;
	assert_int_equal(load_bytes("huge_size", copy, len), -EBADMSG);

	/* .symtab's sh_link out of range, and pointing at a non-strtab */
	memcpy(copy, img, len);
	find_shdr(copy, len, ".symtab")->sh_link = 60000;
	assert_int_equal(load_bytes("bad_link", copy, len), -EBADMSG);
	memcpy(copy, img, len);
	find_shdr(copy, len, ".symtab")->sh_link = 1;
	assert_int_equal(load_bytes("bad_link2", copy, len), -EBADMSG);

	/* symbol names past the end of the string table */
	memcpy(copy, img, len);
	sh = find_shdr(copy, len, ".symtab");
	for (size_t i = 1; i < sh->sh_size / sizeof(Elf64_Sym); i++) {
		Elf64_Sym *s = (Elf64_Sym *)(copy + sh->sh_offset) + i;

		if (ELF64_ST_TYPE(s->st_info) == STT_FUNC && s->st_shndx != SHN_UNDEF && s->st_value)
			s->st_name = 0x7ffffff0;
	}
	assert_int_equal(load_bytes("bad_name", copy, len), -EBADMSG);

	/* a .strtab without a terminating NUL */
	memcpy(copy, img, len);
	sh = find_shdr(copy, len, ".strtab");
	memset(copy + sh->sh_offset, 'A', sh->sh_size);
	assert_int_equal(load_bytes("no_nul", copy, len), -EBADMSG);

	/* e_shnum huge */
	memcpy(copy, img, len);
	((Elf64_Ehdr *)copy)->e_shnum = 0xffff;
	assert_true(load_bytes("bad_shnum", copy, len) < 0);

	/* program headers past the end */
	memcpy(copy, img, len);
	((Elf64_Ehdr *)copy)->e_phoff = len - 8;
	assert_true(load_bytes("bad_phoff", copy, len) < 0);

	/* a directory and a missing file */
	struct elfsym *e = NULL;
	assert_int_equal(elfsym_load_path(dir, &e), -EINVAL);
	assert_int_equal(elfsym_load_path("/nonexistent/file", &e), -ENOENT);
	assert_null(elfsym_free(NULL));
	free(copy);
	free(img);
}


/* ---- hostile sizes: sparse files that claim GiB-sized sections ---- */

#define GIB (1ull << 30)

/* Write img as dir/name, then extend it (sparse) to total bytes. */
static void write_sparse(const char *name, const void *img, size_t len, uint64_t total)
{
	char path[4096];
	int fd;

	path_of(path, sizeof(path), name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, img, len), (ssize_t)len);
	assert_int_equal(ftruncate(fd, (off_t)total), 0);
	close(fd);
}

static int open_fixture(const char *name)
{
	char path[4096];
	int fd;

	path_of(path, sizeof(path), name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

/* elfsym_load_path() of dir/name, for the error; the table is freed. */
static int load_err(const char *name, struct elfsym **e)
{
	char path[4096];
	int r;

	path_of(path, sizeof(path), name);
	r = elfsym_load_path(path, e);
	if (r == 0)
		*e = elfsym_free(*e);
	return r;
}

/* Peak RSS of this process, KiB. */
static long max_rss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* A loaded table must not have cost more than this much peak memory. */
#define HOSTILE_RSS_KIB (64 * 1024)

static void test_hostile_notes(void **state)
{
	uint8_t id[ELFSYM_BUILD_ID_MAX], want[ELFSYM_BUILD_ID_MAX];
	unsigned char *img, *copy;
	struct elfsym *e;
	const char *names[] = { ".interp", ".note.gnu.property", ".dynsym", ".dynstr", ".gnu.hash" };
	size_t len;
	long rss;
	int fd, n;

	(void)state;
	rss = max_rss_kib();
	/* No build-id, and a 4 GiB note section: nothing read past 64 KiB. */
	img = read_file("prog_noid", &len);
	copy = malloc(len);
	assert_non_null(copy);
	memcpy(copy, img, len);
	find_shdr(copy, len, ".comment")->sh_type = SHT_NOTE;
	find_shdr(copy, len, ".comment")->sh_offset = 6 * GIB;
	find_shdr(copy, len, ".comment")->sh_size = 4 * GIB;
	write_sparse("huge_note", copy, len, 10 * GIB);
	fd = open_fixture("huge_note");
	assert_int_equal(elfsym_read_build_id_fd(fd, id), -ENODATA);
	close(fd);
	e = load("huge_note");
	expect_name(e, "prog_noid", "gamma_func", 0);
	elfsym_free(e);
	free(copy);
	free(img);

	/* A big junk note section before the real build-id note: the junk
	 * costs 64 KiB of the budget, the build-id is still found. */
	fd = open_fixture("prog_pie");
	assert_int_equal(elfsym_read_build_id_fd(fd, want), 20);
	close(fd);
	img = read_file("prog_pie", &len);
	copy = malloc(len);
	assert_non_null(copy);
	memcpy(copy, img, len);
	find_shdr(copy, len, ".interp")->sh_type = SHT_NOTE;
	find_shdr(copy, len, ".interp")->sh_offset = 2 * GIB;
	find_shdr(copy, len, ".interp")->sh_size = 2 * GIB;
	write_sparse("junk_note", copy, len, 5 * GIB);
	fd = open_fixture("junk_note");
	n = elfsym_read_build_id_fd(fd, id);
	close(fd);
	assert_int_equal(n, 20);
	assert_memory_equal(id, want, 20);

	/* Five of them, before the build-id (its header moved to the
	 * .comment slot; libelf never sees this file): the notes budget
	 * (256 KiB) is spent first, and the reader gives up rather than
	 * read on. */
	memcpy(copy, img, len);
	*find_shdr(copy, len, ".comment") = *find_shdr(copy, len, ".note.gnu.build-id");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		Elf64_Shdr *sh = find_shdr(copy, len, names[i]);

		sh->sh_type = SHT_NOTE;
		sh->sh_offset = GIB * (i + 1);
		sh->sh_size = GIB;
	}
	{
		Elf64_Ehdr *eh = (Elf64_Ehdr *)copy;
		Elf64_Shdr *bid = find_shdr(copy, len, ".note.gnu.build-id");
		Elf64_Phdr *ph = (Elf64_Phdr *)(copy + eh->e_phoff);

		bid->sh_type = SHT_NOTE;
		bid->sh_offset = 6 * GIB;
		bid->sh_size = GIB;
		/* ... and the PT_NOTE headers point at junk as well */
		for (size_t i = 0; i < eh->e_phnum; i++)
			if (ph[i].p_type == PT_NOTE) {
				ph[i].p_offset = 7 * GIB;
				ph[i].p_filesz = GIB;
			}
	}
	write_sparse("notes_late", copy, len, 9 * GIB);
	/* the same, without the junk: found */
	{
		unsigned char *c2 = malloc(len);

		assert_non_null(c2);
		memcpy(c2, img, len);
		*find_shdr(c2, len, ".comment") = *find_shdr(c2, len, ".note.gnu.build-id");
		write_sparse("notes_late_ok", c2, len, len);
		free(c2);
		fd = open_fixture("notes_late_ok");
		assert_int_equal(elfsym_read_build_id_fd(fd, id), 20);
		close(fd);
	}
	fd = open_fixture("notes_late");
	assert_int_equal(elfsym_read_build_id_fd(fd, id), -ENODATA);
	close(fd);
	free(copy);
	free(img);
	assert_true(max_rss_kib() - rss < HOSTILE_RSS_KIB);
}

static void test_hostile_sections(void **state)
{
	unsigned char *img, *copy;
	struct elfsym *e = NULL;
	Elf64_Ehdr *eh;
	Elf64_Shdr *sh;
	size_t len;
	long rss;
	int fd;

	(void)state;
	rss = max_rss_kib();
	img = read_file("prog_pie", &len);
	copy = malloc(len);
	assert_non_null(copy);

	/* .symtab of 3 GiB (a sparse file makes it "fit"): refused before
	 * anything is read. */
	memcpy(copy, img, len);
	sh = find_shdr(copy, len, ".symtab");
	sh->sh_offset = 4 * GIB;
	sh->sh_size = 3 * GIB;
	write_sparse("huge_symtab", copy, len, 8 * GIB);
	assert_int_equal(load_err("huge_symtab", &e), -EFBIG);

	/* .strtab of 1 GiB */
	memcpy(copy, img, len);
	sh = find_shdr(copy, len, ".strtab");
	sh->sh_offset = 4 * GIB;
	sh->sh_size = GIB;
	write_sparse("huge_strtab", copy, len, 6 * GIB);
	assert_int_equal(load_err("huge_strtab", &e), -EFBIG);

	/* Section names of 1 GiB: names are ignored, symbols still load. */
	memcpy(copy, img, len);
	eh = (Elf64_Ehdr *)copy;
	sh = (Elf64_Shdr *)(copy + eh->e_shoff) + eh->e_shstrndx;
	sh->sh_offset = 4 * GIB;
	sh->sh_size = GIB;
	write_sparse("huge_shstrtab", copy, len, 6 * GIB);
	e = load("huge_shstrtab");
	expect_name(e, "prog_pie", "beta_local", 0);
	elfsym_free(e);

	/* Extended numbering claiming 16 Mi sections (section 0's sh_size):
	 * refused before libelf allocates a table for them. */
	memcpy(copy, img, len);
	eh = (Elf64_Ehdr *)copy;
	eh->e_shnum = 0;
	((Elf64_Shdr *)(copy + eh->e_shoff))->sh_size = 16u << 20;
	write_sparse("many_sections", copy, len, 2 * GIB);
	assert_int_equal(load_err("many_sections", &e), -EFBIG);
	fd = open_fixture("many_sections");
	{
		uint8_t id[ELFSYM_BUILD_ID_MAX];

		assert_int_equal(elfsym_read_build_id_fd(fd, id), -EFBIG);
	}
	close(fd);
	/* ... and as many program headers (PN_XNUM, count in sh_info) */
	memcpy(copy, img, len);
	eh = (Elf64_Ehdr *)copy;
	eh->e_phnum = PN_XNUM;
	((Elf64_Shdr *)(copy + eh->e_shoff))->sh_info = 1u << 24;
	write_sparse("many_phdrs", copy, len, 2 * GIB);
	assert_int_equal(load_err("many_phdrs", &e), -EFBIG);

	free(copy);
	free(img);

	/* A 1 GiB .gnu_debuglink is not read (nor trusted). */
	if (have_binutils) {
		assert_int_equal(symtest_sh("set -e; cd '%s'; cp prog_noid dl_prog; cp prog_noid dl_prog.dbg;"
					    "objcopy --add-gnu-debuglink=dl_prog.dbg dl_prog", dir), 0);
		e = load("dl_prog");
		assert_string_equal(elfsym_debuglink(e), "dl_prog.dbg");
		elfsym_free(e);
		img = read_file("dl_prog", &len);
		sh = find_shdr(img, len, ".gnu_debuglink");
		sh->sh_offset = 4 * GIB;
		sh->sh_size = GIB;
		write_sparse("huge_debuglink", img, len, 6 * GIB);
		e = load("huge_debuglink");
		assert_null(elfsym_debuglink(e));
		expect_name(e, "prog_noid", "alpha_func", 0);
		elfsym_free(e);
		free(img);
	}
	assert_true(max_rss_kib() - rss < HOSTILE_RSS_KIB);
}

/* Random byte flips: any result is fine except a crash (run under ASan). */
static void test_fuzz(void **state)
{
	unsigned char *img, *copy;
	size_t len;
	unsigned seed = 12345;

	(void)state;
	img = read_file("libt.so", &len);
	copy = malloc(len);
	assert_non_null(copy);
	for (int round = 0; round < 300; round++) {
		memcpy(copy, img, len);
		for (int k = 0; k < 1 + round % 16; k++) {
			seed = seed * 1103515245u + 12345u;
			/* bias towards the headers, where the structure lives */
			size_t at = (seed >> 8) % (round % 2 ? 256 : len);
			seed = seed * 1103515245u + 12345u;
			copy[at] = (unsigned char)(seed >> 16);
		}
		load_bytes("fuzz", copy, len);
	}
	/* and the section header table specifically */
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
	for (int round = 0; round < 300; round++) {
		memcpy(copy, img, len);
		size_t span = (size_t)eh->e_shnum * sizeof(Elf64_Shdr);
		for (int k = 0; k < 4; k++) {
			seed = seed * 1103515245u + 12345u;
			size_t at = eh->e_shoff + (seed >> 8) % span;
			seed = seed * 1103515245u + 12345u;
			if (at < len)
				copy[at] = (unsigned char)(seed >> 16);
		}
		load_bytes("fuzz", copy, len);
	}
	free(copy);
	free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pie),
		cmocka_unit_test(test_nopie),
		cmocka_unit_test(test_shared),
		cmocka_unit_test(test_stripped),
		cmocka_unit_test(test_minidebuginfo),
		cmocka_unit_test(test_debug_files),
		cmocka_unit_test(test_no_build_id),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_hostile_notes),
		cmocka_unit_test(test_hostile_sections),
		cmocka_unit_test(test_fuzz),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
