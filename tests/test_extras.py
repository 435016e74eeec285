"""A part used without its extra says, in one line, which extra to install (``pip install mlsyslab`` alone
has no ipywidgets/bqplot, nbgrader or jupyter). The missing module is simulated in a subprocess: a meta-path
finder that refuses it, or ``sys.modules[name] = None`` (Python's own way to block an import)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

BLOCK = """
import sys
class Block:  # the module is not installed
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, Block())
"""


def _python(code: str, blocked: tuple[str, ...]):
    return subprocess.run([sys.executable, "-c", BLOCK.format(blocked=blocked) + code], capture_output=True,
                          text=True, timeout=120, env=dict(os.environ, PYTHONWARNINGS="default"))


WIDGETS = "mlsyslab.widgets needs the 'widgets' extra: pip install 'mlsyslab[widgets]'"


@pytest.mark.parametrize("blocked", [("bqplot",), ("ipywidgets",), ("ipywidgets", "bqplot")])
@pytest.mark.parametrize("statement", ["import mlsyslab.widgets", "from mlsyslab.widgets import ServingExplorer",
                                       "import mlsyslab.widgets.memory_wall"])
def test_widgets_without_the_extra_name_it_in_one_line(statement, blocked):
    proc = _python(statement, blocked)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last == f"mlsyslab.extras.MissingExtraError: {WIDGETS}"
    assert "No module named" not in proc.stderr and "During handling" not in proc.stderr


def test_the_error_is_an_import_error_and_renders_as_one_line_in_jupyter():
    code = ("import mlsyslab\ntry:\n    import mlsyslab.widgets\nexcept ImportError as exc:\n"
            "    assert isinstance(exc, mlsyslab.MLSysError) and exc.name in ('bqplot', 'ipywidgets') and exc.extra == 'widgets'\n"
            "    print(exc._render_traceback_())\n")
    proc = _python(code, ("bqplot",))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == repr([f"MissingExtraError: {WIDGETS}"])


def test_import_mlsyslab_and_the_solvers_need_no_extra():
    proc = _python("import mlsyslab as ml\nprint(ml.ServingSolver().solve('Llama3_8B', 'H100', seq_len=4096).feasible)",
                   ("ipywidgets", "bqplot", "nbgrader", "jupyterlab", "notebook"))
    assert proc.returncode == 0 and proc.stdout.strip() == "True", proc.stderr
    assert proc.stderr == ""


def test_grade_without_nbgrader_names_the_grading_extra_in_one_line(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text("")  # a course folder with one lab, as `course init` leaves
    (tmp_path / "source" / "lab1_roofline").mkdir(parents=True)
    (tmp_path / "source" / "lab1_roofline" / "lab1_roofline.ipynb").write_text(
        '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    code = ("import sys; sys.modules['nbgrader'] = None\n"
            "from mlsyslab.cli import main; sys.exit(main(['grade', 'release']))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "needs the 'grading' extra" in lines[0] and "pip install 'mlsyslab[grading]'" in lines[0]


def test_lab_without_jupyter_names_the_lab_extra(monkeypatch, tmp_path):
    from mlsyslab.cli import lab
    from mlsyslab.errors import MLSysError

    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))  # a venv with no bin/jupyter
    monkeypatch.setenv("PATH", str(tmp_path))  # and none on PATH
    with pytest.raises(MLSysError) as err:
        lab.jupyter_executable()
    assert str(err.value) == "mlsyslab lab needs the 'lab' extra (jupyter is not installed): pip install 'mlsyslab[lab]'"


@pytest.mark.parametrize("args, extra", [(["lab", "--copy", "out"], "lab"), (["course", "init", "out"], "grading")])
def test_lab_and_course_without_nbformat_name_their_extra_and_write_nothing(args, extra, tmp_path):
    """``pip install mlsyslab`` alone has no nbformat: the command says which extra, before writing a folder."""
    code = ("import sys; sys.modules['nbformat'] = None\n"
            f"from mlsyslab.cli import main; sys.exit(main({args!r}))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env=dict(os.environ, HOME=str(tmp_path)))
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"mlsyslab {args[0]}: error: mlsyslab {args[0]} needs the {extra!r} extra "
                                   f"(nbformat is not installed): pip install 'mlsyslab[{extra}]'")
    assert list(tmp_path.iterdir()) == []
