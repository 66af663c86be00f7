#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""20 processes of 50 ms each, one after another: each must be attributed
by name (sl_child) and pid, with its own function child_spin named, after
it has exited."""
import os
import subprocess

from profdtest import Daemon, WORKLOADS, check, log, run, wait_ticks

FREQ = 99
N = 20


def main():
    d = Daemon(frequency=FREQ)
    try:
        out = subprocess.run([os.path.join(WORKLOADS, "short_lived"), str(N), "50"],
                             capture_output=True, text=True, timeout=60, check=True).stdout
        pids = {int(x) for x in out.split()}
        check(len(pids) == N, "%d short-lived children ran" % N)
        wait_ticks(d, 3)
        data = d.ctl_json("export", "--format", "json", "--window", "1m")
        stacks = [s for s in data["stacks"] if s["pid"] in pids]
        named = [s for s in stacks if s["comm"] == "sl_child"]
        spin = [s for s in named if any(f["name"] == "child_spin" for f in s["frames"])]
        samples = sum(s["count"] for s in spin)
        seen = {s["pid"] for s in spin}
        log("%d stacks of the children, %d samples in child_spin, %d distinct pids" % (len(stacks), samples, len(seen)))
        # 20 x 50 ms of CPU at 99 Hz is ~99 samples; allow for timer phase.
        check(samples >= 0.7 * N * 0.050 * FREQ, "child_spin has %d samples (>= 70 %% of %.0f)" % (samples, N * 0.05 * FREQ))
        check(len(seen) >= N * 0.75, "%d of %d short-lived pids attributed with child_spin named" % (len(seen), N))
        check(len(named) == len(stacks), "all children's stacks carry the name sl_child")
        top = d.ctl_json("top", "--window", "1m", "--limit", "10000")
        rows = [r for r in top["processes"] if r["pid"] in pids]
        check(len(rows) >= N * 0.75 and all(r["comm"] == "sl_child" and not r["alive"] for r in rows),
              "top lists %d exited children as sl_child, not alive" % len(rows))
        hot = [r for r in rows if r["hottest"] == "child_spin"]
        check(len(hot) >= len(rows) * 0.75, "hottest function of %d/%d children is child_spin" % (len(hot), len(rows)))
    finally:
        d.stop()
        d.cleanup()


run(main)
