"""Time to autograde N submissions of one lab with ``jobs`` sandboxes at once (default: 100 of lab 2, N = 1 and 2).

    .venv/bin/python benchmarks/bench_autograde.py [--n 100] [--lab lab2_kv_cache] [--jobs 1 2]

For each ``--jobs`` value: builds a throw-away course (our nbgrader_config.py, the lab's source and
the keys), releases, writes N submissions (a third complete, a third blank, a third with the usual
mistakes) and times ``mlsyslab.grading.course.autograde`` (what ``mlsyslab grade autograde --jobs``
runs: per submission nbgrader's autograde - sanitize, execute in a fresh kernel inside a bwrap
sandbox, trusted re-score, gradebook - and generate_feedback, in ``jobs`` worker processes; then
grades.csv and ``nbgrader export``). Prints seconds.
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


def one_run(n: int, lab: str, jobs: int) -> tuple[float, int]:
    from support_grading import LABS, with_answers

    from mlsyslab.grading import course

    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        home = tmp / "autograder"
        (home / "source").mkdir(parents=True)
        shutil.copy(ROOT / "autograder" / "nbgrader_config.py", home)
        shutil.copytree(ROOT / "autograder" / "source" / lab, home / "source" / lab)
        shutil.copytree(ROOT / "autograder" / "keys", home / "keys")
        course.release(course=home, labs_dir=None)
        source = nbformat.read(home / "source" / lab / f"{lab}.ipynb", 4)
        release = nbformat.read(home / "release" / lab / f"{lab}.ipynb", 4)
        kinds = [source, release, with_answers(release, LABS[lab]["wrong"])]
        for i in range(n):
            dest = tmp / "submissions" / f"student{i:03d}"
            dest.mkdir(parents=True)
            nbformat.write(kinds[i % 3], dest / f"{lab}.ipynb")
        t0 = time.perf_counter()
        course.autograde(tmp / "submissions", tmp / "out", course=home, jobs=jobs)
        elapsed = time.perf_counter() - t0
        graded = len(list((home / "feedback").glob(f"*/{lab}/{lab}.html")))
    return elapsed, graded


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--lab", default="lab2_kv_cache")
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    os.environ["PATH"] = str(pathlib.Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]
    for jobs in args.jobs:
        elapsed, graded = one_run(args.n, args.lab, jobs)
        print(f"autograde + feedback, {graded}/{args.n} submissions of {args.lab}, --jobs {jobs}, "
              f"{os.cpu_count()} cores: {elapsed:.1f} s ({elapsed / max(graded, 1):.2f} s per submission)")


if __name__ == "__main__":
    main()
