/* SPDX-License-Identifier: GPL-2.0-only */
/* bench_export: time and peak memory of an export of a 1-hour window
 * holding >= 50,000 distinct stacks, for each format asked, on both sides
 * of the socket.
 *
 * The store is filled as the daemon fills it: one tick a second for an
 * hour (simulated time), 400 samples a tick over 200 processes, stacks of
 * 6..40 frames whose kernel part is drawn from the running kernel's
 * kallsyms (real names, real symbolization) and whose user part is real
 * code of this program and libc (resolved through /proc/self/maps), so
 * query, build (symbolization included) and encoding do the work they do
 * in profd. Each format is then measured in turn, with the peak RSS reset
 * before each phase (/proc/self/clear_refs 5): "build" is query + build of
 * the model, "encode" the encoder writing into a discarding sink (its own
 * memory), "reply" the encoder writing into the bounded reply buffer the
 * API uses today. The client side: a child serves the payload once over a
 * Unix socket as profd frames it, and a real profctl writes it to a file;
 * its peak RSS comes from wait4.
 *
 * usage: bench_export PROFCTL [FORMAT...]   (default: folded pprof svg) */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/proto.h"
#include "profile/format.h"
#include "profile/profile.h"
#include "profile/query.h"
#include "store/proctable.h"
#include "store/stacks.h"
#include "store/window.h"
#include "symbols/symbolizer.h"

#define S 1000000000ull
#define HOUR 3600
#define PER_TICK 400
#define NPROCS 200
#define NSTACKS 60000

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long status_kb(const char *key)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)))
			v = atol(line + strlen(key) + 1);
	if (f)
		fclose(f);
	return v;
}

/* Freed heap goes back to the kernel first, or a phase that reuses it
 * would look smaller than it is. */
static void reset_peak(void)
{
	int fd;

	malloc_trim(0);
	fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (write(fd, "5", 1) < 0)
			perror("clear_refs");
		close(fd);
	}
}

static uint64_t rng = 88172645463325252ull;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static uint64_t *kaddrs;
static size_t nkaddrs;

static void load_kallsyms(void)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	char line[512];
	size_t cap = 0;

	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long a;
		char t;

		if (sscanf(line, "%llx %c", &a, &t) != 2 || !a || (t != 't' && t != 'T') || strchr(line, '['))
			continue;
		if (nkaddrs == cap) {
			cap = cap ? cap * 2 : 65536;
			kaddrs = realloc(kaddrs, cap * sizeof(*kaddrs));
		}
		kaddrs[nkaddrs++] = a + 4;
	}
	if (f)
		fclose(f);
}

struct discard {
	struct sink sink;
	uint64_t bytes;
};

static int discard_write(struct sink *s, const void *p, size_t n)
{
	(void)p;
	((struct discard *)s)->bytes += n;
	return 0;
}

/* One profctl run against a one-shot server of payload: its peak RSS. */
static long client_peak_kb(const char *profctl, const char *fmt, const char *payload, size_t n, double *ret_s)
{
	char dir[] = "/tmp/profd-bench-XXXXXX", sock[256], out[256];
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	pid_t srv, cli;
	int fd, st, pfd[2];
	long kb;
	double t0;

	if (!mkdtemp(dir))
		return -1;
	snprintf(sock, sizeof(sock), "%s/s", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	memcpy(a.sun_path, sock, strlen(sock) + 1); /* 30 bytes: fits */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 1) < 0)
		return -1;
	srv = fork();
	if (srv == 0) {
		int c = accept(fd, NULL, NULL);
		char buf[4096], *line;
		size_t off = 0;

		if (c < 0 || read(c, buf, sizeof(buf)) <= 0)
			_exit(1);
		line = proto_ok(json_object_new_object(), n, "application/octet-stream");
		if (!line || write(c, line, strlen(line)) < 0)
			_exit(1);
		while (off < n) {
			ssize_t w = write(c, payload + off, n - off);

			if (w <= 0)
				_exit(1);
			off += (size_t)w;
		}
		close(c);
		_exit(0);
	}
	close(fd);
	t0 = now_s();
	/* through a fresh image of this program (--measure): a process forked
	 * from this big one would carry its peak RSS into profctl's rusage */
	if (pipe(pfd) < 0)
		return -1;
	cli = fork();
	if (cli == 0) {
		dup2(pfd[1], STDOUT_FILENO);
		execl("/proc/self/exe", "bench_export", "--measure", profctl, "--socket", sock, "--timeout", "600",
		      "export", "--format", fmt, "-o", out, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	kb = -1;
	{
		char buf[64] = "";
		ssize_t got = read(pfd[0], buf, sizeof(buf) - 1);

		if (got > 0) {
			buf[got] = 0;
			kb = atol(buf);
		}
	}
	close(pfd[0]);
	if (waitpid(cli, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "profctl failed (%d)\n", st);
		kb = -1;
	}
	*ret_s = now_s() - t0;
	waitpid(srv, NULL, 0);
	unlink(out);
	unlink(sock);
	rmdir(dir);
	return kb;
}

/* --measure CMD ARGS...: run it, print its peak RSS (kB) on stdout. */
static int measure_child(char **argv)
{
	struct rusage ru;
	int st, null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	pid_t pid = fork();

	if (pid == 0) {
		dup2(null, STDOUT_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || wait4(pid, &st, 0, &ru) < 0)
		return 1;
	printf("%ld\n", ru.ru_maxrss);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

static void measure(const struct profile_src *src, const char *fmt, const char *profctl)
{
	const struct format *f = format_find(fmt);
	struct format_opts o = { .scratch_max = 1ull << 30 };
	struct pq_result q = { 0 };
	struct profile *p = NULL;
	struct format_result res;
	struct discard dis = { .sink.write = discard_write };
	struct sink_buf b;
	long base, build_kb, enc_kb, reply_kb, cli_kb;
	double t0, t_build, t_enc, t_reply, t_cli = 0;
	char *payload;
	size_t len;

	if (!f) {
		fprintf(stderr, "no format %s\n", fmt);
		return;
	}
	reset_peak();
	base = status_kb("VmRSS:");
	t0 = now_s();
	if (profile_query(src, HOUR * S, NULL, &q) || profile_build(src, &q, &p)) {
		fprintf(stderr, "query/build failed\n");
		return;
	}
	t_build = now_s() - t0;
	build_kb = status_kb("VmHWM:") - base;
	pq_result_release(&q);

	reset_peak();
	base = status_kb("VmRSS:");
	t0 = now_s();
	if (format_encode(f, p, &o, &dis.sink, &res)) {
		fprintf(stderr, "%s: encode failed\n", fmt);
		return;
	}
	t_enc = now_s() - t0;
	enc_kb = status_kb("VmHWM:") - base;

	reset_peak();
	base = status_kb("VmRSS:");
	sink_buf_init(&b, 1ull << 31);
	t0 = now_s();
	format_encode(f, p, &o, &b.sink, &res);
	t_reply = now_s() - t0;
	reply_kb = status_kb("VmHWM:") - base;
	payload = sink_buf_steal(&b, &len);
	cli_kb = client_peak_kb(profctl, fmt, payload, len, &t_cli);
	printf("| %s | %zu | %.2f | %ld | %.2f | %ld | %.2f | %ld | %.1f | %.2f | %ld |\n", fmt, p->nstacks, t_build,
	       build_kb / 1024, t_enc, enc_kb / 1024, t_reply, reply_kb / 1024, (double)len / 1048576.0, t_cli,
	       cli_kb / 1024);
	fflush(stdout);
	free(payload);
	profile_free(p);
}

int main(int argc, char **argv)
{
	static const char *const defaults[] = { "folded", "pprof", "svg" };
	struct window_opts wo = { .ntiers = 2,
				  .tier = { { .slot_ns = S, .slots = 600 }, { .slot_ns = 60 * S, .slots = 1440 } },
				  .max_bytes = 2ull << 30 };
	struct symbolizer_opts so = { .procfs = "/proc", .kallsyms = "/proc/kallsyms", .cache_bytes = 256 << 20,
				      .max_objects = 4096, .no_worker = 1 };
	char procdir[] = "/tmp/profd-bench-proc-XXXXXX";
	struct profile_src src = { 0 };
	uint32_t procs[NPROCS], user_obj[8];
	uint64_t user_off[8], t = 1000 * S;
	void *user_fns[8] = { (void *)main, (void *)measure, (void *)printf, (void *)qsort, (void *)malloc,
			      (void *)memcpy, (void *)strtod, (void *)fopen };
	struct frame fr[64];
	uint32_t *ids;
	size_t distinct;
	double t0;

	if (argc > 2 && !strcmp(argv[1], "--measure"))
		return measure_child(argv + 2);
	if (argc < 2) {
		fprintf(stderr, "usage: bench_export PROFCTL [FORMAT...]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	load_kallsyms();
	if (nkaddrs < 1000) {
		fprintf(stderr, "bench_export: /proc/kallsyms shows no addresses (run as root)\n");
		return 1;
	}
	if (!mkdtemp(procdir) || window_new(&wo, t, &src.win) || stacks_new(1u << 20, &src.stacks) ||
	    proctable_new(procdir, 4096, &src.procs) || symbolizer_new(&so, &src.sym)) {
		fprintf(stderr, "bench_export: setup failed\n");
		return 1;
	}
	src.frequency = 99;
	src.start_ns = t;
	for (int i = 0; i < 8; i++)
		user_obj[i] = symbolizer_object_for_ip(src.sym, (uint32_t)getpid(), (uint64_t)(uintptr_t)user_fns[i],
						       &user_off[i]);
	for (int i = 0; i < NPROCS; i++) {
		char comm[16];

		snprintf(comm, sizeof(comm), "svc%03d", i);
		procs[i] = proctable_get(src.procs, 100000 + (uint32_t)i, 1000 + (uint64_t)i, comm, t);
	}
	/* the distinct stacks, interned up front */
	ids = malloc(NSTACKS * sizeof(*ids));
	for (int s = 0; s < NSTACKS; s++) {
		uint32_t nk = 2 + (uint32_t)(next() % 30), nu = 3 + (uint32_t)(next() % 6), n = 0;

		for (uint32_t k = 0; k < nk; k++, n++)
			fr[n] = (struct frame){ .obj = SYM_OBJ_KERNEL, .flags = STACK_FRAME_KERNEL,
						.addr = kaddrs[next() % (k < 3 ? nkaddrs : 2000)] };
		for (uint32_t k = 0; k < nu; k++, n++) {
			int u = (int)(next() % 8);

			fr[n] = (struct frame){ .obj = user_obj[u], .addr = user_off[u] + (next() % 64) };
		}
		ids[s] = stacks_intern(src.stacks, fr, n, 0, t);
	}
	t0 = now_s();
	for (int sec = 0; sec < HOUR; sec++) {
		window_tick(src.win, t);
		for (int k = 0; k < PER_TICK; k++) {
			/* every stack at least once an hour; a skew towards the first */
			uint32_t s = (uint32_t)(sec * PER_TICK + k) < NSTACKS ? (uint32_t)(sec * PER_TICK + k)
									       : (uint32_t)(next() % (next() % 2 ? 2000 : NSTACKS));

			window_add(src.win, t + S / 2, procs[s % NPROCS], ids[s], 1);
		}
		t += S;
	}
	window_tick(src.win, t);
	src.data_until_ns = t;
	{
		struct stacks_stats ss;

		stacks_get_stats(src.stacks, &ss);
		distinct = ss.stacks;
	}
	fprintf(stderr, "store filled: 1 h, %d samples, %zu distinct stacks, %d processes (%.1f s)\n", HOUR * PER_TICK,
		distinct, NPROCS, now_s() - t0);
	printf("| format | stacks | query+build s | build MiB | encode s | encoder MiB | into reply s | reply MiB | "
	       "payload MiB | profctl s | profctl MiB |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
	for (int i = 2; i < argc; i++)
		measure(&src, argv[i], argv[1]);
	for (int i = 0; argc <= 2 && i < 3; i++)
		measure(&src, defaults[i], argv[1]);
	free(ids);
	free(kaddrs);
	symbolizer_free(src.sym);
	proctable_free(src.procs);
	stacks_free(src.stacks);
	window_free(src.win);
	rmdir(procdir);
	return 0;
}
