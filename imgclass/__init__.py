"""imgclass: tell camera photographs ("real") from animated images ("animated").

The public API is importable from here; heavy modules load on first use, so ``import imgclass`` and
``imgclass --help`` stay fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: Public name -> module that defines it.
_EXPORTS: dict[str, str] = {
    "REAL": "imgclass.labels",
    "ANIMATED": "imgclass.labels",
    "LABEL_NAMES": "imgclass.labels",
    "decode_image": "imgclass.decode",
    "ImageDecodeError": "imgclass.decode",
    "read_header": "imgclass.headers",
    "load_dataset": "imgclass.data",
    "Dataset": "imgclass.data",
    "Record": "imgclass.data",
    "make_classifier": "imgclass.classifiers",
    "pretrained": "imgclass.ready",
    "classify_bytes": "imgclass.ready",
    "classifier_names": "imgclass.classifiers",
    "reproduce": "imgclass.evaluation",
    "evaluate": "imgclass.evaluation",
    "Report": "imgclass.evaluation",
    "normalise_image": "imgclass.prepare",
    "prepare_folder": "imgclass.prepare",
    "classify_paths": "imgclass.bulk",
    "BulkResult": "imgclass.bulk",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'imgclass' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
