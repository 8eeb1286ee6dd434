"""The ``imgclass`` command line: argparse subcommands, one module each.

Every module in this package that defines ``register(subparsers)`` is a subcommand: ``register``
adds its parser and sets ``func`` to a callable taking the parsed arguments and returning an exit
status. A module-level ``ORDER`` number sorts ``--help``. Only the CLI configures logging.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from collections.abc import Sequence
from types import ModuleType

from imgclass import __version__


def _command_modules() -> list[ModuleType]:
    modules = [
        importlib.import_module(f"{__name__}.{info.name}")
        for info in pkgutil.iter_modules(__path__)
        if not info.name.startswith("_")
    ]
    commands = [m for m in modules if hasattr(m, "register")]
    return sorted(commands, key=lambda m: (getattr(m, "ORDER", 100), m.__name__))


def build_parser() -> argparse.ArgumentParser:
    """The ``imgclass`` argument parser: global options and one subcommand per module of :mod:`imgclass.cli`."""
    parser = argparse.ArgumentParser(
        prog="imgclass",
        description="Tell camera photographs (real) from animated images.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in _command_modules():
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line on ``argv`` (default: ``sys.argv[1:]``); configure logging; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        status: int = args.func(args)
    except (ValueError, OSError) as exc:
        logging.getLogger("imgclass").debug("command failed", exc_info=True)
        print(f"imgclass {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return status
