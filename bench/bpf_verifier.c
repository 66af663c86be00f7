/* SPDX-License-Identifier: GPL-2.0-only */
/* bench_bpf_verifier: loads the CPU sampler's programs with the verifier's
 * statistics on and prints them (instructions processed, states, stack,
 * verification time) for the frame-pointer program and the DWARF unwinder:
 * the worst-case verifier complexity docs/architecture.md states. Root. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "cpu.skel.h"

static char logbuf[1 << 20];

static int verify(int unwind)
{
	struct profd_cpu_bpf *s = profd_cpu_bpf__open();
	struct bpf_program *p;
	int r;

	if (!s) {
		perror("bench_bpf_verifier: open");
		return 1;
	}
	p = unwind ? s->progs.profd_sample_unwind : s->progs.profd_sample;
	bpf_program__set_autoload(s->progs.profd_sample, !unwind);
	bpf_program__set_autoload(s->progs.profd_sample_unwind, unwind);
	bpf_program__set_autoload(s->progs.profd_unw_exec, unwind);
	logbuf[0] = 0;
	bpf_program__set_log_buf(p, logbuf, sizeof(logbuf));
	bpf_program__set_log_level(p, getenv("VERBOSE") ? 1 | 4 : 4); /* statistics (VERBOSE: the whole log) */
	r = profd_cpu_bpf__load(s);
	printf("%s: load %s, %zu instructions\n%s\n", bpf_program__name(p), r ? "FAILED" : "ok",
	       bpf_program__insn_cnt(p), logbuf);
	profd_cpu_bpf__destroy(s);
	return r ? 1 : 0;
}

int main(void)
{
	return verify(0) | verify(1);
}
