/* SPDX-License-Identifier: GPL-2.0-only */
/* selfcost: what profd itself costs the host, as the kernel accounts it.
 *
 * - CPU: the whole process from CLOCK_PROCESS_CPUTIME_ID (the scheduler's
 *   sum_exec_runtime of every thread, exited ones included: what
 *   /proc/PID/stat's utime + stime add up to, in ns instead of ticks), and
 *   per thread from /proc/self/task/TID/schedstat, summed by the role the
 *   thread's name gives (base/threads.h). Time of threads that exited
 *   between two reads, or never named themselves, is "other".
 * - BPF: run_time_ns and run_cnt of every program profd loaded
 *   (bpf_prog_info), summed by what the program does. The kernel counts
 *   them only while BPF statistics are enabled (kernel.bpf_stats_enabled,
 *   or a BPF_ENABLE_STATS fd someone holds); selfcost says whether they
 *   were, and over how much of each window.
 *
 * selfcost_tick records a snapshot into a ring at most once a second;
 * selfcost_get reports the last minute (newest snapshot against the one a
 * minute before it, or the oldest while profd is younger) and the time
 * since start. Pure over its inputs: the task directory and the sysctl are
 * paths, and selfcost_record takes a snapshot made elsewhere (tests). */
#ifndef PROFD_COLLECT_SELFCOST_H
#define PROFD_COLLECT_SELFCOST_H

#include <stddef.h>
#include <stdint.h>

/* Thread roles, by name prefix (base/threads.h). */
enum selfcost_role {
	SC_ROLE_LOOP,       /* the main thread: the loop, ticks, ingestion, pushers, status */
	SC_ROLE_COLLECTOR,  /* /proc, BPF counter maps, GPU */
	SC_ROLE_SYMBOLS,    /* symbol loader threads (exec, identify, load) */
	SC_ROLE_DEBUGINFOD, /* debuginfod fetches */
	SC_ROLE_UNWIND,     /* unwind table builder */
	SC_ROLE_QUERY,      /* query worker: top, export */
	SC_ROLE_NOTIFY,     /* alert delivery */
	SC_ROLE_OTHER,      /* exited threads, unnamed ones */
	SC_ROLE_NR,
};

/* BPF programs, by name (bpf/ *.bpf.c). */
enum selfcost_prog {
	SC_PROG_SAMPLE,        /* profd_sample, profd_sample_unwind: one run per CPU sample */
	SC_PROG_SCHED_SWITCH,  /* profd_sched_switch: per context switch */
	SC_PROG_SCHED_WAKEUP,  /* profd_sched_wakeup, _wakeup_new */
	SC_PROG_SCHED_RUNTIME, /* profd_sched_runtime: per runtime update (tick, switch) */
	SC_PROG_SCHED_FORK,    /* profd_sched_fork */
	SC_PROG_PROC,          /* profd_exec, profd_exit, profd_unw_exec */
	SC_PROG_BLKIO,         /* profd_io_start, profd_rq_* */
	SC_PROG_OTHER,
	SC_PROG_NR,
};

/* Who keeps BPF statistics on. */
enum selfcost_bpf_stats {
	SC_STATS_OFF,    /* off: BPF run time is not measured */
	SC_STATS_PROFD,  /* profd holds a BPF_ENABLE_STATS fd ([daemon] bpf_stats = yes) */
	SC_STATS_SYSCTL, /* kernel.bpf_stats_enabled = 1 */
	SC_STATS_OTHER,  /* another process holds them on (programs' run counts grow) */
};

#define SC_MAX_THREADS 64 /* threads followed; more are "other" */
#define SC_MAX_PROGS 32   /* programs accounted; more are ignored (counted) */
#define SC_RING 64        /* snapshots, one per second at most: > 1 minute */
#define SC_WINDOW_NS (60 * 1000000000ull)
#define SC_MIN_STEP_NS (1000000000ull - 50000000ull) /* ~1 s, ticks jitter */

/* One reading; every figure cumulative. */
struct selfcost_sample {
	uint64_t mono_ns;                 /* CLOCK_MONOTONIC of the reading */
	uint64_t cpu_ns;                  /* the whole process */
	uint64_t role_ns[SC_ROLE_NR];     /* by role; OTHER = cpu_ns - the rest */
	uint64_t prog_ns[SC_PROG_NR];     /* BPF run time, while statistics were on */
	uint64_t prog_runs[SC_PROG_NR];   /* BPF runs, while statistics were on */
	uint64_t stats_on_ns;             /* time statistics were on, since start */
};

struct selfcost_opts {
	const char *task_dir;    /* "/proc/self/task", or a fixture */
	const char *stats_sysctl;/* "/proc/sys/kernel/bpf_stats_enabled"; NULL: not read */
	uint64_t start_mono_ns;  /* CLOCK_MONOTONIC when profd started; 0: the
				  * process's start time (/proc/self/stat) */
	uint32_t self_tid;       /* the loop's tid (the process's pid) */
};

/* What status shows. Percentages are of one CPU; NaN where unknown (BPF
 * figures while statistics were off for the whole window). */
struct selfcost_stats {
	uint32_t bpf_stats;               /* enum selfcost_bpf_stats, now */
	uint32_t progs;                   /* programs accounted */
	uint64_t progs_ignored;           /* programs past SC_MAX_PROGS */
	uint64_t read_failures;           /* thread or program reads that failed */
	/* the last minute */
	double window_s;                  /* its length: 60 s, less after start */
	double bpf_covered_s;             /* of it, with BPF statistics on */
	double total_pct, cpu_pct, bpf_pct;
	double role_pct[SC_ROLE_NR];
	double prog_pct[SC_PROG_NR];
	double prog_ns_per_run[SC_PROG_NR];
	double prog_runs_per_s[SC_PROG_NR];
	/* since start */
	double uptime_s;
	double total_pct_start, cpu_pct_start, bpf_pct_start;
	double bpf_covered_s_start;
	uint64_t cpu_ns;                  /* cumulative, the whole process */
	uint64_t role_ns[SC_ROLE_NR];
	uint64_t prog_ns[SC_PROG_NR], prog_runs[SC_PROG_NR];
	uint64_t bpf_ns, bpf_runs;
};

struct selfcost;

int selfcost_new(const struct selfcost_opts *o, struct selfcost **ret);
/* Closes the statistics descriptor, if held: the kernel turns BPF
 * statistics off again unless someone else keeps them on. */
struct selfcost *selfcost_free(struct selfcost *sc);

/* Turn BPF statistics on for as long as sc lives: bpf(BPF_ENABLE_STATS)
 * gives a descriptor the kernel counts as one holder, so the sysctl's own
 * value is left alone and the statistics go off when profd exits, however
 * it exits. Needs CAP_SYS_ADMIN: call before privileges are dropped. 0 or
 * -errno (the statistics stay as they were). */
int selfcost_hold_stats(struct selfcost *sc);

/* Account program fd (profd keeps it open) under its name's group. The
 * fd is used, not owned; call selfcost_forget_progs before closing it.
 * 0, or -ENOSPC past SC_MAX_PROGS (counted). */
int selfcost_add_prog(struct selfcost *sc, const char *name, int fd);
/* Stop reading every program (their objects are about to be freed). */
void selfcost_forget_progs(struct selfcost *sc);
/* Role of a thread name; group of a program name. Exposed for tests. */
enum selfcost_role selfcost_role_of(const char *comm, int is_main);
enum selfcost_prog selfcost_prog_of(const char *name);

/* Read everything and record a snapshot, unless the last one is less than
 * ~1 s old (0: nothing recorded). now_mono_ns: CLOCK_MONOTONIC. */
int selfcost_tick(struct selfcost *sc, uint64_t now_mono_ns);
/* Record a snapshot made elsewhere (tests), with the statistics state. */
void selfcost_record(struct selfcost *sc, const struct selfcost_sample *s, enum selfcost_bpf_stats state);
void selfcost_get(const struct selfcost *sc, struct selfcost_stats *ret);

/* Names for JSON and text. */
const char *selfcost_role_name(enum selfcost_role r);
const char *selfcost_prog_name(enum selfcost_prog p);
const char *selfcost_stats_name(enum selfcost_bpf_stats s);

#endif
