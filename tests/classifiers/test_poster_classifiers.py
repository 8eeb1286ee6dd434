"""The poster's four classifiers share one contract: bytes in, 0/1 out, sklearn-shaped."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from imgclass.classifiers import (
    POSTER_CLASSIFIERS,
    BilateralClassifier,
    ByteLengthClassifier,
    ByteOneHotClassifier,
    ColourCountClassifier,
    make_classifier,
)

Images = tuple[list[bytes], np.ndarray]


@pytest.mark.parametrize("name", POSTER_CLASSIFIERS)
def test_contract(name: str, tiny_set: Images) -> None:
    images, y = tiny_set
    model = make_classifier(name)
    assert clone(model).get_params() == model.get_params()
    assert model.fit(images, y) is model
    assert model.classes_.tolist() == [0, 1]
    proba = model.predict_proba(images)
    assert proba.shape == (len(images), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    pred = model.predict(images)
    assert set(pred.tolist()) <= {0, 1}
    np.testing.assert_array_equal(pred == 1, proba[:, 1] > 0.5)
    assert model.decision_function(images).shape == (len(images),)
    assert set(model.predict_names(images[:2])) <= {"real", "animated"}
    assert model.score(images, y) >= 0.5


@pytest.mark.parametrize("name", POSTER_CLASSIFIERS)
def test_string_labels_are_accepted(name: str, tiny_set: Images) -> None:
    images, y = tiny_set
    names = ["animated" if v else "real" for v in y]
    np.testing.assert_array_equal(
        make_classifier(name).fit(images, names).predict(images), make_classifier(name).fit(images, y).predict(images)
    )


@pytest.mark.parametrize("name", ["byte-length", "byte-onehot", "bilateral"])
def test_unfitted_raises(name: str, cartoon_png: bytes) -> None:
    with pytest.raises(NotFittedError):
        make_classifier(name).predict([cartoon_png])


def test_input_errors(tiny_set: Images) -> None:
    images, y = tiny_set
    model = ByteLengthClassifier()
    with pytest.raises(ValueError, match="single bytes"):
        model.fit(images[0], y)
    with pytest.raises(ValueError, match="empty"):
        model.fit([], [])
    with pytest.raises(ValueError, match="image 1 is str"):
        model.fit([images[0], "x.jpg"], [0, 1])
    with pytest.raises(ValueError, match="24 images but 23 labels"):
        model.fit(images, y[:-1])
    with pytest.raises(ValueError, match="both classes"):
        model.fit(images[:1], y[:1])
    with pytest.raises(ValueError, match="unknown classifier"):
        make_classifier("resnet")


def test_byte_length_separates_by_size(tiny_set: Images) -> None:
    images, y = tiny_set
    model = ByteLengthClassifier().fit(images, y)
    # The drawings compress far better than the noisy photos, so "fewer bytes" means animated here.
    assert model.model_.direction_ == -1
    assert model.score(images, y) == 1.0


def test_byte_onehot_parameters(tiny_set: Images) -> None:
    images, y = tiny_set
    for strategy in ("uniform", "quantile", "kmeans"):
        assert ByteOneHotClassifier(n_bins=4, strategy=strategy).fit(images, y).score(images, y) >= 0.9
    with pytest.raises(ValueError, match="strategy"):
        ByteOneHotClassifier(strategy="tree").fit(images, y)
    with pytest.raises(ValueError, match="n_bins"):
        ByteOneHotClassifier(n_bins=1).fit(images, y)


def test_colour_count_default_is_the_posters_rule_unfitted(tiny_set: Images) -> None:
    images, y = tiny_set
    rule = ColourCountClassifier()
    assert not rule.__sklearn_tags__().requires_fit
    shares = rule.extract_features(images)[:, 0]
    np.testing.assert_array_equal(rule.predict(images), (shares > 0.3).astype(int))
    assert rule.score(images, y) >= 0.9
    # Fitting a fixed threshold keeps the rule; only the probability slope is learned.
    fitted = ColourCountClassifier().fit(images, y)
    np.testing.assert_array_equal(fitted.predict(images), rule.predict(images))


def test_colour_count_can_tune_its_threshold(tiny_set: Images) -> None:
    images, y = tiny_set
    tuned = ColourCountClassifier(threshold=None)
    assert tuned.__sklearn_tags__().requires_fit
    with pytest.raises(NotFittedError):
        tuned.predict(images)
    tuned.fit(images, y)
    assert 0 < tuned.model_.threshold_ < 1 and tuned.score(images, y) == 1.0


def test_bilateral_parameters_reach_the_feature(tiny_set: Images) -> None:
    images, _ = tiny_set
    a = BilateralClassifier().extract_features(images[:2])
    b = BilateralClassifier(metric="correl", diameter=5).extract_features(images[:2])
    assert a.shape == (2, 1) and not np.allclose(a, b)
