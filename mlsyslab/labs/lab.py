"""The object a lab notebook works with: the student's variant, its text and its checks.

A lab's setup cell::

    lab = ml.labs.open_lab("lab2_kv_cache", variants=True, seed="")   # baked in at release
    v = lab.variant            # the student's parameters: v.model, v.gpu, v.seq_len ...

then ``lab.md("... {model.name} on {gpu.name} ...")`` renders exercise text with the student's
own numbers, ``lab.text(...)`` formats a question string, and a recording cell calls
``lab.check(globals(), "name", ...)`` for the formative verdicts (:mod:`mlsyslab.labs.checks`).
"""

from __future__ import annotations

from . import checks, variants


class Lab:
    """One lab for the current student (see :func:`mlsyslab.labs.open_lab`)."""

    def __init__(self, name: str, *, variants_on: bool = True, seed: str = "", student: str | None = None):
        self.name = name
        self.spec = variants.spec(name)
        self.student = student if student is not None else variants.student_id()
        self.variant = variants.variant(name, self.student, variants=variants_on, seed=seed)
        self.context = dict(self.spec.context(self.variant), v=self.variant)
        self._cells = None
        from . import oracle_watch

        oracle_watch.install(self)  # lab.check can then say when an answer calls the solver

    # ------------------------------------------------------------------ text
    def text(self, template: str) -> str:
        """``template`` formatted with the variant's names (``{model.name}``, ``{S}``, ``{S:,}``...)."""
        return template.format(**self.context)

    def md(self, template: str) -> None:
        """Display ``template``, formatted, as Markdown (plain text outside IPython)."""
        text = self.text(template)
        try:
            from IPython.display import display
        except ImportError:
            print(text)
            return
        # text/plain carries the same words: feedback and formgrader (which drop Markdown outputs
        # when they sanitize student HTML) show the text, not "<IPython.core.display.Markdown object>"
        display({"text/markdown": text, "text/plain": text}, raw=True)

    def describe(self) -> str:
        who = f"student {self.student!r}" if self.student else "no student id (default variant)"
        params = ", ".join(f"{k} = {v}" for k, v in self.variant.items() if k != "variant")
        return f"{self.name}, variant {self.variant['variant']} for {who}: {params}"

    # ------------------------------------------------------------------ checks
    def items(self) -> dict:
        """item id -> Item of the visible graded items of this variant."""
        if self._cells is None:
            self._cells = {item.id: item for items in self.spec.cells(self.variant).values() for item in items}
        return self._cells

    def check(self, namespace: dict, *names: str, strict: bool = True) -> None:
        """Show one verdict line per name: a graded variable, or a graded function called on the
        visible configurations of ``spec.functions(variant)``; then, with ``strict`` (a lab's test
        cells), raise :class:`~mlsyslab.labs.checks.NotRightYet` (one line) when an item is not right,
        so nbgrader's Validate fails naming it. Call it after ``record(...)``: the answers are
        recorded first."""
        if _grading():  # the grader's kernel: it scores the recorded answers itself
            return
        report = self.report(namespace, *names)
        _display(report)
        if strict and not report.ok:
            _fail_cell(checks.NotRightYet(name for kind, name, _ in report if kind != "right"))

    def verdicts(self, namespace: dict, *names: str) -> list[str]:
        """The lines :meth:`check` shows (as text)."""
        return self.report(namespace, *names).text().splitlines()

    def report(self, namespace: dict, *names: str) -> checks.Report:
        """The verdicts of ``names`` in ``namespace`` as a :class:`~mlsyslab.labs.checks.Report`."""
        from . import oracle_watch

        with oracle_watch.suspended():  # the reference values' solver calls are the check's, not the student's
            return self._report(namespace, names)

    def _report(self, namespace: dict, names) -> checks.Report:
        from . import oracle_watch

        items, functions = self.items(), getattr(self.spec, "functions", lambda v: {})(self.variant)
        out = checks.Report()
        for name in names:
            if name in functions:
                out.extend(self._check_function(namespace, name, functions[name]))
            elif name in items:
                if name not in namespace:  # the answer cell has not run in this kernel
                    out.append(("missing", name, "not answered yet (run your answer cell above first)."))
                elif oracle_watch.tainted(name) and not getattr(items[name], "solver_allowed", False):
                    out.append(("wrong", name, oracle_watch.message(oracle_watch.tainted(name))))
                else:
                    out.append(self._verdict(items[name], namespace.get(name), name))
            else:
                from .variants import _unknown

                raise _unknown("check", name, sorted(set(items) | set(functions)))
        return out

    @staticmethod
    def _verdict(item, value, name) -> tuple:
        try:
            expected, mistakes = item.expected(), {m.name: m.value() for m in item.mistakes}
        except Exception as exc:  # a patched or broken solver in this kernel: no verdict, no traceback
            return "missing", name, f"cannot be checked here ({type(exc).__name__})."
        v = checks.judge(item, value, expected, mistakes)
        return v.kind, name, v.message

    def _line(self, item, value) -> str:
        kind, name, message = self._verdict(item, value, item.id)
        return f"{checks.MARK[kind]} {name}: {message}"

    def _check_function(self, namespace, name, cases):
        fn = namespace.get(name)
        if not callable(fn):
            return [("missing", f"{name}()", "not defined yet (run the cell that defines it).")]
        out = []
        for item, args in cases:
            from . import oracle_watch

            try:
                with oracle_watch.calls() as used:
                    value = fn(*args)
            except Exception as exc:  # the student's function raised: say so, do not stop the cell
                out.append(("wrong", item.label, f"raised {type(exc).__name__}: {exc}"[:300]))
                continue
            if used and not getattr(item, "solver_allowed", False):
                out.append(("wrong", item.label, oracle_watch.message(used)))
                continue
            out.append(self._verdict(item, value, item.label))
        return out

    def __repr__(self) -> str:
        return f"Lab({self.describe()})"


def _display(report) -> None:
    """Styled HTML with a text/plain fallback in IPython; the text lines elsewhere."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        get_ipython = None
    if get_ipython is None or get_ipython() is None:
        print(report.text())
        return
    display(report._repr_mimebundle_(), raw=True)


def _grading() -> bool:
    try:
        from .grading_mode import active
    except ImportError:
        return False
    return bool(active())


def _fail_cell(error: Exception) -> None:
    """Give the running cell an ``error`` output naming ``error`` without aborting the run.

    nbgrader's Validate (and its grade of a test cell) fails a cell that has an output of type
    ``error``; raising would give one, but would also stop "Run All" at the first unanswered item of
    a fresh lab. In an IPython kernel the error is published on the kernel's output channel as the
    interpreter would publish a raised one (``ename``, ``evalue``, a one-line ``traceback``) while the
    cell itself completes; outside a kernel (plain Python, a terminal IPython) it is raised."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
        pub = shell.display_pub
        session, socket = pub.session, pub.pub_socket
    except Exception:  # no kernel: an ordinary exception
        raise error from None
    import sys

    for stream in (sys.stdout, sys.stderr):  # the verdict lines printed so far come first
        try:
            stream.flush()
        except Exception:
            pass
    name = type(error).__name__
    content = {"ename": name, "evalue": str(error), "traceback": [f"{name}: {error}"]}
    session.send(socket, "error", content, parent=pub.parent_header, ident=getattr(pub, "topic", None))
