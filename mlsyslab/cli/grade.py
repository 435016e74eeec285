"""``mlsyslab grade``: release the labs and autograde submissions with nbgrader.

    mlsyslab grade release                      # autograder/release/* and labs/*.ipynb
    mlsyslab grade autograde SUBMISSIONS_DIR    # SUBMISSIONS_DIR/<student>/<lab>.ipynb
        [--out grading-output]                  # grades.csv + feedback/<student>/<lab>.html
"""

from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser("grade", help="release the lab notebooks / autograde submissions (nbgrader)")
    sub = p.add_subparsers(dest="grade_command", metavar="ACTION", required=True)
    r = sub.add_parser("release", help="generate the student versions (nbgrader generate_assignment) into labs/")
    r.set_defaults(func=_release)
    a = sub.add_parser("autograde", help="autograde a folder of <student>/<lab>.ipynb; write a CSV and HTML feedback")
    a.add_argument("submissions", help="folder holding <student>/<lab>.ipynb")
    a.add_argument("--out", default="grading-output", help="where grades.csv and feedback/ go (default: %(default)s)")
    a.set_defaults(func=_autograde)


def _release(args) -> int:
    from ..grading import course

    for path in course.release():
        print(f"released {path.relative_to(course.ROOT)}")
    return 0


def _autograde(args) -> int:
    from ..grading import course

    csv_path = course.autograde(args.submissions, args.out)
    print(f"per-item scores: {csv_path}; feedback: {csv_path.parent / 'feedback'}")
    return 0
