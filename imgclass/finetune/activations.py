"""The frozen lower layers' activations of every image and its copies, computed once and kept on disk.

Leave-one-domain-out retrains the top once per held-out domain (and twice more inside each fold for the
nested decision rule). Running the whole network on every augmented copy each time would cost hours; the
lower part does not change, so its output for a fixed set of copies is computed once here and the tops
train on it (:mod:`imgclass.finetune.train`). A row holds, for one image variant:

* ``hand``: the 30 hand-made features of ``fast`` (:func:`imgclass.classifiers.fast.working_image_features`),
  from the same decode, for the fusion variants;
* ``BASE:TENSOR``: the activations at each of a base's cuts (:mod:`imgclass.finetune.bases`), as float16
  (the tops are trained in float32; float16 keeps 3 significant digits of activations of order 1-10).

The lower parts run in ``cv2.dnn`` on the same ONNX graphs that ship, one image at a time: that is the
engine and the batch the runtime uses, so the top is trained on exactly the activations it will see (and
``cv2.dnn`` runs these depthwise networks three to four times faster than torch on one core).

Variants: ``clean`` (the file as it is), ``aug0``, ``aug1``, ... (one seeded augmented copy each,
:func:`imgclass.augment.augment_bytes`, seeded by the image's content so any order or subset gives the
same copy), and every transform of :mod:`imgclass.robustness` by name.

Rows are keyed by the image's SHA-256 and stored in shards (``FOLDER/VARIANT/*.npz``), so that a grown
data set (more sources) computes only its new images, and an interrupted run resumes.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import cv2
import numpy as np
import onnx

from imgclass.augment import augment_bytes
from imgclass.classifiers.fast import working_image_features
from imgclass.features.embedding import network_input
from imgclass.features.working_image import decode_working
from imgclass.finetune.bases import BASES as BASES_BY_NAME
from imgclass.finetune.bases import SIDE, Base
from imgclass.finetune.onnx_graph import truncated
from imgclass.progress import progress as progress_bar
from imgclass.robustness import check_transforms, reencode

logger = logging.getLogger(__name__)

#: Images per shard written to disk.
SHARD: Final = 512


def image_key(data: bytes) -> str:
    """The key of an image's rows: the SHA-256 of its bytes."""
    return hashlib.sha256(data).hexdigest()


def variant_bytes(data: bytes, variant: str, key: str | None = None) -> bytes:
    """The bytes of ``variant`` of one image: itself, an augmented copy (``augK``), or a robustness transform."""
    if variant == "clean":
        return data
    if variant.startswith("aug") and variant[3:].isdigit():
        key = key or image_key(data)
        return augment_bytes(data, np.random.default_rng([0, int(key[:12], 16), int(variant[3:])]))
    check_transforms([variant])
    return reencode(data, variant)


class Lower:
    """A base's graph run by ``cv2.dnn`` up to its cuts."""

    def __init__(self, base: Base, model: onnx.ModelProto) -> None:
        self.base = base
        self.tensors = tuple(dict.fromkeys(base.cuts.values()))
        # cv2.dnn returns only declared graph outputs: the cuts become the outputs (later nodes are dropped).
        lower = truncated(model, self.tensors)
        self.net = cv2.dnn.readNetFromONNX(np.frombuffer(lower.SerializeToString(), np.uint8))

    def fields(self) -> tuple[str, ...]:
        return tuple(f"{self.base.name}:{t}" for t in self.tensors)

    def __call__(self, blob: np.ndarray) -> dict[str, np.ndarray]:
        self.net.setInput(blob)
        values = self.net.forward(list(self.tensors))
        return {f"{self.base.name}:{t}": np.asarray(v) for t, v in zip(self.tensors, values, strict=True)}


def compute_rows(images: Sequence[bytes], lowers: Sequence[Lower]) -> dict[str, np.ndarray]:
    """``hand`` and ``BASE:TENSOR`` for encoded ``images`` (one decode each)."""
    out: dict[str, list[np.ndarray]] = {"hand": []}
    for data in images:
        working = decode_working(data)
        out["hand"].append(np.asarray(working_image_features(working), dtype=np.float32))
        blob = network_input([working], SIDE)
        for lower in lowers:
            for field, value in lower(blob).items():
                out.setdefault(field, []).append(value[0].astype(np.float16))
    return {field: np.stack(values) for field, values in out.items()}


class ActivationCache:
    """Rows of every variant, by image key, in ``folder`` (see the module docstring)."""

    def __init__(self, folder: Path, lowers: Sequence[Lower]) -> None:
        self.folder = Path(folder)
        self.lowers = tuple(lowers)
        self.fields = ("hand", *(f for lower in self.lowers for f in lower.fields()))

    def _load(
        self, variant: str, fields: Sequence[str]
    ) -> tuple[dict[str, tuple[int, int]], list[dict[str, np.ndarray]]]:
        """Stored shards of ``variant``: key -> (shard, row), and each shard's ``fields``."""
        index: dict[str, tuple[int, int]] = {}
        shards: list[dict[str, np.ndarray]] = []
        for path in sorted((self.folder / variant).glob("*.npz")):
            with np.load(path) as archive:
                if not all(f in archive.files for f in self.fields):
                    continue  # written before a base or a cut was added: recomputed
                shards.append({f: archive[f] for f in fields})
                for row, key in enumerate(archive["keys"].tolist()):
                    index[key] = (len(shards) - 1, row)
        return index, shards

    def rows(
        self,
        variant: str,
        images: Sequence[bytes],
        keys: Sequence[str],
        *,
        fields: Sequence[str] | None = None,
        progress: bool = False,
    ) -> dict[str, np.ndarray]:
        """``fields`` (default: all) of ``variant`` for every image: stored rows reused, missing ones made.

        ``images`` is only read where a row is missing (a lazy sequence of files will do).
        """
        fields = tuple(fields or self.fields)
        unknown = set(fields) - set(self.fields)
        if unknown:
            raise ValueError(f"unknown fields {sorted(unknown)}; stored: {', '.join(self.fields)}")
        index, shards = self._load(variant, fields)
        missing = [i for i, key in enumerate(keys) if key not in index]
        folder = self.folder / variant
        folder.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        with progress_bar(total=len(missing), desc=variant, unit="img", enabled=progress) as bar:
            for start in range(0, len(missing), SHARD):
                chunk = missing[start : start + SHARD]
                made = compute_rows([variant_bytes(images[i], variant, keys[i]) for i in chunk], self.lowers)
                chunk_keys = np.array([keys[i] for i in chunk])
                name = folder / f"{int(time.time() * 1000)}-{os.getpid()}.npz"
                arrays: dict[str, Any] = {"keys": chunk_keys, **made}
                np.savez(name.with_suffix(".tmp.npz"), **arrays)
                name.with_suffix(".tmp.npz").rename(name)
                shards.append({f: made[f] for f in fields})
                for row, key in enumerate(chunk_keys.tolist()):
                    index[key] = (len(shards) - 1, row)
                bar.update(len(chunk))
        if missing:
            logger.info("%s: %d rows made in %.0f s", variant, len(missing), time.perf_counter() - started)
        where = np.array([index[key] for key in keys], dtype=np.int64).reshape(-1, 2)
        out = {}
        for field in fields:
            first = shards[0][field] if shards else np.empty((0,))
            values = np.empty((len(keys), *first.shape[1:]), dtype=first.dtype)
            for s, shard in enumerate(shards):
                mask = where[:, 0] == s
                values[mask] = shard[field][where[mask, 1]]
            out[field] = values
        return out


def _fill(args: tuple[Path, dict[str, onnx.ModelProto], str, list[Path], list[str]]) -> int:
    folder, graphs, variant, paths, keys = args
    cv2.setNumThreads(1)
    lowers = [Lower(BASES_BY_NAME[name], graph) for name, graph in graphs.items()]
    images = [p.read_bytes() for p in paths]
    ActivationCache(folder, lowers).rows(variant, images, keys)
    return len(keys)


def fill_cache(
    folder: Path,
    graphs: dict[str, onnx.ModelProto],
    paths: Sequence[Path],
    keys: Sequence[str],
    variants: dict[str, np.ndarray],
    *,
    jobs: int = 1,
) -> None:
    """Make every missing row of each variant (``variant -> mask of the images it needs``), in ``jobs`` processes.

    Each variant's images are split into ``jobs`` parts by position, so the processes never make the same
    row twice.
    """
    lowers = [Lower(BASES_BY_NAME[name], graph) for name, graph in graphs.items()]
    cache = ActivationCache(folder, lowers)
    tasks = []
    for variant, mask in variants.items():
        index, _ = cache._load(variant, ())
        todo = [i for i in np.flatnonzero(mask).tolist() if keys[i] not in index]
        for part in range(max(1, jobs)):
            chunk = todo[part :: max(1, jobs)]
            if chunk:
                tasks.append((Path(folder), graphs, variant, [paths[i] for i in chunk], [keys[i] for i in chunk]))
    if not tasks:
        return
    logger.info("making %d rows in %d tasks", sum(len(t[4]) for t in tasks), len(tasks))
    if jobs <= 1:
        for task in tasks:
            _fill(task)
        return
    with multiprocessing.get_context("spawn").Pool(jobs) as pool:
        pool.map(_fill, tasks, chunksize=1)


__all__ = ["SHARD", "ActivationCache", "Lower", "compute_rows", "fill_cache", "image_key", "variant_bytes"]
