"""A process pool broken by a script without ``if __name__ == "__main__":`` says so: bulk's and the server's."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from imgclass.main_guard import unguarded_main_hint

ROOT = Path(__file__).resolve().parents[1]
GUARD = 'if __name__ == "__main__":'


def _as_main(monkeypatch: pytest.MonkeyPatch, path: Path | None, spec_name: str | None = None) -> None:
    module = types.ModuleType("__main__")
    if path is not None:
        module.__file__ = str(path)
    module.__spec__ = types.SimpleNamespace(name=spec_name) if spec_name else None  # type: ignore[assignment]
    monkeypatch.setitem(sys.modules, "__main__", module)


def test_hint_names_an_unguarded_script(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    script = tmp_path / "job.py"
    script.write_text("from imgclass.bulk import classify_paths\nlist(classify_paths(['x'], workers=2))\n")
    _as_main(monkeypatch, script)
    hint = unguarded_main_hint()
    assert hint is not None and str(script) in hint and GUARD in hint


@pytest.mark.parametrize(
    "source", [f"{GUARD}\n    run()\n", "if __name__ == '__main__':\n    run()\n", "if __name__=='__main__': run()\n"]
)
def test_no_hint_for_a_guarded_script(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, source: str) -> None:
    script = tmp_path / "job.py"
    script.write_text(source)
    _as_main(monkeypatch, script)
    assert unguarded_main_hint() is None


def test_no_hint_without_a_script(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _as_main(monkeypatch, None)  # an interactive session or a notebook kernel
    assert unguarded_main_hint() is None
    _as_main(monkeypatch, tmp_path / "gone.py")  # unreadable: nothing to blame
    assert unguarded_main_hint() is None
    script = tmp_path / "__main__.py"
    script.write_text("main()\n")
    _as_main(monkeypatch, script, spec_name="imgclass.__main__")  # python -m imgclass: not run again in workers
    assert unguarded_main_hint() is None


def test_unguarded_script_with_workers_gets_the_hint(tiny_dir: Path, tmp_path: Path) -> None:
    image_dir = tiny_dir / "real"
    script = tmp_path / "unguarded.py"
    script.write_text(
        "from imgclass.bulk import classify_paths\n"
        f"for result in classify_paths([{str(image_dir)!r}], workers=2, progress=False):\n"
        "    print(result.path)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=240, check=False
    )
    assert done.returncode != 0
    assert "BrokenProcessPool" in done.stderr and GUARD in done.stderr.splitlines()[-1]


def test_unguarded_script_with_a_classifying_server_gets_the_hint(tmp_path: Path) -> None:
    """The README's transfer example saved as a script, without the guard: a clear error, not a bare
    BrokenProcessPool (issue 21)."""
    script = tmp_path / "serve_unguarded.py"
    script.write_text(
        "from imgclass.transfer import ImageServer\n"
        f"with ImageServer(out_dir={str(tmp_path / 'received')!r}, port=0, classifiers=['byte-length'], "
        "workers=1) as server:\n"
        "    print('listening on', server.address)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=240, check=False
    )
    assert done.returncode != 0 and "listening on" not in done.stdout
    last = done.stderr.strip().splitlines()[-1]
    assert "BrokenProcessPool" in last and GUARD in last and str(script) in last, done.stderr[-2000:]
