#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""--by-thread against a real profd with [sampling] thread_stacks = 1 and
cpu_shares running two worker threads of equal work:

- folded puts "[name_tid=N]" under the process: the worker samples split
  over the two worker threads (the tids /proc/PID/task listed while it
  ran), about evenly, and the counts add up to the export without
  --by-thread;
- json has each stack's tid and thread name (names are read from /proc
  when exporting, so the workload is still running then);
- pprof --labels carries tid and thread labels (go tool pprof -raw);
- a daemon without thread_stacks refuses --by-thread with a hint."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

from profdtest import Daemon, WORKLOADS, check, log, parse_folded, run

FREQ = 99


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % int((t % 1) * 1000)


def main():
    d = Daemon(frequency=FREQ, extra_conf="thread_stacks = 1")
    tmp = tempfile.mkdtemp(prefix="profd-threads-")
    p = None
    try:
        t0 = time.time() - 1
        p = subprocess.Popen([os.path.join(WORKLOADS, "cpu_shares"), "--duration", "12", "--threads", "2"],
                             stdout=subprocess.PIPE, text=True)
        pid = json.loads(p.stdout.readline())["pid"]
        time.sleep(1)
        tids = {int(t) for t in os.listdir("/proc/%d/task" % pid)}
        time.sleep(6)
        win = ["--from", rfc3339(t0), "--to", rfc3339(time.time() - 2), "--pid", str(pid)]
        log("pid %d, threads %s" % (pid, sorted(tids)))

        by = parse_folded(d.ctl("export", "--format", "folded", "--by-thread", *win).stdout)
        plain = parse_folded(d.ctl("export", "--format", "folded", *win).stdout)
        total = sum(c for _, c in plain)
        check(sum(c for _, c in by) == total, "--by-thread keeps the total (%d samples)" % total)
        per, bad = {}, []
        for frames, c in by:
            m = re.match(r"\[(.*)_tid=(\d+)\]$", frames[1]) if len(frames) > 1 else None
            if not m:
                bad.append(";".join(frames[:3]))
            elif "worker_run" in frames:
                per[int(m.group(2))] = per.get(int(m.group(2)), 0) + c
        check(not bad, "every line's second frame is its thread (not: %s)" % bad[:3])
        log("worker samples per tid: %s" % per)
        check(len(per) == 2 and set(per) <= tids and pid not in per,
              "worker samples are on two worker threads of the process (%s)" % sorted(per))
        shares = [100.0 * v / sum(per.values()) for v in per.values()]
        check(all(30 <= s <= 70 for s in shares), "equal work splits about evenly (%s %%)" %
              ", ".join("%.0f" % s for s in shares))

        js = json.loads(d.ctl("export", "--format", "json", "--by-thread", *win).stdout)
        jt = {st["tid"] for st in js["stacks"] if st.get("tid")}
        check(set(per) <= jt <= tids, "json stacks carry the thread ids (%s)" % sorted(jt))
        check(all(st["thread"] == "cpu_shares" for st in js["stacks"] if st.get("tid") in per),
              "and the threads' names")

        go = shutil.which("go") or "/usr/lib/go/bin/go"
        if os.path.exists(go):
            pb = os.path.join(tmp, "t.pb.gz")
            d.ctl("export", "--format", "pprof", "--labels", *win, "-o", pb)
            raw = subprocess.run([go, "tool", "pprof", "-raw", "-symbolize=none", pb],
                                 capture_output=True, text=True, timeout=120).stdout
            for t in per:
                check("tid:[%d]" % t in raw, "pprof has the tid:[%d] label" % t)
            check("thread:[cpu_shares]" in raw, "pprof has thread name labels")
        p.communicate(timeout=60)
    finally:
        if p and p.poll() is None:
            p.kill()
            p.wait()
        d.stop()
        d.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)

    d = Daemon(frequency=FREQ)
    try:
        r = d.ctl("export", "--format", "folded", "--by-thread", check_rc=False)
        check(r.returncode == 1 and "thread_stacks = 1" in r.stderr,
              "without thread_stacks, --by-thread is refused with a hint: %s" % r.stderr.strip())
    finally:
        d.stop()
        d.cleanup()


run(main)
