/* SPDX-License-Identifier: GPL-2.0-only */
/* Daemon logger: stderr (journald adds the timestamp) with a syslog level
 * prefix "<N>" (sd-daemon(3)) when stderr is the journal's stream
 * ($JOURNAL_STREAM matches it), else "HH:MM:SS.mmm profd level: msg". */
#ifndef PROFD_LOG_H
#define PROFD_LOG_H

#include <stdarg.h>
#include <stdint.h>
#include <syslog.h>

void log_set_level(int level);  /* LOG_ERR .. LOG_DEBUG */
/* Warnings and errors are rate-limited per call site (format string):
 * burst lines per interval, then one "N similar messages suppressed"
 * line when the next interval starts. Default 10 per 60 s; burst 0 turns
 * it off; clock_ns (NULL: CLOCK_MONOTONIC) is for tests. */
void log_set_ratelimit(uint32_t burst, uint64_t interval_ns, uint64_t (*clock_ns)(void));
int log_get_level(void);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* Log with errno set to |err| (so "%m" names it) and return -|err|: one
 * call logs and returns at the boundary, as systemd's log_*_errno do:
 *	return log_err_errno(r, "bind %s: %m", path);
 * err may be an errno (positive) or a negative errno. */
int log_msg_errno(int level, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_err_errno(err, ...) log_msg_errno(LOG_ERR, (err), __VA_ARGS__)
#define log_warn_errno(err, ...) log_msg_errno(LOG_WARNING, (err), __VA_ARGS__)
#define log_info_errno(err, ...) log_msg_errno(LOG_INFO, (err), __VA_ARGS__)
#define log_debug_errno(err, ...) log_msg_errno(LOG_DEBUG, (err), __VA_ARGS__)

#endif
