"""nbgrader preprocessors that take scoring out of the student's kernel.

Configured in ``autograder/nbgrader_config.py``::

    c.Autograde.autograde_preprocessors = [TrustedExecute, RescoreAnswers, IgnorePattern,
        ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]

* :class:`TrustedExecute` is nbgrader's ``Execute`` that first computes every answer key (so
  nothing the student's code does afterwards can change them) and survives a kernel that dies
  (``os._exit``): the cells not executed simply record no answers.
* :class:`RescoreAnswers` reads, in each autograder-test cell of a lab, only the answers that
  cell captured (:data:`~mlsyslab.grading.answers.ANSWERS_MIME`), scores them with the key and
  **replaces the cell's outputs** by feedback and one ``execute_result`` holding the score -
  what nbgrader's ``SaveAutoGrades`` then stores in the gradebook. Whatever the kernel printed,
  raised or patched is discarded.
"""

from __future__ import annotations

import html
import json
import os

from nbclient.exceptions import DeadKernelError
from nbformat.notebooknode import NotebookNode, from_dict
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from nbgrader.utils import is_grade, is_solution

from . import keys
from .answers import ANSWERS_MIME, SCORES_MIME
from .intake_outputs import CappedOutputs
from .rubric import score_item
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

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(*args, **kwargs)

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        if isinstance(km, SandboxedKernelManager):
            km.student = str(self._student or "")
        self._sandbox_km = km  # nbclient drops self.km when the kernel is cleaned up
        return km

    def preprocess(self, nb, resources, km=None):
        self._student = resources.get("nbgrader", {}).get("student")
        lab_key(self, resources)  # computed (and cached) before any student code runs
        stop = None
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


def captured_answers(cell) -> dict:
    """Answers captured by this cell's own outputs (later captures override earlier ones)."""
    answers = {}
    for output in cell.get("outputs", []):
        if output.get("output_type") not in ("display_data", "execute_result"):
            continue
        payload = output.get("data", {}).get(ANSWERS_MIME)
        if isinstance(payload, str):
            try:
                payload = json.loads(payload)
            except ValueError:
                continue
        if isinstance(payload, dict) and isinstance(payload.get("answers"), dict):
            answers.update(payload["answers"])
    return answers


def score_cell(key, grade_id: str, cell) -> tuple[float, list]:
    """(score, [ItemScore]) of one grade cell from its captured answers."""
    answers = captured_answers(cell)
    scores = [score_item(item, answers.get(item.id), key.expected[item.id], key.mistakes[item.id])
              for item in key.items(grade_id)]
    return sum(s.points for s in scores), scores


def feedback_outputs(grade_id: str, score: float, max_points: float, scores: list, note: str | None = None) -> list:
    rows_txt = [f"[{s.points:g}/{s.max_points:g}] {s.label}: {s.feedback}" for s in scores]
    rows_html = "".join(
        f"<tr><td>{html.escape(s.label)}</td><td>{s.points:g} / {s.max_points:g}</td>"
        f"<td>{html.escape(s.feedback)}</td></tr>" for s in scores)
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
            self.log.error("RescoreAnswers: no answer key %s in %s; every autograded cell scores 0.",
                           f"{notebook}.py", keys.keys_dir(course_root(self)))
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
            score, scores = score_cell(key, grade_id, cell)
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
