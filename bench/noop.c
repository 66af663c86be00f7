/* SPDX-License-Identifier: GPL-2.0-only */
/* Smallest process for exec churn: static, returns at once. */
int main(void)
{
	return 0;
}
