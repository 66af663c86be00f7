/* SPDX-License-Identifier: GPL-2.0-only */
/* GPU counters: NVML through dlopen (per device and per process) and DRM
 * fdinfo per client, merged into one per-pid view. */
#include "collect/gpu.h"
#include "collect/gpu_drm.h"
#include "common/clock.h"
#include "common/sort.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* NVML ABI, declared here from the public nvml.h (API version 12) so that
 * there is no build dependency. Enums are int-sized in the C ABI. */
typedef int nvmlReturn_t;
typedef struct nvmlDevice_st *nvmlDevice_t;
typedef struct { unsigned int gpu, memory; } nvmlUtilization_t;
typedef struct { unsigned long long total, free, used; } nvmlMemory_t;
typedef struct {
	unsigned int pid;
	unsigned long long timeStamp; /* CPU time, microseconds */
	unsigned int smUtil, memUtil, encUtil, decUtil;
} nvmlProcessUtilizationSample_t;

/* Running-process lists (nvmlProcessInfo*_t). Every layout starts with pid
 * (offset 0) and usedGpuMemory (offset 8); they differ in what follows, so
 * in size, and the size a driver writes is not always the one its nvml.h
 * declares for the call:
 *   16  nvmlProcessInfo_v1_t: the unversioned calls;
 *   24  nvmlProcessInfo_v2_t (+ gpuInstanceId, computeInstanceId): the _v2
 *       calls, and the _v3 calls on every driver but
 *   32  (+ usedGpuCcProtectedMemory): the _v3 calls of drivers 535.43 to
 *       535.86, whose nvml.h grew nvmlProcessInfo_t without a new function
 *       version (535.98 moved that member to a new call and _v3 went back
 *       to 24 bytes).
 * Sizing an array for 24-byte entries there gets 32-byte entries written
 * past its end: a heap overflow in a root daemon. So entries are never read
 * through a struct: every array NVML fills is sized for the largest entry
 * plus a guard, filled with NVML_FILL before the call, and the entry size
 * NVML really used is read back from how far it wrote (entry_size). */
#define PINFO_PID_OFF 0
#define PINFO_MEM_OFF 8
#define PINFO_V1 16u
#define PINFO_V2 24u
#define PINFO_CC 32u
#define NVML_ENTRY_MAX 32u /* largest entry of any array NVML fills for us */
#define NVML_GUARD 64u     /* bytes after each array that NVML must leave alone */
#define NVML_FILL 0xa5     /* no entry ends in this byte: see entry_size */

#define NVML_SUCCESS 0
#define NVML_ERROR_NOT_SUPPORTED 3
#define NVML_ERROR_NOT_FOUND 6
#define NVML_ERROR_INSUFFICIENT_SIZE 7
#define NVML_ERROR_DRIVER_NOT_LOADED 9
#define NVML_TEMPERATURE_GPU 0
#define NVML_VALUE_NOT_AVAILABLE_ULL (~0ull) /* usedGpuMemory unknown */
/* Our own outcomes of nvml_fill, below NVML's codes (all >= 0); each is
 * counted where it happens, never in errors. */
#define FILL_UNTRUSTED (-1) /* answer dropped: see gpu_stats.untrusted */
#define FILL_OVERRUN (-2)   /* NVML wrote into the guard */
#define FILL_NOMEM (-3)

_Static_assert(sizeof(nvmlProcessUtilizationSample_t) == 32, "nvmlProcessUtilizationSample_t ABI");
_Static_assert(sizeof(nvmlProcessUtilizationSample_t) <= NVML_ENTRY_MAX, "samples fit the arrays");
_Static_assert(PINFO_V1 <= NVML_ENTRY_MAX && PINFO_V2 <= NVML_ENTRY_MAX && PINFO_CC <= NVML_ENTRY_MAX,
	       "process entries fit the arrays");
_Static_assert(sizeof(void (*)(void)) == sizeof(void *), "dlsym function pointers");

typedef nvmlReturn_t (*nvml_list_fn)(nvmlDevice_t, unsigned int *, void *);

_Static_assert(GPU_DRIVER_MAX <= GPU_NAME_MAX, "one buffer for NVML strings");

struct nvml_api {
	nvmlReturn_t (*init)(void);
	nvmlReturn_t (*shutdown)(void);
	const char *(*error_string)(nvmlReturn_t);
	nvmlReturn_t (*get_driver)(char *, unsigned int);
	nvmlReturn_t (*get_count)(unsigned int *);
	nvmlReturn_t (*get_handle)(unsigned int, nvmlDevice_t *);
	nvmlReturn_t (*get_name)(nvmlDevice_t, char *, unsigned int);
	nvmlReturn_t (*get_uuid)(nvmlDevice_t, char *, unsigned int);
	nvmlReturn_t (*get_util)(nvmlDevice_t, nvmlUtilization_t *);
	nvmlReturn_t (*get_mem)(nvmlDevice_t, nvmlMemory_t *);
	nvmlReturn_t (*get_temp)(nvmlDevice_t, int, unsigned int *);
	nvmlReturn_t (*get_power)(nvmlDevice_t, unsigned int *);
	nvmlReturn_t (*proc_util)(nvmlDevice_t, nvmlProcessUtilizationSample_t *, unsigned int *, unsigned long long);
};

/* One running-process list call (compute or graphics). */
struct plist {
	nvml_list_fn fn;     /* NULL: absent, or disabled after an overrun */
	const char *sym;     /* the symbol called */
	unsigned int entry;  /* bytes per entry expected: from the symbol and
				the driver version, then as last seen */
	bool overrun;        /* disabled: it wrote past its array */
};

/* An array NVML fills: cap entries of NVML_ENTRY_MAX bytes, then
 * NVML_GUARD bytes. */
struct nvml_buf {
	unsigned char *p;
	unsigned int cap;
};

/* Process records gathered over all devices in one sample: bounded so a
 * host with many GPUs and processes cannot grow us without limit (64 K x
 * 32 B = 2 MiB). */
#define GPU_MAX_RECORDS 65536u
#define GPU_BUF_START 64u     /* first NVML array, entries */
#define GPU_STATE_MAX 512u
#define NSEC_PER_SEC 1000000000ull

struct dev {
	nvmlDevice_t h;
	struct gpu_device_info info;
	uint32_t unsupported;            /* GPU_HAVE_* answered NOT_SUPPORTED: not asked again */
	unsigned long long last_seen_us; /* newest process-util sample seen */
};

struct prec {                       /* one pid on one device (NVML) */
	uint32_t pid;
	uint32_t dev;
	uint64_t mem;
	uint64_t util_sum;
	uint32_t util_n;
	bool util_valid;
};

struct gpu {
	char state[GPU_STATE_MAX];
	char driver[GPU_DRIVER_MAX];
	void *lib;
	bool nvml_ok;
	struct nvml_api api;
	struct plist lists[2];          /* compute, graphics */
	struct dev *devs;
	uint32_t ndevs;

	struct nvml_buf nbuf;           /* shared by every NVML array call:
					   each is read before the next */
	struct prec *recs;
	size_t nrecs, recs_cap;
	struct gpu_proc_info *nprocs;   /* NVML view, sorted by pid */
	size_t n_nprocs;
	uint64_t gen;                   /* view generation: see gpu_generation */

	struct gpu_drm *drm;

	struct gpu_stats st;
};

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* ---- NVML ------------------------------------------------------------ */

/* dlsym returns void *; ISO C has no conversion to a function pointer, so
 * copy the bits (POSIX guarantees they are the same size). */
static bool nvml_sym(void *lib, const char *name, void *fnptr)
{
	void *p = dlsym(lib, name);

	memcpy(fnptr, &p, sizeof(p));
	return p != NULL;
}

/* nvmlErrorString's text; printed with a precision, as a library's string
 * is read only up to a bound. */
static const char *nvml_err(const struct gpu *g, nvmlReturn_t r)
{
	static char buf[32];
	const char *s = g->api.error_string ? g->api.error_string(r) : NULL;

	if (s)
		return s;
	snprintf(buf, sizeof(buf), "error %d", r);
	return buf;
}

/* 535.43 to 535.86: the _v3 process lists write 32-byte entries. */
static bool driver_cc_layout(const char *v)
{
	unsigned long major, minor;
	char *end;

	if (*v < '0' || *v > '9')
		return false;
	major = strtoul(v, &end, 10);
	if (*end != '.' || end[1] < '0' || end[1] > '9')
		return false;
	minor = strtoul(end + 1, &end, 10);
	return major == 535 && minor >= 43 && minor <= 86;
}

/* The newest process-list call the library has, and the entry size its
 * version of the call writes on this driver. */
static void nvml_lists(struct gpu *g)
{
	static const char *const syms[2][3] = {
		{ "nvmlDeviceGetComputeRunningProcesses_v3", "nvmlDeviceGetComputeRunningProcesses_v2",
		  "nvmlDeviceGetComputeRunningProcesses" },
		{ "nvmlDeviceGetGraphicsRunningProcesses_v3", "nvmlDeviceGetGraphicsRunningProcesses_v2",
		  "nvmlDeviceGetGraphicsRunningProcesses" },
	};
	static const unsigned int entry[3] = { PINFO_V2, PINFO_V2, PINFO_V1 };

	for (size_t l = 0; l < 2; l++) {
		struct plist *pl = &g->lists[l];

		for (size_t v = 0; v < 3; v++) {
			if (!nvml_sym(g->lib, syms[l][v], &pl->fn))
				continue;
			pl->sym = syms[l][v];
			pl->entry = v == 0 && driver_cc_layout(g->driver) ? PINFO_CC : entry[v];
			break;
		}
	}
}

/* Printable ASCII up to the first other byte, whatever NVML left in buf
 * (a library is not trusted to NUL-terminate). */
static void copy_printable(char *dst, size_t size, const char *src, size_t len)
{
	size_t n = 0;

	while (n < len && n + 1 < size && src[n] >= 0x20 && src[n] < 0x7f) {
		dst[n] = src[n];
		n++;
	}
	dst[n] = '\0';
}

static void state_ok(struct gpu *g)
{
	size_t len;

	len = (size_t)snprintf(g->state, sizeof(g->state), "ok: %u NVIDIA device%s", g->ndevs, g->ndevs == 1 ? "" : "s");
	if (g->driver[0] && len < sizeof(g->state))
		len += (size_t)snprintf(g->state + len, sizeof(g->state) - len, " (driver %s)", g->driver);
	for (size_t l = 0; l < 2; l++)
		if (g->lists[l].overrun && len < sizeof(g->state))
			len += (size_t)snprintf(g->state + len, sizeof(g->state) - len,
						"; %s disabled: it wrote past its array", g->lists[l].sym);
}

static void nvml_load(struct gpu *g, const char *path)
{
	struct nvml_api *a = &g->api;
	char buf[GPU_NAME_MAX]; /* names, UUIDs, the driver version */
	unsigned int count = 0;
	nvmlReturn_t r;
	const char *err;

	if (!*path) {
		snprintf(g->state, sizeof(g->state), "NVML disabled");
		return;
	}
	g->lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!g->lib) {
		err = dlerror();
		snprintf(g->state, sizeof(g->state), "no NVIDIA driver (%s)", err ? err : path);
		return;
	}
	/* Required: without these there is nothing to read. */
	if (!nvml_sym(g->lib, "nvmlInit_v2", &a->init) ||
	    !nvml_sym(g->lib, "nvmlShutdown", &a->shutdown) ||
	    !nvml_sym(g->lib, "nvmlDeviceGetCount_v2", &a->get_count) ||
	    !nvml_sym(g->lib, "nvmlDeviceGetHandleByIndex_v2", &a->get_handle)) {
		snprintf(g->state, sizeof(g->state), "NVML error: %s lacks the NVML v2 entry points", path);
		goto fail;
	}
	/* Optional: a missing one makes its metric unsupported. */
	nvml_sym(g->lib, "nvmlErrorString", &a->error_string);
	nvml_sym(g->lib, "nvmlSystemGetDriverVersion", &a->get_driver);
	nvml_sym(g->lib, "nvmlDeviceGetName", &a->get_name);
	nvml_sym(g->lib, "nvmlDeviceGetUUID", &a->get_uuid);
	nvml_sym(g->lib, "nvmlDeviceGetUtilizationRates", &a->get_util);
	nvml_sym(g->lib, "nvmlDeviceGetMemoryInfo", &a->get_mem);
	nvml_sym(g->lib, "nvmlDeviceGetTemperature", &a->get_temp);
	nvml_sym(g->lib, "nvmlDeviceGetPowerUsage", &a->get_power);
	nvml_sym(g->lib, "nvmlDeviceGetProcessUtilization", &a->proc_util);

	r = a->init();
	if (r != NVML_SUCCESS) {
		/* The library ships with the user-space driver; without the
		 * kernel module it is still "no driver" to a user. */
		if (r == NVML_ERROR_DRIVER_NOT_LOADED)
			snprintf(g->state, sizeof(g->state), "no NVIDIA driver (nvmlInit_v2: %.128s)", nvml_err(g, r));
		else
			snprintf(g->state, sizeof(g->state), "NVML error: nvmlInit_v2: %.128s", nvml_err(g, r));
		goto fail;
	}
	/* The version decides the _v3 entry size (checked on every call). */
	memset(buf, 0, sizeof(buf));
	if (a->get_driver && a->get_driver(buf, GPU_DRIVER_MAX) == NVML_SUCCESS)
		copy_printable(g->driver, sizeof(g->driver), buf, GPU_DRIVER_MAX);
	nvml_lists(g);
	r = a->get_count(&count);
	if (r != NVML_SUCCESS) {
		snprintf(g->state, sizeof(g->state), "NVML error: nvmlDeviceGetCount_v2: %.128s", nvml_err(g, r));
		a->shutdown();
		goto fail;
	}
	if (count > GPU_MAX_DEVICES) {
		g->st.truncated += count - GPU_MAX_DEVICES;
		count = GPU_MAX_DEVICES;
	}
	g->devs = calloc(count ? count : 1, sizeof(*g->devs));
	if (!g->devs) {
		snprintf(g->state, sizeof(g->state), "NVML error: out of memory");
		a->shutdown();
		goto fail;
	}
	for (unsigned int i = 0; i < count; i++) {
		struct dev *d = &g->devs[g->ndevs];

		r = a->get_handle(i, &d->h);
		if (r != NVML_SUCCESS) {
			/* e.g. NVML_ERROR_NO_PERMISSION on a cgroup-hidden GPU */
			g->st.errors++;
			continue;
		}
		d->info.index = i;
		/* Name and UUID do not change while the driver is loaded. */
		memset(buf, 0, sizeof(buf));
		if (a->get_name && a->get_name(d->h, buf, sizeof(buf)) == NVML_SUCCESS)
			copy_printable(d->info.name, sizeof(d->info.name), buf, sizeof(buf));
		memset(buf, 0, sizeof(buf));
		if (a->get_uuid && a->get_uuid(d->h, buf, sizeof(buf)) == NVML_SUCCESS)
			copy_printable(d->info.uuid, sizeof(d->info.uuid), buf, sizeof(buf));
		g->ndevs++;
	}
	g->nvml_ok = true;
	state_ok(g);
	return;
fail:
	dlclose(g->lib);
	g->lib = NULL;
	memset(a, 0, sizeof(*a));
	memset(g->lists, 0, sizeof(g->lists));
	g->driver[0] = '\0';
}

/* Classify one metric call: 1 read, 0 not read (counted or not supported). */
static int nvml_check(struct gpu *g, struct dev *d, uint32_t bit, nvmlReturn_t r)
{
	if (r == NVML_SUCCESS) {
		d->info.valid |= bit;
		return 1;
	}
	if (r == NVML_ERROR_NOT_SUPPORTED)
		d->unsupported |= bit;
	else
		g->st.errors++;
	return 0;
}

static int recs_add(struct gpu *g, uint32_t pid, uint32_t dev, uint64_t mem)
{
	struct prec *p;

	if (g->nrecs == g->recs_cap) {
		size_t cap = g->recs_cap ? g->recs_cap * 2 : 256;

		if (g->recs_cap >= GPU_MAX_RECORDS) {
			g->st.truncated++;
			return -ENOSPC;
		}
		if (cap > GPU_MAX_RECORDS)
			cap = GPU_MAX_RECORDS;
		p = realloc(g->recs, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		g->recs = p;
		g->recs_cap = cap;
	}
	p = &g->recs[g->nrecs++];
	*p = (struct prec){ .pid = pid, .dev = dev, .mem = mem };
	return 0;
}

static size_t buf_bytes(unsigned int cap)
{
	return (size_t)cap * NVML_ENTRY_MAX;
}

static int buf_reserve(struct nvml_buf *b, unsigned int cap)
{
	unsigned char *p;

	if (b->p && b->cap >= cap)
		return 0;
	p = realloc(b->p, buf_bytes(cap) + NVML_GUARD);
	if (!p)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

/* One past the last byte of the array the call changed; 0 if none. */
static size_t buf_extent(const struct nvml_buf *b)
{
	size_t i = buf_bytes(b->cap);

	while (i > 0 && b->p[i - 1] == NVML_FILL)
		i--;
	return i;
}

static bool buf_guard_intact(const struct nvml_buf *b)
{
	const unsigned char *guard = b->p + buf_bytes(b->cap);

	for (size_t i = 0; i < NVML_GUARD; i++)
		if (guard[i] != NVML_FILL)
			return false;
	return true;
}

/* Bytes per entry of the n entries NVML wrote up to extent, expecting
 * expect. The last member of every layout never ends in NVML_FILL (pids
 * are < 2^22, memory sizes < 2^56, instance ids small or 0xffffffff, the
 * utilisation values <= 100), so the size s NVML used gives extent ==
 * n * s exactly. Failing that, expect is still taken when the extent ends
 * inside the last entry of that size (a tail equal to the fill byte by
 * chance), and with others, another known process-entry size that fits
 * exactly. 0: no size fits, the array is not understood. */
static unsigned int entry_size(unsigned int n, size_t extent, unsigned int expect, bool others)
{
	static const unsigned int known[] = { PINFO_V2, PINFO_CC, PINFO_V1 };

	if (n == 0 || extent == (size_t)n * expect)
		return expect;
	for (size_t i = 0; others && i < sizeof(known) / sizeof(known[0]); i++)
		if (extent == (size_t)n * known[i])
			return known[i];
	if (extent > (size_t)(n - 1) * expect && extent < (size_t)n * expect)
		return expect;
	return 0;
}

/* Calls an NVML "fill this array" function with room for nbuf.cap entries
 * of the largest size (so an entry larger than expected still lands inside
 * the array), growing it on INSUFFICIENT_SIZE up to GPU_MAX_DEVICE_PROCS
 * entries. NVML writes nothing when the array is too small, so a list over
 * the bound is lost whole and counted in truncated. The count NVML returns
 * is believed only within the array, and a write into the guard is an
 * overrun. Returns the NVML code or a FILL_* outcome (counted here); *n
 * gets the entries (0 unless success), *extent how far NVML wrote. */
static nvmlReturn_t nvml_fill(struct gpu *g, unsigned int *n, size_t *extent,
			      nvmlReturn_t (*call)(struct gpu *g, struct dev *d, const void *ctx, void *buf,
						   unsigned int *n),
			      struct dev *d, const void *ctx)
{
	struct nvml_buf *b = &g->nbuf;
	nvmlReturn_t r = NVML_ERROR_INSUFFICIENT_SIZE;

	*n = 0;
	*extent = 0;
	if (buf_reserve(b, b->cap ? b->cap : GPU_BUF_START) < 0) {
		g->st.errors++;
		return FILL_NOMEM;
	}
	/* A few tries: processes may start between the size query and the read. */
	for (int tries = 0; tries < 4; tries++) {
		unsigned int want;

		memset(b->p, NVML_FILL, buf_bytes(b->cap) + NVML_GUARD);
		*n = b->cap;
		r = call(g, d, ctx, b->p, n);
		if (!buf_guard_intact(b)) {
			g->st.overruns++;
			*n = 0;
			return FILL_OVERRUN;
		}
		if (r != NVML_ERROR_INSUFFICIENT_SIZE)
			break;
		if (b->cap >= GPU_MAX_DEVICE_PROCS) {
			g->st.truncated++;
			break;
		}
		/* slack for processes starting meanwhile */
		if (*n <= b->cap) /* no size given: double */
			want = b->cap * 2;
		else
			want = *n >= GPU_MAX_DEVICE_PROCS ? GPU_MAX_DEVICE_PROCS : *n + 16;
		if (want > GPU_MAX_DEVICE_PROCS)
			want = GPU_MAX_DEVICE_PROCS;
		if (buf_reserve(b, want) < 0) {
			g->st.errors++;
			*n = 0;
			return FILL_NOMEM;
		}
	}
	if (r != NVML_SUCCESS) {
		*n = 0;
		return r;
	}
	if (*n > b->cap) {
		g->st.untrusted++;
		*n = 0;
		return FILL_UNTRUSTED;
	}
	*extent = buf_extent(b);
	return r;
}

static nvmlReturn_t call_list(struct gpu *g, struct dev *d, const void *ctx, void *buf, unsigned int *n)
{
	const struct plist *pl = ctx;

	(void)g;
	return pl->fn(d->h, n, buf);
}

static nvmlReturn_t call_util(struct gpu *g, struct dev *d, const void *ctx, void *buf, unsigned int *n)
{
	(void)ctx;
	return g->api.proc_util(d->h, buf, n, d->last_seen_us);
}

static int prec_cmp(const void *a, const void *b)
{
	const struct prec *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->dev < y->dev ? -1 : x->dev > y->dev;
}

/* pid in v[from, from + n), sorted; v may be NULL when n is 0. */
static struct prec *prec_find(struct prec *v, size_t from, size_t n, uint32_t pid)
{
	size_t lo = from, hi = from + n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].pid == pid)
			return &v[mid];
		if (v[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Sorts recs[from..] by pid and merges duplicates of one device: a process
 * with compute and graphics contexts is listed twice with the same memory,
 * so take the larger, never the sum. */
static void recs_merge_dev(struct gpu *g, size_t from)
{
	size_t w = from;

	if (g->nrecs - from < 2)
		return; /* also keeps a NULL recs away from qsort */
	qsort_safe(g->recs + from, g->nrecs - from, sizeof(*g->recs), prec_cmp);
	for (size_t i = from; i < g->nrecs; i++) {
		if (w > from && g->recs[w - 1].pid == g->recs[i].pid) {
			if (g->recs[i].mem > g->recs[w - 1].mem)
				g->recs[w - 1].mem = g->recs[i].mem;
			continue;
		}
		g->recs[w++] = g->recs[i];
	}
	g->nrecs = w;
}

/* Reads one process list into records of device di. Returns the NVML
 * code or FILL_* outcome. */
static nvmlReturn_t read_list(struct gpu *g, struct dev *d, uint32_t di, struct plist *pl)
{
	unsigned int n, size;
	size_t extent;
	nvmlReturn_t r = nvml_fill(g, &n, &extent, call_list, d, pl);

	if (r == FILL_OVERRUN) {
		/* It ignored the count once; the next time the guard may not
		 * be enough. */
		pl->fn = NULL;
		pl->overrun = true;
		state_ok(g);
		return r;
	}
	if (r != NVML_SUCCESS)
		return r;
	size = entry_size(n, extent, pl->entry, true);
	if (!size) {
		g->st.untrusted++;
		return FILL_UNTRUSTED;
	}
	if (size != pl->entry) {
		g->st.layout_changes++;
		pl->entry = size;
	}
	for (unsigned int i = 0; i < n; i++) {
		const unsigned char *e = g->nbuf.p + (size_t)i * size;
		unsigned int pid;
		unsigned long long mem;

		memcpy(&pid, e + PINFO_PID_OFF, sizeof(pid));
		memcpy(&mem, e + PINFO_MEM_OFF, sizeof(mem));
		if (pid == 0)
			continue; /* not a process */
		if (mem == NVML_VALUE_NOT_AVAILABLE_ULL)
			mem = 0;
		if (recs_add(g, pid, di, mem) < 0)
			break;
	}
	return r;
}

static void sample_procs(struct gpu *g, struct dev *d, uint32_t di)
{
	const nvmlProcessUtilizationSample_t *samp;
	size_t from = g->nrecs, extent;
	bool have = false, lost = false;
	unsigned int n;
	nvmlReturn_t r;

	for (size_t l = 0; l < sizeof(g->lists) / sizeof(g->lists[0]); l++) {
		if (!g->lists[l].fn)
			continue;
		r = read_list(g, d, di, &g->lists[l]);
		have |= r == NVML_SUCCESS;
		lost |= r != NVML_SUCCESS && r != NVML_ERROR_NOT_SUPPORTED;
		if (r > 0 && r != NVML_ERROR_NOT_SUPPORTED && r != NVML_ERROR_INSUFFICIENT_SIZE)
			g->st.errors++;
	}
	/* A list lost (over the bound, failing, not understood) leaves the
	 * count partial. */
	if (have && !lost)
		d->info.valid |= GPU_HAVE_PROCS;
	recs_merge_dev(g, from);
	d->info.procs = (uint32_t)(g->nrecs - from);

	if (!g->api.proc_util || (d->unsupported & GPU_HAVE_PROC_UTIL))
		return;
	r = nvml_fill(g, &n, &extent, call_util, d, NULL);
	if (r == NVML_ERROR_NOT_FOUND)
		r = NVML_SUCCESS; /* no samples since last_seen: everyone idle */
	if (r == NVML_SUCCESS && !entry_size(n, extent, sizeof(*samp), false)) {
		g->st.untrusted++;
		return;
	}
	if (r < 0 || r == NVML_ERROR_INSUFFICIENT_SIZE || !nvml_check(g, d, GPU_HAVE_PROC_UTIL, r))
		return; /* counted: over the bound, not understood, or failed */
	/* The array is malloc'ed (aligned) and its entry size checked. */
	samp = (const nvmlProcessUtilizationSample_t *)(const void *)g->nbuf.p;
	/* Busy but in neither list (lists unsupported, or it just exited):
	 * still worth reporting, with unknown memory. */
	for (unsigned int i = 0; i < n; i++)
		if (samp[i].pid && !prec_find(g->recs, from, d->info.procs, samp[i].pid) &&
		    recs_add(g, samp[i].pid, di, 0) < 0)
			break;
	recs_merge_dev(g, from);
	d->info.procs = (uint32_t)(g->nrecs - from);
	for (size_t i = from; i < g->nrecs; i++)
		g->recs[i].util_valid = true;
	for (unsigned int i = 0; i < n; i++) {
		struct prec *p = prec_find(g->recs, from, d->info.procs, samp[i].pid);

		if (samp[i].timeStamp > d->last_seen_us)
			d->last_seen_us = samp[i].timeStamp;
		if (!p)
			continue; /* dropped at the records bound */
		/* NVML keeps ~1/6 s samples; the mean of those newer than
		 * last_seen covers the interval since our previous sample. */
		p->util_sum += samp[i].smUtil > 100 ? 100 : samp[i].smUtil;
		p->util_n++;
	}
}

/* Folds the per-device records into one entry per pid. */
static void build_nprocs(struct gpu *g, uint64_t now_ns)
{
	size_t n = 0;

	if (g->nrecs > 1)
		qsort_safe(g->recs, g->nrecs, sizeof(*g->recs), prec_cmp);
	for (size_t i = 0; i < g->nrecs; i++) {
		const struct prec *r = &g->recs[i];
		struct gpu_proc_info *p;

		if (n == 0 || g->nprocs[n - 1].pid != r->pid) {
			if (n == GPU_MAX_PROCS) {
				g->st.truncated++;
				break;
			}
			p = &g->nprocs[n++];
			*p = (struct gpu_proc_info){ .pid = r->pid, .sources = GPU_SRC_NVML, .seen_ns = now_ns };
		}
		p = &g->nprocs[n - 1];
		p->devices++;
		p->mem_bytes += r->mem;
		if (r->util_valid) {
			p->util_valid = true;
			if (r->util_n)
				p->util_pct += (double)r->util_sum / r->util_n;
		}
	}
	g->n_nprocs = n;
}

int gpu_sample(struct gpu *g, uint64_t now_ns)
{
	const struct nvml_api *a = &g->api;
	uint64_t t0 = clock_mono_ns(), dt;

	if (!g->nvml_ok)
		return 0;
	g->nrecs = 0;
	for (uint32_t i = 0; i < g->ndevs; i++) {
		struct dev *d = &g->devs[i];
		struct gpu_device_info *inf = &d->info;
		nvmlUtilization_t u;
		nvmlMemory_t m;
		unsigned int v;

		inf->valid = 0;
		inf->sampled_ns = now_ns;
		if (a->get_util && !(d->unsupported & GPU_HAVE_UTIL) &&
		    nvml_check(g, d, GPU_HAVE_UTIL, a->get_util(d->h, &u))) {
			inf->util_gpu_pct = u.gpu;
			inf->util_mem_pct = u.memory;
		}
		if (a->get_mem && !(d->unsupported & GPU_HAVE_MEM) &&
		    nvml_check(g, d, GPU_HAVE_MEM, a->get_mem(d->h, &m))) {
			inf->mem_total_bytes = m.total;
			inf->mem_used_bytes = m.used;
		}
		if (a->get_temp && !(d->unsupported & GPU_HAVE_TEMP) &&
		    nvml_check(g, d, GPU_HAVE_TEMP, a->get_temp(d->h, NVML_TEMPERATURE_GPU, &v)))
			inf->temp_c = v;
		if (a->get_power && !(d->unsupported & GPU_HAVE_POWER) &&
		    nvml_check(g, d, GPU_HAVE_POWER, a->get_power(d->h, &v)))
			inf->power_mw = v;
		sample_procs(g, d, i);
	}
	build_nprocs(g, now_ns);
	g->gen++;
	g->st.samples++;
	dt = clock_mono_ns() - t0;
	g->st.last_sample_ns = dt;
	if (dt > g->st.max_sample_ns)
		g->st.max_sample_ns = dt;
	return (int)g->ndevs;
}

/* ---- lifetime and accessors ----------------------------------------- */

struct gpu *gpu_new(const struct gpu_opts *o)
{
	const char *path = o ? o->nvml_path : NULL;
	struct gpu *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	if (!path)
		path = getenv(GPU_NVML_ENV);
	if (!path)
		path = GPU_NVML_DEFAULT;
	g->drm = gpu_drm_new(o ? o->procfs : NULL);
	g->nprocs = calloc(GPU_MAX_PROCS, sizeof(*g->nprocs));
	if (!g->drm || !g->nprocs) {
		gpu_free(g);
		errno = ENOMEM;
		return NULL;
	}
	nvml_load(g, path);
	return g;
}

struct gpu *gpu_free(struct gpu *g)
{
	if (!g)
		return NULL;
	if (g->nvml_ok)
		g->api.shutdown();
	if (g->lib)
		dlclose(g->lib);
	free(g->devs);
	free(g->nbuf.p);
	free(g->recs);
	free(g->nprocs);
	gpu_drm_free(g->drm);
	free(g);
	return NULL;
}

int gpu_scan_drm(struct gpu *g, const uint32_t *pids, size_t n, uint64_t now_ns)
{
	g->gen++;
	return gpu_drm_scan(g->drm, pids, n, now_ns, g->nvml_ok);
}

const char *gpu_state(const struct gpu *g)
{
	return g->state;
}

const char *gpu_driver_version(const struct gpu *g)
{
	return g->driver;
}

uint64_t gpu_generation(const struct gpu *g)
{
	return g->gen;
}

bool gpu_nvml_ok(const struct gpu *g)
{
	return g->nvml_ok;
}

size_t gpu_device_count(const struct gpu *g)
{
	return g->ndevs;
}

int gpu_device(const struct gpu *g, size_t i, struct gpu_device_info *ret)
{
	if (i >= g->ndevs)
		return -ENOENT;
	*ret = g->devs[i].info;
	return 0;
}

static const struct gpu_proc_info *procs_find(const struct gpu_proc_info *v, size_t n, uint32_t pid)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].pid == pid)
			return &v[mid];
		if (v[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void proc_merge(const struct gpu *g, struct gpu_proc_info *dst, const struct gpu_proc_info *a,
		       const struct gpu_proc_info *b)
{
	if (!a || !b) {
		*dst = a ? *a : *b;
	} else {
		*dst = *a;
		dst->sources |= b->sources;
		dst->devices += b->devices;
		dst->util_valid |= b->util_valid;
		dst->util_pct += b->util_pct;
		dst->mem_bytes = sat_add(dst->mem_bytes, b->mem_bytes);
		if (b->seen_ns > dst->seen_ns)
			dst->seen_ns = b->seen_ns;
	}
	/* Both tables hold only the latest sample and scan: all current. */
	dst->gen = g->gen;
}

int gpu_process(const struct gpu *g, uint32_t pid, struct gpu_proc_info *ret)
{
	const struct gpu_proc_info *a = procs_find(g->nprocs, g->n_nprocs, pid);
	size_t nd;
	const struct gpu_proc_info *d = gpu_drm_procs(g->drm, &nd);
	const struct gpu_proc_info *b = procs_find(d, nd, pid);

	if (!a && !b)
		return -ENOENT;
	proc_merge(g, ret, a, b);
	return 0;
}

void gpu_foreach_process(const struct gpu *g, int (*fn)(const struct gpu_proc_info *p, void *ctx), void *ctx)
{
	size_t i = 0, j = 0, nd;
	const struct gpu_proc_info *d = gpu_drm_procs(g->drm, &nd);

	while (i < g->n_nprocs || j < nd) {
		const struct gpu_proc_info *a = i < g->n_nprocs ? &g->nprocs[i] : NULL;
		const struct gpu_proc_info *b = j < nd ? &d[j] : NULL;
		struct gpu_proc_info p;

		if (a && b && a->pid != b->pid) {
			if (a->pid < b->pid)
				b = NULL;
			else
				a = NULL;
		}
		proc_merge(g, &p, a, b);
		i += a != NULL;
		j += b != NULL;
		if (fn(&p, ctx))
			return;
	}
}

void gpu_get_stats(const struct gpu *g, struct gpu_stats *ret)
{
	*ret = g->st;
	gpu_drm_get_stats(g->drm, ret);
}
