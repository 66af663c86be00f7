/* SPDX-License-Identifier: GPL-2.0-only */
/* Alert rules: the [rule NAME] sections of profd.conf and of the drop-in
 * files (rules_dir), parsed and checked into a rule set. A bad rule is
 * refused with "file:line: reason" and the whole load fails, so a reload
 * either takes every rule or none. Pure: works on buffers and paths given
 * by the caller, never logs. The syntax is in docs/alerts.md. */
#ifndef PROFD_ALERTS_RULES_H
#define PROFD_ALERTS_RULES_H

#include <stddef.h>
#include <stdint.h>

struct metric;

#define RULE_NAME_MAX 64        /* bytes of a rule name */
#define RULE_MAX_MATCH 8        /* match terms per rule (all must hold) */
#define RULE_MAX_LABELS 16      /* labels per rule */
#define RULE_TEXT_MAX 512       /* summary template, patterns, URLs */
#define RULES_MAX 4096          /* rules in one set */
#define RULES_MAX_FILES 1024    /* drop-in files read */

enum rule_scope {
	RULE_HOST,                /* host.*: one entity, the host */
	RULE_PROCESS,             /* process.*: each matching process */
	RULE_UNIT,                /* unit.*: each matching systemd unit */
	RULE_FUNCTION,            /* function.*: each (process, function) */
	RULE_FUNCTION_HOST,       /* function.* with scope = host: each function
				   * of the whole host */
};

enum rule_match_kind {
	MATCH_COMM,               /* comm:GLOB */
	MATCH_EXE,                /* exe:GLOB (the executable's path) */
	MATCH_CMDLINE,            /* cmdline:GLOB (arguments joined by ' ') */
	MATCH_UNIT,               /* unit:GLOB (systemd unit) */
	MATCH_CGROUP,             /* cgroup:GLOB (cgroup v2 path) */
	MATCH_PID,                /* pid:N */
	MATCH_UID,                /* uid:N */
};

/* How a pattern is matched: most are a name or a prefix, which need no
 * fnmatch (it is evaluated per process per rule every tick). */
enum rule_glob {
	GLOB_LITERAL,             /* no wildcard: strcmp */
	GLOB_PREFIX,              /* "abc*": strncmp */
	GLOB_ANY,                 /* "*" */
	GLOB_FNMATCH,             /* anything else */
};

struct rule_match {
	enum rule_match_kind kind;
	char *pattern;            /* GLOB (fnmatch), NULL for pid/uid */
	uint32_t num;             /* pid or uid */
	enum rule_glob glob;
	size_t fixed;             /* GLOB_PREFIX: bytes before the '*' */
};

/* Does s match the pattern of m (s may be NULL: no match)? */
int rule_glob_match(const struct rule_match *m, const char *s);

enum alert_severity {
	SEVERITY_INFO,
	SEVERITY_WARNING,
	SEVERITY_CRITICAL,
};

struct rule_label {
	char *key, *value;
};

/* rule.notify bits: receivers an alert of the rule goes to */
#define RULE_NOTIFY_LOG (1u << 0)
#define RULE_NOTIFY_ALERTMANAGER (1u << 1)
#define RULE_NOTIFY_WEBHOOK (1u << 2)
#define RULE_NOTIFY_ALL (RULE_NOTIFY_LOG | RULE_NOTIFY_ALERTMANAGER | RULE_NOTIFY_WEBHOOK)

struct rule {
	char *name;
	char *file;               /* where it was defined */
	int line;                 /* of its [rule NAME] header */
	uint32_t index;           /* position in its set */

	const struct metric *metric;
	enum rule_scope scope;
	struct rule_match match[RULE_MAX_MATCH];
	size_t nmatch;
	char *function;           /* function rules: GLOB on the name, NULL: any */

	int below;                /* 0: fires above threshold, 1: below */
	double threshold;         /* in the metric's unit */
	double clear;             /* resolves past this (= threshold if not set) */
	int has_clear;
	uint64_t window_ns;       /* the metric is computed over this window */
	uint64_t for_ns;          /* pending this long before firing */
	enum alert_severity severity;
	struct rule_label labels[RULE_MAX_LABELS];
	size_t nlabels;
	char *summary;            /* template, see docs/alerts.md */
	unsigned notify;          /* RULE_NOTIFY_* */
	char *alertmanager_url;   /* per-rule receivers, NULL: the global one */
	char *webhook_url;
};

struct ruleset {
	struct rule *v;
	size_t n, cap;
	size_t files;             /* drop-in files read */
};

/* Which sections a file may hold: a rules file (drop-in) holds only
 * [rule NAME] sections; profd.conf holds others too, checked by config.c. */
enum rules_source {
	RULES_FILE,               /* every section must be [rule NAME] */
	RULES_CONFIG,             /* sections other than [rule NAME] are skipped */
};

int ruleset_new(struct ruleset **ret);
struct ruleset *ruleset_free(struct ruleset *rs);

/* Parse buf (len bytes, named name in messages) and add its rules to rs.
 * 0, or -EINVAL / -ENOMEM with "name:line: reason" in err; rs then holds
 * the rules of earlier calls only. */
int ruleset_load_buffer(struct ruleset *rs, const char *name, const char *buf, size_t len, enum rules_source src,
			char *err, size_t errsz);
/* The same from a file (bounded size). -ENOENT when it does not exist. */
int ruleset_load_file(struct ruleset *rs, const char *path, enum rules_source src, char *err, size_t errsz);
/* Every file matching a glob pattern (rules_dir, such as DIR/\*.conf), in name
 * order; no match is not an error. */
int ruleset_load_glob(struct ruleset *rs, const char *pattern, char *err, size_t errsz);

/* The rule called name, NULL if none. */
const struct rule *ruleset_find(const struct ruleset *rs, const char *name);

/* Two rules describe the same alerts (metric, scope, matches, function):
 * alerts of the old one carry over to the new one across a reload. */
int rule_same_identity(const struct rule *a, const struct rule *b);

/* "info", "warning", "critical". */
const char *alert_severity_name(enum alert_severity s);

/* Parse a threshold for metric m: a number in the metric's unit, or with
 * a unit of the same dimension: "90", "90%", "512M", "1.5GiB", "50ms",
 * "10MiB/min". 0 or -EINVAL with a reason in msg. */
int rule_parse_threshold(const struct metric *m, const char *s, double *ret, char *msg, size_t msgsz);

/* Check a summary template: placeholders {name} and {name:.Nf}, literal
 * braces doubled. 0 or -EINVAL with a reason in msg. */
int rule_check_template(const char *tpl, char *msg, size_t msgsz);

#endif
