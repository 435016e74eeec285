"""What oracle-free grading costs: N submissions of lab 2 at ``--jobs 2``, with and without it, interleaved.

    .venv/bin/python benchmarks/bench_oracle_free.py [--n 20] [--rounds 2] [--lab lab2_kv_cache]

"with": the pipeline as shipped (the kernel imports the package overlay without solvers,
:mod:`mlsyslab.grading.overlay`; the hidden calls run as cells after the student's last one).
"without": the same code with both switched off in the grading workers (a ``sitecustomize`` on
their ``PYTHONPATH`` makes ``overlay.binds`` return no bind and the keys carry no hidden call), i.e.
one sandboxed pass over the real package, as before. Runs alternate (without, with, without,
with ...) so a machine whose load changes affects both alike. Prints seconds per run and the ratio
of the medians.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

OFF = '''
import dataclasses
import mlsyslab.grading.keys as keys
import mlsyslab.grading.overlay as overlay
overlay.binds = lambda *a, **k: []
_get = keys.get
keys.get = lambda *a, **k: (lambda key: key and dataclasses.replace(key, hidden=()))(_get(*a, **k))
'''


def main() -> None:
    from bench_autograde import one_run

    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--lab", default="lab2_kv_cache")
    args = ap.parse_args()
    os.environ["PATH"] = str(pathlib.Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]
    off_dir = tempfile.mkdtemp(prefix="bench-oracle-off-")
    pathlib.Path(off_dir, "sitecustomize.py").write_text(OFF, encoding="utf-8")
    times = {"without": [], "with": []}
    for _ in range(args.rounds):
        for mode in ("without", "with"):
            saved = os.environ.get("PYTHONPATH")
            if mode == "without":
                os.environ["PYTHONPATH"] = off_dir + (os.pathsep + saved if saved else "")
            try:
                elapsed, graded = one_run(args.n, args.lab, 2)
            finally:
                if saved is None:
                    os.environ.pop("PYTHONPATH", None)
                else:
                    os.environ["PYTHONPATH"] = saved
            times[mode].append(elapsed)
            print(f"{mode:>7} oracle-free grading: {graded}/{args.n} submissions of {args.lab}, --jobs 2: "
                  f"{elapsed:.1f} s", flush=True)
    ratio = statistics.median(times["with"]) / statistics.median(times["without"])
    print(f"median with / without: {ratio:.3f} ({os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
