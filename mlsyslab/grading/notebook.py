"""Small helpers the lab notebooks call in the student's kernel (display only, no grading).

``commit(guess, checkpoint)`` locks a prediction before the reveal, through the same parser as
the widget's box (a guess the parser refuses prints one line naming the unit expected and leaves
the widget open; a prediction locked earlier, read back from the record file, stays: re-running
the cell or restarting the kernel cannot undo it); ``reveal(checkpoint, globals(), "name")`` shows
the answer only once a prediction is locked and the graded answers it would give away are
assigned; ``compare(label, yours, reference, unit)`` prints an estimate beside the solver's value,
never the solver's value alone. Neither judges anything: scores are computed by the grading
process (:mod:`mlsyslab.grading.preprocessors`).
"""

from __future__ import annotations

from ..labs.checks import number_text, pct_text


def commit(guess, checkpoint) -> None:
    """Predict ``guess`` on a PredictionCheckpoint, lock it and show it (nothing while ``None``)."""
    if guess is not None and not checkpoint.locked:
        problem = checkpoint.commit(guess)
        if problem:
            print("Not locked: " + problem.replace(f"prediction={guess!r}", f"my_guess = {guess!r}", 1))
    elif guess is not None and checkpoint.record.get("restored"):
        print(f"Your prediction was locked earlier ({checkpoint.record.get('locked_at')}); it stays locked.")
    _show(checkpoint)  # while open, its status line says how to predict; it updates in place on lock


def reveal(checkpoint, namespace: dict | None = None, *needs: str) -> bool:
    """Reveal the solver's answer if a prediction was locked and the graded answers ``needs`` (names
    in ``namespace``) are assigned; say what is missing and return False if not (and in the grader's
    oracle-free run, where there is no solver)."""
    from ..labs import grading_mode

    if grading_mode.active():
        print("Reveal not available while grading.")
        return False
    if not checkpoint.locked:
        print("Lock a prediction first: fill in my_guess above and run that cell; then run this one again.")
        return False
    missing = [name for name in needs if (namespace or {}).get(name) is None]
    if missing:
        print(f"Answer {', '.join(missing)} above first (and run its cell): this reveal shows the solver's value "
              "for it.")
        return False
    checkpoint.reveal()
    record = checkpoint.record
    unit = _unit(checkpoint.unit)
    print(f"Your prediction {number_text(record['prediction'])}{unit} vs the answer "
          f"{number_text(record['answer'])}{unit} ({pct_text(record['error_pct'])})")
    return True


def _unit(unit) -> str:
    from ..widgets.prediction_checkpoint import unit_symbol

    symbol = unit_symbol(unit)
    return f" {symbol}" if symbol else ""


def _show(checkpoint) -> None:
    try:
        from IPython.display import display
    except ImportError:
        return
    display(checkpoint)


def compare(label: str, yours, reference: float, unit: str = "", scale: float = 1.0) -> None:
    """Print ``yours`` beside the solver's ``reference`` (both divided by ``scale`` for display);
    while ``yours`` is unanswered, the reference is not shown (it is what is graded)."""
    ref = reference / scale
    shown = f" {unit}" if unit else ""
    if yours is None:
        print(f"{label}: answer it above first; the solver's figure is shown beside yours once you have.")
        return
    try:
        mine = float(getattr(yours, "magnitude", yours)) / scale
    except (TypeError, ValueError):
        print(f"{label}: your answer {yours!r:.60} is not a number; the solver's figure is shown beside a number.")
        return
    rel = (mine - ref) / ref * 100 if ref else float("nan")
    print(f"{label}: yours {number_text(mine)}{shown} | solver {number_text(ref)}{shown} | difference {pct_text(rel)}")
