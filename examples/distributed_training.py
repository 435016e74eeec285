"""Distributed training of Llama-3.1-70B: memory per GPU, parallelism, step time, scaling.

Run: python examples/distributed_training.py
"""

import mlsyslab as ml
from mlsyslab.solvers.distributed import pipeline_bubble, ring_allreduce_time

model = ml.Models.Llama3_70B
cluster = ml.Systems.Clusters.DGX_H100_SU  # 32 DGX H100 = 256 GPUs on NDR InfiniBand
solver = ml.DistributedSolver()  # calibrated efficiencies; DistributedSolver("ideal") for the pure model

print(f"{model.name}: {model.n_parameters / 1e9:.2f} B parameters; {cluster.name}: {cluster.n_gpus} GPUs")

# 1. Why one GPU is hopeless: mixed-precision Adam keeps 16 bytes per parameter.
states = 16 * model.n_parameters
print(f"Weights + gradients + Adam states: 16 B x {model.n_parameters / 1e9:.2f} B = {states / 1e12:.3f} TB "
      f"(an H100 holds {ml.Hardware.H100.memory.capacity.to('GB'):.1f~P})")

# 2. ZeRO shards the states over the data-parallel GPUs.
for stage in (0, 1, 2, 3):
    r = solver.solve(model, cluster, n_gpus=64, zero_stage=stage, seq_len=4096, recompute=True)
    parts = r.memory_breakdown
    print(f"  ZeRO-{stage} over 64 GPUs: weights {parts['weights']:.1f~P}, gradients {parts['gradients']:.1f~P}, "
          f"optimizer {parts['optimizer']:.1f~P}, activations {parts['activations']:.2f~P} "
          f"-> {r.memory_per_gpu:.1f~P} per GPU, {'fits' if r.feasible else 'OOM'}")

# 3. The collective and the bubble, by hand.
t = ring_allreduce_time(1e9, 8, 900e9, 8e-6)
print(f"Ring all-reduce of 1 GB over 8 GPUs at 900 GB/s per direction: 2 x 7/8 x 1 GB / 900 GB/s + 8 us = {t * 1e3:.3f} ms")
t_h100 = ring_allreduce_time(1e9, 8, 450e9, 8e-6)
print(f"  (an H100's NVLink 4 '900 GB/s' counts both directions: at 450 GB/s per direction it takes {t_h100 * 1e3:.3f} ms)")
print(f"Pipeline bubble with p=4 stages and m=8 microbatches: (p-1)/(m+p-1) = 3/11 = {pipeline_bubble(4, 8):.1%}")

# 4. A 3-D parallel step: tp=8 inside each node, pp=4 stages, dp=8 replicas.
r = solver.solve(model, cluster, tp=8, pp=4, dp=8, microbatches=8, seq_len=8192, zero_stage=1, recompute=True)
print(f"tp=8 x pp=4 x dp=8, microbatches 8 of 8192 tokens: step {r.step_time:.2f~P} = compute {r.compute_time:.2f~P} "
      f"(bubble {r.bubble_fraction:.1%}) + dp {r.dp_comm_time:.3f~P} + tp {r.tp_comm_time:.2f~P} + pp {r.pp_comm_time:.3f~P}")
print(f"  {r.tokens_per_second:,.0f~P}, MFU {r.mfu:.1%}, {r.memory_per_gpu:.1f~P} per GPU; "
      f"15 T tokens take {r.time_to_train(15e12):.0f~P}")

# 5. Weak scaling: more data-parallel replicas, same per-replica work.
curve = solver.scaling_curve(model, ml.Systems.Clusters.Meta_IB_24K, [32, 256, 2048, 16384], tp=8, pp=4,
                             microbatches=8, seq_len=8192, zero_stage=1, recompute=True)
for n, eff, sp in zip(curve.n_gpus, curve.scaling_efficiency, curve.speedup):
    print(f"  {n:>6} GPUs: speed-up x{sp:7.1f}, scaling efficiency {eff:.1%}")
