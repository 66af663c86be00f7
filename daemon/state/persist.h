/* SPDX-License-Identifier: GPL-2.0-only */
/* State that survives a restart: the windows' tiers, with the processes,
 * stacks and objects their entries refer to, saved to one file in the
 * state directory and loaded back at start.
 *
 * The file (docs/persistence.md has the byte layout) is versioned,
 * checksummed (CRC-32 of the header and of the payload), bounded in size
 * and written atomically (a temporary file, fsync, rename, fsync of the
 * directory). Ids in a file are those of the run that wrote it: objects
 * are named by build-id (or device, inode and mtime) and a path, processes
 * by (tgid, start time) with their names, stacks by their frames, so the
 * loading run re-creates each under its own ids.
 *
 * Window time is CLOCK_BOOTTIME, and kernel frames are addresses: both hold
 * within one boot only. The file carries the boot id; one written in
 * another boot restores nothing (its slots all lie before this boot).
 *
 * A file that is corrupt (checksum, truncated, malformed), foreign (not a
 * profd state file, another version or byte order) or too large is set
 * aside as PERSIST_FILE ".bad" (the previous one there replaced): never a
 * crash, never half-loaded (the whole file is checked before the store is
 * touched). Pure module: time, boot id and directory are injected. */
#ifndef PROFD_PERSIST_H
#define PROFD_PERSIST_H

#include <stddef.h>
#include <stdint.h>

#define PERSIST_FILE "profd.state"
#define PERSIST_VERSION 1u

struct window;
struct stacks;
struct proctable;
struct symbolizer;

/* What is saved and restored: the daemon's stores. */
struct persist_src {
	struct window *win;
	struct stacks *stacks;
	struct proctable *procs;
	struct symbolizer *sym;
};

struct persist_opts {
	uint32_t tiers;       /* bit k: save tier k (e.g. coarse always, fine on stop) */
	size_t max_bytes;     /* bound on the file; over it on save, tiers are
			       * dropped finest first; over it on load: set aside */
	const char *boot_id;  /* this boot's id (/proc/sys/kernel/random/boot_id) */
	uint64_t now_ns;      /* CLOCK_BOOTTIME */
	uint64_t real_ns;     /* CLOCK_REALTIME, recorded for the reader */
	uint64_t data_from_ns;/* saving: where the saving run's data begins */
};

/* An encoded file, ready to be written. */
struct persist_buf {
	uint8_t *data;
	size_t len;
	uint32_t tiers;       /* tiers it holds (fewer than asked if the bound cut) */
	uint64_t slots, entries, records, procs, stacks, objects;
};

/* Encode the stores. 0 and *ret, -EFBIG (even the coarsest tier alone is
 * over max_bytes), -EINVAL, -ENOMEM. Reads the stores only. */
int persist_encode(const struct persist_src *src, const struct persist_opts *o, struct persist_buf **ret);
struct persist_buf *persist_buf_free(struct persist_buf *b);

/* Write buf as dir/PERSIST_FILE atomically; dir is created (0750) when
 * missing. Safe on any thread: touches nothing but the buffer and files.
 * 0 or -errno. */
int persist_write(const char *dir, const struct persist_buf *buf);

/* What a load did. */
struct persist_load_stats {
	uint64_t bytes;
	uint64_t saved_ns;       /* CLOCK_BOOTTIME of the save */
	uint64_t data_from_ns;   /* where the saved data begins (0: not said) */
	uint64_t slots, entries, records, procs, stacks, objects;
	uint64_t dropped_slots;  /* outside the window's span now, or a tier
				  * whose slot length changed */
	uint64_t dropped_entries;/* entries and records of those slots */
	uint64_t failed;         /* entries the store refused (memory, bounds) */
	char reason[160];        /* why a file was set aside or skipped */
};

/* Load dir/PERSIST_FILE into the stores. 0: loaded (st says what),
 * -ENOENT: no file; -ESTALE: written in another boot (nothing restored,
 * file left for the next save to replace); -EBADMSG: corrupt or
 * truncated, -EPROTO: foreign (magic, version), -EFBIG: over max_bytes:
 * these three were set aside as PERSIST_FILE ".bad" and st->reason says
 * why; other -errno: the file could not be read. o->tiers is ignored. */
int persist_load(const char *dir, const struct persist_src *src, const struct persist_opts *o, struct persist_load_stats *st);

/* This boot's id from path (default /proc/sys/kernel/random/boot_id)
 * into buf (37 bytes: 36 characters and NUL). 0 or -errno. */
int persist_read_boot_id(const char *path, char *buf, size_t cap);

/* A save running on a thread of its own, so that the periodic save's
 * fsync never holds up the loop. One at a time. */
struct persist_writer;
int persist_writer_new(const char *dir, struct persist_writer **ret);
/* Take buf over and start writing it: 0, or -EBUSY while the previous
 * write runs (buf is freed: this save is skipped, the next one will do),
 * -errno (thread creation). */
int persist_writer_submit(struct persist_writer *w, struct persist_buf *buf);
/* Result of the last finished write (0 or -errno), -EINPROGRESS while one
 * runs, 1 when none has run since the last call. */
int persist_writer_poll(struct persist_writer *w);
/* Waits for a running write, then frees. NULL in, NULL out. */
struct persist_writer *persist_writer_free(struct persist_writer *w);

#endif
