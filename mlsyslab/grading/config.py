"""One function that configures an nbgrader course for mlsyslab labs.

A course's ``nbgrader_config.py`` is two lines::

    from mlsyslab.grading.config import configure
    configure(get_config(), course_id="my-course")

:func:`configure` sets the trusted pipeline (sandboxed execution, sanitizing, trusted re-scoring),
the sandbox limits, the course's variants switch and seed, and the release step that bakes them
into the students' notebooks. Keyword arguments override the defaults; everything stays plain
nbgrader configuration, so a course may change any of it after the call.
"""

from __future__ import annotations

import os

#: per-notebook sandbox limits (docs/instructors.md, "Sandbox")
LIMITS = dict(wall_seconds=300, memory_mb=4096, processes=256, file_size_mb=64, cpu_seconds=600, tmp_mb=256)


def configure(c, *, root: str | None = None, course_id: str = "mlsyslab", variants: bool = True, seed: str = "",
              limits: dict | None = None, refuse_without_sandbox: bool = True):
    """Fill the nbgrader config object ``c`` for an mlsyslab course rooted at ``root`` (default: the
    folder of the calling ``nbgrader_config.py``, i.e. the working directory nbgrader runs in)."""
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, ClearOutput, IgnorePattern,
                                        LimitOutput, OverwriteCells, OverwriteKernelspec, SaveAutoGrades)

    from ..labs.release import BakeCourseSettings
    from ..labs.variants import configure_course
    from .preprocessors import RepairMetadata, RescoreAnswers, TrustedExecute
    from .sandbox import refuse_unless_sandboxed
    from .sanitize import SanitizeOutputs

    c.CourseDirectory.root = os.path.abspath(root) if root else _caller_folder()
    c.CourseDirectory.course_id = course_id

    # Student versions: solution regions become a comment, so a blank lab still runs top to bottom.
    c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE"}
    c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

    c.Autograde.create_student = True
    # nbgrader's sanitize steps, with RepairMetadata first and in place of DeduplicateIds: a copy-pasted
    # test cell or broken nbgrader metadata fails no one else (nbgrader would abort the whole batch).
    c.Autograde.sanitize_preprocessors = [ClearOutput, RepairMetadata, OverwriteKernelspec, OverwriteCells,
                                          CheckCellMetadata]
    c.Autograde.autograde_preprocessors = [
        TrustedExecute,     # nbgrader's Execute, kernel in a bwrap sandbox, key computed first, survives a dead kernel
        SanitizeOutputs,    # student HTML cleaned, scripts/SVG dropped, printed hidden tests redacted
        RescoreAnswers,     # trusted re-scoring: replaces each grade cell's outputs by the score
        IgnorePattern,
        ClearMetadataPreprocessor,
        LimitOutput,
        SaveAutoGrades,
        AssignLatePenalties,
        CheckCellMetadata,
    ]
    c.Execute.timeout = 60
    c.Execute.execute_retries = 0

    # The student's kernel runs in a bubblewrap sandbox (docs/instructors.md, "Sandbox"). Without a
    # working bwrap, `nbgrader autograde` refuses; MLSYSLAB_UNSAFE_NO_SANDBOX=1 grades unsandboxed.
    if refuse_without_sandbox:
        refuse_unless_sandboxed()
    # collect and autograde take regular files only: no links, FIFOs or hard links, capped (intake.py)
    from .intake_nbgrader import install as guard_intake

    guard_intake()
    for name, value in {**LIMITS, **(limits or {})}.items():
        setattr(c.SandboxedKernelManager, name, value)
    # feedback and formgrader pages: allow-listed student content, CSP nonces, files as downloads,
    # the autograde button in a child process (mlsyslab/grading/webpage.py)
    from .webpage import SafeHTMLExporter, harden_formgrader

    c.GenerateFeedback.exporter_class = SafeHTMLExporter
    harden_formgrader()

    # Per-student variants (docs/instructors.md, "Variants"), exported as MLSYSLAB_VARIANTS /
    # MLSYSLAB_COURSE_SEED to this process and its kernels, and baked into each released notebook.
    configure_course(variants=variants, seed=seed)
    steps = c.GenerateAssignment.preprocessors  # a LazyConfigValue while unset (a fresh config): append is lazy
    if not isinstance(steps, list) or BakeCourseSettings not in steps:
        steps.append(BakeCourseSettings)
    return c


def _caller_folder() -> str:
    """The folder of the nbgrader_config.py that called :func:`configure` (else the working directory)."""
    import inspect

    for frame in inspect.stack()[2:]:
        if os.path.basename(frame.filename) == "nbgrader_config.py":
            return os.path.dirname(os.path.abspath(frame.filename))
    return os.getcwd()
