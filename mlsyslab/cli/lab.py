"""``mlsyslab lab [LAB]``: open JupyterLab on the lab notebooks, optionally on one lab.

The notebooks: ``--dir``, else ``./labs``, else a checkout's ``labs/``, else (a pip install) the
user folder :func:`user_dir` (``$XDG_DATA_HOME/mlsyslab/labs``, else ``~/mlsyslab-labs``), filled
once from the package (:mod:`mlsyslab.labs.student`; your work there is never overwritten).
``mlsyslab lab --copy DIR`` writes the student labs and ``explorers/`` into DIR and exits.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser("lab", help="open JupyterLab on the lab notebooks",
                              description="Start JupyterLab with labs/ as its root; with LAB (a notebook name or "
                                          "part of it, e.g. 'lab2' or 'kv_cache'), open that notebook.")
    p.add_argument("lab", nargs="?", default=None, help="lab notebook to open (name, stem or unique prefix)")
    p.add_argument("--dir", default=None, help="folder of the lab notebooks (default: ./labs, a checkout's labs/, "
                                               "else a copy in your user folder)")
    p.add_argument("--copy", metavar="DIR", default=None,
                   help="write the student labs and explorers/ into DIR (existing notebooks are kept) and exit")
    p.add_argument("--list", action="store_true", help="list the labs and exit")
    p.add_argument("--print-command", "--dry-run", dest="print_command", action="store_true",
                   help="print the jupyter command instead of running it")
    p.add_argument("--port", type=int, default=None, help="port for the server (default: jupyter's, 8888 or next free)")
    p.add_argument("--no-browser", action="store_true", help="start the server without opening a browser")
    p.set_defaults(func=run)


def labs_dir(given: str | None) -> Path:
    """``--dir``, else ``./labs``, else ``labs/`` next to the installed package (a source checkout)."""
    from ..errors import ValidationError

    if given is not None:
        d = Path(given)
        if not d.is_dir():
            raise ValidationError(f"--dir={given!r} is not a folder.", field="dir", value=given, allowed="a folder")
        return d.resolve()
    checkout = Path(__file__).resolve().parents[2]
    if (Path.cwd() / "labs").is_dir():
        return Path.cwd() / "labs"
    if (checkout / "labs").is_dir() and (checkout / "pyproject.toml").is_file():  # a source checkout
        return checkout / "labs"
    return user_copy()


def user_dir() -> Path:
    """``$XDG_DATA_HOME/mlsyslab/labs`` when XDG_DATA_HOME is set, else ``~/mlsyslab-labs``."""
    xdg = os.environ.get("XDG_DATA_HOME", "").strip()
    return Path(xdg) / "mlsyslab" / "labs" if xdg else Path.home() / "mlsyslab-labs"


def copy_labs(dest: Path) -> tuple[list[Path], list[Path]]:
    """Write the student labs and explorers into ``dest``; (written, kept): an existing notebook is
    kept as it is (it may hold a student's work)."""
    import tempfile

    from ..errors import ValidationError
    from ..labs.student import copy_material

    try:
        dest.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=dest, prefix=".mlsyslab-write-test-")
        probe.close()
    except OSError as exc:
        raise ValidationError(f"cannot write the labs to {str(dest)!r} ({exc.strerror or exc}); pass --dir or --copy "
                              "with a folder you can write, or set XDG_DATA_HOME.", field="dir", value=str(dest),
                              allowed="a writable folder") from None
    with tempfile.TemporaryDirectory() as tmp:
        written, kept = [], []
        for path in copy_material(tmp):
            target = dest / Path(path).relative_to(tmp)
            if target.exists():
                kept.append(target)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            written.append(target)
    return written, kept


def user_copy() -> Path:
    """The user folder of labs, filled from the package the first time (never inside site-packages)."""
    dest = user_dir()
    if not dest.is_dir() or not any(dest.glob("*.ipynb")):
        written, _ = copy_labs(dest)
        print(f"copied {len(written)} lab notebooks to {dest} (once; your work there is kept)")
    return dest


def notebooks(root: Path) -> list[Path]:
    """Lab notebooks under ``root`` (checkpoints and hidden folders skipped), sorted."""
    return sorted(p for p in root.rglob("*.ipynb")
                  if not any(part.startswith(".") for part in p.relative_to(root).parts))


def find_lab(name: str, root: Path) -> Path:
    """The notebook ``name`` names: exact file/stem, else a unique prefix or substring (case-insensitive)."""
    from ..errors import UnknownNameError
    from ..inputs import did_you_mean
    from ..zoo.registry import normalize_name

    nbs = notebooks(root)
    key = normalize_name(name.removesuffix(".ipynb"))
    for test in (lambda s: s == key, lambda s: s.startswith(key), lambda s: key in s):
        hits = [p for p in nbs if test(normalize_name(p.stem))]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise UnknownNameError(f"lab={name!r} matches {len(hits)} notebooks "
                                   f"({', '.join(p.stem for p in hits)}); be more specific.", field="lab", value=name)
    stems = [p.stem for p in nbs]
    raise UnknownNameError(f"lab={name!r} is not a lab in {root}.{did_you_mean(name, stems)} "
                           f"Labs: {', '.join(stems) or 'none'}.", field="lab", value=name, allowed=", ".join(stems))


def jupyter_executable() -> str:
    """``jupyter`` of this Python's environment (the venv), else the one on PATH."""
    from ..errors import MLSysError

    local = Path(sys.executable).parent / ("jupyter.exe" if os.name == "nt" else "jupyter")
    if local.exists():
        return str(local)
    found = shutil.which("jupyter")
    if not found:
        raise MLSysError("mlsyslab lab needs the 'lab' extra (jupyter is not installed): pip install 'mlsyslab[lab]'")
    return found


def command(lab: str | None, root: Path, extra=()) -> list[str]:
    from ..labs.offline import SERVER_ARGS

    cmd = [jupyter_executable(), "lab", f"--notebook-dir={root}"]
    if lab:  # absolute: jupyter checks the file from its cwd, then opens it relative to the root
        cmd.append(str(find_lab(lab, root).resolve()))
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers and CI often run as root; jupyter refuses by default
        cmd.append("--allow-root")
    # SERVER_ARGS: Voila's MathJax and template served locally, no CDN; NO_NEWS: JupyterLab asks no outside
    # host for news or updates (it would prompt the student on a machine with no network)
    return cmd + list(SERVER_ARGS) + list(NO_NEWS) + list(extra)


#: JupyterLab's news feed and update check off (both fetch from outside hosts)
NO_NEWS = ("--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate")


def run(args) -> int:
    if args.copy:
        dest = Path(args.copy)
        written, kept = copy_labs(dest)
        print(f"wrote {len(written)} notebooks to {dest.resolve()}"
              + (f"; kept {len(kept)} that were there ({', '.join(str(p.relative_to(dest)) for p in kept[:3])}"
                 f"{', ...' if len(kept) > 3 else ''})" if kept else "")
              + f". Open them: mlsyslab lab --dir {dest}")
        return 0
    root = labs_dir(args.dir)
    if args.list:
        for p in notebooks(root):
            print(p.relative_to(root))
        return 0
    extra = (["--no-browser"] if args.no_browser else []) + ([f"--port={args.port}"] if args.port is not None else [])
    cmd = command(args.lab, root, extra)
    if args.print_command:
        print(shlex.join(cmd))
        return 0
    sys.stdout.flush()
    if os.name == "posix":  # become jupyter: Ctrl-C and signals reach the server directly
        os.execv(cmd[0], cmd)
    return subprocess.call(cmd)
