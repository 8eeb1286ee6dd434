"""Notebooks 05 and 07 leave no temporary folder behind (issue 21): their folder comes from scratch_folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from imgclass.exploration.scratch import remove_scratch, scratch_folder

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def test_the_folder_goes_when_the_process_exits(tmp_path: Path) -> None:
    code = (
        f"import tempfile; tempfile.tempdir = {str(tmp_path)!r}\n"
        "from imgclass.exploration.scratch import scratch_folder\n"
        "path = scratch_folder('imgclass-demo-')\n"
        "(path / 'stored.png').write_bytes(b'x')\n"
        "(path / 'sub').mkdir()\n"
        "print(path)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    made = Path(done.stdout.strip())
    assert made.parent == tmp_path and made.name.startswith("imgclass-demo-")
    assert not made.exists() and not list(tmp_path.iterdir())


def test_remove_scratch_removes_them_now() -> None:
    first, second = scratch_folder("imgclass-test-"), scratch_folder("imgclass-test-")
    (first / "results.jsonl").write_text("{}\n")
    remove_scratch()
    assert not first.exists() and not second.exists()


def test_notebooks_make_no_temporary_folder_of_their_own() -> None:
    """Their own folders come from scratch_folder, and a later cell removes them (nbval kills the kernel, so
    no exit handler would)."""
    users = []
    for notebook in sorted(NOTEBOOKS.glob("*.ipynb")):
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
        for call in ("mkdtemp(", "mkstemp(", "TemporaryDirectory(", "NamedTemporaryFile("):
            assert call not in "\n".join(code), f"{notebook.name} calls {call}: use scratch_folder, which cleans up"
        made = [i for i, cell in enumerate(code) if "scratch_folder(" in cell]
        if made:
            users.append(notebook.name[:2])
            removed = [i for i, cell in enumerate(code) if "remove_scratch()" in cell]
            assert removed and removed[-1] > made[-1], f"{notebook.name} never removes its scratch folder"
    assert users == ["05", "07"]
