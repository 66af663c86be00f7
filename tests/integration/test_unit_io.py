#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Block I/O per systemd unit from the kernel's per-cgroup counters.

A process moves itself into a transient scope (a new cgroup directory in the
hierarchy that carries the io controller, and on a hybrid v1 host the same
name in the name=systemd hierarchy, so profd names its unit), writes 16 MiB
with O_DIRECT and 16 MiB buffered into a new file (no fsync), and exits. The
test then flushes the file system from outside the scope (syncfs), as the
flusher would. Checks:

- `top --unit U` has the unit after its process exited, with io_write_bytes
  >= 16 MiB (the O_DIRECT part, submitted in the process's own context);
- where the kernel charges writeback to the cgroup that dirtied the pages
  (cgroup v2 with io and memory), io_write_bytes >= 32 MiB: the buffered
  16 MiB written back from outside count for the unit too;
- where it does not (cgroup v1 blkio, as on the project's dev VMs), the
  buffered 16 MiB land in the root cgroup: the unit shows less than 24 MiB
  (16 MiB + room for its metadata) and profd's count of bytes charged to
  cgroups of no unit grew by at least 16 MiB. Said in the log;
- a unit alert rule on unit.io_write_bytes over 8 MiB fires for the unit,
  and the header of `profctl top --unit U` shows its block I/O."""
import json
import os
import subprocess
import sys
import tempfile
import time

from profdtest import Daemon, Failed, check, log, run, skip, wait_ticks

MiB = 1 << 20


def io_hierarchy():
    """(mount point, v2, writeback tagged): the cgroup2 mount whose root
    enables io for its children, else the v1 blkio mount."""
    v1 = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, _, post = line.partition(" - ")
            mnt = pre.split()[4]
            fstype, _, opts = post.split()[:3]
            if fstype == "cgroup" and "blkio" in opts.split(",") and not v1:
                v1 = mnt
            if fstype == "cgroup2":
                try:
                    with open(os.path.join(mnt, "cgroup.subtree_control")) as c:
                        ctl = c.read().split()
                except OSError:
                    continue
                if "io" in ctl:
                    return mnt, True, "memory" in ctl
    if v1:
        return v1, False, False
    return None, False, False


def systemd_v1():
    """The name=systemd v1 mount on a hybrid host (where profd reads units), or None."""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, _, post = line.partition(" - ")
            if post.split()[0] == "cgroup" and "name=systemd" in post.split()[2].split(","):
                return pre.split()[4]
    return None


def block_dir():
    for d in ("/var/tmp", "/tmp", os.getcwd()):
        try:
            st = os.statvfs(d)
            if st.f_bavail * st.f_frsize > 128 * MiB and os.major(os.stat(d).st_dev) != 0:
                return d
        except OSError:
            pass
    return None


WRITER = r"""
import mmap, os, sys
path_d, path_b = sys.argv[1], sys.argv[2]
buf = mmap.mmap(-1, 1 << 20)
buf.write(b"d" * (1 << 20))
fd = os.open(path_d, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_DIRECT, 0o600)
for _ in range(16):
    os.write(fd, buf)
os.close(fd)
# a new file, no truncate: ext4 flushes a truncated file at close (auto_da_alloc)
fd = os.open(path_b, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
for _ in range(16):
    os.write(fd, b"b" * (1 << 20))
os.close(fd)
"""


def unit_of(d, unit):
    top = d.ctl_json("top", "--window", "60s", "--unit", unit, "--once")
    units = [u for u in top.get("units", []) if u["unit"] == unit]
    return top, units[0] if units else None


def main():
    root, v2, wb = io_hierarchy()
    if not root:
        skip("no cgroup hierarchy carries the io controller")
    bdir = block_dir()
    if not bdir:
        skip("no directory on a block device with 128 MiB free")
    unit = "profd-test-%d.scope" % os.getpid()
    dirs = [os.path.join(root, unit)]
    sd = None if v2 else systemd_v1()
    if sd:
        dirs.append(os.path.join(sd, unit))
    log("io hierarchy %s (cgroup v%d%s), unit %s, files in %s" %
        (root, 2 if v2 else 1, ", writeback tagged" if wb else "", unit, bdir))
    rules = ("[rule unit_io]\nmetric = unit.io_write_bytes\nmatch = unit:%s\nabove = 8MiB\n"
             "window = 1m\nnotify = log\n" % unit)
    d = Daemon(extra_conf=rules)
    tmp = tempfile.mkdtemp(prefix="profd-unitio-", dir=bdir)
    made = []
    try:
        for x in dirs:
            os.mkdir(x)
            made.append(x)
        wait_ticks(d, 2)
        st0 = d.ctl_json("status")["resources"]["cgroup_io"]

        def enter():
            for x in dirs:
                with open(os.path.join(x, "cgroup.procs"), "w") as f:
                    f.write("0")

        pd, pb = os.path.join(tmp, "direct.dat"), os.path.join(tmp, "buffered.dat")
        w = subprocess.run([sys.executable, "-c", WRITER, pd, pb], preexec_fn=enter, capture_output=True, text=True)
        check(w.returncode == 0, "the writer ran in %s and exited (%s)" % (unit, w.stderr.strip()[-200:]))
        # the flush, from outside the scope (as the flusher's would be)
        fd = os.open(tmp, os.O_RDONLY | os.O_DIRECTORY)
        os.fsync(fd)
        try:
            os.syncfs(fd)
        except AttributeError:
            os.sync()
        os.close(fd)
        wait_ticks(d, 3)
        top, u = unit_of(d, unit)
        log("units: %s" % json.dumps(u))
        st1 = d.ctl_json("status")["resources"]["cgroup_io"]
        log("cgroup_io before %s\ncgroup_io after  %s" % (st0, st1))
        check(u is not None, "top --unit %s lists the unit after its process exited" % unit)
        wb_bytes = u["io_write_bytes"]
        check(wb_bytes is not None, "the unit's io_write_bytes is a figure (block I/O is counted per cgroup)")
        check(wb_bytes >= 16 * MiB, "the unit's cgroup was charged %.2f MiB >= 16 MiB (the O_DIRECT writes)"
              % (wb_bytes / MiB))
        check(u["io_write_reqs"] >= 16, "in %d write requests >= 16" % u["io_write_reqs"])
        rows = [r for r in top["processes"] if r.get("unit") == unit]
        own = sum(r.get("io_write_bytes") or 0 for r in rows)
        log("the unit's process rows: %d, their own block writes %.2f MiB" % (len(rows), own / MiB))
        if wb:
            check(wb_bytes >= 32 * MiB,
                  "cgroup writeback: %.2f MiB >= 32 MiB, the 16 MiB flushed from outside the scope included"
                  % (wb_bytes / MiB))
            check(wb_bytes >= own + 16 * MiB,
                  "the unit's figure exceeds its processes' own (%.2f MiB) by the writeback" % (own / MiB))
        else:
            log("this kernel charges writeback to the cgroup of the task that submits it (cgroup v1 blkio, "
                "or v2 without io+memory): the buffered 16 MiB flushed from outside are not the unit's")
            check(wb_bytes < 24 * MiB,
                  "without cgroup writeback the unit shows %.2f MiB < 24 MiB (its O_DIRECT 16 MiB and metadata)"
                  % (wb_bytes / MiB))
            grew = st1["other_bytes"] - st0["other_bytes"]
            check(grew >= 16 * MiB,
                  "the flush was charged to cgroups of no unit: other_bytes grew %.2f MiB >= 16 MiB" % (grew / MiB))
        plain = d.ctl("top", "--window", "60s", "--unit", unit, "--once").stdout
        head = [l for l in plain.splitlines() if l.startswith("unit %s:" % unit)]
        log(head[0] if head else plain)
        check(len(head) == 1 and "block I/O of its cgroups" in head[0],
              "profctl top --unit shows the unit's block I/O in its header")
        deadline = time.time() + 10
        fired = []
        while time.time() < deadline and not fired:
            al = d.ctl_json("alerts")
            fired = [a for a in al.get("alerts", []) if a.get("rule") == "unit_io" and a.get("unit") == unit]
            if not fired:
                time.sleep(0.5)
        log("alerts: %s" % fired)
        check(fired and fired[0].get("state") in ("firing", "pending"),
              "the unit rule on unit.io_write_bytes > 8 MiB fired for %s" % unit)
    finally:
        d.stop()
        d.cleanup()
        for x in reversed(made):
            for _ in range(50):
                try:
                    os.rmdir(x)
                    break
                except OSError:
                    time.sleep(0.1)
        for f in ("direct.dat", "buffered.dat"):
            try:
                os.unlink(os.path.join(tmp, f))
            except OSError:
                pass
        os.rmdir(tmp)


run(main)
