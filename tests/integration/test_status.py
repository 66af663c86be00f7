#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""profctl status: the sample totals reconcile, each identity between
counts kept by different code (the BPF program's per-CPU counters, the
ring-buffer reader, the ingestion into the windows, what a query of the
windows finds), and every counter the status promises is there."""
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
        # the kernel's own counts: every sample taken is idle, written to
        # the ring, or dropped (a sample per CPU may be in flight)
        acc = sm["idle"] + sm["emitted"] + sm["dropped"]["ringbuf_full"]
        check(abs(sm["taken"] - acc) <= ncpu,
              "taken %d = idle %d + emitted %d + dropped %d (±%d in flight)" % (
                  sm["taken"], sm["idle"], sm["emitted"], sm["dropped"]["ringbuf_full"], ncpu))
        # the kernel's count against the reader's: what is not yet drained
        # is in the ring, and the ring is emptied every tick
        check(sm["drained"] <= sm["emitted"] and sm["pending"] == sm["emitted"] - sm["drained"],
              "drained %d <= emitted %d, pending %d" % (sm["drained"], sm["emitted"], sm["pending"]))
        check(sm["pending"] <= 2 * FREQ * ncpu, "at most two ticks of samples wait in the ring (%d)" % sm["pending"])
        # the reader's count against the ingestion's: every drained sample
        # reached the windows, waits in staging, or was dropped (counted)
        # (malformed counts records of any kind: exact when there are none)
        ends = sm["applied"] + sm["staged"] + sm["dropped"]["staging_full"] + sm["dropped"]["store_failures"]
        check(ends <= sm["drained"] <= ends + sm["malformed"],
              "drained %d = applied %d + staged %d + staging drops %d + store failures %d (+ malformed %d)" % (
                  sm["drained"], sm["applied"], sm["staged"], sm["dropped"]["staging_full"],
                  sm["dropped"]["store_failures"], sm["malformed"]))
        check(s1["samples"]["taken"] >= 4 * FREQ * 0.9, "at least the workload's 4 s at %d Hz were sampled (%d)" % (
            FREQ, s1["samples"]["taken"]))
        check(sm["dropped"]["ringbuf_full"] == 0 and sm["dropped"]["staging_full"] == 0,
              "no sample dropped at %d Hz on an idle host" % FREQ)
        # the ingestion's count against a query of the windows
        in_windows = folded[0]["data"]["samples"]
        check(s1["samples"]["applied"] - 3 * FREQ * ncpu <= in_windows <= s2["samples"]["applied"],
              "windows hold %d samples; applied %d..%d" % (in_windows, s1["samples"]["applied"],
                                                           s2["samples"]["applied"]))
        check(s2["memory"]["budget_bytes"] >= s2["memory"]["store_limit_bytes"] + s2["memory"]["symbols_limit_bytes"] +
              s2["memory"]["replies_limit_bytes"] + s2["memory"]["queries_limit_bytes"] +
              s2["memory"]["staging_limit_bytes"], "the memory bounds fit the budget")
        check(s2["server"]["protocol_version"] == 2, "protocol version 2")
        check(s2["sampling"]["event"] in ("cycles", "cpu-clock"), "event source %s" % s2["sampling"]["event"])
        check(s2["sampling"]["frequency"] == FREQ, "frequency %d" % FREQ)
        check(s2["processes"]["tracked"] >= 1 and s2["stacks"]["interned"] >= 1, "processes and stacks tracked")
        check(len(s2["store"]["tiers"]) == 2 and s2["store"]["tiers"][0]["slots"] == 600
              and s2["store"]["tiers"][1]["slot_s"] == 60, "two tiers: 1 s x 600 and 1 min x 1440")
        check(s2["store"]["bytes"] > 0 and s2["store"]["bytes"] <= s2["store"]["limit_bytes"], "store within its bound")
        check(s2["symbols"]["kernel_symbols"] > 1000, "kallsyms loaded (%d symbols)" % s2["symbols"]["kernel_symbols"])
        for key in ("table_full",):
            check(key in s2["processes"] and key in s2["stacks"], "bound counters present")
        # which kernel counters are exact, and CPU % from the one that says
        ctr = s2["resources"]["counters"]
        check(sorted(ctr) == ["blkio", "exit", "oncpu", "runq", "switches"], "counter families %s" % sorted(ctr))
        for name, c in ctr.items():
            check(c["state"] in ("exact", "estimated", "absent") and (c["state"] == "exact") == ("reason" not in c),
                  "%s: %s%s" % (name, c["state"], " (%s)" % c["reason"] if "reason" in c else ""))
        src = "samples" if ctr["oncpu"]["state"] == "absent" else "sched"
        top = d.ctl_json("top", "--once")
        check(s2["resources"]["cpu_source"] == src and top["cpu_source"] == src,
              "CPU source %s in status and top, as the oncpu family says" % src)
        plain = d.ctl("status").stdout
        log(plain)
        check("cpu-clock" in plain or "cycles" in plain, "plain status names the event source")
        check(all(("  %s: %s" % (n, c["state"])) in plain for n, c in ctr.items()),
              "plain status says which kernel counters are exact")
    finally:
        d.stop()
        d.cleanup()


run(main)
