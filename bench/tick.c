/* SPDX-License-Identifier: GPL-2.0-only */
/* Benchmark: the event loop's tick, timed. Runs the daemon's own
 * daemon_init and daemon_tick (daemon/daemon.c: real BPF, real /proc, the
 * collector thread) on the tick timer's schedule (5 ms after each tick
 * boundary of CLOCK_BOOTTIME), without the socket server, and prints one
 * line per tick:
 *   tick REALTIME_S TICK_MS RES_LOOP_MS KSTATS_MS APPLY_MS ROUND_MS LEAD_MS
 *        ALIVE TRACKED FOLLOWED HANDLES ROUNDS_SKIPPED
 * TICK_MS is the whole daemon_tick on the loop (sampler drain, round
 * request, apply, window tick, gc): what any other loop event waits for.
 * CPU_MS (last, after the parts) is the loop thread's CPU time in it: on a
 * busy host the difference is time spent waiting for a CPU.
 * ROUND_MS is the collector's last round, on its own thread. bench/procs
 * runs populations next to it and reads the worst tick per phase.
 * With -p the tick's parts are timed instead (a copy of daemon_tick's
 * sequence, for attribution only), appended to each line:
 *   DRAIN_MS (sampler ring: samples and exec/exit events, with their
 *   process-table and symbolizer work) RES_TICK_MS RES_APPLY_MS WINDOW_MS
 * (zeros without -p), then CPU_MS.
 * usage: bench_tick [-s SECONDS] [-p] (default 60 s; SIGINT/SIGTERM stop) */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "collect/resources.h"
#include "common/clock.h"
#include "config.h"
#include "daemon.h"
#include "store/proctable.h"
#include "store/window.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

/* daemon_tick's sequence, each part timed (attribution only: the figure
 * that counts is daemon_tick's own). */
static void ticked_parts(struct daemon *d, uint64_t now, uint64_t *part)
{
	uint64_t slot = d->cfg.fine_slot_ns, boundary = now / slot * slot, t = clock_mono_ns(), u;

	d->ticks++;
	d->data_until_ns = boundary - slot;
	sampler_drain(d->sampler);
	d->data_until_ns = boundary;
	sampler_tick(d->sampler);
	resources_note_idle(d->res, sampler_idle_total(d->sampler));
	u = clock_mono_ns();
	part[0] = u - t;
	resources_tick(d->res, now, boundary - 1);
	t = clock_mono_ns();
	part[1] = t - u;
	resources_apply(d->res);
	u = clock_mono_ns();
	part[2] = u - t;
	window_tick(d->win, now);
	d->last_tick_ns = now;
	if (d->ticks % 10 == 0) {
		struct window_stats ws;

		window_get_stats(d->win, &ws);
		proctable_gc(d->procs, ws.oldest_ns);
	}
	part[3] = clock_mono_ns() - u;
}

int main(int argc, char **argv)
{
	struct daemon d;
	long seconds = 60;
	int c, parts = 0;

	while ((c = getopt(argc, argv, "s:p")) != -1) {
		if (c == 's') {
			seconds = strtol(optarg, NULL, 10);
		} else if (c == 'p') {
			parts = 1;
		} else {
			fprintf(stderr, "usage: bench_tick [-s SECONDS] [-p]\n");
			return 64;
		}
	}
	if (seconds < 1)
		seconds = 1;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	memset(&d, 0, sizeof(d));
	config_defaults(&d.cfg);
	if (daemon_init(&d) < 0 || daemon_init_symbolizer(&d) < 0)
		return 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (long i = 0; i < seconds * 1000000000ll / (long long)d.cfg.tick_ns && !stop; i++) {
		uint64_t tick = d.cfg.tick_ns, now = clock_boot_ns(), t0, took;
		uint64_t at = (now / tick + 1) * tick + 5 * 1000000ull;
		struct timespec ts = { .tv_sec = (time_t)(at / 1000000000ull), .tv_nsec = (long)(at % 1000000000ull) };
		struct proctable_stats ps;
		struct res_stats rs;
		uint64_t part[4] = { 0 }, c0, cpu;

		while (clock_nanosleep(CLOCK_BOOTTIME, TIMER_ABSTIME, &ts, NULL) == EINTR && !stop)
			;
		if (stop)
			break;
		c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
		t0 = clock_mono_ns();
		if (parts)
			ticked_parts(&d, clock_boot_ns(), part);
		else
			daemon_tick(&d, clock_boot_ns());
		took = clock_mono_ns() - t0;
		cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
		resources_get_stats(d.res, &rs);
		proctable_get_stats(d.procs, &ps);
		printf("tick %.3f %.3f %.3f %.3f %.3f %.3f %.3f %llu %llu %llu %llu %llu",
		       (double)clock_ns(CLOCK_REALTIME) / 1e9, ms(took), ms(rs.last_tick_ns), ms(rs.kstats_ns),
		       ms(rs.apply_ns), ms(rs.last_round_ns), ms(rs.lead_ns), (unsigned long long)ps.alive,
		       (unsigned long long)ps.procs, (unsigned long long)rs.followed, (unsigned long long)rs.handles,
		       (unsigned long long)rs.rounds_skipped);
		printf(" %.3f %.3f %.3f %.3f %.3f\n", ms(part[0]), ms(part[1]), ms(part[2]), ms(part[3]), ms(cpu));
	}
	daemon_fini(&d);
	return 0;
}
