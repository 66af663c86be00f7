/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for the GPU module: NVML against the stand-in libraries from
 * tests/gpu ($PROFD_FAKE_NVML, $PROFD_FAKE_NVML_MINIMAL,
 * $PROFD_FAKE_NVML_LEGACY) driven by a script file and PROFD_FAKE_NVML_*
 * variables, and DRM fdinfo on fixtures in $PROFD_FIXTURES/drm plus procfs
 * trees written to a temporary directory where counters must move. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collect/gpu.h"
#include "collect/gpu_drm.h"

#define GiB (1024ull * 1024 * 1024)
#define MiB (1024ull * 1024)
#define SEC 1000000000ull

/* Roots kept well under PATH_MAX so paths built on them always fit. */
static char fixtures[2048];
static char tmpdir[64];
static char script[128];
static const char *fake, *fake_min, *fake_legacy;

/* The stand-in's behaviour switches (see tests/gpu/fake_nvml.c). */
static const char *const fake_vars[] = {
	"PROFD_FAKE_NVML_DRIVER", "PROFD_FAKE_NVML_V3_ENTRY", "PROFD_FAKE_NVML_SPILL",
	"PROFD_FAKE_NVML_COUNT_EXTRA", "PROFD_FAKE_NVML_NO_NUL",
};

static void fake_reset(void)
{
	for (size_t i = 0; i < sizeof(fake_vars) / sizeof(fake_vars[0]); i++)
		unsetenv(fake_vars[i]);
}

static int setup(void **state)
{
	const char *fx = getenv("PROFD_FIXTURES");

	(void)state;
	snprintf(fixtures, sizeof(fixtures), "%s/drm", fx ? fx : "tests/fixtures");
	fake = getenv("PROFD_FAKE_NVML");
	fake_min = getenv("PROFD_FAKE_NVML_MINIMAL");
	fake_legacy = getenv("PROFD_FAKE_NVML_LEGACY");
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_gpu.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(script, sizeof(script), "%s/script", tmpdir);
	setenv("PROFD_FAKE_NVML_SCRIPT", script, 1);
	unsetenv(GPU_NVML_ENV);
	fake_reset();
	return fake && fake_min && fake_legacy && access(fixtures, R_OK) == 0 ? 0 : -1;
}

/* Every test starts from the stand-in's defaults. */
static int reset(void **state)
{
	(void)state;
	fake_reset();
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void write_script(const char *text)
{
	write_file(script, text);
}

static struct gpu *mk(const char *nvml, const char *procfs)
{
	struct gpu_opts o = { .nvml_path = nvml, .procfs = procfs };
	struct gpu *g = gpu_new(&o);

	assert_non_null(g);
	return g;
}

static struct gpu_stats stats(const struct gpu *g)
{
	struct gpu_stats st;

	gpu_get_stats(g, &st);
	return st;
}

static struct gpu_device_info dev(const struct gpu *g, size_t i)
{
	struct gpu_device_info d;

	assert_int_equal(gpu_device(g, i, &d), 0);
	return d;
}

static struct gpu_proc_info proc(const struct gpu *g, uint32_t pid)
{
	struct gpu_proc_info p;

	assert_int_equal(gpu_process(g, pid, &p), 0);
	return p;
}

/* The fake's own helpers, through a second reference to the same library
 * (same path: same handle, same globals; keeps it loaded after gpu_free). */
static void *fake_handle(const char *path)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);

	assert_non_null(h);
	return h;
}

static int fake_inits(void *h)
{
	int (*fn)(void);
	void *p = dlsym(h, "fake_nvml_inits");

	assert_non_null(p);
	memcpy(&fn, &p, sizeof(p));
	return fn();
}

static unsigned long fake_list_calls(void *h)
{
	unsigned long (*fn)(void);
	void *p = dlsym(h, "fake_nvml_list_calls");

	assert_non_null(p);
	memcpy(&fn, &p, sizeof(p));
	return fn();
}

static unsigned long long fake_last_seen(void *h, unsigned int d)
{
	unsigned long long (*fn)(unsigned int);
	void *p = dlsym(h, "fake_nvml_last_seen");

	assert_non_null(p);
	memcpy(&fn, &p, sizeof(p));
	return fn(d);
}

/* ---- NVML ---------------------------------------------------------- */

static void test_absent(void **state)
{
	struct gpu_proc_info p;
	struct gpu_device_info d;
	struct gpu *g;

	(void)state;
	g = mk("/nonexistent/libnvidia-ml.so.1", NULL);
	assert_false(gpu_nvml_ok(g));
	assert_non_null(strstr(gpu_state(g), "no NVIDIA driver (/nonexistent/libnvidia-ml.so.1: cannot open shared object file"));
	assert_int_equal(gpu_device_count(g), 0);
	assert_int_equal(gpu_sample(g, 1), 0);
	assert_int_equal(gpu_device(g, 0, &d), -ENOENT);
	assert_int_equal(gpu_process(g, 1, &p), -ENOENT);
	assert_int_equal(stats(g).samples, 0);
	g = gpu_free(g);
	assert_null(g);
	assert_null(gpu_free(NULL));

	/* The default name; this host has no driver, a real one may. */
	g = mk(NULL, NULL);
	if (!gpu_nvml_ok(g))
		assert_non_null(strstr(gpu_state(g), "no NVIDIA driver (libnvidia-ml.so.1: cannot open shared object file"));
	gpu_free(g);

	g = mk("", NULL);
	assert_string_equal(gpu_state(g), "NVML disabled");
	gpu_free(g);
}

static const char two_devices[] =
	"devices=2\n"
	"dev0.name=NVIDIA H100 80GB HBM3\n"
	"dev0.uuid=GPU-11111111-2222-3333-4444-555555555555\n"
	"dev0.util=37,12\n"
	"dev0.mem=85520809984,1073741824\n"
	"dev0.temp=41\n"
	"dev0.power=70123\n"
	"dev1.name=Tesla T4\n"
	"dev1.uuid=GPU-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\n"
	"dev1.util=100,55\n"
	"dev1.mem=16106127360,15032385536\n"
	"dev1.temp=83 # hot\n"
	"dev1.power=69000\n";

static void test_two_devices(void **state)
{
	void *h = fake_handle(fake);
	struct gpu_device_info d;
	struct gpu *g;

	(void)state;
	write_script(two_devices);
	g = mk(fake, NULL);
	assert_true(gpu_nvml_ok(g));
	assert_string_equal(gpu_state(g), "ok: 2 NVIDIA devices (driver 550.54.15)");
	assert_string_equal(gpu_driver_version(g), "550.54.15");
	assert_int_equal(fake_inits(h), 1);
	assert_int_equal(gpu_device_count(g), 2);
	assert_int_equal(gpu_sample(g, 5 * SEC), 2);

	d = dev(g, 0);
	assert_int_equal(d.index, 0);
	assert_string_equal(d.name, "NVIDIA H100 80GB HBM3");
	assert_string_equal(d.uuid, "GPU-11111111-2222-3333-4444-555555555555");
	assert_int_equal(d.valid & (GPU_HAVE_UTIL | GPU_HAVE_MEM | GPU_HAVE_TEMP | GPU_HAVE_POWER | GPU_HAVE_PROCS),
			 GPU_HAVE_UTIL | GPU_HAVE_MEM | GPU_HAVE_TEMP | GPU_HAVE_POWER | GPU_HAVE_PROCS);
	assert_int_equal(d.util_gpu_pct, 37);
	assert_int_equal(d.util_mem_pct, 12);
	assert_int_equal(d.mem_total_bytes, 85520809984ull);
	assert_int_equal(d.mem_used_bytes, GiB);
	assert_int_equal(d.temp_c, 41);
	assert_int_equal(d.power_mw, 70123);
	assert_int_equal(d.procs, 0);
	assert_int_equal(d.sampled_ns, 5 * SEC);

	d = dev(g, 1);
	assert_int_equal(d.index, 1);
	assert_string_equal(d.name, "Tesla T4");
	assert_int_equal(d.util_gpu_pct, 100);
	assert_int_equal(d.util_mem_pct, 55);
	assert_int_equal(d.mem_used_bytes, 15032385536ull);
	assert_int_equal(d.temp_c, 83);
	assert_int_equal(d.power_mw, 69000);
	assert_int_equal(gpu_device(g, 2, &d), -ENOENT);

	/* Values change between samples. */
	write_file(script, "devices=2\ndev0.util=90,1\ndev0.temp=60\ndev1.power=100\n");
	gpu_sample(g, 6 * SEC);
	d = dev(g, 0);
	assert_int_equal(d.util_gpu_pct, 90);
	assert_int_equal(d.temp_c, 60);
	assert_string_equal(d.name, "NVIDIA H100 80GB HBM3"); /* read once */
	assert_int_equal(dev(g, 1).power_mw, 100);
	assert_int_equal(stats(g).samples, 2);
	assert_int_equal(stats(g).errors, 0);

	gpu_free(g);
	assert_int_equal(fake_inits(h), 0); /* nvmlShutdown called */
	dlclose(h);
}

static void test_env_var(void **state)
{
	struct gpu *g;

	(void)state;
	write_script("devices=1\ndev0.name=X\n");
	setenv(GPU_NVML_ENV, fake, 1);
	setenv("PROFD_FAKE_NVML_DRIVER", "none", 1);
	g = mk(NULL, NULL);
	unsetenv(GPU_NVML_ENV);
	assert_string_equal(gpu_state(g), "ok: 1 NVIDIA device"); /* no version known */
	assert_string_equal(gpu_driver_version(g), "");
	gpu_free(g);
}

static int collect(const struct gpu_proc_info *p, void *ctx)
{
	uint32_t *pids = ctx;

	for (int i = 0; i < 8; i++) {
		if (!pids[i]) {
			pids[i] = p->pid;
			break;
		}
	}
	return 0;
}

static void test_processes(void **state)
{
	void *h = fake_handle(fake);
	uint32_t pids[8] = { 0 };
	struct gpu_proc_info p;
	struct gpu *g;

	(void)state;
	write_script("devices=2\n"
		     "dev0.proc=100,1073741824,c\n"
		     "dev0.proc=101,536870912,cg\n"    /* both lists: counted once */
		     "dev1.proc=100,268435456,g\n"
		     "dev0.sample=100,1000,40\n"
		     "dev0.sample=100,2000,60\n"
		     "dev0.sample=101,1500,10\n"
		     "dev0.sample=102,1800,5\n"         /* in no list */
		     "dev1.sample=100,1200,30\n");
	g = mk(fake, NULL);
	gpu_sample(g, 1 * SEC);
	assert_int_equal(fake_last_seen(h, 0), 0);

	p = proc(g, 100);
	assert_int_equal(p.sources, GPU_SRC_NVML);
	assert_int_equal(p.devices, 2);
	assert_int_equal(p.mem_bytes, GiB + 256 * MiB);
	assert_true(p.util_valid);
	assert_true(p.util_pct > 79.99 && p.util_pct < 80.01); /* mean(40,60) + 30 */
	p = proc(g, 101);
	assert_int_equal(p.mem_bytes, 512 * MiB);
	assert_int_equal(p.devices, 1);
	assert_true(p.util_pct > 9.99 && p.util_pct < 10.01);
	p = proc(g, 102);
	assert_int_equal(p.mem_bytes, 0);
	assert_true(p.util_pct > 4.99 && p.util_pct < 5.01);
	assert_int_equal(gpu_process(g, 103, &p), -ENOENT);
	assert_int_equal(dev(g, 0).procs, 3);
	assert_int_equal(dev(g, 1).procs, 1);
	assert_true(dev(g, 0).valid & GPU_HAVE_PROC_UTIL);

	gpu_foreach_process(g, collect, pids);
	assert_int_equal(pids[0], 100);
	assert_int_equal(pids[1], 101);
	assert_int_equal(pids[2], 102);
	assert_int_equal(pids[3], 0);

	/* No samples newer than last seen: NOT_FOUND means idle, not error. */
	gpu_sample(g, 2 * SEC);
	assert_int_equal(fake_last_seen(h, 0), 2000);
	assert_int_equal(fake_last_seen(h, 1), 1200);
	p = proc(g, 100);
	assert_true(p.util_valid);
	assert_true(p.util_pct < 0.01);
	assert_int_equal(gpu_process(g, 102, &p), -ENOENT); /* gone */
	assert_int_equal(stats(g).errors, 0);

	/* A new sample after last seen. */
	write_script("devices=2\n"
		     "dev0.proc=100,1073741824,c\n"
		     "dev0.sample=100,2000,60\n"
		     "dev0.sample=100,3000,90\n");
	gpu_sample(g, 3 * SEC);
	p = proc(g, 100);
	assert_true(p.util_pct > 89.99 && p.util_pct < 90.01);
	assert_int_equal(p.mem_bytes, GiB);
	assert_int_equal(p.devices, 1);
	gpu_free(g);
	dlclose(h);
}

static void test_growth(void **state)
{
	struct gpu_proc_info p;
	struct gpu *g;

	(void)state;
	write_script("devices=1\ndev0.procgen=100,5000,4096\n");
	g = mk(fake, NULL);
	gpu_sample(g, 1);
	assert_int_equal(dev(g, 0).procs, 100);
	assert_int_equal(proc(g, 5099).mem_bytes, 4096 + 99);
	assert_int_equal(stats(g).truncated, 0);

	/* Exactly the bound still fits. */
	write_script("devices=1\ndev0.procgen=4096,5000,1\n");
	gpu_sample(g, 2);
	assert_int_equal(dev(g, 0).procs, 4096);
	assert_true(dev(g, 0).valid & GPU_HAVE_PROCS);
	assert_int_equal(stats(g).truncated, 0);

	/* One over: NVML fills nothing, the list is lost and counted. */
	write_script("devices=1\ndev0.procgen=4097,5000,1\n");
	gpu_sample(g, 3);
	assert_int_equal(stats(g).truncated, 1);
	assert_false(dev(g, 0).valid & GPU_HAVE_PROCS);
	assert_int_equal(gpu_process(g, 5000, &p), -ENOENT);
	assert_int_equal(stats(g).errors, 0);
	gpu_free(g);
}

static void test_errors(void **state)
{
	struct gpu_device_info d;
	struct gpu *g;

	(void)state;
	write_script("devices=1\ndev0.temp=50\ndev0.power=1000\n"
		     "dev0.rc.temp=3\n"         /* NOT_SUPPORTED */
		     "dev0.rc.power=15\n"       /* GPU_IS_LOST */
		     "dev0.rc.procutil=3\n");
	g = mk(fake, NULL);
	gpu_sample(g, 1);
	d = dev(g, 0);
	assert_false(d.valid & GPU_HAVE_TEMP);
	assert_false(d.valid & GPU_HAVE_POWER);
	assert_false(d.valid & GPU_HAVE_PROC_UTIL);
	assert_true(d.valid & GPU_HAVE_UTIL);
	assert_int_equal(stats(g).errors, 1);
	/* Not supported is remembered: even once fixed, not asked again. */
	write_script("devices=1\ndev0.temp=50\ndev0.power=1000\n");
	gpu_sample(g, 2);
	d = dev(g, 0);
	assert_false(d.valid & GPU_HAVE_TEMP);
	assert_true(d.valid & GPU_HAVE_POWER);
	assert_int_equal(d.power_mw, 1000);
	assert_int_equal(stats(g).errors, 1);
	gpu_free(g);

	write_script("init=9\n");
	g = mk(fake, NULL);
	assert_false(gpu_nvml_ok(g));
	assert_string_equal(gpu_state(g), "no NVIDIA driver (nvmlInit_v2: Driver Not Loaded)");
	assert_int_equal(gpu_sample(g, 1), 0);
	gpu_free(g);

	write_script("init=999\n");
	g = mk(fake, NULL);
	assert_string_equal(gpu_state(g), "NVML error: nvmlInit_v2: Unknown Error");
	gpu_free(g);
}

static void test_minimal(void **state)
{
	struct gpu_device_info d;
	struct gpu_proc_info p;
	struct gpu *g;

	(void)state;
	write_script("devices=1\ndev0.name=Minimal\ndev0.uuid=GPU-x\ndev0.util=50,50\n"
		     "dev0.mem=100,60\ndev0.proc=7,42,c\ndev0.proc=8,43,g\ndev0.sample=7,10,99\n");
	g = mk(fake_min, NULL);
	assert_string_equal(gpu_state(g), "ok: 1 NVIDIA device");
	assert_int_equal(gpu_sample(g, 1), 1);
	d = dev(g, 0);
	assert_string_equal(d.name, "Minimal");
	assert_string_equal(d.uuid, "");
	assert_int_equal(d.valid, GPU_HAVE_MEM | GPU_HAVE_PROCS);
	assert_int_equal(d.mem_used_bytes, 60);
	p = proc(g, 7); /* through the _v2 compute list */
	assert_int_equal(p.mem_bytes, 42);
	assert_false(p.util_valid);
	assert_int_equal(gpu_process(g, 8, &p), -ENOENT); /* no graphics list */
	assert_int_equal(stats(g).errors, 0);
	gpu_free(g);

	/* A library without the required entry points. */
	g = mk("libc.so.6", NULL);
	assert_false(gpu_nvml_ok(g));
	assert_non_null(strstr(gpu_state(g), "NVML error: libc.so.6 lacks"));
	gpu_free(g);
}

/* ---- NVML process-entry layouts ------------------------------------- */

/* One way a driver lays out its process lists: the library, its version
 * and the entry size its newest list call writes. */
struct layout {
	const char *name;
	const char **lib;
	const char *driver;   /* NULL: the stand-in's default */
	const char *v3_entry; /* NULL: 24 */
	bool graphics;        /* the library has a graphics list */
};

static const struct layout layouts[] = {
	{ "v3, 24-byte entries", &fake, NULL, NULL, true },
	{ "v3, 32-byte entries, 535.54.03", &fake, "535.54.03", "32", true },
	{ "v3, 32-byte entries, 535.43.02", &fake, "535.43.02", "32", true },
	{ "v3, 32-byte entries, 535.86.10", &fake, "535.86.10", "32", true },
	{ "v3, 24-byte entries, 535.98", &fake, "535.98", NULL, true },
	{ "v2 only, 24-byte entries", &fake_min, NULL, NULL, false },
	{ "unversioned only, 16-byte entries", &fake_legacy, "340.108", NULL, true },
};

static void layout_env(const struct layout *l)
{
	fake_reset();
	if (l->driver)
		setenv("PROFD_FAKE_NVML_DRIVER", l->driver, 1);
	if (l->v3_entry)
		setenv("PROFD_FAKE_NVML_V3_ENTRY", l->v3_entry, 1);
}

static int count_procs(const struct gpu_proc_info *p, void *ctx)
{
	(void)p;
	(*(size_t *)ctx)++;
	return 0;
}

static size_t nprocs(const struct gpu *g)
{
	size_t n = 0;

	gpu_foreach_process(g, count_procs, &n);
	return n;
}

/* The same processes read back exactly whatever the layout, with the
 * layout predicted from the symbols and the driver version (no change
 * detected), on devices whose values differ entry by entry. */
static void test_layouts(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
		const struct layout *l = &layouts[i];
		struct gpu_stats st;
		struct gpu *g;

		print_message("layout: %s\n", l->name);
		layout_env(l);
		write_script("devices=2\n"
			     "dev0.proc=100,1073741824,c\n"
			     "dev0.proc=101,85899345920,c\n"           /* 80 GiB */
			     "dev0.proc=102,18446744073709551615,c\n"  /* NVML_VALUE_NOT_AVAILABLE */
			     "dev0.proc=103,4096,g\n"
			     "dev1.proc=4194304,7,c\n");              /* pid_max */
		g = mk(*l->lib, NULL);
		assert_true(gpu_nvml_ok(g));
		if (l->driver)
			assert_string_equal(gpu_driver_version(g), l->driver);
		assert_int_equal(gpu_sample(g, 1 * SEC), 2);
		assert_int_equal(proc(g, 100).mem_bytes, GiB);
		assert_int_equal(proc(g, 101).mem_bytes, 80 * GiB);
		assert_int_equal(proc(g, 102).mem_bytes, 0);
		assert_int_equal(proc(g, 4194304).mem_bytes, 7);
		assert_int_equal(proc(g, 4194304).devices, 1);
		if (l->graphics)
			assert_int_equal(proc(g, 103).mem_bytes, 4096);
		assert_int_equal(nprocs(g), l->graphics ? 5 : 4);
		assert_int_equal(dev(g, 0).procs, l->graphics ? 4 : 3);
		assert_true(dev(g, 0).valid & GPU_HAVE_PROCS);
		st = stats(g);
		assert_int_equal(st.layout_changes, 0);
		assert_int_equal(st.untrusted, 0);
		assert_int_equal(st.overruns, 0);
		assert_int_equal(st.errors, 0);
		gpu_free(g);
	}
}

static void check_many(struct gpu *g, uint32_t n, uint32_t pid0, uint64_t mem0)
{
	assert_int_equal(dev(g, 0).procs, n);
	assert_true(dev(g, 0).valid & GPU_HAVE_PROCS);
	assert_int_equal(nprocs(g), n);
	for (uint32_t k = 0; k < n; k++)
		assert_int_equal(proc(g, pid0 + k).mem_bytes, mem0 + k);
}

/* More processes than the first array holds: INSUFFICIENT_SIZE, a larger
 * array, every entry read at its own size. Under ASan any write past an
 * array fails the test; without it the guard would count an overrun. */
static void test_layouts_many(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
		const struct layout *l = &layouts[i];
		struct gpu_proc_info p;
		struct gpu_stats st;
		struct gpu *g;

		print_message("layout: %s\n", l->name);
		layout_env(l);
		write_script("devices=1\ndev0.procgen=1000,20000,1048576\n");
		g = mk(*l->lib, NULL);
		gpu_sample(g, 1);
		check_many(g, 1000, 20000, 1048576);

		/* Exactly the bound still fits. */
		write_script("devices=1\ndev0.procgen=4096,30000,5\n");
		gpu_sample(g, 2);
		check_many(g, 4096, 30000, 5);
		st = stats(g);
		assert_int_equal(st.truncated, 0);

		/* One over: lost whole and counted, nothing written. */
		write_script("devices=1\ndev0.procgen=4097,30000,5\n");
		gpu_sample(g, 3);
		assert_int_equal(gpu_process(g, 30000, &p), -ENOENT);
		assert_false(dev(g, 0).valid & GPU_HAVE_PROCS);
		st = stats(g);
		assert_int_equal(st.truncated, 1);
		assert_int_equal(st.layout_changes, 0);
		assert_int_equal(st.untrusted, 0);
		assert_int_equal(st.overruns, 0);
		assert_int_equal(st.errors, 0);
		gpu_free(g);
	}
}

/* A driver writing another entry size than its version says: found from
 * how far it wrote, counted, then expected; values stay exact. */
static void test_layout_detected(void **state)
{
	static const struct {
		const char *driver, *entry;
	} cases[] = {
		{ "550.54.15", "32" }, /* a 32-byte driver outside the known range */
		{ "535.54.03", "24" }, /* a known 32-byte version that writes 24 */
		{ "550.127.08", "16" }, /* _v3 with the unversioned layout */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct gpu *g;

		print_message("driver %s writing %s-byte entries\n", cases[i].driver, cases[i].entry);
		fake_reset();
		setenv("PROFD_FAKE_NVML_DRIVER", cases[i].driver, 1);
		setenv("PROFD_FAKE_NVML_V3_ENTRY", cases[i].entry, 1);
		/* One entry: its size alone tells the layout. */
		write_script("devices=1\ndev0.proc=100,1073741824,c\n");
		g = mk(fake, NULL);
		gpu_sample(g, 1);
		assert_int_equal(proc(g, 100).mem_bytes, GiB);
		assert_int_equal(nprocs(g), 1);
		assert_int_equal(stats(g).layout_changes, 1);
		/* Learned: many entries, in both lists, no further change. */
		write_script("devices=1\ndev0.procgen=300,7000,100\ndev0.proc=6000,9,g\n");
		gpu_sample(g, 2);
		assert_int_equal(nprocs(g), 301);
		assert_int_equal(proc(g, 7299).mem_bytes, 399);
		assert_int_equal(proc(g, 6000).mem_bytes, 9);
		assert_int_equal(stats(g).layout_changes, 2); /* the graphics list's first entry */
		gpu_sample(g, 3);
		assert_int_equal(stats(g).layout_changes, 2);
		assert_int_equal(stats(g).untrusted, 0);
		/* The driver changes back (an upgrade under us): followed. */
		unsetenv("PROFD_FAKE_NVML_V3_ENTRY");
		gpu_sample(g, 4);
		assert_int_equal(proc(g, 7299).mem_bytes, 399);
		assert_int_equal(stats(g).layout_changes, strcmp(cases[i].entry, "24") ? 4 : 2);
		assert_int_equal(stats(g).errors, 0);
		gpu_free(g);
	}
}

/* Answers that fit no layout are dropped, never read. */
static void test_untrusted(void **state)
{
	void *h = fake_handle(fake);
	struct gpu_proc_info p;
	unsigned long calls;
	struct gpu *g;

	(void)state;
	write_script("devices=1\ndev0.proc=100,1,c\ndev0.proc=101,2,c\ndev0.proc=102,3,c\n");
	g = mk(fake, NULL);
	gpu_sample(g, 1);
	assert_int_equal(nprocs(g), 3);

	/* Bytes written after the last entry it counts. */
	setenv("PROFD_FAKE_NVML_SPILL", "8", 1);
	gpu_sample(g, 2);
	assert_int_equal(gpu_process(g, 100, &p), -ENOENT);
	assert_false(dev(g, 0).valid & GPU_HAVE_PROCS);
	assert_int_equal(stats(g).untrusted, 1); /* compute; graphics wrote no entry */
	unsetenv("PROFD_FAKE_NVML_SPILL");

	/* A count one more than the entries written. */
	setenv("PROFD_FAKE_NVML_COUNT_EXTRA", "1", 1);
	gpu_sample(g, 3);
	assert_int_equal(nprocs(g), 0);
	assert_int_equal(stats(g).untrusted, 3); /* both lists now */

	/* A count beyond the array itself. */
	setenv("PROFD_FAKE_NVML_COUNT_EXTRA", "100000", 1);
	gpu_sample(g, 4);
	assert_int_equal(nprocs(g), 0);
	assert_int_equal(stats(g).untrusted, 5);
	unsetenv("PROFD_FAKE_NVML_COUNT_EXTRA");

	gpu_sample(g, 5);
	assert_int_equal(nprocs(g), 3);
	assert_true(dev(g, 0).valid & GPU_HAVE_PROCS);
	assert_int_equal(stats(g).overruns, 0);
	assert_int_equal(stats(g).layout_changes, 0);
	gpu_free(g);

	/* A full array and bytes after it: into the guard. The list is
	 * dropped and never called again; the state says so. */
	setenv("PROFD_FAKE_NVML_DRIVER", "535.54.03", 1);
	setenv("PROFD_FAKE_NVML_V3_ENTRY", "32", 1);
	setenv("PROFD_FAKE_NVML_SPILL", "8", 1);
	write_script("devices=1\ndev0.procgen=64,100,1\ndev0.proc=50,1,g\n");
	g = mk(fake, NULL);
	gpu_sample(g, 1);
	assert_int_equal(stats(g).overruns, 1);
	assert_int_equal(gpu_process(g, 100, &p), -ENOENT);
	assert_int_equal(stats(g).untrusted, 1); /* graphics: 1 entry + 8 bytes */
	assert_non_null(strstr(gpu_state(g), "nvmlDeviceGetComputeRunningProcesses_v3 disabled"));
	unsetenv("PROFD_FAKE_NVML_SPILL");
	calls = fake_list_calls(h);
	gpu_sample(g, 2);
	assert_int_equal(fake_list_calls(h) - calls, 1); /* graphics only */
	assert_int_equal(proc(g, 50).mem_bytes, 1);
	assert_int_equal(gpu_process(g, 100, &p), -ENOENT);
	assert_int_equal(stats(g).overruns, 1);
	gpu_free(g);
	dlclose(h);
}

/* Strings are not trusted to be terminated. */
static void test_strings_unterminated(void **state)
{
	struct gpu_device_info d;
	struct gpu *g;

	(void)state;
	setenv("PROFD_FAKE_NVML_NO_NUL", "1", 1);
	write_script("devices=1\ndev0.name=0123456789\ndev0.uuid=GPU-abc\n");
	g = mk(fake, NULL);
	d = dev(g, 0);
	assert_int_equal(strlen(d.name), GPU_NAME_MAX - 1);
	assert_memory_equal(d.name, "01234567890123456789", 20);
	assert_int_equal(strlen(d.uuid), GPU_NAME_MAX - 1);
	assert_int_equal(strlen(gpu_driver_version(g)), GPU_DRIVER_MAX - 1);
	assert_memory_equal(gpu_driver_version(g), "550.54.15550.54.15", 18);
	assert_true(strlen(gpu_state(g)) < 512);
	gpu_free(g);
}

/* ---- DRM parser ---------------------------------------------------- */

static size_t read_fixture(const char *name, char *buf, size_t size)
{
	char path[PATH_MAX];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", fixtures, name);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, size, f);
	fclose(f);
	return n;
}

static const struct gpu_drm_engine *engine(const struct gpu_drm_fdinfo *f, const char *name)
{
	for (uint32_t i = 0; i < f->n_engines; i++)
		if (strcmp(f->engines[i].name, name) == 0)
			return &f->engines[i];
	fail_msg("no engine %s", name);
	return NULL;
}

static void test_parse_amdgpu(void **state)
{
	struct gpu_drm_fdinfo f;
	char buf[4096];
	size_t n = read_fixture("amdgpu.txt", buf, sizeof(buf));

	(void)state;
	assert_int_equal(gpu_drm_parse_fdinfo(buf, n, &f), 0);
	assert_string_equal(f.driver, "amdgpu");
	assert_string_equal(f.pdev, "0000:03:00.0");
	assert_true(f.has_client_id);
	assert_int_equal(f.client_id, 42);
	assert_int_equal(f.n_engines, 5);
	assert_int_equal(engine(&f, "gfx")->busy_ns, 1000000);
	assert_int_equal(engine(&f, "gfx")->capacity, 1);
	assert_int_equal(engine(&f, "compute")->busy_ns, 500);
	assert_true(f.has_memory);
	assert_false(f.has_resident);
	assert_int_equal(f.memory_bytes, GiB + 2 * MiB);
	assert_int_equal(gpu_drm_fdinfo_mem(&f), GiB + 2 * MiB);
	assert_int_equal(f.malformed, 0);
}

static void test_parse_i915(void **state)
{
	struct gpu_drm_fdinfo f;
	char buf[4096];
	size_t n = read_fixture("i915.txt", buf, sizeof(buf));

	(void)state;
	assert_int_equal(gpu_drm_parse_fdinfo(buf, n, &f), 0);
	assert_string_equal(f.driver, "i915");
	assert_int_equal(f.client_id, 7);
	assert_int_equal(f.n_engines, 4);
	assert_int_equal(engine(&f, "render")->busy_ns, 25662044495ull);
	assert_int_equal(engine(&f, "video")->capacity, 2);
	assert_int_equal(engine(&f, "video-enhance")->capacity, 1);
	assert_int_equal(f.resident_bytes, 10 * MiB);
	assert_int_equal(f.total_bytes, 12 * MiB);
	assert_int_equal(gpu_drm_fdinfo_mem(&f), 10 * MiB); /* resident wins */
	assert_int_equal(f.malformed, 0);
}

static void test_parse_xe(void **state)
{
	struct gpu_drm_fdinfo f;
	char buf[4096];
	size_t n = read_fixture("xe.txt", buf, sizeof(buf));

	(void)state;
	assert_int_equal(gpu_drm_parse_fdinfo(buf, n, &f), 0);
	assert_string_equal(f.driver, "xe");
	assert_int_equal(f.n_engines, 3);
	assert_true(engine(&f, "rcs")->has_cycles);
	assert_true(engine(&f, "rcs")->has_total_cycles);
	assert_false(engine(&f, "rcs")->has_busy);
	assert_int_equal(engine(&f, "rcs")->cycles, 28257900);
	assert_int_equal(engine(&f, "rcs")->total_cycles, 7655183225ull);
	assert_int_equal(engine(&f, "vcs")->capacity, 2);
	assert_int_equal(gpu_drm_fdinfo_mem(&f), 23992 * 1024ull);
	assert_int_equal(f.malformed, 0);
}

static void test_parse_malformed(void **state)
{
	struct gpu_drm_fdinfo f;
	char buf[4096];
	size_t n = read_fixture("malformed.txt", buf, sizeof(buf));

	(void)state;
	assert_int_equal(gpu_drm_parse_fdinfo(buf, n, &f), 0);
	assert_int_equal(f.malformed, 8);
	assert_false(f.has_client_id);
	assert_int_equal(f.n_engines, 1);
	assert_int_equal(engine(&f, "good")->busy_ns, 15);
	assert_int_equal(gpu_drm_fdinfo_mem(&f), 3 * MiB);

	n = read_fixture("notdrm.txt", buf, sizeof(buf));
	assert_int_equal(gpu_drm_parse_fdinfo(buf, n, &f), -ENOENT);
	assert_int_equal(gpu_drm_parse_fdinfo("", 0, &f), -ENOENT);
	/* Length bounds the parse: no NUL needed, nothing read past it. */
	memcpy(buf, "drm-driver: x\ndrm-engine-a: 5 nsXXXX", 36);
	assert_int_equal(gpu_drm_parse_fdinfo(buf, 32, &f), 0);
	assert_int_equal(engine(&f, "a")->busy_ns, 5);
	assert_int_equal(f.malformed, 0);
}

static void test_parse_engine_bound(void **state)
{
	struct gpu_drm_fdinfo f;
	char buf[4096];
	int len = snprintf(buf, sizeof(buf), "drm-driver: t\n");

	(void)state;
	for (int i = 0; i < GPU_DRM_MAX_ENGINES + 3; i++)
		len += snprintf(buf + len, sizeof(buf) - (size_t)len, "drm-engine-e%d: %d ns\n", i, i);
	assert_int_equal(gpu_drm_parse_fdinfo(buf, (size_t)len, &f), 0);
	assert_int_equal(f.n_engines, GPU_DRM_MAX_ENGINES);
	assert_int_equal(f.engines_dropped, 3);
	assert_int_equal(f.malformed, 0);
}

/* ---- DRM scans ----------------------------------------------------- */

static void test_scan_fixture(void **state)
{
	const uint32_t pids[] = { 3001, 3002, 3003, 3004 };
	const uint32_t reversed[] = { 3003, 3002, 3001 };
	char procfs[PATH_MAX];
	struct gpu_proc_info p;
	struct gpu_stats st;
	struct gpu *g;

	(void)state;
	snprintf(procfs, sizeof(procfs), "%s/proc", fixtures);
	g = mk("", procfs);
	assert_int_equal(gpu_scan_drm(g, pids, 4, 1 * SEC), 3);
	st = stats(g);
	assert_int_equal(st.drm_clients, 3);
	assert_int_equal(st.drm_duplicates, 2);  /* 3001 fd 4, 3002 fd 3 */
	assert_int_equal(st.drm_fds_read, 6);    /* 3001: 3, 4 (not 0, 5); 3002: all 3; 3003: 1 */
	assert_int_equal(st.drm_read_errors, 0); /* 3004 absent: exited, not an error */
	assert_int_equal(st.drm_malformed, 0);

	p = proc(g, 3001);
	assert_int_equal(p.sources, GPU_SRC_DRM);
	assert_int_equal(p.mem_bytes, GiB + 2 * MiB); /* counted once */
	assert_int_equal(p.devices, 1);
	assert_false(p.util_valid); /* one scan gives no rate */
	p = proc(g, 3002);
	assert_int_equal(p.mem_bytes, 10 * MiB); /* the i915 client only */
	p = proc(g, 3003);
	assert_int_equal(p.mem_bytes, GiB + 2 * MiB); /* same id, other device */

	/* The owner keeps the shared client whatever the scan order. */
	assert_int_equal(gpu_scan_drm(g, reversed, 3, 2 * SEC), 3);
	assert_int_equal(proc(g, 3001).mem_bytes, GiB + 2 * MiB);
	assert_int_equal(proc(g, 3002).mem_bytes, 10 * MiB);
	/* Now engine rates exist (counters did not move: 0 %). */
	p = proc(g, 3001);
	assert_true(p.util_valid);
	assert_true(p.util_pct < 0.001);

	/* Clients not seen in a round are forgotten. */
	assert_int_equal(gpu_scan_drm(g, pids + 2, 1, 3 * SEC), 1);
	assert_int_equal(gpu_process(g, 3001, &p), -ENOENT);
	assert_int_equal(proc(g, 3003).devices, 1);
	gpu_free(g);

	/* First sighting decides when there is no previous owner. */
	g = mk("", procfs);
	gpu_scan_drm(g, reversed, 3, 1 * SEC);
	assert_int_equal(proc(g, 3002).mem_bytes, GiB + 2 * MiB + 10 * MiB);
	assert_int_equal(gpu_process(g, 3001, &p), -ENOENT);
	gpu_free(g);
}

static void put_fdinfo(uint32_t pid, int fd, const char *text)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/proc/%u", tmpdir, pid);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/proc/%u/fdinfo", tmpdir, pid);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/proc/%u/fdinfo/%d", tmpdir, pid, fd);
	write_file(path, text);
}

static struct gpu *mk_tmp_procfs(const char *nvml)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/proc", tmpdir);
	mkdir(path, 0755);
	return mk(nvml, path);
}

static void engines_at(uint64_t gfx_ns, uint64_t video_ns)
{
	char text[512];

	snprintf(text, sizeof(text),
		 "drm-driver:\ti915\ndrm-pdev:\t0000:00:02.0\ndrm-client-id:\t11\n"
		 "drm-engine-render:\t%llu ns\ndrm-engine-video:\t%llu ns\n"
		 "drm-engine-capacity-video:\t2\ndrm-resident-system0:\t1 MiB\n",
		 (unsigned long long)gfx_ns, (unsigned long long)video_ns);
	put_fdinfo(4001, 5, text);
}

static void test_engine_pct(void **state)
{
	const uint32_t pid = 4001;
	struct gpu_proc_info p;
	struct gpu *g = mk_tmp_procfs("");

	(void)state;
	engines_at(1000, 0);
	gpu_scan_drm(g, &pid, 1, 10 * SEC);
	assert_false(proc(g, pid).util_valid);

	/* 250 ms of render in 1 s: 25 %. */
	engines_at(1000 + 250000000, 0);
	gpu_scan_drm(g, &pid, 1, 11 * SEC);
	p = proc(g, pid);
	assert_true(p.util_valid);
	assert_true(p.util_pct > 24.999 && p.util_pct < 25.001);
	assert_int_equal(p.mem_bytes, MiB);

	/* 1.2 s of video over 2 s on a capacity-2 engine: 30 %, busier than
	 * render's 10 %: the busiest engine is the device's %. */
	engines_at(1000 + 250000000 + 200000000, 1200000000);
	gpu_scan_drm(g, &pid, 1, 13 * SEC);
	p = proc(g, pid);
	assert_true(p.util_pct > 29.999 && p.util_pct < 30.001);

	/* A counter going back stays at its larger value: 0 %, then the
	 * next rise counts from the larger value. */
	engines_at(0, 1200000000);
	gpu_scan_drm(g, &pid, 1, 14 * SEC);
	assert_true(proc(g, pid).util_pct < 0.001);
	engines_at(1000 + 250000000 + 200000000 + 500000000, 1200000000);
	gpu_scan_drm(g, &pid, 1, 15 * SEC);
	p = proc(g, pid);
	assert_true(p.util_pct > 49.999 && p.util_pct < 50.001);

	/* More busy time than wall time is clamped. */
	engines_at(1000 + 250000000 + 200000000 + 500000000 + 3 * SEC, 1200000000);
	gpu_scan_drm(g, &pid, 1, 16 * SEC);
	assert_true(proc(g, pid).util_pct <= 100.0);
	gpu_free(g);
}

static void test_cycles_pct(void **state)
{
	const uint32_t pid = 4002;
	struct gpu_proc_info p;
	struct gpu *g = mk_tmp_procfs("");

	(void)state;
	put_fdinfo(pid, 3, "drm-driver: xe\ndrm-client-id: 9\ndrm-cycles-rcs: 100\ndrm-total-cycles-rcs: 1000\n");
	gpu_scan_drm(g, &pid, 1, 1 * SEC);
	/* GPU clock domain: 300 of 400 cycles, whatever the wall time. */
	put_fdinfo(pid, 3, "drm-driver: xe\ndrm-client-id: 9\ndrm-cycles-rcs: 400\ndrm-total-cycles-rcs: 1400\n");
	gpu_scan_drm(g, &pid, 1, 7 * SEC);
	p = proc(g, pid);
	assert_true(p.util_valid);
	assert_true(p.util_pct > 74.999 && p.util_pct < 75.001);
	gpu_free(g);
}

static void test_two_clients_one_pid(void **state)
{
	const uint32_t pid = 4003;
	struct gpu_proc_info p;
	struct gpu *g = mk_tmp_procfs("");

	(void)state;
	/* Two clients on one device, one on another. Per device, same-named
	 * engines add up (20 + 30 on render); devices add up (+ 40). */
	put_fdinfo(pid, 3, "drm-driver: i915\ndrm-pdev: 0000:00:02.0\ndrm-client-id: 1\ndrm-engine-render: 0 ns\ndrm-total-system0: 1 KiB\n");
	put_fdinfo(pid, 4, "drm-driver: i915\ndrm-pdev: 0000:00:02.0\ndrm-client-id: 2\ndrm-engine-render: 0 ns\ndrm-engine-copy: 0 ns\ndrm-total-system0: 2 KiB\n");
	put_fdinfo(pid, 5, "drm-driver: amdgpu\ndrm-pdev: 0000:03:00.0\ndrm-client-id: 1\ndrm-engine-gfx: 0 ns\n");
	assert_int_equal(gpu_scan_drm(g, &pid, 1, 1 * SEC), 3);
	put_fdinfo(pid, 3, "drm-driver: i915\ndrm-pdev: 0000:00:02.0\ndrm-client-id: 1\ndrm-engine-render: 200000000 ns\ndrm-total-system0: 1 KiB\n");
	put_fdinfo(pid, 4, "drm-driver: i915\ndrm-pdev: 0000:00:02.0\ndrm-client-id: 2\ndrm-engine-render: 300000000 ns\ndrm-engine-copy: 450000000 ns\ndrm-total-system0: 2 KiB\n");
	put_fdinfo(pid, 5, "drm-driver: amdgpu\ndrm-pdev: 0000:03:00.0\ndrm-client-id: 1\ndrm-engine-gfx: 400000000 ns\n");
	gpu_scan_drm(g, &pid, 1, 2 * SEC);
	p = proc(g, pid);
	assert_int_equal(p.devices, 2);
	assert_int_equal(p.mem_bytes, 3 * 1024);
	assert_true(p.util_pct > 89.999 && p.util_pct < 90.001); /* 50 + 40 */
	gpu_free(g);
}

static void test_merge_and_skip_nvidia(void **state)
{
	const uint32_t pid = 100;
	struct gpu_proc_info p;
	struct gpu_stats st;
	struct gpu *g;

	(void)state;
	write_script("devices=1\ndev0.proc=100,1000,c\n");
	g = mk_tmp_procfs(fake);
	put_fdinfo(pid, 3, "drm-driver: nvidia-drm\ndrm-client-id: 3\ndrm-total-vram: 5 KiB\n");
	put_fdinfo(pid, 4, "drm-driver: amdgpu\ndrm-client-id: 3\ndrm-memory-vram: 1 KiB\n");
	gpu_sample(g, 1 * SEC);
	assert_int_equal(gpu_scan_drm(g, &pid, 1, 1 * SEC), 1); /* nvidia-drm skipped */
	p = proc(g, pid);
	assert_int_equal(p.sources, GPU_SRC_NVML | GPU_SRC_DRM);
	assert_int_equal(p.devices, 2);
	assert_int_equal(p.mem_bytes, 1000 + 1024);
	st = stats(g);
	assert_int_equal(st.drm_scans, 1);
	assert_int_equal(st.samples, 1);
	gpu_free(g);
}

static void test_scan_all(void **state)
{
	char procfs[PATH_MAX];
	struct gpu *g;

	(void)state;
	snprintf(procfs, sizeof(procfs), "%s/proc", fixtures);
	g = mk("", procfs);
	assert_int_equal(gpu_scan_drm(g, NULL, 0, 1), 3);
	gpu_free(g);
	g = mk("", "/nonexistent/proc");
	assert_int_equal(gpu_scan_drm(g, NULL, 0, 1), -ENOENT);
	gpu_free(g);
}

/* ---- staleness ------------------------------------------------------- */

struct seen {
	uint32_t pid[8];
	uint64_t gen[8], seen_ns[8];
	size_t n;
};

static int collect_seen(const struct gpu_proc_info *p, void *ctx)
{
	struct seen *s = ctx;

	if (s->n < 8) {
		s->pid[s->n] = p->pid;
		s->gen[s->n] = p->gen;
		s->seen_ns[s->n] = p->seen_ns;
		s->n++;
	}
	return 0;
}

static struct seen visit(const struct gpu *g)
{
	struct seen s;

	memset(&s, 0, sizeof(s));
	gpu_foreach_process(g, collect_seen, &s);
	return s;
}

/* A process that stops using the GPU leaves the view at the next sample or
 * scan; everything listed carries the current generation; what a caller
 * stored from an older one is recognisably stale. */
static void test_generation(void **state)
{
	const uint32_t drm_pid = 4005, both = 110;
	uint32_t pids[] = { drm_pid, both };
	char path[PATH_MAX], moved[PATH_MAX];
	struct gpu_proc_info p, kept;
	struct gpu *g;
	struct seen s;

	(void)state;
	write_script("devices=1\ndev0.proc=110,1073741824,c\ndev0.proc=111,2147483648,c\n"
		     "dev0.sample=111,1000,50\n");
	g = mk_tmp_procfs(fake);
	assert_int_equal(gpu_generation(g), 0);
	gpu_sample(g, 1 * SEC);
	assert_int_equal(gpu_generation(g), 1);
	s = visit(g);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.gen[0], 1);
	assert_int_equal(s.gen[1], 1);
	assert_int_equal(s.seen_ns[1], 1 * SEC);
	kept = proc(g, 111);
	assert_true(kept.util_pct > 49.9);

	/* 111 stopped using the GPU. */
	write_script("devices=1\ndev0.proc=110,1073741824,c\n");
	gpu_sample(g, 2 * SEC);
	assert_int_equal(gpu_generation(g), 2);
	s = visit(g);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.pid[0], 110);
	assert_int_equal(s.gen[0], 2);
	assert_int_equal(gpu_process(g, 111, &p), -ENOENT);
	assert_true(kept.gen < gpu_generation(g)); /* what a caller kept is stale */

	/* DRM clients: current until the next scan, whatever NVML does. */
	put_fdinfo(drm_pid, 3, "drm-driver: amdgpu\ndrm-client-id: 5\ndrm-memory-vram: 4 KiB\n");
	put_fdinfo(both, 3, "drm-driver: i915\ndrm-client-id: 6\ndrm-resident-system0: 8 KiB\n");
	assert_int_equal(gpu_scan_drm(g, pids, 2, 3 * SEC), 2);
	assert_int_equal(gpu_generation(g), 3);
	gpu_sample(g, 4 * SEC);
	s = visit(g);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.pid[0], both);
	assert_int_equal(s.gen[0], 4);
	assert_int_equal(s.seen_ns[0], 4 * SEC); /* the newer of its two sources */
	assert_int_equal(s.pid[1], drm_pid);
	assert_int_equal(s.gen[1], 4);
	assert_int_equal(s.seen_ns[1], 3 * SEC); /* read by the scan */
	assert_int_equal(proc(g, both).mem_bytes, GiB + 8 * 1024);

	/* The client closed its fd: gone at the next scan. */
	snprintf(path, sizeof(path), "%s/proc/%u/fdinfo/3", tmpdir, drm_pid);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(gpu_scan_drm(g, pids, 2, 5 * SEC), 1);
	assert_int_equal(gpu_process(g, drm_pid, &p), -ENOENT);
	assert_int_equal(proc(g, both).mem_bytes, GiB + 8 * 1024);

	/* procfs unreadable: nothing known, nothing listed from DRM. */
	assert_true(gpu_scan_drm(g, NULL, 0, 6 * SEC) >= 1); /* other tests' clients too */
	assert_true(proc(g, both).sources & GPU_SRC_DRM);
	snprintf(path, sizeof(path), "%s/proc", tmpdir);
	snprintf(moved, sizeof(moved), "%s/proc.moved", tmpdir);
	assert_int_equal(rename(path, moved), 0);
	assert_int_equal(gpu_scan_drm(g, NULL, 0, 7 * SEC), -ENOENT);
	assert_int_equal(gpu_generation(g), 7);
	p = proc(g, both);
	assert_int_equal(p.sources, GPU_SRC_NVML);
	assert_int_equal(p.mem_bytes, GiB);
	assert_int_equal(rename(moved, path), 0);
	gpu_free(g);
}

/* A line cut by the fdinfo bound is not read as a shorter value. */
static void test_fdinfo_bound(void **state)
{
	const uint32_t pid = 4006;
	const char *head = "drm-driver: amdgpu\ndrm-client-id: 12\ndrm-resident-system0: 4 KiB\n";
	const char *tail = "drm-resident-vram: 1048576 KiB\n";
	size_t cut = 24; /* bytes of tail inside the bound: "drm-resident-vram: 10485" */
	size_t pad, len;
	char *text;
	struct gpu *g = mk_tmp_procfs("");

	(void)state;
	text = malloc(GPU_DRM_FDINFO_MAX * 2);
	assert_non_null(text);
	/* head, then comment-like lines up to where tail must start. */
	len = (size_t)sprintf(text, "%s", head);
	pad = GPU_DRM_FDINFO_MAX - 1 - cut - len;
	while (pad > 0) {
		size_t line = pad > 64 ? 64 : pad;

		memset(text + len, 'x', line - 1);
		text[len + line - 1] = '\n';
		len += line;
		pad -= line;
	}
	len += (size_t)sprintf(text + len, "%s", tail);
	put_fdinfo(pid, 3, text);
	assert_int_equal(gpu_scan_drm(g, &pid, 1, 1 * SEC), 1);
	assert_int_equal(proc(g, pid).mem_bytes, 4 * 1024); /* not + 10485 bytes */
	assert_int_equal(stats(g).drm_truncated, 1);
	assert_int_equal(stats(g).drm_malformed, 0);

	/* Exactly at the bound is not truncated: the last line counts. */
	len = (size_t)sprintf(text, "%s", head);
	pad = GPU_DRM_FDINFO_MAX - 1 - strlen(tail) - len;
	memset(text + len, 'y', pad - 1);
	text[len + pad - 1] = '\n';
	len += pad;
	len += (size_t)sprintf(text + len, "%s", tail);
	assert_int_equal(len, GPU_DRM_FDINFO_MAX - 1);
	put_fdinfo(pid, 3, text);
	gpu_scan_drm(g, &pid, 1, 2 * SEC);
	assert_int_equal(proc(g, pid).mem_bytes, 4 * 1024 + GiB);
	assert_int_equal(stats(g).drm_truncated, 1);
	free(text);
	gpu_free(g);
}

/* fdinfo names that are no fd number are skipped, not wrapped. */
static void test_fd_names(void **state)
{
	const uint32_t pid = 4007;
	char path[PATH_MAX];
	struct gpu *g = mk_tmp_procfs("");

	(void)state;
	put_fdinfo(pid, 3, "drm-driver: i915\ndrm-resident-system0: 1 KiB\n");
	snprintf(path, sizeof(path), "%s/proc/%u/fdinfo/4294967299", tmpdir, pid); /* 2^32 + 3 */
	write_file(path, "drm-driver: i915\ndrm-resident-system0: 2 KiB\n");
	snprintf(path, sizeof(path), "%s/proc/%u/fdinfo/99999999999999999999999", tmpdir, pid);
	write_file(path, "drm-driver: i915\ndrm-resident-system0: 4 KiB\n");
	assert_int_equal(gpu_scan_drm(g, &pid, 1, 1 * SEC), 1);
	assert_int_equal(proc(g, pid).mem_bytes, 1024);
	assert_int_equal(stats(g).drm_fds_read, 1);
	gpu_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_absent, reset),
		cmocka_unit_test_setup(test_two_devices, reset),
		cmocka_unit_test_setup(test_env_var, reset),
		cmocka_unit_test_setup(test_processes, reset),
		cmocka_unit_test_setup(test_growth, reset),
		cmocka_unit_test_setup(test_errors, reset),
		cmocka_unit_test_setup(test_minimal, reset),
		cmocka_unit_test_setup(test_layouts, reset),
		cmocka_unit_test_setup(test_layouts_many, reset),
		cmocka_unit_test_setup(test_layout_detected, reset),
		cmocka_unit_test_setup(test_untrusted, reset),
		cmocka_unit_test_setup(test_strings_unterminated, reset),
		cmocka_unit_test_setup(test_parse_amdgpu, reset),
		cmocka_unit_test_setup(test_parse_i915, reset),
		cmocka_unit_test_setup(test_parse_xe, reset),
		cmocka_unit_test_setup(test_parse_malformed, reset),
		cmocka_unit_test_setup(test_parse_engine_bound, reset),
		cmocka_unit_test_setup(test_scan_fixture, reset),
		cmocka_unit_test_setup(test_engine_pct, reset),
		cmocka_unit_test_setup(test_cycles_pct, reset),
		cmocka_unit_test_setup(test_two_clients_one_pid, reset),
		cmocka_unit_test_setup(test_merge_and_skip_nvidia, reset),
		cmocka_unit_test_setup(test_scan_all, reset),
		cmocka_unit_test_setup(test_generation, reset),
		cmocka_unit_test_setup(test_fdinfo_bound, reset),
		cmocka_unit_test_setup(test_fd_names, reset),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
