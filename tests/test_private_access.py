"""``_fitted_model`` is the classifiers' own hook: everyone else calls ``fitted_model()``/``predict_features()``."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OWNER = ROOT / "imgclass" / "classifiers"


def test_no_caller_of_the_private_hook_outside_the_classifiers() -> None:
    callers = [
        str(path.relative_to(ROOT))
        for folder in ("imgclass", "benchmarks", "scripts", "notebooks", "data")
        if (ROOT / folder).is_dir()
        for path in sorted((ROOT / folder).rglob("*"))
        if path.suffix in (".py", ".ipynb")
        and OWNER not in path.parents
        and "_fitted_model(" in path.read_text(encoding="utf-8")
    ]
    assert callers == [], f"call fitted_model() or predict_features() instead of _fitted_model() in {callers}"
