"""``imgclass send``: send images to an ``imgclass serve`` and print its verdicts."""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Any

from imgclass.cli.serve import add_security_arguments, read_token
from imgclass.transfer.protocol import DEFAULT_PORT, Reply

ORDER = 41


def register(subparsers: Any) -> None:
    """Add the ``send`` subcommand (the TCP client) to ``subparsers``."""
    parser = subparsers.add_parser(
        "send",
        help="send images to an imgclass server and print the verdicts",
        description="Send image files (folders are searched recursively) over one connection and print "
        "each verdict. --random N sends N images picked at random, as the poster's client did.",
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="image files or folders")
    parser.add_argument("--host", default="127.0.0.1", help="server address (default: %(default)s)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="server port (default: %(default)s)")
    parser.add_argument("--random", type=int, metavar="N", help="send N images picked at random")
    parser.add_argument("--seed", type=int, help="seed for --random")
    parser.add_argument("--json", action="store_true", help="print one JSON object per image")
    parser.add_argument("--timeout", type=float, default=30.0, metavar="S", help="seconds to wait for the server")
    parser.add_argument(
        "--retry-for",
        type=float,
        default=30.0,
        metavar="S",
        help="keep retrying (busy or restarting server) for this many seconds without progress (default: %(default)s)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_security_arguments(parser)
    parser.add_argument("--tls", action="store_true", help="connect with TLS (system CAs unless --tls-ca)")
    parser.add_argument("--tls-ca", type=Path, metavar="PEM", help="CA bundle that signed the server's certificate")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Send the images of ``args`` with :class:`~imgclass.transfer.client.ImageClient`; print the verdicts."""
    import ssl

    from imgclass.transfer.client import ImageClient, image_files

    files = [f for path in args.paths for f in image_files(path)]
    if args.random is not None:
        if args.random < 1:
            raise ValueError("--random needs a positive count")
        files = random.Random(args.seed).sample(files, min(args.random, len(files)))
    if not files:
        raise ValueError("no image files to send")
    context = None
    if args.tls or args.tls_ca is not None:
        context = ssl.create_default_context(cafile=args.tls_ca)

    def show(i: int, reply: Reply) -> None:
        if args.json:
            print(json.dumps({"path": str(files[i]), **reply.to_json()}, ensure_ascii=False), flush=True)
        else:
            print(f"{files[i]}: {describe(reply)}", flush=True)

    progress = not args.no_progress and not args.json and sys.stderr.isatty()
    with ImageClient(
        args.host, args.port, timeout=args.timeout, retry_for=args.retry_for, token=read_token(args),
        ssl_context=context, on_retry=_tell_retry,
    ) as client:  # fmt: skip
        replies = client.send_many(files, progress=progress, on_reply=show)
    return 0 if all(r.ok for r in replies) else 1


def _tell_retry(attempt: int, error: BaseException, delay: float) -> None:
    print(f"imgclass send: {error}; retrying in {delay:.1f} s (attempt {attempt})", file=sys.stderr, flush=True)


def describe(reply: Reply) -> str:
    """One line for a human: where it was stored and what each classifier said."""
    if not reply.ok:
        return f"error {reply.code}: {reply.message}"
    verdicts = "  ".join(
        f"{v.classifier}: {v.label} ({v.score:.2f})" if v.error is None else f"{v.classifier}: error ({v.error})"
        for v in reply.verdicts
    )
    stored = f"stored as {reply.stored}" + (" (already there)" if reply.duplicate else "")
    return f"{stored}  {verdicts}  [{reply.server_ms:.1f} ms]".rstrip()
