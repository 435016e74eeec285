"""Cost of sanitizing hostile student HTML and markdown (issue 18: 250 KB of nested markup took 75 s).

    python benchmarks/bench_sanitize.py [--quick] [--before]

Times :func:`mlsyslab.grading.sanitize.clean_html` (nh3, with the size/depth/tag caps checked before
parsing) and the feedback exporter's markdown filter on crafted inputs of 250 KB: nested ``<div>``,
nested ``<div></b>`` (stray closes an html5 parser ignores), nested formatting, a flat table,
and 200 KB of markdown that mistune is slow on (``*_`` x N, ``[`` x N, ``[a](`` x N).
``--before`` also times bleach 6 (the sanitizer before issue 18: no caps) on the same inputs, each
in a child process cut at 300 s. Not a test: it prints and never fails on a slow machine.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

CASES = {
    "nested <div> x 50000 (250 KB)": lambda: ("<div>" * 50_000)[:250_000],
    "nested <div></b> (250 KB)": lambda: ("<div></b>" * 28_000)[:250_000],
    "nested <span><i> (250 KB)": lambda: ("<span><i>" * 28_000)[:250_000],
    "flat table, 250 KB": lambda: ("<tr><td>1</td><td>2</td></tr>" * 9_000)[:250_000],
    "one 250 KB paragraph": lambda: "<p>" + "x" * 250_000 + "</p>",
}
MARKDOWN = {
    "markdown *_ x 100000": lambda: "*_" * 100_000,
    "markdown [ x 200000": lambda: "[" * 200_000,
    "markdown [a]( x 50000": lambda: "[a](" * 50_000,
    "markdown > x 200000": lambda: ">" * 200_000,
}
BLEACH = r"""
import sys, time, bleach
tags = {"a", "b", "div", "p", "span", "table", "td", "tr", "i"}
text = sys.stdin.read()
t = time.perf_counter()
bleach.clean(text, tags=tags, attributes={"a": ["href"]}, protocols=["http", "https"], strip=True, strip_comments=True)
print(time.perf_counter() - t)
"""


def timed(fn, arg, repeat):
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn(arg)
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 repeat instead of 5")
    parser.add_argument("--before", action="store_true", help="also time bleach without caps (slow: minutes)")
    args = parser.parse_args()
    from mlsyslab.grading.sanitize import clean_html
    from mlsyslab.grading.webpage import SafeHTMLExporter

    repeat = 1 if args.quick else 5
    render = SafeHTMLExporter().environment.filters["markdown2html"]
    print(f"{'input':40} {'clean_html':>12} {'bleach, no caps':>16}")
    for name, make in CASES.items():
        text = make()
        before = ""
        if args.before:
            try:
                out = subprocess.run([sys.executable, "-c", BLEACH], input=text, capture_output=True, text=True,
                                     timeout=300)
                before = f"{float(out.stdout):.2f} s"
            except subprocess.TimeoutExpired:
                before = "> 300 s"
        print(f"{name:40} {timed(clean_html, text, repeat) * 1e3:9.1f} ms {before:>16}")
    for name, make in MARKDOWN.items():
        text = make()
        print(f"{name:40} {timed(lambda s: render({'resources': {}}, s), text, repeat) * 1e3:9.1f} ms")


if __name__ == "__main__":
    main()
