"""Readable definitions of the lab notebooks; ``scripts/build_labs.py`` turns them into
``autograder/source/<lab>/<lab>.ipynb`` (the instructor version, with solutions and hidden tests)."""

LABS = ["lab1_roofline", "lab2_kv_cache", "lab3_quantization", "lab4_context_scaling",
        "lab5_hardware_sla", "lab6_distributed", "lab7_sustainability", "lab8_batching", "lab9_speculative"]
