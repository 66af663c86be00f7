# SPDX-License-Identifier: GPL-2.0-only
"""The packaged service under a real systemd: a Debian 12 root (debootstrap,
cached) booted with systemd-nspawn, the .deb built from this tree installed
in it, then, through nsenter on the container's PID 1:

- the Type=notify start is active, with its STATUS= line;
- systemd-analyze verify is silent and systemd-analyze security scores it;
- profd --check passes in it;
- profctl status works as root and as a member of profd, and is refused as
  another user with the permission message; reload by a member is refused
  and logged with uid and pid;
- kernel frames are symbolized by the shipped unit;
- systemctl restart keeps the windows: a burner that ran before the restart
  is exported with --window 1h after it, with the same sample count;
- systemctl reload with a broken config keeps profd running and reports
  the error; a fixed one reloads;
- a stopped daemon (SIGSTOP) is killed by the watchdog and restarted.

The container's root is an overlay on the cached tree (--volatile=overlay):
the cache is never written. Everything started is stopped by PID.
Exit: 0 pass, 1 fail, 77 skip (only where nspawn cannot boot at all, or not
root); PROFD_REQUIRE_NSPAWN=1 or PROFD_REQUIRE_BPF=1 (CI) makes a skip a
failure. Environment: PROFD_DEB (a prebuilt .deb), PROFD_TEST_CACHE (the
cache directory, default /var/cache/profd-test).
"""
import fcntl
import glob
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from profdtest import Failed, check, log

ROOT = os.environ.get("PROFD_SOURCE_ROOT") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
CACHE = os.environ.get("PROFD_TEST_CACHE", "/var/cache/profd-test")
SUITE = "bookworm"  # Debian 12
# man-db: systemd-analyze verify checks that Documentation=man:... pages exist
BASE_PACKAGES = ["systemd", "systemd-sysv", "dbus", "man-db"]
# Bump when the root's recipe changes: a new cache key.
ROOT_RECIPE = "1"
CONTAINER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def skip(msg):
    if os.environ.get("PROFD_REQUIRE_NSPAWN") == "1" or os.environ.get("PROFD_REQUIRE_BPF") == "1":
        log("FAIL (skip not allowed, PROFD_REQUIRE_NSPAWN/PROFD_REQUIRE_BPF=1): " + msg)
        sys.exit(1)
    log("SKIP: " + msg)
    sys.exit(77)


def run(cmd, timeout=600, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


# ---- the Debian mirror the host's apt uses ----

def host_mirror():
    """The URI the host's apt uses for the Debian suite (not -security,
    not -updates), from sources.list (one-line) or *.sources (deb822)."""
    files = ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")) + \
        sorted(glob.glob("/etc/apt/sources.list.d/*.sources"))
    for path in files:
        try:
            text = open(path).read()
        except OSError:
            continue
        if path.endswith(".sources"):
            for block in re.split(r"\n\s*\n", text):
                fields = {}
                for line in block.splitlines():
                    if line.startswith("#") or ":" not in line:
                        continue
                    k, v = line.split(":", 1)
                    fields[k.strip().lower()] = v.split()
                if "deb" in fields.get("types", []) and SUITE in fields.get("suites", []) and fields.get("uris"):
                    return fields["uris"][0]
        else:
            for line in text.splitlines():
                words = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
                if len(words) >= 3 and words[0] == "deb" and words[2] == SUITE:
                    return words[1]
    return None


# ---- the package ----

def tree_hash():
    """Hash of the working tree's files (tracked and new, not ignored):
    the package built from it is cached under it."""
    p = run(["git", "-C", ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard"])
    if p.returncode != 0:
        return None
    h = hashlib.sha256()
    for name in sorted(f for f in p.stdout.split("\0") if f):
        path = os.path.join(ROOT, name)
        if not os.path.isfile(path):
            continue
        h.update(name.encode() + b"\0")
        with open(path, "rb") as f:
            h.update(hashlib.sha256(f.read()).digest())
    return h.hexdigest()[:16]


def package():
    deb = os.environ.get("PROFD_DEB")
    if deb:
        check(os.path.isfile(deb), "PROFD_DEB=%s exists" % deb)
        return deb
    key = tree_hash()
    out = os.path.join(CACHE, "deb", key) if key else tempfile.mkdtemp(prefix="profd-deb-")
    debs = glob.glob(os.path.join(out, "profd_*.deb"))
    if debs:
        log("package: cached %s" % debs[0])
        return debs[0]
    # older packages of other trees go: one is enough
    if key:
        for old in glob.glob(os.path.join(CACHE, "deb", "*")):
            shutil.rmtree(old, ignore_errors=True)
    t0 = time.time()
    # nocheck: the unit tests are this suite's own (tests/unit), run on
    # their own; here they would only add time and load
    p = run([os.path.join(ROOT, "packaging", "build-deb.sh"), out], timeout=3600,
            env=dict(os.environ, LINTIAN="1", DEB_BUILD_OPTIONS="nocheck"))
    if p.returncode != 0:
        raise Failed("packaging/build-deb.sh (with lintian) failed:\n%s\n%s" % (p.stdout[-4000:], p.stderr[-4000:]))
    log("package: built in %.0f s, lintian clean of errors" % (time.time() - t0))
    lint = [line for line in p.stdout.splitlines() if re.match(r"^[WIEP]: ", line)]
    for line in lint:
        log("  lintian " + line)
    debs = glob.glob(os.path.join(out, "profd_*.deb"))
    check(len(debs) == 1, "one .deb built: %s" % debs)
    return debs[0]


def runtime_depends(deb):
    """Package names the .deb depends on (first of each alternative)."""
    p = run(["dpkg-deb", "-f", deb, "Depends"])
    names = []
    for dep in p.stdout.split(","):
        name = dep.split("|")[0].strip().split(" ")[0].split(":")[0]
        if name and not name.startswith("$"):
            names.append(name)
    return sorted(set(names))


# ---- the root ----

def debian_root(extra):
    """A cached minimal Debian 12 root with systemd and extra packages;
    built once per recipe with debootstrap."""
    include = sorted(set(BASE_PACKAGES + extra))
    key = hashlib.sha256(("%s minbase %s %s" % (SUITE, ",".join(include), ROOT_RECIPE)).encode()).hexdigest()[:12]
    base = os.path.join(CACHE, "debian12-" + key)
    root = os.path.join(base, "root")
    if os.path.exists(os.path.join(base, "complete")):
        log("root: cached %s" % root)
        return root
    mirror = host_mirror()
    if not mirror:
        skip("no Debian %s mirror in the host's apt sources: cannot debootstrap a root" % SUITE)
    if not shutil.which("debootstrap"):
        raise Failed("debootstrap is not installed (packaging/deps.sh installs it)")
    for old in glob.glob(os.path.join(CACHE, "debian12-*")):
        if old != base:
            shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(base, ignore_errors=True)
    tmp = base + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    t0 = time.time()
    p = run(["debootstrap", "--variant=minbase", "--include=" + ",".join(include), SUITE,
             os.path.join(tmp, "root"), mirror], timeout=1800)
    if p.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        skip("debootstrap from the host's mirror failed (no network?):\n%s" % (p.stdout + p.stderr)[-3000:])
    open(os.path.join(tmp, "complete"), "w").write("%s\n%s\n" % (mirror, " ".join(include)))
    os.rename(tmp, base)
    log("root: debootstrap of %s with %s in %.0f s" % (SUITE, ",".join(include), time.time() - t0))
    return root


# ---- the container ----

class Container:
    def __init__(self, root, debdir):
        self.logpath = tempfile.mktemp(prefix="profd-nspawn-", suffix=".log")
        self.logf = open(self.logpath, "w")
        # an overlay on the cached root: the cache stays as it was; the
        # capabilities above 31 are not in nspawn's default set
        self.proc = subprocess.Popen(
            ["systemd-nspawn", "--quiet", "-D", root, "-b", "--register=no", "--keep-unit",
             "--volatile=overlay", "--system-call-filter=bpf perf_event_open",
             "--capability=CAP_BPF,CAP_PERFMON,CAP_SYSLOG",
             "--bind-ro=%s:/mnt/profd" % debdir, "--console=pipe"],
            stdout=self.logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.pid1 = None
        deadline = time.time() + 60
        while time.time() < deadline and self.pid1 is None:
            if self.proc.poll() is not None:
                break
            # nspawn's child becomes the container's PID 1 once it has
            # executed systemd (before that it is nspawn setting up)
            for kid in run(["ps", "--ppid", str(self.proc.pid), "-o", "pid="]).stdout.split():
                try:
                    with open("/proc/%s/comm" % kid) as f:
                        comm = f.read().strip()
                    ns_kid = os.readlink("/proc/%s/ns/pid" % kid)
                except OSError:
                    continue
                if comm == "systemd" and ns_kid != os.readlink("/proc/self/ns/pid"):
                    self.pid1 = int(kid)
            if self.pid1 is None:
                time.sleep(0.1)
        if self.pid1 is None:
            out = self.log_text()
            self.stop()
            skip("systemd-nspawn could not boot the root:\n" + out[-3000:])
        t0 = time.time()
        state = ""
        while time.time() < t0 + 120 and state not in ("running", "degraded"):
            # until its bus is up, systemctl has nothing to say
            state = self.sh("systemctl is-system-running --wait", timeout=120).stdout.strip()
            if state not in ("running", "degraded"):
                time.sleep(0.5)
        if state not in ("running", "degraded"):
            out = self.log_text()
            failed = self.sh("systemctl --failed --no-pager").stdout
            self.stop()
            skip("the container's systemd did not come up (%s):\n%s\n%s" % (state, failed, out[-3000:]))
        log("container: systemd is PID 1 (host pid %d), %s after %.1f s" % (self.pid1, state, time.time() - t0))

    def log_text(self):
        self.logf.flush()
        with open(self.logpath) as f:
            return f.read()

    def sh(self, script, user=None, timeout=120, check_rc=False):
        """Run a shell script in the container (as user, if given)."""
        cmd = ["nsenter", "-t", str(self.pid1), "-a", "--", "env", "-i", "PATH=" + CONTAINER_PATH,
               "LANG=C.UTF-8", "SYSTEMD_PAGER=cat", "SYSTEMD_COLORS=0", "TERM=dumb"]
        if user:
            cmd += ["runuser", "-u", user, "--"]
        p = run(cmd + ["sh", "-c", script], timeout=timeout)
        if check_rc and p.returncode != 0:
            raise Failed("in the container, '%s' exited %d:\n%s\n%s" % (script, p.returncode, p.stdout[-3000:],
                                                                        p.stderr[-3000:]))
        return p

    def show(self, prop):
        return self.sh("systemctl show -p %s --value profd" % prop).stdout.strip()

    def journal(self, since=None):
        arg = "--since '@%d'" % since if since else ""
        return self.sh("journalctl -u profd --no-pager -o cat %s" % arg).stdout

    def stop(self):
        """Power the container off by its nspawn process (SIGTERM: a clean
        halt of its systemd), then kill it if it does not go."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(45)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(15)
        self.logf.close()
        try:
            os.unlink(self.logpath)
        except OSError:
            pass


def wait_for(cond, timeout, step=0.5):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(step)
    return cond()


def folded_counts(text, comm):
    total = 0
    for line in text.splitlines():
        if line.startswith(comm + ";") and " " in line:
            total += int(line.rsplit(" ", 1)[1])
    return total


def main():
    if os.geteuid() != 0:
        skip("needs root (debootstrap, systemd-nspawn)")
    if not shutil.which("systemd-nspawn"):
        raise Failed("systemd-nspawn is not installed (packaging/deps.sh installs systemd-container)")
    os.makedirs(CACHE, exist_ok=True)
    lock = open(os.path.join(CACHE, "lock"), "w")
    fcntl.flock(lock, fcntl.LOCK_EX)  # one run at a time owns the cache

    deb = package()
    root = debian_root(runtime_depends(deb))
    debdir = tempfile.mkdtemp(prefix="profd-debdir-")
    shutil.copy(deb, os.path.join(debdir, "profd.deb"))
    c = Container(root, debdir)
    try:
        checks(c)
    finally:
        c.stop()
        shutil.rmtree(debdir, ignore_errors=True)


def checks(c):
    # ---- install: postinst creates the group, enables and starts ----
    p = c.sh("dpkg -i /mnt/profd/profd.deb", timeout=300)
    check(p.returncode == 0, "dpkg -i profd.deb in the container (rc %d)%s" %
          (p.returncode, "" if p.returncode == 0 else ":\n" + p.stdout[-3000:] + p.stderr[-3000:]))
    check(c.sh("getent group profd").returncode == 0, "postinst created the group profd")
    check(c.sh("systemctl is-enabled profd").stdout.strip() == "enabled", "the unit is enabled (Debian policy)")
    active = c.sh("systemctl is-active profd").stdout.strip()
    if active != "active":
        log(c.journal())
    check(active == "active", "systemctl is-active profd after the Type=notify start: %s" % active)
    check(c.show("Type") == "notify", "Type=notify")
    check(c.show("WatchdogUSec") in ("30s", "30000000"), "WatchdogSec=30s (%s)" % c.show("WatchdogUSec"))
    status = c.show("StatusText")
    check("Hz" in status or "samples/s" in status, "STATUS= from READY=1: '%s'" % status)
    pid_a = int(c.show("MainPID"))
    check(pid_a > 0, "MainPID %d" % pid_a)
    # the status line moves to the tick's summary within 10 s
    st = wait_for(lambda: "samples/s" in c.show("StatusText") and c.show("StatusText"), 25)
    m = st and re.search(r"(\d+) samples/s, (\d+) processes, \d+ alerts? firing", st)
    check(m and int(m.group(1)) > 0 and int(m.group(2)) > 0, "STATUS= summary from the tick: '%s'" % st)

    # ---- the unit, under a real systemd ----
    p = c.sh("systemd-analyze verify /lib/systemd/system/profd.service")
    out = (p.stdout + p.stderr).strip()
    check(p.returncode == 0 and not out, "systemd-analyze verify of the installed unit is silent%s" %
          ("" if not out else ": " + out))
    p = c.sh("systemd-analyze security --no-pager profd.service")
    m = re.search(r"Overall exposure level for profd.service: ([0-9.]+) (\S+)", p.stdout)
    check(m is not None, "systemd-analyze security profd.service scores it")
    log("exposure: %s %s" % (m.group(1), m.group(2)))
    for line in p.stdout.splitlines():
        if line.lstrip().startswith("✗"):
            log("  " + line.strip())
    check(float(m.group(1)) <= 4.0, "exposure %s <= 4.0 (docs/security.md)" % m.group(1))

    # ---- profd --check, the packaged binary in the container ----
    p = c.sh("PROFD_CHECK_SELFTEST_MS=3000 profd --check --json", timeout=120)
    try:
        rep = json.loads(p.stdout)
    except ValueError:
        raise Failed("profd --check --json printed no JSON:\n%s\n%s" % (p.stdout[-2000:], p.stderr[-2000:]))
    fails = [i for i in rep["items"] if i["status"] == "fail"]
    check(p.returncode == 0 and rep["ok"] and not fails,
          "profd --check passes in the container (rc %d, failed: %s)" % (p.returncode, fails))
    log("  self-test: %s" % ", ".join("%s %d/%d" % (w["role"], w["samples"], w["expected"])
                                      for w in rep.get("selftest", {}).get("workloads", [])))

    # ---- who may use the socket ----
    c.sh("useradd -m -G profd member && useradd -m outsider", check_rc=True)
    p = c.sh("profctl status")
    check(p.returncode == 0 and "profd" in p.stdout, "profctl status as root")
    p = c.sh("profctl status", user="member")
    check(p.returncode == 0 and "profd" in p.stdout, "profctl status as a member of profd")
    p = c.sh("profctl status", user="outsider")
    check(p.returncode == 2 and "permission denied on /run/profd/profd.sock" in p.stderr and
          "group 'profd'" in p.stderr and "usermod -aG profd" in p.stderr,
          "profctl status as another user: refused, with the group to join: %s" % p.stderr.strip())
    t0 = int(time.time())
    p = c.sh("profctl reload", user="member")
    uid = c.sh("id -u member").stdout.strip()
    check(p.returncode == 1 and "permission_denied" in p.stderr, "profctl reload as a member: refused (%s)" %
          p.stderr.strip().splitlines()[0])
    check(wait_for(lambda: re.search(r'api: refused "reload" from uid %s pid \d+: root only' % uid, c.journal(t0 - 1)), 5),
          "the refusal is logged with uid and pid")
    # sd-daemon prefixes give the journal levels: the refusal is a warning,
    # the start's "ready" line is not
    warn = c.sh("journalctl -u profd -p warning --no-pager -o cat").stdout
    check("api: refused" in warn and "ready: socket" not in warn,
          "the journal has levels: the refusal at warning, the ready line below it")

    # ---- a workload, kernel frames, and the windows across a restart ----
    c.sh("cp /bin/dash /usr/local/bin/profdburn", check_rc=True)
    c.sh("timeout 6 /usr/local/bin/profdburn -c 'while :; do :; done'; "
         "dd if=/dev/zero of=/dev/null bs=4M count=3000 2>/dev/null; true", timeout=60)
    time.sleep(3)  # ticks drain what the burner left in the ring
    before = c.sh("profctl export --format folded --window 1h", check_rc=True).stdout
    n1 = folded_counts(before, "profdburn")
    check(n1 > 50, "the burner's samples before the restart: %d" % n1)
    kernel_named = [f for line in before.splitlines() if line.startswith("dd;")
                    for f in line.rsplit(" ", 1)[0].split(";") if f.endswith("_[k]") and
                    not re.match(r"^(0x)?[0-9a-f]+_\[k\]$", f)]
    check(kernel_named, "kernel frames are named by the shipped unit (e.g. %s)" % (kernel_named[:3],))

    t0 = int(time.time())
    p = c.sh("systemctl restart profd", timeout=120)
    check(p.returncode == 0, "systemctl restart profd")
    pid_b = int(c.show("MainPID"))
    check(pid_b != pid_a and c.sh("systemctl is-active profd").stdout.strip() == "active",
          "a new profd (pid %d, was %d) is active" % (pid_b, pid_a))
    jl = c.journal(t0 - 1)
    check(re.search(r"state: saved \d+ slots", jl) and re.search(r"state: restored \d+ slots", jl),
          "the old one saved the windows, the new one restored them")
    after = c.sh("profctl export --format folded --window 1h", check_rc=True).stdout
    n2 = folded_counts(after, "profdburn")
    check(n2 == n1, "export --window 1h after the restart still has the burner's %d samples (%d)" % (n1, n2))
    check(any(line.startswith("dd;") and "_[k]" in line for line in after.splitlines()),
          "restored stacks keep their named kernel frames")
    top = json.loads(c.sh("profctl --json top --window 1h --limit 10000", check_rc=True).stdout)
    procs = top.get("processes") or top.get("procs") or []
    check(any(p.get("comm") == "profdburn" for p in procs), "top --window 1h after the restart lists the burner")

    # ---- reload: a broken config is refused, profd keeps running ----
    c.sh("cp /etc/profd/profd.conf /root/profd.conf.good && printf '\\n[bogus]\\n' >> /etc/profd/profd.conf",
         check_rc=True)
    t0 = int(time.time())
    p = c.sh("systemctl reload profd", timeout=60)
    check(p.returncode != 0, "systemctl reload with a broken config fails (rc %d): %s" %
          (p.returncode, p.stderr.strip().splitlines()[0] if p.stderr.strip() else ""))
    check(c.sh("systemctl is-active profd").stdout.strip() == "active" and int(c.show("MainPID")) == pid_b,
          "profd keeps running (same pid)")
    jl = c.journal(t0 - 1)
    check("unknown section [bogus]" in jl and "invalid_config" in jl,
          "the error is reported: profctl's invalid_config and the file:line in the journal")
    check("reload failed" in c.show("StatusText"), "STATUS= says the reload failed: %s" % c.show("StatusText"))
    c.sh("cp /root/profd.conf.good /etc/profd/profd.conf", check_rc=True)
    p = c.sh("systemctl reload profd", timeout=60)
    check(p.returncode == 0 and "reloaded" in c.show("StatusText"), "a fixed config reloads")

    # ---- the watchdog: a stopped profd is killed and restarted ----
    t0 = int(time.time())
    restarts = int(c.show("NRestarts") or 0)
    c.sh("kill -STOP %d" % pid_b, check_rc=True)
    log("profd (pid %d) stopped with SIGSTOP; waiting for the watchdog (30 s) and the restart (5 s)" % pid_b)
    ok = wait_for(lambda: c.show("MainPID") not in ("0", str(pid_b)) and
                  c.sh("systemctl is-active profd").stdout.strip() == "active", 120, step=1)
    jl = c.journal(t0 - 1)
    check(ok, "restarted after the watchdog fired (pid %s)" % c.show("MainPID"))
    check("Watchdog timeout" in jl, "systemd logged the watchdog timeout")
    check(int(c.show("NRestarts") or 0) == restarts + 1, "NRestarts went from %d to %s" % (restarts, c.show("NRestarts")))
    p = c.sh("profctl status")
    check(p.returncode == 0, "the restarted profd answers")


if __name__ == "__main__":
    try:
        main()
    except Failed as e:
        log("FAIL: %s" % e)
        sys.exit(1)
    log("PASS")
