"""Cells every lab shares (indented by 4 like the cell texts they are joined to)."""

HOW_TO = """
    Each exercise goes **predict -> estimate -> reveal -> reflect**:
    1. commit a gut prediction (it is locked, not graded);
    2. compute an estimate from first principles in code (graded, by the formulas given);
    3. the solver reveals its figure, and a widget lets you explore around it;
    4. write two or three sentences on what surprised you (graded by your instructor).

    Run the cells in order. Cells marked *autograder* only record your answers; the grade is
    computed later by the course's grader from those recorded values, with the tolerances given.
"""

#: labs 3 and 4 time things with the ideal solver: say what that means, once
IDEAL_LATENCY_NOTE = """
    Latencies here come from the ideal roofline (`ServingSolver(efficiency="ideal")`, datasheet
    peaks, no overheads): the lower bound you compute by hand. Real servers are slower; the
    default calibrated solver, fitted to published measurements, gives about 1.4-1.7x these
    figures for Llama-3.1-8B on an H100.
    """

#: the setup cell's first lines; build_labs.py puts the lab's name for __LAB__ and the release bakes
#: the course's variant switch and seed into open_lab() (mlsyslab.labs.release)
IMPORTS = """
    import math
    import mlsyslab as ml
    from mlsyslab.widgets import PredictionCheckpoint
    from mlsyslab.grading import record, record_call
    from mlsyslab.grading.notebook import commit, compare, reveal

    lab = ml.labs.open_lab(__LAB__, variants=True, seed="")   # your variant: see docs/labs.md
    v = lab.variant
"""


def recorder(*names: str) -> str:
    args = ", ".join(repr(n).replace("'", '"') for n in names)
    return f"""
    # autograder: records your answers; the grade is computed outside this notebook
    from mlsyslab.grading import record
    record(globals(), {args})
    lab.check(globals(), {args})   # right / close / wrong now, before you submit (never the answer)
    """
