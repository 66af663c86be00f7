#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Bad input gets a clear error and never a crash: malformed requests,
unknown commands, wrong versions, oversized lines, bad arguments, idle and
excess clients, bad flags and config values, SIGHUP with a broken config,
and a clean SIGTERM shutdown."""
import json
import os
import signal
import socket
import subprocess
import time

from profdtest import PROFCTL, PROFD, Daemon, check, log, run


def raw_session(path, lines):
    """Send lines on one connection; return the parsed response of each."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    f = s.makefile("rb")
    out = []
    for l in lines:
        s.sendall(l)
        out.append(json.loads(f.readline()))
    s.close()
    return out


def err_code(r):
    return None if r.get("ok") else r["error"]["code"]


def main():
    d = Daemon()
    try:
        st = os.stat(d.sock)
        check(oct(st.st_mode & 0o777) == "0o660", "socket mode 0660 (got %s)" % oct(st.st_mode & 0o777))
        rs = raw_session(d.sock, [b"this is not json\n", b"[1,2]\n", b'{"cmd":"nope"}\n',
                                  b'{"v":99,"cmd":"status"}\n', b'{"v":1}\n',
                                  b'{"cmd":"top","window":"abc"}\n', b'{"cmd":"top","limit":-5}\n',
                                  b'{"cmd":"top","sort":"bogus"}\n', b'{"cmd":"export"}\n',
                                  b'{"cmd":"export","format":"nope"}\n', b'{"cmd":"top","window":"30s"} trailing\n',
                                  b'{"cmd":"status"}\n'])
        codes = [err_code(r) for r in rs]
        log("codes: %s" % codes)
        check(codes[0] == "bad_json" and codes[1] in ("bad_json", "bad_request"), "malformed JSON -> bad_json")
        check(codes[2] == "unknown_command", "unknown command -> unknown_command")
        check(codes[3] == "unsupported_version", "v=99 -> unsupported_version")
        check(codes[4] == "bad_request", "missing cmd -> bad_request")
        check(codes[5:8] == ["bad_argument"] * 3, "bad window/limit/sort -> bad_argument")
        check(codes[8] == "bad_request" and codes[9] == "bad_argument", "export without/with bad format")
        check(codes[10] == "bad_json", "trailing garbage -> bad_json")
        check(codes[11] is None, "the same connection still answers after 11 errors")
        check(all(r["error"]["message"] for r in rs[:11]), "every error has a human message")

        big = b'{"cmd":"status","pad":"' + b"x" * 200000 + b'"}\n'
        rs = raw_session(d.sock, [big, b'{"cmd":"status"}\n'])
        check(err_code(rs[0]) == "request_too_large" and rs[1]["ok"], "200 KB request refused, connection kept")

        idle = []
        for _ in range(80):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(d.sock)
            idle.append(s)
        time.sleep(0.5)
        for s in idle:
            s.close()
        t0 = time.time()
        r, _ = d.request({"cmd": "status"})
        check(r["ok"] and time.time() - t0 < 2, "80 idle clients do not stall a request")
        check(r["data"]["server"]["rejected_clients"] >= 80 - 64, "clients over the bound of 64 refused and counted (%d)" % r["data"]["server"]["rejected_clients"])
        check(r["data"]["server"]["oversized"] >= 1, "oversized request counted")

        p = d.ctl("--bogus-flag", "status", check_rc=False)
        check(p.returncode == 64, "profctl bad flag exits 64 (%d): %s" % (p.returncode, p.stderr.strip()))
        p = d.ctl("frobnicate", check_rc=False)
        check(p.returncode == 64 and "status" in p.stderr, "profctl unknown verb exits 64 and lists verbs")
        p = subprocess.run([PROFCTL, "--socket", "/nonexistent/profd.sock", "status"], capture_output=True, text=True)
        check(p.returncode == 2 and "/nonexistent/profd.sock" in p.stderr and "hint" in p.stderr,
              "no daemon: exit 2, names the socket, gives a hint: %s" % p.stderr.strip())
        p = d.ctl("top", "--window", "5parsecs", "--once", check_rc=False)
        check(p.returncode != 0 and p.stderr.strip(), "bad --window: %s" % p.stderr.strip())

        p = subprocess.run([PROFD, "--foreground", "--frequency", "0", "--socket", d.sock + "2"], capture_output=True, text=True)
        check(p.returncode != 0 and "frequency" in p.stderr, "profd --frequency 0 refused: %s" % p.stderr.strip())
        bad = os.path.join(d.dir, "bad.conf")
        with open(bad, "w") as f:
            f.write("[sampling]\nfrequency = 99\nfrequency = lots\n")
        p = subprocess.run([PROFD, "--foreground", "--config", bad, "--socket", d.sock + "2"], capture_output=True, text=True)
        check(p.returncode != 0 and ":3:" in p.stderr, "bad config value refused with its line: %s" % p.stderr.strip())
        p = subprocess.run([PROFD, "--no-such-flag"], capture_output=True, text=True)
        check(p.returncode == 64, "profd bad flag exits 64")
        check(not os.path.exists(d.sock + "2"), "no socket left by refused starts")

        # SIGHUP: an invalid file keeps the running config; a valid one applies.
        with open(d.conf, "w") as f:
            f.write("[sampling]\nfrequency = 123456\n")
        d.proc.send_signal(signal.SIGHUP)
        time.sleep(1)
        s = d.ctl_json("status")
        check(d.alive() and s["sampling"]["frequency"] == 99 and s["daemon"]["reload_failures"] == 1,
              "SIGHUP with frequency 123456: still running at 99 Hz, failure counted")
        with open(d.conf, "w") as f:
            f.write("[sampling]\nfrequency = 49\n")
        d.proc.send_signal(signal.SIGHUP)
        time.sleep(1)
        s = d.ctl_json("status")
        check(s["sampling"]["frequency"] == 49, "SIGHUP with frequency 49 applied")
        rc = d.stop()
        check(rc == 0, "SIGTERM: exit status 0")
        check(not os.path.exists(d.sock), "socket removed at shutdown")
        check("stopped" in d.log_text(), "shutdown logged")
    finally:
        d.cleanup()


run(main)
