"""Python-side latency of the widgets: one input change -> solver -> marks updated.

    python benchmarks/bench_widgets.py [--quick]

For each component, an input trait is set to alternating values (so every change really
re-solves) and the time until the setter returns is measured: the observer has solved, built
the arrays and assigned them to the bqplot marks. Widget messages go through a comm that
JSON-serialises them the way a kernel would (buffers for numpy arrays), so serialisation of
the new state is included; only the socket and the browser's drawing are not.

Target (issue 5): <= 30 ms per change. Timings are wall-clock on a shared machine: read them
with the load average printed below.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import warnings

TARGET_S = 0.030


def install_serialising_comm():
    """Make ipywidgets create comms that serialise every message like a kernel session does."""
    import comm
    from comm.base_comm import BaseComm

    class SerialisingComm(BaseComm):
        sent_bytes = 0

        def publish_msg(self, msg_type, data=None, metadata=None, buffers=None, **keys):
            payload = json.dumps({"data": data, "metadata": metadata or {}}, default=str)
            SerialisingComm.sent_bytes += len(payload) + sum(len(memoryview(b).cast("B")) for b in buffers or ())

    comm.create_comm = lambda *args, **kwargs: SerialisingComm(*args, **kwargs)
    return SerialisingComm


def measure(component, trait, values, n):
    times = []
    for i in range(n):
        value = values[i % len(values)]
        t0 = time.perf_counter()
        setattr(component, trait, value)
        times.append(time.perf_counter() - t0)
    return times


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = ap.parse_args(argv)
    n = 20 if args.quick else 100

    comm_cls = install_serialising_comm()
    import mlsyslab.widgets as mw  # after the comm is installed

    warnings.simplefilter("error")  # a warning during use would be a bug
    cases = [
        ("ServingExplorer", lambda: mw.ServingExplorer(batch_size=8), "batch_size", [9, 8]),
        ("ServingExplorer", lambda: mw.ServingExplorer(), "seq_len", [8192, 4096]),
        ("ServingExplorer", lambda: mw.ServingExplorer(), "hardware", ["A100", "H100"]),
        ("MemoryWall", lambda: mw.MemoryWall(), "seq_len", [8192, 4096]),
        ("ContextScaling", lambda: mw.ContextScaling(), "batch_size", [2, 1]),
        ("RooflinePlot", lambda: mw.RooflinePlot(hardware=["H100", "A100", "B200"],
                                                  workloads=["Llama3_8B", "ResNet50", "BERT_Base"]),
         "batch_size", [8, 1]),
        ("HardwareComparison", lambda: mw.HardwareComparison(precisions=["fp16", "fp8"]), "seq_len", [8192, 4096]),
    ]
    print(f"python {sys.version.split()[0]}, load average {os.getloadavg()[0]:.2f} "
          f"({os.cpu_count()} CPUs), {n} changes per case, target <= {TARGET_S * 1e3:.0f} ms")
    print(f"{'component':20s} {'input':12s} {'median':>9s} {'p95':>9s} {'max':>9s}  verdict")
    worst = 0.0
    for name, make, trait, values in cases:
        c = make()
        measure(c, trait, values, 4)  # warm-up
        comm_cls.sent_bytes = 0
        ts = sorted(measure(c, trait, values, n))
        med, p95 = statistics.median(ts), ts[int(0.95 * (len(ts) - 1))]
        worst = max(worst, med)
        print(f"{name:20s} {trait:12s} {med * 1e3:7.2f} ms {p95 * 1e3:7.2f} ms {ts[-1] * 1e3:7.2f} ms  "
              f"{'ok' if p95 <= TARGET_S else 'SLOW'}  ({comm_cls.sent_bytes / n / 1e3:.1f} kB sent per change)")
    print(f"worst median: {worst * 1e3:.2f} ms ({'meets' if worst <= TARGET_S else 'misses'} the 30 ms target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
