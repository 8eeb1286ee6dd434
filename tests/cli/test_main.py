import subprocess
import sys

import pytest

from imgclass.cli import build_parser, main


def test_python_m_lists_the_subcommands() -> None:
    out = subprocess.run([sys.executable, "-m", "imgclass", "--help"], capture_output=True, text=True, check=True)
    for command in ("reproduce", "evaluate", "prepare"):
        assert command in out.stdout


def test_every_subcommand_has_help() -> None:
    parser = build_parser()
    choices = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name, sub in choices.items():
        assert sub.format_help().startswith("usage: imgclass " + name)


def test_errors_are_one_clean_line(capsys: pytest.CaptureFixture[str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert main(["reproduce", "--data", str(tmp_path / "missing"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("imgclass reproduce: error:") and "does not exist" in err and "Traceback" not in err
