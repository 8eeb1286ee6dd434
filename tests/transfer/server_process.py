"""A real server process for the tests that kill it or measure its memory.

    python -m tests.transfer.server_process OUT [--port N] [--block-at-group N]

Prints one JSON line ``{"port": ..., "pid": ...}`` once it listens, then serves until its stdin closes
(or it is killed). With ``--block-at-group N`` it reports every flush of its store on stdout
(``{"flush": n, "start": [names in the folder]}`` before, ``{"flush": n, "done": true}`` after). A
flush that finds more stored images than the flush before it is the one their replies wait for; at
the Nth such flush it prints ``{"blocked": n}`` and never finishes: the server is frozen with images
received and linked but not flushed, for the test to kill.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from collections.abc import Callable

from imgclass.transfer.server import ImageServer
from imgclass.transfer.store import TEMP_PREFIX, ImageStore


def _say(message: dict[str, object]) -> None:
    print(json.dumps(message), flush=True)


def instrument_flushes(block_at_group: int) -> None:
    """Report every flush of every store in this process; block forever at the one described above."""
    count = [0]
    previous = [0]
    groups = [0]
    lock = threading.Lock()

    def wrap(flush: Callable[[ImageStore], None]) -> Callable[[ImageStore], None]:
        def reported(store: ImageStore) -> None:
            with lock:
                count[0] += 1
                n = count[0]
                names = sorted(os.listdir(store.root))
                stored = [name for name in names if not name.startswith(TEMP_PREFIX)]
                if len(stored) > previous[0]:
                    groups[0] += 1
                block = len(stored) > previous[0] and groups[0] == block_at_group
                previous[0] = len(stored)
                _say({"flush": n, "start": names})
                if block:
                    _say({"blocked": n})
            if block:
                threading.Event().wait()  # frozen here until the test kills the process
            flush(store)
            _say({"flush": n, "done": True})

        return reported

    ImageStore._flush = wrap(ImageStore._flush)  # type: ignore[method-assign]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--block-at-group", type=int)
    args = parser.parse_args()
    if args.block_at_group is not None:
        instrument_flushes(args.block_at_group)
    with ImageServer(port=args.port, out_dir=args.out, classifiers=[], workers=0) as server:
        _say({"port": server.address[1], "pid": os.getpid()})
        sys.stdin.read()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
