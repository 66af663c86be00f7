/* SPDX-License-Identifier: GPL-2.0-only */
/* Fuzz target: ELF files through elfsym (load, build-id, lookups, merging a
 * debug file) and the debug-file search in debugfile.c, all from a memfd
 * or a scratch directory, never from the system's own files. */
#include "fuzz_util.h"

#include "symbols/elfsym.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

static char scratch[] = "/tmp/profd-fuzz-elfsym-XXXXXX";

static void scratch_remove(void)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/.build-id", scratch);
	rmdir(path);
	rmdir(scratch);
}

/* A per-process scratch dir: debug_dirs and open_dir point here, so the
 * search finds exactly the copies this target writes. */
static const char *scratch_dir(void)
{
	static int made;

	if (!made) {
		FUZZ_CHECK(mkdtemp(scratch));
		atexit(scratch_remove);
		made = 1;
	}
	return scratch;
}

static int write_file(const char *path, const uint8_t *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t off = 0;

	if (fd < 0)
		return -errno;
	while (off < size) {
		ssize_t n = write(fd, data + off, size - off);

		if (n <= 0) {
			close(fd);
			return -EIO;
		}
		off += (size_t)n;
	}
	close(fd);
	return 0;
}

/* Names come back NUL-terminated and offsets stay inside the symbol. */
static void probe(const struct elfsym *e, uint64_t off)
{
	const char *name;
	uint64_t vaddr, delta;

	if (elfsym_lookup_offset(e, off, &name, &delta) == 0)
		FUZZ_CHECK(name && strlen(name) > 0);
	if (elfsym_offset_to_vaddr(e, off, &vaddr) == 0 && elfsym_lookup(e, vaddr, &name, &delta) == 0)
		FUZZ_CHECK(delta <= vaddr && strlen(name) > 0);
	if (elfsym_lookup(e, off, &name, &delta) == 0)
		FUZZ_CHECK(strlen(name) > 0);
}

static void probe_all(const struct elfsym *e, size_t size)
{
	probe(e, 0);
	probe(e, UINT64_MAX);
	for (size_t i = 1; i <= 32; i++)
		probe(e, (uint64_t)size * i / 32);
}

/* Put the input where e's debuglink and build-id point, and search. */
static void check_debug_search(struct elfsym *e, const uint8_t *data, size_t size)
{
	const char *dir = scratch_dir(), *link = elfsym_debuglink(e);
	const uint8_t *id;
	char path[512], sub[256];
	size_t id_len;

	if (link) {
		/* elfsym promises a plain file name: no '/', not "." or "..". */
		FUZZ_CHECK(!strchr(link, '/') && strcmp(link, ".") && strcmp(link, ".."));
		snprintf(path, sizeof(path), "%s/%s", dir, link);
		if (write_file(path, data, size) == 0) {
			(void)elfsym_load_debug(e, "/nonexistent", NULL, dir, "/usr/bin");
			unlink(path);
		}
	}
	id = elfsym_build_id(e, &id_len);
	if (id_len >= 2) {
		char hex[2 * ELFSYM_BUILD_ID_MAX + 1];

		FUZZ_CHECK(id_len <= ELFSYM_BUILD_ID_MAX);
		for (size_t i = 0; i < id_len; i++)
			snprintf(hex + 2 * i, 3, "%02x", id[i]);
		snprintf(sub, sizeof(sub), "%s/.build-id", dir);
		mkdir(sub, 0700);
		snprintf(sub, sizeof(sub), "%s/.build-id/%.2s", dir, hex);
		mkdir(sub, 0700);
		snprintf(path, sizeof(path), "%s/%s.debug", sub, hex + 2);
		if (write_file(path, data, size) == 0) {
			(void)elfsym_load_debug(e, dir, NULL, NULL, NULL);
			unlink(path);
		}
		rmdir(sub);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t id[ELFSYM_BUILD_ID_MAX];
	struct elfsym *e;
	size_t count;
	int fd = fuzz_memfd("fuzz-elfsym", data, size), r;

	r = elfsym_read_build_id_fd(fd, id);
	FUZZ_CHECK(r < 0 || (r >= 1 && r <= ELFSYM_BUILD_ID_MAX));
	r = elfsym_load_fd(fd, &e);
	if (r < 0)
		return 0;
	count = elfsym_count(e);
	(void)elfsym_bytes(e);
	(void)elfsym_sources(e);
	probe_all(e, size);
	/* The file as its own debug file: same build-id, so it merges. */
	r = elfsym_merge_debug_fd(e, fd);
	(void)r;
	/* Merging only adds: every address already known stays. */
	FUZZ_CHECK(elfsym_count(e) >= count);
	probe_all(e, size);
	check_debug_search(e, data, size);
	probe_all(e, size);
	elfsym_free(e);
	return 0;
}
