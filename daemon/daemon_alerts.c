/* SPDX-License-Identifier: GPL-2.0-only */
/* The alerts subsystem wired into the daemon: its options from [alerts],
 * its rules from profd.conf's [rule NAME] sections and rules_dir, the
 * evaluation at every tick, and the two steps of a reload (read the new
 * rules, then switch), so that a bad rule refuses the whole reload. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "alerts/alerts.h"
#include "alerts/rules.h"
#include "base/log.h"
#include "common/clock.h"
#include "daemon.h"

static void opts_of(const struct daemon *d, const struct config *c, struct alerts_opts *o)
{
	*o = (struct alerts_opts){
		.host = c->alert_host,
		.history = c->alert_history,
		.max_active = c->max_alerts,
		.stacks_refresh_ns = c->stacks_refresh_ns,
		.max_procs = c->max_procs,
		.net = d->net,
		.log = (int)c->alert_log,
		.alertmanager_url = c->alertmanager_url,
		.alertmanager_resend_ns = c->alertmanager_resend_ns,
		.webhook_url = c->webhook_url,
		.webhook_resend_ns = c->webhook_resend_ns,
		.http = {
			.timeout_ms = c->notify_timeout_ns / 1000000,
			.max_attempts = c->notify_attempts,
			.backoff_min_ms = c->notify_backoff_ns / 1000000,
			.backoff_max_ms = c->notify_backoff_max_ns / 1000000,
			.max_queue = c->notify_queue,
		},
	};
	if (o->http.backoff_max_ms < o->http.backoff_min_ms)
		o->http.backoff_max_ms = o->http.backoff_min_ms;
}

/* rules_dir is a glob, or a directory whose *.conf files count. */
static void rules_glob(const struct config *c, char *buf, size_t n)
{
	size_t l = strlen(c->rules_dir);

	if (strpbrk(c->rules_dir, "*?["))
		snprintf(buf, n, "%s", c->rules_dir);
	else
		snprintf(buf, n, "%.*s/*.conf", (int)(l && c->rules_dir[l - 1] == '/' ? l - 1 : l), c->rules_dir);
}

int daemon_alerts_prepare(struct daemon *d, const struct config *c, struct ruleset **ret, char *err, size_t errsz)
{
	char glob[256];

	rules_glob(c, glob, sizeof(glob));
	return alerts_read_rules(d->config_path, glob, ret, err, errsz);
}

void daemon_alerts_apply(struct daemon *d, struct ruleset *rs)
{
	struct alerts_opts o;
	int r;

	opts_of(d, &d->cfg, &o);
	r = alerts_configure(d->alerts, &o);
	if (r)
		log_err_errno(r, "alerts: receivers: %m");
	r = alerts_set_rules(d->alerts, rs, clock_boot_ns());
	if (r)
		log_err_errno(r, "alerts: rules: %m");
}

int daemon_alerts_init(struct daemon *d)
{
	struct alerts_opts o;
	struct ruleset *rs;
	char err[512];
	int r;

	opts_of(d, &d->cfg, &o);
	r = alerts_new(&o, &d->alerts);
	if (r)
		return log_err_errno(r, "alerts: %m");
	r = daemon_alerts_prepare(d, &d->cfg, &rs, err, sizeof(err));
	if (r) {
		log_err("alerts: %s", err);
		return r;
	}
	r = alerts_set_rules(d->alerts, rs, clock_boot_ns());
	if (r)
		return log_err_errno(r, "alerts: rules: %m");
	log_info("alerts: %zu rules", rs->n);
	return 0;
}

void daemon_alerts_tick(struct daemon *d, uint64_t now)
{
	struct alerts_src src = {
		.prof = {
			.win = d->win,
			.stacks = d->stacks,
			.procs = d->procs,
			.sym = d->sym,
			.data_until_ns = d->data_until_ns,
			.start_ns = d->start_boot_ns,
			.frequency = sampler_frequency(d->sampler),
		},
		.res = d->res,
		.procfs = "/proc",
	};

	if (d->alerts && d->sym)
		alerts_tick(d->alerts, &src, now);
}

void daemon_alerts_fini(struct daemon *d)
{
	d->alerts = alerts_free(d->alerts);
}
