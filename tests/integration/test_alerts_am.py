#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""A real Prometheus Alertmanager (Debian's prometheus-alertmanager, started
here on 127.0.0.1 with a temporary storage path and no cluster listener,
stopped by its PID) receives profd's alerts through POST /api/v2/alerts:

- a CPU burner's alert arrives firing, with the labels (alertname,
  severity, host, pid, comm, the rule's labels) and the annotations
  (summary, stacks naming burn_hot, evidence);
- when the burner exits the alert resolves: it leaves Alertmanager's active
  list long before the endsAt of its last firing message (4 x the 1 m
  resend), so profd sent the resolution;
- with Alertmanager stopped, a second burner's alert fails to deliver:
  profd keeps ticking and answering, and its status counts the failed
  attempts with the last error; once Alertmanager is back on the same
  port the retries deliver the alert.

The burner spins at 100 % when it can and the rule asks for 10 % of a CPU,
which it gets even on a 2-CPU VM with a load average of 10."""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request

from profdtest import Daemon, WORKLOADS, Failed, check, log, run, skip

AM_CONF = "route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Alertmanager:
    def __init__(self, binary, port, workdir):
        self.port = port
        self.dir = tempfile.mkdtemp(prefix="am-", dir=workdir)
        conf = os.path.join(self.dir, "am.yml")
        with open(conf, "w") as f:
            f.write(AM_CONF)
        self.logf = open(os.path.join(self.dir, "log"), "w")
        self.proc = subprocess.Popen(
            [binary, "--config.file=" + conf, "--storage.path=" + os.path.join(self.dir, "data"),
             "--web.listen-address=127.0.0.1:%d" % port, "--cluster.listen-address="],
            stdout=self.logf, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise Failed("alertmanager exited: " + open(os.path.join(self.dir, "log")).read()[-2000:])
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/-/ready" % port, timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise Failed("alertmanager not ready within 20 s")

    def alerts(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/api/v2/alerts" % self.port, timeout=5) as r:
            return json.loads(r.read())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()


def burner(secs):
    p = subprocess.Popen([os.path.join(WORKLOADS, "alert_burn"), "burn", str(secs)], stdout=subprocess.PIPE, text=True)
    return p, json.loads(p.stdout.readline())["pid"]


def wait_for(what, fn, secs):
    deadline = time.time() + secs
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.5)
    raise Failed("timed out after %d s waiting for %s" % (secs, what))


def am_alert(am, pid):
    try:
        found = [a for a in am.alerts() if a["labels"].get("alertname") == "burn_am"
                 and a["labels"].get("pid") == str(pid)]
    except OSError:
        return None
    return found[0] if found else None


def receiver(d):
    return [r for r in d.ctl_json("status")["alerts"]["receivers"] if r["kind"] == "alertmanager"][0]


def main():
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if not binary:
        skip("prometheus-alertmanager is not installed (packaging/deps.sh installs it)")
    work = tempfile.mkdtemp(prefix="profd-am-")
    port = free_port()
    am = Alertmanager(binary, port, work)
    rules = ("[alerts]\nrules_dir = %s/none\nalertmanager_url = http://127.0.0.1:%d\nalertmanager_resend = 1m\n"
             "host = testhost\nnotify_timeout = 2s\nnotify_attempts = 100\nnotify_backoff = 200ms\n"
             "notify_backoff_max = 1s\n"
             "[rule burn_am]\nmetric = process.cpu_pct\nmatch = comm:alert_burn\nabove = 10\nclear = 5\n"
             "window = 3s\nfor = 2s\nseverity = critical\nlabels = team=perf\n"
             "summary = {comm} ({pid}) at {value:.0f}%% CPU\n" % (work, port))
    d = Daemon(extra_conf=rules)
    procs = []
    try:
        b1, pid1 = burner(15)
        procs.append(b1)
        a = wait_for("the firing alert in Alertmanager", lambda: am_alert(am, pid1), 40)
        log(json.dumps(a, indent=1)[:1500])
        lb, an = a["labels"], a["annotations"]
        check(lb["severity"] == "critical" and lb["host"] == "testhost" and lb["comm"] == "alert_burn"
              and lb["team"] == "perf", "labels: %s" % lb)
        check(a["status"]["state"] == "active", "Alertmanager holds it active")
        check(an["summary"].startswith("alert_burn (%d) at " % pid1), "summary: %s" % an["summary"])
        check("burn_hot" in an.get("stacks", "") and "burn_hot" in an.get("evidence", ""),
              "annotations carry the folded stacks and the evidence naming burn_hot")
        lines = an["stacks"].strip().split("\n")
        check(1 <= len(lines) <= 3 and all(l.rsplit(" ", 1)[1].isdigit() for l in lines),
              "stacks annotation: %d folded lines ('frames count')" % len(lines))

        b1.wait()
        t_exit = time.time()
        wait_for("the resolution in Alertmanager", lambda: am_alert(am, pid1) is None, 30)
        took = time.time() - t_exit
        check(took < 60, "resolved in Alertmanager %.0f s after the burner exited (its endsAt was 4 min ahead)" % took)
        r = receiver(d)
        check(r["sent"] >= 2 and r["dropped"] == 0, "receiver: sent %d, dropped %d" % (r["sent"], r["dropped"]))

        # outage
        am.stop()
        sent_before = r["sent"]
        b2, pid2 = burner(40)
        procs.append(b2)
        r = wait_for("failed deliveries to be counted", lambda: (lambda x: x if x["failed"] >= 2 else None)(receiver(d)), 40)
        log("during the outage: %s" % r)
        check(r["last_error"] != "" and r["last_error_at"], "last error: %s" % r["last_error"])
        check(r["retried"] >= 1, "retried %d times so far" % r["retried"])
        t0 = d.ctl_json("status")["daemon"]["ticks"]
        time.sleep(3)
        t1 = d.ctl_json("status")["daemon"]["ticks"]
        check(t1 >= t0 + 2 and d.alive(), "profd keeps ticking while Alertmanager is down (%d -> %d)" % (t0, t1))
        human = d.ctl("status").stdout
        check("receiver alertmanager" in human and "last error:" in human, "profctl status shows the receiver's error")
        fired = [x for x in d.ctl_json("alerts")["alerts"] if x["rule"] == "burn_am" and x.get("pid") == pid2]
        check(fired and fired[0]["state"] == "firing", "the second alert fires in profd meanwhile")

        # back
        am = Alertmanager(binary, port, work)
        a = wait_for("delivery once Alertmanager is back", lambda: am_alert(am, pid2), 40)
        check(a["status"]["state"] == "active", "the second alert arrived after the outage")
        r = receiver(d)
        check(r["sent"] > sent_before and r["queued"] <= 1, "receiver: sent %d, queued %d, failed %d, dropped %d" %
              (r["sent"], r["queued"], r["failed"], r["dropped"]))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        d.stop()
        d.cleanup()
        am.stop()
        shutil.rmtree(work, ignore_errors=True)


run(main)
