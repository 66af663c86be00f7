/* Symbol-table loader: one worker thread, a job queue in, a done list out, an eventfd. */
#include "symbols/symloader.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct symloader {
	pthread_t worker;
	/* The mutex guards only the two queues and `stop`. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct symloader_job *queue, *queue_tail, *done;
	int stop;
	int efd;
};

struct symloader_job *symloader_job_new(void)
{
	return calloc(1, sizeof(struct symloader_job));
}

struct symloader_job *symloader_job_free(struct symloader_job *j)
{
	if (j) {
		for (size_t i = 0; i < SYMLOADER_PATHS; i++)
			free(j->paths[i]);
		free(j->logical_dir);
		elfsym_free(j->table);
		free(j);
	}
	return NULL;
}

/* Does the file open on fd have the identity the job asks for? */
static int job_accepts(const struct symloader_job *j, int fd, const struct stat *st)
{
	if (j->build_id_len) {
		uint8_t id[ELFSYM_BUILD_ID_MAX];
		int r = elfsym_read_build_id_fd(fd, id);

		return r == (int)j->build_id_len && memcmp(id, j->build_id, j->build_id_len) == 0;
	}
	if (j->has_key) {
		struct symloader_key k = symloader_key_of(st);

		return symloader_key_eq(&k, &j->key);
	}
	return 1;
}

void symloader_job_run(struct symloader_job *j)
{
	j->err = -ENOENT;
	for (size_t i = 0; i < SYMLOADER_PATHS && j->paths[i]; i++) {
		struct elfsym *e;
		struct stat st;
		int fd = util_open_regular_in(NULL, j->paths[i], UTIL_OPEN_MAGICLINKS, &st), r;

		if (fd < 0)
			continue;
		if (!job_accepts(j, fd, &st)) {
			close(fd);
			continue;
		}
		r = elfsym_load_fd(fd, &e);
		close(fd);
		if (r < 0) {
			j->err = r;
			continue;
		}
		if (!(elfsym_sources(e) & ELFSYM_SRC_SYMTAB)) {
			char dir[4096];
			const char *slash = strrchr(j->paths[i], '/');
			/* A map_files entry's directory holds no debuglink targets. */
			int open_dir = slash && !strstr(j->paths[i], "/map_files/") &&
				       (size_t)(slash - j->paths[i]) < sizeof(dir);

			if (open_dir) {
				memcpy(dir, j->paths[i], (size_t)(slash - j->paths[i]));
				dir[slash - j->paths[i]] = '\0';
			}
			elfsym_load_debug(e, j->debug_dirs, open_dir ? dir : NULL, j->logical_dir);
		}
		j->table = e;
		j->err = 0;
		return;
	}
}

static void *worker_main(void *arg)
{
	struct symloader *l = arg;
	uint64_t one = 1;

	for (;;) {
		struct symloader_job *j;

		pthread_mutex_lock(&l->lock);
		while (!l->queue && !l->stop)
			pthread_cond_wait(&l->cond, &l->lock);
		if (l->stop) {
			pthread_mutex_unlock(&l->lock);
			return NULL;
		}
		j = l->queue;
		l->queue = j->next;
		if (!l->queue)
			l->queue_tail = NULL;
		pthread_mutex_unlock(&l->lock);

		symloader_job_run(j);

		pthread_mutex_lock(&l->lock);
		j->next = l->done;
		l->done = j;
		pthread_mutex_unlock(&l->lock);
		if (write(l->efd, &one, sizeof(one)) < 0) {
			/* EAGAIN: the counter is saturated, a wakeup is pending anyway. */
		}
	}
}

int symloader_new(struct symloader **ret)
{
	struct symloader *l = calloc(1, sizeof(*l));
	int r;

	if (!l)
		return -ENOMEM;
	l->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->efd < 0) {
		r = -errno;
		free(l);
		return r;
	}
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->cond, NULL);
	r = -pthread_create(&l->worker, NULL, worker_main, l);
	if (r < 0) {
		pthread_cond_destroy(&l->cond);
		pthread_mutex_destroy(&l->lock);
		close(l->efd);
		free(l);
		return r;
	}
	*ret = l;
	return 0;
}

static void free_list(struct symloader_job *j)
{
	while (j) {
		struct symloader_job *n = j->next;

		symloader_job_free(j);
		j = n;
	}
}

struct symloader *symloader_free(struct symloader *l)
{
	if (!l)
		return NULL;
	pthread_mutex_lock(&l->lock);
	l->stop = 1;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
	pthread_join(l->worker, NULL);
	free_list(l->queue);
	free_list(l->done);
	pthread_cond_destroy(&l->cond);
	pthread_mutex_destroy(&l->lock);
	close(l->efd);
	free(l);
	return NULL;
}

int symloader_fd(const struct symloader *l)
{
	return l->efd;
}

void symloader_submit(struct symloader *l, struct symloader_job *j)
{
	j->next = NULL;
	pthread_mutex_lock(&l->lock);
	if (l->queue_tail)
		l->queue_tail->next = j;
	else
		l->queue = j;
	l->queue_tail = j;
	pthread_cond_signal(&l->cond);
	pthread_mutex_unlock(&l->lock);
}

struct symloader_job *symloader_take_done(struct symloader *l)
{
	struct symloader_job *done;
	uint64_t v;

	if (read(l->efd, &v, sizeof(v)) < 0) {
		/* EAGAIN: nothing signalled; the done list may still hold work. */
	}
	pthread_mutex_lock(&l->lock);
	done = l->done;
	l->done = NULL;
	pthread_mutex_unlock(&l->lock);
	return done;
}
