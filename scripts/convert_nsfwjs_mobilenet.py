#!/usr/bin/env python3
"""Convert the MobileNetV2 inside npm ``nsfwjs`` 4.4.0 (MIT) to the ONNX file imgclass ships.

Run once by a developer; the runtime needs only OpenCV and numpy. This script needs ``npm`` and ``node``
(to fetch the package and read its bundled model), and the ``onnx`` package (to write the file)::

    python -m venv --system-site-packages /tmp/conv && /tmp/conv/bin/pip install onnx
    /tmp/conv/bin/python scripts/convert_nsfwjs_mobilenet.py [--out imgclass/models/embedding]
        [--tarball nsfwjs-4.4.0.tgz] [--node-check DIR_WITH_node_modules]

What it does:

1. ``npm pack nsfwjs@4.4.0`` (or ``--tarball``) and extract ``dist/models/mobilenet_v2``: a Keras 2.2.4
   layers model (162 layers) as a browserify module, and its weights as one base64 string, quantised to
   uint8 per tensor (``value = q * scale + min``). ``node`` evaluates the two modules and hands us the
   JSON and the bytes, so no JavaScript is parsed here.
2. Dequantise, fold every BatchNormalization into the convolution before it (exact up to float rounding),
   and write an NCHW ONNX graph (opset 13: Conv, Clip for ReLU6, Add, GlobalAveragePool, Flatten, Gemm,
   Relu, Softmax) with one input ``image`` ``[N, 3, 224, 224]`` (RGB scaled to [0, 1], as
   ``dist/esm/core.js`` feeds it: ``img.toFloat().div(255)``, resized to 224) and three outputs:
   ``embedding`` ``[N, 1280]``, the global-average-pooled features the classifier head reads,
   ``probabilities`` ``[N, 5]``, nsfwjs' own softmax over Drawing, Hentai, Neutral, Porn, Sexy, and
   ``hidden`` ``[N, 256]``, the head's first hidden layer (Keras ``dense_1``, after its ReLU), which
   ``combined`` reads.
   Weights are stored as float32 (10 MB). ``--float16`` stores them as float16 and casts them in the
   graph (5 MB), but that moves the embedding by about 1% (relative L2; up to 0.05 absolute on values up
   to 6) because folded weights are no longer on the source's uint8 grid, so float32 is what ships.
3. Check: the ONNX graph run by ``cv2.dnn`` against an independent numpy forward pass of the *unfolded*
   Keras layers (NHWC, TF padding rules) on deterministic test images, and with ``--node-check``
   against nsfwjs itself run in node with ``@tensorflow/tfjs`` (``npm install nsfwjs@4.4.0
   @tensorflow/tfjs`` in that folder). Fails if the largest difference is over the tolerance.

Recorded check (2026-11-30, OpenCV 5.0.0, onnx 1.23.2, node 20, nsfwjs' @tensorflow/tfjs cpu backend, six
test images): see ``CHECK_RECORD`` below; the script prints the same figures on every run, and the
output file is byte-identical from run to run (same sha256).

The spatial input size is left free (``H``, ``W``): the 7x7 average pool at the top is written as a
global average pool, so the network also runs on smaller inputs (imgclass reads it at 160 px by default
for speed; see :mod:`imgclass.features.embedding`).
"""

# ruff: noqa: S603, S607  (a developer's tool that runs npm and node, found on PATH, with fixed arguments)
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

PACKAGE = "nsfwjs"
VERSION = "4.4.0"
MODEL_DIR = "package/dist/models/mobilenet_v2"
ONNX_NAME = "mobilenet_v2_nsfwjs.onnx"
SIDE = 224
CLASSES = ("Drawing", "Hentai", "Neutral", "Porn", "Sexy")
#: Keras Dense layers whose (ReLU) output is also a graph output, and the output's name.
HIDDEN_LAYERS = {"dense_1": "hidden"}
HIDDEN_SIZE = 256
#: Largest allowed absolute difference between cv2.dnn on the ONNX file and the references.
EMBEDDING_TOLERANCE = 1e-3  # embedding values are 0..6 (ReLU6, averaged); float32 gives ~1e-5
PROBABILITY_TOLERANCE = 1e-4

#: The check as run when the shipped file was made (``--node-check``), copied from the printout.
CHECK_RECORD = """
nsfwjs-4.4.0.tgz: sha256 585cd178f3b994337c4d10a87b080d342fc52f8b9bf0085c4d1f345a3a1c5382
162 Keras layers, 266 weight tensors, 2,619,461 weights
wrote imgclass/models/embedding/mobilenet_v2_nsfwjs.onnx (10,289,352 bytes),
  sha256 d4d644b9fec8cfcea5feb22d332d620d652718b7e2a6fc07a5753fcabc15eb12
cv2.dnn ONNX vs numpy reference: max |embedding diff| 8.04e-06 (values up to 5.89),
  max |hidden diff| 2.38e-06, max |probability diff| 1.12e-06, same top class True: OK
cv2.dnn ONNX vs nsfwjs in node (tfjs cpu): max |embedding diff| 8.82e-06 (values up to 5.89),
  max |hidden diff| 3.58e-06, max |probability diff| 1.07e-06, same top class True: OK
top classes: ['Drawing', 'Drawing', 'Neutral', 'Neutral', 'Neutral', 'Neutral']
"""

_NODE_DUMP = r"""
const fs = require("fs");
const dir = process.argv[1];
const topo = require(dir + "/model.min.js");
const weights = require(dir + "/group1-shard1of1.min.js");
fs.writeFileSync(process.argv[2], JSON.stringify(topo.default || topo));
fs.writeFileSync(process.argv[3], (weights.default || weights));
"""


def fetch_package(workdir: Path, tarball: Path | None) -> Path:
    """Extract the nsfwjs tarball into ``workdir``; returns the mobilenet_v2 folder."""
    if tarball is None:
        subprocess.run(["npm", "pack", f"{PACKAGE}@{VERSION}"], cwd=workdir, check=True, capture_output=True)
        tarball = workdir / f"{PACKAGE}-{VERSION}.tgz"
    print(f"{tarball.name}: sha256 {hashlib.sha256(tarball.read_bytes()).hexdigest()}")
    with tarfile.open(tarball) as archive:
        archive.extractall(workdir, filter="data")
    meta = json.loads((workdir / "package/package.json").read_text())
    if (meta["name"], meta["version"]) != (PACKAGE, VERSION) or meta.get("license") != "MIT":
        raise SystemExit(f"unexpected package {meta['name']} {meta['version']} licence {meta.get('license')}")
    return workdir / MODEL_DIR


def read_model(model_dir: Path, workdir: Path) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """The Keras layer list and the dequantised weights by name."""
    topo_path, weights_path = workdir / "model.json", workdir / "weights.b64"
    subprocess.run(["node", "-e", _NODE_DUMP, str(model_dir.resolve()), str(topo_path), str(weights_path)], check=True)
    model = json.loads(topo_path.read_text())
    raw = base64.b64decode(weights_path.read_text())
    layers = model["modelTopology"]["model_config"]["config"]["layers"]
    manifest = model["weightsManifest"]
    if len(manifest) != 1:
        raise SystemExit(f"expected one weight group, got {len(manifest)}")
    weights: dict[str, np.ndarray] = {}
    offset = 0
    for spec in manifest[0]["weights"]:
        count = int(np.prod(spec["shape"]))
        quant = spec.get("quantization")
        if spec["dtype"] != "float32":
            raise SystemExit(f"unexpected dtype {spec['dtype']} for {spec['name']}")
        if quant is None:
            values = np.frombuffer(raw, dtype="<f4", count=count, offset=offset).astype(np.float64)
            offset += 4 * count
        elif quant["dtype"] == "uint8":
            q = np.frombuffer(raw, dtype=np.uint8, count=count, offset=offset).astype(np.float64)
            values = q * quant["scale"] + quant["min"]
            offset += count
        else:
            raise SystemExit(f"unsupported quantisation {quant} for {spec['name']}")
        weights[spec["name"]] = values.reshape(spec["shape"])
    if offset != len(raw):
        raise SystemExit(f"weights: read {offset} of {len(raw)} bytes")
    return layers, weights


# ---------------------------------------------------------------------------------------------- ONNX


def build_onnx(layers: list[dict[str, Any]], weights: dict[str, np.ndarray], *, float16: bool = False) -> Any:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes: list[Any] = []
    inits: list[Any] = []
    produced: dict[str, str] = {}  # Keras layer name -> ONNX tensor name of its output
    pending_pad: dict[str, list[int]] = {}  # ZeroPadding2D layers, folded into the next conv
    folded: set[str] = set()  # BatchNormalization layers folded into their conv
    by_name = {layer["name"]: layer for layer in layers}
    consumers: dict[str, list[str]] = {}
    for layer in layers:
        for inbound in layer["inbound_nodes"][0] if layer["inbound_nodes"] else []:
            consumers.setdefault(inbound[0], []).append(layer["name"])

    def const(name: str, array: np.ndarray) -> str:
        if not float16:
            inits.append(numpy_helper.from_array(array.astype(np.float32), name))
            return name
        # float16 storage, cast back to float32 in the graph: half the file, same arithmetic.
        inits.append(numpy_helper.from_array(array.astype(np.float16), name + "_f16"))
        nodes.append(helper.make_node("Cast", [name + "_f16"], [name], to=TensorProto.FLOAT))
        return name

    def source(layer: dict[str, Any], index: int = 0) -> str:
        return produced[layer["inbound_nodes"][0][index][0]]

    def bn_after(name: str) -> dict[str, Any] | None:
        nxt = consumers.get(name, [])
        if len(nxt) == 1 and by_name[nxt[0]]["class_name"] == "BatchNormalization":
            return by_name[nxt[0]]
        return None

    for layer in layers:
        kind, name, cfg = layer["class_name"], layer["name"], layer["config"]
        if kind == "InputLayer":
            produced[name] = "image"
        elif kind == "ZeroPadding2D":
            (top, bottom), (left, right) = cfg["padding"]
            pending_pad[name] = [top, left, bottom, right]
            produced[name] = source(layer)
        elif kind in ("Conv2D", "DepthwiseConv2D"):
            inbound = layer["inbound_nodes"][0][0][0]
            kernel = weights[f"{name}/depthwise_kernel" if kind == "DepthwiseConv2D" else f"{name}/kernel"]
            kh, kw = cfg["kernel_size"]
            if kind == "Conv2D":
                w = kernel.transpose(3, 2, 0, 1)  # [kh, kw, in, out] -> [out, in, kh, kw]
                group = 1
            else:
                if cfg["depth_multiplier"] != 1:
                    raise SystemExit("depth_multiplier != 1 is not handled")
                w = kernel.transpose(2, 3, 0, 1)  # [kh, kw, C, 1] -> [C, 1, kh, kw]
                group = w.shape[0]
            b = weights[f"{name}/bias"] if cfg["use_bias"] else np.zeros(w.shape[0])
            bn = bn_after(name)
            if bn is not None:
                prefix = bn["name"]
                folded.add(prefix)
                gamma, beta = weights[f"{prefix}/gamma"], weights[f"{prefix}/beta"]
                mean, var = weights[f"{prefix}/moving_mean"], weights[f"{prefix}/moving_variance"]
                scale = gamma / np.sqrt(var + bn["config"]["epsilon"])
                w = w * scale[:, None, None, None]
                b = (b - mean) * scale + beta
            if cfg["padding"] == "same":
                if cfg["strides"] != [1, 1]:
                    raise SystemExit("'same' padding with stride is not handled")
                pads = [kh // 2, kw // 2, kh // 2, kw // 2]
            else:
                pads = pending_pad.get(inbound, [0, 0, 0, 0])
            out = name if bn is None else bn["name"]
            nodes.append(
                helper.make_node(
                    "Conv",
                    [source(layer), const(name + "_W", w), const(name + "_B", b)],
                    [out],
                    kernel_shape=[kh, kw],
                    strides=cfg["strides"],
                    pads=pads,
                    group=group,
                )
            )
            produced[name] = out
            if cfg.get("activation", "linear") != "linear":
                raise SystemExit(f"activation in conv {name} not handled")
        elif kind == "BatchNormalization":
            if name not in folded:
                raise SystemExit(f"BatchNormalization {name} does not follow a convolution")
            produced[name] = source(layer)
        elif kind == "ReLU":
            if cfg["max_value"] != 6 or cfg["negative_slope"] != 0 or cfg["threshold"] != 0:
                raise SystemExit(f"ReLU {name} is not ReLU6")
            nodes.append(helper.make_node("Clip", [source(layer), "relu6_min", "relu6_max"], [name]))
            produced[name] = name
        elif kind == "Add":
            nodes.append(helper.make_node("Add", [source(layer, 0), source(layer, 1)], [name]))
            produced[name] = name
        elif kind == "AveragePooling2D":
            # The 7x7 pool over a 7x7 map is the global average the embedding is.
            if cfg["pool_size"] != [7, 7]:
                raise SystemExit("expected a 7x7 pool at the top")
            nodes.append(helper.make_node("GlobalAveragePool", [source(layer)], [name]))
            produced[name] = name
        elif kind == "Flatten":
            nodes.append(helper.make_node("Flatten", [source(layer)], ["embedding"], axis=1))
            produced[name] = "embedding"
        elif kind == "Dropout":
            produced[name] = source(layer)
        elif kind == "Dense":
            out = name + "_linear"
            nodes.append(
                helper.make_node(
                    "Gemm",
                    [
                        source(layer),
                        const(name + "_W", weights[f"{name}/kernel"]),
                        const(name + "_B", weights[f"{name}/bias"]),
                    ],
                    [out],
                )
            )
            activation = cfg["activation"]
            # The first hidden layer of the head is an output too ("hidden"): trained for nsfwjs' own
            # question, it separates drawings from photographs across domains better than the pooled map.
            final = "probabilities" if activation == "softmax" else HIDDEN_LAYERS.get(name, name)
            nodes.append(helper.make_node({"relu": "Relu", "softmax": "Softmax"}[activation], [out], [final]))
            produced[name] = final
        else:
            raise SystemExit(f"layer kind {kind} not handled")

    inits += [numpy_helper.from_array(np.float32(v), n) for n, v in (("relu6_min", 0.0), ("relu6_max", 6.0))]
    graph = helper.make_graph(
        nodes,
        "mobilenet_v2_nsfwjs",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        [
            helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", 1280]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 5]),
            helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["N", HIDDEN_SIZE]),
        ],
        inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 13)],
        producer_name="imgclass scripts/convert_nsfwjs_mobilenet.py",
        doc_string=f"MobileNetV2 from npm {PACKAGE}@{VERSION} (MIT, Infinite Red / GantMan nsfw_model); "
        "input RGB [0,1] 224x224 NCHW; outputs the 1280-d pooled embedding, the 5 nsfwjs probabilities "
        "and the 256-d first hidden layer of its head (ReLU)",
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


# ------------------------------------------------------------------------------ independent reference


def _windows(
    x: np.ndarray, kernel: np.ndarray, strides: list[int], pads: list[int]
) -> Iterator[tuple[int, int, np.ndarray]]:
    """Every kernel tap ``(i, j)`` with the strided NHWC window of the padded input it multiplies."""
    top, left, bottom, right = pads
    x = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    kh, kw = kernel.shape[:2]
    sh, sw = strides
    oh = (x.shape[1] - kh) // sh + 1
    ow = (x.shape[2] - kw) // sw + 1
    for i in range(kh):
        for j in range(kw):
            yield i, j, x[:, i : i + sh * oh : sh, j : j + sw * ow : sw, :]


def _conv_nhwc(x: np.ndarray, kernel: np.ndarray, strides: list[int], pads: list[int]) -> np.ndarray:
    """Plain NHWC convolution (TF kernel layout [kh, kw, in, out]) by summing shifted windows."""
    return np.sum([window @ kernel[i, j] for i, j, window in _windows(x, kernel, strides, pads)], axis=0)


def _depthwise_nhwc(x: np.ndarray, kernel: np.ndarray, strides: list[int], pads: list[int]) -> np.ndarray:
    """Depthwise NHWC convolution (kernel layout [kh, kw, channels, 1]) by summing shifted windows."""
    return np.sum([window * kernel[i, j, :, 0] for i, j, window in _windows(x, kernel, strides, pads)], axis=0)


def reference_forward(
    layers: list[dict[str, Any]], weights: dict[str, np.ndarray], images: np.ndarray
) -> dict[str, np.ndarray]:
    """The Keras model, layer by layer in float64 NHWC, unfolded BN: independent of the ONNX graph."""
    values: dict[str, np.ndarray] = {}
    for layer in layers:
        kind, name, cfg = layer["class_name"], layer["name"], layer["config"]
        ins = [values[i[0]] for i in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else []
        if kind == "InputLayer":
            out = images
        elif kind == "ZeroPadding2D":
            (top, bottom), (left, right) = cfg["padding"]
            out = np.pad(ins[0], ((0, 0), (top, bottom), (left, right), (0, 0)))
        elif kind in ("Conv2D", "DepthwiseConv2D"):
            kh, kw = cfg["kernel_size"]
            # TF 'same' at stride 1: total padding k-1, the extra one at the end.
            pads = [(kh - 1) // 2, (kw - 1) // 2, kh // 2, kw // 2] if cfg["padding"] == "same" else [0, 0, 0, 0]
            if kind == "Conv2D":
                out = _conv_nhwc(ins[0], weights[f"{name}/kernel"], cfg["strides"], pads)
            else:
                out = _depthwise_nhwc(ins[0], weights[f"{name}/depthwise_kernel"], cfg["strides"], pads)
            if cfg["use_bias"]:
                out = out + weights[f"{name}/bias"]
        elif kind == "BatchNormalization":
            g, b = weights[f"{name}/gamma"], weights[f"{name}/beta"]
            m, v = weights[f"{name}/moving_mean"], weights[f"{name}/moving_variance"]
            out = (ins[0] - m) / np.sqrt(v + cfg["epsilon"]) * g + b
        elif kind == "ReLU":
            out = np.clip(ins[0], 0, cfg["max_value"])
        elif kind == "Add":
            out = ins[0] + ins[1]
        elif kind == "AveragePooling2D":
            out = ins[0].mean(axis=(1, 2), keepdims=True)
        elif kind == "Flatten":
            out = ins[0].reshape(ins[0].shape[0], -1)
        elif kind == "Dropout":
            out = ins[0]
        elif kind == "Dense":
            out = ins[0] @ weights[f"{name}/kernel"] + weights[f"{name}/bias"]
            if cfg["activation"] == "relu":
                out = np.maximum(out, 0)
            else:
                e = np.exp(out - out.max(axis=1, keepdims=True))
                out = e / e.sum(axis=1, keepdims=True)
        else:
            raise SystemExit(f"layer kind {kind} not handled")
        values[name] = out
    return {"embedding": values["flatten_1"], "probabilities": values["dense_3"], "hidden": values["dense_1"]}


def test_images() -> np.ndarray:
    """Six deterministic 224x224 RGB test images in [0, 1], NHWC: flat, gradient, noise, shapes."""
    rng = np.random.default_rng(11)
    yy, xx = np.mgrid[0:SIDE, 0:SIDE] / (SIDE - 1)
    images = [
        np.full((SIDE, SIDE, 3), 0.5),
        np.stack([xx, yy, 1 - xx], axis=-1),
        rng.random((SIDE, SIDE, 3)),
        np.stack([np.sin(9 * xx) ** 2, np.cos(7 * yy) ** 2, xx * yy], axis=-1),
    ]
    disc = ((xx - 0.5) ** 2 + (yy - 0.4) ** 2 < 0.1)[..., None] * np.array([0.9, 0.2, 0.1])
    images.append(disc + (1 - disc.any(axis=-1, keepdims=True)) * np.array([0.2, 0.6, 0.95]))
    smooth = rng.random((8, 8, 3))
    images.append(np.kron(smooth, np.ones((28, 28, 1))))
    # Quantise to 8 bits so that node (which gets uint8 pixels) sees the very same input.
    return np.round(np.asarray(images) * 255) / 255


def run_cv2(path: Path, images: np.ndarray) -> dict[str, np.ndarray]:
    import cv2

    net = cv2.dnn.readNetFromONNX(str(path))
    net.setInput(np.ascontiguousarray(images.transpose(0, 3, 1, 2), dtype=np.float32))
    names = ["embedding", "probabilities", "hidden"]
    return {name: np.asarray(value) for name, value in zip(names, net.forward(names), strict=True)}


_NODE_CHECK = r"""
const tf = require("@tensorflow/tfjs");
const nsfwjs = require("nsfwjs");
const fs = require("fs");
(async () => {
  tf.setBackend("cpu");
  const input = JSON.parse(fs.readFileSync(process.argv[1]));
  const model = await nsfwjs.load("MobileNetV2");
  const out = {embedding: [], probabilities: [], hidden: []};
  for (const pixels of input.images) {
    const img = tf.tensor3d(pixels, [input.side, input.side, 3], "int32");
    out.embedding.push(Array.from(await model.infer(img, "flatten_1").data()));
    out.probabilities.push(Array.from(await model.infer(img).data()));
    out.hidden.push(Array.from(await model.infer(img, "dense_1").data()));
  }
  fs.writeFileSync(process.argv[2], JSON.stringify(out));
})();
"""


def run_node(node_dir: Path, images: np.ndarray, workdir: Path) -> dict[str, np.ndarray]:
    """nsfwjs itself, in node with @tensorflow/tfjs (cpu backend), on the same 8-bit pixels."""
    request, response = workdir / "node-in.json", workdir / "node-out.json"
    pixels = np.round(images * 255).astype(int)
    request.write_text(json.dumps({"side": SIDE, "images": [p.ravel().tolist() for p in pixels]}))
    subprocess.run(["node", "-e", _NODE_CHECK, str(request), str(response)], cwd=node_dir, check=True)
    out = json.loads(response.read_text())
    return {k: np.asarray(v) for k, v in out.items()}


def compare(label: str, got: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> bool:
    emb = float(np.abs(got["embedding"] - want["embedding"]).max())
    hidden = float(np.abs(got["hidden"] - want["hidden"]).max())
    prob = float(np.abs(got["probabilities"] - want["probabilities"]).max())
    top = bool((got["probabilities"].argmax(1) == want["probabilities"].argmax(1)).all())
    ok = emb <= EMBEDDING_TOLERANCE and hidden <= EMBEDDING_TOLERANCE and prob <= PROBABILITY_TOLERANCE and top
    print(
        f"{label}: max |embedding diff| {emb:.2e} (values up to {float(np.abs(want['embedding']).max()):.2f}), "
        f"max |hidden diff| {hidden:.2e}, max |probability diff| {prob:.2e}, same top class {top}: "
        f"{'OK' if ok else 'FAILED'}"
    )
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("imgclass/models/embedding"))
    parser.add_argument("--tarball", type=Path, help=f"a local {PACKAGE}-{VERSION}.tgz instead of npm pack")
    parser.add_argument("--node-check", type=Path, help="folder whose node_modules has nsfwjs and @tensorflow/tfjs")
    parser.add_argument("--float16", action="store_true", help="float16 weights (half the size, ~1%% off)")
    parser.add_argument("--keep", type=Path, help="keep the work folder here")
    args = parser.parse_args(argv)
    import onnx

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        model_dir = fetch_package(workdir, args.tarball.resolve() if args.tarball else None)
        layers, weights = read_model(model_dir, workdir)
        n_weights = sum(w.size for w in weights.values())
        print(f"{len(layers)} Keras layers, {len(weights)} weight tensors, {n_weights:,} weights")
        model = build_onnx(layers, weights, float16=args.float16)
        args.out.mkdir(parents=True, exist_ok=True)
        target = args.out / ONNX_NAME
        onnx.save(model, str(target))
        digest = hashlib.sha256(target.read_bytes()).hexdigest()
        print(f"wrote {target} ({target.stat().st_size:,} bytes), sha256 {digest}")

        images = test_images()
        got = run_cv2(target, images)
        ok = compare("cv2.dnn ONNX vs numpy reference", got, reference_forward(layers, weights, images))
        if args.node_check is not None:
            ok &= compare("cv2.dnn ONNX vs nsfwjs in node (tfjs cpu)", got, run_node(args.node_check, images, workdir))
        print("top classes:", [CLASSES[i] for i in got["probabilities"].argmax(1)])
        if args.keep is not None:
            shutil.copytree(workdir, args.keep, dirs_exist_ok=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
