/* SPDX-License-Identifier: GPL-2.0-only */
/* Test helpers shared by test_elfsym and test_symbolizer: build small ELF
 * programs with known functions at test time, query them with nm. */
#ifndef PROFD_SYMTEST_UTIL_H
#define PROFD_SYMTEST_UTIL_H

#include <fcntl.h>
#include <gelf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The program under test: three functions, one of them local (static),
 * so stripped files lose it from .dynsym. With an argument it prints
 * gamma_func's run-time address, then sleeps. */
static const char symtest_prog_src[] =
	"#include <stdio.h>\n"
	"#include <stdlib.h>\n"
	"#include <unistd.h>\n"
	"__attribute__((noinline)) int alpha_func(int x) { return x * 3 + 1; }\n"
	"__attribute__((noinline)) static int beta_local(int x) { return alpha_func(x) ^ 5; }\n"
	"__attribute__((noinline)) int gamma_func(int x) { return beta_local(x) + 2; }\n"
	"int main(int argc, char **argv)\n"
	"{\n"
	"	if (argc > 1) {\n"
	"		printf(\"%p\\n\", (void *)gamma_func);\n"
	"		fflush(stdout);\n"
	"		sleep((unsigned)atoi(argv[1]));\n"
	"	}\n"
	"	return gamma_func(argc) & 1;\n"
	"}\n";

static const char symtest_lib_src[] =
	"__attribute__((noinline)) int lib_one(int x) { return x + 11; }\n"
	"__attribute__((noinline)) static int lib_hidden(int x) { return lib_one(x) * 7; }\n"
	"__attribute__((noinline)) int lib_two(int x) { return lib_hidden(x) - 1; }\n";

__attribute__((format(printf, 1, 2)))
static inline int symtest_sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static inline int symtest_have(const char *tool)
{
	return symtest_sh("command -v %s >/dev/null 2>&1", tool) == 0;
}

static inline const char *symtest_cc(void)
{
	const char *cc = getenv("PROFD_TEST_CC");

	return cc && cc[0] ? cc : "cc";
}

static inline int symtest_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

/* Compile src (text) into dir/out with extra flags. 0 on success. */
static inline int symtest_build(const char *dir, const char *out, const char *src, const char *flags)
{
	char spath[4096];

	snprintf(spath, sizeof(spath), "%s/%s.c", dir, out);
	if (symtest_write(spath, src) != 0)
		return -1;
	return symtest_sh("'%s' -O0 -fno-inline -o '%s/%s' '%s' %s 2>'%s/%s.log'",
			  symtest_cc(), dir, out, spath, flags, dir, out);
}

/* vaddr of symbol name in path per `nm` (dynamic table with dyn=1); 0 if absent. */
static inline uint64_t symtest_nm(const char *path, const char *name, int dyn)
{
	char cmd[4200], line[1024];
	uint64_t addr = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "nm %s --defined-only '%s' 2>/dev/null", dyn ? "-D" : "", path);
	p = popen(cmd, "r");
	if (!p)
		return 0;
	while (fgets(line, sizeof(line), p)) {
		char type, sym[512];
		unsigned long long a;

		if (sscanf(line, "%llx %c %511s", &a, &type, sym) == 3 && strcmp(sym, name) == 0)
			addr = a;
	}
	pclose(p);
	return addr;
}

/* File offset of vaddr through the file's PT_LOAD headers (an independent
 * computation to check elfsym against); UINT64_MAX if none. */
static inline uint64_t symtest_vaddr_to_off(const char *path, uint64_t vaddr)
{
	uint64_t off = UINT64_MAX;
	size_t n = 0;
	Elf *elf;
	int fd;

	elf_version(EV_CURRENT);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return off;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (elf && elf_getphdrnum(elf, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			GElf_Phdr ph;

			if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD &&
			    vaddr >= ph.p_vaddr && vaddr - ph.p_vaddr < ph.p_filesz)
				off = vaddr - ph.p_vaddr + ph.p_offset;
		}
	}
	if (elf)
		elf_end(elf);
	close(fd);
	return off;
}

static inline char *symtest_tmpdir(void)
{
	char tmpl[] = "/tmp/profd-symtest-XXXXXX";
	char *d = mkdtemp(tmpl);

	return d ? strdup(d) : NULL;
}

static inline void symtest_rmdir(char *dir)
{
	if (dir && strncmp(dir, "/tmp/profd-symtest-", 19) == 0)
		symtest_sh("rm -rf '%s'", dir);
	free(dir);
}

#endif
