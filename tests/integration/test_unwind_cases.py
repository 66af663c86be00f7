#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The cases a CFI unwinder must get right (tests/workloads/unwind_cases.c,
-O2 without frame pointers), as a PIE and as a non-PIE executable, each
case in its own mode_<case> function called by main:

  signal    time in a signal handler: the walk crosses __restore_rt
  vdso      clock_gettime in a loop: leaves in the vDSO
  prologue  a small framed function called in a tight loop
  plt       libc calls through the PLT
  deep100   100 frames of recursion: more than the old 64-frame bound
  deep200   200 frames: cut at the default max_user_frames (128), flagged
  dlopen    a library opened after profd read the process's mappings

For each case: >= 95 % of its samples are complete stacks (the walk gets
back to _start through mode_<case> and main), except deep200 (>= 95 %
flagged truncated) and dlopen (>= 80 %: until profd re-reads the mappings,
at the tick after the first sample in the new library, its pcs are in no
known mapping)."""
import json
import os
import subprocess

from profdtest import Daemon, WORKLOADS, check, log, run, wait_ticks

SECONDS = 4
MIN_SAMPLES = 25  # per case: enough for the ratios to mean something on a busy machine
CASES = ["signal", "vdso", "prologue", "plt", "deep100", "deep200", "dlopen"]


def user_names(stack):
    return [f["name"] for f in stack["frames"] if not f["kernel"]]


def run_cases(d, exe):
    lib = os.path.join(WORKLOADS, "libunwind_dl.so")
    p = subprocess.Popen([os.path.join(WORKLOADS, exe), "--seconds", str(SECONDS), "--lib", lib, "warm"] + CASES,
                         stdout=subprocess.PIPE, text=True)
    pid = json.loads(p.stdout.readline())["pid"]
    out, _ = p.communicate(timeout=120)
    check(p.returncode == 0 and '"done": true' in out, "%s (pid %d) ran every case" % (exe, pid))
    wait_ticks(d, 2)
    stacks = d.ctl_json("export", "--format", "json", "--window", "5m", "--pid", str(pid))["stacks"]
    by_case = {c: [s for s in stacks if "mode_" + c in user_names(s)] for c in CASES}
    for c in CASES:
        sel = by_case[c]
        n = sum(s["count"] for s in sel)
        done = sum(s["count"] for s in sel if not s["truncated"] and user_names(s)[:1] == ["_start"])
        log("%s %-8s %4d samples, %4d complete" % (exe, c, n, done))
        for s in sorted(sel, key=lambda x: -x["count"])[:2]:
            log("      %4d %s%s" % (s["count"], "[truncated] " if s["truncated"] else "",
                                     ";".join(user_names(s))[:240]))
        if c in ("deep200", "dlopen"):
            continue
        check(n >= MIN_SAMPLES, "%s %s: %d samples (>= %d)" % (exe, c, n, MIN_SAMPLES))
        check(done >= 0.95 * n, "%s %s: %d of %d samples complete (>= 95 %%)" % (exe, c, done, n))

    # case-specific evidence that the hard part was walked through
    sig = [s for s in by_case["signal"] if "sig_spin" in user_names(s)]
    check(sum(s["count"] for s in sig) >= 0.5 * sum(s["count"] for s in by_case["signal"]),
          "%s signal: most samples are in the handler, below the signal frame" % exe)
    check(all(user_names(s).index("mode_signal") < user_names(s).index("sig_spin") for s in sig),
          "%s signal: mode_signal is found above the handler's frames" % exe)
    names = lambda s: user_names(s)
    in_vdso = sum(s["count"] for s in by_case["vdso"] if names(s)[-1] not in ("mode_vdso", "clock_gettime", "_init")
                  and not names(s)[-1].startswith("__clock_gettime"))
    check(in_vdso >= 0.2 * sum(s["count"] for s in by_case["vdso"]),
          "%s vdso: %d complete samples have their leaf in the vDSO" % (exe, in_vdso))
    deep = [len([n for n in names(s) if n == "deep_rec"]) for s in by_case["deep100"] if not s["truncated"]]
    check(deep and min(deep) >= 99, "%s deep100: complete stacks hold all %s deep_rec frames"
          % (exe, min(deep) if deep else 0))

    # deep200: the leaf side is kept up to the bound, the stack flagged
    cut = [s for s in stacks if names(s).count("deep_rec") >= 100 and "mode_deep100" not in names(s)]
    n_cut = sum(s["count"] for s in cut)
    flagged = sum(s["count"] for s in cut if s["truncated"])
    check(n_cut >= MIN_SAMPLES and flagged >= 0.95 * n_cut,
          "%s deep200: %d of %d samples flagged truncated at max_user_frames" % (exe, flagged, n_cut))
    check(all(len(names(s)) <= 128 for s in cut), "%s deep200: at most 128 user frames kept" % exe)

    # dlopen: complete once the mappings are re-read
    in_lib = [s for s in stacks if "dl_inner" in names(s) or "dl_spin" in names(s)]
    n = sum(s["count"] for s in in_lib)
    done = sum(s["count"] for s in in_lib if not s["truncated"] and "mode_dlopen" in names(s))
    check(n >= MIN_SAMPLES and done >= 0.80 * n,
          "%s dlopen: %d of %d samples in the late library complete (>= 80 %%)" % (exe, done, n))


def main():
    d = Daemon(frequency=99)
    try:
        before = d.request({"cmd": "status"})[0]["data"]
        run_cases(d, "unwind_cases")
        run_cases(d, "unwind_cases_nopie")
        after = d.request({"cmd": "status"})[0]["data"]
        check(after["samples"]["frames"]["signal"] > before["samples"]["frames"]["signal"],
              "status counts frames restored from signal frames")
        check(after["unwind"]["refreshes"] > before["unwind"]["refreshes"],
              "status counts the re-reads dlopen caused (%d)" % after["unwind"]["refreshes"])
        check(after["samples"]["unwind_stop"]["cut"] > before["samples"]["unwind_stop"]["cut"],
              "status counts stacks cut at max_user_frames")
    finally:
        d.stop()
        d.cleanup()


run(main)
