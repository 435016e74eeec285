"""Hello world: is ResNet-50 compute-bound or memory-bound? (the roofline in ten lines)

Run: python examples/hello_world.py
"""

import mlsyslab as ml

model = ml.Models.ResNet50
hardware = ml.Hardware.Cloud.A100

print(f"{model.name}: {model.parameters.to('Mparam'):.1f~P}, {model.macs_per_inference / 1e9:.2f} G MACs "
      f"= {model.flops_per_inference / 1e9:.2f} GFLOP per image (1 MAC = 2 FLOPs)")
print(f"{hardware.name}: {hardware.compute.peak('fp16'):.0f~P} fp16, {hardware.memory.bandwidth:.3f~P}, "
      f"ridge point {hardware.ridge_point('fp16'):.1f} FLOP/B")
print()

for batch in (1, 8, 64):
    r = ml.Engine.solve(model=model, hardware=hardware, batch_size=batch, precision="fp16")
    print(f"batch {batch:>3}: {r.flops:.4g~P} / {r.memory_bytes:.4g~P} = {r.arithmetic_intensity:.1f~P} "
          f"vs ridge {r.ridge_point:.1f~P} -> {r.bound}-bound; latency {r.latency:.4g~P}, "
          f"{r.throughput:,.0f~P}, {r.utilization:.0%} of peak")

print()
print("The same question for other workloads on an H100 (ridge "
      f"{ml.Hardware.H100.ridge_point('fp16'):.1f} FLOP/B):")
for name, kw in (("MobileNetV2", {}), ("BERT_Base", {}), ("Llama3_8B", {"seq_len": 512}), ("DLRM", {"batch_size": 256})):
    r = ml.Engine.solve(name, "H100", **kw)
    print(f"  {name:<12} I = {r.arithmetic_intensity:8.1f~P} -> {r.bound}-bound, latency {r.latency:.3g~P}")

rf = ml.roofline("A100", "fp16")
print()
print(f"Roofline of the A100: attainable = min({rf.peak:.0f~P}, {rf.bandwidth:.3f~P} x I); "
      f"{len(rf.intensity)} points from {rf.intensity[0]:g} to {rf.intensity[-1]:g} FLOP/B for plotting.")
