#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""profctl diff against a real profd:

- a workload that moves its hot spot halfway (cpu_shares --shares
  80,10,10 --switch 6 --shares2 10,80,10): diff of the second half against
  the first shows work_beta's rise (about +70 points) and work_alpha's fall
  as significant, and they sort first;
- a steady workload (50/30/20 throughout): no function's change between
  its two halves is significant;
- the other forms: text names the risen function, folded has two counts
  per line whose sums are the windows' totals, svg parses and colours the
  risen frame red.
A second of margin is left around the switch: windows are whole slots."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET

from profdtest import Daemon, WORKLOADS, check, log, run, wait_ticks

FREQ = 99
HALF = 6.0


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % int((t % 1) * 1000)


def run_workload(*args):
    p = subprocess.Popen([os.path.join(WORKLOADS, "cpu_shares"), "--duration", str(2 * HALF)] + list(args),
                         stdout=subprocess.PIPE, text=True)
    pid = json.loads(p.stdout.readline())["pid"]
    t0 = time.time()
    p.communicate(timeout=60)
    return pid, t0


def diff(d, pid, t0, fmt="json", out=None):
    base = "%s..%s" % (rfc3339(t0 + 1), rfc3339(t0 + HALF - 1))
    window = "%s..%s" % (rfc3339(t0 + HALF + 1), rfc3339(t0 + 2 * HALF - 1))
    args = ["diff", "--base", base, "--window", window, "--pid", str(pid), "--format", fmt]
    if out:
        args += ["-o", out]
    return d.ctl(*args).stdout


def fns_of(text):
    return {f["name"]: f for f in json.loads(text)["functions"]}


def main():
    d = Daemon(frequency=FREQ)
    tmp = tempfile.mkdtemp(prefix="profd-diff-")
    try:
        pid, t0 = run_workload("--shares", "80,10,10", "--switch", str(HALF), "--shares2", "10,80,10")
        wait_ticks(d, 3)
        j = json.loads(diff(d, pid, t0))
        fns = {f["name"]: f for f in j["functions"]}
        log("base %s, window %s" % (j["base"], j["window"]))
        for f in j["functions"][:6]:
            log("  %-12s total %.1f -> %.1f (%+.1f) z %.1f p %.3g %s" % (
                f["name"], f["base"]["total_pct"], f["window"]["total_pct"], f["delta_total_pts"], f["z"], f["p"],
                "significant" if f["significant"] else ""))
        check(j["base"]["samples"] > 100 and j["window"]["samples"] > 100,
              "both windows hold samples (%d, %d)" % (j["base"]["samples"], j["window"]["samples"]))
        beta, alpha = fns["work_beta"], fns["work_alpha"]
        check(beta["significant"] and beta["delta_total_pts"] > 50,
              "work_beta rose %+.1f points, significant (z %.1f)" % (beta["delta_total_pts"], beta["z"]))
        check(alpha["significant"] and alpha["delta_total_pts"] < -50,
              "work_alpha fell %+.1f points, significant" % alpha["delta_total_pts"])
        check({j["functions"][0]["name"], j["functions"][1]["name"]} == {"work_alpha", "work_beta"},
              "the two movers sort first")
        check(not fns["work_gamma"]["significant"],
              "work_gamma (10 %% in both halves: %+.1f points) is not significant" % fns["work_gamma"]["delta_total_pts"])

        text = diff(d, pid, t0, "text")
        rows = [l for l in text.splitlines() if re.match(r"\s*-?\d+\.\d+ ->", l)]
        check(any("work_beta" in l and " yes " in l for l in rows[:2]),
              "text: work_beta in the first two rows, marked significant")
        folded = diff(d, pid, t0, "folded")
        a = b = 0
        for line in folded.splitlines():
            _, x, y = line.rsplit(" ", 2)
            a, b = a + int(x), b + int(y)
        check(a == j["base"]["samples"] and b == j["window"]["samples"],
              "folded: two counts per line adding up to %d and %d" % (a, b))
        svg = os.path.join(tmp, "diff.svg")
        diff(d, pid, t0, "svg", svg)
        root = ET.parse(svg).getroot()
        ns = "{http://www.w3.org/2000/svg}"
        red = [g for g in root.iter(ns + "g") if g.findtext(ns + "title") == "work_beta"
               and g.find(ns + "rect").get("fill").startswith("rgb(255,")]
        check(len(red) >= 1, "svg: work_beta's frame is red")

        # steady: nothing significant
        pid, t0 = run_workload("--shares", "50,30,20")
        wait_ticks(d, 3)
        j = json.loads(diff(d, pid, t0))
        sig = [f["name"] for f in j["functions"] if f["significant"]]
        for f in j["functions"][:5]:
            log("  steady %-12s %+.2f points, z %.2f" % (f["name"], f["delta_total_pts"], f["z"]))
        check(not sig, "steady workload: no significant change (flagged: %s)" % sig)
    finally:
        d.stop()
        d.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


run(main)
