import hashlib
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from imgclass.decode import decode_image
from imgclass.features.embedding import (
    EMBEDDING_MODEL,
    EMBEDDING_SHA256,
    EMBEDDING_SIZE,
    HIDDEN_SIZE,
    embed,
    embed_with_probabilities,
    hidden,
    network_input,
    network_outputs,
)
from tests.conftest import draw_cartoon, noisy_photo

REFERENCE = Path(__file__).resolve().parents[2] / "data" / "reference"


def test_shipped_network_matches_its_recorded_checksum_and_licence() -> None:
    assert hashlib.sha256(EMBEDDING_MODEL.read_bytes()).hexdigest() == EMBEDDING_SHA256
    readme = (EMBEDDING_MODEL.parent / "README.md").read_text()
    assert EMBEDDING_SHA256 in readme and "4.4.0" in readme and "MIT" in readme
    assert "MIT License" in (EMBEDDING_MODEL.parent / "LICENSE.nsfwjs").read_text()


def test_golden_values_on_a_bundled_photo() -> None:
    # Pinned from cv2.dnn on the shipped file, which the converter checked against nsfwjs in node (9e-6).
    image = decode_image((REFERENCE / "real" / "endless_sky__badlands1.jpg").read_bytes())
    embedding, probabilities = embed_with_probabilities([image], side=224)
    assert embedding.shape == (1, EMBEDDING_SIZE) and embedding.dtype == np.float32
    assert float(embedding.sum()) == pytest.approx(143.1677, rel=1e-3)
    assert int(embedding.argmax()) == 538
    assert float(embedding[0, 3]) == pytest.approx(0.061768, rel=1e-3)
    assert int(probabilities.argmax()) == 2 and probabilities[0, 2] > 0.99  # nsfwjs' "Neutral"
    # The head's first hidden layer, which `combined` reads (checked against nsfwjs in node: 4e-6).
    layer = hidden([image], side=224)
    assert layer.shape == (1, HIDDEN_SIZE) and layer.dtype == np.float32
    assert float(layer.sum()) == pytest.approx(64.3706, rel=1e-3)
    assert int(layer.argmax()) == 117 and float(layer[0, 117]) == pytest.approx(1.86875, rel=1e-3)
    assert int((layer > 0).sum()) == 87  # a ReLU: the rest are exactly zero
    assert (layer >= 0).all()


def test_one_forward_pass_gives_every_output_in_step() -> None:
    images = [noisy_photo(1), draw_cartoon(2), noisy_photo(3)]
    outputs = network_outputs(images, side=96, batch_size=2)
    assert outputs.embedding.shape == (3, EMBEDDING_SIZE) and outputs.hidden.shape == (3, HIDDEN_SIZE)
    assert np.allclose(outputs.embedding, embed(images, side=96), atol=1e-5)
    assert np.allclose(outputs.hidden, hidden(images, side=96), atol=1e-5)
    assert np.allclose(outputs.probabilities.sum(axis=1), 1.0, atol=1e-5)
    # The hidden layer is a function of the embedding: a drawing and a photo differ in both.
    assert not np.allclose(outputs.hidden[0], outputs.hidden[1], atol=1e-2)


def test_network_input_is_rgb_in_unit_range_and_square() -> None:
    image = np.zeros((30, 50, 3), np.uint8)
    image[..., 0] = 255  # blue in BGR
    blob = network_input([image, image], side=64)
    assert blob.shape == (2, 3, 64, 64) and blob.dtype == np.float32
    assert np.allclose(blob[:, 2], 1.0) and np.allclose(blob[:, :2], 0.0)  # blue is the last RGB plane
    with pytest.raises(ValueError, match="uint8"):
        network_input([image.astype(np.float32)])
    with pytest.raises(ValueError, match="side"):
        network_input([image], side=16)


def test_batching_and_order_do_not_change_an_embedding() -> None:
    images = [noisy_photo(1), draw_cartoon(2), noisy_photo(3), draw_cartoon(4), noisy_photo(5)]
    together = embed(images, side=96, batch_size=2)
    alone = np.vstack([embed([image], side=96) for image in images[::-1]])[::-1]
    assert np.allclose(together, alone, atol=1e-4)
    # Pooled ReLU6 activations: never negative, never above 6.
    assert (together >= 0).all() and (together <= 6).all()
    # Different pictures, different embeddings; a slightly re-encoded picture, nearly the same one.
    assert np.linalg.norm(together[0] - together[1]) > 1.0
    _, buf = cv2.imencode(".jpg", images[0], [cv2.IMWRITE_JPEG_QUALITY, 80])
    again = embed([cv2.imdecode(buf, cv2.IMREAD_COLOR)], side=96)[0]
    distances = np.linalg.norm(together - again, axis=1)
    assert distances.argmin() == 0 and distances[0] < 0.5 * np.sort(distances)[1]


def test_threads_share_one_network_safely() -> None:
    images = [noisy_photo(7), draw_cartoon(8)]
    expected = embed(images, side=64)
    results: list[np.ndarray] = []

    def work() -> None:
        results.append(embed(images, side=64))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4 and all(np.allclose(r, expected, atol=1e-5) for r in results)


def test_bad_arguments_are_value_errors() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        embed([noisy_photo(1)], batch_size=0)
    assert embed([], side=64).shape == (0, EMBEDDING_SIZE)
