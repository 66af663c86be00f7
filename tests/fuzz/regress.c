/* SPDX-License-Identifier: GPL-2.0-only */
/* Regression driver: runs a fuzz target over every file of corpus directories
 * (or single files) given as arguments, so the committed corpus and crash
 * reproducers run under plain `meson test` with any compiler. */
#include "fuzz_util.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

/* Inputs are small by design; a bigger file is a mistake in the corpus. */
#define REGRESS_MAX_INPUT (4u << 20)

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rbe");
	struct stat st;
	uint8_t *buf = NULL;
	size_t n;
	int r = -1;

	if (!f || fstat(fileno(f), &st) < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		goto out;
	}
	if (st.st_size < 0 || (uint64_t)st.st_size > REGRESS_MAX_INPUT) {
		fprintf(stderr, "%s: larger than %u bytes\n", path, REGRESS_MAX_INPUT);
		goto out;
	}
	n = (size_t)st.st_size;
	/* Exactly n bytes on the heap, so ASan catches a read one past the end. */
	buf = malloc(n ? n : 1);
	if (!buf || fread(buf, 1, n, f) != n) {
		fprintf(stderr, "%s: short read\n", path);
		goto out;
	}
	LLVMFuzzerTestOneInput(buf, n);
	r = 0;
out:
	free(buf);
	if (f)
		fclose(f);
	return r;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of dir, in name order so runs are reproducible.
 * Returns the number run, or -1 on an error. */
static int run_dir(const char *dir)
{
	char **names = NULL, path[4096];
	size_t n = 0, cap = 0;
	struct dirent *de;
	int ran = 0;
	DIR *d = opendir(dir);

	if (!d) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof(*nn));

			if (!nn) {
				ran = -1;
				break;
			}
			names = nn;
		}
		if (!(names[n] = strdup(de->d_name))) {
			ran = -1;
			break;
		}
		n++;
	}
	closedir(d);
	if (ran == 0 && n)
		qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n && ran >= 0; i++) {
		struct stat st;
		int len = snprintf(path, sizeof(path), "%s/%s", dir, names[i]);

		if (len < 0 || (size_t)len >= sizeof(path) || stat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (run_file(path) < 0)
			ran = -1;
		else
			ran++;
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return ran;
}

int main(int argc, char **argv)
{
	int total = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR|FILE...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		struct stat st;
		int r;

		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		r = S_ISDIR(st.st_mode) ? run_dir(argv[i]) : run_file(argv[i]) == 0 ? 1 : -1;
		if (r < 0)
			return 1;
		total += r;
	}
	printf("%d inputs ran without a crash\n", total);
	/* An empty corpus tests nothing: fail rather than pass quietly. */
	return total > 0 ? 0 : 1;
}
