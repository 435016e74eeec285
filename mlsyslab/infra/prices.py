"""Cloud on-demand list prices of GPU instances. Data only: each entry cites its page and date.

Prices change often: each figure is the on-demand (no commitment, no spot) list price as
published on the date given, in USD. Per-GPU price = instance price / GPUs in the instance.
Pass ``price_per_gpu_hour=`` to the cost solver to use your own.
"""

from __future__ import annotations

from ..zoo.specs import Source
from .specs import GPUPrice

_AWS = Source("Amazon EC2 On-Demand pricing (us-east-1, Linux) and EC2 P5/P4 instance pages",
              "https://aws.amazon.com/ec2/pricing/on-demand/", "2024-03",
              "Instance list price before the June 2025 P4/P5 price reduction.")
_LAMBDA = Source("Lambda Cloud on-demand pricing", "https://lambdalabs.com/service/gpu-cloud#pricing", "2024-06",
                 "8-GPU on-demand instances, price quoted per GPU-hour.")
_GCP = Source("Google Cloud GPU pricing (G2 machine series, us-central1)", "https://cloud.google.com/compute/gpus-pricing",
              "2024-01", "g2-standard-4: 1 x L4, 4 vCPU, 16 GB; on-demand price including the VM.")

PRICES = [
    GPUPrice("AWS_p5_H100", "AWS p5.48xlarge", "H100", "AWS", "p5.48xlarge", 8, 98.32, "2024-03", _AWS),
    GPUPrice("AWS_p4de_A100", "AWS p4de.24xlarge", "A100", "AWS", "p4de.24xlarge", 8, 40.96, "2024-03", _AWS),
    GPUPrice("AWS_p4d_A100_40GB", "AWS p4d.24xlarge", "A100_40GB", "AWS", "p4d.24xlarge", 8, 32.77, "2024-03", _AWS),
    GPUPrice("Lambda_H100", "Lambda 8x H100 SXM", "H100", "Lambda", "gpu_8x_h100_sxm5", 8, 8 * 2.99, "2024-06", _LAMBDA),
    GPUPrice("Lambda_A100", "Lambda 8x A100 SXM 80GB", "A100", "Lambda", "gpu_8x_a100_80gb_sxm4", 8, 8 * 1.79, "2024-06", _LAMBDA),
    GPUPrice("GCP_g2_L4", "Google Cloud g2-standard-4", "L4", "GCP", "g2-standard-4", 1, 0.7068, "2024-01", _GCP),
]
