"""Leave-one-domain-out over frozen, fine-tuned and fused variants, with a nested decision rule.

The held-out domain is never seen by anything that is fitted or chosen: the network's top is retrained
without it (on cached activations, :mod:`imgclass.finetune.activations`), the hand-made models are refitted
without it, and every choice (the hand-made block's weight in :class:`FusionModel`, the network's weight
and the threshold of :class:`~imgclass.classifiers.late_fusion.LateFusion`) is made inside the training
domains: they are split in two halves by whole domains (:func:`~imgclass.classifiers.late_fusion.domain_halves`),
each half's models score the other half, and the choice that scores best there is the one the outer
model uses on the held-out domain. That costs two more trainings of each network per fold, each on half
the data.

Variants (``VARIANT`` names in the report):

* ``fast``, ``combined@10``: today's models (``combined@10`` is the shipped fusion with the hand-made
  weight of 10 that was set by hand);
* ``combined``: the same fusion, its hand-made weight chosen by the nested rule from :data:`HAND_WEIGHTS`;
* ``BASE:DEPTH``: a network alone, the log-odds of its top (``probe``: frozen network and a fitted linear
  unit; ``conv``/``block``: top trained), called animated above 0 (no choice made);
* ``mix:BASE:DEPTH``: :class:`LateFusion` of that network with ``combined``, network weight and threshold
  chosen by the nested rule.

Test images are also scored under stress transforms (:mod:`imgclass.robustness`) where rows for them are
cached (``stress_rows``: a fixed, seeded subset per domain, to keep the cost affordable).
"""

from __future__ import annotations

import csv
import logging
import multiprocessing
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import onnx
from sklearn.base import clone

from imgclass.classifiers import make_classifier
from imgclass.classifiers.balance import log_odds
from imgclass.classifiers.fusion import FusionModel
from imgclass.classifiers.late_fusion import Mix, balanced_accuracy, choose_mix, domain_halves
from imgclass.exploration.domain_shift import domain_folds
from imgclass.finetune.activations import ActivationCache
from imgclass.finetune.bases import BASES
from imgclass.finetune.train import (
    Top,
    TopConfig,
    fit_top,
    load_top,
    predict_logits,
    save_top,
    set_threads,
    top_features,
)

logger = logging.getLogger(__name__)

#: Hand-made block weights the nested rule chooses from (the shipped 10 among them).
HAND_WEIGHTS: Final = (1.0, 3.0, 10.0, 30.0)
N_HAND: Final = 30


class LazyImages(Sequence[bytes]):
    """The bytes of files, read when asked for (only missing cache rows need them)."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = list(paths)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [p.read_bytes() for p in self.paths[i]]
        return self.paths[i].read_bytes()

    def __iter__(self) -> Iterator[bytes]:
        return (p.read_bytes() for p in self.paths)


@dataclass(frozen=True)
class StudySet:
    """A v2 build's images (by path), labels, domains, content groups and, where the manifest has it, faces."""

    root: Path
    paths: tuple[Path, ...]
    keys: np.ndarray
    labels: np.ndarray
    domains: np.ndarray
    groups: np.ndarray
    faces: np.ndarray | None = None

    @property
    def images(self) -> LazyImages:
        return LazyImages(self.paths)


def read_study_set(root: Path) -> StudySet:
    """The set in ``root/manifest.csv`` (``path``, ``sha256``, ``label``, ``domain``, ``group``, ``faces``)."""
    manifest = Path(root) / "manifest.csv"
    if not manifest.is_file():
        raise ValueError(f"{root} has no manifest.csv: the fine-tuning study needs a v2 build")
    paths, keys, labels, domains, groups, faces = [], [], [], [], [], []
    with manifest.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        has_faces = "faces" in (reader.fieldnames or [])
        for row in reader:
            paths.append(Path(root) / row["path"])
            keys.append(row["sha256"])
            labels.append(1 if row["label"] == "animated" else 0)
            domains.append(row["domain"])
            groups.append(row.get("group") or row["path"])
            faces.append(row.get("faces") == "1")
    return StudySet(
        Path(root),
        tuple(paths),
        np.array(keys),
        np.array(labels, dtype=np.int64),
        np.array(domains),
        np.array(groups),
        np.array(faces, dtype=bool) if has_faces else None,
    )


def stress_subset(study: StudySet, per_domain: int) -> np.ndarray:
    """A fixed mask of at most ``per_domain`` images of each domain (0: every image).

    The images with the smallest SHA-256 in each domain: a fixed choice that a grown build (more images in
    a domain) changes as little as possible, so that cached stress rows are reused.
    """
    if per_domain <= 0:
        return np.ones(len(study.keys), dtype=bool)
    mask = np.zeros(len(study.keys), dtype=bool)
    for domain in sorted(set(study.domains.tolist())):
        rows = np.flatnonzero(study.domains == domain)
        mask[rows[np.argsort(study.keys[rows])[:per_domain]]] = True
    return mask


@dataclass
class Workbench:
    """Cached rows of a study set, by variant and field, loaded once per process."""

    study: StudySet
    cache: ActivationCache
    graphs: dict[str, onnx.ModelProto]
    copies: int
    transforms: tuple[str, ...]
    stress_rows: np.ndarray
    _rows: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    _frozen: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)

    @property
    def train_variants(self) -> tuple[str, ...]:
        return ("clean", *(f"aug{k}" for k in range(self.copies)))

    def _mask(self, variant: str) -> np.ndarray:
        """The images that have rows of ``variant``: the stress subset for a stress transform, else all."""
        return self.stress_rows if variant in self.transforms else np.ones(len(self.study.keys), dtype=bool)

    def rows(self, variant: str, name: str) -> np.ndarray:
        """Field ``name`` of ``variant`` for every image (stress variants: zeros outside the stress subset)."""
        if (variant, name) not in self._rows:
            idx = np.flatnonzero(self._mask(variant))
            got = self.cache.rows(
                variant, LazyImages([self.study.paths[i] for i in idx]), self.study.keys[idx].tolist(), fields=[name]
            )[name]
            full = np.zeros((len(self.study.keys), *got.shape[1:]), dtype=got.dtype)
            full[idx] = got
            self._rows[(variant, name)] = full
        return self._rows[(variant, name)]

    def cut(self, base: str, depth: str, variant: str) -> np.ndarray:
        return self.rows(variant, f"{base}:{BASES[base].cuts[depth]}")

    def frozen(self, base: str, variant: str) -> np.ndarray:
        """The base's features through its unchanged top (the frozen network); zeros where ``rows`` has none.

        Stored by image key for the images that have rows only (never for the zeros outside a stress
        subset, which a later, different subset would otherwise read as that image's features).
        """
        if (base, variant) not in self._frozen:
            path = self.cache.folder / "frozen" / f"{base}-{variant}.npz"
            keys = self.study.keys
            stored: dict[str, np.ndarray] = {}
            if path.is_file():
                with np.load(path) as archive:
                    stored = dict(zip(archive["keys"].tolist(), archive["features"], strict=True))
            idx = np.flatnonzero(self._mask(variant))
            todo = np.array([i for i in idx.tolist() if keys[i] not in stored], dtype=np.int64)
            if todo.size:
                top = Top(self.graphs[base], BASES[base], BASES[base].cuts["conv"])
                values = top_features(top, self.cut(base, "conv", variant)[todo])
                stored.update(zip(keys[todo].tolist(), values, strict=True))
                path.parent.mkdir(parents=True, exist_ok=True)
                np.savez(path, keys=np.array(list(stored)), features=np.stack(list(stored.values())))
            first = next(iter(stored.values()))
            full = np.zeros((len(keys), *first.shape), dtype=first.dtype)
            full[idx] = np.stack([stored[k] for k in keys[idx].tolist()])
            self._frozen[(base, variant)] = full
        return self._frozen[(base, variant)]

    def hand_and_hidden(self, variant: str) -> np.ndarray:
        """Today's ``combined`` columns: the 30 hand-made features and the frozen nsfwjs hidden layer."""
        return np.hstack([self.rows(variant, "hand").astype(np.float64), self.frozen("nsfwjs", variant)])


# One workbench per process: filled before the worker pool forks, so workers share its arrays.
_BENCH: Workbench | None = None


@dataclass(frozen=True)
class NetTask:
    """Train one network top on ``train`` and give log-odds of the rows in ``score`` (by variant)."""

    config: TopConfig
    name: str
    train: np.ndarray
    score: dict[str, np.ndarray]


def run_net_task(task: NetTask, results: Path) -> dict[str, np.ndarray]:
    """The task's log-odds. The trained top is kept in ``results``: a finished task is not trained again,
    only asked for the log-odds of the rows it is given (so that stress rows can be added later)."""
    config = task.config
    tag = f"{config.base}-{config.depth}-e{config.epochs:g}-s{config.seed}-c{_BENCH.copies if _BENCH else 0}"
    path = results / tag / f"{task.name}.npz"
    bench = _BENCH
    assert bench is not None
    depth = config.cut_depth
    if path.is_file():
        top = load_top(bench.graphs[config.base], config, path)
    else:
        y = bench.study.labels
        x = np.concatenate([bench.cut(config.base, depth, v)[task.train] for v in bench.train_variants])
        frozen = np.concatenate([bench.frozen(config.base, v)[task.train] for v in bench.train_variants])
        labels = np.tile(y[task.train], len(bench.train_variants))
        top = fit_top(bench.graphs[config.base], config, x, labels, frozen_features=frozen)
        save_top(top, path)
    return {
        variant: predict_logits(top, bench.cut(config.base, depth, variant)[rows])
        for variant, rows in task.score.items()
    }


def _run(task: Any) -> Any:
    set_threads(1)
    if isinstance(task[0], NetTask):
        return run_net_task(*task)
    return _hand_fold(*task)


def _map(tasks: list[Any], jobs: int) -> list[Any]:
    """Each task run by :func:`_run`, in ``jobs`` forked processes (they share the parent's workbench)."""
    if jobs <= 1 or len(tasks) <= 1:
        return [_run(t) for t in tasks]
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        return pool.map(_run, tasks, chunksize=1)


@dataclass(frozen=True)
class StudyResult:
    """Out-of-domain P(animated) of every variant, per transform (``clean`` first); NaN where not scored."""

    study: StudySet
    probabilities: dict[str, dict[str, np.ndarray]]
    #: Per variant with a nested choice: fold -> what was chosen.
    choices: dict[str, dict[str, dict[str, float]]]
    stress_rows: np.ndarray
    seconds: dict[str, float]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(1 / (1 + np.exp(-np.clip(z, -50, 50))), dtype=np.float64)


def _fit_fusion(bench: Workbench, train: np.ndarray, hand_weight: float) -> FusionModel:
    x = np.vstack([bench.hand_and_hidden(v)[train] for v in bench.train_variants[:2]])
    y = np.tile(bench.study.labels[train], min(2, len(bench.train_variants)))
    model = FusionModel(n_hand=N_HAND, hand_weight=hand_weight, C=0.01, calibration_folds=5)
    return model.fit(x, y)  # type: ignore[no-any-return]


def _fusion_z(model: FusionModel, x: np.ndarray) -> np.ndarray:
    return log_odds(model.predict_proba(x)[:, 1])


def run_study(
    bench: Workbench,
    configs: Sequence[TopConfig],
    *,
    mixed: Sequence[TopConfig] = (),
    results: Path,
    jobs: int = 1,
) -> StudyResult:
    """Leave-one-domain-out of every variant (see the module docstring); ``mixed`` configs also get a mix."""
    global _BENCH
    study = bench.study
    y = study.labels
    n = len(y)
    folds = domain_folds(study.domains, study.groups)
    transforms = ("clean", *bench.transforms)
    started = time.perf_counter()
    # Load every cached array in the parent, so that forked workers share them.
    for config in {*configs, *mixed}:
        for v in (*bench.train_variants, *bench.transforms):
            bench.cut(config.base, config.cut_depth, v)
        for v in bench.train_variants:
            bench.frozen(config.base, v)
    for v in (*bench.train_variants, *bench.transforms):
        bench.hand_and_hidden(v)
    _BENCH = bench
    tasks: list[Any] = []
    for config in dict.fromkeys([*configs, *mixed]):
        for domain, train, test in folds:
            score = {"clean": test, **{t: test & bench.stress_rows for t in bench.transforms}}
            tasks.append((NetTask(config, domain, train, score), results))
            if config in mixed:
                half_a, half_b = _halves(study, train)
                tasks.append((NetTask(config, f"{domain}~A", half_a, {"clean": half_b}), results))
                tasks.append((NetTask(config, f"{domain}~B", half_b, {"clean": half_a}), results))
    tasks += [(domain, train, test, results) for domain, train, test in folds]
    done = _map(tasks, jobs)
    outputs = {(t[0].config, t[0].name): out for t, out in zip(tasks, done, strict=True) if isinstance(t[0], NetTask)}
    hand = {t[0]: out for t, out in zip(tasks, done, strict=True) if not isinstance(t[0], NetTask)}
    seconds = {"all folds": time.perf_counter() - started}

    probs: dict[str, dict[str, np.ndarray]] = {}
    choices: dict[str, dict[str, dict[str, float]]] = {"combined": {}}

    def empty() -> dict[str, np.ndarray]:
        return {t: np.full(n, np.nan) for t in transforms}

    for name in ("fast", "combined@10", "combined"):
        probs[name] = empty()
    for config in configs:
        probs[f"{config.base}:{config.depth}"] = empty()
    for c in mixed:
        probs[f"mix:{c.base}:{c.depth}"] = empty()
        choices[f"mix:{c.base}:{c.depth}"] = {}
    for domain, train, test in folds:
        fold = hand[domain]
        choices["combined"][domain] = {
            "hand_weight": float(fold["hand_weight"]),
            "inner score": float(fold["inner_score"]),
        }
        inner_rows = fold["inner_rows"]
        for t in transforms:
            rows = test if t == "clean" else test & bench.stress_rows
            for name in ("fast", "combined@10", "combined"):
                probs[name][t][rows] = fold[f"{name}|{t}"]
            for config in configs:
                probs[f"{config.base}:{config.depth}"][t][rows] = _sigmoid(outputs[(config, domain)][t])
        for c in mixed:
            name = f"mix:{c.base}:{c.depth}"
            half_a, half_b = _halves(study, train)
            z_net = np.full(n, np.nan)
            z_net[half_b] = outputs[(c, f"{domain}~A")]["clean"]
            z_net[half_a] = outputs[(c, f"{domain}~B")]["clean"]
            mix = choose_mix(z_net[inner_rows], fold["inner_z"], y[inner_rows])
            choices[name][domain] = {
                "hand_weight": float(fold["hand_weight"]),
                "network_weight": mix.weight,
                "threshold": mix.threshold,
                "inner score": mix.score,
            }
            for t in transforms:
                rows = test if t == "clean" else test & bench.stress_rows
                z = mix.weight * outputs[(c, domain)][t] + (1 - mix.weight) * fold[f"z|{t}"] - mix.threshold
                probs[name][t][rows] = _sigmoid(z)
    return StudyResult(study, probs, choices, bench.stress_rows, seconds)


def _inner_fusion_z(bench: Workbench, half_a: np.ndarray, half_b: np.ndarray, weight: float) -> np.ndarray:
    """Each half's fusion log-odds from a model fitted on the other half."""
    z = np.full(len(half_a), np.nan)
    z[half_b] = _fusion_z(_fit_fusion(bench, half_a, weight), bench.hand_and_hidden("clean")[half_b])
    z[half_a] = _fusion_z(_fit_fusion(bench, half_b, weight), bench.hand_and_hidden("clean")[half_a])
    return z


def choose_hand_weight(bench: Workbench, half_a: np.ndarray, half_b: np.ndarray) -> tuple[float, float, np.ndarray]:
    """The nested rule for the fusion: the hand-made weight whose inner log-odds score best at 0 (ties: nearest 10)."""
    y = bench.study.labels
    rows = half_a | half_b
    inner = {w: _inner_fusion_z(bench, half_a, half_b, w) for w in HAND_WEIGHTS}
    scores = {w: balanced_accuracy(y[rows], z[rows] > 0) for w, z in inner.items()}
    chosen = max(HAND_WEIGHTS, key=lambda w: (round(scores[w], 12), -abs(np.log(w / 10))))
    return chosen, scores[chosen], inner[chosen]


def _hand_fold(domain: str, train: np.ndarray, test: np.ndarray, results: Path) -> dict[str, Any]:
    """One fold of the hand-made models and the fusion's nested choice (cached in ``results``)."""
    path = results / "hand" / f"{domain}.npz"
    if path.is_file():
        with np.load(path) as archive:
            return {k: archive[k] for k in archive.files}
    bench = _BENCH
    assert bench is not None
    y = bench.study.labels
    half_a, half_b = _halves(bench.study, train)
    chosen, inner_score, inner_z = choose_hand_weight(bench, half_a, half_b)
    rows_inner = half_a | half_b
    out: dict[str, Any] = {
        "hand_weight": chosen,
        "inner_score": inner_score,
        "inner_rows": rows_inner,
        "inner_z": inner_z[rows_inner],
    }
    fast = clone(make_classifier("fast").make_model()).fit(bench.rows("clean", "hand")[train], y[train])
    fusions = {"combined": _fit_fusion(bench, train, chosen), "combined@10": _fit_fusion(bench, train, 10.0)}
    for t in ("clean", *bench.transforms):
        rows = test if t == "clean" else test & bench.stress_rows
        out[f"fast|{t}"] = fast.predict_proba(bench.rows(t, "hand")[rows])[:, 1]
        for name, model in fusions.items():
            out[f"{name}|{t}"] = model.predict_proba(bench.hand_and_hidden(t)[rows])[:, 1]
        out[f"z|{t}"] = log_odds(out[f"combined|{t}"])
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **out)
    return out


def _halves(study: StudySet, train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The nested rule's two halves of the training rows, as masks over the whole set."""
    a, b = domain_halves(study.domains[train], study.labels[train])
    half_a, half_b = np.zeros(len(train), dtype=bool), np.zeros(len(train), dtype=bool)
    half_a[np.flatnonzero(train)[a]] = True
    half_b[np.flatnonzero(train)[b]] = True
    return half_a, half_b


def choose_for_all(bench: Workbench, config: TopConfig, results: Path, jobs: int = 1) -> tuple[float, Mix]:
    """The nested rule on the whole set (what ships): the hand-made weight, then network weight and threshold."""
    global _BENCH
    study, y = bench.study, bench.study.labels
    half_a, half_b = _halves(study, np.ones(len(y), dtype=bool))
    _BENCH = bench
    tasks = [
        (NetTask(config, "all~A", half_a, {"clean": half_b}), results),
        (NetTask(config, "all~B", half_b, {"clean": half_a}), results),
    ]
    out_a, out_b = _map(tasks, jobs)
    chosen, _, inner_z = choose_hand_weight(bench, half_a, half_b)
    z_net = np.full(len(y), np.nan)
    z_net[half_b], z_net[half_a] = out_a["clean"], out_b["clean"]
    return chosen, choose_mix(z_net, inner_z, y)


__all__ = [
    "HAND_WEIGHTS",
    "LazyImages",
    "NetTask",
    "StudyResult",
    "StudySet",
    "Workbench",
    "choose_for_all",
    "choose_hand_weight",
    "read_study_set",
    "run_net_task",
    "run_study",
    "stress_subset",
]
