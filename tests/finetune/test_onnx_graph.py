import cv2
import numpy as np
import onnx
import pytest
import torch
from onnx import helper

from imgclass.features.embedding import EMBEDDING_MODEL
from imgclass.finetune.onnx_graph import GraphModule, needed_nodes, truncated, with_logit_head, write_back


@pytest.fixture(scope="module")
def nsfwjs() -> onnx.ModelProto:
    return onnx.load(str(EMBEDDING_MODEL))


def run_cv2(model: onnx.ModelProto, x: np.ndarray, outputs: list[str]) -> list[np.ndarray]:
    net = cv2.dnn.readNetFromONNX(np.frombuffer(model.SerializeToString(), np.uint8))
    net.setInput(x)
    return [np.asarray(v) for v in net.forward(outputs)]


def test_the_graph_in_torch_computes_what_cv2_dnn_computes(nsfwjs: onnx.ModelProto) -> None:
    x = np.random.default_rng(0).random((2, 3, 64, 64), dtype=np.float32)
    hidden, probabilities = GraphModule(nsfwjs, ["image"], ["hidden", "probabilities"])(torch.from_numpy(x))
    want_hidden, want_probabilities = run_cv2(nsfwjs, x, ["hidden", "probabilities"])
    assert np.abs(hidden.detach().numpy() - want_hidden).max() < 1e-4
    assert np.abs(probabilities.detach().numpy() - want_probabilities).max() < 1e-5


def test_a_graph_cut_in_two_is_the_whole(nsfwjs: onnx.ModelProto) -> None:
    x = np.random.default_rng(1).random((1, 3, 64, 64), dtype=np.float32)
    (cut,) = run_cv2(truncated(nsfwjs, ["block_15_add"]), x, ["block_15_add"])
    top = GraphModule(nsfwjs, ["block_15_add"], ["hidden"])
    assert len(top.nodes) < len(nsfwjs.graph.node) / 4  # only the top's nodes
    (want,) = run_cv2(nsfwjs, x, ["hidden"])
    assert np.abs(top(torch.from_numpy(cut)).detach().numpy() - want).max() < 1e-4


def test_trained_weights_and_a_new_head_go_back_into_the_graph(nsfwjs: onnx.ModelProto) -> None:
    top = GraphModule(nsfwjs, ["block_15_add"], ["hidden"])
    with torch.no_grad():
        for p in top.parameters():
            p.mul_(1.1)
    weight, bias = np.linspace(-1, 1, 256).astype(np.float32), 0.25
    exported = with_logit_head(write_back(nsfwjs, top.onnx_parameters()), "hidden", weight, bias)
    assert [o.name for o in exported.graph.output] == ["logit"]
    assert all(n.op_type != "Softmax" for n in exported.graph.node)  # what only fed the dropped outputs is gone
    x = np.random.default_rng(2).random((1, 3, 64, 64), dtype=np.float32)
    (cut,) = run_cv2(truncated(nsfwjs, ["block_15_add"]), x, ["block_15_add"])
    want = top(torch.from_numpy(cut)).detach().numpy() @ weight + bias
    (got,) = run_cv2(exported, x, ["logit"])
    assert got.shape == (1, 1) and got[0, 0] == pytest.approx(float(want[0]), abs=1e-3)


def test_bad_graphs_and_values_are_refused(nsfwjs: onnx.ModelProto) -> None:
    with pytest.raises(ValueError, match="neither produced"):
        needed_nodes(nsfwjs.graph, ["image"], ["no_such_tensor"])
    with pytest.raises(ValueError, match="shape"):
        write_back(nsfwjs, {"Conv1_W": np.zeros((1, 1), np.float32)})
    with pytest.raises(ValueError, match="not an initialiser"):
        write_back(nsfwjs, {"nothing": np.zeros(1, np.float32)})
    node = helper.make_node("Tanh", ["x"], ["y"])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])])
    with pytest.raises(ValueError, match="unsupported ONNX operators: Tanh"):
        GraphModule(helper.make_model(graph), ["x"], ["y"])
