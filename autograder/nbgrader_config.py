"""nbgrader configuration of the mlsyslab course (run nbgrader from this folder).

Scores are computed outside the student's kernel: ``TrustedExecute`` runs the notebook, then
``RescoreAnswers`` re-scores the answers each grade cell captured, with a fresh solver in this
process, and rewrites the cell's outputs to one trusted score before ``SaveAutoGrades`` stores
it in the gradebook. See docs/instructors.md ("Tamper resistance", "Sandbox", "Threat model").
"""

import os

from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, ClearOutput, IgnorePattern, LimitOutput,
                                    OverwriteCells, OverwriteKernelspec, SaveAutoGrades)

from mlsyslab.grading.preprocessors import RepairMetadata, RescoreAnswers, TrustedExecute
from mlsyslab.grading.sandbox import refuse_unless_sandboxed
from mlsyslab.grading.sanitize import SanitizeOutputs

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.course_id = "mlsyslab"

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

# The student's kernel runs in a bubblewrap sandbox (docs/instructors.md, "Sandbox"): no network,
# no course folder, private /tmp and HOME, its own PID namespace; limits per notebook below. Without
# a working bwrap, `nbgrader autograde` refuses; MLSYSLAB_UNSAFE_NO_SANDBOX=1 grades unsandboxed.
refuse_unless_sandboxed()
c.SandboxedKernelManager.wall_seconds = 300      # whole notebook, from kernel start
c.SandboxedKernelManager.memory_mb = 4096        # address space per process
c.SandboxedKernelManager.processes = 256         # processes + threads
c.SandboxedKernelManager.file_size_mb = 64       # largest file written
c.SandboxedKernelManager.cpu_seconds = 600       # CPU time per process
c.SandboxedKernelManager.tmp_mb = 256            # private /tmp and HOME, each
c.HTMLExporter.sanitize_html = True              # feedback / formgrader HTML: belt and braces

# Per-student variants (docs/instructors.md, "Variants"): each student gets the lab's parameters
# drawn from its pool by student id; variants=False gives everyone the default variant; a new
# seed gives a new draw. Exported as MLSYSLAB_VARIANTS / MLSYSLAB_COURSE_SEED to this process and
# the kernels it starts, and baked into each released notebook's open_lab() call.
from mlsyslab.labs.release import BakeCourseSettings  # noqa: E402
from mlsyslab.labs.variants import configure_course  # noqa: E402

configure_course(variants=True, seed="")
c.GenerateAssignment.preprocessors.append(BakeCourseSettings)
