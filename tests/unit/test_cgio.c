/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for cgio: per-cgroup cumulative block I/O turned into
 * per-round deltas per systemd unit, ids named by the directories of a
 * fixture hierarchy (a temporary tree: inode numbers are real), by notes
 * and by walks; the bound; finding the io hierarchy in mountinfo. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collect/cgio.h"

static char root[256];

static int sh(const char *cmd)
{
	return system(cmd);
}

static int setup(void **state)
{
	char cmd[1024];

	(void)state;
	snprintf(root, sizeof(root), "/tmp/profd-cgio-%d", (int)getpid());
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p %s/system.slice/db.service %s/system.slice/web.service/worker %s/user.slice/a.scope", root,
		 root, root);
	return sh(cmd);
}

static int teardown(void **state)
{
	char cmd[512];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	return sh(cmd);
}

static uint64_t ino(const char *rel)
{
	char p[512];
	struct stat st;

	snprintf(p, sizeof(p), "%s%s", root, rel);
	assert_int_equal(stat(p, &st), 0);
	return (uint64_t)st.st_ino;
}

struct got {
	char unit[8][CGIO_UNIT_MAX];
	struct profd_cgroup_io d[8];
	int n;
};

static void on_unit(void *ctx, const char *unit, const struct profd_cgroup_io *d)
{
	struct got *g = ctx;

	assert_true(g->n < 8);
	snprintf(g->unit[g->n], CGIO_UNIT_MAX, "%s", unit);
	g->d[g->n++] = *d;
}

static const struct profd_cgroup_io *got_unit(const struct got *g, const char *unit)
{
	for (int i = 0; i < g->n; i++)
		if (!strcmp(g->unit[i], unit))
			return &g->d[i];
	return NULL;
}

static struct profd_cgroup_io io(uint64_t rb, uint64_t wb, uint64_t rr, uint64_t wr)
{
	return (struct profd_cgroup_io){ .read_bytes = rb, .write_bytes = wb, .read_reqs = rr, .write_reqs = wr };
}

static void round_of(struct cgio *g, struct got *got, const uint64_t *ids, const struct profd_cgroup_io *v, int n)
{
	memset(got, 0, sizeof(*got));
	cgio_begin(g);
	for (int i = 0; i < n; i++)
		cgio_account(g, ids[i], &v[i]);
	cgio_end(g, on_unit, got);
}

/* Cumulative counters become deltas; a noted cgroup is named at once;
 * nested cgroups of a service count for the service; the root and
 * slices are no unit. */
static void test_deltas_and_names(void **state)
{
	struct cgio *g;
	struct got got;
	struct cgio_stats st;
	const struct profd_cgroup_io *u;
	uint64_t ids[4] = { ino("/system.slice/db.service"), ino("/system.slice/web.service/worker"), ino(""),
			    ino("/user.slice") };
	struct profd_cgroup_io v[4] = { io(0, 100, 0, 2), io(10, 0, 1, 0), io(1000, 0, 5, 0), io(0, 7, 0, 1) };

	(void)state;
	assert_int_equal(cgio_new(root, 0, &g), 0);
	cgio_note(g, "/system.slice/db.service");
	round_of(g, &got, ids, v, 4);
	assert_int_equal(got.n, 2);
	u = got_unit(&got, "db.service");
	assert_non_null(u);
	assert_int_equal(u->write_bytes, 100);
	assert_int_equal(u->write_reqs, 2);
	/* web.service/worker was found by the walk, named by its service */
	u = got_unit(&got, "web.service");
	assert_non_null(u);
	assert_int_equal(u->read_bytes, 10);
	cgio_get_stats(g, &st);
	assert_int_equal(st.walks, 1);
	assert_int_equal(st.other_bytes, 1007);
	assert_int_equal(st.unit_bytes, 110);

	/* the next round: deltas only, units without I/O not reported */
	v[0] = io(0, 250, 0, 5);
	round_of(g, &got, ids, v, 4);
	assert_int_equal(got.n, 1);
	assert_string_equal(got.unit[0], "db.service");
	assert_int_equal(got.d[0].write_bytes, 150);
	assert_int_equal(got.d[0].write_reqs, 3);
	cgio_get_stats(g, &st);
	assert_int_equal(st.walks, 1);
	assert_int_equal(st.unknown_bytes, 0);
	cgio_free(g);
}

/* A transient unit: its process noted, the directory removed, then the
 * I/O (writeback) counted: still the unit's. An id nobody knows, found by
 * no walk: unknown. Walks are rate limited. */
static void test_removed_and_unknown(void **state)
{
	char p[512];
	struct cgio *g;
	struct got got;
	struct cgio_stats st;
	uint64_t id;
	uint64_t ids[2];
	struct profd_cgroup_io v[2];

	(void)state;
	snprintf(p, sizeof(p), "%s/system.slice/run-1.scope", root);
	assert_int_equal(mkdir(p, 0755), 0);
	id = ino("/system.slice/run-1.scope");
	assert_int_equal(cgio_new(root, 0, &g), 0);
	cgio_note(g, "/system.slice/run-1.scope");
	assert_int_equal(rmdir(p), 0);
	ids[0] = id;
	v[0] = io(0, 4096, 0, 1);
	ids[1] = 0x7fffffff12345ull; /* no such directory */
	v[1] = io(0, 512, 0, 1);
	round_of(g, &got, ids, v, 2);
	assert_int_equal(got.n, 1);
	assert_string_equal(got.unit[0], "run-1.scope");
	assert_int_equal(got.d[0].write_bytes, 4096);
	cgio_get_stats(g, &st);
	assert_int_equal(st.walks, 1);
	assert_int_equal(st.unknown_bytes, 512);

	/* a second unknown id right after: no walk for CGIO_WALK_ROUNDS
	 * rounds; a note names it meanwhile and its deltas follow */
	ids[0] = ino("/user.slice/a.scope");
	v[0] = io(64, 0, 1, 0);
	round_of(g, &got, ids, v, 1);
	assert_int_equal(got.n, 0);
	cgio_get_stats(g, &st);
	assert_int_equal(st.walks, 1);
	cgio_note(g, "/user.slice/a.scope");
	v[0] = io(96, 0, 2, 0);
	round_of(g, &got, ids, v, 1);
	assert_int_equal(got.n, 1);
	assert_string_equal(got.unit[0], "a.scope");
	assert_int_equal(got.d[0].read_bytes, 96);
	assert_int_equal(got.d[0].read_reqs, 2);
	cgio_free(g);
}

/* The bound: noted-only cgroups make room for ones with I/O (the one
 * noted longest ago first); when every one did I/O, new ones are refused
 * and counted. */
static void test_bound(void **state)
{
	struct cgio *g;
	struct got got;
	struct cgio_stats st;
	uint64_t ids[3] = { ino("/system.slice/db.service"), ino("/system.slice/web.service"), ino("/user.slice/a.scope") };
	struct profd_cgroup_io v[3] = { io(0, 1, 0, 1), io(0, 2, 0, 1), io(0, 3, 0, 1) };

	(void)state;
	assert_int_equal(cgio_new(root, 2, &g), 0);
	cgio_note(g, "/system.slice/db.service");
	cgio_note(g, "/system.slice/web.service");
	/* user.slice/a.scope: full of notes, the oldest (db) gives way */
	cgio_note(g, "/user.slice/a.scope");
	cgio_get_stats(g, &st);
	assert_int_equal(st.cgroups, 2);
	assert_int_equal(st.full, 0);
	round_of(g, &got, ids + 1, v + 1, 2);
	assert_int_equal(got.n, 2);
	/* both did I/O: db.service cannot come in */
	round_of(g, &got, ids, v, 1);
	assert_int_equal(got.n, 0);
	cgio_get_stats(g, &st);
	assert_int_equal(st.full, 1);
	cgio_free(g);
}

static void test_find_root(void **state)
{
	char mi[512], dir[512], out[512], cmd[1200];
	int v2 = -1;
	FILE *f;

	(void)state;
	snprintf(mi, sizeof(mi), "%s/mountinfo", root);
	snprintf(dir, sizeof(dir), "%s/unified", root);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s && echo 'cpu memory pids' > %s/cgroup.controllers", dir, dir);
	assert_int_equal(sh(cmd), 0);
	f = fopen(mi, "w");
	assert_non_null(f);
	/* hybrid: io is not on the v2 mount, blkio is a v1 one */
	fprintf(f, "30 25 0:26 / /sys/fs/cgroup/cpu rw,nosuid - cgroup cgroup rw,cpu\n");
	fprintf(f, "31 25 0:27 / /sys/fs/cgroup/blkio rw,nosuid - cgroup cgroup rw,blkio\n");
	fprintf(f, "32 25 0:28 / %s rw,nosuid - cgroup2 cgroup2 rw\n", dir);
	fclose(f);
	assert_int_equal(cgio_find_root(mi, out, sizeof(out), &v2), 0);
	assert_string_equal(out, "/sys/fs/cgroup/blkio");
	assert_int_equal(v2, 0);
	/* io on the v2 mount wins */
	snprintf(cmd, sizeof(cmd), "echo 'cpu io memory' > %s/cgroup.controllers", dir);
	assert_int_equal(sh(cmd), 0);
	assert_int_equal(cgio_find_root(mi, out, sizeof(out), &v2), 0);
	assert_string_equal(out, dir);
	assert_int_equal(v2, 1);
	/* neither */
	f = fopen(mi, "w");
	fprintf(f, "30 25 0:26 / /sys/fs/cgroup/cpu rw,nosuid - cgroup cgroup rw,cpu,blkio_x\n");
	fclose(f);
	assert_int_equal(cgio_find_root(mi, out, sizeof(out), &v2), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deltas_and_names),
		cmocka_unit_test(test_removed_and_unknown),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_find_root),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
