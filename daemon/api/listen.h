/* SPDX-License-Identifier: GPL-2.0-only */
/* The API server's listening socket: its directory, a stale socket left
 * by a crashed daemon, the owner-only bind opened up to the configured
 * mode and group, and removal of our own file only. Internal to the API
 * layer (api/server.c). */
#ifndef PROFD_API_LISTEN_H
#define PROFD_API_LISTEN_H

#include <sys/types.h>

/* What identifies the socket file we made. */
struct listen_id {
	dev_t dev;
	ino_t ino;
};

/* Bind and listen at path (its directory created 0755; a stale socket
 * replaced only if nothing answers on it), mode and group (NULL: keep the
 * creator's; a missing group is a warning). 0 with *ret_fd (non-blocking,
 * close-on-exec) and *ret_id, or -errno (logged with the path). */
int listen_socket_open(const char *path, mode_t mode, const char *group, int *ret_fd, struct listen_id *ret_id);
/* Unlink path if it is still the file listen_socket_open made. */
void listen_socket_remove(const char *path, const struct listen_id *id);

#endif
