#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Python frames of Debian's stock python3 (CPython 3.11, non-PIE, no frame
pointers): the interpreter's _PyEval_EvalFrameDefault frames are replaced by
the Python functions they run, named file.py:qualname.

Workload: tests/workloads/py_shares.py, which measures its own thread CPU
time in work_a (~60 %), work_b (~40 %) and a small work_c phase that calls
back into Python through map(). Checks, on the last 10 s of a 14 s run:
- work_a's and work_b's shares of the samples that are in either are within
  5 points of the script's own measurement;
- >= 90 % of the samples are complete stacks (through _start), and >= 90 %
  have no _PyEval_EvalFrameDefault frame left (each was named);
- frames interleave: py_shares.py:<module> sits right above PyEval_EvalCode
  (the native frame that called it), main above work_a, inner above work_a;
  leaf_c (run by map from work_c) has a native frame between it and work_c;
- no Python frame is "[python]" in more than 5 % of the samples;
- a second thread hashing in OpenSSL with the GIL released (so not the
  GIL holder the walk looks at first) still shows its Python caller,
  hash_loop, in >= 90 % of its SHA-256 samples."""
import json
import os
import subprocess

from profdtest import Daemon, check, log, run, skip, wait_ticks

PYTHON = "/usr/bin/python3"
HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "workloads", "py_shares.py")
RUN_S = 14


def names(stack):
    return [f["name"] for f in stack["frames"] if not f["kernel"]]


def main():
    if not os.access(PYTHON, os.X_OK):
        skip("%s is not installed" % PYTHON)
    # 499 Hz: ~2,500 samples in the window, so the 60/40 split is measured
    # to about 1 point (binomial), well inside the 5-point tolerance
    d = Daemon(frequency=499)
    try:
        case(d)
    finally:
        d.stop()
        d.cleanup()


def case(d):
    if True:
        p = subprocess.Popen([PYTHON, SCRIPT, str(RUN_S), "hash"], stdout=subprocess.PIPE, text=True)
        pid = json.loads(p.stdout.readline())["pid"]
        out, _ = p.communicate(timeout=RUN_S + 60)
        check(p.returncode == 0, "python3 (pid %d) ran" % pid)
        truth = json.loads(out.strip().splitlines()[-1])
        wait_ticks(d, 2)
        stacks = d.ctl_json("export", "--format", "json", "--window", "10s", "--pid", str(pid))["stacks"]
        for s in sorted(stacks, key=lambda x: -x["count"])[:6]:
            log("  %5d %s%s" % (s["count"], "[truncated] " if s["truncated"] else "", ";".join(names(s))[-260:]))
        total = sum(s["count"] for s in stacks)
        check(total >= 100, "python3: %d samples in the window (>= 100)" % total)

        def count(pred):
            return sum(s["count"] for s in stacks if pred(s))

        # the root is first in an exported stack: callers before callees
        complete = count(lambda s: not s["truncated"])
        named = count(lambda s: "_PyEval_EvalFrameDefault" not in names(s))
        unknown = count(lambda s: "[python]" in names(s))
        in_a = count(lambda s: "py_shares.py:work_a" in names(s))
        in_b = count(lambda s: "py_shares.py:work_b" in names(s))
        log("python3: %d samples, %d complete, %d with every eval frame named, %d with [python], "
            "work_a %d, work_b %d; truth %s" % (total, complete, named, unknown, in_a, in_b, truth))
        check(complete >= 0.90 * total, "%d of %d samples (%.1f %%) are complete stacks (>= 90 %%)"
              % (complete, total, 100.0 * complete / total))
        check(named >= 0.90 * total, "%d of %d samples (%.1f %%) have every _PyEval_EvalFrameDefault named (>= 90 %%)"
              % (named, total, 100.0 * named / total))
        check(unknown <= 0.05 * total, "%d samples hold an unnamed Python frame (<= 5 %%)" % unknown)
        check(in_a + in_b >= 0.5 * total, "work_a + work_b hold %d of %d samples" % (in_a + in_b, total))
        want_a = 100.0 * truth["a_s"] / (truth["a_s"] + truth["b_s"])
        got_a = 100.0 * in_a / max(1, in_a + in_b)
        check(abs(got_a - want_a) <= 5.0, "work_a: %.1f %% of the work_a/work_b samples, measured %.1f %% (within 5 points)"
              % (got_a, want_a))

        def order_ok(s):
            n = names(s)
            if "py_shares.py:work_a" not in n:
                return True
            i = n.index("py_shares.py:<module>")
            return (i > 0 and n[i - 1] == "PyEval_EvalCode" and n[i + 1] == "py_shares.py:main"
                    and n[i + 2] == "py_shares.py:work_a"
                    and all(x == "py_shares.py:inner" or not x.startswith("py_shares.py:") for x in n[i + 3:]))
        bad = count(lambda s: not s["truncated"] and not order_ok(s))
        check(bad <= 0.02 * total, "work_a stacks in caller order (<module> above PyEval_EvalCode, main, work_a): "
              "%d samples out of order" % bad)

        def c_ok(s):
            n = names(s)
            if "py_shares.py:leaf_c" not in n:
                return None
            i, j = n.index("py_shares.py:work_c"), n.index("py_shares.py:leaf_c")
            between = n[i + 1:j]
            return i < j and between and all(not x.startswith("py_shares.py:") for x in between)
        c_good = count(lambda s: not s["truncated"] and c_ok(s) is True)
        c_all = count(lambda s: not s["truncated"] and c_ok(s) is not None)
        for s in stacks:
            if c_ok(s) is not None:
                log("  leaf_c: %d %s" % (s["count"], ";".join(names(s))[-200:]))
                break
        check(c_all > 0, "leaf_c (called from C by map) was sampled: %d samples" % c_all)
        check(c_good >= 0.9 * c_all, "leaf_c: %d of %d samples have native frames between work_c and leaf_c"
              % (c_good, c_all))

        # the hashing thread runs OpenSSL without the GIL: its thread state
        # is found in the interpreter's thread list, not as the GIL holder
        def hashing(s):
            return any("sha256" in x.lower() for x in names(s))
        h_all = count(lambda s: not s["truncated"] and hashing(s))
        h_named = count(lambda s: not s["truncated"] and hashing(s) and "py_shares.py:hash_loop" in names(s))
        for s in sorted(stacks, key=lambda x: -x["count"]):
            if hashing(s):
                log("  hash: %d %s" % (s["count"], ";".join(names(s))[-220:]))
                break
        check(h_all >= 20, "the hashing thread was sampled in SHA-256: %d samples" % h_all)
        check(h_named >= 0.9 * h_all, "%d of %d SHA-256 samples (GIL released) show py_shares.py:hash_loop (>= 90 %%)"
              % (h_named, h_all))
        st = d.ctl_json("status")
        log("status python: %s" % json.dumps(st.get("python", st.get("unwind", {}).get("python"))))


run(main)
