#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Stock Debian binaries, built without frame pointers: the distribution's
python3 (non-PIE, libpython linked in) running a known script, and xz -9.

- python3: >= 90 % of its samples are complete stacks (profd reports a
  stack complete only when it reaches _start, __libc_start_main or a thread
  start: daemon/profile/profile.c), most of them through Py_BytesMain.
- xz: >= 95 % of its samples reach main (the frame __libc_start_call_main
  calls, in xz itself: xz is stripped, so main has no name).

The export window covers the steady state: each program runs 14 s and the
window is the last 10 s, so the first tick of each process (walked by the
kernel's frame-pointer fallback until profd has read its mappings) is out
of it."""
import json
import os
import signal
import subprocess
import time

from profdtest import Daemon, check, log, run, skip, wait_ticks

PYTHON = "/usr/bin/python3"
XZ = "/usr/bin/xz"
HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "workloads", "py_json_hash.py")
RUN_S = 14


def user_names(stack):
    return [f["name"] for f in stack["frames"] if not f["kernel"]]


def export(d, pid):
    stacks = d.ctl_json("export", "--format", "json", "--window", "10s", "--pid", str(pid))["stacks"]
    total = sum(s["count"] for s in stacks)
    for s in sorted(stacks, key=lambda x: -x["count"])[:5]:
        log("  %5d %s%s" % (s["count"], "[truncated] " if s["truncated"] else "", ";".join(user_names(s))[:300]))
    return stacks, total


def python_case(d):
    p = subprocess.Popen([PYTHON, SCRIPT, str(RUN_S)], stdout=subprocess.PIPE, text=True)
    pid = json.loads(p.stdout.readline())["pid"]
    out, _ = p.communicate(timeout=RUN_S + 60)
    check(p.returncode == 0, "python3 (pid %d) ran: %s" % (pid, out.strip()))
    wait_ticks(d, 2)
    stacks, total = export(d, pid)
    complete = sum(s["count"] for s in stacks if not s["truncated"])
    via_main = sum(s["count"] for s in stacks if not s["truncated"] and "Py_BytesMain" in user_names(s))
    depth = sorted(len(user_names(s)) for s in stacks for _ in range(s["count"]))
    log("python3: %d samples, %d complete, %d through Py_BytesMain, median depth %d"
        % (total, complete, via_main, depth[len(depth) // 2] if depth else 0))
    check(total >= 100, "python3: %d samples in the window (>= 100)" % total)
    check(complete >= 0.90 * total, "python3: %d of %d samples (%.1f %%) are complete stacks (>= 90 %%)"
          % (complete, total, 100.0 * complete / total))
    check(via_main >= 0.5 * total, "python3: %d samples pass through Py_BytesMain" % via_main)


def xz_case(d, tmp):
    data = os.path.join(tmp, "xz-input")
    with open(data, "wb") as f:
        # half random, half text: xz -9 needs well over 14 s for it
        for i in range(48):
            f.write(os.urandom(512 * 1024))
            f.write((("line %d of block %d: the quick brown fox\n" % (i * 7, i)) * 13000).encode())
    p = subprocess.Popen([XZ, "-9", "-T1", "-c", data], stdout=subprocess.DEVNULL)
    time.sleep(RUN_S)
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
    p.wait(timeout=30)
    wait_ticks(d, 2)
    stacks, total = export(d, p.pid)
    main_ok = 0
    for s in stacks:
        n = user_names(s)
        if s["truncated"] or "__libc_start_call_main" not in n:
            continue
        i = n.index("__libc_start_call_main")
        if i + 1 < len(n) and n[i + 1].startswith("xz"):
            main_ok += s["count"]
    log("xz: %d samples, %d reach main" % (total, main_ok))
    check(total >= 100, "xz: %d samples in the window (>= 100)" % total)
    check(main_ok >= 0.95 * total, "xz: %d of %d samples (%.1f %%) reach main (>= 95 %%)"
          % (main_ok, total, 100.0 * main_ok / total))


def main():
    for exe in (PYTHON, XZ):
        if not os.access(exe, os.X_OK):
            skip("%s is not installed" % exe)
    d = Daemon(frequency=99)
    try:
        python_case(d)
        xz_case(d, d.dir)
    finally:
        d.stop()
        d.cleanup()


run(main)
