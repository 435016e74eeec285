"""Speed of the core, measured side by side with mlsysim 0.3.0 (PyPI) in the same run.

    python benchmarks/bench_core.py [--quick]

1. ``import`` in a fresh interpreter (median of N subprocesses; in-process time of the import
   statement, and the whole ``python -c "import X"`` wall time minus an empty interpreter's).
2. One serving solve (Llama-3-8B, H100, 2048 tokens, batch 1, fp16), median per call over many:
   ours (``ServingSolver().solve``, then reading ``ttft``/``itl`` as quantities) vs mlsysim's
   equivalent ``mlsysim.solvers.ServingModel().solve`` (it returns quantities already).
3. A 100 000-point ``ServingSolver.sweep`` (1000 sequence lengths x 100 batch sizes), ours only:
   mlsysim has no vectorised sweep (a Python loop would take 100 000 x its solve time).

Targets (issue 3): import <= 0.5 s, solve <= 100 us, 100 000-point sweep <= 0.2 s.
Timings are wall-clock on a shared machine: read them with the load average printed below.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time

PY = sys.executable
TARGETS = {"import": 0.5, "solve": 100e-6, "sweep": 0.2}

IMPORT_SNIPPET = "import time; t = time.perf_counter(); import {mod}; print(time.perf_counter() - t)"


def has_mlsysim() -> bool:
    from importlib.util import find_spec

    return find_spec("mlsysim") is not None


def import_times(module: str, n: int) -> tuple[float, float]:
    """Median (in-process import seconds, process wall seconds minus an empty interpreter's)."""
    inproc, wall, empty = [], [], []
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run([PY, "-c", "pass"], check=True, env=env)
        empty.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        out = subprocess.run([PY, "-c", IMPORT_SNIPPET.format(mod=module)], check=True, capture_output=True,
                             text=True, env=env)
        wall.append(time.perf_counter() - t0)
        inproc.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(inproc), statistics.median(wall) - statistics.median(empty)


def per_call(fn, calls: int, repeats: int) -> float:
    """Median over ``repeats`` of (time of ``calls`` calls) / calls."""
    fn()  # warm up (first use builds the Pint registry, caches...)
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - t0) / calls)
    return statistics.median(samples)


def ours_solve():
    import mlsyslab as ml

    solver = ml.ServingSolver()
    model, hw = ml.Models.Llama3_8B, ml.Hardware.Cloud.H100

    def solve_only():
        return solver.solve(model=model, hardware=hw, seq_len=2048, batch_size=1, precision="fp16")

    def solve_and_read():
        r = solver.solve(model=model, hardware=hw, seq_len=2048, batch_size=1, precision="fp16")
        return r["ttft"], r["itl"]

    def solve_by_name():
        return solver.solve(model="Llama3_8B", hardware="H100", seq_len=2048)

    return solve_only, solve_and_read, solve_by_name


def mlsysim_solve():
    import mlsysim
    from mlsysim.solvers import ServingModel

    model, hw = mlsysim.Models.Language.Llama3_8B, mlsysim.Hardware.Cloud.H100
    solver = ServingModel()

    def solve():
        r = solver.solve(model=model, hardware=hw, seq_len=2048, batch_size=1, precision="fp16")
        return r.ttft, r.itl

    return solve


def ours_sweep(repeats: int) -> tuple[float, tuple]:
    import numpy as np

    import mlsyslab as ml

    solver = ml.ServingSolver()
    S, B = np.arange(1, 1001) * 32, np.arange(1, 101)

    def sweep():
        sw = solver.sweep("Llama3_8B", "H100", seq_len=S, batch_size=B)
        return sw.raw("ttft"), sw.raw("itl"), sw.feasible

    shape = sweep()[0].shape
    return per_call(sweep, 1, repeats), shape


def cold_first_solve(n: int) -> float:
    """Fresh process: import mlsyslab, solve once, print r.ttft (builds the Pint registry)."""
    code = ("import time; t = time.perf_counter(); import mlsyslab as ml; "
            "r = ml.ServingSolver().solve('Llama3_8B', 'H100', 2048); s = f'{r.ttft:~.2f}'; "
            "print(time.perf_counter() - t)")
    times = [float(subprocess.run([PY, "-c", code], check=True, capture_output=True, text=True).stdout.split()[-1])
             for _ in range(n)]
    return statistics.median(times)


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return (f"{cpu}; {os.cpu_count()} logical CPUs; {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}; load average {load}")


def fmt_time(seconds: float) -> str:
    if seconds != seconds:  # nan
        return "n/a"
    if seconds >= 0.1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} us"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions (a rough look)")
    args = ap.parse_args(argv)
    n_import = 3 if args.quick else 7
    import numpy as np  # noqa: F401  (loaded before timing anything in-process)

    import pint
    import mlsyslab

    other = has_mlsysim()
    print(f"machine: {machine()}")
    print(f"versions: mlsyslab {mlsyslab.__version__}, pint {pint.__version__}"
          + (f", mlsysim {__import__('importlib.metadata').metadata.version('mlsysim')}" if other else
             ", mlsysim not installed (pip install -e '.[bench]')"))
    print("measuring...", flush=True)

    ours_imp, ours_imp_wall = import_times("mlsyslab", n_import)
    theirs_imp, theirs_imp_wall = import_times("mlsysim", n_import) if other else (float("nan"),) * 2

    solve_only, solve_read, solve_name = ours_solve()
    calls, reps = (300, 5) if args.quick else (2000, 9)
    t_solve = per_call(solve_only, calls, reps)
    t_solve_read = per_call(solve_read, calls, reps)
    t_solve_name = per_call(solve_name, calls, reps)
    t_theirs = per_call(mlsysim_solve(), calls // 10, reps) if other else float("nan")

    t_sweep, shape = ours_sweep(3 if args.quick else 9)
    t_cold = cold_first_solve(3 if args.quick else 5)

    rows = [
        ("import (in-process, median)", ours_imp, theirs_imp, TARGETS["import"]),
        ("import (python -c wall - empty python)", ours_imp_wall, theirs_imp_wall, TARGETS["import"]),
        ("solve, spec objects", t_solve, float("nan"), TARGETS["solve"]),
        ("solve + read ttft, itl as quantities", t_solve_read, t_theirs, TARGETS["solve"]),
        ("solve by name ('Llama3_8B', 'H100')", t_solve_name, float("nan"), TARGETS["solve"]),
        (f"sweep {shape[0]}x{shape[1]} = {shape[0] * shape[1]:,} points", t_sweep, float("nan"), TARGETS["sweep"]),
        ("cold: import + first solve + print ttft", t_cold, float("nan"), None),
    ]
    w = max(len(r[0]) for r in rows)
    print(f"\n{'measure':<{w}}  {'mlsyslab':>10}  {'mlsysim 0.3.0':>13}  {'target':>8}  {'speed-up':>8}  ok")
    print("-" * (w + 54))
    for name, ours, theirs, target in rows:
        ok = "" if target is None else ("yes" if ours <= target else "NO")
        speedup = f"{theirs / ours:.0f}x" if theirs == theirs else ""
        print(f"{name:<{w}}  {fmt_time(ours):>10}  {fmt_time(theirs):>13}  "
              f"{fmt_time(target) if target else '':>8}  {speedup:>8}  {ok}")
    if other:
        print(f"\nmlsysim has no vectorised sweep: {shape[0] * shape[1]:,} of its solves would take "
              f"~{shape[0] * shape[1] * t_theirs:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
