/* SPDX-License-Identifier: GPL-2.0-only */
/* Process table: (tgid, start time) -> what a user recognises a process by,
 * read once from an injectable /proc and kept after the process exits. */
#include "store/proctable.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Entries live in fixed chunks so proc_info pointers stay valid while the
 * table grows (they are only invalidated by gc, as the header promises). */
#define PT_CHUNK 256u
#define PT_MIN_BUCKETS 64u
/* /proc/PID/stat is a few hundred bytes; status ~1.5 KiB with Uid: in its
 * first dozen lines; cmdline is cut at 4 KiB (enough to recognise a
 * process, bounded per entry). */
#define PT_STAT_MAX 2048u
#define PT_STATUS_MAX 4096u
#define PT_CMDLINE_MAX 4096u
#define PT_PATH_MAX 4096u
#define NSEC_PER_SEC 1000000000ull

struct pent {
	struct proc_info info;
	uint64_t start_ticks; /* key, with info.tgid */
	uint32_t next;        /* bucket chain or free list */
	bool used;
	bool sampled;         /* referred to by data (proctable_get), not
			       * only by lifecycle events */
};

struct proctable {
	char *procfs;
	size_t max_procs;
	struct pent **chunks;
	uint32_t nchunks;
	uint32_t nents;      /* ids handed out so far (high-water mark) */
	uint32_t free_head;  /* PROC_ID_NONE when empty */
	uint32_t *buckets;   /* by tgid only, so find_tgid walks one chain */
	uint32_t nbuckets;
	uint64_t gc_oldest_ns; /* oldest window time the daemon last passed */
	uint64_t latest_ns;    /* newest time seen: ages unsampled entries */
	/* Generation of changes that could make an entry collectable; a full
	 * table is rescanned only after one, never once per refused lookup. */
	uint64_t gen, full_gen;
	struct proctable_stats st;
};

static const struct proc_info overflow_info = {
	.id = PROC_ID_OVERFLOW, .uid = UINT32_MAX, .comm = "[table full]",
};
static const struct proc_info idle_info = {
	.id = PROC_ID_IDLE, .uid = 0, .comm = "[idle]",
};

static uint64_t clk_tck(void)
{
	static uint64_t hz;

	if (!hz) {
		long r = sysconf(_SC_CLK_TCK);

		hz = r > 0 ? (uint64_t)r : 100;
	}
	return hz;
}

uint64_t proctable_ns_to_ticks(uint64_t ns)
{
	uint64_t hz = clk_tck();

	/* floor(ns * hz / 1e9) without overflow, as the kernel rounds */
	return ns / NSEC_PER_SEC * hz + ns % NSEC_PER_SEC * hz / NSEC_PER_SEC;
}

/* Entry of an id known to be handed out (its generation bits ignored). */
static inline struct pent *ent_of(const struct proctable *t, uint32_t id)
{
	uint32_t i = proctable_id_index(id) - PROC_ID_FIRST;

	return &t->chunks[i / PT_CHUNK][i % PT_CHUNK];
}

/* Entry of an id, NULL unless that very id (generation included) is live:
 * an id kept by old window data never resolves to the entry's next owner. */
static struct pent *ent_at(const struct proctable *t, uint32_t id)
{
	uint32_t i = proctable_id_index(id);
	struct pent *e;

	if (i < PROC_ID_FIRST || i - PROC_ID_FIRST >= t->nents)
		return NULL;
	e = ent_of(t, id);
	return e->used && e->info.id == id ? e : NULL;
}

static inline uint32_t bucket_of(uint32_t tgid, uint32_t nbuckets)
{
	uint32_t h = tgid * 0x9e3779b1u;

	return (h ^ (h >> 16)) & (nbuckets - 1);
}

/* ---- /proc readers: pure functions of a file's bytes ---- */

/* Read up to cap - 1 bytes and NUL-terminate; length or -errno. */
static ssize_t read_file(const char *path, char *buf, size_t cap)
{
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return -errno;
	while (len + 1 < cap) {
		ssize_t r = read(fd, buf + len, cap - 1 - len);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			close(fd);
			return r;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	buf[len] = 0;
	return (ssize_t)len;
}

/* The whole token [s, end) is one unsigned decimal. */
static bool parse_u64(const char *s, const char *end, uint64_t *ret)
{
	uint64_t v;

	if (util_parse_u64(&s, end, &v) || s != end)
		return false;
	*ret = v;
	return true;
}

struct stat_fields {
	char comm[16];
	uint32_t ppid;
	uint64_t start_ticks;
};

/* /proc/PID/stat: "pid (comm) state ppid ... starttime(22) ...". comm may
 * hold spaces and ')', so it ends at the LAST ')'. 0 or -EINVAL. */
static int parse_stat(const char *buf, uint32_t tgid, struct stat_fields *ret)
{
	const char *lp = strchr(buf, '('), *rp = strrchr(buf, ')'), *p;
	uint64_t v, pid;
	size_t n;

	if (!lp || !rp || rp < lp || lp - buf < 2 || lp[-1] != ' ' || !parse_u64(buf, lp - 1, &pid) || pid != tgid)
		return -EINVAL;
	n = (size_t)(rp - lp - 1);
	if (n > sizeof(ret->comm) - 1)
		n = sizeof(ret->comm) - 1;
	memcpy(ret->comm, lp + 1, n);
	ret->comm[n] = 0;
	p = rp + 1;
	for (int field = 3; field <= 22; field++) {
		const char *tok;

		if (*p != ' ')
			return -EINVAL;
		tok = ++p;
		while (*p && *p != ' ' && *p != '\n')
			p++;
		if (p == tok)
			return -EINVAL;
		if (field == 4) {
			if (!parse_u64(tok, p, &v) || v > UINT32_MAX)
				return -EINVAL;
			ret->ppid = (uint32_t)v;
		} else if (field == 22) {
			if (!parse_u64(tok, p, &ret->start_ticks))
				return -EINVAL;
		}
	}
	return 0;
}

/* Real uid from /proc/PID/status ("Uid:\treal\teffective\t..."). */
static int parse_status_uid(const char *buf, uint32_t *ret)
{
	const char *p = buf, *end;
	uint64_t v;

	if (strncmp(p, "Uid:", 4) != 0) {
		p = strstr(buf, "\nUid:");
		if (!p)
			return -EINVAL;
		p++;
	}
	p += 4;
	while (*p == ' ' || *p == '\t')
		p++;
	for (end = p; *end >= '0' && *end <= '9'; end++)
		;
	if (!parse_u64(p, end, &v) || v > UINT32_MAX || (*end != '\t' && *end != ' ' && *end != '\n' && *end))
		return -EINVAL;
	*ret = (uint32_t)v;
	return 0;
}

/* cmdline: NUL-separated args -> one string joined by ' '. An empty file
 * (kernel thread, zombie) gives "": known empty, unlike NULL (unknown). */
static char *join_cmdline(char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (!buf[i])
			buf[i] = ' ';
	}
	while (len && buf[len - 1] == ' ')
		len--;
	buf[len] = 0;
	return strdup(buf);
}

static void count_read_error(struct proctable *t, ssize_t r)
{
	/* A vanished process is not an error: it is a race /proc always has. */
	if (r != -ENOENT && r != -ESRCH)
		t->st.proc_read_errors++;
}

static int proc_path(const struct proctable *t, char *buf, size_t cap, uint32_t tgid, const char *file)
{
	int n = snprintf(buf, cap, "%s/%u/%s", t->procfs, tgid, file);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* Read and parse /proc/PID/stat; -ESRCH if it belongs to another process
 * (pid reused) or is gone, -EINVAL if malformed (counted). */
static int read_stat_verified(struct proctable *t, uint32_t tgid, uint64_t want_ticks, struct stat_fields *ret)
{
	char path[PT_PATH_MAX], buf[PT_STAT_MAX];
	ssize_t r;

	if (proc_path(t, path, sizeof(path), tgid, "stat") < 0)
		return -ENAMETOOLONG;
	r = read_file(path, buf, sizeof(buf));
	if (r < 0) {
		count_read_error(t, r);
		return r == -ENOENT ? -ESRCH : (int)r;
	}
	if (parse_stat(buf, tgid, ret) < 0) {
		t->st.proc_read_errors++;
		return -EINVAL;
	}
	/* ±1 tick: start_ns was rounded once by the kernel, once by us */
	if (ret->start_ticks + 1 < want_ticks || ret->start_ticks > want_ticks + 1)
		return -ESRCH;
	return 0;
}

struct proc_extra {
	uint32_t uid;
	char *cmdline;
	char *exe;
};

static void read_extra(struct proctable *t, uint32_t tgid, struct proc_extra *x)
{
	char path[PT_PATH_MAX], buf[PT_CMDLINE_MAX + 1];
	ssize_t r;

	x->uid = UINT32_MAX;
	if (proc_path(t, path, sizeof(path), tgid, "status") == 0) {
		r = read_file(path, buf, PT_STATUS_MAX);
		if (r < 0)
			count_read_error(t, r);
		else if (parse_status_uid(buf, &x->uid) < 0)
			t->st.proc_read_errors++;
	}
	if (proc_path(t, path, sizeof(path), tgid, "cmdline") == 0) {
		r = read_file(path, buf, sizeof(buf));
		if (r < 0)
			count_read_error(t, r);
		else
			x->cmdline = join_cmdline(buf, (size_t)r);
	}
	/* exe is unreadable for kernel threads and without ptrace rights:
	 * expected, so not counted */
	if (proc_path(t, path, sizeof(path), tgid, "exe") == 0) {
		char target[PT_PATH_MAX];
		ssize_t n = readlink(path, target, sizeof(target));

		if (n > 0 && (size_t)n < sizeof(target)) {
			target[n] = 0;
			x->exe = strdup(target);
		}
	}
}

/* Fill e from /proc when /proc/PID is still the same process: checked
 * before and after the reads, so a pid reused meanwhile lends nothing. */
static void load_proc(struct proctable *t, struct pent *e, bool only_exec_data)
{
	struct stat_fields sf, sf2;
	struct proc_extra x = { 0 };

	if (read_stat_verified(t, e->info.tgid, e->start_ticks, &sf) < 0)
		return;
	read_extra(t, e->info.tgid, &x);
	if (read_stat_verified(t, e->info.tgid, e->start_ticks, &sf2) < 0) {
		free(x.cmdline);
		free(x.exe);
		return;
	}
	memcpy(e->info.comm, sf2.comm, sizeof(e->info.comm));
	if (!only_exec_data) {
		e->info.ppid = sf2.ppid;
		if (x.uid != UINT32_MAX)
			e->info.uid = x.uid;
	}
	if (x.cmdline) {
		free(e->info.cmdline);
		e->info.cmdline = x.cmdline;
	}
	if (x.exe) {
		free(e->info.exe);
		e->info.exe = x.exe;
	}
}

/* ---- the table ---- */

int proctable_new(const char *procfs, size_t max_procs, struct proctable **ret)
{
	struct proctable *t;

	if (!procfs || !*procfs || max_procs < 1 || max_procs > UINT32_MAX - PROC_ID_FIRST)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->procfs = strdup(procfs);
	t->nbuckets = PT_MIN_BUCKETS;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	if (!t->procfs || !t->buckets) {
		proctable_free(t);
		return -ENOMEM;
	}
	t->max_procs = max_procs;
	t->full_gen = UINT64_MAX;
	*ret = t;
	return 0;
}

static void ent_release(struct pent *e)
{
	free(e->info.cmdline);
	free(e->info.exe);
	e->info.cmdline = NULL;
	e->info.exe = NULL;
}

struct proctable *proctable_free(struct proctable *t)
{
	if (!t)
		return NULL;
	for (uint32_t id = PROC_ID_FIRST; id - PROC_ID_FIRST < t->nents; id++)
		ent_release(ent_of(t, id));
	for (uint32_t c = 0; c < t->nchunks; c++)
		free(t->chunks[c]);
	free(t->chunks);
	free(t->buckets);
	free(t->procfs);
	free(t);
	return NULL;
}

static struct pent *lookup(const struct proctable *t, uint32_t tgid, uint64_t ticks)
{
	for (uint32_t id = t->buckets[bucket_of(tgid, t->nbuckets)]; id != PROC_ID_NONE;) {
		struct pent *e = ent_of(t, id);

		if (e->info.tgid == tgid && e->start_ticks == ticks)
			return e;
		id = e->next;
	}
	return NULL;
}

static void grow_buckets(struct proctable *t)
{
	uint32_t nb = t->nbuckets * 2, *b;

	b = nb > t->nbuckets ? calloc(nb, sizeof(*b)) : NULL;
	if (!b)
		return; /* longer chains, still correct */
	for (uint32_t id = PROC_ID_FIRST; id - PROC_ID_FIRST < t->nents; id++) {
		struct pent *e = ent_of(t, id);
		uint32_t s;

		if (!e->used)
			continue;
		s = bucket_of(e->info.tgid, nb);
		e->next = b[s];
		b[s] = id;
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = nb;
}

static void ent_remove(struct proctable *t, struct pent *e)
{
	uint32_t *link = &t->buckets[bucket_of(e->info.tgid, t->nbuckets)];
	uint32_t id = e->info.id;

	while (*link != id)
		link = &ent_of(t, *link)->next;
	*link = e->next;
	if (!e->info.exit_ns)
		t->st.alive--;
	ent_release(e);
	memset(e, 0, sizeof(*e));
	e->next = t->free_head;
	t->free_head = id;
	t->st.procs--;
	t->st.collected++;
}

/* A dead process that no data ever referred to (seen only through exec
 * and exit events) is collected this long after its exit: by then any
 * sample of it has long been drained. Without this, a host that execs a
 * lot would fill the table with processes no window will ever show. */
#define UNSAMPLED_GRACE_NS (60ull * 1000000000ull)

static size_t collect(struct proctable *t, uint64_t oldest_ns)
{
	size_t n = 0;

	for (uint32_t id = PROC_ID_FIRST; id - PROC_ID_FIRST < t->nents; id++) {
		struct pent *e = ent_of(t, id);

		if (e->used && e->info.exit_ns &&
		    (e->info.last_used_ns < oldest_ns ||
		     (!e->sampled && e->info.exit_ns + UNSAMPLED_GRACE_NS < t->latest_ns))) {
			ent_remove(t, e);
			n++;
		}
	}
	return n;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The table is full of processes the windows still refer to (a host that
 * starts hundreds of processes a second fills any bound within the 24 h
 * the coarse tier keeps). Evict the least recently used sixteenth of the
 * dead ones: their ids get a new generation when reused, so the windows'
 * old data about them is shown as an expired process, never as another. */
static void evict_dead(struct proctable *t)
{
	size_t n = 0, want = t->max_procs / 16 + 1;
	uint64_t *when = malloc(t->nents * sizeof(*when)), cut;

	if (!when)
		return;
	for (uint32_t id = PROC_ID_FIRST; id - PROC_ID_FIRST < t->nents; id++) {
		struct pent *e = ent_of(t, id);

		if (e->used && e->info.exit_ns)
			when[n++] = e->info.last_used_ns;
	}
	if (n) {
		qsort(when, n, sizeof(*when), cmp_u64);
		cut = when[(want < n ? want : n) - 1];
		for (uint32_t id = PROC_ID_FIRST; id - PROC_ID_FIRST < t->nents; id++) {
			struct pent *e = ent_of(t, id);

			if (e->used && e->info.exit_ns && e->info.last_used_ns <= cut) {
				ent_remove(t, e);
				t->st.expired++;
			}
		}
	}
	free(when);
}

static struct pent *ent_alloc(struct proctable *t)
{
	struct pent *e;
	uint32_t id;

	if (t->free_head != PROC_ID_NONE) {
		uint32_t gen;

		id = t->free_head;
		e = ent_of(t, id);
		t->free_head = e->next;
		/* next generation of this index: data still holding the old id
		 * will not find this process */
		gen = ((id >> PROCTABLE_ID_INDEX_BITS) + 1) & ((1u << (32 - PROCTABLE_ID_INDEX_BITS)) - 1);
		id = (gen << PROCTABLE_ID_INDEX_BITS) | proctable_id_index(id);
	} else {
		if (t->nents == t->nchunks * PT_CHUNK) {
			struct pent **nc = realloc(t->chunks, (t->nchunks + 1) * sizeof(*nc));

			if (!nc)
				return NULL;
			t->chunks = nc;
			nc[t->nchunks] = calloc(PT_CHUNK, sizeof(**nc));
			if (!nc[t->nchunks])
				return NULL;
			t->nchunks++;
		}
		id = PROC_ID_FIRST + t->nents++;
		e = ent_of(t, id);
	}
	memset(e, 0, sizeof(*e));
	e->info.id = id;
	e->used = true;
	return e;
}

static void set_comm(struct pent *e, const char *comm)
{
	if (comm && *comm) {
		strncpy(e->info.comm, comm, sizeof(e->info.comm) - 1);
		e->info.comm[sizeof(e->info.comm) - 1] = 0;
	}
}

static void touch(struct proctable *t, struct pent *e, uint64_t now_ns)
{
	if (now_ns > t->latest_ns)
		t->latest_ns = now_ns;
	if (now_ns > e->info.last_used_ns)
		e->info.last_used_ns = now_ns;
}

static void mark_dead(struct proctable *t, struct pent *e, uint64_t now_ns, int exit_code)
{
	e->info.exit_ns = now_ns ? now_ns : 1; /* 0 means alive */
	e->info.exit_code = exit_code;
	t->st.alive--;
	/* usually last used now, so collectable only once the windows move
	 * past it (a new gc time bumps gen); if already, a rescan may help */
	if (e->info.last_used_ns < t->gc_oldest_ns)
		t->gen++;
}

static struct pent *get_entry(struct proctable *t, uint32_t tgid, uint64_t start_ns, const char *comm, uint64_t now_ns, bool *created)
{
	uint64_t ticks = proctable_ns_to_ticks(start_ns);
	struct pent *e = lookup(t, tgid, ticks);
	uint32_t b;

	*created = false;
	if (e) {
		if (!e->info.comm[0])
			set_comm(e, comm);
		touch(t, e, now_ns);
		return e;
	}
	if (t->st.procs >= t->max_procs && t->full_gen != t->gen) {
		/* Dead processes no window refers to any more make room. */
		if (!collect(t, t->gc_oldest_ns))
			t->full_gen = t->gen;
	}
	if (t->st.procs >= t->max_procs)
		evict_dead(t);
	if (t->st.procs >= t->max_procs || !(e = ent_alloc(t))) {
		/* (allocation failure lands here too: the samples still
		 * count, under PROC_ID_OVERFLOW) */
		t->st.full_drops++;
		return NULL;
	}
	e->info.tgid = tgid;
	e->info.start_ns = start_ns;
	e->info.uid = UINT32_MAX;
	e->info.first_seen_ns = now_ns;
	e->info.last_used_ns = now_ns;
	if (now_ns > t->latest_ns)
		t->latest_ns = now_ns;
	e->start_ticks = ticks;
	set_comm(e, comm);
	b = bucket_of(tgid, t->nbuckets);
	e->next = t->buckets[b];
	t->buckets[b] = e->info.id;
	t->st.procs++;
	t->st.alive++;
	if (t->st.procs > t->nbuckets)
		grow_buckets(t);
	load_proc(t, e, false);
	*created = true;
	return e;
}

uint32_t proctable_get(struct proctable *t, uint32_t tgid, uint64_t start_ns, const char *comm, uint64_t now_ns)
{
	struct pent *e;
	bool created;

	if (!t)
		return PROC_ID_OVERFLOW;
	/* pid 0 is the per-CPU idle task: one pseudo-process, no entry */
	if (tgid == 0)
		return PROC_ID_IDLE;
	e = get_entry(t, tgid, start_ns, comm, now_ns, &created);
	if (!e)
		return PROC_ID_OVERFLOW;
	e->sampled = true;
	return e->info.id;
}

uint32_t proctable_restore(struct proctable *t, const struct proc_info *p, uint64_t now_ns)
{
	struct stat_fields sf;
	struct pent *e;
	bool created;

	if (!t || !p)
		return PROC_ID_OVERFLOW;
	if (p->tgid == 0)
		return PROC_ID_IDLE;
	e = get_entry(t, p->tgid, p->start_ns, p->comm, now_ns, &created);
	if (!e)
		return PROC_ID_OVERFLOW;
	e->sampled = true;
	if (!created)
		return e->info.id;
	/* what /proc gave (a process still running) wins; the saved data
	 * fills the rest */
	if (!e->info.cmdline && p->cmdline)
		e->info.cmdline = strndup(p->cmdline, PT_CMDLINE_MAX);
	if (!e->info.exe && p->exe)
		e->info.exe = strndup(p->exe, PT_PATH_MAX - 1);
	if (e->info.uid == UINT32_MAX)
		e->info.uid = p->uid;
	if (!e->info.ppid)
		e->info.ppid = p->ppid;
	if (p->first_seen_ns && p->first_seen_ns < e->info.first_seen_ns)
		e->info.first_seen_ns = p->first_seen_ns;
	if (p->exit_ns)
		mark_dead(t, e, p->exit_ns, p->exit_code);
	else if (read_stat_verified(t, p->tgid, e->start_ticks, &sf) == -ESRCH)
		mark_dead(t, e, now_ns, 0);
	return e->info.id;
}

void proctable_note_exec(struct proctable *t, uint32_t tgid, uint64_t start_ns, uint32_t ppid, const char *comm, const char *filename, uint64_t now_ns)
{
	struct pent *e;
	bool created;

	if (!t || tgid == 0)
		return;
	e = get_entry(t, tgid, start_ns, comm, now_ns, &created);
	if (!e)
		return;
	/* A new image: what was known about the old one no longer holds. */
	set_comm(e, comm);
	e->info.ppid = ppid;
	if (!created) {
		free(e->info.cmdline);
		free(e->info.exe);
		e->info.cmdline = NULL;
		e->info.exe = NULL;
		load_proc(t, e, true);
		set_comm(e, comm); /* the event's comm is the newest */
	}
	/* /proc/PID/exe is absolute and resolved; the event's filename is
	 * what execve() got, a fallback for a process already gone */
	if (!e->info.exe && filename && *filename)
		e->info.exe = strndup(filename, PT_PATH_MAX - 1);
}

void proctable_note_exit(struct proctable *t, uint32_t tgid, uint64_t start_ns, int exit_code, uint64_t now_ns)
{
	struct pent *e;

	/* An exit of a process never sampled nor exec'd under profd creates
	 * nothing: an entry would only hold a comm-less tombstone. */
	if (!t || tgid == 0 || !(e = lookup(t, tgid, proctable_ns_to_ticks(start_ns))))
		return;
	touch(t, e, now_ns);
	if (!e->info.exit_ns)
		mark_dead(t, e, now_ns, exit_code);
}

void proctable_set_uid(struct proctable *t, uint32_t id, uint32_t uid)
{
	struct pent *e = t && id >= PROC_ID_FIRST ? (struct pent *)ent_at(t, id) : NULL;

	if (e && e->used && e->info.uid == UINT32_MAX)
		e->info.uid = uid;
}

const struct proc_info *proctable_info(const struct proctable *t, uint32_t id)
{
	const struct pent *e;

	if (id == PROC_ID_OVERFLOW)
		return &overflow_info;
	if (id == PROC_ID_IDLE)
		return &idle_info;
	e = t ? ent_at(t, id) : NULL;
	return e && e->used ? &e->info : NULL;
}

const struct proc_info *proctable_find_tgid(const struct proctable *t, uint32_t tgid)
{
	const struct pent *best = NULL;

	if (!t)
		return NULL;
	for (uint32_t id = t->buckets[bucket_of(tgid, t->nbuckets)]; id != PROC_ID_NONE;) {
		const struct pent *e = ent_of(t, id);

		if (e->info.tgid == tgid && (!best || e->info.start_ns > best->info.start_ns))
			best = e;
		id = e->next;
	}
	return best ? &best->info : NULL;
}

void proctable_reap(struct proctable *t, uint64_t now_ns)
{
	if (!t)
		return;
	for (uint32_t id = PROC_ID_FIRST; id - PROC_ID_FIRST < t->nents; id++) {
		struct pent *e = ent_of(t, id);
		struct stat_fields sf;

		if (!e->used || e->info.exit_ns)
			continue;
		/* only "gone or replaced" is an exit; an unreadable stat
		 * (permissions, malformed) says nothing about liveness */
		if (read_stat_verified(t, e->info.tgid, e->start_ticks, &sf) != -ESRCH)
			continue;
		mark_dead(t, e, now_ns, 0);
	}
}

size_t proctable_gc(struct proctable *t, uint64_t oldest_ns)
{
	if (!t)
		return 0;
	if (oldest_ns != t->gc_oldest_ns)
		t->gen++;
	t->gc_oldest_ns = oldest_ns;
	return collect(t, oldest_ns);
}

void proctable_foreach(const struct proctable *t, int (*fn)(const struct proc_info *p, void *ctx), void *ctx)
{
	if (!t || !fn)
		return;
	for (uint32_t id = PROC_ID_FIRST; id - PROC_ID_FIRST < t->nents; id++) {
		const struct pent *e = ent_of(t, id);

		if (e->used && fn(&e->info, ctx))
			return;
	}
}

void proctable_get_stats(const struct proctable *t, struct proctable_stats *ret)
{
	if (!ret)
		return;
	if (!t) {
		memset(ret, 0, sizeof(*ret));
		return;
	}
	*ret = t->st;
}
