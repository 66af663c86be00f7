/* SPDX-License-Identifier: GPL-2.0-only */
/* profd --check: kernel, host and self-test checks; see check.h. */
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <glob.h>
#include <grp.h>
#include <inttypes.h>
#include <libelf.h>
#include <limits.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <json-c/json.h>

#include "collect/kstats.h"
#include "collect/sampler.h"
#include "common/clock.h"

/* Capability numbers, from linux/capability.h (not every libc header
 * set has CAP_PERFMON and CAP_BPF yet). */
#define C_CHOWN 0
#define C_DAC_READ_SEARCH 2
#define C_SYS_PTRACE 19
#define C_SYS_ADMIN 21
#define C_SYSLOG 34
#define C_PERFMON 38
#define C_BPF 39
#define HAS(caps, c) (((caps) >> (c)) & 1)

/* Functions looked at per library: enough for a stable share, bounded. */
#define FP_SAMPLE_MAX 4000u
/* Below this size a function may be a leaf without a frame even when
 * the file was built with frame pointers (GCC's default for leaves). */
#define FP_MIN_FUNC_SIZE 32u
/* Bytes of a function searched for the frame set-up. */
#define FP_PROLOGUE_BYTES 64u
/* Self-test verdicts on |samples / expected - 1|. */
#define SELFTEST_OK 0.10
#define SELFTEST_WARN 0.25

static struct check_item *item_add(struct check_report *r, const char *name)
{
	static struct check_item overflow;
	struct check_item *it;

	if (r->n >= CHECK_MAX_ITEMS) {
		memset(&overflow, 0, sizeof(overflow));
		return &overflow;
	}
	it = &r->items[r->n++];
	memset(it, 0, sizeof(*it));
	snprintf(it->name, sizeof(it->name), "%s", name);
	return it;
}

static void setf(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void setf(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
}

#define DETAIL(it, ...) setf((it)->detail, sizeof((it)->detail), __VA_ARGS__)
#define CAUSE(it, ...) setf((it)->cause, sizeof((it)->cause), __VA_ARGS__)
#define FIX(it, ...) setf((it)->fix, sizeof((it)->fix), __VA_ARGS__)

static int read_text(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, cap - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return (int)n;
}

static int read_sysctl_int(const char *procfs, const char *name, int *ret)
{
	char path[256], buf[64];
	int r;

	snprintf(path, sizeof(path), "%s/sys/%s", procfs, name);
	r = read_text(path, buf, sizeof(buf));
	if (r < 0)
		return r;
	*ret = atoi(buf);
	return 0;
}

/* ---- pure pieces ---- */

int check_parse_kernel_version(const char *release, unsigned *major, unsigned *minor)
{
	unsigned a, b;

	if (!release || sscanf(release, "%u.%u", &a, &b) != 2)
		return -EINVAL;
	*major = a;
	*minor = b;
	return 0;
}

int check_parse_capeff(const char *status_text, uint64_t *ret)
{
	const char *p = status_text ? strstr(status_text, "\nCapEff:") : NULL;

	if (!p || sscanf(p + 8, " %" SCNx64, ret) != 1)
		return -ENOENT;
	return 0;
}

void check_perf_item(int paranoid, uint64_t capeff, int open_err, struct check_item *it)
{
	bool perfmon = HAS(capeff, C_PERFMON) || HAS(capeff, C_SYS_ADMIN);

	if (open_err == 0) {
		it->status = CHECK_OK;
		DETAIL(it, "kernel.perf_event_paranoid=%d, CPU-wide events open (%s)", paranoid,
		       perfmon ? "CAP_PERFMON" : "allowed to everyone at this level");
		return;
	}
	it->status = CHECK_FAIL;
	DETAIL(it, "kernel.perf_event_paranoid=%d: opening a CPU-wide event failed: %s", paranoid, strerror(open_err));
	if (open_err == ENOSYS) {
		CAUSE(it, "the kernel has no perf_event_open (CONFIG_PERF_EVENTS is off)");
		FIX(it, "use a kernel built with CONFIG_PERF_EVENTS=y");
	} else if ((open_err == EACCES || open_err == EPERM) && !perfmon) {
		CAUSE(it, "kernel.perf_event_paranoid=%d and profd has no CAP_PERFMON: CPU-wide events need it above level 0", paranoid);
		if (paranoid > 2)
			FIX(it, "set it to 2 (sysctl kernel.perf_event_paranoid=2) or run profd with CAP_PERFMON (as root, or the shipped unit)");
		else
			FIX(it, "run profd with CAP_PERFMON (as root, or the shipped unit), or set kernel.perf_event_paranoid=-1");
	} else if (open_err == EACCES || open_err == EPERM) {
		CAUSE(it, "denied despite CAP_PERFMON: a seccomp filter or an LSM (SELinux, AppArmor) forbids perf_event_open");
		FIX(it, "allow perf_event_open for profd (systemd: SystemCallFilter=perf_event_open, as the shipped unit does)");
	} else if (open_err == ENODEV || open_err == ENOENT || open_err == EOPNOTSUPP) {
		CAUSE(it, "the kernel offers no software cpu-clock event");
		FIX(it, "use a kernel built with CONFIG_PERF_EVENTS=y and CONFIG_HIGH_RES_TIMERS=y");
	} else {
		CAUSE(it, "perf_event_open failed: %s", strerror(open_err));
		FIX(it, "see dmesg; check kernel.perf_event_max_sample_rate and the limits on open files");
	}
}

/* ---- ELF inspection ---- */

/* Does the function whose code starts at p set up a frame pointer? On
 * x86-64: mov %rsp,%rbp within its first bytes (shrink-wrapping puts a
 * fast path before the prologue, and scheduling may separate it from its
 * push %rbp, so neither at entry nor as a pair);
 * on AArch64: stp x29, x30, [sp, #-N]! among the first instructions. */
static bool prologue_sets_fp(int machine, const uint8_t *p, size_t len)
{
	if (machine == EM_X86_64) {
		static const uint8_t frame[3] = { 0x48, 0x89, 0xe5 };

		for (size_t i = 0; i + 3 <= len; i++)
			if (memcmp(p + i, frame, 3) == 0)
				return true;
		return false;
	}
	if (machine == EM_AARCH64) {
		for (size_t i = 0; i + 4 <= len; i += 4) {
			uint32_t insn = (uint32_t)p[i] | (uint32_t)p[i + 1] << 8 | (uint32_t)p[i + 2] << 16 | (uint32_t)p[i + 3] << 24;

			/* stp x29, x30, [sp, #imm]! */
			if ((insn & 0xffc07fffu) == 0xa9807bfdu)
				return true;
		}
	}
	return false;
}

static void count_fp(Elf *e, int machine, Elf_Scn *symscn, const GElf_Shdr *symsh, struct check_elf_info *in)
{
	Elf_Data *d = elf_getdata(symscn, NULL);
	size_t n = symsh->sh_entsize ? symsh->sh_size / symsh->sh_entsize : 0;

	if (!d)
		return;
	for (size_t i = 0; i < n && in->functions < FP_SAMPLE_MAX; i++) {
		GElf_Sym sym;
		GElf_Shdr tsh;
		Elf_Scn *ts;
		Elf_Data *td;
		uint64_t off, look;

		if (!gelf_getsym(d, (int)i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_size < FP_MIN_FUNC_SIZE ||
		    sym.st_shndx == SHN_UNDEF || sym.st_shndx >= SHN_LORESERVE)
			continue;
		ts = elf_getscn(e, sym.st_shndx);
		if (!ts || !gelf_getshdr(ts, &tsh) || tsh.sh_type != SHT_PROGBITS || !(tsh.sh_flags & SHF_EXECINSTR))
			continue;
		if (sym.st_value < tsh.sh_addr || sym.st_value - tsh.sh_addr + FP_MIN_FUNC_SIZE > tsh.sh_size)
			continue;
		td = elf_getdata(ts, NULL);
		off = sym.st_value - tsh.sh_addr;
		look = sym.st_size < FP_PROLOGUE_BYTES ? sym.st_size : FP_PROLOGUE_BYTES;
		if (!td || !td->d_buf || off + look > td->d_size)
			continue;
		in->functions++;
		if (prologue_sets_fp(machine, (const uint8_t *)td->d_buf + off, look))
			in->fp_functions++;
	}
}

static void find_debug_file(const char *debug_dirs, struct check_elf_info *in)
{
	char dirs[512], *save = NULL;

	if (!debug_dirs || !in->build_id[0] || strlen(in->build_id) < 3)
		return;
	snprintf(dirs, sizeof(dirs), "%s", debug_dirs);
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		char path[1024];

		snprintf(path, sizeof(path), "%s/.build-id/%.2s/%s.debug", d, in->build_id, in->build_id + 2);
		if (access(path, R_OK) == 0) {
			in->debug_file = 1;
			return;
		}
	}
}

int check_elf_inspect(const char *path, const char *debug_dirs, struct check_elf_info *in)
{
	Elf_Scn *scn = NULL, *symtab = NULL, *dynsym = NULL;
	GElf_Shdr symtab_sh, dynsym_sh;
	GElf_Ehdr eh;
	size_t shstrndx;
	int fd, r = 0;
	Elf *e;

	memset(in, 0, sizeof(*in));
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOTSUP;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &eh) || elf_getshdrstrndx(e, &shstrndx) < 0) {
		r = -ENOEXEC;
		goto out;
	}
	in->is_elf = 1;
	in->fp_known = eh.e_machine == EM_X86_64 || eh.e_machine == EM_AARCH64;
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(e, shstrndx, sh.sh_name)))
			continue;
		if (!strcmp(name, ".eh_frame") && sh.sh_size > 0)
			in->eh_frame = 1;
		else if (!strcmp(name, ".debug_info") && sh.sh_type != SHT_NOBITS)
			in->debug_info = 1;
		else if (!strcmp(name, ".gnu_debuglink"))
			in->debuglink = 1;
		else if (!strcmp(name, ".gnu_debugdata"))
			in->debugdata = 1;
		if (sh.sh_type == SHT_SYMTAB) {
			in->symtab = 1;
			symtab = scn;
			symtab_sh = sh;
		} else if (sh.sh_type == SHT_DYNSYM) {
			in->dynsym = 1;
			dynsym = scn;
			dynsym_sh = sh;
		} else if (sh.sh_type == SHT_NOTE && !in->build_id[0]) {
			Elf_Data *d = elf_getdata(scn, NULL);
			size_t off = 0, noff, doff;
			GElf_Nhdr nh;

			while (d && (off = gelf_getnote(d, off, &nh, &noff, &doff)) > 0) {
				if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && nh.n_descsz <= 20 &&
				    !memcmp((const char *)d->d_buf + noff, "GNU", 4)) {
					for (size_t i = 0; i < nh.n_descsz; i++)
						sprintf(in->build_id + 2 * i, "%02x", ((const uint8_t *)d->d_buf)[doff + i]);
					break;
				}
			}
		}
	}
	if (in->fp_known) {
		/* .symtab has the local functions too: a fuller sample */
		if (symtab)
			count_fp(e, eh.e_machine, symtab, &symtab_sh, in);
		else if (dynsym)
			count_fp(e, eh.e_machine, dynsym, &dynsym_sh, in);
	}
	find_debug_file(debug_dirs, in);
out:
	if (e)
		elf_end(e);
	close(fd);
	return r;
}

void check_elf_items(const char *name, const struct check_elf_info *in, int dwarf_unwind, struct check_item *uw, struct check_item *sy)
{
	unsigned pct = in->functions ? 100u * in->fp_functions / in->functions : 0;

	snprintf(uw->name, sizeof(uw->name), "unwind %s", name);
	snprintf(sy->name, sizeof(sy->name), "symbols %s", name);
	if (!in->fp_known || !in->functions) {
		uw->status = CHECK_WARN;
		DETAIL(uw, "frame pointers: unknown (%s), .eh_frame: %s", in->fp_known ? "no function symbols" : "architecture not recognised",
		       in->eh_frame ? "yes" : "no");
		CAUSE(uw, "could not tell whether it keeps frame pointers");
		FIX(uw, "nothing to do if its stacks look whole in profctl export; else rebuild it with -fno-omit-frame-pointer");
	} else if (pct >= 50) {
		uw->status = CHECK_OK;
		DETAIL(uw, "frame pointers: yes (%u%% of %u functions), .eh_frame: %s", pct, in->functions, in->eh_frame ? "yes" : "no");
	} else if (in->eh_frame && dwarf_unwind) {
		uw->status = CHECK_OK;
		DETAIL(uw, "frame pointers: no (%u%% of %u functions), .eh_frame: yes: unwound from its CFI (dwarf_unwind = yes)",
		       pct, in->functions);
	} else {
		uw->status = CHECK_WARN;
		DETAIL(uw, "frame pointers: no (%u%% of %u functions), .eh_frame: %s", pct, in->functions, in->eh_frame ? "yes" : "no");
		if (in->eh_frame) {
			CAUSE(uw, "built without frame pointers, and [sampling] dwarf_unwind = no: stacks through its code lose their callers (reported as truncated)");
			FIX(uw, "set dwarf_unwind = yes in [sampling] (profd unwinds from its .eh_frame), or use a build with -fno-omit-frame-pointer");
		} else {
			CAUSE(uw, "built without frame pointers or unwind tables: stacks through its code lose their callers (reported as truncated)");
			FIX(uw, "use a build with -fno-omit-frame-pointer (or with .eh_frame, which profd unwinds from)");
		}
	}
	if (in->symtab || in->debug_file || in->debug_info || in->debugdata) {
		sy->status = CHECK_OK;
		DETAIL(sy, "%s%s%s%s", in->symtab ? ".symtab " : "", in->debugdata ? "MiniDebugInfo " : "",
		       in->debug_info ? ".debug_info " : "", in->debug_file ? "debug file by build-id" : "");
	} else {
		sy->status = CHECK_WARN;
		DETAIL(sy, ".dynsym only (exported functions), no debug file%s%s", in->debuglink ? " (it names one: .gnu_debuglink)" : "",
		       in->build_id[0] ? "" : ", no build-id");
		CAUSE(sy, "internal functions have no names: their frames show as %s+0xOFFSET", name);
		FIX(sy, "install its debug symbols (Debian: its -dbgsym package from the debug archive, libc6-dbg for libc), or add their directory to debug_dirs");
	}
}

/* ---- the checks ---- */

static void check_kernel(const struct check_opts *o, struct check_report *r)
{
	struct check_item *it = item_add(r, "kernel");
	struct utsname u;
	const char *rel = o->osrelease;
	unsigned maj = 0, min = 0;

	if (!rel)
		rel = uname(&u) == 0 ? u.release : "";
	if (check_parse_kernel_version(rel, &maj, &min) < 0) {
		it->status = CHECK_FAIL;
		DETAIL(it, "release \"%s\"", rel);
		CAUSE(it, "the kernel release could not be read");
		FIX(it, "check uname -r");
		return;
	}
	DETAIL(it, "Linux %s", rel);
	if (maj < 5 || (maj == 5 && min < 8)) {
		it->status = CHECK_FAIL;
		CAUSE(it, "Linux %u.%u is older than 5.8: no BPF ring buffer, CAP_BPF/CAP_PERFMON or tp_btf programs", maj, min);
		FIX(it, "run a kernel >= 5.8 (Debian 11 and later ship one)");
	} else {
		it->status = CHECK_OK;
	}
}

static bool check_btf(const struct check_opts *o, struct check_report *r)
{
	struct check_item *it = item_add(r, "btf");
	struct btf *btf;
	long err;

	if (access(o->btf_path, R_OK) < 0) {
		int e = errno;

		it->status = CHECK_FAIL;
		DETAIL(it, "%s: %s", o->btf_path, strerror(e));
		CAUSE(it, "no kernel BTF: profd's programs are CO-RE and need the kernel's type information");
		FIX(it, "use a kernel built with CONFIG_DEBUG_INFO_BTF=y (Debian's are, since 11); check that /sys is mounted");
		return false;
	}
	/* libbpf >= 1.0: NULL and errno on failure */
	btf = btf__parse(o->btf_path, NULL);
	err = btf ? 0 : -errno;
	if (err) {
		it->status = CHECK_FAIL;
		DETAIL(it, "%s: %s", o->btf_path, strerror((int)-err));
		CAUSE(it, "the kernel BTF could not be parsed");
		FIX(it, "update libbpf, or use a kernel whose BTF this libbpf reads");
		return false;
	}
	it->status = CHECK_OK;
	DETAIL(it, "%s: %u types", o->btf_path, btf__type_cnt(btf));
	btf__free(btf);
	return true;
}

static bool check_bpf_syscall(const struct check_opts *o, struct check_report *r)
{
	struct check_item *it = item_add(r, "bpf syscall");
	struct bpf_insn insns[2] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr;
	int fd, e, unpriv = -1;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	attr.insns = (uintptr_t)insns;
	attr.insn_cnt = 2;
	attr.license = (uintptr_t)"GPL";
	fd = (int)syscall(__NR_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	if (fd >= 0) {
		close(fd);
		it->status = CHECK_OK;
		DETAIL(it, "bpf() loads programs");
		return true;
	}
	e = errno;
	read_sysctl_int(o->procfs, "kernel/unprivileged_bpf_disabled", &unpriv);
	it->status = CHECK_FAIL;
	DETAIL(it, "bpf(BPF_PROG_LOAD): %s", strerror(e));
	if (e == ENOSYS) {
		CAUSE(it, "the kernel has no bpf() system call (CONFIG_BPF_SYSCALL is off)");
		FIX(it, "use a kernel built with CONFIG_BPF_SYSCALL=y");
	} else if (e == EPERM || e == EACCES) {
		CAUSE(it, "not allowed to load BPF programs: no CAP_BPF (kernel.unprivileged_bpf_disabled=%d), or a seccomp filter denies bpf()", unpriv);
		FIX(it, "run profd as root or with CAP_BPF and CAP_PERFMON (the shipped unit does); under systemd keep SystemCallFilter=bpf");
	} else {
		CAUSE(it, "bpf() failed: %s", strerror(e));
		FIX(it, "see dmesg");
	}
	return false;
}

static uint64_t read_capeff(const char *procfs)
{
	char path[256], buf[4096];
	uint64_t caps = 0;

	snprintf(path, sizeof(path), "%s/self/status", procfs);
	if (read_text(path, buf, sizeof(buf)) > 0)
		check_parse_capeff(buf, &caps);
	return caps;
}

static int open_event(uint32_t type, uint64_t config)
{
	struct perf_event_attr attr = {
		.size = sizeof(attr), .type = type, .config = config, .freq = 1, .sample_freq = 99,
	};
	int fd = (int)syscall(__NR_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static bool check_perf(const struct check_opts *o, uint64_t caps, struct check_report *r)
{
	struct check_item *it = item_add(r, "perf_event_open");
	struct check_item *ev;
	int paranoid = 2, err, hw;

	read_sysctl_int(o->procfs, "kernel/perf_event_paranoid", &paranoid);
	err = open_event(PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK);
	check_perf_item(paranoid, caps, err, it);
	ev = item_add(r, "sampling event");
	if (err) {
		ev->status = CHECK_SKIP;
		DETAIL(ev, "not tried: no CPU-wide event opens");
		return false;
	}
	hw = open_event(PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES);
	ev->status = CHECK_OK;
	if (!hw)
		DETAIL(ev, "hardware cycles (the PMU counts them)");
	else
		DETAIL(ev, "software cpu-clock only: hardware cycles unavailable (%s; usual in VMs without a virtual PMU); sampling is by time, which is what profd reports anyway",
		       strerror(hw));
	return true;
}

static void check_caps(uint64_t caps, struct check_report *r)
{
	struct check_item *it = item_add(r, "capabilities");
	bool bpf = HAS(caps, C_BPF) || HAS(caps, C_SYS_ADMIN), perfmon = HAS(caps, C_PERFMON) || HAS(caps, C_SYS_ADMIN);
	char missing[160] = "";

	if (!bpf)
		strcat(missing, " CAP_BPF");
	if (!perfmon)
		strcat(missing, " CAP_PERFMON");
	if (!HAS(caps, C_SYS_PTRACE))
		strcat(missing, " CAP_SYS_PTRACE");
	if (!HAS(caps, C_DAC_READ_SEARCH))
		strcat(missing, " CAP_DAC_READ_SEARCH");
	if (!HAS(caps, C_SYSLOG))
		strcat(missing, " CAP_SYSLOG");
	if (!HAS(caps, C_CHOWN))
		strcat(missing, " CAP_CHOWN");
	DETAIL(it, "effective set 0x%" PRIx64 "%s%s", caps, missing[0] ? "; missing:" : "; all needed present", missing);
	if (!bpf || !perfmon) {
		it->status = CHECK_FAIL;
		CAUSE(it, "profd loads BPF programs and opens CPU-wide perf events: it needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN)");
		FIX(it, "run profd as root (the shipped unit bounds it to what it needs)");
	} else if (missing[0]) {
		it->status = CHECK_WARN;
		CAUSE(it, "without SYS_PTRACE/DAC_READ_SEARCH other users' processes lose names and symbols; without SYSLOG kernel frames; without CHOWN the socket's group");
		FIX(it, "run profd as root, or grant:%s", missing);
	} else {
		it->status = CHECK_OK;
	}
}

static void check_kallsyms(const struct check_opts *o, struct check_report *r)
{
	struct check_item *it = item_add(r, "kernel symbols");
	char path[256], buf[8192];
	int kptr = -1, n, nonzero = 0, lines = 0;

	snprintf(path, sizeof(path), "%s/kallsyms", o->procfs);
	n = read_text(path, buf, sizeof(buf));
	read_sysctl_int(o->procfs, "kernel/kptr_restrict", &kptr);
	if (n < 0) {
		it->status = CHECK_WARN;
		DETAIL(it, "%s: %s", path, strerror(-n));
		CAUSE(it, "kallsyms is not readable: kernel frames stay unnamed");
		FIX(it, "mount /proc; do not run profd with ProtectKernelTunables=yes");
		return;
	}
	for (char *p = buf; *p; lines++) {
		char *nl = strchr(p, '\n');

		if (strtoull(p, NULL, 16) != 0)
			nonzero++;
		if (!nl)
			break;
		p = nl + 1;
	}
	if (nonzero) {
		it->status = CHECK_OK;
		DETAIL(it, "kallsyms shows addresses (kernel.kptr_restrict=%d)", kptr);
	} else {
		it->status = CHECK_WARN;
		DETAIL(it, "kallsyms shows zero addresses (%d lines read, kernel.kptr_restrict=%d)", lines, kptr);
		CAUSE(it, "kernel addresses are hidden from profd: kernel frames will be unnamed");
		FIX(it, "run profd with CAP_SYSLOG (the shipped unit keeps it), or set kernel.kptr_restrict=0");
	}
}

/* A directory profd must be able to create files in: dir itself, or the
 * nearest existing parent when profd would create it. */
static void check_dir(struct check_report *r, const char *name, const char *dir, const char *what, const char *fix_missing)
{
	struct check_item *it = item_add(r, name);
	char probe[512];
	struct stat sb;

	snprintf(probe, sizeof(probe), "%s", dir);
	while (stat(probe, &sb) < 0) {
		char *slash = strrchr(probe, '/');

		if (!slash || slash == probe) {
			snprintf(probe, sizeof(probe), "/");
			break;
		}
		*slash = 0;
	}
	if (stat(probe, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
		it->status = CHECK_FAIL;
		DETAIL(it, "%s: %s is not a directory", dir, probe);
		CAUSE(it, "%s cannot be created under a file", what);
		FIX(it, "remove %s or point the configuration elsewhere", probe);
		return;
	}
	if (access(probe, W_OK | X_OK) < 0) {
		int e = errno;

		it->status = CHECK_FAIL;
		DETAIL(it, "%s: %s%s: %s", dir, strcmp(probe, dir) ? "its parent " : "", probe, strerror(e));
		CAUSE(it, "profd cannot create %s there (%s)", what, e == EROFS ? "read-only file system" : "no write permission");
		FIX(it, "%s", fix_missing);
		return;
	}
	it->status = CHECK_OK;
	if (strcmp(probe, dir))
		DETAIL(it, "%s: missing, profd creates it (under %s, writable)", dir, probe);
	else
		DETAIL(it, "%s: writable", dir);
}

static void check_socket(const struct check_opts *o, struct check_report *r)
{
	char dir[256], *slash;
	struct check_item *it;
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd;

	snprintf(dir, sizeof(dir), "%s", o->socket_path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir)
		*slash = 0;
	check_dir(r, "socket directory", dir, "the socket",
		  "run profd as root; under systemd RuntimeDirectory=profd creates /run/profd");
	it = item_add(r, "socket group");
	if (!getgrnam(o->socket_group)) {
		it->status = CHECK_FAIL;
		DETAIL(it, "group '%s' does not exist", o->socket_group);
		CAUSE(it, "the socket is handed to group '%s' (mode 0660) so that its members can use profctl", o->socket_group);
		FIX(it, "create it: systemd-sysusers (the package ships /usr/lib/sysusers.d/profd.conf) or groupadd --system %s",
		    o->socket_group);
		return;
	}
	it->status = CHECK_OK;
	DETAIL(it, "group '%s' exists", o->socket_group);
	/* a profd already there would make ours fail to bind */
	if (strlen(o->socket_path) < sizeof(a.sun_path)) {
		memcpy(a.sun_path, o->socket_path, strlen(o->socket_path) + 1);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
			it = item_add(r, "socket");
			it->status = CHECK_WARN;
			DETAIL(it, "%s: a profd already listens there", o->socket_path);
			CAUSE(it, "a second profd on the same socket would fail to start");
			FIX(it, "stop the running one (systemctl stop profd) or use --socket for another");
		}
		if (fd >= 0)
			close(fd);
	}
}

/* The host's main libraries: those most processes' stacks pass through. */
static void check_libraries(const struct check_opts *o, struct check_report *r)
{
	static const char *const patterns[] = {
		"/usr/lib/*-linux-gnu/libc.so.6", "/usr/lib/*-linux-gnu/libstdc++.so.6",
		"/usr/lib/*-linux-gnu/libpython3*.so.1.0", "/usr/lib/*-linux-gnu/libssl.so.3",
		"/usr/lib/*-linux-gnu/libz.so.1", "/usr/bin/python3", NULL,
	};
	const char *found[16];
	size_t n = 0;
	glob_t g = { 0 };

	if (o->libs) {
		for (size_t i = 0; o->libs[i] && n < 16; i++)
			found[n++] = o->libs[i];
	} else {
		for (size_t i = 0; patterns[i]; i++)
			glob(patterns[i], i ? GLOB_APPEND : 0, NULL, &g);
		for (size_t i = 0; i < g.gl_pathc && n < 16; i++)
			found[n++] = g.gl_pathv[i];
	}
	for (size_t i = 0; i < n; i++) {
		struct check_elf_info in;
		const char *base = strrchr(found[i], '/') ? strrchr(found[i], '/') + 1 : found[i];
		struct check_item *uw, *sy;
		char real[PATH_MAX]; /* realpath's contract */
		int e;

		if (!realpath(found[i], real))
			snprintf(real, sizeof(real), "%s", found[i]);
		e = check_elf_inspect(real, o->debug_dirs, &in);
		uw = item_add(r, "unwind");
		sy = item_add(r, "symbols");
		if (e < 0) {
			snprintf(uw->name, sizeof(uw->name), "unwind %s", base);
			snprintf(sy->name, sizeof(sy->name), "symbols %s", base);
			uw->status = sy->status = CHECK_SKIP;
			DETAIL(uw, "%s: %s", real, strerror(-e));
			DETAIL(sy, "%s: %s", real, strerror(-e));
			continue;
		}
		check_elf_items(base, &in, o->dwarf_unwind, uw, sy);
	}
	globfree(&g);
}

/* ---- programs and the self-test ---- */

struct selftest {
	char comm[2][16];
	uint64_t samples[2];
	uint64_t total;
};

static void st_sample(void *ctx, const struct profd_sample *rec, size_t len)
{
	struct selftest *s = ctx;

	(void)len;
	s->total++;
	/* by name, not pid: the kernel reports pids of the initial
	 * namespace, which differ from ours inside a container */
	for (int i = 0; i < 2; i++) {
		if (!strncmp(rec->comm, s->comm[i], sizeof(s->comm[i])))
			s->samples[i]++;
	}
}

static void errno_cause_fix(struct check_item *it, int err, const char *what)
{
	if (err == EPERM || err == EACCES) {
		CAUSE(it, "%s was denied (%s): missing CAP_BPF/CAP_PERFMON, a seccomp filter, an LSM, or kernel.perf_event_paranoid", what, strerror(err));
		FIX(it, "run profd as root; see the capabilities and perf_event_open items above");
	} else if (err == ENOENT || err == EINVAL || err == ESRCH) {
		CAUSE(it, "%s failed (%s): the kernel lacks a program type, helper or attach point this program uses", what, strerror(err));
		FIX(it, "run a kernel >= 5.8 with BTF; profd --log-level debug shows the verifier's message");
	} else {
		CAUSE(it, "%s failed: %s", what, strerror(err));
		FIX(it, "profd --log-level debug --check shows libbpf's messages");
	}
}

static void child_spin(double duty, const char *comm)
{
	prctl(PR_SET_NAME, comm, 0, 0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	for (;;) {
		/* 30 ms periods: busy duty x 30 ms, then asleep */
		uint64_t t0 = clock_mono_ns(), busy = (uint64_t)(duty * 30e6);
		volatile uint64_t x = 0;

		while (clock_mono_ns() - t0 < busy)
			x++;
		if (duty < 1.0) {
			struct timespec ts = { 0, (long)(30000000 - busy) };

			nanosleep(&ts, NULL);
		}
	}
}

static uint64_t schedstat_ns(const char *procfs, pid_t pid)
{
	char path[128], buf[128];

	snprintf(path, sizeof(path), "%s/%d/schedstat", procfs, (int)pid);
	if (read_text(path, buf, sizeof(buf)) <= 0)
		return 0;
	return strtoull(buf, NULL, 10);
}

static void run_selftest(const struct check_opts *o, struct sampler *s, struct selftest *st, struct check_report *r)
{
	static const double duty[2] = { 1.0, 1.0 / 3 };
	static const char *const role[2] = { "full", "third" };
	struct check_item *it = item_add(r, "self-test");
	pid_t pid[2] = { -1, -1 };
	uint64_t t_end, start_ns[2] = { 0 };
	double worst = 0;

	for (int i = 0; i < 2; i++) {
		pid[i] = fork();
		if (pid[i] == 0)
			child_spin(duty[i], st->comm[i]);
		if (pid[i] < 0) {
			it->status = CHECK_FAIL;
			DETAIL(it, "fork: %s", strerror(errno));
			CAUSE(it, "the workload could not start");
			FIX(it, "check the limits on processes (TasksMax=, ulimit -u)");
			goto out;
		}
	}
	for (int i = 0; i < 2; i++)
		start_ns[i] = schedstat_ns(o->procfs, pid[i]);
	t_end = clock_mono_ns() + (uint64_t)o->selftest_ms * 1000000ull;
	while (clock_mono_ns() < t_end) {
		struct timespec ts = { 0, 100000000 };

		nanosleep(&ts, NULL);
		sampler_drain(s);
	}
	/* stopped first, so the CPU time read is the time they were sampled */
	for (int i = 0; i < 2; i++)
		kill(pid[i], SIGSTOP);
	r->selftest_ran = 1;
	r->selftest_s = o->selftest_ms / 1000.0;
	for (int i = 0; i < 2; i++) {
		struct check_selftest_proc *p = &r->selftest[i];

		snprintf(p->role, sizeof(p->role), "%s", role[i]);
		p->duty = duty[i];
		p->cpu_ns = schedstat_ns(o->procfs, pid[i]) - start_ns[i];
	}
	sampler_drain(s);
	r->selftest_samples = st->total;
	for (int i = 0; i < 2; i++) {
		struct check_selftest_proc *p = &r->selftest[i];
		double e;

		p->samples = st->samples[i];
		p->expected = (uint64_t)((double)p->cpu_ns * r->selftest_hz / 1e9 + 0.5);
		e = p->expected ? (double)p->samples / (double)p->expected - 1 : -1;
		p->error = e;
		if (e < 0 ? -e > worst : e > worst)
			worst = e < 0 ? -e : e;
	}
	DETAIL(it, "%.0f s at %u Hz (%s): full %" PRIu64 "/%" PRIu64 " samples (%+.1f%%), third %" PRIu64 "/%" PRIu64 " (%+.1f%%) against the kernel's CPU time",
	       r->selftest_s, r->selftest_hz, r->selftest_event, r->selftest[0].samples, r->selftest[0].expected,
	       100 * r->selftest[0].error, r->selftest[1].samples, r->selftest[1].expected, 100 * r->selftest[1].error);
	if (!r->selftest[0].expected || !r->selftest[1].expected) {
		it->status = CHECK_FAIL;
		CAUSE(it, "the workload got no CPU time: the machine is saturated or the workload was stopped");
		FIX(it, "run profd --check again on a quieter moment");
	} else if (worst <= SELFTEST_OK) {
		it->status = CHECK_OK;
	} else if (worst <= SELFTEST_WARN) {
		it->status = CHECK_WARN;
		CAUSE(it, "the measured shares are off by up to %.0f%% (a busy or throttled machine, or lost samples)", 100 * worst);
		FIX(it, "check profctl status for dropped samples; run --check again on a quieter moment");
	} else {
		it->status = CHECK_FAIL;
		CAUSE(it, "samples do not match the kernel's CPU accounting (off by %.0f%%): samples are lost or misattributed", 100 * worst);
		FIX(it, "check profctl status for dropped samples (ring buffer, lost events) and report a bug with this output");
	}
out:
	for (int i = 0; i < 2; i++) {
		if (pid[i] > 0) {
			kill(pid[i], SIGKILL);
			waitpid(pid[i], NULL, 0);
		}
	}
}

static void check_programs(const struct check_opts *o, bool ready, struct check_report *r)
{
	static const struct { uint32_t part; const char *name, *what; } parts[] = {
		{ KSTATS_PART_ONCPU, "program sched_switch", "on/off-CPU time and context switches" },
		{ KSTATS_PART_RUNQ, "program sched_wakeup", "run-queue latency" },
		{ KSTATS_PART_FORK, "program sched_process_fork", "threads started before profd" },
		{ KSTATS_PART_EXIT, "program sched_exit", "final counters of exited processes" },
		{ KSTATS_PART_BLKIO, "program block_rq", "block I/O per process" },
	};
	struct selftest st = { .total = 0 };
	struct sampler_callbacks cb = { .sample = st_sample, .ctx = &st };
	struct sampler_opts so = { .frequency = r->selftest_hz, .tick_ns = 1000000000ull };
	struct check_item *cpu = item_add(r, "program cpu (sampling)");
	struct check_item *proc = item_add(r, "program proc (exec/exit)");
	struct sampler *s = NULL;
	struct kstats *k = NULL;
	int e, ke = 0;

	snprintf(st.comm[0], sizeof(st.comm[0]), "profdck%08x", (unsigned)getpid() << 1);
	snprintf(st.comm[1], sizeof(st.comm[1]), "profdck%08x", (unsigned)getpid() << 1 | 1);
	if (!ready) {
		cpu->status = proc->status = CHECK_SKIP;
		DETAIL(cpu, "not tried: see the failures above");
		DETAIL(proc, "not tried: see the failures above");
	} else {
		e = sampler_new(&so, &cb, &s);
		if (e < 0) {
			cpu->status = proc->status = CHECK_FAIL;
			DETAIL(cpu, "load and attach on every CPU: %s", strerror(-e));
			DETAIL(proc, "loaded with the sampler: %s", strerror(-e));
			errno_cause_fix(cpu, -e, "loading or attaching the perf_event program");
			errno_cause_fix(proc, -e, "loading the sampler's programs");
		} else {
			cpu->status = proc->status = CHECK_OK;
			r->selftest_event = sampler_event_name(s);
			DETAIL(cpu, "attached on %u CPUs, %s at %u Hz", sampler_ncpus(s), sampler_event_name(s), sampler_frequency(s));
			DETAIL(proc, "sched_process_exec and sched_process_exit attached");
		}
	}
	if (ready) {
		ke = kstats_new(&(struct kstats_opts){ 0 }, &(struct kstats_callbacks){ 0 }, &k);
		if (ke < 0)
			k = NULL;
	}
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		struct check_item *it = item_add(r, parts[i].name);

		if (!ready) {
			it->status = CHECK_SKIP;
			DETAIL(it, "not tried: see the failures above");
		} else if (k && (kstats_parts(k) & parts[i].part)) {
			it->status = CHECK_OK;
			DETAIL(it, "loaded and attached: %s", parts[i].what);
		} else if (!k) {
			it->status = CHECK_FAIL;
			DETAIL(it, "not attached: %s", strerror(-ke));
			errno_cause_fix(it, -ke, "loading or attaching this tp_btf program");
		} else {
			it->status = CHECK_FAIL;
			DETAIL(it, "not attached while the others are: %s unavailable", parts[i].what);
			CAUSE(it, "the kernel lacks this tracepoint or a type this program reads");
			FIX(it, "profd --log-level debug --check shows libbpf's message; profd runs without %s", parts[i].what);
		}
	}
	k = kstats_free(k);
	if (s && o->selftest_ms)
		run_selftest(o, s, &st, r);
	else if (o->selftest_ms) {
		struct check_item *it = item_add(r, "self-test");

		it->status = CHECK_SKIP;
		DETAIL(it, "not run: the sampling program is not attached");
	}
	sampler_free(s);
}

int check_run(const struct check_opts *o, struct check_report *r)
{
	uint64_t caps;
	bool ready;

	memset(r, 0, sizeof(*r));
	r->selftest_hz = o->selftest_hz ? o->selftest_hz : 199;
	r->selftest_event = "cpu-clock";
	check_kernel(o, r);
	ready = check_btf(o, r);
	caps = read_capeff(o->procfs);
	if (!o->no_bpf) {
		ready &= check_bpf_syscall(o, r);
		/* programs are tried even when the event did not open: each
		 * then says what is denied */
		check_perf(o, caps, r);
	}
	check_caps(caps, r);
	check_kallsyms(o, r);
	check_socket(o, r);
	check_dir(r, "state directory", o->state_dir, "its state (saved windows, push spools)",
		  "run profd as root; under systemd StateDirectory=profd creates /var/lib/profd");
	if (!o->no_bpf)
		check_programs(o, ready, r);
	check_libraries(o, r);
	for (unsigned i = 0; i < r->n; i++) {
		r->failed += r->items[i].status == CHECK_FAIL;
		r->warned += r->items[i].status == CHECK_WARN;
	}
	return r->failed ? 1 : 0;
}

/* ---- output ---- */

static const char *status_name(enum check_status s)
{
	switch (s) {
	case CHECK_OK: return "ok";
	case CHECK_WARN: return "warn";
	case CHECK_FAIL: return "fail";
	default: return "skip";
	}
}

void check_print_text(const struct check_report *r, FILE *f)
{
	for (unsigned i = 0; i < r->n; i++) {
		const struct check_item *it = &r->items[i];

		fprintf(f, "%-5s %-28s %s\n", status_name(it->status), it->name, it->detail);
		if (it->cause[0])
			fprintf(f, "      cause: %s\n", it->cause);
		if (it->fix[0])
			fprintf(f, "      fix:   %s\n", it->fix);
	}
	fprintf(f, "\n%s: %u failed, %u warnings, %u checks\n",
		r->failed ? "profd cannot run here" : r->warned ? "profd can run here, with the warnings above" : "profd can run here",
		r->failed, r->warned, r->n);
}

void check_print_json(const struct check_report *r, FILE *f)
{
	json_object *o = json_object_new_object(), *items = json_object_new_array();

	json_object_object_add(o, "ok", json_object_new_boolean(r->failed == 0));
	json_object_object_add(o, "failed", json_object_new_int((int)r->failed));
	json_object_object_add(o, "warned", json_object_new_int((int)r->warned));
	for (unsigned i = 0; i < r->n; i++) {
		const struct check_item *it = &r->items[i];
		json_object *j = json_object_new_object();

		json_object_object_add(j, "name", json_object_new_string(it->name));
		json_object_object_add(j, "status", json_object_new_string(status_name(it->status)));
		json_object_object_add(j, "detail", json_object_new_string(it->detail));
		if (it->cause[0])
			json_object_object_add(j, "cause", json_object_new_string(it->cause));
		if (it->fix[0])
			json_object_object_add(j, "fix", json_object_new_string(it->fix));
		json_object_array_add(items, j);
	}
	json_object_object_add(o, "items", items);
	if (r->selftest_ran) {
		json_object *st = json_object_new_object(), *procs = json_object_new_array();

		json_object_object_add(st, "seconds", json_object_new_double(r->selftest_s));
		json_object_object_add(st, "frequency", json_object_new_int((int)r->selftest_hz));
		json_object_object_add(st, "event", json_object_new_string(r->selftest_event));
		json_object_object_add(st, "samples", json_object_new_int64((int64_t)r->selftest_samples));
		for (int i = 0; i < 2; i++) {
			const struct check_selftest_proc *p = &r->selftest[i];
			json_object *j = json_object_new_object();

			json_object_object_add(j, "role", json_object_new_string(p->role));
			json_object_object_add(j, "duty", json_object_new_double(p->duty));
			json_object_object_add(j, "cpu_ns", json_object_new_int64((int64_t)p->cpu_ns));
			json_object_object_add(j, "samples", json_object_new_int64((int64_t)p->samples));
			json_object_object_add(j, "expected", json_object_new_int64((int64_t)p->expected));
			json_object_object_add(j, "error", json_object_new_double(p->error));
			json_object_array_add(procs, j);
		}
		json_object_object_add(st, "workloads", procs);
		json_object_object_add(o, "selftest", st);
	}
	fprintf(f, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

int check_main(const char *socket_path, const char *socket_group, const char *state_dir, const char *debug_dirs, int dwarf_unwind, int json)
{
	struct check_report *r = malloc(sizeof(*r));
	const char *btf = getenv("PROFD_CHECK_BTF"), *ms = getenv("PROFD_CHECK_SELFTEST_MS");
	struct check_opts o = {
		.procfs = "/proc",
		.btf_path = btf && *btf ? btf : "/sys/kernel/btf/vmlinux",
		.socket_path = socket_path,
		.socket_group = socket_group,
		.state_dir = state_dir,
		.debug_dirs = debug_dirs,
		.selftest_ms = ms && *ms ? (unsigned)strtoul(ms, NULL, 10) : 5000,
		.selftest_hz = 199,
		.dwarf_unwind = dwarf_unwind,
	};
	int rc;

	if (!r) {
		fprintf(stderr, "profd: --check: %s\n", strerror(ENOMEM));
		return 1;
	}
	rc = check_run(&o, r);
	if (json)
		check_print_json(r, stdout);
	else
		check_print_text(r, stdout);
	free(r);
	return rc;
}
