/* SPDX-License-Identifier: GPL-2.0-only */
/* Names of profd's threads. Each thread names itself (thread_set_name) as
 * it starts, so /proc/PID/task/TID/comm says what it is: ps, top -H and
 * profd's own cost accounting (collect/selfcost.h, which sums each
 * thread's CPU time by the role its name gives) tell them apart. Names
 * fit the kernel's 15 characters. */
#ifndef PROFD_BASE_THREADS_H
#define PROFD_BASE_THREADS_H

#include <pthread.h>

#define THREAD_NAME_COLLECTOR "profd-collect"   /* collect/collector.c */
#define THREAD_NAME_QUERY "profd-query"         /* api/worker.c */
#define THREAD_NAME_UNWIND "profd-unwind"       /* unwind/builder.c */
#define THREAD_NAME_NOTIFY "profd-notify"       /* alerts/http.c */
#define THREAD_NAME_SYM_EXEC "profd-sym-exec"   /* symbols/symloader.c */
#define THREAD_NAME_SYM_IDENT "profd-sym-ident"
#define THREAD_NAME_SYM_LOAD "profd-sym-load"
#define THREAD_NAME_DEBUGINFOD "profd-dbginfod"
#define THREAD_NAME_SYM_PYTHON "profd-sym-py"   /* symbols/pycode.c */

/* Name the calling thread (best effort: a name is only a label). */
static inline void thread_set_name(const char *name)
{
	(void)pthread_setname_np(pthread_self(), name);
}

#endif
