"""Cost of the unit registry on a cold and a warm start, each in a fresh process.

    python benchmarks/bench_units.py [--quick]

For each of N samples, a new interpreter with a new empty ``XDG_CACHE_HOME`` ("cold", what a
Binder launch or a new hub user gets) and then a second one re-using that folder ("warm", what a
developer's machine has) measures:

* ``import mlsyslab`` (must not build the registry: it stays off the import path);
* the first ``Q_(1, "GB").to("B")`` after it (builds the registry from ``units_data/mlsyslab_en.txt``);
* ``import mlsyslab`` + first solve + format ``ttft`` (the cold path a student's first cell takes).

The registry is built with Pint's disk cache off, so cold and warm should cost the same; this
script shows it with numbers. Not a test: it prints and never fails on a slow machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

SNIPPET = r"""
import json, time
t0 = time.perf_counter()
import mlsyslab as ml
t1 = time.perf_counter()
from mlsyslab.units import Q_
Q_(1, "GB").to("B")
t2 = time.perf_counter()
r = ml.ServingSolver().solve("Llama3_8B", "H100", 2048)
text = f"{r.ttft.to('ms'):~.1f}"
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "registry": t2 - t1, "first_solve_total": t3 - t0}))
"""


def sample(cache: str) -> dict:
    env = {**os.environ, "XDG_CACHE_HOME": cache, "PYTHONDONTWRITEBYTECODE": "1"}
    out = subprocess.run([sys.executable, "-c", SNIPPET], check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 samples instead of 7")
    n = 3 if parser.parse_args().quick else 7
    cold, warm = [], []
    for _ in range(n):
        with tempfile.TemporaryDirectory() as cache:
            cold.append(sample(cache))
            warm.append(sample(cache))
    print(f"{'measure':<34}{'cold cache':>14}{'warm cache':>14}   (median of {n} fresh processes)")
    for key, label in (("import", "import mlsyslab"), ("registry", "first Q_() (builds the registry)"),
                       ("first_solve_total", "import + first solve + format")):
        c = statistics.median(s[key] for s in cold)
        w = statistics.median(s[key] for s in warm)
        print(f"{label:<34}{c * 1e3:>11.1f} ms{w * 1e3:>11.1f} ms")
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
