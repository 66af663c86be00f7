#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Cardinality: with 2,000 processes running, remote write stays within the
configured bound of series, and the sums add up: the threads of every
series (own ones plus comm="other") equal the threads of every process
profctl top reports."""
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
        # the sums add up: threads in all series vs all processes in top
        total_series = prom_query(prom.port, "sum(profd_process_threads)")[0][1]
        top = d.ctl_json("top", "--window", "2s", "--limit", "10000")
        total_top = sum(p["threads"] or 0 for p in top["processes"] if p["alive"])
        log("threads: series %d, top %d" % (total_series, total_top))
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
