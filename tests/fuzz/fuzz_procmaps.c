/* SPDX-License-Identifier: GPL-2.0-only */
/* Fuzz target: /proc/PID/maps text -> procmaps_parse, then the lookups. */
#include "fuzz_util.h"

#include "symbols/procmaps.h"

#include <string.h>

/* Non-empty lines of buf: each must come out as an entry or be counted skipped. */
static size_t count_lines(const char *buf, size_t len)
{
	size_t lines = 0;

	for (size_t i = 0; i < len; i++)
		if (buf[i] != '\n' && (i + 1 == len || buf[i + 1] == '\n'))
			lines++;
	return lines;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct procmaps *m;
	size_t n;

	if (procmaps_parse(buf, size, &m) < 0)
		return 0;
	n = procmaps_count(m);
	FUZZ_CHECK(n + procmaps_skipped(m) == count_lines(buf, size));
	for (size_t i = 0; i < n; i++) {
		const struct procmaps_entry *e = procmaps_get(m, i), *f;
		size_t idx = SIZE_MAX;

		FUZZ_CHECK(e && e->start < e->end);
		FUZZ_CHECK(i == 0 || procmaps_get(m, i - 1)->start <= e->start);
		/* The path is a C string cut from one line. */
		FUZZ_CHECK(!memchr(e->path, '\n', strlen(e->path)));
		(void)procmaps_entry_is_file(e);
		/* An entry's own first and last byte must be found, inside
		 * some entry (maps may overlap when the input is hostile). */
		f = procmaps_find(m, e->start, &idx);
		FUZZ_CHECK(f && idx < n && f->start <= e->start && e->start < f->end);
		f = procmaps_find(m, e->end - 1, NULL);
		if (f)
			FUZZ_CHECK(f->start <= e->end - 1 && e->end - 1 < f->end);
	}
	FUZZ_CHECK(!procmaps_get(m, n));
	(void)procmaps_find(m, 0, NULL);
	(void)procmaps_find(m, UINT64_MAX, NULL);
	(void)procmaps_bytes(m);
	procmaps_free(m);
	return 0;
}
