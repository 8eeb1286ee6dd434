"""``imgclass prepare SRC DST``: normalise a folder-per-class data set (see :mod:`imgclass.prepare`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from imgclass.prepare import DEFAULT_QUALITY, DEFAULT_SIZE, prepare_folder


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``prepare`` subcommand (normalise a folder-per-class set) to ``subparsers``."""
    parser = subparsers.add_parser(
        "prepare",
        help="normalise SRC/{real,animated}/* into DST as square JPEGs",
        description=(
            "Decode every image under SRC/real and SRC/animated, flatten alpha onto white, scale the short "
            "side to --size, centre-crop to a square and write DST/<class>/<stem>.jpg at --quality. "
            "Exits 1 if any file was skipped."
        ),
    )
    parser.add_argument("src", type=Path, metavar="SRC", help="folder with real/ and/or animated/ inside")
    parser.add_argument("dst", type=Path, metavar="DST", help="output folder (created if missing)")
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE, help="output side in pixels (default %(default)s)")
    parser.add_argument("--quality", type=int, default=DEFAULT_QUALITY, help="JPEG quality 1-100 (default %(default)s)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Normalise ``args.src`` into ``args.dst`` (:func:`imgclass.prepare.prepare_folder`); 1 if any was skipped."""
    report = prepare_folder(args.src, args.dst, size=args.size, quality=args.quality, progress=not args.no_progress)
    print(f"wrote {len(report.written)} images to {args.dst}")
    if not report.skipped:
        return 0
    print(f"imgclass prepare: skipped {len(report.skipped)} files:", file=sys.stderr)
    for path, reason in report.skipped:
        print(f"  {path}: {reason}", file=sys.stderr)
    return 1
