# SPDX-License-Identifier: GPL-2.0-only
"""A known Python workload for the stock-binary unwinding test: json.dumps
of a nested document and SHA-256 of the result, in a loop, for argv[1]
seconds (default 10). Prints {"pid": N, "ready": true} first."""
import hashlib
import json
import os
import sys
import time


def document(n):
    return {"id": n, "tags": ["alpha", "beta", "gamma"] * 4,
            "children": [{"k": i, "v": str(i) * 8, "f": i / 7.0, "l": list(range(i % 13))} for i in range(40)]}


def step(doc):
    text = json.dumps(doc, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    print(json.dumps({"pid": os.getpid(), "ready": True}), flush=True)
    end = time.monotonic() + seconds
    n = 0
    digest = ""
    while time.monotonic() < end:
        digest = step(document(n))
        n += 1
    print(json.dumps({"iterations": n, "last": digest}), flush=True)


main()
