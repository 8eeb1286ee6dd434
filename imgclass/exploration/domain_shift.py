"""Hand-made features, a pretrained embedding and their fusion, each scored on domains it never saw.

Leave-one-domain-out: each domain in turn is the test set, and the training set is every other image
whose content group does not appear in that domain (an image and its derived copy, say a greyscale
view, never sit on both sides). Features are computed once (the single decode of
:class:`~imgclass.classifiers.combined.CombinedClassifier` gives both blocks), so only the models are refitted per fold.

Variants: ``fast`` (hand-made features, calibrated gradient boosting), ``embedding`` (the network
block of ``combined`` alone: the 256 activations of the hidden layer of the MobileNetV2's head, a
class-balanced calibrated logistic regression), ``combined`` (both, the shipped fusion).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from sklearn.base import clone
from sklearn.metrics import balanced_accuracy_score

from imgclass.classifiers import make_classifier
from imgclass.classifiers.fast import FAST_FEATURES
from imgclass.classifiers.fusion import FusionModel
from imgclass.data import Dataset
from imgclass.exploration.cv import single_threaded

VARIANTS: Final = ("fast", "embedding", "combined")
_N_HAND: Final = len(FAST_FEATURES)


def domain_folds(
    domains: Sequence[str] | npt.NDArray[Any], groups: Sequence[str] | npt.NDArray[Any]
) -> list[tuple[str, npt.NDArray[np.bool_], npt.NDArray[np.bool_]]]:
    """``(domain, train mask, test mask)`` per domain, the test domain's content groups kept out of training."""
    domains, groups = np.asarray(domains), np.asarray(groups)
    if domains.shape != groups.shape:
        raise ValueError(f"got {domains.size} domains but {groups.size} groups")
    folds = []
    for domain in sorted(set(domains.tolist())):
        test = domains == domain
        train = ~test & ~np.isin(groups, np.unique(groups[test]))
        folds.append((str(domain), train, test))
    if len(folds) < 2:
        raise ValueError("leave-one-domain-out needs at least two domains")
    return folds


def variant_model(name: str) -> tuple[Any, slice]:
    """The unfitted model of variant ``name`` and the feature columns it reads."""
    if name == "fast":
        return make_classifier("fast").make_model(), slice(0, _N_HAND)
    if name == "embedding":
        return FusionModel(n_hand=0), slice(_N_HAND, None)
    if name == "combined":
        return make_classifier("combined").make_model(), slice(0, None)
    raise ValueError(f"unknown variant {name!r}; choose from {', '.join(VARIANTS)}")


def domain_score(labels: npt.NDArray[np.int64], probabilities: npt.NDArray[np.float64]) -> float:
    """Balanced accuracy where both classes are present, accuracy where only one is."""
    predicted = probabilities > 0.5
    if np.unique(labels).size == 2:
        return float(balanced_accuracy_score(labels, predicted))
    return float((predicted == labels.astype(bool)).mean())


@dataclass(frozen=True)
class DomainShift:
    """Out-of-domain probabilities of every variant, and the scores read from them."""

    names: tuple[str, ...]
    labels: npt.NDArray[np.int64]
    domains: npt.NDArray[np.str_]
    probabilities: dict[str, npt.NDArray[np.float64]]

    def overall(self, variant: str) -> float:
        """Balanced accuracy of the pooled out-of-domain predictions."""
        return domain_score(self.labels, self.probabilities[variant])

    def per_domain(self) -> dict[str, dict[str, float]]:
        """``{domain: {variant: score}}``."""
        return {
            str(d): {
                v: domain_score(self.labels[self.domains == d], p[self.domains == d])
                for v, p in self.probabilities.items()
            }
            for d in sorted(set(self.domains.tolist()))
        }

    def wrong(self, variant: str) -> npt.NDArray[np.intp]:
        """Indices of the images ``variant`` gets wrong, most confidently wrong first."""
        p = self.probabilities[variant]
        miss = np.flatnonzero((p > 0.5) != self.labels.astype(bool))
        return miss[np.argsort(-np.abs(p[miss] - 0.5))]

    def to_table(self) -> str:
        """A Markdown table: overall and per domain, one column per variant."""
        variants = list(self.probabilities)
        lines = [
            "| domain | n | " + " | ".join(variants) + " |",
            "|---|---:|" + "---:|" * len(variants),
            f"| overall | {self.labels.size} | " + " | ".join(f"{self.overall(v):.3f}" for v in variants) + " |",
        ]
        for domain, scores in self.per_domain().items():
            n = int((self.domains == domain).sum())
            lines.append(f"| {domain} | {n} | " + " | ".join(f"{scores[v]:.3f}" for v in variants) + " |")
        return "\n".join(lines)


def domain_shift(
    dataset: Dataset,
    *,
    features: npt.NDArray[np.float64] | None = None,
    variants: Sequence[str] = VARIANTS,
    progress: bool = False,
) -> DomainShift:
    """Leave-one-domain-out probabilities of each variant on ``dataset`` (features computed if not given)."""
    if features is None:
        features = make_classifier("combined").extract_features_timed(dataset.images, progress=progress)[0]
    labels = np.asarray(dataset.labels, dtype=np.int64)
    probabilities = {v: np.full(labels.size, np.nan) for v in variants}
    with single_threaded():
        for _, train, test in domain_folds(dataset.domains, dataset.groups):
            for variant in variants:
                model, columns = variant_model(variant)
                fitted = clone(model).fit(features[train][:, columns], labels[train])
                probabilities[variant][test] = fitted.predict_proba(features[test][:, columns])[:, 1]
    return DomainShift(tuple(dataset.names), labels, np.asarray(dataset.domains), probabilities)


__all__ = ["VARIANTS", "DomainShift", "domain_folds", "domain_score", "domain_shift", "variant_model"]
