"""The sources of reference set v2: which package files are taken, with label, domain and licence.

Each :class:`Source` enumerates candidate files from an unpacked package (Debian ``.deb``, npm tarball,
PyPI wheel, GCompris resource bundle or a seeded generator); :func:`select` samples each source with its
own seeded generator and a cap. The result is written to ``data/v2/lists/<source>.tsv`` and read back
by the build, so the lists are the record of what was chosen.
"""

from __future__ import annotations

import configparser
import json
import logging
import os
import random
import re
import shutil
import subprocess
import tarfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent


def _v1_lists() -> Path:
    """The checked v1 lists: $IMGCLASS_V1_LISTS, else ``../shared/data-sources`` beside the checkout or above it."""
    env = os.environ.get("IMGCLASS_V1_LISTS")
    if env:
        return Path(env)
    for parent in (REPO.parent, REPO.parent.parent):
        if (parent / "shared" / "data-sources").is_dir():
            return parent / "shared" / "data-sources"
    return REPO.parent / "shared" / "data-sources"


V1_LISTS = _v1_lists()
CHECKED = HERE / "checked"

REAL, ANIMATED = "real", "animated"
REAL_DOMAINS = (
    "people",
    "street_buildings",
    "nature_landscape",
    "indoor_objects",
    "grey_photo",
    "night_lowlight",
    "cutout_on_white",
    "old_photo",
)
ANIMATED_DOMAINS = (
    "colour_cartoon",
    "anime_colour",
    "bw_drawing",
    "bw_manga_synthetic",
    "clipart_icons_emoji",
    "pixel_sprites",
    "painted_rendered",
    "space_art",
    "engraving",
)
DOMAINS = {**dict.fromkeys(REAL_DOMAINS, REAL), **dict.fromkeys(ANIMATED_DOMAINS, ANIMATED)}

#: Licences every manifest row must have one of (tests/data_v2 checks the committed manifest).
ALLOWED_LICENCES = frozenset(
    {
        "public-domain",
        "CC0-1.0",
        "Expat",
        "MIT",
        "BSD-3-Clause",
        "Apache-2.0",
        "GPL-2",
        "GPL-2+",
        "GPL-2.0",
        "GPL-3",
        "GPL-3+",
        "LGPL-3+",
        "CC-BY-2.0",
        "CC-BY-3.0",
        # The United States port of CC BY 3.0 (Sweet Home 3D's KatorLegaz and Reallusion libraries).
        "CC-BY-3.0-US",
        "CC-BY-4.0",
        "CC-BY-SA-2.0",
        "CC-BY-SA-3.0",
        "CC-BY-SA-3.0+",
        "CC-BY-SA-4.0",
        "GFDL-1.3",
        # Free Art Licence 1.3: a copyleft licence Creative Commons lists as compatible with BY-SA 4.0.
        "CC-BY-SA-4.0 AND FAL-1.3",
        "GPL-2.0 AND FAL-1.3",
        # A few of naev's planets: the recipient's choice of two allowed licences.
        "GPL-3 or CC-BY-3.0",
    }
)

VERSIONS = {
    "npm:openmoji": "17.0.0",
    "npm:@twemoji/svg": "15.0.0",
    "npm:@dicebear/collection": "9.4.3",
    "npm:comicgen": "1.9.9",
    "npm:facesjs": "5.0.3",
    "pypi:arcade": "3.3.3",
    "pypi:scikit-image": "0.26.0",
    "pypi:mahotas": "1.4.19",
}

#: separates a zip archive inside a package from the member taken from it (``LIB.sh3f!/icon.png``)
ARCHIVE_MEMBER = "!/"

LIST_COLUMNS = ("package", "version", "inside", "label", "domain", "licence", "group", "flags")


@dataclass(frozen=True)
class Entry:
    """One chosen file. ``inside`` is its path inside the package (or ``rcc:``/generator path)."""

    source: str
    package: str
    version: str
    inside: str
    label: str
    domain: str
    licence: str
    group: str = ""
    #: comma-separated: cutout (no crops), pixel (nearest-neighbour scaling), invert (white-on-black art),
    #: bw_if_grey / colour_if_not_grey (domain decided from the pixels), no_derive, no_crop,
    #: on_black (transparency flattened onto black: space art), keep_size (a native small image, written at
    #: its own size), face (a face close-up: see :func:`face`), facecrop:X:Y:W:H (a face box drawn by eye)
    flags: str = ""

    def has(self, flag: str) -> bool:
        return flag in self.flags.split(",")


# --- package cache ---------------------------------------------------------------------------------


@dataclass
class Cache:
    """Downloads and unpacked packages, outside the repository; every step is skipped when already done."""

    root: Path
    node_modules: Path | None = None
    _versions: dict[str, str] = field(default_factory=dict)
    _trees: dict[str, Path] = field(default_factory=dict)

    def run(self, cmd: list[str], cwd: Path | None = None) -> str:
        return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True).stdout

    def deb(self, package: str) -> Path:
        """The unpacked tree of a Debian package (``apt-get download`` + ``dpkg-deb -x``)."""
        if package in self._trees:
            return self._trees[package]
        debs = self.root / "deb"
        debs.mkdir(parents=True, exist_ok=True)
        found = sorted(debs.glob(f"{package}_*.deb"))
        if not found:
            self.run(["apt-get", "download", "-q", package], cwd=debs)
            found = sorted(debs.glob(f"{package}_*.deb"))
        if len(found) != 1:
            raise ValueError(f"expected one {package}_*.deb in {debs}, found {[f.name for f in found]}")
        version = self.run(["dpkg-deb", "-f", str(found[0]), "Version"]).strip()
        self._versions[package] = version
        tree = self.root / "root" / package
        marker = tree / f".complete-{version.replace(':', '_')}"
        if not marker.exists():
            shutil.rmtree(tree, ignore_errors=True)
            tree.mkdir(parents=True)
            self.run(["dpkg-deb", "-x", str(found[0]), str(tree)])
            marker.touch()
        self._trees[package] = tree
        return tree

    def npm(self, name: str) -> Path:
        """The unpacked ``npm pack`` tarball (its files are under ``package/``)."""
        version = VERSIONS[f"npm:{name}"]
        folder = self.root / "npm" / f"{name.replace('/', '-').lstrip('@')}-{version}"
        if not (folder / "package").is_dir():
            (self.root / "npm").mkdir(parents=True, exist_ok=True)
            tgz = self.root / "npm" / f"{name.replace('/', '-').lstrip('@')}-{version}.tgz"
            if not tgz.exists():
                self.run(["npm", "pack", f"{name}@{version}", "--silent"], cwd=self.root / "npm")
            folder.mkdir(parents=True, exist_ok=True)
            with tarfile.open(tgz) as archive:
                archive.extractall(folder, filter="data")
        return folder

    def pypi(self, name: str) -> Path:
        """The unpacked wheel of ``pip download --no-deps``."""
        version = VERSIONS[f"pypi:{name}"]
        folder = self.root / "pypi" / f"{name}-{version}"
        if not folder.is_dir():
            wheels = self.root / "pypi"
            wheels.mkdir(parents=True, exist_ok=True)
            stem = name.replace("-", "_").lower()
            found = [w for w in wheels.glob("*.whl") if w.name.lower().startswith(f"{stem}-{version}")]
            if not found:
                self.run(["pip", "download", "--no-deps", "-q", "-d", str(wheels), f"{name}=={version}"])
                found = [w for w in wheels.glob("*.whl") if w.name.lower().startswith(f"{stem}-{version}")]
            tmp = folder.with_name(folder.name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            with zipfile.ZipFile(found[0]) as wheel:
                wheel.extractall(tmp)
            tmp.rename(folder)
        return folder

    def gcompris(self) -> Path:
        """GCompris' Qt resource bundles unpacked (the logic of shared/tools/unrcc.py)."""
        folder = self.root / "gcompris-rcc"
        marker = folder / ".complete"
        if not marker.exists():
            tree = self.deb("gcompris-qt-data")
            from build_reference import read_rcc

            for rcc in sorted((tree / "usr/share/gcompris-qt/rcc").glob("*.rcc")):
                for inner, payload in read_rcc(rcc, None).items():
                    target = folder / inner
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(payload)
            marker.touch()
        return folder

    def generated(self, spec: dict[str, object]) -> Path:
        """SVGs drawn by DiceBear, comicgen and facesjs in node (``generate.mjs``)."""
        key = json.dumps(spec, sort_keys=True)
        folder = self.root / "gen"
        stamp = folder / ".spec.json"
        if not stamp.exists() or stamp.read_text() != key:
            modules = self.node_modules or self.root / "node" / "node_modules"
            if not modules.is_dir():
                node = modules.parent
                node.mkdir(parents=True, exist_ok=True)
                (node / "package.json").write_text('{"name": "imgclass-v2-gen", "private": true}\n')
                self.run(
                    ["npm", "install", "--no-audit", "--no-fund", "--silent",
                     f"@dicebear/core@{VERSIONS['npm:@dicebear/collection']}",
                     f"@dicebear/collection@{VERSIONS['npm:@dicebear/collection']}",
                     f"comicgen@{VERSIONS['npm:comicgen']}", f"facesjs@{VERSIONS['npm:facesjs']}"],
                    cwd=node,
                )  # fmt: skip
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            spec_file = self.root / "gen-spec.json"
            spec_file.write_text(key)
            self.run(["node", str(HERE / "generate.mjs"), str(folder), str(modules), str(spec_file)])
            stamp.write_text(key)
        return folder

    def archive(self, package: str, archive: str) -> Path:
        """The images and catalogue files of a zip archive inside a Debian package, unpacked once.

        Sweet Home 3D ships its furniture libraries as ``.sh3f`` zip files; an entry's ``inside`` names a
        member as ``/path/to/LIB.sh3f!/member.png``.
        """
        folder = self.root / "archives" / package / archive.strip("/").replace("/", "_")
        marker = folder / ".complete"
        if not marker.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            with zipfile.ZipFile(self.deb(package) / archive.lstrip("/")) as bundle:
                wanted = [n for n in bundle.namelist() if n.lower().endswith((".png", ".jpg", ".properties"))]
                bundle.extractall(folder, members=wanted)
            marker.touch()
        return folder

    def version(self, package: str) -> str:
        if package not in self._versions:
            self.deb(package)
        return self._versions[package]

    def locate(self, entry: Entry) -> Path:
        """Where an entry's file is on disk (downloading and unpacking on first use)."""
        kind, _, name = entry.package.partition(":")
        if kind == "npm":
            return self.npm(name) / entry.inside
        if kind == "pypi":
            return self.pypi(name) / entry.inside
        if kind == "gen":
            return self.root / "gen" / entry.inside
        if entry.inside.startswith("rcc:"):
            return self.gcompris() / entry.inside.removeprefix("rcc:")
        if ARCHIVE_MEMBER in entry.inside:
            archive, member = entry.inside.split(ARCHIVE_MEMBER, 1)
            return self.archive(entry.package, archive) / member.lstrip("/")
        return self.deb(entry.package) / entry.inside.lstrip("/")


# --- sources ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    inside: str
    domain: str
    licence: str = ""  # empty: the source's licence function decides
    group: str = ""
    flags: str = ""


@dataclass(frozen=True)
class Source:
    name: str
    package: str  # Debian package, or npm:NAME, pypi:NAME, gen:GENERATOR
    label: str
    cap: int
    collect: Callable[[Cache], list[Candidate]]
    licence: Callable[[Cache, str, str], str] | str = ""
    small: bool = False  # part of the --slice build


def v1_list(list_name: str, package: str | None = None) -> list[tuple[str, str]]:
    """(package, path) pairs of a checked v1 list in shared/data-sources."""
    pairs = []
    for line in (V1_LISTS / f"{list_name}.txt").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        pkg, _, path = line.partition(":")
        if package is None or pkg == package:
            pairs.append((pkg, path))
    return sorted(set(pairs))


def checked(name: str) -> list[str]:
    path = CHECKED / f"{name}.txt"
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def keyword_domain(text: str, rules: Iterable[tuple[str, str]], default: str) -> str:
    low = text.lower()
    for pattern, domain in rules:
        if re.search(pattern, low):
            return domain
    return default


CITY = (
    (r"city|station|street|town|build|house|castle|church|temple|tower|bridge|monument|palace|mosque|"
     r"cathedral|pyramid|colosseum|acropolis|taj|wall|windmill|dam|solar|turbine|plant|lighthouse|urban",
     "street_buildings"),
)  # fmt: skip
INDOOR = (
    r"room|kitchen|hall|class|indoor|library|stage|theat|gym|office|lobby|store|shop|museum|bar\b",
    "indoor_objects",
)


def _files(root: Path, pattern: str) -> list[Path]:
    return sorted(p for p in root.glob(pattern) if p.is_file() and not p.is_symlink())


def _rel(root: Path, path: Path) -> str:
    return "/" + str(path.relative_to(root))


class V1Licences:
    """The per-file licence rules of ``data/build_reference.py`` (DEP-5, GCompris READMEs, overrides)."""

    def __init__(self) -> None:
        import build_reference as v1

        self.v1 = v1
        v1.SOURCE_TREE_PREFIX.setdefault("naev-data", ("/usr/share/naev/", "./"))
        # Where each package's files sit in its source tree, which debian/copyright's patterns name.
        v1.SOURCE_TREE_PREFIX.setdefault("freeorion-data", ("/usr/share/games/freeorion/", ""))
        v1.SOURCE_TREE_PREFIX.setdefault("kstars-data", ("/usr/share/kstars/", "kstars/data/"))
        v1.SOURCE_TREE_PREFIX.setdefault("cinnamon-common", ("/usr/share/", "files/usr/share/"))
        v1.SOURCE_TREE_PREFIX.setdefault("plasma-workspace-data", ("/usr/share/plasma/avatars/", "kcms/users/avatars/"))
        # Sweet Home 3D: a library LIB.sh3f is the folder LIB/ of the source (see sweethome3d()).
        v1.SOURCE_TREE_PREFIX.setdefault("sweethome3d-furniture", ("/usr/share/sweethome3d/furniture/", ""))
        self.licences = v1.Licences()
        self.licences.load = self._load  # type: ignore[method-assign]
        self.loaded: set[str] = set()
        self.readmes_loaded = False

    def _load(self, package: str, root: Path) -> None:
        """The v1 loader, but a ``License:`` with its name on the next line (naev-data) is read too."""
        text = (root / "usr/share/doc" / package / "copyright").read_text(encoding="utf-8", errors="replace")
        text = re.sub(r"^License:[ \t]*\n[ \t]+(\S)", r"License: \1", text, flags=re.M)
        # An empty licence (naev's Naev.png stanza) is unknown: such files are left out by select().
        text = re.sub(r"^License:[ \t]*$", "License: UNKNOWN", text, flags=re.M)
        self.licences._dep5[package] = self.v1.parse_dep5(text)

    def __call__(self, cache: Cache, package: str, inside: str) -> str:
        if package not in self.loaded:
            self.licences.load(package, cache.deb(package))
            self.loaded.add(package)
        if inside.startswith("rcc:") and not self.readmes_loaded:
            root = cache.gcompris()
            readmes = sorted(root.rglob("README"), key=lambda p: (-len(p.parts), str(p)))
            for readme in readmes:
                rel = "rcc:" + str(readme.relative_to(root))
                self.licences.add_readme(package, rel, readme.read_text(encoding="utf-8", errors="replace"))
            self.readmes_loaded = True
        return str(self.licences.licence(package, inside))


_V1: V1Licences | None = None


def v1_licence(cache: Cache, package: str, inside: str) -> str:
    global _V1
    if _V1 is None:
        _V1 = V1Licences()
    return _V1(cache, package, inside)


# -- real ----------------------------------------------------------------------------------------------


def endless_sky(cache: Cache) -> list[Candidate]:
    out = []
    for _pkg, path in v1_list("real.endless_sky_land"):
        name = path.rsplit("/", 1)[1]
        out.append(Candidate(path, keyword_domain(name, CITY, "nature_landscape")))
    root = cache.deb("endless-sky-data")
    # Checked by eye: loc* are 1940s factory photographs (people at work), loc3 a landscape, engine* rocket
    # engine tests; army0, eso0, geoscan, lobby and tempest are renders or unclear, and left out.
    scenes = {f"loc{i}": "people" for i in (0, 1, 2, 4, 5, 6, 7, 8, 9)}
    scenes.update({"loc3": "nature_landscape", "engine": "indoor_objects", "engine2": "indoor_objects"})
    for path in _files(root, "usr/share/games/endless-sky/images/scene/*.jpg"):
        domain = scenes.get(path.stem)
        if domain:
            out.append(Candidate(_rel(root, path), domain))
    return out


GCOMPRIS_FOLDER_DOMAINS = (
    ("explore_monuments", "street_buildings"),
    ("categorization/resource/images/monuments", "street_buildings"),
    ("categorization/resource/images/renewable", "street_buildings"),
    ("categorization/resource/images/tools", "indoor_objects"),
    ("categorization/resource/images/others", "indoor_objects"),
    ("categorization/resource/images/fishes", "nature_landscape"),
    ("explore_world_music", "indoor_objects"),
    ("animals", "nature_landscape"),
)


def gcompris_domain(path: str) -> str:
    for folder, domain in GCOMPRIS_FOLDER_DOMAINS:
        if folder in path:
            return domain
    return keyword_domain(path.rsplit("/", 1)[1], CITY, "nature_landscape")


def gcompris_photos(cache: Cache) -> list[Candidate]:
    out = [Candidate(path, gcompris_domain(path)) for _pkg, path in v1_list("real.gcompris_photos")]
    root = cache.gcompris()
    folder = "gcompris/src/activities/categorization/resource/images"
    for sub in ("fishes", "monuments", "others", "renewable", "tools"):
        for path in _files(root, f"{folder}/{sub}/*.webp"):
            inside = "rcc:" + str(path.relative_to(root))
            out.append(Candidate(inside, gcompris_domain(inside)))
    return out


def scratch_backgrounds(cache: Cache) -> list[Candidate]:
    return [
        Candidate(path, keyword_domain(path.rsplit("/", 1)[1], (INDOOR, *CITY), "nature_landscape"))
        for _pkg, path in v1_list("real.scratch_photos")
    ]


SCRATCH_COSTUMES = "/usr/share/scratch/Media/Costumes/"


def scratch_people(cache: Cache) -> list[Candidate]:
    return [Candidate(SCRATCH_COSTUMES + p, "people", flags="cutout") for p in checked("scratch_people_photo")]


def scratch_objects(cache: Cache) -> list[Candidate]:
    return [Candidate(SCRATCH_COSTUMES + p, "cutout_on_white", flags="cutout") for p in checked("scratch_things_photo")]


def wallpapers(cache: Cache) -> list[Candidate]:
    rules = ((r"night|dark|moon|dusk", "night_lowlight"), *CITY)
    out = []
    for pkg, path in v1_list("real.wallpaper_photos"):
        out.append(Candidate(f"{pkg}|{path}", keyword_domain(path, rules, "nature_landscape")))
    return out


TUXPAINT_STAMPS = "/usr/share/tuxpaint/stamps/"


def tuxpaint_photos(cache: Cache) -> list[Candidate]:
    return [
        Candidate(TUXPAINT_STAMPS + p, "people" if p.startswith("people/") else "cutout_on_white", flags="cutout")
        for p in checked("tuxpaint_stamps_photo")
    ]


def naev_commodities(cache: Cache) -> list[Candidate]:
    """The commodity pictures of naev that are photographs (checked by eye; the rest are renders)."""
    folder = "/usr/share/naev/dat/gfx/commodity/"
    rows = (line.split("\t") for line in checked("naev_commodity_photo"))
    return [Candidate(folder + name, domain) for name, domain in rows]


def tuxpaint_templates(cache: Cache) -> list[Candidate]:
    root = cache.deb("tuxpaint-data")
    return [Candidate(_rel(root, p), "nature_landscape") for p in _files(root, "usr/share/tuxpaint/templates/*.jpg")]


def stellarium_nebulae(cache: Cache) -> list[Candidate]:
    root = cache.deb("stellarium-data")
    return [
        Candidate(_rel(root, p), "night_lowlight", flags="no_crop")
        for p in _files(root, "usr/share/stellarium/nebulae/default/*.png")
    ]


SAMPLE_PHOTOS = {
    # package, path, domain, licence (from each file's docstring in skimage/data/_fetchers.py)
    ("pypi:scikit-image", "skimage/data/astronaut.png"): ("people", "public-domain"),
    ("pypi:scikit-image", "skimage/data/chelsea.png"): ("indoor_objects", "CC0-1.0"),
    ("pypi:scikit-image", "skimage/data/coffee.png"): ("indoor_objects", "CC0-1.0"),
    ("pypi:scikit-image", "skimage/data/coins.png"): ("grey_photo", "public-domain"),
    ("pypi:scikit-image", "skimage/data/rocket.jpg"): ("street_buildings", "public-domain"),
    ("pypi:scikit-image", "skimage/data/hubble_deep_field.jpg"): ("night_lowlight", "public-domain"),
    ("pypi:scikit-image", "skimage/data/brick.png"): ("grey_photo", "CC0-1.0"),
    ("pypi:scikit-image", "skimage/data/grass.png"): ("grey_photo", "CC0-1.0"),
    ("pypi:scikit-image", "skimage/data/gravel.png"): ("grey_photo", "CC0-1.0"),
    # matplotlib's sample photo of Grace Hopper is a US Navy photograph (public domain).
    ("python-matplotlib-data", "/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg"): (
        "people",
        "public-domain",
    ),
    # Ren'Py's demo ships three photographs as backgrounds (Expat, like the whole package).
    ("renpy-demo", "/usr/share/games/renpy/demo/game/images/bg washington.jpg"): ("street_buildings", "Expat"),
    ("renpy-demo", "/usr/share/games/renpy/demo/game/images/bg whitehouse.jpg"): ("street_buildings", "Expat"),
    ("renpy-demo", "/usr/share/games/renpy/demo/game/images/bg cave.jpg"): ("nature_landscape", "Expat"),
}


def sample_photos(cache: Cache) -> list[Candidate]:
    return [
        Candidate(f"{pkg}|{path}", domain, licence) for (pkg, path), (domain, licence) in sorted(SAMPLE_PHOTOS.items())
    ]


KPHOTOALBUM = "/usr/share/kphotoalbum/demo/"
#: kphotoalbum's copyright file is free text: the whole package, its demo album by the upstream author
#: included, is "GPL version 2 or any later version".
KPHOTOALBUM_LICENCE = "GPL-2+"
#: KPhotoAlbum's demo album, looked at one by one (checked/kphotoalbum.txt has the domains); qt-logo.jpg is
#: a photo of three people despite its name.


def kphotoalbum(cache: Cache) -> list[Candidate]:
    rows = (line.split("\t") for line in checked("kphotoalbum"))
    return [Candidate(KPHOTOALBUM + name, domain, flags=face_crop_flags("kphotoalbum", KPHOTOALBUM + name))
            for name, domain in rows]  # fmt: skip


def face_crop_flags(source: str, inside: str) -> str:
    """``facecrop:X:Y:W:H`` flags for the face boxes drawn by eye in checked/face_crops.txt (pixels of the file)."""
    boxes = []
    for line in checked("face_crops"):
        if line.startswith("#"):
            continue
        name, path, box = line.split("\t")
        if (name, path) == (source, inside):
            boxes.append("facecrop:" + box.replace(",", ":"))
    return ",".join(boxes)


def plasma_photos(cache: Cache) -> list[Candidate]:
    """KDE's avatar photographs (Pexels/Pixabay, CC0 in each file's ``.license`` and in debian/copyright)."""
    rows = (line.split("\t") for line in checked("plasma_photos"))
    return [Candidate("/usr/share/plasma/avatars/photos/" + name, domain) for name, domain in rows]


CINNAMON_FACES = "/usr/share/cinnamon/faces/"


def cinnamon_photos(cache: Cache) -> list[Candidate]:
    """Cinnamon's 96 px account pictures that are photographs: native small real images (checked by eye)."""
    rows = (line.split("\t") for line in checked("cinnamon_faces_photo"))
    return [Candidate(CINNAMON_FACES + name, domain, flags="keep_size") for name, domain in rows]


def kstars_sky(cache: Cache) -> list[Candidate]:
    """KStars' textures of the Moon (phases made from one photograph: one group) and of the planets."""
    root = cache.deb("kstars-data")
    folder = "usr/share/kstars/textures/"
    # Every fourth phase: the 36 are one photograph lit from different sides.
    out = [Candidate(f"/{folder}moon{i:02d}.png", "night_lowlight", group="kstars:moon", flags="on_black,no_crop")
           for i in range(0, 36, 4)]  # fmt: skip
    for name in KSTARS_PLANETS:
        out.append(Candidate(_rel(root, root / folder / f"{name}.png"), "night_lowlight", flags="on_black,no_crop"))
    return out


#: Photographs (spacecraft and telescope images) among KStars' planet textures; pluto and the symbol
#: textures (clusters, nebula signs) are left out.
KSTARS_PLANETS = ("jupiter", "mars", "neptune", "saturn", "sun", "uranus", "venus")


# -- animated ------------------------------------------------------------------------------------------


def openclipart(cache: Cache) -> list[Candidate]:
    return [
        Candidate(p, "colour_cartoon", "public-domain", flags="bw_if_grey") for _k, p in v1_list("anim.openclipart")
    ]


def gcompris_drawings(cache: Cache) -> list[Candidate]:
    return [Candidate(p, "colour_cartoon", flags="bw_if_grey") for _k, p in v1_list("anim.gcompris_lang_drawings")]


def tuxpaint_drawn(cache: Cache) -> list[Candidate]:
    out = [Candidate(p, "colour_cartoon", flags="bw_if_grey") for _k, p in v1_list("anim.tuxpaint_cartoon")]
    for p in checked("tuxpaint_stamps_drawn"):
        domain = "clipart_icons_emoji" if p.startswith(("symbols/", "town/", "clothes/")) else "colour_cartoon"
        out.append(Candidate(TUXPAINT_STAMPS + p, domain, flags="bw_if_grey"))
    return out


def scratch_drawn(cache: Cache) -> list[Candidate]:
    out = [Candidate(p, "colour_cartoon", flags="bw_if_grey") for _k, p in v1_list("anim.scratch_cartoon")]
    for name in ("scratch_people_drawn", "scratch_things_drawn"):
        out.extend(Candidate(SCRATCH_COSTUMES + p, "colour_cartoon", flags="bw_if_grey") for p in checked(name))
    return out


def wesnoth(cache: Cache) -> list[Candidate]:
    return [Candidate(p, "painted_rendered", "GPL-2+") for _k, p in v1_list("anim.wesnoth_portraits_story")]


def wesnoth_units(cache: Cache) -> list[Candidate]:
    root = cache.deb("wesnoth-1.16-data")
    units = _files(root, "usr/share/games/wesnoth/1.16/data/core/images/units/*/*.png")
    # One still per unit: animation frames carry a -attack/-defend/-N suffix.
    stills = [p for p in units if not re.search(r"-(attack|defend|melee|ranged|idle|die|death|magic|bow|sword|"
                                                  r"staff|spear|moving|flying|leading|\d)", p.stem)]  # fmt: skip
    return [Candidate(_rel(root, p), "pixel_sprites", "GPL-2+", flags="pixel") for p in stills]


def flare(cache: Cache) -> list[Candidate]:
    return [Candidate(p, "painted_rendered") for _k, p in v1_list("anim.flare_portraits")]


def hedgewars(cache: Cache) -> list[Candidate]:
    out = [Candidate(p, "painted_rendered") for _k, p in v1_list("anim.hedgewars_forts_missions")]
    root = cache.deb("hedgewars-data")
    for p in _files(root, "usr/share/games/hedgewars/Data/Themes/*/Sky.png"):
        out.append(Candidate(_rel(root, p), "painted_rendered"))
    return out


def naev(cache: Cache) -> list[Candidate]:
    root = cache.deb("naev-data")
    out = [
        Candidate(_rel(root, p), "painted_rendered") for p in _files(root, "usr/share/naev/dat/gfx/portraits/*/*.png")
    ]
    out += [Candidate(_rel(root, p), "painted_rendered", group=p.parent.name)
            for p in _files(root, "usr/share/naev/dat/gfx/ship/*/*_comm.png")]  # fmt: skip
    return out


def endless_sky_renders(cache: Cache) -> list[Candidate]:
    root = cache.deb("endless-sky-data")
    found = _files(root, "usr/share/games/endless-sky/images/outfit/*.png")
    found += _files(root, "usr/share/games/endless-sky/images/thumbnail/*.png")
    return [Candidate(_rel(root, p), "painted_rendered") for p in found if "@2x" not in p.name]


def renpy(cache: Cache) -> list[Candidate]:
    out = []
    for package, folder in (("renpy-demo", "demo"), ("renpy-thequestion", "the_question")):
        root = cache.deb(package)
        for p in _files(root, f"usr/share/games/renpy/{folder}/game/images/*"):
            stem = p.stem
            if not re.match(
                r"(eileen|lucy|concert|logo (base|bw|solid)|sylvie|bg (club|lecturehall|meadow|uni))", stem
            ):
                continue
            character = stem.split()[0] + (" " + stem.split()[1] if stem.startswith("sylvie") else "")
            domain = "bw_drawing" if stem == "logo bw" else "anime_colour"
            out.append(Candidate(f"{package}|{_rel(root, p)}", domain, "Expat", group=f"renpy:{character}"))
    return out


STELLARIUM_LICENCES = {
    "GNU GPL v2.0": "GPL-2.0",
    "GNU GPL v2.0 + Free Art License": "GPL-2.0 AND FAL-1.3",
    "CC BY-SA 4.0 International Public License": "CC-BY-SA-4.0",
    "CC BY-SA 4.0 International Public License + Free Art License": "CC-BY-SA-4.0 AND FAL-1.3",
    "CC BY-SA 3.0 Unported": "CC-BY-SA-3.0",
}
#: chinese_contemporary reuses western's drawings
STELLARIUM_SKIP = frozenset({"chinese_contemporary"})


def stellarium_art(cache: Cache) -> list[Candidate]:
    """Constellation drawings of the sky cultures whose own info.ini licence is free (11 are ND/NC: skipped)."""
    root = cache.deb("stellarium-data")
    out = []
    for culture in sorted((root / "usr/share/stellarium/skycultures").iterdir()):
        ini = configparser.ConfigParser(interpolation=None, strict=False)
        ini.read(culture / "info.ini", encoding="utf-8-sig")
        text = ini.get("info", "license", fallback="").strip().strip('"')
        licence = STELLARIUM_LICENCES.get(text)
        if licence is None or culture.name in STELLARIUM_SKIP:
            continue
        for p in _files(culture, "*.png"):
            if p.stem.lower() in ("logo", "info", "thumbnail"):
                continue
            out.append(Candidate(_rel(root, p), "bw_drawing", licence, flags="invert,no_derive,colour_if_not_grey"))
    return out


def tuxpaint_starters(cache: Cache) -> list[Candidate]:
    root = cache.deb("tuxpaint-data")
    found = [p for p in _files(root, "usr/share/tuxpaint/starters/*.png") if "-back" not in p.stem]
    return [Candidate(_rel(root, p), "bw_drawing", flags="colour_if_not_grey") for p in found]


def _emoji_group(stem: str) -> str:
    return "emoji:" + stem.lower().replace("_", "-")


SKIN_TONE = re.compile(r"1f3f[b-f]", re.I)


def openmoji(cache: Cache) -> list[Candidate]:
    root = cache.npm("openmoji")
    out = []
    for style, domain in (("color", "clipart_icons_emoji"), ("black", "bw_drawing")):
        for p in _files(root, f"package/{style}/svg/*.svg"):
            if SKIN_TONE.search(p.stem) or not re.fullmatch(r"[0-9A-Fa-f-]+", p.stem):
                continue
            out.append(Candidate(str(p.relative_to(root)), domain, "CC-BY-SA-4.0", _emoji_group(p.stem)))
    return out


def twemoji(cache: Cache) -> list[Candidate]:
    root = cache.npm("@twemoji/svg")
    return [
        Candidate(str(p.relative_to(root)), "clipart_icons_emoji", "CC-BY-4.0", _emoji_group(p.stem))
        for p in _files(root, "package/*.svg")
        if not SKIN_TONE.search(p.stem)
    ]


def gemojione(cache: Cache) -> list[Candidate]:
    root = cache.deb("ruby-gemojione")
    found = _files(root, "usr/share/rubygems-integration/all/gems/gemojione-*/assets/svg/*.svg")
    return [
        Candidate(_rel(root, p), "clipart_icons_emoji", "CC-BY-SA-4.0", _emoji_group(p.stem))
        for p in found
        if not SKIN_TONE.search(p.stem)
    ]


def icons(cache: Cache) -> list[Candidate]:
    out = []
    root = cache.deb("oxygen-icon-theme")
    for p in _files(root, "usr/share/icons/oxygen/base/256x256/*/*.png"):
        out.append(Candidate(f"oxygen-icon-theme|{_rel(root, p)}", "clipart_icons_emoji", "LGPL-3+", f"icon:{p.stem}"))
    root = cache.deb("paper-icon-theme")
    for p in _files(root, "usr/share/icons/Paper/512x512/*/*.png"):
        licence = "CC-BY-SA-4.0" if p.name == "builder.png" and p.parent.name == "apps" else "CC-BY-SA-3.0"
        out.append(Candidate(f"paper-icon-theme|{_rel(root, p)}", "clipart_icons_emoji", licence, f"icon:{p.stem}"))
    return out


def arcade(cache: Cache) -> list[Candidate]:
    root = cache.pypi("arcade")
    base = "arcade/resources/assets/images"
    out = []
    for sub in ("alien", "animated_characters/*", "enemies", "items", "tiles", "space_shooter", "topdown_tanks"):
        for p in _files(root, f"{base}/{sub}/*.png"):
            out.append(Candidate(str(p.relative_to(root)), "pixel_sprites", "CC0-1.0", flags="pixel"))
    return out


SWEETHOME3D = "usr/share/sweethome3d/furniture/"


def _sweethome3d(cache: Cache, characters: bool) -> list[Candidate]:
    """The catalogue icons (128 px renders) of Sweet Home 3D's furniture libraries: people or everything else."""
    root = cache.deb("sweethome3d-furniture")
    out = {}
    for library in _files(root, SWEETHOME3D + "*.sh3f"):
        folder = cache.archive("sweethome3d-furniture", _rel(root, library))
        text = (folder / "PluginFurnitureCatalog.properties").read_text(encoding="latin-1")
        items: dict[str, dict[str, str]] = {}
        for key, number, value in re.findall(r"^(icon|category)#(\d+)=(.*)$", text, re.M):
            items.setdefault(number, {})[key] = value.strip()
        for item in items.values():
            if (item.get("category") == "Characters") != characters or "icon" not in item:
                continue
            inside = _rel(root, library) + ARCHIVE_MEMBER + item["icon"].lstrip("/")
            out[inside] = Candidate(inside, "painted_rendered", flags="keep_size")
    return list(out.values())


def sweethome3d(cache: Cache) -> list[Candidate]:
    return _sweethome3d(cache, characters=False)


def sweethome3d_people(cache: Cache) -> list[Candidate]:
    """Rendered people (Reallusion, Scopia, BlendSwap) and the few animals of the Characters category."""
    return _sweethome3d(cache, characters=True)


def sweethome3d_licence(cache: Cache, package: str, inside: str) -> str:
    """debian/copyright licenses each library as ``LIB/*``: the archive LIB.sh3f stands for that folder."""
    archive, member = inside.split(ARCHIVE_MEMBER, 1)
    return v1_licence(cache, package, archive.removesuffix(".sh3f") + "/" + member)


FREEORION = "usr/share/games/freeorion/default/data/art/"
#: FreeOrion's nebulae that are near-duplicates (the build's perceptual hash) of the ones Naev credits to NASA
#: in its ARTWORK_LICENSE.yaml: telescope photographs, not paintings, so not animated. Naev credits the other
#: FreeOrion nebulae it ships to their painter (Josh Combs).
FREEORION_NASA = frozenset({"nebula2", "nebula4", "nebula10", "nebula12", "nebula16", "nebula17", "nebula19"})


def freeorion(cache: Cache) -> list[Candidate]:
    """Painted nebulae and rendered stars (space art, on black like the telescope photos), species scenes,
    hull renders and monster icons (painted_rendered)."""
    root = cache.deb("freeorion-data")
    space = [p for p in _files(root, FREEORION + "nebulae/*.png") if p.stem not in FREEORION_NASA]
    # Rendered stars (with companions) and black holes of the system panel; nostar/unknown are empty or a "?".
    space += [p for p in _files(root, FREEORION + "stars_sidepanel/*.png") if not p.stem.startswith(("no", "unk"))]
    out = [Candidate(_rel(root, p), "space_art", flags="on_black,no_crop") for p in space]
    for p in _files(root, FREEORION + "species/*.png") + _files(root, FREEORION + "species/preview/*.png"):
        # A preview is a strip cut from its species' scene: one group.
        out.append(Candidate(_rel(root, p), "painted_rendered", group="freeorion:species:" + p.stem.split()[0]))
    out += [Candidate(_rel(root, p), "painted_rendered") for p in _files(root, FREEORION + "hulls_design/*.png")]
    out += [Candidate(_rel(root, p), "painted_rendered", flags="keep_size")
            for p in _files(root, FREEORION + "icons/monsters/*.png")]  # fmt: skip
    return out


def naev_space(cache: Cache) -> list[Candidate]:
    """Naev's painted nebulae, star sprites and rendered planets (space art); its stations are renders.

    The ``moon-*`` pictures are left out: some look like spacecraft photographs of real moons.
    """
    root = cache.deb("naev-data")
    gfx = "usr/share/naev/dat/gfx/"
    photos = naev_space_agency_files(root / gfx / "ARTWORK_LICENSE.yaml")
    out = [Candidate(_rel(root, p), "space_art", flags="on_black,no_crop")
           for p in _files(root, gfx + "bkg/*.png") + _files(root, gfx + "bkg/star/*.png")
           if p.name not in photos]  # fmt: skip
    for p in _files(root, gfx + "planet/space/*.png"):
        if p.name in photos:
            continue
        if re.fullmatch(r"[A-Z]\d\d|\d{3}", p.stem):
            out.append(Candidate(_rel(root, p), "space_art", flags="on_black,no_crop"))
        elif not p.stem.startswith(("moon-", "jump")):
            out.append(Candidate(_rel(root, p), "painted_rendered"))
    return out


def naev_space_agency_files(artwork_licence: Path) -> frozenset[str]:
    """File names Naev's ARTWORK_LICENSE.yaml credits to NASA or ESA: photographs (telescope, spacecraft)."""
    names: set[str] = set()
    agency = False
    for line in artwork_licence.read_text(encoding="utf-8").splitlines():
        if line.startswith("- "):  # an author's block begins
            agency = bool(re.match(r"- (NASA|ESA)\b", line))
        elif agency:
            found = re.fullmatch(r"\s*- (\S+\.png)\s*", line)
            if found:
                names.add(found[1])
    return frozenset(names)


def kstars_figures(cache: Cache) -> list[Candidate]:
    """KStars' grey, engraving-like constellation figures (western and Inuit sky cultures)."""
    root = cache.deb("kstars-data")
    found = _files(root, "usr/share/kstars/skycultures/*/*.png")
    return [Candidate(_rel(root, p), "engraving", flags="no_derive") for p in found]


def cinnamon_drawn(cache: Cache) -> list[Candidate]:
    """Cinnamon's 96 px drawn animal avatars: native small drawings beside its small photos."""
    root = cache.deb("cinnamon-common")
    found = _files(root, "usr/share/cinnamon/faces/7_*.png")
    return [Candidate(_rel(root, p), "colour_cartoon", flags="keep_size") for p in found]


def plasma_konqi(cache: Cache) -> list[Candidate]:
    root = cache.deb("plasma-workspace-data")
    return [Candidate(_rel(root, p), "colour_cartoon") for p in _files(root, "usr/share/plasma/avatars/*.png")]


# DiceBear styles and their licences (meta.license of each style in @dicebear/collection 9.4.3).
DICEBEAR = {
    "adventurer": ("anime_colour", "CC-BY-4.0", 160),
    "lorelei": ("bw_drawing", "CC0-1.0", 70),
    "notionists": ("bw_drawing", "CC0-1.0", 70),
    "croodles": ("bw_drawing", "CC-BY-4.0", 70),
    "openPeeps": ("bw_drawing", "CC0-1.0", 40),
    "micah": ("colour_cartoon", "CC-BY-4.0", 22),
    "bigEars": ("colour_cartoon", "CC-BY-4.0", 22),
    "personas": ("colour_cartoon", "CC-BY-4.0", 22),
    "miniavs": ("colour_cartoon", "CC-BY-4.0", 22),
    "bigSmile": ("colour_cartoon", "CC-BY-4.0", 22),
    "toonHead": ("colour_cartoon", "CC-BY-4.0", 22),
    "dylan": ("colour_cartoon", "CC-BY-4.0", 22),
    "funEmoji": ("clipart_icons_emoji", "CC-BY-4.0", 40),
    "pixelArt": ("pixel_sprites", "CC0-1.0", 100),
}
#: comicgen characters whose artists released them under CC0 (comicgen README, "Credits").
COMICGEN = ("ava", "bean", "bill", "dee", "dey", "evan", "priya", "ringo", "sophie", "aryan")
COMICGEN_PER_CHARACTER = 40
FACESJS = 160


def generator_spec(seed: int) -> dict[str, object]:
    return {
        "seed": seed,
        "dicebear": {style: count for style, (_d, _l, count) in DICEBEAR.items()},
        "comicgen": dict.fromkeys(COMICGEN, COMICGEN_PER_CHARACTER),
        "facesjs": FACESJS,
    }


def dicebear(cache: Cache) -> list[Candidate]:
    root = cache.root / "gen"
    out = []
    for style, (domain, licence, _count) in DICEBEAR.items():
        flag = "pixel" if style == "pixelArt" else "bw_if_grey" if domain == "colour_cartoon" else ""
        if domain == "bw_drawing":
            flag = "colour_if_not_grey"
        for p in _files(root, f"dicebear/{style}/*.svg"):
            out.append(Candidate(str(p.relative_to(root)), domain, licence, flags=flag))
    return out


def comicgen(cache: Cache) -> list[Candidate]:
    root = cache.root / "gen"
    return [
        Candidate(str(p.relative_to(root)), "bw_drawing", "CC0-1.0",
                  group=f"comicgen:{p.parent.name}:{p.stem.split('_')[0]}",
                  flags="colour_if_not_grey")
        for p in _files(root, "comicgen/*/*.svg")
    ]  # fmt: skip


def facesjs(cache: Cache) -> list[Candidate]:
    root = cache.root / "gen"
    return [Candidate(str(p.relative_to(root)), "colour_cartoon", "Apache-2.0") for p in _files(root, "facesjs/*.svg")]


SOURCES: tuple[Source, ...] = (
    # real
    Source("endless_sky", "endless-sky-data", REAL, 400, endless_sky, v1_licence, small=True),
    Source("gcompris_photos", "gcompris-qt-data", REAL, 400, gcompris_photos, v1_licence),
    Source("scratch_photos", "scratch", REAL, 100, scratch_backgrounds, v1_licence, small=True),
    Source("scratch_people", "scratch", REAL, 100, scratch_people, v1_licence, small=True),
    Source("scratch_objects", "scratch", REAL, 100, scratch_objects, v1_licence, small=True),
    Source("wallpaper_photos", "*", REAL, 100, wallpapers, v1_licence),
    Source("tuxpaint_photos", "tuxpaint-stamps-default", REAL, 400, tuxpaint_photos, v1_licence),
    Source("tuxpaint_templates", "tuxpaint-data", REAL, 100, tuxpaint_templates, "GPL-2+", small=True),
    Source("naev_photos", "naev-data", REAL, 100, naev_commodities, v1_licence),
    Source("stellarium_nebulae", "stellarium-data", REAL, 150, stellarium_nebulae, "GPL-2+"),
    Source("sample_photos", "*", REAL, 100, sample_photos),
    Source("kphotoalbum", "kphotoalbum", REAL, 100, kphotoalbum, KPHOTOALBUM_LICENCE),
    Source("plasma_photos", "plasma-workspace-data", REAL, 100, plasma_photos, v1_licence),
    Source("cinnamon_photos", "cinnamon-common", REAL, 100, cinnamon_photos, v1_licence),
    Source("kstars_sky", "kstars-data", REAL, 100, kstars_sky, v1_licence),
    # animated
    Source("openclipart", "openclipart-png", ANIMATED, 650, openclipart, v1_licence),
    Source("gcompris_drawings", "gcompris-qt-data", ANIMATED, 200, gcompris_drawings, v1_licence),
    Source("tuxpaint", "tuxpaint-stamps-default", ANIMATED, 250, tuxpaint_drawn, v1_licence),
    Source("scratch_cartoon", "scratch", ANIMATED, 250, scratch_drawn, v1_licence, small=True),
    Source("wesnoth", "wesnoth-1.16-data", ANIMATED, 300, wesnoth),
    Source("wesnoth_units", "wesnoth-1.16-data", ANIMATED, 200, wesnoth_units),
    Source("flare", "flare-game", ANIMATED, 100, flare, v1_licence),
    Source("hedgewars", "hedgewars-data", ANIMATED, 150, hedgewars, v1_licence),
    Source("naev", "naev-data", ANIMATED, 250, naev, v1_licence),
    Source("endless_sky_renders", "endless-sky-data", ANIMATED, 120, endless_sky_renders, v1_licence),
    Source("renpy", "*", ANIMATED, 100, renpy),
    Source("stellarium_art", "stellarium-data", ANIMATED, 300, stellarium_art),
    Source("tuxpaint_starters", "tuxpaint-data", ANIMATED, 100, tuxpaint_starters, "GPL-2+", small=True),
    Source("openmoji", "npm:openmoji", ANIMATED, 380, openmoji),
    Source("twemoji", "npm:@twemoji/svg", ANIMATED, 220, twemoji),
    Source("gemojione", "ruby-gemojione", ANIMATED, 180, gemojione),
    Source("icons", "*", ANIMATED, 220, icons),
    Source("arcade", "pypi:arcade", ANIMATED, 300, arcade),
    Source("dicebear", "gen:dicebear", ANIMATED, 10_000, dicebear, small=True),
    Source("comicgen", "gen:comicgen", ANIMATED, 10_000, comicgen),
    Source("facesjs", "gen:facesjs", ANIMATED, 10_000, facesjs, small=True),
    Source("sweethome3d", "sweethome3d-furniture", ANIMATED, 300, sweethome3d, sweethome3d_licence),
    Source("sweethome3d_people", "sweethome3d-furniture", ANIMATED, 100, sweethome3d_people, sweethome3d_licence),
    Source("freeorion", "freeorion-data", ANIMATED, 200, freeorion, v1_licence),
    Source("naev_space", "naev-data", ANIMATED, 200, naev_space, v1_licence),
    Source("kstars_figures", "kstars-data", ANIMATED, 200, kstars_figures, v1_licence),
    Source("cinnamon_drawn", "cinnamon-common", ANIMATED, 100, cinnamon_drawn, v1_licence),
    Source("plasma_konqi", "plasma-workspace-data", ANIMATED, 100, plasma_konqi, v1_licence),
)
SLICE_CAP = 25

#: The same licence spelt differently by debian/copyright files: one name each in the manifest.
LICENCE_ALIASES = {
    "CC0": "CC0-1.0",
    "CC-BY-3.0-USA": "CC-BY-3.0-US",
    "GPL-2.0-or-later": "GPL-2+",
    "PD": "public-domain",
}

#: Face close-ups (a face is the subject: head-and-shoulders or closer), by source and path, decided by
#: looking at the contact sheets; single files of mixed sources are listed in checked/faces.txt.
FACE_RULES = (
    ("dicebear", r"^dicebear/(?!funEmoji/)"),  # every avatar style but the emoji faces
    ("facesjs", r""),
    ("naev", r"/portraits/"),
    ("flare", r"/portraits/"),
    # Human-like peoples only: the monsters, undead and drakes are creatures' heads.
    ("wesnoth", r"/portraits/(humans|elves|dwarves|orcs|merfolk|goblins)/"),
    ("renpy", r"/(eileen|lucy|sylvie) [^/]*$"),
)


def face(source: str, inside: str) -> bool:
    """Whether a file is a face close-up: by the rules above or listed as ``source<TAB>inside`` in checked/faces.txt."""
    if any(name == source and re.search(pattern, inside) for name, pattern in FACE_RULES):
        return True
    return f"{source}\t{inside}" in _listed_faces()


def _listed_faces() -> frozenset[str]:
    lines = (CHECKED / "faces.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def _version_of(cache: Cache, package: str) -> str:
    kind, _, name = package.partition(":")
    if kind == "npm":
        return VERSIONS[package]
    if kind == "pypi":
        return VERSIONS[package]
    if kind == "gen":
        return {"dicebear": VERSIONS["npm:@dicebear/collection"], "comicgen": VERSIONS["npm:comicgen"],
                "facesjs": VERSIONS["npm:facesjs"]}[name]  # fmt: skip
    return cache.version(package)


def _package_for(source: Source, candidate: Candidate) -> tuple[str, str]:
    """Sources mixing packages write ``PACKAGE|path``."""
    if "|" in candidate.inside:
        package, inside = candidate.inside.split("|", 1)
        return package, inside
    return source.package, candidate.inside


def select(cache: Cache, seed: int, slice_: bool = False, only: Iterable[str] | None = None) -> list[Entry]:
    """Every source's candidates, sampled with ``random.Random(f"{seed}:{source}")`` up to its cap."""
    wanted = set(only) if only else None
    sources = [s for s in SOURCES if (not slice_ or s.small) and (wanted is None or s.name in wanted)]
    if any(s.package.startswith("gen:") for s in sources):
        cache.generated(generator_spec(seed))
    entries: list[Entry] = []
    for source in sources:
        candidates = sorted(source.collect(cache), key=lambda c: c.inside)
        cap = min(source.cap, SLICE_CAP) if slice_ else source.cap
        if len(candidates) > cap:
            candidates = sorted(random.Random(f"{seed}:{source.name}").sample(candidates, cap), key=lambda c: c.inside)
        for c in candidates:
            package, inside = _package_for(source, c)
            if c.licence:
                licence = c.licence
            elif callable(source.licence):
                licence = source.licence(cache, package, inside)
            else:
                licence = source.licence
            licence = LICENCE_ALIASES.get(licence, licence)
            if licence not in ALLOWED_LICENCES:
                logger.warning("%s: %s has licence %r, not on the allowed list: left out", source.name, inside, licence)
                continue
            entries.append(
                Entry(
                    source=source.name,
                    package=package,
                    version=_version_of(cache, package),
                    inside=inside,
                    label=source.label,
                    domain=c.domain,
                    licence=licence,
                    group=c.group or f"{source.name}:{inside}",
                    flags=",".join(f for f in (c.flags, "face" if face(source.name, inside) else "") if f),
                )
            )
    return entries


def write_lists(entries: list[Entry], folder: Path) -> None:
    """One TSV per source (replacing the folder's old lists)."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.tsv"):
        old.unlink()
    by_source: dict[str, list[Entry]] = {}
    for e in entries:
        by_source.setdefault(e.source, []).append(e)
    for name, rows in by_source.items():
        lines = ["\t".join(LIST_COLUMNS)]
        lines += ["\t".join(str(getattr(e, col)) for col in LIST_COLUMNS) for e in rows]
        (folder / f"{name}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def read_lists(folder: Path) -> list[Entry]:
    entries = []
    for path in sorted(folder.glob("*.tsv")):
        lines = path.read_text(encoding="utf-8").splitlines()
        if not lines or tuple(lines[0].split("\t")) != LIST_COLUMNS:
            raise ValueError(f"{path}: expected the header {LIST_COLUMNS}")
        for number, line in enumerate(lines[1:], 2):
            cells = line.split("\t")
            if len(cells) != len(LIST_COLUMNS):
                raise ValueError(f"{path}:{number}: expected {len(LIST_COLUMNS)} tab-separated cells")
            row = dict(zip(LIST_COLUMNS, cells, strict=True))
            entries.append(Entry(source=path.stem, **row))
    return entries
