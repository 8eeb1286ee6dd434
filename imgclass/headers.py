"""Read an encoded image's container and dimensions from its header, without decoding pixels.

The parsers live in :mod:`imgclass.parsers`; this module keeps the short import path its callers use.
"""

from __future__ import annotations

from imgclass.parsers.container import (
    EMPTY_FILE,
    EXTENSIONS,
    FORMATS,
    OPTIONAL_FORMATS,
    UNSUPPORTED_EXTENSIONS,
    ImageHeader,
    read_header,
    sniff_format,
    unsupported_reason,
)

__all__ = [
    "EMPTY_FILE",
    "EXTENSIONS",
    "FORMATS",
    "OPTIONAL_FORMATS",
    "UNSUPPORTED_EXTENSIONS",
    "ImageHeader",
    "read_header",
    "sniff_format",
    "unsupported_reason",
]
