"""What a package index shows and what a reviewer checks: one version, the licence, Python versions equal
to the tested ones, a README whose links and lab count hold on a package index page, an sdist without the
repository's test suite. (The built wheel itself, installed as a pip user would: tests/test_wheel_install.py.)"""

from __future__ import annotations

import importlib.metadata
import re
import sys
import tomllib

import mlsyslab


def _pyproject(repo_root):
    return tomllib.loads((repo_root / "pyproject.toml").read_text(encoding="utf-8"))


def test_one_version_source(repo_root):
    project = _pyproject(repo_root)
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "mlsyslab.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", mlsyslab.__version__)
    assert mlsyslab.__version__ == importlib.metadata.version("mlsyslab")


def test_licence_is_apache_2_in_the_repository_and_the_metadata(repo_root):
    text = (repo_root / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text and "END OF TERMS AND CONDITIONS" in text
    project = _pyproject(repo_root)["project"]
    assert project["license"] == "Apache-2.0" and project["license-files"] == ["LICENSE"]
    assert project["authors"] and project["keywords"]
    for url in project["urls"].values():
        assert url.startswith("https://github.com/mlsyslab/mlsyslab"), url


def test_python_versions_are_the_tested_ones(repo_root):
    """requires-python's floor and the classifiers name exactly the versions make test runs: this interpreter
    (the .venv) and the others of tests/test_python_versions.py."""
    from test_python_versions import OTHER_VERSIONS

    project = _pyproject(repo_root)["project"]
    listed = sorted((c.rsplit(" ", 1)[1] for c in project["classifiers"]
                     if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)), key=lambda v: int(v[2:]))
    tested = sorted({f"{sys.version_info.major}.{sys.version_info.minor}", *OTHER_VERSIONS}, key=lambda v: int(v[2:]))
    assert listed == tested
    assert project["requires-python"] == f">={listed[0]}"


def test_readme_works_on_a_package_index_page(repo_root):
    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)\s]+)\)", readme)
    assert links and [u for u in links if not u.startswith("https://")] == []
    for url in links:
        if "github.com/" in url:
            assert url.startswith("https://github.com/mlsyslab/mlsyslab"), url
    assert "pip install mlsyslab" in readme and 'pip install "mlsyslab[lab,grading]"' in readme
    assert "mlsyslab lab --copy" in readme and "mlsyslab course init" in readme
    labs = _pyproject(repo_root)["project"]["entry-points"]["mlsyslab.labs"]
    words = {9: "Nine"}
    assert f"{words[len(labs)]} prediction-first lab notebooks" in readme
    rows = re.findall(r"^\| \d+\. .*\| \[labs/(\w+)\.ipynb\]", readme, re.M)
    assert sorted(rows) == sorted(labs)
    assert not re.search(r"\b(seven|Seven|7 prediction)", readme)


def test_the_sdist_leaves_the_test_suite_out(repo_root):
    """The sdist builds the wheel; the tests need the repository (docs, course, browser, hub), so they stay there."""
    manifest = (repo_root / "MANIFEST.in").read_text(encoding="utf-8").splitlines()
    assert "prune tests" in manifest
