"""The server's decode memory budget: a semaphore counted in bytes, shared by every decode in flight.

A payload's size says little about what decoding it costs: an 8192x8192 16-bit RGBA PNG is half a
megabyte on the wire and half a gigabyte once decoded. So before any decode the server prices the
image from its header, ``width * height * channels * bytes per channel`` times the decoder's peak
factor (measured below), and reserves that many bytes of :class:`DecodeBudget`; the decode waits until
they are free. The sum of all reservations never exceeds the budget, so neither does the memory the
decodes hold at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from imgclass.headers import ImageHeader

#: Decoded channels and bytes per channel we assume for formats whose header we do not read further:
#: the most OpenCV may allocate for them (TIFF can carry four float32 samples).
_WORST_LAYOUT: Final[dict[str, tuple[int, int]]] = {
    "jpeg": (3, 1),  # OpenCV turns CMYK into BGR; 12-bit JPEGs are not built in
    "gif": (4, 1),
    "webp": (4, 1),
    "bmp": (4, 1),
    "tiff": (4, 4),
}
#: Peak memory of a full decode to 8-bit BGR (:func:`imgclass.decode.decode_image`: the raw decode,
#: OpenCV's own copy, and the 16-bit temporaries of flattening alpha onto white), as a multiple of the
#: raw decoded size. Measured 4.2x for a 4096x4096 16-bit RGBA PNG; rounded up.
FULL_DECODE_FACTOR: Final = 4.5
#: Peak of the reduced check decode (colour, 8-bit, JPEGs at 1/8 size): at most the raw size.
CHECK_DECODE_FACTOR: Final = 1.0


def decoded_layout(header: ImageHeader, prefix: bytes) -> tuple[int, int]:
    """``(channels, bytes per channel)`` a decode of this image may produce, from its header bytes."""
    if header.format == "png" and len(prefix) >= 26 and prefix[12:16] == b"IHDR":
        depth, colour = prefix[24], prefix[25]
        # Grey may gain an alpha channel from tRNS; everything else may become BGRA.
        return (2 if colour == 0 else 4), (2 if depth == 16 else 1)
    return _WORST_LAYOUT.get(header.format, (4, 4))


def decode_cost(header: ImageHeader, prefix: bytes, *, full: bool) -> int:
    """Bytes to reserve before decoding: the raw decoded size times the decoder's peak factor."""
    channels, depth = decoded_layout(header, prefix)
    factor = FULL_DECODE_FACTOR if full else CHECK_DECODE_FACTOR
    return int(header.width * header.height * channels * depth * factor)


class BudgetExceeded(Exception):
    """The bytes could not be reserved in time (``too_big``: they never could, being over the whole budget)."""

    def __init__(self, message: str, *, too_big: bool) -> None:
        super().__init__(message)
        self.too_big = too_big


class DecodeBudget:
    """A byte semaphore. Thread-safe; first come, first served among waiters that fit."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"the decode budget must be at least 1 byte, got {capacity}")
        self.capacity = capacity
        self._used = 0
        self._peak = 0
        self._cond = threading.Condition()

    @property
    def used(self) -> int:
        with self._cond:
            return self._used

    @property
    def peak(self) -> int:
        """The most bytes ever reserved at once (for tests and monitoring)."""
        with self._cond:
            return self._peak

    def acquire(self, size: int, timeout: float | None) -> None:
        if size > self.capacity:
            raise BudgetExceeded(
                f"decoding needs {size / 2**20:.0f} MiB, more than the server's whole decode budget of "
                f"{self.capacity / 2**20:.0f} MiB",
                too_big=True,
            )
        end = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._used + size > self.capacity:
                left = None if end is None else end - time.monotonic()
                if left is not None and left <= 0:
                    raise BudgetExceeded(
                        f"the server's decode budget ({self.capacity / 2**20:.0f} MiB) stayed taken by other "
                        f"images for {timeout:g} s; try again",
                        too_big=False,
                    )
                self._cond.wait(left)
            self._used += size
            self._peak = max(self._peak, self._used)

    def release(self, size: int) -> None:
        with self._cond:
            self._used -= size
            self._cond.notify_all()

    @contextmanager
    def reserve(self, size: int, timeout: float | None) -> Iterator[None]:
        self.acquire(size, timeout)
        try:
            yield
        finally:
            self.release(size)
