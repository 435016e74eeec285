"""A reader that closes the pipe early (``mlsyslab ... | head``) ends the command quietly: no traceback,
no 'Exception ignored' at exit, the exit status of a command killed by SIGPIPE (128 + 13)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize("argv", [["zoo", "models"], ["zoo", "hardware", "--json"],
                                  ["validate"]])
def test_closed_pipe_is_not_an_error_report(argv):
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first byte is written
    try:
        proc = subprocess.run([sys.executable, "-m", "mlsyslab", *argv], stdout=write, stderr=subprocess.PIPE,
                              text=True, timeout=120)
    finally:
        os.close(write)
    assert proc.stderr == ""
    assert proc.returncode == 141


def test_output_still_reaches_a_reader_that_stays():
    proc = subprocess.run([sys.executable, "-m", "mlsyslab", "zoo", "models"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0 and "Llama3_8B" in proc.stdout and proc.stderr == ""
