// SPDX-License-Identifier: GPL-2.0-only
/* The known-shares workload in C++, built like distribution code (-O2, no
 * frame pointers): time goes to three instances of a class template in a
 * namespace (profd_wl::Work<1..3>::spin, default 50/30/20 %), called
 * from a member function run on std::thread (libstdc++'s thread start,
 * then start_thread and clone3 in libc). Prints the shares it measured as
 * JSON, keyed by the functions' demangled names, and the mangled names the
 * symbolizer reports until it demangles. */
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <thread>
#include <vector>
#include <unistd.h>

namespace profd_wl {

static volatile uint64_t sink;

static uint64_t cpu_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

template <int K> struct Work {
	/* the same arithmetic in each instance: only the iteration counts differ */
	static __attribute__((noinline)) void spin(uint64_t iters)
	{
		uint64_t x = sink + K;

		for (uint64_t i = 0; i < iters; i++)
			x = x * 6364136223846793005ull + 1442695040888963407ull;
		sink = x;
	}
};

class Worker {
public:
	Worker(uint64_t seed, const double *share, uint64_t per_ms, uint64_t deadline, uint64_t cpu_budget)
		: seed_(seed), share_(share), per_ms_(per_ms), deadline_(deadline), cpu_budget_(cpu_budget)
	{
	}
	__attribute__((noinline)) void loop();
	uint64_t spent[3] = { 0, 0, 0 };

private:
	uint64_t next_rand()
	{
		seed_ ^= seed_ << 13;
		seed_ ^= seed_ >> 7;
		seed_ ^= seed_ << 17;
		return seed_;
	}
	uint64_t seed_;
	const double *share_;
	uint64_t per_ms_, deadline_, cpu_budget_;
};

void Worker::loop()
{
	void (*fn[3])(uint64_t) = { Work<1>::spin, Work<2>::spin, Work<3>::spin };

	while (cpu_ns(CLOCK_MONOTONIC) < deadline_ && (!cpu_budget_ || cpu_ns(CLOCK_PROCESS_CPUTIME_ID) < cpu_budget_)) {
		/* rounds of random length and order: nothing phase-locks with
		 * the sampler (see cpu_shares.c) */
		double len = 3.0 + (double)(next_rand() % 3400) / 100.0;
		int first = (int)(next_rand() % 3);

		for (int k = 0; k < 3; k++) {
			int f = (first + k) % 3;
			uint64_t a = cpu_ns(CLOCK_THREAD_CPUTIME_ID);

			fn[f]((uint64_t)((double)per_ms_ * len * share_[f] / 100.0));
			spent[f] += cpu_ns(CLOCK_THREAD_CPUTIME_ID) - a;
		}
	}
}

} // namespace profd_wl

static __attribute__((noinline)) void warm_up(double seconds)
{
	uint64_t end = profd_wl::cpu_ns(CLOCK_MONOTONIC) + (uint64_t)(seconds * 1e9);

	while (profd_wl::cpu_ns(CLOCK_MONOTONIC) < end)
		profd_wl::Work<4>::spin(100000);
}

int main(int argc, char **argv)
{
	static const char *names[3] = { "profd_wl::Work<1>::spin", "profd_wl::Work<2>::spin",
					"profd_wl::Work<3>::spin" };
	static const char *mangled[3] = { "_ZN8profd_wl4WorkILi1EE4spinEm", "_ZN8profd_wl4WorkILi2EE4spinEm",
					  "_ZN8profd_wl4WorkILi3EE4spinEm" };
	double duration = 10.0, warmup = 0.0, cpu_seconds = 0.0, share[3] = { 50, 30, 20 };
	int nthreads = 2;
	uint64_t spent[3] = { 0, 0, 0 };

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--duration") && i + 1 < argc)
			duration = atof(argv[++i]);
		else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
			nthreads = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--warmup") && i + 1 < argc)
			warmup = atof(argv[++i]);
		else if (!strcmp(argv[i], "--cpu-seconds") && i + 1 < argc)
			cpu_seconds = atof(argv[++i]);
		else {
			fprintf(stderr, "usage: cpu_shares_cxx [--duration S] [--threads N] [--warmup S] [--cpu-seconds S]\n");
			return 64;
		}
	}
	if (nthreads < 1 || nthreads > 16)
		return 64;
	uint64_t t0 = profd_wl::cpu_ns(CLOCK_THREAD_CPUTIME_ID);
	profd_wl::Work<1>::spin(2000000);
	uint64_t per_ms = 2000000ull * 1000000ull / (profd_wl::cpu_ns(CLOCK_THREAD_CPUTIME_ID) - t0 + 1);
	if (!per_ms)
		per_ms = 1;
	printf("{\"pid\": %d, \"ready\": true}\n", (int)getpid());
	fflush(stdout);
	if (warmup > 0)
		warm_up(warmup);

	uint64_t deadline = profd_wl::cpu_ns(CLOCK_MONOTONIC) + (uint64_t)(duration * 1e9);
	std::vector<profd_wl::Worker> w;
	std::vector<std::thread> th;

	w.reserve((size_t)nthreads);
	for (int i = 0; i < nthreads; i++)
		w.emplace_back(88172645463325252ull + 7919ull * (uint64_t)i, share, per_ms, deadline,
			       (uint64_t)(cpu_seconds * 1e9));
	for (int i = 0; i < nthreads; i++)
		th.emplace_back(&profd_wl::Worker::loop, &w[(size_t)i]);
	for (int i = 0; i < nthreads; i++) {
		th[(size_t)i].join();
		for (int f = 0; f < 3; f++)
			spent[f] += w[(size_t)i].spent[f];
	}
	uint64_t total = profd_wl::cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
	printf("{\"pid\": %d, \"total_cpu_ns\": %" PRIu64, (int)getpid(), total);
	for (int f = 0; f < 3; f++)
		printf(", \"%s\": %.4f, \"%s\": %.4f", names[f], (double)spent[f] / (double)total, mangled[f],
		       (double)spent[f] / (double)total);
	printf("}\n");
	return 0;
}
