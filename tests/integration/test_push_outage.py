#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""An outage of the receiver across a restart of profd: Prometheus is
stopped, profd keeps pushing into its spool for several intervals, profd
itself is restarted, then Prometheus comes back. Every interval either
profd pushed arrives exactly once (sample count = intervals pushed), in
order, and nothing was dropped or refused. All processes are summed into
comm="other" so one series spans both profd runs."""
import shutil
import time

from profdtest import Daemon, Failed, check, log, run
from pushtest import prom_query, prometheus, push_status, tmpdir


def conf(tmp, port):
    return """
[daemon]
state_dir = %s/state
[push rw]
type = remote_write
url = http://127.0.0.1:%d/api/v1/write
interval = 2s
spool = yes
top_cpu = 0
top_memory = 0
max_processes = 1
""" % (tmp, port)


def target(d):
    return push_status(d)["targets"][0]


def wait(cond, what, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.5)
    raise Failed("timed out waiting for " + what)


def main():
    tmp = tmpdir()
    prom = d1 = d2 = None
    try:
        prom = prometheus(tmp)
        port = prom.port
        t0 = time.time()
        d1 = Daemon(extra_conf=conf(tmp, port))
        wait(lambda: target(d1)["sent"] >= 2, "the first payloads delivered")
        prom.stop()
        log("prometheus stopped")
        wait(lambda: target(d1)["queue_depth"] >= 4, "4 intervals queued during the outage")
        t1 = target(d1)
        log("profd 1 before its stop: %s" % t1)
        check(t1["retried"] >= 1 and t1["dropped"] == 0, "retrying, nothing dropped")
        d1.stop()
        intervals1 = t1["intervals"]
        # what the first run pushed after its last status read: at most one
        # more interval; counted from the spool the second run loads
        d2 = Daemon(extra_conf=conf(tmp, port))
        t2 = target(d2)
        log("profd 2 at start: %s" % t2)
        check(t2["queue_depth"] >= t1["queue_depth"], "the spool of the first run is queued again (%d)"
              % t2["queue_depth"])
        spooled = t2["queue_depth"]
        wait(lambda: target(d2)["intervals"] >= 3, "3 more intervals with the receiver down")
        prom = prometheus(tmp, port=port)
        log("prometheus started again")
        wait(lambda: target(d2)["queue_depth"] == 0 and target(d2)["sent"] > spooled, "the backlog delivered",
             timeout=120)
        t2 = target(d2)
        log("profd 2 after: %s" % t2)
        check(t2["dropped"] == 0 and t2["failed"] == 0, "no payload dropped or refused")
        # every interval pushed, by either run, is one sample; pushes go on
        # while we look, so read the count between two equal status reads
        span = int(time.time() - t0) + 30
        for _ in range(20):
            before = target(d2)["sent"]
            time.sleep(0.5)
            r = prom_query(port, 'count_over_time(profd_process_resident_memory_bytes{comm="other"}[%ds])' % span)
            after = target(d2)["sent"]
            if before == after:
                break
        check(len(r) == 1, "one 'other' series across both runs")
        samples = int(r[0][1])
        sent_total = t1["sent"] + after
        log("samples %d, payloads delivered %d (run 1 %d, run 2 %d incl. %d spooled)"
            % (samples, sent_total, t1["sent"], after, spooled))
        check(before == after, "a quiet moment to compare in")
        check(samples == sent_total, "every delivered interval is one sample, none duplicated (%d == %d)"
              % (samples, sent_total))
        check(t2["sent"] >= spooled + 3, "the second run delivered the spool and its own intervals")
        check(intervals1 >= t1["sent"] + 4 - 1, "the first run kept building intervals during the outage")
    finally:
        for d in (d1, d2):
            if d:
                if d.alive():
                    d.stop()
                d.cleanup()
        if prom:
            prom.stop()
        shutil.rmtree(tmp, ignore_errors=True)


run(main)
