#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Remote write and the scrape endpoint against a real Prometheus: a
process with known CPU and memory runs and stops; the values Prometheus
holds, pushed and scraped, match profctl top --json over the same data
(CPU seconds within 2 %, RSS exact), the host series are there (MemTotal
exact), and every target reports what it sent and nothing failed or
dropped."""
import shutil
import time

from profdtest import Daemon, check, log, run, wait_ticks
from pushtest import Burner, free_port, prom_query, prometheus, push_status, tmpdir


def main():
    tmp = tmpdir()
    scrape_port = free_port()
    prom = d = w = None
    try:
        prom = prometheus(tmp, scrape_port=scrape_port, scrape_interval="2s")
        d = Daemon(extra_conf="""
[daemon]
state_dir = %s/state
[push rw]
type = remote_write
url = http://127.0.0.1:%d/api/v1/write
interval = 2s
[scrape]
enabled = yes
listen = 127.0.0.1:%d
interval = 2s
""" % (tmp, prom.port, scrape_port))
        wait_ticks(d, 3)
        w = Burner(cpu_s=2.0, mem_mib=64)
        w.wait_stopped()
        # let two more push intervals and scrapes carry the last deltas
        time.sleep(8)
        top = d.ctl_json("top", "--window", "120s", "--pid", str(w.pid), "--limit", "5")
        row = [p for p in top["processes"] if p["pid"] == w.pid]
        check(len(row) == 1, "profctl top shows the burner (pid %d)" % w.pid)
        cpu_top = row[0]["oncpu_ns"] / 1e9
        rss_top = row[0]["rss_bytes"]
        log("top: cpu %.4f s, rss %d" % (cpu_top, rss_top))
        check(cpu_top > 1.5, "the burner used about 2 s of CPU (%.3f)" % cpu_top)

        deadline = time.time() + 30
        pushed = scraped = []
        while time.time() < deadline:
            pushed = prom_query(prom.port, 'profd_process_cpu_seconds_total{pid="%d",job!="profd-scrape"}' % w.pid)
            scraped = prom_query(prom.port, 'profd_process_cpu_seconds_total{pid="%d",job="profd-scrape"}' % w.pid)
            if pushed and scraped and abs(pushed[0][1] - cpu_top) <= 0.02 * cpu_top and \
                    abs(scraped[0][1] - cpu_top) <= 0.02 * cpu_top:
                break
            time.sleep(1)
        check(len(pushed) == 1, "remote write: one CPU series for the burner")
        labels = pushed[0][0]
        check(labels.get("comm") == "python3" and labels.get("host") and labels.get("pid") == str(w.pid),
              "remote write labels: %s" % labels)
        check(abs(pushed[0][1] - cpu_top) <= 0.02 * cpu_top,
              "remote write CPU seconds %.4f within 2%% of top's %.4f" % (pushed[0][1], cpu_top))
        check(len(scraped) == 1, "scrape: one CPU series for the burner")
        check(abs(scraped[0][1] - cpu_top) <= 0.02 * cpu_top,
              "scraped CPU seconds %.4f within 2%% of top's %.4f" % (scraped[0][1], cpu_top))

        rss_p = prom_query(prom.port, 'profd_process_resident_memory_bytes{pid="%d",job!="profd-scrape"}' % w.pid)
        rss_s = prom_query(prom.port, 'profd_process_resident_memory_bytes{pid="%d",job="profd-scrape"}' % w.pid)
        check(rss_p and int(rss_p[0][1]) == rss_top, "remote write RSS %s == top's %d" % (rss_p, rss_top))
        check(rss_s and int(rss_s[0][1]) == rss_top, "scraped RSS %s == top's %d" % (rss_s, rss_top))

        # host series, pushed and scraped: memory exactly /proc/meminfo's
        # MemTotal, busy share of all CPUs within [0, 1]
        with open("/proc/meminfo") as f:
            memtotal = [int(l.split()[1]) * 1024 for l in f if l.startswith("MemTotal:")][0]
        for job in ('job!="profd-scrape"', 'job="profd-scrape"'):
            mt = prom_query(prom.port, "profd_host_memory_total_bytes{%s}" % job)
            busy = prom_query(prom.port, "profd_host_cpu_busy_ratio{%s}" % job)
            check(mt and int(mt[0][1]) == memtotal and mt[0][0].get("host"),
                  "%s: host MemTotal %s == /proc/meminfo's %d" % (job, mt and int(mt[0][1]), memtotal))
            check(busy and 0.0 <= busy[0][1] <= 1.0, "%s: host CPU busy ratio %s" % (job, busy and busy[0][1]))

        st = push_status(d)
        t = st["targets"][0]
        log("status: %s" % t)
        check(t["name"] == "rw" and t["type"] == "remote_write", "status names the target")
        check(t["sent"] >= 5, "status: %d payloads sent" % t["sent"])
        check(t["failed"] == 0 and t["dropped"] == 0 and t["queue_depth"] <= 1,
              "status: nothing failed, dropped or left queued")
        check(t["last_success_unix_ms"] and abs(t["last_success_unix_ms"] / 1000 - time.time()) < 30,
              "status: a recent last success")
        check(st["scrape"]["served"] >= 2, "the scrape endpoint was scraped (%d)" % st["scrape"]["served"])
        text = d.ctl("status").stdout
        check("rw (remote_write" in text, "profctl status shows the target")
    finally:
        if w:
            w.kill()
        if d:
            d.stop()
            d.cleanup()
        if prom:
            prom.stop()
        shutil.rmtree(tmp, ignore_errors=True)


run(main)
