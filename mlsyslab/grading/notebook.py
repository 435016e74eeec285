"""Small helpers the lab notebooks call in the student's kernel (display only, no grading).

``commit(guess, checkpoint)`` locks a prediction before the reveal (a prediction locked earlier,
read back from the record file, stays: re-running the cell or restarting the kernel cannot undo it); ``reveal(checkpoint)`` shows
the answer only once a prediction is locked; ``compare(label, yours, reference, unit)`` prints an
estimate beside the solver's value. Neither judges anything:
scores are computed by the grading process (:mod:`mlsyslab.grading.preprocessors`).
"""

from __future__ import annotations


def commit(guess, checkpoint) -> None:
    """Predict ``guess`` on a PredictionCheckpoint, lock it and show it (nothing while ``None``)."""
    if guess is not None and not checkpoint.locked:
        checkpoint.predict(guess, checkpoint.unit or None)
        checkpoint.lock()
    elif guess is not None and checkpoint.record.get("restored"):
        print(f"Your prediction was locked earlier ({checkpoint.record.get('locked_at')}); it stays locked.")
    _show(checkpoint)  # while open, its status line says how to predict; it updates in place on lock


def reveal(checkpoint) -> bool:
    """Reveal the solver's answer if a prediction was locked; say so and return False if not (and
    in the grader's oracle-free run, where there is no solver)."""
    from ..labs import grading_mode

    if grading_mode.active():
        print("Reveal not available while grading.")
        return False
    if not checkpoint.locked:
        print("Lock a prediction first: fill in my_guess above and run that cell; then run this one again.")
        return False
    checkpoint.reveal()
    record = checkpoint.record
    unit = "" if checkpoint.unit in ("", "dimensionless") else f" {checkpoint.unit}"
    print(f"Your prediction {record['prediction']:.4g}{unit} vs the answer {record['answer']:.4g}{unit} "
          f"({record['error_pct']:+.0f} %)")
    return True


def _show(checkpoint) -> None:
    try:
        from IPython.display import display
    except ImportError:
        return
    display(checkpoint)


def compare(label: str, yours, reference: float, unit: str = "", scale: float = 1.0) -> None:
    """Print ``yours`` beside the solver's ``reference`` (both divided by ``scale`` for display)."""
    ref = reference / scale
    if yours is None:
        print(f"{label}: solver {ref:,.4g} {unit} (you have not answered yet)")
        return
    try:
        mine = float(getattr(yours, "magnitude", yours)) / scale
    except (TypeError, ValueError):
        print(f"{label}: solver {ref:,.4g} {unit}; your answer {yours!r} is not a number")
        return
    rel = (mine - ref) / ref if ref else float("nan")
    print(f"{label}: yours {mine:,.4g} {unit} | solver {ref:,.4g} {unit} | difference {rel:+.1%}")
