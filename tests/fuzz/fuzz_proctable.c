/* SPDX-License-Identifier: GPL-2.0-only */
/* Fuzz target: a process's identity from /proc (stat, status, cmdline,
 * exe) as the collector reads it for the process table, and the table
 * taking it. Each input becomes a fixture procfs tree
 * ROOT/4242/{stat,status,cmdline,exe}: a table entry wants its identity,
 * an inline collector round reads it, the snapshot is applied.
 * Input: the four contents separated by "\n@@\n" (missing ones are absent
 * files; exe is a symlink target). */
#include "fuzz_util.h"

#include "collect/collector.h"
#include "store/proctable.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#define PID 4242u
#define SEP "\n@@\n"

static char root[] = "/tmp/profd-fuzz-proctable-XXXXXX";
static char piddir[128];

static const char *const files[] = { "stat", "status", "cmdline", "exe" };

static void tree_remove(void)
{
	char path[256];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", piddir, files[i]);
		unlink(path);
	}
	rmdir(piddir);
	rmdir(root);
}

static void tree_init(void)
{
	static int made;

	if (made)
		return;
	FUZZ_CHECK(mkdtemp(root));
	snprintf(piddir, sizeof(piddir), "%s/%u", root, PID);
	FUZZ_CHECK(mkdir(piddir, 0700) == 0);
	atexit(tree_remove);
	made = 1;
}

static void put(size_t i, const uint8_t *data, size_t size, int present)
{
	char path[256], target[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", piddir, files[i]);
	unlink(path);
	if (!present)
		return;
	if (strcmp(files[i], "exe") == 0) {
		/* A link target is a C string: cut at NUL, as the kernel would. */
		size_t n = strnlen((const char *)data, size < sizeof(target) - 1 ? size : sizeof(target) - 1);

		memcpy(target, data, n);
		target[n] = '\0';
		if (n)
			FUZZ_CHECK(symlink(target, path) == 0);
		return;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(size == 0 || write(fd, data, size) == (ssize_t)size);
	close(fd);
}

/* Start time the stat text claims (field 22), read loosely here so the
 * table's own strict parser decides; 0 when there is none. */
static uint64_t claimed_ticks(const uint8_t *stat, size_t size)
{
	char buf[2048];
	const char *p;
	size_t n = size < sizeof(buf) - 1 ? size : sizeof(buf) - 1;

	memcpy(buf, stat, n);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	for (int field = 3; field <= 22; field++) {
		p = strchr(p, ' ');
		if (!p)
			return 0;
		p++;
	}
	return strtoull(p, NULL, 10);
}

static int check_info(const struct proc_info *p, void *ctx)
{
	(void)ctx;
	FUZZ_CHECK(memchr(p->comm, '\0', sizeof(p->comm)));
	if (p->cmdline)
		(void)strlen(p->cmdline);
	if (p->exe)
		(void)strlen(p->exe);
	return 0;
}

static void on_want(void *ctx, const struct proctable_want *w)
{
	collector_want(ctx, w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *part[4] = { 0 }, *p = data, *end = data + size;
	size_t len[4] = { 0 }, nparts = 0;
	struct proctable_stats st;
	struct proctable *t = NULL;
	struct collector *c = NULL;
	struct res_snapshot *s;
	uint64_t ticks, start_ns, hz = (uint64_t)sysconf(_SC_CLK_TCK);
	uint32_t id;

	tree_init();
	while (nparts < 4) {
		const uint8_t *sep = memmem(p, (size_t)(end - p), SEP, sizeof(SEP) - 1);

		part[nparts] = p;
		len[nparts] = (size_t)((sep ? sep : end) - p);
		nparts++;
		if (!sep)
			break;
		p = sep + sizeof(SEP) - 1;
	}
	for (size_t i = 0; i < 4; i++)
		put(i, part[i] ? part[i] : data, len[i], part[i] != NULL);

	ticks = claimed_ticks(part[0], len[0]);
	if (hz == 0 || hz > 1000000000ull)
		hz = 100;
	/* ticks -> ns so that proctable_ns_to_ticks() gives ticks back. */
	start_ns = ticks > UINT64_MAX / (1000000000ull / hz) ? 0 : ticks * (1000000000ull / hz);

	FUZZ_CHECK(proctable_new(root, 4, &t) == 0);
	FUZZ_CHECK(collector_new(&(struct collector_opts){ .procfs = root, .nvml_path = "", .tick_ns = 1000000000ull,
							  .max_procs = 4 }, &c) == 0);
	proctable_set_want_fn(t, on_want, c);
	id = proctable_get(t, PID, start_ns, "fuzz", 1000);
	FUZZ_CHECK(id != PROC_ID_NONE);
	/* exec wants cmdline and exe again */
	proctable_note_exec(t, PID, start_ns, 1, "fuzz-exec", "/usr/bin/fuzz", 2000);
	collector_request(c, 3000, 2999, NULL, 0);
	while ((s = collector_take(c))) {
		for (uint32_t i = 0; i < s->nprocs; i++) {
			struct snap_proc *r = &s->procs[i];
			struct snap_extra *x = r->extra ? &s->extras[r->extra - 1] : NULL;

			FUZZ_CHECK(r->pid == PID);
			if (r->flags & SNAP_GONE)
				proctable_note_gone(t, r->pid, r->start_ns, 3000);
			else if (x && (r->flags & SNAP_IDENT))
				proctable_set_identity(t, r->pid, r->start_ns, &x->id, x->want_flags);
			else if (x && (r->flags & SNAP_FOUND))
				proctable_add(t, r->pid, r->start_ns, &x->id, 3000);
		}
		collector_release(c, s);
	}
	if (proctable_info(t, id))
		check_info(proctable_info(t, id), NULL);
	(void)proctable_find_tgid(t, PID);
	proctable_foreach(t, check_info, NULL);
	proctable_get_stats(t, &st);
	proctable_note_exit(t, PID, start_ns, 0, 4000);
	(void)proctable_gc(t, 5000);
	collector_free(c);
	proctable_free(t);
	return 0;
}
