// SPDX-License-Identifier: GPL-2.0-only
/* C++ workload with known shares, for demangling: a namespace, a class
 * template and a function template.
 *   names_cxx SECONDS
 * shapes::Runner::run() calls shapes::Mixer<double>::blend() for 20 ms
 * and shapes::scale<int>() for 10 ms of CPU time, over and over: blend
 * holds 2/3 of the samples, scale 1/3. Prints {"pid": N} first. */
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <unistd.h>

extern "C" {
#include "workload.h"
volatile uintptr_t workload_frame_sink;
}

static uint64_t cpu_ns()
{
	timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

namespace shapes {

template <typename T> struct Mixer {
	T acc;
	__attribute__((noinline)) void blend(uint64_t ns);
};

template <typename T> void Mixer<T>::blend(uint64_t ns)
{
	FORCE_FRAME();
	uint64_t end = cpu_ns() + ns;
	T x = acc;

	while (cpu_ns() < end)
		for (int i = 0; i < 20000; i++)
			x = x * (T)1.0000001 + (T)0.5;
	acc = x;
}

template <typename T> __attribute__((noinline)) void scale(T &v, uint64_t ns)
{
	FORCE_FRAME();
	uint64_t end = cpu_ns() + ns;
	T x = v;

	/* in unsigned arithmetic: wrapping is the point, not an overflow */
	while (cpu_ns() < end)
		for (int i = 0; i < 20000; i++)
			x = (T)((unsigned long)x * 3ul + 1ul);
	v = x;
}

struct Runner {
	__attribute__((noinline)) void run(double seconds);
};

void Runner::run(double seconds)
{
	FORCE_FRAME();
	Mixer<double> m{ 1.0 };
	int v = 1;
	uint64_t end = cpu_ns() + (uint64_t)(seconds * 1e9);

	while (cpu_ns() < end) {
		m.blend(20000000);
		scale<int>(v, 10000000);
	}
	workload_frame_sink = (uintptr_t)m.acc + (uintptr_t)v;
}

} // namespace shapes

int main(int argc, char **argv)
{
	shapes::Runner r;

	printf("{\"pid\": %d}\n", (int)getpid());
	fflush(stdout);
	r.run(argc > 1 ? atof(argv[1]) : 5);
	return 0;
}
