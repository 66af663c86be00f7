/* SPDX-License-Identifier: GPL-2.0-only */
/* GPU counters: NVIDIA devices through NVML, loaded with dlopen at run time
 * (no build dependency, no driver needed to run), and any DRM driver's
 * per-client usage from /proc/PID/fdinfo (Documentation/gpu/
 * drm-usage-stats.rst). Not thread-safe: one owner calls everything.
 *
 * Cost: NVML calls take tens of ms on real hardware (more without
 * persistence mode), so gpu_sample() must be called at most once per tick
 * or from a worker thread that owns the struct gpu and copies results out;
 * its duration is in gpu_stats.last_sample_ns. gpu_new() runs nvmlInit,
 * which can take a second or more on a host without persistence mode.
 * gpu_scan_drm() reads only fds whose /proc/PID/fd link is in /dev/dri. */
#ifndef PROFD_GPU_H
#define PROFD_GPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GPU_NVML_DEFAULT "libnvidia-ml.so.1"
#define GPU_NVML_ENV "PROFD_NVML_LIBRARY"

#define GPU_MAX_DEVICES 64           /* NVML devices read; more are counted in truncated */
#define GPU_MAX_DEVICE_PROCS 4096    /* processes per device per list */
#define GPU_MAX_PROCS 4096           /* distinct pids in the per-process tables */
#define GPU_NAME_MAX 96              /* NVML_DEVICE_NAME_V2_BUFFER_SIZE, UUID_V2 too */
#define GPU_DRIVER_MAX 80            /* NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE */

struct gpu;

struct gpu_opts {
	const char *nvml_path; /* NULL: $PROFD_NVML_LIBRARY, else GPU_NVML_DEFAULT;
				  "": NVML disabled */
	const char *procfs;    /* NULL: "/proc" */
};

/* gpu_device_info.valid bits: the field was read in the last sample. */
#define GPU_HAVE_UTIL      (1u << 0) /* util_gpu_pct, util_mem_pct */
#define GPU_HAVE_MEM       (1u << 1) /* mem_used_bytes, mem_total_bytes */
#define GPU_HAVE_TEMP      (1u << 2)
#define GPU_HAVE_POWER     (1u << 3)
#define GPU_HAVE_PROCS     (1u << 4) /* procs (running process lists) */
#define GPU_HAVE_PROC_UTIL (1u << 5) /* per-process SM utilisation */

struct gpu_device_info {
	uint32_t index;               /* NVML index */
	char name[GPU_NAME_MAX];      /* "" if unknown */
	char uuid[GPU_NAME_MAX];      /* "GPU-..." or "" */
	uint32_t valid;               /* GPU_HAVE_* */
	uint32_t util_gpu_pct;        /* % of the last NVML sample period a kernel ran */
	uint32_t util_mem_pct;        /* % of it device memory was read or written */
	uint64_t mem_used_bytes;
	uint64_t mem_total_bytes;
	uint32_t temp_c;              /* GPU die, degrees Celsius */
	uint32_t power_mw;            /* board power draw, milliwatts */
	uint32_t procs;               /* distinct pids in the running process lists */
	uint64_t sampled_ns;          /* now_ns of the sample that read it */
};

#define GPU_SRC_NVML (1u << 0)
#define GPU_SRC_DRM  (1u << 1)

/* Handed out for processes of the latest view only (see gpu_generation). */
struct gpu_proc_info {
	uint32_t pid;
	uint32_t sources;     /* GPU_SRC_* that reported it */
	uint32_t devices;     /* NVML devices plus DRM devices it uses */
	bool util_valid;      /* false until two samples/scans give a rate */
	double util_pct;      /* busy % of one device, summed over devices (so it
				 can exceed 100 like top's CPU %): NVML SM util,
				 DRM busiest engine of the device */
	uint64_t mem_bytes;   /* NVML used GPU memory + DRM resident bytes */
	uint64_t gen;         /* gpu_generation() of the view that reported it:
				 values stored with it are current while
				 gpu_generation() still returns this */
	uint64_t seen_ns;     /* now_ns of the newest gpu_sample() or
				 gpu_scan_drm() that listed it */
};

struct gpu_stats {
	uint64_t samples;          /* gpu_sample() calls that reached NVML */
	uint64_t errors;           /* NVML calls failing (not "not supported") */
	uint64_t truncated;        /* devices or processes over a bound */
	uint64_t layout_changes;   /* NVML filled process entries of another size
				      than expected (detected, then used) */
	uint64_t untrusted;        /* NVML arrays dropped: count beyond the
				      array, or bytes written fit no known layout */
	uint64_t overruns;         /* NVML wrote past an array (into its guard):
				      that list is never called again */
	uint64_t last_sample_ns;   /* wall duration of the last gpu_sample() */
	uint64_t max_sample_ns;
	uint64_t drm_scans;
	uint64_t drm_fds_read;     /* fdinfo files read */
	uint64_t drm_clients;      /* distinct clients after the last scan */
	uint64_t drm_duplicates;   /* fds skipped: client already counted */
	uint64_t drm_malformed;    /* fdinfo lines not in the documented format */
	uint64_t drm_read_errors;  /* fd/fdinfo unreadable (races, permissions) */
	uint64_t drm_truncated;    /* clients, engines, fds or pids over a bound */
	uint64_t last_scan_ns;     /* wall duration of the last gpu_scan_drm() */
};

/* Loads NVML if it can; an absent or broken library is not an error, only a
 * state (see gpu_state). Reads $PROFD_NVML_LIBRARY only when o->nvml_path is
 * NULL. Returns NULL with errno set on allocation failure only. */
struct gpu *gpu_new(const struct gpu_opts *o);
/* nvmlShutdown + dlclose. NULL-safe; returns NULL. */
struct gpu *gpu_free(struct gpu *g);

/* "ok: 2 NVIDIA devices (driver 550.54.15)" (no parenthesis when the
 * driver does not say), "no NVIDIA driver (<dlerror>)", "NVML error: ...",
 * "NVML disabled". Valid until the next call on g. */
const char *gpu_state(const struct gpu *g);
/* nvmlSystemGetDriverVersion (printable ASCII only), "" if unknown. */
const char *gpu_driver_version(const struct gpu *g);
/* true when NVML is loaded and initialised. */
bool gpu_nvml_ok(const struct gpu *g);

/* Reads every NVML device and its processes. now_ns stamps the results
 * (any clock, the caller's). Returns the number of devices read, 0 without
 * NVML; a failing device metric is counted in errors, never fatal. The NVML
 * processes of the previous sample are replaced by this sample's: a process
 * that stopped using the GPU is no longer listed. Starts a new generation
 * when NVML is loaded. */
int gpu_sample(struct gpu *g, uint64_t now_ns);

/* One DRM scan round over the given pids (pids NULL: every numeric entry of
 * procfs, bounded by GPU_DRM_MAX_PIDS). Clients are de-duplicated by (driver,
 * pdev, client-id) and attributed to one pid (the previous owner while it
 * still holds the client, else the first pid seen); clients not seen in the
 * round are forgotten. Engine % is the busy-time delta against the previous
 * round divided by the now_ns delta (monotonic ns) times capacity. Returns
 * the number of clients found, or -errno when procfs itself is unreadable
 * (the DRM view is then empty: nothing is known). Starts a new generation. */
int gpu_scan_drm(struct gpu *g, const uint32_t *pids, size_t n, uint64_t now_ns);

size_t gpu_device_count(const struct gpu *g);
/* 0, or -ENOENT when i is out of range (ret untouched). */
int gpu_device(const struct gpu *g, size_t i, struct gpu_device_info *ret);
/* The view: the NVML processes of the latest gpu_sample() merged with the
 * DRM clients of the latest gpu_scan_drm(). Its generation counts the
 * calls that rebuilt it (0 before the first); every gpu_proc_info handed
 * out carries it in gen. A caller that keeps per-process GPU values stamps
 * them with p->gen and treats them as gone (0 %, 0 bytes) once
 * gpu_generation() has moved past the stamp: the process was not in the
 * newer view. */
uint64_t gpu_generation(const struct gpu *g);
/* Merged NVML + DRM view of pid. 0, or -ENOENT if pid is not in the latest
 * view (no GPU use known now). */
int gpu_process(const struct gpu *g, uint32_t pid, struct gpu_proc_info *ret);
/* Every process of the latest view, in pid order, each with gen ==
 * gpu_generation(); fn returns non-zero to stop. */
void gpu_foreach_process(const struct gpu *g, int (*fn)(const struct gpu_proc_info *p, void *ctx), void *ctx);
void gpu_get_stats(const struct gpu *g, struct gpu_stats *ret);

#endif
