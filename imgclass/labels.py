"""Class labels: 0 = real (camera photograph), 1 = animated (drawn, rendered or painted)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import numpy as np
import numpy.typing as npt

REAL: Final = 0
ANIMATED: Final = 1
LABEL_NAMES: Final[tuple[str, str]] = ("real", "animated")


def label_name(label: int) -> str:
    """The name of an integer label (``0 -> "real"``, ``1 -> "animated"``)."""
    if label not in (REAL, ANIMATED):
        raise ValueError(f"label must be 0 (real) or 1 (animated), got {label!r}")
    return LABEL_NAMES[int(label)]


def encode_labels(y: Iterable[object]) -> npt.NDArray[np.int64]:
    """Turn labels given as 0/1, booleans or the names ``"real"``/``"animated"`` into an int array."""
    out: list[int] = []
    for value in y:
        if isinstance(value, str):
            if value not in LABEL_NAMES:
                raise ValueError(f"unknown label name {value!r}; expected one of {LABEL_NAMES}")
            out.append(LABEL_NAMES.index(value))
        elif isinstance(value, (bool, np.bool_, int, np.integer)) and int(value) in (REAL, ANIMATED):
            out.append(int(value))
        else:
            raise ValueError(f"label must be 0/1 or 'real'/'animated', got {value!r}")
    return np.asarray(out, dtype=np.int64)
