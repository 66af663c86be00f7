/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for the compact tables: built from real ELF files (this test,
 * libc, the vDSO, a non-PIE python3 where installed) and checked by
 * walking live stacks of code built without frame pointers with the
 * reference step, as the BPF program walks them: plain calls, a signal
 * frame, a thread, and the row arithmetic of PLT stubs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/uio.h>
#include <unistd.h>

#include "symbols/procmaps.h"
#include "unwind/table.h"
#include "unwind_chain.h"

/* ---- tables of the objects this process maps ------------------------------ */

#define MAX_TABLES 64

struct walker {
	struct procmaps *maps;
	struct {
		char path[512];
		struct unwind_table *t;
	} tabs[MAX_TABLES];
	int ntabs;
	uint64_t vdso;
	struct unwind_table *vdso_t;
};

static struct unwind_table *table_for(struct walker *w, const struct procmaps_entry *e)
{
	struct unwind_table *t = NULL;
	int fd;

	if (e->start == w->vdso)
		return w->vdso_t;
	if (!procmaps_entry_is_file(e))
		return NULL;
	for (int i = 0; i < w->ntabs; i++)
		if (!strcmp(w->tabs[i].path, e->path))
			return w->tabs[i].t;
	assert_true(w->ntabs < MAX_TABLES);
	fd = open(e->path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		unwind_table_build_fd(fd, &t);
		close(fd);
	}
	snprintf(w->tabs[w->ntabs].path, sizeof(w->tabs[w->ntabs].path), "%s", e->path);
	w->tabs[w->ntabs++].t = t;
	return t;
}

static void walker_init(struct walker *w)
{
	const void *img = (const void *)getauxval(AT_SYSINFO_EHDR);

	memset(w, 0, sizeof(*w));
	assert_int_equal(procmaps_read("/proc/self/maps", &w->maps), 0);
	w->vdso = (uint64_t)(uintptr_t)img;
	if (img) {
		const struct procmaps_entry *e = procmaps_find(w->maps, w->vdso, NULL);

		assert_non_null(e);
		assert_int_equal(unwind_table_build_mem(img, e->end - e->start, &w->vdso_t), 0);
	}
}

static void walker_fini(struct walker *w)
{
	for (int i = 0; i < w->ntabs; i++)
		unwind_table_free(w->tabs[i].t);
	unwind_table_free(w->vdso_t);
	procmaps_free(w->maps);
}

/* Reads our own memory without faulting on a bad address. */
static int read_self(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct iovec l = { buf, len }, r = { (void *)(uintptr_t)addr, len };

	(void)ctx;
	return process_vm_readv(getpid(), &l, 1, &r, 1, 0) == (ssize_t)len ? 0 : -EFAULT;
}

struct walk {
	uint64_t pc[128];
	int n;
	int stop;
	int signals;
};

/* The BPF program's loop, in C: find the row for each pc (pc - 1 for a
 * return address), step, until a stop reason. */
static void walk_from(struct walker *w, struct unwind_regs regs, struct walk *out)
{
	int exact = 1;

	memset(out, 0, sizeof(*out));
	while (out->n < 128) {
		const struct procmaps_entry *e = procmaps_find(w->maps, regs.pc, NULL);
		struct unwind_table *t;
		struct profd_unw_row row;
		uint64_t off;
		int sig, r;

		out->pc[out->n++] = regs.pc;
		if (!e) {
			out->stop = PROFD_USTOP_NO_MAPPING;
			return;
		}
		t = table_for(w, e);
		off = regs.pc - e->start + e->pgoff;
		if (!t || unwind_table_find(t, exact ? off : off - 1, &row) < 0) {
			out->stop = PROFD_USTOP_UNSUP;
			return;
		}
		r = unwind_step(&row, &regs, read_self, NULL, &sig);
		if (r) {
			out->stop = r;
			return;
		}
		exact = sig;
		out->signals += sig;
	}
	out->stop = PROFD_USTOP_CUT;
}

static int index_of(const struct walk *k, uint64_t pc, int from)
{
	for (int i = from; i < k->n; i++)
		if (k->pc[i] == pc)
			return i;
	return -1;
}

/* The recorded return addresses appear in the walk, innermost first. */
static void assert_chain(const struct walk *k, const struct chain *c, int levels)
{
	int at = 0;

	for (int i = levels - 1; i >= 0; i--) {
		int j = index_of(k, c->ret[i], at);

		if (j < 0)
			print_error("return address %d (%#llx) missing from the walk\n", i, (unsigned long long)c->ret[i]);
		assert_true(j >= 0);
		at = j + 1;
	}
}

static struct walker g_w;
static struct walk g_walk;

static void walk_now(struct chain *c)
{
	walk_from(&g_w, c->regs, &g_walk);
}

static void test_walk_calls(void **state)
{
	struct chain c = { .done = walk_now };

	(void)state;
	walker_init(&g_w);
	chain_level1(&c);
	assert_int_equal(c.n, 4);
	/* capture -> level3 -> level2 -> level1 -> this test ... -> _start */
	assert_chain(&g_walk, &c, 4);
	assert_int_equal(g_walk.stop, PROFD_USTOP_END);
	assert_int_equal(g_walk.signals, 0);
	walker_fini(&g_w);
}

static struct chain *g_sig_chain;

static void on_signal(int sig)
{
	(void)sig;
	chain_capture(g_sig_chain);
}

static void test_walk_signal_frame(void **state)
{
	struct chain c = { .done = walk_now, .signal = SIGUSR1 };
	struct sigaction sa = { .sa_handler = on_signal }, old;

	(void)state;
	walker_init(&g_w);
	g_sig_chain = &c;
	assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
	chain_level1(&c);
	sigaction(SIGUSR1, &old, NULL);
	/* capture (in the handler) -> handler -> __restore_rt -> raise ...
	 * -> level3 -> level2 -> level1 -> ... -> _start */
	assert_int_equal(c.n, 4);
	assert_int_equal(g_walk.signals, 1);
	{
		int at = index_of(&g_walk, c.ret[3], 0);

		assert_true(at >= 0);
		/* ret[2]: level3's return into level2, found after the signal frame */
		assert_true(index_of(&g_walk, c.ret[2], at + 1) > at);
		assert_true(index_of(&g_walk, c.ret[0], at + 1) > at);
	}
	assert_int_equal(g_walk.stop, PROFD_USTOP_END);
	walker_fini(&g_w);
}

static void *thread_main(void *arg)
{
	chain_level1(arg);
	return NULL;
}

static void test_walk_thread(void **state)
{
	struct chain c = { .done = walk_now };
	pthread_t th;

	(void)state;
	walker_init(&g_w);
	assert_int_equal(pthread_create(&th, NULL, thread_main, &c), 0);
	pthread_join(th, NULL);
	/* ... level1 -> thread_main -> start_thread -> clone3 (RA undefined) */
	assert_chain(&g_walk, &c, 4);
	assert_int_equal(g_walk.stop, PROFD_USTOP_END);
	assert_true(g_walk.n < 20);
	walker_fini(&g_w);
}

/* Every row is found by the page index and the bounded search; rows are
 * sorted; pages cover them. */
static void check_table(const struct unwind_table *t)
{
	struct profd_unw_row r;

	assert_true(t->nrows > 0);
	assert_int_equal(t->npages, (t->rows[t->nrows - 1].pc >> PROFD_UNW_PAGE_SHIFT) - t->first_page + 1);
	for (uint32_t i = 0; i < t->nrows; i++) {
		if (i)
			assert_true(t->rows[i].pc > t->rows[i - 1].pc);
		assert_int_equal(unwind_table_find(t, t->rows[i].pc, &r), 0);
		assert_int_equal(r.pc, t->rows[i].pc);
		if (i + 1 < t->nrows && t->rows[i + 1].pc > t->rows[i].pc + 1) {
			assert_int_equal(unwind_table_find(t, t->rows[i + 1].pc - 1, &r), 0);
			assert_int_equal(r.pc, t->rows[i].pc);
		}
	}
	for (uint32_t p = 0; p < t->npages; p++) {
		assert_true(t->pages[p].lo <= t->pages[p].hi);
		/* the search bound holds */
		assert_true(t->pages[p].hi - t->pages[p].lo < (1u << PROFD_UNW_ROW_STEPS));
	}
	/* below the first row, beyond the page index */
	if (t->rows[0].pc > 0)
		assert_int_equal(unwind_table_find(t, t->rows[0].pc - 1, &r), -ENOENT);
	assert_int_equal(unwind_table_find(t, ((uint64_t)t->first_page + t->npages) << PROFD_UNW_PAGE_SHIFT, &r),
			 -ENOENT);
}

static const char *libc_path(void)
{
	static char path[512];
	struct procmaps *m;

	assert_int_equal(procmaps_read("/proc/self/maps", &m), 0);
	for (size_t i = 0; i < procmaps_count(m); i++) {
		const struct procmaps_entry *e = procmaps_get(m, i);

		if (strstr(e->path, "/libc.so.6") || strstr(e->path, "/libc-")) {
			snprintf(path, sizeof(path), "%s", e->path);
			procmaps_free(m);
			return path;
		}
	}
	procmaps_free(m);
	fail_msg("libc not mapped");
	return NULL;
}

static void test_real_objects(void **state)
{
	struct unwind_table *t = NULL;
	struct sigaction sa = { .sa_handler = on_signal }, old;
	struct profd_unw_row r;
	uint8_t bid[UNWIND_BUILD_ID_MAX];
	int fd, plt = 0, sig = 0, end = 0;
	struct walker w;
	const struct procmaps_entry *e;

	(void)state;
	/* libc: PLT rows, the signal trampoline, the thread start */
	fd = open(libc_path(), O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(unwind_table_build_fd(fd, &t), 0);
	{
		uint64_t cfi = 0;

		assert_true(unwind_read_build_id_fd(fd, bid, &cfi) > 0);
		assert_int_equal(cfi, t->st.cfi_bytes);
	}
	assert_int_equal(t->build_id_len, 20);
	assert_memory_equal(bid, t->build_id, 20);
	close(fd);
	check_table(t);
	assert_int_equal(t->st.source, UNWIND_SRC_EH_FRAME);
	assert_true(t->st.unsupported * 100 < t->nrows); /* setjmp/longjmp only */
	for (uint32_t i = 0; i < t->nrows; i++) {
		plt += t->rows[i].cfa == PROFD_UNW_CFA_PLT;
		sig += t->rows[i].cfa == PROFD_UNW_CFA_SIGNAL;
		end += t->rows[i].cfa == PROFD_UNW_CFA_END;
	}
	assert_true(plt >= 1);
	assert_int_equal(sig, 1);
	assert_true(end >= 2); /* clone, clone3 */

	/* the restorer glibc installs is covered by the SIGNAL row (looked up
	 * at pc - 1: the handler's return address is the restorer itself) */
	assert_int_equal(sigaction(SIGUSR2, &sa, NULL), 0);
	assert_int_equal(sigaction(SIGUSR2, NULL, &old), 0);
	walker_init(&w);
	e = procmaps_find(w.maps, (uint64_t)(uintptr_t)old.sa_restorer, NULL);
	assert_non_null(e);
	assert_int_equal(unwind_table_find(t, (uint64_t)(uintptr_t)old.sa_restorer - e->start + e->pgoff - 1, &r), 0);
	assert_int_equal(r.cfa, PROFD_UNW_CFA_SIGNAL);
	walker_fini(&w);
	signal(SIGUSR2, SIG_DFL);
	unwind_table_free(t);

	/* this program */
	fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(unwind_table_build_fd(fd, &t), 0);
	close(fd);
	check_table(t);
	unwind_table_free(t);

	/* the vDSO, from our own copy */
	{
		const void *img = (const void *)getauxval(AT_SYSINFO_EHDR);

		if (img) {
			walker_init(&w);
			e = procmaps_find(w.maps, (uint64_t)(uintptr_t)img, NULL);
			assert_int_equal(unwind_table_build_mem(img, e->end - e->start, &t), 0);
			check_table(t);
			assert_int_equal(t->build_id_len, 20);
			unwind_table_free(t);
			walker_fini(&w);
		}
	}

	/* not ELF, no CFI */
	fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	t = NULL;
	assert_int_equal(unwind_table_build_fd(fd, &t), -EINVAL);
	assert_null(t);
	close(fd);
}

/* A non-PIE executable (Debian's python3 is one): rows are file offsets,
 * not the addresses the CFI states. */
static void test_non_pie(void **state)
{
	const char *path = "/usr/bin/python3.11";
	struct unwind_table *t = NULL;
	struct profd_unw_row r;
	uint64_t vaddr = 0, seg_vaddr = 0, seg_off = 0;
	size_t n;
	Elf *e;
	Elf_Scn *scn = NULL;
	GElf_Ehdr eh;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	(void)state;
	if (fd < 0)
		skip();
	assert_int_equal(unwind_table_build_fd(fd, &t), 0);
	check_table(t);
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(gelf_getehdr(e, &eh));
	if (eh.e_type != ET_EXEC) {
		elf_end(e);
		close(fd);
		unwind_table_free(t);
		skip();
	}
	elf_getphdrnum(e, &n);
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD && (ph.p_flags & PF_X)) {
			seg_vaddr = ph.p_vaddr;
			seg_off = ph.p_offset;
		}
	}
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM)
			continue;
		d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;

			if (gelf_getsym(d, (int)i, &s) &&
			    !strcmp(elf_strptr(e, sh.sh_link, s.st_name), "Py_BytesMain"))
				vaddr = s.st_value;
		}
	}
	assert_true(vaddr > 0x400000);
	assert_true(seg_vaddr >= 0x400000);
	/* Py_BytesMain's first instruction: CFA = rsp + 8, as at every entry */
	assert_int_equal(unwind_table_find(t, vaddr - seg_vaddr + seg_off, &r), 0);
	assert_int_equal(r.cfa, PROFD_UNW_CFA_RSP);
	assert_int_equal(r.off, 8);
	assert_int_equal(unwind_table_find(t, vaddr, &r), -ENOENT);
	elf_end(e);
	close(fd);
	unwind_table_free(t);
}

/* The step arithmetic for every row kind, on a fake stack. */
struct fake_mem {
	uint64_t base;
	uint64_t w[64];
};

static int read_fake(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct fake_mem *m = ctx;

	if (addr < m->base || addr + len > m->base + sizeof(m->w))
		return -EFAULT;
	memcpy(buf, (uint8_t *)m->w + (addr - m->base), len);
	return 0;
}

static void test_step_kinds(void **state)
{
	struct fake_mem m = { .base = 0x7000 };
	struct unwind_regs r;
	struct profd_unw_row row;
	int sig;

	(void)state;
	for (int i = 0; i < 64; i++)
		m.w[i] = 0x1000 + (uint64_t)i;

	/* PLT entry after its push (pc & 15 == 11): CFA = rsp + 16 */
	row = (struct profd_unw_row){ .cfa = PROFD_UNW_CFA_PLT, .off = 8, .rbp = 11 };
	r = (struct unwind_regs){ .pc = 0x40001b, .sp = 0x7000, .bp = 7 };
	assert_int_equal(unwind_step(&row, &r, read_fake, &m, &sig), 0);
	assert_int_equal(r.sp, 0x7010);
	assert_int_equal(r.pc, m.w[1]);
	assert_int_equal(r.bp, 7);
	/* ... and before it: CFA = rsp + 8 */
	r = (struct unwind_regs){ .pc = 0x400016, .sp = 0x7000, .bp = 7 };
	assert_int_equal(unwind_step(&row, &r, read_fake, &m, &sig), 0);
	assert_int_equal(r.sp, 0x7008);
	assert_int_equal(r.pc, m.w[0]);

	/* rbp-based frame, rbp saved at CFA - 16 */
	row = (struct profd_unw_row){ .cfa = PROFD_UNW_CFA_RBP, .off = 16, .rbp = -2 };
	r = (struct unwind_regs){ .pc = 1, .sp = 0x7000, .bp = 0x7020 };
	assert_int_equal(unwind_step(&row, &r, read_fake, &m, &sig), 0);
	assert_int_equal(r.sp, 0x7030);
	assert_int_equal(r.pc, m.w[5]);
	assert_int_equal(r.bp, m.w[4]);

	/* DRAP: CFA = *(rbp - 8), rbp saved at [rbp] */
	m.w[3] = 0x7100;
	row = (struct profd_unw_row){ .cfa = PROFD_UNW_CFA_DEREF_RBP, .off = (uint16_t)(int16_t)-8,
				      .rbp = PROFD_UNW_RBP_AT_RBP };
	r = (struct unwind_regs){ .pc = 1, .sp = 0x7000, .bp = 0x7020 };
	assert_int_equal(unwind_step(&row, &r, read_fake, &m, &sig), 0);
	assert_int_equal(r.sp, 0x7100);
	assert_int_equal(r.pc, m.w[(0x7100 - 8 - 0x7000) / 8]);
	assert_int_equal(r.bp, m.w[4]);
	m.w[3] = 0x1003;

	/* signal frame: registers from the ucontext at rsp */
	row = (struct profd_unw_row){ .cfa = PROFD_UNW_CFA_SIGNAL };
	r = (struct unwind_regs){ .pc = 1, .sp = 0x7000, .bp = 0 };
	assert_int_equal(unwind_step(&row, &r, read_fake, &m, &sig), 0);
	assert_int_equal(sig, 1);
	assert_int_equal(r.bp, m.w[120 / 8]);
	assert_int_equal(r.sp, m.w[160 / 8]);
	assert_int_equal(r.pc, m.w[168 / 8]);

	/* stops */
	r = (struct unwind_regs){ .pc = 1, .sp = 0x7000 };
	row = (struct profd_unw_row){ .cfa = PROFD_UNW_CFA_END };
	assert_int_equal(unwind_step(&row, &r, read_fake, &m, &sig), PROFD_USTOP_END);
	row = (struct profd_unw_row){ .cfa = PROFD_UNW_CFA_UNSUP };
	assert_int_equal(unwind_step(&row, &r, read_fake, &m, &sig), PROFD_USTOP_UNSUP);
	row = (struct profd_unw_row){ .cfa = PROFD_UNW_CFA_RSP, .off = 0 };
	assert_int_equal(unwind_step(&row, &r, read_fake, &m, &sig), PROFD_USTOP_BAD_SP);
	row = (struct profd_unw_row){ .cfa = PROFD_UNW_CFA_RSP, .off = 0x1000 };
	assert_int_equal(unwind_step(&row, &r, read_fake, &m, &sig), PROFD_USTOP_READ);
	m.w[0] = 0;
	row = (struct profd_unw_row){ .cfa = PROFD_UNW_CFA_RSP, .off = 8 };
	assert_int_equal(unwind_step(&row, &r, read_fake, &m, &sig), PROFD_USTOP_ZERO_PC);
	/* a large frame in 8-byte units */
	m.w[0] = 0x1000;
	row = (struct profd_unw_row){ .cfa = PROFD_UNW_CFA_RSP | PROFD_UNW_CFA_X8, .off = 2 };
	r = (struct unwind_regs){ .pc = 1, .sp = 0x7000 };
	assert_int_equal(unwind_step(&row, &r, read_fake, &m, &sig), 0);
	assert_int_equal(r.sp, 0x7010);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_walk_calls),
		cmocka_unit_test(test_walk_signal_frame),
		cmocka_unit_test(test_walk_thread),
		cmocka_unit_test(test_real_objects),
		cmocka_unit_test(test_non_pie),
		cmocka_unit_test(test_step_kinds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
