"""The LLM serving tour of the seed's tutorial, done right.

Same API as the seed (``ServingSolver().solve(model=, hardware=, seq_len=, batch_size=,
precision=)``), but: capacities printed in the unit the silicon is counted in (GiB) next to
their GB conversion; a batch sweep that actually reaches the memory wall; decode latency in
milliseconds; weight-only int4 with an fp16 KV-cache; ideal roofline next to calibrated.

Run:  python examples/llm_serving.py
"""

from __future__ import annotations

import math

import numpy as np

import mlsyslab as ml

MODEL = ml.Models.Llama3_8B
H100 = ml.Hardware.Cloud.H100
solver = ml.ServingSolver()  # calibrated (default)
ideal = ml.ServingSolver(efficiency="ideal")  # pure roofline: what you compute by hand


def gb(q) -> str:
    return f"{q.to('GB').magnitude:.2f} GB"


def capacity(hw) -> str:
    """'80 GiB = 85.9 GB': the datasheet unit first, then the decimal conversion."""
    cap = hw.memory.capacity
    return f"{cap:~.0f} = {cap.to('GB').magnitude:.1f} GB"


def section(title: str) -> None:
    print(f"\n── {title} " + "─" * max(0, 72 - len(title)))


section("Model and device")
print(f"{MODEL.name}: {MODEL.parameters.to('Gparam').magnitude:.2f} G parameters, {MODEL.layers} layers, "
      f"{MODEL.heads} query heads, {MODEL.kv_heads} KV heads x {MODEL.head_dim} (GQA)")
print(f"{H100.name}: {capacity(H100)} @ {H100.memory.bandwidth.to('TB/s').magnitude:.2f} TB/s, "
      f"{H100.compute.peak('fp16').to('TFLOPs/s').magnitude:.1f} TFLOP/s dense fp16")

section("One request: 2048 tokens of context, batch 1, fp16")
r = solver.solve(model=MODEL, hardware=H100, seq_len=2048, batch_size=1, precision="fp16")
i = ideal.solve(model=MODEL, hardware=H100, seq_len=2048, batch_size=1, precision="fp16")
print(f"TTFT  {r.ttft.to('ms').magnitude:8.2f} ms   ({r.prefill_bottleneck}-bound; ideal roofline "
      f"{i.ttft.to('ms').magnitude:.2f} ms)")
print(f"ITL   {r.itl.to('ms').magnitude:8.2f} ms   ({r.decode_bottleneck}-bound; ideal roofline "
      f"{i.itl.to('ms').magnitude:.2f} ms = 16.3 GB / 3.35 TB/s)")
print(f"Weights {gb(r.model_weights_size)} + KV-cache {r.kv_cache_size.to('GB').magnitude:.3f} GB "
      f"= {gb(r.total_memory_required)}, {r.memory_utilization:.1%} of {capacity(H100)}")

section("Batch sweep at 8192 tokens: where is the memory wall?")
batches = np.arange(1, 257)
sw = solver.sweep(MODEL, H100, seq_len=8192, batch_size=batches)
first_oom = int(batches[~sw.feasible][0])
per_seq = 2 * MODEL.layers * MODEL.kv_heads * MODEL.head_dim * 8192 * 2  # bytes of KV per sequence
fit = math.floor((H100.memory_bytes - r.weights_bytes) / per_seq)
print(f"KV per sequence = 2 x {MODEL.layers} x {MODEL.kv_heads} x {MODEL.head_dim} x 8192 x 2 B "
      f"= {per_seq / 1e9:.3f} GB; by hand floor(({H100.memory_bytes / 1e9:.2f} - "
      f"{r.weights_bytes / 1e9:.2f}) GB / {per_seq / 1e9:.3f} GB) = {fit} sequences fit")
print(f"{'Batch':>6} {'KV-cache':>10} {'Total':>10} {'Util':>7} {'ITL':>9} {'tokens/s':>9}  Fits")
for b in sorted({1, 8, 16, 32, first_oom - 1, first_oom, 128, 256}):
    k = b - 1
    ok = bool(sw.feasible[k])
    print(f"{b:>6} {sw.raw('kv')[k] / 1e9:>7.2f} GB {sw.raw('total')[k] / 1e9:>7.2f} GB "
          f"{sw.memory_utilization[k]:>7.1%} {sw.raw('itl')[k] * 1e3:>6.2f} ms "
          f"{b / sw.raw('itl')[k]:>9,.0f}  {'yes' if ok else 'OOM'}")
print(f"First batch that does not fit, found by the sweep: {first_oom} "
      f"({'agrees with' if first_oom == fit + 1 else 'DISAGREES with'} the hand formula)")
try:
    solver.solve(MODEL, H100, seq_len=8192, batch_size=first_oom, strict=True)
except ml.OOMError as err:
    print(f"strict=True raises OOMError: {err}")

section("Context sweep at batch 8: long contexts hit the wall too")
ctx = np.array([2048, 8192, 32768, 65536, 131072])
cs = solver.sweep(MODEL, H100, seq_len=ctx, batch_size=8)
print(f"{'Context':>8} {'KV-cache':>10} {'Total':>10} {'Util':>7} {'TTFT':>10}  Fits")
for k, s in enumerate(ctx):
    print(f"{s:>8} {cs.raw('kv')[k] / 1e9:>7.2f} GB {cs.raw('total')[k] / 1e9:>7.2f} GB "
          f"{cs.memory_utilization[k]:>7.1%} {cs.raw('ttft')[k]:>8.2f} s  {'yes' if cs.feasible[k] else 'OOM'}")

section("Precision at 8192 tokens, batch 8 (int4 = weight-only, fp16 KV)")
print(f"{'W prec':>8} {'KV':>5} {'Math at':>8} {'TTFT':>10} {'ITL':>9} {'Weights':>9} {'KV-cache':>10} {'Util':>7}")
for prec, kv in (("fp16", "fp16"), ("fp8", "fp8"), ("int8", "int8"), ("int4", "fp16")):
    p = solver.solve(MODEL, H100, seq_len=8192, batch_size=8, precision=prec, kv_precision=kv)
    print(f"{prec:>8} {kv:>5} {p.compute_precision:>8} {p.ttft.to('ms').magnitude:>7.1f} ms "
          f"{p.itl.to('ms').magnitude:>6.2f} ms {gb(p.model_weights_size):>9} "
          f"{p.kv_cache_size.to('GB').magnitude:>7.3f} GB {p.memory_utilization:>7.1%}")
print("H100 has no int4 tensor path: int4 weights are dequantised and multiplied at the fp16 rate,\n"
      "so prefill is no faster than fp16, but decode reads 4x fewer weight bytes.")

section("Hardware at 4096 tokens, batch 4, fp16")
h100_itl = solver.solve(MODEL, H100, 4096, 4).itl_s
h100_itl_ideal = ideal.solve(MODEL, H100, 4096, 4).itl_s
print(f"{'Device':>8} {'Memory':>22} {'BW':>10} {'TTFT':>9} {'ITL':>9} {'ITL/H100':>9} "
      f"{'ideal':>6} {'BW ratio':>9} {'Util':>6}")
for name in ("A100", "H100", "H200", "GH200", "B200", "MI300X"):
    hw = ml.Hardware.get(name)
    c = solver.solve(MODEL, hw, 4096, 4)
    d = ideal.solve(MODEL, hw, 4096, 4)
    bw = hw.memory.bandwidth.to("TB/s").magnitude
    print(f"{name:>8} {capacity(hw):>22} {bw:>5.2f} TB/s {c.ttft.to('ms').magnitude:>6.1f} ms "
          f"{c.itl.to('ms').magnitude:>6.2f} ms {c.itl_s / h100_itl:>9.3f} {d.itl_s / h100_itl_ideal:>6.3f} "
          f"{3.35 / bw:>9.3f} {c.memory_utilization:>6.1%}")
print("Decode is memory-bound: the ideal ITL ratio equals the bandwidth ratio; calibrated adds a\n"
      "fixed per-layer overhead that does not shrink with bandwidth.")

section("Llama-3-70B on H100s: tensor parallelism moves the wall")
big = ml.Models.Llama3_70B
print(f"{'TP':>3} {'Weights/GPU':>12} {'KV/GPU':>9} {'Util':>7} {'TTFT':>9} {'ITL':>9} {'comm/token':>11}  Fits")
for tp in (1, 2, 4, 8):
    t = solver.solve(big, H100, seq_len=4096, batch_size=16, tensor_parallel=tp)
    print(f"{tp:>3} {gb(t.model_weights_size):>12} {t.kv_cache_size.to('GB').magnitude:>6.2f} GB "
          f"{t.memory_utilization:>7.1%} {t.ttft.to('ms').magnitude:>6.0f} ms {t.itl.to('ms').magnitude:>6.2f} ms "
          f"{t.decode_comm_time.to('ms').magnitude:>8.3f} ms  {'yes' if t.feasible else 'OOM'}")
