"""The bilateral filter, looked at: before/after previews and accuracy against the level of blur.

The poster found that "the level of blur had a slight impact on accuracy, but if the blur level crosses
a certain threshold then it negatively affects the accuracy". :func:`blur_sweep` tests that by moving
one knob of ``cv2.bilateralFilter`` at a time (the diameter, or both sigmas together) and scoring the
fitted threshold of the ``bilateral`` classifier under cross-validation at each level.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

from imgclass.classifiers import make_classifier
from imgclass.data import Dataset
from imgclass.decode import BGRImage, decode_image
from imgclass.exploration.cv import CVAccuracy, cv_accuracy, single_threaded
from imgclass.feature_cache import cached_features

Axis = Literal["diameter", "sigma"]

#: Default levels of each sweep. OpenCV's smallest neighbourhood is 3 pixels wide (``d=1`` acts as
#: ``d=3``) and an even ``d`` acts as the next odd one; diameters above 15 cost seconds per 512x512 image.
DIAMETERS: tuple[int, ...] = (3, 5, 9, 13)
SIGMAS: tuple[float, ...] = (5.0, 10.0, 25.0, 75.0, 150.0, 300.0)


@dataclass(frozen=True)
class BlurSettings:
    """``cv2.bilateralFilter``'s ``d``, ``sigmaColor`` and ``sigmaSpace``."""

    diameter: int = 9
    sigma_color: float = 75.0
    sigma_space: float = 75.0

    def params(self) -> dict[str, float]:
        return {"diameter": self.diameter, "sigma_color": self.sigma_color, "sigma_space": self.sigma_space}


def blurred(image: BGRImage, settings: BlurSettings = BlurSettings()) -> BGRImage:
    """The image after the classifier's bilateral filter."""
    if settings.diameter < 1:
        raise ValueError(f"diameter must be >= 1, got {settings.diameter}")
    out: BGRImage = cv2.bilateralFilter(image, settings.diameter, settings.sigma_color, settings.sigma_space)
    return out


def preview(data: bytes, settings: BlurSettings = BlurSettings()) -> tuple[BGRImage, BGRImage]:
    """``(before, after)`` of one encoded image, as in the poster's preview."""
    image = decode_image(data)
    return image, blurred(image, settings)


def bilateral_scores(
    dataset: Dataset, settings: BlurSettings = BlurSettings(), *, progress: bool = False
) -> npt.NDArray[np.float64]:
    """The ``bilateral`` classifier's histogram distance for every image (cached per settings)."""
    return cached_features(dataset, "bilateral", progress=progress, **settings.params()).column


@dataclass(frozen=True)
class BlurSweep:
    """Cross-validated accuracy of the fitted bilateral threshold at each level of one knob."""

    axis: str
    levels: tuple[float, ...]
    settings: tuple[BlurSettings, ...]
    scores: tuple[CVAccuracy, ...]

    def accuracy(self) -> npt.NDArray[np.float64]:
        return np.array([s.accuracy for s in self.scores])

    def best(self) -> tuple[float, CVAccuracy]:
        """The level with the highest accuracy (the first on ties) and its score."""
        i = int(np.argmax(self.accuracy()))
        return self.levels[i], self.scores[i]

    def to_table(self) -> str:
        head = f"{self.axis:>10}{'CV acc':>8}{'bal.acc':>9}{'95% CI':>15}"
        lines = [head, "-" * len(head)]
        for level, s in zip(self.levels, self.scores, strict=True):
            ci = f"[{s.ci95[0]:.2f}, {s.ci95[1]:.2f}]"
            lines.append(f"{level:>10g}{s.accuracy:>8.3f}{s.balanced_accuracy:>9.3f}{ci:>15}")
        return "\n".join(lines)


def sweep_settings(
    axis: Axis, levels: Sequence[float], base: BlurSettings = BlurSettings()
) -> tuple[BlurSettings, ...]:
    """The filter settings of each level: ``diameter`` moves ``d``; ``sigma`` moves both sigmas together."""
    if axis == "diameter":
        return tuple(replace(base, diameter=int(v)) for v in levels)
    if axis == "sigma":
        return tuple(replace(base, sigma_color=float(v), sigma_space=float(v)) for v in levels)
    raise ValueError(f"axis must be 'diameter' or 'sigma', got {axis!r}")


def blur_sweep(
    dataset: Dataset,
    axis: Axis = "sigma",
    levels: Sequence[float] | None = None,
    *,
    base: BlurSettings = BlurSettings(),
    folds: int = 5,
    seed: int = 0,
    progress: bool = False,
) -> BlurSweep:
    """Accuracy of the ``bilateral`` classifier at each blur level, every level on the same folds."""
    if levels is None:
        levels = DIAMETERS if axis == "diameter" else SIGMAS
    settings = sweep_settings(axis, levels, base)
    model = make_classifier("bilateral").make_model()
    with single_threaded():
        scores = tuple(
            cv_accuracy(model, bilateral_scores(dataset, s, progress=progress), dataset.labels, folds=folds, seed=seed)
            for s in settings
        )
    return BlurSweep(axis, tuple(float(v) for v in levels), settings, scores)
