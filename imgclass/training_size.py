"""Is a training set big enough? Warnings for a small one, a ``ValueError`` where fitting cannot work.

``imgclass train`` on 25 images used to write a model that scored every image 0.52 without a word: the
calibration folds left about 20 images per fit, and the boosted trees (20 images a leaf at least)
could not split once. These checks say so before a model is fitted (counts per class and per source)
and after (a model whose scores do not vary has learnt nothing).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from imgclass.data import UNKNOWN_SOURCE
from imgclass.labels import LABEL_NAMES

#: Below this many images of a class a fitted model is mostly noise (the reference set has 220 and 254).
WARN_PER_CLASS = 50
#: Below this many images of a source, the model sees too little of it to learn what it looks like.
WARN_PER_SOURCE = 10
#: Fewer images of a class than this and no classifier can be fitted and checked.
MIN_PER_CLASS = 2


def internal_folds(params: Mapping[str, Any]) -> int:
    """The folds a classifier cross-validates on inside ``fit`` (e.g. ``calibration_folds``), 0 if none."""
    folds = [v for k, v in params.items() if (k == "cv" or k.endswith("folds")) and isinstance(v, int)]
    return max((v for v in folds if not isinstance(v, bool)), default=0)


def check_training_set(labels: Any, sources: Sequence[str] | Any = None, *, folds: int = 0) -> tuple[str, ...]:
    """Warnings about a small training set; raises ``ValueError`` where fitting cannot work.

    Refused: a class with fewer than :data:`MIN_PER_CLASS` images, or fewer than the ``folds`` the
    classifier cross-validates on inside ``fit``. Warned: a class below :data:`WARN_PER_CLASS`, a named
    source below :data:`WARN_PER_SOURCE` (files without a ``source__`` prefix are not counted by source).
    """
    y = np.asarray(labels, dtype=np.int64).ravel()
    counts = {name: int((y == label).sum()) for label, name in enumerate(LABEL_NAMES)}
    need = max(MIN_PER_CLASS, folds)
    short = {name: n for name, n in counts.items() if n < need}
    if short:
        have = ", ".join(f"{n} {name}" for name, n in short.items())
        why = f"its fit cross-validates on {folds} folds" if folds > MIN_PER_CLASS else "fitting needs both classes"
        raise ValueError(
            f"too few images to fit: {have}; each class needs at least {need} ({why}). Add images to the "
            "real/ and animated/ folders" + (", or lower the folds with --param" if folds > MIN_PER_CLASS else "")
        )
    warnings = []
    small = {name: n for name, n in counts.items() if n < WARN_PER_CLASS}
    if small:
        have = ", ".join(f"{n} {name}" for name, n in small.items())
        warnings.append(
            f"only {have} images: below {WARN_PER_CLASS} per class a model is mostly noise; "
            "check it with `imgclass evaluate` on images it was not fitted on"
        )
    if sources is not None:
        per_source = Counter(str(s) for s in np.asarray(sources).ravel() if str(s) != UNKNOWN_SOURCE)
        thin = sorted((n, s) for s, n in per_source.items() if n < WARN_PER_SOURCE)
        if thin:
            listed = ", ".join(f"{s} {n}" for n, s in thin[:5]) + (", ..." if len(thin) > 5 else "")
            warnings.append(
                f"{len(thin)} of {len(per_source)} sources have fewer than {WARN_PER_SOURCE} images ({listed}): "
                "the model sees too little of them to learn what they look like"
            )
    return tuple(warnings)


def check_fitted_scores(scores: Any) -> None:
    """Refuse a fitted model whose P(animated) is the same for every training image: it learnt nothing."""
    s = np.asarray(scores, dtype=np.float64).ravel()
    if s.size and float(s.max() - s.min()) < 1e-9:
        raise ValueError(
            f"the fitted model gives every training image the same score ({float(s[0]):.2f}): it learnt "
            "nothing, usually because there are too few images for its parameters (e.g. combined's "
            "min_samples_leaf). Add images, or loosen the parameters with --param; no model file written"
        )
