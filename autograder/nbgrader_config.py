"""nbgrader configuration of the mlsyslab course (run nbgrader from this folder).

Everything is set by :func:`mlsyslab.grading.config.configure`: the kernel runs in a sandbox,
scores are computed outside it (``TrustedExecute``, then ``RescoreAnswers`` re-scores the answers
each grade cell captured, in this process), student output is sanitized, and the course's
variants switch and seed are baked into released notebooks. See docs/instructors.md.
"""

from mlsyslab.grading.config import configure

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file
configure(c, course_id="mlsyslab", variants=True, seed="")
