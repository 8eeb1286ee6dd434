"""Argument helpers shared by the subcommands.

:func:`add_classifier_option` gives every subcommand the same ``--classifier``: several names after one
flag, the flag repeated, or both (``--classifier a b --classifier c``), in the order given; a name given
twice is an error, as :func:`imgclass.ready.ready_many` would say.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any


class ExtendOnce(argparse.Action):
    """Append every value after the flag to one list, across repeats; refuse a value given twice."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        items = list(getattr(namespace, self.dest, None) or [])
        for value in [values] if isinstance(values, str) else list(values or ()):
            if value in items:
                parser.error(f"{option_string or self.dest} {value} given more than once")
            items.append(value)
        setattr(namespace, self.dest, items)


def add_classifier_option(
    parser: argparse.ArgumentParser,
    *flags: str,
    choices: Sequence[str] | None = None,
    metavar: str = "NAME",
    help: str,
    dest: str | None = None,
) -> argparse.Action:
    """Add ``--classifier`` (or ``flags``) taking one or more values, repeatable; ``None`` when absent.

    ``choices`` limits the values (registry names); leave it out where model files are accepted too.
    Values swallow the words that follow, so put positional arguments first or end the list with ``--``.
    """
    kwargs: dict[str, Any] = {"dest": dest} if dest else {}
    return parser.add_argument(
        *(flags or ("--classifier",)),
        nargs="+",
        action=ExtendOnce,
        choices=choices,
        metavar=metavar,
        default=None,
        help=f"{help} (several after one flag, or the flag repeated)",
        **kwargs,
    )
