/* SPDX-License-Identifier: GPL-2.0-only */
/* HTTP requests through libcurl's multi interface, driven by the daemon's
 * epoll loop: curl's sockets are loop sources (CURLMOPT_SOCKETFUNCTION ->
 * loop_add/loop_mod/loop_del) and its timer is a timerfd
 * (CURLMOPT_TIMERFUNCTION), so no request ever blocks the loop: name
 * resolution (curl's threaded resolver), connects, TLS handshakes and
 * transfers all proceed from readiness events. One struct net per loop;
 * every outbound sender (pushers, alert notifiers) goes through it, most
 * through net_target (target.h), which adds queueing and retries. */
#ifndef PROFD_NET_HTTP_H
#define PROFD_NET_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct loop;
struct net;
struct net_xfer;

/* TLS settings of one destination. The system's CA store is used unless
 * ca_file names another bundle; insecure turns verification off (the
 * caller logs why, once). */
struct net_tls {
	const char *ca_file;     /* PEM bundle, NULL: system CAs */
	const char *client_cert; /* PEM client certificate, NULL: none */
	const char *client_key;  /* PEM key of client_cert, NULL: in the cert file */
	int insecure;            /* 1: no peer or host name verification */
};

/* Credentials, held in memory once read from their files; never logged
 * and never copied into error messages. */
struct net_auth {
	const char *bearer;      /* token: "Authorization: Bearer ...", NULL: none */
	const char *user;        /* basic auth user, NULL: none */
	const char *password;    /* basic auth password */
};

struct net_request {
	const char *url;         /* http:// or https:// only (other schemes refused) */
	const char *method;      /* "POST", "PUT" */
	const char *const *headers; /* "Name: value", nheaders of them */
	size_t nheaders;
	const void *body;        /* must stay valid until the callback ran */
	size_t len;
	uint32_t timeout_ms;     /* whole request; connect gets the same bound */
	const struct net_tls *tls;
	const struct net_auth *auth;
};

/* Outcome of a request. */
struct net_response {
	long status;             /* HTTP status, 0 when no response came */
	int error;               /* 0, or -errno-like class: -ETIMEDOUT,
				  * -ECONNREFUSED, -EHOSTUNREACH, -EPROTO (TLS,
				  * protocol), -ECANCELED, -EIO (other) */
	uint64_t retry_after_s;  /* Retry-After, seconds (0: none) */
	char message[192];       /* curl's error text, or the start of the body
				  * of a non-2xx reply (printable ASCII only) */
};

typedef void (*net_done_fn)(const struct net_response *r, void *data);

struct net_stats {
	uint64_t requests;       /* started */
	uint64_t active;         /* in flight now */
	uint64_t sockets;        /* sockets watched now */
};

/* A request engine on loop l. 0 and *ret, or -errno (curl init, timerfd,
 * -ENOMEM); *ret untouched on failure. */
int net_new(struct loop *l, struct net **ret);
/* Cancels what is in flight (callbacks are not called) and frees.
 * Accepts NULL, returns NULL. */
struct net *net_free(struct net *n);

/* Start req; fn(data) is called exactly once from the loop when it ends,
 * unless net_cancel() comes first. *ret (may be NULL) gets a handle for
 * net_cancel. 0, -EINVAL (no url, bad scheme) or -ENOMEM. */
int net_send(struct net *n, const struct net_request *req, net_done_fn fn, void *data, struct net_xfer **ret);
/* Abort a request in flight; its callback is not called. */
void net_cancel(struct net *n, struct net_xfer *x);

void net_get_stats(const struct net *n, struct net_stats *ret);

#endif
