#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Cardinality: with 2,000 processes running, remote write stays within the
configured bound of series, and the sums add up: the threads of every
series (own ones plus comm="other") equal the threads of every process
profctl top reports over the same interval (asked right after a push,
before the next tick; Prometheus at that push's sample time)."""
import os
import shutil
import signal
import time

from profdtest import Daemon, check, log, run, wait_ticks
from pushtest import prom_query, prometheus, push_status, tmpdir

N = 2000


def main():
    tmp = tmpdir()
    prom = d = None
    kids = []
    try:
        prom = prometheus(tmp)
        d = Daemon(extra_conf="""
[push rw]
type = remote_write
url = http://127.0.0.1:%d/api/v1/write
interval = 2s
top_cpu = 10
top_memory = 10
max_processes = 15
""" % prom.port)
        for _ in range(N):
            pid = os.fork()
            if pid == 0:
                signal.pause()
                os._exit(0)
            kids.append(pid)
        log("%d processes started" % N)
        wait_ticks(d, 2)
        deadline = time.time() + 90
        t = None
        while time.time() < deadline:
            t = push_status(d)["targets"][0]
            if t["processes"] >= N and t["sent"] >= 3:
                break
            time.sleep(1)
        log("status: %s" % t)
        check(t["processes"] >= N, "the pusher saw the %d processes (%d)" % (N, t["processes"]))
        check(t["processes_own_series"] <= 15, "at most 15 processes have series of their own")
        time.sleep(3)
        n = prom_query(prom.port, "count(profd_process_cpu_seconds_total)")
        check(n and n[0][1] <= 16, "series of one metric within the bound: %d <= 15 + other" % n[0][1])
        other = prom_query(prom.port, 'profd_process_threads{comm="other"}')
        check(other and other[0][1] >= N, "'other' holds the rest: %d threads" % other[0][1])
        # the sums add up: threads in all series (own + other) vs every
        # process top reports, both of the same interval: top asked right
        # after a push, before the next tick (the store as the pusher saw
        # it), Prometheus at that push's sample time
        total_series = total_top = None
        for attempt in range(10):
            s0 = d.request({"cmd": "status"})[0]["data"]
            i0 = s0["push"]["targets"][0]["intervals"]
            deadline = time.time() + 10
            while time.time() < deadline:
                s1 = d.request({"cmd": "status"})[0]["data"]
                if s1["push"]["targets"][0]["intervals"] != i0:
                    break
                time.sleep(0.02)
            top = d.ctl_json("top", "--window", "2s", "--limit", "10000")
            s2 = d.request({"cmd": "status"})[0]["data"]
            if s2["daemon"]["ticks"] != s1["daemon"]["ticks"]:
                log("attempt %d: a tick came between the push and top; again" % attempt)
                continue
            t1 = s1["push"]["targets"][0]
            at = t1["last_interval_end_unix_ms"] / 1000.0
            deadline = time.time() + 10
            while time.time() < deadline:
                ts = prom_query(prom.port, 'timestamp(profd_process_threads{comm="other"})', at=at)
                if ts and abs(ts[0][1] - at) < 0.002:
                    break
                time.sleep(0.1)
            total_series = prom_query(prom.port, "sum(profd_process_threads)", at=at)[0][1]
            total_top = sum(p["threads"] or 0 for p in top["processes"] if p["alive"])
            break
        check(total_top is not None, "top read the store of a push interval")
        log("threads at %.3f: series %d, top %d" % (at, total_series, total_top))
        # what remains: processes that exited in the milliseconds between
        # the push and top
        check(abs(total_series - total_top) <= 0.01 * total_top,
              "sum over series (own + other) equals the processes' total within 1 %")
        check(t["dropped"] == 0 and t["failed"] == 0, "nothing dropped or refused")
    finally:
        for pid in kids:
            os.kill(pid, signal.SIGKILL)
        for pid in kids:
            os.waitpid(pid, 0)
        if d:
            d.stop()
            d.cleanup()
        if prom:
            prom.stop()
        shutil.rmtree(tmp, ignore_errors=True)


run(main)
