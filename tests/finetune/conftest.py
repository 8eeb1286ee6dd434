"""The fine-tuning tests need the ``train`` extra (torch, onnx): they skip without it, unless
``IMGCLASS_REQUIRE_TRAIN=1`` (set by ``.ci/run``, which installs the extra) makes that a failure."""

from __future__ import annotations

import importlib.util
import os

import pytest

MISSING = [m for m in ("torch", "onnx") if importlib.util.find_spec(m) is None]

if MISSING:
    if os.environ.get("IMGCLASS_REQUIRE_TRAIN") == "1":
        raise RuntimeError(f"IMGCLASS_REQUIRE_TRAIN=1 but {', '.join(MISSING)} not installed (the train extra)")
    collect_ignore_glob = ["test_*.py"]
    pytest.skip(f"the train extra is not installed ({', '.join(MISSING)})", allow_module_level=True)
