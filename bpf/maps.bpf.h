/* SPDX-License-Identifier: GPL-2.0-only */
/* Maps that more than one BPF object uses, defined once. Each object that
 * includes this gets its own copy of the definition; user space creates
 * the map with the first object that loads and hands its fd to the others
 * (bpf_map__reuse_fd, daemon/collect/kstats.c), so the definitions must be
 * identical, which one definition guarantees. */
#ifndef PROFD_MAPS_BPF_H
#define PROFD_MAPS_BPF_H

#include "profd/counters.h"

/* Per-process block I/O counters, key: __u32 tgid. Written by blkio.bpf.c
 * at request completion; read and deleted by sched.bpf.c when the process
 * exits, so that its exit record carries its I/O. Size set by user space
 * (bpf_map__set_max_entries) before load. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct profd_io_counters);
} io_procs SEC(".maps");

#endif
