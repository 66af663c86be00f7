/* SPDX-License-Identifier: GPL-2.0-only */
/* debuginfod client over libdebuginfod: environment, held-off queries, bounded cache. */
#include "symbols/dbginfod.h"

#include "common/clock.h"
#include "common/sort.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <elfutils/debuginfod.h>

#define ENV_ARRAYS_KEPT 8 /* environments installed by us, kept reachable */
#define MAXTIME_FACTOR 6  /* a whole download may take this many timeouts */

extern char **environ;

struct dbginfod {
	char *urls;
	char *cache_dir;
	uint64_t cache_max;
	uint32_t timeout_s;
	debuginfod_client *client;  /* fetch thread only */
	int null_fd;                /* its verbose output: see dbginfod_fetch() */
	uint32_t transport_fails;   /* consecutive transport errors */
	uint64_t hold_until_ns;     /* no query before (CLOCK_MONOTONIC) */
	int dirs_ok;
};

/* What the progress callback needs: libdebuginfod calls it while it waits. */
struct fetch_ctx {
	const int *stop;
	uint64_t deadline_ns;
	int progressed;             /* called at all: the file came over the network */
};

static pthread_mutex_t env_lock = PTHREAD_MUTEX_INITIALIZER;
static char **env_arrays[ENV_ARRAYS_KEPT];

/* Install environ plus the n "NAME=value" strings of set (replacing the
 * same names), as a new array in one pointer store: a thread in getenv()
 * reads the old array or the new one, both valid for good. setenv()
 * would realloc (and so free) an array another thread may be reading. */
static int env_install(char *const *set, size_t n)
{
	size_t old = 0, k = 0;
	char **arr;

	pthread_mutex_lock(&env_lock);
	while (environ && environ[old])
		old++;
	arr = calloc(old + n + 1, sizeof(*arr));
	if (!arr) {
		pthread_mutex_unlock(&env_lock);
		return -ENOMEM;
	}
	for (size_t i = 0; i < old; i++) {
		size_t j;

		for (j = 0; j < n; j++) {
			size_t nl = (size_t)(strchr(set[j], '=') - set[j]);

			if (strncmp(environ[i], set[j], nl + 1) == 0)
				break;
		}
		if (j == n)
			arr[k++] = environ[i];
	}
	for (size_t j = 0; j < n; j++)
		arr[k++] = set[j];
	arr[k] = NULL;
	__atomic_store_n(&environ, arr, __ATOMIC_RELEASE);
	/* Keep it reachable: it is the environment now. Older ones we
	 * installed stay too (a reader may still hold them). */
	for (size_t i = 0; i < ENV_ARRAYS_KEPT; i++) {
		if (!env_arrays[i]) {
			env_arrays[i] = arr;
			break;
		}
	}
	pthread_mutex_unlock(&env_lock);
	return 0;
}

int dbginfod_new(const struct dbginfod_opts *o, struct dbginfod **ret)
{
	const char *urls = o->urls && o->urls[0] ? o->urls : getenv(DEBUGINFOD_URLS_ENV_VAR);
	char *set[6] = { 0 };
	size_t n = 0;
	struct dbginfod *d;
	int r = -ENOMEM;

	*ret = NULL;
	if (!urls || !urls[strspn(urls, " \t")])
		return 0;
	if (!o->cache_dir || o->cache_dir[0] != '/' || !o->timeout_s)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	d->urls = strdup(urls);
	d->cache_dir = strdup(o->cache_dir);
	d->cache_max = o->cache_max;
	d->timeout_s = o->timeout_s;
	if (!d->urls || !d->cache_dir)
		goto fail;
	if ((o->urls && o->urls[0] && asprintf(&set[n++], "%s=%s", DEBUGINFOD_URLS_ENV_VAR, o->urls) < 0) ||
	    asprintf(&set[n++], "%s=%s", DEBUGINFOD_CACHE_PATH_ENV_VAR, o->cache_dir) < 0 ||
	    asprintf(&set[n++], "%s=%" PRIu32, DEBUGINFOD_TIMEOUT_ENV_VAR, o->timeout_s) < 0 ||
	    asprintf(&set[n++], "%s=%" PRIu64, DEBUGINFOD_MAXTIME_ENV_VAR,
		     (uint64_t)o->timeout_s * MAXTIME_FACTOR) < 0 ||
	    asprintf(&set[n++], "%s=%" PRIu64, DEBUGINFOD_MAXSIZE_ENV_VAR, o->max_file) < 0 ||
	    /* one attempt per query: retries are ours, with back-off */
	    asprintf(&set[n++], "%s=0", DEBUGINFOD_RETRY_LIMIT_ENV_VAR) < 0) {
		set[--n] = NULL;
		goto fail;
	}
	r = env_install(set, n);
	if (r < 0)
		goto fail;
	*ret = d;
	return 0;
fail:
	for (size_t i = 0; i < n; i++)
		free(set[i]);
	dbginfod_free(d);
	return r;
}

struct dbginfod *dbginfod_free(struct dbginfod *d)
{
	if (!d)
		return NULL;
	if (d->client)
		debuginfod_end(d->client);
	if (d->null_fd >= 0)
		close(d->null_fd);
	free(d->urls);
	free(d->cache_dir);
	free(d);
	return NULL;
}

const char *dbginfod_urls(const struct dbginfod *d)
{
	return d ? d->urls : "";
}

/* libdebuginfod asks, while it waits, whether to go on: not at shutdown,
 * not past the query's time bound. */
static int progress(debuginfod_client *c, long a, long b)
{
	struct fetch_ctx *f = debuginfod_get_user_data(c);

	(void)a;
	(void)b;
	f->progressed = 1;
	if (__atomic_load_n(f->stop, __ATOMIC_RELAXED))
		return 1;
	return clock_mono_ns() > f->deadline_ns;
}

/* mkdir -p for the last components of the cache path that are missing
 * (the state directory may not exist yet on a fresh host). */
static int make_dirs(const char *path)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static uint64_t backoff_ns(uint32_t fails)
{
	uint64_t ns = DBGINFOD_BACKOFF_MIN_NS;

	while (fails-- > 1 && ns < DBGINFOD_BACKOFF_MAX_NS)
		ns *= 2;
	return ns < DBGINFOD_BACKOFF_MAX_NS ? ns : DBGINFOD_BACKOFF_MAX_NS;
}

/* A debug file already in the cache, opened without libdebuginfod (which
 * would go on to the servers on a miss): its layout is DIR/HEX/debuginfo,
 * an empty file being its record of a miss. fd or -ENOENT. */
static int cache_open(struct dbginfod *d, const uint8_t *build_id, size_t len)
{
	char path[PATH_MAX];
	struct stat st;
	int n = snprintf(path, sizeof(path), "%s/", d->cache_dir), fd;

	for (size_t i = 0; i < len && n > 0 && (size_t)n < sizeof(path); i++)
		n += snprintf(path + n, sizeof(path) - (size_t)n, "%02x", build_id[i]);
	if (n <= 0 || (size_t)n + sizeof("/debuginfo") > sizeof(path))
		return -ENAMETOOLONG;
	strcat(path, "/debuginfo");
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return -ENOENT;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
		close(fd);
		return -ENOENT;
	}
	(void)futimens(fd, NULL);
	return fd;
}

int dbginfod_fetch(struct dbginfod *d, const uint8_t *build_id, size_t len, const int *stop,
		   struct dbginfod_result *res)
{
	uint64_t now = clock_mono_ns();
	struct fetch_ctx f = { .stop = stop, .deadline_ns = now + (uint64_t)d->timeout_s * MAXTIME_FACTOR * 1000000000ull };
	char *path = NULL;
	struct stat st;
	int fd, r;

	*res = (struct dbginfod_result){ 0 };
	if (!len || len > 64)
		return -EINVAL;
	if (now < d->hold_until_ns) {
		/* The servers are held off, the cache is not. */
		fd = cache_open(d, build_id, len);
		if (fd >= 0)
			res->cached = 1;
		return fd >= 0 ? fd : -EAGAIN;
	}
	if (!d->dirs_ok) {
		r = make_dirs(d->cache_dir);
		if (r < 0) {
			res->failures = 1; /* no cache, no query: a failure all the same */
			return r;
		}
		d->dirs_ok = 1;
	}
	if (!d->client) {
		d->client = debuginfod_begin();
		if (!d->client) {
			res->failures = 1;
			return errno ? -errno : -ENOMEM;
		}
		debuginfod_set_progressfn(d->client, progress);
		/* libdebuginfod 0.188 prints some messages to its verbose fd
		 * even when there is none (-1), and glibc's dprintf leaks its
		 * 8 KiB buffer on a bad fd at every query: give it a sink. */
		if (d->null_fd >= 0)
			debuginfod_set_verbose_fd(d->client, d->null_fd);
	}
	debuginfod_set_user_data(d->client, &f);
	res->queries = 1;
	fd = debuginfod_find_debuginfo(d->client, build_id, (int)len, &path);
	free(path);
	if (fd < 0) {
		res->failures = 1;
		/* A miss says the server works; anything else holds every
		 * query off for a while, longer each time. */
		if (fd == -ENOENT) {
			d->transport_fails = 0;
		} else if (fd != -ECANCELED) {
			d->transport_fails++;
			d->hold_until_ns = clock_mono_ns() + backoff_ns(d->transport_fails);
		}
		return fd;
	}
	d->transport_fails = 0;
	/* Used now: the trim removes the least recently used first. */
	(void)futimens(fd, NULL);
	if (!f.progressed) {
		res->cached = 1;
		return fd;
	}
	res->downloaded = 1;
	if (fstat(fd, &st) == 0)
		res->bytes = (uint64_t)st.st_size;
	(void)dbginfod_cache_trim(d->cache_dir, d->cache_max, &res->cache_bytes, &res->evicted);
	return fd;
}

/* ---- the cache bound ---- */

struct cfile {
	char *path;
	uint64_t size;
	int64_t mtime_ns;
};

static int cmp_age(const void *a, const void *b)
{
	const struct cfile *x = a, *y = b;

	return x->mtime_ns < y->mtime_ns ? -1 : x->mtime_ns > y->mtime_ns;
}

/* Regular files of one build-id directory into *files. */
static int scan_sub(const char *sub, struct cfile **files, size_t *n, size_t *cap, uint64_t *total)
{
	DIR *dd = opendir(sub);
	struct dirent *de;

	if (!dd)
		return -errno;
	while ((de = readdir(dd)) && *n < DBGINFOD_TRIM_FILES) {
		char p[PATH_MAX];
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		if (snprintf(p, sizeof(p), "%s/%s", sub, de->d_name) >= (int)sizeof(p) ||
		    lstat(p, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (*n == *cap) {
			size_t nc = *cap ? *cap * 2 : 64;
			struct cfile *nf = realloc(*files, nc * sizeof(*nf));

			if (!nf) {
				closedir(dd);
				return -ENOMEM;
			}
			*files = nf;
			*cap = nc;
		}
		(*files)[*n] = (struct cfile){
			.path = strdup(p), .size = (uint64_t)st.st_size,
			.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000ll + st.st_mtim.tv_nsec,
		};
		if (!(*files)[*n].path)
			continue;
		*total += (uint64_t)st.st_size;
		(*n)++;
	}
	closedir(dd);
	return 0;
}

int dbginfod_cache_trim(const char *dir, uint64_t max_bytes, uint64_t *ret_bytes, uint32_t *ret_evicted)
{
	struct cfile *files = NULL;
	size_t n = 0, cap = 0;
	uint64_t total = 0;
	uint32_t evicted = 0;
	struct dirent *de;
	DIR *d = opendir(dir);
	int r = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d)) && n < DBGINFOD_TRIM_FILES && r == 0) {
		char sub[PATH_MAX];
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name) >= (int)sizeof(sub) ||
		    lstat(sub, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		r = scan_sub(sub, &files, &n, &cap, &total);
		if (r == -ENOMEM)
			break;
		r = 0;
	}
	if (r == 0 && total > max_bytes) {
		if (n)
			qsort_safe(files, n, sizeof(*files), cmp_age);
		for (size_t i = 0; i < n && total > max_bytes; i++) {
			char *slash;

			/* Empty files are libdebuginfod's record of a miss:
			 * removing them frees nothing. */
			if (!files[i].size || unlink(files[i].path) < 0)
				continue;
			total -= files[i].size;
			evicted++;
			slash = strrchr(files[i].path, '/');
			*slash = '\0';
			(void)rmdir(files[i].path); /* fails while other files remain */
		}
	}
	for (size_t i = 0; i < n; i++)
		free(files[i].path);
	free(files);
	closedir(d);
	if (r < 0)
		return r;
	*ret_bytes = total;
	*ret_evicted = evicted;
	return 0;
}
