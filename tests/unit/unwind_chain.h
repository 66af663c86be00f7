/* SPDX-License-Identifier: GPL-2.0-only */
/* See unwind_chain.c. */
#ifndef PROFD_TEST_UNWIND_CHAIN_H
#define PROFD_TEST_UNWIND_CHAIN_H

#include <stdint.h>

#include "unwind/table.h"

struct chain {
	uint64_t ret[8];          /* return addresses, deepest level last */
	int n;
	int signal;               /* raise this in level 3, capture in the handler */
	struct unwind_regs regs;  /* captured in chain_capture */
	void (*done)(struct chain *c); /* called with the registers captured */
	void *ctx;
};

void chain_level1(struct chain *c);
void chain_level2(struct chain *c);
void chain_level3(struct chain *c);
void chain_capture(struct chain *c);

#endif
