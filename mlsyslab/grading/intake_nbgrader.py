"""nbgrader's own copying made safe: collect and autograde take regular files only (:mod:`.intake`).

:func:`install` (called by :func:`mlsyslab.grading.config.configure`, so plain ``nbgrader
autograde`` and ``nbgrader collect`` with our config get it too) patches three nbgrader steps:

* ``nbgrader collect``: an inbound entry whose student id is not valid, that is not a real folder
  (a link), or (when the id is a user of this machine) that another user made, is skipped with one
  line; the copy into ``submitted/`` is :func:`.intake.copy_tree` (no links, no special files, capped);
* ``nbgrader autograde``: before nbgrader reads ``submitted/<student>/<lab>/`` (its timestamp, its
  notebooks, the side files it copies to ``autograded/``), the folder is screened in place
  (:func:`.intake.screen_submission`): links, special files, hard links and anything past the caps
  are dropped with one line each; a notebook that was one of them is replaced by the blank lab with
  the reason (graded 0); an invalid student id stops that student alone with one line.
"""

from __future__ import annotations

import fnmatch
import os

from . import intake

_installed: list = []


def install() -> None:
    """Patch nbgrader's Autograde and ExchangeCollect (once per process)."""
    if _installed:
        return
    from nbgrader.converters.autograde import Autograde
    from nbgrader.converters.base import NbGraderException
    from nbgrader.exchange.default.collect import ExchangeCollect

    init_destination = Autograde.init_destination

    def safe_init_destination(self, assignment_id, student_id):
        if not intake.valid_student_id(student_id):
            raise NbGraderException(f"student id {intake.printable(student_id)!r} refused: ids are "
                                    f"{intake.STUDENT_ID_RULE}")
        folder = self.coursedir.format_path(self.coursedir.submitted_directory, student_id, assignment_id)
        release = self.coursedir.format_path(self.coursedir.release_directory, ".", assignment_id)
        for line in screen_submission(folder, release, self.coursedir.root):
            self.log.warning("%s/%s: %s", intake.printable(student_id), intake.printable(assignment_id), line)
        return init_destination(self, assignment_id, student_id)

    Autograde.init_destination = safe_init_destination

    init_src = ExchangeCollect.init_src

    def safe_init_src(self):
        init_src(self)
        kept = []
        for rec in self.src_records:
            why = _refuse_inbound(os.path.join(self.inbound_path, rec["filename"]), rec["username"])
            if why:
                self.log.warning("not collected: %s", why)
            else:
                kept.append(rec)
        self.src_records = kept

    ExchangeCollect.init_src = safe_init_src

    def safe_do_copy(self, src, dest, log=None):
        ignore = list(self.coursedir.ignore or [])
        include = list(self.coursedir.include or [])

        def skip(rel, is_dir):
            name = os.path.basename(rel)
            if any(fnmatch.fnmatch(name, g) for g in ignore):
                return True
            return not is_dir and include and not any(fnmatch.fnmatch(name, g) for g in include)

        try:
            original = set(os.listdir(src))
        except OSError:
            original = set()
        notes = intake.copy_tree(src, dest, skip=skip)
        for line in notes:
            self.log.warning("%s: %s", intake.printable(os.path.basename(src)), line)
        release = self.coursedir.format_path(self.coursedir.release_directory, ".", self.coursedir.assignment_id)
        _blank_for_refused(original, dest, release, notes)

    ExchangeCollect.do_copy = safe_do_copy
    _installed.append(True)


def _refuse_inbound(path: str, student: str) -> str:
    """'' if the inbound submission ``path`` of ``student`` may be collected, else why not (one line)."""
    shown = intake.printable(os.path.basename(path))
    if not intake.valid_student_id(student):
        return f"{shown}: student id {intake.printable(student)!r} is not {intake.STUDENT_ID_RULE}"
    try:
        st = os.lstat(path)
    except OSError as exc:
        return f"{shown}: {exc.strerror}"
    import stat

    if not stat.S_ISDIR(st.st_mode):
        return f"{shown}: {intake._kind(st.st_mode)}, not a folder"
    try:
        import pwd

        owner_uid = pwd.getpwnam(student).pw_uid
    except (ImportError, KeyError):
        return ""  # not a user of this machine (an external exchange): nbgrader's own owner warning applies
    if st.st_uid not in (owner_uid, os.geteuid()):
        return f"{shown}: made by uid {st.st_uid}, not by {student} (uid {owner_uid})"
    return ""


def screen_submission(folder: str, release: str | None = None, course_root: str | None = None) -> list[str]:
    """Make ``folder`` (``submitted/<student>/<lab>``) hold regular files only, within the caps of
    :mod:`.intake`; a notebook of ``release`` dropped on the way is replaced by the blank one with a
    note. Returns one line per thing dropped. Does nothing to a folder that is not there."""
    if not os.path.lexists(folder):
        return []
    notes: list[str] = []
    parent, name = os.path.split(os.path.normpath(folder))
    new, old = os.path.join(parent, f".{name}.screened"), os.path.join(parent, f".{name}.dropped")
    for stale in (new, old):
        intake.rmtree(stale)
    try:
        original = set(os.listdir(folder)) if not os.path.islink(folder) else set()
    except OSError:
        original = set()
    if os.path.islink(folder) or not os.path.isdir(folder):
        notes.append(f"{intake.printable(name)} is not a folder: dropped")
        os.makedirs(new)
    else:
        notes += intake.copy_tree(folder, new)
    os.rename(folder, old) if os.path.lexists(folder) else None
    os.rename(new, folder)
    intake.rmtree(old)
    timestamp = os.path.join(folder, "timestamp.txt")
    if os.path.isfile(timestamp) and os.path.getsize(timestamp) > 200:
        os.unlink(timestamp)
        notes.append("timestamp.txt: dropped (longer than 200 bytes)")
    _blank_for_refused(original, folder, release, notes)
    return notes


def _blank_for_refused(original: set, folder: str, release: str | None, notes: list) -> None:
    """Each released notebook that was in ``original`` but not copied into ``folder``: the blank one, with why."""
    if not (release and notes and os.path.isdir(release)):
        return
    for nb in sorted(os.listdir(release)):
        if nb.endswith(".ipynb") and nb in original and not os.path.exists(os.path.join(folder, nb)):
            why = "; ".join(n for n in notes if n.startswith(nb)) or "; ".join(notes)
            _write_blank(os.path.join(release, nb), os.path.join(folder, nb), why[:300])


def _write_blank(release_nb: str, dest: str, reason: str) -> None:
    import html

    import nbformat

    nb = nbformat.read(release_nb, 4)
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(
        f"**Grader's note:** your submission was refused ({html.escape(intake.printable(reason, 300))}); the blank lab "
        "was graded in its place (0 points). Submit the notebook itself, as a plain file."))
    nbformat.write(nb, dest)
