/* SPDX-License-Identifier: GPL-2.0-only */
/* The cases a CFI unwinder must get right, one after the other in the main
 * thread, each in a function named mode_<case> that main calls, so a test
 * can tell from a stack which case it belongs to and whether the walk got
 * back to main. Built -O2 without frame pointers, as PIE and non-PIE.
 *
 *   signal    time spent in a signal handler (the walk crosses __restore_rt)
 *   vdso      clock_gettime in a loop (the leaf is in the vDSO)
 *   prologue  a small function with a frame, called in a tight loop
 *             (samples land in its prologue and epilogue)
 *   plt       calls into libc through the PLT
 *   deep100   recursion 100 frames deep (more than the old 64-frame bound)
 *   deep200   recursion 200 frames deep (cut at the default 128)
 *   dlopen    a library opened after the process has been profiled
 *   warm      plain spinning: the profiler learns about the process
 *
 * usage: unwind_cases [--seconds S] [--lib PATH] [CASE...]
 * Prints {"pid": N, "ready": true}, then {"done": true} at the end. */
#include <dlfcn.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* External, so their names survive in the symbol table. */
void sig_spin(void);
void mode_signal(uint64_t ns);
void mode_vdso(uint64_t ns);
uint64_t framed(uint64_t a, uint64_t b);
void mode_prologue(uint64_t ns);
void mode_plt(uint64_t ns);
uint64_t deep_rec(int depth, uint64_t ns);
void mode_deep100(uint64_t ns);
void mode_deep200(uint64_t ns);
void mode_dlopen(uint64_t ns);
void mode_warm(uint64_t ns);

static volatile uint64_t sink;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

__attribute__((noinline)) static void spin_for(uint64_t ns)
{
	uint64_t end = now_ns() + ns;

	while (now_ns() < end)
		for (int i = 0; i < 100000; i++)
			sink = sink * 6364136223846793005ull + 1;
}

/* ---- signal ---- */

__attribute__((noinline)) void sig_spin(void)
{
	for (int k = 0; k < 2000; k++)
		for (int i = 0; i < 10000; i++)
			sink = sink * 6364136223846793005ull + 3;
}

static void on_signal(int sig)
{
	(void)sig;
	sig_spin();
}

__attribute__((noinline)) void mode_signal(uint64_t ns)
{
	struct sigaction sa = { .sa_handler = on_signal };
	uint64_t end = now_ns() + ns;

	sigaction(SIGUSR1, &sa, NULL);
	while (now_ns() < end)
		raise(SIGUSR1);
	sink++;
}

/* ---- vdso ---- */

__attribute__((noinline)) void mode_vdso(uint64_t ns)
{
	uint64_t end = now_ns() + ns, acc = 0;
	struct timespec ts;

	while (now_ns() < end) {
		for (int i = 0; i < 1000; i++) {
			clock_gettime(CLOCK_MONOTONIC, &ts);
			acc += (uint64_t)ts.tv_nsec;
		}
	}
	sink += acc;
}

/* ---- prologue ---- */

/* Enough live values to need callee-saved registers and a frame: its
 * prologue pushes and its epilogue pops, so the CFA moves within it. */
__attribute__((noinline)) uint64_t framed(uint64_t a, uint64_t b)
{
	volatile uint64_t buf[8];
	uint64_t x = a, y = b, z = a ^ b, w = a + b;

	for (int i = 0; i < 8; i++)
		buf[i] = x * (uint64_t)i + y;
	x = buf[a & 7] + z;
	y = buf[b & 7] + w;
	return x ^ y ^ z ^ w;
}

__attribute__((noinline)) void mode_prologue(uint64_t ns)
{
	uint64_t end = now_ns() + ns, acc = 0;

	while (now_ns() < end)
		for (uint64_t i = 0; i < 100000; i++)
			acc += framed(i, acc);
	sink += acc;
}

/* ---- plt ---- */

__attribute__((noinline)) void mode_plt(uint64_t ns)
{
	uint64_t end = now_ns() + ns, acc = 0;
	/* through a volatile pointer to the PLT entry's target: the compiler
	 * cannot inline or fold the libc call */
	static char text[] = "abcdefghij";

	while (now_ns() < end)
		for (int i = 0; i < 100000; i++)
			acc += strnlen(text, (size_t)(i & 7));
	sink += acc;
}

/* ---- deep recursion ---- */

__attribute__((noinline)) uint64_t deep_rec(int depth, uint64_t ns)
{
	/* read after the call: neither a tail call nor a loop GCC could
	 * turn the recursion into */
	volatile uint64_t keep = (uint64_t)depth;

	if (depth <= 1) {
		spin_for(ns);
		return sink;
	}
	return deep_rec(depth - 1, ns) + keep;
}

__attribute__((noinline)) void mode_deep100(uint64_t ns)
{
	sink += deep_rec(100, ns);
}

__attribute__((noinline)) void mode_deep200(uint64_t ns)
{
	sink += deep_rec(200, ns);
}

__attribute__((noinline)) void mode_warm(uint64_t ns)
{
	spin_for(ns);
	sink++; /* not a tail call: mode_warm stays on the stack */
}

/* ---- dlopen ---- */

static const char *g_lib;

__attribute__((noinline)) void mode_dlopen(uint64_t ns)
{
	void *h = dlopen(g_lib, RTLD_NOW);
	void (*fn)(uint64_t);

	if (!h) {
		fprintf(stderr, "unwind_cases: dlopen %s: %s\n", g_lib, dlerror());
		exit(1);
	}
	*(void **)&fn = dlsym(h, "dl_spin");
	if (!fn) {
		fprintf(stderr, "unwind_cases: no dl_spin in %s\n", g_lib);
		exit(1);
	}
	fn(ns);
	sink++;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*fn)(uint64_t);
	} cases[] = {
		{ "signal", mode_signal }, { "vdso", mode_vdso }, { "prologue", mode_prologue },
		{ "plt", mode_plt },       { "deep100", mode_deep100 }, { "deep200", mode_deep200 },
		{ "dlopen", mode_dlopen }, { "warm", mode_warm },
	};
	double seconds = 3.0;
	int first = 1;

	while (first < argc && argv[first][0] == '-') {
		if (!strcmp(argv[first], "--seconds") && first + 1 < argc) {
			seconds = atof(argv[first + 1]);
			first += 2;
		} else if (!strcmp(argv[first], "--lib") && first + 1 < argc) {
			g_lib = argv[first + 1];
			first += 2;
		} else {
			fprintf(stderr, "usage: unwind_cases [--seconds S] [--lib PATH] [CASE...]\n");
			return 64;
		}
	}
	printf("{\"pid\": %d, \"ready\": true}\n", (int)getpid());
	fflush(stdout);
	for (int i = first; i < argc; i++) {
		size_t k;

		for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
			if (!strcmp(argv[i], cases[k].name))
				break;
		if (k == sizeof(cases) / sizeof(cases[0]) || (!strcmp(argv[i], "dlopen") && !g_lib)) {
			fprintf(stderr, "unwind_cases: unknown case %s (or dlopen without --lib)\n", argv[i]);
			return 64;
		}
		cases[k].fn((uint64_t)(seconds * 1e9));
	}
	printf("{\"done\": true}\n");
	return 0;
}
