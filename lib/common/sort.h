/* SPDX-License-Identifier: GPL-2.0-only */
/* qsort for arrays that may be empty: an empty array is often NULL, and
 * qsort(NULL, 0, ...) is undefined behaviour (its pointer is declared
 * never null), which UBSan reports and an optimizer may exploit. */
#ifndef PROFD_COMMON_SORT_H
#define PROFD_COMMON_SORT_H

#include <stdlib.h>

static inline void qsort_safe(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

#endif
