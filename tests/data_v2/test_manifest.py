"""The committed manifest of reference set v2 (data/v2/manifest.csv): schema, licences and coverage.

These read only the CSV, so they run without the images (which are built into a cache outside the repo).
"""

from __future__ import annotations

import csv
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from sources import ALLOWED_LICENCES, ANIMATED_DOMAINS, DOMAINS, REAL_DOMAINS

from imgclass.data import read_manifest, source_of

MANIFEST = Path(__file__).resolve().parents[2] / "data" / "v2" / "manifest.csv"
COLUMNS = (
    "path", "sha256", "label", "source", "domain", "package", "version", "licence", "greyscale", "group", "faces",
)  # fmt: skip
#: Classic image-processing benchmark pictures (unclear licences, overlap with public benchmarks).
BENCHMARK_NAMES = re.compile(r"(^|/)(camera|lena|lenna|baboon|mandrill|peppers|cameraman)\.\w+$", re.I)
MIN_IMAGES = 5000
MIN_PER_DOMAIN = 150
MIN_GREY_SHARE = 0.20
#: issue 20: images under 256 px in both classes, and face close-ups in both
MIN_SMALL_SHARE = 0.05
MIN_FACES = {"real": 10, "animated": 300}


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    with MANIFEST.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert set(COLUMNS) <= set(reader.fieldnames or ())
        return list(reader)


def test_size(rows: list[dict[str, str]]) -> None:
    assert len(rows) >= MIN_IMAGES


def test_every_licence_is_allowed(rows: list[dict[str, str]]) -> None:
    bad = Counter((r["source"], r["licence"]) for r in rows if r["licence"] not in ALLOWED_LICENCES)
    assert not bad, f"licences not on the allowed list: {dict(bad)}"


def test_allowed_list_has_no_restrictive_licence() -> None:
    # The list itself must not let ND/NC or "custom" licences in.
    for licence in ALLOWED_LICENCES:
        assert not re.search(r"\bND\b|\bNC\b|-ND-|-NC-|custom|free for personal|unknown", licence, re.I), licence


def test_columns_are_well_formed(rows: list[dict[str, str]]) -> None:
    for r in rows:
        assert r["label"] in ("real", "animated")
        assert r["path"].startswith(r["label"] + "/"), r["path"]
        assert source_of(r["path"]) == r["source"], r["path"]
        assert re.fullmatch(r"[0-9a-f]{64}", r["sha256"]), r["path"]
        assert r["greyscale"] in ("0", "1")
        assert r["package"] and r["version"] and r["group"] and r["licence"]
        assert DOMAINS[r["domain"]] == r["label"], f"{r['path']}: domain {r['domain']} is not a {r['label']} domain"


def test_paths_and_contents_are_unique(rows: list[dict[str, str]]) -> None:
    paths = Counter(r["path"].lower() for r in rows)
    assert max(paths.values()) == 1
    shas = Counter(r["sha256"] for r in rows)
    assert max(shas.values()) == 1, [s for s, n in shas.items() if n > 1][:3]


def test_every_domain_is_covered(rows: list[dict[str, str]]) -> None:
    counts = Counter(r["domain"] for r in rows)
    thin = {d: counts[d] for d in (*REAL_DOMAINS, *ANIMATED_DOMAINS) if counts[d] < MIN_PER_DOMAIN}
    assert not thin, f"domains under {MIN_PER_DOMAIN} images: {thin}"


def test_every_domain_has_two_sources(rows: list[dict[str, str]]) -> None:
    sources: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        sources[r["domain"]].add(r["source"])
    single = {d: s for d, s in sources.items() if len(s) < 2}
    assert not single, single


def test_both_classes_have_greyscale(rows: list[dict[str, str]]) -> None:
    for label in ("real", "animated"):
        mine = [r for r in rows if r["label"] == label]
        share = sum(r["greyscale"] == "1" for r in mine) / len(mine)
        assert share >= MIN_GREY_SHARE, f"{label}: {share:.1%} greyscale"


def test_groups_never_straddle_classes_or_sources(rows: list[dict[str, str]]) -> None:
    labels: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        labels[r["group"]].add(r["label"])
    assert all(len(v) == 1 for v in labels.values()), [g for g, v in labels.items() if len(v) > 1][:5]


def test_derived_views_share_their_parents_group(rows: list[dict[str, str]]) -> None:
    by_group: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        by_group[r["group"]].append(r)
    for r in rows:
        if r.get("derived"):
            parents = [p for p in by_group[r["group"]] if not p["derived"] and p["inside"] == r["inside"]]
            assert len(parents) == 1, r["path"]
            assert Path(parents[0]["path"]).stem == Path(r["path"]).stem.split("--")[0]


def test_synthetic_domains_are_derived(rows: list[dict[str, str]]) -> None:
    for r in rows:
        if r["domain"] == "bw_manga_synthetic":
            assert r["derived"].startswith("manga"), r["path"]


def test_every_format_is_in_both_classes(rows: list[dict[str, str]]) -> None:
    for fmt in ("jpeg", "png", "webp"):
        shares = [sum(r["format"] == fmt for r in rows if r["label"] == label) for label in ("real", "animated")]
        assert min(shares) >= 100, (fmt, shares)


def test_image_sizes_do_not_tell_the_class(rows: list[dict[str, str]]) -> None:
    medians = {}
    for label in ("real", "animated"):
        pixels = sorted(int(r["width"]) * int(r["height"]) for r in rows if r["label"] == label)
        medians[label] = pixels[len(pixels) // 2]
    assert 0.5 < medians["real"] / medians["animated"] < 2.0, medians


def test_no_benchmark_images(rows: list[dict[str, str]]) -> None:
    assert not [r["inside"] for r in rows if BENCHMARK_NAMES.search(r["inside"])]


def test_the_loader_accepts_the_manifest(tmp_path: Path) -> None:
    (tmp_path / "manifest.csv").write_bytes(MANIFEST.read_bytes())
    parsed = read_manifest(tmp_path)
    assert parsed is not None and len(parsed) >= MIN_IMAGES


def test_both_classes_have_small_images(rows: list[dict[str, str]]) -> None:
    shares = {}
    for label in ("real", "animated"):
        mine = [r for r in rows if r["label"] == label]
        shares[label] = sum(max(int(r["width"]), int(r["height"])) < 256 for r in mine) / len(mine)
    assert min(shares.values()) >= MIN_SMALL_SHARE, shares
    assert 0.5 < shares["real"] / shares["animated"] < 2.0, shares  # "small" must not tell the class


def test_faces_are_marked_in_both_classes_and_never_on_crops(rows: list[dict[str, str]]) -> None:
    assert {r["faces"] for r in rows} <= {"0", "1"}
    counts = Counter(r["label"] for r in rows if r["faces"] == "1")
    assert all(counts[label] >= n for label, n in MIN_FACES.items()), counts
    for r in rows:
        if r["faces"] == "1":  # the whole picture, or a face drawn round by eye; never a random crop
            assert "crop:" not in r["derived"] or r["derived"].startswith("face_crop:"), r["path"]
            assert "--crop" not in r["derived"], r["path"]
