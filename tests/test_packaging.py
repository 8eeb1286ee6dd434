"""The package's metadata agrees with itself: pyproject, environment.yml, py.typed, version."""

import re
from pathlib import Path

import tomllib

import imgclass

ROOT = Path(__file__).resolve().parent.parent
#: pip name -> conda-forge name where they differ; None where conda leaves it to pip on purpose.
CONDA_NAMES = {
    "opencv-python-headless": None,
    "imagezmq": None,
    "pi-heif": None,
    "matplotlib": "matplotlib-base",
    "dask[distributed]": "dask",
    # The train extra comes through environment.yml's pip line: torch pinned to its CPU build, and onnx.
    "torch": None,
    "onnx": None,
}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ ;]", requirement, maxsplit=1)[0].strip().lower()


def test_environment_yml_lists_every_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted = list(project["dependencies"])
    for extra in extras.values():
        wanted += extra
    env_lines = (ROOT / "environment.yml").read_text().splitlines()
    conda = {_name(line.strip()[2:]) for line in env_lines if re.match(r"^  - [a-z]", line)}
    pip_line = re.search(r"^\s+- -e \.\[([a-z,]+)\]$", (ROOT / "environment.yml").read_text(), re.MULTILINE)
    assert pip_line, "environment.yml does not pip-install the checkout with its extras"
    assert set(pip_line.group(1).split(",")) == set(extras), "environment.yml's pip line must name every extra"
    for requirement in wanted:
        name = _name(requirement)
        conda_name = CONDA_NAMES.get(name, name)
        if conda_name is not None:
            assert conda_name in conda, f"{name} is in pyproject.toml but not in environment.yml"


def test_typed_and_versioned() -> None:
    assert (ROOT / "imgclass" / "py.typed").exists()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert imgclass.__version__ == project["version"]


def test_notebook_extra_runs_every_notebook() -> None:
    # Notebook 07 imports distributed and links the Dask dashboard, which only says "needs bokeh" without it.
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    notebook = {_name(r) for r in extras["notebook"]}
    assert {"dask[distributed]", "bokeh", "ipywidgets", "jupyterlab"} <= notebook
    # Notebook 07 suggests `imgclass classify ... --out results.parquet`, which needs pyarrow.
    assert "pyarrow" in notebook, "notebook 07's --out results.parquet hint needs pyarrow in the notebook extra"
    assert "bokeh" in {_name(r) for r in extras["dask"]}, "`-v` and --dask point to the dashboard"


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    install = re.search(r'^pip install -e "\.\[([a-z,]+)\]" && pytest$', readme, re.MULTILINE)
    assert install, "the README's second command is gone"
    assert f'pip install -q -e ".[{install.group(1)}]"' in ci
    assert re.search(r"^python3 -m pytest$", ci, re.MULTILINE)


def test_ci_builds_the_site_with_the_readme_command() -> None:
    """The README's one command for the site is what CI runs (CI adds only -q), warnings as errors."""
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    named = re.search(r"`(sphinx-build [^`]+)`", readme)
    assert named, "the README no longer names the command that builds the site"
    assert {"-W", "-n"} <= set(named.group(1).split()), "the site builds with warnings as errors and nitpicky links"
    ran = re.search(r"^sphinx-build .*$", ci, re.MULTILINE)
    assert ran, ".ci/run does not build the site"
    assert [a for a in ran.group(0).split() if a != "-q"] == named.group(1).split()
    # Built before the tests: the site's browser test opens the result.
    assert ci.index(ran.group(0)) < ci.index("python3 -m pytest")
