/* SPDX-License-Identifier: GPL-2.0-only */
/* Symbol loader, loading: symbol tables (local debug files, then a
 * debuginfod server), JIT maps, the daemon's own vdso image. */
#include "symbols/symloader_int.h"

#include "base/util.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- loading (load thread) ---- */

/* Does the file have the identity the job asks for? pfd: O_PATH, fd: read. */
static int job_accepts(const struct symloader_job *j, int fd, const struct stat *st)
{
	if (j->build_id_len) {
		uint8_t id[ELFSYM_BUILD_ID_MAX];
		int r = elfsym_read_build_id_fd(fd, id);

		return r == (int)j->build_id_len && memcmp(id, j->build_id, j->build_id_len) == 0;
	}
	if (j->has_key) {
		struct symloader_key k = symloader_key_of(st);

		return symloader_key_eq(&k, &j->key);
	}
	return 1;
}

/* Open candidate c for reading: the vdso pseudo-path is the daemon's own image. */
static int open_cand(struct symloader *l, const struct symloader_cand *c, struct stat *st)
{
	int fd;

	if (!c->root && strcmp(c->path, SYMLOADER_VDSO_PATH) == 0) {
		if (l->vdso_fd < 0)
			return -ENOENT;
		fd = fcntl(l->vdso_fd, F_DUPFD_CLOEXEC, 3);
		if (fd < 0 || fstat(fd, st) < 0) {
			int r = -errno;

			if (fd >= 0)
				close(fd);
			return r;
		}
		return fd;
	}
	return util_open_regular_in(c->root, c->path, c->magic ? UTIL_OPEN_MAGICLINKS : 0, st);
}

/* The debug file from a debuginfod server, merged into e. */
static void fetch_debug(struct symloader *l, struct symloader_job *j, struct elfsym *e)
{
	struct dbginfod_result res;
	size_t len;
	const uint8_t *bid = elfsym_build_id(e, &len);
	int fd;

	if (!len)
		return;
	fd = dbginfod_fetch(l->dbginfod, bid, len, &l->stop, &res);
	j->fetch.queries += res.queries;
	j->fetch.downloaded += res.downloaded;
	j->fetch.cached += res.cached;
	j->fetch.failures += res.failures;
	j->fetch.bytes += res.bytes;
	j->fetch.evicted += res.evicted;
	if (res.cache_bytes)
		j->fetch.cache_bytes = res.cache_bytes;
	if (fd == -EAGAIN)
		j->fetch.held_off++;
	if (fd < 0)
		return;
	/* The same checks as a local debug file: build-id, ELF bounds. */
	if (elfsym_merge_debug_fd(e, fd) < 0)
		j->fetch.failures++;
	close(fd);
}

void symloader_run_load(struct symloader *l, struct symloader_job *j)
{
	j->err = -ENOENT;
	for (size_t i = 0; i < SYMLOADER_PATHS && j->paths[i].path; i++) {
		const struct symloader_cand *c = &j->paths[i];
		struct elfsym *e;
		struct stat st;
		int fd, r;

		fd = open_cand(l, c, &st);
		if (fd < 0) {
			j->err = fd;
			continue;
		}
		if (!job_accepts(j, fd, &st)) {
			close(fd);
			j->err = -ESTALE;
			continue;
		}
		r = elfsym_load_fd_flags(fd, l->load_flags, &e);
		close(fd);
		if (r < 0) {
			j->err = r;
			continue;
		}
		if (!(elfsym_sources(e) & ELFSYM_SRC_SYMTAB)) {
			char dir[4096];
			const char *slash = strrchr(c->path, '/');
			/* A map_files entry's directory holds no debuglink targets. */
			int open_dir = !c->magic && slash && (size_t)(slash - c->path) < sizeof(dir);

			if (open_dir) {
				memcpy(dir, c->path, (size_t)(slash - c->path));
				dir[slash - c->path] = '\0';
				if (!dir[0])
					strcpy(dir, "/");
			}
			elfsym_load_debug(e, l->debug_dirs, c->root, open_dir ? dir : NULL, j->logical_dir);
		}
		/* Local files first: a server is asked only when none has
		 * the full symbol table. */
		if (j->remote && l->dbginfod && !(elfsym_sources(e) & (ELFSYM_SRC_SYMTAB | ELFSYM_SRC_DEBUGFILE)))
			fetch_debug(l, j, e);
		j->table = e;
		j->size = (uint64_t)st.st_size;
		j->err = 0;
		return;
	}
}

/* Last whitespace-separated number of the status line starting with key
 * ("NSpid:"), or its n-th (0-based) when n >= 0. 0 and *ret, or -ENOENT. */
static int status_field(const char *buf, const char *key, int n, uint32_t *ret)
{
	const char *p = strstr(buf, key), *end;
	int found = -ENOENT, i = 0;

	if (!p)
		return -ENOENT;
	p += strlen(key);
	end = strchr(p, '\n');
	if (!end)
		end = p + strlen(p);
	while (p < end) {
		char *e;
		unsigned long v;

		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p == end)
			break;
		v = strtoul(p, &e, 10);
		if (e == p)
			break;
		if (n < 0 || i == n) {
			*ret = (uint32_t)v;
			found = 0;
		}
		if (i++ == n)
			break;
		p = e;
	}
	return found;
}

/* From procfs/PID/status: the pid the process has in its own pid
 * namespace (NSpid's last field: the name a JIT in a container gives its
 * map) and its effective uid. 0 or -errno. */
static int proc_ids(struct symloader *l, uint32_t pid, uint32_t *ret_nspid, uint32_t *ret_euid)
{
	char path[4096], *buf = NULL;
	size_t len;
	int r;

	snprintf(path, sizeof(path), "%s/%" PRIu32 "/status", l->procfs, pid);
	r = util_read_file(path, 64 << 10, UTIL_READ_TRUNCATE, &buf, &len);
	if (r < 0)
		return r;
	if (status_field(buf, "\nNSpid:", -1, ret_nspid) < 0)
		*ret_nspid = pid; /* kernels before 4.1 */
	r = status_field(buf, "\nUid:", 1, ret_euid);
	free(buf);
	return r;
}

/* A process's JIT map, /tmp/perf-PID.map inside its root, read whole up
 * to PERFMAP_MAX_BYTES unless unchanged since the last read. */
void symloader_run_perfmap(struct symloader *l, struct symloader_job *j)
{
	char root[4096], path[64];
	struct symloader_key k;
	struct stat st;
	uint32_t nspid, euid;
	size_t want, got = 0;
	char *buf;
	int fd;

	j->err = proc_ids(l, j->pid, &nspid, &euid);
	if (j->err < 0)
		return;
	snprintf(root, sizeof(root), "%s/%" PRIu32 "/root", l->procfs, j->pid);
	snprintf(path, sizeof(path), "/tmp/perf-%" PRIu32 ".map", nspid);
	fd = util_open_regular_in(root, path, 0, &st);
	if (fd < 0) {
		j->err = fd;
		return;
	}
	/* Only a map the process itself owns: /tmp is anyone's, and a link
	 * planted there must not make profd read (and show as names) a file
	 * the process could not read. */
	if (st.st_uid != euid) {
		close(fd);
		j->err = -EPERM;
		return;
	}
	k = symloader_key_of(&st);
	if (j->has_key && symloader_key_eq(&k, &j->key) && j->size == (uint64_t)st.st_size) {
		close(fd);
		j->err = 0;
		return;
	}
	j->has_key = 1;
	j->key = k;
	j->size = (uint64_t)st.st_size;
	want = st.st_size > PERFMAP_MAX_BYTES ? PERFMAP_MAX_BYTES : (size_t)st.st_size;
	j->truncated = (uint64_t)st.st_size > PERFMAP_MAX_BYTES;
	buf = malloc(want ? want : 1);
	if (!buf) {
		close(fd);
		j->err = -ENOMEM;
		return;
	}
	while (got < want) {
		ssize_t n = pread(fd, buf + got, want - got, (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	/* Only whole lines: the JIT may be writing the last one now. */
	while (got && buf[got - 1] != '\n')
		got--;
	j->err = perfmap_parse(buf, got, &j->perfmap);
	free(buf);
}

/* Bytes of the ELF image at img: its headers say how far it reaches. */
static size_t image_extent(const unsigned char *img)
{
	const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)img;
	uint64_t end;

	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_phentsize != sizeof(ElfW(Phdr)) ||
	    eh->e_shentsize != sizeof(ElfW(Shdr)))
		return 0;
	end = eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(ElfW(Shdr));
	for (size_t i = 0; i < eh->e_phnum; i++) {
		const ElfW(Phdr) *ph = (const ElfW(Phdr) *)(img + eh->e_phoff) + i;

		if (ph->p_type == PT_LOAD && ph->p_offset + ph->p_filesz > end)
			end = ph->p_offset + ph->p_filesz;
	}
	return end <= SYMLOADER_VDSO_MAX ? (size_t)end : 0;
}

/* The daemon's own vdso, as the kernel mapped it (AT_SYSINFO_EHDR), into a
 * memfd: symbol tables load from it like from a file. Without it vdso
 * frames stay unnamed. */
void symloader_vdso_init(struct symloader *l)
{
	const unsigned char *img = (const unsigned char *)getauxval(AT_SYSINFO_EHDR);
	size_t len = img ? image_extent(img) : 0;
	int fd, n;

	if (!len)
		return;
	fd = memfd_create("profd-vdso", MFD_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, img, len) != (ssize_t)len || (n = elfsym_read_build_id_fd(fd, l->vdso_bid)) <= 0) {
		close(fd);
		return;
	}
	l->vdso_bid_len = (size_t)n;
	l->vdso_img = img;
	l->vdso_len = len;
	l->vdso_fd = fd;
}
