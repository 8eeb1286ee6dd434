"""``scripts/evaluate_v2.py`` on a tiny v2-style folder: stress rows per domain as changes, and a faces slice."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

from tests.conftest import write_tiny_v2

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "evaluate_v2.py"


def tiny_v2(root: Path) -> Path:
    return write_tiny_v2(root, {"real": ("photos_a", "photos_b"), "animated": ("cartoons_a", "cartoons_b")})


def load_script() -> Any:
    spec = importlib.util.spec_from_file_location("evaluate_v2", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["evaluate_v2"] = module
    spec.loader.exec_module(module)
    return module


def test_stress_rows_are_changes_per_domain_with_a_faces_slice(tmp_path: Path) -> None:
    module = load_script()
    out = tmp_path / "report.md"
    data = tiny_v2(tmp_path / "v2")
    args = ["--data", str(data), "--augment", "1", "--robustness", "shrink-96", "ground-white", "--out", str(out)]
    assert module.main([*args, "--cache", str(tmp_path / "features.npz")]) == 0
    text = out.read_text()
    assert "| *faces* (slice) | 8 | 4 | 4 |" in text
    assert "`fusion` by domain: clean, then the change under each transform in points" in text
    assert "| domain | clean | shrink-96 | ground-white |" in text
    table = text.split("`fusion` by domain")[1].split("by domain:")[0].splitlines()
    rows = [r for r in table if r.startswith("| photos_a") or r.startswith("| *faces*")]
    assert len(rows) == 2 and all(cell.strip().startswith(("+", "-")) for cell in rows[0].split("|")[3:5])


def test_the_cascade_alone_is_scored_from_its_fold_models(tmp_path: Path) -> None:
    """The cascade reads `fast` and `fusion` of each fold without either being asked for."""
    module = load_script()
    out = tmp_path / "report.md"
    assert module.main(["--data", str(tiny_v2(tmp_path / "v2")), "--variants", "cascade", "--out", str(out)]) == 0
    header = next(line for line in out.read_text().splitlines() if line.startswith("| domain | n |"))
    assert header.endswith("| `cascade` |") and "`fast`" not in header and "`fusion`" not in header
