#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The known-shares workload built as distributions build code (-O2, no
frame pointers anywhere), in C and in C++ (class templates in a namespace,
std::thread), profiled at 99 Hz with the in-kernel DWARF unwinder.

- Function shares within 3 points of what each workload measured itself,
  total samples within 10 % of its CPU time (as test_cpu_shares). Each
  runs until it has used 22 s of CPU, so the sample count (and with it
  the statistical spread of the shares) does not depend on how busy the
  machine is.
- At least 95 % of the samples in the three work functions reach the
  process's entry point through the right callers: worker_run (C) or
  profd_wl::Worker::loop (C++) called by start_thread, or main.

The same C workload with frame pointers and no CFI at all is walked by
the unwinder's frame-pointer steps (objects without a table), with the
same thresholds.

Each runs a 2 s warm-up first: a process's first samples come before profd
has read its mappings (they are walked by the kernel's frame-pointer
fallback, and flagged truncated when that fails); the measured phase is
unwound with the tables.

C++ names are checked mangled, or demangled once the symbolizer demangles
(DEMANGLED below is the hook)."""
import json
import os
import subprocess

from profdtest import Daemon, WORKLOADS, check, log, run, wait_ticks

FREQ = 99
TOLERANCE_PP = 3.0

C_FUNCS = {"work_alpha": "work_alpha", "work_beta": "work_beta", "work_gamma": "work_gamma"}
C_CALLER = ("worker_run",)
# mangled name -> demangled prefix (the symbolizer reports the former today)
CXX_FUNCS = {
    "_ZN8profd_wl4WorkILi1EE4spinEm": "profd_wl::Work<1>::spin",
    "_ZN8profd_wl4WorkILi2EE4spinEm": "profd_wl::Work<2>::spin",
    "_ZN8profd_wl4WorkILi3EE4spinEm": "profd_wl::Work<3>::spin",
}
CXX_CALLER = ("_ZN8profd_wl6Worker4loopEv", "profd_wl::Worker::loop")
DEMANGLED = False  # set when frames come demangled: names are then matched by prefix


def same(name, mangled, demangled):
    return name == mangled or name.startswith(demangled)


def user_names(stack):
    return [f["name"] for f in stack["frames"] if not f["kernel"]]


def analyse(d, pid, truth, funcs, callers):
    js = d.ctl_json("export", "--format", "json", "--window", "5m", "--pid", str(pid))
    stacks = js["stacks"]
    total = sum(s["count"] for s in stacks)
    log("pid %d: %d samples in %d stacks" % (pid, total, len(stacks)))
    for s in sorted(stacks, key=lambda x: -x["count"])[:6]:
        log("  %5d %s%s" % (s["count"], "[truncated] " if s["truncated"] else "", ";".join(user_names(s))))
    expected = truth["total_cpu_ns"] / 1e9 * FREQ
    check(abs(total - expected) <= 0.10 * expected,
          "pid %d: %d samples vs %.0f expected from its CPU time (±10 %%)" % (pid, total, expected))
    in_work = good = 0
    for s in stacks:
        names = user_names(s)
        leafs = [i for i, n in enumerate(names) if any(same(n, m, dm) for m, dm in funcs.items())]
        if not leafs:
            continue
        in_work += s["count"]
        i = leafs[-1]
        caller = names[i - 1] if i > 0 else ""
        # main -> work: the calibration before the threads start
        right = any(caller == c or caller.startswith(c) for c in callers) or caller == "main"
        rooted = "start_thread" in names[:i] or "main" in names[:i]
        if right and rooted and not s["truncated"]:
            good += s["count"]
    check(in_work > 0.5 * total, "pid %d: %d of %d samples in the work functions" % (pid, in_work, total))
    check(good >= 0.95 * in_work,
          "pid %d: %d of %d work samples (%.1f %%) reach the entry point through the right callers (>= 95 %%)"
          % (pid, good, in_work, 100.0 * good / in_work))
    for m, dm in funcs.items():
        n = sum(s["count"] for s in stacks if any(same(x, m, dm) for x in user_names(s)))
        share = 100.0 * n / total
        want = 100.0 * truth[m]
        check(abs(share - want) <= TOLERANCE_PP,
              "pid %d: %s %.1f %% of samples vs %.1f %% measured (±%.0f pp)" % (pid, dm, share, want, TOLERANCE_PP))


def main():
    d = Daemon(frequency=FREQ)
    try:
        st = d.request({"cmd": "status"})[0]["data"]
        check(st["sampling"]["unwinder"] == "dwarf", "profd unwinds with CFI tables (status: %s)"
              % st["sampling"]["unwinder"])
        runs = [("cpu_shares_nofp", C_FUNCS, C_CALLER), ("cpu_shares_cxx", CXX_FUNCS, CXX_CALLER),
                ("cpu_shares_nocfi", C_FUNCS, C_CALLER)]
        for name, funcs, callers in runs:
            # 20 s of CPU (~1,980 samples: a 30 % share has a binomial
            # spread of ~1 point) however busy the machine is
            p = subprocess.Popen([os.path.join(WORKLOADS, name), "--duration", "90", "--cpu-seconds", "22",
                                  "--warmup", "2"], stdout=subprocess.PIPE, text=True)
            first = json.loads(p.stdout.readline())
            out, _ = p.communicate(timeout=150)
            truth = json.loads(out.strip().splitlines()[-1])
            log("%s pid %d measured %s" % (name, first["pid"], truth))
            wait_ticks(d, 2)
            analyse(d, first["pid"], truth, funcs, callers)
        st = d.request({"cmd": "status"})[0]["data"]
        log("status: samples %s" % json.dumps(st["samples"]))
        log("status: unwind %s" % json.dumps(st["unwind"]))
        check(st["samples"]["unwound"] > 0 and st["unwind"]["tables"] > 0,
              "status shows unwound samples (%d) and loaded tables (%d)"
              % (st["samples"]["unwound"], st["unwind"]["tables"]))
        check(st["unwind"]["table_bytes"] <= st["unwind"]["table_limit_bytes"],
              "table memory %d within its bound %d" % (st["unwind"]["table_bytes"], st["unwind"]["table_limit_bytes"]))
    finally:
        d.stop()
        d.cleanup()


run(main)
