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
		"      [--pid PID] [--unit UNIT] [--once] [--interval 2s]\n"
		"                              system header and processes by CPU, memory, GPU,\n"
		"                              I/O or run-queue delay, with their hottest function\n"
		"  export --format folded|json [--window 30s] [--pid PID] [-o FILE]\n"
		"                              stacks for flame graphs (folded) or tools (json)\n"
		"  reload                      re-read the configuration file (root only);\n"
		"                              says what failed or needs a restart\n"
		"  help [VERB]                 this text, or a verb's (also: VERB --help)\n"
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

/* Sends req (put) and waits for the answer. Daemon errors and transport
 * failures are reported here; returns 0 or the exit code to use. */
static int request(const struct ctx *c, struct json_object *req, struct response *ret)
{
	const char *code = NULL, *message = NULL, *s;
	char *line = NULL;
	int fd = -1, r, ex;

	memset(ret, 0, sizeof(*ret));
	json_object_object_add(req, "v", json_object_new_int(PROFD_PROTO_VERSION));
	s = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s || asprintf(&line, "%s\n", s) < 0) {
		json_object_put(req);
		return fail(c, EXIT_DAEMON, "internal", NULL, "out of memory");
	}
	json_object_put(req);
	r = client_connect(c->socket, c->timeout_ms, &fd);
	if (r < 0) {
		free(line);
		return fail_connect(c, r);
	}
	r = client_send_all(fd, line, strlen(line), c->timeout_ms);
	free(line);
	if (r == 0)
		r = client_read_response(fd, c->timeout_ms, ret, &code, &message);
	close(fd);
	switch (r) {
	case 0:
		return 0;
	case -EREMOTEIO:
		ex = fail_remote(c, code, message);
		client_response_release(ret);
		return ex;
	case -ETIMEDOUT:
		return fail(c, EXIT_CONNECT, "timeout", NULL, "profd at %s did not answer within %s", c->socket,
			    fmt_duration((char[32]){ 0 }, 32, c->timeout_ms * NSEC_PER_MSEC));
	case -EPROTO:
		return fail(c, EXIT_CONNECT, "protocol", NULL, "profd at %s sent a response profctl does not understand",
			    c->socket);
	default:
		return fail(c, EXIT_CONNECT, "io", NULL, "talking to profd at %s: %s", c->socket, strerror(-r));
	}
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
};

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
	if (request(&quiet, top_request(window, sort, limit > 10000 ? 10000 : limit, a->pid, a->unit), &resp))
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
	ex = request(c, top_request(window, sort, (int)limit, pid, unit), &resp);
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

/* Writes n bytes to path atomically: a temporary file in the same
 * directory, 0644, renamed over the target only once complete. */
static int write_file(const char *path, const char *data, size_t n)
{
	char *tmp = NULL;
	const char *slash = strrchr(path, '/');
	int fd, r = 0;

	if (slash)
		r = asprintf(&tmp, "%.*s/.%s.XXXXXX", (int)(slash - path), path, slash + 1);
	else
		r = asprintf(&tmp, ".%s.XXXXXX", path);
	if (r < 0)
		return -ENOMEM;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		free(tmp);
		return r;
	}
	r = 0;
	if (fchmod(fd, 0644) < 0)
		r = -errno;
	while (r == 0 && n) {
		ssize_t w = write(fd, data, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			r = -errno;
		else
			data += w, n -= (size_t)w;
	}
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	free(tmp);
	return r;
}

static int verb_export(struct ctx *c, int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_LONGOPTS,
		{ "format", required_argument, NULL, 'f' },
		{ "window", required_argument, NULL, 'w' },
		{ "pid", required_argument, NULL, 'p' },
		{ "output", required_argument, NULL, 'o' },
		{ 0 },
	};
	const char *format = NULL, *window = "30s", *out = NULL;
	long long pid = 0;
	struct json_object *req;
	struct response resp;
	const char *text;
	size_t n;
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
			break;
		case 'p':
			if ((ex = check_int(c, "--pid", optarg, 1, INT32_MAX, &pid)))
				return ex;
			break;
		case 'o':
			out = strcmp(optarg, "-") ? optarg : NULL;
			break;
		}
	}
	if (optind < argc)
		return fail_usage(c, "export: unexpected argument '%s'", argv[optind]);
	if (!format)
		return fail_usage(c, "export: --format folded|json is required");
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string("export"));
	json_object_object_add(req, "format", json_object_new_string(format));
	json_object_object_add(req, "window", json_object_new_string(window));
	if (pid)
		json_object_object_add(req, "pid", json_object_new_int64(pid));
	ex = request(c, req, &resp);
	if (ex)
		return ex;
	/* Every format arrives as the payload, written as is. */
	text = resp.payload;
	n = resp.payload_len;
	if (!out) {
		/* a terminal wants a final newline after JSON text */
		if (fwrite(text, 1, n, stdout) != n || (n && text[n - 1] != '\n' && putchar('\n') == EOF))
			ex = fail(c, EXIT_DAEMON, "io", NULL, "writing to stdout: %s", strerror(errno));
	} else if ((r = write_file(out, text, n)) < 0) {
		ex = fail(c, EXIT_DAEMON, "io", NULL, "writing %s: %s", out, strerror(-r));
	} else if (c->json) {
		/* stdout is free: say what was written, machine-readably. */
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "file", json_object_new_string(out));
		json_object_object_add(o, "bytes", json_object_new_uint64(n));
		json_object_object_add(o, "window_s", json_object_get(json_object_object_get(resp.data, "window_s")));
		json_object_object_add(o, "samples", json_object_get(json_object_object_get(resp.data, "samples")));
		print_json(stdout, o);
		json_object_put(o);
	} else {
		long long stacks = (long long)json_object_get_int64(json_object_object_get(resp.data, "stacks"));

		printf("wrote %s: %lld stacks, %lld samples\n", out, stacks,
		       (long long)json_object_get_int64(json_object_object_get(resp.data, "samples")));
	}
	client_response_release(&resp);
	return ex;
}

static int verb_reload(struct ctx *c, int argc, char **argv)
{
	static const struct option opts[] = { COMMON_LONGOPTS, { 0 } };
	struct json_object *req, *v;
	struct response resp;
	int opt, ex = 0;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1)
		if (common_opt(c, opt, &ex) <= 0)
			return ex;
	if (optind < argc)
		return fail_usage(c, "reload: unexpected argument '%s'", argv[optind]);
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string("reload"));
	/* a broken file is the daemon's error reply: printed, exit 1 */
	ex = request(c, req, &resp);
	if (ex)
		return ex;
	if (c->json) {
		print_json(stdout, resp.data);
	} else {
		printf("profd reloaded %s\n", json_object_get_string(json_object_object_get(resp.data, "config")));
		v = json_object_object_get(resp.data, "needs_restart");
		if (v && json_object_get_string(v)[0])
			printf("changed, applied at the next restart (systemctl restart profd): %s\n", json_object_get_string(v));
	}
	client_response_release(&resp);
	return 0;
}

static int verb_help(struct ctx *c, int argc, char **argv);

static const struct verb {
	const char *name;
	int (*fn)(struct ctx *c, int argc, char **argv);
	const char *help;
} verbs[] = {
	{ "status", verb_status,
	  "usage: profctl status [--json]\n"
	  "Daemon health: uptime, sampling, counters of samples taken, drained and\n"
	  "dropped, the store's and symbol cache's use against their bounds, pushers.\n" },
	{ "top", verb_top,
	  "usage: profctl top [--window 10s] [--sort KEY] [--limit N] [--pid PID]\n"
	  "                   [--unit UNIT] [--once] [--interval 2s] [--json]\n"
	  "Processes of the last --window (a duration: 30s, 5m, 1h; up to 48h) by\n"
	  "--sort: cpu, mem, gpu, io, runq, samples, pid or comm, with their hottest\n"
	  "function. On a terminal: a live view refreshed every --interval (q quits);\n"
	  "--once, a pipe or --json: one table. --pid one process, --unit one\n"
	  "systemd unit's processes, --limit rows (1..10000).\n" },
	{ "export", verb_export,
	  "usage: profctl export --format folded|json [--window 30s] [--pid PID]\n"
	  "                      [-o FILE] [--json]\n"
	  "Stacks of the last --window for flame graphs (folded: one 'frame;frame N'\n"
	  "line per stack) or tools (json). -o writes FILE (atomically); the default\n"
	  "is stdout. With -o and --json, a summary of what was written.\n" },
	{ "reload", verb_reload,
	  "usage: profctl reload [--json]\n"
	  "Re-read profd's configuration file, as SIGHUP does, and say the result:\n"
	  "an invalid file is refused (profd keeps running with the old one) and the\n"
	  "error names file, line and key; settings that apply only at a restart are\n"
	  "listed. Root only. Exit status 0 when applied, 1 when refused.\n" },
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
