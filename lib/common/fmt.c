/* SPDX-License-Identifier: GPL-2.0-only */
/* Duration and size parsing (with overflow checks) and human-readable
 * formatting, shared by profd (config, requests) and profctl (rendering). */
#include "common/fmt.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

struct unit {
	const char *name;
	uint64_t mult;
};

/* Longest names first so "ms" is not read as "m" followed by garbage. */
static const struct unit duration_units[] = {
	{ "ns", 1 },
	{ "us", 1000 },
	{ "\xc2\xb5s", 1000 }, /* µs */
	{ "ms", NSEC_PER_MSEC },
	{ "s", NSEC_PER_SEC },
	{ "m", 60 * NSEC_PER_SEC },
	{ "h", 3600 * NSEC_PER_SEC },
	{ "d", 86400 * NSEC_PER_SEC },
};

/* Reads an unsigned decimal number at *p; no sign, no spaces. */
static int parse_uint(const char **p, uint64_t *ret)
{
	const char *s = *p;
	uint64_t v = 0;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	while (isdigit((unsigned char)*s)) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
		s++;
	}
	*p = s;
	*ret = v;
	return 0;
}

static const struct unit *match_unit(const char *s, size_t *ret_len)
{
	const struct unit *best = NULL;
	size_t best_len = 0;

	for (size_t i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]); i++) {
		size_t l = strlen(duration_units[i].name);
		if (l > best_len && strncmp(s, duration_units[i].name, l) == 0) {
			best = &duration_units[i];
			best_len = l;
		}
	}
	*ret_len = best_len;
	return best;
}

int fmt_parse_duration(const char *s, uint64_t *ret_ns)
{
	uint64_t total = 0, v;
	uint64_t last_mult = UINT64_MAX;
	const char *p = s;

	if (!s || !*s)
		return -EINVAL;
	/* A bare number is seconds (config files and --timeout 5). */
	if (parse_uint(&p, &v) < 0)
		return -EINVAL;
	if (!*p) {
		if (v == 0 || v > UINT64_MAX / NSEC_PER_SEC)
			return -EINVAL;
		*ret_ns = v * NSEC_PER_SEC;
		return 0;
	}
	p = s;
	while (*p) {
		const struct unit *u;
		size_t ulen;

		if (parse_uint(&p, &v) < 0)
			return -EINVAL;
		u = match_unit(p, &ulen);
		/* Units must go from large to small ("1h30m", not "30m1h" or
		 * "5m5m"): anything else is more likely a typo than intent. */
		if (!u || u->mult >= last_mult)
			return -EINVAL;
		last_mult = u->mult;
		p += ulen;
		if (v > UINT64_MAX / u->mult || total > UINT64_MAX - v * u->mult)
			return -EINVAL;
		total += v * u->mult;
	}
	if (total == 0)
		return -EINVAL;
	*ret_ns = total;
	return 0;
}

int fmt_parse_size(const char *s, uint64_t *ret_bytes)
{
	const char *p = s;
	uint64_t v, mult = 1;

	if (!s || parse_uint(&p, &v) < 0)
		return -EINVAL;
	switch (*p) {
	case '\0':
		break;
	case 'k': case 'K':
		mult = 1ull << 10;
		break;
	case 'm': case 'M':
		mult = 1ull << 20;
		break;
	case 'g': case 'G':
		mult = 1ull << 30;
		break;
	case 't': case 'T':
		mult = 1ull << 40;
		break;
	case 'b': case 'B':
		break;
	default:
		return -EINVAL;
	}
	if (*p) {
		/* Accept "64M", "64MB", "64MiB" and "4096B": all mean IEC. */
		if (*p != 'b' && *p != 'B') {
			p++;
			if (*p == 'i')
				p++;
			if (*p == 'b' || *p == 'B')
				p++;
		} else {
			p++;
		}
		if (*p)
			return -EINVAL;
	}
	if (v > UINT64_MAX / mult)
		return -EINVAL;
	*ret_bytes = v * mult;
	return 0;
}

char *fmt_bytes(char *buf, size_t n, uint64_t bytes)
{
	static const char *units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double v = (double)bytes;
	int u = -1;
	int len;

	if (bytes < 1024) {
		snprintf(buf, n, "%llu B", (unsigned long long)bytes);
		return buf;
	}
	while (v >= 1024.0 && u < 5) {
		v /= 1024.0;
		u++;
	}
	len = snprintf(buf, n, "%.1f", v);
	/* "512.0 KiB" reads worse than "512 KiB". */
	if (len >= 2 && (size_t)len < n && strcmp(buf + len - 2, ".0") == 0)
		buf[len - 2] = '\0';
	if (len >= 0 && (size_t)len < n)
		snprintf(buf + strlen(buf), n - strlen(buf), " %s", units[u]);
	return buf;
}

char *fmt_duration(char *buf, size_t n, uint64_t ns)
{
	uint64_t s = ns / NSEC_PER_SEC;

	if (ns == 0)
		snprintf(buf, n, "0s");
	/* Two units at most, and none that is zero ("1h", not "1h00m"). */
	else if (s >= 86400 && s % 86400 / 3600)
		snprintf(buf, n, "%llud%02lluh", (unsigned long long)(s / 86400), (unsigned long long)(s % 86400 / 3600));
	else if (s >= 86400)
		snprintf(buf, n, "%llud", (unsigned long long)(s / 86400));
	else if (s >= 3600 && s % 3600 / 60)
		snprintf(buf, n, "%lluh%02llum", (unsigned long long)(s / 3600), (unsigned long long)(s % 3600 / 60));
	else if (s >= 3600)
		snprintf(buf, n, "%lluh", (unsigned long long)(s / 3600));
	else if (s >= 60 && s % 60)
		snprintf(buf, n, "%llum%02llus", (unsigned long long)(s / 60), (unsigned long long)(s % 60));
	else if (s >= 60)
		snprintf(buf, n, "%llum", (unsigned long long)(s / 60));
	else if (s >= 10)
		snprintf(buf, n, "%llus", (unsigned long long)s);
	else if (ns >= NSEC_PER_SEC) {
		/* Below 10 s the tenth still matters ("2.5s"). */
		uint64_t tenths = (ns + NSEC_PER_SEC / 20) / (NSEC_PER_SEC / 10);
		if (tenths % 10)
			snprintf(buf, n, "%llu.%llus", (unsigned long long)(tenths / 10), (unsigned long long)(tenths % 10));
		else
			snprintf(buf, n, "%llus", (unsigned long long)(tenths / 10));
	} else if (ns >= NSEC_PER_MSEC)
		snprintf(buf, n, "%llums", (unsigned long long)(ns / NSEC_PER_MSEC));
	else if (ns >= 1000)
		snprintf(buf, n, "%llu\xc2\xb5s", (unsigned long long)(ns / 1000));
	else
		snprintf(buf, n, "%lluns", (unsigned long long)ns);
	return buf;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char **p, int n, unsigned *ret)
{
	unsigned v = 0;

	for (int i = 0; i < n; i++) {
		if (**p < '0' || **p > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(**p - '0');
		(*p)++;
	}
	*ret = v;
	return 0;
}

int fmt_parse_time(const char *s, int64_t now_ns, int64_t *ret_ns)
{
	unsigned y, mo, d, h, mi, sec, oh = 0, om = 0;
	int64_t ns = 0, t, off = 0;
	const char *p = s;

	if (!s || !*s)
		return -EINVAL;
	if (!strcmp(s, "now")) {
		*ret_ns = now_ns;
		return 0;
	}
	if (s[0] == '-') {
		uint64_t back;

		if (fmt_parse_duration(s + 1, &back) < 0 || back > (uint64_t)INT64_MAX)
			return -EINVAL;
		*ret_ns = now_ns - (int64_t)back;
		return 0;
	}
	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' || digits(&p, 2, &d) ||
	    (*p != 'T' && *p != 't' && *p != ' '))
		return -EINVAL;
	p++;
	if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' || digits(&p, 2, &sec))
		return -EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -EINVAL;
	if (*p == '.') {
		int64_t scale = 100000000;

		p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		for (; *p >= '0' && *p <= '9'; p++, scale /= 10)
			ns += (*p - '0') * scale;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1;

		if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) || oh > 23 || om > 59)
			return -EINVAL;
		off = sign * ((int64_t)oh * 3600 + (int64_t)om * 60);
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	t = days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + sec - off;
	*ret_ns = t * (int64_t)NSEC_PER_SEC + ns;
	return 0;
}

int fmt_parse_range(const char *s, int64_t now_ns, int64_t *ret_from_ns, int64_t *ret_to_ns)
{
	const char *dots;
	uint64_t span;

	if (!s)
		return -EINVAL;
	dots = strstr(s, "..");
	if (!dots) {
		if (fmt_parse_duration(s, &span) < 0 || span > (uint64_t)INT64_MAX)
			return -EINVAL;
		*ret_from_ns = now_ns - (int64_t)span;
		*ret_to_ns = now_ns;
		return 0;
	}
	{
		char a[128];
		int64_t from, to;

		if ((size_t)(dots - s) >= sizeof(a))
			return -EINVAL;
		memcpy(a, s, (size_t)(dots - s));
		a[dots - s] = 0;
		if (fmt_parse_time(a, now_ns, &from) < 0 || fmt_parse_time(dots + 2, now_ns, &to) < 0 || to <= from)
			return -EINVAL;
		*ret_from_ns = from;
		*ret_to_ns = to;
	}
	return 0;
}
