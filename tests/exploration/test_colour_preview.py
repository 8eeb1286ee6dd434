from __future__ import annotations

import numpy as np
import pytest

from imgclass.classifiers import ColourCountClassifier
from imgclass.data import Dataset
from imgclass.decode import decode_image
from imgclass.exploration.colour_preview import share_curve, share_curves, top_colour_preview
from imgclass.features.colour_count import top_colour_share, top_colour_shares


@pytest.mark.parametrize("size", [None, 128])
def test_curve_and_preview_agree_with_the_feature(tiny_dataset: Dataset, size: int | None) -> None:
    for data in tiny_dataset.images[:4]:
        image = decode_image(data)
        curve = share_curve(image, size=size, max_colours=300)
        for n in (1, 7, 300):
            expected = top_colour_share(image, size=size, n_colours=n)
            assert curve[n - 1] == pytest.approx(expected, abs=1e-12)
            assert top_colour_preview(image, n, size=size)[1] == pytest.approx(expected, abs=1e-12)
        assert np.all(np.diff(curve) >= 0) and curve[-1] <= 1.0


def test_preview_paints_the_rest_white() -> None:
    image = np.zeros((4, 4, 3), np.uint8)
    image[0, :] = (10, 20, 30)
    image[1, :2] = (40, 50, 60)
    # Black covers 10 of the 16 pixels, the first colour 4, the second 2.
    out, share = top_colour_preview(image, 1, size=None)
    assert share == 10 / 16
    assert (out[2:] == 0).all() and (out[1, 2:] == 0).all() and (out[0] == 255).all() and (out[1, :2] == 255).all()
    out2, share2 = top_colour_preview(image, 2, size=None)
    assert share2 == 14 / 16 and (out2[0] == image[0]).all() and (out2[1, :2] == 255).all()


def test_curve_past_the_last_colour_is_one() -> None:
    image = np.zeros((8, 8, 3), np.uint8)
    image[:4] = 200
    curve = share_curve(image, size=None, max_colours=5)
    assert curve.tolist() == [0.5, 1.0, 1.0, 1.0, 1.0]


def test_curves_of_a_set(tiny_dataset: Dataset) -> None:
    curves = share_curves(tiny_dataset, size=64, max_colours=50)
    assert curves.curves.shape == (24, 50) and curves.max_colours == 50
    assert curves.shares(10).shape == (24,)
    with pytest.raises(ValueError, match="n_colours"):
        curves.shares(51)
    with pytest.raises(ValueError, match="read-only"):
        curves.curves[0, 0] = 0


def test_bad_arguments() -> None:
    image = np.zeros((4, 4, 3), np.uint8)
    with pytest.raises(ValueError, match="n_colours"):
        top_colour_preview(image, 0)
    with pytest.raises(ValueError, match="size"):
        share_curve(image, size=0)
    with pytest.raises(ValueError, match="max_colours"):
        share_curve(image, max_colours=0)


def test_the_curves_predict_what_the_classifier_predicts(tiny_dataset: Dataset) -> None:
    curves = share_curves(tiny_dataset, size=64, max_colours=600)
    for n_colours, threshold in ((512, 0.3), (20, 0.5), (600, 0.9)):
        classifier = ColourCountClassifier(size=64, n_colours=n_colours, threshold=threshold)
        np.testing.assert_array_equal(curves.predict(n_colours, threshold), classifier.predict(tiny_dataset.images))
        features = classifier.extract_features(tiny_dataset.images)[:, 0]
        np.testing.assert_allclose(curves.shares(n_colours), features, atol=1e-12)


def test_the_curve_is_the_features_module_s() -> None:
    image = np.zeros((8, 8, 3), np.uint8)
    image[:2] = 9
    np.testing.assert_array_equal(
        share_curve(image, size=None, max_colours=3), top_colour_shares(image, size=None, max_colours=3)
    )
    with pytest.raises(ValueError, match="no pixels"):
        top_colour_shares(np.zeros((0, 4, 3), np.uint8), size=None)
