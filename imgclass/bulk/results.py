"""Bulk-classification results: the line ``imgclass classify`` writes for each path, and a chunk's worth.

A worker sends a chunk's outcome back as one :class:`ChunkOutcome` (two arrays and the few error
messages), not as a list of per-file objects: with a classifier that takes a millisecond, pickling
a frozen dataclass per file was a visible share of the work. The caller already holds the paths and
turns the pair into :class:`BulkResult` objects.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from imgclass.labels import LABEL_NAMES

#: Column order of CSV output and key order of JSON lines.
FIELDS: tuple[str, ...] = ("path", "label", "score", "classifier", "ms", "error")


@dataclass(frozen=True, slots=True)
class BulkResult:
    """The outcome for one input path.

    ``label`` is ``"real"`` or ``"animated"`` and ``score`` is P(animated) (the label is ``score > 0.5``);
    both are ``None`` when ``error`` says why the file could not be classified. ``ms`` is the worker's
    time for the file: reading and checking it, plus its share of the chunk's batched classification.
    """

    path: str
    label: str | None
    score: float | None
    classifier: str
    ms: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def outcome(self) -> tuple[str, str | None, float | None, str, str | None]:
        """Everything but the timing: what must agree between backends, and between a resumed and a clean run."""
        return (self.path, self.label, self.score, self.classifier, self.error)

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in FIELDS}

    @classmethod
    def from_dict(cls, row: Mapping[str, Any]) -> BulkResult:
        """Inverse of :meth:`to_dict`; raises ``ValueError`` for a row that is not a result."""
        try:
            path, classifier = row["path"], row["classifier"]
            label, score, ms, error = row.get("label"), row.get("score"), row.get("ms", 0.0), row.get("error")
        except (KeyError, TypeError, AttributeError):
            raise ValueError(f"not a result row: {row!r}") from None
        if not isinstance(path, str) or not isinstance(classifier, str):
            raise ValueError(f"not a result row: {row!r}")
        if label not in (None, "real", "animated"):
            raise ValueError(f"unknown label {label!r} in result row for {path}")
        try:
            return cls(
                path=path,
                label=label,
                score=None if score is None else float(score),
                classifier=classifier,
                ms=float(ms),
                error=None if error is None else str(error),
            )
        except (TypeError, ValueError):
            raise ValueError(f"not a result row: {row!r}") from None


@dataclass(frozen=True)
class ChunkOutcome:
    """What a worker returns for a chunk of paths, compactly.

    ``scores[i]`` is P(animated) of the chunk's ``i``-th path (NaN where it failed), ``ms[i]`` its time,
    ``errors`` the ``(i, reason)`` of the paths that failed, and ``classifier`` the results' label.
    """

    scores: npt.NDArray[np.float64]
    ms: npt.NDArray[np.float64]
    errors: tuple[tuple[int, str], ...]
    classifier: str

    def __post_init__(self) -> None:
        if self.scores.shape != self.ms.shape or self.scores.ndim != 1:
            raise ValueError(f"scores {self.scores.shape} and ms {self.ms.shape} must be the same 1-d shape")

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    def results(self, paths: Sequence[str]) -> list[BulkResult]:
        """One :class:`BulkResult` per path, in order (``paths`` is the chunk that was sent)."""
        if len(paths) != len(self):
            raise ValueError(f"{len(paths)} paths for a chunk outcome of {len(self)}")
        errors = dict(self.errors)
        classifier = self.classifier
        out = []
        # tolist() turns the arrays into Python floats in one C loop instead of one NumPy scalar per file.
        for i, (path, score, ms) in enumerate(zip(paths, self.scores.tolist(), self.ms.tolist(), strict=True)):
            error = errors.get(i)
            if error is not None or math.isnan(score):
                out.append(BulkResult(str(path), None, None, classifier, ms, error or "no score"))
            else:
                out.append(BulkResult(str(path), LABEL_NAMES[score > 0.5], score, classifier, ms))
        return out
