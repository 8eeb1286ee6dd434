"""Send images over TCP to a server that stores each one once, intact, and replies with verdicts.

The wire format is specified in ``docs/protocol.md`` (reference code: :mod:`imgclass.transfer.protocol`);
:class:`ImageServer` (configured by a :class:`ServerOptions`) and :class:`ImageClient` speak it.
Quick start::

    with ImageServer(out_dir="received", classifiers=["colour-count"]) as server:
        with ImageClient(*server.address) as client:
            reply = client.send("photo.jpg")
            print(reply.stored, reply.verdict("colour-count").label)

Names are imported lazily, so a client (or the CLI) does not pay for OpenCV, which only the server
needs.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from imgclass.transfer.client import ImageClient, ServerClosed, image_files
    from imgclass.transfer.protocol import (
        DEFAULT_MAX_PAYLOAD,
        DEFAULT_PORT,
        Hello,
        ProtocolError,
        RemoteError,
        Reply,
        Verdict,
    )
    from imgclass.transfer.server import ImageServer, Received, Rejected, ServerOptions

# A library must not print: without this, logging's last-resort handler would write our warnings to
# stderr whenever the application has not configured logging.
logging.getLogger(__name__).addHandler(logging.NullHandler())

_EXPORTS = {
    "ImageClient": "client",
    "ServerClosed": "client",
    "image_files": "client",
    "DEFAULT_MAX_PAYLOAD": "protocol",
    "DEFAULT_PORT": "protocol",
    "Hello": "protocol",
    "ProtocolError": "protocol",
    "RemoteError": "protocol",
    "Reply": "protocol",
    "Verdict": "protocol",
    "ImageServer": "server",
    "Received": "server",
    "Rejected": "server",
    "ServerOptions": "server",
}

__all__ = [
    "DEFAULT_MAX_PAYLOAD",
    "DEFAULT_PORT",
    "Hello",
    "ImageClient",
    "ImageServer",
    "ProtocolError",
    "Received",
    "Rejected",
    "RemoteError",
    "Reply",
    "ServerClosed",
    "ServerOptions",
    "Verdict",
    "image_files",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
