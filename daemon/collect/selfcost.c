/* SPDX-License-Identifier: GPL-2.0-only */
/* profd's own cost: CPU by thread role, BPF run time by program. See
 * selfcost.h. */
#include "collect/selfcost.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "base/threads.h"

struct sc_thread {
	uint32_t tid;
	uint8_t role;
	uint8_t seen;            /* in the current read */
	uint64_t last_ns;        /* its sum_exec_runtime at the last read */
};

struct sc_prog {
	int fd;
	uint8_t group;
};

struct selfcost {
	char *task_dir;
	char *stats_sysctl;
	int stats_fd;            /* BPF_ENABLE_STATS descriptor, -1: none */
	uint64_t start_mono_ns;
	uint32_t self_tid;

	struct sc_thread th[SC_MAX_THREADS];
	uint32_t nth;
	uint64_t role_cum[SC_ROLE_NR];  /* by role, from per-thread deltas */
	struct sc_prog progs[SC_MAX_PROGS];
	uint32_t nprogs;
	uint64_t progs_ignored, read_failures;
	/* programs forgotten (objects freed): their last totals, kept so
	 * cumulative figures never go down */
	uint64_t gone_ns[SC_PROG_NR], gone_runs[SC_PROG_NR];

	struct selfcost_sample ring[SC_RING];
	uint32_t head, n;                /* ring[head] is the newest */
	enum selfcost_bpf_stats state;
};

static const char *const role_names[SC_ROLE_NR] = {
	[SC_ROLE_LOOP] = "loop",       [SC_ROLE_COLLECTOR] = "collector", [SC_ROLE_SYMBOLS] = "symbols",
	[SC_ROLE_DEBUGINFOD] = "debuginfod", [SC_ROLE_UNWIND] = "unwind", [SC_ROLE_QUERY] = "query",
	[SC_ROLE_NOTIFY] = "notify",   [SC_ROLE_OTHER] = "other",
};

static const char *const prog_names[SC_PROG_NR] = {
	[SC_PROG_SAMPLE] = "sample",         [SC_PROG_SCHED_SWITCH] = "sched_switch",
	[SC_PROG_SCHED_WAKEUP] = "sched_wakeup", [SC_PROG_SCHED_RUNTIME] = "sched_runtime",
	[SC_PROG_SCHED_FORK] = "sched_fork", [SC_PROG_PROC] = "proc",
	[SC_PROG_BLKIO] = "blkio",           [SC_PROG_OTHER] = "other",
};

const char *selfcost_role_name(enum selfcost_role r)
{
	return r < SC_ROLE_NR ? role_names[r] : "?";
}

const char *selfcost_prog_name(enum selfcost_prog p)
{
	return p < SC_PROG_NR ? prog_names[p] : "?";
}

const char *selfcost_stats_name(enum selfcost_bpf_stats s)
{
	switch (s) {
	case SC_STATS_PROFD:
		return "profd";
	case SC_STATS_SYSCTL:
		return "sysctl";
	case SC_STATS_OTHER:
		return "other";
	default:
		return "off";
	}
}

enum selfcost_role selfcost_role_of(const char *comm, int is_main)
{
	static const struct {
		const char *name;
		enum selfcost_role role;
	} t[] = {
		{ THREAD_NAME_COLLECTOR, SC_ROLE_COLLECTOR }, { THREAD_NAME_QUERY, SC_ROLE_QUERY },
		{ THREAD_NAME_UNWIND, SC_ROLE_UNWIND },       { THREAD_NAME_NOTIFY, SC_ROLE_NOTIFY },
		{ THREAD_NAME_SYM_EXEC, SC_ROLE_SYMBOLS },    { THREAD_NAME_SYM_IDENT, SC_ROLE_SYMBOLS },
		{ THREAD_NAME_SYM_LOAD, SC_ROLE_SYMBOLS },    { THREAD_NAME_DEBUGINFOD, SC_ROLE_DEBUGINFOD },
		{ THREAD_NAME_SYM_PYTHON, SC_ROLE_SYMBOLS },
	};

	if (is_main)
		return SC_ROLE_LOOP;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcmp(comm, t[i].name))
			return t[i].role;
	/* a thread that kept its creator's name: a library's (libcurl's
	 * resolver), or one of ours before it named itself */
	return SC_ROLE_OTHER;
}

enum selfcost_prog selfcost_prog_of(const char *name)
{
	static const struct {
		const char *name;
		enum selfcost_prog group;
	} t[] = {
		{ "profd_sample", SC_PROG_SAMPLE },
		{ "profd_sample_unwind", SC_PROG_SAMPLE },
		{ "profd_sched_switch", SC_PROG_SCHED_SWITCH },
		{ "profd_sched_wakeup", SC_PROG_SCHED_WAKEUP },
		{ "profd_sched_wakeup_new", SC_PROG_SCHED_WAKEUP },
		{ "profd_sched_runtime", SC_PROG_SCHED_RUNTIME },
		{ "profd_sched_fork", SC_PROG_SCHED_FORK },
		{ "profd_exec", SC_PROG_PROC },
		{ "profd_exit", SC_PROG_PROC },
		{ "profd_unw_exec", SC_PROG_PROC },
		{ "profd_io_start", SC_PROG_BLKIO },
		{ "profd_rq_insert", SC_PROG_BLKIO },
		{ "profd_rq_issue", SC_PROG_BLKIO },
		{ "profd_rq_complete", SC_PROG_BLKIO },
	};

	for (size_t i = 0; name && i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcmp(name, t[i].name))
			return t[i].group;
	return SC_PROG_OTHER;
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	if (clock_gettime(id, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* When this process started, on CLOCK_MONOTONIC: /proc/self/stat's
 * starttime (field 22, clock ticks since boot) moved from the boot clock.
 * Now if unknown. */
static uint64_t process_start_mono(void)
{
	uint64_t mono = clock_ns(CLOCK_MONOTONIC), boot = clock_ns(CLOCK_BOOTTIME), start;
	char buf[1024], *p;
	long hz = sysconf(_SC_CLK_TCK);
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return mono;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0 || hz <= 0)
		return mono;
	buf[n] = 0;
	p = strrchr(buf, ')');
	/* after "pid (comm)": state is field 3, starttime field 22 */
	for (int f = 2; p && f < 22; f++)
		p = strchr(p + 1, ' ');
	if (!p)
		return mono;
	start = strtoull(p + 1, NULL, 10) * (1000000000ull / (uint64_t)hz);
	if (start > boot || boot - start > mono)
		return mono;
	return mono - (boot - start);
}

int selfcost_hold_stats(struct selfcost *sc)
{
	int fd;

	if (sc->stats_fd >= 0)
		return 0;
	fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (fd < 0)
		return fd == -1 ? -errno : fd;
	sc->stats_fd = fd;
	sc->state = SC_STATS_PROFD;
	return 0;
}

int selfcost_new(const struct selfcost_opts *o, struct selfcost **ret)
{
	struct selfcost *sc = calloc(1, sizeof(*sc));

	if (!sc)
		return -ENOMEM;
	sc->task_dir = strdup(o->task_dir ? o->task_dir : "/proc/self/task");
	sc->stats_sysctl = o->stats_sysctl ? strdup(o->stats_sysctl) : NULL;
	if (!sc->task_dir || (o->stats_sysctl && !sc->stats_sysctl)) {
		selfcost_free(sc);
		return -ENOMEM;
	}
	sc->stats_fd = -1;
	sc->start_mono_ns = o->start_mono_ns ? o->start_mono_ns : process_start_mono();
	sc->self_tid = o->self_tid;
	sc->state = SC_STATS_OFF;
	*ret = sc;
	return 0;
}

struct selfcost *selfcost_free(struct selfcost *sc)
{
	if (sc) {
		if (sc->stats_fd >= 0)
			close(sc->stats_fd);
		free(sc->task_dir);
		free(sc->stats_sysctl);
		free(sc);
	}
	return NULL;
}

int selfcost_add_prog(struct selfcost *sc, const char *name, int fd)
{
	if (sc->nprogs >= SC_MAX_PROGS) {
		sc->progs_ignored++;
		return -ENOSPC;
	}
	sc->progs[sc->nprogs++] = (struct sc_prog){ .fd = fd, .group = (uint8_t)selfcost_prog_of(name) };
	return 0;
}

void selfcost_forget_progs(struct selfcost *sc)
{
	if (!sc)
		return;
	if (sc->n) {
		for (int g = 0; g < SC_PROG_NR; g++) {
			sc->gone_ns[g] = sc->ring[sc->head].prog_ns[g];
			sc->gone_runs[g] = sc->ring[sc->head].prog_runs[g];
		}
	}
	sc->nprogs = 0;
}

/* ---- reading ---- */

/* Small file at dirfd/path into buf, NUL-terminated; bytes or -errno. */
static ssize_t read_at(int dirfd, const char *path, char *buf, size_t size)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n >= 0)
		buf[n] = 0;
	return n;
}

static struct sc_thread *thread_find(struct selfcost *sc, uint32_t tid)
{
	for (uint32_t i = 0; i < sc->nth; i++)
		if (sc->th[i].tid == tid)
			return &sc->th[i];
	return NULL;
}

/* Every live thread's sum_exec_runtime (schedstat's first field), its
 * growth since the last read added to its role. A thread not seen before
 * starts from 0: all its time is new. Names are read for new threads and
 * again for any still "other" (it may not have named itself yet). */
static void read_threads(struct selfcost *sc)
{
	DIR *d = opendir(sc->task_dir);
	struct dirent *e;
	char path[300], buf[128];

	if (!d) {
		sc->read_failures++;
		return;
	}
	for (uint32_t i = 0; i < sc->nth; i++)
		sc->th[i].seen = 0;
	while ((e = readdir(d))) {
		struct sc_thread *t;
		unsigned long long ns;
		char *end;
		uint32_t tid;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		tid = (uint32_t)strtoul(e->d_name, &end, 10);
		if (*end)
			continue;
		t = thread_find(sc, tid);
		if (!t && sc->nth < SC_MAX_THREADS) {
			t = &sc->th[sc->nth++];
			*t = (struct sc_thread){ .tid = tid, .role = SC_ROLE_OTHER };
			if (tid == sc->self_tid)
				t->role = SC_ROLE_LOOP;
		}
		if (!t)
			continue; /* past the bound: its time stays "other" */
		if (t->role == SC_ROLE_OTHER) {
			snprintf(path, sizeof(path), "%s/comm", e->d_name);
			if (read_at(dirfd(d), path, buf, sizeof(buf)) > 0) {
				buf[strcspn(buf, "\n")] = 0;
				t->role = (uint8_t)selfcost_role_of(buf, tid == sc->self_tid);
			}
		}
		snprintf(path, sizeof(path), "%s/schedstat", e->d_name);
		if (read_at(dirfd(d), path, buf, sizeof(buf)) <= 0) {
			/* exited since readdir */
			continue;
		}
		ns = strtoull(buf, NULL, 10);
		t->seen = 1;
		if (ns > t->last_ns) {
			sc->role_cum[t->role] += ns - t->last_ns;
			t->last_ns = ns;
		}
	}
	closedir(d);
	/* threads gone: their slots are free (their time since the last read
	 * is in the process total, so "other") */
	for (uint32_t i = 0; i < sc->nth;) {
		if (!sc->th[i].seen)
			sc->th[i] = sc->th[--sc->nth];
		else
			i++;
	}
}

static void read_progs(struct selfcost *sc, uint64_t *ns, uint64_t *runs)
{
	for (int g = 0; g < SC_PROG_NR; g++) {
		ns[g] = sc->gone_ns[g];
		runs[g] = sc->gone_runs[g];
	}
	for (uint32_t i = 0; i < sc->nprogs; i++) {
		struct bpf_prog_info info;
		uint32_t len = sizeof(info);

		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(sc->progs[i].fd, &info, &len)) {
			sc->read_failures++;
			continue;
		}
		ns[sc->progs[i].group] += info.run_time_ns;
		runs[sc->progs[i].group] += info.run_cnt;
	}
}

static enum selfcost_bpf_stats stats_state(struct selfcost *sc, const uint64_t *runs)
{
	char buf[16];
	int fd;
	ssize_t n;

	if (sc->stats_fd >= 0)
		return SC_STATS_PROFD;
	if (sc->stats_sysctl) {
		fd = open(sc->stats_sysctl, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			if (n > 0 && buf[0] == '1')
				return SC_STATS_SYSCTL;
		}
	}
	/* Someone else holds a BPF_ENABLE_STATS fd (the sysctl shows only its
	 * own setting): the run counts grow. */
	if (sc->n) {
		const struct selfcost_sample *last = &sc->ring[sc->head];

		for (int g = 0; g < SC_PROG_NR; g++)
			if (runs[g] > last->prog_runs[g])
				return SC_STATS_OTHER;
	}
	return SC_STATS_OFF;
}

int selfcost_tick(struct selfcost *sc, uint64_t now)
{
	struct selfcost_sample s = { .mono_ns = now };
	enum selfcost_bpf_stats st;
	uint64_t known = 0;

	if (sc->n && now - sc->ring[sc->head].mono_ns < SC_MIN_STEP_NS)
		return 0;
	read_threads(sc);
	/* after the threads, so the total is at least their sum */
	s.cpu_ns = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	for (int r = 0; r < SC_ROLE_NR; r++) {
		if (r == SC_ROLE_OTHER)
			continue;
		s.role_ns[r] = sc->role_cum[r];
		known += sc->role_cum[r];
	}
	s.role_ns[SC_ROLE_OTHER] = s.cpu_ns > known ? s.cpu_ns - known : 0;
	read_progs(sc, s.prog_ns, s.prog_runs);
	st = stats_state(sc, s.prog_runs);
	selfcost_record(sc, &s, st);
	return 1;
}

void selfcost_record(struct selfcost *sc, const struct selfcost_sample *in, enum selfcost_bpf_stats state)
{
	struct selfcost_sample s = *in;

	if (sc->n) {
		const struct selfcost_sample *last = &sc->ring[sc->head];

		s.stats_on_ns = last->stats_on_ns;
		if (state != SC_STATS_OFF && s.mono_ns > last->mono_ns)
			s.stats_on_ns += s.mono_ns - last->mono_ns;
		/* cumulative figures never go down (a read that failed) */
		if (s.cpu_ns < last->cpu_ns)
			s.cpu_ns = last->cpu_ns;
		for (int i = 0; i < SC_ROLE_NR; i++)
			if (s.role_ns[i] < last->role_ns[i])
				s.role_ns[i] = last->role_ns[i];
		for (int i = 0; i < SC_PROG_NR; i++) {
			if (s.prog_ns[i] < last->prog_ns[i])
				s.prog_ns[i] = last->prog_ns[i];
			if (s.prog_runs[i] < last->prog_runs[i])
				s.prog_runs[i] = last->prog_runs[i];
		}
		sc->head = (sc->head + 1) % SC_RING;
	} else {
		/* the first reading: statistics on since start if on now */
		s.stats_on_ns = state != SC_STATS_OFF && s.mono_ns > sc->start_mono_ns ? s.mono_ns - sc->start_mono_ns : 0;
	}
	sc->ring[sc->head] = s;
	if (sc->n < SC_RING)
		sc->n++;
	sc->state = state;
}

static double pct(uint64_t ns, uint64_t over)
{
	return over ? 100.0 * (double)ns / (double)over : NAN;
}

static uint64_t dsub(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

void selfcost_get(const struct selfcost *sc, struct selfcost_stats *ret)
{
	const struct selfcost_sample *now, *then;
	uint64_t span, on, bpf = 0, bpf_then = 0, runs = 0, up;

	memset(ret, 0, sizeof(*ret));
	ret->bpf_stats = sc->state;
	ret->progs = sc->nprogs;
	ret->progs_ignored = sc->progs_ignored;
	ret->read_failures = sc->read_failures;
	if (!sc->n) {
		ret->window_s = ret->bpf_covered_s = ret->uptime_s = 0;
		ret->total_pct = ret->cpu_pct = ret->bpf_pct = NAN;
		ret->total_pct_start = ret->cpu_pct_start = ret->bpf_pct_start = NAN;
		for (int i = 0; i < SC_ROLE_NR; i++)
			ret->role_pct[i] = NAN;
		for (int i = 0; i < SC_PROG_NR; i++)
			ret->prog_pct[i] = ret->prog_ns_per_run[i] = ret->prog_runs_per_s[i] = NAN;
		return;
	}
	now = &sc->ring[sc->head];
	/* the newest reading at least a minute older, else the oldest */
	then = &sc->ring[(sc->head + SC_RING - (sc->n - 1)) % SC_RING];
	for (uint32_t k = 1; k < sc->n; k++) {
		const struct selfcost_sample *x = &sc->ring[(sc->head + SC_RING - k) % SC_RING];

		if (now->mono_ns - x->mono_ns >= SC_WINDOW_NS) {
			then = x;
			break;
		}
	}
	span = now->mono_ns - then->mono_ns;
	on = now->stats_on_ns - then->stats_on_ns;
	ret->window_s = (double)span / 1e9;
	ret->bpf_covered_s = (double)on / 1e9;
	ret->cpu_pct = pct(dsub(now->cpu_ns, then->cpu_ns), span);
	for (int i = 0; i < SC_ROLE_NR; i++)
		ret->role_pct[i] = pct(dsub(now->role_ns[i], then->role_ns[i]), span);
	for (int i = 0; i < SC_PROG_NR; i++) {
		uint64_t dn = dsub(now->prog_ns[i], then->prog_ns[i]), dr = dsub(now->prog_runs[i], then->prog_runs[i]);

		ret->prog_pct[i] = pct(dn, on);
		ret->prog_ns_per_run[i] = dr ? (double)dn / (double)dr : NAN;
		ret->prog_runs_per_s[i] = on ? (double)dr * 1e9 / (double)on : NAN;
		bpf += now->prog_ns[i];
		bpf_then += then->prog_ns[i];
		runs += now->prog_runs[i];
		ret->prog_ns[i] = now->prog_ns[i];
		ret->prog_runs[i] = now->prog_runs[i];
	}
	for (int i = 0; i < SC_ROLE_NR; i++)
		ret->role_ns[i] = now->role_ns[i];
	/* BPF time is a share of the time it was measured over: a program
	 * that runs as often with statistics off costs as much */
	ret->bpf_pct = pct(dsub(bpf, bpf_then), on);
	/* unknown unless both parts are known: never a total without BPF */
	ret->total_pct = ret->cpu_pct + ret->bpf_pct;

	up = dsub(now->mono_ns, sc->start_mono_ns);
	ret->uptime_s = (double)up / 1e9;
	ret->cpu_ns = now->cpu_ns;
	ret->bpf_ns = bpf;
	ret->bpf_runs = runs;
	ret->bpf_covered_s_start = (double)now->stats_on_ns / 1e9;
	ret->cpu_pct_start = pct(now->cpu_ns, up);
	ret->bpf_pct_start = pct(bpf, now->stats_on_ns);
	ret->total_pct_start = ret->cpu_pct_start + ret->bpf_pct_start;
}
