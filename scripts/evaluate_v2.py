#!/usr/bin/env python3
"""Leave-one-domain-out: `fast`, the embedding alone, the frozen fusion, a cascade, and `byte-stream`.

    python scripts/evaluate_v2.py [--data V2_DIR] [--augment 1]
        [--robustness [TRANSFORM ...]] [--variants VARIANT ...] [--out docs/domain-shift/v2.md]
        [--cache features.npz]

Data: a folder-per-class set with a ``manifest.csv`` (reference set v2: columns ``path``, ``label``,
``domain`` and, where present, ``group``; a derived view shares its original's group). Without
``--data``, or where it has no manifest, the bundled ``data/reference`` is used and its 11 sources are the
domains (that is leave-one-source-out, and the script says so).

Protocol: one fold per domain. The held-out domain is the test set; the training set is every other
image **whose content group does not appear in the held-out domain**, so an image and its derivative
never sit on both sides. With ``--augment K``, each training image of ``fusion``, ``embedding`` and
``byte-stream`` also brings K augmented copies (:mod:`imgclass.augment`: re-encoding, downscale,
thumbnail, a first JPEG save, greyscale, screenshot, crop), as the shipped ``combined`` and
``byte-stream`` are trained; ``fast`` is trained on the images as they are, as it ships. Test images are
never augmented. Predictions are pooled over folds for the overall balanced accuracy; each domain is also
scored alone (balanced accuracy where it has both classes, accuracy where it has one).

Variants, all on features computed once per image (one decode for the hand-made and embedding blocks):

* ``fast``: today's hand-made features, calibrated gradient boosting (`FastClassifier`'s model);
* ``embedding``: the network block alone (the 256-d hidden layer of the MobileNetV2's head),
  class-balanced calibrated logistic regression;
* ``fusion``: both blocks, :class:`~imgclass.classifiers.fusion.FusionModel`: ``combined``'s model. Networks
  whose top is trained on v2 (retrained per held-out domain) and their late fusion with it are scored by
  ``scripts/finetune.py study`` (``docs/domain-shift/v2-finetune.md``);
* ``cascade``: ``fast`` decides where its probability is below 0.1 or above 0.9, ``fusion`` elsewhere;
* ``byte-stream``: header, compressed-stream statistics and what the compressed data says (JPEG
  coefficients, PNG deflate codes, WEBP data headers), never a pixel.

``--variants`` limits the run to the variants named (``--variants byte-stream`` computes no pixel
feature at all, which makes its stress runs cheap). ``--robustness`` re-encodes the test images
(:mod:`imgclass.robustness`) and scores the fold models on them too: the five default transforms, or the
ones named (``screenshot-frame-only`` and ``screenshot-resize-only`` split ``screenshot-png`` in two;
``stress`` names the resolution sweep, double JPEG, greyscale and the plain grounds). The report then also
gives every variant's change from clean per domain under each transform, leaving one domain out as above.

Where the manifest has a ``faces`` column (face close-ups of both classes), the tables add a ``faces``
slice below the domains: the same out-of-domain predictions, scored on those images.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import logging
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from sklearn.base import clone
from sklearn.model_selection import StratifiedGroupKFold

from imgclass.augment import augment_bytes
from imgclass.classifiers import make_classifier
from imgclass.classifiers.fast import FAST_FEATURES
from imgclass.classifiers.fusion import FusionModel
from imgclass.data import load_dataset, reference_dir
from imgclass.exploration.domain_shift import domain_folds, domain_score
from imgclass.features.embedding import HIDDEN_SIZE
from imgclass.labels import encode_labels
from imgclass.robustness import GROUPS, TRANSFORMS, expand_transforms, reencode_all
from imgclass.threads import one_thread

logger = logging.getLogger("evaluate_v2")
V2_DEFAULT = Path("/work/cache/imgclass-v2")
N_HAND = len(FAST_FEATURES)
CASCADE_SURE = 0.1
PROTOCOLS = {
    "domain": "Leave-one-domain-out",
    "group": "5-fold cross-validation by content group (every domain in training)",
}
#: Variants trained with the augmented copies (as `combined` (`fusion`) and `byte-stream` ship); `fast` ships without.
AUGMENTED = frozenset({"embedding", "fusion", "byte-stream"})
VARIANTS = ("fast", "embedding", "fusion", "cascade", "byte-stream")
#: Variants that need the pixel features (hand-made block and embedding).
PIXEL_VARIANTS = frozenset({"fast", "embedding", "fusion", "cascade"})


@dataclass(frozen=True)
class Data:
    images: list[bytes]
    labels: np.ndarray
    domains: np.ndarray
    groups: np.ndarray
    root: Path
    kind: str  # "v2" or "reference (domains are sources)"
    faces: np.ndarray | None = None  # face close-ups, where the manifest says


def read_data(root: Path | None) -> Data:
    """The images with their domain and content group (from ``manifest.csv``, or the reference set)."""
    manifest = root / "manifest.csv" if root is not None else None
    if manifest is None or not manifest.is_file():
        if root is not None:
            logger.warning("%s has no manifest.csv: using the bundled reference set instead", root)
        data = load_dataset(reference_dir())
        return Data(data.images, data.labels, data.sources, data.sources, data.root, "reference (domains are sources)")
    images, labels, domains, groups, faces = [], [], [], [], []
    with manifest.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        has_faces = "faces" in (reader.fieldnames or [])
        for row in reader:
            path = root / row["path"]
            if not path.is_file():
                logger.warning("%s is in the manifest but missing: skipped", path)
                continue
            images.append(path.read_bytes())
            labels.append(row["label"])
            domains.append(row["domain"])
            groups.append(row.get("group") or row["path"])
            faces.append(row.get("faces") == "1")
    face_mask = np.asarray(faces, dtype=bool) if has_faces else None
    return Data(images, encode_labels(labels), np.asarray(domains), np.asarray(groups), root, "v2", face_mask)


def combined_features(images: list[bytes], desc: str) -> np.ndarray:
    """Hand-made block (the same values `fast` computes) and embedding, from one decode per image."""
    fusion = make_classifier("combined")
    return fusion.extract_features_timed(images, progress=True, desc=desc)[0]


def byte_features(images: list[bytes]) -> np.ndarray:
    return make_classifier("byte-stream").extract_features(images)


def fold_masks(data: Data, protocol: str = "domain") -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(fold name, train mask, test mask): one fold per domain, or 5 stratified folds of content groups."""
    if protocol == "domain":
        return domain_folds(data.domains, data.groups)
    splitter = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=0)
    folds = []
    for i, (train, test) in enumerate(splitter.split(data.labels, data.labels, data.groups)):
        train_mask, test_mask = np.zeros(len(data.labels), bool), np.zeros(len(data.labels), bool)
        train_mask[train], test_mask[test] = True, True
        folds.append((f"group fold {i}", train_mask, test_mask))
    return folds


def models() -> dict[str, Any]:
    fast_model = make_classifier("fast").make_model()
    return {
        "fast": (fast_model, slice(0, N_HAND)),
        "embedding": (FusionModel(n_hand=0), slice(N_HAND, None)),
        "fusion": (make_classifier("combined").make_model(), slice(0, None)),
    }


def score(y: np.ndarray, p: np.ndarray) -> float:
    return domain_score(y, p)


@one_thread()  # hundreds of small fits: threads only wait at the boosting's barriers (imgclass.threads)
def evaluate(
    data: Data,
    features: dict[str, np.ndarray],
    augmented: list[dict[str, np.ndarray]],
    protocol: str = "domain",
    variants: tuple[str, ...] = VARIANTS,
) -> dict[str, Any]:
    """Out-of-domain probabilities of every variant (and of every robustness transform)."""
    n = len(data.images)
    pixel_models = {name: spec for name, spec in models().items() if name in variants or "cascade" in variants}
    transforms = list(dict.fromkeys(k.removesuffix("-bytes") for k in features if k not in ("clean", "clean-bytes")))
    probs: dict[str, dict[str, np.ndarray]] = {
        t: {v: np.full(n, np.nan) for v in variants} for t in ["clean", *transforms]
    }
    byte_model = make_classifier("byte-stream").make_model()
    for domain, train, test in fold_masks(data, protocol):
        started = time.perf_counter()
        fitted = {}
        for name, (model, columns) in pixel_models.items():
            # Each variant is trained as it ships: `combined` (and the embedding beside it) augmented.
            extra = [a["clean"][train][:, columns] for a in augmented] if name in AUGMENTED else []
            x_train = np.vstack([features["clean"][train][:, columns], *extra])
            y_train = np.tile(data.labels[train], 1 + len(extra))
            fitted[name] = (clone(model).fit(x_train, y_train), columns)
        if "byte-stream" in variants:
            extra = [a["clean-bytes"][train] for a in augmented]
            x_train = np.vstack([features["clean-bytes"][train], *extra])
            fitted_bytes = clone(byte_model).fit(x_train, np.tile(data.labels[train], 1 + len(extra)))
        for t in ["clean", *transforms]:
            # Every fitted model is asked for or needed by the cascade, so each predicts once.
            fold = {
                name: model.predict_proba(features[t][test][:, columns])[:, 1]
                for name, (model, columns) in fitted.items()
            }
            for name in fold.keys() & set(variants):
                probs[t][name][test] = fold[name]
            if "cascade" in variants:
                sure = (fold["fast"] < CASCADE_SURE) | (fold["fast"] > 1 - CASCADE_SURE)
                probs[t]["cascade"][test] = np.where(sure, fold["fast"], fold["fusion"])
            byte_key = "clean-bytes" if t == "clean" else f"{t}-bytes"
            if "byte-stream" in variants and byte_key in features:
                probs[t]["byte-stream"][test] = fitted_bytes.predict_proba(features[byte_key][test])[:, 1]
        logger.info("fold %s: %d train, %d test, %.1fs", domain, train.sum(), test.sum(), time.perf_counter() - started)
    return probs


def slices(data: Data) -> list[tuple[str, np.ndarray]]:
    """``(name, mask)`` of every domain, then of the ``faces`` slice where the manifest has one."""
    out = [(str(d), data.domains == d) for d in sorted(set(data.domains.tolist()))]
    if data.faces is not None and data.faces.any():
        out.append(("*faces* (slice)", data.faces))
    return out


def report(data: Data, probs: dict[str, dict[str, np.ndarray]], args: argparse.Namespace) -> str:
    clean = probs["clean"]
    variants = list(clean)
    domains = sorted(set(data.domains.tolist()))
    lines = [
        f"# {PROTOCOLS[args.protocol]} on {data.kind}: {data.root}",
        "",
        f"{len(data.images)} images ({int((data.labels == 0).sum())} real, {int((data.labels == 1).sum())} animated), "
        f"{len(domains)} domains, {len(set(data.groups.tolist()))} content groups; augmented copies per training "
        f"image ({', '.join(f'`{v}`' for v in variants if v in AUGMENTED) or 'none of these variants'}): "
        f"{args.augment}"
        + (
            f"; cascade: `fast` where its probability is < {CASCADE_SURE} or > {1 - CASCADE_SURE}."
            if "cascade" in variants
            else "."
        ),
        "",
        "Balanced accuracy, predictions pooled over the folds (a domain alone: balanced accuracy where it has "
        "both classes, accuracy where it has one).",
        "",
        "| domain | n | real | animated | " + " | ".join(f"`{v}`" for v in variants) + " |",
        "|---|---:|---:|---:|" + "---:|" * len(variants),
    ]
    ok = {v: np.isfinite(clean[v]) for v in variants}
    lines.append(
        f"| **overall** | {len(data.images)} | {int((data.labels == 0).sum())} | {int((data.labels == 1).sum())} | "
        + " | ".join(f"**{score(data.labels[ok[v]], clean[v][ok[v]]):.3f}**" for v in variants)
        + " |"
    )
    for domain, m in slices(data):
        y = data.labels[m]
        cells = [f"{score(y, clean[v][m]):.3f}" for v in variants]
        lines.append(
            f"| {domain} | {m.sum()} | {int((y == 0).sum())} | {int((y == 1).sum())} | " + " | ".join(cells) + " |"
        )
    worst = {
        v: min(score(data.labels[data.domains == d], clean[v][data.domains == d]) for d in domains) for v in variants
    }
    lines.append("| *worst domain* | | | | " + " | ".join(f"*{worst[v]:.3f}*" for v in variants) + " |")
    if "fast" in clean and "cascade" in clean:
        fast_p = clean["fast"]
        unsure = (fast_p >= CASCADE_SURE) & (fast_p <= 1 - CASCADE_SURE)
        lines += ["", f"Cascade: the network runs on {np.mean(unsure):.1%} of the images."]
    if len(probs) > 1:
        lines += [
            "",
            "Robustness: balanced accuracy (pooled) on re-encoded test images, change from clean in points.",
            "",
        ]
        transforms = [t for t in probs if t != "clean"]
        lines.append("| variant | clean | " + " | ".join(transforms) + " |")
        lines.append("|---|---:|" + "---:|" * len(transforms))
        for v in variants:
            base = score(data.labels, clean[v])
            cells = []
            for t in transforms:
                p = probs[t][v]
                if np.isfinite(p).all():
                    s = score(data.labels, p)
                    cells.append(f"{s:.3f} ({100 * (s - base):+.1f})")
                else:
                    cells.append("-")
            lines.append(f"| `{v}` | {base:.3f} | " + " | ".join(cells) + " |")
        for v in variants:
            if not all(np.isfinite(probs[t][v]).all() for t in transforms):
                continue
            lines += [
                "",
                f"`{v}` by domain: clean, then the change under each transform in points (a domain alone, "
                "scored as above):",
                "",
                "| domain | clean | " + " | ".join(transforms) + " |",
                "|---|---:|" + "---:|" * len(transforms),
            ]
            for domain, m in slices(data):
                base = score(data.labels[m], clean[v][m])
                cells = [f"{100 * (score(data.labels[m], probs[t][v][m]) - base):+.1f}" for t in transforms]
                lines.append(f"| {domain} | {base:.3f} | " + " | ".join(cells) + " |")
    lines += ["", f"Command: `python scripts/evaluate_v2.py {' '.join(args.argv)}`", ""]
    return "\n".join(lines)


def by_domain(
    data: Data, probs: dict[str, dict[str, np.ndarray]], variant: str, transforms: list[str], domains: list[str]
) -> list[str]:
    """Markdown lines: ``variant``'s score by domain, clean and under each transform."""
    lines = [
        f"`{variant}` by domain under each transform (a domain alone, scored as above):",
        "",
        "| domain | clean | " + " | ".join(transforms) + " |",
        "|---|---:|" + "---:|" * len(transforms),
    ]
    for domain in domains:
        m = data.domains == domain
        cells = [f"{score(data.labels[m], probs[t][variant][m]):.3f}" for t in ["clean", *transforms]]
        lines.append(f"| {domain} | " + " | ".join(cells) + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=V2_DEFAULT if V2_DEFAULT.is_dir() else None)
    parser.add_argument("--augment", type=int, default=1, help="augmented copies per training image")
    parser.add_argument(
        "--protocol",
        choices=("domain", "group"),
        default="domain",
        help="domain: leave one domain out (default); group: 5 stratified folds of content groups, every domain seen",
    )
    parser.add_argument(
        "--robustness",
        nargs="*",
        metavar="TRANSFORM",
        help=f"also score re-encoded test images: {', '.join(TRANSFORMS)} (the default), or the ones named "
        f"(groups: {', '.join(GROUPS)})",
    )
    parser.add_argument(
        "--variants",
        nargs="+",
        choices=VARIANTS,
        default=list(VARIANTS),
        help="the variants to fit and score (default: all); `byte-stream` alone computes no pixel feature",
    )
    parser.add_argument("--out", type=Path, help="write the markdown table here (and the JSON beside it)")
    parser.add_argument("--cache", type=Path, help="features are read from / written to this .npz")
    args = parser.parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    warnings.filterwarnings("ignore", category=UserWarning)
    cv2.setNumThreads(1)
    data = read_data(args.data)
    logger.info("%s: %d images", data.kind, len(data.images))
    # Cached rows are keyed by the images' SHA-256, so a rebuilt or reordered data set reuses them.
    keys = np.array([hashlib.sha256(x).hexdigest() for x in data.images])
    # Cached rows are keyed by the images' SHA-256: a rebuilt or reordered set recomputes only new images.
    stored: dict[str, dict[str, np.ndarray]] = {}
    if args.cache and args.cache.is_file():
        archive = dict(np.load(args.cache))
        old_keys = archive.pop("keys", np.array([])).tolist()
        # A block whose width changed (its features changed) is computed again.
        widths = {"bytes": len(make_classifier("byte-stream").feature_names), "pixels": N_HAND + HIDDEN_SIZE}
        stored = {
            name: {k: v for k, v in zip(old_keys, values, strict=True) if np.isfinite(v).all()}
            for name, values in archive.items()
            if values.shape[1] == widths["bytes" if name.endswith("-bytes") else "pixels"]
        }
    variants = tuple(v for v in VARIANTS if v in args.variants)
    pixels = bool(PIXEL_VARIANTS & set(variants))

    def rows(name: str, make: Any, extract: Any) -> np.ndarray:
        """Features ``name`` of every image: cached rows reused, the rest made (``make(indices)``) and saved."""
        table = stored.setdefault(name, {})
        missing = [i for i, k in enumerate(keys.tolist()) if k not in table]
        if missing:
            for i, values in zip(missing, extract(make(missing)), strict=True):
                table[keys[i]] = values
            if args.cache:
                names = sorted(set().union(*[set(t) for t in stored.values()]))
                np.savez(
                    args.cache,
                    keys=np.array(names),
                    **{
                        n: np.array([t.get(k, np.full_like(next(iter(t.values())), np.nan)) for k in names])
                        for n, t in stored.items()
                    },
                )
        return np.array([table[k] for k in keys.tolist()])

    def both_blocks(name: str, make: Any) -> dict[str, np.ndarray]:
        """Combined (where a pixel variant is asked for) and byte-stream features of the images
        ``make(indices)`` returns (made once for both)."""
        made: dict[tuple[int, ...], list[bytes]] = {}

        def once(idx: list[int]) -> list[bytes]:
            if tuple(idx) not in made:
                made.clear()
                made[tuple(idx)] = make(idx)
            return made[tuple(idx)]

        blocks = {"clean-bytes": rows(f"{name}-bytes", once, byte_features)}
        if pixels:
            blocks["clean"] = rows(name, once, lambda images: combined_features(images, name))
        return blocks

    features = both_blocks("clean", lambda idx: [data.images[i] for i in idx])
    augmented = [
        both_blocks(
            f"aug{k}",
            # Seeded by content, not position: the same image gets the same copy in any order.
            lambda idx, k=k: [
                augment_bytes(data.images[i], np.random.default_rng([0, int(keys[i][:12], 16), k])) for i in idx
            ],
        )
        for k in range(args.augment)
    ]
    if args.robustness is not None:
        for name in expand_transforms(args.robustness or list(TRANSFORMS)):
            blocks = both_blocks(name, lambda idx, name=name: reencode_all([data.images[i] for i in idx], name))
            features[f"{name}-bytes"] = blocks["clean-bytes"]
            if pixels:
                features[name] = blocks["clean"]
    probs = evaluate(data, features, augmented, args.protocol, variants)
    text = report(data, probs, args)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
        summary = {
            t: {v: {"overall": score(data.labels, p)} for v, p in ps.items() if np.isfinite(p).all()}
            for t, ps in probs.items()
        }
        args.out.with_suffix(".json").write_text(json.dumps(summary, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
