"""Everything a lab page needs is served locally: MathJax and Font Awesome in Voila.

* MathJax: Voila 0.5 asks a CDN for MathJax 2 unless its page configuration says ``"null"`` for both
  the MathJax URL and configuration; then it typesets with the MathJax 3 that JupyterLab bundles.
* Font Awesome: Voila's ``lab`` template links two Font Awesome 5 stylesheets on cdn.jsdelivr.net
  (its ``page.html``, for the tree and error pages, one Font Awesome 4.5). The ``mlsyslab`` Voila
  template (``jupyter/voila/templates/mlsyslab`` next to this file, ``base_template: lab``) drops
  those links: the ``lab`` template already inlines voila-style.js, which declares Font Awesome
  5.15.4 (all + v4 shims) with its fonts served from ``/voila/static/``.

This module is a Jupyter server extension (extensions load in name order, this one before
``voila``): it puts :data:`DATA_DIR` on ``JUPYTER_PATH`` so that Voila finds the template, and makes
the MathJax settings and the template the defaults of the server (explicit settings win).
:data:`SERVER_ARGS` enables it and sets both on a Jupyter server (JupyterLab with Voila's extension,
``/voila/render/...``; ``mlsyslab lab`` passes them); :func:`install` enables it for every Jupyter
server of an environment (``binder/postBuild``). The standalone ``voila`` command:
``python -m mlsyslab.labs.offline labs/explorers/lab2_kv_cache.ipynb [voila options]``.
The docs build copies MathJax 3 from the ``sphinx-mathjax-offline`` wheel (docs/_ext/offline_math.py).
"""

from __future__ import annotations

import json
import os
import pathlib
import sys

#: Voila's page-config values that select the bundled MathJax 3 instead of the CDN's MathJax 2
SETTINGS = {"mathjax_url": "null", "mathjax_config": "null"}

#: the Voila template without CDN links (in DATA_DIR/voila/templates)
TEMPLATE = "mlsyslab"

#: a Jupyter data folder (as on JUPYTER_PATH) holding voila/templates/mlsyslab
DATA_DIR = pathlib.Path(__file__).resolve().parent / "jupyter"

#: for ``jupyter lab`` / ``jupyter server`` (the Voila server extension reads the web app's settings)
SERVER_ARGS = (*(f"--ServerApp.tornado_settings={k}={v}" for k, v in SETTINGS.items()),
               f"--ServerApp.jpserver_extensions={__name__}=True", f"--VoilaConfiguration.template={TEMPLATE}")

#: for the standalone ``voila`` command, with :func:`jupyter_path` as ``JUPYTER_PATH`` (see :func:`main`)
VOILA_ARGS = (*(f"--Voila.{k}={v}" for k, v in SETTINGS.items()), f"--template={TEMPLATE}")

#: a ``jupyter_server_config.d`` file that enables the extension (:func:`install`; Jupyter reads only
#: ``jpserver_extensions`` from those files, the extension sets the rest)
SERVER_CONFIG = {"ServerApp": {"jpserver_extensions": {__name__: True}}}


def jupyter_path(current: str | None = None) -> str:
    """``JUPYTER_PATH`` with :data:`DATA_DIR` first (``current``: the value now, if any)."""
    parts = [p for p in (current or "").split(os.pathsep) if p and p != str(DATA_DIR)]
    return os.pathsep.join([str(DATA_DIR), *parts])


def _jupyter_server_extension_points():
    return [{"module": __name__}]


def _load_jupyter_server_extension(server_app) -> None:
    """Put the template's folder on ``JUPYTER_PATH`` before Voila's extension looks for templates;
    default the MathJax settings and Voila's template (unless the server's config sets them)."""
    os.environ["JUPYTER_PATH"] = jupyter_path(os.environ.get("JUPYTER_PATH"))
    for key, value in SETTINGS.items():
        server_app.web_app.settings.setdefault(key, value)
    if "template" not in server_app.config.VoilaConfiguration:
        server_app.config.VoilaConfiguration.template = TEMPLATE
    server_app.log.info("mlsyslab: Voila template %r from %s (no CDN requests)", TEMPLATE, DATA_DIR)


def install(prefix: str | os.PathLike = sys.prefix) -> pathlib.Path:
    """Write :data:`SERVER_CONFIG` to ``<prefix>/etc/jupyter/jupyter_server_config.d/mlsyslab-offline.json``
    (every Jupyter server of that environment loads the extension); returns the file."""
    path = pathlib.Path(prefix) / "etc" / "jupyter" / "jupyter_server_config.d" / "mlsyslab-offline.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(SERVER_CONFIG, indent=2) + "\n")
    return path


def main(argv=None) -> int:
    """``python -m mlsyslab.labs.offline NOTEBOOK [voila options]``: Voila with no CDN request;
    ``--install [PREFIX]``: :func:`install`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m mlsyslab.labs.offline NOTEBOOK [voila options]  (Voila, no CDN request)\n"
              "       python -m mlsyslab.labs.offline --install [PREFIX]  (config file for every Jupyter server "
              "of the environment; PREFIX: sys.prefix)", file=sys.stderr)
        return 0 if argv else 2
    if argv[0] == "--install":
        print(install(*argv[1:2]))
        return 0
    env = dict(os.environ, JUPYTER_PATH=jupyter_path(os.environ.get("JUPYTER_PATH")))
    cmd = [sys.executable, "-m", "voila", *VOILA_ARGS, *argv]
    os.execve(sys.executable, cmd, env)
    return 1  # not reached


if __name__ == "__main__":
    raise SystemExit(main())
