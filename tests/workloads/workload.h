/* SPDX-License-Identifier: GPL-2.0-only */
/* Shared by the test workloads. */
#ifndef PROFD_WORKLOAD_H
#define PROFD_WORKLOAD_H

#include <stdint.h>

/* GCC 12 sets up no frame at all in a leaf function that needs no stack,
 * even with -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer; a
 * frame-pointer walk from inside it then skips its caller. Taking the frame
 * address forces the frame: every named workload function starts with it. */
extern volatile uintptr_t workload_frame_sink;
#ifdef WORKLOAD_NO_FRAME_POINTERS
/* Built to be unwound from .eh_frame alone: no frame anywhere. */
#define FORCE_FRAME() ((void)0)
#else
#define FORCE_FRAME() (workload_frame_sink = (uintptr_t)__builtin_frame_address(0))
#endif

#endif
