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
from .rubric import score_item


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


class TrustedExecute(Execute):
    """nbgrader's Execute, with the answer key computed first and kernel death tolerated."""

    def preprocess(self, nb, resources, km=None):
        lab_key(self, resources)  # computed (and cached) before any student code runs
        try:
            return super().preprocess(nb, resources, km=km)
        except DeadKernelError as exc:
            self.log.warning("The kernel died while executing the notebook (%s); cells not run score 0.", exc)
            return nb, resources


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


def feedback_outputs(grade_id: str, score: float, max_points: float, scores: list) -> list:
    rows_txt = [f"[{s.points:g}/{s.max_points:g}] {s.label}: {s.feedback}" for s in scores]
    rows_html = "".join(
        f"<tr><td>{html.escape(s.label)}</td><td>{s.points:g} / {s.max_points:g}</td>"
        f"<td>{html.escape(s.feedback)}</td></tr>" for s in scores)
    summary = f"Trusted score for {grade_id}: {score:g} / {max_points:g}"
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
        if key is None and notebook not in keys.LABS:
            self.log.info("RescoreAnswers: %s is not an mlsyslab lab; left as is.", notebook)
            return nb, resources
        if key is None:  # never fall back to the kernel's own outputs: every grade cell scores 0
            self.log.error("RescoreAnswers: no answer key %s in %s; every autograded cell scores 0.",
                           f"{notebook}.py", keys.keys_dir(course_root(self)))
        for cell in nb.cells:
            if cell.cell_type != "code" or not is_grade(cell) or is_solution(cell):
                continue
            grade_id = cell.metadata.nbgrader["grade_id"]
            max_points = float(cell.metadata.nbgrader.get("points", 0) or 0)
            if key is None or not key.items(grade_id):  # a test cell the key does not know scores nothing
                cell.outputs = feedback_outputs(grade_id, 0.0, max_points, [])
                continue
            score, scores = score_cell(key, grade_id, cell)
            score = min(max(score * max_points / key.points(grade_id), 0.0), max_points)
            cell.outputs = feedback_outputs(grade_id, score, max_points, scores)
        return nb, resources
