#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""profd's own cost in status. With [daemon] bpf_stats = yes profd holds
BPF statistics on: the sample program's run count (the kernel's) agrees
with the program's own count of samples taken, the scheduler programs run,
the threads' CPU time by role adds up to what /proc says the process used,
the total is daemon + BPF, and kernel.bpf_stats_enabled is as it was once
profd has gone. With [sampling] sched_counters = no no scheduler program
runs, CPU % comes from samples (a 50 % workload shows about 50 %), and
status says so."""
import json
import os
import subprocess
import time

from profdtest import Daemon, WORKLOADS, check, log, run, wait_ticks

FREQ = 199
SYSCTL = "/proc/sys/kernel/bpf_stats_enabled"
ROLES = ("loop", "collector", "symbols", "debuginfod", "unwind", "query", "notify", "other")


def proc_cpu_ns(pid):
    with open("/proc/%d/stat" % pid) as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) * 1e9 / os.sysconf("SC_CLK_TCK")


def sysctl():
    with open(SYSCTL) as f:
        return f.read().strip()


def wait_uptime(d, secs):
    deadline = time.time() + secs + 30
    while time.time() < deadline:
        s = d.ctl_json("status")
        if s["cost"]["window_s"] >= secs:
            return s
        time.sleep(0.5)
    raise AssertionError("cost window did not reach %d s" % secs)


def held():
    before = sysctl()
    d = Daemon(frequency=FREQ, extra_conf="[daemon]\nbpf_stats = yes\n")
    try:
        hog = subprocess.Popen([os.path.join(WORKLOADS, "hog"), "duty", "50", "8"], stdout=subprocess.PIPE)
        s = wait_uptime(d, 6)
        wait_ticks(d, 1)
        s = d.ctl_json("status")
        # both reads of the process's CPU, /proc's first (10 ms ticks)
        c = s["cost"]
        log(json.dumps(c, indent=1))
        check(c["bpf_stats"] == "profd", "BPF statistics held by profd (%s)" % c["bpf_stats"])
        # The kernel's run count of the sample program against the
        # program's own count of samples taken: equal but for the samples
        # taken before profd turned statistics on (a few ms after attach)
        # and those since the cost snapshot (at most a second or so old).
        runs, taken, ncpu = c["bpf"]["sample"]["runs"], s["samples"]["taken"], s["sampling"]["cpus"]
        slack = 3 * FREQ * ncpu
        check(taken - slack <= runs <= taken,
              "sample program runs %d (kernel) against samples taken %d (program), within %d" % (runs, taken, slack))
        check(c["bpf"]["sample"]["run_ns"] > 0 and c["bpf"]["sample"]["ns_per_run"] > 0, "sample run time measured")
        check(c["bpf"]["sched_switch"]["runs"] > 0 and c["bpf"]["sched_runtime"]["runs"] > 0,
              "scheduler programs ran (switch %d, runtime %d)" % (c["bpf"]["sched_switch"]["runs"],
                                                                  c["bpf"]["sched_runtime"]["runs"]))
        lm = c["last_minute"]
        check(lm["bpf_pct"] is not None and lm["bpf_pct"] > 0, "BPF share measured (%s)" % lm["bpf_pct"])
        check(abs(lm["total_pct"] - (lm["cpu_pct"] + lm["bpf_pct"])) < 1e-3,
              "total %s = daemon %s + BPF %s" % (lm["total_pct"], lm["cpu_pct"], lm["bpf_pct"]))
        check(abs(lm["bpf_covered_s"] - c["window_s"]) < 0.01, "statistics on for the whole window")
        progs = sum(v["cpu_pct"] or 0 for v in c["bpf"].values())
        check(abs(progs - lm["bpf_pct"]) < 0.01 * max(lm["bpf_pct"], 0.1),
              "programs' shares add up to the BPF share (%.4f, %.4f)" % (progs, lm["bpf_pct"]))
        # Threads by role against the kernel's count for the whole process
        # (/proc/PID/stat, read after the snapshot: it may only be more, by
        # what profd used since, and its ticks round down by 10 ms each).
        roles = sum(c["threads"][r]["cpu_ns"] for r in ROLES)
        stat = proc_cpu_ns(d.proc.pid)
        log("threads by role %.1f ms, /proc/PID/stat %.1f ms" % (roles / 1e6, stat / 1e6))
        check(stat - 20e6 <= roles + 0.05 * roles + 200e6 and roles <= stat + 0.05 * stat + 40e6,
              "threads' CPU %.1f ms agrees with /proc's %.1f ms" % (roles / 1e6, stat / 1e6))
        check(c["threads"]["loop"]["cpu_ns"] > 0 and c["threads"]["collector"]["cpu_ns"] > 0,
              "the loop and the collector thread are told apart")
        check(c["threads"]["other"]["cpu_ns"] < 0.25 * roles,
              "most of the CPU is by named threads (other %d of %d ns)" % (c["threads"]["other"]["cpu_ns"], roles))
        check(c["rss_budget_pct"] > 0 and abs(c["rss_budget_pct"] - 100.0 * s["memory"]["rss_bytes"] /
                                               s["memory"]["budget_bytes"]) < 5,
              "RSS against the budget (%.1f %%)" % c["rss_budget_pct"])
        plain = d.ctl("status").stdout
        log(plain[plain.find("cost ("):])
        check("cost (" in plain and "held by profd" in plain and "sample" in plain, "plain status shows the cost")
        hog.wait(30)
    finally:
        d.stop()
        d.cleanup()
    check(sysctl() == before, "kernel.bpf_stats_enabled is %s again once profd has gone" % before)


def samples_only():
    d = Daemon(frequency=FREQ, extra_conf="sched_counters = no\n")
    try:
        hog = subprocess.Popen([os.path.join(WORKLOADS, "hog"), "duty", "50", "12"], stdout=subprocess.PIPE)
        pid = json.loads(hog.stdout.readline())["pid"]
        time.sleep(1)
        wait_ticks(d, 10)
        s = d.ctl_json("status")
        c = s["cost"]
        check(s["resources"]["cpu_source"] == "samples", "CPU %% from samples (%s)" % s["resources"]["cpu_source"])
        check(c["sched_counters"] is False, "status says the scheduler counters are off")
        for p in ("sched_switch", "sched_wakeup", "sched_runtime", "sched_fork"):
            check(c["bpf"][p]["runs"] == 0, "no %s program ran" % p)
        if c["bpf_stats"] == "off":
            check(c["last_minute"]["total_pct"] is None and c["last_minute"]["bpf_pct"] is None,
                  "no total without BPF statistics")
            check("not measured" in d.ctl("status").stdout, "plain status says BPF is not measured")
        top = d.ctl_json("top", "--once", "--window", "5s")
        rows = [p for p in top["processes"] if p["pid"] == pid]
        check(len(rows) == 1, "the workload is in top")
        cpu = rows[0]["cpu_pct"]
        log("hog duty 50: %.1f %% from samples" % cpu)
        check(30 <= cpu <= 70, "a 50 %% workload shows %.1f %% from samples" % cpu)
        check("scheduler counters: off" in d.ctl("status").stdout, "plain status says the counters are off")
        hog.wait(30)
    finally:
        d.stop()
        d.cleanup()


def main():
    held()
    samples_only()


run(main)
