"""Cell constructors for the lab definitions (nbgrader cell metadata, schema version 3).

* ``md(text)``: instructions (plain markdown, the same for every student);
* ``say(template)``: text with the student's own numbers: a code cell (source collapsed) calling
  ``lab.md(template)``, formatted with ``context(v)`` of ``mlsyslab.labs.<lab>`` (``{model.name}``);
* ``code(src)``: a code cell the student runs (a reveal, a plot);
* ``predict(name, question, unit, guess)``: (``question`` is a template like ``say``'s) the prediction a student commits *before* any reveal
  (a PredictionCheckpoint; the guess is a solution region, so the release starts at ``None``);
* ``answer(grade_id, src)``: an autograded answer; put the solution between
  ``### BEGIN SOLUTION`` / ``### END SOLUTION`` after ``name = None`` placeholders;
* ``tests(grade_id, points, visible, hidden)``: a locked autograder-test cell: ``visible`` is
  shown to students (sanity checks, the ``record`` call), ``hidden`` only exists in the source;
* ``reflection(grade_id, points, prompt, model_answer)``: a manually graded markdown answer.
"""

from __future__ import annotations

import textwrap


def _src(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


def _nb(grade_id, *, grade=False, solution=False, locked=False, points=None):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def md(text):
    return {"cell_type": "markdown", "source": _src(text), "metadata": {}}


def say(template):
    """A code cell that renders ``template`` with the student's variant (its source collapsed)."""
    src = 'lab.md(r"""\n' + _src(template) + '\n""")'
    return {"cell_type": "code", "source": src, "metadata": {"jupyter": {"source_hidden": True}}}


def code(src):
    return {"cell_type": "code", "source": _src(src), "metadata": {}}


def predict(name: str, question: str, unit: str, guess, answer: str) -> dict:
    """A PredictionCheckpoint ``name`` whose answer is the expression ``answer`` (evaluated on reveal)."""
    label = "a number" if unit in ("", "dimensionless") else unit
    src = f'''
    {name} = PredictionCheckpoint(lab.text({question!r}), answer=lambda: {answer}, unit={unit!r}, key={name!r})
    my_guess = None   # <- your prediction ({label}), BEFORE running anything below
    ### BEGIN SOLUTION
    my_guess = {guess!r}
    ### END SOLUTION
    commit(my_guess, {name})
    '''
    return {"cell_type": "code", "source": _src(src), "metadata": _nb(f"predict_{name}", solution=True)}


def answer(grade_id: str, src: str) -> dict:
    return {"cell_type": "code", "source": _src(src), "metadata": _nb(grade_id, solution=True)}


def tests(grade_id: str, points: float, visible: str, hidden: str = "") -> dict:
    src = _src(visible)
    if hidden:
        src += "\n### BEGIN HIDDEN TESTS\n" + _src(hidden) + "\n### END HIDDEN TESTS"
    return {"cell_type": "code", "source": src, "metadata": _nb(grade_id, grade=True, locked=True, points=points)}


def reflection(grade_id: str, points: float, prompt: str, model_answer: str) -> list:
    return [md(prompt), {"cell_type": "markdown", "metadata": _nb(grade_id, grade=True, solution=True, points=points),
                         "source": _src(model_answer)}]  # the release replaces it by "YOUR ANSWER HERE"
