/* SPDX-License-Identifier: GPL-2.0-only */
/* Request dispatch: one table of the socket API's commands. The handlers
 * read the daemon's state and answer; they never write files (profctl
 * does). Requests handed to the query worker carry an api_job as their
 * server data, through which a vanished client or a stream's room reach
 * them. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/handlers.h"
#include "api/server.h"
#include "api/worker.h"
#include "daemon.h"
#include "profd/protocol.h"

static const struct command {
	const char *name;
	void (*fn)(struct daemon *d, struct server_request *rq);
} commands[] = {
	{ "status", api_status },
	{ "top", api_top },
	{ "export", api_export },
	{ "diff", api_diff },
	{ "alerts", api_alerts },
	{ "hotspots", api_hotspots },
	{ "reload", api_reload },
};

void api_handle(void *userdata, struct server_request *rq)
{
	const char *cmd = server_request_cmd(rq);
	char known[256];
	size_t len = 0;

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(cmd, commands[i].name)) {
			commands[i].fn(userdata, rq);
			return;
		}
	known[0] = 0;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]) && len < sizeof(known); i++)
		len += (size_t)snprintf(known + len, sizeof(known) - len, "%s%s", i ? ", " : "", commands[i].name);
	server_reply_error(rq, PROFD_E_UNKNOWN_CMD, "unknown command \"%s\" (known: %s)", cmd, known);
}

void api_cancel(void *userdata, struct server_request *rq)
{
	struct api_job *j = server_request_data(rq);

	(void)userdata;
	if (!j)
		return;
	j->rq = NULL;
	/* With the worker, the job is freed when it comes back. */
	if (!j->in_worker)
		j->free(j);
}

void api_resume(void *userdata, struct server_request *rq)
{
	struct api_job *j = server_request_data(rq);

	(void)userdata;
	if (j && j->resume)
		j->resume(j);
}

static void job_run(struct worker_job *wj)
{
	struct api_job *j = (struct api_job *)wj;

	j->run(j);
}

static void job_done(struct worker_job *wj)
{
	struct api_job *j = (struct api_job *)wj;

	j->in_worker = false;
	if (!j->rq) {
		j->free(j);
		return;
	}
	j->done(j);
}

int api_job_submit(struct api_job *j, bool force)
{
	int r;

	j->wj.run = job_run;
	j->wj.done = job_done;
	j->wj.force = force;
	j->in_worker = true;
	r = worker_submit(j->d->worker, &j->wj);
	if (r < 0)
		j->in_worker = false;
	return r;
}

void api_job_refused(struct api_job *j, int r)
{
	struct worker_stats ws;

	worker_get_stats(j->d->worker, &ws);
	if (r == -EBUSY)
		server_reply_error(j->rq, PROFD_E_BUSY,
				   "%llu queries are waiting for the query worker (max_queued_queries); try again",
				   (unsigned long long)ws.queued);
	else
		server_reply_error(j->rq, PROFD_E_INTERNAL, "query worker: %s", strerror(-r));
}
