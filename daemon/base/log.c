/* SPDX-License-Identifier: GPL-2.0-only */
/* Daemon logger, see log.h. */
#include "base/log.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int max_level = LOG_INFO;
static int journal = -1;

/* Rate limit of warnings and errors, per call site (its format string):
 * a burst, then silence until the interval ends, then one line saying
 * how many were suppressed. A fixed table: a site that finds no room is
 * never limited (rare: the daemon has a few hundred sites). */
#define RL_SITES 128
struct rl_site {
	const char *fmt;
	uint64_t start_ns;
	uint32_t n;
	uint32_t suppressed;
};
static struct rl_site rl_sites[RL_SITES];
static uint32_t rl_burst = 10;
static uint64_t rl_interval_ns = 60ull * 1000000000ull;
static pthread_mutex_t rl_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t (*rl_clock)(void);

void log_set_ratelimit(uint32_t burst, uint64_t interval_ns, uint64_t (*clock_ns)(void))
{
	pthread_mutex_lock(&rl_lock);
	rl_burst = burst;
	rl_interval_ns = interval_ns;
	rl_clock = clock_ns;
	memset(rl_sites, 0, sizeof(rl_sites));
	pthread_mutex_unlock(&rl_lock);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	if (rl_clock)
		return rl_clock();
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* 1: log it; 0: suppressed. *ret_suppressed: lines suppressed in the
 * interval that just ended, to report before this one. */
static int rl_pass(const char *fmt, uint32_t *ret_suppressed)
{
	uint64_t now = mono_ns(), h = (uint64_t)(uintptr_t)fmt;
	struct rl_site *site = NULL;
	int pass = 1;

	*ret_suppressed = 0;
	if (!rl_burst)
		return 1;
	h = (h ^ (h >> 17)) * 0x9e3779b97f4a7c15ull;
	pthread_mutex_lock(&rl_lock);
	for (uint32_t i = 0; i < 8; i++) {
		struct rl_site *s = &rl_sites[(h + i) % RL_SITES];

		if (s->fmt == fmt || !s->fmt) {
			site = s;
			break;
		}
	}
	if (site) {
		if (!site->fmt || now - site->start_ns >= rl_interval_ns) {
			*ret_suppressed = site->suppressed;
			site->fmt = fmt;
			site->start_ns = now;
			site->n = 0;
			site->suppressed = 0;
		}
		if (++site->n > rl_burst) {
			site->suppressed++;
			pass = 0;
		}
	}
	pthread_mutex_unlock(&rl_lock);
	return pass;
}

/* systemd sets $JOURNAL_STREAM to "DEV:INO" of the stream it connected
 * to stderr: prefixes are for the journal only, not for a redirection. */
static int stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_set_level(int level)
{
	max_level = level;
}

int log_get_level(void)
{
	return max_level;
}

static void log_va(int level, const char *fmt, va_list ap);

static void log_line(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_line(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_va(level, fmt, ap);
	va_end(ap);
}

static void log_va(int level, const char *fmt, va_list ap)
{
	static const char *names[] = { "emerg", "alert", "crit", "error", "warning", "notice", "info", "debug" };
	char buf[2048];

	if (journal < 0)
		journal = stderr_is_journal();
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

static void log_suppressed(int level, const char *fmt, uint32_t n)
{
	log_line(level, "log: %" PRIu32 " similar messages suppressed: \"%.80s\"", n, fmt);
}

/* Whether a line of this level and site goes out now. */
static int log_admit(int level, const char *fmt)
{
	uint32_t suppressed;
	int pass;

	if (level > LOG_WARNING)
		return 1;
	pass = rl_pass(fmt, &suppressed);
	if (suppressed)
		log_suppressed(level, fmt, suppressed);
	return pass;
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > max_level || !log_admit(level, fmt))
		return;
	va_start(ap, fmt);
	log_va(level, fmt, ap);
	va_end(ap);
}

int log_msg_errno(int level, int err, const char *fmt, ...)
{
	int e = err < 0 ? -err : err;
	va_list ap;

	if (level <= max_level && log_admit(level, fmt)) {
		errno = e; /* for %m */
		va_start(ap, fmt);
		log_va(level, fmt, ap);
		va_end(ap);
	}
	errno = e;
	return -e;
}
