#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The layering rule of docs/architecture.md, checked on every #include:
a lower layer never includes a higher one, profctl never sees the daemon,
and BPF programs see only the ABI headers. Includes are folder-qualified
("store/window.h"), so a header's folder is its layer."""
import os
import re
import sys

ROOT = os.environ.get("PROFD_SOURCE_ROOT") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# What each folder may include (folders of daemon/, plus the shared roots).
SHARED = {"profd", "common"}          # include/profd (ABI), lib/common
ALLOWED = {
    "daemon/base": SHARED,
    # outbound HTTP (curl in the loop, queues, spool): below everything
    # that sends, above nothing but the loop and the logger
    "daemon/net": SHARED | {"base"},
    "daemon/store": SHARED | {"base"},
    "daemon/symbols": SHARED | {"base"},
    "daemon/unwind": SHARED | {"base", "symbols"},
    "daemon/collect": SHARED | {"base", "store"},
    # the state file: saves and refills the stores (objects by build-id)
    "daemon/state": SHARED | {"base", "store", "symbols"},
    "daemon/profile": SHARED | {"base", "store", "symbols"},
    # the registry names the stats of every lower layer (and the server's)
    "daemon/metrics": SHARED | {"base", "store", "symbols", "unwind", "collect", "profile", "api/server.h"},
    "daemon/alerts": SHARED | {"base", "net", "store", "symbols", "collect", "profile", "metrics"},
    "daemon/push": SHARED | {"base", "net", "store", "symbols", "collect", "profile", "metrics", "alerts"},
    "daemon/api": None,                # holds the daemon: anything
    "daemon": None,                    # main.c, daemon.c, config.c wire it all
    "lib/common": SHARED,
    "cli": SHARED | {"."},             # profctl: its own headers, never daemon/
}
INC = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
# generated BPF skeletons, found through the build tree
GENERATED = re.compile(r"^[a-z_]+\.skel\.h$")
# protobuf-c code generated from daemon/push/proto, found through the build tree
GENERATED_PB = re.compile(r"^[a-z_]+\.pb-c\.h$")


def layer_of(rel):
    d = os.path.dirname(rel)
    while d and d not in ALLOWED:
        d = os.path.dirname(d)
    return d if d in ALLOWED else None


def main():
    bad = []
    checked = 0
    for top in ("daemon", "lib", "cli", "bpf"):
        for dirpath, _, files in os.walk(os.path.join(ROOT, top)):
            for f in files:
                if not f.endswith((".c", ".h")):
                    continue
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, ROOT)
                with open(path, encoding="utf-8", errors="replace") as fh:
                    incs = INC.findall(fh.read())
                checked += 1
                if top == "bpf":
                    for i in incs:
                        if "/" in i and not i.startswith("profd/"):
                            bad.append("%s includes %s: BPF programs see only include/profd" % (rel, i))
                    continue
                layer = layer_of(rel)
                allowed = ALLOWED.get(layer, set())
                if allowed is None:
                    continue
                for i in incs:
                    if GENERATED_PB.match(i):
                        if layer != "daemon/push":
                            bad.append("%s includes generated %s: only push encodes protobuf" % (rel, i))
                        continue
                    if GENERATED.match(i):
                        if layer != "daemon/collect":
                            bad.append("%s includes BPF skeleton %s: only collect loads programs" % (rel, i))
                        continue
                    folder = i.split("/")[0] if "/" in i else "."
                    if folder == os.path.basename(layer) or folder in allowed or i in allowed:
                        continue
                    if folder == "." and layer == "cli":
                        continue
                    bad.append("%s (%s) includes \"%s\"" % (rel, layer, i))
    for b in bad:
        print("layering: " + b)
    print("%d files checked, %d violations" % (checked, len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
