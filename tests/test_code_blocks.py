"""Every code block of the README and of the documentation's Markdown pages runs as written, and prints what it says.

The convention (also in ``docs/development.md``):

* a fenced ```` ```python ```` block is saved as ``example.py`` in an empty temporary folder and run there with
  this Python, as a user would run a script;
* a fenced ```` ```bash ```` block runs with ``bash -e`` from the root of the checkout, as a user who cloned it
  would type it, and must leave no new file there (``git status`` shows none): what it writes goes to ignored
  or temporary places;
* each has a time-out (:data:`TIMEOUT`); a block that exits non-zero fails;
* a line ending in ``# -> TEXT`` claims that the block prints the line ``TEXT``; claims are checked in order;
* a ```` ```text ```` block right after a runnable block (nothing but blank lines between) is its expected
  output: each of its lines must be printed, in order (``...`` stands for any lines);
* commands that must not run here (a whole benchmark, a cluster on several machines, the test command itself)
  go in a ```` ```text ```` block whose first line is ``# not run by the tests: REASON``; a ``text`` block that
  starts with a command but not with that line fails, and so do ``console``/``sh``/``shell`` fences, which
  would slip past both rules.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: Seconds a block may take before it counts as hung. The slowest is the README's first command (an editable
#: install, then the poster's table on the bundled set: about a minute on an idle 2-core machine).
TIMEOUT = 900
RUNNABLE = {"python", "bash"}
NOT_RUN = "# not run by the tests:"
#: The first word of a command line, in a ``text`` block that would be a command someone should run.
COMMAND = re.compile(r"^\$?\s*(imgclass|pip|python3?|pytest|dask|jupyter|conda|sphinx-build|bash|cd)(?=\s|$)")
FENCE = re.compile(r"^(?P<fence>```+)(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$", re.MULTILINE | re.DOTALL)
CLAIM = re.compile(r"#\s*->\s*(?P<text>.+?)\s*$")


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    lang: str
    body: str
    #: The ``text`` block right after it: what it must print.
    expected: str | None = None

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"

    def claims(self) -> list[str]:
        return [m.group("text") for line in self.body.splitlines() if (m := CLAIM.search(line))]


def pages() -> list[Path]:
    docs = [p for p in sorted((ROOT / "docs").rglob("*.md")) if not {"_build", "api"} & set(p.parts)]
    return [ROOT / "README.md", *docs]


def blocks(text: str, page: str) -> list[Block]:
    """Every fenced block of ``text``: its language, body, and (for runnable ones) the expected output after it."""
    found = []
    matches = list(FENCE.finditer(text))
    for i, match in enumerate(matches):
        lang = match.group("info").strip().split(" ")[0].lower()
        expected = None
        if lang in RUNNABLE and i + 1 < len(matches):
            after = matches[i + 1]
            between = text[match.end() : after.start()]
            if not between.strip() and after.group("info").strip() == "text":
                expected = after.group("body")
        line = text.count("\n", 0, match.start()) + 1
        found.append(Block(page, line, lang, match.group("body"), expected))
    return found


def all_blocks() -> list[Block]:
    return [b for page in pages() for b in blocks(page.read_text(), str(page.relative_to(ROOT)))]


def outputs(found: list[Block]) -> set[str]:
    return {b.expected for b in found if b.expected is not None}


def check_printed(stdout: str, block: Block) -> None:
    lines = [line.rstrip() for line in stdout.splitlines()]
    position = 0
    for claim in block.claims():
        try:
            position = lines.index(claim, position) + 1
        except ValueError:
            pytest.fail(f"{block.id}: claims it prints {claim!r}; it printed:\n{stdout[-3000:]}")
    if block.expected is not None:
        wanted = [line.rstrip() for line in block.expected.strip("\n").splitlines()]
        if not matches_in_order(lines, wanted):
            pytest.fail(f"{block.id}: the output block after it says\n{block.expected}\nit printed:\n{stdout[-3000:]}")


def matches_in_order(lines: list[str], wanted: list[str]) -> bool:
    """``wanted`` line for line at the start of ``lines``, where a ``...`` line stands for any lines."""
    if not wanted:
        return True
    head, rest = wanted[0], wanted[1:]
    if head == "...":
        return any(matches_in_order(lines[i:], rest) for i in range(len(lines) + 1))
    return bool(lines) and lines[0] == head and matches_in_order(lines[1:], rest)


def new_files() -> set[str]:
    """Files in the checkout that git neither tracks nor ignores."""
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return {line[3:] for line in status.splitlines() if line.startswith("??")}


RUN = [b for b in all_blocks() if b.lang in RUNNABLE]


@pytest.mark.slow
@pytest.mark.timeout(TIMEOUT + 60)
@pytest.mark.parametrize("block", RUN, ids=[b.id for b in RUN])
def test_block_runs_and_prints_what_it_claims(block: Block, tmp_path: Path) -> None:
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}
    # The interpreter running the tests comes first on PATH, so `imgclass`, `pip` and `python` are its own.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    if block.lang == "python":
        (tmp_path / "example.py").write_text(block.body)
        argv, cwd = [sys.executable, "example.py"], tmp_path
    else:
        (tmp_path / "example.sh").write_text(block.body)
        argv, cwd = ["bash", "-e", str(tmp_path / "example.sh")], ROOT
        before = new_files()
    try:
        run = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{block.id}: still running after {TIMEOUT} s")
    assert run.returncode == 0, f"{block.id} exited with {run.returncode}:\n{run.stdout[-2000:]}\n{run.stderr[-3000:]}"
    check_printed(run.stdout, block)
    if block.lang == "bash":
        left = new_files() - before
        assert not left, f"{block.id} left files in the checkout: {sorted(left)}"


def test_commands_not_run_say_why() -> None:
    found = all_blocks()
    expected = outputs(found)
    bad = []
    for block in found:
        first = next((line.strip() for line in block.body.splitlines() if line.strip()), "")
        if block.lang in {"console", "sh", "shell", "shell-session", "zsh"}:
            bad.append(f"{block.id}: a ```{block.lang} block; use ```bash (run by this test) or ```text")
        elif block.lang in {"", "text"} and block.body not in expected and COMMAND.match(first):
            bad.append(f"{block.id}: commands in a text block must start with '{NOT_RUN} REASON'")
    assert not bad, "\n".join(bad)


def test_not_run_commands_give_a_reason() -> None:
    skipped = [b for b in all_blocks() if b.body.lstrip().startswith(NOT_RUN)]
    for block in skipped:
        reason = block.body.lstrip().splitlines()[0][len(NOT_RUN) :].strip()
        assert len(reason) > 10, f"{block.id}: give the reason this block is not run"


def test_the_rules_catch_what_they_should() -> None:
    page = (
        "```python\nprint(1)  # -> 1\n```\n\n```text\n1\n```\n"
        "```text\nimgclass classify photos/\n```\n"
        "```text\n# not run by the tests: a whole benchmark\npython benchmarks/bulk.py\n```\n"
        "```console\n$ imgclass send a.jpg\n```\n"
    )
    found = blocks(page, "page.md")
    assert [b.lang for b in found] == ["python", "text", "text", "text", "console"]
    assert found[0].expected == "1\n" and found[0].claims() == ["1"]
    check_printed("1\n", found[0])
    with pytest.raises(pytest.fail.Exception, match="claims it prints '1'"):
        check_printed("2\n", found[0])
    assert matches_in_order(["a", "b", "c"], ["a", "...", "c"])
    assert not matches_in_order(["a", "b"], ["b"])
    assert COMMAND.match("imgclass classify photos/") and COMMAND.match("$ pip install -e .")
    assert not COMMAND.match("imgclass/            the package")


def test_every_page_has_been_read() -> None:
    assert RUN, "no runnable block found: the README and docs pages must have examples"
    assert any(b.page == "README.md" for b in RUN)
