/* SPDX-License-Identifier: GPL-2.0-only */
/* Workload for the hostile-files test: run inside a container-like root,
 * statically linked so the root needs no libraries.
 *   hostile SECONDS FILE...
 * maps the first MiB of each FILE (an ELF built from hostile_spin.c)
 * PROT_READ|PROT_EXEC, prints "ready", then for SECONDS calls each file's
 * entry point (hostile_spin) in turn, so samples land in every mapping. */
#include <elf.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "workload.h"

#define MAX_FILES 8
#define MAP_LEN (1u << 20) /* the code lies in the first pages */

volatile uintptr_t workload_frame_sink;

typedef long (*spin_fn)(long);

/* Entry point of the ELF mapped at base (map_len bytes), or NULL. */
static spin_fn entry_of(const unsigned char *base, size_t map_len)
{
	const Elf64_Ehdr *eh = (const void *)base;
	const Elf64_Phdr *ph;

	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_phoff > map_len ||
	    eh->e_phnum > (map_len - eh->e_phoff) / sizeof(*ph))
		return NULL;
	ph = (const void *)(base + eh->e_phoff);
	for (int i = 0; i < eh->e_phnum; i++) {
		uint64_t off;

		if (ph[i].p_type != PT_LOAD || !(ph[i].p_flags & PF_X) || eh->e_entry < ph[i].p_vaddr ||
		    eh->e_entry - ph[i].p_vaddr >= ph[i].p_filesz)
			continue;
		off = eh->e_entry - ph[i].p_vaddr + ph[i].p_offset;
		return off < map_len ? (spin_fn)(uintptr_t)(base + off) : NULL;
	}
	return NULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

__attribute__((noinline)) static long run_all(spin_fn *fns, int n)
{
	long x = 0;

	FORCE_FRAME();
	for (int i = 0; i < n; i++)
		x += fns[i](200000);
	return x;
}

int main(int argc, char **argv)
{
	spin_fn fns[MAX_FILES];
	volatile long sink = 0;
	double end;
	int n = 0;

	if (argc < 3 || argc - 2 > MAX_FILES) {
		fprintf(stderr, "usage: hostile SECONDS FILE...\n");
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		int fd = open(argv[i], O_RDONLY | O_CLOEXEC);
		void *base;

		if (fd < 0) {
			perror(argv[i]);
			return 1;
		}
		base = mmap(NULL, MAP_LEN, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
		close(fd);
		if (base == MAP_FAILED || !(fns[n] = entry_of(base, MAP_LEN))) {
			fprintf(stderr, "%s: cannot map its entry point\n", argv[i]);
			return 1;
		}
		n++;
	}
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	end = now() + atof(argv[1]);
	while (now() < end)
		sink += run_all(fns, n);
	return 0;
}
