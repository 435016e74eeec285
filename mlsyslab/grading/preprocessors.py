"""nbgrader preprocessors that take scoring out of the student's kernel.

Configured in ``autograder/nbgrader_config.py``::

    c.Autograde.autograde_preprocessors = [TrustedExecute, RescoreAnswers, IgnorePattern,
        ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]

* :class:`TrustedExecute` is nbgrader's ``Execute`` that first computes every answer key (so
  nothing the student's code does afterwards can change them), runs the kernel over the
  oracle-free copy of the package (:mod:`~mlsyslab.grading.overlay`: no solver, no expected
  value), runs the lab's hidden calls as cells appended after the student's last cell and
  removed again (only their captured answers are kept), and survives a kernel that dies
  (``os._exit``): the cells not executed simply record no answers.
* :class:`RescoreAnswers` reads, in each autograder-test cell of a lab, only the answers that
  cell captured (:data:`~mlsyslab.grading.answers.ANSWERS_MIME`, checked by
  :func:`~mlsyslab.grading.answers.read_payload` / :func:`~mlsyslab.grading.answers.typed_answer`),
  scores them with the key and **replaces the cell's outputs** by feedback (hidden tests as one
  line: points and how many passed) and one ``execute_result`` holding the score -
  what nbgrader's ``SaveAutoGrades`` then stores in the gradebook. Whatever the kernel printed,
  raised or patched is discarded.
"""

from __future__ import annotations

import copy
import html
import json
import os
import shutil
import tempfile

from nbclient.exceptions import DeadKernelError
from nbformat.notebooknode import NotebookNode, from_dict
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from nbgrader.utils import is_grade, is_solution

from . import keys, overlay
from .answers import ANSWERS_MIME, SCORES_MIME, Invalid, read_payload, typed_answer
from .intake_outputs import CappedOutputs
from .rubric import ItemScore, score_item
from .sandbox import SandboxedKernelManager, SandboxUnavailable


def course_root(preprocessor) -> str | None:
    """The course folder of the nbgrader app running ``preprocessor`` (nbgrader also chdirs there);
    outside nbgrader, the working directory if it has ``keys/``, else None (the checkout's course)."""
    parent = preprocessor.parent
    while parent is not None:
        coursedir = getattr(parent, "coursedir", None)
        if coursedir is not None:
            return coursedir.root
        parent = getattr(parent, "parent", None)
    return os.getcwd() if os.path.isdir("keys") else None


def lab_key(preprocessor, resources: dict):
    """The key of this notebook for this student, read from ``<course>/keys`` (None if not a lab)."""
    info = resources.get("nbgrader", {})
    return keys.get(info.get("notebook"), student=info.get("student"), root=course_root(preprocessor))


class TrustedExecute(CappedOutputs, Execute):
    """nbgrader's Execute: the kernel in a sandbox (:class:`~.sandbox.SandboxedKernelManager`), the
    answer key computed first, and a kernel that dies, hangs or hits a limit tolerated (the cells
    not run score 0; the reason is recorded for the feedback)."""

    _student = None
    _sandbox_km = None
    _binds: tuple = ()
    _first_hidden = None  # index of the first appended hidden-call cell (None: none appended)
    _in_hidden = False

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(*args, **kwargs)

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        if isinstance(km, SandboxedKernelManager):
            km.student = str(self._student or "")
            km.ro_binds = tuple(self._binds)
        self._sandbox_km = km  # nbclient drops self.km when the kernel is cleaned up
        return km

    def preprocess(self, nb, resources, km=None):
        self._student = resources.get("nbgrader", {}).get("student")
        key = lab_key(self, resources)  # computed (and cached) before any student code runs
        info = resources.setdefault("mlsyslab", {})
        solver_nb = copy.deepcopy(nb) if key is not None and key.solver_items else None
        n_student = len(nb.cells)
        if key is not None:
            nb.cells.extend(from_dict({"cell_type": "code", "metadata": {}, "source": keys.hidden_cell_source(call),
                                       "outputs": [], "execution_count": None}) for call in key.hidden)
            self._first_hidden = n_student if key.hidden else None
        try:
            nb, resources = self._run(nb, resources, km, key, solver=False)
        finally:
            hidden_cells = nb.cells[n_student:]
            del nb.cells[n_student:]  # nothing of the hidden calls stays in the notebook
            self._first_hidden = None
        if key is not None:
            info["hidden_answers"] = {call.item.id: _answer_from(cell, call.item.id)
                                      for call, cell in zip(key.hidden, hidden_cells)}
        if solver_nb is not None and not info.get("stopped"):
            # an instructor allowed the solver for some items: those are graded from a second run with it
            _, solver_resources = self._run(solver_nb, {"nbgrader": resources.get("nbgrader", {})}, None, key,
                                            solver=True)
            info["solver_answers"] = {
                item_id: answer for cell in solver_nb.cells if cell.cell_type == "code" and is_grade(cell)
                for item_id, answer in captured_answers(cell)[0].items() if item_id in key.solver_items}
        return nb, resources

    def _run(self, nb, resources, km, key, *, solver: bool):
        """One sandboxed run of ``nb`` over the package overlay (``solver``: the one with the solvers)."""
        view_dir = None
        if key is not None and self._sandboxed():
            view_dir = tempfile.mkdtemp(prefix="mlsyslab-view-")
            os.chmod(view_dir, 0o755)
            view = os.path.join(view_dir, "view.json")
            with open(view, "w", encoding="utf-8") as f:
                json.dump(key.view, f)
            os.chmod(view, 0o644)
            self._binds = tuple(overlay.binds(view, solver=solver))
        elif key is not None:
            self.log.warning("Grading UNSANDBOXED: the student's kernel has the solvers (grading is not oracle-free).")
        try:
            return self._execute(nb, resources, km)
        finally:
            self._binds = ()
            if view_dir:
                shutil.rmtree(view_dir, ignore_errors=True)

    def _sandboxed(self) -> bool:
        return issubclass(self.kernel_manager_class, SandboxedKernelManager) and \
            SandboxedKernelManager(parent=self).sandboxed

    def preprocess_cell(self, cell, resources, index):
        self._in_hidden = self._first_hidden is not None and index >= self._first_hidden
        if self._in_hidden and index == self._first_hidden:  # the grader's own calls: their own output budget
            self._used = self._answers_used = 0
        return super().preprocess_cell(cell, resources, index)

    def process_message(self, msg, cell, cell_index):
        """While the hidden calls run, no display update, widget message or display id reaches any cell."""
        if self._in_hidden:
            msg_type = msg.get("msg_type", "")
            if msg_type == "update_display_data" or msg_type.startswith("comm"):
                return None
            if isinstance(msg.get("content"), dict) and msg["content"].get("transient"):
                msg = dict(msg, content=dict(msg["content"], transient={}))
        return super().process_message(msg, cell, cell_index)

    def _execute(self, nb, resources, km=None):
        stop = None
        self._in_hidden = False
        try:
            nb, resources = super().preprocess(nb, resources, km=km)
        except SandboxUnavailable:
            raise
        except DeadKernelError as exc:
            stop = f"the kernel died ({exc})"
        except Exception as exc:  # a kernel that never started, or stopped answering
            km = self._sandbox_km
            if not any(c.get("execution_count") for c in nb.cells if c.cell_type == "code"):
                # nothing of the student's ran: the grading machine's fault, not a score of 0
                raise RuntimeError(f"the sandboxed kernel did not start ({type(exc).__name__}: {exc}); its log: "
                                   f"{getattr(km, 'log_tail', '')[-800:]!r}") from exc
            stop = f"the kernel failed: {type(exc).__name__}: {str(exc)[:200]}"
        km, self._sandbox_km = self._sandbox_km, None
        if getattr(km, "deadline_hit", False):
            stop = f"the notebook ran past its time limit of {km.wall_seconds:g} s"
        if stop and self._in_hidden:  # nothing of a hidden call (its source, its arguments) in any message
            stop = "the kernel stopped during the hidden tests"
        self._in_hidden = False
        if stop:
            self.log.warning("Grading of this notebook stopped: %s; the cells not run score 0.", stop)
            resources.setdefault("mlsyslab", {})["stopped"] = stop
        return nb, resources


class RepairMetadata(NbGraderPreprocessor):
    """First sanitize step: a submission's nbgrader metadata can never abort the batch.

    nbgrader stops the *whole* autograde on some metadata errors (a schema version too old or too
    new) and fails the student on others (a copy-pasted cell: duplicate ``grade_id``). Here a
    cell whose metadata nbgrader's own validator rejects, or an earlier copy of a ``grade_id`` (the
    last one is kept, as nbgrader's DeduplicateIds does), becomes an ordinary cell; test cells
    missing from the submission then score 0 (RescoreAnswers says so in the feedback)."""

    def preprocess(self, nb, resources):
        from nbgrader.nbgraderformat import MetadataValidator

        validator, seen, dropped = MetadataValidator(), set(), []
        for cell in reversed(nb.cells):
            meta = cell.get("metadata", {}).get("nbgrader")
            if meta is None:
                continue
            try:
                validator.validate_cell(cell)
                grade_id = meta.get("grade_id") if (meta["grade"] or meta["solution"] or meta["locked"]) else None
            except Exception as exc:  # any defect: nbgrader's schema errors, missing keys, wrong types
                dropped.append(f"{meta.get('grade_id', '?') if isinstance(meta, dict) else '?'} ({exc})"[:200])
                del cell.metadata["nbgrader"]
                continue
            if grade_id is not None and grade_id in seen:
                dropped.append(f"{grade_id} (a copy; the last copy is graded)")
                del cell.metadata["nbgrader"]
            elif grade_id is not None:
                seen.add(grade_id)
        if dropped:
            self.log.warning("Cells whose nbgrader metadata was dropped: %s", "; ".join(dropped))
        return nb, resources


def note_cell(text: str):
    """A markdown cell, first in the graded notebook, that the feedback shows."""
    return from_dict({"cell_type": "markdown", "metadata": {}, "source": f"**Grader's note:** {html.escape(text)}"})


def captured_answers(cell) -> tuple[dict, list]:
    """(answers captured by this cell's own outputs, reasons for the outputs refused): each output
    checked by :func:`~.answers.read_payload` (size, number of items, plain values); later captures
    override earlier ones."""
    answers, refused = {}, []
    for output in cell.get("outputs", [])[:200]:
        if output.get("output_type") not in ("display_data", "execute_result"):
            continue
        data = output.get("data", {})
        if not isinstance(data, dict) or ANSWERS_MIME not in data:
            continue
        found, reason = read_payload(data[ANSWERS_MIME])
        if reason:
            refused.append(reason)
        answers.update(found)
    return answers, refused


def _answer_from(cell, item_id: str):
    """The answer ``item_id`` captured by one hidden-call cell (None if none)."""
    return captured_answers(cell)[0].get(item_id)


def judge_item(key, item, answer) -> ItemScore:
    """Score one answer: refused by the channel (:func:`~.answers.typed_answer`), else by the rubric."""
    value = typed_answer(item, answer)
    if isinstance(value, Invalid):
        return ItemScore(item.id, item.label, 0.0, item.points, "invalid", f"`{item.id}`: {value}.", None)
    return score_item(item, value, key.expected[item.id], key.mistakes[item.id])


def score_cell(key, grade_id: str, cell, hidden: dict | None = None, solver: dict | None = None) -> tuple[float, list]:
    """(score, [ItemScore]) of one grade cell: its visible items from its own captured answers, hidden
    items from ``hidden`` (the grader's own calls), solver-allowed items from ``solver`` when given."""
    answers, _ = captured_answers(cell)
    hidden, scores = hidden or {}, []
    for item in key.items(grade_id):
        if item.id in key.hidden_ids:
            answer = hidden.get(item.id)
        elif solver is not None and item.id in key.solver_items:
            answer = solver.get(item.id)
        else:
            answer = answers.get(item.id)
        score = judge_item(key, item, answer)
        if item.id in key.hidden_ids:  # its label and answer name the configuration: never shown
            score = ItemScore(item.id, "hidden test", score.points, score.max_points, score.verdict, "", None)
        scores.append(score)
    return sum(s.points for s in scores), scores


def _rows(scores: list) -> list:
    """(label, points, max points, feedback) rows: visible items one each, hidden tests one line."""
    rows = [(s.label, s.points, s.max_points, s.feedback) for s in scores if s.label != "hidden test"]
    hidden = [s for s in scores if s.label == "hidden test"]
    if hidden:
        passed = sum(1 for s in hidden if s.points >= s.max_points)
        total, got = sum(s.max_points for s in hidden), sum(s.points for s in hidden)
        rows.append(("hidden tests", got, total, f"{total:g} points, {passed} of {len(hidden)} passed"))
    return rows


def feedback_outputs(grade_id: str, score: float, max_points: float, scores: list, note: str | None = None) -> list:
    rows = _rows(scores)
    rows_txt = [f"[{p:g}/{m:g}] {label}: {text}" for label, p, m, text in rows]
    rows_html = "".join(
        f"<tr><td>{html.escape(label)}</td><td>{p:g} / {m:g}</td>"
        f"<td>{html.escape(text)}</td></tr>" for label, p, m, text in rows)
    summary = f"Trusted score for {grade_id}: {score:g} / {max_points:g}" + (f". {note}" if note else "")
    feedback = {
        "output_type": "display_data", "metadata": {},
        "data": {
            "text/plain": "\n".join([summary] + rows_txt),
            "text/html": f"<p><b>{html.escape(summary)}</b></p><table><tr><th>Item</th><th>Points</th>"
                         f"<th>Feedback</th></tr>{rows_html}</table>",
            SCORES_MIME: {"grade_id": grade_id, "score": score, "max_points": max_points,
                          "items": [s.as_dict() for s in scores]},
        },
    }
    result = {"output_type": "execute_result", "metadata": {}, "execution_count": None,
              "data": {"text/plain": repr(round(float(score), 4))}}
    return [from_dict(feedback), from_dict(result)]


class RescoreAnswers(NbGraderPreprocessor):
    """Re-score the lab's grade cells in the grading process and rewrite their outputs."""

    def preprocess(self, nb: NotebookNode, resources: dict):
        notebook = resources.get("nbgrader", {}).get("notebook")
        key = lab_key(self, resources)
        if key is None and notebook not in keys.lab_names(course_root(self)):
            self.log.info("RescoreAnswers: %s is not an mlsyslab lab; left as is.", notebook)
            return nb, resources
        if key is None:  # never fall back to the kernel's own outputs: every grade cell scores 0
            self.log.error("RescoreAnswers: no lab %s for this course; every autograded cell scores 0.", notebook)
        reason = resources.get("mlsyslab", {}).get("stopped")
        stopped = f"Not run: grading stopped before this cell because {reason}." if reason else None
        found = set()
        for cell in nb.cells:
            if cell.cell_type != "code" or not is_grade(cell) or is_solution(cell):
                continue
            grade_id = cell.metadata.nbgrader["grade_id"]
            found.add(grade_id)
            max_points = float(cell.metadata.nbgrader.get("points", 0) or 0)
            if key is None or not key.items(grade_id):  # a test cell the key does not know scores nothing
                cell.outputs = feedback_outputs(grade_id, 0.0, max_points, [], note=stopped)
                continue
            info = resources.get("mlsyslab", {})
            score, scores = score_cell(key, grade_id, cell, info.get("hidden_answers"), info.get("solver_answers"))
            score = min(max(score * max_points / key.points(grade_id), 0.0), max_points)
            cell.outputs = feedback_outputs(grade_id, score, max_points, scores,
                                            note=stopped if cell.get("execution_count") is None else None)
        notes = [f"grading stopped early because {reason}; the cells not run score 0."] if reason else []
        missing = sorted(set(key.cells) - found) if key is not None else []
        if missing:
            notes.append(f"the test cells {', '.join(missing)} are missing from your submission (deleted, or "
                         "their metadata changed): they score 0.")
        if notes:
            nb.cells.insert(0, note_cell(" ".join(n[0].upper() + n[1:] for n in notes)))
        return nb, resources
