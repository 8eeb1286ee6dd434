import importlib

import pytest

import imgclass


@pytest.mark.parametrize("name", [n for n in imgclass.__all__ if n != "__version__"])
def test_every_export_resolves(name: str) -> None:
    assert getattr(imgclass, name) is getattr(importlib.import_module(imgclass._EXPORTS[name]), name)


def test_unknown_name() -> None:
    with pytest.raises(AttributeError, match="no attribute"):
        imgclass.nothing_here  # noqa: B018
