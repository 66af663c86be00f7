/* SPDX-License-Identifier: GPL-2.0-only */
/* Process population for the daemon-cost benchmark:
 *   bench_churn hold N SECONDS    N sleeping children for SECONDS
 *   bench_churn burst N SECONDS   N processes started at once (fork, then
 *                                 exec of bench_noop SECONDS: new images,
 *                                 exec events), living SECONDS
 *   bench_churn churn RATE SECONDS  start RATE short-lived processes per
 *                                   second (posix_spawn of bench_noop, a
 *                                   static no-op next to this binary)
 * Prints the number started (burst: and how long starting them took, s).
 * Children are reaped; nothing outlives it (hold: SIGTERM ends the hold
 * early, children included). */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_HOLD 20000 /* a typo must not fork-bomb the host */

static volatile sig_atomic_t stopping;

static void on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: bench_churn hold N SECONDS | churn RATE SECONDS\n");
		return 64;
	}
	long n = atol(argv[2]);
	double secs = atof(argv[3]);

	if (!strcmp(argv[1], "hold")) {
		static pid_t pids[MAX_HOLD];
		if (n < 1 || n > MAX_HOLD)
			return 64;
		for (long i = 0; i < n; i++) {
			pids[i] = fork();
			if (pids[i] == 0) {
				pause();
				_exit(0);
			}
			if (pids[i] < 0) {
				fprintf(stderr, "fork: %s\n", strerror(errno));
				n = i;
				break;
			}
		}
		printf("%ld\n", n);
		fflush(stdout);
		{
			/* the children were forked with the default action */
			struct sigaction sa = { .sa_handler = on_term };
			double end = now() + secs;

			sigaction(SIGTERM, &sa, NULL);
			while (!stopping && now() < end)
				usleep(100000);
		}
		for (long i = 0; i < n; i++)
			kill(pids[i], SIGTERM);
		for (long i = 0; i < n; i++)
			waitpid(pids[i], NULL, 0);
		return 0;
	}
	if (!strcmp(argv[1], "burst")) {
		static pid_t pids[MAX_HOLD];
		char path[4096], secs_arg[32];
		ssize_t len = readlink("/proc/self/exe", path, sizeof(path) - 16);
		char *slash;
		double t0 = now();

		if (n < 1 || n > MAX_HOLD || len < 0)
			return 64;
		path[len] = 0;
		slash = strrchr(path, '/');
		strcpy(slash + 1, "bench_noop");
		snprintf(secs_arg, sizeof(secs_arg), "%ld", (long)secs);
		for (long i = 0; i < n; i++) {
			pids[i] = fork();
			if (pids[i] == 0) {
				execl(path, "bench_noop", secs_arg, (char *)NULL);
				_exit(127);
			}
			if (pids[i] < 0) {
				fprintf(stderr, "fork: %s\n", strerror(errno));
				n = i;
				break;
			}
		}
		printf("%ld %.3f\n", n, now() - t0);
		fflush(stdout);
		for (long i = 0; i < n; i++)
			waitpid(pids[i], NULL, 0);
		return 0;
	}
	if (!strcmp(argv[1], "churn")) {
		double t0 = now(), next = t0;
		long started = 0;

		extern char **environ;
		char *args[] = { "bench_noop", NULL };
		char path[4096];
		ssize_t len = readlink("/proc/self/exe", path, sizeof(path) - 16);
		char *slash;

		if (len < 0)
			return 1;
		path[len] = 0;
		slash = strrchr(path, '/');
		strcpy(slash + 1, "bench_noop");

		while (now() - t0 < secs) {
			pid_t p;

			/* posix_spawn (vfork-style clone): a full fork of even a
			 * small process caps this VM near 270 starts/s */
			if (posix_spawn(&p, path, NULL, NULL, args, environ) == 0)
				started++;
			while (waitpid(-1, NULL, WNOHANG) > 0)
				;
			next += 1.0 / (double)n;
			double w = next - now();
			if (w > 0)
				usleep((useconds_t)(w * 1e6));
		}
		while (waitpid(-1, NULL, 0) > 0)
			;
		printf("%ld\n", started);
		return 0;
	}
	return 64;
}
