/* SPDX-License-Identifier: GPL-2.0-only */
/* System counters from /proc: CPU jiffies (/proc/stat) and busy % between
 * two snapshots, memory (/proc/meminfo), load (/proc/loadavg), pressure
 * stall information (/proc/pressure/{cpu,memory,io}) and uptime.
 *
 * Pure parsers take a buffer; readers take an injectable procfs root
 * ("/proc" or a fixture tree). Malformed lines are skipped and counted,
 * never fatal; nothing here logs. */
#ifndef PROFD_SYSSTAT_H
#define PROFD_SYSSTAT_H

#include <stddef.h>
#include <stdint.h>

/* Bound on per-CPU entries (the kernel's NR_CPUS on distribution kernels
 * is 8192 at most; larger hosts are rare enough to be counted, not
 * served). CPU ids at or above the snapshot's max are skipped. */
#define SYSSTAT_MAX_CPUS 4096u

/* Jiffies (USER_HZ ticks) of one CPU, or of all of them. guest and
 * guest_nice are already included in user and nice by the kernel, so they
 * are not kept. Fields a kernel does not print read as 0. */
struct sysstat_cpu_times {
	uint32_t id;      /* CPU number; UINT32_MAX for the "cpu" total */
	uint32_t pad;
	uint64_t user, nice, system, idle, iowait, irq, softirq, steal;
};

/* One /proc/stat snapshot: allocate with sysstat_cpu_new(). */
struct sysstat_cpu {
	uint32_t max_cpus;    /* capacity of cpu[] */
	uint32_t ncpu;        /* entries filled, ascending id (online CPUs only) */
	uint32_t skipped;     /* malformed, out-of-order or beyond-bound cpu lines */
	uint32_t has_total;   /* 1 when the "cpu" line parsed */
	uint64_t ctxt;        /* context switches since boot */
	uint64_t processes;   /* forks since boot */
	uint64_t procs_running;
	uint64_t procs_blocked;
	uint64_t btime;       /* boot time, seconds since the epoch */
	struct sysstat_cpu_times total;
	struct sysstat_cpu_times cpu[];
};

/* max_cpus: 1..SYSSTAT_MAX_CPUS (0 means SYSSTAT_MAX_CPUS). NULL with errno
 * (EINVAL, ENOMEM) on failure. */
struct sysstat_cpu *sysstat_cpu_new(uint32_t max_cpus);
struct sysstat_cpu *sysstat_cpu_free(struct sysstat_cpu *s);

/* Parse /proc/stat text buf[0..n) into s (reset first). Returns 0, or
 * -EINVAL when no "cpu" total line parsed (s then holds what did). */
int sysstat_parse_cpu(const char *buf, size_t n, struct sysstat_cpu *s);
/* Read procfs/stat into s, streaming (the intr line alone can be tens of
 * KiB on big hosts). 0 or -errno. */
int sysstat_read_cpu(const char *procfs, struct sysstat_cpu *s);

/* Busy % between snapshots prev and cur (cur taken later): busy = user +
 * nice + system + irq + softirq + steal, over busy + idle + iowait. Steal
 * counts as busy because the CPU was not available to this host's tasks.
 * *ret_total (may be NULL) gets the all-CPU figure; ret_per_cpu (may be
 * NULL, n entries) gets one value per cur->cpu[i], same index. A value is
 * -1 when unknown: no elapsed jiffies, a CPU absent from prev (hotplug), or
 * counters that went backwards. Returns the number of per-CPU values
 * written (min(n, cur->ncpu)) or -EINVAL. */
int sysstat_cpu_busy(const struct sysstat_cpu *prev, const struct sysstat_cpu *cur, double *ret_total, double *ret_per_cpu, size_t n);

/* /proc/meminfo, in bytes. */
#define SYSSTAT_MEM_TOTAL     (1u << 0)
#define SYSSTAT_MEM_FREE      (1u << 1)
#define SYSSTAT_MEM_AVAILABLE (1u << 2) /* kernels >= 3.14 */
#define SYSSTAT_MEM_BUFFERS   (1u << 3)
#define SYSSTAT_MEM_CACHED    (1u << 4)
#define SYSSTAT_MEM_SWAPTOTAL (1u << 5)
#define SYSSTAT_MEM_SWAPFREE  (1u << 6)
#define SYSSTAT_MEM_SHMEM     (1u << 7)

struct sysstat_meminfo {
	uint32_t valid;      /* SYSSTAT_MEM_* */
	uint32_t errors;     /* known keys with malformed or overflowing values */
	uint64_t total, free, available, buffers, cached, swap_total, swap_free, shmem;
};

/* Parse /proc/meminfo into ret (reset first). Returns the number of fields
 * set, or -EINVAL on NULL arguments. */
int sysstat_parse_meminfo(const char *buf, size_t n, struct sysstat_meminfo *ret);
/* 0 or -errno (open/read), ret reset even when nothing parsed. */
int sysstat_read_meminfo(const char *procfs, struct sysstat_meminfo *ret);

/* /proc/loadavg: "1.35 1.59 0.86 1/94 21456". */
struct sysstat_loadavg {
	double load1, load5, load15;
	uint32_t runnable;   /* tasks running or runnable now */
	uint32_t total;      /* tasks (threads) in the system */
	uint32_t last_pid;
};

/* 0, or -EINVAL (ret untouched) when any field is malformed. */
int sysstat_parse_loadavg(const char *buf, size_t n, struct sysstat_loadavg *ret);
int sysstat_read_loadavg(const char *procfs, struct sysstat_loadavg *ret);

/* /proc/uptime: seconds since boot and summed idle seconds of all CPUs,
 * to the centisecond the kernel prints. */
struct sysstat_uptime {
	uint64_t uptime_ns;
	uint64_t idle_ns;
};

int sysstat_parse_uptime(const char *buf, size_t n, struct sysstat_uptime *ret);
int sysstat_read_uptime(const char *procfs, struct sysstat_uptime *ret);

/* Pressure stall information of one resource. "some": share of wall time
 * in which at least one task stalled on it; "full": all non-idle tasks
 * stalled at once (for cpu, system-wide "full" exists since 5.13 and is
 * always 0). avg* in percent; total in µs since boot. */
struct sysstat_psi_line {
	double avg10, avg60, avg300;
	uint64_t total_us;
};

#define SYSSTAT_PSI_SOME (1u << 0)
#define SYSSTAT_PSI_FULL (1u << 1)

struct sysstat_psi {
	uint32_t valid;      /* SYSSTAT_PSI_*; 0: not available */
	uint32_t errors;
	struct sysstat_psi_line some, full;
};

struct sysstat_pressure {
	struct sysstat_psi cpu, memory, io;
};

/* Parse one /proc/pressure/<resource> file into ret (reset first). Returns
 * the number of lines parsed, or -EINVAL on NULL arguments. */
int sysstat_parse_psi(const char *buf, size_t n, struct sysstat_psi *ret);
/* Read cpu, memory and io pressure. A missing file (no CONFIG_PSI) or a
 * refused read (booted with psi=0: EOPNOTSUPP) leaves that resource's valid
 * at 0 and is not an error. Returns how many resources are available. */
int sysstat_read_pressure(const char *procfs, struct sysstat_pressure *ret);

#endif
