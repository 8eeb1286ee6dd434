"""Progress bars show where someone can watch them (a terminal, a notebook), never in a redirected log."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from imgclass import progress as progress_module
from imgclass.progress import progress

ROOT = Path(__file__).resolve().parent.parent


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _run(stream: io.StringIO, enabled: bool | None) -> list[int]:
    return list(progress(range(5), enabled=enabled, file=stream, desc="work", mininterval=0))


@pytest.mark.parametrize("enabled", [True, None])
def test_a_bar_on_a_terminal(enabled: bool | None) -> None:
    stream = Terminal()
    assert _run(stream, enabled) == list(range(5))
    assert "work" in stream.getvalue() and "5/5" in stream.getvalue()


@pytest.mark.parametrize("enabled", [True, None, False])
def test_no_bar_in_a_log(enabled: bool | None) -> None:
    stream = io.StringIO()  # a file or a pipe: not a terminal
    assert _run(stream, enabled) == list(range(5))
    assert stream.getvalue() == ""


def test_enabled_false_is_silent_on_a_terminal() -> None:
    stream = Terminal()
    assert _run(stream, False) == list(range(5))
    assert stream.getvalue() == ""


def test_a_notebook_always_sees_its_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress_module, "in_notebook", lambda: True)
    assert progress_module.visible(io.StringIO())
    monkeypatch.setattr(progress_module, "in_notebook", lambda: False)
    assert not progress_module.visible(io.StringIO()) and progress_module.visible(Terminal())
    closed = io.StringIO()
    closed.close()
    assert not progress_module.visible(closed)


def test_manual_bar_and_disable_refused() -> None:
    stream = Terminal()
    with progress(total=3, file=stream, desc="manual", mininterval=0) as bar:
        bar.update(3)
    assert "3/3" in stream.getvalue()
    with pytest.raises(TypeError, match="enabled="):
        progress(range(2), disable=True)


def test_the_package_draws_bars_only_through_progress() -> None:
    direct = re.compile(r"^\s*(from tqdm|import tqdm)", re.MULTILINE)
    users = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "imgclass").rglob("*.py") if direct.search(p.read_text()))
    assert set(users) <= {"imgclass/progress.py"}, users
