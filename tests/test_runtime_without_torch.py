"""The runtime package never imports torch, onnx or the training subpackage: only ``imgclass.finetune`` does.

Checked twice: statically (every import in every module outside ``imgclass/finetune``, deferred ones in
functions included), and by running the default classifier in a fresh interpreter in which importing
torch or onnx fails.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "imgclass"
TRAINING_ONLY = ("torch", "onnx", "imgclass.finetune")


def imported_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_no_runtime_module_imports_training_code() -> None:
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if (PACKAGE / "finetune") in path.parents:
            continue
        bad = sorted(n for n in imported_names(path) if n.split(".")[0] in ("torch", "onnx")
                     or n == "imgclass.finetune" or n.startswith("imgclass.finetune."))
        if bad:
            offenders[str(path.relative_to(PACKAGE.parent))] = bad
    assert offenders == {}


def test_the_default_classifier_runs_where_torch_cannot_be_imported(cartoon_png: bytes, tmp_path: Path) -> None:
    image = tmp_path / "cartoon.png"
    image.write_bytes(cartoon_png)
    code = f"""
import sys
class Blocked:  # importing any of them raises ImportError (a None in sys.modules would break scipy's probe)
    def find_spec(self, name, path=None, target=None):
        if any(name == n or name.startswith(n + ".") for n in {TRAINING_ONLY!r}):
            raise ImportError(name + " is blocked")
        return None
sys.meta_path.insert(0, Blocked())
from imgclass.ready import ready
from pathlib import Path
score = ready("combined").scores([Path({str(image)!r}).read_bytes()])[0]
assert isinstance(score, float), score
assert not any(m.split(".")[0] in ("torch", "onnx") for m in sys.modules if sys.modules[m] is not None)
print("ok", score)
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("ok")
