/* SPDX-License-Identifier: GPL-2.0-only */
/* The metric table, see registry.h. One row per metric; a row's json path
 * is where `status` or `top` shows it, its prom name what pushers export
 * (Prometheus conventions: base units, counters end in _total). */
#include "metrics/registry.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "collect/gpu.h"

#define DAEMON(f) .scope = METRIC_DAEMON, .offset = offsetof(struct metrics_daemon, f)
#define HOST(f) .scope = METRIC_HOST, .offset = offsetof(struct metrics_host, f)
#define PROC(f) .scope = METRIC_PROCESS, .offset = offsetof(struct metrics_process, f)
#define UNIT(f) .scope = METRIC_UNIT, .offset = offsetof(struct metrics_process, f)
#define FUNC(f) .scope = METRIC_FUNCTION, .offset = offsetof(struct metrics_function, f)
#define U64 .kind = METRIC_U64
#define F64 .kind = METRIC_F64
#define GAUGE .type = METRIC_GAUGE
#define COUNTER .type = METRIC_COUNTER
#define NS_TO_S 1e-9
#define PCT_TO_RATIO 0.01

static const struct metric table[] = {
	/* ---- profd itself (status) ---- */
	{ "profd.uptime_seconds", "uptime_s", "profd_uptime_seconds", 1, GAUGE, F64, "s",
	  "time since profd started", DAEMON(uptime_s) },
	{ "profd.sampling.frequency", "sampling.frequency", "profd_sampling_frequency_hertz", 1, GAUGE, U64, "Hz",
	  "CPU sampling frequency per CPU", DAEMON(frequency) },
	{ "profd.sampling.cpus", "sampling.cpus", NULL, 1, GAUGE, U64, "",
	  "CPUs sampled", DAEMON(cpus) },
	{ "profd.sampling.tick_seconds", "sampling.tick_s", NULL, 1, GAUGE, F64, "s",
	  "drain and window tick", DAEMON(tick_s) },
	{ "profd.sampling.cpus_attached", "sampling.hotplug.attached", "profd_sampling_cpus_attached_total", 1,
	  COUNTER, U64, "CPUs", "CPUs that came online after start and are sampled since", DAEMON(samples.cpus_attached) },
	{ "profd.sampling.cpus_detached", "sampling.hotplug.detached", "profd_sampling_cpus_detached_total", 1,
	  COUNTER, U64, "CPUs", "CPUs that went offline (their perf events closed)", DAEMON(samples.cpus_detached) },
	{ "profd.sampling.cpu_attach_failures", "sampling.hotplug.attach_failures",
	  "profd_sampling_cpu_attach_failures_total", 1, COUNTER, U64, "CPUs",
	  "CPUs that came online but could not be sampled (logged)", DAEMON(samples.cpu_attach_failures) },
	{ "profd.samples.taken", "samples.taken", "profd_samples_taken_total", 1, COUNTER, U64, "samples",
	  "perf_event samples the BPF program ran for (= idle + emitted + dropped)", DAEMON(samples.taken) },
	{ "profd.samples.idle", "samples.idle", "profd_samples_idle_total", 1, COUNTER, U64, "samples",
	  "samples of idle CPUs, counted and not stored", DAEMON(samples.idle) },
	{ "profd.samples.emitted", "samples.emitted", "profd_samples_emitted_total", 1, COUNTER, U64, "samples",
	  "samples the BPF program wrote to the ring buffer (kernel count)", DAEMON(samples.emitted) },
	{ "profd.samples.drained", "samples.drained", "profd_samples_drained_total", 1, COUNTER, U64, "samples",
	  "samples consumed from the ring buffer (user-space count; = applied + staged + staging drops + malformed)",
	  DAEMON(samples.drained) },
	{ "profd.samples.pending", "samples.pending", NULL, 1, GAUGE, U64, "samples",
	  "samples emitted and not drained yet (in the ring buffer): emitted - drained", DAEMON(samples_pending) },
	{ "profd.samples.applied", "samples.applied", "profd_samples_applied_total", 1, COUNTER, U64, "samples",
	  "samples added to the windows", DAEMON(samples_applied) },
	{ "profd.samples.staged", "samples.staged", NULL, 1, GAUGE, U64, "samples",
	  "samples drained while a query read the store, not yet added to the windows", DAEMON(samples_staged) },
	{ "profd.samples.dropped_staging", "samples.dropped.staging_full", "profd_samples_dropped_staging_total", 1,
	  COUNTER, U64, "samples", "samples lost: drained while a query read the store, staging_memory full",
	  DAEMON(samples_staging_dropped) },
	{ "profd.samples.store_failures", "samples.dropped.store_failures", "profd_samples_store_failures_total", 1,
	  COUNTER, U64, "samples", "samples lost: the windows could not allocate for them", DAEMON(samples_store_failed) },
	{ "profd.samples.dropped_ringbuf", "samples.dropped.ringbuf_full", "profd_samples_dropped_ringbuf_total", 1,
	  COUNTER, U64, "samples", "samples lost: the ring buffer was full", DAEMON(samples.dropped_ringbuf) },
	{ "profd.samples.proc_events_lost", "samples.dropped.proc_events_lost", "profd_proc_events_lost_total", 1,
	  COUNTER, U64, "events", "exec/exit events lost: their ring buffer was full",
	  DAEMON(samples.proc_events_lost) },
	{ "profd.samples.kstack_errors", "samples.kstack_errors", "profd_samples_kstack_errors_total", 1, COUNTER, U64,
	  "samples", "samples whose kernel stack could not be read", DAEMON(samples.kstack_err) },
	{ "profd.samples.ustack_errors", "samples.ustack_errors", "profd_samples_ustack_errors_total", 1, COUNTER, U64,
	  "samples", "samples whose user stack could not be read", DAEMON(samples.ustack_err) },
	{ "profd.samples.malformed", "samples.malformed", "profd_records_malformed_total", 1, COUNTER, U64, "records",
	  "ring-buffer records of unexpected size or kind (ignored)", DAEMON(samples.malformed) },
	{ "profd.samples.proc_events", "samples.proc_events", "profd_proc_events_total", 1, COUNTER, U64, "events",
	  "exec/exit events consumed", DAEMON(samples.proc_events) },

	{ "profd.samples.unwound", "samples.unwound", "profd_samples_unwound_total", 1, COUNTER, U64, "samples",
	  "samples whose user stack was unwound in the kernel with CFI tables", DAEMON(samples.unwound) },
	{ "profd.samples.unwind_fallback", "samples.unwind_fallback", "profd_samples_unwind_fallback_total", 1, COUNTER,
	  U64, "samples", "samples of processes without a mapping table yet (kernel build-id walk instead)",
	  DAEMON(samples.unwind_fallback) },
	{ "profd.samples.frames_dwarf", "samples.frames.dwarf", "profd_frames_dwarf_total", 1, COUNTER, U64, "frames",
	  "user frames found by a CFI step", DAEMON(samples.frames_dwarf) },
	{ "profd.samples.frames_fp", "samples.frames.fp", "profd_frames_fp_total", 1, COUNTER, U64, "frames",
	  "user frames found by a frame-pointer step (object without a table)", DAEMON(samples.frames_fp) },
	{ "profd.samples.frames_signal", "samples.frames.signal", "profd_frames_signal_total", 1, COUNTER, U64, "frames",
	  "user frames restored from signal frames", DAEMON(samples.frames_signal) },
	{ "profd.samples.ustop_end", "samples.unwind_stop.end", "profd_unwind_stop_end_total", 1, COUNTER, U64, "samples",
	  "unwinds that reached the outermost frame (complete stacks)", DAEMON(samples.ustop[PROFD_USTOP_END]) },
	{ "profd.samples.ustop_cut", "samples.unwind_stop.cut", "profd_unwind_stop_cut_total", 1, COUNTER, U64, "samples",
	  "unwinds cut at max_user_frames (flagged truncated)", DAEMON(samples.ustop[PROFD_USTOP_CUT]) },
	{ "profd.samples.ustop_no_mapping", "samples.unwind_stop.no_mapping", "profd_unwind_stop_no_mapping_total", 1,
	  COUNTER, U64, "samples", "unwinds that met a pc in no known mapping (a maps re-read is asked)",
	  DAEMON(samples.ustop[PROFD_USTOP_NO_MAPPING]) },
	{ "profd.samples.ustop_read", "samples.unwind_stop.read", "profd_unwind_stop_read_total", 1, COUNTER, U64,
	  "samples", "unwinds stopped by unreadable user memory", DAEMON(samples.ustop[PROFD_USTOP_READ]) },
	{ "profd.samples.ustop_unsupported", "samples.unwind_stop.unsupported", "profd_unwind_stop_unsupported_total", 1,
	  COUNTER, U64, "samples", "unwinds stopped by a CFI rule the BPF unwinder does not follow",
	  DAEMON(samples.ustop[PROFD_USTOP_UNSUP]) },
	{ "profd.samples.ustop_fp", "samples.unwind_stop.fp", "profd_unwind_stop_fp_total", 1, COUNTER, U64, "samples",
	  "unwinds stopped where a frame-pointer step found no frame", DAEMON(samples.ustop[PROFD_USTOP_FP]) },
	{ "profd.samples.ustop_bad_sp", "samples.unwind_stop.bad_sp", "profd_unwind_stop_bad_sp_total", 1, COUNTER, U64,
	  "samples", "unwinds stopped because the stack pointer did not grow", DAEMON(samples.ustop[PROFD_USTOP_BAD_SP]) },
	{ "profd.samples.ustop_zero_pc", "samples.unwind_stop.zero_pc", "profd_unwind_stop_zero_pc_total", 1, COUNTER,
	  U64, "samples", "unwinds that ended at a zero return address", DAEMON(samples.ustop[PROFD_USTOP_ZERO_PC]) },

	{ "profd.samples.row_cache_hits", "samples.row_cache_hits", "profd_unwind_row_cache_hits_total", 1, COUNTER,
	  U64, "frames", "CFI rows found in the per-CPU cache of recent rows", DAEMON(samples.row_cache_hits) },
	{ "profd.samples.unwound_ns", "samples.walk.unwound_sample_ns", "profd_unwound_sample_seconds_total", NS_TO_S,
	  COUNTER, U64, "ns", "BPF time of the samples unwound with tables, whole program (per sample: / samples.unwound)",
	  DAEMON(samples.unwound_ns) },
	{ "profd.samples.cfi_walk_ns", "samples.walk.cfi_ns", "profd_cfi_walk_seconds_total", NS_TO_S, COUNTER, U64,
	  "ns", "BPF time in CFI stack walks (per unwound sample: / samples.unwound)", DAEMON(samples.cfi_walk_ns) },
	{ "profd.samples.bid_walk_ns", "samples.walk.build_id_ns", "profd_build_id_walk_seconds_total", NS_TO_S,
	  COUNTER, U64, "ns", "BPF time in the kernel's frame-pointer walks with build-ids",
	  DAEMON(samples.bid_walk_ns) },
	{ "profd.samples.bid_walks", "samples.walk.build_id_walks", "profd_build_id_walks_total", 1, COUNTER, U64,
	  "samples", "samples walked by the kernel's frame-pointer walk with build-ids", DAEMON(samples.bid_walks) },

	{ "profd.unwind.tables", "unwind.tables", "profd_unwind_tables", 1, GAUGE, U64, "tables",
	  "objects with an unwind table loaded in the kernel", DAEMON(unwind.tables) },
	{ "profd.unwind.table_bytes", "unwind.table_bytes", "profd_unwind_table_bytes", 1, GAUGE, U64, "bytes",
	  "kernel memory holding unwind tables", DAEMON(unwind.table_bytes) },
	{ "profd.unwind.table_limit_bytes", "unwind.table_limit_bytes", "profd_unwind_table_limit_bytes", 1, GAUGE, U64,
	  "bytes", "bound on unwind tables (unwind_memory)", DAEMON(unwind.table_limit_bytes) },
	{ "profd.unwind.objects", "unwind.objects", "profd_unwind_objects", 1, GAUGE, U64, "objects",
	  "executable objects known to the unwinder", DAEMON(unwind.objects) },
	{ "profd.unwind.without_table", "unwind.without_table", "profd_unwind_objects_without_table", 1, GAUGE, U64,
	  "objects", "mapped objects without a table: building, no CFI, failed, or no room", DAEMON(unwind.without_table) },
	{ "profd.unwind.no_cfi", "unwind.no_cfi", "profd_unwind_objects_no_cfi", 1, GAUGE, U64, "objects",
	  "mapped objects with no CFI at all (frame pointers only)", DAEMON(unwind.no_cfi) },
	{ "profd.unwind.builds", "unwind.builds", "profd_unwind_builds_total", 1, COUNTER, U64, "tables",
	  "unwind tables built", DAEMON(unwind.builds) },
	{ "profd.unwind.build_failures", "unwind.build_failures", "profd_unwind_build_failures_total", 1, COUNTER, U64,
	  "objects", "objects whose file could not be opened or parsed", DAEMON(unwind.build_failures) },
	{ "profd.unwind.build_ns", "unwind.build_ns", "profd_unwind_build_seconds_total", NS_TO_S, COUNTER, U64, "ns",
	  "time spent building unwind tables", DAEMON(unwind.build_ns) },
	{ "profd.unwind.cfi_bytes", "unwind.cfi_bytes", "profd_unwind_cfi_bytes_total", 1, COUNTER, U64, "bytes",
	  "CFI (.eh_frame) bytes parsed by those builds", DAEMON(unwind.cfi_bytes) },
	{ "profd.unwind.build_queue", "unwind.build_queue", "profd_unwind_build_queue", 1, GAUGE, U64, "builds",
	  "table builds queued or running", DAEMON(unwind.build_queue) },
	{ "profd.unwind.pool_full", "unwind.pool_full", "profd_unwind_pool_full_total", 1, COUNTER, U64, "tables",
	  "tables dropped: no room under unwind_memory even after evicting unmapped ones", DAEMON(unwind.pool_full) },
	{ "profd.unwind.evictions", "unwind.evictions", "profd_unwind_evictions_total", 1, COUNTER, U64, "tables",
	  "tables evicted (unmapped past the linger time, or for room)", DAEMON(unwind.evictions) },
	{ "profd.unwind.processes", "unwind.processes", "profd_unwind_processes", 1, GAUGE, U64, "processes",
	  "processes with a mapping table in the kernel", DAEMON(unwind.processes) },
	{ "profd.unwind.process_full", "unwind.process_full", "profd_unwind_process_full_total", 1, COUNTER, U64,
	  "events", "mapping tables or objects refused: a per-process, mapping or object bound was reached",
	  DAEMON(unwind.process_full) },
	{ "profd.unwind.mappings", "unwind.mappings", "profd_unwind_mappings", 1, GAUGE, U64, "mappings",
	  "executable mappings held for those processes", DAEMON(unwind.mappings) },
	{ "profd.unwind.maps_reads", "unwind.maps_reads", "profd_unwind_maps_reads_total", 1, COUNTER, U64, "reads",
	  "/proc/PID/maps reads for mapping tables", DAEMON(unwind.maps_reads) },
	{ "profd.unwind.refreshes", "unwind.refreshes", "profd_unwind_refreshes_total", 1, COUNTER, U64, "reads",
	  "re-reads for a pc in no known mapping (dlopen, JIT, exec)", DAEMON(unwind.refreshes) },
	{ "profd.unwind.open_failures", "unwind.open_failures", "profd_unwind_open_failures_total", 1, COUNTER, U64,
	  "files", "mapped files that could not be opened (their frames by frame pointers)",
	  DAEMON(unwind.open_failures) },

	{ "profd.python.walks", "python.walks", "profd_python_walks_total", 1, COUNTER, U64, "samples",
	  "samples whose native stack ran CPython's eval loop: the BPF program walked their Python frames",
	  DAEMON(samples.py_walks) },
	{ "profd.python.frames_walked", "python.frames_walked", "profd_python_frames_walked_total", 1, COUNTER, U64,
	  "frames", "Python frames the BPF walk emitted", DAEMON(samples.py_frames) },
	{ "profd.python.walks_cut", "python.walks_cut", "profd_python_walks_cut_total", 1, COUNTER, U64, "samples",
	  "Python walks cut at 64 frames or the record's room (the outer Python frames are left out)",
	  DAEMON(samples.py_cut) },
	{ "profd.python.no_thread", "python.no_thread", "profd_python_no_thread_total", 1, COUNTER, U64, "samples",
	  "Python walks that found no thread state for the sampled thread (its eval frames stay native)",
	  DAEMON(samples.py_no_thread) },
	{ "profd.python.read_errors", "python.read_errors", "profd_python_read_errors_total", 1, COUNTER, U64,
	  "samples", "Python walks stopped by unreadable interpreter memory", DAEMON(samples.py_read_err) },
	{ "profd.python.walk_ns", "python.walk_ns", "profd_python_walk_seconds_total", NS_TO_S, COUNTER, U64, "ns",
	  "BPF time in Python walks (per walk: / python.walks)", DAEMON(samples.py_walk_ns) },
	{ "profd.python.frames", "python.frames", "profd_python_frames_total", 1, COUNTER, U64, "frames",
	  "Python frames put into stacks in place of _PyEval_EvalFrameDefault frames", DAEMON(py_frames) },
	{ "profd.python.evals_named", "python.evals_named", "profd_python_evals_named_total", 1, COUNTER, U64,
	  "frames", "_PyEval_EvalFrameDefault frames replaced by the Python frames they ran", DAEMON(py_evals_named) },
	{ "profd.python.evals_unnamed", "python.evals_unnamed", "profd_python_evals_unnamed_total", 1, COUNTER, U64,
	  "frames", "_PyEval_EvalFrameDefault frames left native: no Python frames left for them",
	  DAEMON(py_evals_unnamed) },
	{ "profd.python.frames_unmatched", "python.frames_unmatched", "profd_python_frames_unmatched_total", 1,
	  COUNTER, U64, "frames", "Python frames dropped: the native stack had no eval frame left for them",
	  DAEMON(py_frames_unmatched) },
	{ "profd.python.names", "python.names", "profd_python_names", 1, GAUGE, U64, "names",
	  "distinct Python frame names (file.py:qualname) interned, at most 65536", DAEMON(symbols.python.names) },
	{ "profd.python.names_full", "python.names_full", "profd_python_names_full_total", 1, COUNTER, U64, "frames",
	  "Python frames named [python] because the name bound was reached", DAEMON(symbols.python.names_full) },
	{ "profd.python.code_reads", "python.code_reads", "profd_python_code_reads_total", 1, COUNTER, U64, "reads",
	  "code objects read from a process's memory (cache misses)", DAEMON(symbols.python.reads) },
	{ "profd.python.code_entries", "python.code_entries", "profd_python_code_entries", 1, GAUGE, U64, "entries",
	  "code objects known by (process, start time, address, signature), at most 262144",
	  DAEMON(symbols.python.entries) },
	{ "profd.python.code_entries_full", "python.code_entries_full", "profd_python_code_entries_full_total", 1,
	  COUNTER, U64, "frames", "Python frames named [python] because the entry bound was reached",
	  DAEMON(symbols.python.entries_full) },
	{ "profd.python.code_pending", "python.code_pending", "profd_python_code_pending", 1, GAUGE, U64, "entries",
	  "code objects waiting for the reader thread (named [python] until read)", DAEMON(symbols.python.pending) },
	{ "profd.python.code_queue_full", "python.code_queue_full", "profd_python_code_queue_full_total", 1, COUNTER,
	  U64, "events", "reads deferred to the code object's next frame: the reader's queue (4096) was full",
	  DAEMON(symbols.python.queue_full) },
	{ "profd.python.code_read_failures", "python.code_read_failures", "profd_python_code_read_failures_total", 1,
	  COUNTER, U64, "reads", "code objects or names that could not be read (process gone): named [python]",
	  DAEMON(symbols.python.read_failures) },
	{ "profd.python.code_stale", "python.code_stale", "profd_python_code_stale_total", 1, COUNTER, U64, "reads",
	  "code objects changed since the sample (freed, address reused): named [python]", DAEMON(symbols.python.stale) },
	{ "profd.python.interpreters", "python.interpreters", "profd_python_interpreters_total", 1, COUNTER, U64,
	  "objects", "executables or libraries recognized as CPython 3.11", DAEMON(unwind.python_objects) },
	{ "profd.python.tables", "python.tables", "profd_python_tables_total", 1, COUNTER, U64, "tables",
	  "mapping tables published with Python frames on", DAEMON(unwind.python_processes) },

	{ "profd.processes.tracked", "processes.tracked", "profd_processes_tracked", 1, GAUGE, U64, "processes",
	  "processes in the process table, alive or dead", DAEMON(procs.procs) },
	{ "profd.processes.alive", "processes.alive", "profd_processes_alive", 1, GAUGE, U64, "processes",
	  "tracked processes still running", DAEMON(procs.alive) },
	{ "profd.processes.table_full", "processes.table_full", "profd_processes_table_full_total", 1, COUNTER, U64,
	  "processes", "new processes refused: the table was full of processes still referenced",
	  DAEMON(procs.full_drops) },
	{ "profd.processes.collected", "processes.collected", "profd_processes_collected_total", 1, COUNTER, U64,
	  "processes", "dead processes removed once no window referred to them", DAEMON(procs.collected) },
	{ "profd.processes.read_errors", "processes.read_errors", "profd_processes_read_errors_total", 1, COUNTER,
	  U64, "reads", "/proc files unreadable or malformed", DAEMON(procs.proc_read_errors) },
	{ "profd.processes.expired", "processes.expired", "profd_processes_expired_total", 1, COUNTER, U64,
	  "processes", "dead processes evicted while windows still held their data (table full)",
	  DAEMON(procs.expired) },
	{ "profd.processes.limit", "processes.limit", "profd_processes_limit", 1, GAUGE, U64, "processes",
	  "bound on the process table (max_processes)", DAEMON(procs_limit) },

	{ "profd.stacks.interned", "stacks.interned", "profd_stacks_interned", 1, GAUGE, U64, "stacks",
	  "distinct stacks held", DAEMON(stacks.stacks) },
	{ "profd.stacks.bytes", "stacks.bytes", "profd_stacks_bytes", 1, GAUGE, U64, "bytes",
	  "memory of the stack table", DAEMON(stacks.bytes) },
	{ "profd.stacks.table_full", "stacks.table_full", "profd_stacks_table_full_total", 1, COUNTER, U64, "stacks",
	  "new stacks refused at max_stacks (their samples count as [stack table full])", DAEMON(stacks.full_drops) },
	{ "profd.stacks.collected", "stacks.collected", "profd_stacks_collected_total", 1, COUNTER, U64, "stacks",
	  "stacks freed once no window referred to them", DAEMON(stacks.collected) },
	{ "profd.stacks.limit", "stacks.limit", "profd_stacks_limit", 1, GAUGE, U64, "stacks",
	  "bound on distinct stacks (max_stacks)", DAEMON(stacks_limit) },

	{ "profd.store.bytes", "store.bytes", "profd_store_bytes", 1, GAUGE, U64, "bytes",
	  "memory held by the window slots", DAEMON(store.bytes) },
	{ "profd.store.limit_bytes", "store.limit_bytes", "profd_store_limit_bytes", 1, GAUGE, U64, "bytes",
	  "memory bound of the windows (memory_limit)", DAEMON(store_limit) },
	{ "profd.store.entries", "store.entries", "profd_store_entries", 1, GAUGE, U64, "entries",
	  "(process, stack) entries in all slots", DAEMON(store.entries) },
	{ "profd.store.coarsened_entries", "store.coarsened_entries", "profd_store_coarsened_entries_total", 1,
	  COUNTER, U64, "entries", "entries folded into [coarsened] by the memory bound",
	  DAEMON(store.coarsened_entries) },
	{ "profd.store.dropped_slots", "store.dropped_slots", "profd_store_dropped_slots_total", 1, COUNTER, U64,
	  "slots", "slots dropped early by the memory bound", DAEMON(store.dropped_slots) },
	{ "profd.store.counter_records", "store.counter_records", "profd_store_counter_records", 1, GAUGE, U64,
	  "records", "(process, slot) counter records held", DAEMON(store.counter_records) },

	{ "profd.symbols.objects", "symbols.objects", "profd_symbols_objects", 1, GAUGE, U64, "objects",
	  "binaries and libraries known", DAEMON(symbols.objects) },
	{ "profd.symbols.objects_loaded", "symbols.objects_loaded", "profd_symbols_objects_loaded", 1, GAUGE, U64,
	  "objects", "objects whose symbol table is in memory", DAEMON(symbols.objects_loaded) },
	{ "profd.symbols.cache_bytes", "symbols.cache_bytes", "profd_symbols_cache_bytes", 1, GAUGE, U64, "bytes",
	  "memory of loaded symbol tables", DAEMON(symbols.cache_bytes) },
	{ "profd.symbols.cache_limit_bytes", "symbols.cache_limit_bytes", "profd_symbols_cache_limit_bytes", 1,
	  GAUGE, U64, "bytes", "bound on loaded symbol tables (cache_size)", DAEMON(symbols_cache_limit) },
	{ "profd.symbols.evictions", "symbols.evictions", "profd_symbols_evictions_total", 1, COUNTER, U64,
	  "tables", "tables evicted to stay within cache_size", DAEMON(symbols.evictions) },
	{ "profd.symbols.load_failures", "symbols.load_failures", "profd_symbols_load_failures_total", 1, COUNTER,
	  U64, "objects", "files that could not be opened or parsed", DAEMON(symbols.load_failures) },
	{ "profd.symbols.pending", "symbols.pending", "profd_symbols_pending", 1, GAUGE, U64, "loads",
	  "symbol loads queued or running", DAEMON(symbols.pending) },
	{ "profd.symbols.objects_full", "symbols.objects_full", "profd_symbols_objects_full_total", 1, COUNTER, U64,
	  "objects", "objects refused at max_objects", DAEMON(symbols.objects_full) },
	{ "profd.symbols.kernel_symbols", "symbols.kernel_symbols", "profd_symbols_kernel", 1, GAUGE, U64, "symbols",
	  "kallsyms entries loaded", DAEMON(symbols.kernel_symbols) },
	{ "profd.symbols.maps_reads", "symbols.maps_reads", "profd_symbols_maps_reads_total", 1, COUNTER, U64, "reads",
	  "/proc/PID/maps reads submitted to the identify thread", DAEMON(symbols.maps_reads) },
	{ "profd.symbols.identify_pending", "symbols.identify_pending", "profd_symbols_identify_pending", 1, GAUGE,
	  U64, "jobs", "maps reads and exec identifications queued or running", DAEMON(symbols.identify_pending) },
	{ "profd.symbols.identify_failures", "symbols.identify_failures", "profd_symbols_identify_failures_total", 1,
	  COUNTER, U64, "files", "code files or exec'd paths that could not be identified",
	  DAEMON(symbols.identify_failures) },
	{ "profd.symbols.bad_offsets", "symbols.bad_offsets", "profd_symbols_bad_offsets_total", 1, COUNTER, U64,
	  "frames", "frames refused: their file offset cannot lie in their file", DAEMON(symbols.bad_offsets) },
	{ "profd.symbols.proc_objects", "symbols.proc_objects", "profd_symbols_process_objects", 1, GAUGE, U64,
	  "objects", "process objects: frames drained before their process's maps were read",
	  DAEMON(symbols.proc_objects) },
	{ "profd.symbols.proc_pending", "symbols.proc_pending", "profd_symbols_process_objects_pending", 1, GAUGE,
	  U64, "objects", "process objects still awaiting their maps read", DAEMON(symbols.proc_pending) },
	{ "profd.symbols.proc_frames", "symbols.proc_frames", "profd_symbols_process_frames", 1, GAUGE, U64, "frames",
	  "frames recorded under process objects", DAEMON(symbols.proc_frames) },
	{ "profd.symbols.proc_recycled", "symbols.proc_recycled", "profd_symbols_process_objects_recycled_total", 1,
	  COUNTER, U64, "objects", "process objects recycled to stay within their bound", DAEMON(symbols.proc_recycled) },
	{ "profd.symbols.proc_refused", "symbols.proc_refused", "profd_symbols_process_frames_refused_total", 1,
	  COUNTER, U64, "frames", "frames left unknown: the process-object bounds were reached",
	  DAEMON(symbols.proc_refused) },
	{ "profd.symbols.jit_objects", "symbols.jit_objects", "profd_symbols_jit_objects", 1, GAUGE, U64, "objects",
	  "JIT objects: process lives whose anonymous executable memory was sampled", DAEMON(symbols.jit_objects) },
	{ "profd.symbols.jit_maps_loaded", "symbols.jit_maps_loaded", "profd_symbols_jit_maps_loaded", 1, GAUGE, U64,
	  "maps", "JIT objects whose perf-PID.map is in memory", DAEMON(symbols.jit_maps_loaded) },
	{ "profd.symbols.jit_map_reads", "symbols.jit_map_reads", "profd_symbols_jit_map_reads_total", 1, COUNTER,
	  U64, "reads", "perf-PID.map reads (at most one per JIT object per second)", DAEMON(symbols.jit_map_reads) },
	{ "profd.symbols.jit_map_failures", "symbols.jit_map_failures", "profd_symbols_jit_map_failures_total", 1,
	  COUNTER, U64, "reads", "perf-PID.map reads that found no map or failed", DAEMON(symbols.jit_map_failures) },
	{ "profd.symbols.jit_truncated", "symbols.jit_truncated", "profd_symbols_jit_maps_truncated_total", 1,
	  COUNTER, U64, "reads", "perf-PID.map reads cut at 16 MiB", DAEMON(symbols.jit_truncated) },
	{ "profd.symbols.jit_recycled", "symbols.jit_recycled", "profd_symbols_jit_objects_recycled_total", 1,
	  COUNTER, U64, "objects", "JIT objects recycled to stay within their bound (1024)",
	  DAEMON(symbols.jit_recycled) },
	{ "profd.symbols.debuginfod_queries", "symbols.debuginfod_queries", "profd_symbols_debuginfod_queries_total",
	  1, COUNTER, U64, "queries", "debug files asked of debuginfod (cache or server)",
	  DAEMON(symbols.dbginfod_queries) },
	{ "profd.symbols.debuginfod_downloads", "symbols.debuginfod_downloads",
	  "profd_symbols_debuginfod_downloads_total", 1, COUNTER, U64, "files", "debug files downloaded from a server",
	  DAEMON(symbols.dbginfod_downloads) },
	{ "profd.symbols.debuginfod_cache_hits", "symbols.debuginfod_cache_hits",
	  "profd_symbols_debuginfod_cache_hits_total", 1, COUNTER, U64, "files",
	  "debug files found in the debuginfod cache", DAEMON(symbols.dbginfod_cache_hits) },
	{ "profd.symbols.debuginfod_failures", "symbols.debuginfod_failures", "profd_symbols_debuginfod_failures_total",
	  1, COUNTER, U64, "queries", "debuginfod queries that failed (no such file, server down, timeout)",
	  DAEMON(symbols.dbginfod_failures) },
	{ "profd.symbols.debuginfod_held_off", "symbols.debuginfod_held_off",
	  "profd_symbols_debuginfod_held_off_total", 1, COUNTER, U64, "loads",
	  "remote loads not asked: every query is held off after a transport error", DAEMON(symbols.dbginfod_held_off) },
	{ "profd.symbols.debuginfod_bytes", "symbols.debuginfod_bytes", "profd_symbols_debuginfod_downloaded_bytes_total",
	  1, COUNTER, U64, "bytes", "bytes of debug files downloaded", DAEMON(symbols.dbginfod_bytes) },
	{ "profd.symbols.debuginfod_cache_bytes", "symbols.debuginfod_cache_bytes",
	  "profd_symbols_debuginfod_cache_bytes", 1, GAUGE, U64, "bytes",
	  "debuginfod cache size after its last trim (0 until a download)", DAEMON(symbols.dbginfod_cache_bytes) },
	{ "profd.symbols.debuginfod_evicted", "symbols.debuginfod_evicted", "profd_symbols_debuginfod_evicted_total", 1,
	  COUNTER, U64, "files", "debuginfod cache files removed to stay within debuginfod_cache_size",
	  DAEMON(symbols.dbginfod_evicted) },
	{ "profd.symbols.debuginfod_pending", "symbols.debuginfod_pending", "profd_symbols_debuginfod_pending", 1,
	  GAUGE, U64, "loads", "remote loads queued or running", DAEMON(symbols.dbginfod_pending) },

	{ "profd.server.clients", "server.clients", "profd_server_clients", 1, GAUGE, U64, "clients",
	  "clients connected now", DAEMON(server.clients) },
	{ "profd.server.accepted", "server.accepted", "profd_server_accepted_total", 1, COUNTER, U64, "clients",
	  "connections accepted", DAEMON(server.accepted) },
	{ "profd.server.requests", "server.requests", "profd_server_requests_total", 1, COUNTER, U64, "requests",
	  "requests answered", DAEMON(server.requests) },
	{ "profd.server.errors", "server.errors", "profd_server_errors_total", 1, COUNTER, U64, "requests",
	  "error replies sent", DAEMON(server.errors) },
	{ "profd.server.rejected_clients", "server.rejected_clients", "profd_server_rejected_clients_total", 1,
	  COUNTER, U64, "clients", "connections refused at max_clients", DAEMON(server.rejected_clients) },
	{ "profd.server.oversized", "server.oversized", "profd_server_oversized_total", 1, COUNTER, U64, "requests",
	  "requests over max_request", DAEMON(server.oversized) },
	{ "profd.server.idle_closed", "server.idle_closed", "profd_server_idle_closed_total", 1, COUNTER, U64,
	  "clients", "clients closed after client_idle_timeout", DAEMON(server.idle_closed) },
	{ "profd.server.slow_closed", "server.slow_closed", "profd_server_slow_closed_total", 1, COUNTER, U64,
	  "clients", "of the idle clients closed, those that had stopped reading their replies", DAEMON(server.slow_closed) },
	{ "profd.server.limit_clients", "server.limit_clients", "profd_server_clients_limit", 1, GAUGE, U64, "clients",
	  "bound on concurrent clients (max_clients)", DAEMON(server_clients_limit) },
	{ "profd.server.protocol_version", "server.protocol_version", NULL, 1, GAUGE, U64, "",
	  "newest protocol version this daemon speaks (it answers 1 too)", DAEMON(protocol_version) },
	{ "profd.server.pending", "server.pending", NULL, 1, GAUGE, U64, "requests",
	  "requests taken and not finished (with the worker or streaming)", DAEMON(server.pending) },
	{ "profd.server.turns", "server.turns", NULL, 1, COUNTER, U64, "turns",
	  "dispatch turns: each takes one request from every client that has one", DAEMON(server.turns) },
	{ "profd.server.streams", "server.streams", "profd_server_streams", 1, GAUGE, U64, "streams",
	  "streamed payloads in progress", DAEMON(server.streams) },
	{ "profd.server.streamed_bytes", "server.streamed_bytes", "profd_server_streamed_bytes_total", 1, COUNTER, U64,
	  "bytes", "payload bytes streamed to clients", DAEMON(server.streamed_bytes) },
	{ "profd.server.stream_pauses", "server.stream_pauses", "profd_server_stream_pauses_total", 1, COUNTER, U64,
	  "pauses", "times a stream waited: its client not reading, or reply_memory full", DAEMON(server.stream_pauses) },
	{ "profd.server.reply_bytes", "server.reply_bytes", "profd_server_reply_bytes", 1, GAUGE, U64, "bytes",
	  "bytes queued (or reserved) for clients now", DAEMON(server.reply_bytes) },
	{ "profd.server.reply_bytes_max", "server.reply_bytes_max", NULL, 1, GAUGE, U64, "bytes",
	  "the most bytes ever queued for clients at once", DAEMON(server.reply_bytes_max) },
	{ "profd.server.reply_refused", "server.reply_refused", "profd_server_reply_refused_total", 1, COUNTER, U64,
	  "replies", "replies refused with busy: over max_reply, or no room in reply_memory", DAEMON(server.reply_refused) },

	{ "profd.queries.top", "queries.top", "profd_queries_top_total", 1, COUNTER, U64, "queries",
	  "top queries answered by the query worker", DAEMON(q_top) },
	{ "profd.queries.exports", "queries.exports", "profd_queries_exports_total", 1, COUNTER, U64, "queries",
	  "exports built by the query worker", DAEMON(q_exports) },
	{ "profd.queries.export_bytes", "queries.export_bytes", "profd_queries_export_bytes_total", 1, COUNTER, U64,
	  "bytes", "payload bytes of finished exports", DAEMON(q_export_bytes) },
	{ "profd.queries.export_failures", "queries.export_failures", "profd_queries_export_failures_total", 1, COUNTER,
	  U64, "queries", "exports that failed after their header was sent", DAEMON(q_export_failures) },
	{ "profd.queries.timeouts", "queries.timeouts", "profd_queries_timeouts_total", 1, COUNTER, U64, "queries",
	  "queries aborted: they read the store longer than query_timeout", DAEMON(q_timeouts) },
	{ "profd.queries.refused_memory", "queries.refused_memory", "profd_queries_refused_memory_total", 1, COUNTER,
	  U64, "queries", "exports refused: over query_memory, or over max_reply for a version 1 request",
	  DAEMON(q_refused_memory) },
	{ "profd.queries.refused_queue", "queries.refused_queue", "profd_queries_refused_queue_total", 1, COUNTER, U64,
	  "queries", "queries refused with busy: max_queued_queries were waiting", DAEMON(q_refused) },
	{ "profd.queries.queued", "queries.queued", "profd_queries_queued", 1, GAUGE, U64, "jobs",
	  "jobs waiting for the query worker now (export pieces included)", DAEMON(q_queued) },
	{ "profd.queries.queued_max", "queries.queued_max", NULL, 1, GAUGE, U64, "jobs",
	  "the most jobs ever waiting at once", DAEMON(q_queued_max) },
	{ "profd.queries.queue_limit", "queries.queue_limit", NULL, 1, GAUGE, U64, "queries",
	  "bound on queries waiting (max_queued_queries)", DAEMON(q_queue_limit) },
	{ "profd.queries.running", "queries.running", NULL, 1, GAUGE, U64, "jobs",
	  "1 while the query worker runs a job", DAEMON(q_running) },
	{ "profd.queries.jobs", "queries.jobs", "profd_queries_jobs_total", 1, COUNTER, U64, "jobs",
	  "jobs the query worker ran (a query, or one piece of an export)", DAEMON(q_jobs) },
	{ "profd.queries.store_reads", "queries.store_reads", NULL, 1, COUNTER, U64, "reads",
	  "times the query worker read the store", DAEMON(q_reads) },
	{ "profd.queries.store_read_ms_max", "queries.store_read_ms_max", "profd_queries_store_read_max_seconds", 1e-3,
	  GAUGE, F64, "ms", "longest the query worker held the store (the loop staged meanwhile)", DAEMON(q_read_ms_max) },
	{ "profd.queries.store_wait_ms_max", "queries.store_wait_ms_max", NULL, 1, GAUGE, F64, "ms",
	  "longest the query worker waited for the loop's turn with the store", DAEMON(q_wait_ms_max) },
	{ "profd.queries.loop_deferred", "queries.loop_deferred", NULL, 1, COUNTER, U64, "turns",
	  "times the loop found the store being read and staged instead", DAEMON(q_loop_deferred) },
	{ "profd.queries.timeout_ms", "queries.timeout_ms", NULL, 1, GAUGE, U64, "ms",
	  "query_timeout", DAEMON(q_timeout_ms) },

	{ "profd.staging.records", "staging.records", NULL, 1, GAUGE, U64, "records",
	  "records (samples, events, ticks) waiting in staging now", DAEMON(staging_records) },
	{ "profd.staging.bytes_max", "staging.bytes_max", NULL, 1, GAUGE, U64, "bytes",
	  "the most staging ever held", DAEMON(staging_bytes_max) },
	{ "profd.staging.events_dropped", "staging.events_dropped", "profd_staging_events_dropped_total", 1, COUNTER,
	  U64, "events", "exec/exit events lost: staging_memory full", DAEMON(staging_events_dropped) },
	{ "profd.staging.deferred_ticks", "staging.deferred_ticks", "profd_staging_deferred_ticks_total", 1, COUNTER,
	  U64, "ticks", "ticks applied more than 50 ms late (a query held the store, or a backlog)", DAEMON(staging_deferred_ticks) },
	{ "profd.staging.replay_slices", "staging.replay_slices", NULL, 1, COUNTER, U64, "slices",
	  "times a backlog was applied over several loop turns (5 ms each), status answered between them",
	  DAEMON(staging_slices) },
	{ "profd.staging.delay_ms_max", "staging.delay_ms_max", "profd_staging_delay_max_seconds", 1e-3, GAUGE, F64,
	  "ms", "longest a drained record waited in staging before reaching the windows", DAEMON(staging_delay_ms_max) },

	{ "profd.memory.budget_bytes", "memory.budget_bytes", "profd_memory_budget_bytes", 1, GAUGE, U64, "bytes",
	  "memory_budget: every bound below fits in it", DAEMON(mem_budget) },
	{ "profd.memory.rss_bytes", "memory.rss_bytes", NULL, 1, GAUGE, U64, "bytes",
	  "resident memory now (VmRSS)", DAEMON(rss_bytes) },
	{ "profd.memory.rss_peak_bytes", "memory.rss_peak_bytes", "profd_resident_memory_peak_bytes", 1, GAUGE, U64,
	  "bytes", "highest resident memory since start (VmHWM)", DAEMON(rss_peak_bytes) },
	{ "profd.memory.store_bytes", "memory.store_bytes", NULL, 1, GAUGE, U64, "bytes",
	  "window store (its bound: memory_limit)", DAEMON(store.bytes) },
	{ "profd.memory.store_limit_bytes", "memory.store_limit_bytes", NULL, 1, GAUGE, U64, "bytes",
	  "[windows] memory_limit", DAEMON(store_limit) },
	{ "profd.memory.symbols_bytes", "memory.symbols_bytes", NULL, 1, GAUGE, U64, "bytes",
	  "symbol cache (its bound: cache_size)", DAEMON(symbols.cache_bytes) },
	{ "profd.memory.symbols_limit_bytes", "memory.symbols_limit_bytes", NULL, 1, GAUGE, U64, "bytes",
	  "[symbols] cache_size", DAEMON(symbols_cache_limit) },
	{ "profd.memory.replies_bytes", "memory.replies_bytes", NULL, 1, GAUGE, U64, "bytes",
	  "replies queued for clients (its bound: reply_memory)", DAEMON(server.reply_bytes) },
	{ "profd.memory.replies_limit_bytes", "memory.replies_limit_bytes", NULL, 1, GAUGE, U64, "bytes",
	  "[limits] reply_memory", DAEMON(replies_limit) },
	{ "profd.memory.queries_bytes", "memory.queries_bytes", "profd_memory_queries_bytes", 1, GAUGE, U64, "bytes",
	  "profiles and encoders of exports in progress (its bound: query_memory)", DAEMON(queries_bytes) },
	{ "profd.memory.queries_limit_bytes", "memory.queries_limit_bytes", NULL, 1, GAUGE, U64, "bytes",
	  "[limits] query_memory", DAEMON(queries_limit) },
	{ "profd.memory.staging_bytes", "memory.staging_bytes", "profd_memory_staging_bytes", 1, GAUGE, U64, "bytes",
	  "staging allocated now (its bound: staging_memory)", DAEMON(staging_bytes) },
	{ "profd.memory.staging_limit_bytes", "memory.staging_limit_bytes", NULL, 1, GAUGE, U64, "bytes",
	  "[limits] staging_memory", DAEMON(staging_limit) },
	{ "profd.memory.stacks_bytes", "memory.stacks_bytes", NULL, 1, GAUGE, U64, "bytes",
	  "stack table: bounded by max_stacks (a count), outside the parts above", DAEMON(stacks.bytes) },
	{ "profd.store_age_ms", "daemon.store_age_ms", NULL, 1, GAUGE, F64, "ms",
	  "age of the store, symbol and resource figures of this status (a query held the store)", DAEMON(store_age_ms) },

	{ "profd.resources.kstats_parts", "resources.kstats_parts", NULL, 1, GAUGE, U64, "bits",
	  "scheduler and block-I/O BPF parts loaded (KSTATS_PART_* bits)", DAEMON(res.kstats_parts) },
	{ "profd.resources.kstats_procs", "resources.kstats_procs", "profd_kstats_processes", 1, GAUGE, U64,
	  "processes", "processes with BPF scheduler counters", DAEMON(res.kstats_procs) },
	{ "profd.resources.kstats_exit_records", "resources.kstats_exit_records", "profd_kstats_exit_records_total", 1,
	  COUNTER, U64, "records", "final counters of exited processes consumed", DAEMON(res.kstats_exit_records) },
	{ "profd.resources.kstats_dropped", "resources.kstats_dropped", "profd_kstats_dropped_total", 1, COUNTER, U64,
	  "events", "processes or exit records the BPF maps could not hold", DAEMON(res.kstats_dropped) },
	{ "profd.resources.cgroups", "resources.cgroup_io.cgroups", NULL, 1, GAUGE, U64, "cgroups",
	  "cgroups whose block I/O is counted, named by unit (bound 4096)", DAEMON(res.cgroups) },
	{ "profd.resources.cgroups_full", "resources.cgroup_io.cgroups_full", "profd_cgroup_io_cgroups_full_total", 1,
	  COUNTER, U64, "cgroups", "cgroups not counted per unit: the bound was reached", DAEMON(res.cgroups_full) },
	{ "profd.resources.cgroup_walks", "resources.cgroup_io.walks", NULL, 1, COUNTER, U64, "walks",
	  "walks of the cgroup hierarchy to name cgroups no process was seen in (at most every 10 rounds)",
	  DAEMON(res.cgroup_walks) },
	{ "profd.resources.cgroup_unit_bytes", "resources.cgroup_io.unit_bytes", "profd_cgroup_io_unit_bytes_total", 1,
	  COUNTER, U64, "bytes", "block I/O bytes charged to a systemd unit's cgroups (unit.io_* metrics)",
	  DAEMON(res.cgroup_unit_bytes) },
	{ "profd.resources.cgroup_other_bytes", "resources.cgroup_io.other_bytes", "profd_cgroup_io_other_bytes_total",
	  1, COUNTER, U64, "bytes", "block I/O bytes charged to cgroups of no unit (the root, slices)",
	  DAEMON(res.cgroup_other_bytes) },
	{ "profd.resources.cgroup_unknown_bytes", "resources.cgroup_io.unknown_bytes",
	  "profd_cgroup_io_unknown_bytes_total", 1, COUNTER, U64, "bytes",
	  "block I/O bytes of cgroups removed before profd learnt their path", DAEMON(res.cgroup_unknown_bytes) },
	{ "profd.resources.units", "resources.cgroup_io.units", NULL, 1, GAUGE, U64, "units",
	  "units with block I/O records in the store (bound 1023)", DAEMON(res.units) },
	{ "profd.resources.units_full", "resources.cgroup_io.units_full", "profd_cgroup_io_units_full_total", 1,
	  COUNTER, U64, "records", "per-unit block I/O records refused: 1023 units in the store", DAEMON(res.units_full) },
	{ "profd.resources.proc_reads", "resources.proc_reads", "profd_proc_reads_total", 1, COUNTER, U64, "reads",
	  "per-process /proc reads", DAEMON(res.proc_reads) },
	{ "profd.resources.proc_read_failures", "resources.proc_read_failures", "profd_proc_read_failures_total", 1,
	  COUNTER, U64, "reads", "/proc reads of processes gone or unreadable", DAEMON(res.proc_read_fail) },
	{ "profd.resources.last_tick_procs", "resources.last_tick_procs", NULL, 1, GAUGE, U64, "processes",
	  "processes read in the last tick", DAEMON(res.last_tick_procs) },
	{ "profd.resources.last_tick_ms", "resources.last_tick_ms", NULL, 1, GAUGE, F64, "ms",
	  "loop time resources took in the last tick (the round request and apply: BPF, /proc and GPU "
	  "reads run on the collector thread)", DAEMON(res_last_tick_ms) },
	{ "profd.resources.max_tick_ms", "resources.max_tick_ms", "profd_resources_max_tick_seconds", 1e-3, GAUGE,
	  F64, "ms", "longest loop time of resources in a tick since start", DAEMON(res_max_tick_ms) },
	{ "profd.resources.states", "resources.states", NULL, 1, GAUGE, U64, "processes",
	  "per-process states held (gauges, unit) for top", DAEMON(res.states) },
	{ "profd.resources.kstats_ns", "resources.kstats_ns", NULL, 1, GAUGE, U64, "ns",
	  "time of the last BPF counter read (collector thread)", DAEMON(res.kstats_ns) },
	{ "profd.resources.apply_ns", "resources.apply_ns", NULL, 1, GAUGE, U64, "ns",
	  "loop time of the last apply (snapshots into the store)", DAEMON(res.apply_ns) },
	{ "profd.resources.max_apply_ns", "resources.max_apply_ns", "profd_resources_max_apply_seconds", NS_TO_S,
	  GAUGE, U64, "ns", "longest apply since start", DAEMON(res.max_apply_ns) },
	{ "profd.resources.apply_carried", "resources.apply_carried", "profd_resources_apply_carried_total", 1, COUNTER,
	  U64, "ticks", "applies that stopped at their record budget (2048) and finished on the next tick",
	  DAEMON(res.apply_carried) },
	{ "profd.resources.collector.rounds", "resources.collector.rounds", "profd_collector_rounds_total", 1,
	  COUNTER, U64, "rounds", "collection rounds run (collector thread: BPF maps, /proc, system, GPU)",
	  DAEMON(res.rounds) },
	{ "profd.resources.collector.rounds_skipped", "resources.collector.rounds_skipped",
	  "profd_collector_rounds_skipped_total", 1, COUNTER, U64, "rounds",
	  "rounds not run: finished snapshots were not applied yet (deltas carry over)", DAEMON(res.rounds_skipped) },
	{ "profd.resources.collector.last_round_ns", "resources.collector.last_round_ns", NULL, 1, GAUGE, U64, "ns",
	  "wall time of the last round, off the loop", DAEMON(res.last_round_ns) },
	{ "profd.resources.collector.max_round_ns", "resources.collector.max_round_ns",
	  "profd_collector_max_round_seconds", NS_TO_S, GAUGE, U64, "ns", "longest round since start",
	  DAEMON(res.max_round_ns) },
	{ "profd.resources.collector.lead_ns", "resources.collector.lead_ns", NULL, 1, GAUGE, U64, "ns",
	  "how long before the tick boundary a round's slow phase (/proc, GPU) starts: twice its recent time + 10 ms, 20 ms..tick/2",
	  DAEMON(res.lead_ns) },
	{ "profd.resources.collector.rounds_late", "resources.collector.rounds_late",
	  "profd_collector_rounds_late_total", 1, COUNTER, U64, "rounds",
	  "rounds applied a tick late (not ready at their tick, or apply deferred): data one slot late",
	  DAEMON(res.rounds_late) },
	{ "profd.resources.collector.rounds_past_boundary", "resources.collector.rounds_past_boundary",
	  "profd_collector_rounds_past_boundary_total", 1, COUNTER, U64, "rounds",
	  "rounds whose counters were read after their slot's end (attributed to it anyway)",
	  DAEMON(res.rounds_past_boundary) },
	{ "profd.resources.collector.followed", "resources.collector.followed", "profd_collector_followed_processes",
	  1, GAUGE, U64, "processes", "processes whose /proc the collector reads", DAEMON(res.followed) },
	{ "profd.resources.collector.follow_full", "resources.collector.follow_full",
	  "profd_collector_follow_full_total", 1, COUNTER, U64, "processes",
	  "processes not followed: max_processes reached", DAEMON(res.follow_full) },
	{ "profd.resources.collector.handles", "resources.collector.handles", "profd_collector_handles", 1, GAUGE,
	  U64, "processes", "hot processes whose /proc files are held open", DAEMON(res.handles) },
	{ "profd.resources.collector.handle_reads", "resources.collector.handle_reads",
	  "profd_collector_handle_reads_total", 1, COUNTER, U64, "reads", "/proc reads through held files",
	  DAEMON(res.handle_reads) },
	{ "profd.resources.collector.identities", "resources.collector.identities",
	  "profd_collector_identities_total", 1, COUNTER, U64, "reads",
	  "identity reads (comm, cmdline, exe, uid) of new or exec'd processes", DAEMON(res.identities) },
	{ "profd.resources.collector.wants_dropped", "resources.collector.wants_dropped",
	  "profd_collector_wants_dropped_total", 1, COUNTER, U64, "requests",
	  "identity requests refused: max_processes already queued", DAEMON(res.wants_dropped) },
	{ "profd.resources.host_steal_pct", "resources.host_steal_pct", NULL, 1, GAUGE, F64, "percent",
	  "CPU time the hypervisor took (steal), % of all CPUs, over the last 10 rounds", DAEMON(res.host_steal_pct) },

	{ "profd.rss_bytes", "daemon.rss_bytes", "profd_resident_memory_bytes", 1, GAUGE, U64, "bytes",
	  "profd's resident memory", DAEMON(rss_bytes) },
	{ "profd.cpu_seconds", "daemon.cpu_s", "profd_cpu_seconds_total", 1, COUNTER, F64, "s",
	  "profd's own CPU time (user + system, all threads)", DAEMON(cpu_s) },
	{ "profd.ticks", "daemon.ticks", "profd_ticks_total", 1, COUNTER, U64, "ticks",
	  "ticks run", DAEMON(ticks) },
	{ "profd.tick_overruns", "daemon.tick_overruns", "profd_tick_overruns_total", 1, COUNTER, U64, "ticks",
	  "ticks missed because the loop was late", DAEMON(tick_overruns) },
	{ "profd.loop.dispatches", "daemon.loop_dispatches", NULL, 1, COUNTER, U64, "callbacks",
	  "event-loop callbacks run", DAEMON(loop_dispatches) },
	{ "profd.loop.max_ms", "daemon.loop_max_ms", "profd_loop_callback_max_seconds", 1e-3, GAUGE, F64, "ms",
	  "most CPU time one event-loop callback used (every other source waited for it)", DAEMON(loop_max_ms) },
	{ "profd.loop.over_10ms", "daemon.loop_over_10ms", "profd_loop_callbacks_over_10ms_total", 1, COUNTER, U64,
	  "callbacks", "event-loop callbacks that used more than 10 ms of CPU", DAEMON(loop_over_10ms) },
	{ "profd.loop.over_50ms", "daemon.loop_over_50ms", "profd_loop_callbacks_over_50ms_total", 1, COUNTER, U64,
	  "callbacks", "event-loop callbacks that used more than 50 ms of CPU: a status waited that long",
	  DAEMON(loop_over_50ms) },
	{ "profd.loop.over_250ms", "daemon.loop_over_250ms", "profd_loop_callbacks_over_250ms_total", 1, COUNTER, U64,
	  "callbacks", "event-loop callbacks that used more than 250 ms of CPU", DAEMON(loop_over_250ms) },
	{ "profd.reloads", "daemon.reloads", "profd_reloads_total", 1, COUNTER, U64, "reloads",
	  "configuration reloads (SIGHUP)", DAEMON(reloads) },
	{ "profd.reload_failures", "daemon.reload_failures", "profd_reload_failures_total", 1, COUNTER, U64,
	  "reloads", "reloads refused (the running configuration was kept)", DAEMON(reload_failures) },

	/* ---- what profd costs the host (collect/selfcost.h) ---- */
	{ "profd.cost.window_seconds", "cost.window_s", NULL, 1, GAUGE, F64, "s",
	  "length of the last-minute window the cost figures cover (less in profd's first minute)",
	  DAEMON(cost.window_s) },
	{ "profd.cost.total_pct", "cost.last_minute.total_pct", "profd_cost_ratio", PCT_TO_RATIO, GAUGE, F64, "percent",
	  "profd's whole cost over the last minute, % of one CPU: its threads' CPU time plus its BPF programs' run time (null while BPF statistics are off)",
	  DAEMON(cost.total_pct) },
	{ "profd.cost.cpu_pct", "cost.last_minute.cpu_pct", "profd_cost_cpu_ratio", PCT_TO_RATIO, GAUGE, F64, "percent",
	  "CPU time of all profd's threads over the last minute, % of one CPU (the kernel's sum_exec_runtime)",
	  DAEMON(cost.cpu_pct) },
	{ "profd.cost.bpf_pct", "cost.last_minute.bpf_pct", "profd_cost_bpf_ratio", PCT_TO_RATIO, GAUGE, F64, "percent",
	  "run time of profd's BPF programs over the last minute, % of one CPU (bpf_prog_info; null while BPF statistics are off)",
	  DAEMON(cost.bpf_pct) },
	{ "profd.cost.bpf_covered_seconds", "cost.last_minute.bpf_covered_s", NULL, 1, GAUGE, F64, "s",
	  "of the last minute, the time BPF statistics were on (bpf_pct is over this time)", DAEMON(cost.bpf_covered_s) },
	{ "profd.cost.total_pct_since_start", "cost.since_start.total_pct", NULL, 1, GAUGE, F64, "percent",
	  "profd's whole cost since it started, % of one CPU (CPU since start + BPF while statistics were on)",
	  DAEMON(cost.total_pct_start) },
	{ "profd.cost.cpu_pct_since_start", "cost.since_start.cpu_pct", NULL, 1, GAUGE, F64, "percent",
	  "CPU time of all profd's threads since it started, % of one CPU (start-up included)",
	  DAEMON(cost.cpu_pct_start) },
	{ "profd.cost.bpf_pct_since_start", "cost.since_start.bpf_pct", NULL, 1, GAUGE, F64, "percent",
	  "run time of profd's BPF programs while BPF statistics were on since start, % of one CPU",
	  DAEMON(cost.bpf_pct_start) },
	{ "profd.cost.bpf_covered_seconds_since_start", "cost.since_start.bpf_covered_s", NULL, 1, GAUGE, F64, "s",
	  "time since start that BPF statistics were on", DAEMON(cost.bpf_covered_s_start) },
	{ "profd.cost.bpf_run_seconds", "cost.since_start.bpf_run_ns", "profd_bpf_run_seconds_total", NS_TO_S, COUNTER,
	  U64, "ns", "run time of all profd's BPF programs while BPF statistics were on", DAEMON(cost.bpf_ns) },
	{ "profd.cost.bpf_runs", "cost.since_start.bpf_runs", "profd_bpf_runs_total", 1, COUNTER, U64, "runs",
	  "runs of all profd's BPF programs while BPF statistics were on", DAEMON(cost.bpf_runs) },
	{ "profd.cost.rss_budget_pct", "cost.rss_budget_pct", "profd_memory_budget_used_ratio", PCT_TO_RATIO, GAUGE,
	  F64, "percent", "resident memory, % of memory_budget", DAEMON(rss_budget_pct) },
	{ "profd.cost.threads.loop.cpu_pct", "cost.threads.loop.cpu_pct", NULL, 1, GAUGE, F64, "percent",
	  "CPU over the last minute, % of one CPU: the main thread: event loop, ticks, ingestion, pushers, status", DAEMON(cost.role_pct[SC_ROLE_LOOP]) },
	{ "profd.cost.threads.loop.cpu_seconds", "cost.threads.loop.cpu_ns", "profd_thread_loop_cpu_seconds_total", NS_TO_S,
	  COUNTER, U64, "ns", "CPU time since start: the main thread: event loop, ticks, ingestion, pushers, status", DAEMON(cost.role_ns[SC_ROLE_LOOP]) },
	{ "profd.cost.threads.collector.cpu_pct", "cost.threads.collector.cpu_pct", NULL, 1, GAUGE, F64, "percent",
	  "CPU over the last minute, % of one CPU: the collector thread: /proc, BPF counter maps, GPU", DAEMON(cost.role_pct[SC_ROLE_COLLECTOR]) },
	{ "profd.cost.threads.collector.cpu_seconds", "cost.threads.collector.cpu_ns", "profd_thread_collector_cpu_seconds_total", NS_TO_S,
	  COUNTER, U64, "ns", "CPU time since start: the collector thread: /proc, BPF counter maps, GPU", DAEMON(cost.role_ns[SC_ROLE_COLLECTOR]) },
	{ "profd.cost.threads.symbols.cpu_pct", "cost.threads.symbols.cpu_pct", NULL, 1, GAUGE, F64, "percent",
	  "CPU over the last minute, % of one CPU: the symbol loader threads: exec, identify, load", DAEMON(cost.role_pct[SC_ROLE_SYMBOLS]) },
	{ "profd.cost.threads.symbols.cpu_seconds", "cost.threads.symbols.cpu_ns", "profd_thread_symbols_cpu_seconds_total", NS_TO_S,
	  COUNTER, U64, "ns", "CPU time since start: the symbol loader threads: exec, identify, load", DAEMON(cost.role_ns[SC_ROLE_SYMBOLS]) },
	{ "profd.cost.threads.debuginfod.cpu_pct", "cost.threads.debuginfod.cpu_pct", NULL, 1, GAUGE, F64, "percent",
	  "CPU over the last minute, % of one CPU: the debuginfod fetch thread", DAEMON(cost.role_pct[SC_ROLE_DEBUGINFOD]) },
	{ "profd.cost.threads.debuginfod.cpu_seconds", "cost.threads.debuginfod.cpu_ns", "profd_thread_debuginfod_cpu_seconds_total", NS_TO_S,
	  COUNTER, U64, "ns", "CPU time since start: the debuginfod fetch thread", DAEMON(cost.role_ns[SC_ROLE_DEBUGINFOD]) },
	{ "profd.cost.threads.unwind.cpu_pct", "cost.threads.unwind.cpu_pct", NULL, 1, GAUGE, F64, "percent",
	  "CPU over the last minute, % of one CPU: the unwind table builder thread", DAEMON(cost.role_pct[SC_ROLE_UNWIND]) },
	{ "profd.cost.threads.unwind.cpu_seconds", "cost.threads.unwind.cpu_ns", "profd_thread_unwind_cpu_seconds_total", NS_TO_S,
	  COUNTER, U64, "ns", "CPU time since start: the unwind table builder thread", DAEMON(cost.role_ns[SC_ROLE_UNWIND]) },
	{ "profd.cost.threads.query.cpu_pct", "cost.threads.query.cpu_pct", NULL, 1, GAUGE, F64, "percent",
	  "CPU over the last minute, % of one CPU: the query worker thread: top and export", DAEMON(cost.role_pct[SC_ROLE_QUERY]) },
	{ "profd.cost.threads.query.cpu_seconds", "cost.threads.query.cpu_ns", "profd_thread_query_cpu_seconds_total", NS_TO_S,
	  COUNTER, U64, "ns", "CPU time since start: the query worker thread: top and export", DAEMON(cost.role_ns[SC_ROLE_QUERY]) },
	{ "profd.cost.threads.notify.cpu_pct", "cost.threads.notify.cpu_pct", NULL, 1, GAUGE, F64, "percent",
	  "CPU over the last minute, % of one CPU: the alert delivery thread", DAEMON(cost.role_pct[SC_ROLE_NOTIFY]) },
	{ "profd.cost.threads.notify.cpu_seconds", "cost.threads.notify.cpu_ns", "profd_thread_notify_cpu_seconds_total", NS_TO_S,
	  COUNTER, U64, "ns", "CPU time since start: the alert delivery thread", DAEMON(cost.role_ns[SC_ROLE_NOTIFY]) },
	{ "profd.cost.threads.other.cpu_pct", "cost.threads.other.cpu_pct", NULL, 1, GAUGE, F64, "percent",
	  "CPU over the last minute, % of one CPU: threads that exited, and threads not named by profd (a library's)", DAEMON(cost.role_pct[SC_ROLE_OTHER]) },
	{ "profd.cost.threads.other.cpu_seconds", "cost.threads.other.cpu_ns", "profd_thread_other_cpu_seconds_total", NS_TO_S,
	  COUNTER, U64, "ns", "CPU time since start: threads that exited, and threads not named by profd (a library's)", DAEMON(cost.role_ns[SC_ROLE_OTHER]) },
	{ "profd.cost.bpf.sample.cpu_pct", "cost.bpf.sample.cpu_pct", NULL, 1, GAUGE, F64, "percent",
	  "run time over the last minute (while statistics were on), % of one CPU: profd_sample(_unwind): one run per CPU sample", DAEMON(cost.prog_pct[SC_PROG_SAMPLE]) },
	{ "profd.cost.bpf.sample.ns_per_run", "cost.bpf.sample.ns_per_run", NULL, 1, GAUGE, F64, "ns",
	  "run time per run over the last minute: profd_sample(_unwind): one run per CPU sample", DAEMON(cost.prog_ns_per_run[SC_PROG_SAMPLE]) },
	{ "profd.cost.bpf.sample.runs_per_s", "cost.bpf.sample.runs_per_s", NULL, 1, GAUGE, F64, "1/s",
	  "runs per second over the last minute: profd_sample(_unwind): one run per CPU sample", DAEMON(cost.prog_runs_per_s[SC_PROG_SAMPLE]) },
	{ "profd.cost.bpf.sample.run_seconds", "cost.bpf.sample.run_ns", "profd_bpf_sample_run_seconds_total", NS_TO_S, COUNTER, U64,
	  "ns", "run time while BPF statistics were on: profd_sample(_unwind): one run per CPU sample", DAEMON(cost.prog_ns[SC_PROG_SAMPLE]) },
	{ "profd.cost.bpf.sample.runs", "cost.bpf.sample.runs", "profd_bpf_sample_runs_total", 1, COUNTER, U64, "runs",
	  "runs while BPF statistics were on: profd_sample(_unwind): one run per CPU sample", DAEMON(cost.prog_runs[SC_PROG_SAMPLE]) },
	{ "profd.cost.bpf.sched_switch.cpu_pct", "cost.bpf.sched_switch.cpu_pct", NULL, 1, GAUGE, F64, "percent",
	  "run time over the last minute (while statistics were on), % of one CPU: profd_sched_switch: one run per context switch on the host", DAEMON(cost.prog_pct[SC_PROG_SCHED_SWITCH]) },
	{ "profd.cost.bpf.sched_switch.ns_per_run", "cost.bpf.sched_switch.ns_per_run", NULL, 1, GAUGE, F64, "ns",
	  "run time per run over the last minute: profd_sched_switch: one run per context switch on the host", DAEMON(cost.prog_ns_per_run[SC_PROG_SCHED_SWITCH]) },
	{ "profd.cost.bpf.sched_switch.runs_per_s", "cost.bpf.sched_switch.runs_per_s", NULL, 1, GAUGE, F64, "1/s",
	  "runs per second over the last minute: profd_sched_switch: one run per context switch on the host", DAEMON(cost.prog_runs_per_s[SC_PROG_SCHED_SWITCH]) },
	{ "profd.cost.bpf.sched_switch.run_seconds", "cost.bpf.sched_switch.run_ns", "profd_bpf_sched_switch_run_seconds_total", NS_TO_S, COUNTER, U64,
	  "ns", "run time while BPF statistics were on: profd_sched_switch: one run per context switch on the host", DAEMON(cost.prog_ns[SC_PROG_SCHED_SWITCH]) },
	{ "profd.cost.bpf.sched_switch.runs", "cost.bpf.sched_switch.runs", "profd_bpf_sched_switch_runs_total", 1, COUNTER, U64, "runs",
	  "runs while BPF statistics were on: profd_sched_switch: one run per context switch on the host", DAEMON(cost.prog_runs[SC_PROG_SCHED_SWITCH]) },
	{ "profd.cost.bpf.sched_wakeup.cpu_pct", "cost.bpf.sched_wakeup.cpu_pct", NULL, 1, GAUGE, F64, "percent",
	  "run time over the last minute (while statistics were on), % of one CPU: profd_sched_wakeup(_new): one run per wake-up", DAEMON(cost.prog_pct[SC_PROG_SCHED_WAKEUP]) },
	{ "profd.cost.bpf.sched_wakeup.ns_per_run", "cost.bpf.sched_wakeup.ns_per_run", NULL, 1, GAUGE, F64, "ns",
	  "run time per run over the last minute: profd_sched_wakeup(_new): one run per wake-up", DAEMON(cost.prog_ns_per_run[SC_PROG_SCHED_WAKEUP]) },
	{ "profd.cost.bpf.sched_wakeup.runs_per_s", "cost.bpf.sched_wakeup.runs_per_s", NULL, 1, GAUGE, F64, "1/s",
	  "runs per second over the last minute: profd_sched_wakeup(_new): one run per wake-up", DAEMON(cost.prog_runs_per_s[SC_PROG_SCHED_WAKEUP]) },
	{ "profd.cost.bpf.sched_wakeup.run_seconds", "cost.bpf.sched_wakeup.run_ns", "profd_bpf_sched_wakeup_run_seconds_total", NS_TO_S, COUNTER, U64,
	  "ns", "run time while BPF statistics were on: profd_sched_wakeup(_new): one run per wake-up", DAEMON(cost.prog_ns[SC_PROG_SCHED_WAKEUP]) },
	{ "profd.cost.bpf.sched_wakeup.runs", "cost.bpf.sched_wakeup.runs", "profd_bpf_sched_wakeup_runs_total", 1, COUNTER, U64, "runs",
	  "runs while BPF statistics were on: profd_sched_wakeup(_new): one run per wake-up", DAEMON(cost.prog_runs[SC_PROG_SCHED_WAKEUP]) },
	{ "profd.cost.bpf.sched_runtime.cpu_pct", "cost.bpf.sched_runtime.cpu_pct", NULL, 1, GAUGE, F64, "percent",
	  "run time over the last minute (while statistics were on), % of one CPU: profd_sched_runtime: one run per scheduler runtime update (ticks, switches)", DAEMON(cost.prog_pct[SC_PROG_SCHED_RUNTIME]) },
	{ "profd.cost.bpf.sched_runtime.ns_per_run", "cost.bpf.sched_runtime.ns_per_run", NULL, 1, GAUGE, F64, "ns",
	  "run time per run over the last minute: profd_sched_runtime: one run per scheduler runtime update (ticks, switches)", DAEMON(cost.prog_ns_per_run[SC_PROG_SCHED_RUNTIME]) },
	{ "profd.cost.bpf.sched_runtime.runs_per_s", "cost.bpf.sched_runtime.runs_per_s", NULL, 1, GAUGE, F64, "1/s",
	  "runs per second over the last minute: profd_sched_runtime: one run per scheduler runtime update (ticks, switches)", DAEMON(cost.prog_runs_per_s[SC_PROG_SCHED_RUNTIME]) },
	{ "profd.cost.bpf.sched_runtime.run_seconds", "cost.bpf.sched_runtime.run_ns", "profd_bpf_sched_runtime_run_seconds_total", NS_TO_S, COUNTER, U64,
	  "ns", "run time while BPF statistics were on: profd_sched_runtime: one run per scheduler runtime update (ticks, switches)", DAEMON(cost.prog_ns[SC_PROG_SCHED_RUNTIME]) },
	{ "profd.cost.bpf.sched_runtime.runs", "cost.bpf.sched_runtime.runs", "profd_bpf_sched_runtime_runs_total", 1, COUNTER, U64, "runs",
	  "runs while BPF statistics were on: profd_sched_runtime: one run per scheduler runtime update (ticks, switches)", DAEMON(cost.prog_runs[SC_PROG_SCHED_RUNTIME]) },
	{ "profd.cost.bpf.sched_fork.cpu_pct", "cost.bpf.sched_fork.cpu_pct", NULL, 1, GAUGE, F64, "percent",
	  "run time over the last minute (while statistics were on), % of one CPU: profd_sched_fork: one run per fork", DAEMON(cost.prog_pct[SC_PROG_SCHED_FORK]) },
	{ "profd.cost.bpf.sched_fork.ns_per_run", "cost.bpf.sched_fork.ns_per_run", NULL, 1, GAUGE, F64, "ns",
	  "run time per run over the last minute: profd_sched_fork: one run per fork", DAEMON(cost.prog_ns_per_run[SC_PROG_SCHED_FORK]) },
	{ "profd.cost.bpf.sched_fork.runs_per_s", "cost.bpf.sched_fork.runs_per_s", NULL, 1, GAUGE, F64, "1/s",
	  "runs per second over the last minute: profd_sched_fork: one run per fork", DAEMON(cost.prog_runs_per_s[SC_PROG_SCHED_FORK]) },
	{ "profd.cost.bpf.sched_fork.run_seconds", "cost.bpf.sched_fork.run_ns", "profd_bpf_sched_fork_run_seconds_total", NS_TO_S, COUNTER, U64,
	  "ns", "run time while BPF statistics were on: profd_sched_fork: one run per fork", DAEMON(cost.prog_ns[SC_PROG_SCHED_FORK]) },
	{ "profd.cost.bpf.sched_fork.runs", "cost.bpf.sched_fork.runs", "profd_bpf_sched_fork_runs_total", 1, COUNTER, U64, "runs",
	  "runs while BPF statistics were on: profd_sched_fork: one run per fork", DAEMON(cost.prog_runs[SC_PROG_SCHED_FORK]) },
	{ "profd.cost.bpf.proc.cpu_pct", "cost.bpf.proc.cpu_pct", NULL, 1, GAUGE, F64, "percent",
	  "run time over the last minute (while statistics were on), % of one CPU: profd_exec, profd_exit, profd_unw_exec: per exec and exit", DAEMON(cost.prog_pct[SC_PROG_PROC]) },
	{ "profd.cost.bpf.proc.ns_per_run", "cost.bpf.proc.ns_per_run", NULL, 1, GAUGE, F64, "ns",
	  "run time per run over the last minute: profd_exec, profd_exit, profd_unw_exec: per exec and exit", DAEMON(cost.prog_ns_per_run[SC_PROG_PROC]) },
	{ "profd.cost.bpf.proc.runs_per_s", "cost.bpf.proc.runs_per_s", NULL, 1, GAUGE, F64, "1/s",
	  "runs per second over the last minute: profd_exec, profd_exit, profd_unw_exec: per exec and exit", DAEMON(cost.prog_runs_per_s[SC_PROG_PROC]) },
	{ "profd.cost.bpf.proc.run_seconds", "cost.bpf.proc.run_ns", "profd_bpf_proc_run_seconds_total", NS_TO_S, COUNTER, U64,
	  "ns", "run time while BPF statistics were on: profd_exec, profd_exit, profd_unw_exec: per exec and exit", DAEMON(cost.prog_ns[SC_PROG_PROC]) },
	{ "profd.cost.bpf.proc.runs", "cost.bpf.proc.runs", "profd_bpf_proc_runs_total", 1, COUNTER, U64, "runs",
	  "runs while BPF statistics were on: profd_exec, profd_exit, profd_unw_exec: per exec and exit", DAEMON(cost.prog_runs[SC_PROG_PROC]) },
	{ "profd.cost.bpf.blkio.cpu_pct", "cost.bpf.blkio.cpu_pct", NULL, 1, GAUGE, F64, "percent",
	  "run time over the last minute (while statistics were on), % of one CPU: profd_io_start, profd_rq_*: per block I/O request", DAEMON(cost.prog_pct[SC_PROG_BLKIO]) },
	{ "profd.cost.bpf.blkio.ns_per_run", "cost.bpf.blkio.ns_per_run", NULL, 1, GAUGE, F64, "ns",
	  "run time per run over the last minute: profd_io_start, profd_rq_*: per block I/O request", DAEMON(cost.prog_ns_per_run[SC_PROG_BLKIO]) },
	{ "profd.cost.bpf.blkio.runs_per_s", "cost.bpf.blkio.runs_per_s", NULL, 1, GAUGE, F64, "1/s",
	  "runs per second over the last minute: profd_io_start, profd_rq_*: per block I/O request", DAEMON(cost.prog_runs_per_s[SC_PROG_BLKIO]) },
	{ "profd.cost.bpf.blkio.run_seconds", "cost.bpf.blkio.run_ns", "profd_bpf_blkio_run_seconds_total", NS_TO_S, COUNTER, U64,
	  "ns", "run time while BPF statistics were on: profd_io_start, profd_rq_*: per block I/O request", DAEMON(cost.prog_ns[SC_PROG_BLKIO]) },
	{ "profd.cost.bpf.blkio.runs", "cost.bpf.blkio.runs", "profd_bpf_blkio_runs_total", 1, COUNTER, U64, "runs",
	  "runs while BPF statistics were on: profd_io_start, profd_rq_*: per block I/O request", DAEMON(cost.prog_runs[SC_PROG_BLKIO]) },
	{ "profd.cost.bpf.other.cpu_pct", "cost.bpf.other.cpu_pct", NULL, 1, GAUGE, F64, "percent",
	  "run time over the last minute (while statistics were on), % of one CPU: other programs profd loaded", DAEMON(cost.prog_pct[SC_PROG_OTHER]) },
	{ "profd.cost.bpf.other.ns_per_run", "cost.bpf.other.ns_per_run", NULL, 1, GAUGE, F64, "ns",
	  "run time per run over the last minute: other programs profd loaded", DAEMON(cost.prog_ns_per_run[SC_PROG_OTHER]) },
	{ "profd.cost.bpf.other.runs_per_s", "cost.bpf.other.runs_per_s", NULL, 1, GAUGE, F64, "1/s",
	  "runs per second over the last minute: other programs profd loaded", DAEMON(cost.prog_runs_per_s[SC_PROG_OTHER]) },
	{ "profd.cost.bpf.other.run_seconds", "cost.bpf.other.run_ns", "profd_bpf_other_run_seconds_total", NS_TO_S, COUNTER, U64,
	  "ns", "run time while BPF statistics were on: other programs profd loaded", DAEMON(cost.prog_ns[SC_PROG_OTHER]) },
	{ "profd.cost.bpf.other.runs", "cost.bpf.other.runs", "profd_bpf_other_runs_total", 1, COUNTER, U64, "runs",
	  "runs while BPF statistics were on: other programs profd loaded", DAEMON(cost.prog_runs[SC_PROG_OTHER]) },

	/* ---- the host (top: "system") ---- */
	{ "host.cpu_pct", "cpu_pct", "profd_host_cpu_busy_ratio", PCT_TO_RATIO, GAUGE, F64, "percent",
	  "busy share of all CPUs over the window (steal counts as busy, iowait as idle)", HOST(cpu_pct) },
	{ "host.steal_pct", "steal_pct", "profd_host_cpu_steal_ratio", PCT_TO_RATIO, GAUGE, F64, "percent",
	  "CPU time the hypervisor took (steal) over the window, % of all CPUs (included in cpu_pct)",
	  HOST(steal_pct) },
	{ "host.mem_total_bytes", "mem_total_bytes", "profd_host_memory_total_bytes", 1, GAUGE, U64, "bytes",
	  "MemTotal", HOST(mem_total) },
	{ "host.mem_available_bytes", "mem_available_bytes", "profd_host_memory_available_bytes", 1, GAUGE, U64,
	  "bytes", "MemAvailable: memory available without swapping", HOST(mem_available) },
	{ "host.mem_used_bytes", "mem_used_bytes", "profd_host_memory_used_bytes", 1, GAUGE, U64, "bytes",
	  "MemTotal - MemAvailable", HOST(mem_used) },
	{ "host.mem_pct", "mem_used_pct", "profd_host_memory_used_ratio", PCT_TO_RATIO, GAUGE, F64, "percent",
	  "memory in use: (MemTotal - MemAvailable) / MemTotal", HOST(mem_used_pct) },
	{ "host.swap_total_bytes", "swap_total_bytes", "profd_host_swap_total_bytes", 1, GAUGE, U64, "bytes",
	  "SwapTotal", HOST(swap_total) },
	{ "host.swap_used_bytes", "swap_used_bytes", "profd_host_swap_used_bytes", 1, GAUGE, U64, "bytes",
	  "SwapTotal - SwapFree", HOST(swap_used) },
	{ "host.load1", "load1", "profd_host_load1", 1, GAUGE, F64, "",
	  "1-minute load average (runnable + uninterruptible tasks)", HOST(load1) },
	{ "host.load5", "load5", "profd_host_load5", 1, GAUGE, F64, "", "5-minute load average", HOST(load5) },
	{ "host.load15", "load15", "profd_host_load15", 1, GAUGE, F64, "", "15-minute load average", HOST(load15) },
	{ "host.psi.cpu_some", "psi.cpu.some_avg10", "profd_host_pressure_cpu_some_ratio", PCT_TO_RATIO, GAUGE, F64,
	  "percent", "PSI: share of time some task waited for a CPU (avg10)", HOST(psi_cpu_some) },
	{ "host.psi.memory_some", "psi.memory.some_avg10", "profd_host_pressure_memory_some_ratio", PCT_TO_RATIO,
	  GAUGE, F64, "percent", "PSI: some task stalled on memory (avg10)", HOST(psi_mem_some) },
	{ "host.psi.memory_full", "psi.memory.full_avg10", "profd_host_pressure_memory_full_ratio", PCT_TO_RATIO,
	  GAUGE, F64, "percent", "PSI: every non-idle task stalled on memory (avg10)", HOST(psi_mem_full) },
	{ "host.psi.io_some", "psi.io.some_avg10", "profd_host_pressure_io_some_ratio", PCT_TO_RATIO, GAUGE, F64,
	  "percent", "PSI: some task stalled on I/O (avg10)", HOST(psi_io_some) },
	{ "host.psi.io_full", "psi.io.full_avg10", "profd_host_pressure_io_full_ratio", PCT_TO_RATIO, GAUGE, F64,
	  "percent", "PSI: every non-idle task stalled on I/O (avg10)", HOST(psi_io_full) },
	{ "host.gpu_mem_pct", NULL, NULL, 1, GAUGE, F64, "percent",
	  "memory in use on the fullest GPU, % of its memory (null: no GPU)", HOST(gpu_mem_pct) },

	/* ---- one process over a window (top's rows) ---- */
	{ "process.cpu_pct", "cpu_pct", NULL, 1, GAUGE, F64, "percent",
	  "CPU time over the window, % of one CPU (scheduler accounting, else samples)", PROC(cpu_pct) },
	{ "process.cpu_seconds", "oncpu_ns", "profd_process_cpu_seconds_total", NS_TO_S, COUNTER, U64, "ns",
	  "on-CPU time in the window", PROC(oncpu_ns) },
	{ "process.sample_cpu_pct", "sample_cpu_pct", NULL, 1, GAUGE, F64, "percent",
	  "CPU % estimated from samples: samples / (frequency x window)", PROC(sample_cpu_pct) },
	{ "process.samples", "samples", "profd_process_samples_total", 1, COUNTER, U64, "samples",
	  "CPU samples in the window", PROC(samples) },
	{ "process.rss_bytes", "rss_bytes", "profd_process_resident_memory_bytes", 1, GAUGE, U64, "bytes",
	  "resident memory (VmRSS), latest", PROC(rss_bytes) },
	{ "process.mem_pct", "mem_pct", NULL, 1, GAUGE, F64, "percent",
	  "resident memory, % of MemTotal", PROC(mem_pct) },
	{ "process.threads", "threads", "profd_process_threads", 1, GAUGE, U64, "threads",
	  "threads, latest", PROC(threads) },
	{ "process.fds", "fds", "profd_process_open_fds", 1, GAUGE, U64, "fds",
	  "open file descriptors, latest", PROC(fds) },
	{ "process.gpu_pct", "gpu_pct", "profd_process_gpu_utilization_ratio", PCT_TO_RATIO, GAUGE, F64, "percent",
	  "GPU busy time over the window, % of one device (null: no GPU use seen)", PROC(gpu_pct) },
	{ "process.gpu_mem_bytes", "gpu_mem_bytes", "profd_process_gpu_memory_bytes", 1, GAUGE, U64, "bytes",
	  "GPU memory, latest (null: no GPU use seen)", PROC(gpu_mem_bytes) },
	{ "process.read_bytes_per_s", "read_bytes_per_s", NULL, 1, GAUGE, F64, "bytes/s",
	  "block-device bytes read per second over the window", PROC(read_bps) },
	{ "process.write_bytes_per_s", "write_bytes_per_s", NULL, 1, GAUGE, F64, "bytes/s",
	  "block-device bytes written per second over the window", PROC(write_bps) },
	{ "process.io_read_bytes", "io_read_bytes", "profd_process_io_read_bytes_total", 1, COUNTER, U64, "bytes",
	  "block-device bytes read (completed requests)", PROC(io_read_bytes) },
	{ "process.io_write_bytes", "io_write_bytes", "profd_process_io_write_bytes_total", 1, COUNTER, U64, "bytes",
	  "block-device bytes written (completed requests)", PROC(io_write_bytes) },
	{ "process.io_read_reqs", "io_read_reqs", "profd_process_io_read_requests_total", 1, COUNTER, U64,
	  "requests", "block read requests completed", PROC(io_read_reqs) },
	{ "process.io_write_reqs", "io_write_reqs", "profd_process_io_write_requests_total", 1, COUNTER, U64,
	  "requests", "block write requests completed", PROC(io_write_reqs) },
	{ "process.io_lat_p99_ns", "io_lat_p99_ns", "profd_process_io_latency_p99_seconds", NS_TO_S, GAUGE, U64,
	  "ns", "p99 block I/O latency, issue to completion (log2 bucket bound)", PROC(io_lat_p99_ns) },
	{ "process.proc_read_bytes", "proc_read_bytes", "profd_process_storage_read_bytes_total", 1, COUNTER, U64,
	  "bytes", "/proc/PID/io read_bytes: storage reads this process caused", PROC(proc_read_bytes) },
	{ "process.proc_write_bytes", "proc_write_bytes", "profd_process_storage_write_bytes_total", 1, COUNTER, U64,
	  "bytes", "/proc/PID/io write_bytes: bytes dirtied for storage", PROC(proc_write_bytes) },
	{ "process.offcpu_seconds", "offcpu_ns", "profd_process_offcpu_seconds_total", NS_TO_S, COUNTER, U64, "ns",
	  "time blocked (sleep, I/O, locks), summed over threads", PROC(offcpu_ns) },
	{ "process.offcpu_pct", "offcpu_pct", NULL, 1, GAUGE, F64, "percent",
	  "blocked time, % of the window (summed over threads: may exceed 100)", PROC(offcpu_pct) },
	{ "process.vcsw_per_s", "vcsw_per_s", NULL, 1, GAUGE, F64, "1/s",
	  "voluntary context switches per second", PROC(vcsw_per_s) },
	{ "process.ivcsw_per_s", "ivcsw_per_s", NULL, 1, GAUGE, F64, "1/s",
	  "involuntary context switches per second", PROC(ivcsw_per_s) },
	{ "process.minflt", "minflt", "profd_process_minor_faults_total", 1, COUNTER, U64, "faults",
	  "minor page faults", PROC(minflt) },
	{ "process.majflt", "majflt", "profd_process_major_faults_total", 1, COUNTER, U64, "faults",
	  "major page faults (needed I/O)", PROC(majflt) },
	{ "process.runq_p50_ns", "runq_p50_ns", NULL, NS_TO_S, GAUGE, U64, "ns",
	  "median run-queue wait (log2 bucket bound)", PROC(runq_p50_ns) },
	{ "process.runq_p99_ns", "runq_p99_ns", "profd_process_runqueue_latency_p99_seconds", NS_TO_S, GAUGE, U64,
	  "ns", "p99 run-queue wait, wakeup to running (log2 bucket bound)", PROC(runq_p99_ns) },
	{ "process.rss_growth_bytes_per_s", NULL, NULL, 1, GAUGE, F64, "bytes/s",
	  "steady RSS growth over the window: Theil-Sen slope of its readings, 0 unless the least-squares fit has "
	  "R² >= 0.8 (alerts only)", PROC(rss_growth_bps) },

	/* ---- a systemd unit over a window: its processes added up (alerts) ---- */
	{ "unit.cpu_pct", "cpu_pct", NULL, 1, GAUGE, F64, "percent",
	  "CPU time of the unit's processes over the window, % of one CPU", UNIT(cpu_pct) },
	{ "unit.rss_bytes", "rss_bytes", NULL, 1, GAUGE, U64, "bytes",
	  "resident memory of the unit's processes, summed, latest", UNIT(rss_bytes) },
	{ "unit.mem_pct", "mem_pct", NULL, 1, GAUGE, F64, "percent",
	  "the unit's resident memory, % of MemTotal", UNIT(mem_pct) },
	{ "unit.rss_growth_bytes_per_s", NULL, NULL, 1, GAUGE, F64, "bytes/s",
	  "steady growth of the unit's summed RSS (as process.rss_growth_bytes_per_s)", UNIT(rss_growth_bps) },
	{ "unit.threads", "threads", NULL, 1, GAUGE, U64, "threads",
	  "threads of the unit's processes, latest", UNIT(threads) },
	{ "unit.fds", "fds", NULL, 1, GAUGE, U64, "fds",
	  "open file descriptors of the unit's processes, latest", UNIT(fds) },
	{ "unit.gpu_pct", "gpu_pct", NULL, 1, GAUGE, F64, "percent",
	  "GPU busy time of the unit's processes, % of one device (null: no GPU use seen)", UNIT(gpu_pct) },
	{ "unit.gpu_mem_bytes", "gpu_mem_bytes", NULL, 1, GAUGE, U64, "bytes",
	  "GPU memory of the unit's processes, latest (null: no GPU use seen)", UNIT(gpu_mem_bytes) },
	{ "unit.read_bytes_per_s", "read_bytes_per_s", NULL, 1, GAUGE, F64, "bytes/s",
	  "block-device bytes read per second by the unit's processes", UNIT(read_bps) },
	{ "unit.write_bytes_per_s", "write_bytes_per_s", NULL, 1, GAUGE, F64, "bytes/s",
	  "block-device bytes written per second by the unit's processes", UNIT(write_bps) },
	{ "unit.io_read_bytes", "io_read_bytes", NULL, 1, COUNTER, U64, "bytes",
	  "block-device bytes read, charged to the unit's cgroups by the kernel (null: no per-cgroup accounting)",
	  UNIT(cg_read_bytes) },
	{ "unit.io_write_bytes", "io_write_bytes", NULL, 1, COUNTER, U64, "bytes",
	  "block-device bytes written, charged to the unit's cgroups: with cgroup v2 (io and memory) the "
	  "flusher's writeback of pages the unit dirtied is included, even after its processes exited",
	  UNIT(cg_write_bytes) },
	{ "unit.io_read_reqs", "io_read_reqs", NULL, 1, COUNTER, U64, "requests",
	  "block read requests charged to the unit's cgroups", UNIT(cg_read_reqs) },
	{ "unit.io_write_reqs", "io_write_reqs", NULL, 1, COUNTER, U64, "requests",
	  "block write requests charged to the unit's cgroups (writeback included as io_write_bytes)",
	  UNIT(cg_write_reqs) },
	{ "unit.io_read_bytes_per_s", "io_read_bytes_per_s", NULL, 1, GAUGE, F64, "bytes/s",
	  "unit.io_read_bytes per second of the window", UNIT(cg_read_bps) },
	{ "unit.io_write_bytes_per_s", "io_write_bytes_per_s", NULL, 1, GAUGE, F64, "bytes/s",
	  "unit.io_write_bytes per second of the window (writeback included)", UNIT(cg_write_bps) },
	{ "unit.offcpu_pct", "offcpu_pct", NULL, 1, GAUGE, F64, "percent",
	  "blocked time of the unit's threads, % of the window (may exceed 100)", UNIT(offcpu_pct) },
	{ "unit.runq_p99_ns", "runq_p99_ns", NULL, 1, GAUGE, U64, "ns",
	  "p99 run-queue wait over the unit's processes (merged histograms)", UNIT(runq_p99_ns) },

	/* ---- one function's share of a process's or the host's CPU ---- */
	{ "function.self_pct", "self_pct", NULL, 1, GAUGE, F64, "percent",
	  "samples with the function as the leaf, % of the scope's samples (process or host)", FUNC(self_pct) },
	{ "function.total_pct", "total_pct", NULL, 1, GAUGE, F64, "percent",
	  "samples with the function anywhere on the stack, % of the scope's samples", FUNC(total_pct) },
	{ "function.self_samples", "self_samples", NULL, 1, COUNTER, U64, "samples",
	  "samples with the function as the leaf", FUNC(self_samples) },
	{ "function.total_samples", "total_samples", NULL, 1, COUNTER, U64, "samples",
	  "samples with the function anywhere on the stack", FUNC(total_samples) },
};

void metrics_process_compute(const struct metrics_process_in *in, struct metrics_process *m)
{
	static const struct wcounters zero;
	const struct wcounters *wc = in->wc ? in->wc : &zero;
	double secs = in->secs, denom = (double)in->frequency * secs;
	int gpu = (in->g && in->g->gpu) || wc->sum[WC_GPU_UTIL_NS];

	memset(m, 0, sizeof(*m));
	m->samples = in->samples;
	m->sample_cpu_pct = denom > 0 ? 100.0 * (double)in->samples / denom : 0;
	if (in->exact_cpu && in->wc)
		m->cpu_pct = secs > 0 ? 100.0 * (double)wc->sum[WC_CPU_NS] / 1e9 / secs : 0;
	else
		m->cpu_pct = m->sample_cpu_pct;
	/* gauges: the latest reading of a live process, else the newest in
	 * the window */
	m->rss_bytes = in->g ? in->g->rss : wc->gauge_last[WG_RSS];
	m->threads = in->g ? in->g->threads : wc->gauge_last[WG_THREADS];
	m->fds = in->g ? in->g->fds : wc->gauge_last[WG_FDS];
	m->mem_pct = in->mem_total ? 100.0 * (double)m->rss_bytes / (double)in->mem_total : 0;
	m->gpu_pct = NAN;
	m->gpu_mem_bytes = METRIC_ABSENT_U64;
	if (gpu) {
		m->gpu_pct = in->g && in->g->gpu ? in->g->gpu_pct : 0;
		if (wc->sum[WC_GPU_UTIL_NS] && secs > 0)
			m->gpu_pct = 100.0 * (double)wc->sum[WC_GPU_UTIL_NS] / 1e9 / secs;
		m->gpu_mem_bytes = in->g ? in->g->gpu_mem : wc->gauge_last[WG_GPU_MEM];
	}
	m->read_bps = secs > 0 ? (double)wc->sum[WC_IO_RBYTES] / secs : 0;
	m->write_bps = secs > 0 ? (double)wc->sum[WC_IO_WBYTES] / secs : 0;
	m->io_read_bytes = wc->sum[WC_IO_RBYTES];
	m->io_write_bytes = wc->sum[WC_IO_WBYTES];
	m->io_read_reqs = wc->sum[WC_IO_RREQS];
	m->io_write_reqs = wc->sum[WC_IO_WREQS];
	m->io_lat_p99_ns = wc_hist_quantile(wc->hist_iolat, 0.99);
	m->proc_read_bytes = wc->sum[WC_PROC_RBYTES];
	m->proc_write_bytes = wc->sum[WC_PROC_WBYTES];
	m->oncpu_ns = wc->sum[WC_CPU_NS];
	m->offcpu_ns = wc->sum[WC_OFFCPU_NS];
	m->offcpu_pct = secs > 0 ? 100.0 * (double)wc->sum[WC_OFFCPU_NS] / 1e9 / secs : 0;
	m->vcsw_per_s = secs > 0 ? (double)wc->sum[WC_VCSW] / secs : 0;
	m->ivcsw_per_s = secs > 0 ? (double)wc->sum[WC_IVCSW] / secs : 0;
	m->minflt = wc->sum[WC_MINFLT];
	m->majflt = wc->sum[WC_MAJFLT];
	m->runq_p50_ns = wc_hist_quantile(wc->hist_runq, 0.50);
	m->runq_p99_ns = wc_hist_quantile(wc->hist_runq, 0.99);
	m->rss_growth_bps = NAN;
	m->cg_read_bytes = m->cg_write_bytes = m->cg_read_reqs = m->cg_write_reqs = METRIC_ABSENT_U64;
	m->cg_read_bps = m->cg_write_bps = NAN;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

void metrics_unit_add(struct metrics_unit_acc *a, const struct metrics_process *p, const struct wcounters *wc)
{
	struct metrics_process *s = &a->sum;

	a->procs++;
	s->cpu_pct += p->cpu_pct;
	s->sample_cpu_pct += p->sample_cpu_pct;
	s->samples = add_sat(s->samples, p->samples);
	s->rss_bytes = add_sat(s->rss_bytes, p->rss_bytes);
	s->mem_pct += p->mem_pct;
	s->threads = add_sat(s->threads, p->threads);
	s->fds = add_sat(s->fds, p->fds);
	if (!isnan(p->gpu_pct)) {
		a->gpu = 1;
		s->gpu_pct += p->gpu_pct;
	}
	if (p->gpu_mem_bytes != METRIC_ABSENT_U64) {
		a->gpu = 1;
		s->gpu_mem_bytes = add_sat(s->gpu_mem_bytes, p->gpu_mem_bytes);
	}
	s->read_bps += p->read_bps;
	s->write_bps += p->write_bps;
	s->io_read_bytes = add_sat(s->io_read_bytes, p->io_read_bytes);
	s->io_write_bytes = add_sat(s->io_write_bytes, p->io_write_bytes);
	s->io_read_reqs = add_sat(s->io_read_reqs, p->io_read_reqs);
	s->io_write_reqs = add_sat(s->io_write_reqs, p->io_write_reqs);
	s->proc_read_bytes = add_sat(s->proc_read_bytes, p->proc_read_bytes);
	s->proc_write_bytes = add_sat(s->proc_write_bytes, p->proc_write_bytes);
	s->oncpu_ns = add_sat(s->oncpu_ns, p->oncpu_ns);
	s->offcpu_ns = add_sat(s->offcpu_ns, p->offcpu_ns);
	s->offcpu_pct += p->offcpu_pct;
	s->vcsw_per_s += p->vcsw_per_s;
	s->ivcsw_per_s += p->ivcsw_per_s;
	s->minflt = add_sat(s->minflt, p->minflt);
	s->majflt = add_sat(s->majflt, p->majflt);
	for (int i = 0; wc && i < WC_HIST_BUCKETS; i++) {
		a->hist_runq[i] = a->hist_runq[i] + wc->hist_runq[i] < a->hist_runq[i] ? UINT32_MAX
											  : a->hist_runq[i] + wc->hist_runq[i];
		a->hist_iolat[i] = a->hist_iolat[i] + wc->hist_iolat[i] < a->hist_iolat[i]
					   ? UINT32_MAX
					   : a->hist_iolat[i] + wc->hist_iolat[i];
	}
}

void metrics_unit_finish(const struct metrics_unit_acc *a, struct metrics_process *m)
{
	*m = a->sum;
	if (!a->gpu) {
		m->gpu_pct = NAN;
		m->gpu_mem_bytes = METRIC_ABSENT_U64;
	}
	m->io_lat_p99_ns = wc_hist_quantile(a->hist_iolat, 0.99);
	m->runq_p50_ns = wc_hist_quantile(a->hist_runq, 0.50);
	m->runq_p99_ns = wc_hist_quantile(a->hist_runq, 0.99);
	m->rss_growth_bps = NAN;
	m->rss_growth_points = 0;
	if (a->have_cgroup) {
		m->cg_read_bytes = a->cg[0];
		m->cg_write_bytes = a->cg[1];
		m->cg_read_reqs = a->cg[2];
		m->cg_write_reqs = a->cg[3];
		m->cg_read_bps = a->cg_secs > 0 ? (double)a->cg[0] / a->cg_secs : 0;
		m->cg_write_bps = a->cg_secs > 0 ? (double)a->cg[1] / a->cg_secs : 0;
	} else {
		m->cg_read_bytes = m->cg_write_bytes = m->cg_read_reqs = m->cg_write_reqs = METRIC_ABSENT_U64;
		m->cg_read_bps = m->cg_write_bps = NAN;
	}
}

void metrics_unit_cgroup(struct metrics_unit_acc *a, const uint64_t io[4], double secs)
{
	a->have_cgroup = 1;
	a->cg_secs = secs;
	for (int i = 0; io && i < 4; i++)
		a->cg[i] = add_sat(a->cg[i], io[i]);
}

static double psi_of(const struct sysstat_psi *p, unsigned bit, int full)
{
	if (!(p->valid & bit))
		return NAN;
	return full ? p->full.avg10 : p->some.avg10;
}

void metrics_host_compute(const struct res_system *s, const struct wcounters *sys,
			  const struct gpu_device_info *gpus, size_t ngpus, struct metrics_host *h)
{
	double cpu = s->cpu_pct, steal = s->steal_pct;

	memset(h, 0, sizeof(*h));
	if (sys && sys->sum[WC_OFFCPU_NS]) {
		cpu = 100.0 * (double)sys->sum[WC_CPU_NS] / (double)sys->sum[WC_OFFCPU_NS];
		steal = 100.0 * (double)sys->sum[WC_STEAL_NS] / (double)sys->sum[WC_OFFCPU_NS];
	}
	h->cpu_pct = cpu >= 0 ? cpu : NAN;
	h->steal_pct = steal >= 0 ? steal : NAN;
	if (s->mem_ok) {
		h->mem_total = s->mem.total;
		h->mem_available = s->mem.available;
		h->mem_used = s->mem.total > s->mem.available ? s->mem.total - s->mem.available : 0;
		h->mem_used_pct = s->mem.total ? 100.0 * (double)h->mem_used / (double)s->mem.total : NAN;
		h->swap_total = s->mem.swap_total;
		h->swap_used = s->mem.swap_total > s->mem.swap_free ? s->mem.swap_total - s->mem.swap_free : 0;
	} else {
		h->mem_total = h->mem_available = h->mem_used = METRIC_ABSENT_U64;
		h->swap_total = h->swap_used = METRIC_ABSENT_U64;
		h->mem_used_pct = NAN;
	}
	h->load1 = s->load_ok ? s->load.load1 : NAN;
	h->load5 = s->load_ok ? s->load.load5 : NAN;
	h->load15 = s->load_ok ? s->load.load15 : NAN;
	h->psi_cpu_some = s->psi_ok ? psi_of(&s->psi.cpu, SYSSTAT_PSI_SOME, 0) : NAN;
	h->psi_mem_some = s->psi_ok ? psi_of(&s->psi.memory, SYSSTAT_PSI_SOME, 0) : NAN;
	h->psi_mem_full = s->psi_ok ? psi_of(&s->psi.memory, SYSSTAT_PSI_FULL, 1) : NAN;
	h->psi_io_some = s->psi_ok ? psi_of(&s->psi.io, SYSSTAT_PSI_SOME, 0) : NAN;
	h->psi_io_full = s->psi_ok ? psi_of(&s->psi.io, SYSSTAT_PSI_FULL, 1) : NAN;
	h->gpu_mem_pct = NAN;
	for (size_t i = 0; gpus && i < ngpus; i++) {
		const struct gpu_device_info *di = &gpus[i];
		double pct;

		if (!(di->valid & GPU_HAVE_MEM) || !di->mem_total_bytes)
			continue;
		pct = 100.0 * (double)di->mem_used_bytes / (double)di->mem_total_bytes;
		if (isnan(h->gpu_mem_pct) || pct > h->gpu_mem_pct)
			h->gpu_mem_pct = pct;
	}
}

const struct metric *metrics_all(size_t *ret_n)
{
	*ret_n = sizeof(table) / sizeof(table[0]);
	return table;
}

const struct metric *metric_find(const char *name)
{
	for (size_t i = 0; name && i < sizeof(table) / sizeof(table[0]); i++)
		if (!strcmp(table[i].name, name))
			return &table[i];
	return NULL;
}

double metric_value(const struct metric *m, const void *snapshot)
{
	const char *p = (const char *)snapshot + m->offset;

	if (m->kind == METRIC_U64) {
		uint64_t v;

		memcpy(&v, p, sizeof(v));
		return v == METRIC_ABSENT_U64 ? NAN : (double)v;
	} else {
		double v;

		memcpy(&v, p, sizeof(v));
		return v;
	}
}

/* The object at path's parent, created as needed; *ret_leaf is the last
 * component. */
static struct json_object *parent_of(struct json_object *root, const char *path, char *leaf, size_t n)
{
	struct json_object *o = root;
	const char *dot;

	while ((dot = strchr(path, '.'))) {
		char key[64];
		struct json_object *child;

		snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
		if (!json_object_object_get_ex(o, key, &child)) {
			child = json_object_new_object();
			if (!child)
				return NULL;
			json_object_object_add(o, key, child);
		}
		o = child;
		path = dot + 1;
	}
	snprintf(leaf, n, "%s", path);
	return o;
}

int metrics_to_json(enum metric_scope scope, const void *snapshot, struct json_object *obj)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const struct metric *m = &table[i];
		struct json_object *parent, *v;
		char leaf[64];
		double d;

		if (m->scope != scope || !m->json)
			continue;
		parent = parent_of(obj, m->json, leaf, sizeof(leaf));
		if (!parent)
			return -ENOMEM;
		if (m->kind == METRIC_U64) {
			uint64_t u;

			memcpy(&u, (const char *)snapshot + m->offset, sizeof(u));
			v = u == METRIC_ABSENT_U64 ? NULL : json_object_new_uint64(u);
		} else {
			d = metric_value(m, snapshot);
			v = isnan(d) ? NULL : json_object_new_double(d);
		}
		json_object_object_add(parent, leaf, v);
	}
	return 0;
}

char *metrics_doc_table(void)
{
	static const char *const scopes[] = { "profd (`status`)", "host (`top`: `system`)",
					      "process (`top`: each row)", "unit (`top`: `units`; alert rules)",
					      "function (alert rules, `hotspots`)" };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	for (int s = 0; s < METRIC_NSCOPES; s++) {
		fprintf(f, "### Scope: %s\n\n", scopes[s]);
		fprintf(f, "| name | JSON member | type | unit | Prometheus | help |\n|---|---|---|---|---|---|\n");
		for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
			const struct metric *m = &table[i];

			if ((int)m->scope != s)
				continue;
			fprintf(f, "| `%s` | %s%s%s | %s | %s | %s%s%s | %s |\n", m->name, m->json ? "`" : "",
				m->json ? m->json : "—", m->json ? "`" : "", m->type == METRIC_COUNTER ? "counter" : "gauge",
				*m->unit ? m->unit : "—", m->prom ? "`" : "", m->prom ? m->prom : "—", m->prom ? "`" : "",
				m->help);
		}
		fprintf(f, "\n");
	}
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}
