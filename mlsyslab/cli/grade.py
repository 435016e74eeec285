"""``mlsyslab grade``: release the labs and autograde submissions with nbgrader.

Usage::

    mlsyslab grade release [LAB]                # release/<lab>/<lab>.ipynb and the student copies
                                                # (student/ in a course; labs/ for the checkout's autograder/)
    mlsyslab grade variant LAB --student ID [--json]   # a student's parameters (per-student variants)
    mlsyslab grade autograde SUBMISSIONS_DIR    # SUBMISSIONS_DIR/<student>/<lab>.ipynb
        [--out grading-output]                  # grades.csv (per item), gradebook.csv (nbgrader export),
                                                # feedback/<student>/<lab>.html, logs/
        [--jobs N] [--no-sandbox]               # N sandboxed kernels at once; --no-sandbox: UNSAFE opt-out
    mlsyslab grade autograde LAB [--jobs N]     # on a hub: what `nbgrader collect LAB` put in submitted/
    mlsyslab grade export [--to canvas.csv]     # Canvas gradebook CSV: a row per student, a column per lab
    --course DIR                                # the nbgrader course (default: the current folder when it is
                                                # one, else ./autograder, else the checkout's)
"""

from __future__ import annotations

import pathlib


def register(subparsers) -> None:
    p = subparsers.add_parser("grade", help="release the lab notebooks / autograde submissions (nbgrader)")
    sub = p.add_subparsers(dest="grade_command", metavar="ACTION", required=True)
    r = sub.add_parser("release", help="generate the student versions (nbgrader generate_assignment) and copy them "
                                       "to the student folder")
    r.add_argument("lab", nargs="?", default=None, help="one lab of source/ (default: every lab there)")
    r.add_argument("--course", default=None, help="nbgrader course folder (default: ., ./autograder, else the checkout's)")
    r.add_argument("--labs-dir", default=None, help="where the student copies go (default: <course>/student; the "
                                                    "checkout's labs/ for its autograder/)")
    r.set_defaults(func=_release)
    a = sub.add_parser("autograde", help="autograde a folder of <student>/<lab>.ipynb; write a CSV and HTML feedback")
    a.add_argument("submissions", help="folder holding <student>/<lab>.ipynb, or a lab name: grade what "
                                       "`nbgrader collect LAB` put in the course's submitted/ (on a hub)")
    a.add_argument("--out", default="grading-output", help="where grades.csv and feedback/ go (default: %(default)s)")
    a.add_argument("--course", default=None, help="nbgrader course folder (default: ./autograder, else the checkout's)")
    a.add_argument("--jobs", "-j", type=int, default=1, metavar="N",
                   help="grade N submissions at once, each in its own sandbox (default: %(default)s)")
    a.add_argument("--no-sandbox", action="store_true",
                   help="UNSAFE: run student kernels unsandboxed, as you (only where bubblewrap cannot run; "
                        "same as MLSYSLAB_UNSAFE_NO_SANDBOX=1)")
    a.set_defaults(func=_autograde)
    e = sub.add_parser("export", help="grades for an LMS gradebook import: Canvas CSV, one row per student, "
                                      "one column per lab (nbgrader's totals)")
    e.add_argument("--to", default="canvas.csv", help="CSV file to write (default: %(default)s)")
    e.add_argument("--course", default=None, help="nbgrader course folder (default: ./autograder, else the checkout's)")
    e.set_defaults(func=_export)
    v = sub.add_parser("variant", help="a student's parameters for a lab (per-student variants; for regrade questions)")
    v.add_argument("lab", help="lab name, e.g. lab2_kv_cache")
    v.add_argument("--student", required=True, help="the student id (nbgrader / JupyterHub user name)")
    v.add_argument("--json", action="store_true", help="print JSON instead of one line")
    v.add_argument("--course", default=None, help="nbgrader course folder whose variant switch and seed apply")
    v.set_defaults(func=_variant)


def _release(args) -> int:
    from ..grading import course

    from ..labs.build import student_dir

    home = course.find_course(args.course)
    labs_dir = pathlib.Path(args.labs_dir).resolve() if args.labs_dir else student_dir(home)
    for path in course.release(course=home, labs_dir=labs_dir, names=[args.lab] if args.lab else None):
        print(f"released {path} -> {labs_dir / path.name}")
    return 0


def _autograde(args) -> int:
    from ..grading import course

    if args.jobs < 1:
        from ..errors import ValidationError

        raise ValidationError(f"jobs={args.jobs} must be at least 1.", field="jobs", value=args.jobs,
                              allowed="an integer >= 1")
    if args.submissions in course.lab_names(_course_or_none(args.course)) \
            and not pathlib.Path(args.submissions).is_dir():  # a lab name
        return _autograde_collected(args)  # grade what `nbgrader collect` put in the course (a hub)
    csv_path = course.autograde(args.submissions, args.out, course=course.find_course(args.course), jobs=args.jobs,
                                sandbox=not args.no_sandbox)
    print(f"per-item scores: {csv_path}; nbgrader totals: {csv_path.parent / 'gradebook.csv'}; "
          f"feedback: {csv_path.parent / 'feedback'}")
    return 0


def _course_or_none(given):
    from ..errors import ValidationError
    from ..grading import course

    try:
        return course.find_course(given)
    except ValidationError:
        return None


def _autograde_collected(args) -> int:
    from ..grading import course
    from ..grading.collected import autograde_collected

    home = course.find_course(args.course)
    logs = pathlib.Path(args.out).resolve() / "logs"
    results = autograde_collected(args.submissions, home, jobs=args.jobs, sandbox=not args.no_sandbox, log_dir=logs)
    failed = {student: error for student, error in results.items() if error}
    print(f"{args.submissions}: {len(results) - len(failed)} of {len(results)} collected submissions graded "
          f"({args.jobs} at once) into {home / 'gradebook.db'}; feedback in {home / 'feedback'}; logs: {logs}")
    for student, error in sorted(failed.items()):
        from ..grading.intake import printable  # no escape sequence reaches the terminal

        print(f"NOT GRADED {printable(student)}: {printable(error.strip().splitlines()[-1]) if error.strip() else 'error'}")
    return 1 if failed else 0


def _export(args) -> int:
    from ..grading import course

    dest = pathlib.Path(args.to).resolve()  # nbgrader runs in the course folder
    home = course.find_course(args.course)
    course.require_released(home)  # nbgrader would create an empty gradebook and export nothing
    course.nbgrader("export", "--exporter=mlsyslab.grading.export.CanvasExportPlugin", "--to", str(dest),
                    course=home)
    print(f"Canvas gradebook CSV (one row per student, one column per lab): {dest}")
    return 0


def _variant(args) -> int:
    import json

    from ..errors import ValidationError
    from ..labs import variants

    from ..grading.course import find_course

    try:  # a course's variant switch, seed and own labs; a built-in lab needs no course
        home = find_course(args.course)
    except ValidationError:
        if args.course:
            raise
        home = None
    if home is not None:
        variants.load_course_settings(home)
    v = variants.variant(args.lab, args.student, course=home)
    on, seed = variants.settings()
    params = {k: val for k, val in v.items() if k != "variant"}
    if args.json:
        print(json.dumps({"lab": args.lab, "student": args.student, "variant": v["variant"],
                          "pool_size": len(variants.spec(args.lab, home).POOL), "variants": on, "seed": seed,
                          "parameters": params}))
    else:
        shown = ", ".join(f"{k} = {val}" for k, val in params.items()) or "(the lab has one variant)"
        print(f"{args.lab}, student {args.student!r}: variant {v['variant']} of {len(variants.spec(args.lab, home).POOL)}"
              f" (variants {'on' if on else 'off'}, course seed {seed!r}): {shown}")
    return 0
