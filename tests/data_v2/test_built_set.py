"""A built v2 folder (the CI slice, or the full set) matches its manifest and loads with load_dataset.

Runs only when IMGCLASS_V2_DIR names a built folder, e.g. after
``python data/v2/build_v2.py --slice --out DIR``; .ci/run does that, into a scratch folder of its run.
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image
from sources import ALLOWED_LICENCES, DOMAINS

from imgclass.data import load_dataset

BUILT = os.environ.get("IMGCLASS_V2_DIR")
pytestmark = pytest.mark.skipif(not BUILT, reason="set IMGCLASS_V2_DIR to a built v2 folder")


@pytest.fixture(scope="module")
def root() -> Path:
    assert BUILT
    return Path(BUILT)


@pytest.fixture(scope="module")
def rows(root: Path) -> list[dict[str, str]]:
    with (root / "manifest.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_files_match_the_manifest(root: Path, rows: list[dict[str, str]]) -> None:
    on_disk = {f"{label}/{p.name}" for label in ("real", "animated") for p in (root / label).iterdir()}
    assert on_disk == {r["path"] for r in rows}
    for r in rows:
        data = (root / r["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == r["sha256"], r["path"]
        with Image.open(root / r["path"]) as image:
            assert image.size == (int(r["width"]), int(r["height"])), r["path"]
        assert r["licence"] in ALLOWED_LICENCES
        assert DOMAINS[r["domain"]] == r["label"]


def test_loads_with_domains_and_groups(root: Path, rows: list[dict[str, str]]) -> None:
    ds = load_dataset(root)
    assert len(ds) == len(rows) and not ds.skipped
    assert Counter(ds.domains.tolist()) == Counter(r["domain"] for r in rows)
    assert len(set(ds.groups.tolist())) == len({r["group"] for r in rows})
    assert set(ds.labels.tolist()) == {0, 1}
