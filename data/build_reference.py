#!/usr/bin/env python3
"""Rebuild ``data/reference/``: the bundled real-vs-animated reference set, from Debian packages.

    python data/build_reference.py [--lists DIR] [--cache DIR] [--out DIR] [--seed 0]

Steps: read the checked file lists (``data/sources/*.txt``), sample each source with a
fixed seed and a per-class cap, ``apt-get download`` the packages into a cache outside the repo, extract
them (and GCompris' Qt resource bundles), normalise every picked file with
:func:`imgclass.prepare.normalise_image` (512x512, alpha on white, JPEG q90), and write
``reference/{real,animated}/*.jpg`` plus ``reference/MANIFEST.csv``. Same seed and same package versions
give the same files and the same bytes. See ``data/README.md``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import random
import re
import shutil
import struct
import subprocess
import sys
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
# Importable without installing the package: the script lives in the repo it feeds.
sys.path.insert(0, str(REPO))

from imgclass.labels import LABEL_NAMES  # noqa: E402
from imgclass.prepare import normalise_image  # noqa: E402

SIZE = 512
QUALITY = 90
DEFAULT_LISTS = HERE / "sources"  # the checked lists, carried by the repository (sources/README.md)
DEFAULT_CACHE = Path("/tmp/imgclass-debs")
DEFAULT_OUT = HERE / "reference"
MANIFEST_NAME = "MANIFEST.csv"
MANIFEST_COLUMNS = (
    "file",
    "label",
    "source",
    "package",
    "package_version",
    "path_in_package",
    "licence",
    "sha256_original",
)


@dataclass(frozen=True)
class Source:
    """One checked list: ``name`` prefixes the output files, ``label`` is 0 (real) or 1 (animated)."""

    name: str
    list_name: str
    label: int


SOURCES: tuple[Source, ...] = (
    Source("endless_sky", "real.endless_sky_land", 0),
    Source("gcompris_photos", "real.gcompris_photos", 0),
    Source("scratch_photos", "real.scratch_photos", 0),
    Source("wallpaper_photos", "real.wallpaper_photos", 0),
    Source("openclipart", "anim.openclipart", 1),
    Source("wesnoth", "anim.wesnoth_portraits_story", 1),
    Source("gcompris_drawings", "anim.gcompris_lang_drawings", 1),
    Source("hedgewars", "anim.hedgewars_forts_missions", 1),
    Source("tuxpaint", "anim.tuxpaint_cartoon", 1),
    Source("flare", "anim.flare_portraits", 1),
    Source("scratch_cartoon", "anim.scratch_cartoon", 1),
)

#: Files taken from each source at most, per label: equal caps keep one big source (openclipart has
#: 1192 files, endless-sky 273) from defining what a class looks like.
CAPS = {0: 60, 1: 40}

#: How an installed path maps to the path in the upstream tree that ``debian/copyright`` names.
SOURCE_TREE_PREFIX: dict[str, tuple[str, str]] = {
    "endless-sky-data": ("/usr/share/games/endless-sky/", ""),
    "gcompris-qt-data": ("rcc:gcompris/", ""),
    "lomiri-wallpapers-16.04": ("/usr/share/backgrounds/", "16.04/"),
    "lomiri-wallpapers-20.04": ("/usr/share/backgrounds/", "20.04/"),
    "mate-backgrounds": ("/usr/share/backgrounds/mate/", ""),
    "lxqt-themes": ("/usr/share/lxqt/", ""),
    "plasma-workspace-wallpapers": ("/usr/share/wallpapers/", ""),
    "scratch": ("/usr/share/scratch/", ""),
    "flare-game": ("/usr/share/games/flare/", ""),
    "hedgewars-data": ("/usr/share/games/hedgewars/", "share/hedgewars/"),
    "tuxpaint-stamps-default": ("/usr/share/tuxpaint/", ""),
}
#: GCompris' build converts its jpg/png/svg images to webp, so its copyright names other extensions.
EXTENSION_CHANGED = frozenset({"gcompris-qt-data"})
#: Packages whose copyright file is free text, not DEP-5: the one licence it states for the data.
PLAIN_LICENCE = {"openclipart-png": "public-domain", "wesnoth-1.16-data": "GPL-2+"}
#: (package, glob on the installed path) -> licence, where a licence file shipped next to the images is
#: more specific than debian/copyright (which gives lxqt-themes' wallpapers the code's LGPL-2.1+).
LICENCE_OVERRIDE = {
    ("lxqt-themes", "/usr/share/lxqt/wallpapers/*"): "CC-BY-SA-3.0",
}

GENERIC_DIRS = frozenset({"usr", "share", "games", "contents", "images", "image", "resource", "resources"})
GCOMPRIS_RCC_DIR = "usr/share/gcompris-qt/rcc"


@dataclass(frozen=True)
class Entry:
    source: Source
    package: str
    path: str  # as in the list: "/usr/..." or "rcc:gcompris/..."


@dataclass(frozen=True)
class Built:
    entry: Entry
    file: str  # "real/endless_sky__badlands0.jpg"
    version: str
    licence: str
    sha256_original: str
    jpeg: bytes


# --- lists and sampling --------------------------------------------------------------------------


def read_list(lists: Path, source: Source) -> list[Entry]:
    path = lists / f"{source.list_name}.txt"
    entries = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        package, sep, inner = line.partition(":")
        if not sep or not inner:
            raise SystemExit(f"{path}: malformed line {line!r} (want PACKAGE:/path or PACKAGE:rcc:path)")
        entries.add(Entry(source, package, inner))
    return sorted(entries, key=lambda e: (e.package, e.path))


def sample(entries: list[Entry], cap: int, seed: int, source: Source) -> list[Entry]:
    """Up to ``cap`` entries, chosen by a generator seeded per source.

    Seeding with the source name too means adding or dropping a source leaves the others' picks alone.
    """
    if len(entries) <= cap:
        return list(entries)
    rng = random.Random(f"{seed}:{source.name}")
    return sorted(rng.sample(entries, cap), key=lambda e: (e.package, e.path))


# --- packages ------------------------------------------------------------------------------------


def run(cmd: list[str], cwd: Path | None = None) -> str:
    result = subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True)
    return result.stdout


def fetch_deb(package: str, cache: Path) -> Path:
    """The package's .deb in ``cache``, downloaded with ``apt-get download`` when missing."""
    debs = sorted(cache.glob(f"{package}_*.deb"))
    if not debs:
        print(f"  apt-get download {package}", file=sys.stderr)
        run(["apt-get", "download", package], cwd=cache)
        debs = sorted(cache.glob(f"{package}_*.deb"))
    if len(debs) != 1:
        raise SystemExit(f"expected one {package}_*.deb in {cache}, found {[d.name for d in debs]}")
    return debs[0]


def deb_version(deb: Path) -> str:
    return run(["dpkg-deb", "-f", str(deb), "Version"]).strip()


def extract_deb(deb: Path, package: str, version: str, cache: Path) -> Path:
    """Unpack once per version; the marker file makes an interrupted unpack start over."""
    root = cache / "root" / f"{package}_{version.replace(':', '%3a')}"
    marker = root / ".complete"
    if not marker.exists():
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        run(["dpkg-deb", "-x", str(deb), str(root)])
        marker.touch()
    return root


def read_rcc(path: Path, wanted: set[str] | None) -> dict[str, bytes]:
    """The ``wanted`` files (``None``: all) of a Qt resource bundle (Qt's rcc format read in memory)."""
    blob = path.read_bytes()
    if blob[:4] != b"qres":
        raise SystemExit(f"{path} is not a Qt resource bundle")
    version, tree, data, names = struct.unpack(">IIII", blob[4:20])
    node_size = 22 if version >= 2 else 14
    found: dict[str, bytes] = {}

    def name_at(offset: int) -> str:
        o = names + offset
        (length,) = struct.unpack(">H", blob[o : o + 2])
        return blob[o + 6 : o + 6 + 2 * length].decode("utf-16-be")

    def walk(index: int, prefix: str) -> None:
        o = tree + index * node_size
        name_offset, flags = struct.unpack(">IH", blob[o : o + 6])
        name = name_at(name_offset) if index else ""
        full = f"{prefix}/{name}" if prefix else name
        if flags & 2:  # directory
            count, first = struct.unpack(">II", blob[o + 6 : o + 14])
            for child in range(first, first + count):
                walk(child, full)
            return
        if wanted is not None and full not in wanted:
            return
        (data_offset,) = struct.unpack(">I", blob[o + 10 : o + 14])
        d = data + data_offset
        (size,) = struct.unpack(">I", blob[d : d + 4])
        payload = blob[d + 4 : d + 4 + size]
        if flags & 1:  # zlib, after a 4-byte uncompressed-length prefix
            payload = zlib.decompress(payload[4:])
        elif flags & 4:
            raise SystemExit(f"{path}: {full} is zstd-compressed; install 'zstandard' and extend read_rcc")
        found[full] = payload

    walk(0, "")
    return found


def read_gcompris(root: Path, paths: Iterable[str]) -> dict[str, bytes]:
    """``rcc:``-path -> bytes for the wanted paths, and for any README in their folders.

    GCompris ships per-folder READMEs naming author and licence of each image; they are read too.
    """
    wanted = {p.removeprefix("rcc:") for p in paths}
    readmes = {f"{folder}/README" for p in wanted for folder in _activity_folders(p)}
    found: dict[str, bytes] = {}
    for rcc in sorted((root / GCOMPRIS_RCC_DIR).glob("*.rcc")):
        for inner, payload in read_rcc(rcc, wanted | readmes).items():
            if inner in found and found[inner] != payload:
                raise SystemExit(f"{inner} differs between GCompris bundles; refusing to guess")
            found[inner] = payload
    missing = wanted - found.keys()
    if missing:
        raise SystemExit(f"not in any GCompris bundle: {sorted(missing)[:5]}")
    return {f"rcc:{k}": v for k, v in found.items()}


def _activity_folders(path: str) -> list[str]:
    """Folders from the file's own up to its activity folder (gcompris/src/activities/NAME)."""
    parts = path.split("/")
    return ["/".join(parts[:n]) for n in range(len(parts) - 1, 3, -1)]


# --- licences ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dep5Stanza:
    patterns: tuple[str, ...]
    licence: str


def parse_dep5(text: str) -> list[Dep5Stanza] | None:
    """``Files``/``License`` stanzas of a machine-readable copyright file, or None for free text."""
    text = text.lstrip()
    if not text.startswith("Format:"):
        return None
    stanzas = []
    for paragraph in re.split(r"\n[ \t]*\n", text):
        fields: dict[str, str] = {}
        key = ""
        for line in paragraph.splitlines():
            if line[:1] in (" ", "\t") and key:
                fields[key] += "\n" + line
            elif ":" in line:
                key, _, value = line.partition(":")
                # A repeated Files field (a packaging slip in endless-sky) adds patterns.
                fields[key] = f"{fields[key]}\n{value}" if key in fields else value
        if "Files" in fields and "License" in fields:
            licence = fields["License"].strip().splitlines()[0].strip()
            stanzas.append(Dep5Stanza(tuple(fields["Files"].split()), licence))
    return stanzas


def _glob_regex(pattern: str) -> re.Pattern[str]:
    # DEP-5 globs: only * and ? are special, and * crosses "/".
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern))


def _strip_ext(path: str) -> str:
    head, _, tail = path.rpartition("/")
    stem = tail.rsplit(".", 1)[0] if "." in tail and not tail.endswith("*") else tail
    return f"{head}/{stem}" if head else stem


def dep5_licence(stanzas: list[Dep5Stanza], tree_path: str, ignore_extension: bool) -> str | None:
    """Licence of the last stanza matching ``tree_path`` (DEP-5: later stanzas override earlier)."""
    licence = None
    for stanza in stanzas:
        for pattern in stanza.patterns:
            if _glob_regex(pattern).fullmatch(tree_path) or (
                ignore_extension and _glob_regex(_strip_ext(pattern)).fullmatch(_strip_ext(tree_path))
            ):
                licence = stanza.licence
    return licence


def normalise_licence(text: str) -> str:
    """Spell README licences the SPDX-like way debian/copyright does ("CC-BY-SA 4.0" -> "CC-BY-SA-4.0")."""
    text = " ".join(text.split())
    if text.lower() == "public domain":
        return "public-domain"
    gpl = re.fullmatch(r"GPLv(\d)(\+?)", text)
    if gpl:
        return f"GPL-{gpl[1]}{gpl[2]}"
    return re.sub(r"(?<=[A-Za-z0-9]) (?=\d)", "-", text)


def parse_readme_licences(text: str) -> dict[str, str]:
    """File (relative to the README's folder) -> licence, from GCompris' "Copyright/License/Files" blocks."""
    licences: dict[str, str] = {}
    for block in re.split(r"\n[ \t]*\n", text):
        licence: str | None = None
        files: list[str] = []
        in_files = False
        for line in block.splitlines():
            key, sep, value = line.partition(":")
            if sep and re.fullmatch(r"[A-Z][A-Za-z]*", key):
                in_files = key == "Files"
                if key == "License":
                    licence = normalise_licence(value)
                if in_files:
                    files.extend(value.split())
            elif in_files:
                files.extend(line.split())
        if licence:
            licences.update(dict.fromkeys(files, licence))
    return licences


class Licences:
    """Per-file licence: overrides, then GCompris READMEs, then ``usr/share/doc/PKG/copyright``."""

    def __init__(self) -> None:
        self._dep5: dict[str, list[Dep5Stanza] | None] = {}
        self._readme: dict[tuple[str, str], str] = {}

    def load(self, package: str, root: Path) -> None:
        copyright_file = root / "usr" / "share" / "doc" / package / "copyright"
        self._dep5[package] = parse_dep5(copyright_file.read_text(encoding="utf-8", errors="replace"))

    def add_readme(self, package: str, readme_path: str, text: str) -> None:
        folder = readme_path.rsplit("/", 1)[0]
        for relative, licence in parse_readme_licences(text).items():
            self._readme.setdefault((package, f"{folder}/{relative}"), licence)

    def licence(self, package: str, path: str) -> str:
        for (pkg, glob), override in LICENCE_OVERRIDE.items():
            if pkg == package and _glob_regex(glob).fullmatch(path):
                return override
        if (package, path) in self._readme:
            # The README sits next to the shipped files and is newer than debian/copyright, which
            # still describes several images GCompris has since replaced (e.g. erase/butterfly).
            return self._readme[package, path]
        stanzas = self._dep5[package]
        if stanzas is None:
            if package not in PLAIN_LICENCE:
                raise SystemExit(f"{package}: copyright file is not DEP-5 and no licence is configured")
            return PLAIN_LICENCE[package]
        install_prefix, tree_prefix = SOURCE_TREE_PREFIX[package]
        if not path.startswith(install_prefix):
            raise SystemExit(f"{package}:{path} is outside {install_prefix}; extend SOURCE_TREE_PREFIX")
        tree_path = tree_prefix + path.removeprefix(install_prefix)
        found = dep5_licence(stanzas, tree_path, package in EXTENSION_CHANGED)
        if found is None:
            raise SystemExit(f"{package}:{path}: no stanza of its copyright file matches {tree_path}")
        return found


# --- names ---------------------------------------------------------------------------------------


def sanitise(text: str) -> str:
    text = re.sub(r"[^a-z0-9_-]+", "_", text.lower())
    return re.sub(r"_+", "_", text).strip("_-") or "x"


def name_parts(path: str) -> list[str]:
    parts = [p for p in path.removeprefix("rcc:").split("/") if p and p.lower() not in GENERIC_DIRS]
    parts[-1] = parts[-1].rsplit(".", 1)[0]
    return parts


def unique_names(entries: list[Entry]) -> dict[Entry, str]:
    """``source__stem``, adding parent folders only where stems clash (plasma's are all 2560x1600)."""
    names: dict[Entry, str] = {}
    for entry in entries:
        parts = name_parts(entry.path)
        # A stem like "5120x2880" says nothing; the folder above it (plasma's wallpaper name) does.
        first = 2 if re.fullmatch(r"\d+x\d+", parts[-1]) and len(parts) > 1 else 1
        for depth in range(first, len(parts) + 1):
            candidate = sanitise("_".join(parts[-depth:]))
            clash = any(
                other is not entry
                and other.source == entry.source
                and sanitise("_".join(name_parts(other.path)[-depth:])) == candidate
                for other in entries
            )
            if not clash:
                break
        names[entry] = f"{entry.source.name}__{candidate[:80]}"
    seen: Counter[str] = Counter()
    for entry in entries:  # last resort for names equal after sanitising or truncation
        seen[names[entry]] += 1
        if seen[names[entry]] > 1:
            names[entry] += f"-{seen[names[entry]]}"
    if len(set(names.values())) != len(names):
        raise SystemExit("could not make file names unique")
    return names


# --- build ---------------------------------------------------------------------------------------


def build(lists: Path, cache: Path, seed: int) -> list[Built]:
    picked: list[Entry] = []
    for source in SOURCES:
        entries = read_list(lists, source)
        chosen = sample(entries, CAPS[source.label], seed, source)
        print(f"{source.name}: {len(chosen)} of {len(entries)}", file=sys.stderr)
        picked.extend(chosen)
    names = unique_names(picked)

    cache.mkdir(parents=True, exist_ok=True)
    licences = Licences()
    originals: dict[tuple[str, str], bytes] = {}
    versions: dict[str, str] = {}
    for package in sorted({e.package for e in picked}):
        deb = fetch_deb(package, cache)
        versions[package] = deb_version(deb)
        root = extract_deb(deb, package, versions[package], cache)
        licences.load(package, root)
        mine = [e for e in picked if e.package == package]
        if any(e.path.startswith("rcc:") for e in mine):
            unpacked = read_gcompris(root, [e.path for e in mine])
            # Nearest README first, so a folder's own README wins over its parent's.
            for path, payload in sorted(unpacked.items(), key=lambda kv: (-kv[0].count("/"), kv[0])):
                if path.endswith("/README"):
                    licences.add_readme(package, path, payload.decode("utf-8", errors="replace"))
                else:
                    originals[package, path] = payload
        for entry in mine:
            if not entry.path.startswith("rcc:"):
                originals[package, entry.path] = (root / entry.path.lstrip("/")).read_bytes()

    built = []
    for entry in picked:
        original = originals[entry.package, entry.path]
        try:
            jpeg = normalise_image(original, size=SIZE, quality=QUALITY)
        except ValueError as exc:
            raise SystemExit(f"{entry.package}:{entry.path}: {exc} (the lists should hold only images)") from None
        built.append(
            Built(
                entry=entry,
                file=f"{LABEL_NAMES[entry.source.label]}/{names[entry]}.jpg",
                version=versions[entry.package],
                licence=licences.licence(entry.package, entry.path),
                sha256_original=hashlib.sha256(original).hexdigest(),
                jpeg=jpeg,
            )
        )
    check_no_duplicates(built)
    return sorted(built, key=lambda b: b.file)


def check_no_duplicates(built: list[Built]) -> None:
    # The lists are free of exact duplicates, but two originals can still normalise to the same picture.
    by_hash: dict[str, str] = {}
    for item in built:
        for key in (item.sha256_original, hashlib.sha256(item.jpeg).hexdigest()):
            if key in by_hash:
                raise SystemExit(f"{item.file} duplicates {by_hash[key]}")
            by_hash[key] = item.file


def write_reference(built: list[Built], out: Path) -> None:
    """Write into a sibling temp folder and swap it in, so stale files from other seeds disappear."""
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    for label in LABEL_NAMES:
        (tmp / label).mkdir(parents=True)
    for item in built:
        (tmp / item.file).write_bytes(item.jpeg)
    with (tmp / MANIFEST_NAME).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(MANIFEST_COLUMNS)
        for item in built:
            e = item.entry
            writer.writerow(
                [item.file, e.source.label, e.source.name, e.package, item.version, e.path, item.licence,
                 item.sha256_original]
            )  # fmt: skip
    old = out.with_name(f".{out.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        out.rename(old)
    tmp.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def summarise(built: list[Built], out: Path) -> None:
    per_source = Counter((b.entry.source.label, b.entry.source.name) for b in built)
    for label, name in sorted(per_source):
        print(f"  {LABEL_NAMES[label]:8} {name:18} {per_source[label, name]}", file=sys.stderr)
    total = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"wrote {len(built)} images, {total / 1e6:.1f} MB, to {out}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lists", type=Path, default=DEFAULT_LISTS, help="folder of checked file lists")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where .debs are downloaded/extracted")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (replaced)")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    args = parser.parse_args(argv)
    if args.cache.resolve().is_relative_to(REPO):
        parser.error("--cache must be outside the repository")
    built = build(args.lists, args.cache, args.seed)
    write_reference(built, args.out)
    summarise(built, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
