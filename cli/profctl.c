/* SPDX-License-Identifier: GPL-2.0-only */
/* profctl: the command-line client of profd. A verb table over one
 * request/response exchange on the daemon's socket; it renders what the
 * daemon computed and writes output files itself (the daemon never writes
 * where a client says). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <locale.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <grp.h>
#include <time.h>
#include <unistd.h>

#include "common/fmt.h"
#include "common/proto.h"
#include "client.h"
#include "render.h"
#include "common/clock.h"

/* Exit codes: the daemon said no / a local failure; no daemon to talk to
 * (or it broke the protocol); a bad command line (sysexits EX_USAGE). */
#define EXIT_DAEMON 1
#define EXIT_CONNECT 2
#define EXIT_USAGE 64

#define DEFAULT_TIMEOUT_MS 10000

struct verb;

struct ctx {
	const struct verb *verb; /* the verb running: its --help */
	const char *socket;
	bool json;
	uint64_t timeout_ms;
	char *errbuf; /* set: errors go here instead of being printed */
	size_t errsz;
};

/* The one error printer: a line on stderr (and a hint line if any), and
 * under --json the same as an object on stdout. Returns exit_code. */
static int report(const struct ctx *c, int exit_code, const char *code, const char *json_msg, const char *hint, const char *msg)
{
	if (c->errbuf) {
		snprintf(c->errbuf, c->errsz, "%s", msg);
		return exit_code;
	}
	fprintf(stderr, "profctl: %s\n", msg);
	if (hint)
		fprintf(stderr, "hint: %s\n", hint);
	if (c->json) {
		struct json_object *o = json_object_new_object(), *e = json_object_new_object();

		json_object_object_add(e, "code", json_object_new_string(code));
		json_object_object_add(e, "message", json_object_new_string(json_msg ? json_msg : msg));
		json_object_object_add(o, "error", e);
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	}
	return exit_code;
}

static int __attribute__((format(printf, 5, 6)))
fail(const struct ctx *c, int exit_code, const char *code, const char *hint, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return report(c, exit_code, code, NULL, hint, msg);
}

/* A daemon error object: "profctl: code: message" for people, the
 * daemon's own code and message under --json. */
static int fail_remote(const struct ctx *c, const char *code, const char *message)
{
	char msg[1024];

	snprintf(msg, sizeof(msg), "%s: %s", code, message);
	return report(c, EXIT_DAEMON, code, message,
		      !strcmp(code, PROFD_E_PERMISSION) ? "run it as root (sudo profctl ...)" : NULL, msg);
}

static int fail_usage(const struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void usage(FILE *f)
{
	fprintf(f,
		"usage: profctl [--socket PATH] [--json] [--timeout SEC] VERB [options]\n"
		"\n"
		"verbs:\n"
		"  status                      daemon health, counters and limits\n"
		"  top [--window 10s] [--sort cpu|mem|gpu|io|runq|samples|pid|comm] [--limit N]\n"
		"      [--pid PID] [--unit UNIT] [--once] [--interval 2s] [--no-demangle]\n"
		"                              system header and processes by CPU, memory, GPU,\n"
		"                              I/O or run-queue delay, with their hottest function\n"
		"  export --format F [--window 30s | --from TIME --to TIME]\n"
		"      [--pid PID | --unit UNIT | --comm GLOB] [--by-thread] [--by-process]\n"
		"      [--labels] [--icicle] [--no-demangle] [-o FILE]\n"
		"                              a profile as F: folded, json, pprof, speedscope, svg,\n"
		"                              csv or report; TIME is RFC 3339 or relative (-15m)\n"
		"  diff --base DUR|FROM..TO [--window DUR|FROM..TO] [--pid PID | --unit UNIT |\n"
		"      --comm GLOB] [--format text|json|svg|folded] [-o FILE]\n"
		"                              what changed between two windows (the base defaults\n"
		"                              to the same length just before the window)\n"
		"  alerts [--history] [--rule NAME]\n"
		"                              firing and pending alerts with their top stacks;\n"
		"                              --history adds past transitions\n"
		"  hotspots [--window 30s] [--pid PID | --unit UNIT] [--limit N]\n"
		"                              functions by share of CPU samples, with severity\n"
		"  reload                      re-read the config and the alert rules (as SIGHUP;\n"
		"                              root only); a bad file or rule is refused with\n"
		"                              file:line, what needs a restart is listed\n"
		"  help [VERB]                 this text, or a verb's (also: profctl VERB --help)\n"
		"\n"
		"The socket is %s unless --socket or $%s says otherwise.\n"
		"Exit status: 0 ok, 1 daemon or local error, 2 daemon unreachable, 64 usage.\n",
		PROFD_DEFAULT_SOCKET, PROFD_SOCKET_ENV);
}

/* `profctl VERB --help`: the verb's own text; the overview otherwise. */
static void help(const struct ctx *c, FILE *f);

static int fail_usage(const struct ctx *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fail(c, EXIT_USAGE, "usage", NULL, "%s", msg);
	help(c, stderr);
	return EXIT_USAGE;
}

/* ---- requests ---- */

/* Why connect() failed, said as what the user can act on: the daemon is
 * not running, the socket is not for them (and which group to join), or
 * the path is not profd's socket. */
static int fail_connect(const struct ctx *c, int r)
{
	struct stat st;
	bool exists = stat(c->socket, &st) == 0;

	if (r == -EACCES || r == -EPERM) {
		struct group *g = exists ? getgrgid(st.st_gid) : NULL;
		char grp[64], hint[256];

		if (g)
			snprintf(grp, sizeof(grp), "%s", g->gr_name);
		else if (exists)
			snprintf(grp, sizeof(grp), "%u", (unsigned)st.st_gid);
		else
			snprintf(grp, sizeof(grp), "profd");
		snprintf(hint, sizeof(hint),
			 "join the group: sudo usermod -aG %s $USER, then log in again (or run profctl as root)", grp);
		return fail(c, EXIT_CONNECT, "permission_denied", hint,
			    "permission denied on %s: profd's socket is for root and members of group '%s'; "
			    "profd is running, you are not allowed in", c->socket, grp);
	}
	if (exists && !S_ISSOCK(st.st_mode))
		return fail(c, EXIT_CONNECT, "wrong_socket", "give profd's socket: --socket PATH or $" PROFD_SOCKET_ENV,
			    "%s is not a socket: wrong --socket?", c->socket);
	if (r == -ENOENT || r == -ECONNREFUSED)
		return fail(c, EXIT_CONNECT, "not_running",
			    "start it: systemctl start profd (profd --check says whether it can run here); "
			    "if it runs on another socket: --socket PATH or $" PROFD_SOCKET_ENV,
			    "profd is not running: %s%s", r == -ENOENT ? "no socket at " : "nothing listens on ",
			    c->socket);
	if (r == -ETIMEDOUT)
		return fail(c, EXIT_CONNECT, "timeout", "is it stopped (SIGSTOP) or overloaded? systemctl status profd",
			    "profd at %s did not accept the connection in time", c->socket);
	return fail(c, EXIT_CONNECT, "cannot_connect", "is profd running? systemctl status profd",
		    "cannot connect to profd at %s: %s", c->socket, strerror(-r));
}

/* One exchange in protocol version v: req (not put) sent, the answer in
 * *ret. Returns 0 or the client's -errno; *ret_code and *ret_message set
 * for -EREMOTEIO. */
static int exchange(const struct ctx *c, struct json_object *req, int v, struct response *ret,
		    const char **ret_code, const char **ret_message, client_payload_fn fn, void *fctx, int *ret_connect)
{
	char *line = NULL;
	const char *s;
	int fd = -1, r;

	*ret_connect = 0;
	json_object_object_add(req, "v", json_object_new_int(v));
	s = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s || asprintf(&line, "%s\n", s) < 0)
		return -ENOMEM;
	r = client_connect(c->socket, c->timeout_ms, &fd);
	if (r < 0) {
		free(line);
		*ret_connect = r;
		return r;
	}
	r = client_send_all(fd, line, strlen(line), c->timeout_ms);
	free(line);
	if (r == 0)
		r = client_read_response(fd, c->timeout_ms, ret, ret_code, ret_message, fn, fctx);
	close(fd);
	return r;
}

/* Sends req (put) and waits for the answer, the payload going to fn as it
 * arrives (into ret->payload when fn is NULL). Speaks protocol version 2
 * and falls back to 1 for a daemon that knows only that. Daemon errors and
 * transport failures are reported here; a failure of fn (-ECANCELED) is
 * left to the caller. Returns 0 or the exit code to use. */
static int request_ex(const struct ctx *c, struct json_object *req, struct response *ret, client_payload_fn fn,
		      void *fctx)
{
	const char *code = NULL, *message = NULL;
	int r, ex, conn;

	memset(ret, 0, sizeof(*ret));
	r = exchange(c, req, PROFD_PROTO_VERSION, ret, &code, &message, fn, fctx, &conn);
	if (r == -EREMOTEIO && !strcmp(code, PROFD_E_VERSION) && !ret->payload_len) {
		client_response_release(ret);
		r = exchange(c, req, PROFD_PROTO_VERSION_MIN, ret, &code, &message, fn, fctx, &conn);
	}
	json_object_put(req);
	if (conn)
		return fail_connect(c, conn);
	switch (r) {
	case 0:
		return 0;
	case -EREMOTEIO:
		ex = fail_remote(c, code, message);
		client_response_release(ret);
		return ex;
	case -ECANCELED:
		return EXIT_DAEMON;
	case -ETIMEDOUT:
		return fail(c, EXIT_CONNECT, "timeout", NULL, "profd at %s did not answer within %s", c->socket,
			    fmt_duration((char[32]){ 0 }, 32, c->timeout_ms * NSEC_PER_MSEC));
	case -EPROTO:
		return fail(c, EXIT_CONNECT, "protocol", NULL, "profd at %s sent a response profctl does not understand",
			    c->socket);
	case -ECONNRESET:
		return fail(c, EXIT_CONNECT, "io", NULL, "profd at %s closed the connection before the reply was complete",
			    c->socket);
	default:
		return fail(c, EXIT_CONNECT, "io", NULL, "talking to profd at %s: %s", c->socket, strerror(-r));
	}
}

static int request(const struct ctx *c, struct json_object *req, struct response *ret)
{
	return request_ex(c, req, ret, NULL, NULL);
}

static void print_json(FILE *f, struct json_object *o)
{
	fprintf(f, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
								      JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* ---- verbs ---- */

/* Long options every verb accepts too, so `profctl top --json` works. */
#define COMMON_LONGOPTS                                          \
	{ "json", no_argument, NULL, 'j' },                     \
	{ "socket", required_argument, NULL, 'S' },             \
	{ "timeout", required_argument, NULL, 'T' },            \
	{ "help", no_argument, NULL, 'h' }

/* Handles a common option; 1 if it was one, 0 if not, or an exit code. */
static int common_opt(struct ctx *c, int opt, int *ret_exit)
{
	uint64_t ns;

	switch (opt) {
	case 'j':
		c->json = true;
		return 1;
	case 'S':
		c->socket = optarg;
		return 1;
	case 'T':
		if (fmt_parse_duration(optarg, &ns) < 0 || ns < NSEC_PER_MSEC) {
			*ret_exit = fail_usage(c, "--timeout %s: not a duration (e.g. 10, 2500ms, 1m)", optarg);
			return -1;
		}
		c->timeout_ms = ns / NSEC_PER_MSEC;
		return 1;
	case 'h':
		help(c, stdout);
		*ret_exit = 0;
		return -1;
	case '?':
		*ret_exit = fail_usage(c, "bad option");
		return -1;
	default:
		return 0;
	}
}

static int check_duration(const struct ctx *c, const char *opt, const char *v, uint64_t *ret_ns)
{
	uint64_t ns;

	if (fmt_parse_duration(v, &ns) < 0)
		return fail_usage(c, "%s %s: not a duration (e.g. 10s, 5m, 1h30m)", opt, v);
	if (ret_ns)
		*ret_ns = ns;
	return 0;
}

static int check_int(const struct ctx *c, const char *opt, const char *v, long long min, long long max, long long *ret)
{
	char *end;
	long long x;

	errno = 0;
	x = strtoll(v, &end, 10);
	if (errno || end == v || *end || x < min || x > max)
		return fail_usage(c, "%s %s: must be an integer in %lld..%lld", opt, v, min, max);
	*ret = x;
	return 0;
}

static int verb_status(struct ctx *c, int argc, char **argv)
{
	static const struct option opts[] = { COMMON_LONGOPTS, { 0 } };
	struct response resp;
	int opt, ex = 0;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1)
		if (common_opt(c, opt, &ex) <= 0)
			return ex;
	if (optind < argc)
		return fail_usage(c, "status: unexpected argument '%s'", argv[optind]);
	ex = request(c, json_tokener_parse("{\"cmd\":\"status\"}"), &resp);
	if (ex)
		return ex;
	if (c->json)
		print_json(stdout, resp.data);
	else
		render_status(stdout, resp.data);
	client_response_release(&resp);
	return 0;
}

struct top_args {
	struct ctx *c;
	long long pid;
	const char *unit;
	bool no_demangle;
};

/* --no-demangle: C++ and Rust names as their symbol tables spell them. */
static struct json_object *with_no_demangle(struct json_object *req, bool no_demangle)
{
	if (no_demangle)
		json_object_object_add(req, "no_demangle", json_object_new_boolean(1));
	return req;
}

/* What --sort and the daemon accept. */
static const char *const top_sorts[] = { "cpu", "mem", "gpu", "io", "runq", "samples", "pid", "comm" };

static struct json_object *top_request(const char *window, const char *sort, int limit, long long pid, const char *unit)
{
	struct json_object *req = json_object_new_object();

	json_object_object_add(req, "cmd", json_object_new_string("top"));
	json_object_object_add(req, "window", json_object_new_string(window));
	json_object_object_add(req, "sort", json_object_new_string(sort));
	json_object_object_add(req, "limit", json_object_new_int(limit));
	if (pid > 0)
		json_object_object_add(req, "pid", json_object_new_int64(pid));
	if (unit)
		json_object_object_add(req, "unit", json_object_new_string(unit));
	return req;
}

/* The interactive view's fetch: errors are shown in its status line, not
 * printed (the screen belongs to curses). */
static int top_fetch(void *ud, const char *window, const char *sort, int limit, struct json_object **ret_data, char *err, size_t errsz)
{
	struct top_args *a = ud;
	struct ctx quiet = *a->c;
	struct response resp;

	quiet.errbuf = err;
	quiet.errsz = errsz;
	if (request(&quiet, with_no_demangle(top_request(window, sort, limit > 10000 ? 10000 : limit, a->pid, a->unit),
					     a->no_demangle), &resp))
		return -EIO;
	*ret_data = json_object_get(resp.data);
	client_response_release(&resp);
	return 0;
}

/* Columns (or rows) of the terminal on stdout; 0 when unknown. */
static int terminal_size(bool rows)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0)
		return 0;
	return rows ? ws.ws_row : ws.ws_col;
}

/* Width for plain output: $COLUMNS when set (as ps and systemctl honour
 * it, so `COLUMNS=120 profctl top --once | less` is 120 wide), else the
 * terminal's, else 0 (natural widths). */
static int output_width(void)
{
	const char *env = getenv("COLUMNS");
	char *end;
	long v;

	if (env && *env) {
		errno = 0;
		v = strtol(env, &end, 10);
		if (!errno && !*end && v > 0 && v <= 4096)
			return (int)v;
	}
	return isatty(STDOUT_FILENO) ? terminal_size(false) : 0;
}

/* A systemd unit name as the daemon matches it: non-empty, at most 255
 * bytes (UNIT_NAME_MAX), printable. */
static bool unit_valid(const char *u)
{
	size_t n = strlen(u);

	if (n == 0 || n > 255)
		return false;
	for (; *u; u++)
		if ((unsigned char)*u <= ' ' || *u == 0x7f)
			return false;
	return true;
}

static int verb_top(struct ctx *c, int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_LONGOPTS,
		{ "window", required_argument, NULL, 'w' },
		{ "sort", required_argument, NULL, 's' },
		{ "limit", required_argument, NULL, 'n' },
		{ "pid", required_argument, NULL, 'p' },
		{ "once", no_argument, NULL, '1' },
		{ "interval", required_argument, NULL, 'i' },
		{ "unit", required_argument, NULL, 'u' },
		{ "no-demangle", no_argument, NULL, 'M' },
		{ 0 },
	};
	const char *window = "10s", *sort = "cpu", *unit = NULL;
	long long limit = 0, pid = 0;
	uint64_t interval_ns = 2 * NSEC_PER_SEC;
	bool once = false, tty;
	int tui_limit;
	struct top_args args = { .c = c };
	struct render_top_query q;
	struct response resp;
	int opt, ex = 0;
	size_t k;

	while ((opt = getopt_long(argc, argv, "hw:s:n:p:1i:u:", opts, NULL)) != -1) {
		int r = common_opt(c, opt, &ex);
		if (r < 0)
			return ex;
		if (r > 0)
			continue;
		switch (opt) {
		case 'w':
			if ((ex = check_duration(c, "--window", optarg, NULL)))
				return ex;
			window = optarg;
			break;
		case 's':
			for (k = 0; k < sizeof(top_sorts) / sizeof(top_sorts[0]) && strcmp(optarg, top_sorts[k]); k++)
				;
			if (k == sizeof(top_sorts) / sizeof(top_sorts[0]))
				return fail_usage(c, "--sort %s: must be one of cpu, mem, gpu, io, runq, samples, pid, comm",
						  optarg);
			sort = optarg;
			break;
		case 'u':
			if (!unit_valid(optarg))
				return fail_usage(c, "--unit '%s': not a unit name (e.g. nginx.service)", optarg);
			unit = optarg;
			break;
		case 'n':
			if ((ex = check_int(c, "--limit", optarg, 1, 10000, &limit)))
				return ex;
			break;
		case 'p':
			if ((ex = check_int(c, "--pid", optarg, 1, INT32_MAX, &pid)))
				return ex;
			break;
		case '1':
			once = true;
			break;
		case 'i':
			if ((ex = check_duration(c, "--interval", optarg, &interval_ns)))
				return ex;
			if (interval_ns < 100 * NSEC_PER_MSEC)
				return fail_usage(c, "--interval %s: must be at least 100ms", optarg);
			break;
		case 'M':
			args.no_demangle = true;
			break;
		}
	}
	if (optind < argc)
		return fail_usage(c, "top: unexpected argument '%s'", argv[optind]);
	tty = isatty(STDOUT_FILENO) && isatty(STDIN_FILENO);
	args.pid = pid;
	args.unit = unit;
	q = (struct render_top_query){ .window = window, .sort = sort, .unit = unit, .pid = pid };
	/* Interactive and no --limit: as many rows as the screen holds. The
	 * header, blank line, column titles and footer take seven lines
	 * (more with GPUs; the view asks for fewer rows once it knows). */
	tui_limit = (int)limit;
	if (!limit)
		limit = tty && !once && !c->json && terminal_size(true) > 8 ? terminal_size(true) - 7 : 20;
	ex = request(c, with_no_demangle(top_request(window, sort, (int)limit, pid, unit), args.no_demangle), &resp);
	if (ex)
		return ex;
	if (c->json) {
		print_json(stdout, resp.data);
	} else if (once || !tty) {
		render_top(stdout, resp.data, &q, output_width());
	} else {
		int r = render_top_tui(top_fetch, &args, json_object_get(resp.data), &q, tui_limit,
				       interval_ns / NSEC_PER_MSEC);
		if (r < 0)
			ex = fail(c, EXIT_DAEMON, "terminal", NULL, "cannot set up the terminal: %s", strerror(-r));
	}
	client_response_release(&resp);
	return ex;
}

/* Where an export goes as it arrives: a temporary file next to the
 * target (renamed over it only once complete), or stdout. */
struct output {
	int fd;
	char *tmp;          /* temporary path; NULL for stdout */
	int err;            /* -errno of a failed write */
	char last;          /* last byte written */
	uint64_t bytes;
};

static int output_open(struct output *o, const char *path)
{
	const char *slash;
	int r;

	memset(o, 0, sizeof(*o));
	if (!path) {
		o->fd = STDOUT_FILENO;
		return 0;
	}
	slash = strrchr(path, '/');
	if (slash)
		r = asprintf(&o->tmp, "%.*s/.%s.XXXXXX", (int)(slash - path), path, slash + 1);
	else
		r = asprintf(&o->tmp, ".%s.XXXXXX", path);
	if (r < 0) {
		o->tmp = NULL;
		return -ENOMEM;
	}
	o->fd = mkostemp(o->tmp, O_CLOEXEC);
	if (o->fd < 0 || fchmod(o->fd, 0644) < 0) {
		r = -errno;
		if (o->fd >= 0) {
			close(o->fd);
			unlink(o->tmp);
		}
		free(o->tmp);
		o->tmp = NULL;
		return r;
	}
	return 0;
}

static int output_write(void *ctx, const void *buf, size_t n)
{
	struct output *o = ctx;
	const char *p = buf;

	while (n) {
		ssize_t w = write(o->fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			o->err = -errno;
			return -ECANCELED;
		}
		o->last = p[w - 1];
		o->bytes += (size_t)w;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Complete (rename into place) or, ok == 0, discard. 0 or -errno. */
static int output_close(struct output *o, const char *path, int ok)
{
	int r = 0;

	if (!o->tmp)
		return 0;
	if (ok && fsync(o->fd) < 0)
		r = -errno;
	if (close(o->fd) < 0 && r == 0)
		r = -errno;
	if (ok && r == 0 && rename(o->tmp, path) < 0)
		r = -errno;
	if (!ok || r < 0)
		unlink(o->tmp);
	free(o->tmp);
	o->tmp = NULL;
	return r;
}

static int64_t now_real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* Options export and diff share: filters and format flags. */
struct filter_args {
	const char *unit, *comm;
	bool labels, by_process, by_thread, icicle;
};

/* Handles one of them: 1, or -1 with *ret_exit set. */
static int filter_opt(const struct ctx *c, int opt, struct filter_args *fa, int *ret_exit)
{
	switch (opt) {
	case 'u':
		if (!unit_valid(optarg)) {
			*ret_exit = fail_usage(c, "--unit '%s': not a unit name (e.g. nginx.service)", optarg);
			return -1;
		}
		fa->unit = optarg;
		return 1;
	case 'c':
		if (!*optarg || strlen(optarg) > 255) {
			*ret_exit = fail_usage(c, "--comm: a glob of 1..255 bytes (e.g. 'python*')");
			return -1;
		}
		fa->comm = optarg;
		return 1;
	case 'L':
		fa->labels = true;
		return 1;
	case 'P':
		fa->by_process = true;
		return 1;
	case 'H':
		fa->by_thread = true;
		return 1;
	case 'I':
		fa->icicle = true;
		return 1;
	default:
		*ret_exit = fail_usage(c, "bad option");
		return -1;
	}
}

static void add_filter(struct json_object *req, const struct filter_args *fa)
{
	if (fa->unit)
		json_object_object_add(req, "unit", json_object_new_string(fa->unit));
	if (fa->comm)
		json_object_object_add(req, "comm", json_object_new_string(fa->comm));
	if (fa->labels)
		json_object_object_add(req, "labels", json_object_new_boolean(1));
	if (fa->by_process)
		json_object_object_add(req, "by_process", json_object_new_boolean(1));
	if (fa->by_thread)
		json_object_object_add(req, "by_thread", json_object_new_boolean(1));
	if (fa->icicle)
		json_object_object_add(req, "icicle", json_object_new_boolean(1));
}

/* Writes a payload to stdout or to a file (and says so). */
/* A whole buffer into path, atomically (temporary file, then rename). */
static int write_whole(const char *path, const char *buf, size_t n)
{
	struct output o;
	int r = output_open(&o, path);

	if (r < 0)
		return r;
	r = output_write(&o, buf, n);
	if (r < 0) {
		output_close(&o, path, 0);
		return o.err;
	}
	return output_close(&o, path, 1);
}

static int write_payload(struct ctx *c, const char *out, const struct response *resp, const char *what)
{
	const char *text = resp->payload;
	size_t n = resp->payload_len;
	struct json_object *pl = json_object_object_get(resp->resp, "payload");
	const char *type = json_object_get_string(json_object_object_get(pl, "type"));
	bool binary = type && (strstr(type, "protobuf") || strstr(type, "octet-stream"));
	int r, ex = 0;

	if (!out && binary && isatty(STDOUT_FILENO)) {
		ex = fail(c, EXIT_DAEMON, "usage", "write it to a file: -o profile.pb.gz", "%s is binary", type);
	} else if (!out) {
		/* a terminal wants a final newline after text; binary stays as is */
		if (fwrite(text, 1, n, stdout) != n ||
		    (!binary && n && text[n - 1] != '\n' && putchar('\n') == EOF))
			ex = fail(c, EXIT_DAEMON, "io", NULL, "writing to stdout: %s", strerror(errno));
	} else if ((r = write_whole(out, text, n)) < 0) {
		ex = fail(c, EXIT_DAEMON, "io", NULL, "writing %s: %s", out, strerror(-r));
	} else if (c->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "file", json_object_new_string(out));
		json_object_object_add(o, "bytes", json_object_new_uint64(n));
		json_object_object_foreach(resp->data, k, v)
			json_object_object_add(o, k, json_object_get(v));
		print_json(stdout, o);
		json_object_put(o);
	} else {
		printf("wrote %s: %s\n", out, what);
	}
	return ex;
}

static int verb_export(struct ctx *c, int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_LONGOPTS,
		{ "format", required_argument, NULL, 'f' },
		{ "window", required_argument, NULL, 'w' },
		{ "pid", required_argument, NULL, 'p' },
		{ "output", required_argument, NULL, 'o' },
		{ "from", required_argument, NULL, 'F' },
		{ "to", required_argument, NULL, 't' },
		{ "unit", required_argument, NULL, 'u' },
		{ "comm", required_argument, NULL, 'c' },
		{ "labels", no_argument, NULL, 'L' },
		{ "by-process", no_argument, NULL, 'P' },
		{ "by-thread", no_argument, NULL, 'H' },
		{ "icicle", no_argument, NULL, 'I' },
		{ "no-demangle", no_argument, NULL, 'M' },
		{ 0 },
	};
	const char *format = NULL, *window = "30s", *out = NULL, *from = NULL, *to = NULL;
	struct filter_args fa = { 0 };
	bool no_demangle = false;
	long long pid = 0;
	bool window_set = false, binary;
	int64_t from_ns = 0, to_ns = 0, now = now_real_ns();
	struct json_object *req;
	struct response resp;
	struct output o;
	int opt, ex = 0, r;

	while ((opt = getopt_long(argc, argv, "hf:w:p:o:", opts, NULL)) != -1) {
		r = common_opt(c, opt, &ex);
		if (r < 0)
			return ex;
		if (r > 0)
			continue;
		switch (opt) {
		case 'f':
			/* the daemon's format table decides; it names the
			 * formats it knows when this one is not among them */
			if (!*optarg)
				return fail_usage(c, "--format: empty");
			format = optarg;
			break;
		case 'w':
			if ((ex = check_duration(c, "--window", optarg, NULL)))
				return ex;
			window = optarg;
			window_set = true;
			break;
		case 'p':
			if ((ex = check_int(c, "--pid", optarg, 1, INT32_MAX, &pid)))
				return ex;
			break;
		case 'o':
			out = strcmp(optarg, "-") ? optarg : NULL;
			break;
		case 'F':
			from = optarg;
			if (fmt_parse_time(optarg, now, &from_ns) < 0)
				return fail_usage(c, "--from %s: not a time (RFC 3339, e.g. 2024-05-01T12:00:00Z, or -15m)",
						  optarg);
			break;
		case 't':
			to = optarg;
			if (fmt_parse_time(optarg, now, &to_ns) < 0)
				return fail_usage(c, "--to %s: not a time (RFC 3339, e.g. 2024-05-01T12:05:00Z, or -5m)",
						  optarg);
			break;
		case 'M':
			no_demangle = true;
			break;
		default:
			if ((r = filter_opt(c, opt, &fa, &ex)) < 0)
				return ex;
			break;
		}
	}
	if (optind < argc)
		return fail_usage(c, "export: unexpected argument '%s'", argv[optind]);
	if (!format)
		return fail_usage(c, "export: --format is required (folded, json, pprof, speedscope, svg, csv, report)");
	if ((from || to) && window_set)
		return fail_usage(c, "export: --window and --from/--to exclude each other");
	if (from && !to)
		to_ns = now;
	if (to && !from)
		return fail_usage(c, "export: --to needs --from");
	if (from && to_ns <= from_ns)
		return fail_usage(c, "export: --to must be after --from");
	binary = !strcmp(format, "pprof");
	if (!out && binary && isatty(STDOUT_FILENO))
		return fail(c, EXIT_DAEMON, "usage", "write it to a file: -o profile.pb.gz", "%s output is binary", format);
	r = output_open(&o, out);
	if (r < 0)
		return fail(c, EXIT_DAEMON, "io", NULL, "writing %s: %s", out, strerror(-r));
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string("export"));
	json_object_object_add(req, "format", json_object_new_string(format));
	if (from) {
		json_object_object_add(req, "from_ns", json_object_new_int64(from_ns));
		json_object_object_add(req, "to_ns", json_object_new_int64(to_ns));
	} else {
		json_object_object_add(req, "window", json_object_new_string(window));
	}
	if (pid)
		json_object_object_add(req, "pid", json_object_new_int64(pid));
	add_filter(req, &fa);
	with_no_demangle(req, no_demangle);
	/* Every format arrives as the payload, written as it comes. */
	ex = request_ex(c, req, &resp, output_write, &o);
	if (ex) {
		output_close(&o, out, 0);
		if (o.err)
			return fail(c, EXIT_DAEMON, "io", NULL, "writing %s: %s", out ? out : "to stdout", strerror(-o.err));
		if (!out && o.bytes)
			fprintf(stderr, "profctl: the %llu bytes written to stdout are an incomplete export\n",
				(unsigned long long)o.bytes);
		return ex;
	}
	if (!out) {
		/* a terminal wants a final newline after JSON text */
		if (!binary && o.bytes && o.last != '\n' && output_write(&o, "\n", 1) < 0)
			ex = fail(c, EXIT_DAEMON, "io", NULL, "writing to stdout: %s", strerror(-o.err));
	} else if ((r = output_close(&o, out, 1)) < 0) {
		ex = fail(c, EXIT_DAEMON, "io", NULL, "writing %s: %s", out, strerror(-r));
	} else if (c->json) {
		/* stdout is free: say what was written, machine-readably. */
		struct json_object *j = json_object_new_object();

		json_object_object_add(j, "file", json_object_new_string(out));
		json_object_object_add(j, "bytes", json_object_new_uint64(o.bytes));
		json_object_object_foreach(resp.data, k, v)
			json_object_object_add(j, k, json_object_get(v));
		print_json(stdout, j);
		json_object_put(j);
	} else {
		printf("wrote %s: %lld stacks, %lld samples\n", out,
		       (long long)json_object_get_int64(json_object_object_get(resp.data, "stacks")),
		       (long long)json_object_get_int64(json_object_object_get(resp.data, "samples")));
	}
	client_response_release(&resp);
	return ex;
}

static int verb_diff(struct ctx *c, int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_LONGOPTS,
		{ "base", required_argument, NULL, 'b' },
		{ "window", required_argument, NULL, 'w' },
		{ "format", required_argument, NULL, 'f' },
		{ "pid", required_argument, NULL, 'p' },
		{ "output", required_argument, NULL, 'o' },
		{ "unit", required_argument, NULL, 'u' },
		{ "comm", required_argument, NULL, 'c' },
		{ "by-thread", no_argument, NULL, 'H' },
		{ "icicle", no_argument, NULL, 'I' },
		{ 0 },
	};
	const char *base = NULL, *window = "5m", *format = "text", *out = NULL;
	struct filter_args fa = { 0 };
	long long pid = 0;
	int64_t now = now_real_ns(), bf, bt, wf, wt;
	struct json_object *req;
	struct response resp;
	int opt, ex = 0, r;

	while ((opt = getopt_long(argc, argv, "hb:w:f:p:o:", opts, NULL)) != -1) {
		r = common_opt(c, opt, &ex);
		if (r < 0)
			return ex;
		if (r > 0)
			continue;
		switch (opt) {
		case 'b':
			base = optarg;
			break;
		case 'w':
			window = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "text") && strcmp(optarg, "json") && strcmp(optarg, "svg") &&
			    strcmp(optarg, "folded"))
				return fail_usage(c, "--format %s: must be one of text, json, svg, folded", optarg);
			format = optarg;
			break;
		case 'p':
			if ((ex = check_int(c, "--pid", optarg, 1, INT32_MAX, &pid)))
				return ex;
			break;
		case 'o':
			out = strcmp(optarg, "-") ? optarg : NULL;
			break;
		default:
			if (filter_opt(c, opt, &fa, &ex) < 0)
				return ex;
			break;
		}
	}
	if (optind < argc)
		return fail_usage(c, "diff: unexpected argument '%s'", argv[optind]);
	if (!base)
		return fail_usage(c, "diff: --base DUR|FROM..TO is required");
	if (fmt_parse_range(window, now, &wf, &wt) < 0)
		return fail_usage(c, "--window %s: a duration (5m) or FROM..TO (RFC 3339 or -15m)", window);
	/* a duration for the base: that long, just before the window */
	if (!strstr(base, "..")) {
		uint64_t span;

		if (fmt_parse_duration(base, &span) < 0)
			return fail_usage(c, "--base %s: a duration (5m) or FROM..TO (RFC 3339 or -15m)", base);
		bt = wf;
		bf = wf - (int64_t)span;
	} else if (fmt_parse_range(base, now, &bf, &bt) < 0) {
		return fail_usage(c, "--base %s: a duration (5m) or FROM..TO (RFC 3339 or -15m)", base);
	}
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string("diff"));
	json_object_object_add(req, "format", json_object_new_string(format));
	json_object_object_add(req, "base_from_ns", json_object_new_int64(bf));
	json_object_object_add(req, "base_to_ns", json_object_new_int64(bt));
	json_object_object_add(req, "from_ns", json_object_new_int64(wf));
	json_object_object_add(req, "to_ns", json_object_new_int64(wt));
	if (pid)
		json_object_object_add(req, "pid", json_object_new_int64(pid));
	add_filter(req, &fa);
	ex = request(c, req, &resp);
	if (ex)
		return ex;
	{
		char what[128];

		snprintf(what, sizeof(what), "%lld functions, %lld changed significantly",
			 (long long)json_object_get_int64(json_object_object_get(resp.data, "functions")),
			 (long long)json_object_get_int64(json_object_object_get(resp.data, "significant")));
		ex = write_payload(c, out, &resp, what);
	}
	client_response_release(&resp);
	return ex;
}

static int verb_alerts(struct ctx *c, int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_LONGOPTS,
		{ "history", no_argument, NULL, 'H' },
		{ "rule", required_argument, NULL, 'r' },
		{ 0 },
	};
	struct json_object *req;
	struct response resp;
	const char *rule = NULL;
	bool history = false;
	int opt, ex = 0, r;

	while ((opt = getopt_long(argc, argv, "hHr:", opts, NULL)) != -1) {
		r = common_opt(c, opt, &ex);
		if (r < 0)
			return ex;
		if (r > 0)
			continue;
		if (opt == 'H')
			history = true;
		else if (opt == 'r')
			rule = optarg;
	}
	if (optind < argc)
		return fail_usage(c, "alerts: unexpected argument '%s'", argv[optind]);
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string("alerts"));
	if (history)
		json_object_object_add(req, "history", json_object_new_boolean(1));
	if (rule)
		json_object_object_add(req, "rule", json_object_new_string(rule));
	ex = request(c, req, &resp);
	if (ex)
		return ex;
	if (c->json)
		print_json(stdout, resp.data);
	else
		render_alerts(stdout, resp.data, history);
	client_response_release(&resp);
	return 0;
}

static int verb_hotspots(struct ctx *c, int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_LONGOPTS,
		{ "window", required_argument, NULL, 'w' },
		{ "pid", required_argument, NULL, 'p' },
		{ "unit", required_argument, NULL, 'u' },
		{ "limit", required_argument, NULL, 'n' },
		{ 0 },
	};
	const char *window = "30s", *unit = NULL;
	long long pid = 0, limit = 20;
	struct json_object *req;
	struct response resp;
	int opt, ex = 0, r;

	while ((opt = getopt_long(argc, argv, "hw:p:u:n:", opts, NULL)) != -1) {
		r = common_opt(c, opt, &ex);
		if (r < 0)
			return ex;
		if (r > 0)
			continue;
		switch (opt) {
		case 'w':
			if ((ex = check_duration(c, "--window", optarg, NULL)))
				return ex;
			window = optarg;
			break;
		case 'p':
			if ((ex = check_int(c, "--pid", optarg, 1, INT32_MAX, &pid)))
				return ex;
			break;
		case 'u':
			if (!unit_valid(optarg))
				return fail_usage(c, "--unit '%s': not a unit name (e.g. nginx.service)", optarg);
			unit = optarg;
			break;
		case 'n':
			if ((ex = check_int(c, "--limit", optarg, 1, 1000, &limit)))
				return ex;
			break;
		}
	}
	if (optind < argc)
		return fail_usage(c, "hotspots: unexpected argument '%s'", argv[optind]);
	if (pid && unit)
		return fail_usage(c, "hotspots: give --pid or --unit, not both");
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string("hotspots"));
	json_object_object_add(req, "window", json_object_new_string(window));
	json_object_object_add(req, "limit", json_object_new_int((int)limit));
	if (pid)
		json_object_object_add(req, "pid", json_object_new_int64(pid));
	if (unit)
		json_object_object_add(req, "unit", json_object_new_string(unit));
	ex = request(c, req, &resp);
	if (ex)
		return ex;
	if (c->json)
		print_json(stdout, resp.data);
	else
		render_hotspots(stdout, resp.data);
	client_response_release(&resp);
	return 0;
}

/* "label: a, b, c" for a non-empty array of strings. */
static void print_names(const char *label, struct json_object *a)
{
	size_t n = a && json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;

	if (!n)
		return;
	printf("%s: ", label);
	for (size_t i = 0; i < n; i++)
		printf("%s%s", i ? ", " : "", json_object_get_string(json_object_array_get_idx(a, i)));
	printf("\n");
}

static int verb_reload(struct ctx *c, int argc, char **argv)
{
	static const struct option opts[] = { COMMON_LONGOPTS, { 0 } };
	struct response resp;
	int opt, ex = 0;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1)
		if (common_opt(c, opt, &ex) <= 0)
			return ex;
	if (optind < argc)
		return fail_usage(c, "reload: unexpected argument '%s'", argv[optind]);
	ex = request(c, json_tokener_parse("{\"cmd\":\"reload\"}"), &resp);
	if (ex)
		return ex;
	if (c->json) {
		print_json(stdout, resp.data);
	} else {
		printf("reloaded %s: %lld alert rules\n", json_object_get_string(json_object_object_get(resp.data, "config")),
		       (long long)json_object_get_int64(json_object_object_get(resp.data, "rules")));
		print_names("applied now", json_object_object_get(resp.data, "applied"));
		print_names("at the next start (running values kept)", json_object_object_get(resp.data, "pending_restart"));
	}
	client_response_release(&resp);
	return 0;
}

static int verb_help(struct ctx *c, int argc, char **argv);

static const struct verb {
	const char *name;
	int (*fn)(struct ctx *c, int argc, char **argv);
	const char *help; /* profctl VERB --help */
} verbs[] = {
	{ "status", verb_status,
	  "usage: profctl status [--json]\n"
	  "Daemon health: uptime, sampling, samples taken, drained and dropped, the\n"
	  "store's and symbol cache's use against their bounds, pushers and alerts.\n" },
	{ "top", verb_top,
	  "usage: profctl top [--window 10s] [--sort KEY] [--limit N] [--pid PID]\n"
	  "                   [--unit UNIT] [--once] [--interval 2s] [--json]\n"
	  "Processes of the last --window (a duration: 30s, 5m, 1h; up to 48h) by\n"
	  "--sort KEY: cpu, mem, gpu, io, runq, samples, pid or comm, each with its\n"
	  "hottest function. On a terminal a live view refreshed every --interval\n"
	  "(q quits); with --once, a pipe or --json one table. --pid one process,\n"
	  "--unit one systemd unit's processes, --limit rows (1..10000).\n" },
	{ "export", verb_export,
	  "usage: profctl export --format F [--window 30s | --from TIME --to TIME]\n"
	  "                      [--pid PID | --unit UNIT | --comm GLOB] [--by-thread]\n"
	  "                      [--by-process] [--labels] [--icicle] [-o FILE] [--json]\n"
	  "A profile of the last --window (or --from..--to: RFC 3339 or relative, -15m)\n"
	  "as F: folded, json, pprof, speedscope, svg, csv or report. -o writes FILE\n"
	  "atomically; the default is stdout. --by-thread/--by-process split stacks\n"
	  "per thread/process, --labels adds process labels, --icicle draws the SVG\n"
	  "top-down.\n" },
	{ "diff", verb_diff,
	  "usage: profctl diff --base DUR|FROM..TO [--window DUR|FROM..TO]\n"
	  "                    [--pid PID | --unit UNIT | --comm GLOB] [--by-thread]\n"
	  "                    [--format text|json|svg|folded] [--icicle] [-o FILE]\n"
	  "What changed between a base window and the window (the base defaults to\n"
	  "the same length just before it): functions and stacks that grew or shrank.\n" },
	{ "alerts", verb_alerts,
	  "usage: profctl alerts [--history] [--rule NAME] [--json]\n"
	  "Firing and pending alerts with their top stacks; --history adds past\n"
	  "transitions, --rule only that rule's.\n" },
	{ "hotspots", verb_hotspots,
	  "usage: profctl hotspots [--window 30s] [--pid PID | --unit UNIT] [--limit N]\n"
	  "                        [--json]\n"
	  "Functions by share of CPU samples over the window, with severity.\n" },
	{ "reload", verb_reload,
	  "usage: profctl reload [--json]\n"
	  "Re-read profd's configuration file and alert rules, as SIGHUP does, and\n"
	  "say the result: an invalid file or rule is refused (profd keeps running\n"
	  "with the old ones) with file, line and key; settings that apply only at a\n"
	  "restart are listed. Root only. Exit status 0 applied, 1 refused. The\n"
	  "unit's ExecReload= runs it, so systemctl reload profd reports the error.\n" },
	{ "help", verb_help,
	  "usage: profctl help [VERB]\n"
	  "The overview, or VERB's usage (the same as profctl VERB --help).\n" },
};

static void help(const struct ctx *c, FILE *f)
{
	if (c->verb)
		fputs(c->verb->help, f);
	else
		usage(f);
}

static int verb_help(struct ctx *c, int argc, char **argv)
{
	if (argc > 1) {
		for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
			if (!strcmp(argv[1], verbs[i].name)) {
				fputs(verbs[i].help, stdout);
				return 0;
			}
		}
		c->verb = NULL;
		return fail_usage(c, "help: unknown verb '%s'", argv[1]);
	}
	usage(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = { COMMON_LONGOPTS, { "version", no_argument, NULL, 'V' }, { 0 } };
	struct ctx c = { .socket = PROFD_DEFAULT_SOCKET, .timeout_ms = DEFAULT_TIMEOUT_MS };
	const char *env = getenv(PROFD_SOCKET_ENV);
	int opt, ex = 0;

	setlocale(LC_ALL, "");
	if (env && *env)
		c.socket = env;
	/* '+': global options stop at the verb; the verb parses the rest. */
	while ((opt = getopt_long(argc, argv, "+hjs:t:V", opts, NULL)) != -1) {
		if (opt == 's')
			opt = 'S';
		else if (opt == 't')
			opt = 'T';
		if (opt == 'V') {
			printf("profctl %s (protocol %d)\n", PROFD_VERSION, PROFD_PROTO_VERSION);
			return 0;
		}
		if (common_opt(&c, opt, &ex) < 0)
			return ex;
	}
	if (optind >= argc)
		return fail_usage(&c, "no verb given");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (strcmp(argv[optind], verbs[i].name) == 0) {
			char **vargv = argv + optind;
			int vargc = argc - optind;

			optind = 0; /* glibc: full re-initialisation */
			c.verb = &verbs[i];
			return verbs[i].fn(&c, vargc, vargv);
		}
	}
	return fail_usage(&c, "unknown verb '%s'", argv[optind]);
}
