#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""GPU counters through the stand-in libnvidia-ml.so.1 (built by the test
suite, loaded through the same dlopen path as the real library, selected
by PROFD_NVML_LIBRARY): devices in the top header, per-process GPU % and
GPU memory on the right pid, sort by gpu. The stand-in acts as driver
535.54.03, whose _v3 process lists write 32-byte entries (the layout that
overflows a caller sizing them for the 24 bytes of nvmlProcessInfo_v2_t).
No GPU exists on the test machines; test_resources checks the state line
against what the host really has."""
import json
import os
import subprocess
import threading
import time

from profdtest import BUILD, Daemon, WORKLOADS, check, log, run, wait_ticks

GIB = 1 << 30


def main():
    lib = os.path.join(BUILD, "tests", "gpu", "libnvidia-ml.so.1")
    check(os.path.exists(lib), "stand-in NVML library built at %s" % lib)
    hog = subprocess.Popen([os.path.join(WORKLOADS, "hog"), "sleeper", "30"], stdout=subprocess.PIPE, text=True)
    pid = json.loads(hog.stdout.readline())["pid"]
    script = os.path.join(os.environ.get("TMPDIR", "/tmp"), "profd-fake-nvml-%d.txt" % os.getpid())
    stop = threading.Event()
    gone = threading.Event()  # the process has left the GPU

    def write_script():
        # NVML reports per-process utilisation samples newer than the last
        # timestamp asked for: keep producing fresh ones, like a driver.
        while not stop.is_set():
            ts = int(time.time() * 1e6)
            tmp = script + ".tmp"
            with open(tmp, "w") as f:
                f.write("devices=2\n"
                        "dev0.name=NVIDIA H100 80GB HBM3\ndev0.uuid=GPU-0000\n"
                        "dev0.util=87,40\ndev0.mem=85899345920,42949672960\n"
                        "dev0.temp=61\ndev0.power=312000\n"
                        "dev1.name=NVIDIA H100 80GB HBM3\ndev1.uuid=GPU-0001\n"
                        "dev1.util=0,0\ndev1.mem=85899345920,0\ndev1.temp=35\ndev1.power=70000\n")
                if not gone.is_set():
                    f.write("dev0.proc=%d,%d,c\ndev0.sample=%d,%d,70\n" % (pid, GIB, pid, ts))
            os.replace(tmp, script)
            stop.wait(0.2)

    writer = threading.Thread(target=write_script, daemon=True)
    writer.start()
    time.sleep(0.5)
    d = Daemon(env={"PROFD_NVML_LIBRARY": lib, "PROFD_FAKE_NVML_SCRIPT": script,
                    "PROFD_FAKE_NVML_DRIVER": "535.54.03", "PROFD_FAKE_NVML_V3_ENTRY": "32"})
    try:
        time.sleep(6)
        top = d.ctl_json("top", "--window", "3s", "--sort", "gpu", "--limit", "50")
        g = top["system"]["gpu"]
        log(json.dumps(g))
        check(g["state"] == "ok: 2 NVIDIA devices (driver 535.54.03)" and len(g["devices"]) == 2,
              "GPU state '%s', 2 devices" % g["state"])
        d0 = g["devices"][0]
        check(d0["name"] == "NVIDIA H100 80GB HBM3" and d0["util_pct"] == 87 and d0["mem_used_bytes"] == 42949672960
              and d0["temp_c"] == 61 and abs(d0["power_w"] - 312.0) < 0.01, "device 0 values read back exactly")
        rows = [r for r in top["processes"] if r["pid"] == pid]
        check(len(rows) == 1, "the GPU process %d is listed" % pid)
        r = rows[0]
        log("row: %s" % r)
        check(r["gpu_mem_bytes"] == GIB, "GPU memory of pid %d: %s (1 GiB scripted)" % (pid, r["gpu_mem_bytes"]))
        check(r["gpu_pct"] is not None and 55 <= r["gpu_pct"] <= 75, "GPU %% of pid %d: %s (70 scripted)" % (pid, r["gpu_pct"]))
        check(top["processes"][0]["pid"] == pid, "sort gpu puts it first")
        others = [x for x in top["processes"] if x["pid"] != pid and x["gpu_pct"]]
        check(not others, "no other process has GPU time")
        plain = d.ctl("top", "--window", "3s", "--once").stdout
        log(plain[:1500])
        check("H100" in plain, "plain header names the GPU")

        # It leaves the GPU: its last GPU % and memory must not stay.
        gone.set()
        time.sleep(0.5)
        wait_ticks(d, 3)
        top = d.ctl_json("top", "--window", "1s", "--limit", "10000")
        rows = [r for r in top["processes"] if r["pid"] == pid]
        log("after leaving the GPU: %s" % rows)
        check(len(rows) == 1 and rows[0]["gpu_pct"] is None and rows[0]["gpu_mem_bytes"] is None,
              "pid %d has no GPU figures once NVML no longer lists it" % pid)
    finally:
        stop.set()
        hog.kill()
        hog.wait()
        d.stop()
        d.cleanup()
        for f in (script, script + ".tmp"):
            if os.path.exists(f):
                os.unlink(f)


run(main)
