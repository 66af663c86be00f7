/* SPDX-License-Identifier: GPL-2.0-only */
/* A call chain built like distribution code (-O2 -fomit-frame-pointer, see
 * meson.build) for test_unwind_table: each level records its return
 * address, the deepest captures its registers, and the test walks the
 * live stack from them with the compact tables. */
#include "unwind_chain.h"

#include <signal.h>
#include <stddef.h>

static volatile int sink;

/* pc, sp and rbp at one instruction: what a sample would see. */
__attribute__((noinline)) void chain_capture(struct chain *c)
{
	uint64_t pc, sp, bp;

	__asm__ volatile("lea 0(%%rip), %0\n\tmov %%rsp, %1\n\tmov %%rbp, %2" : "=r"(pc), "=r"(sp), "=r"(bp));
	c->regs.pc = pc;
	c->regs.sp = sp;
	c->regs.bp = bp;
	c->ret[c->n++] = (uint64_t)(uintptr_t)__builtin_return_address(0);
	if (c->done)
		c->done(c);
	sink++;
}

__attribute__((noinline)) void chain_level3(struct chain *c)
{
	volatile char pad[200]; /* a frame of its own size */

	pad[0] = 1;
	c->ret[c->n++] = (uint64_t)(uintptr_t)__builtin_return_address(0);
	if (c->signal)
		raise(c->signal);
	else
		chain_capture(c);
	sink += pad[0];
}

__attribute__((noinline)) void chain_level2(struct chain *c)
{
	c->ret[c->n++] = (uint64_t)(uintptr_t)__builtin_return_address(0);
	chain_level3(c);
	sink++;
}

__attribute__((noinline)) void chain_level1(struct chain *c)
{
	c->ret[c->n++] = (uint64_t)(uintptr_t)__builtin_return_address(0);
	chain_level2(c);
	sink++;
}
