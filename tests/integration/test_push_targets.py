#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""OTLP over HTTPS with a test CA (verification on by default), the same
receiver refused under a wrong CA (never delivered, counted), Pushgateway
(real, read back through its API), and Pyroscope ingest; payloads checked
with independent tools: OTLP protobuf with protoc --decode against the
schema in the tree, Pyroscope's query by its rules and its multipart body
with Python's email parser and go tool pprof."""
import email.parser
import email.policy
import json
import os
import re
import shutil
import subprocess
import time
import urllib.parse
import urllib.request

from profdtest import Daemon, Failed, check, log, run, wait_ticks
from pushtest import Burner, Receiver, make_ca, push_status, pushgateway, tmpdir

PROTO = os.environ.get("PROFD_PUSH_PROTO") or os.path.join(
    os.path.dirname(__file__), "..", "..", "daemon", "push", "proto")


def wait_for(cond, what, timeout=40):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.5)
    raise Failed("timed out waiting for " + what)


def main():
    if not shutil.which("protoc"):
        from profdtest import skip
        skip("protoc (protobuf-compiler) is not installed")
    tmp = tmpdir()
    good = make_ca(tmp, "good")
    bad = make_ca(tmp, "bad")
    https = Receiver(good["cert"], good["key"])
    plain = Receiver()
    pg = d = w = None
    try:
        pg = pushgateway(tmp)
        d = Daemon(extra_conf="""
[daemon]
state_dir = {tmp}/state
[push otlp]
type = otlp
url = https://127.0.0.1:{hp}/v1/metrics
interval = 2s
ca_file = {goodca}
[push wrongca]
type = otlp
url = https://127.0.0.1:{hp}/v1/metrics
interval = 2s
ca_file = {badca}
[push pgw]
type = pushgateway
url = http://127.0.0.1:{pgp}
interval = 2s
job = profdtest
[push pyro]
type = pyroscope
url = http://127.0.0.1:{pp}/ingest
interval = 2s
group_by = comm
""".format(tmp=tmp, hp=https.port, goodca=good["ca"], badca=bad["ca"], pgp=pg.port, pp=plain.port))
        wait_ticks(d, 2)
        w = Burner(cpu_s=1.5, mem_mib=32)
        w.wait_stopped()
        wait_for(lambda: len(https.got) >= 3 and len(plain.got) >= 3, "OTLP and Pyroscope payloads")
        time.sleep(3)

        # OTLP protobuf, decoded by protoc with the schema kept in the tree
        method, path, headers, body = https.got[-1]
        check(method == "POST" and path == "/v1/metrics", "OTLP: POST /v1/metrics over HTTPS")
        check(headers.get("Content-Type") == "application/x-protobuf", "OTLP: protobuf content type")
        dec = subprocess.run(["protoc", "--proto_path=" + PROTO,
                              "--decode=opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest",
                              "otlp_metrics_service.proto"], input=body, capture_output=True)
        check(dec.returncode == 0, "protoc decodes the OTLP body (%s)" % dec.stderr.decode()[:200])
        text = dec.stdout.decode()
        check('key: "host.name"' in text and 'key: "service.name"' in text and 'string_value: "profd"' in text,
              "OTLP: resource attributes host.name and service.name")
        check("aggregation_temporality: AGGREGATION_TEMPORALITY_CUMULATIVE" in text and "is_monotonic: true" in text,
              "OTLP: counters are cumulative monotonic sums")
        check('name: "profd_process_cpu_seconds"' in text and 'unit: "s"' in text, "OTLP: CPU seconds in s")
        check('name: "profd_process_resident_memory_bytes"' in text and "gauge {" in text, "OTLP: RSS is a gauge")
        check("int_value: %d" % w.pid in text, "OTLP: the burner's process.pid attribute")
        # every sum point has 0 < start_time <= time
        starts = [int(l.split(":")[1]) for l in text.splitlines() if "start_time_unix_nano" in l]
        times = [int(l.split(":")[1]) for l in text.splitlines() if l.strip().startswith("time_unix_nano")]
        check(starts and all(0 < s <= max(times) for s in starts), "OTLP: start times set and not after the time")
        check(abs(max(times) / 1e9 - time.time()) < 60, "OTLP: times are unix nanoseconds of now")

        st = {t["name"]: t for t in push_status(d)["targets"]}
        log("wrongca: %s" % st["wrongca"])
        check(st["otlp"]["sent"] >= 3 and st["otlp"]["failed"] == 0, "OTLP over verified TLS delivered")
        check(st["wrongca"]["sent"] == 0 and st["wrongca"]["retried"] >= 1,
              "the receiver under a wrong CA is refused (retried, never sent)")
        check("certificate" in st["wrongca"]["last_error"].lower() or "ssl" in st["wrongca"]["last_error"].lower(),
              "the refusal says why: %s" % st["wrongca"]["last_error"])
        # the HTTPS receiver saw only the good target's requests: same count as sent
        check(len(https.got) <= st["otlp"]["sent"] + 1, "nothing arrived through the wrong CA")

        # Pyroscope: query string, and a multipart body whose "profile"
        # part go tool pprof reads
        method, path, headers, body = plain.got[-1]
        q = urllib.parse.parse_qs(urllib.parse.urlparse(path).query)
        log("pyroscope: %s" % path)
        check(method == "POST" and path.startswith("/ingest?"), "Pyroscope: POST /ingest")
        check(q["format"] == ["pprof"] and q["sampleRate"] == ["99"], "Pyroscope: format pprof, sampleRate")
        check(int(q["from"][0]) < int(q["until"][0]) and abs(int(q["until"][0]) - time.time()) < 60,
              "Pyroscope: from < until, unix seconds")
        names = [urllib.parse.parse_qs(urllib.parse.urlparse(g[1]).query)["name"][0] for g in plain.got]
        check(any(n.startswith("profd{host=") and ",comm=python3}" in n for n in names),
              "Pyroscope: an application per comm, e.g. profd{host=...,comm=python3} (.cpu from the sample type)")
        check(headers.get("Content-Type", "").startswith("multipart/form-data; boundary="),
              "Pyroscope: multipart/form-data (%s)" % headers.get("Content-Type"))
        for n, g in zip(names, plain.got):
            if ",comm=python3}" not in n or not g[3]:
                continue
            msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                b"Content-Type: " + g[2]["Content-Type"].encode() + b"\r\n\r\n" + g[3])
            parts = {pt.get_param("name", header="content-disposition"): pt.get_payload(decode=True)
                     for pt in msg.iter_parts()}
            check(sorted(parts) == ["profile", "sample_type_config"], "Pyroscope: parts %s" % sorted(parts))
            conf = json.loads(parts["sample_type_config"])
            check(conf["samples"]["display-name"] == "cpu" and conf["samples"]["sampled"] is True,
                  "Pyroscope: the sample type configuration names the profile cpu")
            go = shutil.which("go") or ("/usr/lib/go/bin/go" if os.path.exists("/usr/lib/go/bin/go") else None)
            if not go:
                log("go is not installed: the pprof part is not decoded")
                break
            pf = os.path.join(tmp, "pyro.pb.gz")
            with open(pf, "wb") as f:
                f.write(parts["profile"])
            raw = subprocess.run([go, "tool", "pprof", "-raw", pf], capture_output=True, text=True, timeout=120)
            check(raw.returncode == 0 and "samples/count cpu/nanoseconds" in raw.stdout,
                  "Pyroscope: go tool pprof reads the profile part (samples/count, cpu/nanoseconds)")
            top = subprocess.run([go, "tool", "pprof", "-top", "-symbolize=none", "-sample_index=samples", pf],
                                 capture_output=True, text=True, timeout=120)
            m = re.search(r"of (\d+) total", top.stdout)
            check(top.returncode == 0 and m and int(m.group(1)) > 0,
                  "Pyroscope: the profile holds %s samples" % (m.group(1) if m else "no"))
            break
        else:
            raise Failed("no Pyroscope payload for comm=python3 with a body")

        # Pushgateway: read back through its API
        def pg_value():
            txt = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % pg.port, timeout=5).read().decode()
            for line in txt.splitlines():
                if line.startswith("profd_process_resident_memory_bytes{") and 'pid="%d"' % w.pid in line \
                        and 'job="profdtest"' in line:
                    return float(line.rsplit(" ", 1)[1])
            return None
        wait_for(lambda: pg_value() is not None, "the burner in the Pushgateway")
        top = d.ctl_json("top", "--window", "120s", "--pid", str(w.pid))
        rss = [p for p in top["processes"] if p["pid"] == w.pid][0]["rss_bytes"]
        check(int(pg_value()) == rss, "Pushgateway RSS %d == top's %d" % (pg_value(), rss))
        check(st["pgw"]["failed"] == 0 and st["pgw"]["sent"] >= 1, "Pushgateway PUTs accepted")
    finally:
        if w:
            w.kill()
        if d:
            d.stop()
            d.cleanup()
        if pg:
            pg.stop()
        https.stop()
        plain.stop()
        shutil.rmtree(tmp, ignore_errors=True)


run(main)
