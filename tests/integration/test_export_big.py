#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The largest exports of a store with tens of thousands of distinct stacks
stream to the client in bounded memory while status keeps answering.

profd samples at 999 Hz while two threads walk a random call tree
(tests/workloads/many_stacks) for 30 s. Then 48 h JSON and folded exports
go through profctl (protocol 2, chunked, written to files as they come),
and a JSON export through a protocol 1 request (a fixed-size payload: sent
whole if it fits max_reply, else refused before anything is sent). A
second client asks for the status every 100 ms throughout, and profd's
resident memory is sampled.

Asserted: the exports parse and their sample totals agree with each other
and with what status says the windows hold; profd's peak RSS (VmHWM) stays
within its memory_budget (not in sanitizer builds, whose RSS is mostly the
sanitizer's); every status probe is answered; no event-loop callback used
more than 50 ms of CPU meanwhile (profd's own CPU accounting of its loop
thread: a query run on the loop would, a starved VM cannot; 250 ms in
sanitizer builds, whose code runs several times slower), so a status
waits for no more than that; no tick overran and no sample was dropped.
The wall-clock latencies of the probes are logged (docs/performance.md
records them), not asserted: on a shared VM they measure the neighbours."""
import json
import os
import subprocess

from profdtest import (Daemon, Prober, WORKLOADS, check, log, parse_folded, proc_memory, request_chunked, run,
                       sanitized, loop_stall_key, wait_ticks)

FREQ = 999
DURATION = 30


def main():
    d = Daemon(frequency=FREQ)
    try:
        w = subprocess.run([os.path.join(WORKLOADS, "many_stacks"), "--threads", "2", "--duration", str(DURATION)],
                           capture_output=True, text=True, check=True, timeout=DURATION + 60)
        log("workload: %s" % w.stdout.strip())
        wait_ticks(d, 2)
        s0 = d.ctl_json("status")
        budget = s0["memory"]["budget_bytes"]
        rss0, hwm0 = proc_memory(d.proc.pid)
        log("before: %d stacks interned, store %d bytes, RSS %.1f MiB (peak %.1f MiB), budget %.0f MiB" % (
            s0["stacks"]["interned"], s0["store"]["bytes"], rss0 / 2**20, hwm0 / 2**20, budget / 2**20))
        check(s0["stacks"]["interned"] >= 15000,
              "tens of thousands of distinct stacks in the store (%d)" % s0["stacks"]["interned"])

        prober = Prober(d)
        prober.start()
        out_json = os.path.join(d.dir, "big.json")
        out_folded = os.path.join(d.dir, "big.folded")
        p = d.ctl("--json", "export", "--format", "json", "--window", "48h", "-o", out_json, timeout=240)
        rj = json.loads(p.stdout)
        p = d.ctl("--json", "export", "--format", "folded", "--window", "48h", "-o", out_folded, timeout=240)
        rf = json.loads(p.stdout)
        r1, payload1, _ = request_chunked(d.sock, {"cmd": "export", "format": "json", "window": "48h"}, version=1)
        s1 = d.ctl_json("status")
        prober.stop()
        log(prober.summary())
        log("exports: json %d bytes, folded %d bytes, protocol 1: %s" % (
            rj["bytes"], rf["bytes"], "%d bytes" % len(payload1) if r1.get("ok") else r1["error"]))

        # content
        with open(out_json) as f:
            j = json.load(f)
        jsum = sum(st["count"] for st in j["stacks"])
        check(jsum == j["samples"] == rj["samples"],
              "JSON export parses; its stacks add up to its samples (%d)" % jsum)
        check(len(j["stacks"]) >= 15000, "JSON export has %d stacks" % len(j["stacks"]))
        deep = sum(1 for st in j["stacks"] if any(fr["name"].startswith("f4_") for fr in st["frames"]))
        check(deep >= 10000, "%d stacks reach the call tree's leaves (f4_*)" % deep)
        with open(out_folded) as f:
            folded = parse_folded(f.read())
        fsum = sum(c for _, c in folded)
        check(fsum == rf["samples"] and len(folded) == rf["stacks"],
              "folded export parses: %d lines, %d samples, as announced" % (len(folded), fsum))
        check(len(set(";".join(fr) for fr, _ in folded)) == len(folded), "folded lines are merged (all distinct)")
        check(s0["samples"]["applied"] <= jsum <= fsum <= s1["samples"]["applied"],
              "exports hold what the windows got: applied %d <= json %d <= folded %d <= applied %d" % (
                  s0["samples"]["applied"], jsum, fsum, s1["samples"]["applied"]))
        if r1.get("ok"):
            j1 = json.loads(payload1)
            check(len(payload1) == r1["payload"]["bytes"] and sum(st["count"] for st in j1["stacks"]) == j1["samples"],
                  "protocol 1 export: a fixed payload of %d bytes that parses" % len(payload1))
        else:
            check(r1["error"]["code"] == "busy" and "max_reply" in r1["error"]["message"],
                  "protocol 1 export over max_reply refused before it was sent: %s" % r1["error"]["message"])

        # memory
        rss, hwm = proc_memory(d.proc.pid)
        log("profd RSS: %.1f MiB now, %.1f MiB at most while exporting (VmHWM %.1f MiB)" % (
            rss / 2**20, prober.rss_max / 2**20, max(hwm, prober.hwm) / 2**20))
        if sanitized(d.proc.pid):
            log("sanitizer build: RSS not compared with the budget (shadow memory and quarantine)")
        else:
            check(max(hwm, prober.hwm) <= budget,
                  "peak RSS %.1f MiB within memory_budget %.0f MiB" % (max(hwm, prober.hwm) / 2**20, budget / 2**20))
        check(s1["memory"]["queries_bytes"] == 0 and s1["server"]["reply_bytes"] <= 65536,
              "query and reply memory given back (%d, %d bytes)" % (
                  s1["memory"]["queries_bytes"], s1["server"]["reply_bytes"]))
        check(s1["server"]["reply_bytes_max"] <= s1["memory"]["replies_limit_bytes"],
              "bytes queued for clients peaked at %d, within reply_memory" % s1["server"]["reply_bytes_max"])

        # the loop
        check(not prober.failures, "every status probe answered (%d; failures: %s)" % (
            len(prober.latencies), prober.failures[:3]))
        check(len(prober.latencies) >= 5, "status was probed throughout (%d probes)" % len(prober.latencies))
        key, bound = loop_stall_key(d.proc.pid)
        check(s1["daemon"][key] == s0["daemon"][key],
              "no loop callback used more than %d ms of CPU meanwhile (%d before, %d after; %d over 10 ms; "
              "longest since start %.1f ms)" % (bound, s0["daemon"][key], s1["daemon"][key],
                                                s1["daemon"]["loop_over_10ms"] - s0["daemon"]["loop_over_10ms"],
                                                s1["daemon"]["loop_max_ms"]))
        sm = s1["samples"]
        check(s1["daemon"]["tick_overruns"] == 0, "no tick overran")
        check(sm["dropped"]["ringbuf_full"] == 0 and sm["dropped"]["staging_full"] == 0,
              "no sample dropped (ring buffer %d, staging %d)" % (sm["dropped"]["ringbuf_full"],
                                                                  sm["dropped"]["staging_full"]))
        check(s1["queries"]["timeouts"] == 0 and s1["queries"]["export_failures"] == 0,
              "no query timed out or failed")
        log("store held by queries at most %.1f ms; staged records waited at most %.1f ms" % (
            s1["queries"]["store_read_ms_max"], s1["staging"]["delay_ms_max"]))
    finally:
        d.stop()
        d.cleanup()


run(main)
