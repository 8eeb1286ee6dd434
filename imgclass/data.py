"""Load folder-per-class image sets as encoded bytes.

A data set is a folder with ``real/`` and ``animated/`` subfolders. Images stay encoded, because the
byte-array classifiers need each file exactly as it is on disk. A filename ``source__name.ext`` names
its source (``endless_sky__badlands0.jpg`` comes from ``endless_sky``), so results can be split by source.
A ``manifest.csv`` beside the class folders (reference set v2 writes one) gives each file its domain and
content group; see :func:`read_manifest`.
"""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from imgclass.headers import read_header
from imgclass.labels import LABEL_NAMES

logger = logging.getLogger(__name__)

SOURCE_SEPARATOR = "__"
UNKNOWN_SOURCE = "unknown"
MANIFEST_NAME = "manifest.csv"
#: Columns a manifest needs for :func:`load_dataset` to use it (v2 manifests have more).
MANIFEST_COLUMNS = ("path", "label", "domain", "group")


@dataclass(frozen=True)
class Record:
    """One image: its encoded bytes, its label (0 real, 1 animated), its source and where it came from.

    ``domain`` is the kind of image (``"bw_drawing"``, ``"people"``, ...) for leave-one-domain-out
    evaluation; without a manifest saying otherwise it is the source. ``group`` ties an image to its
    derived views (crops, greyscale copies, re-encodings) so no split puts them on both sides; without a
    manifest every image is its own group.
    """

    #: The encoded file, as read.
    data: bytes
    #: 0 real, 1 animated.
    label: int
    #: Where it came from: the filename prefix ``source__name.ext``, or the manifest's source.
    source: str
    #: The file it was read from.
    path: Path
    #: The kind of image, for leave-one-domain-out.
    domain: str = ""
    #: Its content group: an image and its derived views share one.
    group: str = ""

    def __post_init__(self) -> None:
        # Frozen: fill the documented defaults through object.__setattr__.
        if not self.domain:
            object.__setattr__(self, "domain", self.source)
        if not self.group:
            object.__setattr__(self, "group", str(self.path))

    @property
    def label_name(self) -> str:
        return LABEL_NAMES[self.label]


@dataclass(frozen=True)
class Skipped:
    """A file that was not loaded, and why."""

    path: Path
    reason: str


@dataclass(frozen=True)
class Dataset:
    """The records of a folder-per-class set, and the files that were reported and skipped."""

    root: Path
    records: tuple[Record, ...]
    skipped: tuple[Skipped, ...] = ()

    def __len__(self) -> int:
        return len(self.records)

    @property
    def images(self) -> list[bytes]:
        return [r.data for r in self.records]

    @property
    def labels(self) -> npt.NDArray[np.int64]:
        return np.array([r.label for r in self.records], dtype=np.int64)

    @property
    def sources(self) -> npt.NDArray[np.str_]:
        return np.array([r.source for r in self.records], dtype=str)

    @property
    def domains(self) -> npt.NDArray[np.str_]:
        return np.array([r.domain for r in self.records], dtype=str)

    @property
    def groups(self) -> npt.NDArray[np.str_]:
        return np.array([r.group for r in self.records], dtype=str)

    @property
    def names(self) -> list[str]:
        return [r.path.name for r in self.records]


def source_of(filename: str | os.PathLike[str]) -> str:
    """The source prefix of ``source__name.ext``, or ``"unknown"`` when the name has none."""
    name = Path(filename).name
    prefix, sep, _rest = name.partition(SOURCE_SEPARATOR)
    return prefix if sep and prefix else UNKNOWN_SOURCE


def reference_dir() -> Path:
    """The bundled reference set: ``$IMGCLASS_DATA`` if set, else ``data/reference`` in the source tree."""
    env = os.environ.get("IMGCLASS_DATA")
    path = Path(env) if env else Path(__file__).resolve().parent.parent / "data" / "reference"
    if not (path / "real").is_dir() or not (path / "animated").is_dir():
        raise ValueError(
            f"no reference set at {path}: install imgclass from its source tree (pip install -e .) "
            "or point IMGCLASS_DATA at a folder with real/ and animated/"
        )
    return path


def iter_image_files(root: Path) -> Iterator[tuple[Path, int]]:
    """Yield ``(path, label)`` for every non-hidden file under ``root/real`` and ``root/animated``, sorted."""
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"data folder {root} does not exist or is not a folder")
    folders = [root / name for name in LABEL_NAMES]
    missing = [f.name for f in folders if not f.is_dir()]
    if missing:
        raise ValueError(f"data folder {root} needs real/ and animated/ subfolders; missing: {', '.join(missing)}")
    for label, folder in enumerate(folders):
        for path in sorted(folder.iterdir()):
            if path.name.startswith("."):
                continue  # editor and OS droppings (.DS_Store), never images
            yield path, label


def read_image_file(path: Path) -> bytes:
    """Read a file and check that its header is a recognised image; errors name the file."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ValueError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not data:
        raise ValueError(f"{path}: empty file")
    try:
        read_header(data)
    except ValueError as exc:
        raise ValueError(f"{path}: not a readable image ({exc})") from None
    return data


@dataclass(frozen=True)
class ManifestRow:
    """What a data set's manifest says about one file."""

    label: int
    domain: str
    group: str


def read_manifest(root: str | os.PathLike[str]) -> dict[str, ManifestRow] | None:
    """``path relative to root -> row`` from ``root/manifest.csv``, or None when there is no such manifest.

    A file of that name without the ``path,label,domain,group`` columns (the v1 set's ``MANIFEST.csv``
    on a case-insensitive file system) is not a domain manifest and is ignored.
    """
    path = Path(root) / MANIFEST_NAME
    if not path.is_file():
        return None
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not set(MANIFEST_COLUMNS) <= set(reader.fieldnames or ()):
            logger.debug("%s lacks %s; not used for domains", path, MANIFEST_COLUMNS)
            return None
        rows: dict[str, ManifestRow] = {}
        for line, row in enumerate(reader, 2):
            name = (row["path"] or "").replace("\\", "/")
            if row["label"] not in LABEL_NAMES:
                raise ValueError(f"{path}:{line}: label must be one of {LABEL_NAMES}, got {row['label']!r}")
            if not name or not row["domain"] or not row["group"]:
                raise ValueError(f"{path}:{line}: path, domain and group must not be empty")
            if name in rows:
                raise ValueError(f"{path}:{line}: {name} is listed twice")
            rows[name] = ManifestRow(LABEL_NAMES.index(row["label"]), row["domain"], row["group"])
    return rows


def load_dataset(
    root: str | os.PathLike[str] | None = None,
    *,
    on_error: Literal["raise", "skip"] = "raise",
    sources: Sequence[str] | None = None,
) -> Dataset:
    """Load a folder-per-class set (default: the bundled reference set).

    ``on_error="raise"`` stops at the first unreadable or non-image file with an error naming it;
    ``on_error="skip"`` logs a warning for each and lists it in :attr:`Dataset.skipped`.
    ``sources`` keeps only files whose source prefix is listed.
    With a ``manifest.csv`` (see :func:`read_manifest`) each record gets its domain and group from it; a
    manifest row whose label disagrees with the file's folder is an error, and a file the manifest does
    not list keeps the defaults (a warning says so).
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    base = reference_dir() if root is None else Path(root)
    manifest = read_manifest(base)
    unlisted = 0
    records: list[Record] = []
    skipped: list[Skipped] = []
    for path, label in iter_image_files(base):
        source = source_of(path)
        if sources is not None and source not in sources:
            continue
        try:
            data = read_image_file(path)
        except ValueError as exc:
            if on_error == "raise":
                raise
            logger.warning("skipping %s", exc)
            skipped.append(Skipped(path, str(exc)))
            continue
        domain = group = ""
        if manifest is not None:
            row = manifest.get(f"{LABEL_NAMES[label]}/{path.name}")
            if row is None:
                unlisted += 1
            elif row.label != label:
                raise ValueError(
                    f"{path}: the manifest labels it {LABEL_NAMES[row.label]!r} but it is in {LABEL_NAMES[label]}/"
                )
            else:
                domain, group = row.domain, row.group
        records.append(Record(data, label, source, path, domain, group))
    if unlisted:
        logger.warning("%d files under %s are not in its %s; they keep source and path as domain and group",
                       unlisted, base, MANIFEST_NAME)  # fmt: skip
    if not records:
        raise ValueError(f"no images found under {base}/real and {base}/animated")
    return Dataset(base, tuple(records), tuple(skipped))
