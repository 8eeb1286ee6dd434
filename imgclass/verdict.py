"""One classifier's verdict on one image: the result type shared by classification and the wire protocol.

It lives apart from :mod:`imgclass.ready` so that the transfer protocol (and a client, which never
classifies) can use it without loading the classifiers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Verdict:
    """One classifier's answer: a ``label`` (``"real"``/``"animated"``) and ``score`` = P(animated), or an error."""

    classifier: str
    label: str | None
    score: float | None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The verdict's value in a reply's ``verdicts`` object (keyed there by the classifier's name)."""
        if self.error is not None:
            return {"error": self.error}
        return {"label": self.label, "score": self.score}
