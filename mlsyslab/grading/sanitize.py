"""Make a student's executed notebook safe to show: in feedback, in formgrader, to the instructor.

Every byte a student controls reaches a page only through an allow-list:

* :func:`clean_html` keeps the tags of :data:`SAFE_TAGS`, the attributes of :data:`SAFE_ATTRIBUTES`
  and ``http``/``https`` (or relative) URLs; everything else (``<script>``, ``<svg>``, ``<iframe>``,
  event handlers, ``style``, ``javascript:``/``data:`` URLs) is dropped. Its cost is bounded
  before any parsing: a fragment longer than :data:`MAX_HTML_CHARS` is cut there, and one whose
  tags nest deeper than :data:`MAX_DEPTH` or number more than :data:`MAX_TAGS` is shown as
  escaped text instead (an html5 parser is quadratic in the nesting depth); markdown is cut at
  :data:`MAX_MARKDOWN_CHARS` before it is rendered and shown as text past :data:`MAX_MARKDOWN_MARKS`; per notebook, :data:`MAX_HTML_TOTAL` characters of
  HTML outputs and :data:`MAX_MARKDOWN_TOTAL` of markdown are rendered, the rest shown as text;
* :func:`safe_output` keeps an output's allowed MIME types (:data:`SHOWN_MIME`, plus the
  grader's captured answers) and only a typed allow-list of its metadata (an image's ``width``
  and ``height`` as integers of 1 to :data:`MAX_PIXELS`);
* :func:`safe_notebook` does the same to a whole notebook before it is rendered (cell
  metadata: only validated nbgrader fields; attachments dropped; execution counts integers;
  notebook metadata: only the language's name).

:class:`SanitizeOutputs` (an nbgrader preprocessor, run right after execution) applies
:func:`safe_output` and :func:`clean_html` to what the kernel produced and the student wrote, and
replaces any line of the hidden tests that a cell printed by ``[hidden test]``. The page itself is
rendered by :class:`mlsyslab.grading.webpage.SafeHTMLExporter`, which sanitizes again at render time.
"""

from __future__ import annotations

import base64
import binascii
import html
import re

from nbgrader.preprocessors import NbGraderPreprocessor

from .answers import ANSWERS_MIME

SAFE_TAGS = frozenset({"a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "div", "dl", "dt",
                       "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "ol", "p",
                       "pre", "q", "s", "samp", "small", "span", "strong", "sub", "sup", "table", "tbody", "td",
                       "tfoot", "th", "thead", "tr", "tt", "u", "ul", "var"})
SAFE_ATTRIBUTES = {"*": {"class", "title"}, "a": {"href"}, "abbr": {"title"}, "img": {"src", "alt", "width", "height"},
                   "td": {"colspan", "rowspan", "align"}, "th": {"colspan", "rowspan", "align"}, "ol": {"start"}}
SAFE_SCHEMES = frozenset({"http", "https"})
#: one fragment (an output's HTML, a markdown cell): longer is cut before parsing
MAX_HTML_CHARS = 200_000
#: one markdown source: longer is cut before rendering (the markdown parser is superlinear on crafted input)
MAX_MARKDOWN_CHARS = 10_000
#: one markdown source with more of the marks mistune is quadratic in (``* _ [ ] ` $``) is shown as text
MAX_MARKDOWN_MARKS = 1_000
#: per notebook: student HTML (outputs) and markdown rendered in all; past these, shown as text only
MAX_HTML_TOTAL = 2_000_000
MAX_MARKDOWN_TOTAL = 100_000
#: per notebook page: cells and outputs shown; each cell counts this many characters of its budget
MAX_CELLS = 2_000
MAX_OUTPUTS = 5_000
CELL_COST = 100
#: deeper nesting / more tags than this and the fragment is shown as escaped text, never parsed
MAX_DEPTH = 64
MAX_TAGS = 20_000
#: what of an HTML fragment refused by the caps is shown (as text)
MAX_TEXT_CHARS = 20_000
#: image outputs: base64 payload cap and the largest width/height kept from their metadata
MAX_IMAGE_CHARS = 16 * 2**20
MAX_PIXELS = 10_000
#: MIME types a page shows; image/svg+xml, JavaScript, LaTeX, Markdown, widgets ... are dropped
SHOWN_MIME = ("text/plain", "text/html", "image/png", "image/jpeg")
IMAGE_MIME = ("image/png", "image/jpeg")
OUTPUT_TYPES = ("stream", "display_data", "execute_result", "error")
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)
REDACTED = "[hidden test]"
_NAME = re.compile(r"[A-Za-z0-9_.+-]{1,64}")
_CELL_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_TAG = re.compile(r"<(/?)([A-Za-z][^\s/>]*)[^>]*?(/?)>|<!--.*?-->", re.S)
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
                   "track", "wbr", "keygen", "frame", "basefont", "isindex"})
_B64 = re.compile(r"[A-Za-z0-9+/=\s]*")
NBGRADER_KEYS = {"grade": bool, "solution": bool, "locked": bool, "task": bool, "grade_id": str, "points": (int, float),
                 "schema_version": int, "cell_type": str, "checksum": str, "score": (int, float, type(None)),
                 "comment": (str, type(None))}


def _too_complex(text: str) -> str | None:
    """Why ``text`` must not be parsed (nesting or number of tags over the caps), else None.

    A linear scan that keeps its own stack of open tags: a closing tag pops only a tag it
    finds open (as an html5 parser ignores a stray one), so ``<div></b>`` x N counts N deep."""
    stack, tags = [], 0
    for match in _TAG.finditer(text):
        closing, name, selfclose = match.group(1), (match.group(2) or "").lower(), match.group(3)
        if not name:
            continue
        tags += 1
        if tags > MAX_TAGS:
            return f"more than {MAX_TAGS} tags"
        if closing:
            if name in stack:
                del stack[len(stack) - 1 - stack[::-1].index(name):]
        elif name not in _VOID and not selfclose:
            stack.append(name)
            if len(stack) > MAX_DEPTH:
                return f"tags nested more than {MAX_DEPTH} deep"
    return None


def as_text(text: str, why: str) -> str:
    """HTML showing ``text`` as escaped plain text with a one-line note."""
    cut = text[:MAX_TEXT_CHARS]
    more = f" (first {MAX_TEXT_CHARS} characters)" if len(text) > MAX_TEXT_CHARS else ""
    return f"<p><em>[HTML shown as text: {html.escape(why)}{more}]</em></p><pre>{html.escape(cut)}</pre>"


def clean_html(text) -> str:
    """``text`` with only :data:`SAFE_TAGS`/:data:`SAFE_ATTRIBUTES` kept, URLs http(s) or relative;
    bounded: cut at :data:`MAX_HTML_CHARS`, shown as text past :data:`MAX_DEPTH`/:data:`MAX_TAGS`."""
    import nh3

    if isinstance(text, list):
        text = "".join(str(t) for t in text)
    text = str(text if text is not None else "")
    cut = len(text) > MAX_HTML_CHARS
    text = text[:MAX_HTML_CHARS]
    why = _too_complex(text)
    if why:
        return as_text(text, why)
    out = nh3.clean(text, tags=set(SAFE_TAGS), attributes={k: set(v) for k, v in SAFE_ATTRIBUTES.items()},
                    url_schemes=set(SAFE_SCHEMES), strip_comments=True, link_rel="noopener noreferrer nofollow",
                    clean_content_tags={"script", "style", "template", "noscript", "textarea", "title", "xmp",
                                        "iframe", "noembed", "noframes", "plaintext", "svg", "math", "object"})
    return out + (f"<p><em>[cut at {MAX_HTML_CHARS} characters]</em></p>" if cut else "")


def markdown_refusal(source: str) -> str | None:
    """Why markdown ``source`` is shown as text instead of rendered (None: render it)."""
    marks = sum(source.count(ch) for ch in "*_[]`$")
    return f"more than {MAX_MARKDOWN_MARKS} markdown marks" if marks > MAX_MARKDOWN_MARKS else None


def _dimension(value) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return None
    return int(value) if 1 <= value <= MAX_PIXELS else None


def safe_output(output, shown=SHOWN_MIME + (ANSWERS_MIME,), budget: dict | None = None) -> dict | None:
    """A copy of one output with only the MIME types ``shown`` (HTML cleaned, images checked) and
    only ``{mime: {"width": int, "height": int}}`` of its metadata; None for an unknown output type.
    ``budget`` (``{"html": characters}``, shared by a notebook's outputs) bounds the HTML cleaned in all."""
    kind = output.get("output_type")
    if kind not in OUTPUT_TYPES:
        return None
    if kind == "stream":
        return {"output_type": "stream", "name": "stderr" if output.get("name") == "stderr" else "stdout",
                "text": _text(output.get("text", ""))}
    if kind == "error":
        return {"output_type": "error", "ename": _text(output.get("ename", ""))[:200],
                "evalue": _text(output.get("evalue", "")), "traceback": [_text(t) for t in output.get("traceback", [])
                                                                           if isinstance(t, str)][:200]}
    data, meta = {}, {}
    raw = output.get("data") if isinstance(output.get("data"), dict) else {}
    raw_meta = output.get("metadata") if isinstance(output.get("metadata"), dict) else {}
    for mime in shown:
        if mime not in raw:
            continue
        value = raw[mime]
        if mime in IMAGE_MIME:
            value = _image(value)
            if value is None:
                continue
            dims = raw_meta.get(mime) if isinstance(raw_meta.get(mime), dict) else {}
            dims = {k: d for k in ("width", "height") if (d := _dimension(dims.get(k))) is not None}
            if dims:
                meta[mime] = dims
        elif mime == "text/html":
            size = min(len(_text(value)), MAX_HTML_CHARS)
            if budget is not None and budget["html"] < size:
                data.setdefault("text/plain", f"[HTML output not shown: over the notebook's {MAX_HTML_TOTAL} "
                                              "characters of HTML]")
                continue
            if budget is not None:
                budget["html"] -= size
            value = clean_html(value)
        elif mime == "text/plain":
            value = _text(value)
        data[mime] = value
    if not data:
        data["text/plain"] = "[output removed: active content]"
    out = {"output_type": kind, "data": data, "metadata": meta}
    if kind == "execute_result":
        count = output.get("execution_count")
        out["execution_count"] = count if isinstance(count, int) and not isinstance(count, bool) else None
    return out


def _text(value) -> str:
    if isinstance(value, list):
        value = "".join(v for v in value if isinstance(v, str))
    return value if isinstance(value, str) else ""


def _image(value) -> str | None:
    value = _text(value)
    if len(value) > MAX_IMAGE_CHARS or not _B64.fullmatch(value):
        return None
    try:
        base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    return value


def safe_nbgrader_metadata(meta) -> dict | None:
    """The nbgrader metadata of a cell with only known fields of the right type and a grade_id of
    ``[A-Za-z0-9_.+-]{1,64}``; None where it has no such grade_id (then the cell is shown as an ordinary one)."""
    if not isinstance(meta, dict) or not isinstance(meta.get("grade_id", ""), str):
        return None
    if "grade_id" in meta and not _NAME.fullmatch(meta["grade_id"]):
        return None
    return {k: v for k, v in meta.items() if k in NBGRADER_KEYS and isinstance(v, NBGRADER_KEYS[k])
            and not (NBGRADER_KEYS[k] is not bool and isinstance(v, bool))}


def safe_notebook(nb):
    """Sanitize ``nb`` in place for rendering; returns it. Outputs via :func:`safe_output` (shown
    MIME types only), raw sources via :func:`clean_html`, attachments and all metadata but validated
    nbgrader fields dropped, cell ids checked, notebook metadata cut to the language. Bounded: at most
    :data:`MAX_CELLS` cells and :data:`MAX_OUTPUTS` outputs, markdown and HTML within the notebook's budgets
    (each cell counts :data:`CELL_COST` characters more), the rest shown as text or left out with a note."""
    from nbformat.notebooknode import from_dict

    language = nb.get("metadata", {}).get("language_info", {})
    name = language.get("name") if isinstance(language, dict) else None
    nb["metadata"] = from_dict({"language_info": {"name": name}} if isinstance(name, str) and _NAME.fullmatch(name)
                               else {})
    cells = nb.get("cells", []) if isinstance(nb.get("cells"), list) else []
    if len(cells) > MAX_CELLS:
        note = from_dict({"cell_type": "raw", "metadata": {}, "source": as_text("", f"{len(cells) - MAX_CELLS} more "
                          f"cells not shown (a page shows {MAX_CELLS})")})
        cells = cells[:MAX_CELLS] + [note]
    nb["cells"] = cells
    budget, outputs_left = {"html": MAX_HTML_TOTAL, "markdown": MAX_MARKDOWN_TOTAL}, MAX_OUTPUTS
    for i, cell in enumerate(cells):
        meta = safe_nbgrader_metadata(cell.get("metadata", {}).get("nbgrader"))
        cell["metadata"] = from_dict({"nbgrader": meta} if meta else {})
        cell.pop("attachments", None)
        if not isinstance(cell.get("id"), str) or not _CELL_ID.fullmatch(cell["id"]):
            cell["id"] = f"cell-{i}"
        cell["source"] = _text(cell.get("source", ""))
        if cell.get("cell_type") not in ("code", "markdown", "raw"):
            cell["cell_type"] = "raw"
        if cell["cell_type"] != "code":
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
            kind = "markdown" if cell["cell_type"] == "markdown" else "html"
            cell["source"] = cell["source"][:MAX_MARKDOWN_CHARS if kind == "markdown" else MAX_HTML_CHARS]
            budget[kind] -= len(cell["source"]) + CELL_COST
            why = f"over the notebook's {kind} budget" if budget[kind] < 0 else (
                markdown_refusal(cell["source"]) if kind == "markdown" else None)
            if why:  # shown as text, never parsed
                cell["cell_type"], cell["source"] = "raw", as_text(cell["source"], why)
            elif kind == "html":  # a raw cell (nbconvert shows it as HTML)
                cell["source"] = clean_html(cell["source"])
            continue
        count = cell.get("execution_count")
        cell["execution_count"] = count if isinstance(count, int) and not isinstance(count, bool) else None
        outputs = cell.get("outputs") if isinstance(cell.get("outputs"), list) else []
        kept = [from_dict(o) for o in (safe_output(o, SHOWN_MIME, budget) for o in outputs[:max(outputs_left, 0)]) if o]
        if len(outputs) > outputs_left:
            kept.append(from_dict({"output_type": "stream", "name": "stdout", "text": f"[{len(outputs) - outputs_left} "
                                   f"more outputs not shown (a page shows {MAX_OUTPUTS})]"}))
        outputs_left -= len(outputs)
        cell["outputs"] = kept
    return nb


def hidden_lines(nb) -> list[str]:
    """Non-trivial lines of the hidden tests in this notebook's grade cells (longest first)."""
    from nbgrader.utils import is_grade

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


def clean_markdown(source: str) -> str:
    """A markdown source with its HTML tags cleaned (:func:`clean_html`) where it has any; ``>``
    and ``&`` are given back so quotes and entities stay markdown (a lone ``>`` opens no tag)."""
    if not _TAG.search(source) and len(source) <= MAX_HTML_CHARS:
        return source
    return clean_html(source).replace("&gt;", ">").replace("&amp;", "&")


class SanitizeOutputs(NbGraderPreprocessor):
    """Outputs reduced to :func:`safe_output`, markdown cleaned, attachments dropped, hidden tests redacted."""

    def preprocess(self, nb, resources):
        from nbformat.notebooknode import from_dict

        secrets = hidden_lines(nb)
        budget = {"html": MAX_HTML_TOTAL}
        for cell in nb.cells:
            if cell.cell_type in ("markdown", "raw"):
                cell.pop("attachments", None)
                cell.source = clean_markdown(cell.source)
            if cell.cell_type == "code":
                outputs = [safe_output(self._redacted(o, secrets), budget=budget) for o in cell.get("outputs", [])]
                cell.outputs = [from_dict(o) for o in outputs if o]
        return nb, resources

    @staticmethod
    def _redacted(output, secrets) -> dict:
        """``output`` with the hidden-test lines replaced (before cleaning, which would escape them)."""
        if "text" in output:
            output["text"] = _redact(output["text"], secrets)
        if output.get("output_type") == "error":
            output["evalue"] = _redact(output.get("evalue", ""), secrets)
            output["traceback"] = [_redact(line, secrets) for line in output.get("traceback", [])]
        for mime in ("text/html", "text/plain"):
            if isinstance(output.get("data"), dict) and mime in output["data"]:
                output["data"][mime] = _redact(output["data"][mime], secrets)
        return output
