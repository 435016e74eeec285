"""Building the sdist and the wheel as a release would, for tests/test_wheel_install.py and
tests/test_python_versions.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def build_dist(repo_root: Path, out: Path) -> dict:
    """``python -m build``: the sdist, then the wheel built from the unpacked sdist (never from the checkout's
    ``build/`` folder, whose stale modules an in-tree wheel build would ship). Returns {"sdist", "wheel"}."""
    proc = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(repo_root)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return {"sdist": next(out.glob("mlsyslab-*.tar.gz")), "wheel": next(out.glob("mlsyslab-*.whl"))}
