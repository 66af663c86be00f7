#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""`profctl top --json` per-process resource counters against workloads of
known behaviour, on the real kernel:
- a process busy 50 % of one CPU for 14 s shows, over a window covering
  its life, the CPU time the kernel itself accounted to it (schedstat,
  read from the zombie before it is reaped) within 1 % + 20 ms, and the
  source is the scheduler (exact); like with like, so it holds on a busy
  VM where the process gets less than its 50 %;
- a process that touches 256 MiB shows that RSS (within 10 %);
- a process that writes 64 MiB with O_DIRECT shows >= 95 % of it as writes;
- a process that sleeps shows off-CPU time and voluntary switches;
- a process that lives ~20 ms still appears with its CPU time and I/O;
- 4 busy threads on 2 CPUs show run-queue latency;
- sort by mem / unit filter / system header behave;
- the GPU state line says what this host really has (its NVML library
  probed the way the daemon does)."""
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

from profdtest import Daemon, WORKLOADS, check, log, run, wait_ticks

HOG = os.path.join(WORKLOADS, "hog")
MIB = 1 << 20


def start(*args):
    p = subprocess.Popen([HOG] + [str(a) for a in args], stdout=subprocess.PIPE, text=True)
    pid = json.loads(p.stdout.readline())["pid"]
    return p, pid


def schedstat_ns(pid):
    """The kernel's own CPU time of a process (sum_exec_runtime of all its
    threads, ns); readable while it is a zombie."""
    with open("/proc/%d/schedstat" % pid) as f:
        return int(f.read().split()[0])


def exited_unreaped(pid, timeout):
    """Wait for pid to exit, leaving it a zombie (its /proc stays)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT | os.WNOHANG):
            return True
        time.sleep(0.05)
    return False


def row(top, pid):
    rows = [r for r in top["processes"] if r["pid"] == pid]
    return rows[0] if rows else None


# What profd's NVML loader finds on this host, found the same way (dlopen
# of $PROFD_NVML_LIBRARY or the soname, nvmlInit_v2, nvmlDeviceGetCount_v2,
# a handle per device), in a child with the daemon's environment.
NVML_PROBE = r"""
import ctypes, json, os
path = os.environ.get("PROFD_NVML_LIBRARY")
path = "libnvidia-ml.so.1" if path is None else path
def out(kind, **kw):
    print(json.dumps(dict(kind=kind, path=path, **kw)))
if path == "":
    out("disabled")
else:
    try:
        lib = ctypes.CDLL(path, mode=os.RTLD_NOW | os.RTLD_LOCAL)
    except OSError as e:
        out("absent", why=str(e))
    else:
        try:
            init, count, handle, shutdown = (lib.nvmlInit_v2, lib.nvmlDeviceGetCount_v2,
                                             lib.nvmlDeviceGetHandleByIndex_v2, lib.nvmlShutdown)
        except AttributeError as e:
            out("error", why=str(e))
        else:
            rc = init()
            if rc == 9:  # NVML_ERROR_DRIVER_NOT_LOADED
                out("absent", why="driver not loaded")
            elif rc != 0:
                out("error", why="nvmlInit_v2: %d" % rc)
            else:
                n, h = ctypes.c_uint(0), ctypes.c_void_p()
                rc = count(ctypes.byref(n))
                if rc != 0:
                    out("error", why="nvmlDeviceGetCount_v2: %d" % rc)
                else:
                    ok = sum(handle(i, ctypes.byref(h)) == 0 for i in range(min(n.value, 64)))
                    out("ok", devices=ok)
                shutdown()
"""


def host_nvml():
    env = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
    p = subprocess.run([sys.executable, "-c", NVML_PROBE], capture_output=True, text=True, env=env, timeout=120)
    log("host: NVML probe %s%s; /dev/nvidia*: %s; DRM render nodes: %s"
        % (p.stdout.strip(), p.stderr.strip(), glob.glob("/dev/nvidia*") or "none",
           glob.glob("/dev/dri/renderD*") or "none"))
    return json.loads(p.stdout)


def check_gpu_state(g):
    """The state line and device list against what the host really has."""
    h = host_nvml()
    state, devices = g["state"], g["devices"]
    if h["kind"] == "ok":
        n = h["devices"]
        check(state.startswith("ok: %d NVIDIA device%s" % (n, "" if n == 1 else "s")) and len(devices) == n,
              "GPU: '%s' with %d devices, as the host's NVML has %d" % (state, len(devices), n))
    elif h["kind"] == "absent":
        check(state.startswith("no NVIDIA driver") and devices == [],
              "GPU: '%s', no devices: the host has no NVIDIA driver (%s)" % (state, h["why"]))
    elif h["kind"] == "error":
        check(state.startswith("NVML error") and devices == [],
              "GPU: '%s', no devices: the host's NVML fails (%s)" % (state, h["why"]))
    else:
        check(state == "NVML disabled" and devices == [], "GPU: '%s' (PROFD_NVML_LIBRARY is empty)" % state)


def block_dir():
    """A directory on a block device (O_DIRECT needs one; /tmp may be tmpfs)."""
    for d in ("/var/tmp", os.environ.get("PROFD_BUILD", "/"), "/"):
        try:
            st = os.statvfs(d)
            with open("/proc/mounts") as f:
                mounts = [l.split() for l in f]
            best = max((m for m in mounts if (d + "/").startswith(m[1].rstrip("/") + "/")), key=lambda m: len(m[1]))
            if best[0].startswith("/dev/") and st.f_bavail * st.f_frsize > 512 * MIB:
                return d
        except (OSError, ValueError):
            continue
    return "/var/tmp"


def main():
    d = Daemon()
    procs = []
    try:
        wdir = tempfile.mkdtemp(prefix="profd-io-", dir=block_dir())
        duty, duty_pid = start("duty", 50, 14)
        alloc, alloc_pid = start("alloc", 256, 60)
        sleeper, sleeper_pid = start("sleeper", 6)
        threads, threads_pid = start("threads", 4, 5)
        procs += [duty, alloc, sleeper, threads]
        wait_ticks(d, 1)
        t0 = time.time()
        dw = subprocess.run([HOG, "dwrite", "64", wdir], capture_output=True, text=True, timeout=120)
        dw_pid = json.loads(dw.stdout.splitlines()[0])["pid"]
        check(dw.returncode == 0, "O_DIRECT writer finished (%s)" % dw.stderr.strip())
        sh = subprocess.run([HOG, "short", wdir], capture_output=True, text=True, timeout=60)
        sh_pid = json.loads(sh.stdout.splitlines()[0])["pid"]
        check(sh.returncode == 0, "20 ms process finished")
        time.sleep(max(0, 10 - (time.time() - t0)))
        wait_ticks(d, 1)
        top = d.ctl_json("top", "--window", "10s", "--limit", "10000")
        log("system: %s" % json.dumps(top.get("system")))
        r = row(top, duty_pid)
        check(r is not None and r["cpu_source"] == "sched", "duty-cycle process listed, CPU %% from the scheduler")

        # Its whole life against the kernel's own accounting: once it has
        # exited (unreaped), and profd has drained its exit record.
        check(exited_unreaped(duty_pid, 30), "duty-cycle process finished")
        truth = schedstat_ns(duty_pid)
        wait_ticks(d, 2)
        r = row(d.ctl_json("top", "--window", "40s", "--limit", "10000"), duty_pid)
        log("duty row: %s; schedstat %d ns" % (r, truth))
        check(r is not None and abs(r["oncpu_ns"] - truth) <= 0.01 * truth + 20e6,
              "duty: %.3f s on CPU in profd vs %.3f s from schedstat (1 %% + 20 ms)"
              % ((r or {}).get("oncpu_ns", 0) / 1e9, truth / 1e9))

        r = row(top, alloc_pid)
        with open("/proc/%d/status" % alloc_pid) as f:
            vmrss = [int(l.split()[1]) * 1024 for l in f if l.startswith("VmRSS:")][0]
        check(r is not None and r["rss_bytes"] >= 256 * MIB and abs(r["rss_bytes"] - vmrss) <= 0.05 * vmrss,
              "alloc RSS %.1f MiB: >= 256 MiB touched, within 5 %% of VmRSS %.1f MiB (a sanitizer build adds its own)"
              % ((r or {}).get("rss_bytes", 0) / MIB, vmrss / MIB))
        check(r["mem_pct"] > 0, "mem %% %.2f" % r["mem_pct"])

        # the writer and the short process ran at the start of the 10 s:
        # read them over a window that surely covers them
        top20 = d.ctl_json("top", "--window", "40s", "--limit", "10000")
        r = row(top20, dw_pid)
        check(r is not None, "O_DIRECT writer listed after exit")
        check(r["io_write_bytes"] >= 0.95 * 64 * MIB,
              "writer: %.1f MiB written vs 64 MiB (>= 95 %%)" % (r["io_write_bytes"] / MIB))
        check(r["io_write_reqs"] > 0 and r["io_lat_p99_ns"] > 0, "writer: requests and I/O latency counted")

        r = row(top20, sleeper_pid)
        check(r is not None and r["offcpu_ns"] >= 3e9, "sleeper off-CPU %.2f s (>= 3 s of 6 s asleep)" % ((r or {}).get("offcpu_ns", 0) / 1e9))
        n = r["vcsw_per_s"] * top20["window_s"]
        check(n >= 50, "sleeper: %.0f voluntary switches (>= 50; 60 sleeps of 100 ms)" % n)

        r = row(top20, sh_pid)
        check(r is not None, "the 20 ms process %d is listed after it exited" % sh_pid)
        check(r["oncpu_ns"] >= 10e6 and not r["alive"], "20 ms process: %.1f ms on CPU (>= 10 ms), exited" % (r["oncpu_ns"] / 1e6))
        check(r["io_write_bytes"] >= MIB, "20 ms process: %.2f MiB written (>= 1 MiB)" % (r["io_write_bytes"] / MIB))

        r = row(top20, threads_pid)
        check(r is not None and r["runq_p99_ns"] >= 1000000, "4 threads on 2 CPUs: run-queue p99 %.2f ms (>= 1 ms)" % ((r or {}).get("runq_p99_ns", 0) / 1e6))

        s = top["system"]
        check(0 <= s["cpu_pct"] <= 100 and len(s["per_cpu_pct"]) == top["cpus"], "system CPU %.1f %%, per-CPU list" % s["cpu_pct"])
        check(s["mem_total_bytes"] > s["mem_used_bytes"] > 0 and s["load1"] is not None and s["load15"] is not None,
              "memory and load in the header")
        check_gpu_state(s["gpu"])

        top = d.ctl_json("top", "--window", "10s", "--sort", "mem", "--limit", "5")
        rss = [x["rss_bytes"] for x in top["processes"]]
        check(rss == sorted(rss, reverse=True) and alloc_pid in [x["pid"] for x in top["processes"]],
              "sort mem: descending RSS, the 256 MiB process in the top 5")
        unit = row(d.ctl_json("top", "--window", "10s", "--limit", "10000"), alloc_pid)["unit"]
        if unit:
            top = d.ctl_json("top", "--window", "10s", "--unit", unit, "--limit", "10000")
            check(all(x["unit"] == unit for x in top["processes"]) and row(top, alloc_pid),
                  "--unit %s keeps only that unit's processes" % unit)
        top = d.ctl_json("top", "--window", "10s", "--unit", "no-such.service")
        check(top["processes"] == [], "--unit no-such.service: no rows")
        plain = d.ctl("top", "--window", "10s", "--once").stdout
        log(plain[:3000])
        check("RSS" in plain and "MEM" in plain, "plain table shows RSS and MEM columns")
    finally:
        for p in procs:
            p.kill()
            p.wait()
        d.stop()
        d.cleanup()


run(main)
