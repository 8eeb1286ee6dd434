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


def readme_section(title: str) -> str:
    """The text of the README's ``## title`` section, up to the next one."""
    readme = (ROOT / "README.md").read_text()
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", readme, re.MULTILINE | re.DOTALL)
    assert match, f"the README has no '## {title}' section"
    return match.group(1)


def test_readme_indexes_every_notebook() -> None:
    on_disk = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    section = readme_section("Notebooks")
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


#: "`combined` 181 KB": a shipped model's size as a page states it.
MODEL_SIZE = re.compile(r"`([a-z][a-z0-9-]*)`\s*\n?\s*([\d,.]+)\s*KB")


def documentation_pages() -> list[Path]:
    """The README and the site's Markdown pages (not the build, not the generated API pages)."""
    docs = [p for p in sorted((ROOT / "docs").rglob("*.md")) if not {"_build", "api"} & set(p.parts)]
    return [ROOT / "README.md", *docs]


def test_stated_model_sizes_match_the_files() -> None:
    checked = 0
    for page in documentation_pages():
        for name, stated in MODEL_SIZE.findall(page.read_text()):
            model = ROOT / "imgclass" / "models" / f"{name}.json"
            if not model.exists():
                continue
            actual = model.stat().st_size / 1000
            assert abs(float(stated.replace(",", "")) - actual) <= 0.05 * actual, (
                f"{page.relative_to(ROOT)} says `{name}` is {stated} KB; imgclass/models/{name}.json is {actual:.0f} KB"
            )
            checked += 1
    assert checked, "no page states a shipped model's size as `name` N KB any more"


def slug(heading: str) -> str:
    """The anchor GitHub and MyST (``myst_heading_anchors``) give a heading."""
    text = re.sub(r"[`*_]|\[([^]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(text: str) -> list[str]:
    """Every heading's slug in order (a repeated heading repeats its slug), and explicit ``(name)=`` targets."""
    body = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    headings = [slug(h) for h in re.findall(r"^#{1,6}\s+(.+)$", body, re.MULTILINE)]
    return headings + re.findall(r"^\(([\w-]+)\)=$", body, re.MULTILINE)


def test_slug_pattern() -> None:
    assert slug("Speed: `benchmarks/classifiers.py`") == "speed-benchmarksclassifierspy"
    assert slug("Bulk on every core, or a Dask cluster") == "bulk-on-every-core-or-a-dask-cluster"
    assert anchors("# A\n```text\n# not a heading\n```\n## B c\n(target)=\n") == ["a", "b-c", "target"]


def test_every_anchor_link_lands_on_one_heading() -> None:
    """``[Speed](#speed)`` once landed on the bulk section: a link's heading must exist, and exist once."""
    bad = []
    for page in documentation_pages():
        text = page.read_text()
        for target in links(text):
            if "#" not in target or re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):
                continue
            path, anchor = target.split("#", 1)
            linked = page if not path else (page.parent / path).resolve()
            if linked.suffix != ".md" or not linked.exists():
                continue
            found = anchors(linked.read_text()).count(anchor)
            if found != 1:
                bad.append(f"{page.relative_to(ROOT)} -> {target}: {found} headings with that anchor")
    assert not bad, "\n".join(bad)


def test_the_skip_list_is_only_skips() -> None:
    """Install advice once sat glued to the last skip bullet ("... With conda: ...")."""
    section = readme_section("Where tests may skip")
    bullets = re.findall(r"^- (.*?)(?=^- |^\n|\Z)", section, re.MULTILINE | re.DOTALL)
    assert len(bullets) >= 5
    for bullet in bullets:
        assert not re.search(r"conda|pip install|environment\.yml", bullet), f"not a skip: {bullet}"


def test_the_readme_explains_every_expected_failure() -> None:
    section = readme_section("Where tests may skip")
    sources = "\n".join(p.read_text() for p in (ROOT / "tests").rglob("*.py") if p != Path(__file__).resolve())
    assert "pytest.mark.xfail" not in sources and "pytest.xfail(" not in sources, "explain the new xfail in the README"
    checks = re.findall(r'"(check_\w+)":', sources)
    assert checks, "no expected failures left: drop their explanation from the README"
    for check in checks:
        assert check in section, f"the README's list of skips does not explain the expected failure {check}"
