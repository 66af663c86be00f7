/* SPDX-License-Identifier: GPL-2.0-only */
/* Workloads for the sources of names other than a binary's own symbols:
 *   names_wl jit SECONDS [wait] JIT code: copies a small loop into anonymous
 *                              executable memory, names it jit_spin_one in
 *                              /tmp/perf-PID.map and spins in it; half way
 *                              (with wait: after a line on stdin) copies
 *                              it again, appends jit_spin_two to the
 *                              map (JITs append), says {"appended": 1} and
 *                              spins in that
 *   names_wl vdso SECONDS      spins on clock_gettime(CLOCK_MONOTONIC): the
 *                              vdso's __vdso_clock_gettime
 *   names_wl dlspin LIB SECONDS  dlopen()s LIB and calls its dl_entry(SECONDS)
 * Prints {"pid": N} when it starts. */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "workload.h"

volatile uintptr_t workload_frame_sink;

static uint64_t now_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void ready(void)
{
	printf("{\"pid\": %d}\n", (int)getpid());
	fflush(stdout);
}

/* void loop(uint64_t n): counts n down, with a frame pointer so that a
 * frame-pointer walk from inside it finds its caller. */
#if defined(__x86_64__)
static const uint8_t loop_code[] = {
	0x55,                   /* push %rbp */
	0x48, 0x89, 0xe5,       /* mov %rsp,%rbp */
	0x48, 0x89, 0xf8,       /* mov %rdi,%rax */
	0x48, 0xff, 0xc8,       /* 1: dec %rax */
	0x75, 0xfb,             /* jnz 1b */
	0x5d,                   /* pop %rbp */
	0xc3,                   /* ret */
};
#elif defined(__aarch64__)
static const uint32_t loop_code[] = {
	0xa9bf7bfd, /* stp x29, x30, [sp, #-16]! */
	0x910003fd, /* mov x29, sp */
	0xf1000400, /* 1: subs x0, x0, #1 */
	0x54ffffe1, /* b.ne 1b */
	0xa8c17bfd, /* ldp x29, x30, [sp], #16 */
	0xd65f03c0, /* ret */
};
#else
#define NO_JIT 1
#endif

typedef void (*loop_fn)(uint64_t n);

#ifndef NO_JIT
/* The page at p: the loop copied in, made executable. */
static loop_fn jit_copy(uint8_t *p)
{
	if (mprotect(p, 4096, PROT_READ | PROT_WRITE) < 0)
		return NULL;
	memcpy(p, loop_code, sizeof(loop_code));
	if (mprotect(p, 4096, PROT_READ | PROT_EXEC) < 0)
		return NULL;
	__builtin___clear_cache((char *)p, (char *)p + sizeof(loop_code));
	return (loop_fn)(uintptr_t)p;
}

__attribute__((noinline)) static void jit_run(loop_fn f, uint64_t ns)
{
	uint64_t end;

	FORCE_FRAME();
	end = now_ns(CLOCK_THREAD_CPUTIME_ID) + ns;
	while (now_ns(CLOCK_THREAD_CPUTIME_ID) < end)
		f(2000000);
}

static int jit(double secs, int wait)
{
	char path[64];
	uint8_t *p = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	loop_fn one, two;
	FILE *f;

	if (p == MAP_FAILED || !(one = jit_copy(p)))
		return 1;
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
	f = fopen(path, "w");
	if (!f)
		return 1;
	fprintf(f, "%lx %zx jit_spin_one\n", (unsigned long)(uintptr_t)p, sizeof(loop_code));
	fclose(f);
	ready();
	jit_run(one, (uint64_t)(secs / 2 * 1e9));
	/* a test that wants to read the map before it grows says when */
	if (wait) {
		char line[16];

		if (!fgets(line, sizeof(line), stdin))
			return 1;
	}
	if (!(two = jit_copy(p + 4096)))
		return 1;
	f = fopen(path, "a");
	if (!f)
		return 1;
	fprintf(f, "%lx %zx jit_spin_two\n", (unsigned long)(uintptr_t)(p + 4096), sizeof(loop_code));
	fclose(f);
	printf("{\"appended\": 1}\n");
	fflush(stdout);
	jit_run(two, (uint64_t)(secs / 2 * 1e9));
	unlink(path);
	return 0;
}
#endif

__attribute__((noinline)) static void vdso_spin(double secs)
{
	uint64_t end;

	FORCE_FRAME();
	end = now_ns(CLOCK_MONOTONIC) + (uint64_t)(secs * 1e9);
	while (now_ns(CLOCK_MONOTONIC) < end)
		;
}

static int dlspin(const char *lib, double secs)
{
	void *h = dlopen(lib, RTLD_NOW);
	void (*entry)(double);

	if (!h) {
		fprintf(stderr, "names_wl: %s\n", dlerror());
		return 1;
	}
	*(void **)&entry = dlsym(h, "dl_entry");
	if (!entry)
		return 1;
	ready();
	entry(secs);
	return 0;
}

int main(int argc, char **argv)
{
	if ((argc == 3 || (argc == 4 && !strcmp(argv[3], "wait"))) && !strcmp(argv[1], "jit")) {
#ifdef NO_JIT
		fprintf(stderr, "names_wl: no JIT code for this architecture\n");
		return 77;
#else
		return jit(atof(argv[2]), argc == 4);
#endif
	}
	if (argc == 3 && !strcmp(argv[1], "vdso")) {
		ready();
		vdso_spin(atof(argv[2]));
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "dlspin"))
		return dlspin(argv[2], atof(argv[3]));
	fprintf(stderr, "usage: names_wl jit SECONDS [wait] | vdso SECONDS | dlspin LIB SECONDS\n");
	return 64;
}
