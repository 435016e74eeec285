"""``mlsyslab course``: set up an nbgrader course and write labs for it (docs/labs.md).

Usage::

    mlsyslab course init DIR [--force]                 # a complete course: config, every built-in lab, secret
    mlsyslab course new-lab NAME [--course DIR]        # <course>/labs/NAME.py, a working example, built
    mlsyslab course build [NAME ...] [--course DIR]    # source/<lab>/<lab>.ipynb from the lab sources

then ``mlsyslab grade release`` and ``mlsyslab grade autograde`` in the course folder.
"""

from __future__ import annotations

import pathlib


def register(subparsers) -> None:
    p = subparsers.add_parser("course", help="start an nbgrader course, scaffold and build its labs")
    sub = p.add_subparsers(dest="course_command", metavar="ACTION", required=True)
    i = sub.add_parser("init", help="create a complete course in DIR (nbgrader config, every built-in lab, "
                                    "the course secret)")
    i.add_argument("dir", help="the new course folder (must be new or empty)")
    i.add_argument("--force", action="store_true", help="write into a non-empty folder (labs/ and keys/ are kept)")
    i.set_defaults(func=_init)
    n = sub.add_parser("new-lab", help="scaffold a working example lab in <course>/labs/NAME.py and build it")
    n.add_argument("name", help="the lab's name: letters, digits and _ (e.g. lab10_decode)")
    n.add_argument("--course", default=None, help="course folder (default: the current folder when it is a course)")
    n.add_argument("--force", action="store_true", help="overwrite an existing labs/NAME.py with the example")
    n.set_defaults(func=_new_lab)
    b = sub.add_parser("build", help="build source/<lab>/<lab>.ipynb from the lab sources")
    b.add_argument("names", nargs="*", metavar="NAME", help="labs to build (default: every lab of the course)")
    b.add_argument("--course", default=None, help="course folder (default: the current folder when it is a course)")
    b.set_defaults(func=_build)


def _show(paths, course) -> None:
    for path in paths:
        try:
            print(pathlib.Path(path).resolve().relative_to(pathlib.Path(course).resolve().parent))
        except ValueError:
            print(path)


def _init(args) -> int:
    from ..labs import course

    paths = course.init(args.dir, force=args.force)
    _show(paths, args.dir)
    print(f"course ready in {args.dir}: cd {args.dir}; mlsyslab course new-lab my_lab; mlsyslab grade release")
    return 0


def _new_lab(args) -> int:
    from ..grading.course import find_course
    from ..labs import course

    home = find_course(args.course)
    paths = course.new_lab(args.name, home, force=args.force)
    _show(paths, home)
    print(f"edit {paths[0]}, then: mlsyslab course build {args.name}; mlsyslab grade release {args.name}")
    return 0


def _build(args) -> int:
    from ..grading.course import find_course
    from ..labs import course

    home = find_course(args.course)
    _show(course.build_all(home, args.names), home)
    return 0
