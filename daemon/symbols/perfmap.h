/* SPDX-License-Identifier: GPL-2.0-only */
/* JIT symbol maps: the /tmp/perf-PID.map files JITs write (V8/Node with
 * --perf-basic-prof, the JVM with perf-map-agent, LuaJIT, .NET, ...).
 *
 * One function per line, "START SIZE NAME": START and SIZE in hex (an
 * optional 0x), NAME the rest of the line. JITs append as they compile
 * and may reuse addresses after collecting code, so a later line wins
 * over an earlier one that covers the same address. Pure: text in,
 * sorted table out; malformed lines are skipped and counted. */
#ifndef PROFD_PERFMAP_H
#define PROFD_PERFMAP_H

#include <stddef.h>
#include <stdint.h>

/* Bytes of one map read: a JIT that writes more (years of recompiling)
 * has the rest ignored and counted (jit_truncated). */
#define PERFMAP_MAX_BYTES (16u << 20)
/* Bytes kept of one name: past it the name is cut. */
#define PERFMAP_NAME_MAX 1024u

struct perfmap;

/* Parse buf[0..len): 0 and *ret, or -ENOMEM. A last line without its
 * newline is parsed too (the caller passes only complete lines). */
int perfmap_parse(const char *buf, size_t len, struct perfmap **ret);
struct perfmap *perfmap_free(struct perfmap *m);

/* The function covering ip (the latest line among those that cover it):
 * 0, *ret_name (valid while m lives) and *ret_offset (ip - start), or
 * -ENOENT. */
int perfmap_lookup(const struct perfmap *m, uint64_t ip, const char **ret_name, uint64_t *ret_offset);

size_t perfmap_count(const struct perfmap *m);
/* Malformed lines skipped. */
size_t perfmap_skipped(const struct perfmap *m);
/* Bytes held. */
size_t perfmap_bytes(const struct perfmap *m);

#endif
