#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""One client flooding profd with expensive queries makes no other client
wait, stalls no tick and loses no sample.

profd samples at 999 Hz a host with 300 extra idle processes and a busy
workload. One client pipelines up to 1,500 {"cmd":"top","window":"48h",
"limit":10000} requests on one connection while reading its replies as
they come, keeping 20 unanswered at all times, for at most 40 s (each top
costs the query worker 0.1 to 1 s on the test VM, more under ASan: the
cap keeps the test within the suite's time limit, the window keeps the
daemon's backlog full all along); another client asks for the status
every 100 ms.

Asserted: the flooder gets an answer to every request (a top reply, or a
counted busy refusal) and is never disconnected; every status probe is
answered; no event-loop callback used more than 50 ms of CPU during the
flood (profd's own CPU accounting of its loop thread: a query run on the
loop would, a VM short of CPU cannot; 250 ms in sanitizer builds, whose
code runs several times slower), so a status waits for no more than that; no tick overran; no sample was dropped. The wall-clock latencies of
the probes are logged (docs/performance.md records them), not asserted: on
a shared VM they measure the neighbours."""
import json
import os
import socket
import subprocess
import threading
import time

from profdtest import Daemon, Prober, WORKLOADS, check, log, run, loop_stall_key, wait_ticks

FREQ = 999
FLOOD = int(os.environ.get("PROFD_TEST_FLOOD", "1500"))
WINDOW = 20
FLOOD_SECONDS = 40
IDLE_PROCS = 300


class Flooder(threading.Thread):
    """One connection: a writer thread pipelines up to n requests, never
    more than `window` unanswered and none after `seconds`; the reader
    takes the replies as they come."""

    def __init__(self, path, n, window, seconds):
        super().__init__(daemon=True)
        self.path = path
        self.n = n
        self.window = window
        self.seconds = seconds
        self.sent = 0
        self.ok = 0
        self.busy = 0
        self.other = []
        self.error = None
        self.cv = threading.Condition()

    def answered(self):
        return self.ok + self.busy + len(self.other)

    def run(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(120)
        s.connect(self.path)
        line = json.dumps({"cmd": "top", "window": "48h", "limit": 10000}).encode() + b"\n"
        end = time.monotonic() + self.seconds
        done_sending = threading.Event()

        def writer():
            try:
                while self.sent < self.n and time.monotonic() < end:
                    with self.cv:
                        while self.sent - self.answered() >= self.window:
                            self.cv.wait(1)
                    s.sendall(line)
                    with self.cv:
                        self.sent += 1
            except OSError as e:
                self.error = "send: %r" % e
            done_sending.set()

        wt = threading.Thread(target=writer, daemon=True)
        wt.start()
        f = s.makefile("rb")
        try:
            while not (done_sending.is_set() and self.answered() >= self.sent):
                raw = f.readline()
                if not raw:
                    self.error = "disconnected after %d replies" % self.answered()
                    break
                r = json.loads(raw)
                with self.cv:
                    if r.get("ok"):
                        self.ok += 1
                    elif r["error"]["code"] == "busy":
                        self.busy += 1
                    else:
                        self.other.append(r["error"])
                    self.cv.notify()
        except (OSError, ValueError) as e:
            self.error = "read: %r" % e
        wt.join()
        s.close()


def main():
    d = Daemon(frequency=FREQ)
    idle = []
    busy = None
    try:
        for _ in range(IDLE_PROCS):
            idle.append(subprocess.Popen(["sleep", "600"]))
        for _ in range(int(os.environ.get("PROFD_TEST_CHURN", "0"))):
            subprocess.run(["true"])
        # history to scan, and samples flowing all along
        subprocess.run([os.path.join(WORKLOADS, "many_stacks"), "--threads", "2", "--duration", "10"],
                       capture_output=True, check=True, timeout=120)
        busy = subprocess.Popen([os.path.join(WORKLOADS, "many_stacks"), "--threads", "1", "--duration", "600"],
                                stdout=subprocess.DEVNULL)
        wait_ticks(d, 2)
        t0 = time.monotonic()
        r, _ = d.request({"cmd": "top", "window": "48h", "limit": 10000})
        log("one top over 48h: %.0f ms, %d processes" % ((time.monotonic() - t0) * 1e3, len(r["data"]["processes"])))
        check(len(r["data"]["processes"]) >= IDLE_PROCS, "top lists the %d idle processes" % IDLE_PROCS)

        s0 = d.ctl_json("status")
        prober = Prober(d)
        prober.start()
        flood = Flooder(d.sock, FLOOD, WINDOW, FLOOD_SECONDS)
        t0 = time.monotonic()
        flood.start()
        flood.join(timeout=200)
        took = time.monotonic() - t0
        prober.stop()
        s1 = d.ctl_json("status")
        log("flood: %d requests, %d replies (%d busy) in %.1f s; %s" % (flood.sent, flood.answered(), flood.busy, took,
                                                                       prober.summary()))
        log("queries: %s" % json.dumps(s1["queries"]))
        log("server: %s" % json.dumps(s1["server"]))
        log("staging: %s" % json.dumps(s1["staging"]))

        check(not flood.is_alive(), "the flood finished")
        check(flood.error is None and not flood.other, "the flooder was never disconnected (%s, %s)" % (
            flood.error, flood.other[:2]))
        check(flood.sent >= 2 * WINDOW, "the flood kept %d requests waiting (%d sent)" % (WINDOW, flood.sent))
        check(flood.ok + flood.busy == flood.sent,
              "the flooder got an answer to each of its %d requests (%d ok, %d busy)" % (
                  flood.sent, flood.ok, flood.busy))
        refused = s1["queries"]["refused_queue"] - s0["queries"]["refused_queue"] + \
            s1["server"]["reply_refused"] - s0["server"]["reply_refused"] + \
            s1["queries"]["refused_memory"] - s0["queries"]["refused_memory"]
        check(flood.busy == refused, "busy answers are counted (%d answered, %d counted)" % (flood.busy, refused))
        check(s1["server"]["slow_closed"] == 0 and s1["server"]["idle_closed"] == 0, "no client closed for slowness")
        check(not prober.failures, "every status probe answered (%d; failures: %s)" % (
            len(prober.latencies), prober.failures[:3]))
        check(len(prober.latencies) >= 10, "status was probed throughout (%d probes)" % len(prober.latencies))
        key, bound = loop_stall_key(d.proc.pid)
        check(s1["daemon"][key] == s0["daemon"][key],
              "no loop callback used more than %d ms of CPU during the flood (%d before, %d after; %d over 10 ms; "
              "longest since start %.1f ms)" % (bound, s0["daemon"][key], s1["daemon"][key],
                                                s1["daemon"]["loop_over_10ms"] - s0["daemon"]["loop_over_10ms"],
                                                s1["daemon"]["loop_max_ms"]))
        sm = s1["samples"]
        check(s1["daemon"]["tick_overruns"] == 0, "no tick overran (%d)" % s1["daemon"]["tick_overruns"])
        check(sm["dropped"]["ringbuf_full"] == 0 and sm["dropped"]["staging_full"] == 0,
              "no sample dropped (ring buffer %d, staging %d)" % (sm["dropped"]["ringbuf_full"],
                                                                  sm["dropped"]["staging_full"]))
        check(sm["applied"] > s0["samples"]["applied"], "samples kept reaching the windows (%d -> %d)" % (
            s0["samples"]["applied"], sm["applied"]))
        check(s1["queries"]["timeouts"] == 0, "no query timed out")
    finally:
        if busy:
            busy.kill()
            busy.wait()
        for p in idle:
            p.kill()
        for p in idle:
            p.wait()
        d.stop()
        d.cleanup()


run(main)
