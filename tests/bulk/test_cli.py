"""Tests for ``imgclass classify`` (:mod:`imgclass.cli.classify`): output, exit status, resume after a kill."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from imgclass.bulk import classify_paths, read_results
from imgclass.cli import main

QUIET = ["--no-progress"]


def run_cli(*args: str | Path) -> int:
    return main(["classify", *map(str, args), *QUIET])


def test_prints_one_json_line_per_image(image_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(image_dir) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 12
    assert {tuple(line) for line in lines} == {("path", "label", "score", "classifier", "ms", "error")}
    by_name = {Path(line["path"]).name: line for line in lines}
    assert all(line["classifier"] == "combined" and line["error"] is None for line in lines)
    assert {name.split("_")[0] == line["label"] for name, line in by_name.items()} == {True}


def test_bad_files_give_error_lines_and_exit_status_1(
    bad_dir: Path, bad_files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(bad_dir) == 1
    lines = {Path(r["path"]).name: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert lines["good.jpg"]["error"] is None and lines["good.jpg"]["label"] == "real"
    for name, reason in bad_files.items():
        assert reason in lines[name]["error"]
        assert lines[name]["label"] is None


def test_csv_output_and_resume_after_a_partial_write(image_dir: Path, tmp_path: Path) -> None:
    clean, out = tmp_path / "clean.csv", tmp_path / "resumed.csv"
    assert run_cli(image_dir, "--out", clean, "--chunk-size", "3") == 0
    lines = clean.read_text().splitlines(keepends=True)
    out.write_text("".join(lines[:6]) + lines[6][:10])  # header, 5 results and a half-written line
    assert run_cli(image_dir, "--out", out, "--resume", "--chunk-size", "5") == 0
    assert [r.outcome for r in read_results(out)] == [r.outcome for r in read_results(clean)]


def test_resume_of_a_complete_output_adds_nothing(image_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    assert run_cli(image_dir, "--out", out) == 0
    before = out.read_bytes()
    assert run_cli(image_dir, "--out", out, "--resume") == 0
    assert out.read_bytes() == before


def test_list_file_with_duplicates(image_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    images = sorted(str(p) for p in image_dir.iterdir())
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join(images[:3] * 3))
    assert run_cli(f"@{listing}") == 0
    assert [json.loads(line)["path"] for line in capsys.readouterr().out.splitlines()] == images[:3] * 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--resume"], "--resume needs --out"),
        (["--workers", "0"], "--workers must be at least 1"),
        (["--out", "results.txt"], ".jsonl"),
        (["--model", "/no/such/model"], "does not exist"),
        (["@/no/such/list.txt"], "list file"),
    ],
)
def test_usage_errors_exit_2(
    image_dir: Path,
    args: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run_cli(image_dir, *args) == 2
    assert message in capsys.readouterr().err


def test_existing_output_needs_resume_or_overwrite(
    image_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.jsonl"
    out.write_text("{}\n")
    assert run_cli(image_dir, "--out", out) == 2
    assert "--resume" in capsys.readouterr().err
    assert run_cli(image_dir, "--out", out, "--overwrite") == 0
    assert len(out.read_text().splitlines()) == 12
    assert run_cli(image_dir, "--out", out, "--resume", "--classifier", "bilateral") == 2
    assert "combined" in capsys.readouterr().err


def test_unknown_classifier_is_an_argparse_error(image_dir: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run_cli(image_dir, "--classifier", "nope")
    assert exit_info.value.code == 2


def test_progress_bar_and_summary_go_to_stderr(
    image_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["classify", str(image_dir)]) == 0
    captured = capsys.readouterr()  # stderr is not a terminal here: no bar, the summary only
    assert "classify (" not in captured.err and "classified 12 paths (0 failed)" in captured.err
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert main(["classify", str(image_dir)]) == 0
    captured = capsys.readouterr()
    assert "classify (" in captured.err and "img/s" in captured.err
    assert "classified 12 paths (0 failed)" in captured.err
    assert len(captured.out.splitlines()) == 12


def _cli_process(*args: str | Path, stderr: int = subprocess.PIPE) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "imgclass", "classify", *map(str, args), *QUIET]
    return subprocess.Popen(command, start_new_session=True, stderr=stderr)


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


@pytest.mark.slow
def test_a_killed_run_resumes_to_the_clean_result(image_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for copy in range(5):  # 60 distinct paths, so the per-worker cache cannot shortcut anything
        for image in image_dir.iterdir():
            os.link(image, folder / f"{copy}_{image.name}")
    out = tmp_path / "out.jsonl"
    process = _cli_process(folder, "--out", out, "--workers", "2", "--chunk-size", "2", stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while _lines(out) < 4 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)  # polling the output, not waiting for time to pass
    assert process.poll() is None, "the run ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    with contextlib.suppress(ProcessLookupError):  # the pool's workers too, in case any outlived their parent
        os.killpg(process.pid, signal.SIGKILL)
    killed_lines = _lines(out)
    assert 4 <= killed_lines < 60
    with out.open("a") as file:
        file.write('{"path": "half a li')  # as if the kill had landed in the middle of a write

    resumed = _cli_process(folder, "--out", out, "--resume")
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err.decode()
    clean = [r.outcome for r in classify_paths(folder)]
    assert [r.outcome for r in read_results(out)] == clean
    assert len(clean) == 60


def _peak_rss_kb() -> str:
    return "int(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the peak RSS from Linux's /proc")
def test_memory_stays_flat_for_a_100000_path_list(image_dir: Path, bad_dir: Path, tmp_path: Path) -> None:
    """The whole command on 10,000 and on 100,000 paths (a few files over and over) peaks at the same RSS.

    Holding the 100,000 results, or even just the paths, would add 10-20 MB; the bound is 4 MB. The peak
    is VmHWM, not ru_maxrss: after a fork and exec, ru_maxrss still counts the (large, growing) pytest parent.
    """
    files = [*sorted(str(p) for p in image_dir.iterdir())[:4], str(bad_dir / "truncated.jpg")]
    probe = (
        "import sys; from imgclass.cli import main; rc = main(sys.argv[2:]); "
        f"open(sys.argv[1], 'w').write(str({_peak_rss_kb()})); sys.exit(rc)"
    )
    peak_kb = {}
    for n in (10_000, 100_000):
        listing = tmp_path / f"list{n}.txt"
        listing.write_text("".join(f"{files[i % len(files)]}\n" for i in range(n)))
        out, rss = tmp_path / f"out{n}.jsonl", tmp_path / f"rss{n}"
        command = [sys.executable, "-c", probe, str(rss), "classify", f"@{listing}", "--out", str(out), *QUIET]
        done = subprocess.run(command, capture_output=True, timeout=600, check=False)
        assert done.returncode == 1, done.stderr.decode()  # the truncated file fails, every time
        assert _lines(out) == n
        peak_kb[n] = int(rss.read_text())
    assert peak_kb[100_000] - peak_kb[10_000] < 4 * 1024, peak_kb


def test_a_saved_model_file(image_dir: Path, tmp_path: Path, tiny_set: tuple[list[bytes], object]) -> None:
    models = pytest.importorskip("imgclass.models")
    pytest.importorskip("skops")
    from imgclass.classifiers import make_classifier

    images, labels = tiny_set
    fitted = make_classifier("byte-length").fit(images, labels)
    model = models.save_model(fitted, tmp_path / "mine.json")
    out = tmp_path / "r.jsonl"
    assert run_cli(image_dir, "--model", model, "--out", out) == 0
    results = list(read_results(out))
    assert {r.classifier for r in results} == {"mine.json"}
    expected = fitted.predict_proba([Path(r.path).read_bytes() for r in results])[:, 1]
    assert [r.score for r in results] == list(expected)


def test_fast_is_one_option_away(image_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from imgclass.bulk import FAST_CLASSIFIER

    assert run_cli(image_dir, "--fast") == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 12 and {line["classifier"] for line in lines} == {FAST_CLASSIFIER}
    with pytest.raises(SystemExit):
        run_cli(image_dir, "--fast", "--classifier", "bilateral")


def test_subfolders_without_recursive_get_error_lines_and_a_hint(
    image_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder holding only class subfolders (like data/reference) says what it skipped, never nothing."""
    top = tmp_path / "top"
    for name in ("real", "animated"):
        (top / name).mkdir(parents=True)
        for image in sorted(image_dir.iterdir())[:2]:
            os.link(image, top / name / image.name)
    assert run_cli(top) == 1
    captured = capsys.readouterr()
    lines = {Path(r["path"]).name: r for r in map(json.loads, captured.out.splitlines())}
    assert set(lines) == {"real", "animated"}
    assert all("-r/--recursive" in line["error"] for line in lines.values())
    assert "2 subfolder(s) not descended into" in captured.err and "pass -r/--recursive" in captured.err
    assert run_cli(top, "-r") == 0
    assert len(capsys.readouterr().out.splitlines()) == 4


def test_a_symlink_loop_does_not_hide_files(
    image_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    top = tmp_path / "top"
    (top / "sub").mkdir(parents=True)
    (top / "sub" / "back").symlink_to(top, target_is_directory=True)
    (top / "self.jpg").symlink_to(top / "self.jpg")
    (top / "dir.jpg").mkdir()
    images = sorted(image_dir.iterdir())[:3]
    for image in images:
        os.link(image, top / image.name)
    assert run_cli(top, "-r") == 1
    lines = {Path(r["path"]).name: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert {image.name for image in images} <= set(lines)
    assert "loop" in lines["back"]["error"]
    assert "symbolic links" in lines["self.jpg"]["error"]
    assert all(lines[image.name]["error"] is None for image in images)


def test_parquet_output_and_resume(image_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    clean, out = tmp_path / "clean.jsonl", tmp_path / "out.parquet"
    assert run_cli(image_dir, "--out", clean) == 0
    assert run_cli(image_dir, "--out", out) == 0
    assert [r.outcome for r in read_results(out)] == [r.outcome for r in read_results(clean)]
    assert run_cli(image_dir, "--out", out) == 2  # exists: --resume or --overwrite
    assert run_cli(image_dir, "--out", out, "--resume") == 0
    assert len(list(read_results(out))) == 12


def test_the_bundled_folder_classifies_cleanly(capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 21: data/reference holds MANIFEST.csv beside real/ and animated/; it is left out and counted."""
    from imgclass.data import reference_dir

    assert run_cli(reference_dir(), "-r", "--classifier", "byte-length") == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 474
    assert "MANIFEST.csv" not in captured.out
    assert "1 file(s) in the folders left out: not an image by their extension" in captured.err
    assert "MANIFEST.csv" in captured.err


def test_the_help_names_every_extension_a_folder_walk_takes() -> None:
    from imgclass.bulk.paths import IMAGE_SUFFIXES
    from imgclass.cli import build_parser

    parser = build_parser()
    help_text = parser._subparsers._group_actions[0].choices["classify"].format_help()  # type: ignore[union-attr]
    words = set(re.sub(r"[(),;]", " ", help_text).split())
    assert sorted(IMAGE_SUFFIXES - words) == []

