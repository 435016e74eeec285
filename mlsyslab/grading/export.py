"""Grades for an LMS gradebook (Canvas CSV import), read from nbgrader's gradebook.

:class:`CanvasExportPlugin` is an nbgrader export plugin, so the numbers are nbgrader's own
(autograded plus manual points, less any late penalty, as in ``nbgrader export``)::

    nbgrader export --exporter=mlsyslab.grading.export.CanvasExportPlugin --to canvas.csv
    mlsyslab grade export --canvas canvas.csv            # the same, from the course folder

The CSV has one row per student and one column per lab (its total points), in the layout of
Canvas' gradebook import: ``Student, ID, SIS User ID, SIS Login ID, Section, <lab>...``, then a
``Points Possible`` row. Students are matched on **SIS Login ID** = the nbgrader student id =
the hub username (fill ``ID`` / ``SIS User ID`` instead when your logins differ). A lab column
Canvas does not know yet becomes a new assignment. A student without a submission gets 0,
as in ``nbgrader export``.

Importing this module imports nbgrader (it is loaded by nbgrader, or by ``mlsyslab grade``).
"""

from __future__ import annotations

import csv

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import ExportPlugin

HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


def _points(value: float) -> str:
    """Points as Canvas shows them: 17, 6.5 (no float noise such as 6.500000000001)."""
    return f"{round(float(value), 2):g}"


def canvas_rows(gradebook: Gradebook, students=(), assignments=()) -> list[list[str]]:
    """Header, ``Points Possible`` row, one row per student (sorted by id)."""
    labs = [a for a in sorted(gradebook.assignments, key=lambda a: (a.duedate is None, a.duedate, a.name))
            if not assignments or a.name in assignments]
    rows = [HEADER + [a.name for a in labs],
            ["Points Possible", "", "", "", ""] + [_points(a.max_score) for a in labs]]
    for student in sorted(gradebook.students, key=lambda s: s.id):
        if students and student.id not in students:
            continue
        name = ", ".join(part for part in (student.last_name, student.first_name) if part) or student.id
        row = [name, "", "", student.id, ""]
        for lab in labs:
            try:
                sub = gradebook.find_submission(lab.name, student.id)
            except MissingEntry:
                row.append(_points(0))
            else:
                row.append(_points(max(0.0, sub.score - (sub.late_submission_penalty or 0.0))))
        rows.append(row)
    return rows


class CanvasExportPlugin(ExportPlugin):
    """``nbgrader export --exporter=mlsyslab.grading.export.CanvasExportPlugin [--to FILE]``."""

    def export(self, gradebook: Gradebook) -> None:
        dest = self.to or "canvas.csv"
        rows = canvas_rows(gradebook, [str(s) for s in self.student], [str(a) for a in self.assignment])
        self.log.info("Exporting grades for a Canvas gradebook import to %s (%d students, %d labs)",
                      dest, len(rows) - 2, len(rows[0]) - len(HEADER))
        with open(dest, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(rows)
