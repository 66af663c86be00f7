/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for profd --check: the pure pieces (kernel version, CapEff,
 * the perf_event_open verdicts, ELF frame-pointer and symbol inspection on
 * binaries built here with and without frame pointers), and whole runs on
 * an injected procfs with the failure paths: old kernel, missing BTF, no
 * capabilities, hidden kernel addresses, missing group, unwritable state
 * directory; text and JSON output. No BPF, no privileges. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "check.h"
#include "symtest_util.h"

static char dir[64];

/* Functions big enough to be looked at, calling each other (not leaves). */
static const char *const src =
	"#include <stdio.h>\n"
	"#define F(n, m) __attribute__((noinline)) long f##n(long x) { long s = 0; for (long i = 0; i < x; i++) s += f##m(i) * (i ^ x); return s + x * 3; }\n"
	"__attribute__((noinline)) long f0(long x) { volatile long v = x; return v * 7 + 1; }\n"
	"F(1, 0) F(2, 1) F(3, 2) F(4, 3) F(5, 4) F(6, 5) F(7, 6) F(8, 7) F(9, 8)\n"
	"int main(int argc, char **argv) { (void)argv; printf(\"%ld\\n\", f9(argc)); return 0; }\n";

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/profd-check-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	if (symtest_build(dir, "fp", src, "-O2 -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer -Wl,--build-id") ||
	    symtest_build(dir, "nofp", src, "-O2 -fomit-frame-pointer -Wl,--build-id") ||
	    symtest_build(dir, "stripped", src, "-O2 -fomit-frame-pointer -s -Wl,--build-id"))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return symtest_sh("rm -rf -- '%s'", dir);
}

static void test_kernel_version(void **state)
{
	unsigned a = 0, b = 0;

	(void)state;
	assert_int_equal(check_parse_kernel_version("6.18.44-fc-v1045", &a, &b), 0);
	assert_int_equal(a, 6);
	assert_int_equal(b, 18);
	assert_int_equal(check_parse_kernel_version("5.4.0-150-generic", &a, &b), 0);
	assert_int_equal(a * 100 + b, 504);
	assert_int_equal(check_parse_kernel_version("linux", &a, &b), -EINVAL);
	assert_int_equal(check_parse_kernel_version(NULL, &a, &b), -EINVAL);
}

static void test_capeff(void **state)
{
	uint64_t c = 0;

	(void)state;
	assert_int_equal(check_parse_capeff("Name:\tx\nCapInh:\t0\nCapPrm:\t1\nCapEff:\t000001ffffffffff\nCapBnd:\t0\n", &c), 0);
	assert_int_equal(c, 0x1ffffffffffull);
	assert_int_equal(check_parse_capeff("Name:\tx\n", &c), -ENOENT);
}

static void test_perf_item(void **state)
{
	struct check_item it;
	const uint64_t perfmon = 1ull << 38;

	(void)state;
	memset(&it, 0, sizeof(it));
	check_perf_item(2, perfmon, 0, &it);
	assert_int_equal(it.status, CHECK_OK);

	/* the example: a high level and no CAP_PERFMON */
	memset(&it, 0, sizeof(it));
	check_perf_item(4, 0, EACCES, &it);
	assert_int_equal(it.status, CHECK_FAIL);
	assert_non_null(strstr(it.cause, "kernel.perf_event_paranoid=4"));
	assert_non_null(strstr(it.fix, "set it to 2"));
	assert_non_null(strstr(it.fix, "CAP_PERFMON"));

	memset(&it, 0, sizeof(it));
	check_perf_item(2, 0, EACCES, &it);
	assert_int_equal(it.status, CHECK_FAIL);
	assert_non_null(strstr(it.fix, "CAP_PERFMON"));
	assert_null(strstr(it.fix, "set it to 2"));

	/* capabilities there, still denied: seccomp or an LSM */
	memset(&it, 0, sizeof(it));
	check_perf_item(2, perfmon, EPERM, &it);
	assert_int_equal(it.status, CHECK_FAIL);
	assert_non_null(strstr(it.cause, "seccomp"));

	memset(&it, 0, sizeof(it));
	check_perf_item(2, perfmon, ENOSYS, &it);
	assert_non_null(strstr(it.cause, "CONFIG_PERF_EVENTS"));
}

static void test_elf(void **state)
{
	struct check_elf_info fp, nofp, st;
	struct check_item uw, sy;
	char p[256], dbg[512];

	(void)state;
	snprintf(p, sizeof(p), "%s/fp", dir);
	assert_int_equal(check_elf_inspect(p, NULL, &fp), 0);
	snprintf(p, sizeof(p), "%s/nofp", dir);
	assert_int_equal(check_elf_inspect(p, NULL, &nofp), 0);
	snprintf(p, sizeof(p), "%s/stripped", dir);
	assert_int_equal(check_elf_inspect(p, NULL, &st), 0);
#if defined(__x86_64__) || defined(__aarch64__)
	assert_true(fp.fp_known);
	assert_true(fp.functions >= 8);
	assert_true(fp.fp_functions * 10 >= fp.functions * 8);  /* >= 80 % */
	assert_true(nofp.functions >= 8);
	assert_true(nofp.fp_functions * 10 <= nofp.functions * 2); /* <= 20 % */
	memset(&uw, 0, sizeof(uw));
	memset(&sy, 0, sizeof(sy));
	check_elf_items("fp", &fp, 0, &uw, &sy);
	assert_int_equal(uw.status, CHECK_OK);
	assert_string_equal(uw.name, "unwind fp");
	memset(&uw, 0, sizeof(uw));
	check_elf_items("nofp", &nofp, 0, &uw, &sy);
	assert_int_equal(uw.status, CHECK_WARN);
	assert_non_null(strstr(uw.detail, "frame pointers: no"));
	assert_non_null(strstr(uw.fix, "dwarf_unwind = yes"));
	/* unwound from .eh_frame when profd does that */
	memset(&uw, 0, sizeof(uw));
	check_elf_items("nofp", &nofp, 1, &uw, &sy);
	assert_int_equal(uw.status, CHECK_OK);
	assert_non_null(strstr(uw.detail, "unwound from its CFI"));
#endif
	assert_true(fp.symtab);
	assert_true(fp.eh_frame);
	assert_int_equal(strlen(fp.build_id), 40);
	/* stripped: no .symtab, so only exported names: a warning */
	assert_false(st.symtab);
	memset(&sy, 0, sizeof(sy));
	check_elf_items("stripped", &st, 1, &uw, &sy);
	assert_int_equal(sy.status, CHECK_WARN);
	assert_non_null(strstr(sy.fix, "debug symbols"));
	/* ... until its debug file is found by build-id */
	assert_int_equal(symtest_sh("mkdir -p '%s/debug/.build-id/%.2s' && cp '%s/fp' '%s/debug/.build-id/%.2s/%s.debug'",
				    dir, st.build_id, dir, dir, st.build_id, st.build_id + 2), 0);
	snprintf(dbg, sizeof(dbg), "/nonexistent:%s/debug", dir);
	assert_int_equal(check_elf_inspect(p, dbg, &st), 0);
	assert_true(st.debug_file);
	memset(&sy, 0, sizeof(sy));
	check_elf_items("stripped", &st, 1, &uw, &sy);
	assert_int_equal(sy.status, CHECK_OK);
	/* not ELF */
	snprintf(p, sizeof(p), "%s/fp.c", dir);
	assert_int_equal(check_elf_inspect(p, NULL, &st), -ENOEXEC);
	assert_int_equal(check_elf_inspect("/nonexistent", NULL, &st), -ENOENT);
}

/* A procfs of our own: CapEff, sysctls and kallsyms as given. */
static void make_procfs(const char *root, const char *capeff, int kallsyms_zero)
{
	char p[512];

	assert_int_equal(symtest_sh("mkdir -p '%s/self' '%s/sys/kernel'", root, root), 0);
	snprintf(p, sizeof(p), "%s/self/status", root);
	{
		char text[256];

		snprintf(text, sizeof(text), "Name:\tprofd\nCapInh:\t0000000000000000\nCapEff:\t%s\n", capeff);
		assert_int_equal(symtest_write(p, text), 0);
	}
	snprintf(p, sizeof(p), "%s/sys/kernel/perf_event_paranoid", root);
	assert_int_equal(symtest_write(p, "2\n"), 0);
	snprintf(p, sizeof(p), "%s/sys/kernel/kptr_restrict", root);
	assert_int_equal(symtest_write(p, kallsyms_zero ? "1\n" : "0\n"), 0);
	snprintf(p, sizeof(p), "%s/kallsyms", root);
	assert_int_equal(symtest_write(p, kallsyms_zero ? "0000000000000000 T _text\n0000000000000000 T start\n"
						     : "ffffffff81000000 T _text\nffffffff81000100 T start\n"), 0);
}

static const struct check_item *find(const struct check_report *r, const char *name)
{
	for (unsigned i = 0; i < r->n; i++)
		if (!strcmp(r->items[i].name, name))
			return &r->items[i];
	fail_msg("no item %s", name);
	return NULL;
}

static struct check_opts base_opts(const char *procfs, const char *const *libs, char *sock, char *state)
{
	struct group *g = getgrgid(getgid());
	static char grp[64];

	snprintf(grp, sizeof(grp), "%s", g ? g->gr_name : "root");
	snprintf(sock, 256, "%s/run/profd.sock", dir);
	snprintf(state, 256, "%s/state", dir);
	return (struct check_opts){
		.procfs = procfs, .btf_path = "/proc/self/status" /* readable: parsing it fails */,
		.osrelease = "6.1.0-18-amd64", .socket_path = sock, .socket_group = grp, .state_dir = state,
		.debug_dirs = "/nonexistent", .libs = libs, .no_bpf = 1,
	};
}

static void test_run_good(void **state)
{
	static struct check_report r;
	char procfs[256], sock[256], st[256], fp[256];
	const char *libs[] = { fp, NULL };
	struct check_opts o;

	(void)state;
	snprintf(procfs, sizeof(procfs), "%s/proc-good", dir);
	snprintf(fp, sizeof(fp), "%s/fp", dir);
	make_procfs(procfs, "000001ffffffffff", 0);
	o = base_opts(procfs, libs, sock, st);
	/* a BTF file that parses: the running kernel's, where there is one */
	if (access("/sys/kernel/btf/vmlinux", R_OK) == 0)
		o.btf_path = "/sys/kernel/btf/vmlinux";
	else
		skip();
	assert_int_equal(check_run(&o, &r), 0);
	assert_int_equal(r.failed, 0);
	assert_int_equal(find(&r, "kernel")->status, CHECK_OK);
	assert_int_equal(find(&r, "btf")->status, CHECK_OK);
	assert_int_equal(find(&r, "capabilities")->status, CHECK_OK);
	assert_int_equal(find(&r, "kernel symbols")->status, CHECK_OK);
	assert_int_equal(find(&r, "socket directory")->status, CHECK_OK);
	/* missing, but creatable: profd makes it */
	assert_non_null(strstr(find(&r, "state directory")->detail, "profd creates it"));
	assert_int_equal(find(&r, "state directory")->status, CHECK_OK);
	assert_int_equal(find(&r, "socket group")->status, CHECK_OK);
}

static void test_run_failures(void **state)
{
	static struct check_report r;
	char procfs[256], sock[256], st[256], nofp[256], path[300];
	const char *libs[] = { nofp, "/nonexistent/libx.so", NULL };
	struct check_opts o;
	const struct check_item *it;
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	json_object *j, *items, *v;
	int fails = 0;

	(void)state;
	snprintf(procfs, sizeof(procfs), "%s/proc-bad", dir);
	snprintf(nofp, sizeof(nofp), "%s/nofp", dir);
	make_procfs(procfs, "0000000000000000", 1);
	o = base_opts(procfs, libs, sock, st);
	o.osrelease = "4.19.0-27-amd64";
	o.btf_path = "/nonexistent/btf/vmlinux";
	o.socket_group = "profd-no-such-group";
	/* the state directory would be created under a file: impossible */
	snprintf(path, sizeof(path), "%s/afile", dir);
	assert_int_equal(symtest_write(path, "x"), 0);
	snprintf(st, sizeof(st), "%s/afile/state", dir);
	o.state_dir = st;

	assert_int_equal(check_run(&o, &r), 1);
	it = find(&r, "kernel");
	assert_int_equal(it->status, CHECK_FAIL);
	assert_non_null(strstr(it->cause, "older than 5.8"));
	it = find(&r, "btf");
	assert_int_equal(it->status, CHECK_FAIL);
	assert_non_null(strstr(it->detail, "/nonexistent/btf/vmlinux"));
	assert_non_null(strstr(it->fix, "CONFIG_DEBUG_INFO_BTF"));
	it = find(&r, "capabilities");
	assert_int_equal(it->status, CHECK_FAIL);
	assert_non_null(strstr(it->detail, "CAP_BPF"));
	assert_non_null(strstr(it->fix, "root"));
	it = find(&r, "kernel symbols");
	assert_int_equal(it->status, CHECK_WARN);
	assert_non_null(strstr(it->fix, "CAP_SYSLOG"));
	it = find(&r, "socket group");
	assert_int_equal(it->status, CHECK_FAIL);
	assert_non_null(strstr(it->fix, "groupadd --system profd-no-such-group"));
	it = find(&r, "state directory");
	assert_int_equal(it->status, CHECK_FAIL);
	assert_non_null(strstr(it->detail, "not a directory"));
	it = find(&r, "symbols libx.so");
	assert_int_equal(it->status, CHECK_SKIP);
	/* every failure names a cause and a fix */
	for (unsigned i = 0; i < r.n; i++) {
		if (r.items[i].status == CHECK_FAIL || r.items[i].status == CHECK_WARN) {
			assert_true(r.items[i].cause[0]);
			assert_true(r.items[i].fix[0]);
		}
	}

	/* text: the verdict last, causes and fixes under their items */
	f = open_memstream(&text, &len);
	check_print_text(&r, f);
	fclose(f);
	assert_non_null(strstr(text, "fail  btf"));
	assert_non_null(strstr(text, "      fix:   use a kernel built with CONFIG_DEBUG_INFO_BTF"));
	assert_non_null(strstr(text, "profd cannot run here: 5 failed"));
	free(text);

	/* JSON: the same, for tools */
	text = NULL;
	f = open_memstream(&text, &len);
	check_print_json(&r, f);
	fclose(f);
	j = json_tokener_parse(text);
	assert_non_null(j);
	assert_true(json_object_object_get_ex(j, "ok", &v));
	assert_false(json_object_get_boolean(v));
	assert_true(json_object_object_get_ex(j, "failed", &v));
	assert_int_equal(json_object_get_int(v), 5);
	assert_true(json_object_object_get_ex(j, "items", &items));
	for (size_t i = 0; i < json_object_array_length(items); i++) {
		json_object *item = json_object_array_get_idx(items, i), *s;

		assert_true(json_object_object_get_ex(item, "status", &s));
		if (!strcmp(json_object_get_string(s), "fail")) {
			fails++;
			assert_true(json_object_object_get_ex(item, "cause", &s));
			assert_true(json_object_object_get_ex(item, "fix", &s));
		}
	}
	assert_int_equal(fails, 5);
	assert_false(json_object_object_get_ex(j, "selftest", &v));
	json_object_put(j);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kernel_version),
		cmocka_unit_test(test_capeff),
		cmocka_unit_test(test_perf_item),
		cmocka_unit_test(test_elf),
		cmocka_unit_test(test_run_good),
		cmocka_unit_test(test_run_failures),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
