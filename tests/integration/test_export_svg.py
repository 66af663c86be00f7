#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The SVG flame graph of a real window (cpu_shares: work_alpha/beta/gamma),
opened in headless Chromium and driven through the DevTools protocol:

- it parses as XML, and the page draws frame rectangles (a screenshot is
  kept as a test artifact: its path is printed);
- hovering work_alpha's frame shows its name, samples and share, and the
  samples of all work_alpha frames add up to folded's count for it;
- clicking the frame zooms it to the full width and shows "Reset zoom";
  clicking that restores the original widths;
- typing in the search box highlights the matches and shows the matched
  share, equal to folded's share of stacks with a work_ function;
- --icicle puts the root at the top.
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET

from cdp import Browser, find_chromium
from profdtest import BUILD, Daemon, WORKLOADS, check, log, parse_folded, run, skip, wait_ticks

FREQ = 99
SVG_NS = "{http://www.w3.org/2000/svg}"


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % int((t % 1) * 1000)


def main():
    if not find_chromium():
        skip("chromium (Debian chromium) is needed to drive the SVG")
    d = Daemon(frequency=FREQ)
    tmp = tempfile.mkdtemp(prefix="profd-svg-")
    browser = None
    artifacts = os.path.join(BUILD, "meson-logs")
    os.makedirs(artifacts, exist_ok=True)
    try:
        t0 = time.time() - 1
        p = subprocess.Popen([os.path.join(WORKLOADS, "cpu_shares"), "--duration", "6"],
                             stdout=subprocess.PIPE, text=True)
        pid = json.loads(p.stdout.readline())["pid"]
        p.communicate(timeout=60)
        wait_ticks(d, 3)
        win = ["--from", rfc3339(t0), "--to", rfc3339(time.time() - 1), "--pid", str(pid)]
        svg = os.path.join(tmp, "flame.svg")
        fol = os.path.join(tmp, "flame.folded")
        d.ctl("export", "--format", "svg", *win, "-o", svg)
        d.ctl("export", "--format", "folded", *win, "-o", fol)
        with open(fol) as f:
            folded = parse_folded(f.read())
        total = sum(c for _, c in folded)
        alpha = sum(c for fr, c in folded if "work_alpha" in fr)
        work = sum(c for fr, c in folded if any(x.startswith("work_") for x in fr))
        log("folded: %d samples, work_alpha %d, work_* %d" % (total, alpha, work))

        root = ET.parse(svg).getroot()
        boxes = root.findall(".//%sg[@id='frames']/%sg" % (SVG_NS, SVG_NS))
        check(len(boxes) > 5, "the SVG parses as XML and has %d frame boxes" % len(boxes))
        check(int(boxes[0].get("data-v")) == total, "the root box holds the folded total %d" % total)

        browser = Browser("file://" + svg, width=1200, height=700)
        check(browser.wait_for("document.readyState === 'complete' && typeof search === 'function'"),
              "Chromium loaded the SVG and its script")
        n = browser.eval("document.querySelectorAll('#frames rect').length")
        check(n == len(boxes), "the page has %d frame rectangles" % n)
        shot = os.path.join(artifacts, "export_svg.png")
        browser.screenshot(shot)
        log("screenshot: %s" % shot)
        check(os.path.getsize(shot) > 5000, "screenshot written (%d bytes)" % os.path.getsize(shot))
        # the frames are really painted: the element at each big box's centre is its rect
        painted = browser.eval("""(function () {
            var ok = 0, all = document.querySelectorAll('#frames g');
            for (var i = 0; i < all.length; i++) {
              var r = all[i].childNodes[1].getBoundingClientRect();
              if (r.width < 20) continue;
              var e = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
              if (e && e.parentNode === all[i]) ok++;
            }
            return ok; })()""")
        check(painted >= 3, "%d frame rectangles are painted where they are" % painted)

        # hover
        info = browser.eval("""(function () {
            var best = null, sum = 0, all = document.querySelectorAll('#frames g');
            for (var i = 0; i < all.length; i++) {
              if (all[i].firstChild.textContent !== 'work_alpha') continue;
              sum += +all[i].getAttribute('data-v');
              if (!best || +all[i].getAttribute('data-v') > +best.getAttribute('data-v')) best = all[i];
            }
            best.id = 'probe';
            var r = best.childNodes[1].getBoundingClientRect();
            return {x: r.left + r.width / 2, y: r.top + r.height / 2, v: +best.getAttribute('data-v'),
                    w: r.width, sum: sum}; })()""")
        check(info["sum"] == alpha, "work_alpha frames hold %d samples = folded's %d" % (info["sum"], alpha))
        browser.mouse("mouseMoved", info["x"], info["y"])
        details = browser.eval("document.getElementById('details').textContent")
        want = "work_alpha (%s samples, %.2f%%)" % ("{:,}".format(info["v"]), 100.0 * info["v"] / total)
        check(details == want, "hover shows '%s' (want '%s')" % (details, want))

        # click to zoom, reset
        browser.mouse("mousePressed", info["x"], info["y"])
        browser.mouse("mouseReleased", info["x"], info["y"])
        zw = browser.eval("document.getElementById('probe').childNodes[1].getBoundingClientRect().width")
        hidden = browser.eval("document.getElementById('unzoom').classList.contains('hide')")
        check(abs(zw - 1180) < 1.5 and not hidden,
              "click zooms work_alpha to the full width (%.1f px) and shows Reset zoom" % zw)
        browser.screenshot(os.path.join(artifacts, "export_svg_zoomed.png"))
        b = browser.eval("(function () { var r = document.getElementById('unzoom').getBoundingClientRect();"
                         " return {x: r.left + r.width / 2, y: r.top + r.height / 2}; })()")
        browser.mouse("mousePressed", b["x"], b["y"])
        browser.mouse("mouseReleased", b["x"], b["y"])
        w2 = browser.eval("document.getElementById('probe').childNodes[1].getBoundingClientRect().width")
        check(abs(w2 - info["w"]) < 0.5, "Reset zoom restores the width (%.1f px, was %.1f)" % (w2, info["w"]))

        # search
        browser.eval("document.getElementById('search').focus()")
        browser.call("Input.insertText", text="work_")
        matched = browser.eval("document.getElementById('matched').textContent")
        want = "Matched: %.2f%% (%s samples)" % (100.0 * work / total, "{:,}".format(work))
        check(matched == want, "search 'work_' shows '%s' (want '%s')" % (matched, want))
        pink = browser.eval("document.querySelectorAll('#frames rect[fill=\"rgb(230,0,230)\"]').length")
        check(pink >= 3, "%d matching frames highlighted" % pink)
        browser.screenshot(os.path.join(artifacts, "export_svg_search.png"))
        browser.stop()
        browser = None

        # icicle
        ice = os.path.join(tmp, "icicle.svg")
        d.ctl("export", "--format", "svg", "--icicle", *win, "-o", ice)
        boxes = ET.parse(ice).getroot().findall(".//%sg[@id='frames']/%sg" % (SVG_NS, SVG_NS))
        ys = [float(g.find(SVG_NS + "rect").get("y")) for g in boxes]
        check(ys[0] == min(ys), "--icicle: the root is the top row")
    finally:
        if browser:
            browser.stop()
        d.stop()
        d.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


run(main)
