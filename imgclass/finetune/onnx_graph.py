"""An ONNX graph's nodes run as a torch module, and trained weights written back into the graph.

The networks imgclass ships are ONNX files run by ``cv2.dnn``. Training their top in torch and exporting
again would give a second description of the same network that has to agree with the first; instead the
graph is interpreted here node by node (the small operator set our converters write: ``Conv``, ``Clip``,
``Relu``, ``Sigmoid``, ``Add``, ``Sub``, ``Mul``, ``Div``, ``GlobalAveragePool``, ``Flatten``, ``Gemm``,
``Softmax``), its initialisers become torch parameters, and :func:`write_back` puts the trained values into
a copy of the very graph they came from. What ships is then the converted graph with new numbers, and the
check that torch and ``cv2.dnn`` agree is one comparison of outputs (``tests/finetune``).

BatchNorm is already folded into the convolutions by the converters, so training a top here trains the
folded weights and biases: that is BatchNorm frozen at its pretrained statistics, as fine-tuning on small
data should be.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import helper, numpy_helper
from torch import nn

#: Operators :class:`GraphModule` runs.
SUPPORTED_OPS = frozenset(
    {"Conv", "Clip", "Relu", "Sigmoid", "Add", "Sub", "Mul", "Div", "GlobalAveragePool", "Flatten", "Gemm", "Softmax"}
)


def _key(name: str) -> str:
    """A torch attribute name for an ONNX tensor name (parameters may not contain dots)."""
    return "p_" + re.sub(r"[^0-9A-Za-z_]", "_", name)


def _attributes(node: onnx.NodeProto) -> dict[str, Any]:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def needed_nodes(graph: onnx.GraphProto, inputs: Iterable[str], outputs: Iterable[str]) -> list[onnx.NodeProto]:
    """The nodes that compute ``outputs`` from ``inputs`` and the initialisers, in graph order."""
    producer = {out: node for node in graph.node for out in node.output}
    initialisers = {i.name for i in graph.initializer}
    known = set(inputs)
    wanted: set[int] = set()
    stack = list(outputs)
    seen: set[str] = set()
    while stack:
        name = stack.pop()
        if name in seen or name in known or name in initialisers or name == "":
            continue
        seen.add(name)
        if name not in producer:
            raise ValueError(f"tensor {name!r} is neither produced by the graph nor one of the inputs {sorted(known)}")
        node = producer[name]
        wanted.add(id(node))
        stack.extend(node.input)
    return [node for node in graph.node if id(node) in wanted]


class GraphModule(nn.Module):
    """The part of an ONNX graph between the tensors ``inputs`` and ``outputs``, as a torch module.

    Parameters
    ----------
    model : onnx.ModelProto
        The graph (its initialisers are copied into float32 parameters).
    inputs, outputs : sequence of str
        Tensor names: what :meth:`forward` takes, in order, and what it returns (one tensor, or a tuple).
    """

    def __init__(self, model: onnx.ModelProto, inputs: Sequence[str], outputs: Sequence[str]) -> None:
        super().__init__()
        self.input_names = tuple(inputs)
        self.output_names = tuple(outputs)
        self.nodes = needed_nodes(model.graph, inputs, outputs)
        unsupported = sorted({n.op_type for n in self.nodes} - SUPPORTED_OPS)
        if unsupported:
            raise ValueError(f"unsupported ONNX operators: {', '.join(unsupported)}")
        used = {name for node in self.nodes for name in node.input}
        self.tensor_names: dict[str, str] = {}
        for init in model.graph.initializer:
            if init.name not in used:
                continue
            value = torch.from_numpy(np.array(numpy_helper.to_array(init), dtype=np.float32))
            key = _key(init.name)
            self.tensor_names[key] = init.name
            # Scalars (the ReLU6 bounds) are constants, not weights.
            if value.ndim == 0:
                self.register_buffer(key, value)
            else:
                self.register_parameter(key, nn.Parameter(value))

    def _value(self, name: str, values: dict[str, torch.Tensor]) -> torch.Tensor:
        if name in values:
            return values[name]
        return getattr(self, _key(name))  # type: ignore[no-any-return]

    def forward(self, *xs: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        if len(xs) != len(self.input_names):
            raise ValueError(f"expected {len(self.input_names)} inputs, got {len(xs)}")
        values = dict(zip(self.input_names, xs, strict=True))
        for node in self.nodes:
            args = [self._value(name, values) if name else None for name in node.input]
            values[node.output[0]] = _run(node, args)
        out = tuple(values[name] for name in self.output_names)
        return out[0] if len(out) == 1 else out

    def onnx_parameters(self) -> dict[str, np.ndarray]:
        """Every trainable tensor by its ONNX initialiser name, as float32 arrays."""
        return {self.tensor_names[k]: p.detach().cpu().numpy().astype(np.float32) for k, p in self.named_parameters()}


def _run(node: onnx.NodeProto, args: list[Any]) -> torch.Tensor:
    op, attrs = node.op_type, _attributes(node)
    if op == "Conv":
        x, weight = args[0], args[1]
        bias = args[2] if len(args) > 2 else None
        top, left, bottom, right = attrs.get("pads", [0, 0, 0, 0])
        strides = attrs.get("strides", [1, 1])
        dilations = attrs.get("dilations", [1, 1])
        group = attrs.get("group", 1)
        if (top, left) == (bottom, right):
            return F.conv2d(x, weight, bias, strides, (top, left), dilations, group)
        # TF's "same" padding at stride 2 pads only after: torch's conv pads symmetrically, so pad first.
        return F.conv2d(F.pad(x, (left, right, top, bottom)), weight, bias, strides, 0, dilations, group)
    if op == "Clip":
        low = args[1] if len(args) > 1 else None
        high = args[2] if len(args) > 2 else None
        return torch.clamp(args[0], low, high)
    if op == "Relu":
        return torch.relu(args[0])
    if op == "Sigmoid":
        return torch.sigmoid(args[0])
    if op == "Add":
        return args[0] + args[1]  # type: ignore[no-any-return]
    if op == "Sub":
        return args[0] - args[1]  # type: ignore[no-any-return]
    if op == "Mul":
        return args[0] * args[1]  # type: ignore[no-any-return]
    if op == "Div":
        return args[0] / args[1]  # type: ignore[no-any-return]
    if op == "GlobalAveragePool":
        return args[0].mean(dim=(2, 3), keepdim=True)  # type: ignore[no-any-return]
    if op == "Flatten":
        return torch.flatten(args[0], int(attrs.get("axis", 1)))
    if op == "Gemm":
        a, b = args[0], args[1]
        if attrs.get("transA", 0):
            a = a.t()
        if attrs.get("transB", 0):
            b = b.t()
        out = float(attrs.get("alpha", 1.0)) * (a @ b)
        if len(args) > 2 and args[2] is not None:
            out = out + float(attrs.get("beta", 1.0)) * args[2]
        return out  # type: ignore[no-any-return]
    if op == "Softmax":
        return torch.softmax(args[0], dim=int(attrs.get("axis", -1)))
    raise ValueError(f"unsupported ONNX operator {op}")


def write_back(model: onnx.ModelProto, tensors: dict[str, np.ndarray]) -> onnx.ModelProto:
    """A copy of ``model`` whose initialisers named in ``tensors`` hold the new values (same shapes)."""
    out = copy.deepcopy(model)
    by_name = {init.name: init for init in out.graph.initializer}
    for name, value in tensors.items():
        if name not in by_name:
            raise ValueError(f"{name!r} is not an initialiser of the graph")
        old = numpy_helper.to_array(by_name[name])
        if old.shape != value.shape:
            raise ValueError(f"{name}: shape {value.shape} does not match the graph's {old.shape}")
        by_name[name].CopyFrom(numpy_helper.from_array(np.asarray(value, dtype=old.dtype), name))
    return out


def truncated(model: onnx.ModelProto, outputs: Sequence[str]) -> onnx.ModelProto:
    """A copy of ``model`` whose outputs are the tensors ``outputs`` (nodes after them are dropped)."""
    out = copy.deepcopy(model)
    graph = out.graph
    kept = needed_nodes(graph, [i.name for i in graph.input], outputs)
    del graph.node[:]
    graph.node.extend(kept)
    used = {name for node in kept for name in node.input}
    initialisers = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(initialisers)
    del graph.output[:]
    graph.output.extend([helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None) for name in outputs])
    return out


def with_logit_head(
    model: onnx.ModelProto, source: str, weight: np.ndarray, bias: float, *, keep: Sequence[str] = ()
) -> onnx.ModelProto:
    """A copy of ``model`` with one more output, ``logit`` ``[N, 1]`` = ``source @ weight + bias``.

    ``keep`` names the existing outputs that stay (the others are dropped, and nodes that only fed them
    are removed, so that ``cv2.dnn`` does not compute them).
    """
    out = copy.deepcopy(model)
    graph = out.graph
    width = int(np.asarray(weight).size)
    graph.initializer.extend(
        [
            numpy_helper.from_array(np.asarray(weight, dtype=np.float32).reshape(width, 1), "logit_W"),
            numpy_helper.from_array(np.asarray([bias], dtype=np.float32), "logit_B"),
        ]
    )
    graph.node.append(helper.make_node("Gemm", [source, "logit_W", "logit_B"], ["logit"], name="logit"))
    outputs = [o for o in graph.output if o.name in keep]
    outputs.append(helper.make_tensor_value_info("logit", onnx.TensorProto.FLOAT, ["N", 1]))
    pruned = truncated(out, [o.name for o in outputs])
    del pruned.graph.output[:]
    pruned.graph.output.extend(outputs)
    onnx.checker.check_model(pruned)
    return pruned


__all__ = ["SUPPORTED_OPS", "GraphModule", "needed_nodes", "truncated", "with_logit_head", "write_back"]
