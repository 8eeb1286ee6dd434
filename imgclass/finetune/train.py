"""Train a base's top on cached activations: a frozen probe first, then (optionally) the top blocks.

A :class:`Top` is the part of a base's ONNX graph from a cut (:mod:`imgclass.finetune.bases`) to its
feature tensor, run by :class:`~imgclass.finetune.onnx_graph.GraphModule`, followed by one linear unit:
the log-odds that the image is animated. Training has two stages:

1. **probe** (the frozen network, as today's ``combined`` uses nsfwjs): the feature tensor of every
   training row through the *unchanged* top, then a class-balanced logistic regression on the standardised
   features; the scaler and the regression are folded into the linear unit, so the probe is a :class:`Top`
   too, and the starting point of stage 2;
2. **top** (``depth`` ``conv`` or ``block``): the top's weights and the linear unit trained together by
   AdamW under a one-cycle schedule, on class-balanced batches (each batch draws the two classes equally,
   so the log-odds assume equal priors, as every imgclass model does), for ``epochs`` passes over the
   training rows (each row is an image or one of its augmented copies).

Everything is seeded (``torch.manual_seed``, numpy generators) and runs on one thread by default
(:func:`set_threads`), so a run gives the same weights on the same machine.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from torch import nn

from imgclass.finetune.bases import DEPTHS, Base, check_base
from imgclass.finetune.onnx_graph import GraphModule, with_logit_head, write_back

logger = logging.getLogger(__name__)

#: Rows per forward pass when only predicting.
PREDICT_BATCH: Final = 256
#: Training depths: the frozen probe, then :data:`imgclass.finetune.bases.DEPTHS`.
TRAIN_DEPTHS: Final = ("probe", *DEPTHS)


def set_threads(threads: int = 1) -> None:
    """torch's intra-op threads (one: several small processes share two cores better than one wide one)."""
    torch.set_num_threads(int(threads))


@dataclass(frozen=True)
class TopConfig:
    """How a top is trained (recorded beside a shipped network; :func:`fit_top`)."""

    base: str = "b0"
    depth: str = "block"
    epochs: float = 1.0
    batch: int = 64
    lr: float = 3e-4
    weight_decay: float = 0.01
    #: Inverse L2 strength of the probe's logistic regression (standardised features).
    probe_C: float = 0.05
    seed: int = 0

    def __post_init__(self) -> None:
        check_base(self.base)
        if self.depth not in TRAIN_DEPTHS:
            raise ValueError(f"depth must be one of {', '.join(TRAIN_DEPTHS)}, got {self.depth!r}")
        if self.epochs < 0 or self.batch < 2 or self.lr <= 0 or self.probe_C <= 0:
            raise ValueError(f"bad training configuration {self}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def cut_depth(self) -> str:
        """Where the cached activations the top reads were cut (the probe reads the shallowest cut)."""
        return "conv" if self.depth == "probe" else self.depth


class Top(nn.Module):
    """A base's graph from ``cut`` to its feature tensor, and a linear unit giving P(animated)'s log-odds."""

    def __init__(self, graph: onnx.ModelProto, base: Base, cut: str) -> None:
        super().__init__()
        self.base = base
        self.cut = cut
        self.body = GraphModule(graph, [cut], [base.features])
        self.head = nn.Linear(base.width, 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        assert isinstance(out, torch.Tensor)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).squeeze(1)  # type: ignore[no-any-return]


def _batches(x: np.ndarray, size: int = PREDICT_BATCH) -> list[torch.Tensor]:
    return [torch.from_numpy(np.asarray(x[s : s + size], dtype=np.float32)) for s in range(0, len(x), size)]


def top_features(top: Top, x: np.ndarray) -> np.ndarray:
    """The feature tensor of cached activations ``x`` through ``top``'s body (no gradient)."""
    with torch.no_grad():
        return torch.cat([top.features(b) for b in _batches(x)]).numpy()


def predict_logits(top: Top, x: np.ndarray) -> np.ndarray:
    """Log-odds of "animated" for cached activations ``x``."""
    top.eval()
    with torch.no_grad():
        return torch.cat([top(b) for b in _batches(x)]).numpy().astype(np.float64)


def fit_probe(top: Top, features: np.ndarray, y: np.ndarray, C: float) -> None:
    """Set ``top.head`` to a class-balanced logistic regression on standardised ``features`` (folded in)."""
    scaler = StandardScaler().fit(features)
    regression = LogisticRegression(C=float(C), class_weight="balanced", max_iter=2000)
    regression.fit(scaler.transform(features), y)
    weight = regression.coef_[0] / scaler.scale_
    bias = float(regression.intercept_[0] - np.dot(weight, scaler.mean_))
    with torch.no_grad():
        top.head.weight.copy_(torch.from_numpy(weight.astype(np.float32)).reshape(1, -1))
        top.head.bias.fill_(bias)


def balanced_order(y: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` row indices, half from each class (drawn without replacement within a class, reshuffled as needed)."""
    parts = []
    for label in (0, 1):
        rows = np.flatnonzero(y == label)
        if rows.size == 0:
            raise ValueError("training needs both classes")
        want = (n + 1 - label) // 2
        repeats = -(-want // rows.size)
        parts.append(np.concatenate([rng.permutation(rows) for _ in range(repeats)])[:want])
    order = np.concatenate(parts)
    return order[rng.permutation(order.size)]


def fit_top(
    graph: onnx.ModelProto,
    config: TopConfig,
    x: np.ndarray,
    y: np.ndarray,
    *,
    frozen_features: np.ndarray | None = None,
) -> Top:
    """A :class:`Top` trained on cached activations ``x`` (rows at ``config.cut_depth``'s cut) and labels ``y``.

    ``frozen_features``: the same rows' features through the unchanged top, if already computed (the probe
    reads them; they do not depend on the fold, so callers cache them).
    """
    y = np.asarray(y, dtype=np.int64)
    if len(x) != len(y):
        raise ValueError(f"got {len(x)} rows but {len(y)} labels")
    base = check_base(config.base)
    torch.manual_seed(config.seed)
    top = Top(graph, base, base.cuts[config.cut_depth])
    started = time.perf_counter()
    features = top_features(top, x) if frozen_features is None else frozen_features
    fit_probe(top, features, y, config.probe_C)
    if config.depth == "probe":
        top.requires_grad_(False)
        return top.eval()
    steps = max(1, round(config.epochs * len(y) / config.batch))
    order = balanced_order(y, steps * config.batch, np.random.default_rng(config.seed))
    optimiser = torch.optim.AdamW(top.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=config.lr, total_steps=steps)
    top.train()
    xs = torch.from_numpy(np.asarray(x))
    ys = torch.from_numpy(y.astype(np.float32))
    for step in range(steps):
        rows = torch.from_numpy(order[step * config.batch : (step + 1) * config.batch])
        loss = F.binary_cross_entropy_with_logits(top(xs[rows].float()), ys[rows])
        optimiser.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        optimiser.step()
        schedule.step()
    top.eval()
    logger.info(
        "%s/%s: %d rows, %d steps, %.0f s", config.base, config.depth, len(y), steps, time.perf_counter() - started
    )
    return top


def save_top(top: Top, path: Path) -> None:
    """The trained weights of ``top`` (body by ONNX name, and the head) as ``.npz``."""
    arrays: dict[str, Any] = {f"body:{k}": v for k, v in top.body.onnx_parameters().items()}
    arrays["head:weight"] = top.head.weight.detach().numpy()
    arrays["head:bias"] = top.head.bias.detach().numpy()
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path.with_suffix(".tmp.npz"), **arrays)
    path.with_suffix(".tmp.npz").rename(path)


def load_top(graph: onnx.ModelProto, config: TopConfig, path: Path) -> Top:
    """A :class:`Top` of ``config`` holding the weights :func:`save_top` wrote."""
    base = check_base(config.base)
    top = Top(graph, base, base.cuts[config.cut_depth])
    with np.load(path) as archive:
        body = {k.removeprefix("body:"): archive[k] for k in archive.files if k.startswith("body:")}
        state = {key: torch.from_numpy(body[name]) for key, name in top.body.tensor_names.items() if name in body}
        state["head.weight"], state["head.bias"] = (torch.from_numpy(archive[f"head:{n}"]) for n in ("weight", "bias"))
    missing = {k for k, _ in top.body.named_parameters()} - set(state)
    if missing:
        raise ValueError(f"{path} lacks weights for {sorted(missing)[:3]}...")
    top.body.load_state_dict({k: v for k, v in state.items() if not k.startswith("head.")}, strict=False)
    top.head.load_state_dict({"weight": state["head.weight"], "bias": state["head.bias"]})
    return top.eval()


def export(graph: onnx.ModelProto, top: Top) -> onnx.ModelProto:
    """The whole base graph with ``top``'s trained weights and a ``logit`` output (others dropped)."""
    trained = write_back(graph, top.body.onnx_parameters())
    weight = top.head.weight.detach().numpy().reshape(-1)
    return with_logit_head(trained, top.base.features, weight, float(top.head.bias.detach()))


__all__ = [
    "PREDICT_BATCH",
    "TRAIN_DEPTHS",
    "Top",
    "TopConfig",
    "balanced_order",
    "export",
    "fit_probe",
    "fit_top",
    "load_top",
    "predict_logits",
    "save_top",
    "set_threads",
    "top_features",
]
