# SPDX-License-Identifier: GPL-2.0-only
"""Receivers for the push tests (Python standard library only): a real
Prometheus and Pushgateway from Debian's packages, started on 127.0.0.1
with temporary data directories and stopped by their PIDs, an HTTPS
receiver (http.server + ssl) that records what it gets, and workloads
with known CPU and memory."""
import http.server
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request

from profdtest import Failed, log, skip


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_http(url, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(0.2)
    raise Failed("%s did not answer within %d s" % (url, timeout))


class Server:
    """A receiver process on 127.0.0.1:port, stopped by its PID."""

    def __init__(self, argv, port, ready_path, tmp):
        self.port = port
        self.tmp = tmp
        self.logpath = os.path.join(tmp, os.path.basename(argv[0]) + ".log")
        self.logf = open(self.logpath, "a")
        self.proc = subprocess.Popen(argv, stdout=self.logf, stderr=subprocess.STDOUT, cwd=tmp)
        wait_http("http://127.0.0.1:%d%s" % (port, ready_path))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()


def prometheus(tmp, port=None, scrape_port=None, scrape_interval="2s"):
    exe = shutil.which("prometheus")
    if not exe:
        skip("prometheus is not installed (packaging/deps.sh)")
    port = port or free_port()
    conf = os.path.join(tmp, "prometheus.yml")
    with open(conf, "w") as f:
        f.write("global:\n  scrape_interval: %s\n  evaluation_interval: 1m\n" % scrape_interval)
        if scrape_port:
            f.write("scrape_configs:\n  - job_name: profd-scrape\n    static_configs:\n"
                    "      - targets: ['127.0.0.1:%d']\n" % scrape_port)
    data = os.path.join(tmp, "tsdb")
    os.makedirs(data, exist_ok=True)
    return Server([exe, "--config.file=" + conf, "--storage.tsdb.path=" + data,
                   "--web.listen-address=127.0.0.1:%d" % port, "--web.enable-remote-write-receiver",
                   "--storage.tsdb.retention.time=1d"], port, "/-/ready", tmp)


def pushgateway(tmp):
    exe = shutil.which("prometheus-pushgateway")
    if not exe:
        skip("prometheus-pushgateway is not installed (packaging/deps.sh)")
    port = free_port()
    return Server([exe, "--web.listen-address=127.0.0.1:%d" % port], port, "/-/ready", tmp)


def prom_query(port, expr, at=None):
    """Instant query: [(labels, value)]."""
    q = {"query": expr}
    if at is not None:
        q["time"] = "%.3f" % at
    url = "http://127.0.0.1:%d/api/v1/query?%s" % (port, urllib.parse.urlencode(q))
    r = json.loads(urllib.request.urlopen(url, timeout=10).read())
    if r.get("status") != "success":
        raise Failed("query %s: %s" % (expr, r))
    return [(x["metric"], float(x["value"][1])) for x in r["data"]["result"]]


def prom_range(port, expr, start, end, step=1):
    q = {"query": expr, "start": "%.3f" % start, "end": "%.3f" % end, "step": str(step)}
    url = "http://127.0.0.1:%d/api/v1/query_range?%s" % (port, urllib.parse.urlencode(q))
    r = json.loads(urllib.request.urlopen(url, timeout=10).read())
    return [(x["metric"], [(float(t), float(v)) for t, v in x["values"]]) for x in r["data"]["result"]]


BURN = r"""
import os, signal, sys, time
mem = bytearray(int(sys.argv[2]) << 20)
for i in range(0, len(mem), 4096):
    mem[i] = 1
end = time.process_time() + float(sys.argv[1])
x = 0
while time.process_time() < end:
    x += 1
os.kill(os.getpid(), signal.SIGSTOP)
"""


class Burner:
    """A process that burns cpu_s of CPU with mem_mib resident, then stops
    itself (SIGSTOP): from then on its CPU total and RSS stay fixed."""

    def __init__(self, cpu_s, mem_mib):
        self.proc = subprocess.Popen(["python3", "-c", BURN, str(cpu_s), str(mem_mib)])
        self.pid = self.proc.pid

    def wait_stopped(self, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with open("/proc/%d/stat" % self.pid) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "T":
                    return
            time.sleep(0.1)
        raise Failed("burner %d did not finish" % self.pid)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Recorder(http.server.BaseHTTPRequestHandler):
    """Records every request (method, path, headers, body); answers 200."""
    protocol_version = "HTTP/1.1"

    def _any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        self.server.got.append((self.command, self.path, dict(self.headers), body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_PUT = _any

    def log_message(self, *a):
        pass


class Receiver:
    """An HTTP(S) receiver on 127.0.0.1 in a thread; got: the requests."""

    def __init__(self, certfile=None, keyfile=None):
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
        self.httpd.got = []
        if certfile:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(certfile, keyfile)
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def got(self):
        return self.httpd.got

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def make_ca(tmp, name):
    """A self-signed CA and a server certificate for 127.0.0.1 it signed."""
    d = os.path.join(tmp, name)
    os.makedirs(d)

    def run(*a):
        subprocess.run(["openssl"] + list(a), check=True, capture_output=True, cwd=d)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=profd test CA " + name)
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=127.0.0.1")
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out",
        "srv.pem", "-days", "2", "-extfile", "ext.cnf")
    return {k: os.path.join(d, v) for k, v in
            (("ca", "ca.pem"), ("cert", "srv.pem"), ("key", "srv.key"))}


def tmpdir():
    return tempfile.mkdtemp(prefix="profd-push-")


def push_status(d):
    return d.request({"cmd": "status"})[0]["data"]["push"]
