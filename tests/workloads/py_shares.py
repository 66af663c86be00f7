#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""A Python workload with known shares for the Python frames test: pure
Python loops in two named functions, alternated so that work_a gets about
60 % and work_b about 40 % of the thread's CPU time, for argv[1] seconds
(default 10). Each function's CPU time is measured by the script itself
(time.thread_time around every call), so the ground truth is what ran, not
what was asked. Prints {"pid": N, "ready": true} first and
{"a_s": ..., "b_s": ..., "c_s": ...} (seconds of thread CPU time in each)
last. Both functions call a helper (inner), so the test sees nested Python
frames; a third, small phase (work_c) runs leaf_c through map(), so that a
native frame lies between two runs of Python frames. With argv[2] = "hash",
a second thread hashes in native code without the GIL (hash_loop)."""
import hashlib
import json
import os
import sys
import threading
import time


def inner(x):
    return (x * 7 + 3) % 1000003


def work_a(budget):
    t0 = time.thread_time()
    acc = 0
    while time.thread_time() - t0 < budget:
        for i in range(2000):
            acc = inner(acc + i)
    return acc


def work_b(budget):
    t0 = time.thread_time()
    acc = 0
    while time.thread_time() - t0 < budget:
        for i in range(2000):
            acc = inner(acc ^ i)
    return acc


def leaf_c(x):
    acc = 0
    for i in range(300):
        acc = inner(acc + x + i)
    return acc


def work_c(budget):
    """Python called back from C (map's iterator): a native frame between
    the caller's Python frames and leaf_c's, in a second eval loop."""
    t0 = time.thread_time()
    while time.thread_time() - t0 < budget:
        sum(map(leaf_c, range(50)))


def hash_loop(buf):
    """A second thread that spends its time in OpenSSL's SHA-256 with the
    GIL released (hashlib drops it for large buffers): its Python frames
    must be found without it holding the GIL."""
    while True:
        hashlib.sha256(buf).digest()


def main():
    if len(sys.argv) > 2 and sys.argv[2] == "hash":
        threading.Thread(target=hash_loop, args=(os.urandom(1 << 22),), daemon=True).start()
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    print(json.dumps({"pid": os.getpid(), "ready": True}), flush=True)
    end = time.monotonic() + seconds
    a = b = c = 0.0
    while time.monotonic() < end:
        t = time.thread_time()
        work_a(0.006)
        a += time.thread_time() - t
        t = time.thread_time()
        work_b(0.004)
        b += time.thread_time() - t
        t = time.thread_time()
        work_c(0.001)
        c += time.thread_time() - t
    print(json.dumps({"a_s": a, "b_s": b, "c_s": c}), flush=True)


if __name__ == "__main__":
    main()
