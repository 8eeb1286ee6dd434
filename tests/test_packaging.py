"""The package's metadata agrees with itself: pyproject, environment.yml, py.typed, version."""

import re
from pathlib import Path

import tomllib

import imgclass

ROOT = Path(__file__).resolve().parent.parent
#: pip name -> conda-forge name where they differ; None where conda leaves it to pip on purpose.
CONDA_NAMES = {"opencv-python-headless": None, "matplotlib": "matplotlib-base", "dask[distributed]": "dask"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ ;]", requirement, maxsplit=1)[0].strip().lower()


def test_environment_yml_lists_every_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"])
    for extra in ("notebook", "test"):
        wanted += project["optional-dependencies"][extra]
    env_lines = (ROOT / "environment.yml").read_text().splitlines()
    conda = {_name(line.strip()[2:]) for line in env_lines if re.match(r"^  - [a-z]", line)}
    assert "-e .[test,notebook,dask]" in (ROOT / "environment.yml").read_text()
    for requirement in wanted:
        name = _name(requirement)
        conda_name = CONDA_NAMES.get(name, name)
        if conda_name is not None:
            assert conda_name in conda, f"{name} is in pyproject.toml but not in environment.yml"


def test_typed_and_versioned() -> None:
    assert (ROOT / "imgclass" / "py.typed").exists()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert imgclass.__version__ == project["version"]
