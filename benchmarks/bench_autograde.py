"""Time to autograde N submissions of one lab with the real nbgrader (default: 100 of lab 2).

    .venv/bin/python benchmarks/bench_autograde.py [--n 100] [--lab lab2_kv_cache]

Builds a throw-away course (our nbgrader_config.py and sources), releases, writes N submissions
(a third complete, a third blank, a third with the usual mistakes), then times one
``nbgrader autograde`` over all of them (sanitize, execute in a fresh kernel, trusted re-score,
save to the gradebook) and, separately, ``nbgrader generate_feedback``. Prints seconds.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import shutil
import sys
import tempfile
import time

import nbformat

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--lab", default="lab2_kv_cache")
    args = ap.parse_args()
    os.environ["PATH"] = str(pathlib.Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]

    from support_grading import LABS, with_answers

    from mlsyslab.grading import course

    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        home = tmp / "autograder"
        (home / "source").mkdir(parents=True)
        shutil.copy(ROOT / "autograder" / "nbgrader_config.py", home)
        shutil.copytree(ROOT / "autograder" / "source" / args.lab, home / "source" / args.lab)
        shutil.copytree(ROOT / "autograder" / "keys", home / "keys")
        course.release(course=home, labs_dir=None)
        source = nbformat.read(home / "source" / args.lab / f"{args.lab}.ipynb", 4)
        release = nbformat.read(home / "release" / args.lab / f"{args.lab}.ipynb", 4)
        kinds = [source, release, with_answers(release, LABS[args.lab]["wrong"])]
        for i in range(args.n):
            dest = home / "submitted" / f"student{i:03d}" / args.lab
            dest.mkdir(parents=True)
            nbformat.write(kinds[i % 3], dest / f"{args.lab}.ipynb")
        t0 = time.perf_counter()
        course.nbgrader("autograde", args.lab, course=home, timeout=7200)
        t1 = time.perf_counter()
        course.nbgrader("generate_feedback", args.lab, course=home, timeout=7200)
        t2 = time.perf_counter()
        graded = len(list((home / "autograded").glob(f"*/{args.lab}/{args.lab}.ipynb")))
    cores = os.cpu_count()
    print(f"autograde {graded}/{args.n} submissions of {args.lab} on {cores} cores: {t1 - t0:.1f} s "
          f"({(t1 - t0) / max(graded, 1):.2f} s per submission)")
    print(f"generate_feedback: {t2 - t1:.1f} s; total {t2 - t0:.1f} s")


if __name__ == "__main__":
    main()
