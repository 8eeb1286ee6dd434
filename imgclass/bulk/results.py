"""One bulk-classification result: the line ``imgclass classify`` writes for each input path."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Column order of CSV output and key order of JSON lines.
FIELDS: tuple[str, ...] = ("path", "label", "score", "classifier", "ms", "error")


@dataclass(frozen=True, slots=True)
class BulkResult:
    """The outcome for one input path.

    ``label`` is ``"real"`` or ``"animated"`` and ``score`` is P(animated) (the label is ``score > 0.5``);
    both are ``None`` when ``error`` says why the file could not be classified. ``ms`` is the wall time
    the worker spent reading, checking and classifying the file.
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
