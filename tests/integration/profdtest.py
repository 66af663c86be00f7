# SPDX-License-Identifier: GPL-2.0-only
"""Helpers for profd integration tests (Python standard library only).

Starts a real profd (real BPF, real kernel) on a temporary socket, runs
profctl against it, and stops everything it started by PID. Exit codes
follow meson/automake: 0 pass, 1 fail, 77 skip. With PROFD_REQUIRE_BPF=1 a
skip becomes a failure, because BPF works on the machines we test on.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

BUILD = os.environ.get("PROFD_BUILD") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", "build"))
PROFD = os.path.join(BUILD, "daemon", "profd")
PROFCTL = os.path.join(BUILD, "cli", "profctl")
WORKLOADS = os.path.join(BUILD, "tests", "workloads")


def log(msg):
    print(msg, flush=True)


def skip(msg):
    if os.environ.get("PROFD_REQUIRE_BPF") == "1":
        log("FAIL (skip not allowed, PROFD_REQUIRE_BPF=1): " + msg)
        sys.exit(1)
    log("SKIP: " + msg)
    sys.exit(77)


class Failed(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failed(msg)
    log("ok: " + msg)


def require_root():
    if os.geteuid() != 0:
        skip("needs root (BPF, perf_event)")


class Daemon:
    """A profd on a private socket; stop() ends it by its PID."""

    def __init__(self, frequency=99, extra_conf="", args=(), env=None):
        require_root()
        self.dir = tempfile.mkdtemp(prefix="profd-it-")
        self.sock = os.path.join(self.dir, "profd.sock")
        self.conf = os.path.join(self.dir, "profd.conf")
        # a state directory of its own: the windows a daemon saves at stop
        # must not be loaded by the next test's daemon
        if "state_dir" not in extra_conf:
            own = "state_dir = %s\n" % os.path.join(self.dir, "state")
            if "[daemon]\n" in extra_conf:
                extra_conf = extra_conf.replace("[daemon]\n", "[daemon]\n" + own, 1)
            else:
                # after it: a bare key at its start belongs to [sampling]
                extra_conf = extra_conf + "\n[daemon]\n" + own
        with open(self.conf, "w") as f:
            f.write("[sampling]\nfrequency = %d\n%s\n" % (frequency, extra_conf))
        self.logpath = os.path.join(self.dir, "profd.log")
        self.logf = open(self.logpath, "w")
        # meson points LD_LIBRARY_PATH at the stand-in NVML's directory for
        # tests that depend on it; a daemon under test must find what a
        # real host has unless a test asks for the stand-in explicitly.
        denv = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
        denv.update(env or {})
        self.proc = subprocess.Popen(
            [PROFD, "--foreground", "--config", self.conf, "--socket", self.sock,
             "--log-level", "debug"] + list(args),
            stdout=self.logf, stderr=subprocess.STDOUT,
            env=denv)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                out = self.log_text()
                if self.proc.returncode == 77 or "BPF" in out and "Operation not permitted" in out:
                    skip("profd could not load BPF:\n" + out[-2000:])
                raise Failed("profd exited with %d at start:\n%s" % (self.proc.returncode, out[-4000:]))
            if os.path.exists(self.sock):
                try:
                    self.request({"cmd": "status"})
                    break
                except OSError:
                    pass
            time.sleep(0.1)
        else:
            self.stop()
            raise Failed("profd did not open its socket within 20 s")

    def log_text(self):
        if not self.logf.closed:
            self.logf.flush()
        with open(self.logpath) as f:
            return f.read()

    def request(self, obj, raw=None, timeout=30):
        """Send one request line; return (response dict, payload bytes)."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(self.sock)
        line = raw if raw is not None else (json.dumps(obj) + "\n").encode()
        s.sendall(line)
        f = s.makefile("rb")
        resp = f.readline()
        if not resp:
            s.close()
            raise OSError("connection closed without a response")
        r = json.loads(resp)
        payload = b""
        if r.get("payload"):
            payload = f.read(r["payload"]["bytes"])
        s.close()
        return r, payload

    def ctl(self, *args, check_rc=True, env=None, timeout=60):
        e = dict(os.environ)
        e.pop("PROFD_SOCKET", None)
        if env:
            e.update(env)
        p = subprocess.run([PROFCTL, "--socket", self.sock] + list(args),
                           capture_output=True, text=True, env=e, timeout=timeout)
        if check_rc and p.returncode != 0:
            raise Failed("profctl %s exited %d: %s" % (" ".join(args), p.returncode, p.stderr))
        return p

    def ctl_json(self, *args):
        return json.loads(self.ctl("--json", *args).stdout)

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise Failed("profd did not exit within %d s of %s" % (timeout, sig))
        self.logf.close()
        return self.proc.returncode

    def cleanup(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if os.environ.get("PROFD_TEST_KEEP") == "1":
            log("kept %s (PROFD_TEST_KEEP=1)" % self.dir)
            return
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_ticks(d, n=2):
    """Wait until the daemon has ticked n more times (data drained)."""
    t0 = d.request({"cmd": "status"})[0]["data"]["daemon"]["ticks"]
    deadline = time.time() + 10 + 2 * n
    while time.time() < deadline:
        if d.request({"cmd": "status"})[0]["data"]["daemon"]["ticks"] >= t0 + n:
            return
        time.sleep(0.1)
    raise Failed("daemon did not tick")


def run(main):
    """Run a test function main(); print the outcome; exit 0/1/77."""
    try:
        main()
    except Failed as e:
        log("FAIL: %s" % e)
        sys.exit(1)
    log("PASS")
    sys.exit(0)


def parse_folded(text):
    """[(frames list, count)] from folded text."""
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        stack, _, count = line.rpartition(" ")
        out.append((stack.split(";"), int(count)))
    return out


def request_chunked(path, obj, timeout=120, version=2):
    """One request in protocol version 2; returns (response, payload bytes,
    end record). A chunked payload is reassembled and its end record read;
    a fixed one is read whole."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    req = dict(obj)
    req["v"] = version
    s.sendall((json.dumps(req) + "\n").encode())
    f = s.makefile("rb")
    resp = json.loads(f.readline())
    payload, end = b"", None
    pl = resp.get("payload")
    if resp.get("ok") and pl and pl.get("chunked"):
        parts = []
        while True:
            n = int(f.readline().strip())
            if n == 0:
                break
            parts.append(f.read(n))
        payload = b"".join(parts)
        end = json.loads(f.readline())
    elif resp.get("ok") and pl:
        payload = f.read(pl["bytes"])
    s.close()
    return resp, payload, end


def proc_memory(pid):
    """(VmRSS, VmHWM) of a process, bytes."""
    rss = hwm = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) * 1024
    return rss, hwm


def sanitized(pid):
    """True when the process runs with AddressSanitizer: its RSS then holds
    shadow memory, redzones and a quarantine of freed blocks, and is no
    measure of what the code itself keeps."""
    with open("/proc/%d/maps" % pid) as f:
        return any("libasan" in line or "libubsan" in line or "libtsan" in line for line in f)


def loop_stall_key(pid):
    """The status counter of loop callbacks over the stall bound: 50 ms of
    CPU, the bound the design holds profd to, or 250 ms in a sanitizer
    build, whose code runs several times slower (the bound is about the
    daemon, not ASan's bookkeeping)."""
    return ("loop_over_250ms", 250) if sanitized(pid) else ("loop_over_50ms", 50)


def thread_cpu_ns(pid, tid):
    """(time on CPU, time waiting for a CPU) of one thread, ns, from the
    kernel's schedstat: CPU accounting, not wall clock."""
    with open("/proc/%d/task/%d/schedstat" % (pid, tid)) as f:
        run, wait = f.read().split()[:2]
    return int(run), int(wait)


class Prober(threading.Thread):
    """Asks the daemon for its status every `interval` seconds from its own
    connection, and samples its memory, until stop(). For each probe it
    records the wall-clock latency and how much CPU time the daemon's loop
    thread (the main thread, tid = pid) used meanwhile (all it did in that
    time, not only for this client; waiting for a CPU does not count)."""

    def __init__(self, daemon, interval=0.1, timeout=10):
        super().__init__(daemon=True)
        self.d = daemon
        self.pid = daemon.proc.pid
        self.interval = interval
        self.timeout = timeout
        self.halt = threading.Event()
        self.latencies = []    # seconds, wall clock
        self.loop_cpu = []     # seconds of loop CPU time during each probe
        self.failures = []     # probes that got no answer
        self.rss_max = 0
        self.hwm = 0
        self.statuses = []

    def run(self):
        while not self.halt.is_set():
            try:
                cpu0, _ = thread_cpu_ns(self.pid, self.pid)
                t0 = time.monotonic()
                r, _ = self.d.request({"cmd": "status"}, timeout=self.timeout)
                t1 = time.monotonic()
                cpu1, _ = thread_cpu_ns(self.pid, self.pid)
                if not r.get("ok"):
                    self.failures.append("status error: %s" % r)
                else:
                    self.latencies.append(t1 - t0)
                    self.loop_cpu.append((cpu1 - cpu0) / 1e9)
                    self.statuses.append(r["data"])
            except (OSError, ValueError) as e:
                self.failures.append(repr(e))
            try:
                rss, hwm = proc_memory(self.pid)
                self.rss_max = max(self.rss_max, rss)
                self.hwm = max(self.hwm, hwm)
            except OSError:
                pass
            self.halt.wait(self.interval)

    def stop(self):
        self.halt.set()
        self.join()

    def summary(self):
        lat = sorted(self.latencies)
        if not lat:
            return "no probes answered"
        return "%d probes: wall latency max %.1f ms, p99 %.1f ms, median %.1f ms; loop CPU per probe max %.1f ms" % (
            len(lat), lat[-1] * 1e3, lat[int(len(lat) * 0.99) - 1 if len(lat) > 1 else 0] * 1e3,
            lat[len(lat) // 2] * 1e3, max(self.loop_cpu) * 1e3)
