"""The v2 builder on a tiny fixture: naming, lists, per-file processing and near-duplicate removal.

No package download happens here: the files are made in the test, the entries point at them.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from pathlib import Path

import build_v2
import numpy as np
import pytest
import sources
from PIL import Image
from sources import Entry


def _entry(inside: str, label: str = "real", domain: str = "nature_landscape", **kw: str) -> Entry:
    fields = {"source": "fixture", "package": "fixture-pkg", "version": "1.0", "inside": inside, "label": label,
              "domain": domain, "licence": "CC0-1.0", "group": f"fixture:{inside}", "flags": ""}  # fmt: skip
    fields.update(kw)
    return Entry(**fields)


def _photo_jpeg(seed: int, size: tuple[int, int] = (640, 480)) -> bytes:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
    image = Image.fromarray(small).resize(size, Image.BICUBIC)
    noisy = np.clip(np.asarray(image).astype(np.int16) + rng.normal(0, 6, (size[1], size[0], 3)), 0, 255)
    buffer = io.BytesIO()
    Image.fromarray(noisy.astype(np.uint8)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _cartoon_png(seed: int) -> bytes:
    rgba = np.zeros((200, 240, 4), np.uint8)
    colours = np.random.default_rng(seed).integers(0, 256, (3, 3))
    rgba[40:160, 30:120] = [*colours[0], 255]
    rgba[60:180, 110:220] = [*colours[1], 255]
    rgba[90:120, 60:200] = [0, 0, 0, 255]
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, "PNG")
    return buffer.getvalue()


def _job(tmp_path: Path, entry: Entry, data: bytes, name: str, seed: int = 0) -> dict[str, object]:
    file = tmp_path / "pkg" / entry.inside.lstrip("/")
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_bytes(data)
    out = tmp_path / "out"
    for label in ("real", "animated"):
        (out / label).mkdir(parents=True, exist_ok=True)
    return {"entry": asdict(entry), "file": str(file), "out": str(out), "name": name, "seed": seed,
            "key": build_v2._job_key(entry, seed, name)}  # fmt: skip


def test_base_names_are_unique_and_prefixed() -> None:
    entries = [
        _entry("/a/x/one.png"),
        _entry("/a/y/one.png"),
        _entry("/b/Two Words.JPG"),
        _entry("/c/z/one.png", source="other"),
    ]
    names = build_v2.base_names(entries)
    assert names["fixture", "/b/Two Words.JPG"] == "fixture__two_words"
    assert names["fixture", "/a/x/one.png"] == "fixture__x_one"
    assert names["other", "/c/z/one.png"] == "other__one"
    assert len(set(names.values())) == 4


def test_lists_round_trip(tmp_path: Path) -> None:
    entries = [_entry("/p/1.jpg"), _entry("/p/2.png", label="animated", domain="bw_drawing", flags="cutout,pixel")]
    sources.write_lists(entries, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["fixture.tsv"]
    assert sources.read_lists(tmp_path) == entries
    (tmp_path / "fixture.tsv").write_text("bad\theader\n")
    with pytest.raises(ValueError, match="expected the header"):
        sources.read_lists(tmp_path)


def test_process_real_photo_views(tmp_path: Path) -> None:
    entry = _entry("/photos/field.jpg")
    job = _job(tmp_path, entry, _photo_jpeg(0, (1200, 900)), "fixture__field")
    result = build_v2.process(job)
    rows = result["rows"]
    assert rows[0]["path"].startswith("real/fixture__field.") and rows[0]["derived"] == ""
    crops = [r for r in rows if r["derived"].startswith("crop:")]
    assert len(crops) == 3  # short side >= 900
    for row in rows:
        data = (tmp_path / "out" / row["path"]).read_bytes()
        assert build_v2.hashlib.sha256(data).hexdigest() == row["sha256"]
        with Image.open(io.BytesIO(data)) as image:
            assert image.size == (row["width"], row["height"])
            assert image.format.lower() == row["format"] or (image.format == "JPEG" and row["format"] == "jpeg")
        assert row["group"] == entry.group and row["label"] == "real"
        assert row["domain"] in {"nature_landscape", "grey_photo", "night_lowlight", "old_photo"}
        if row["domain"] == "grey_photo":
            assert row["greyscale"] == 1
    assert 0 <= result["phash"] < 2**64


def test_process_is_deterministic(tmp_path: Path) -> None:
    entry = _entry("/photos/field.jpg")
    data = _photo_jpeg(1)
    first = build_v2.process(_job(tmp_path, entry, data, "fixture__field"))
    second = build_v2.process(_job(tmp_path, entry, data, "fixture__field"))
    assert first == second
    other_seed = build_v2.process(_job(tmp_path, entry, data, "fixture__field", seed=1))
    assert other_seed["phash"] == first["phash"]  # the base view's content does not depend on the seed


def test_derived_views_follow_their_share(tmp_path: Path) -> None:
    domains: dict[str, int] = {}
    for i in range(40):
        entry = _entry(f"/photos/p{i}.jpg")
        for row in build_v2.process(_job(tmp_path, entry, _photo_jpeg(i, (200, 150)), f"fixture__p{i}"))["rows"]:
            domains[row["domain"]] = domains.get(row["domain"], 0) + 1
    assert 6 <= domains.get("grey_photo", 0) <= 30
    assert 2 <= domains.get("night_lowlight", 0) <= 18


def test_cartoon_alpha_is_flattened_and_manga_is_grouped(tmp_path: Path) -> None:
    entry = _entry("/art/c.png", label="animated", domain="anime_colour")
    rows = build_v2.process(_job(tmp_path, entry, _cartoon_png(0), "fixture__c"))["rows"]
    manga = [r for r in rows if r["domain"] == "bw_manga_synthetic"]
    assert len(manga) == 1 and manga[0]["group"] == rows[0]["group"] and manga[0]["greyscale"] == 1
    with Image.open(tmp_path / "out" / rows[0]["path"]) as image:
        assert image.mode in ("RGB", "L")  # alpha never reaches the output


def test_bw_if_grey_moves_grey_drawings(tmp_path: Path) -> None:
    grey = np.asarray(Image.open(io.BytesIO(_cartoon_png(1))).convert("LA").convert("RGBA"))
    buffer = io.BytesIO()
    Image.fromarray(grey, "RGBA").save(buffer, "PNG")
    # Whatever background each seeded draw picks, a grey drawing on it stays grey.
    for i in range(12):
        entry = _entry(f"/art/g{i}.png", label="animated", domain="colour_cartoon", flags="bw_if_grey")
        rows = build_v2.process(_job(tmp_path, entry, buffer.getvalue(), f"fixture__g{i}"))["rows"]
        assert rows[0]["domain"] == "bw_drawing" and rows[0]["greyscale"] == 1


def _result(path: str, group: str, ph: int, dh: int) -> dict[str, object]:
    return {"rows": [{"path": path, "group": group}], "phash": ph, "dhash": dh}


def test_dedupe_drops_near_duplicates_of_other_groups_only() -> None:
    results = [
        _result("real/a.jpg", "g1", 0b1111, 0),
        _result("real/b.jpg", "g2", 0b0111, 1),  # 1 bit from a: dropped
        _result("real/c.jpg", "g1", 0b1111, 0),  # same group as a: kept
        _result("real/d.jpg", "g3", 2**40, 2**50),  # far: kept
    ]
    kept, dropped = build_v2.dedupe(results)
    assert [k["rows"][0]["path"] for k in kept] == ["real/a.jpg", "real/c.jpg", "real/d.jpg"]
    assert dropped == [("real/b.jpg", "real/a.jpg")]


def test_manifest_writer(tmp_path: Path) -> None:
    row = dict.fromkeys(build_v2.MANIFEST_COLUMNS, "x")
    build_v2.write_manifest([{**row, "path": "real/b"}, {**row, "path": "real/a"}], tmp_path / "m.csv")
    with (tmp_path / "m.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["path"] for r in rows] == ["real/a", "real/b"]
    assert tuple(rows[0]) == build_v2.MANIFEST_COLUMNS


def test_keyword_domains() -> None:
    assert sources.keyword_domain("city3.jpg", sources.CITY, "nature_landscape") == "street_buildings"
    assert sources.keyword_domain("canyon3.jpg", sources.CITY, "nature_landscape") == "nature_landscape"
    assert (
        sources.gcompris_domain("rcc:gcompris/src/activities/explore_monuments/resource/x.webp") == "street_buildings"
    )


def test_faces_mark_whole_pictures_of_face_entries_only(tmp_path: Path) -> None:
    seen = set()
    for i in range(12):
        entry = _entry(f"/people/p{i}.jpg", domain="people", flags="face")
        for row in build_v2.process(_job(tmp_path, entry, _photo_jpeg(i, (700, 500)), f"fixture__p{i}"))["rows"]:
            from_crop = "crop" in row["derived"]
            assert row["faces"] == (0 if from_crop else 1), row["derived"]
            seen.add(from_crop)
    assert seen == {True, False}
    plain = build_v2.process(_job(tmp_path, _entry("/photos/q.jpg"), _photo_jpeg(99), "fixture__q"))["rows"]
    assert {row["faces"] for row in plain} == {0}
    boxed = _entry("/people/g.jpg", domain="people", flags="facecrop:10:20:100:120,facecrop:600:400:200:200")
    rows = build_v2.process(_job(tmp_path, boxed, _photo_jpeg(5, (700, 500)), "fixture__g"))["rows"]
    faces = {row["path"].rsplit(".", 1)[0]: row for row in rows if row["faces"]}
    stem = "real/fixture__g--face"
    assert sorted(faces) == [f"{stem}1", f"{stem}1-small", f"{stem}2", f"{stem}2-small"]
    assert faces["real/fixture__g--face2-small"]["derived"].startswith("small--face2:q")
    assert faces["real/fixture__g--face1"]["derived"] == "face_crop:10,20,100,120"
    assert faces["real/fixture__g--face2"]["derived"] == "face_crop:600,400,100,100"  # clipped to the picture
    assert all(row["group"] == boxed.group and row["domain"] == "people" for row in faces.values())
    # A real face close-up always has an old-print and a small view of the whole picture.
    face = build_v2.process(_job(tmp_path, _entry("/people/f.jpg", domain="people", flags="face"), _photo_jpeg(6), "f"))
    whole = {row["derived"].split(":")[0] for row in face["rows"] if row["faces"]}
    assert {"", "aged", "small"} <= whole


def test_small_views_are_small_jpegs_in_their_group(tmp_path: Path) -> None:
    small = []
    for i in range(30):
        entry = _entry(f"/photos/s{i}.jpg")
        rows = build_v2.process(_job(tmp_path, entry, _photo_jpeg(i, (400, 300)), f"fixture__s{i}"))["rows"]
        small += [r for r in rows if r["path"].split("/")[1].split(".")[0].endswith("--small")]
        assert all(r["group"] == entry.group for r in rows)
    assert 4 <= len(small) <= 20  # SMALL_P of real images is 0.35
    for row in small:
        assert row["format"] == "jpeg" and max(row["width"], row["height"]) <= 240
        assert row["derived"].startswith("small") and row["domain"] == "nature_landscape"
        with Image.open(tmp_path / "out" / row["path"]) as image:
            assert image.size == (row["width"], row["height"])


#: The views builder version 4 (before issue 20) wrote for _photo_jpeg(7, (1000, 800)) at seed 0.
PINNED_V4 = {
    "real/fixture__field.jpg": "5bad0ac1133b",
    "real/fixture__field--crop1.jpg": "0c13375441db",
    "real/fixture__field--crop2.jpg": "74c9f3ad2bf3",
}


def test_issue20_views_leave_the_earlier_views_unchanged(tmp_path: Path) -> None:
    # Every view but the added ones (--aged, --engraving, --small) must be what builder version 4 wrote:
    # the added views draw from their own random stream. The pinned hashes are from version 4.
    entry = _entry("/photos/field.jpg")
    rows = build_v2.process(_job(tmp_path, entry, _photo_jpeg(7, (1000, 800)), "fixture__field"))["rows"]
    older = {r["path"]: r["sha256"][:12] for r in rows if not r["derived"].startswith(("aged", "small"))}
    assert older == PINNED_V4


def test_on_black_and_keep_size(tmp_path: Path) -> None:
    rgba = np.zeros((100, 120, 4), np.uint8)
    rgba[30:70, 40:80] = [200, 180, 160, 255]
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, "PNG")
    for i in range(6):
        entry = _entry(f"/space/n{i}.png", label="animated", domain="space_art", flags="on_black,no_crop,keep_size")
        rows = build_v2.process(_job(tmp_path, entry, buffer.getvalue(), f"fixture__n{i}"))["rows"]
        base = rows[0]
        assert (base["width"], base["height"]) == (120, 100)  # keep_size: never resized
        with Image.open(tmp_path / "out" / base["path"]) as image:
            corner = np.asarray(image.convert("RGB"))[:10, :10]
        assert corner.max() < 40  # transparency became black, not a page colour


def test_archive_members_are_located(tmp_path: Path) -> None:
    import zipfile

    tree = tmp_path / "root" / "pkg"
    (tree / "usr/share/lib").mkdir(parents=True)
    with zipfile.ZipFile(tree / "usr/share/lib/Things.sh3f", "w") as bundle:
        bundle.writestr("things/chair.png", _cartoon_png(0))
        bundle.writestr("things/chair/model.obj", "v 0 0 0\n")
    cache = sources.Cache(tmp_path / "cache")
    cache._trees["pkg"] = tree
    entry = _entry("/usr/share/lib/Things.sh3f!/things/chair.png", package="pkg")
    assert cache.locate(entry).read_bytes() == _cartoon_png(0)
    assert not (cache.locate(entry).parent / "chair" / "model.obj").exists()  # only images are unpacked


def test_face_rules() -> None:
    assert sources.face("dicebear", "dicebear/adventurer/0001.svg")
    assert not sources.face("dicebear", "dicebear/funEmoji/0001.svg")
    assert sources.face("wesnoth", "/usr/share/games/wesnoth/1.16/data/core/images/portraits/humans/mage.png")
    assert not sources.face("wesnoth", "/usr/share/games/wesnoth/1.16/data/core/images/portraits/monsters/a.png")
    assert sources.face("kphotoalbum", "/usr/share/kphotoalbum/demo/jesper.jpg")
    assert not sources.face("kphotoalbum", "/usr/share/kphotoalbum/demo/skagen.jpg")


def test_naev_agency_credits_are_read(tmp_path: Path) -> None:
    licence = tmp_path / "ARTWORK_LICENSE.yaml"
    licence.write_text(
        "- Bobbens:\n   license: PD\n   planet:\n     space:\n       - moon-A00.png\n"
        "- NASA:\n   license: PD\n   bkg:\n     - nebula02.png\n"
        "- ESA:\n   license: PD (with modifications)\n   planet:\n     exterior:\n       - rocky-00.png\n"
        "- Josh Combs <http://freeorion.org>:\n   license: CC-by-sa 3.0\n   bkg:\n     - nebula20.png\n"
    )
    assert sources.naev_space_agency_files(licence) == {"nebula02.png", "rocky-00.png"}


def test_the_download_cache_defaults_to_the_users_cache_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Before, the default was one machine's scratch folder (``/work/cache/downloads``)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert build_v2.default_download_cache() == tmp_path / "imgclass" / "downloads"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert build_v2.default_download_cache() == Path.home() / ".cache" / "imgclass" / "downloads"
