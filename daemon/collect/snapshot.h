/* SPDX-License-Identifier: GPL-2.0-only */
/* Snapshot: what one collector round read, immutable once handed to the
 * loop: per-process /proc deltas and gauges, scheduler and block-I/O
 * deltas, identities and units, processes gone, system figures, the GPU
 * view. Keyed by (pid, start time), never by process-table id: the table
 * belongs to the loop, which applies a snapshot with resources_apply. The
 * builders below are for the collector's side. */
#ifndef PROFD_SNAPSHOT_H
#define PROFD_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "collect/gpu.h"
#include "collect/kstats.h"
#include "collect/sysstat.h"
#include "store/proctable.h"
#include "store/window.h"

/* A process, as its requester names it. */
struct collect_key {
	uint32_t pid;
	uint32_t pad;
	uint64_t start_ns; /* boot ns, as BPF reports it */
};

/* snap_proc.flags */
#define SNAP_GONE     (1u << 0) /* gone from /proc, or its pid reused: only the key is valid */
#define SNAP_READ     (1u << 1) /* gauges (valid bits) and deltas read */
#define SNAP_BASELINE (1u << 2) /* first read of this process: deltas are 0 */
#define SNAP_IDENT    (1u << 3) /* answer to a want: extra holds the identity */
#define SNAP_FOUND    (1u << 4) /* found by the scan (not asked for): extra holds the identity */
#define SNAP_UNIT     (1u << 5) /* extra holds the unit and container (cgroup read) */

struct snap_proc {
	uint32_t pid;
	uint32_t flags;      /* SNAP_* */
	uint64_t start_ns;   /* the key: the requester's, or /proc's start converted */
	uint32_t valid;      /* PROCSTAT_RSS | PROCSTAT_THREADS | PROCSTAT_FDS of the gauges */
	uint32_t extra;      /* index into extras + 1; 0: none */
	uint64_t rss, threads, fds;
	uint64_t minflt, majflt, rbytes, wbytes; /* since this process's previous read */
};

struct snap_extra {
	struct proc_identity id; /* SNAP_IDENT, SNAP_FOUND; strings owned until taken */
	uint32_t want_flags;     /* PROCTABLE_WANT_* of the want answered */
	char unit[128];
	char container[16];
};

/* Scheduler and block-I/O deltas of one process since the previous read
 * (or its final ones: exited). */
struct snap_sched {
	uint32_t pid;
	uint32_t exited;     /* final counters: the process is gone */
	uint64_t start_ns;   /* BPF's start time */
	char comm[16];       /* exited: its comm; else "" */
	struct wcounters wc;
};

struct snap_system {
	int cpu_ok;              /* two /proc/stat reads: the figures below hold */
	double cpu_pct;          /* busy % of all CPUs since the previous round */
	double steal_pct;        /* steal % of all CPUs since the previous round */
	uint64_t busy_ns, elapsed_ns, steal_ns; /* CPU time since the previous round, all CPUs */
	uint32_t ncpu;           /* entries of per_cpu: highest CPU id seen since start + 1 */
	double *per_cpu;         /* busy % by CPU id; -1: offline now or unknown */
	int mem_ok, load_ok, psi_ok;
	struct sysstat_meminfo mem;
	struct sysstat_loadavg load;
	struct sysstat_pressure psi;
};

struct snap_gpu_proc {
	uint32_t pid;
	uint32_t util_valid;
	double util_pct;         /* % of one device, summed over devices */
	uint64_t mem_bytes;
};

struct snap_gpu {
	int fresh;               /* a new view was taken this round (below) */
	uint64_t gen;            /* gpu_generation() of that view */
	uint64_t interval_ns;    /* time since the previous view: what its
				  * utilisation % is a share of */
	char state[160];         /* gpu_state(), "" while unknown */
	uint32_t ndev;
	struct gpu_device_info *dev;
	uint32_t nproc;
	struct snap_gpu_proc *proc;
};

struct collector_stats {
	uint64_t rounds;          /* rounds run */
	uint64_t rounds_skipped;  /* rounds not run: COLLECT_QUEUE_MAX snapshots unapplied */
	uint64_t proc_reads;      /* per-process /proc reads */
	uint64_t proc_read_fail;  /* of which: process gone or unreadable */
	uint64_t handle_reads;    /* of which: through held handles */
	uint64_t handles;         /* handles held now */
	uint64_t followed;        /* processes followed now */
	uint64_t follow_full;     /* processes not followed: max_procs reached */
	uint64_t found;           /* processes found by the /proc scan */
	uint64_t identities;      /* identity reads (wants answered) */
	uint64_t wants_dropped;   /* wants refused: max_procs already queued */
	uint64_t active_dropped;  /* active processes refused: request queue full */
	uint64_t last_round_ns, max_round_ns; /* wall time of a round */
	uint64_t last_round_procs;/* processes read in the last round */
	uint64_t lead_ns;         /* how early before the tick a round starts */
	uint64_t kstats_ns;       /* the last BPF counter read */
	uint64_t kstats_procs, kstats_exit_records, kstats_dropped; /* kstats_get_stats */
	/* block I/O per unit (cgio_stats) */
	uint64_t cgio_cgroups, cgio_full, cgio_walks, cgio_unit_bytes, cgio_other_bytes, cgio_unknown_bytes;
};

/* Block I/O charged to a systemd unit's cgroups in the round (collect/
 * cgio.h): writeback included where the kernel tags it (cgroup v2). */
struct snap_unit_io {
	char unit[128];
	uint64_t rbytes, wbytes, rreqs, wreqs;
};

struct res_snapshot {
	uint64_t seq;            /* rounds since start (skipped ones included) */
	uint64_t read_ns;        /* CLOCK_BOOTTIME in the slot its data belong to */
	struct snap_proc *procs;
	uint32_t nprocs, pcap;
	struct snap_extra *extras;
	uint32_t nextras, xcap;
	struct snap_sched *sched;
	uint32_t nsched, scap;
	struct snap_unit_io *units;
	uint32_t nunits, ucap;
	struct snap_system sys;
	struct snap_gpu gpu;
	struct collector_stats stats; /* as of this round */
	/* which kernel counter families are exact (kstats_describe, made on
	 * the collector's thread, which owns kstats) */
	struct kstats_exactness exact;
};

/* Builders: a new record (zeroed but for its key and flags), the extra of
 * a record (made on first use), a scheduler record. NULL: no memory (the
 * data are then lost for this round only: deltas carry over). */
struct snap_proc *snapshot_proc(struct res_snapshot *s, uint32_t pid, uint64_t start_ns, uint32_t flags);
struct snap_extra *snapshot_extra(struct res_snapshot *s, struct snap_proc *r);
struct snap_sched *snapshot_sched(struct res_snapshot *s, uint32_t pid, uint64_t start_ns);
struct snap_unit_io *snapshot_unit_io(struct res_snapshot *s, const char *unit);
/* Forget the contents (free the identity strings not taken), keep the
 * memory for the next round. */
void snapshot_clear(struct res_snapshot *s);
struct res_snapshot *snapshot_free(struct res_snapshot *s);

#endif
