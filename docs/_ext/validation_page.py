"""The validation page is regenerated from the measurements at every build.

``docs/validation.md`` is written by ``python -m mlsyslab.calibration.validate --markdown``
(owned by the calibration code). When that module offers ``validate()`` and
``format_markdown(report)``, the page's text is replaced at ``source-read`` by a fresh run, so
the measured-vs-predicted table and its median errors always match the shipped calibration;
the committed file is left untouched (it is what GitHub shows).
"""

from __future__ import annotations

from sphinx.util import logging

logger = logging.getLogger(__name__)


def regenerate(app, docname, source):
    if docname != "validation":
        return
    try:
        from mlsyslab.calibration import validate as v
    except ImportError:
        return
    if not (hasattr(v, "validate") and hasattr(v, "format_markdown")):
        return
    fresh = v.format_markdown(v.validate())
    if fresh.strip() != source[0].strip():
        logger.info("validation.md regenerated from the current calibration (the committed copy is stale)")
    source[0] = fresh
    app.env.note_reread()


def setup(app):
    app.connect("source-read", regenerate)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
