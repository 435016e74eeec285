"""Rebuild the checkout's instructor notebooks: ``mlsyslab course build --course autograder [NAME ...]``."""

import pathlib
import sys

from mlsyslab.labs import registry
from mlsyslab.labs.build import build

COURSE = pathlib.Path(__file__).resolve().parent.parent / "autograder"

if __name__ == "__main__":
    root = COURSE.parent
    for lab in sys.argv[1:] or registry.names(COURSE):
        for path in build(lab, COURSE):
            print(path.relative_to(root))
