#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The interactive `profctl top` on a real pseudo-terminal (tmux): it draws
a header and the process table, refreshes, changes sort on a key, follows a
busy workload, and quits on q."""
import json
import os
import shutil
import subprocess
import time

from profdtest import PROFCTL, Daemon, WORKLOADS, check, log, run, skip


def tmux(*args, check_rc=True):
    return subprocess.run(["tmux", "-L", "profd-test-%d" % os.getpid()] + list(args),
                          capture_output=True, text=True, check=check_rc)


def screen():
    return tmux("capture-pane", "-p", "-t", "top").stdout


def wait_for(pred, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        s = screen()
        if pred(s):
            return s
        time.sleep(0.2)
    return screen()


def main():
    if not shutil.which("tmux"):
        skip("tmux is not installed")
    d = Daemon()
    p = None
    try:
        p = subprocess.Popen([os.path.join(WORKLOADS, "cpu_shares"), "--duration", "20"],
                             stdout=subprocess.PIPE, text=True)
        pid = json.loads(p.stdout.readline())["pid"]
        time.sleep(2.5)
        tmux("new-session", "-d", "-s", "top", "-x", "150", "-y", "30",
             "%s --socket %s top --window 10s --interval 1s" % (PROFCTL, d.sock))
        s = wait_for(lambda s: str(pid) in s and "work_alpha" in s)
        log(s)
        check("PID" in s and "CPU%" in s and "COMMAND" in s, "header with PID, CPU%, COMMAND columns")
        check(str(pid) in s and "work_alpha" in s, "the busy workload %d and its hottest function are on screen" % pid)
        first = s
        s = wait_for(lambda s: s != first, timeout=6)
        check(s != first, "the screen is redrawn with new data within 6 s")
        def pid_column(s):
            return [int(l.split()[0]) for l in s.splitlines() if l.split() and l.split()[0].isdigit()]

        tmux("send-keys", "-t", "top", "p")
        # the capture may catch curses mid-redraw: wait for a settled screen
        s = wait_for(lambda s: "sort pid" in s and len(pid_column(s)) >= 2 and pid_column(s) == sorted(pid_column(s)))
        pids = pid_column(s)
        log("pids after 'p': %s" % pids[:10])
        check(len(pids) >= 2 and pids == sorted(pids), "key p sorts by pid")
        tmux("send-keys", "-t", "top", "q")
        deadline = time.time() + 5
        while time.time() < deadline and tmux("has-session", "-t", "top", check_rc=False).returncode == 0:
            time.sleep(0.1)
        check(tmux("has-session", "-t", "top", check_rc=False).returncode != 0, "q quits")
    finally:
        tmux("kill-server", check_rc=False)
        if p:
            p.kill()
            p.wait()
        d.stop()
        d.cleanup()


run(main)
