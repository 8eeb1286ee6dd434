"""Training on a tiny slice: the activations cache, both stages of training, and the exported network."""

from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest

from imgclass.features.embedding import network_input
from imgclass.features.working_image import decode_working
from imgclass.finetune.activations import ActivationCache, Lower, image_key, variant_bytes
from imgclass.finetune.bases import BASES, base_graph
from imgclass.finetune.train import (
    TopConfig,
    balanced_order,
    export,
    fit_top,
    load_top,
    predict_logits,
    save_top,
    set_threads,
)
from tests.conftest import draw_cartoon, encode, noisy_photo


@pytest.fixture(scope="module")
def tiny() -> tuple[list[bytes], np.ndarray]:
    images = [encode(noisy_photo(i, size=96), ".jpg", cv2.IMWRITE_JPEG_QUALITY, 90) for i in range(12)]
    images += [encode(draw_cartoon(i, size=96), ".png") for i in range(12)]
    return images, np.r_[np.zeros(12, int), np.ones(12, int)]


@pytest.fixture(scope="module")
def nsfwjs() -> onnx.ModelProto:
    set_threads(1)
    return base_graph("nsfwjs")


def test_rows_are_made_once_and_found_by_content(tmp_path: Path, tiny, nsfwjs) -> None:  # type: ignore[no-untyped-def]
    images, _ = tiny
    keys = [image_key(d) for d in images]
    cache = ActivationCache(tmp_path, [Lower(BASES["nsfwjs"], nsfwjs)])
    rows = cache.rows("aug0", images[:10], keys[:10])
    assert rows["hand"].shape == (10, 30) and rows["nsfwjs:block_15_add"].shape == (10, 160, 4, 4)
    assert rows["nsfwjs:block_15_add"].dtype == np.float16
    # A second call in another order, with more images, makes only the new rows and finds the old ones.
    again = cache.rows("aug0", images[::-1], keys[::-1])
    assert len(list((tmp_path / "aug0").glob("*.npz"))) == 2
    assert np.array_equal(again["hand"][-10:][::-1], rows["hand"])
    # Augmented copies are seeded by content: the same image always gets the same copy.
    assert variant_bytes(images[3], "aug0") == variant_bytes(images[3], "aug0") != variant_bytes(images[3], "aug1")
    with pytest.raises(ValueError, match="unknown transform"):
        variant_bytes(images[0], "blur")


def test_balanced_order_draws_both_classes_equally() -> None:
    y = np.r_[np.zeros(30, int), np.ones(5, int)]
    order = balanced_order(y, 40, np.random.default_rng(0))
    assert order.size == 40 and (y[order] == 1).sum() == 20
    assert set(order[y[order] == 0].tolist()) <= set(range(30))
    with pytest.raises(ValueError, match="both classes"):
        balanced_order(np.zeros(4, int), 4, np.random.default_rng(0))


@pytest.mark.parametrize("depth", ["probe", "conv", "block"])
def test_a_trained_top_exports_to_the_network_cv2_runs(tmp_path: Path, tiny, nsfwjs, depth: str) -> None:  # type: ignore[no-untyped-def]
    images, y = tiny
    keys = [image_key(d) for d in images]
    rows = ActivationCache(tmp_path, [Lower(BASES["nsfwjs"], nsfwjs)]).rows("clean", images, keys)
    config = TopConfig(base="nsfwjs", depth=depth, epochs=2, batch=8, lr=1e-3)
    x = rows[f"nsfwjs:{BASES['nsfwjs'].cuts[config.cut_depth]}"]
    top = fit_top(nsfwjs, config, x, y)
    logits = predict_logits(top, x)
    assert ((logits > 0) == y.astype(bool)).mean() >= 0.9  # photos and cartoons this different: learnt
    # Seeded: the same configuration gives the same network.
    assert np.array_equal(predict_logits(fit_top(nsfwjs, config, x, y), x), logits)
    # Kept on disk and read back (a finished fold is not trained again).
    save_top(top, tmp_path / "top.npz")
    assert np.array_equal(predict_logits(load_top(nsfwjs, config, tmp_path / "top.npz"), x), logits)
    # The exported graph, run by cv2.dnn on the images themselves, gives the torch top's log-odds.
    net = cv2.dnn.readNetFromONNX(np.frombuffer(export(nsfwjs, top).SerializeToString(), np.uint8))
    for i in (0, 20):
        net.setInput(network_input([decode_working(images[i])], 128))
        assert float(np.asarray(net.forward("logit"))[0, 0]) == pytest.approx(logits[i], abs=0.02)


def test_bad_configurations_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown base"):
        TopConfig(base="resnet")
    with pytest.raises(ValueError, match="depth"):
        TopConfig(depth="everything")
    with pytest.raises(ValueError, match="bad training"):
        TopConfig(batch=1)
