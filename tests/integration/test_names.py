#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Names from sources other than a binary's own C symbols, on a real daemon:

- C++: names_cxx (a namespace, a class template, a function template; 2:1
  known shares) shows demangled leaf and caller names in folded and pprof
  exports, as c++filt spells them; --no-demangle gives the mangled names
  nm shows; `top --no-demangle` too;
- JIT: names_wl jit runs code copied into anonymous executable memory and
  named in /tmp/perf-PID.map, then more code appended to the map later:
  both are named, the second after the map grew;
- vdso: names_wl vdso spins on clock_gettime: its leaf is the vdso's
  __vdso_clock_gettime, in module [vdso]."""
import gzip
import os
import re
import subprocess
import time

from profdtest import Daemon, Failed, WORKLOADS, check, log, parse_folded, run, wait_ticks

FREQ = 99


def start(*args):
    p = subprocess.Popen([os.path.join(WORKLOADS, args[0])] + list(args[1:]), stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    if not line:
        p.wait()
        raise Failed("%s exited %s before it started" % (args[0], p.returncode))
    return p, int(re.search(r'"pid": (\d+)', line).group(1))


def folded(d, pid, *extra):
    text = d.ctl("export", "--format", "folded", "--pid", str(pid), "--window", "1m", *extra).stdout
    return parse_folded(text)


def until_named(d, pid, names, *extra, tries=20):
    """Folded stacks of pid once every name in names is some frame."""
    for _ in range(tries):
        stacks = folded(d, pid, *extra)
        seen = {f for frames, _ in stacks for f in frames}
        if all(n in seen for n in names):
            return stacks
        time.sleep(0.5)
    raise Failed("never named %s; saw %s" % (names, sorted(seen)[:40]))


def leaf_caller(stacks):
    """{(caller, leaf): samples} of user frames (kernel frames end in _[k])."""
    out = {}
    for frames, c in stacks:
        user = [f for f in frames[1:] if not f.endswith("_[k]")]
        if len(user) >= 2:
            out[(user[-2], user[-1])] = out.get((user[-2], user[-1]), 0) + c
    return out


def pb_strings(data):
    """The string table (field 6) of a pprof Profile message."""
    def varint(b, i):
        v = s = 0
        while True:
            x = b[i]
            i += 1
            v |= (x & 0x7f) << s
            s += 7
            if x < 0x80:
                return v, i
    out, i = [], 0
    while i < len(data):
        key, i = varint(data, i)
        field, wt = key >> 3, key & 7
        if wt == 0:
            _, i = varint(data, i)
        elif wt == 1:
            i += 8
        elif wt == 5:
            i += 4
        elif wt == 2:
            n, i = varint(data, i)
            if field == 6:
                out.append(data[i:i + n].decode("utf-8", "replace"))
            i += n
        else:
            raise Failed("pprof: wire type %d" % wt)
    return out


def cxx(d):
    exe = os.path.join(WORKLOADS, "names_cxx")
    nm = subprocess.run(["nm", exe], capture_output=True, text=True, check=True).stdout
    raw = {}
    for want in ("blend", "scale", "run"):
        m = re.search(r"^\S+ [TtWw] (_ZN?\S*%s\S*)$" % want, nm, re.M)
        check(m is not None, "names_cxx has a mangled %s (%s)" % (want, m and m.group(1)))
        raw[want] = m.group(1)
    full = {k: subprocess.run(["c++filt", v], capture_output=True, text=True, check=True).stdout.strip()
            for k, v in raw.items()}
    log("expected: %s" % full)
    # folded text turns ' ' and ';' inside names into '_' (docs/export.md)
    dem = {k: v.replace(" ", "_").replace(";", "_") for k, v in full.items()}
    p, pid = start("names_cxx", "4")
    p.wait(timeout=60)
    wait_ticks(d, 2)
    stacks = until_named(d, pid, [dem["blend"], dem["scale"], dem["run"]])
    lc = leaf_caller(stacks)
    blend = lc.get((dem["run"], dem["blend"]), 0)
    scale = lc.get((dem["run"], dem["scale"]), 0)
    total = sum(c for _, c in stacks)
    log("%d samples: %s <- %s: %d, %s <- %s: %d" % (total, dem["blend"], dem["run"], blend, dem["scale"],
                                                     dem["run"], scale))
    check(blend + scale >= 0.8 * total, "leaf and caller demangled in >= 80 %% of the samples (%d of %d)"
          % (blend + scale, total))
    # 20 ms : 10 ms of CPU time: 2:1, loosely (a busy VM, timer phase)
    check(scale > 0 and 1.3 <= blend / scale <= 3.0, "blend:scale = %.2f (2:1 +- tolerance)" % (blend / max(scale, 1)))
    check(not any(f.startswith("_Z") for frames, _ in stacks for f in frames), "no mangled names in folded")

    rstacks = until_named(d, pid, [raw["blend"], raw["run"]], "--no-demangle")
    rlc = leaf_caller(rstacks)
    check(rlc.get((raw["run"], raw["blend"]), 0) == blend and rlc.get((raw["run"], raw["scale"]), 0) == scale,
          "--no-demangle: the same stacks under the mangled names (%s <- %s)" % (raw["blend"], raw["run"]))

    path = os.path.join(d.dir, "cxx.pb.gz")
    d.ctl("export", "--format", "pprof", "--pid", str(pid), "--window", "1m", "-o", path)
    with open(path, "rb") as f:
        strings = pb_strings(gzip.decompress(f.read()))
    check(all(full[k] in strings for k in full) and not any(raw[k] in strings for k in raw),
          "pprof: demangled function names, no mangled ones")
    d.ctl("export", "--format", "pprof", "--pid", str(pid), "--window", "1m", "--no-demangle", "-o", path)
    with open(path, "rb") as f:
        strings = pb_strings(gzip.decompress(f.read()))
    check(all(raw[k] in strings for k in raw), "pprof --no-demangle: mangled function names")

    top = d.ctl_json("top", "--window", "1m", "--pid", str(pid))
    row = [r for r in top["processes"] if r["pid"] == pid]
    check(row and row[0]["hottest"] == full["blend"], "top: hottest is %s" % (row and row[0]["hottest"]))
    top = d.ctl_json("top", "--window", "1m", "--pid", str(pid), "--no-demangle")
    row = [r for r in top["processes"] if r["pid"] == pid]
    check(row and row[0]["hottest"] == raw["blend"], "top --no-demangle: hottest is %s" % (row and row[0]["hottest"]))


def jit(d):
    if os.uname().machine not in ("x86_64", "aarch64"):
        log("no JIT code for this architecture: JIT part not run")
        return
    # "wait": the workload appends its second function to the map only
    # when told (a line on stdin), after profd has read the map once
    p = subprocess.Popen([os.path.join(WORKLOADS, "names_wl"), "jit", "4", "wait"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    if not line:
        raise Failed("names_wl jit exited %s before it started" % p.wait())
    pid = int(re.search(r'"pid": (\d+)', line).group(1))
    wait_ticks(d, 1)
    until_named(d, pid, ["jit_spin_one"])
    reads = d.ctl_json("status")["symbols"]["jit_map_reads"]
    p.stdin.write("go\n")
    p.stdin.flush()
    check("appended" in p.stdout.readline(), "the workload appended jit_spin_two to its map")
    p.wait(timeout=60)
    check(p.returncode == 0, "the JIT workload ran")
    wait_ticks(d, 2)
    stacks = until_named(d, pid, ["jit_spin_one", "jit_spin_two"])
    lc = leaf_caller(stacks)
    one = lc.get(("jit_run", "jit_spin_one"), 0)
    two = lc.get(("jit_run", "jit_spin_two"), 0)
    total = sum(c for _, c in stacks)
    unnamed = sum(c for frames, c in stacks if frames[-1] == "[jit]")
    log("%d samples: jit_spin_one %d, jit_spin_two %d, unnamed JIT %d" % (total, one, two, unnamed))
    for frames, c in sorted(stacks, key=lambda x: -x[1])[:8]:
        log("  %5d %s" % (c, ";".join(frames)))
    check(one >= 0.3 * total and two >= 0.3 * total,
          "both JIT functions named with their caller, the second one appended to the map later")
    check(unnamed <= 0.05 * total, "at most 5 %% of the samples in unnamed JIT code (%d)" % unnamed)
    st = d.ctl_json("status")["symbols"]
    check(st["jit_map_reads"] > reads and st["jit_objects"] >= 1,
          "the map was read again once it grew (status: %d JIT objects, %d map reads, %d before)"
          % (st["jit_objects"], st["jit_map_reads"], reads))


def vdso(d):
    # x86-64 and arm64 spell it differently
    fn = "__kernel_clock_gettime" if os.uname().machine in ("aarch64", "arm64") else "__vdso_clock_gettime"
    p, pid = start("names_wl", "vdso", "3")
    p.wait(timeout=60)
    wait_ticks(d, 2)
    stacks = until_named(d, pid, [fn])
    total = sum(c for _, c in stacks)
    leaf = sum(c for frames, c in stacks if frames[-1] == fn)
    log("%d samples, %d with the leaf in %s" % (total, leaf, fn))
    check(leaf >= 0.3 * total, "the vdso's %s is the leaf of >= 30 %% of the samples" % fn)
    data = d.ctl_json("export", "--format", "json", "--pid", str(pid), "--window", "1m")
    mods = {f["module"] for s in data["stacks"] for f in s["frames"] if f["name"] == fn}
    check(mods == {"[vdso]"}, "its module is [vdso] (%s)" % mods)
    bad = [f for frames, _ in stacks for f in frames if f.startswith("[vdso]+")]
    check(len(bad) <= 0.05 * total, "few unnamed vdso frames (%d)" % len(bad))


def main():
    d = Daemon(frequency=FREQ)
    try:
        cxx(d)
        jit(d)
        vdso(d)
    finally:
        d.stop()
        d.cleanup()


run(main)
