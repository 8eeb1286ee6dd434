"""The repository stands alone: its builders, tests and CI read nothing outside its own tree (issue 21, item 1).

A fresh clone has nothing beside it, so the checked source lists the builders start from live in
``data/sources/``; a copy of the builders in a temporary folder, with no ``shared/`` anywhere above it,
must still load every list they name.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCES = REPO / "data" / "sources"
THIS = Path(__file__).resolve()

#: Text that means "read from outside the repository": the old shared lists, the folder beside the checkout,
#: an environment variable naming them, or fixed scratch paths that two CI runs on one machine would share.
OUTSIDE = re.compile(r"\.\./shared|shared/data-sources|shared/tools|REPO\.parent|IMGCLASS_V1_LISTS|/tmp/imgclass-v2")


def _checked_files() -> list[Path]:
    files = [REPO / ".ci" / "run"]
    files += sorted((REPO / "data").rglob("*.py")) + sorted((REPO / "data").rglob("*.mjs"))
    files += sorted((REPO / "tests").rglob("*.py")) + sorted((REPO / "benchmarks").rglob("*.py"))
    return [path for path in files if path != THIS and "__pycache__" not in path.parts]


def test_builders_tests_and_ci_name_nothing_outside_the_repository() -> None:
    hits = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in _checked_files()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert not hits, "reads outside the repository:\n" + "\n".join(hits)


def _list_names() -> set[str]:
    """Every checked list a builder names: build_reference's SOURCES and the v2 sources' ``v1_list`` calls."""
    reference = (REPO / "data" / "build_reference.py").read_text(encoding="utf-8")
    v2 = (REPO / "data" / "v2" / "sources.py").read_text(encoding="utf-8")
    names = set(re.findall(r'Source\("\w+", "([\w.]+)", [01]\)', reference))
    names |= set(re.findall(r'v1_list\("([\w.]+)"', v2))
    return names


def _checked_names() -> set[str]:
    """Every list of ``data/v2/checked`` that ``data/v2/sources.py`` reads through ``checked(NAME)``."""
    v2 = (REPO / "data" / "v2" / "sources.py").read_text(encoding="utf-8")
    names = set(re.findall(r'checked\("(\w+)"\)', v2))
    for group in re.findall(r"for name in \(([^)]*)\):\n[^\n]*checked\(name\)", v2):
        names |= set(re.findall(r'"(\w+)"', group))
    return names


def test_every_named_list_is_in_the_repository() -> None:
    names = _list_names()
    assert len(names) == 11, names  # the regexes above still find them
    assert sorted(path.stem for path in SOURCES.glob("*.txt")) == sorted(names)
    checked = sorted(path.stem for path in (REPO / "data" / "v2" / "checked").glob("*.txt"))
    assert checked == sorted(_checked_names() | {"faces"})  # faces.txt is read by face()


def test_lists_match_their_recorded_checksums() -> None:
    readme = (SOURCES / "README.md").read_text(encoding="utf-8")
    recorded = dict(re.findall(r"^\| ([\w.]+) \|.*\| `([0-9a-f]{64})` \|$", readme, flags=re.MULTILINE))
    actual = {path.stem: hashlib.sha256(path.read_bytes()).hexdigest() for path in SOURCES.glob("*.txt")}
    assert recorded == actual


def test_builders_load_their_lists_from_a_copy_with_nothing_beside_it(tmp_path: Path) -> None:
    """Copy the builders alone (no ``shared/`` above the copy, no environment variable) and load every list."""
    clone = tmp_path / "clone"
    for folder in ("data/sources", "data/v2/checked"):
        shutil.copytree(REPO / folder, clone / folder)
    for script in ("data/build_reference.py", "data/v2/sources.py"):
        shutil.copy2(REPO / script, clone / script)
    assert not any((parent / "shared").exists() for parent in clone.parents), "pick a tmp_path with no shared/"
    code = f"""
import sys
sys.path[:0] = [{str(clone / "data")!r}, {str(clone / "data" / "v2")!r}]
import build_reference, sources
names = {sorted(_list_names())!r}
counts = [len(sources.v1_list(name)) for name in names]
for name in {sorted(_checked_names())!r}:  # the lists checked by eye for v2's own sources (data/v2/checked)
    assert sources.checked(name), name
assert sources.face("no-such-source", "x") in (True, False)  # reads checked/faces.txt
for source in build_reference.SOURCES:
    assert (build_reference.DEFAULT_LISTS / (source.list_name + ".txt")).is_file(), source
print(sum(counts))
"""
    env = {key: value for key, value in os.environ.items() if key != "IMGCLASS_V1_LISTS"}
    done = subprocess.run([sys.executable, "-c", code], cwd=clone, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 2000  # the lists' distinct (package, path) pairs


def test_ci_scratch_space_is_per_run_and_removed() -> None:
    """Two CI runs on one machine must not share the v2 slice or its download cache."""
    run = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    made = re.search(r'^(\w+)="\$\(mktemp -d[^)]*\)"$', run, flags=re.MULTILINE)
    assert made, "the scratch folder must come from mktemp -d"
    name = made.group(1)
    assert re.search(rf"^trap 'rm -rf -- \"\${name}\"' EXIT$", run, flags=re.MULTILINE), "and be removed on exit"
    build = next(line for line in run.splitlines() if "build_v2.py" in line and not line.startswith("#"))
    assert f'--out "${name}/' in build and f'--cache "${name}/' in build, build
