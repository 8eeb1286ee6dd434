"""The repository's own text stays true for a new user: install hints, links, the notebook index."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parent.parent
TEXT_SUFFIXES = {".md", ".py", ".ipynb", ".toml", ".yml", ".yaml", ".cfg", ".txt", ".rst", ""}
#: Folders whose files are data, not text a user reads.
SKIP_PARTS = {".git", "reference", "__pycache__", "build", "dist", ".venv", "node_modules"}
#: ``pip install [options] imgclass`` or ``imgclass[extra]``: the bare name installs an unrelated project.
BARE_INSTALL = re.compile(r"pip3?\s+install\s+(?:-[-\w]+\s+)*['\"]?imgclass(?![\w-])")
BARE_EXTRA = re.compile(r"(?<![\w./-])imgclass\[")
#: Markdown links and images: ``[text](target)`` and ``<img src="target">``.
LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)|\bsrc=\"([^\"]+)\"")
NUMBER_WORDS = "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen"
NOTEBOOK_COUNT = re.compile(rf"\b(?:{NUMBER_WORDS}|\d+)\s+(?:jupyter\s+)?notebooks\b", re.IGNORECASE)


def committed_files() -> list[Path]:
    """The files git tracks (a fresh clone's view); without git, every file outside dot- and data folders."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, text=True
        ).stdout.split("\0")
        files = [ROOT / name for name in listed if name]
    except (OSError, subprocess.CalledProcessError):
        files = [p for p in ROOT.rglob("*") if p.is_file()]
    return [p for p in files if p.is_file() and not SKIP_PARTS & set(p.relative_to(ROOT).parts[:-1])]


def text_files() -> list[Path]:
    return [p for p in committed_files() if p.suffix in TEXT_SUFFIXES and p.stat().st_size < 2_000_000]


def readable_text(path: Path) -> str:
    """What a reader sees: a notebook's cell sources, any other file as it is."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".ipynb":
        return "\n".join("".join(cell["source"]) for cell in json.loads(text)["cells"])
    return text


def test_distribution_name_is_not_the_unrelated_project() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] != "imgclass", "'imgclass' on the package index is an unrelated project"
    assert "imgclass" in project["scripts"], "the command stays `imgclass`"


@pytest.mark.parametrize(
    ("line", "bad"),
    [
        ("pip install 'imgclass[dask]'", True),
        ("pip install imgclass", True),
        ("python -m pip install -U imgclass", True),
        ('pip install "imgclass[notebook]"', True),
        ('pip install -e ".[dask]"', False),
        ("pip install -e .", False),
        ("pip install imgclass-rva", False),
        ('pip install -e "../imgclass[dask]"', False),
    ],
)
def test_install_hint_patterns(line: str, bad: bool) -> None:
    assert bool(BARE_INSTALL.search(line) or BARE_EXTRA.search(line)) is bad


def test_no_install_hint_names_the_unrelated_project() -> None:
    found = []
    for path in text_files():
        if path == Path(__file__).resolve():
            continue  # this file holds the bad examples on purpose
        for number, line in enumerate(readable_text(path).splitlines(), 1):
            if BARE_INSTALL.search(line) or BARE_EXTRA.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "install hints must work from a checkout (pip install -e '.[extra]'):\n" + "\n".join(found)


def links(text: str) -> list[str]:
    return [a or b for a, b in LINK.findall(text)]


def test_link_pattern() -> None:
    text = '[poster](../x/poster.md) ![fig](docs/a.png "t") <img src="b.png"> [site](https://example.org)'
    assert links(text) == ["../x/poster.md", "docs/a.png", "b.png", "https://example.org"]


def test_no_committed_file_links_outside_the_repository() -> None:
    bad = []
    for path in text_files():
        if path.suffix not in {".md", ".ipynb", ".rst", ".txt"}:
            continue
        for target in links(readable_text(path)):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE) or target.startswith("#"):
                continue  # a URL or an anchor in the same file
            local = target.split("#", 1)[0]
            resolved = (ROOT / local.lstrip("/")) if local.startswith("/") else (path.parent / local)
            resolved = resolved.resolve()
            where = f"{path.relative_to(ROOT)} -> {target}"
            if not resolved.is_relative_to(ROOT):
                bad.append(f"{where}: outside the repository (a clone does not have it)")
            elif not resolved.exists():
                bad.append(f"{where}: no such file")
    assert not bad, "\n".join(bad)


def notebooks_section(readme: str) -> str:
    match = re.search(r"^## Notebooks\n(.*?)(?=^## )", readme, re.MULTILINE | re.DOTALL)
    assert match, "the README has no '## Notebooks' section"
    return match.group(1)


def test_readme_indexes_every_notebook() -> None:
    on_disk = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    section = notebooks_section((ROOT / "README.md").read_text())
    listed = [Path(t).name for t in links(section) if t.endswith(".ipynb")]
    missing = sorted(set(on_disk) - set(listed))
    stale = sorted(set(listed) - set(on_disk))
    assert not missing, f"notebooks missing from the README's index: {missing}"
    assert not stale, f"the README's index lists notebooks that do not exist: {stale}"
    assert listed == sorted(set(listed)), "the README's index is out of order or lists a notebook twice"


def test_readme_states_no_notebook_count() -> None:
    # A count ("Six notebooks") goes stale as soon as a notebook is added; the index itself is tested.
    counts = NOTEBOOK_COUNT.findall((ROOT / "README.md").read_text())
    assert not counts, f"the README counts notebooks: {counts}"


def test_notebook_count_pattern() -> None:
    assert NOTEBOOK_COUNT.search("Six notebooks take the claims")
    assert NOTEBOOK_COUNT.search("all 7 notebooks run")
    assert not NOTEBOOK_COUNT.search("The notebooks take the claims")


#: "`combined` 181 KB": a shipped model's size as the README states it.
MODEL_SIZE = re.compile(r"`([a-z][a-z0-9-]*)`\s*\n?\s*([\d,.]+)\s*KB")


def test_readme_model_sizes_match_the_files() -> None:
    readme = (ROOT / "README.md").read_text()
    checked = 0
    for name, stated in MODEL_SIZE.findall(readme):
        model = ROOT / "imgclass" / "models" / f"{name}.json"
        if not model.exists():
            continue
        actual = model.stat().st_size / 1000
        assert abs(float(stated.replace(",", "")) - actual) <= 0.05 * actual, (
            f"the README says `{name}` is {stated} KB; imgclass/models/{name}.json is {actual:.0f} KB"
        )
        checked += 1
    assert checked, "the README no longer states a shipped model's size as `name` N KB"
