/* SPDX-License-Identifier: GPL-2.0-only */
/* Pins the BPF <-> user-space ABI sizes: a change to include/profd/sample.h
 * that moves a field breaks the build here, not the daemon at run time. */
#include <stddef.h>
#include <linux/bpf.h>

#include "profd/sample.h"
#include "profd/unwind.h"

_Static_assert(sizeof(struct profd_ustack_frame) == sizeof(struct bpf_stack_build_id), "user frame = bpf_stack_build_id");
_Static_assert(offsetof(struct profd_ustack_frame, offset_or_ip) == offsetof(struct bpf_stack_build_id, offset), "offset field");
_Static_assert(sizeof(struct profd_ustack_frame) == 32, "user frame size");
_Static_assert(sizeof(struct profd_sample) == 64, "sample header size");
_Static_assert(offsetof(struct profd_sample, kdepth) == 32, "sample kdepth offset");
_Static_assert(sizeof(struct profd_proc_event) == 312, "proc event size");
_Static_assert(sizeof(struct profd_cpu_stats) == 64, "cpu stats size");
_Static_assert(offsetof(struct profd_sample, ustop) == 60, "sample ustop offset");
_Static_assert(sizeof(struct profd_unw_row) == 8 && sizeof(union profd_unw_cell) == 8, "unwind row = one 8-byte cell");
_Static_assert(sizeof(struct profd_unw_page) == 8, "page entry = one cell");
_Static_assert(sizeof(struct profd_unw_obj) == 32, "object descriptor size");
_Static_assert(sizeof(struct profd_unw_mapping) == 32, "mapping entry size");
_Static_assert(sizeof(struct profd_unw_proc) == 40, "process entry size");
_Static_assert(sizeof(struct profd_uframe) == 16, "unwound frame size");
_Static_assert(sizeof(struct profd_unw_stats) == 26 * 8, "unwinder stats size");
_Static_assert(PROFD_MAX_USTACK == PROFD_UNW_MAX_FRAMES, "one bound on user frames in a record");
_Static_assert(PROFD_UNW_MAX_PROC_MAPPINGS <= (1u << PROFD_UNW_MAP_STEPS), "mapping search steps cover the bound");
_Static_assert(PROFD_BUILD_ID_VALID == BPF_STACK_BUILD_ID_VALID && PROFD_BUILD_ID_IP == BPF_STACK_BUILD_ID_IP, "status values");

/* A translation unit needs one declaration besides assertions. */
int profd_abi_checked(void);
int profd_abi_checked(void) { return 1; }
