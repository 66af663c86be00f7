/* SPDX-License-Identifier: GPL-2.0-only */
/* profd --check: what a new user runs first. Checks, one item each, what
 * profd needs from the kernel and the host (kernel version, BTF, the bpf()
 * call, perf_event_paranoid and the sampling event, each BPF program
 * loaded and attached, capabilities, kernel symbols, the socket and state
 * directories), reports how well the main system libraries can be unwound
 * and symbolized, then runs a self-test: a built-in workload of known
 * shares sampled for a few seconds, its samples compared with the
 * kernel's own CPU accounting of it. Every item that is not fine names
 * its cause and the fix.
 *
 * Paths (procfs, BTF, sysctls, libraries, directories) are injected, so the
 * failure paths are unit-tested on fixtures; the BPF part and the self-test
 * can be turned off for that. */
#ifndef PROFD_CHECK_H
#define PROFD_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum check_status {
	CHECK_OK,    /* works */
	CHECK_WARN,  /* works, with less (no cycles, no frame pointers, no debug info) */
	CHECK_FAIL,  /* profd cannot do its job: the exit code is non-zero */
	CHECK_SKIP,  /* not tried: something it depends on failed */
};

#define CHECK_MAX_ITEMS 64

struct check_item {
	char name[48];     /* "kernel", "btf", "program cpu", "unwind libc.so.6" */
	enum check_status status;
	char detail[256];  /* what was found */
	char cause[256];   /* not OK: why */
	char fix[320];     /* not OK: what to do */
};

struct check_selftest_proc {
	char role[16];          /* "full", "third" */
	double duty;            /* share of one CPU the workload asks for */
	uint64_t cpu_ns;        /* the kernel's accounting (schedstat) */
	uint64_t samples;       /* samples profd attributed to it */
	uint64_t expected;      /* cpu_ns x frequency */
	double error;           /* samples / expected - 1 */
};

struct check_report {
	struct check_item items[CHECK_MAX_ITEMS];
	unsigned n;
	unsigned failed, warned;
	int selftest_ran;
	uint32_t selftest_hz;
	double selftest_s;
	const char *selftest_event;  /* "cycles" or "cpu-clock" */
	struct check_selftest_proc selftest[2];
	uint64_t selftest_samples;   /* all samples drained, any process */
};

struct check_opts {
	const char *procfs;        /* "/proc" */
	const char *btf_path;      /* "/sys/kernel/btf/vmlinux" */
	const char *osrelease;     /* NULL: uname(2) */
	const char *socket_path;   /* from the configuration */
	const char *socket_group;
	const char *state_dir;
	const char *debug_dirs;    /* ':'-separated */
	const char *const *libs;   /* NULL-terminated paths; NULL: the host's main libraries */
	unsigned selftest_ms;      /* 0: no self-test */
	uint32_t selftest_hz;      /* 0: 199 */
	int no_bpf;                /* 1: no program is loaded (unit tests) */
	int dwarf_unwind;          /* [sampling] dwarf_unwind: user stacks from .eh_frame too */
};

/* Run every check into *ret. Returns the exit code: 0 when nothing
 * failed, 1 otherwise. */
int check_run(const struct check_opts *o, struct check_report *ret);
/* Human text: one line per item, cause and fix indented below. */
void check_print_text(const struct check_report *r, FILE *f);
/* One JSON object: {"ok":bool,"failed":N,"warned":N,"items":[...],"selftest":{...}}. */
void check_print_json(const struct check_report *r, FILE *f);

/* profd --check [--json]: defaults for this host (procfs, BTF, a 5 s
 * self-test at 199 Hz) with the configuration's paths, overridable for
 * tests by $PROFD_CHECK_BTF (another BTF path: a missing one shows the
 * failure path) and $PROFD_CHECK_SELFTEST_MS (0: none). Runs, prints,
 * returns the exit code. */
int check_main(const char *socket_path, const char *socket_group, const char *state_dir, const char *debug_dirs, int dwarf_unwind, int json);

/* ---- pieces, exposed for unit tests ---- */

/* "6.18.44-fc-v1045" -> 6, 18. 0 or -EINVAL. */
int check_parse_kernel_version(const char *release, unsigned *major, unsigned *minor);
/* CapEff: from /proc/PID/status text. 0 or -ENOENT. */
int check_parse_capeff(const char *status_text, uint64_t *ret);

/* How an ELF file can be unwound and symbolized. */
struct check_elf_info {
	int is_elf;
	int fp_known;           /* the architecture's prologues are recognised */
	unsigned fp_functions;  /* functions whose prologue sets up a frame pointer */
	unsigned functions;     /* functions looked at */
	int eh_frame, symtab, dynsym, debug_info, debuglink, debugdata;
	int debug_file;         /* a separate debug file found by build-id */
	char build_id[41];      /* hex, "" if none */
};
/* 0 or -errno (-ENOEXEC: not ELF). debug_dirs may be NULL. */
int check_elf_inspect(const char *path, const char *debug_dirs, struct check_elf_info *ret);

/* The items for one library from its inspection: "unwind NAME" and
 * "symbols NAME"; dwarf_unwind: profd unwinds from .eh_frame too. */
void check_elf_items(const char *name, const struct check_elf_info *in, int dwarf_unwind, struct check_item *unwind, struct check_item *symbols);

/* The perf_event_open item from the sysctl value, our effective
 * capabilities and the errno of opening a CPU-wide software event (0:
 * it opened). */
void check_perf_item(int paranoid, uint64_t capeff, int open_err, struct check_item *it);

#endif
