"""The ``mlsyslab`` command line.

Each subcommand lives in its own module ``mlsyslab/cli/<name>.py`` exposing
``register(subparsers)`` (adds its parser and sets ``func``). ``func(args)`` returns an exit
code. Errors from mlsyslab (:class:`~mlsyslab.errors.MLSysError`) become one line on stderr
and exit code 2 - never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

#: subcommand modules, in the order ``--help`` lists them
SUBCOMMANDS = ("zoo", "serve", "load", "roofline", "train", "sustain", "run", "validate", "lab", "course", "grade")


class OneLineArgumentParser(argparse.ArgumentParser):
    """Argument errors as one line on stderr (exit 2), like every other mlsyslab error; subparsers inherit it."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = OneLineArgumentParser(prog="mlsyslab", description="ML-systems performance reasoning from first principles.")
    parser.add_argument("--version", action="version", version=f"mlsyslab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"mlsyslab.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"mlsyslab.cli.{name}":
                continue  # subcommand not shipped in this build
            raise
        module.register(sub)
    return parser


def main(argv=None) -> int:
    from ..errors import MLSysError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    from ..extras import command_hint, command_precheck

    missing = command_precheck(args.command)
    if missing:
        print(f"mlsyslab {args.command}: error: {missing}", file=sys.stderr)
        return 2
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # here, not at exit: a reader that has gone is handled below
        return code
    except BrokenPipeError:
        return _reader_gone()
    except MLSysError as exc:
        print(f"mlsyslab {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"mlsyslab {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:  # an optional dependency: name the extra that brings it, in one line
        hint = command_hint(args.command, exc.name)
        if hint is None:
            raise
        print(f"mlsyslab {args.command}: error: {hint}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _reader_gone() -> int:
    """The reader of stdout closed it (``mlsyslab ... | head``): stop quietly, as a command killed by
    SIGPIPE does (exit 141), with stdout pointed at /dev/null so that the flush at exit cannot raise
    again (Python docs, "Note on SIGPIPE")."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    finally:
        os.close(devnull)
    return 128 + 13


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
