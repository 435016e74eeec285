"""``import mlsyslab`` stays light: the heavy stacks load only when used.

Each check runs in a fresh interpreter (this test process has long since imported pint and
friends). Timing is measured in benchmarks/, not asserted here.
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("ipywidgets", "bqplot", "nbgrader", "pint", "jupyterlab", "matplotlib", "pandas")
WIDGET_STACK = ("ipywidgets", "bqplot", "nbgrader", "jupyterlab", "matplotlib", "pandas")


def _loaded_after(code: str, watch=HEAVY) -> dict:
    probe = (code + "\nimport json, sys\n"
             f"print(json.dumps({{m: m in sys.modules for m in {list(watch)!r}}}))\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_import_mlsyslab_loads_no_heavy_module():
    loaded = _loaded_after("import mlsyslab")
    assert not any(loaded.values()), f"import mlsyslab pulled in {[m for m, v in loaded.items() if v]}"


def test_the_probe_sees_modules_that_are_imported():
    # guards the test above against passing vacuously
    loaded = _loaded_after("import mlsyslab, pint", watch=("pint",))
    assert loaded == {"pint": True}


def test_zoo_and_solver_do_not_load_the_widget_stack():
    code = ("import mlsyslab\n"
            "mlsyslab.Hardware.Cloud.H100; mlsyslab.Models.Llama3_8B; mlsyslab.ServingSolver\n")
    loaded = _loaded_after(code, WIDGET_STACK)
    assert not any(loaded.values()), [m for m, v in loaded.items() if v]


def test_public_names_resolve_lazily():
    code = ("import mlsyslab\n"
            "assert mlsyslab.Hardware.get('h100').key == 'H100'\n"
            "assert mlsyslab.Models.get('llama-3-8b').key == 'Llama3_8B'\n"
            "assert issubclass(mlsyslab.UnknownNameError, mlsyslab.ValidationError)\n")
    loaded = _loaded_after(code, WIDGET_STACK)
    assert not any(loaded.values())
