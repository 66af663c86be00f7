/* SPDX-License-Identifier: GPL-2.0-only */
/* Per-process counters from /proc/PID/{stat,status,io,cgroup,fd}: CPU
 * time, faults, threads, memory, context switches, open fds, I/O bytes, and
 * the systemd unit / container a process runs in.
 *
 * Pure parsers take a buffer, so tests feed fixtures; readers take an
 * injectable procfs root (or an open /proc/PID directory fd). Whatever
 * cannot be read or parsed leaves its valid bit clear and, when present but
 * malformed, is counted in `errors`; nothing here logs or aborts. */
#ifndef PROFD_PROCSTAT_H
#define PROFD_PROCSTAT_H

#include <stddef.h>
#include <stdint.h>

/* Bounds. comm: TASK_COMM_LEN. Unit names: systemd's UNIT_NAME_MAX (256,
 * with the NUL). Cgroup paths longer than the bound are not stored, but the
 * unit and container id are still derived from them. fds: a process with
 * more entries than this is reported as PROCSTAT_FDS_MAX, flagged capped. */
#define PROCSTAT_COMM_MAX 16
#define PROCSTAT_CGROUP_MAX 512
#define PROCSTAT_UNIT_MAX 256
#define PROCSTAT_CONTAINER_ID_LEN 12 /* short id, as `docker ps` shows */
#define PROCSTAT_FDS_MAX (1u << 20)

/* Valid bits: which fields of struct procstat hold data. */
#define PROCSTAT_PID          (1u << 0)  /* pid, comm */
#define PROCSTAT_STATE        (1u << 1)
#define PROCSTAT_PPID         (1u << 2)
#define PROCSTAT_MINFLT       (1u << 3)
#define PROCSTAT_MAJFLT       (1u << 4)
#define PROCSTAT_UTIME        (1u << 5)
#define PROCSTAT_STIME        (1u << 6)
#define PROCSTAT_THREADS      (1u << 7)
#define PROCSTAT_STARTTIME    (1u << 8)
#define PROCSTAT_RSS          (1u << 9)
#define PROCSTAT_RSS_ANON     (1u << 10)
#define PROCSTAT_RSS_FILE     (1u << 11)
#define PROCSTAT_RSS_SHMEM    (1u << 12)
#define PROCSTAT_SWAP         (1u << 13)
#define PROCSTAT_VCTXSW       (1u << 14)
#define PROCSTAT_NVCTXSW      (1u << 15)
#define PROCSTAT_FDS          (1u << 16)
#define PROCSTAT_FDS_CAPPED   (1u << 17) /* fds is a lower bound */
#define PROCSTAT_RCHAR        (1u << 18)
#define PROCSTAT_WCHAR        (1u << 19)
#define PROCSTAT_READ_BYTES   (1u << 20)
#define PROCSTAT_WRITE_BYTES  (1u << 21)
#define PROCSTAT_CWRITE_BYTES (1u << 22) /* cancelled_write_bytes */
#define PROCSTAT_CGROUP       (1u << 23)
#define PROCSTAT_UNIT         (1u << 24)
#define PROCSTAT_CONTAINER    (1u << 25)
#define PROCSTAT_UID          (1u << 26) /* real uid, status Uid: */
#define PROCSTAT_IO_CGROUP    (1u << 27) /* io_cgroup */

/* What procstat_read() reads; stat is always read (it identifies the
 * process). Each part costs open+read+close (fds: open+getdents+close), so
 * a caller polling every tick may skip the rarely-changing cgroup. */
#define PROCSTAT_READ_STATUS (1u << 0)
#define PROCSTAT_READ_IO     (1u << 1)
#define PROCSTAT_READ_FDS    (1u << 2)
#define PROCSTAT_READ_CGROUP (1u << 3)
#define PROCSTAT_READ_ALL    (PROCSTAT_READ_STATUS | PROCSTAT_READ_IO | \
			      PROCSTAT_READ_FDS | PROCSTAT_READ_CGROUP)
/* With PROCSTAT_READ_FDS: take the count from st_size of the fd directory
 * (one fstatat instead of open+getdents64+close; procfs on kernels >= 6.2
 * reports the number of open fds there). Only where procstat_probe() says
 * so: on other kernels or file systems st_size means something else. */
#define PROCSTAT_READ_FDS_STSIZE (1u << 4)

struct procstat {
	uint32_t valid;          /* PROCSTAT_* bits */
	uint32_t errors;         /* fields present but malformed, overflowing or truncated */
	uint32_t pid;
	uint32_t ppid;
	char state;              /* R, S, D, Z, ... */
	char comm[PROCSTAT_COMM_MAX];
	uint64_t utime_ns;       /* user CPU time (stat field 14, ticks -> ns) */
	uint64_t stime_ns;       /* system CPU time (field 15) */
	uint64_t minflt;         /* minor faults (field 10) */
	uint64_t majflt;         /* major faults (field 12) */
	uint64_t num_threads;    /* status Threads, else stat field 20 */
	uint64_t starttime_ticks;/* stat field 22: USER_HZ ticks since boot */
	uint32_t uid;            /* status Uid: (the real one, first of four) */
	uint64_t rss_bytes;      /* status VmRSS */
	uint64_t rss_anon_bytes; /* status RssAnon */
	uint64_t rss_file_bytes; /* status RssFile */
	uint64_t rss_shmem_bytes;/* status RssShmem */
	uint64_t swap_bytes;     /* status VmSwap */
	uint64_t vol_ctxsw;      /* status voluntary_ctxt_switches */
	uint64_t nonvol_ctxsw;   /* status nonvoluntary_ctxt_switches */
	uint64_t fds;            /* entries of /proc/PID/fd */
	uint64_t rchar;          /* /proc/PID/io: bytes passed to read-like syscalls */
	uint64_t wchar;
	uint64_t read_bytes;     /* bytes fetched from storage */
	uint64_t write_bytes;    /* bytes sent to storage (incl. page-cache dirtying) */
	uint64_t cancelled_write_bytes;
	char cgroup[PROCSTAT_CGROUP_MAX];     /* v2 path, else v1 name=systemd path */
	char unit[PROCSTAT_UNIT_MAX];         /* "nginx.service", "" when none */
	char container_id[PROCSTAT_CONTAINER_ID_LEN + 1]; /* 12 hex, "" when none */
	/* The cgroup its block I/O is charged to: the path of the v1 line
	 * whose controllers include blkio, else the v2 ("0::") path. */
	char io_cgroup[PROCSTAT_CGROUP_MAX];
};

/* Parse /proc/PID/stat text buf[0..n). comm may hold spaces and ')': the
 * last ')' ends it. clk_tck: USER_HZ (0 means 100). Sets pid, comm and the
 * fields found, with their valid bits; a field that is malformed or whose
 * ns value overflows stays invalid and counts in ret->errors; a final token
 * without its newline is taken as truncated. Returns 0, or -EINVAL (ret
 * untouched) when not even "pid (comm)" parses. */
int procstat_parse_stat(const char *buf, size_t n, uint64_t clk_tck, struct procstat *ret);

/* Parse /proc/PID/status: VmRSS, RssAnon, RssFile, RssShmem, VmSwap (kB ->
 * bytes), Threads, voluntary/nonvoluntary_ctxt_switches and the real uid.
 * Returns the number of fields set (only Threads and the uid for a kernel
 * thread, which has no Vm* lines), or -EINVAL on NULL arguments. */
int procstat_parse_status(const char *buf, size_t n, struct procstat *ret);

/* Parse /proc/PID/io: rchar, wchar, read_bytes, write_bytes,
 * cancelled_write_bytes. Returns the number of fields set or -EINVAL. */
int procstat_parse_io(const char *buf, size_t n, struct procstat *ret);

/* Parse /proc/PID/cgroup: the v2 "0::" path, or (when that is absent or
 * "/") the v1 "name=systemd" path; a " (deleted)" suffix is dropped. Sets
 * cgroup (if it fits), unit and container_id, and io_cgroup (if it fits).
 * Returns the number of fields set or -EINVAL. */
int procstat_parse_cgroup(const char *buf, size_t n, struct procstat *ret);

/* The systemd unit of cgroup path[0..len): the last component ending in a
 * unit suffix other than .slice (.service .scope .socket .mount .swap
 * .timer .path .target .device .automount), e.g.
 * "/user.slice/user-1000.slice/session-2.scope" -> "session-2.scope".
 * Returns its length, -ENOENT when none, -ENAMETOOLONG when it does not fit
 * ret (size bytes with the NUL). */
int procstat_cgroup_unit(const char *path, size_t len, char *ret, size_t size);

/* The container id of cgroup path[0..len): the last component that is 64
 * hex digits (/docker/<id>, /kubepods/.../<id>) or ends in "-<id>.scope" /
 * ":<id>" (docker-, cri-containerd-, crio-, libpod-). Writes its first 12
 * characters and a NUL to ret. Returns 0 or -ENOENT. */
int procstat_cgroup_container(const char *path, size_t len, char ret[PROCSTAT_CONTAINER_ID_LEN + 1]);

/* Open procfs/PID as a directory fd (O_PATH, O_CLOEXEC). A held fd keeps
 * naming that one process: once it exits, reads through it fail with
 * -ESRCH even if the pid is reused. Returns the fd or -errno. */
int procstat_open(const char *procfs, uint32_t pid);

/* Count the entries of the "fd" directory under piddir with getdents64,
 * stopping at PROCSTAT_FDS_MAX (then returns 1 = capped, else 0). -errno
 * (-EACCES without ptrace access to the process). */
int procstat_count_fds(int piddir, uint64_t *ret);

/* Optional PROCSTAT_READ_* bits that work under procfs: currently
 * PROCSTAT_READ_FDS_STSIZE when procfs is a real procfs (statfs magic) whose
 * fd directories report their count in st_size. Returns the bits (0 when
 * none) or -errno when procfs cannot be examined. Call once at start. */
int procstat_probe(const char *procfs);

/* Read the counters of the process whose directory is piddir into ret
 * (untouched on failure); `what` is PROCSTAT_READ_* bits. A part that is missing or
 * unreadable (io without ptrace access, a kernel without
 * CONFIG_TASK_IO_ACCOUNTING) just leaves its bits clear. Returns 0, or
 * -errno when stat itself cannot be read (-ESRCH/-ENOENT: process gone) or
 * -EINVAL when it does not parse. */
int procstat_read_at(int piddir, unsigned what, struct procstat *ret);

/* A process to be read every tick: holds /proc/PID and its stat, status
 * and io files open and re-reads them with pread() at offset 0 (procfs
 * regenerates the text), one syscall per file instead of three. Costs up
 * to 4 fds per process: the caller bounds how many it keeps. Like a held
 * dirfd, it names one process; reads fail once that process is gone. */
struct procstat_handle;

/* what: PROCSTAT_READ_* (as for procstat_read_at). NULL with errno. */
struct procstat_handle *procstat_handle_open(const char *procfs, uint32_t pid, unsigned what);
struct procstat_handle *procstat_handle_free(struct procstat_handle *h);
/* Same contract as procstat_read_at. */
int procstat_handle_read(struct procstat_handle *h, struct procstat *ret);

/* procstat_open + procstat_read_at + close. procfs: "/proc" or a fixture
 * root. */
int procstat_read(const char *procfs, uint32_t pid, unsigned what, struct procstat *ret);

/* Bound on a command line kept for a process: enough to recognise it. */
#define PROCSTAT_CMDLINE_MAX 4096
/* The "cmdline" file under piddir, its NUL-separated arguments joined by
 * spaces (trailing ones dropped), cut at cap - 1 bytes, NUL-terminated.
 * An empty file (kernel thread, zombie) gives "". Returns the length or
 * -errno. */
int procstat_read_cmdline(int piddir, char *buf, size_t cap);
/* The "exe" link under piddir, NUL-terminated. Returns the length or
 * -errno (-ENOENT for a kernel thread, -EACCES without ptrace access,
 * -ENAMETOOLONG when it does not fit). */
int procstat_read_exe(int piddir, char *buf, size_t cap);

#endif
