/* SPDX-License-Identifier: GPL-2.0-only */
/* The service manager's notification protocol (sd_notify), spoken without
 * libsystemd: one datagram per message on the AF_UNIX socket named by
 * $NOTIFY_SOCKET, newline-separated VAR=VALUE lines. READY=1, RELOADING=1
 * (with MONOTONIC_USEC=, as Type=notify-reload wants), STOPPING=1,
 * STATUS=, ERRNO= and WATCHDOG=1 keep-alives at half the period systemd
 * asks for through $WATCHDOG_USEC (honouring $WATCHDOG_PID).
 *
 * Without $NOTIFY_SOCKET every call is a no-op that returns 0, so profd
 * runs the same outside systemd. The environment is injected (notify_new
 * takes the three values), so unit tests drive it with a socket of their
 * own. Sends never block: the socket is non-blocking, and a full queue
 * drops the message (-EAGAIN), which is what sd_notify does too. */
#ifndef PROFD_NOTIFY_H
#define PROFD_NOTIFY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct notify;

/* Longest message sent (one datagram); STATUS= lines are cut to fit. */
#define NOTIFY_MAX_MSG 1024

struct notify_env {
	const char *socket;        /* $NOTIFY_SOCKET: "/path" or "@abstract"; NULL: off */
	const char *watchdog_usec; /* $WATCHDOG_USEC; NULL: no watchdog */
	const char *watchdog_pid;  /* $WATCHDOG_PID; NULL: any (the watchdog is ours) */
	pid_t self;                /* our pid, compared with watchdog_pid */
};

/* The process environment, as notify_new takes it. */
struct notify_env notify_env_from_process(void);

/* 0 and *ret (never NULL: a disabled notifier when env->socket is NULL or
 * empty), -EINVAL for a malformed $NOTIFY_SOCKET (relative path, too
 * long, a scheme other than a path) or $WATCHDOG_USEC, -errno for
 * socket(), -ENOMEM. *ret is untouched on failure. */
int notify_new(const struct notify_env *env, struct notify **ret);
struct notify *notify_free(struct notify *n);

/* 1 when a service manager listens, 0 when not (calls are no-ops). */
int notify_enabled(const struct notify *n);
/* Keep-alive period systemd asked for (ns), 0 when no watchdog is on. */
uint64_t notify_watchdog_ns(const struct notify *n);

/* Send msg verbatim (VAR=VALUE lines). 0, or -errno (-EAGAIN: queue full,
 * -ECONNREFUSED: nobody listens any more, -EMSGSIZE: too long). */
int notify_send(struct notify *n, const char *msg);

/* READY=1 with a STATUS= line (status may be NULL). */
int notify_ready(struct notify *n, const char *status);
/* RELOADING=1 and MONOTONIC_USEC=mono_ns/1000 (CLOCK_MONOTONIC): before a
 * reload; follow with notify_ready() once it is done, failed or not. */
int notify_reloading(struct notify *n, uint64_t mono_ns);
/* STOPPING=1 with a STATUS= line (may be NULL). */
int notify_stopping(struct notify *n, const char *status);
/* STATUS= only; skipped (returns 0) when equal to the last one sent. */
int notify_status(struct notify *n, const char *status);
/* STATUS= and ERRNO= (positive errno), for a start that failed. */
int notify_errno(struct notify *n, int err, const char *status);

/* From the tick: WATCHDOG=1 when healthy and half the period has passed
 * since the last keep-alive (mono_ns: CLOCK_MONOTONIC). Returns 1 when a
 * keep-alive went out, 0 when none was due (or no watchdog, or unhealthy:
 * then systemd's timer runs out and it restarts us), -errno on failure. */
int notify_watchdog_tick(struct notify *n, uint64_t mono_ns, int healthy);

/* The one-line summary STATUS= carries: "N samples/s, N processes, N
 * alerts firing" (alerts < 0: not reported). Returns the length written
 * (cut to cap - 1). */
size_t notify_format_status(char *buf, size_t cap, double samples_per_s, uint64_t processes, int alerts_firing);

#endif
