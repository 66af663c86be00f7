/* Daemon logger: stderr (journald adds the timestamp) with a syslog level
 * prefix "<N>" when running under systemd, else "profd: level: msg". */
#ifndef PROFD_LOG_H
#define PROFD_LOG_H

#include <syslog.h>

void log_set_level(int level);  /* LOG_ERR .. LOG_DEBUG */
int log_get_level(void);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
