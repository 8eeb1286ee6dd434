"""``imgclass serve``: receive images over TCP, store each once, classify it, reply with the verdicts."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from imgclass.transfer.protocol import DEFAULT_MAX_PAYLOAD, DEFAULT_PORT

ORDER = 40

#: Where a token may come from, besides ``--token-file``; never the command line, which ``ps`` shows.
TOKEN_ENV = "IMGCLASS_TOKEN"  # noqa: S105 - the variable's name, not a secret


def register(subparsers: Any) -> None:
    """Add the ``serve`` subcommand (the TCP server) to ``subparsers``."""
    from imgclass.cli._args import add_classifier_option
    from imgclass.ready import DEFAULT_CLASSIFIER

    parser = subparsers.add_parser(
        "serve",
        help="receive images over TCP, store and classify them",
        description="Listen for imgclass clients, store every image once (atomically, named after its "
        "client name and content) in --out, classify it and reply with the verdicts. Runs until Ctrl-C. "
        "Binds to 127.0.0.1 unless --allow-remote is given, which then needs a token.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="port, 0 for any free one (default: %(default)s)"
    )
    parser.add_argument(
        "--out", type=Path, default=Path("received"), help="folder to store images in (default: %(default)s)"
    )
    add_classifier_option(
        parser,
        "--classifier",
        metavar="NAME|MODEL",
        help=f"classifiers to run, registry names or model files (default: {DEFAULT_CLASSIFIER}, the accurate one)",
    )
    parser.add_argument("--no-classify", action="store_true", help="store only, classify nothing")
    parser.add_argument(
        "--max-payload-mib",
        type=float,
        default=DEFAULT_MAX_PAYLOAD / 2**20,
        metavar="MIB",
        help="largest image accepted (default: %(default)g MiB)",
    )
    parser.add_argument("--max-connections", type=int, default=64, help="concurrent clients (default: %(default)s)")
    parser.add_argument(
        "--max-per-address",
        type=int,
        default=16,
        metavar="N",
        help="connections one remote IP address may hold (default: %(default)s; loopback is exempt)",
    )
    parser.add_argument(
        "--handshake-timeout",
        type=float,
        default=5.0,
        metavar="S",
        help="seconds a new connection has for its TLS handshake and first request header (default: %(default)s)",
    )
    parser.add_argument(
        "--read-timeout",
        type=float,
        default=30.0,
        metavar="S",
        help="seconds a whole frame may take once begun (default: %(default)s)",
    )
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=60.0,
        metavar="S",
        help="seconds a connection may sit between frames (default: %(default)s)",
    )
    parser.add_argument("--max-pixels", type=int, default=None, help="largest width*height decoded (default: 64 Mi)")
    parser.add_argument(
        "--decode-budget-mib",
        type=float,
        default=2048,
        metavar="MIB",
        help="memory all decodes in flight may use together, priced from the image headers (default: %(default)g)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="classifier processes (default: one per core; 0 classifies in the connection threads)",
    )
    parser.add_argument("--no-verify", action="store_true", help="check image headers only, skip the decode check")
    parser.add_argument(
        "--no-fsync", action="store_true", help="do not flush each image to disk before replying (faster, not durable)"
    )
    parser.add_argument("--allow-remote", action="store_true", help="allow a non-loopback --host (needs a token)")
    add_security_arguments(parser)
    parser.add_argument("--tls-cert", type=Path, metavar="PEM", help="serve TLS with this certificate chain")
    parser.add_argument("--tls-key", type=Path, metavar="PEM", help="private key for --tls-cert")
    parser.set_defaults(func=run)


def add_security_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the token and TLS options that ``serve`` and ``send`` share to ``parser``."""
    parser.add_argument(
        "--token-file",
        type=Path,
        metavar="FILE",
        help=f"shared token for keyed-BLAKE3 authentication (or set ${TOKEN_ENV})",
    )


def read_token(args: argparse.Namespace) -> str | None:
    """The token from ``--token-file`` or the environment, as ``docs/protocol.md`` says: the file's
    UTF-8 text with *one* trailing line ending (LF or CRLF) removed, which editors add; any other
    leading or trailing white space is refused rather than silently kept or dropped."""
    token: str
    if args.token_file is not None:
        path: Path = args.token_file
        token = clean_token(path.read_text(encoding="utf-8"), str(path))
        return token
    token = os.environ.get(TOKEN_ENV, "")
    return clean_token(token, f"${TOKEN_ENV}") if token else None


def clean_token(text: str, where: str) -> str:
    """The token read from ``where``, without one final line ending; ``ValueError`` if empty or padded."""
    for ending in ("\r\n", "\n"):
        if text.endswith(ending):
            text = text[: -len(ending)]
            break
    if not text:
        raise ValueError(f"{where} is empty")
    if text != text.strip():
        raise ValueError(
            f"the token in {where} begins or ends with white space (beyond one final line ending); "
            "remove it, or both sides would silently disagree"
        )
    return text


def run(args: argparse.Namespace) -> int:
    """Run an :class:`~imgclass.transfer.server.ImageServer` with the options of ``args`` until interrupted."""
    import ssl

    from imgclass.decode import DEFAULT_MAX_PIXELS
    from imgclass.transfer.server import ImageServer, ServerOptions

    context = None
    if args.tls_cert is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
    elif args.tls_key is not None:
        raise ValueError("--tls-key needs --tls-cert")
    if not args.no_classify:
        # Fitting the models on the bundled reference set can take a minute: say why we are quiet.
        from imgclass.ready import DEFAULT_CLASSIFIER

        names = ", ".join(args.classifier) if args.classifier else DEFAULT_CLASSIFIER
        print(f"imgclass serve: loading {names}...", file=sys.stderr, flush=True)
    options = ServerOptions(
        host=args.host, port=args.port, out_dir=args.out, classifiers=[] if args.no_classify else args.classifier,
        max_payload=int(args.max_payload_mib * 2**20), max_connections=args.max_connections,
        max_per_address=args.max_per_address, handshake_timeout=args.handshake_timeout,
        read_timeout=args.read_timeout, idle_timeout=args.idle_timeout,
        max_pixels=args.max_pixels or DEFAULT_MAX_PIXELS, decode_budget=int(args.decode_budget_mib * 2**20),
        workers=args.workers, verify_images=not args.no_verify, durable=not args.no_fsync,
        allow_remote=args.allow_remote, token=read_token(args), ssl_context=context,
    )  # fmt: skip
    server = ImageServer(options)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    server.start()
    try:
        host, port = server.address
        print(f"imgclass serve: listening on {host}:{port}, storing in {args.out} (Ctrl-C stops)",
              file=sys.stderr, flush=True)  # fmt: skip
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        signal.signal(signal.SIGTERM, previous)
    print(f"imgclass serve: stopped; {len(server.received)} images received, {len(server.rejected)} refused",
          file=sys.stderr)  # fmt: skip
    return 0


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
