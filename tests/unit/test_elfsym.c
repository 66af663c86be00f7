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
		cmocka_unit_test(test_fuzz),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
