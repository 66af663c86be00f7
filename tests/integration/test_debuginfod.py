#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Debug files from a real debuginfod server (Debian's debuginfod), on a
real daemon.

The test builds a shared library whose hot function is hidden (static
linkage: only .symtab names it), keeps its debug info in a separate file
in a directory, strips the library, and serves that directory with
`debuginfod -F`. debuginfod listens on every address and has no option to
bind to loopback only, so the test runs in a network namespace of its own
(unshare --net, only lo up): the server is reachable from nowhere else.
profd runs there too (BPF and perf events do not care), pointed at the
server by [symbols] debuginfod_urls, with its state directory (and so the
debuginfod cache) in the test's directory.

1. a workload dlopen()s the stripped library and spins in the hidden
   function: the export names it and its caller (dl_entry), and status
   counts one download;
2. the server is stopped (by its PID) and profd restarted with the same
   state directory: the same names come from the cache, no download."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from profdtest import Daemon, Failed, WORKLOADS, check, log, parse_folded, require_root, run, skip, wait_ticks

FREQ = 99
LIB_SRC = r"""
#include <stdint.h>
#include <time.h>
static volatile uint64_t sink;
__attribute__((noinline)) static void hidden_spin(uint64_t ns)
{
	struct timespec ts;
	uint64_t end, x = sink;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	end = (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec + ns;
	for (;;) {
		for (int i = 0; i < 20000; i++)
			x = x * 6364136223846793005ull + 1;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
		if ((uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec >= end)
			break;
	}
	sink = x;
}
__attribute__((noinline)) void dl_entry(double secs)
{
	hidden_spin((uint64_t)(secs * 1e9));
	sink += 1;
}
"""


def netns():
    """Re-run this test inside a new network namespace with lo up."""
    if os.environ.get("PROFD_TEST_NETNS") == "1":
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        return
    if not shutil.which("unshare") or not shutil.which("ip"):
        skip("needs unshare and ip (util-linux, iproute2)")
    env = dict(os.environ, PROFD_TEST_NETNS="1")
    r = subprocess.run(["unshare", "--net", sys.executable, os.path.abspath(__file__)], env=env)
    sys.exit(r.returncode)


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def build(tmp):
    src = os.path.join(tmp, "libdfs.c")
    with open(src, "w") as f:
        f.write(LIB_SRC)
    full = os.path.join(tmp, "libdfs.full.so")
    subprocess.run(["cc", "-g", "-O1", "-fno-omit-frame-pointer", "-mno-omit-leaf-frame-pointer", "-fno-inline",
                    "-fPIC", "-shared", "-Wl,--build-id", "-o", full, src], check=True)
    srv = os.path.join(tmp, "srv")
    os.mkdir(srv)
    # the server's directory holds only the separate debug file
    subprocess.run(["objcopy", "--only-keep-debug", full, os.path.join(srv, "libdfs.debug")], check=True)
    lib = os.path.join(tmp, "lib", "libdfs.so")
    os.mkdir(os.path.dirname(lib))
    subprocess.run(["strip", "-o", lib, full], check=True)
    out = subprocess.run(["readelf", "-n", lib], capture_output=True, text=True, check=True).stdout
    bid = re.search(r"Build ID: ([0-9a-f]+)", out).group(1)
    nm = subprocess.run(["nm", lib], capture_output=True, text=True).stdout + \
        subprocess.run(["nm", "-D", "--defined-only", lib], capture_output=True, text=True).stdout
    check("hidden_spin" not in nm and "dl_entry" in nm,
          "the stripped library names dl_entry (.dynsym) and not hidden_spin")
    return srv, lib, bid


def server(tmp, srv, bid):
    port = free_port()
    logf = open(os.path.join(tmp, "debuginfod.log"), "w")
    p = subprocess.Popen(["debuginfod", "-F", "-d", ":memory:", "-p", str(port), "-t", "0", "-g", "0", "-c", "1", srv],
                         stdout=logf, stderr=subprocess.STDOUT)
    url = "http://127.0.0.1:%d" % port
    # ready when it serves the file: a query before its scan would be a
    # miss, which libdebuginfod remembers for 10 minutes
    deadline = time.time() + 60
    while time.time() < deadline:
        if p.poll() is not None:
            raise Failed("debuginfod exited %d" % p.returncode)
        try:
            with urllib.request.urlopen("%s/buildid/%s/debuginfo" % (url, bid), timeout=5) as r:
                if r.status == 200:
                    return p, url
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.3)
    p.kill()
    raise Failed("debuginfod did not serve the debug file within 60 s")


def profile(d, lib):
    wl = subprocess.Popen([os.path.join(WORKLOADS, "names_wl"), "dlspin", lib, "3"], stdout=subprocess.PIPE,
                          text=True)
    line = wl.stdout.readline()
    if not line:
        raise Failed("names_wl dlspin exited %s" % wl.wait())
    pid = int(re.search(r'"pid": (\d+)', line).group(1))
    wl.wait(timeout=60)
    check(wl.returncode == 0, "the workload ran (pid %d)" % pid)
    wait_ticks(d, 2)
    for _ in range(40):
        stacks = parse_folded(d.ctl("export", "--format", "folded", "--pid", str(pid), "--window", "1m").stdout)
        hot = sum(c for frames, c in stacks if frames[-2:] == ["dl_entry", "hidden_spin"])
        total = sum(c for _, c in stacks)
        if hot >= 0.5 * total and total:
            break
        time.sleep(0.5)
    for frames, c in sorted(stacks, key=lambda x: -x[1])[:5]:
        log("  %5d %s" % (c, ";".join(frames)))
    check(total > 0 and hot >= 0.5 * total,
          "hidden_spin, called by dl_entry, named in %d of %d samples" % (hot, total))
    return d.ctl_json("status")["symbols"]


def main():
    require_root()
    netns()
    if not shutil.which("debuginfod"):
        skip("debuginfod (Debian package debuginfod) is not installed")
    tmp = tempfile.mkdtemp(prefix="profd-dbgd-")
    state = os.path.join(tmp, "state")
    srvp = d = None
    try:
        srv, lib, bid = build(tmp)
        srvp, url = server(tmp, srv, bid)
        log("debuginfod %s serving build-id %s" % (url, bid))
        conf = "[daemon]\nstate_dir = %s\n[symbols]\ndebuginfod_urls = %s\n" % (state, url)
        d = Daemon(frequency=FREQ, extra_conf=conf)
        check("debuginfod servers %s" % url in d.log_text(), "profd logs the server it asks")
        st = profile(d, lib)
        log("status: %s" % {k: v for k, v in st.items() if k.startswith("debuginfod")})
        check(st["debuginfod_downloads"] >= 1 and st["debuginfod_bytes"] > 0,
              "status counts the download (%d files, %d bytes)" % (st["debuginfod_downloads"], st["debuginfod_bytes"]))
        cached = [f for r, _, fs in os.walk(os.path.join(state, "debuginfod")) for f in fs
                  if r.endswith(bid) and f == "debuginfo"]
        check(len(cached) == 1, "the debug file is cached under state_dir/debuginfod/%s" % bid)
        d.stop()
        d.cleanup()
        d = None

        srvp.terminate()
        srvp.wait(timeout=30)
        srvp = None
        log("debuginfod stopped")
        d = Daemon(frequency=FREQ, extra_conf=conf)
        st = profile(d, lib)
        log("status: %s" % {k: v for k, v in st.items() if k.startswith("debuginfod")})
        check(st["debuginfod_cache_hits"] >= 1 and st["debuginfod_downloads"] == 0,
              "from the cache with the server gone (%d hits, %d downloads)"
              % (st["debuginfod_cache_hits"], st["debuginfod_downloads"]))
    finally:
        if d:
            d.stop()
            d.cleanup()
        if srvp and srvp.poll() is None:
            srvp.kill()
            srvp.wait()
        shutil.rmtree(tmp, ignore_errors=True)


run(main)
