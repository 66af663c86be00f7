/* SPDX-License-Identifier: GPL-2.0-only */
/* Workloads with known resource use, one per sub-command:
 *   hog duty PCT SECONDS      busy PCT % of one CPU (10 ms periods of CPU time)
 *   hog alloc MIB SECONDS     allocate and touch MIB MiB, then sleep
 *   hog dwrite MIB DIR        write MIB MiB with O_DIRECT to a file in DIR, fsync, exit
 *   hog sleeper SECONDS       sleep in 100 ms steps (off-CPU time)
 *   hog threads N SECONDS     N busy threads (run-queue latency when N > CPUs)
 *   hog short DIR             ~15 ms of CPU, 1 MiB O_DIRECT write, exit
 * Prints {"pid": N} when it starts its measured phase. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* O_DIRECT */
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static volatile uint64_t sink;

static uint64_t ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void spin_cpu_ns(uint64_t d)
{
	uint64_t end = ns(CLOCK_THREAD_CPUTIME_ID) + d, x = sink;

	while (ns(CLOCK_THREAD_CPUTIME_ID) < end)
		for (int i = 0; i < 10000; i++)
			x = x * 6364136223846793005ull + 1;
	sink = x;
}

static void ready(void)
{
	printf("{\"pid\": %d}\n", (int)getpid());
	fflush(stdout);
}

static int dwrite(const char *dir, uint64_t mib)
{
	char path[4096];
	void *buf;
	int fd;

	snprintf(path, sizeof(path), "%s/hog-dwrite-%d", dir, (int)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT, 0600);
	if (fd < 0) {
		fprintf(stderr, "hog: open %s O_DIRECT: %s\n", path, strerror(errno));
		return 1;
	}
	if (posix_memalign(&buf, 4096, 1 << 20))
		return 1;
	memset(buf, 0x5a, 1 << 20);
	for (uint64_t i = 0; i < mib; i++) {
		if (write(fd, buf, 1 << 20) != 1 << 20) {
			fprintf(stderr, "hog: write: %s\n", strerror(errno));
			return 1;
		}
	}
	fsync(fd);
	close(fd);
	unlink(path);
	free(buf);
	return 0;
}

static double secs_arg;

static void *busy_thread(void *arg)
{
	uint64_t end = ns(CLOCK_MONOTONIC) + (uint64_t)(secs_arg * 1e9), x = 1;

	(void)arg;
	while (ns(CLOCK_MONOTONIC) < end)
		for (int i = 0; i < 100000; i++)
			x = x * 6364136223846793005ull + 1;
	sink = x;
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: hog duty|alloc|dwrite|sleeper|threads|short ARGS\n");
		return 64;
	}
	if (!strcmp(argv[1], "duty") && argc == 4) {
		double pct = atof(argv[2]);
		uint64_t period = 10000000ull, t = ns(CLOCK_MONOTONIC), end = t + (uint64_t)(atof(argv[3]) * 1e9);

		ready();
		/* Spin pct % of each 10 ms period in CPU time, sleep to the
		 * period's absolute end: the share holds whatever the load. */
		while (t < end) {
			struct timespec ts;
			spin_cpu_ns((uint64_t)(period * pct / 100.0));
			t += period;
			ts.tv_sec = t / 1000000000ull;
			ts.tv_nsec = t % 1000000000ull;
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		}
		return 0;
	}
	if (!strcmp(argv[1], "alloc") && argc == 4) {
		size_t n = (size_t)atol(argv[2]) << 20;
		char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			return 1;
		for (size_t i = 0; i < n; i += 4096)
			p[i] = 1;
		ready();
		sleep((unsigned)atoi(argv[3]));
		return p[n / 2] == 1 ? 0 : 1;
	}
	if (!strcmp(argv[1], "dwrite") && argc == 4) {
		ready();
		return dwrite(argv[3], (uint64_t)atol(argv[2]));
	}
	if (!strcmp(argv[1], "sleeper") && argc == 3) {
		int steps = (int)(atof(argv[2]) * 10);
		ready();
		for (int i = 0; i < steps; i++)
			usleep(100000);
		return 0;
	}
	if (!strcmp(argv[1], "threads") && argc == 4) {
		int n = atoi(argv[2]);
		pthread_t th[64];

		secs_arg = atof(argv[3]);
		ready();
		for (int i = 0; i < n && i < 64; i++)
			pthread_create(&th[i], NULL, busy_thread, NULL);
		for (int i = 0; i < n && i < 64; i++)
			pthread_join(th[i], NULL);
		return 0;
	}
	if (!strcmp(argv[1], "short") && argc == 3) {
		ready();
		spin_cpu_ns(15000000ull);
		return dwrite(argv[2], 1);
	}
	fprintf(stderr, "hog: bad arguments\n");
	return 64;
}
