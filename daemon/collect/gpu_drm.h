/* SPDX-License-Identifier: GPL-2.0-only */
/* DRM per-client GPU usage from /proc/PID/fdinfo, for any driver that
 * follows Documentation/gpu/drm-usage-stats.rst (amdgpu, i915, xe, msm,
 * panfrost, ...): a pure parser for one fdinfo text, and a client table
 * that de-duplicates shared clients and turns busy-time counters into
 * rates between scan rounds. Used by gpu.c; pure (no logging). */
#ifndef PROFD_GPU_DRM_H
#define PROFD_GPU_DRM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collect/gpu.h"

#define GPU_DRM_MAX_CLIENTS 4096     /* distinct DRM clients tracked */
#define GPU_DRM_MAX_ENGINES 16       /* engines per DRM client */
#define GPU_DRM_MAX_FDS 4096         /* fds looked at per process per scan */
#define GPU_DRM_MAX_PIDS 65536       /* processes looked at per scan of all procfs */
#define GPU_DRM_FDINFO_MAX 16384     /* bytes read of one fdinfo file */
#define GPU_DRM_KEY_MAX 32           /* driver, pdev and engine names */

/* DRM fdinfo parser, pure, for one fdinfo text. */
struct gpu_drm_engine {
	char name[GPU_DRM_KEY_MAX];
	uint64_t busy_ns;        /* drm-engine-<name> */
	uint64_t cycles;         /* drm-cycles-<name> */
	uint64_t total_cycles;   /* drm-total-cycles-<name> */
	uint32_t capacity;       /* drm-engine-capacity-<name>, 1 if absent */
	bool has_busy, has_cycles, has_total_cycles;
};

struct gpu_drm_fdinfo {
	char driver[GPU_DRM_KEY_MAX];    /* drm-driver */
	char pdev[GPU_DRM_KEY_MAX];      /* drm-pdev, "" if absent */
	uint64_t client_id;              /* drm-client-id */
	bool has_client_id;
	uint32_t n_engines;
	struct gpu_drm_engine engines[GPU_DRM_MAX_ENGINES];
	uint64_t resident_bytes;         /* sum of drm-resident-<region> */
	uint64_t memory_bytes;           /* sum of drm-memory-<region> (deprecated alias) */
	uint64_t total_bytes;            /* sum of drm-total-<region> */
	bool has_resident, has_memory, has_total;
	uint32_t malformed;              /* drm- lines not understood */
	uint32_t engines_dropped;        /* engines over GPU_DRM_MAX_ENGINES */
};

/* Parses buf (len bytes, need not be NUL-terminated). 0 on success;
 * -ENOENT when there is no drm-driver line (not a DRM fd). Malformed lines
 * are counted and skipped; unknown keys are ignored. */
int gpu_drm_parse_fdinfo(const char *buf, size_t len, struct gpu_drm_fdinfo *ret);
/* Bytes the client holds: resident if reported, else the deprecated
 * drm-memory alias, else total; summed over regions. */
uint64_t gpu_drm_fdinfo_mem(const struct gpu_drm_fdinfo *f);

struct gpu_drm;

/* procfs: "/proc" or a fixture root. NULL with errno on failure. */
struct gpu_drm *gpu_drm_new(const char *procfs);
struct gpu_drm *gpu_drm_free(struct gpu_drm *d);

/* One scan round; see gpu_scan_drm() in gpu.h. Clients of drivers named
 * "nvidia*" are skipped when skip_nvidia (NVML already counts them).
 * Returns the number of clients, or -errno when procfs is unreadable. */
int gpu_drm_scan(struct gpu_drm *d, const uint32_t *pids, size_t n, uint64_t now_ns, bool skip_nvidia);
/* Per-pid results of the last round, sorted by pid; valid until the next
 * scan. */
const struct gpu_proc_info *gpu_drm_procs(const struct gpu_drm *d, size_t *ret_n);
/* Sets the drm_* counters and last_scan_ns in ret; other fields untouched. */
void gpu_drm_get_stats(const struct gpu_drm *d, struct gpu_stats *ret);

#endif
