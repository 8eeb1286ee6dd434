"""benchmarks/_requires.py: a benchmark checks its imports first and names the extra to install."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_requires", BENCHMARKS / "_requires.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_missing_modules_are_named_with_the_extra(capsys: pytest.CaptureFixture[str]) -> None:
    requires = _load()
    requires.require(["json", "os.path"], extra="bench")  # present: returns quietly
    assert requires.missing(["json", "no_such_module_x", "no_such_parent_y.child"]) == [
        "no_such_module_x",
        "no_such_parent_y.child",
    ]
    with pytest.raises(SystemExit) as exit_info:
        requires.require(["json", "no_such_module_x"], extra="bench")
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "'no_such_module_x'" in err and 'pip install -e ".[bench]"' in err and "json" not in err


@pytest.mark.parametrize("script", ["classifiers.py", "byte_stream.py", "transfer.py", "bulk.py"])
def test_benchmarks_check_before_starting(script: str, tmp_path: Path) -> None:
    # Run without imgclass on the path (from an empty folder, no PYTHONPATH): the check must stop it first.
    env = {"PATH": "/usr/bin:/bin", "PYTHONNOUSERSITE": "1"}
    done = subprocess.run(
        [sys.executable, "-S", str(BENCHMARKS / script), "--quick"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "cannot start" in done.stderr and "pip install -e " in done.stderr
