#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Export formats read back by independent readers, against a real profd
and the cpu_shares workload (work_alpha/beta/gamma at 50/30/20 % of its
CPU), all from one absolute window (--from/--to) so every export sees the
same data:

- pprof: `go tool pprof -raw` and `-top` read it; the total equals the
  folded export's, each function's share (flat and cum) is within 0.5
  points of folded's, and the workload's build-id is on its mapping.
- speedscope: the schema's rules, and the totals (per profile with
  --by-process) equal folded's.
- csv: parsed back; per process, the slots' samples add up to `top --json`
  over the same window, CPU seconds too, and every row has the header's
  columns.
- report: names the workload's process and its hot function.
"""
import csv
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

from profdtest import Daemon, Failed, WORKLOADS, check, log, parse_folded, run, skip, wait_ticks

FREQ = 99


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % int((t % 1) * 1000)


def build_id(path):
    out = subprocess.run(["readelf", "-n", path], capture_output=True, text=True).stdout
    m = re.search(r"Build ID: ([0-9a-f]+)", out)
    return m.group(1) if m else None


def folded_functions(folded):
    """{function: (flat, cum)} from folded lines, the comm (first element)
    left out, kernel frames without their _[k] suffix."""
    flat, cum = {}, {}
    for frames, c in folded:
        names = [f[:-4] if f.endswith("_[k]") else f for f in frames[1:]]
        if names:
            flat[names[-1]] = flat.get(names[-1], 0) + c
        for n in set(names):
            cum[n] = cum.get(n, 0) + c
    return flat, cum


def pprof_top(go, path):
    """{function: (flat, cum)} in samples from `go tool pprof -top`."""
    out = subprocess.run([go, "tool", "pprof", "-top", "-symbolize=none", "-sample_index=samples",
                          "-nodecount=100000", "-nodefraction=0", "-edgefraction=0", path],
                         capture_output=True, text=True, timeout=120)
    if out.returncode:
        raise Failed("go tool pprof -top failed: %s" % out.stderr)
    res = {}
    total = None
    for line in out.stdout.splitlines():
        m = re.match(r"Showing nodes accounting for (\d+), [\d.]+% of (\d+) total", line.strip())
        if m:
            total = int(m.group(2))
        m = re.match(r"\s*(\d+)\s+[\d.]+%\s+[\d.]+%\s+(\d+)\s+[\d.]+%\s+(.+)$", line)
        if m:
            res[m.group(3).strip()] = (int(m.group(1)), int(m.group(2)))
    return total, res, out.stdout


def main():
    go = shutil.which("go") or ("/usr/lib/go/bin/go" if os.path.exists("/usr/lib/go/bin/go") else None)
    if not go:
        skip("go (Debian golang-go) is needed to read pprof back")
    d = Daemon(frequency=FREQ)
    tmp = tempfile.mkdtemp(prefix="profd-export-")
    try:
        wl = os.path.join(WORKLOADS, "cpu_shares")
        t0 = time.time() - 1
        p = subprocess.Popen([wl, "--duration", "8"], stdout=subprocess.PIPE, text=True)
        pid = json.loads(p.stdout.readline())["pid"]
        p.communicate(timeout=60)
        wait_ticks(d, 3)
        t1 = time.time() - 1
        win = ["--from", rfc3339(t0), "--to", rfc3339(t1)]
        log("window %s .. %s, workload pid %d" % (win[1], win[3], pid))

        def export(fmt, *extra):
            path = os.path.join(tmp, "out." + fmt)
            d.ctl("export", "--format", fmt, *win, *extra, "-o", path)
            with open(path, "rb") as f:
                return path, f.read()

        _, folded_text = export("folded", "--pid", str(pid))
        folded = parse_folded(folded_text.decode())
        total = sum(c for _, c in folded)
        check(total > 100, "folded export of pid %d has %d samples" % (pid, total))
        flat, cum = folded_functions(folded)

        # ---- pprof ----
        path, data = export("pprof", "--pid", str(pid))
        check(data[:2] == b"\x1f\x8b", "pprof export is gzip")
        ptotal, ptop, text = pprof_top(go, path)
        log(text[:1500])
        check(ptotal == total, "go tool pprof -top total %s = folded total %d" % (ptotal, total))
        worst = 0.0
        for fn in set(cum) | set(ptop):
            f0, c0 = flat.get(fn, 0), cum.get(fn, 0)
            f1, c1 = ptop.get(fn, (0, 0))
            worst = max(worst, abs(100.0 * f0 / total - 100.0 * f1 / total),
                        abs(100.0 * c0 / total - 100.0 * c1 / total))
        check(worst <= 0.5, "every function's flat and cum share within 0.5 points of folded's (worst %.3f)" % worst)
        for fn in ("work_alpha", "work_beta", "work_gamma"):
            check(fn in ptop and ptop[fn][1] > 0, "pprof has %s (%s)" % (fn, ptop.get(fn)))
        raw = subprocess.run([go, "tool", "pprof", "-raw", "-symbolize=none", path],
                             capture_output=True, text=True, timeout=120)
        check(raw.returncode == 0, "go tool pprof -raw reads it")
        bid = build_id(wl)
        mappings = raw.stdout.split("Mappings", 1)[1] if "Mappings" in raw.stdout else ""
        log(mappings[:800])
        check(bid is not None and bid in mappings and "cpu_shares" in mappings,
              "the mapping of cpu_shares carries its build-id %s" % bid)
        check(re.search(r"Period: 10101010", raw.stdout) is not None, "period = 1e9 / 99 ns")
        # labels
        path, _ = export("pprof", "--pid", str(pid), "--labels")
        raw = subprocess.run([go, "tool", "pprof", "-raw", "-symbolize=none", path],
                             capture_output=True, text=True, timeout=120).stdout
        check("pid:[%d]" % pid in raw and "comm:[cpu_shares]" in raw, "--labels: pid and comm labels")

        # ---- speedscope ----
        _, ss = export("speedscope", "--pid", str(pid))
        f = json.loads(ss)
        check(f["$schema"] == "https://www.speedscope.app/file-format-schema.json", "speedscope $schema")
        nframes = len(f["shared"]["frames"])
        check(all(isinstance(x["name"], str) for x in f["shared"]["frames"]), "frames have names")
        prof = f["profiles"][0]
        check(prof["type"] == "sampled" and prof["unit"] in ("none", "nanoseconds", "microseconds",
                                                              "milliseconds", "seconds", "bytes"),
              "a sampled profile with a unit of the schema")
        check(len(prof["samples"]) == len(prof["weights"]), "one weight per sample")
        check(all(0 <= i < nframes for s in prof["samples"] for i in s), "frame indexes in range")
        check(sum(prof["weights"]) == total == prof["endValue"] - prof["startValue"],
              "speedscope weights %d = folded total %d = endValue" % (sum(prof["weights"]), total))
        names = [x["name"] for x in f["shared"]["frames"]]
        alpha = sum(w for s, w in zip(prof["samples"], prof["weights"]) if "work_alpha" in [names[i] for i in s])
        check(abs(alpha - cum["work_alpha"]) == 0, "work_alpha weight %d = folded %d" % (alpha, cum["work_alpha"]))
        _, ss = export("speedscope", "--by-process")
        f = json.loads(ss)
        _, allf = export("folded")
        allfolded = parse_folded(allf.decode())
        per = {}
        for frames, c in allfolded:
            per[frames[0]] = per.get(frames[0], 0) + c
        check(sum(sum(pr["weights"]) for pr in f["profiles"]) == sum(per.values()),
              "--by-process: %d profiles, totals match folded" % len(f["profiles"]))
        mine = [pr for pr in f["profiles"] if pr["name"] == "cpu_shares (pid %d)" % pid]
        check(len(mine) == 1 and sum(mine[0]["weights"]) == total, "the workload's own profile has its samples")

        # ---- csv against top --json over the same window ----
        _, c = export("csv")
        rows = list(csv.reader(io.StringIO(c.decode())))
        header = rows[0]
        check(header[:4] == ["time", "slot_s", "pid", "comm"] and "cpu_pct" in header and "samples" in header,
              "csv header: %s..." % ",".join(header[:8]))
        check(all(len(r) == len(header) for r in rows[1:]), "%d rows, each with every column" % (len(rows) - 1))
        mine = [dict(zip(header, r)) for r in rows[1:] if r[2] == str(pid)]
        check(len(mine) >= 6, "the workload has a row per slot (%d)" % len(mine))
        top = d.ctl_json("top", "--window", "%ds" % int(time.time() - t0 + 3), "--once", "--limit", "10000",
                         "--sort", "pid")
        trow = [r for r in top["processes"] if r["pid"] == pid]
        check(len(trow) == 1, "top --json lists the workload")
        s_csv = sum(int(r["samples"] or 0) for r in mine)
        check(s_csv == trow[0]["samples"] == total,
              "samples: csv slots sum %d = top %d = folded %d" % (s_csv, trow[0]["samples"], total))
        cpu_csv = sum(int(r["oncpu_ns"] or 0) for r in mine)
        check(abs(cpu_csv - trow[0]["oncpu_ns"]) <= 0.001 * trow[0]["oncpu_ns"] + 1,
              "on-CPU ns: csv %d = top %d" % (cpu_csv, trow[0]["oncpu_ns"]))
        check(all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", r["time"]) for r in mine),
              "slot times are RFC 3339")

        # ---- report ----
        _, rep = export("report")
        rep = rep.decode()
        log(rep[:2500])
        check("# profd performance report" in rep and "## Top processes" in rep and "## Hotspots" in rep,
              "report has its sections")
        hot = rep.split("## Hotspots", 1)[1].split("## Alerts", 1)[0]
        check(re.search(r"\| *(high|medium|low) *\| *work_alpha *\| *%d *\| *cpu_shares" % pid, hot) is not None,
              "the hotspots name work_alpha in cpu_shares (pid %d)" % pid)
        bycpu = rep.split("### By CPU", 1)[1].split("###", 1)[0]
        check("cpu_shares" in bycpu, "the top processes by CPU include cpu_shares")
    finally:
        d.stop()
        d.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


run(main)
