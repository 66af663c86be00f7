/* SPDX-License-Identifier: GPL-2.0-only */
/* Function symbols of one ELF file, looked up by file offset or vaddr.
 *
 * Sources, merged into one sorted table: .symtab, .dynsym, .gnu_debugdata
 * (MiniDebugInfo) and, on request, a separate debug file found by build-id
 * or .gnu_debuglink. Read-only, bounded, and defensive: a malformed file
 * yields an error code, never a crash. Names live in one arena. */
#ifndef PROFD_ELFSYM_H
#define PROFD_ELFSYM_H

#include <stddef.h>
#include <stdint.h>

#define ELFSYM_BUILD_ID_MAX 20              /* SHA-1; longer ids are ignored, as the kernel does */
#define ELFSYM_MAX_SYMBOLS (8u << 20)        /* per file: far above any real binary */
#define ELFSYM_DEBUGDATA_IN_MAX (64u << 20)  /* compressed .gnu_debugdata accepted */
#define ELFSYM_DEBUGDATA_OUT_MAX (64u << 20) /* decompressed MiniDebugInfo bound */
#define ELFSYM_DEBUGLINK_MAX 255             /* bytes of a debuglink name */
/* Bounds on what is read before it is trusted: a hostile file may claim
 * sections of many GiB (a sparse file costs its owner nothing). */
#define ELFSYM_MAX_SECTIONS 65536u           /* section or program headers per file */
#define ELFSYM_SYMTAB_MAX ((size_t)ELFSYM_MAX_SYMBOLS * 24) /* bytes of one .symtab/.dynsym */
#define ELFSYM_STRTAB_MAX (256u << 20)       /* bytes of one symbol string table */
#define ELFSYM_SHSTRTAB_MAX (4u << 20)       /* section names; larger: names ignored */
#define ELFSYM_NOTE_READ_MAX (64u << 10)     /* bytes read of one note section/segment */
#define ELFSYM_NOTES_BUDGET (256u << 10)     /* bytes of notes read per file */

struct elfsym;

/* Load every function symbol of the ELF open on fd (not closed; the file
 * offset is not used). 0 and *ret, or -ENOEXEC (not ELF, or ET_REL/core),
 * -EBADMSG (corrupt headers, tables or strings), -EFBIG (past a bound:
 * header counts and section sizes are checked before anything is read),
 * -ENOMEM, -errno from I/O. A file with no symbols loads with count 0. */
int elfsym_load_fd(int fd, struct elfsym **ret);
/* Same, opening path (regular files only, see util_open_regular()). */
int elfsym_load_path(const char *path, struct elfsym **ret);
struct elfsym *elfsym_free(struct elfsym *e);

/* Merge the .symtab of a separate debug file open on fd. It must carry
 * the same build-id as e (when e has one): -ESTALE otherwise. */
int elfsym_merge_debug_fd(struct elfsym *e, int fd);
/* Look for e's debug file and merge it. Candidates, in order:
 * DIR/.build-id/xx/rest.debug for each DIR of ':'-separated debug_dirs;
 * then, with a debuglink: open_dir/LINK, open_dir/.debug/LINK (resolved
 * inside open_root when it is not NULL, e.g. "/proc/PID/root") and
 * DIR/logical_dir/LINK (open_dir: where the file can be opened from;
 * logical_dir: the directory as the process sees it, "/usr/bin"; either
 * may be NULL). A candidate must match the build-id or, without one, the
 * debuglink CRC. 0 when merged, -ENOENT. */
int elfsym_load_debug(struct elfsym *e, const char *debug_dirs, const char *open_root,
		      const char *open_dir, const char *logical_dir);

/* GNU build-id of the ELF on fd, reading its headers and notes with
 * bounded pread() (never more than ELFSYM_NOTE_READ_MAX of one note
 * section or segment, ELFSYM_NOTES_BUDGET in all; a build-id note past
 * those bounds is not found). Returns its length (1..ELFSYM_BUILD_ID_MAX)
 * and fills buf, -ENODATA when none is found, -ENOEXEC for non-ELF,
 * -EBADMSG for corrupt headers, -EFBIG past ELFSYM_MAX_SECTIONS. */
int elfsym_read_build_id_fd(int fd, uint8_t buf[ELFSYM_BUILD_ID_MAX]);

/* File offset -> virtual address, through the executable PT_LOAD that
 * holds off (any PT_LOAD as a fallback). 0 or -ENOENT. */
int elfsym_offset_to_vaddr(const struct elfsym *e, uint64_t off, uint64_t *ret_vaddr);
/* Function covering vaddr. 0 and outputs (name valid while e lives), or
 * -ENOENT. */
int elfsym_lookup(const struct elfsym *e, uint64_t vaddr, const char **ret_name, uint64_t *ret_offset);
/* offset_to_vaddr + lookup. */
int elfsym_lookup_offset(const struct elfsym *e, uint64_t off, const char **ret_name, uint64_t *ret_offset);

size_t elfsym_count(const struct elfsym *e);
size_t elfsym_bytes(const struct elfsym *e);
/* Build-id bytes and length (0 when none). */
const uint8_t *elfsym_build_id(const struct elfsym *e, size_t *ret_len);
/* .gnu_debuglink name (a plain file name) or NULL. */
const char *elfsym_debuglink(const struct elfsym *e);

#define ELFSYM_SRC_SYMTAB (1u << 0)
#define ELFSYM_SRC_DYNSYM (1u << 1)
#define ELFSYM_SRC_DEBUGDATA (1u << 2)
#define ELFSYM_SRC_DEBUGFILE (1u << 3)
/* Which ELFSYM_SRC_* contributed symbols. */
unsigned elfsym_sources(const struct elfsym *e);

#endif
