/* SPDX-License-Identifier: GPL-2.0-only */
/* bench_unwind_tables: builds the compact unwind table of every executable
 * object mapped on this host (or of the files named on the command line)
 * and reports CFI size, rows, table memory and build time per object and
 * in total, with the build rate in ms per MiB of CFI. Each object is built
 * --repeat times and the fastest build is kept.
 *
 * usage: bench_unwind_tables [--repeat N] [--procfs DIR] [FILE...] */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "symbols/procmaps.h"
#include "unwind/table.h"

#define MAX_FILES 4096

static char *files[MAX_FILES];
static int nfiles;

static void add_file(const char *path)
{
	for (int i = 0; i < nfiles; i++)
		if (!strcmp(files[i], path))
			return;
	if (nfiles < MAX_FILES)
		files[nfiles++] = strdup(path);
}

/* Every executable file mapping of every process. */
static void scan(const char *procfs)
{
	DIR *d = opendir(procfs);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[512];
		struct procmaps *m;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "%s/%s/maps", procfs, de->d_name);
		if (procmaps_read(path, &m) < 0)
			continue;
		for (size_t i = 0; i < procmaps_count(m); i++) {
			const struct procmaps_entry *e = procmaps_get(m, i);

			if ((e->perms & PROCMAPS_X) && procmaps_entry_is_file(e) && !e->deleted)
				add_file(e->path);
		}
		procmaps_free(m);
	}
	closedir(d);
}

int main(int argc, char **argv)
{
	const char *procfs = "/proc";
	int repeat = 3, first = 1, failed = 0, no_cfi = 0, tables = 0;
	uint64_t cfi = 0, rows = 0, cells = 0, ns = 0, unsup = 0;

	while (first < argc && argv[first][0] == '-') {
		if (!strcmp(argv[first], "--repeat") && first + 1 < argc) {
			repeat = atoi(argv[first + 1]);
			first += 2;
		} else if (!strcmp(argv[first], "--procfs") && first + 1 < argc) {
			procfs = argv[first + 1];
			first += 2;
		} else {
			fprintf(stderr, "usage: bench_unwind_tables [--repeat N] [--procfs DIR] [FILE...]\n");
			return 64;
		}
	}
	if (repeat < 1)
		repeat = 1;
	for (int i = first; i < argc; i++)
		add_file(argv[i]);
	if (first == argc)
		scan(procfs);

	printf("| object | CFI KiB | rows | table KiB | build ms |\n|---|---:|---:|---:|---:|\n");
	for (int i = 0; i < nfiles; i++) {
		struct unwind_table *best = NULL;
		int r = 0;

		for (int k = 0; k < repeat; k++) {
			struct unwind_table *t = NULL;
			int fd = open(files[i], O_RDONLY | O_CLOEXEC);

			if (fd < 0) {
				r = -errno;
				break;
			}
			r = unwind_table_build_fd(fd, &t);
			close(fd);
			if (!t)
				break;
			if (!best || t->st.build_ns < best->st.build_ns) {
				unwind_table_free(best);
				best = t;
			} else {
				unwind_table_free(t);
			}
		}
		if (!best) {
			failed++;
			fprintf(stderr, "bench_unwind_tables: %s: %s\n", files[i], strerror(-r));
			continue;
		}
		if (!best->nrows) {
			no_cfi++;
		} else {
			tables++;
			cfi += best->st.cfi_bytes;
			rows += best->nrows;
			cells += unwind_table_cells(best);
			ns += best->st.build_ns;
			unsup += best->st.unsupported;
			printf("| %s | %.1f | %u | %.1f | %.2f |\n", files[i], best->st.cfi_bytes / 1024.0, best->nrows,
			       unwind_table_cells(best) * 8 / 1024.0, best->st.build_ns / 1e6);
		}
		unwind_table_free(best);
	}
	printf("\nobjects: %d with tables, %d without CFI, %d unreadable\n", tables, no_cfi, failed);
	printf("total: CFI %.2f MiB, %llu rows (%llu unsupported), table memory %.2f MiB, build %.1f ms\n",
	       cfi / 1048576.0, (unsigned long long)rows, (unsigned long long)unsup, cells * 8 / 1048576.0, ns / 1e6);
	if (cfi)
		printf("rate: %.1f ms per MiB of CFI; table = %.2f x the CFI size\n", ns / 1e6 / (cfi / 1048576.0),
		       (double)cells * 8 / (double)cfi);
	for (int i = 0; i < nfiles; i++)
		free(files[i]);
	return 0;
}
