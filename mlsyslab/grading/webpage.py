"""Pages that show student work: feedback HTML and formgrader, with no active content from students.

* :class:`SafeHTMLExporter` (nbconvert's HTMLExporter; ``configure()`` makes it nbgrader's feedback
  exporter, and formgrader's through :func:`harden_formgrader`) renders a copy of the notebook reduced
  by :func:`~mlsyslab.grading.sanitize.safe_notebook`; its ``clean_html``, ``markdown2html`` and
  ``get_metadata`` filters are the allow-list ones; every ``<script`` of the *templates* carries a
  random per-page nonce, and :func:`final_page` then puts a Content-Security-Policy meta tag
  (:func:`policy`: scripts only with that nonce, no inline handlers, no plugins, no ``<base>``, images,
  fonts and styles only from the page's own server or ``data:``) first in ``<head>`` and drops from the
  whole page any other script (a template's script from another host too: nbgrader's feedback template
  loads MathJax from a CDN, so feedback shows TeX source and asks no outside host anything),
  event-handler attribute, URL of another scheme than http(s)/relative (``data:`` only for raster
  ``<img>``), frame, object and refresh.
* :func:`harden_formgrader` (called by ``configure()`` inside a Jupyter server running nbgrader's
  formgrader) renders formgrader's pages with autoescaping and the same nonces and header, serves
  a submission's files as attachments in a CSP sandbox, and runs the autograde button's grading in
  a separate ``nbgrader autograde`` process so the server's event loop never waits for it.
"""

from __future__ import annotations

import html
import os
import re
import secrets
import sys
from html.parser import HTMLParser

from jinja2 import BaseLoader, pass_context
from nbconvert.exporters import HTMLExporter
from traitlets import Bool

from . import sanitize
from .intake import STUDENT_ID_RULE, printable, valid_student_id

#: what a template's ``<script`` gets as its nonce (unguessable; the final pass puts the page's nonce
#: there): a template is compiled once, so the per-page nonce cannot be a template variable
PLACEHOLDER = "mlsyslab-template-" + secrets.token_hex(16)
#: template functions formgrader's templates call from inline ``onclick`` (rewritten to data attributes)
CLICK_HANDLERS = ("toggle_name", "toggleAllNames")
URL_ATTRIBUTES = frozenset({"href", "src", "action", "formaction", "xlink:href", "background", "poster", "cite",
                            "data", "codebase", "longdesc", "usemap", "manifest", "ping", "lowsrc", "dynsrc",
                            "profile", "icon", "archive", "classid"})
DROPPED_ATTRIBUTES = frozenset({"srcdoc", "srcset", "imagesrcset", "formaction", "http-equiv", "autofocus"})
DROPPED_ELEMENTS = frozenset({"iframe", "frame", "frameset", "object", "embed", "applet", "base", "portal",
                              "noscript", "template", "svg", "math", "xmp", "plaintext", "noembed", "noframes"})
_RASTER = re.compile(r"data:image/(png|jpeg|gif|webp);base64,[a-z0-9+/=\s]*", re.I)
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):", re.I)
_ONCLICK = re.compile(r'onclick="(%s)\((true|false)?\);?"' % "|".join(CLICK_HANDLERS))
_DISPATCH = ("document.documentElement.setAttribute('data-mlsyslab-scripts', 'ran');"
             " document.addEventListener('click', function (e) {"
             " var el = e.target.closest && e.target.closest('[data-mlsyslab-click]'); if (!el) return;"
             " var name = el.getAttribute('data-mlsyslab-click'), arg = el.getAttribute('data-mlsyslab-arg');"
             f" if ({list(CLICK_HANDLERS)!r}.indexOf(name) >= 0 && typeof window[name] === 'function')"
             " window[name](arg === null ? undefined : arg === 'true'); });")


def policy(nonce: str) -> str:
    """The Content-Security-Policy of a page whose own scripts carry ``nonce``."""
    return "; ".join([f"script-src 'nonce-{nonce}' 'strict-dynamic'", "object-src 'none'", "base-uri 'none'",
                      "frame-src 'none'", "form-action 'self'", "default-src 'self'",
                      "style-src 'self' 'unsafe-inline'", "img-src 'self' data:",
                      "font-src 'self' data:", "connect-src 'self'"])


def _bare(url: str) -> str:
    """A URL as a browser reads it: whitespace and control characters inside it ignored."""
    return "".join(ch for ch in url if ch > " " and ch != "\x7f")


def _safe_url(tag: str, name: str, value: str) -> bool:
    value = _bare(value)
    match = _SCHEME.match(value)
    if match is None:
        return True  # relative: same origin
    scheme = match.group(1).lower()
    return scheme in sanitize.SAFE_SCHEMES or (tag == "img" and name == "src" and bool(_RASTER.fullmatch(value)))


def _off_machine(url) -> bool:
    """Whether a URL names another host (``scheme:`` or ``//host``): a template's script from a CDN
    (nbgrader's feedback template loads MathJax from cdnjs) is dropped; the page works offline and
    asks no outside host anything when a student or an instructor opens it."""
    if not url:
        return False
    url = _bare(url)
    return url.startswith("//") or _SCHEME.match(url) is not None


class _FinalPage(HTMLParser):
    """Re-emits a page with only the scripts that carry the nonce and no active attributes."""

    def __init__(self, nonce: str):
        super().__init__(convert_charrefs=False)
        self.nonce, self.out, self.skip, self.depth, self.removed, self.head_done = nonce, [], None, 0, [], False

    def _meta(self) -> str:
        return f'<meta http-equiv="Content-Security-Policy" content="{html.escape(policy(self.nonce))}">'

    def handle_starttag(self, tag, attrs):
        self._tag(tag, attrs, self.get_starttag_text(), closed=False)

    def handle_startendtag(self, tag, attrs):
        self._tag(tag, attrs, self.get_starttag_text(), closed=True)

    def _tag(self, tag, attrs, raw, closed):
        if self.skip is not None:
            self.depth += tag == self.skip and not closed
            return
        if tag in DROPPED_ELEMENTS or (tag == "script" and (dict(attrs).get("nonce") != PLACEHOLDER
                                                            or _off_machine(dict(attrs).get("src")))) or (
                tag == "meta" and any(k.lower() == "http-equiv" for k, _ in attrs)):
            self.removed.append(tag)
            if tag in ("script", "iframe", "object", "noscript", "template", "svg", "math", "xmp", "noembed",
                       "noframes", "frameset", "applet") and not closed:
                self.skip, self.depth = tag, 1
            return
        kept = [(k, v) for k, v in attrs if not k.lower().startswith("on") and k.lower() not in DROPPED_ATTRIBUTES
                and not (k.lower() in URL_ATTRIBUTES and v is not None and not _safe_url(tag, k.lower(), v))]
        if len(kept) != len(attrs):
            self.removed.append(f"{tag}[{','.join(k for k, _ in attrs if (k, _) not in kept)}]")
            raw = "<" + tag + "".join(f' {k}="{html.escape(v or "", quote=True)}"' if v is not None else f" {k}"
                                      for k, v in kept) + (" />" if closed else ">")
        self.out.append(raw.replace(PLACEHOLDER, self.nonce) if tag == "script" else raw)
        if tag == "head" and not self.head_done:
            self.out.append(self._meta())
            self.head_done = True

    def handle_endtag(self, tag):
        if self.skip is not None:
            self.depth -= tag == self.skip
            if self.depth <= 0:
                self.skip = None
            return
        if tag in DROPPED_ELEMENTS:
            return
        if tag == "body":
            self.out.append(f'<script nonce="{self.nonce}">{_DISPATCH}</script>')
        self.out.append(f"</{tag}>")

    def handle_data(self, data):
        if self.skip is None:
            self.out.append(data)

    def handle_entityref(self, name):
        if self.skip is None:
            self.out.append(f"&{name};")

    def handle_charref(self, name):
        if self.skip is None:
            self.out.append(f"&#{name};")

    def handle_decl(self, decl):
        if self.skip is None:
            self.out.append(f"<!{decl}>")


def final_page(page: str, nonce: str) -> tuple[str, list]:
    """``page`` with the CSP meta tag (scripts with ``nonce``) first in ``<head>``, the templates' scripts
    (:data:`PLACEHOLDER`) given ``nonce``, and every other script, event handler, frame, object,
    refresh and non-http(s) URL removed; returns (page, what was removed)."""
    parser = _FinalPage(nonce)
    parser.feed(page)
    parser.close()
    text = "".join(parser.out)
    if not parser.head_done:
        text = parser._meta() + text
    return text, parser.removed


class NonceLoader(BaseLoader):
    """A template loader that gives every ``<script`` of a template ``nonce=PLACEHOLDER`` and
    turns formgrader's inline ``onclick`` calls (:data:`CLICK_HANDLERS`) into data attributes."""

    def __init__(self, inner):
        self.inner = inner

    def get_source(self, environment, template):
        source, filename, uptodate = self.inner.get_source(environment, template)
        if template.endswith((".j2", ".tpl", ".html")):
            source = re.sub(r"<script\b", f'<script nonce="{PLACEHOLDER}"', source, flags=re.I)
            source = _ONCLICK.sub(lambda m: f'data-mlsyslab-click="{m.group(1)}"'
                                  + (f' data-mlsyslab-arg="{m.group(2)}"' if m.group(2) else ""), source)
        return source, filename, uptodate

    def list_templates(self):
        return self.inner.list_templates()


def safe_get_metadata(output, key, mimetype=None):
    """nbconvert's ``get_metadata`` filter, typed: only an image's width/height, as an integer."""
    if key not in ("width", "height") or mimetype not in sanitize.IMAGE_MIME:
        return None
    meta = output.get("metadata", {}) if hasattr(output, "get") else {}
    value = meta.get(mimetype, {}).get(key) if isinstance(meta.get(mimetype), dict) else None
    return sanitize._dimension(value)


def _escaped(value):
    """A resource string shown by a template: printable, HTML-escaped (also inside a JS string)."""
    return html.escape(printable(value, 300).replace("\\", "/"), quote=True)


class SafeHTMLExporter(HTMLExporter):
    """HTMLExporter that renders only allow-listed student content, with a CSP nonce per page."""

    sanitize_html = Bool(True, help="always on: student HTML and markdown are cleaned").tag(config=False)

    def _create_environment(self):
        environment = super()._create_environment()
        environment.loader = NonceLoader(environment.loader)
        return environment

    def default_filters(self):
        yield from super().default_filters()
        yield ("clean_html", sanitize.clean_html)
        yield ("get_metadata", safe_get_metadata)
        yield ("markdown2html", self.safe_markdown2html)

    @pass_context
    def safe_markdown2html(self, context, source):
        """Markdown rendered by nbconvert (no attachments), then :func:`~.sanitize.clean_html`."""
        source = str(source)[:sanitize.MAX_MARKDOWN_CHARS]
        why = sanitize.markdown_refusal(source)
        if why:
            return sanitize.as_text(source, why)
        return sanitize.clean_html(HTMLExporter.markdown2html(self, {"resources": context.get("resources", {})}, source))

    def from_notebook_node(self, nb, resources=None, **kw):
        import copy

        nb = sanitize.safe_notebook(copy.deepcopy(nb))
        resources = dict(resources or {})
        nonce = resources.pop("csp_nonce", None) or secrets.token_urlsafe(18)
        for key in ("student", "first_name", "last_name", "notebook_id", "assignment_id", "submission_id",
                    "notebook_path", "filename"):
            if isinstance(resources.get(key), str):
                resources[key] = _escaped(resources[key])
        if isinstance(resources.get("nbgrader"), dict):
            resources["nbgrader"] = {k: _escaped(v) if isinstance(v, str) else v for k, v in resources["nbgrader"].items()}
        page, resources = super().from_notebook_node(nb, resources, **kw)
        page, removed = final_page(page, nonce)
        if removed:
            self.log.warning("Removed from the rendered page: %s", ", ".join(sorted(set(removed)))[:300])
        return page, resources


# ----------------------------------------------------------------------------------------- formgrader
def harden_formgrader() -> bool:
    """Patch nbgrader's formgrader (if this process runs it) as the module docstring says; idempotent.
    Returns True if formgrader is hardened in this process."""
    if "nbgrader.server_extensions.formgrader.base" not in sys.modules:
        return False
    from nbgrader.server_extensions.formgrader import apihandlers, base, handlers

    if getattr(base.BaseHandler, "_mlsyslab_hardened", False):
        return True
    base.BaseHandler._mlsyslab_hardened = True
    base.BaseHandler.csp_nonce = property(_nonce)
    base.BaseHandler.content_security_policy = property(lambda self: policy(self.csp_nonce) + "; frame-ancestors 'self'")
    base.BaseHandler.exporter = property(_exporter)
    base.BaseHandler.render = _render
    handlers.SubmissionFilesHandler.content_security_policy = property(
        lambda self: "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'")
    handlers.SubmissionFilesHandler.set_extra_headers = _attachment
    apihandlers.AutogradeHandler.post = _autograde_post()
    return True


def _nonce(handler) -> str:
    if "_mlsyslab_nonce" not in handler.__dict__:
        handler.__dict__["_mlsyslab_nonce"] = secrets.token_urlsafe(18)
    return handler.__dict__["_mlsyslab_nonce"]


class _NonceExporter:
    """Formgrader's exporter for one request: the handler's nonce goes to the page."""

    def __init__(self, exporter, nonce):
        self.exporter, self.nonce = exporter, nonce

    def from_filename(self, filename, resources=None, **kw):
        return self.exporter.from_filename(filename, resources=dict(resources or {}, csp_nonce=self.nonce), **kw)

    def __getattr__(self, name):
        return getattr(self.exporter, name)


def _exporter(handler):
    settings = handler.settings
    original = settings["nbgrader_exporter"]
    cached = settings.get("mlsyslab_exporter")
    if cached is None or cached[0] is not original:
        cached = (original, SafeHTMLExporter(config=original.config))
        settings["mlsyslab_exporter"] = cached
    return _NonceExporter(cached[1], handler.csp_nonce)


def _render(handler, name, **ns):
    """formgrader's own pages: autoescaped, template scripts with the nonce, the CSP meta tag."""
    from jinja2 import Environment

    settings = handler.settings
    original = settings["nbgrader_jinja2_env"]
    cached = settings.get("mlsyslab_jinja2_env")
    if cached is None or cached[0] is not original:
        cached = (original, Environment(loader=NonceLoader(original.loader), autoescape=True))
        settings["mlsyslab_jinja2_env"] = cached
    page = cached[1].get_template(name).render(**ns)
    return final_page(page, handler.csp_nonce)[0]


def _attachment(handler, path):
    """A submission's file never renders from the instructor's origin: download only, no sniffing."""
    name = os.path.basename(path)
    ascii_name = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in name)[:100] or "file"
    handler.set_header("Content-Disposition", f'attachment; filename="{ascii_name}"')
    handler.set_header("X-Content-Type-Options", "nosniff")


#: the longest the autograde button's grading may run (the sandbox's own deadlines come first)
AUTOGRADE_TIMEOUT_S = 3600
#: how much of the grading's output the button shows
AUTOGRADE_LOG_CHARS = 20_000


def _autograde_post():
    import json

    from nbgrader.server_extensions.formgrader.base import check_notebook_dir, check_xsrf
    from tornado import web

    @web.authenticated
    @check_xsrf
    @check_notebook_dir
    async def post(self, assignment_id, student_id):
        result = await autograde_in_subprocess(self.coursedir.root, assignment_id, student_id)
        self.write(json.dumps(result))

    return post


async def autograde_in_subprocess(root: str, assignment_id: str, student_id: str) -> dict:
    """``nbgrader autograde`` for one submission in a child process (the course's own config, sandboxed
    kernels); returns formgrader's ``{"success", "log", "error"}``. The caller's event loop keeps running."""
    import asyncio

    if not valid_student_id(student_id) or not sanitize._NAME.fullmatch(assignment_id or ""):
        return {"success": False, "log": "",
                "error": f"refused: student id {printable(student_id, 80)!r} / lab {printable(assignment_id, 80)!r} "
                         f"(student ids: {STUDENT_ID_RULE})"}
    cmd = [sys.executable, "-m", "nbgrader", "autograde", assignment_id, f"--student={student_id}", "--force",
           f"--CourseDirectory.root={root}"]
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    proc = await asyncio.create_subprocess_exec(*cmd, cwd=root, env=env, stdin=asyncio.subprocess.DEVNULL,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), AUTOGRADE_TIMEOUT_S)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        return {"success": False, "log": "", "error": f"nbgrader autograde ran past {AUTOGRADE_TIMEOUT_S} s"}
    log = out.decode("utf-8", "replace")[-AUTOGRADE_LOG_CHARS:]
    if proc.returncode == 0:
        return {"success": True, "log": log}
    return {"success": False, "log": log, "error": f"nbgrader autograde exited with code {proc.returncode}"}
