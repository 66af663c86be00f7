#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Raw kernel addresses go to root clients only (KASLR).

A syscall-heavy workload (dd with one-byte blocks) puts kernel frames into
the store. A root client's JSON export shows kernel frames with their
addresses; the same export asked for by an unprivileged client (uid 65534,
through a socket opened up for the test) has the same kernel frames, named,
without "addr", and nowhere a "vmlinux+0x..." name; its folded export has
none either. The daemon learns who asks from SO_PEERCRED."""
import json
import os
import subprocess
import sys

from profdtest import Daemon, check, log, request_chunked, run, wait_ticks

NOBODY = 65534

# Runs as uid 65534: the standard library only, nothing of the test tree.
CLIENT = r"""
import json, socket, sys
def ask(req):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(60)
    s.connect(sys.argv[1])
    s.sendall((json.dumps(req) + "\n").encode())
    f = s.makefile("rb")
    r = json.loads(f.readline())
    parts = []
    while True:
        n = int(f.readline())
        if n == 0:
            break
        parts.append(f.read(n))
    f.readline()
    return b"".join(parts).decode()
out = {"json": ask({"v": 2, "cmd": "export", "format": "json", "window": "1m"}),
       "folded": ask({"v": 2, "cmd": "export", "format": "folded", "window": "1m"})}
print(json.dumps(out))
"""


def kernel_frames(export):
    return [fr for st in export["stacks"] for fr in st["frames"] if fr["kernel"]]


def demote():
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


def main():
    d = Daemon(frequency=499)
    try:
        subprocess.run(["dd", "if=/dev/zero", "of=/dev/null", "bs=1", "count=3000000"], capture_output=True,
                       check=True, timeout=60)
        wait_ticks(d, 2)
        r, payload, _ = request_chunked(d.sock, {"cmd": "export", "format": "json", "window": "1m"})
        root = json.loads(payload)
        rk = kernel_frames(root)
        check(len(rk) > 0 and all("addr" in fr for fr in rk),
              "root sees %d kernel frames, each with its address" % len(rk))

        # open the socket to everyone for this test only
        os.chmod(d.sock, 0o666)
        os.chmod(d.dir, 0o755)
        # the system's interpreter: one under root's home is out of its reach
        python = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable
        p = subprocess.run([python, "-c", CLIENT, d.sock], capture_output=True, text=True, timeout=120,
                           preexec_fn=demote, cwd="/")
        check(p.returncode == 0, "unprivileged client ran (%s)" % p.stderr.strip()[-300:])
        out = json.loads(p.stdout)
        user = json.loads(out["json"])
        uk = kernel_frames(user)
        log("unprivileged: %d kernel frames, e.g. %s" % (len(uk), uk[:2]))
        check(len(uk) > 0, "the unprivileged export has kernel frames too (%d)" % len(uk))
        check(not any("addr" in fr for fr in uk), "none of them carries an address")
        check(all("addr" in fr for st in user["stacks"] for fr in st["frames"] if not fr["kernel"]),
              "user frames keep their (file offset) addresses")
        check("vmlinux+0x" not in out["json"] and "vmlinux+0x" not in out["folded"],
              "no raw kernel address in names (JSON or folded)")
        names_root = set(fr["name"] for fr in rk if not fr["name"].startswith("vmlinux+0x"))
        names_user = set(fr["name"] for fr in uk)
        check(len(names_root & names_user) > 0, "kernel frames are named alike for both (%d names in common)" % len(
            names_root & names_user))
    finally:
        d.stop()
        d.cleanup()


run(main)
