"""Score classifiers honestly: cross-validation, held-out sets, Wilson intervals, per-source and per-domain tables.

One scorer (:func:`cross_validate`, and :func:`reproduce`/:func:`evaluate` built on it) serves the CLI, the
exploration helpers and the notebooks. Features are computed once per classifier and data set
(:mod:`imgclass.feature_cache`: they depend only on the parameters), then only the learned part is
cross-validated, so every protocol of a classifier costs one feature pass. Every result is a frozen
dataclass with a ``to_dict`` that gives the JSON form of ``imgclass reproduce/evaluate``.

Three protocols (``cv``): stratified k-fold, where every source is in every training set;
leave-one-source-out (``source``; ``group`` is its old name), where the images of one source are never
seen in training: the honest figure for images from somewhere new; and leave-one-domain-out
(``domain``), where a whole kind of image (a manifest's ``domain``; without a manifest the source) is
held out. A held-out source is often a single class, so those folds are scored by pooling their
predictions. Under every protocol an image's content group (:attr:`imgclass.data.Record.group`: crops
and re-encodings of one picture) is never on both sides of a split. The ``robustness`` rows re-encode the
test images (:mod:`imgclass.robustness`) and report the change in balanced accuracy: a drop is negative.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from sklearn.base import clone
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score
from sklearn.model_selection import LeaveOneGroupOut, StratifiedGroupKFold, StratifiedKFold

from imgclass.classifiers import POSTER_CLASSIFIERS, ImageClassifier, make_classifier
from imgclass.data import Dataset
from imgclass.feature_cache import FeatureTable, cached_features
from imgclass.labels import LABEL_NAMES
from imgclass.progress import progress as progress_bar
from imgclass.ready import ReadyClassifier, ready_many
from imgclass.robustness import TRANSFORMS, expand_transforms, reencode_all

logger = logging.getLogger(__name__)

#: The poster's metrics table (83 images of equal resolution).
POSTER_FIGURES: dict[str, float] = {
    "byte-length": 0.53,
    "byte-onehot": 0.58,
    "bilateral": 0.69,
    "colour-count": 0.77,
}

#: ``group`` is accepted as the old name of ``source``.
CVScheme = Literal["stratified", "source", "domain", "group"]
CV_SCHEMES: tuple[str, ...] = ("stratified", "source", "domain")
CV_ALIASES: dict[str, str] = {"group": "source"}
#: The text tables fit a terminal this wide.
TABLE_WIDTH = 100
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
StrArray = npt.NDArray[np.str_]
Split = tuple[IntArray, IntArray]


def wilson_interval(successes: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (95% by default)."""
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be in [0, {n}], got {successes}")
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class SourceScore:
    """How one source fared: its class ("real", "animated" or "mixed"), size and accuracy."""

    source: str
    label: str
    n: int
    accuracy: float
    ci95: tuple[float, float]


@dataclass(frozen=True)
class DomainScore:
    """How one domain (a kind of image, e.g. ``bw_drawing``) fared: its class, size and accuracy."""

    domain: str
    label: str
    n: int
    accuracy: float
    ci95: tuple[float, float]


@dataclass(frozen=True)
class ClassifierScore:
    """One row of the metrics table."""

    name: str
    protocol: str
    accuracy: float
    balanced_accuracy: float
    f1: float
    ci95: tuple[float, float]
    n: int
    ms_per_image: float
    poster: float | None = None
    per_source: tuple[SourceScore, ...] = ()
    per_domain: tuple[DomainScore, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RobustnessScore:
    """One classifier on re-encoded test images: its balanced accuracy, and the change from the clean images.

    ``change`` is ``balanced_accuracy - clean_balanced_accuracy``: a drop is negative (-0.148 is a drop of
    14.8 points), as in the tables. ``per_domain`` is the accuracy per domain on the re-encoded images;
    the clean figure of each is in the classifier's main row.
    """

    name: str
    transform: str
    protocol: str
    balanced_accuracy: float
    clean_balanced_accuracy: float
    change: float
    accuracy: float
    n: int
    per_domain: tuple[DomainScore, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Report:
    """The metrics table of one ``reproduce`` or ``evaluate`` run.

    ``classifiers`` is the main table; ``cv`` holds the cross-validated rows under every protocol the
    data supports (for ``evaluate`` on the training set); ``robustness`` the re-encoding rows.
    """

    command: str
    data: str
    classifiers: tuple[ClassifierScore, ...]
    train: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    cv: tuple[ClassifierScore, ...] = ()
    robustness: tuple[RobustnessScore, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "data": self.data,
            "train": self.train,
            "settings": dict(self.settings),
            "classifiers": [c.to_dict() for c in self.classifiers],
            "cv": [c.to_dict() for c in self.cv],
            "robustness": [r.to_dict() for r in self.robustness],
        }

    def to_table(self) -> str:
        """The table as fixed-width text, the poster's figure beside each row."""
        figures = f"{'acc':>6}{'bal.acc':>8}{'F1':>6}{'95% CI':>15}{'n':>6}{'ms/img':>8}{'poster':>8}"
        width = _name_width([c.name for c in self.classifiers], TABLE_WIDTH - len(figures) - _PROTOCOL)
        lines = [_head("classifier", width, f"{'protocol':<{_PROTOCOL}}{figures}")]
        for c in self.classifiers:
            poster = f"{c.poster:.2f}" if c.poster is not None else "-"
            ci = f"[{c.ci95[0]:.2f}, {c.ci95[1]:.2f}]"
            lines += _named_row(
                c.name,
                width,
                f"{c.protocol:<{_PROTOCOL}}{c.accuracy:>6.3f}{c.balanced_accuracy:>8.3f}{c.f1:>6.3f}"
                f"{ci:>15}{c.n:>6}{c.ms_per_image:>8.2f}{poster:>8}",
            )
        return "\n".join(lines)

    def cv_table(self) -> str:
        """Every cross-validated protocol, one row each, with the worst source under each."""
        if not self.cv:
            return ""
        figures = f"{'acc':>6}{'bal.acc':>8}{'F1':>6}{'n':>6}  worst source"
        width = _name_width([c.name for c in self.cv], 24)
        room = TABLE_WIDTH - width - _PROTOCOL - len(figures) + len("worst source") - len(" 0.000")
        lines = [_head("classifier", width, f"{'protocol':<{_PROTOCOL}}{figures}")]
        for c in self.cv:
            worst = min(c.per_source, key=lambda s: s.accuracy) if c.per_source else None
            worst_text = f"{_shortened(worst.source, room)} {worst.accuracy:.3f}" if worst else "-"
            lines += _named_row(
                c.name,
                width,
                f"{c.protocol:<{_PROTOCOL}}{c.accuracy:>6.3f}{c.balanced_accuracy:>8.3f}{c.f1:>6.3f}{c.n:>6}"
                f"  {worst_text}",
            )
        return "\n".join(lines)

    def per_source_table(self) -> str:
        """Accuracy per source (rows) and classifier (columns)."""
        return _subset_table("source", self.classifiers, lambda c: c.name, "per_source")

    def per_domain_table(self) -> str:
        """Accuracy per domain (rows) and classifier (columns)."""
        return _subset_table("domain", self.classifiers, lambda c: c.name, "per_domain")

    def cv_per_source_table(self) -> str:
        """Accuracy per source (rows) under every cross-validated row (columns: classifier/protocol)."""
        return _subset_table("source", self.cv, lambda c: f"{c.name}/{c.protocol}", "per_source")

    def cv_per_domain_table(self) -> str:
        """Accuracy per domain (rows) under every cross-validated row (columns: classifier/protocol)."""
        return _subset_table("domain", self.cv, lambda c: f"{c.name}/{c.protocol}", "per_domain")

    def domains_are_sources(self) -> bool:
        """True when every row's domains are its sources (then the per-domain tables repeat per-source)."""
        return all(
            [d.domain for d in c.per_domain] == [s.source for s in c.per_source] for c in (*self.classifiers, *self.cv)
        )

    def robustness_table(self) -> str:
        """Balanced accuracy on clean images, and under each re-encoding with its change in points."""
        if not self.robustness:
            return ""
        transforms = list(dict.fromkeys(r.transform for r in self.robustness))
        names = list(dict.fromkeys(r.name for r in self.robustness))
        by_key = {(r.name, r.transform): r for r in self.robustness}
        heads, cells = [], []
        for name in names:
            first = next(r for r in self.robustness if r.name == name)
            heads.append((name, f"{first.clean_balanced_accuracy:>7.3f}"))
            row = []
            for t in transforms:
                r = by_key.get((name, t))
                row.append(f"{r.balanced_accuracy:.3f} ({100 * r.change:+.1f})" if r else "-")
            cells.append(row)
        lines = [ROBUSTNESS_NOTE]
        lines += _grid("classifier", f"{'clean':>7}", heads, transforms, cells, cell_width=15)
        return "\n".join(lines)

    def robustness_per_domain_table(self) -> str:
        """Per classifier, each domain's clean accuracy and its change in points under each re-encoding."""
        blocks = []
        mains = {c.name: c for c in self.classifiers}
        for name in dict.fromkeys(r.name for r in self.robustness):
            rows = [r for r in self.robustness if r.name == name and r.per_domain]
            main = mains.get(name)
            if not rows or main is None or not main.per_domain:
                continue
            clean = {d.domain: d for d in main.per_domain}
            by_transform = [{d.domain: d for d in r.per_domain} for r in rows]
            heads = [(d, f"{clean[d].accuracy:>7.3f}") for d in clean]
            cells = [
                [f"{100 * (t[d].accuracy - clean[d].accuracy):+.1f}" if d in t else "-" for t in by_transform]
                for d, _ in heads
            ]
            blocks.append(f"{name}: accuracy per domain, change in points from clean (a drop is negative)")
            blocks += _grid("domain", f"{'clean':>7}", heads, [r.transform for r in rows], cells, cell_width=9)
            blocks.append("")
        return "\n".join(blocks).rstrip()


#: The robustness table's header line: what the numbers are, and the sign convention.
ROBUSTNESS_NOTE = "balanced accuracy, and its change in points from clean (a drop is negative)"
_PROTOCOL = 12


def _name_width(names: Sequence[str], room: int) -> int:
    """A name column as wide as the longest name plus a gap, within ``[12, room]``."""
    return max(12, min(max((len(n) for n in names), default=0) + 2, room))


def _shortened(text: str, room: int) -> str:
    """``text``, cut in the middle with "~" when longer than ``room``."""
    if len(text) <= room:
        return text
    keep = max(room - 1, 2)
    return f"{text[: keep - keep // 2]}~{text[len(text) - keep // 2 :]}"


def _head(title: str, width: int, rest: str) -> str:
    head = f"{title:<{width}}{rest}"
    return f"{head}\n{'-' * len(head)}"


def _named_row(name: str, width: int, rest: str) -> list[str]:
    """One row; a name too long for its column gets a line of its own, so it never runs into the figures."""
    if len(name) < width:
        return [f"{name:<{width}}{rest}"]
    return [name, f"{'':<{width}}{rest}"]


def _grid(
    title: str,
    fixed_head: str,
    heads: Sequence[tuple[str, str]],
    titles: Sequence[str],
    cells: Sequence[Sequence[str]],
    *,
    cell_width: int,
) -> list[str]:
    """Rows (a name and fixed text) by columns, within :data:`TABLE_WIDTH`.

    ``cell_width`` is the narrowest cell; cells grow to fit every title when all columns still fit on one
    line. Columns that do not fit go into further blocks below; a column title longer than its cell is
    shown as ``[k]`` and spelt out in a legend, so titles never run together.
    """
    names = [h[0] for h in heads]
    # Cells wide enough for every title when all of them still fit on one line beside the names.
    wide = max((len(t) for t in titles), default=0) + 2
    longest_name = max((len(n) for n in names), default=0) + 2
    if wide > cell_width and max(12, longest_name) + len(fixed_head) + wide * len(titles) <= TABLE_WIDTH:
        cell_width = wide
    # All columns in one block if the name column can stay at least 12 wide; else blocks, names up to 30.
    room = TABLE_WIDTH - len(fixed_head) - cell_width * len(titles)
    width = _name_width(names, room if room >= 12 else 30)
    per_block = max(1, (TABLE_WIDTH - width - len(fixed_head)) // cell_width)
    keys = [f"[{k + 1}]" if len(t) >= cell_width else t for k, t in enumerate(titles)]
    long_titles = keys != list(titles)
    lines: list[str] = []
    for start in range(0, max(len(titles), 1), per_block):
        block = range(start, min(start + per_block, len(titles)))
        if lines:
            lines.append("")
        lines.append(_head(title, width, fixed_head + "".join(f"{keys[j]:>{cell_width}}" for j in block)))
        for (name, fixed), row in zip(heads, cells, strict=True):
            lines += _named_row(name, width, fixed + "".join(f"{row[j]:>{cell_width}}" for j in block))
    if long_titles:
        lines += [""] + [f"{key} {t}" for key, t in zip(keys, titles, strict=True) if key != t]
    return lines


def _subset_table(kind: str, rows: Sequence[ClassifierScore], column: Any, attribute: str) -> str:
    """Accuracy per source or domain (rows) of several scores (columns)."""
    scored = [c for c in rows if getattr(c, attribute)]
    if not scored:
        return ""
    first: tuple[Any, ...] = getattr(scored[0], attribute)
    heads = [(getattr(s, kind), f"{s.label:<10}{s.n:>5}") for s in first]
    index = [{getattr(s, kind): s for s in getattr(c, attribute)} for c in scored]
    cells = [
        [f"{index[j][key].accuracy:.3f}" if key in index[j] else "-" for j in range(len(scored))] for key, _ in heads
    ]
    return "\n".join(_grid(kind, f"{'class':<10}{'n':>5}", heads, [column(c) for c in scored], cells, cell_width=14))


# ---------------------------------------------------------------------------------------------------- scoring


def score_predictions(
    name: str,
    protocol: str,
    y_true: IntArray,
    y_pred: IntArray,
    sources: StrArray,
    ms_per_image: float,
    *,
    domains: StrArray | None = None,
) -> ClassifierScore:
    """Accuracy, balanced accuracy, F1 (animated positive), Wilson interval, per-source and per-domain rows.

    ``domains=None`` takes the sources as the domains.
    """
    n = int(y_true.size)
    correct = int((y_true == y_pred).sum())
    by_domain = _subset_rows(y_true, y_pred, sources if domains is None else domains)
    return ClassifierScore(
        name=name,
        protocol=protocol,
        accuracy=float(accuracy_score(y_true, y_pred)),
        balanced_accuracy=float(balanced_accuracy_score(y_true, y_pred)),
        f1=float(f1_score(y_true, y_pred, pos_label=1, zero_division=0.0)),
        ci95=wilson_interval(correct, n),
        n=n,
        ms_per_image=ms_per_image,
        poster=POSTER_FIGURES.get(name),
        per_source=per_source_scores(y_true, y_pred, sources),
        per_domain=tuple(DomainScore(*row) for row in by_domain),
    )


def per_source_scores(y_true: IntArray, y_pred: IntArray, sources: StrArray) -> tuple[SourceScore, ...]:
    """Accuracy and its Wilson interval for each source in ``sources``, one row per source."""
    return tuple(SourceScore(*row) for row in _subset_rows(y_true, y_pred, sources))


def _subset_rows(
    y_true: IntArray, y_pred: IntArray, keys: StrArray
) -> list[tuple[str, str, int, float, tuple[float, float]]]:
    rows = []
    for key in sorted(set(keys.tolist())):
        mask = keys == key
        labels = set(y_true[mask].tolist())
        label = LABEL_NAMES[labels.pop()] if len(labels) == 1 else "mixed"
        n = int(mask.sum())
        correct = int((y_true[mask] == y_pred[mask]).sum())
        rows.append((key, label, n, correct / n, wilson_interval(correct, n)))
    return rows


def check_cv(cv: str) -> str:
    """The protocol's canonical name (``group`` -> ``source``); ``ValueError`` for anything else."""
    canonical = CV_ALIASES.get(cv, cv)
    if canonical not in CV_SCHEMES:
        raise ValueError(f"cv must be one of {', '.join(CV_SCHEMES)} (or group, the old name of source), got {cv!r}")
    return canonical


def make_splitter(cv: str, folds: int, seed: int) -> Any:
    """Stratified k-fold, or leave-one-group-out for ``source``/``domain`` (groups passed to ``split``)."""
    if check_cv(cv) == "stratified":
        return StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return LeaveOneGroupOut()


def protocol_name(cv: str, folds: int) -> str:
    """The name a report gives protocol ``cv``: ``5-fold`` (for ``folds=5``), ``by-source`` or ``by-domain``."""
    return {"stratified": f"{folds}-fold", "source": "by-source", "domain": "by-domain"}[check_cv(cv)]


def cv_splits(dataset: Dataset, *, cv: str = "stratified", folds: int = 5, seed: int = 0) -> list[Split]:
    """The ``(train, test)`` index pairs of one protocol.

    No content group is ever on both sides: stratified folds keep groups whole (``StratifiedGroupKFold``
    when some group has several images), and a leave-one-source/domain-out training set drops the
    images whose group is held out. Every training set is checked to hold both classes.
    """
    cv = check_cv(cv)
    y, groups = dataset.labels, dataset.groups
    x = np.zeros(y.size)
    if cv == "stratified":
        grouped = np.unique(groups).size < groups.size
        splitter = StratifiedGroupKFold if grouped else StratifiedKFold
        raw = splitter(n_splits=folds, shuffle=True, random_state=seed).split(x, y, groups if grouped else None)
        held = dataset.sources
    else:
        held = dataset.sources if cv == "source" else dataset.domains
        if np.unique(held).size < 2:
            hint = " (filenames source__name.ext)" if cv == "source" else " (a manifest's domain column)"
            raise ValueError(f"leave-one-{cv}-out needs at least two {cv}s{hint}")
        raw = LeaveOneGroupOut().split(x, y, held)
    splits = []
    for train, test in raw:
        train = np.asarray(train)[~np.isin(groups[train], groups[test])]
        if np.unique(y[train]).size < 2:
            names = ", ".join(sorted(set(held[test].tolist())))
            raise ValueError(f"holding out {names} leaves a training set with one class only")
        splits.append((np.asarray(train, dtype=np.int64), np.asarray(test, dtype=np.int64)))
    return splits


def _learns(classifier: ImageClassifier) -> bool:
    return bool(classifier.__sklearn_tags__().requires_fit)


def fit_folds(classifier: ImageClassifier, features: FloatArray, y: IntArray, splits: Sequence[Split]) -> list[Any]:
    """One fresh ``make_model()`` fitted on each training part (none for a fixed rule)."""
    if not _learns(classifier):
        return []
    return [clone(classifier.make_model()).fit(features[train], y[train]) for train, _ in splits]


def predict_folds(
    classifier: ImageClassifier, fold_models: Sequence[Any], splits: Sequence[Split], features: FloatArray
) -> IntArray:
    """Out-of-fold predictions of the fold models on ``features``; a fixed rule predicts every row."""
    if not _learns(classifier):
        return classifier.predict_features(features)
    predicted = np.empty(features.shape[0], dtype=np.int64)
    for model, (_, test) in zip(fold_models, splits, strict=True):
        predicted[test] = model.predict(features[test])
    return predicted


def _median_ms(feature_ms: FloatArray, model: Any, features: FloatArray) -> float:
    """Median per-image feature time plus the model's per-image share of one batch prediction."""
    start = time.perf_counter()
    model.predict(features)
    model_ms = (time.perf_counter() - start) * 1e3 / max(len(features), 1)
    return float(np.median(feature_ms) + model_ms)


@dataclass
class _Scored:
    """One classifier's main row and what its robustness rows reuse (the splits and fold models)."""

    name: str
    classifier: ImageClassifier
    main: ClassifierScore
    splits: list[Split]
    fold_models: list[Any]


def out_of_fold(
    classifier: ImageClassifier, features: FloatArray, dataset: Dataset, *, cv: str, folds: int, seed: int
) -> tuple[IntArray, list[Split], list[Any]]:
    """Out-of-fold predictions on ``features`` (rows of ``dataset``), with the splits and fold models.

    A fixed rule is applied as it is (no splits, no fold models).
    """
    if not _learns(classifier):
        return classifier.predict_features(features), [], []
    splits = cv_splits(dataset, cv=cv, folds=folds, seed=seed)
    fold_models = fit_folds(classifier, features, dataset.labels, splits)
    return predict_folds(classifier, fold_models, splits, features), splits, fold_models


def _cross_validated(
    classifier: ImageClassifier, name: str, dataset: Dataset, table: FeatureTable, *, cv: str, folds: int, seed: int
) -> _Scored:
    """The one scorer: out-of-fold predictions of a learned classifier, or a fixed rule applied as it is."""
    y_pred, splits, fold_models = out_of_fold(classifier, table.features, dataset, cv=cv, folds=folds, seed=seed)
    protocol = protocol_name(cv, folds) if fold_models else "fixed rule"
    # The model's share of the time: one fold model's batch prediction (all fold models are alike).
    ms = _median_ms(table.ms, fold_models[0] if fold_models else classifier.fitted_model(), table.features)
    main = score_predictions(name, protocol, dataset.labels, y_pred, dataset.sources, ms, domains=dataset.domains)
    return _Scored(name, classifier, main, splits, fold_models)


def cross_validate(
    classifier: str | ImageClassifier,
    dataset: Dataset,
    *,
    name: str | None = None,
    cv: CVScheme = "stratified",
    folds: int = 5,
    seed: int = 0,
    progress: bool = False,
) -> ClassifierScore:
    """One row: ``classifier`` (a registry name or an estimator) cross-validated on ``dataset``, or applied
    as it is when it is a fixed rule. Features come from :func:`imgclass.feature_cache.cached_features`."""
    estimator = make_classifier(classifier) if isinstance(classifier, str) else classifier
    label = name or (classifier if isinstance(classifier, str) else type(classifier).__name__)
    table = cached_features(dataset, estimator, progress=progress)
    return _cross_validated(estimator, label, dataset, table, cv=cv, folds=folds, seed=seed).main


def _cv_rows(
    classifier: ImageClassifier,
    name: str,
    dataset: Dataset,
    table: FeatureTable,
    *,
    folds: int,
    seed: int,
    notes: list[str],
    known: ClassifierScore | None = None,
    schemes: Sequence[str] = CV_SCHEMES,
) -> list[ClassifierScore]:
    """Rows under every protocol (one row for a fixed rule); a protocol the data cannot support is noted.

    ``known`` is a row already scored under one of the protocols, reused rather than recomputed. The
    domain protocol is left out where domains are the sources (it would repeat the by-source row).
    ``schemes`` are the protocols to try.
    """
    if not _learns(classifier):
        return [
            known or _cross_validated(classifier, name, dataset, table, cv="stratified", folds=folds, seed=seed).main
        ]
    same_partition = _same_partition(dataset.domains, dataset.sources)
    rows = []
    for scheme in schemes:
        if known is not None and known.protocol == protocol_name(scheme, folds):
            rows.append(known)
            continue
        if scheme == "domain" and same_partition:
            continue
        try:
            rows.append(_cross_validated(classifier, name, dataset, table, cv=scheme, folds=folds, seed=seed).main)
        except ValueError as exc:
            notes.append(f"{name}: no {scheme} cross-validation: {exc}")
            logger.warning("%s: no %s cross-validation: %s", name, scheme, exc)
    return rows


def _same_partition(a: StrArray, b: StrArray) -> bool:
    """True when ``a`` and ``b`` split the images the same way (whatever the names)."""
    pairs = set(zip(a.tolist(), b.tolist(), strict=True))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def _robustness_rows(
    scored: Sequence[_Scored], test: Dataset, transforms: Sequence[str], *, held_out: bool, progress: bool
) -> list[RobustnessScore]:
    """Re-encode the test images once per transform, then score every classifier on them."""
    rows = []
    y = test.labels
    for transform in progress_bar(transforms, enabled=progress, desc="robustness", unit="transform", leave=False):
        images = reencode_all(test.images, transform, progress=progress)
        for item in scored:
            features = item.classifier.extract_features(images)
            if held_out:
                y_pred = item.classifier.predict_features(features)
            else:
                y_pred = predict_folds(item.classifier, item.fold_models, item.splits, features)
            balanced = float(balanced_accuracy_score(y, y_pred))
            clean = item.main.balanced_accuracy
            by_domain = _subset_rows(y, y_pred, test.domains)
            rows.append(
                RobustnessScore(
                    name=item.name,
                    transform=transform,
                    protocol=item.main.protocol,
                    balanced_accuracy=balanced,
                    clean_balanced_accuracy=clean,
                    change=balanced - clean,
                    accuracy=float(accuracy_score(y, y_pred)),
                    n=int(y.size),
                    per_domain=tuple(DomainScore(*row) for row in by_domain),
                )
            )
    return rows


Models = Mapping[str, ImageClassifier] | Sequence[Any]


def _named(names: Sequence[str], models: Models | None) -> list[tuple[str, ImageClassifier, bool]]:
    """``(row name, classifier, pre-fitted)`` for every registry name and every model.

    ``models`` maps row names to fitted classifiers, or lists what :func:`imgclass.ready.ready` accepts
    (model files, ready classifiers); a model file's row is named ``classifier:file.json``.
    """
    out: list[tuple[str, ImageClassifier, bool]] = [(name, make_classifier(name), False) for name in names]
    if isinstance(models, Mapping):
        out += [(label, model, True) for label, model in models.items()]
    elif models is not None:
        out += [(_row_name(r), r.estimator, True) for r in ready_many(models)]
    if not out:
        raise ValueError("nothing to score: give at least one classifier name or model")
    for label, classifier, _ in out:
        if not isinstance(classifier, ImageClassifier):
            raise ValueError(f"{label} cannot be scored: it is not an imgclass classifier on features")
    return out


def _row_name(classifier: ReadyClassifier) -> str:
    from imgclass.models import classifier_name

    if classifier.spec and Path(classifier.spec).is_file():
        return f"{classifier_name(classifier.estimator)}:{classifier.name}"
    return classifier.name


def reproduce(
    dataset: Dataset,
    names: Sequence[str] = POSTER_CLASSIFIERS,
    *,
    cv: CVScheme = "stratified",
    folds: int = 5,
    seed: int = 0,
    progress: bool = False,
    models: Models | None = None,
    cv_rows: bool = True,
    robustness: Sequence[str] = (),
) -> Report:
    """The poster's metrics table on ``dataset``, cross-validated with protocol ``cv``.

    ``models`` (model files, ready classifiers, or row name -> fitted classifier) are cross-validated with
    their own parameters, refitted in every fold: scoring a model on the images it was fitted on would
    measure nothing. ``cv_rows`` adds the rows of every protocol; ``robustness`` names the re-encodings
    (:data:`imgclass.robustness.TRANSFORMS`, ``SCREENSHOT_PARTS``, ``STRESS``, or a group name such as
    ``"stress"``) to score, with training folds clean and test folds re-encoded.
    """
    cv = check_cv(cv)  # type: ignore[assignment]
    transforms = expand_transforms(robustness)
    notes: list[str] = []
    scored: list[_Scored] = []
    cv_scores: list[ClassifierScore] = []
    for name, classifier, _ in _named(names, models):
        table = cached_features(dataset, classifier, progress=progress)
        # The fold models are kept: the robustness rows score the same models on re-encoded images.
        item = _cross_validated(classifier, name, dataset, table, cv=cv, folds=folds, seed=seed)
        scored.append(item)
        if cv_rows:
            cv_scores += _cv_rows(
                classifier, name, dataset, table, folds=folds, seed=seed, notes=notes, known=item.main
            )
    rows = _robustness_rows(scored, dataset, transforms, held_out=False, progress=progress)
    settings: dict[str, Any] = {"cv": cv, "folds": folds, "seed": seed, "transforms": list(transforms)}
    if notes:
        settings["notes"] = notes
    return Report(
        "reproduce",
        str(dataset.root),
        tuple(s.main for s in scored),
        settings=settings,
        cv=tuple(cv_scores),
        robustness=tuple(rows),
    )


def evaluate(
    train: Dataset,
    test: Dataset,
    names: Sequence[str] = POSTER_CLASSIFIERS,
    *,
    progress: bool = False,
    models: Models | None = None,
    cv_rows: bool = True,
    robustness: Sequence[str] = tuple(TRANSFORMS),
    folds: int = 5,
    seed: int = 0,
    protocols: Sequence[str] | None = None,
) -> Report:
    """Fit each classifier on ``train`` and score it on the separate ``test`` set, per source and domain too.

    ``models`` (model files, ready classifiers, or row name -> fitted classifier) are scored as they are,
    without refitting. ``cv_rows`` adds cross-validated rows on the training set under ``protocols``
    (default: every protocol the data supports), a model's parameters refitted per fold; ``robustness``
    re-encodes the test images and scores the same fitted classifiers on them.
    """
    transforms = expand_transforms(robustness)
    schemes = CV_SCHEMES if protocols is None else tuple(dict.fromkeys(check_cv(p) for p in protocols))
    notes: list[str] = []
    scored: list[_Scored] = []
    cv_scores: list[ClassifierScore] = []
    for name, classifier, prefitted in _named(names, models):
        train_table = None
        if cv_rows or (not prefitted and _learns(classifier)):
            train_table = cached_features(train, classifier, progress=progress)
        if not prefitted and _learns(classifier) and train_table is not None:
            classifier.fit_features(np.array(train_table.features), train.labels)
        test_table = cached_features(test, classifier, progress=progress)
        y_pred = classifier.predict_features(test_table.features)
        ms = _median_ms(test_table.ms, classifier.fitted_model(), test_table.features)
        main = score_predictions(name, "held-out", test.labels, y_pred, test.sources, ms, domains=test.domains)
        scored.append(_Scored(name, classifier, main, [], []))
        if cv_rows and train_table is not None:
            cv_scores += _cv_rows(
                classifier, name, train, train_table, folds=folds, seed=seed, notes=notes, schemes=schemes
            )
    rows = _robustness_rows(scored, test, transforms, held_out=True, progress=progress)
    settings: dict[str, Any] = {"folds": folds, "seed": seed, "transforms": list(transforms)}
    if notes:
        settings["notes"] = notes
    return Report(
        "evaluate",
        str(test.root),
        tuple(s.main for s in scored),
        train=str(train.root),
        settings=settings,
        cv=tuple(cv_scores),
        robustness=tuple(rows),
    )
