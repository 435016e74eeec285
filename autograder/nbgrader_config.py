"""nbgrader configuration of the mlsyslab course (run nbgrader from this folder).

Scores are computed outside the student's kernel: ``TrustedExecute`` runs the notebook, then
``RescoreAnswers`` re-scores the answers each grade cell captured, with a fresh solver in this
process, and rewrites the cell's outputs to one trusted score before ``SaveAutoGrades`` stores
it in the gradebook. See docs/instructors.md ("Tamper resistance").
"""

import os

from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, IgnorePattern, LimitOutput,
                                    SaveAutoGrades)

from mlsyslab.grading.preprocessors import RescoreAnswers, TrustedExecute

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.course_id = "mlsyslab"

# Student versions: solution regions become a comment, so a blank lab still runs top to bottom.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

c.Autograde.create_student = True
c.Autograde.autograde_preprocessors = [
    TrustedExecute,     # nbgrader's Execute + answer keys computed first + survives a dead kernel
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

# Per-student variants (docs/instructors.md, "Variants"): each student gets the lab's parameters
# drawn from its pool by student id; variants=False gives everyone the default variant; a new
# seed gives a new draw. Exported as MLSYSLAB_VARIANTS / MLSYSLAB_COURSE_SEED to this process and
# the kernels it starts, and baked into each released notebook's open_lab() call.
from mlsyslab.labs.release import BakeCourseSettings  # noqa: E402
from mlsyslab.labs.variants import configure_course  # noqa: E402

configure_course(variants=True, seed="")
c.GenerateAssignment.preprocessors.append(BakeCourseSettings)
