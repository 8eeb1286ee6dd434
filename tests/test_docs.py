"""The documentation site covers the package: every public module has a page, every public object a docstring.

A module is public when no part of its dotted name starts with ``_``; a function or class is public when its
name does not start with ``_`` and it is defined in (not imported into) a public module. Methods are not
checked here: their class's docstring and the signature carry them.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import imgclass

ROOT = Path(__file__).resolve().parent.parent
API_PAGE = ROOT / "docs" / "api.md"
#: The modules named in the API page's ``autosummary`` blocks (one dotted name per indented line).
AUTOSUMMARY = re.compile(r"^```\{eval-rst\}\n\.\. autosummary::\n(.*?)^```", re.MULTILINE | re.DOTALL)


def public_modules() -> list[str]:
    found = [m.name for m in pkgutil.walk_packages(imgclass.__path__, "imgclass.")]
    return ["imgclass", *sorted(n for n in found if not any(part.startswith("_") for part in n.split(".")))]


def documented_modules(text: str) -> list[str]:
    names = []
    for block in AUTOSUMMARY.findall(text):
        for line in block.splitlines():
            line = line.strip()
            if line and not line.startswith(":"):
                names.append(line)
    return names


def own_docstring(obj: object) -> str:
    """The object's own docstring: not inherited, and not the signature a dataclass writes when it has none."""
    doc = vars(obj).get("__doc__") if inspect.isclass(obj) else getattr(obj, "__doc__", None)
    if inspect.isclass(obj) and dataclasses.is_dataclass(obj) and doc and doc.startswith(f"{obj.__name__}("):
        return ""
    return (doc or "").strip()


def undocumented(module_name: str) -> list[str]:
    module = importlib.import_module(module_name)
    missing = [] if (module.__doc__ or "").strip() else [f"{module_name} (module)"]
    for name, obj in vars(module).items():
        if name.startswith("_") or not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue
        if getattr(obj, "__module__", None) == module_name and not own_docstring(obj):
            missing.append(f"{module_name}.{name}")
    return missing


def test_every_public_module_is_in_the_api_reference() -> None:
    listed = documented_modules(API_PAGE.read_text())
    assert len(listed) == len(set(listed)), "docs/api.md lists a module twice"
    missing = sorted(set(public_modules()) - set(listed))
    stale = sorted(set(listed) - set(public_modules()))
    assert not missing, f"public modules missing from docs/api.md (add them to an autosummary block): {missing}"
    assert not stale, f"docs/api.md lists modules that do not exist or are private: {stale}"


@pytest.mark.parametrize("module_name", public_modules())
def test_public_functions_and_classes_have_docstrings(module_name: str) -> None:
    assert not undocumented(module_name), f"no docstring: {undocumented(module_name)}"


def test_the_checks_can_fail(tmp_path: Path) -> None:
    """A listing without a module is caught, and so are a bare function and a dataclass without a docstring."""
    page = "```{eval-rst}\n.. autosummary::\n   :toctree: api\n\n   imgclass\n   imgclass.labels\n```\n"
    assert documented_modules(page) == ["imgclass", "imgclass.labels"]

    def bare() -> None:
        pass

    @dataclasses.dataclass
    class Bare:
        x: int

    @dataclasses.dataclass
    class Described:
        """Has one."""

        x: int

    class Child(Described):
        pass

    assert own_docstring(bare) == "" and own_docstring(Bare) == "" and own_docstring(Child) == ""
    assert own_docstring(Described) == "Has one."
