/* SPDX-License-Identifier: GPL-2.0-only */
/* The API server's listening socket, see listen.h. */
#include "api/listen.h"

#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/log.h"

/* mkdir -p for the socket's directory; directories made here get exactly
 * 0755 whatever the umask, so clients can reach the socket. */
static int make_parent(const char *path)
{
	char *dir = strdup(path);
	char *slash;
	int r = 0;

	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		goto out;
	*slash = '\0';
	for (char *p = dir + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		if (mkdir(dir, 0755) == 0) {
			if (chmod(dir, 0755) < 0) {
				r = -errno;
				goto out;
			}
		} else if (errno != EEXIST) {
			r = -errno;
			goto out;
		}
		*p = saved;
		if (!saved)
			break;
	}
out:
	free(dir);
	return r;
}

/* A socket file left by a crashed daemon is removed; one a live daemon
 * answers on, or any other kind of file, is left alone. */
static int clear_stale(const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, r;

	if (lstat(sa->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 ? -errno : 0;
	close(fd);
	if (r == -ECONNREFUSED)
		return unlink(sa->sun_path) < 0 && errno != ENOENT ? -errno : 0;
	if (r == -ENOENT)
		return 0;
	/* Connected, or EAGAIN (backlog full): someone is serving there. */
	return r == 0 || r == -EAGAIN ? -EADDRINUSE : r;
}

int listen_socket_open(const char *path, mode_t mode, const char *group, int *ret_fd, struct listen_id *ret_id)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	gid_t gid = (gid_t)-1;
	struct stat st;
	mode_t old;
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	if (group) {
		struct group *g = getgrnam(group);

		if (g)
			gid = g->gr_gid;
		else
			log_warn("server: group '%s' not found; %s keeps its creator's group", group, path);
	}
	strcpy(sa.sun_path, path);
	r = make_parent(path);
	if (r < 0)
		return log_err_errno(r, "server: create directory for %s: %m", path);
	r = clear_stale(&sa);
	if (r < 0) {
		log_err("server: %s: %s", path,
			r == -EADDRINUSE ? "another profd is answering on it" :
			r == -EEXIST ? "exists and is not a socket" : strerror(-r));
		return r;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* Created owner-only, then opened up to opts->mode: nobody can slip
	 * in between bind() and chmod(). The daemon starts no thread before
	 * the server, so the process-wide umask change is not a race. */
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	umask(old);
	if (r < 0) {
		close(fd);
		return log_err_errno(r, "server: bind %s: %m", path);
	}
	*ret_id = (struct listen_id){ 0 };
	if (lstat(path, &st) == 0) {
		ret_id->dev = st.st_dev;
		ret_id->ino = st.st_ino;
	}
	if (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) < 0) {
		r = log_err_errno(errno, "server: chown %s to group %s: %m", path, group);
		goto unlink;
	}
	if (chmod(path, mode) < 0) {
		r = log_err_errno(errno, "server: chmod %s: %m", path);
		goto unlink;
	}
	if (listen(fd, SOMAXCONN) < 0) {
		r = log_err_errno(errno, "server: listen %s: %m", path);
		goto unlink;
	}
	*ret_fd = fd;
	return 0;
unlink:
	unlink(path);
	close(fd);
	return r;
}

void listen_socket_remove(const char *path, const struct listen_id *id)
{
	struct stat st;

	/* Only our own socket: a newer daemon may have replaced the file. */
	if (lstat(path, &st) == 0 && st.st_dev == id->dev && st.st_ino == id->ino)
		unlink(path);
}

