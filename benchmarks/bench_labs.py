"""Seconds to execute each lab notebook top to bottom headless (target: <= 15 s each).

    .venv/bin/python benchmarks/bench_labs.py

Runs the instructor version (with solutions: every prediction locked and revealed, every widget
built) and the student version (unanswered) of each lab in a fresh kernel with nbclient, as
nbgrader's autograde does. Kernel start-up is included.
"""

from __future__ import annotations

import os
import pathlib
import tempfile
import time

import nbformat
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parent.parent


def run(path: pathlib.Path, cwd: str) -> float:
    nb = nbformat.read(path, 4)
    t0 = time.perf_counter()
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": cwd}}).execute()
    return time.perf_counter() - t0


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MLSYSLAB_PREDICTIONS"] = os.path.join(tmp, "predictions.jsonl")
        print(f"{'lab':<22} {'instructor (s)':>15} {'student (s)':>12}")
        for source in sorted((ROOT / "autograder" / "source").glob("*/*.ipynb")):
            lab = source.stem
            print(f"{lab:<22} {run(source, tmp):15.1f} {run(ROOT / 'labs' / f'{lab}.ipynb', tmp):12.1f}")


if __name__ == "__main__":
    main()
