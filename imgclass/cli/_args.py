"""Argument helpers shared by the subcommands.

:func:`add_classifier_option` gives every subcommand the same ``--classifier``: several names after one
flag, the flag repeated, or both (``--classifier a b --classifier c``), in the order given; a name given
twice is an error, as :func:`imgclass.ready.ready_many` would say. :func:`add_fast_option` gives every
command that takes ``--classifier`` the same ``--fast``, and :func:`add_log_options` the ``-v``/``-q`` that
are accepted before the command and after it.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any


class ExtendOnce(argparse.Action):
    """Append every value after the flag to one list, across repeats; refuse a value given twice.

    With ``nargs=0`` the flag takes no value and appends its ``const`` (``--fast``).
    """

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        items = list(getattr(namespace, self.dest, None) or [])
        if self.nargs == 0:
            values = [self.const]
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


def add_fast_option(parser: Any, *, single: bool = False, dest: str = "classifier") -> argparse.Action:
    """Add ``--fast``, short for ``--classifier fast``, to ``parser`` (or a mutually exclusive group).

    ``single``: ``--classifier`` takes one name, which ``--fast`` sets; otherwise ``--fast`` adds the fast
    classifier to the list.
    """
    from imgclass.ready import FAST_CLASSIFIER

    what = f"the fast classifier, same as --classifier {FAST_CLASSIFIER} (about the cost of decoding a reduced image)"
    if single:
        return parser.add_argument(  # type: ignore[no-any-return]
            "--fast", action="store_const", dest=dest, const=FAST_CLASSIFIER, help=what
        )
    return parser.add_argument(  # type: ignore[no-any-return]
        "--fast", action=ExtendOnce, nargs=0, dest=dest, const=FAST_CLASSIFIER, default=None, help=f"{what}; adds it"
    )


#: ``-v``/``-q`` given after the command are counted here and added to the ones before it.
LATE_VERBOSE, LATE_QUIET = "verbose_after_command", "quiet_after_command"


def add_log_options(parser: argparse.ArgumentParser, *, after_command: bool = False) -> None:
    """``-v``/``--verbose`` and ``-q``/``--quiet``, counted; :func:`log_level` combines both places."""
    verbose, quiet = (LATE_VERBOSE, LATE_QUIET) if after_command else ("verbose", "quiet")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, dest=verbose, help="more log output (-vv for debug)"
    )
    parser.add_argument("-q", "--quiet", action="count", default=0, dest=quiet, help="less log output: errors only")


def log_level(args: argparse.Namespace) -> int:
    """The logging level -v and -q ask for, wherever they were given (WARNING without either).

    Folds the counts given after the command into ``args.verbose`` and ``args.quiet``, for the commands
    that read them.
    """
    import logging

    verbose: int = getattr(args, "verbose", 0) + vars(args).pop(LATE_VERBOSE, 0)
    quiet: int = getattr(args, "quiet", 0) + vars(args).pop(LATE_QUIET, 0)
    args.verbose, args.quiet = verbose, quiet
    return min(max(logging.WARNING - 10 * (verbose - quiet), logging.DEBUG), logging.CRITICAL)
