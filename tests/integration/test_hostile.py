#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Hostile files: a process in a container-like root (a chroot) maps a
sparse library whose note section and .symtab claim several GiB, a
stripped library whose debug link is an absolute symlink to a bait file on
the host (and a FIFO in its .debug/), and was itself exec'd through a path
whose absolute symlink leads, on the host, to a second bait. A third
library is deleted while mapped (only /proc/PID/map_files reaches it).

profd must keep answering (each status well under a hang-catching bound),
stay within a memory bound, never open either bait nor any FIFO (fanotify
names the opener of each watched file; a FIFO opened for reading would
also hang the worker), count the failed load, and still name the
functions it can: hostile_spin in the stripped library (from .dynsym) and
in the deleted one (through map_files, which needs the
CAP_CHECKPOINT_RESTORE that profd keeps)."""
import ctypes
import json
import os
import shutil
import struct
import subprocess
import tempfile
import time

from profdtest import Daemon, WORKLOADS, Failed, check, log, run, wait_ticks

FREQ = 99
RUN_S = 8
GIB = 1 << 30
STATUS_HANG_S = 5.0          # a status slower than this is a hang, not load
RSS_BOUND = 64 << 20         # peak RSS over the baseline
CACHE = "16M"                # symbol cache bound for this test
MARKER = b"profd-hostile-bait-7c1f0e\n"

FAN_CLOEXEC, FAN_NONBLOCK, FAN_REPORT_FID = 0x1, 0x2, 0x200
FAN_ACCESS, FAN_OPEN, FAN_MARK_ADD = 0x1, 0x20, 0x1
AT_FDCWD = -100


class Watch:
    """Who opens files that must never be opened: one fanotify group per
    file (FAN_REPORT_FID, so FIFOs report too), events carry the opener's
    pid. Other profd instances on the host (older builds) may open them:
    only the pid under test matters. stdlib only: ctypes."""

    def __init__(self, paths):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.fanotify_mark.argtypes = [ctypes.c_int, ctypes.c_uint, ctypes.c_uint64, ctypes.c_int, ctypes.c_char_p]
        self.fds = {}
        for p in paths:
            fd = libc.fanotify_init(FAN_CLOEXEC | FAN_NONBLOCK | FAN_REPORT_FID, os.O_RDONLY)
            if fd < 0 or libc.fanotify_mark(fd, FAN_MARK_ADD, FAN_OPEN | FAN_ACCESS, AT_FDCWD, p.encode()) < 0:
                raise Failed("fanotify on %s: %s" % (p, os.strerror(ctypes.get_errno())))
            self.fds[p] = fd

    def events(self):
        """{path: set of pids that opened or read it}"""
        out = {}
        for p, fd in self.fds.items():
            while True:
                try:
                    buf = os.read(fd, 65536)
                except BlockingIOError:
                    break
                off = 0
                while off + 24 <= len(buf):
                    ln, _v, _r, _ml, _mask, _fd, pid = struct.unpack_from("<IBBHQii", buf, off)
                    out.setdefault(p, set()).add(pid)
                    off += max(ln, 24)
        return out

    def close(self):
        for fd in self.fds.values():
            os.close(fd)


def elf_sections(b):
    """{name: header offset} of a 64-bit little-endian ELF image."""
    shoff = struct.unpack_from("<Q", b, 0x28)[0]
    shnum, shstrndx = struct.unpack_from("<HH", b, 0x3c)
    stroff = struct.unpack_from("<Q", b, shoff + 64 * shstrndx + 24)[0]
    out = {}
    for i in range(shnum):
        h = shoff + 64 * i
        n = struct.unpack_from("<I", b, h)[0]
        out[b[stroff + n:b.index(0, stroff + n)].decode()] = h
    return out


def make_huge(src, dst):
    """src with a 4 GiB note section (.comment retyped) and a 3 GiB .symtab,
    both inside a sparse 12 GiB file."""
    b = bytearray(open(src, "rb").read())
    sec = elf_sections(b)
    struct.pack_into("<I", b, sec[".comment"] + 4, 7)            # SHT_NOTE
    struct.pack_into("<QQ", b, sec[".comment"] + 24, 6 * GIB, 4 * GIB)
    struct.pack_into("<QQ", b, sec[".symtab"] + 24, 2 * GIB, 3 * GIB)
    with open(dst, "wb") as f:
        f.write(b)
    os.truncate(dst, 12 * GIB)


def build_id(path):
    out = subprocess.run(["readelf", "-n", path], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if "Build ID:" in line:
            return line.split("Build ID:")[1].strip()
    raise Failed("no build-id in %s" % path)


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def kib(v):
    return int(v.split()[0]) * 1024


def timed_status(d):
    t0 = time.monotonic()
    try:
        r = d.request({"cmd": "status"}, timeout=60)[0]
    except OSError as e:
        log("status failed: %s" % e)
        return None, time.monotonic() - t0
    return r.get("data"), time.monotonic() - t0


def main():
    for tool in ("chroot", "strip", "objcopy", "readelf"):
        if not shutil.which(tool):
            raise Failed("%s is needed (packaging/deps.sh)" % tool)
    t = tempfile.mkdtemp(prefix="profd-hostile-")
    watch = None
    work = None
    d = None
    try:
        root = os.path.join(t, "root")
        bait_dir = os.path.join(t, "bait")            # host side, outside root
        exe_dir = os.path.join(t, "exedir")           # host side, outside root
        debug_dir = os.path.join(t, "debug")          # profd's debug_dirs
        lib = os.path.join(root, "lib")
        for p in (lib, os.path.join(lib, ".debug"), bait_dir, exe_dir,
                  os.path.join(root, exe_dir.lstrip("/"))):
            os.makedirs(p, exist_ok=True)
        spin = os.path.join(WORKLOADS, "libhostile_spin.so")
        spin_noid = os.path.join(WORKLOADS, "libhostile_spin_noid.so")

        # 1. the sparse one: 12 GiB file, 4 GiB note, 3 GiB .symtab
        make_huge(spin_noid, os.path.join(lib, "libhuge.so"))
        # 2. stripped, debug link -> absolute symlink to the host bait
        bait_dbg = os.path.join(bait_dir, "libdbg.debug")
        with open(bait_dbg, "wb") as f:
            f.write(MARKER)
        libdbg = os.path.join(lib, "libdbg.so")
        shutil.copy(spin, libdbg)
        subprocess.run(["strip", "--strip-all", libdbg], check=True)
        subprocess.run(["objcopy", "--add-gnu-debuglink=" + bait_dbg, libdbg], check=True)
        os.symlink(bait_dbg, os.path.join(lib, "libdbg.debug"))
        fifos = [os.path.join(lib, ".debug", "libdbg.debug")]
        # ... and a FIFO where the host's debug dir has its build-id file
        bid = build_id(libdbg)
        os.makedirs(os.path.join(debug_dir, ".build-id", bid[:2]))
        fifos.append(os.path.join(debug_dir, ".build-id", bid[:2], bid[2:] + ".debug"))
        for p in fifos:
            os.mkfifo(p, 0o600)
        # 3. deleted once mapped: only map_files reaches it
        shutil.copy(spin_noid, os.path.join(lib, "libgone.so"))
        # 4. exec'd as /app/hostile: /app -> exe_dir (absolute). Inside
        # the root that is the workload; on the host, a bait.
        shutil.copy(os.path.join(WORKLOADS, "hostile"), os.path.join(root, exe_dir.lstrip("/"), "hostile"))
        bait_exe = os.path.join(exe_dir, "hostile")
        with open(bait_exe, "wb") as f:
            f.write(MARKER)
        os.symlink(exe_dir, os.path.join(root, "app"))

        # No writer on the FIFOs: a read open that blocks would hang the
        # worker, and "pending" would never drain.
        watch = Watch([bait_dbg, bait_exe] + fifos)

        # Under ASan, freed memory waits in a quarantine (256 MiB by
        # default) and counts in the RSS: keep it small, so that the bound
        # measures profd, not the sanitizer.
        asan = os.environ.get("ASAN_OPTIONS", "")
        env = {"ASAN_OPTIONS": (asan + ":" if asan else "") + "quarantine_size_mb=8"}
        d = Daemon(frequency=FREQ, extra_conf="[symbols]\ncache_size = %s\ndebug_dirs = %s\n" % (CACHE, debug_dir),
                   env=env)
        wait_ticks(d, 1)
        s0, _ = timed_status(d)
        pid = s0["pid"]
        caps = int(proc_status(pid)["CapEff"], 16)
        check(caps & (1 << 40), "profd kept CAP_CHECKPOINT_RESTORE (CapEff %x)" % caps)
        base_rss = kib(proc_status(pid)["VmRSS"])
        log("baseline: RSS %.1f MiB, symbols %s" % (base_rss / 2**20, json.dumps(s0["symbols"])))

        work = subprocess.Popen(["chroot", root, "/app/hostile", str(RUN_S),
                                 "/lib/libhuge.so", "/lib/libdbg.so", "/lib/libgone.so"],
                                stdout=subprocess.PIPE, text=True)
        line = work.stdout.readline()
        check(line.startswith("ready"), "workload runs in the root (%s)" % line.strip())
        os.unlink(os.path.join(lib, "libgone.so"))

        lat = []
        peak_rss = base_rss
        while work.poll() is None:
            _, dt = timed_status(d)
            lat.append(dt)
            peak_rss = max(peak_rss, kib(proc_status(pid)["VmRSS"]))
            time.sleep(0.25)
        check(work.returncode == 0, "workload exited 0")
        wait_ticks(d, 2)
        for _ in range(20):     # let the worker finish what the run queued
            s1, dt = timed_status(d)
            lat.append(dt)
            if s1 and not s1["symbols"]["pending"]:
                break
            time.sleep(0.25)
        log("status latency: %d requests, max %.3f s, mean %.3f s" % (len(lat), max(lat), sum(lat) / len(lat)))
        check(d.alive(), "profd is alive")
        check(max(lat) < STATUS_HANG_S, "every status answered in < %.0f s (max %.3f s)" % (STATUS_HANG_S, max(lat)))

        st = proc_status(pid)
        hwm = kib(st["VmHWM"])
        log("RSS: baseline %.1f MiB, peak seen %.1f MiB, VmHWM %.1f MiB" % (
            base_rss / 2**20, peak_rss / 2**20, hwm / 2**20))
        check(hwm - base_rss < RSS_BOUND, "peak RSS %.1f MiB over the baseline (< %d MiB)" % (
            (hwm - base_rss) / 2**20, RSS_BOUND >> 20))

        ev = watch.events()
        for p, pids in ev.items():
            log("opened by %s: %s%s" % (sorted(pids), os.path.relpath(p, t),
                                        "" if pid in pids else " (not the profd under test)"))
        check(s1 and not s1["symbols"]["pending"], "the load worker drained its queue (no FIFO hang)")
        for p in [bait_dbg, bait_exe] + fifos:
            check(pid not in ev.get(p, ()), "profd never opened %s" % os.path.relpath(p, t))

        sy = s1["symbols"]
        log("symbols: %s" % json.dumps(sy))
        check(sy["load_failures"] > s0["symbols"]["load_failures"],
              "the 3 GiB .symtab counted as a load failure (%d -> %d)" % (
                  s0["symbols"]["load_failures"], sy["load_failures"]))

        data = d.ctl_json("export", "--format", "json", "--window", "1m")
        stacks = [x for x in data["stacks"] if x["pid"] == work.pid]
        frames = [(f["name"], f["module"]) for x in stacks for f in x["frames"]]
        mods = {}
        for x in stacks:
            for f in x["frames"]:
                mods.setdefault(f["module"], set()).add(f["name"])
        log("workload: %d stacks, %d samples; modules: %s" % (
            len(stacks), sum(x["count"] for x in stacks),
            {m: sorted(n)[:4] for m, n in mods.items()}))
        check(stacks, "the workload was sampled")
        check(("hostile_spin", "libdbg.so") in frames,
              "hostile_spin named in the stripped library (its .dynsym; the debug search ran)")
        check(("hostile_spin", "libgone.so") in frames,
              "hostile_spin named in the deleted library (through map_files)")
        check(any(m == "libhuge.so" for _, m in frames),
              "the sparse library was identified (frames in libhuge.so)")
        check(not any(n == "hostile_spin" for n, m in frames if m == "libhuge.so"),
              "no symbols read from the sparse library")
    finally:
        if watch:
            watch.close()
        if work and work.poll() is None:
            work.kill()
            work.wait()
        if d:
            d.stop()
            d.cleanup()
        shutil.rmtree(t, ignore_errors=True)


run(main)
