/* SPDX-License-Identifier: GPL-2.0-only */
/* Daemon logger, see log.h. */
#include "base/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int max_level = LOG_INFO;
static int journal = -1;

void log_set_level(int level)
{
	max_level = level;
}

int log_get_level(void)
{
	return max_level;
}

static void log_va(int level, const char *fmt, va_list ap)
{
	static const char *names[] = { "emerg", "alert", "crit", "error", "warning", "notice", "info", "debug" };
	char buf[2048];

	if (journal < 0)
		journal = getenv("JOURNAL_STREAM") != NULL;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (journal) {
		fprintf(stderr, "<%d>%s\n", level, buf);
	} else {
		struct timespec ts;
		struct tm tm;
		char tbuf[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(tbuf, sizeof(tbuf), "%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ld profd %s: %s\n", tbuf, ts.tv_nsec / 1000000, names[level & 7], buf);
	}
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > max_level)
		return;
	va_start(ap, fmt);
	log_va(level, fmt, ap);
	va_end(ap);
}

int log_msg_errno(int level, int err, const char *fmt, ...)
{
	int e = err < 0 ? -err : err;
	va_list ap;

	if (level <= max_level) {
		errno = e; /* for %m */
		va_start(ap, fmt);
		log_va(level, fmt, ap);
		va_end(ap);
	}
	errno = e;
	return -e;
}
