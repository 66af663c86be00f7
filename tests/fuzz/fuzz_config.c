/* SPDX-License-Identifier: GPL-2.0-only */
/* Fuzz target: the INI config file (config_load_file through a memfd), and
 * the promise of --print-config: what config_dump writes loads back alike. */
#include "fuzz_util.h"

#include "config.h"

#include <string.h>

#define DUMP_MAX 16384 /* the dump of every key with its doc line is ~3 KiB */

/* config_set with "key=value" taken from the first line, as profd's
 * command-line overrides pass it. */
static void check_set(const uint8_t *data, size_t size)
{
	char line[512], err[256];
	struct config c;
	size_t n = 0;
	char *eq;

	while (n < size && n < sizeof(line) - 1 && data[n] != '\n')
		n++;
	memcpy(line, data, n);
	line[n] = '\0';
	eq = strchr(line, '=');
	if (!eq)
		return;
	*eq = '\0';
	config_defaults(&c);
	err[0] = '\0';
	if (config_set(&c, line, eq + 1, err, sizeof(err)) < 0)
		FUZZ_CHECK(err[0] && memchr(err, '\0', sizeof(err)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char dump1[DUMP_MAX], dump2[DUMP_MAX];
	struct config c, before, again;
	char path[64], err[256];
	int fd, r, n1, n2;

	check_set(data, size);
	fd = fuzz_memfd("fuzz-config", data, size);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	config_defaults(&c);
	before = c;
	err[0] = '\0';
	r = config_load_file(&c, path, err, sizeof(err));
	if (r < 0) {
		/* Documented: one message, and *c untouched. */
		FUZZ_CHECK(err[0] && memchr(err, '\0', sizeof(err)));
		FUZZ_CHECK(memcmp(&c, &before, sizeof(c)) == 0);
		return 0;
	}
	(void)config_validate(&c, err, sizeof(err));
	n1 = config_dump(&c, dump1, sizeof(dump1));
	FUZZ_CHECK(n1 > 0);
	/* Reload the dump onto defaults: it must parse and dump identically. */
	/* Same memfd, so path still names it. */
	(void)fuzz_memfd("fuzz-config", (const uint8_t *)dump1, (size_t)n1);
	config_defaults(&again);
	r = config_load_file(&again, path, err, sizeof(err));
	if (r < 0)
		fprintf(stderr, "reloading the dump failed: %s\n", err);
	FUZZ_CHECK(r == 0);
	n2 = config_dump(&again, dump2, sizeof(dump2));
	FUZZ_CHECK(n1 == n2 && memcmp(dump1, dump2, (size_t)n1) == 0);
	return 0;
}
