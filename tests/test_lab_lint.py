"""Lab lint, over all nine built-in labs and every variant of each: what the text asks is what
the notebook and the checks do.

* every name the text or a template tells the student to use (a backticked expression) is
  defined in the student notebook, is an answer the lab asks for, or is mlsyslab's public API;
* every graded item has at least two specific misconception hints (a choice: one, for the wrong
  option a misconception leads to), and each hint fires on its own mistake (the value its formula gives is judged "mistake" with that hint); no generic
  "revisit the formula" text;
* items the text calls integers (a count: "an integer", requests, GPUs) accept only integers;
* every unit a prediction question writes is accepted by the prediction parser;
* a reveal never shows a graded value before it is answered: it names the answers of its
  exercise (``reveal(cp, globals(), "name", ...)``);
* every template formats for every variant.
"""

from __future__ import annotations

import ast
import builtins
import re

import pytest

import mlsyslab
from mlsyslab.labs import checks, registry
from mlsyslab.labs.variants import Variant
from mlsyslab.widgets.prediction_checkpoint import parse_quantity, unit_symbol

LABS = registry.names()
BACKTICK = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
PLACEHOLDER = re.compile(r"^(\w+) = None\b(.*)$", re.M)
INTEGER_WORDS = re.compile(r"\b(integer|whole|requests\b|GPUs\b|microbatches\b|batch\b)", re.I)
#: unit spellings a question may write, and a sample the parser must read for that unit
UNIT_WORDS = {"req/s": "12 req/s", "requests/s": "12 requests/s", "tok/s": "12 tok/s", "tokens/s": "12 tokens/s",
              "ms": "12 ms", "s": "1.2 s", "GB": "12 GB", "GiB": "12 GiB", "%": "12 %", "x": "2x", "kWh": "12 kWh",
              "kg": "12 kg", "USD": "12 USD", "µs": "12 µs", "us": "12 us", "FLOP/B": "12 FLOP/B", "tokens": "12 tokens"}


def _variants(module):
    return [Variant(p, variant=i) for i, p in enumerate(module.POOL)]


def _template(cell) -> str:
    """The text of a markdown cell, or the template of a say() cell."""
    src = cell["source"]
    if cell["cell_type"] == "code" and 'lab.md(r"""' in src:
        return src.split('lab.md(r"""', 1)[1].rsplit('"""', 1)[0]
    return src if cell["cell_type"] == "markdown" else ""


def _defined(module) -> set:
    """Names the student notebook defines: assigned, imported, def'd or looped over in a code cell."""
    out = set()
    for cell in module.NOTEBOOK:
        if cell["cell_type"] != "code":
            continue
        src = re.sub(r"### BEGIN SOLUTION.*?### END SOLUTION", "", cell["source"], flags=re.S)  # the release strips it
        src = src.replace("__LAB__", "'x'")
        for node in ast.walk(ast.parse(src)):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                out.add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                out.add(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                out |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return out


def _root_names(expr: str) -> set:
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        return set()
    bound = {a.arg for n in ast.walk(tree) if isinstance(n, ast.Lambda) for a in n.args.args}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)} - bound


@pytest.mark.parametrize("lab", LABS)
def test_every_name_the_text_uses_is_defined(lab):
    """`mha` in "Llama-2-13B (`mha` below)" must be something the notebook defines."""
    module = registry.load(lab)
    defined = _defined(module) | set(dir(builtins)) | {"ml", "math"}
    unknown = set()
    for cell in module.NOTEBOOK:
        for expr in BACKTICK.findall(_template(cell)):
            for name in _root_names(expr) if not expr.startswith("_") else ():  # `_8k`: a suffix of names
                if name not in defined and not hasattr(mlsyslab, name):
                    unknown.add((name, expr))
    assert not unknown, f"{lab}: the text names what the notebook does not define: {sorted(unknown)}"


@pytest.mark.parametrize("lab", LABS)
def test_every_template_formats_for_every_variant(lab):
    from mlsyslab.labs import open_lab

    module = registry.load(lab)
    for i in range(len(module.POOL)):
        opened = open_lab(lab, student="")
        opened.variant = _variants(module)[i]
        opened.context = dict(module.context(opened.variant), v=opened.variant)
        for cell in module.NOTEBOOK:
            if cell["cell_type"] == "code" and 'lab.md(r"""' in cell["source"]:
                opened.text(_template(cell))  # a KeyError / AttributeError fails here
            for question in re.findall(r"lab\.text\(('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")\)", cell["source"]):
                opened.text(ast.literal_eval(question))


def _items(module, v):
    out = [item for items in module.cells(v).values() for item in items]
    functions = getattr(module, "functions", None)
    out += [item for cases in (functions(v).values() if functions else []) for item, _ in cases]
    return out


@pytest.mark.parametrize("lab", LABS)
def test_every_item_has_two_specific_hints_that_fire(lab):
    """For every variant and item: >= 2 mistakes whose value is judged a mistake with their own
    hint (the value their formula gives, fed back to the one verdict function)."""
    module = registry.load(lab)
    problems = []
    for v in _variants(module):
        for item in _items(module, v):
            expected = item.expected()
            fired = []
            for mistake in item.mistakes:
                assert "revisit the formula" not in mistake.message and len(mistake.message) > 25, (lab, item.id)
                verdict = checks.judge(item, mistake.value(), expected)
                if verdict.grade == "mistake" and verdict.mistake is mistake:
                    fired.append(mistake.name)
            if len(fired) < (1 if item.kind == "choice" else 2):  # a choice: its wrong option's hint
                problems.append(f"variant {v.variant} {item.id}: {fired}")
    assert not problems, f"{lab}: items with fewer than two hints that fire: {problems}"


@pytest.mark.parametrize("lab", LABS)
def test_items_the_text_calls_integers_accept_only_integers(lab):
    module = registry.load(lab)
    asked = {}
    for cell in module.NOTEBOOK:
        if cell["metadata"].get("nbgrader", {}).get("solution") and cell["cell_type"] == "code":
            for name, comment in PLACEHOLDER.findall(cell["source"]):
                asked[name] = comment
    v = _variants(module)[0]
    for item in _items(module, v):
        if item.id in asked and INTEGER_WORDS.search(asked[item.id]) and "per" not in asked[item.id]:
            assert item.kind == "integer", f"{lab}: {item.id} is asked as {asked[item.id]!r} but accepts 300.87"
            assert checks.judge(item, float(item.expected()) + 0.37, item.expected()).grade == "invalid"
        if item.kind == "integer":
            assert INTEGER_WORDS.search(asked.get(item.id, "")), f"{lab}: {item.id} is integer-only; say so in its cell"


@pytest.mark.parametrize("lab", LABS)
def test_every_unit_a_question_writes_is_accepted(lab):
    module = registry.load(lab)
    for cell in module.NOTEBOOK:
        m = re.search(r"PredictionCheckpoint\(lab\.text\((.+?)\), answer=.*, unit=('[^']*')", cell["source"])
        if not m:
            continue
        question, unit = ast.literal_eval(m.group(1)), ast.literal_eval(m.group(2))
        words = {w for w in UNIT_WORDS if re.search(rf"(?<![\w/]){re.escape(w)}(?![\w/])", question)}
        symbol = unit_symbol(unit)
        aliases = {"req/s": {"req/s", "requests/s"}, "tok/s": {"tok/s", "tokens/s"}, "": {"x"}}.get(symbol, {symbol})
        if symbol:
            words.discard("x")  # "tokens x batch": a product, not a ratio answer
        for word in words | aliases:
            q = parse_quantity(UNIT_WORDS.get(word, f"12 {word}"), default_unit=unit)  # a refusal fails here
            if word in aliases:  # the answer's own unit, as the question writes it: it converts
                q.to(unit)


@pytest.mark.parametrize("lab", LABS)
def test_reveals_wait_for_the_answers_they_give_away(lab):
    """A reveal after answer cells names their answers: it shows nothing graded until they are assigned."""
    module = registry.load(lab)
    answers = []
    for cell in module.NOTEBOOK:
        meta = cell["metadata"].get("nbgrader", {})
        if meta.get("grade_id", "").startswith("predict_"):
            answers = []
        elif meta.get("solution") and cell["cell_type"] == "code":
            answers += [n for n, _ in PLACEHOLDER.findall(cell["source"])]
        for call in re.findall(r"\breveal\((.*)\):?\s*$", cell["source"], re.M) if cell["cell_type"] == "code" else []:
            args = [a.strip().strip('"') for a in call.split(",")]
            assert len(args) > 1 or not answers, f"{lab}: reveal({call}) shows the solver's value before {answers}"
            if answers:
                assert args[1] == "globals()" and set(answers) <= set(args[2:]), (lab, call, answers)


@pytest.mark.parametrize("lab", LABS)
def test_questions_are_readable_before_anything_runs(lab):
    """No cell of the released notebook is collapsed: a say() cell's question reads as its source."""
    import nbformat

    from mlsyslab.labs.build import CHECKOUT

    nb = nbformat.read(CHECKOUT / "labs" / f"{lab}.ipynb", 4)
    assert not [c for c in nb.cells if c.metadata.get("jupyter", {}).get("source_hidden")]
    says = [c for c in nb.cells if c.cell_type == "code" and 'lab.md(r"""' in c.source]
    assert all(len(_template(c).split()) >= 8 for c in says)


def test_a_test_cell_run_before_the_setup_records_nothing(tmp_path):
    """Run first in a fresh kernel, an autograder-test cell stops at once (``record`` is defined by
    the setup cell): no answers output, so nothing recorded earlier is overwritten with nulls."""
    import nbformat
    from nbclient import NotebookClient

    from mlsyslab.grading.answers import ANSWERS_MIME
    from mlsyslab.labs.build import CHECKOUT

    nb = nbformat.read(CHECKOUT / "labs" / "lab2_kv_cache.ipynb", 4)
    nb.cells = [next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade"))]
    NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = nb.cells[0].outputs
    assert [o.get("ename") for o in outputs if o.output_type == "error"] == ["NameError"]
    assert not any(ANSWERS_MIME in o.get("data", {}) for o in outputs)
