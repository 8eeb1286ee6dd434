"""Send images over TCP to a server that stores each one once, intact, and replies with verdicts.

The wire format is specified in :mod:`imgclass.transfer.protocol`; :class:`ImageServer` and
:class:`ImageClient` speak it. Quick start::

    with ImageServer(out_dir="received", classifiers=["colour-count"]) as server:
        with ImageClient(*server.address) as client:
            reply = client.send("photo.jpg")
            print(reply.stored, reply.verdict("colour-count").label)
"""

from __future__ import annotations

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
from imgclass.transfer.server import ImageServer, Received, Rejected

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
    "Verdict",
    "image_files",
]
