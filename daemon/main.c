/* SPDX-License-Identifier: GPL-2.0-only */
/* profd: flags, configuration, signals, the tick timer and the event loop. */
#include <errno.h>
#include <getopt.h>
#include <linux/capability.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "daemon.h"
#include "check.h"
#include "api/api.h"
#include "profd/protocol.h"
#include "base/log.h"
#include "base/loop.h"
#include "base/notify.h"
#include "collect/resources.h"
#include "api/server.h"
#include "api/worker.h"
#include "symbols/symbolizer.h"
#include "common/clock.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: profd [OPTIONS]\n"
		"System-wide sampling profiler and resource monitor.\n\n"
		"  -c, --config PATH      configuration file (default " PROFD_DEFAULT_CONFIG ")\n"
		"  -s, --socket PATH      API socket (default " PROFD_DEFAULT_SOCKET ")\n"
		"  -F, --frequency HZ     sampling frequency per CPU (1..10000, default 99)\n"
		"  -f, --foreground       stay in the foreground, log to stderr\n"
		"  -l, --log-level LEVEL  error, warning, info or debug\n"
		"      --print-config     print the effective configuration and exit\n"
		"      --check            check that this host can run profd, then exit\n"
		"                         (0: it can; every failure names its cause and fix)\n"
		"      --json             with --check: one JSON object\n"
		"  -h, --help             this help\n"
		"  -V, --version          print the version\n");
}

/* libbpf hands us its format string: not a literal, by design. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
/* Set once, in main(): every libbpf message goes through the daemon log. */
static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char buf[1024];
	int lvl = level == LIBBPF_WARN ? LOG_WARNING : level == LIBBPF_INFO ? LOG_INFO : LOG_DEBUG;
	size_t n;

	if (lvl > log_get_level())
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = 0;
	log_msg(lvl, "%s", buf);
	return 0;
}
#pragma GCC diagnostic pop

static void on_signal(struct loop *l, int fd, uint32_t events, void *data)
{
	struct daemon *d = data;
	struct signalfd_siginfo si;

	(void)events;
	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			daemon_reload(d);
		} else {
			log_info("received %s, shutting down", strsignal(si.ssi_signo));
			loop_quit(l);
		}
	}
}

static void on_timer(struct loop *l, int fd, uint32_t events, void *data)
{
	struct daemon *d = data;
	uint64_t exp = 0;

	(void)l;
	(void)events;
	if (read(fd, &exp, sizeof(exp)) != sizeof(exp))
		return;
	if (exp > 1)
		d->tick_overruns += exp - 1;
	daemon_tick(d, clock_boot_ns());
}

static void on_ringbuf(struct loop *l, int fd, uint32_t events, void *data)
{
	struct daemon *d = data;

	(void)l;
	(void)fd;
	(void)events;
	daemon_drain(d);
}

static void on_symbolizer(struct loop *l, int fd, uint32_t events, void *data)
{
	struct daemon *d = data;
	uint64_t v;

	(void)l;
	(void)events;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_debug_errno(errno, "symbolizer eventfd: %m");
	daemon_symbols_ready(d);
}

static void on_replay(struct loop *l, int fd, uint32_t events, void *data)
{
	struct daemon *d = data;

	(void)l;
	(void)fd;
	(void)events;
	daemon_replay_ready(d);
}

static void on_worker(struct loop *l, int fd, uint32_t events, void *data)
{
	struct daemon *d = data;

	(void)l;
	(void)fd;
	(void)events;
	daemon_worker_ready(d);
}

/* Ticks fire just after each tick boundary of CLOCK_BOOTTIME (the clock of
 * BPF timestamps), so every drain closes exactly one window slot. */
static int make_timer(const struct daemon *d)
{
	uint64_t tick = d->cfg.tick_ns, now = clock_boot_ns();
	uint64_t first = (now / tick + 1) * tick + 5 * 1000000ull;
	struct itimerspec its = {
		.it_interval = { .tv_sec = tick / 1000000000ull, .tv_nsec = tick % 1000000000ull },
		.it_value = { .tv_sec = first / 1000000000ull, .tv_nsec = first % 1000000000ull },
	};
	int fd = timerfd_create(CLOCK_BOOTTIME, TFD_CLOEXEC | TFD_NONBLOCK);

	if (fd < 0)
		return -errno;
	if (timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

/* Once everything is attached, keep only what the steady state needs:
 * reading other processes' maps and files (SYS_PTRACE, DAC_READ_SEARCH),
 * re-opening perf events on reload (PERFMON, BPF), kernel addresses in
 * /proc/kallsyms (SYSLOG). */
static void drop_privileges(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2], have[2];
	int keep[] = { CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH, CAP_SYSLOG, CAP_CHECKPOINT_RESTORE, CAP_SYS_ADMIN };
	int last = CAP_LAST_CAP;

	memset(data, 0, sizeof(data));
	memset(have, 0, sizeof(have));
	/* Keep only what is held now: a capability outside the permitted set
	 * (a narrower unit bounding set, an older kernel) cannot be asked for,
	 * and asking would make the whole capset() fail, keeping everything. */
	if (syscall(SYS_capget, &hdr, have) < 0) {
		log_warn_errno(errno, "reading capabilities: %m");
		return;
	}
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		uint32_t bit = 1u << (keep[i] % 32);

		/* CAP_SYS_ADMIN stands in for BPF/PERFMON on kernels < 5.8 only */
		if (keep[i] == CAP_SYS_ADMIN && prctl(PR_CAPBSET_READ, CAP_BPF, 0, 0, 0) == 1)
			continue;
		if (!(have[keep[i] / 32].permitted & bit)) {
			log_debug("capability %d not held: not kept", keep[i]);
			continue;
		}
		data[keep[i] / 32].effective |= bit;
		data[keep[i] / 32].permitted |= bit;
	}
	for (int c = 0; c <= last; c++) {
		int kept = (data[c / 32].permitted >> (c % 32)) & 1;
		if (!kept && prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1)
			prctl(PR_CAPBSET_DROP, c, 0, 0, 0);
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		log_warn_errno(errno, "dropping capabilities: %m");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		log_warn_errno(errno, "no_new_privs: %m");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "frequency", required_argument, NULL, 'F' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "print-config", no_argument, NULL, 'P' },
		{ "check", no_argument, NULL, 'C' },
		{ "json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	static struct daemon d;
	const char *sock = NULL, *freq = NULL, *level = NULL;
	int foreground = 0, print_config = 0, check = 0, json = 0, stopping = 0, c, r, ret = 1;
	char err[512];
	sigset_t mask;
	struct server_opts so;

	snprintf(d.config_path, sizeof(d.config_path), "%s", PROFD_DEFAULT_CONFIG);
	while ((c = getopt_long(argc, argv, "c:s:F:fl:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			snprintf(d.config_path, sizeof(d.config_path), "%s", optarg);
			d.config_explicit = 1;
			break;
		case 's':
			sock = optarg;
			break;
		case 'F':
			freq = optarg;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'l':
			level = optarg;
			break;
		case 'P':
			print_config = 1;
			break;
		case 'C':
			check = 1;
			break;
		case 'J':
			json = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("profd %s\n", PROFD_VERSION);
			return 0;
		default:
			usage(stderr);
			return 64;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "profd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 64;
	}

	config_defaults(&d.cfg);
	r = config_load_file(&d.cfg, d.config_path, err, sizeof(err));
	if (r == -ENOENT && !d.config_explicit) {
		r = 0;
	} else if (r == -ENOENT) {
		fprintf(stderr, "profd: config file %s: %s\n", d.config_path, strerror(ENOENT));
		return 78;
	}
	if (r) {
		fprintf(stderr, "profd: %s\n", err);
		return 78;
	}
	/* kept: a reload applies them again on top of the file */
	if (sock)
		d.overrides[d.noverrides++] = (struct daemon_override){ "daemon.socket", sock };
	if (freq)
		d.overrides[d.noverrides++] = (struct daemon_override){ "sampling.frequency", freq };
	if (level)
		d.overrides[d.noverrides++] = (struct daemon_override){ "daemon.log_level", level };
	if (daemon_apply_overrides(&d, &d.cfg, err, sizeof(err))) {
		fprintf(stderr, "profd: %s\n", err);
		return 64;
	}
	if (config_validate(&d.cfg, err, sizeof(err))) {
		fprintf(stderr, "profd: %s\n", err);
		return 78;
	}
	if (print_config) {
		static char buf[65536]; /* 16 [push] sections fit */
		config_dump(&d.cfg, buf, sizeof(buf));
		fputs(buf, stdout);
		return 0;
	}
	if (check) {
		/* the report says what failed; libbpf's own lines only on -l */
		log_set_level(level ? d.cfg.log_level : LOG_CRIT);
		libbpf_set_print(libbpf_log);
		return check_main(d.cfg.socket, d.cfg.socket_group, d.cfg.state_dir, d.cfg.debug_dirs, (int)d.cfg.dwarf_unwind, json);
	}
	log_set_level(d.cfg.log_level);
	libbpf_set_print(libbpf_log);
	/* Large blocks (query results, profiles, reply buffers) come from
	 * mmap at a fixed threshold and go back to the kernel when freed: a
	 * glibc threshold that adapts upwards would keep a big export's
	 * memory resident for the daemon's lifetime. */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	/* Shortest round-trip doubles: 0.1 stays "0.1" on the wire. */
	json_c_set_serialization_double_format("%.6g", JSON_C_OPTION_GLOBAL);
	if (!foreground && daemon(0, 0) < 0) {
		fprintf(stderr, "profd: daemon(): %s\n", strerror(errno));
		return 1;
	}

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	d.tfd = d.sfd = d.replay_fd = -1;

	r = loop_new(&d.loop);
	if (r < 0) {
		log_err_errno(r, "epoll: %m");
		return 1;
	}
	{
		struct notify_env env = notify_env_from_process();

		r = notify_new(&env, &d.notify);
	}
	if (r < 0) {
		log_warn_errno(r, "$NOTIFY_SOCKET: %m; the service manager will not hear from profd");
		notify_new(NULL, &d.notify);
	}
	d.sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (d.sfd < 0 || loop_add(d.loop, d.sfd, EPOLLIN, on_signal, &d)) {
		log_err_errno(errno, "signalfd: %m");
		goto out;
	}
	r = daemon_init(&d);
	if (r) {
		log_err_errno(r, "startup failed: %m%s",
			(r == -EPERM || r == -EACCES) ? " (profd needs root or CAP_BPF+CAP_PERFMON; profd --check says what is missing)" : "");
		notify_errno(d.notify, r, "startup failed: cannot load or attach the BPF programs; profd --check says why");
		ret = r == -EPERM || r == -EACCES ? 77 : 1;
		goto out;
	}
	so = (struct server_opts){
		.path = d.cfg.socket,
		.mode = 0660,
		.group = d.cfg.socket_group,
		.max_clients = d.cfg.max_clients,
		.max_request = d.cfg.max_request,
		.max_reply = d.cfg.max_reply,
		.reply_memory = d.cfg.reply_memory,
		.idle_timeout_ms = d.cfg.client_idle_ms,
		.handler = api_handle,
		.cancel = api_cancel,
		.resume = api_resume,
		.userdata = &d,
	};
	r = server_new(d.loop, &so, &d.server);
	if (r < 0) {
		log_err_errno(r, "socket %s: %m", d.cfg.socket);
		goto out;
	}
	d.tfd = make_timer(&d);
	if (d.tfd < 0 || loop_add(d.loop, d.tfd, EPOLLIN, on_timer, &d)) {
		log_err_errno(d.tfd < 0 ? -d.tfd : errno, "timerfd: %m");
		goto out;
	}
	if (loop_add(d.loop, d.replay_fd, EPOLLIN, on_replay, &d)) {
		log_err_errno(errno, "replay eventfd: %m");
		goto out;
	}
	if (loop_add(d.loop, sampler_epoll_fd(d.sampler), EPOLLIN, on_ringbuf, &d)) {
		log_err_errno(errno, "ring buffer epoll fd: %m");
		goto out;
	}
	drop_privileges();
	if (daemon_init_symbolizer(&d))
		goto out;
	if (symbolizer_fd(d.sym) >= 0 && loop_add(d.loop, symbolizer_fd(d.sym), EPOLLIN, on_symbolizer, &d)) {
		log_err_errno(errno, "symbolizer eventfd: %m");
		goto out;
	}
	/* history first, before the worker can read the store: a query right
	 * after READY=1 sees the hour before */
	daemon_state_load(&d);
	/* Queries run off the loop from here on (after the privileges are
	 * dropped: capabilities are per thread). */
	r = worker_new(d.cfg.max_queued_queries, &d.worker);
	if (r < 0) {
		log_err_errno(r, "query worker: %m");
		goto out;
	}
	if (loop_add(d.loop, worker_fd(d.worker), EPOLLIN, on_worker, &d)) {
		log_err_errno(errno, "query worker eventfd: %m");
		goto out;
	}
	log_info("profd %s ready: socket %s, %u Hz", PROFD_VERSION, d.cfg.socket, d.cfg.frequency);
	{
		char status[160];

		snprintf(status, sizeof(status), "sampling at %u Hz on %u CPUs (%s), socket %.80s", d.cfg.frequency,
			 sampler_ncpus(d.sampler), sampler_event_name(d.sampler), d.cfg.socket);
		/* only now: programs attached, socket listening */
		notify_ready(d.notify, status);
		/* the watchdog runs from the start: feed it now, the tick
		 * takes over */
		notify_watchdog_tick(d.notify, clock_mono_ns(), 1);
	}

	r = loop_run(d.loop);
	if (r)
		log_err_errno(r, "event loop: %m");
	else
		ret = 0;
	stopping = 1;
	notify_stopping(d.notify, "saving the windows");
out:
	/* Clients first (their requests are cancelled), then the worker (it
	 * finishes its job and frees the rest), then what they read. */
	d.server = server_free(d.server);
	if (d.worker)
		loop_del(d.loop, worker_fd(d.worker));
	d.worker = worker_free(d.worker);
	/* no reader left: what the ring and staging hold goes into the
	 * windows, then the windows to disk */
	if (stopping)
		daemon_stop_save(&d);
	daemon_fini(&d);
	if (d.tfd >= 0)
		close(d.tfd);
	if (d.sfd >= 0)
		close(d.sfd);
	loop_free(d.loop);
	d.notify = notify_free(d.notify);
	log_info("profd stopped");
	return ret;
}
