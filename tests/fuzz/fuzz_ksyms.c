/* SPDX-License-Identifier: GPL-2.0-only */
/* Fuzz target: kallsyms text -> ksyms_parse (buffer) and ksyms_load (file),
 * which must agree: the daemon reads the file, the unit tests the buffer. */
#include "fuzz_util.h"

#include "symbols/ksyms.h"

#include <stdio.h>
#include <string.h>

/* ksyms_load reads lines with a 1 KiB buffer and skips longer ones, and a
 * NUL ends a line for it: only inputs both readers see alike are compared. */
#define COMPARABLE_LINE_MAX 1000

static int comparable(const uint8_t *data, size_t size)
{
	size_t line = 0;

	if (memchr(data, '\0', size))
		return 0;
	for (size_t i = 0; i < size; i++) {
		line = data[i] == '\n' ? 0 : line + 1;
		if (line > COMPARABLE_LINE_MAX)
			return 0;
	}
	return 1;
}

/* Addresses worth looking up: around the input's own numbers is where
 * the edges are, plus both ends of the address space. */
static void probe(const struct ksyms *k, uint64_t addr, const struct ksyms *other)
{
	const char *name, *module, *name2, *module2;
	uint64_t off, off2;
	int r = ksyms_lookup(k, addr, &name, &module, &off);

	if (r == 0) {
		FUZZ_CHECK(name && module && off <= addr);
		FUZZ_CHECK(strcmp(module, "vmlinux") == 0 || module[0] == '[');
	}
	if (other) {
		int r2 = ksyms_lookup(other, addr, &name2, &module2, &off2);

		FUZZ_CHECK(r == r2);
		if (r == 0)
			FUZZ_CHECK(off == off2 && strcmp(name, name2) == 0 && strcmp(module, module2) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ksyms *k, *kf = NULL;
	char path[64];
	int r, rf;

	r = ksyms_parse((const char *)data, size, &k);
	if (comparable(data, size)) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fuzz_memfd("fuzz-ksyms", data, size));
		rf = ksyms_load(path, &kf);
		FUZZ_CHECK(r == rf);
		if (r == 0) {
			FUZZ_CHECK(ksyms_count(k) == ksyms_count(kf));
			FUZZ_CHECK(ksyms_restricted(k) == ksyms_restricted(kf));
		}
	}
	if (r < 0)
		return 0;
	FUZZ_CHECK(!ksyms_restricted(k) || ksyms_count(k) == 0);
	probe(k, 0, kf);
	probe(k, UINT64_MAX, kf);
	/* Each line's leading address and its neighbours: where the
	 * nearest-symbol search has its edges. */
	for (size_t i = 0, lines = 0; i < size && lines < 256; lines++) {
		uint64_t a = 0;

		for (int d = 0; i < size && d < 16; i++, d++) {
			char c = (char)data[i];

			if (c >= '0' && c <= '9')
				a = a << 4 | (uint64_t)(c - '0');
			else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
				a = a << 4 | (uint64_t)((c | 0x20) - 'a' + 10);
			else
				break;
		}
		probe(k, a, kf);
		probe(k, a - 1, kf);
		probe(k, a + 1, kf);
		while (i < size && data[i++] != '\n')
			;
	}
	(void)ksyms_bytes(k);
	ksyms_free(kf);
	ksyms_free(k);
	return 0;
}
