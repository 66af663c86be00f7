/* SPDX-License-Identifier: GPL-2.0-only */
/* Smallest process for exec churn: static, returns at once; with an
 * argument, sleeps that many seconds first (a cheap exec for bursts of
 * long-lived processes). */
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc > 1)
		sleep((unsigned)atoi(argv[1]));
	return 0;
}
