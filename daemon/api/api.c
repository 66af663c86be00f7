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
#include "base/log.h"
#include "daemon.h"
#include "profd/protocol.h"

/* Who may run a command. Reading is for whoever can connect: the socket's
 * mode (0660, group socket_group) admits root and that group's members.
 * Changing profd's state is root's only, checked on the peer's
 * credentials (SO_PEERCRED). Kernel addresses in replies are root's only
 * too (server_request_privileged, in the handlers that emit them). */
enum access { API_READ, API_ROOT };

static const struct command {
	const char *name;
	void (*fn)(struct daemon *d, struct server_request *rq);
	enum access access;
} commands[] = {
	{ "status", api_status, API_READ },
	{ "top", api_top, API_READ },
	{ "export", api_export, API_READ },
	{ "diff", api_diff, API_READ },
	{ "alerts", api_alerts, API_READ },
	{ "hotspots", api_hotspots, API_READ },
	{ "reload", api_reload, API_ROOT },
};

/* 1 when the client may run c; else the refusal is logged and sent. */
static int allowed(const struct command *c, struct server_request *rq)
{
	uid_t uid;
	pid_t pid;

	if (c->access == API_READ || server_request_privileged(rq))
		return 1;
	if (server_request_peer(rq, &uid, &pid) < 0) {
		log_warn("api: refused \"%s\": the client's credentials are unknown", c->name);
		server_reply_error(rq, PROFD_E_PERMISSION, "%s is for root only, and your credentials could not be read", c->name);
		return 0;
	}
	log_warn("api: refused \"%s\" from uid %u pid %d: root only", c->name, (unsigned)uid, (int)pid);
	server_reply_error(rq, PROFD_E_PERMISSION, "%s changes profd's state: root only (you are uid %u)", c->name,
			   (unsigned)uid);
	return 0;
}

void api_handle(void *userdata, struct server_request *rq)
{
	const char *cmd = server_request_cmd(rq);
	char known[256];
	size_t len = 0;

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(cmd, commands[i].name)) {
			if (allowed(&commands[i], rq))
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
