"""Small, bounded parsers of image containers: everything a byte-stream classifier reads, no pixels.

:mod:`~imgclass.parsers.container` names the format and reads the dimensions of any supported file;
:mod:`~imgclass.parsers.jpeg` and :mod:`~imgclass.parsers.png` read the rest of those headers. Every
parser bounds its loops and reads and raises ``ValueError`` on malformed input.
"""

from imgclass.parsers.container import FORMATS, ImageHeader, read_header, sniff_format
from imgclass.parsers.jpeg import JpegInfo, estimate_quality, parse_jpeg
from imgclass.parsers.png import PngInfo, parse_png

__all__ = [
    "FORMATS",
    "ImageHeader",
    "JpegInfo",
    "PngInfo",
    "estimate_quality",
    "parse_jpeg",
    "parse_png",
    "read_header",
    "sniff_format",
]
