/* SPDX-License-Identifier: GPL-2.0-only */
/* Kernel symbols from kallsyms text: address -> nearest text symbol.
 *
 * Pure: the path is injectable. Only text symbols (types t, T, w, W) of the
 * core kernel and of modules are kept. When every address reads as zero
 * (kptr_restrict hides them), the table loads with no symbols and
 * ksyms_restricted() says why. */
#ifndef PROFD_KSYMS_H
#define PROFD_KSYMS_H

#include <stddef.h>
#include <stdint.h>

/* Bound on symbols kept: a distribution kernel with modules has ~200k
 * text symbols; ten times that is not a kernel. */
#define KSYMS_MAX_SYMBOLS (4u << 20)

struct ksyms;

/* Load kallsyms-format text from path. 0 and *ret set, or -errno
 * (-ENOENT/-EACCES from open, -ENOMEM, -E2BIG past KSYMS_MAX_SYMBOLS). */
int ksyms_load(const char *path, struct ksyms **ret);
/* Same from a buffer. */
int ksyms_parse(const char *buf, size_t len, struct ksyms **ret);
struct ksyms *ksyms_free(struct ksyms *k);

/* Nearest symbol at or below addr. 0 and outputs set, or -ENOENT when no
 * symbol is at or below addr. *ret_module is "vmlinux" for the core kernel,
 * "[name]" for a module. Pointers live as long as k. */
int ksyms_lookup(const struct ksyms *k, uint64_t addr, const char **ret_name,
		 const char **ret_module, uint64_t *ret_offset);

size_t ksyms_count(const struct ksyms *k);
/* 1 when addresses were all zero (kptr_restrict). */
int ksyms_restricted(const struct ksyms *k);
size_t ksyms_bytes(const struct ksyms *k);

#endif
