"""Turn an untrusted, client-supplied file name into a safe file name stem.

The result never contains a path separator, never is ``.`` or ``..``, never starts with a dot (no
hidden files, and no clash with the server's ``.incoming-`` temporary files), has no control or
format characters (which includes the right-to-left override used to disguise extensions), no
characters Windows forbids, is not a Windows device name and fits in a file name with room to spare.

The extension is *not* taken from the client: the server names files after the container it sniffed
from the bytes, so a client cannot store an ``.html`` or ``.exe`` file.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

#: Stems are cut to this many UTF-8 bytes, leaving room for a ``-<sha256>`` suffix and an extension
#: within the common 255-byte file-name limit.
MAX_STEM_BYTES: Final = 120
FALLBACK_STEM: Final = "image"

#: The canonical extension of each format :func:`imgclass.parsers.container.sniff_format` knows, and the
#: extensions a client may use for it and keep.
EXTENSIONS: Final[dict[str, tuple[str, ...]]] = {
    "jpeg": (".jpg", ".jpeg", ".jpe"),
    "png": (".png",),
    "gif": (".gif",),
    "webp": (".webp",),
    "bmp": (".bmp",),
    "tiff": (".tif", ".tiff"),
}

_FORBIDDEN = re.compile(r'[<>:"|?*/\\]')
#: Every name Windows reserves for a device, lower-cased: COM and LPT take the digits 0-9 and the
#: superscripts ¹ ² ³ (which Windows also treats as digits there), and the console has two more.
_DEVICE_DIGITS: Final = "0123456789\u00b9\u00b2\u00b3"
_WINDOWS_DEVICES: Final = frozenset(
    {"con", "prn", "aux", "nul", "conin$", "conout$"}
    | {f"{port}{digit}" for port in ("com", "lpt") for digit in _DEVICE_DIGITS}
)


def safe_stem(name: str) -> str:
    """The safe stem of ``name`` (the part before the extension), never empty."""
    name = unicodedata.normalize("NFC", name)
    # Both separators, whatever the server's OS: a Windows client's "..\\..\\x" must not survive.
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith(("C", "Z")) or ch == " ")
    name = _FORBIDDEN.sub("_", name)
    stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    stem = stem.strip(" .")
    stem = _truncate_utf8(stem, MAX_STEM_BYTES).rstrip(" .")
    if not stem:
        return FALLBACK_STEM
    if is_windows_device(stem):
        stem = "_" + stem
    return stem


def is_windows_device(stem: str) -> bool:
    """Whether Windows would open a device for this stem: ``CON``, ``con.txt``, ``COM¹ .x``, ``CONIN$``...

    Windows ignores everything from the first dot and any trailing spaces (and dots) before it, and
    compares without case.
    """
    return stem.split(".")[0].rstrip(" .").lower() in _WINDOWS_DEVICES


def extension_for(name: str, fmt: str) -> str:
    """The client's extension when it fits the sniffed format, else the format's canonical one."""
    allowed = EXTENSIONS.get(fmt, (".bin",))
    lower = name.lower()
    for ext in allowed:
        if lower.endswith(ext):
            return ext
    return allowed[0]


def candidate_names(name: str, fmt: str, hexdigest: str) -> list[str]:
    """Names to try, in order, for content ``hexdigest`` sent as ``name``: plain, then digest-suffixed."""
    stem, ext = safe_stem(name), extension_for(name, fmt)
    return [f"{stem}{ext}", f"{stem}-{hexdigest[:8]}{ext}", f"{stem}-{hexdigest[:16]}{ext}", f"{stem}-{hexdigest}{ext}"]


def _truncate_utf8(text: str, limit: int) -> str:
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    return raw[:limit].decode("utf-8", errors="ignore")
