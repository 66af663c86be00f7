/* SPDX-License-Identifier: GPL-2.0-only */
/* Workload with known behaviour: starts N short-lived child processes one
 * after another (default 20), each running `sl_child MS` which burns MS ms
 * of CPU (default 50) in child_spin() and exits. Prints each child's pid. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 20;
	const char *ms = argc > 2 ? argv[2] : "50";
	char path[4096];
	char *slash;

	/* sl_child lives next to this binary */
	ssize_t len = readlink("/proc/self/exe", path, sizeof(path) - 16);
	if (len < 0)
		return 1;
	path[len] = 0;
	slash = strrchr(path, '/');
	strcpy(slash + 1, "sl_child");
	for (int i = 0; i < n; i++) {
		pid_t p = fork();
		if (p == 0) {
			execl(path, "sl_child", ms, (char *)NULL);
			_exit(127);
		}
		if (p < 0)
			return 1;
		int st;
		waitpid(p, &st, 0);
		printf("%d\n", (int)p);
	}
	return 0;
}
