# SPDX-License-Identifier: GPL-2.0-only
"""The windows across restarts, with a real daemon: a burner's samples in
export --window 1h and top --window 1h are the same after a restart (the
file 0600 in state_dir); then a corrupt, a truncated and a foreign state
file are each set aside as profd.state.bad with a warning saying why, and
profd starts, answers, and shows none of the old samples."""
import os
import shutil
import stat
import subprocess
import tempfile
import time

from profdtest import Daemon, Failed, check, log, run, wait_ticks


def burner_samples(d, comm):
    text = d.ctl("export", "--format", "folded", "--window", "1h").stdout
    return sum(int(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(comm + ";"))


def daemon(state):
    return Daemon(extra_conf="[daemon]\nstate_dir = %s\nsave_interval = 0\n" % state)


def main():
    work = tempfile.mkdtemp(prefix="profd-state-it-")
    state = os.path.join(work, "state")
    comm = "profdstburn"
    burner = os.path.join(work, comm)
    shutil.copy("/bin/sh", burner)
    sfile = os.path.join(state, "profd.state")
    try:
        # ---- a round trip ----
        d = daemon(state)
        try:
            subprocess.run([burner, "-c", "i=0; while [ $i -lt 3000000 ]; do i=$((i+1)); done"], timeout=120)
            wait_ticks(d, 3)
            n1 = burner_samples(d, comm)
            check(n1 > 20, "the burner's samples before the restart: %d" % n1)
            check(d.stop() == 0, "profd stopped cleanly")
            check("state: saved" in d.log_text(), "the windows were saved at stop")
        finally:
            d.cleanup()
        st = os.stat(sfile)
        check(stat.S_IMODE(st.st_mode) == 0o600, "profd.state is 0600 (%o), %d bytes" % (stat.S_IMODE(st.st_mode), st.st_size))
        good = open(sfile, "rb").read()

        d = daemon(state)
        try:
            check("state: restored" in d.log_text(), "the next profd restored them")
            n2 = burner_samples(d, comm)
            check(n2 == n1, "export --window 1h after the restart: %d samples of the burner (%d before)" % (n2, n1))
            top = d.ctl_json("top", "--window", "1h", "--limit", "10000")
            check(any(p.get("comm") == comm for p in top.get("processes", [])), "top --window 1h lists the burner")
            d.stop()
        finally:
            d.cleanup()

        # ---- bad files: set aside, never a crash ----
        bad = [
            ("corrupt", good[:len(good) // 2] + bytes([good[len(good) // 2] ^ 0x40]) + good[len(good) // 2 + 1:],
             "payload checksum mismatch"),
            ("truncated", good[:len(good) - 100], "truncated"),
            ("foreign", b"this is not a state file\n" * 10, "not a profd state file"),
        ]
        for name, data, why in bad:
            if os.path.exists(sfile + ".bad"):
                os.unlink(sfile + ".bad")
            with open(sfile, "wb") as f:
                f.write(data)
            d = daemon(state)
            try:
                time.sleep(0.5)
                text = d.log_text()
                check("set aside as profd.state.bad: " in text and why in text,
                      "%s file: a warning saying '%s'" % (name, why))
                check(os.path.exists(sfile + ".bad") and open(sfile + ".bad", "rb").read() == data,
                      "%s file: set aside as profd.state.bad, unchanged" % name)
                check(d.alive() and d.ctl("status").returncode == 0, "%s file: profd runs and answers" % name)
                check(burner_samples(d, comm) == 0, "%s file: nothing of it was loaded" % name)
                d.stop()
            finally:
                d.cleanup()
        log("bad files: corrupt, truncated and foreign each set aside")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    run(main)
