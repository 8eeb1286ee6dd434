import cv2
import numpy as np
import pytest
import torch

from imgclass.finetune.efficientnet import IMAGENET_MEAN, IMAGENET_STD, EfficientNetB0, load_state_dict, to_onnx


def random_b0(seed: int = 0) -> EfficientNetB0:
    """A B0 whose BatchNorm statistics are not the identity, so that folding them is really tested."""
    torch.manual_seed(seed)
    model = EfficientNetB0()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 1.5)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
    return model.eval()


def test_state_dict_has_torchvisions_names() -> None:
    state = EfficientNetB0().state_dict()
    for name in ("features.0.0.weight", "features.1.0.block.1.fc1.weight", "features.2.0.block.0.1.running_var",
                 "features.6.3.block.3.0.weight", "features.8.1.bias", "classifier.1.weight"):
        assert name in state
    assert state["features.7.0.block.2.fc2.weight"].shape == (1152, 48, 1, 1)  # squeeze = input channels / 4
    model = load_state_dict(state)
    assert not model.training
    with pytest.raises(RuntimeError, match="Missing key"):
        load_state_dict({k: v for k, v in state.items() if k != "features.0.0.weight"})
    with pytest.raises(ValueError, match="not an EfficientNet-B0"):
        load_state_dict({})


def test_onnx_with_folded_batchnorm_computes_what_the_module_computes() -> None:
    model = random_b0()
    x = np.random.default_rng(0).random((2, 3, 64, 64), dtype=np.float32)
    mean, std = torch.tensor(IMAGENET_MEAN).reshape(1, 3, 1, 1), torch.tensor(IMAGENET_STD).reshape(1, 3, 1, 1)
    with torch.no_grad():
        want = model((torch.from_numpy(x) - mean) / std).numpy()
    graph = to_onnx(model)
    assert not any(n.op_type == "BatchNormalization" for n in graph.graph.node)
    net = cv2.dnn.readNetFromONNX(np.frombuffer(graph.SerializeToString(), np.uint8))
    net.setInput(x)
    got = np.asarray(net.forward("real_logit"))
    assert np.abs(got - want).max() < 1e-3 * max(1.0, float(np.abs(want).max()))
    assert {f"features_{i}" for i in range(1, 8)} <= {n.output[0] for n in graph.graph.node}
