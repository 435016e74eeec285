"""``mlsyslab grade``: release the labs and autograde submissions with nbgrader.

Usage::

    mlsyslab grade release                      # autograder/release/* and labs/*.ipynb
    mlsyslab grade autograde SUBMISSIONS_DIR    # SUBMISSIONS_DIR/<student>/<lab>.ipynb
        [--out grading-output]                  # grades.csv (per item), gradebook.csv (nbgrader export),
                                                # feedback/<student>/<lab>.html
    mlsyslab grade export [--to canvas.csv]     # Canvas gradebook CSV: a row per student, a column per lab
    --course DIR                                # the nbgrader course (default ./autograder, or the checkout's)
"""

from __future__ import annotations

import pathlib


def register(subparsers) -> None:
    p = subparsers.add_parser("grade", help="release the lab notebooks / autograde submissions (nbgrader)")
    sub = p.add_subparsers(dest="grade_command", metavar="ACTION", required=True)
    r = sub.add_parser("release", help="generate the student versions (nbgrader generate_assignment) into labs/")
    r.add_argument("--course", default=None, help="nbgrader course folder (default: ./autograder, else the checkout's)")
    r.add_argument("--labs-dir", default=None, help="where the student versions go (default: labs/ beside the course)")
    r.set_defaults(func=_release)
    a = sub.add_parser("autograde", help="autograde a folder of <student>/<lab>.ipynb; write a CSV and HTML feedback")
    a.add_argument("submissions", help="folder holding <student>/<lab>.ipynb")
    a.add_argument("--out", default="grading-output", help="where grades.csv and feedback/ go (default: %(default)s)")
    a.add_argument("--course", default=None, help="nbgrader course folder (default: ./autograder, else the checkout's)")
    a.set_defaults(func=_autograde)
    e = sub.add_parser("export", help="grades for an LMS gradebook import: Canvas CSV, one row per student, "
                                      "one column per lab (nbgrader's totals)")
    e.add_argument("--to", default="canvas.csv", help="CSV file to write (default: %(default)s)")
    e.add_argument("--course", default=None, help="nbgrader course folder (default: ./autograder, else the checkout's)")
    e.set_defaults(func=_export)


def _release(args) -> int:
    from ..grading import course

    home = course.find_course(args.course)
    labs_dir = args.labs_dir or home.parent / "labs"
    for path in course.release(course=home, labs_dir=pathlib.Path(labs_dir)):
        print(f"released {path} -> {pathlib.Path(labs_dir) / path.name}")
    return 0


def _autograde(args) -> int:
    from ..grading import course

    csv_path = course.autograde(args.submissions, args.out, course=course.find_course(args.course))
    print(f"per-item scores: {csv_path}; nbgrader totals: {csv_path.parent / 'gradebook.csv'}; "
          f"feedback: {csv_path.parent / 'feedback'}")
    return 0


def _export(args) -> int:
    from ..grading import course

    dest = pathlib.Path(args.to).resolve()  # nbgrader runs in the course folder
    course.nbgrader("export", "--exporter=mlsyslab.grading.export.CanvasExportPlugin", "--to", str(dest),
                    course=course.find_course(args.course))
    print(f"Canvas gradebook CSV (one row per student, one column per lab): {dest}")
    return 0
