/* SPDX-License-Identifier: GPL-2.0-only */
/* Shared by the kstats integration tests (test_kstats.c, test_kstats_cpu.c):
 * checks, clocks, workloads, the kernel's own figures from /proc, and the
 * capture of exit records. */
#ifndef PROFD_TEST_KSTATS_UTIL_H
#define PROFD_TEST_KSTATS_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "collect/kstats.h"

extern int failures;
extern struct kstats *ks;

#define CHECK(cond, ...)                             \
	do {                                         \
		int ok_ = (cond);                    \
		printf("%s: ", ok_ ? "ok" : "FAIL"); \
		printf(__VA_ARGS__);                 \
		printf("\n");                        \
		if (!ok_)                            \
			failures++;                  \
	} while (0)

uint64_t mono_ns(void);
uint64_t thread_cpu_ns(void);
uint64_t process_cpu_ns(void);
void sleep_ns(uint64_t ns);
/* Burn ns of wall time / of this thread's CPU time. */
void spin_wall(uint64_t ns);
void spin_cpu(uint64_t ns);

/* The kernel's CPU time of a process: sum_exec_runtime summed over its live
 * threads (/proc/PID/task/TID/schedstat field 1, ns), as /proc, top and
 * cgroups account it. 0 if unreadable. */
uint64_t proc_schedstat_ns(pid_t pid);
/* The kernel's context-switch counts of a process, summed over its live
 * threads (/proc/PID/task/TID/status voluntary_ctxt_switches and
 * nonvoluntary_ctxt_switches). 0 or -errno. */
int proc_ctxsw(pid_t pid, uint64_t *vol, uint64_t *invol);
/* utime + stime of a process in ns (USER_HZ ticks, /proc/PID/stat). */
uint64_t proc_stat_cpu_ns(pid_t pid);
/* Steal ticks of all CPUs so far (/proc/stat "cpu" line, USER_HZ). */
uint64_t host_steal_ticks(void);

struct exit_rec {
	uint32_t tgid;
	int has_sched, has_io;
	struct profd_sched_counters sched;
	struct profd_io_counters io;
};

/* kstats callbacks that record exit records (the last 64). */
extern const struct kstats_callbacks exit_capture;
struct exit_rec *find_exit(uint32_t tgid);
/* Wait for the child, draining exit records meanwhile; then up to 2 s for
 * its exit record. NULL if none came. */
struct exit_rec *reap(pid_t pid);

struct find_ctx {
	uint32_t tgid;
	int found;
	uint32_t flags, running;
	struct profd_sched_counters sched;
	struct profd_io_counters io;
};

/* One kstats_read() for one live process. 0 or -ENOENT. */
int read_proc(uint32_t tgid, struct find_ctx *f);

/* Start n processes that spin until killed (one per CPU: competition for
 * the workload). Returns how many started; stop with hogs_stop. */
int hogs_start(pid_t *pids, int n);
void hogs_stop(pid_t *pids, int n);

/* kstats_new with opts, skipping (exit 77, or failing with
 * PROFD_REQUIRE_BPF=1) when not root or when the scheduler and block I/O
 * parts cannot all attach. */
void kstats_start_or_skip(const struct kstats_opts *opts);

#endif
