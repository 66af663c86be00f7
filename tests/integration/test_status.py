#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""profctl status: the sample totals reconcile (taken = idle + drained +
dropped + pending), what the windows hold equals what was drained, and
every counter the status promises is there."""
import json
import os
import subprocess

from profdtest import Daemon, WORKLOADS, check, log, run, wait_ticks

FREQ = 199


def main():
    d = Daemon(frequency=FREQ)
    try:
        subprocess.run([os.path.join(WORKLOADS, "cpu_shares"), "--duration", "4"],
                       capture_output=True, check=True, timeout=60)
        wait_ticks(d, 2)
        s1 = d.ctl_json("status")
        folded = d.request({"cmd": "export", "format": "folded", "window": "1h"})
        s2 = d.ctl_json("status")
        log(json.dumps(s2, indent=1))
        sm = s2["samples"]
        ncpu = s2["sampling"]["cpus"]
        acc = sm["idle"] + sm["drained"] + sm["dropped"]["ringbuf_full"] + sm["pending"]
        check(abs(sm["taken"] - acc) <= ncpu,
              "taken %d = idle %d + drained %d + dropped %d + pending %d (±%d in flight)" % (
                  sm["taken"], sm["idle"], sm["drained"], sm["dropped"]["ringbuf_full"], sm["pending"], ncpu))
        check(sm["taken"] >= 4 * FREQ * 0.9, "at least the workload's 4 s at %d Hz were sampled (%d)" % (FREQ, sm["taken"]))
        check(sm["dropped"]["ringbuf_full"] == 0, "no sample dropped at %d Hz on an idle host" % FREQ)
        in_windows = folded[0]["data"]["samples"]
        check(s1["samples"]["drained"] - 3 * FREQ * ncpu <= in_windows <= s2["samples"]["drained"],
              "windows hold %d samples; drained %d..%d" % (in_windows, s1["samples"]["drained"], s2["samples"]["drained"]))
        check(s2["sampling"]["event"] in ("cycles", "cpu-clock"), "event source %s" % s2["sampling"]["event"])
        check(s2["sampling"]["frequency"] == FREQ, "frequency %d" % FREQ)
        check(s2["processes"]["tracked"] >= 1 and s2["stacks"]["interned"] >= 1, "processes and stacks tracked")
        check(len(s2["store"]["tiers"]) == 2 and s2["store"]["tiers"][0]["slots"] == 600
              and s2["store"]["tiers"][1]["slot_s"] == 60, "two tiers: 1 s x 600 and 1 min x 1440")
        check(s2["store"]["bytes"] > 0 and s2["store"]["bytes"] <= s2["store"]["limit_bytes"], "store within its bound")
        check(s2["symbols"]["kernel_symbols"] > 1000, "kallsyms loaded (%d symbols)" % s2["symbols"]["kernel_symbols"])
        for key in ("table_full",):
            check(key in s2["processes"] and key in s2["stacks"], "bound counters present")
        plain = d.ctl("status").stdout
        log(plain)
        check("cpu-clock" in plain or "cycles" in plain, "plain status names the event source")
    finally:
        d.stop()
        d.cleanup()


run(main)
