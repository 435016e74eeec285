"""Writing a lab: the cell constructors of a lab module's ``NOTEBOOK`` and the notebook built from it.

A lab module (``mlsyslab/labs/builtin/<lab>.py``, or ``<course>/labs/<lab>.py``) lists its cells::

    NOTEBOOK = [md("# Lab ..."), code(IMPORTS + "..."), predict(...), answer(...), tests(...), *reflection(...)]

* ``md(text)``: instructions (plain markdown, the same for every student);
* ``say(template)``: text with the student's own numbers: a code cell (source readable) calling
  ``lab.md(template)``, formatted with the lab's ``context(v)`` (``{model.name}``);
* ``code(src)``: a code cell the student runs (a reveal, a plot);
* ``predict(name, question, unit, guess, answer)``: the prediction a student commits *before* any
  reveal (a PredictionCheckpoint; the guess is a solution region, so the release starts at ``None``);
* ``answer(grade_id, src)``: an autograded answer; put the solution between
  ``### BEGIN SOLUTION`` / ``### END SOLUTION`` after ``name = None`` placeholders;
* ``tests(grade_id, points, visible)``: a locked autograder-test cell shown to students (the
  ``record`` call, a formative ``lab.check``); hidden configurations are not in any cell: the
  grader calls the lab's ``hidden(v, rng)`` after the student's last cell;
* ``reflection(grade_id, points, prompt, model_answer)``: a manually graded markdown answer.

:func:`notebook` turns a lab module into the instructor notebook (nbformat), :func:`explorer` its
optional Voila explorer (``EXPLORER = (title, text, widget call)``). Imports nbformat only there.
"""

from __future__ import annotations

import textwrap

# ---------------------------------------------------------------- shared text

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

#: the setup cell's first lines; :func:`notebook` puts the lab's name for __LAB__ and the release
#: bakes the course's variant switch and seed into open_lab() (mlsyslab.labs.release)
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
    """The body of a test cell recording ``names`` for the grader and checking them now."""
    args = ", ".join(repr(n).replace("'", '"') for n in names)
    return f"""
    # autograder: records your answers (the grade is computed outside this notebook), then checks them
    record(globals(), {args})
    lab.check(globals(), {args})   # right / close / wrong now (never the answer); Validate fails until right
    """


# ---------------------------------------------------------------- cells (nbgrader metadata, schema 3)

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
    """A code cell that renders ``template`` with the student's variant; its source stays readable, so
    the question can be read before anything runs (``{S}`` is your variant's context length...)."""
    src = '# run this cell: the question below with your numbers in place of the {braces}\nlab.md(r"""\n' \
        + _src(template) + '\n""")'
    return {"cell_type": "code", "source": src, "metadata": {}}


def code(src):
    return {"cell_type": "code", "source": _src(src), "metadata": {}}


#: how the guess's comment names a unit (as the widget shows it: req/s, not 1/s)
_UNIT_LABEL = {"1/s": "req/s", "percent": "%", "token": "tokens", "us": "µs", "token/s": "tok/s"}


def predict(name: str, question: str, unit: str, guess, answer: str) -> dict:
    """A PredictionCheckpoint ``name`` whose answer is the expression ``answer`` (evaluated on reveal)."""
    label = "a number" if unit in ("", "dimensionless") else _UNIT_LABEL.get(unit, unit)
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


def tests(grade_id: str, points: float, visible: str) -> dict:
    """A locked autograder-test cell (what students see; hidden configurations are the grader's)."""
    return {"cell_type": "code", "source": _src(visible),
            "metadata": _nb(grade_id, grade=True, locked=True, points=points)}


def reflection(grade_id: str, points: float, prompt: str, model_answer: str) -> list:
    return [md(prompt), {"cell_type": "markdown", "metadata": _nb(grade_id, grade=True, solution=True, points=points),
                         "source": _src(model_answer)}]  # the release replaces it by "YOUR ANSWER HERE"


# ---------------------------------------------------------------- notebooks

KERNEL = {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
          "language_info": {"name": "python"}}


def notebook(name: str, module):
    """The instructor notebook of lab ``name`` built from its module's ``TITLE`` and ``NOTEBOOK``."""
    import nbformat

    nb = nbformat.v4.new_notebook(metadata=dict(KERNEL, title=module.TITLE))
    for cell in module.NOTEBOOK:
        make = {"markdown": nbformat.v4.new_markdown_cell, "code": nbformat.v4.new_code_cell}[cell["cell_type"]]
        source = cell["source"]
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id", "")
        if grade_id.startswith("predict_"):  # prediction keys are unique across labs: "lab2:cp_oom"
            key = grade_id[len("predict_"):]
            source = source.replace(f"key={key!r}", f"key={name + ':' + key!r}")
        source = source.replace("open_lab(__LAB__", f"open_lab({name!r}".replace("'", '"'))
        nb.cells.append(make(source, metadata=cell["metadata"]))
    explorer_ = getattr(module, "EXPLORER", None)
    if explorer_:  # the Voila explorer of the same topic, linked from the lab's first cell
        nb.cells[0].source += (f"\n\n*Explore without code:* [{explorer_[0]}](explorers/{name}.ipynb), widgets "
                               f"only, meant for Voila (`voila labs/explorers/{name}.ipynb`); this lab itself is a "
                               "notebook to run and edit in JupyterLab, not a Voila page.")
    for i, cell in enumerate(nb.cells):  # stable ids, so rebuilding does not churn the files
        cell["id"] = f"{name.split('_')[0]}-{i:02d}"
    nbformat.validate(nb)
    return nb


def explorer(name: str, module):
    """The Voila explorer of lab ``name``: a title, two sentences and one widget (its code hidden)."""
    import nbformat

    title, text, widget = module.EXPLORER
    nb = nbformat.v4.new_notebook(metadata=dict(KERNEL, title=title))
    widget_name = widget.split("(")[0]
    nb.cells.append(nbformat.v4.new_markdown_cell(
        f"# {title}\n\n" + " ".join(text.split()) + f"\n\nNo code to edit: this page is meant for Voila. The "
        f"graded lab is [{name}](../{name}.ipynb); every readout says its solver mode (ideal or calibrated)."))
    nb.cells.append(nbformat.v4.new_code_cell(f"from mlsyslab.widgets import {widget_name}\n\n{widget}",
                                              metadata={"jupyter": {"source_hidden": True}}))
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"explore-{name.split('_')[0]}-{i:02d}"
    nbformat.validate(nb)
    return nb
