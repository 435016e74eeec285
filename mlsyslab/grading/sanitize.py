"""Make a student's executed notebook safe to show: in feedback, in formgrader, to the instructor.

:class:`SanitizeOutputs` (an nbgrader preprocessor, run right after execution) rewrites every
output the student's kernel produced and every markdown cell the student wrote:

* HTML is cleaned with ``bleach`` to an allow-list of formatting tags without attributes that
  run code (no ``<script>``, ``<iframe>``, ``<img onerror>``, ``javascript:`` links, styles);
* JavaScript, SVG, LaTeX and Markdown outputs are dropped (their ``text/plain`` stays), and so is
  any forged score output (:data:`~mlsyslab.grading.answers.SCORES_MIME`);
* any line of the hidden tests that a cell printed (e.g. read back from the kernel's history) is
  replaced by ``[hidden test]``, so the released feedback never shows them.
"""

from __future__ import annotations

import re

import bleach
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade

from .answers import SCORES_MIME

SAFE_TAGS = frozenset({"a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "div", "dl", "dt", "em",
                       "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "li", "ol", "p", "pre", "small", "span",
                       "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul"})
SAFE_ATTRIBUTES = {"a": ["href", "title"], "td": ["colspan", "rowspan"], "th": ["colspan", "rowspan"],
                   "abbr": ["title"]}
DROPPED_MIME = ("application/javascript", "text/javascript", "application/ecmascript", "image/svg+xml",
                "text/latex", "text/markdown", "application/vnd.jupyter.widget-view+json",
                SCORES_MIME)  # scores are written by the grader only, after this runs
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)
REDACTED = "[hidden test]"


def clean_html(text: str) -> str:
    """``text`` with only :data:`SAFE_TAGS` kept (others escaped or stripped), links http(s) only."""
    return bleach.clean(text, tags=SAFE_TAGS, attributes=SAFE_ATTRIBUTES, protocols=["http", "https"], strip=True,
                        strip_comments=True)


def hidden_lines(nb) -> list[str]:
    """Non-trivial lines of the hidden tests in this notebook's grade cells (longest first)."""
    lines = set()
    for cell in nb.cells:
        if cell.cell_type == "code" and is_grade(cell):
            for block in HIDDEN.findall(cell.source):
                lines.update(s.strip() for s in block.splitlines() if len(s.strip()) >= 8)
    return sorted(lines, key=len, reverse=True)


def _redact(text, secrets):
    if isinstance(text, list):
        text = "".join(text)
    if not isinstance(text, str):
        return text
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


class SanitizeOutputs(NbGraderPreprocessor):
    """Clean HTML, drop active content and redact hidden tests in every output and markdown cell."""

    def preprocess(self, nb, resources):
        secrets = hidden_lines(nb)
        for cell in nb.cells:
            if cell.cell_type == "markdown" and "<" in cell.source:
                cell.source = clean_html(cell.source)
            if cell.cell_type == "markdown":
                cell.pop("attachments", None)
            for output in cell.get("outputs", []):
                self._output(output, secrets)
        return nb, resources

    @staticmethod
    def _output(output, secrets) -> None:
        if "text" in output:
            output["text"] = _redact(output["text"], secrets)
        if output.get("output_type") == "error":
            output["evalue"] = _redact(output.get("evalue", ""), secrets)
            output["traceback"] = [_redact(line, secrets) for line in output.get("traceback", [])]
        data = output.get("data")
        if not data:
            return
        for mime in DROPPED_MIME:
            data.pop(mime, None)
        if "text/html" in data:
            data["text/html"] = clean_html(_redact(data["text/html"], secrets))
        if "text/plain" in data:
            data["text/plain"] = _redact(data["text/plain"], secrets)
        if not data:
            data["text/plain"] = "[output removed: active content]"
