/* SPDX-License-Identifier: GPL-2.0-only */
/* Formatting and parsing helpers shared by profd and profctl. */
#ifndef PROFD_FMT_H
#define PROFD_FMT_H

#include <stddef.h>
#include <stdint.h>

#define NSEC_PER_SEC 1000000000ull
#define NSEC_PER_MSEC 1000000ull

/* Parse "30s", "5m", "1h", "250ms", "2d", "1h30m" or a bare number of
 * seconds into ns. 0 or -EINVAL (syntax, overflow, zero). */
int fmt_parse_duration(const char *s, uint64_t *ret_ns);
/* Parse a point in time into ns since the epoch: RFC 3339
 * ("2024-05-01T12:00:00Z", "2024-05-01T14:00:00.250+02:00", a space for
 * the 'T' allowed), "now", or a time relative to now_ns: "-15m", "-1h30m".
 * 0 or -EINVAL. */
int fmt_parse_time(const char *s, int64_t now_ns, int64_t *ret_ns);
/* Parse "A..B" (two fmt_parse_time points, from before to) or a duration
 * "5m" (the last 5 minutes before now_ns). 0 or -EINVAL. */
int fmt_parse_range(const char *s, int64_t now_ns, int64_t *ret_from_ns, int64_t *ret_to_ns);
/* Parse "64M", "1G", "512k", "4096" (IEC: k=1024) into bytes. 0 or -EINVAL. */
int fmt_parse_size(const char *s, uint64_t *ret_bytes);
/* "1.5 GiB", "512 KiB", "12 B" into buf; returns buf. */
char *fmt_bytes(char *buf, size_t n, uint64_t bytes);
/* "1h02m", "5m30s", "12s", "350ms", "42µs" into buf; returns buf. */
char *fmt_duration(char *buf, size_t n, uint64_t ns);

#endif
