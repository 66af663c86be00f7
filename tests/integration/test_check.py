# SPDX-License-Identifier: GPL-2.0-only
"""profd --check on this machine: the all-good path (every program loaded
and attached, the self-test's samples within 25 % of the kernel's CPU
accounting, exit 0), and failure paths by injection: a missing BTF file
($PROFD_CHECK_BTF), and programs denied (CAP_PERFMON and CAP_SYS_ADMIN
taken out of the bounding set): each failing item names its cause and fix,
the exit status is 1, text and JSON agree."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

from profdtest import PROFD, Failed, check, log, require_root


def run_check(conf, env=None, prefix=(), json_out=True):
    e = dict(os.environ)
    e.update(env or {})
    cmd = list(prefix) + [PROFD, "--check", "--config", conf] + (["--json"] if json_out else [])
    p = subprocess.run(cmd, capture_output=True, text=True, env=e, timeout=120)
    if not json_out:
        return p, None
    try:
        return p, json.loads(p.stdout)
    except ValueError:
        raise Failed("profd --check --json printed no JSON (rc %d):\n%s\n%s" % (p.returncode, p.stdout[-2000:], p.stderr[-2000:]))


def items(rep):
    return {i["name"]: i for i in rep["items"]}


def main():
    require_root()
    tmp = tempfile.mkdtemp(prefix="profd-check-it-")
    try:
        conf = os.path.join(tmp, "profd.conf")
        with open(conf, "w") as f:
            # the socket's group must exist: root's, so the host is not changed
            f.write("[daemon]\nsocket = %s/profd.sock\nsocket_group = root\nstate_dir = %s/state\n" % (tmp, tmp))

        # ---- all good ----
        p, rep = run_check(conf)
        it = items(rep)
        for name, i in sorted(it.items()):
            log("  %-5s %-28s %s" % (i["status"], name, i["detail"][:100]))
        fails = [n for n, i in it.items() if i["status"] == "fail"]
        check(p.returncode == 0 and rep["ok"] and not fails, "all good: exit 0, nothing failed (%s)" % fails)
        for name in ("kernel", "btf", "bpf syscall", "perf_event_open", "capabilities", "kernel symbols",
                     "program cpu (sampling)", "program proc (exec/exit)", "program sched_switch",
                     "program sched_wakeup", "program block_rq", "self-test"):
            check(name in it and it[name]["status"] in ("ok", "warn"), "%s: %s" % (name, it.get(name, {}).get("status")))
        st = rep.get("selftest")
        check(st is not None and len(st["workloads"]) == 2, "the self-test ran two workloads")
        for w in st["workloads"]:
            check(w["expected"] > 0 and abs(w["error"]) <= 0.25,
                  "self-test %s: %d samples for %d expected from the kernel's CPU time (%+.1f%%)" %
                  (w["role"], w["samples"], w["expected"], 100 * w["error"]))
        check(any(n.startswith("unwind ") for n in it), "the main libraries' unwinding is reported")
        check("hardware cycles" in it["sampling event"]["detail"] or "software cpu-clock" in it["sampling event"]["detail"],
              "the sampling event: %s" % it["sampling event"]["detail"][:80])

        # ---- a missing BTF file ----
        p, rep = run_check(conf, env={"PROFD_CHECK_BTF": "/nonexistent/vmlinux", "PROFD_CHECK_SELFTEST_MS": "0"})
        it = items(rep)
        b = it["btf"]
        check(p.returncode == 1 and not rep["ok"], "missing BTF: exit 1")
        check(b["status"] == "fail" and "/nonexistent/vmlinux" in b["detail"] and "CONFIG_DEBUG_INFO_BTF" in b["fix"],
              "btf fails with the path and the fix: %s / %s" % (b["detail"], b["fix"]))
        check(it["program cpu (sampling)"]["status"] == "skip", "programs are not tried without BTF")

        # ---- programs denied: no CAP_PERFMON (nor CAP_SYS_ADMIN) ----
        setpriv = shutil.which("setpriv")
        check(setpriv is not None, "setpriv is there (util-linux)")
        deny = (setpriv, "--bounding-set=-perfmon,-sys_admin", "--inh-caps=-perfmon,-sys_admin")
        p, rep = run_check(conf, env={"PROFD_CHECK_SELFTEST_MS": "0"}, prefix=deny)
        it = items(rep)
        check(p.returncode == 1 and not rep["ok"], "programs denied: exit 1")
        cpu = it["program cpu (sampling)"]
        check(cpu["status"] == "fail" and "denied" in cpu["cause"] and "root" in cpu["fix"],
              "the sampler fails with its cause: %s" % cpu["cause"])
        caps = it["capabilities"]
        check(caps["status"] == "fail" and "CAP_PERFMON" in caps["detail"], "capabilities: %s" % caps["detail"])
        for i in rep["items"]:
            if i["status"] == "fail":
                check(i.get("cause") and i.get("fix"), "%s names a cause and a fix" % i["name"])
        # the same as text, for people
        p2, _ = run_check(conf, env={"PROFD_CHECK_SELFTEST_MS": "0"}, prefix=deny, json_out=False)
        check(p2.returncode == 1 and "fail  program cpu (sampling)" in p2.stdout and "      fix:   " in p2.stdout and
              "profd cannot run here" in p2.stdout, "the text report: items, fixes, verdict")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
    except Failed as e:
        log("FAIL: %s" % e)
        sys.exit(1)
    log("PASS")
