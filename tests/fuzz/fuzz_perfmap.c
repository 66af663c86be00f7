/* SPDX-License-Identifier: GPL-2.0-only */
/* Fuzz target: JIT map text (/tmp/perf-PID.map, written by any process)
 * -> perfmap_parse, then lookups at and around every address it names. */
#include "fuzz_util.h"

#include "symbols/perfmap.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data, *name;
	struct perfmap *m;
	uint64_t off;
	size_t lines = 0;

	if (perfmap_parse(buf, size, &m) < 0)
		return 0;
	for (size_t i = 0; i < size; i++)
		if (buf[i] != '\n' && (i + 1 == size || buf[i + 1] == '\n'))
			lines++;
	/* every non-empty line is an entry or skipped; entries sharing a
	 * start collapse into one */
	FUZZ_CHECK(perfmap_count(m) + perfmap_skipped(m) <= lines);
	/* probe addresses taken from the input's own hex words */
	for (size_t i = 0; i + 1 < size; i++) {
		uint64_t a = 0;
		int n = 0;

		while (i < size && n < 16 && ((buf[i] >= '0' && buf[i] <= '9') || (buf[i] >= 'a' && buf[i] <= 'f'))) {
			a = a << 4 | (uint64_t)(buf[i] <= '9' ? buf[i] - '0' : buf[i] - 'a' + 10);
			i++;
			n++;
		}
		for (uint64_t d = 0; n && d < 3; d++) {
			if (perfmap_lookup(m, a + d, &name, &off) == 0) {
				FUZZ_CHECK(off <= a + d);
				FUZZ_CHECK(strlen(name) <= PERFMAP_NAME_MAX && !strchr(name, '\n'));
			}
		}
	}
	(void)perfmap_lookup(m, 0, &name, &off);
	(void)perfmap_lookup(m, UINT64_MAX, &name, &off);
	(void)perfmap_bytes(m);
	perfmap_free(m);
	return 0;
}
