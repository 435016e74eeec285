"""ServingSolver.sweep: the vectorised path agrees with per-point solve, has the right shapes,
and its feasibility mask sits exactly on the memory wall computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mlsyslab import ServingSolver, ServingSweep, ValidationError

GiB = 2 ** 30


@pytest.fixture(scope="module", params=["ideal", "calibrated"])
def solver(request):
    return ServingSolver(efficiency=request.param)


@pytest.mark.parametrize("model, hw, precision, tp", [
    ("Llama3_8B", "H100", "fp16", 1),
    ("Llama3_70B", "H100", "fp8", 4),
    ("Mixtral_8x7B", "MI300X", "int4", 1),
])
def test_grid_matches_per_point_solve_exactly(solver, model, hw, precision, tp):
    S = np.array([1, 128, 2048, 8192, 32768])
    B = np.array([1, 3, 16, 200])
    sw = solver.sweep(model, hw, seq_len=S, batch_size=B, precision=precision, tensor_parallel=tp)
    assert isinstance(sw, ServingSweep)
    assert sw.shape == (5, 4)
    for i, s in enumerate(S):
        for j, b in enumerate(B):
            r = solver.solve(model, hw, int(s), int(b), precision, tensor_parallel=tp)
            for f in sw.fields():
                assert sw[f][i, j] == r[f], f  # same quantity, same unit, same float
            assert bool(sw.feasible[i, j]) is r.feasible
            assert sw.memory_utilization[i, j] == r.memory_utilization
            assert sw.decode_throughput[i, j].magnitude == pytest.approx(r.decode_throughput.magnitude, rel=1e-15)


def test_shapes_grid_broadcast_and_scalars():
    solver = ServingSolver(efficiency="ideal")
    S, B = [256, 512, 1024], [1, 2]
    assert solver.sweep("Llama3_8B", "H100", S, B).shape == (3, 2)  # grid=True: outer product
    assert solver.sweep("Llama3_8B", "H100", S, B, grid=True).ttft.shape == (3, 2)
    assert solver.sweep("Llama3_8B", "H100", S, [4, 4, 4], grid=False).shape == (3,)  # elementwise
    assert solver.sweep("Llama3_8B", "H100", S, 8).shape == (3,)  # scalar batch broadcasts
    assert solver.sweep("Llama3_8B", "H100", 512, B).shape == (2,)
    col = solver.sweep("Llama3_8B", "H100", np.array(S)[:, None], np.array(B)[None, :], grid=False)
    assert col.shape == (3, 2)
    # Weights do not depend on S or B, but are broadcast to the grid shape.
    assert col.model_weights_size.shape == (3, 2)
    assert np.all(col.raw("weights") == col.raw("weights")[0, 0])


def test_feasibility_mask_is_the_hand_memory_wall():
    """Llama-3-8B fp16 on an H100 (80 GiB): batch_max(S) = floor((80 GiB - 2 x 8.03e9 B) / (131 072 B x S))."""
    solver = ServingSolver(efficiency="ideal")
    S = np.array([1024, 2048, 4096, 8192, 16384, 32768, 131072])
    B = np.arange(1, 1201)
    sw = solver.sweep("Llama3_8B", "H100", S, B)
    cap, weights, kv_per_token = 80 * GiB, 8.03e9 * 2, 2 * 32 * 8 * 128 * 2
    for i, s in enumerate(S):
        hand = math.floor((cap - weights) / (kv_per_token * s))
        first_oom = int(np.argmin(sw.feasible[i])) + 1 if not sw.feasible[i].all() else None
        if hand >= B[-1]:
            assert sw.feasible[i].all()
        else:
            assert first_oom == hand + 1, (s, hand, first_oom)
            assert sw.feasible[i, : hand].all() and not sw.feasible[i, hand:].any()
    # 4096 tokens: 130 sequences fit, the 131st does not (see test_serving.py)
    assert sw.feasible[2, 129] and not sw.feasible[2, 130]
    # 131 072 tokens x 1 sequence = 17.2 GB of KV + 16.06 GB: fits; 5 of them (85.9 + 16.1) do not
    assert sw.feasible[6, 3] and not sw.feasible[6, 4]


def test_to_records():
    solver = ServingSolver(efficiency="ideal")
    sw = solver.sweep("Llama3_8B", "H100", [2048, 4096], [1, 131])
    recs = sw.to_records()
    assert len(recs) == 4
    assert [(r["seq_len"], r["batch_size"]) for r in recs] == [(2048, 1), (2048, 131), (4096, 1), (4096, 131)]
    first, last = recs[0], recs[-1]
    assert first["kv_cache_GB"] == pytest.approx(2 * 32 * 8 * 128 * 2048 * 2 / 1e9)  # 0.268 GB
    assert first["itl_ms"] == pytest.approx((8.03e9 * 2 + 2 * 32 * 8 * 128 * 2048 * 2) / 3.35e12 * 1e3, rel=1e-3)
    assert first["feasible"] is True and last["feasible"] is False  # 131 x 4096 is past the wall
    assert set(first) == {"seq_len", "batch_size", "ttft_ms", "itl_ms", "kv_cache_GB", "total_GB",
                          "memory_utilization", "feasible"}
    assert all(isinstance(v, (int, float, bool)) for r in recs for v in r.values())


def test_large_sweep_covers_every_point_without_nan():
    solver = ServingSolver()
    sw = solver.sweep("Llama3_70B", "H100", np.arange(1, 1001) * 64, np.arange(1, 101), tensor_parallel=8)
    assert sw.shape == (1000, 100)
    for f in ("ttft", "itl"):
        v = sw.raw(f)
        assert np.isfinite(v).all() and (v > 0).all()
    # monotone along both axes
    assert (np.diff(sw.raw("ttft"), axis=0) >= 0).all() and (np.diff(sw.raw("itl"), axis=1) >= 0).all()


def test_fields_and_unknown_field():
    sw = ServingSolver().sweep("Llama3_8B", "H100", [128, 256], [1, 2])
    assert {"ttft", "itl", "kv_cache_size", "model_weights_size", "total_memory_required", "prefill_flops",
            "decode_comm_time", "decode_throughput"} <= set(sw.fields())
    # prefill FLOPs = 2 P S B + 2 L S^2 (heads x head_dim) B, in TFLOP, at S=256, B=2
    hand = (2 * 8.03e9 * 256 * 2 + 2 * 32 * 256 ** 2 * 4096 * 2) / 1e12
    assert sw.prefill_flops[1, 1].to("TFLOP").magnitude == pytest.approx(hand, rel=1e-3)
    with pytest.raises(ValidationError, match="nope"):
        sw.raw("nope")
    with pytest.raises(KeyError, match="nope"):
        sw["nope"]
    with pytest.raises(AttributeError, match="nope"):
        sw.nope
