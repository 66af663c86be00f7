#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Reload semantics: what a reload applies, what waits for a restart, and
that status never shows a value not in force.

- A daemon started with --frequency 199 over a file that says 99: a reload
  (of an unchanged file, then of one that says 49) keeps 199 (command-line
  overrides survive reloads); the file's new memory_limit and
  max_processes are listed as pending a restart in the reload's answer and
  in status, which keeps showing the running bounds; top still lists every
  live process after max_processes was lowered in the file.
- A daemon without the flag: a reload to 49 Hz applies it (reply
  "applied", status and top say 49, and a busy process's samples over a
  window are those of 49 Hz for the CPU time the scheduler gave it in that
  window); bringing memory_limit back to the running
  value empties the pending list."""
import json
import os
import subprocess

from profdtest import Daemon, WORKLOADS, check, log, run, wait_ticks

MiB = 1 << 20


def write_conf(d, text):
    # the harness's own state directory stays: a changed state_dir would
    # (rightly) be listed as waiting for a restart
    with open(d.conf, "w") as f:
        f.write("%s\n[daemon]\nstate_dir = %s\n" % (text, os.path.join(d.dir, "state")))


def reload(d):
    r = d.ctl_json("reload")
    log("reload: %s" % json.dumps(r))
    return r


def live_rows(d):
    top = d.ctl_json("top", "--window", "2s", "--limit", "10000", "--once")
    return len([p for p in top["processes"] if p["alive"]])


def with_override():
    d = Daemon(frequency=99, args=["--frequency", "199"])
    try:
        s0 = d.ctl_json("status")
        check(s0["sampling"]["frequency"] == 199, "--frequency 199 over a file that says 99")
        limit0 = s0["memory"]["store_limit_bytes"]
        procs0 = s0["processes"]["limit"]
        r = reload(d)
        check(r["applied"] == [] and r["pending_restart"] == [], "reloading the same file changes nothing")
        check(d.ctl_json("status")["sampling"]["frequency"] == 199, "the command line's 199 Hz survived the reload")

        write_conf(d, "[sampling]\nfrequency = 49\n[windows]\nmemory_limit = 64M\n[limits]\nmax_processes = 64\n")
        r = reload(d)
        check(r["applied"] == [], "nothing applied: the command line still says 199 Hz (applied %s)" % r["applied"])
        check(sorted(r["pending_restart"]) == ["limits.max_processes", "windows.memory_limit"],
              "the reply lists memory_limit and max_processes as waiting for a restart: %s" % r["pending_restart"])
        s = d.ctl_json("status")
        check(s["sampling"]["frequency"] == 199, "status: 199 Hz, the value in force")
        check(s["memory"]["store_limit_bytes"] == limit0 and s["store"]["limit_bytes"] == limit0,
              "status: the store's bound in force, %d MiB, not the file's 64 MiB" % (limit0 // MiB))
        check(s["processes"]["limit"] == procs0, "status: the process bound in force (%d)" % procs0)
        check(sorted(s["pending_restart"]) == ["limits.max_processes", "windows.memory_limit"],
              "status lists what waits for a restart")
        plain = d.ctl("status").stdout
        check("applies at the next start: limits.max_processes, windows.memory_limit" in plain
              or "applies at the next start: windows.memory_limit, limits.max_processes" in plain,
              "profctl status says which changes wait for a restart")
        plain = d.ctl("reload").stdout
        log(plain)
        check("at the next start" in plain and "windows.memory_limit" in plain, "profctl reload says so too")
        # a /proc scan every 10 rounds finds the processes that never ran
        wait_ticks(d, 11)
        n_after = live_rows(d)
        n_proc = len([x for x in os.listdir("/proc") if x.isdigit()])
        log("live processes: %d in top after max_processes = 64 in the file, %d in /proc" % (n_after, n_proc))
        if n_proc > 100:
            check(n_after > 64, "top still lists the live processes past the file's 64 (%d)" % n_after)
    finally:
        d.stop()
        d.cleanup()


def without_override():
    d = Daemon(frequency=99)
    p = None
    try:
        write_conf(d, "[sampling]\nfrequency = 49\n[windows]\nmemory_limit = 64M\n")
        r = reload(d)
        check(r["applied"] == ["sampling.frequency"], "reload applied sampling.frequency: %s" % r["applied"])
        check(r["pending_restart"] == ["windows.memory_limit"], "memory_limit waits for a restart")
        s = d.ctl_json("status")
        check(s["sampling"]["frequency"] == 49 and s["pending_restart"] == ["windows.memory_limit"],
              "status: 49 Hz in force, memory_limit pending")
        # the sampler really runs at 49 Hz: a busy process's samples
        # against its CPU time from the scheduler over the same window
        p = subprocess.Popen([os.path.join(WORKLOADS, "cpu_shares"), "--duration", "8", "--threads", "1"],
                             stdout=subprocess.PIPE, text=True)
        pid = json.loads(p.stdout.readline())["pid"]
        wait_ticks(d, 6)
        top = d.ctl_json("top", "--window", "5s", "--pid", str(pid), "--once")
        rows = top["processes"]
        check(top["frequency"] == 49 and len(rows) == 1, "top: 49 Hz, the workload's row")
        check(rows[0]["cpu_source"] == "sched", "its CPU time is the scheduler's")
        cpu_s = rows[0]["oncpu_ns"] / 1e9
        want = 49 * cpu_s
        got = rows[0]["samples"]
        # which task a tick finds is a draw when CPUs are shared: 4 sigma,
        # and a few samples for the edges of the window
        tol = 4 * want ** 0.5 + 5
        log("samples %d, expected 49 Hz x %.2f s of CPU = %.0f (±%.0f)" % (got, cpu_s, want, tol))
        check(cpu_s > 0.5, "the workload got %.2f s of CPU in the window" % cpu_s)
        check(abs(got - want) <= tol, "the sampler runs at 49 Hz: %d samples for %.2f CPU-seconds" % (got, cpu_s))
        write_conf(d, "[sampling]\nfrequency = 49\n")
        r = reload(d)
        check(r["applied"] == [] and r["pending_restart"] == [],
              "memory_limit back to the running value: nothing pending any more")
        check(d.ctl_json("status")["pending_restart"] == [], "status: nothing pending")
    finally:
        if p:
            p.kill()
            p.wait()
        d.stop()
        d.cleanup()


def main():
    with_override()
    without_override()


run(main)
